"""Issue 18, part 6: docs/ci.md's recipes, run as a runner would run them.

The GitHub Actions workflow and the GitLab CI pipeline are taken from docs/ci.md as written. Each
is parsed as YAML, and its jobs run here in order, every shell step with the shell and the
environment the runner gives it:

- GitHub: `if:` conditions are evaluated (`always()`, `success()`, `failure()`, `==`, `!=`,
  `&&`, `||`, `!`), `${{ ... }}` is substituted, a failed step fails the job and skips every
  later step without a status function, `deploy` runs only when `report` succeeded. Actions are
  stand-ins that do what the real ones do to the workspace (checkout clones the repository at the
  event's commit; the cache is restored by key prefix and saved; artifacts and the Pages artifact
  are copied; deploy-pages publishes to the live site this script serves over HTTP).
- GitLab: `rules`, stages (a later stage runs only when every job of the earlier ones passed),
  `before_script`, each `script` entry in `bash -e`; the merge-request note is POSTed to this
  script's HTTP server, which plays the GitLab API.

`cargo install` and `gh` are stand-ins that check their arguments; `sharelog` is the binary under
test. The story, on a copy of the findings fixture in a Git repository:

1. main, first release: every high finding answered in data/responses.yaml, so the gate passes,
   the site is signed and deployed; there is nothing published yet to carry.
2. a pull request that grows an answered finding past its response: the gate fails (exit 4), and
   the cache is still saved, the site kept as an artifact, and the diff commented, naming the
   finding's old and new count; nothing is deployed.
3. main, second and third releases: the published site is fetched, carried with --previous, the
   chain verifies, and the releases page lists what changed.

The same story then runs through the GitLab pipeline.

Usage: run_workflow.py SHARELOG_BINARY FIXTURE_ROOT WORK_DIR
"""

import csv
import hashlib
import http.server
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import yaml

binary, fixture, work = (pathlib.Path(a).resolve() for a in sys.argv[1:4])
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
docs = pathlib.Path("docs/ci.md").read_text()
blocks = re.findall(r"```yaml\n(.*?)```", docs, re.S)
github = yaml.safe_load(blocks[0])
gitlab = yaml.safe_load(blocks[1])


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------------------------------------
# The report repository: the fixture, its high findings answered at their exact counts.
repo = work / "repo"
shutil.copytree(fixture, repo)


def set_published(date):
    report = repo / "report.yaml"
    report.write_text(re.sub(r"(?m)^published: .*$", f"published: {date}", report.read_text()))


def answer_findings():
    """Answers every high finding at its exact count as the root stands (what a platform does
    before each release: a response covers the count it answers, never more)."""
    exact = work / "exact"
    (repo / "data/responses.yaml").unlink(missing_ok=True)
    run([str(binary), "build", "--quiet", "--no-cache", "--unsuppressed", "--root", str(repo),
         "--out", str(exact)])
    responses = []
    with open(exact / "data/findings.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["severity"] != "high":
                continue
            key = {k: row[k] for k in ("id", "partner", "export", "flag") if row[k]}
            responses.append({"finding": key, "count": int(row["count"]), "date": "2023-12-01",
                              "response": f"We asked the partner to delete these items ({row['id']})."})
    assert len(responses) >= 3, responses
    (repo / "data/responses.yaml").write_text(yaml.safe_dump(responses, sort_keys=False))


answer_findings()


def git(*args, cwd=repo):
    return run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.org", *args], cwd=cwd).stdout


git("init", "-q", "-b", "main")
git("add", "-A")
git("commit", "-q", "-m", "first release")

# ---------------------------------------------------------------------------------------------
# Stand-ins on PATH, and the HTTP server that plays the static host and GitLab's API.
bin_dir = work / "bin"
bin_dir.mkdir()
(bin_dir / "sharelog").symlink_to(binary)
(bin_dir / "cargo").write_text("""#!/bin/sh
# cargo install --locked --git URL sharelog: sharelog is already on PATH.
[ "$1 $2 $3" = "install --locked --git" ] && [ -n "$4" ] && [ "$5" = sharelog ] && [ $# -eq 5 ] \
  || { echo "unexpected: cargo $*" >&2; exit 2; }
""")
(bin_dir / "gh").write_text("""#!/bin/sh
# gh pr comment N --body-file FILE --edit-last --create-if-none
[ "$1 $2" = "pr comment" ] && [ "$4" = --body-file ] && [ -f "$5" ] \
  && [ "$6 $7" = "--edit-last --create-if-none" ] || { echo "unexpected: gh $*" >&2; exit 2; }
cp "$5" "$COMMENTS/pr-$3.md"
""")
(bin_dir / "apt-get").write_text("#!/bin/sh\nexit 0\n")  # jq is installed by .ci/run
for stub in ("cargo", "gh", "apt-get"):
    (bin_dir / stub).chmod(0o755)
live = work / "live"      # what the static host serves
live.mkdir()
comments = work / "comments"
comments.mkdir()
notes = []


class Host(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(live), **kwargs)

    def log_message(self, *args):
        pass

    def do_POST(self):  # GitLab: POST /projects/ID/merge_requests/IID/notes
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers.get("PRIVATE-TOKEN") == "bot-token", self.headers
        from urllib.parse import parse_qs
        notes.append((self.path, parse_qs(body.decode())["body"][0]))
        self.send_response(201)
        self.end_headers()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Host)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/"

# The signing key, as the secret holds it.
keys = work / "keys"
keys.mkdir()
assert shutil.which("minisign"), "the recipes sign with a minisign key: install minisign"
run(["minisign", "-G", "-W", "-p", str(keys / "key.pub"), "-s", str(keys / "key.sec")])
sign_key = (keys / "key.sec").read_text()
cache_key = "ab" * 32


def base_env():
    env = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR") if k in os.environ}
    env["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
    env["COMMENTS"] = str(comments)
    return env


def shell(script, cwd, env):
    """A step's script as the runner runs it: bash --noprofile --norc -eo pipefail."""
    path = work / "step.sh"
    path.write_text(script)
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
                          cwd=cwd, env=env, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# GitHub Actions.
class Expr:
    """GitHub's expression syntax, as much as the recipe uses."""

    token = re.compile(r"\s*(==|!=|&&|\|\||!|\(|\)|,|'[^']*'|[A-Za-z_][A-Za-z0-9_.\-]*)")

    def __init__(self, text, context, status):
        self.tokens, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = self.token.match(text, pos)
            assert m, f"cannot read `{text}` at {pos}"
            self.tokens.append(m.group(1))
            pos = m.end()
        self.i, self.context, self.status = 0, context, status

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self):
        self.i += 1
        return self.tokens[self.i - 1]

    def value(self):
        v = self.or_()
        assert self.peek() is None, self.tokens
        return v

    def or_(self):
        v = self.and_()
        while self.peek() == "||":
            self.take()
            w = self.and_()
            v = v or w
        return v

    def and_(self):
        v = self.cmp()
        while self.peek() == "&&":
            self.take()
            w = self.cmp()
            v = v and w
        return v

    def cmp(self):
        v = self.unary()
        while self.peek() in ("==", "!="):
            op = self.take()
            w = self.unary()
            v = (v == w) if op == "==" else (v != w)
        return v

    def unary(self):
        if self.peek() == "!":
            self.take()
            return not self.unary()
        if self.peek() == "(":
            self.take()
            v = self.or_()
            assert self.take() == ")"
            return v
        t = self.take()
        if t.startswith("'"):
            return t[1:-1]
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.or_())
                if self.peek() == ",":
                    self.take()
            self.take()
            if t == "hashFiles":  # '' when no file matches, as on the runner
                files = [self.context["workspace"] / a for a in args]
                return "h" if any(f.is_file() for f in files) else ""
            return {"always": True, "success": self.status == "success",
                    "failure": self.status == "failure", "cancelled": False}[t]
        v = self.context
        for part in t.split("."):
            v = v.get(part, "") if isinstance(v, dict) else ""
        return v


def substitute(text, context, status="success"):
    def one(m):
        v = Expr(m.group(1), context, status).value()
        return "" if v is None else str(v)
    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def condition(step, context, status):
    text = str(step.get("if", "success()"))
    text = re.sub(r"^\$\{\{(.*)\}\}$", r"\1", text.strip())
    if not re.search(r"\b(always|success|failure|cancelled)\(\)", text):
        text = f"success() && ({text})"
    return bool(Expr(text, context, status).value())


class GitHub:
    def __init__(self, event, ref, secrets, head, base_ref=None, number=None, fork=False):
        self.store = work / "gh-cache"       # the Actions cache, across runs
        self.store.mkdir(exist_ok=True)
        self.run_id = str(len(list(self.store.iterdir())) + 1) + event
        self.context = {
            "github": {"ref": ref, "event_name": event, "base_ref": base_ref or "",
                       "run_id": self.run_id, "token": "gh-token",
                       "repository": "platform/report",
                       "event": {"pull_request": {
                           "number": number or "",
                           "head": {"repo": {"full_name": "someone/report" if fork
                                             else "platform/report"}}}}},
            "vars": {"SHARELOG_GIT": "https://example.org/sharelog.git", "REPORT_URL": url},
            "secrets": secrets,
            "env": {},
        }
        self.head = head
        self.log = []          # (job, step, ran, exit code)
        self.artifacts = work / f"gh-artifacts-{self.run_id}"
        self.pages = None

    def step_env(self, job_env, step):
        env = base_env()
        temp = work / f"runner-temp-{self.run_id}"
        temp.mkdir(exist_ok=True)
        env.update({"RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(self.workspace), "CI": "true"})
        for k, v in {**job_env, **step.get("env", {})}.items():
            env[k] = substitute(str(v), self.context)
        return env

    def action(self, uses, with_, env):
        name = uses.split("@")[0]
        ws = self.workspace
        if name == "actions/checkout":
            shutil.rmtree(ws, ignore_errors=True)
            run(["git", "clone", "-q", str(repo), str(ws)])
            run(["git", "checkout", "-q", self.head], cwd=ws)
        elif name in ("dtolnay/rust-toolchain", "Swatinem/rust-cache"):
            pass
        elif name == "actions/cache/restore":
            prefix = with_["restore-keys"]
            hits = sorted(p for p in self.store.iterdir() if p.name.startswith(prefix))
            if hits:
                shutil.copytree(hits[-1], ws / with_["path"], dirs_exist_ok=True)
        elif name == "actions/cache/save":
            src = ws / with_["path"]
            if src.exists() and not (self.store / with_["key"]).exists():
                shutil.copytree(src, self.store / with_["key"])
        elif name == "actions/upload-artifact":
            # A missing path is a warning (if-no-files-found: warn), not a failure.
            if (ws / with_["path"]).exists():
                shutil.copytree(ws / with_["path"], self.artifacts / with_["name"])
        elif name == "actions/upload-pages-artifact":
            self.pages = work / f"pages-{self.run_id}"
            shutil.copytree(ws / with_["path"], self.pages)
        elif name == "actions/deploy-pages":
            assert self.pages is not None, "deploy-pages without a Pages artifact"
            shutil.rmtree(live)
            shutil.copytree(self.pages, live)
        else:
            raise AssertionError(f"no stand-in for {uses}")
        return 0

    def job(self, name, spec):
        self.workspace = work / f"gh-ws-{self.run_id}" / "repo"
        self.workspace.parent.mkdir(exist_ok=True)
        self.context["workspace"] = self.workspace
        status = "success"
        job_env = spec.get("env", {})
        self.context["env"] = {k: substitute(str(v), self.context) for k, v in job_env.items()}
        for step in spec["steps"]:
            label = step.get("name", step.get("uses", "?"))
            if not condition(step, self.context, status):
                self.log.append((name, label, False, None))
                continue
            env = self.step_env(job_env, step)
            if "uses" in step:
                with_ = {k: substitute(str(v), self.context) for k, v in step.get("with", {}).items()}
                code, out = self.action(step["uses"], with_, env), ""
            else:
                code, out = shell(substitute(step["run"], self.context), self.workspace, env)
            self.log.append((name, label, True, code))
            if code != 0:
                status = "failure"
                self.output = out
        return status

    def run(self):
        jobs = github["jobs"]
        results = {}
        for name, spec in jobs.items():
            needs = spec.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            if any(results.get(n) != "success" for n in needs) or \
                    not condition(spec, self.context, "success"):
                results[name] = "skipped"
                continue
            results[name] = self.job(name, spec) if "steps" in spec and "runs-on" in spec else "?"
        return results

    def ran(self, step):
        return [r for r in self.log if r[1] == step and r[2]]


secrets = {"SHARELOG_CACHE_KEY": cache_key, "SHARELOG_SIGN_KEY": sign_key}


def check_release(site, releases, signed=True):
    """The live site: signed, its checksums hold, its chain verifies."""
    run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=site / "data")
    if signed:
        run(["minisign", "-Vm", str(site / "data/SHA256SUMS"), "-p", str(keys / "key.pub")])
    else:
        assert not (site / "data/SHA256SUMS.minisig").exists()
    history = site / "releases/releases.json"
    if not releases:
        assert not history.exists()
        return
    chain = json.loads(history.read_text())["releases"]
    assert [r["published"] for r in chain] == releases, chain
    before = None
    for r in chain:
        sums = (site / r["path"] / "data/SHA256SUMS").read_bytes()
        assert hashlib.sha256(sums).hexdigest() == r["sums_sha256"], r
        assert r["previous_sums_sha256"] == before, r
        before = r["sums_sha256"]
        # Every release was signed, and its signature was fetched and carried with it.
        run(["minisign", "-Vm", str(site / r["path"] / "data/SHA256SUMS"), "-p",
             str(keys / "key.pub")])


# 1. main, first release.
set_published("2023-12-31")
answer_findings()
git("commit", "-q", "--allow-empty", "-am", "published 2023-12-31")
gh = GitHub("push", "refs/heads/main", secrets, "main")
assert gh.run() == {"report": "success", "deploy": "success"}, gh.log
assert gh.ran("Fetch the published release"), gh.log
check_release(live, [])
assert (work / "gh-cache").iterdir(), "the cache was not saved"

# 2. a pull request that grows an answered finding past its response.
git("checkout", "-q", "-b", "grow")
x2 = repo / "data/exports/x2.yaml"
x2.write_text(x2.read_text().replace("minor: 4}", "minor: 6}"))
git("commit", "-q", "--allow-empty", "-am", "x2 held 6 minors' items")
git("checkout", "-q", "main")
for who, pr_secrets in (("member", secrets), ("fork", {})):
    pr = GitHub("pull_request", "refs/pull/7/merge", pr_secrets, "grow", base_ref="main",
                number=7, fork=who == "fork")
    assert pr.run() == {"report": "failure", "deploy": "skipped"}, pr.log
    built = pr.ran("Build the site; fail on new high-severity findings")
    assert built and built[0][3] == 4, (pr.log, getattr(pr, "output", ""))
    assert "sensitive-content-shared" in pr.output and "its response covers 4" in pr.output, pr.output
    for step in ("Keep the site for review, even when the gate failed",
                 "What changed against the base branch"):
        assert pr.ran(step), (step, pr.log)
    assert not pr.ran("Prepare Pages"), pr.log
    assert (pr.artifacts / "site/index.html").is_file()
    # Pull requests build unsigned: the signing key is the main branch's alone.
    assert not (pr.artifacts / "site/data/SHA256SUMS.minisig").exists(), who
    assert (pr.ran("actions/cache/save@v4") != []) == (who == "member"), pr.log
    # A fork's token cannot comment: its diff is in the log instead.
    assert (pr.ran("Comment the diff on the pull request") != []) == (who == "member"), pr.log
    if who == "member":
        comment = (comments / "pr-7.md").read_text()
        assert "sensitive" in comment and "count 4 → 6" in comment, comment
        (comments / "pr-7.md").unlink()

# 3. main, second and third releases, each carrying the one published before it.
for date, count, chain in (("2024-01-31", "100", ["2023-12-31"]),
                           ("2024-02-29", "110", ["2023-12-31", "2024-01-31"])):
    set_published(date)
    x2.write_text(re.sub(r"year: 2023, items: \d+", f"year: 2023, items: {count}", x2.read_text()))
    answer_findings()
    git("commit", "-q", "--allow-empty", "-am", f"published {date}")
    gh = GitHub("push", "refs/heads/main", secrets, "main")
    assert gh.run() == {"report": "success", "deploy": "success"}, (gh.log, getattr(gh, "output", ""))
    check_release(live, chain)
page = (live / "releases/index.html").read_text()
assert "What changed since the last release" in page and "export=x2: items 150 → 160" in page, page

# A run on main without the signing key (a secret being rotated): unsigned, but the history is
# carried all the same.
set_published("2024-03-15")
answer_findings()
git("commit", "-q", "--allow-empty", "-am", "published 2024-03-15")
gh = GitHub("push", "refs/heads/main", {"SHARELOG_CACHE_KEY": cache_key}, "main")
assert gh.run() == {"report": "success", "deploy": "success"}, (gh.log, getattr(gh, "output", ""))
check_release(live, ["2023-12-31", "2024-01-31", "2024-02-29"], signed=False)

# The static host is down: the fetch fails and nothing is deployed (a first release is only
# what a 404 says).
gh = GitHub("push", "refs/heads/main", secrets, "main")
gh.context["vars"]["REPORT_URL"] = "http://127.0.0.1:9/"
assert gh.run() == {"report": "failure", "deploy": "skipped"}, gh.log
assert gh.ran("Fetch the published release")[0][3] != 0, gh.log
assert not gh.ran("Build the site; fail on new high-severity findings"), gh.log
print(f"GitHub workflow: {sum(1 for _ in (work / 'gh-cache').iterdir())} cache entries, "
      f"4 releases deployed and chained (one unsigned), the failed pull request commented "
      f"(a fork's not), an unreachable host stops the run")

# ---------------------------------------------------------------------------------------------
# GitLab CI: the same story.
shutil.rmtree(live)
live.mkdir()
stages = gitlab["stages"]
default = gitlab["default"]
jobs = {k: v for k, v in gitlab.items() if isinstance(v, dict) and "script" in v}


def rule_holds(job, env):
    rules = job.get("rules")
    if not rules:
        # GitLab's default: a job without rules runs in branch pipelines, not merge requests'.
        return env.get("CI_PIPELINE_SOURCE") != "merge_request_event"
    for rule in rules:
        text = rule["if"]
        for name in re.findall(r"\$([A-Z_]+)", text):
            text = text.replace(f"${name}", repr(env.get(name, "")))
        if eval(text, {}):  # only `'a' == 'b'` comparisons after substitution
            return True
    return False


def gitlab_pipeline(env_extra, head):
    project = work / f"gl-{len(list(work.glob('gl-*')))}"
    run(["git", "clone", "-q", str(repo), str(project)])
    run(["git", "checkout", "-q", head], cwd=project)
    cache = work / "gl-cache"            # default.cache: carried between pipelines
    if cache.exists():
        for p in default["cache"]["paths"]:
            if (cache / p).exists():
                shutil.copytree(cache / p, project / p, dirs_exist_ok=True)
    env = base_env()
    env.update({"CI_PROJECT_DIR": str(project), "CI_DEFAULT_BRANCH": "main",
                "SHARELOG_GIT": "https://example.org/sharelog.git", "REPORT_URL": url,
                "CI_API_V4_URL": url.rstrip("/"), "CI_PROJECT_ID": "42",
                "REPORT_BOT_TOKEN": "bot-token"})
    env.update(env_extra)
    # cargo's own PATH entry comes after ours: `command -v sharelog` finds the binary under test.
    results = {}
    for stage in stages:
        if any(r == "failed" for r in results.values()):
            for name, job in jobs.items():
                if job["stage"] == stage and rule_holds(job, env):
                    results[name] = "skipped"
            continue
        for name, job in jobs.items():
            if job["stage"] != stage or not rule_holds(job, env):
                continue
            script = "\n".join(default["before_script"] + job["script"])
            code, out = shell(script, project, env)
            results[name] = "success" if code == 0 else "failed"
            results[name + ":out"] = out
            results[name + ":code"] = code
            if name == "pages" and code == 0:
                shutil.rmtree(live)
                shutil.copytree(project / "public", live)
    for p in default["cache"]["paths"]:
        if (project / p).exists():
            shutil.copytree(project / p, cache / p, dirs_exist_ok=True)
    return results, project


def gl_status(results):
    return {k: v for k, v in results.items() if ":" not in k}


git("checkout", "-q", "main")
set_published("2024-03-31")
answer_findings()
git("commit", "-q", "--allow-empty", "-am", "published 2024-03-31")
key_file = keys / "gitlab.key"
key_file.write_text(sign_key)
main_env = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main",
            "SHARELOG_CACHE_KEY": cache_key, "SHARELOG_SIGN_KEY": str(key_file)}
res, _ = gitlab_pipeline(main_env, "main")
assert gl_status(res) == {"build": "success", "pages": "success"}, res
check_release(live, [])

git("checkout", "-q", "-b", "grow-again")
x2.write_text(x2.read_text().replace("minor: 4}", "minor: 6}"))
git("commit", "-q", "-am", "x2 held 6 minors' items")
git("checkout", "-q", "main")
mr_env = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_COMMIT_BRANCH": "",
          "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_MERGE_REQUEST_IID": "9"}
res, project = gitlab_pipeline(mr_env, "grow-again")
assert gl_status(res) == {"build": "failed", "diff": "success"}, res
assert res["build:code"] == 4 and "its response covers 4" in res["build:out"], res["build:out"]
assert (project / "public/index.html").is_file(), "artifacts: when: always keeps the site"
assert len(notes) == 1 and notes[0][0] == "/projects/42/merge_requests/9/notes", notes
assert "count 4 → 6" in notes[0][1], notes[0][1]

set_published("2024-04-30")
answer_findings()
git("commit", "-q", "--allow-empty", "-am", "published 2024-04-30")
res, _ = gitlab_pipeline(main_env, "main")
assert gl_status(res) == {"build": "success", "pages": "success"}, res
check_release(live, ["2024-03-31"])
server.shutdown()
print("GitLab pipeline: 2 releases deployed and chained, the failed merge request noted")
