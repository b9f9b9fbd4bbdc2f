#!/usr/bin/env python3
"""Makes a variant of a sharelog report root, for the attacker's audit (audit.py).

Usage: variant.py ROOT OUT --seed N [--deletions K] [--bands WIDTH] [--min-count M] [--quarters] [--data-only]

Copies ROOT's report.yaml, data/, content/, templates/ and i18n/ to OUT (OUT must not exist, be
empty, or be an earlier report root, which is replaced), then:

--deletions K   adds K deletion requests in data/deletions/variant.csv: random partners (half of
                them naming one of the partner's export batches, most with a reason), item
                counts from 0 and below min_count up to thousands, sent in a few months of the
                report's period (so that a month holds several requests in different states),
                acknowledged or not, completed or not (completing without acknowledging is
                allowed), every event before the end of `published`. A partner without
                `deletion_deadline_days` gets one half of the time, so that some are overdue.
--bands WIDTH   publishes the deletions table in bands of WIDTH, and opt-outs-monthly (when the
                root has opt-out data) and opt-out-scopes (when it has an opt-out ledger).
--min-count M   sets privacy.min_count.
--quarters      sets privacy.quarters (opt-outs-monthly by quarter where months would be hidden).
--data-only     copies report.yaml, data/ and content/ only: templates and interface strings do
                not change the downloads, and a root's templates may need a newer sharelog (the
                example root's templates/ are the project's own).

The same arguments give the same variant. report.yaml and partners.yaml are rewritten with
PyYAML (comments are lost; values are kept).
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import random
import shutil
import sys
from datetime import date, datetime, timedelta, timezone

import yaml

COPIED = ["report.yaml", "data", "content", "templates", "i18n"]


def as_date(v):
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).date() if v.tzinfo else v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def copy_root(root, out, names=COPIED):
    if os.path.exists(out):
        if os.path.isfile(os.path.join(out, "report.yaml")) or not os.listdir(out):
            shutil.rmtree(out)
        else:
            sys.exit(f"error: {out} exists and is not a report root; not overwriting it")
    os.makedirs(out)
    for name in names:
        src = os.path.join(root, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(out, name))
        elif os.path.isfile(src):
            shutil.copy2(src, os.path.join(out, name))


def stamp(rng, day):
    """A bare date or a UTC datetime on `day` (both forms are accepted)."""
    if rng.random() < 0.5:
        return day.isoformat()
    return f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"


def item_count(rng, min_count):
    r = rng.random()
    if r < 0.12:
        return 0
    if r < 0.45 and min_count > 1:
        return rng.randrange(1, min_count)
    if r < 0.80:
        return rng.randrange(min_count, 500)
    return rng.randrange(500, 20000)


def add_deletions(out, report, rng, k):
    partners_path = os.path.join(out, "data", "partners.yaml")
    with open(partners_path, encoding="utf-8") as f:
        partners = yaml.safe_load(f) or []
    for p in partners:
        if "deletion_deadline_days" not in p and rng.random() < 0.5:
            p["deletion_deadline_days"] = rng.choice([7, 14, 30, 45, 60])
    with open(partners_path, "w", encoding="utf-8") as f:
        yaml.safe_dump(partners, f, sort_keys=False, allow_unicode=True)

    exports = {}
    for manifest in sorted(glob.glob(os.path.join(out, "data", "exports", "**", "*.yaml"), recursive=True)):
        with open(manifest, encoding="utf-8") as f:
            m = yaml.safe_load(f) or {}
        if isinstance(m, dict) and "id" in m and "partner" in m and "exported_at" in m:
            at = m["exported_at"]
            if isinstance(at, str) and "T" in at:
                at = datetime.fromisoformat(at.replace("Z", "+00:00"))
            day = as_date(at)
            exports.setdefault(str(m["partner"]), []).append((day, str(m["id"])))
    published = as_date(report["published"])
    first = as_date(report["period"]["from"])
    last = min(as_date(report["period"]["to"]), published)
    min_count = int((report.get("privacy") or {}).get("min_count", 10))
    # A few months, so that months hold several requests.
    months = sorted({(d.year, d.month) for d in
                     (first + timedelta(days=rng.randrange((last - first).days + 1)) for _ in range(max(1, k // 4)))})
    rows = []
    for i in range(k):
        y, m = rng.choice(months)
        start = max(first, date(y, m, 1))
        end = min(last, (date(y, m, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1))
        sent = start + timedelta(days=rng.randrange((end - start).days + 1))
        state = rng.choice(["open", "acknowledged", "done", "done", "done-without-ack"])
        ack = done = ""
        if state in ("acknowledged", "done"):
            ack = stamp(rng, min(published, sent + timedelta(days=rng.randrange(0, 10))))
        if state.startswith("done"):
            day = sent + timedelta(days=rng.randrange(1, 90))
            if day <= published:
                done = stamp(rng, day)
        sent_text = sent.isoformat()  # a bare date: its midnight precedes every event that day
        partner = rng.choice(partners)["id"]
        # Half of the requests name one of the partner's batches; most give a reason.
        # (Only a batch exported before the request was sent.)
        mine = [e for day, e in exports.get(partner, []) if day < sent]
        export = rng.choice(mine) if mine and rng.random() < 0.5 else ""
        reason = rng.choice(["", "opt-out", "opt-out", "owner-request", "sensitive-content", "legal", "other"])
        rows.append([f"V{i:04d}", partner, sent_text, item_count(rng, min_count), ack, done, export, reason])
    folder = os.path.join(out, "data", "deletions")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "variant.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["request_id", "partner", "sent_at", "items", "acknowledged_at", "completed_at", "export", "reason"])
        w.writerows(rows)
    # Request ids must be unique across every file: make sure no existing file uses ours.
    for other in glob.glob(os.path.join(folder, "**", "*.csv"), recursive=True):
        if os.path.basename(other) != "variant.csv":
            with open(other, encoding="utf-8") as f:
                ids = {r.get("request_id") for r in csv.DictReader(f)}
            if ids & {r[0] for r in rows}:
                sys.exit(f"error: {other} already uses a request id of the form V0000")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--deletions", type=int, default=0, metavar="K")
    ap.add_argument("--bands", type=int, metavar="WIDTH")
    ap.add_argument("--min-count", type=int, metavar="M")
    ap.add_argument("--data-only", action="store_true")
    ap.add_argument("--quarters", action="store_true")
    a = ap.parse_args()
    if a.deletions < 0 or (a.min_count is not None and a.min_count < 1):
        ap.error("--deletions must be >= 0 and --min-count >= 1")
    source = os.path.join(a.root, "report.yaml")
    if not os.path.isfile(source):
        ap.error(f"{a.root} is not a report root (no report.yaml)")
    with open(source, encoding="utf-8") as f:
        report = yaml.safe_load(f)
    privacy = report.get("privacy") or {}
    report["privacy"] = privacy
    if a.min_count is not None:
        privacy["min_count"] = a.min_count
    min_count = int(privacy.get("min_count", 10))
    if a.bands is not None and a.bands < max(min_count, 2):
        ap.error(f"--bands must be at least min_count ({min_count}) and 2")

    copy_root(a.root, a.out, COPIED[:3] if a.data_only else COPIED)
    if a.deletions:
        add_deletions(a.out, report, random.Random(a.seed), a.deletions)
    if a.bands is not None:
        opt_outs = os.path.join(a.out, "data", "opt-outs")
        ledger = bool(glob.glob(os.path.join(opt_outs, "ledger.*")))
        tables = ["deletions"]
        if ledger or os.path.isfile(os.path.join(opt_outs, "monthly.csv")):
            tables.append("opt-outs-monthly")
        if ledger:
            tables.append("opt-out-scopes")
        privacy["bands"] = {"width": a.bands, "tables": tables}
    if a.quarters:
        privacy["quarters"] = True
    if a.min_count is not None or a.bands is not None or a.quarters:  # else report.yaml stays as it was
        with open(os.path.join(a.out, "report.yaml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(report, f, sort_keys=False, allow_unicode=True)

if __name__ == "__main__":
    main()
