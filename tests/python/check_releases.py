"""Issue 18: three successive releases with `build --previous`, the previous one fetched from a
live site by the very shell step docs/ci.md gives, and the releases.json hash chain checked as a
reader would: hash each release's SHA256SUMS, follow the links.

Usage: check_releases.py SHARELOG_BINARY FIXTURE_ROOT WORK_DIR
"""

import hashlib
import http.server
import json
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import yaml

binary, fixture, work = map(pathlib.Path, sys.argv[1:4])
shutil.rmtree(work, ignore_errors=True)
root = work / "root"
shutil.copytree(fixture, root)


def release(published, out, previous=None):
    report = root / "report.yaml"
    report.write_text(re.sub(r"(?m)^published: .*$", f"published: {published}", report.read_text()))
    args = [str(binary), "build", "--quiet", "--no-cache", "--root", str(root), "--out", str(out)]
    if previous:
        args += ["--previous", str(previous)]
    subprocess.run(args, check=True, stderr=subprocess.DEVNULL)


# The GitHub recipe's fetch step, taken from docs/ci.md as written.
recipe = pathlib.Path("docs/ci.md").read_text().split("```yaml\n")[1].split("```")[0]
steps = yaml.safe_load(recipe)["jobs"]["report"]["steps"]
fetch = next(s for s in steps if s.get("name") == "Fetch the published release")["run"]

release("2024-01-15", work / "s1")
release("2024-02-15", work / "s2", work / "s1")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def handler(*args, **kwargs):
    return Quiet(*args, directory=str(work / "s2"), **kwargs)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/"
subprocess.run(["bash", "-euo", "pipefail", "-c", fetch.replace("${{ vars.REPORT_URL }}", url)],
               cwd=work, check=True)
server.shutdown()
release("2024-03-15", work / "s3", work / "published")

site = work / "s3"
history = json.loads((site / "releases/releases.json").read_text())["releases"]
previous = None
for r in history:
    sums = (site / r["path"] / "data/SHA256SUMS").read_bytes()
    assert hashlib.sha256(sums).hexdigest() == r["sums_sha256"], r
    assert r["previous_sums_sha256"] == previous, r
    previous = r["sums_sha256"]
assert [r["published"] for r in history] == ["2024-01-15", "2024-02-15"], history
saved = (work / "s1/data/SHA256SUMS").read_bytes()
assert hashlib.sha256(saved).hexdigest() == history[0]["sums_sha256"]
assert "What changed since the last release" in (site / "releases/index.html").read_text()
print(f"releases: {len(history)} earlier releases chained; fetched through the docs/ci.md step")
