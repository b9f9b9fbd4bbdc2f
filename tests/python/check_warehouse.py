"""Runs the DuckDB query `sharelog sql` prints on report roots, unchanged, and checks that
declared counts made by it give the same report data as sharelog's own counting of the item
listings.

Usage: python check_warehouse.py SHARELOG_BINARY ROOT [ROOT...]

For each root: every manifest that names an item listing gets a twin root whose manifest
declares the query's result instead (`counts: counts-<id>.csv`). Both roots are built with
`--unsuppressed` (exact counts) and their `data/shared-items.csv` and the item columns of
`data/exports.csv` must be identical. The query for every export at once (over one `items`
relation with an `export` column) must give the same rows as the per-export queries.
"""

import csv
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "warehouse.md"
FLAGS = ["private", "deleted", "suspended", "explicit", "minor"]


def query(binary: str, root: Path, export) -> str:
    args = [binary, "sql", "--root", str(root), "--engine", "duckdb"]
    if export is not None:
        args += ["--export", export]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def run(con, sql: str) -> list:
    """Every statement of `sql` as it is; the rows of the last."""
    statements = [s for s in sql.split(";") if s.strip() and any(not l.startswith("--") for l in s.strip().splitlines())]
    for s in statements[:-1]:
        con.execute(s)
    return con.execute(statements[-1]).fetchall()


def reader(path: Path) -> str:
    p = str(path).replace("'", "''")
    if path.suffix == ".parquet":
        return f"read_parquet('{p}')"
    if path.suffix in (".ndjson", ".jsonl"):
        return f"read_json('{p}', format='newline_delimited')"
    return f"read_csv('{p}', header=true, all_varchar=true)"


def columns(con, source: str) -> list:
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]


def declare(binary: str, original: Path, root: Path, con) -> int:
    partners = {p["id"]: p for p in yaml.safe_load((root / "data/partners.yaml").read_text())}
    ledgers = [p for p in (root / "data/opt-outs").glob("ledger.*")] if (root / "data/opt-outs").is_dir() else []
    if ledgers:
        source = reader(ledgers[0])
        have = columns(con, source)
        scope = "scope" if "scope" in have else "NULL AS scope"
        withdrawn = "withdrawn_at" if "withdrawn_at" in have else "NULL AS withdrawn_at"
        con.execute(f"CREATE OR REPLACE VIEW ledger AS SELECT owner_id, opted_out_at, {withdrawn}, {scope} FROM {source}")
    else:
        con.execute("CREATE OR REPLACE VIEW ledger AS SELECT NULL AS owner_id, NULL AS opted_out_at, NULL AS withdrawn_at, NULL AS scope WHERE false")
    declared = 0
    per_export = []
    for manifest in sorted((root / "data/exports").rglob("*.yaml")):
        text = manifest.read_text(encoding="utf-8")
        m = yaml.load(text, Loader=yaml.BaseLoader)
        if "items" not in m:
            continue
        listing = manifest.parent / m["items"]
        source = reader(listing)
        have = columns(con, source)
        flags = ", ".join(f if f in have else f"NULL AS {f}" for f in FLAGS)
        view = f"SELECT item_id, owner_id, category, created_at, {flags} FROM {source}"
        con.execute(f"CREATE OR REPLACE VIEW items AS {view}")
        con.execute(f"CREATE OR REPLACE TABLE items_{len(per_export)} AS SELECT {m['id']!r} AS export, * FROM ({view})")
        rows = run(con, query(binary, original, m["id"]))
        per_export.append((m["partner"], m["id"], rows))
        out = manifest.parent / f"counts-{m['id']}.csv"
        with open(out, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            # Without a ledger the query has no opted_out: sharelog then says it is unknown.
            w.writerow(["category", "year", "items", *FLAGS] + (["opted_out"] if ledgers else []))
            for r in rows:
                w.writerow(list(r))
        # The manifest now declares the counts instead of naming the listing.
        kept, skipping = [], False
        for line in text.splitlines():
            if line.startswith("items:"):
                continue
            if line.startswith("counts:"):
                skipping = True
                continue
            if skipping and (line.startswith(" ") or line.startswith("-")):
                continue
            skipping = False
            kept.append(line)
        kept.append(f"counts: {out.name}")
        manifest.write_text("\n".join(kept) + "\n", encoding="utf-8")
        listing.unlink()
        declared += 1
    # Every export at once, over one relation with an `export` column: the same rows. (Only the
    # listed exports have items; the others' branches count nothing.)
    if per_export:
        con.execute("CREATE OR REPLACE VIEW items AS " + " UNION ALL BY NAME ".join(
            f"SELECT * FROM items_{i}" for i in range(len(per_export))))
        got = [tuple(r) for r in run(con, query(binary, original, None))]
        want = sorted((p, e, *r) for p, e, rows in per_export for r in rows)
        if got != want:
            raise SystemExit(f"error: {original}: the query for every export differs from the per-export queries")
    return declared


def build(binary: str, root: Path, out: Path) -> None:
    subprocess.run([binary, "build", "--quiet", "--unsuppressed", "--root", str(root), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)


def table(path: Path, keep) -> list:
    with open(path, newline="", encoding="utf-8") as f:
        return [[row[c] for c in keep(row)] for row in csv.DictReader(f)]


def main() -> int:
    binary, roots = sys.argv[1], [Path(r) for r in sys.argv[2:]]
    failures = 0
    for root in roots:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            twin = tmp / "declared"
            shutil.copytree(root, twin)
            con = duckdb.connect()
            n = declare(binary, root, twin, con)
            build(binary, root, tmp / "from-listings")
            build(binary, twin, tmp / "from-warehouse")
            shared = lambda r: [c for c in r if c != "not_for_publication"]
            exports = lambda r: ["export", "partner", "items", "categories", "first_year", "last_year"]
            for name, keep in [("shared-items", shared), ("exports", exports)]:
                a = table(tmp / "from-listings/data" / f"{name}.csv", keep)
                b = table(tmp / "from-warehouse/data" / f"{name}.csv", keep)
                if a != b:
                    failures += 1
                    print(f"error: {root}: {name} differs between the listings and the warehouse query", file=sys.stderr)
                    for x, y in zip(a, b):
                        if x != y:
                            print(f"  listing:   {x}\n  warehouse: {y}", file=sys.stderr)
                            break
            print(f"{root}: {n} listing(s) counted by DuckDB with `sharelog sql` (one export and all at once); shared-items and exports match sharelog's")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
