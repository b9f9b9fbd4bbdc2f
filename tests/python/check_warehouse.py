"""Runs the DuckDB query of docs/warehouse.md on report roots and checks that declared counts made
by it give the same report data as sharelog's own counting of the item listings.

Usage: python check_warehouse.py SHARELOG_BINARY ROOT [ROOT...]

For each root: every manifest that names an item listing gets a twin root whose manifest
declares the query's result instead (`counts: counts-<id>.csv`). Both roots are built with
`--unsuppressed` (exact counts) and their `data/shared-items.csv` and the item columns of
`data/exports.csv` must be identical. The query is read from docs/warehouse.md, so the documented
SQL is the tested SQL.
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


def query() -> str:
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if b.startswith("-- duckdb"))


def reader(path: Path) -> str:
    p = str(path).replace("'", "''")
    if path.suffix == ".parquet":
        return f"read_parquet('{p}')"
    if path.suffix in (".ndjson", ".jsonl"):
        return f"read_json('{p}', format='newline_delimited')"
    return f"read_csv('{p}', header=true, all_varchar=true)"


def columns(con, source: str) -> list:
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]


def declare(root: Path, con, sql: str) -> int:
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
    for manifest in sorted((root / "data/exports").rglob("*.yaml")):
        text = manifest.read_text(encoding="utf-8")
        m = yaml.load(text, Loader=yaml.BaseLoader)
        if "items" not in m:
            continue
        listing = manifest.parent / m["items"]
        source = reader(listing)
        have = columns(con, source)
        flags = ", ".join(f if f in have else f"NULL AS {f}" for f in FLAGS)
        con.execute(f"CREATE OR REPLACE VIEW items AS SELECT item_id, owner_id, category, created_at, {flags} FROM {source}")
        partner = partners[m["partner"]]
        params = {
            "exported_at": str(m["exported_at"]),
            "partner": m["partner"],
            "trains_ai": "ai-training" in partner.get("purposes", []),
        }
        statements = [s for s in sql.split(";") if s.strip() and not s.strip().startswith("-- duckdb\nSET")]
        con.execute("SET TimeZone = 'UTC'")
        select = [s for s in statements if "SELECT" in s][-1]
        rows = con.execute(select, params).fetchall()
        out = manifest.parent / f"counts-{m['id']}.csv"
        with open(out, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["category", "year", "items", *FLAGS, "opted_out"])
            for r in rows:
                r = list(r)
                if not ledgers:
                    r[-1] = ""
                w.writerow(r)
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
    return declared


def build(binary: str, root: Path, out: Path) -> None:
    subprocess.run([binary, "build", "--quiet", "--unsuppressed", "--root", str(root), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)


def table(path: Path, keep) -> list:
    with open(path, newline="", encoding="utf-8") as f:
        return [[row[c] for c in keep(row)] for row in csv.DictReader(f)]


def main() -> int:
    binary, roots = sys.argv[1], [Path(r) for r in sys.argv[2:]]
    sql = query()
    failures = 0
    for root in roots:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            twin = tmp / "declared"
            shutil.copytree(root, twin)
            con = duckdb.connect()
            n = declare(twin, con, sql)
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
            print(f"{root}: {n} listing(s) counted by DuckDB; shared-items and exports match sharelog's")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
