"""Runs the queries `sharelog sql` prints, unchanged, in DuckDB or in Spark (PySpark, local
mode) on report roots, and checks that a report built from their results as declared counts and
figures is the same report as the one sharelog builds from the item listings.

Usage: python check_warehouse.py --engine duckdb|spark SHARELOG_BINARY ROOT [ROOT...]

For each root, every batch with an item listing is counted in the engine: its declared counts
(`sharelog sql --export ID`) and its figures (`sharelog sql --figures --export ID`), and every
batch at once (`sharelog sql`, `sharelog sql --figures`, over one `items` relation with an
`export` column), which must give the same rows as the batches one by one. A twin root then
declares the results instead of naming the listings (`counts: counts-<id>.csv`, or for every
other batch the table of every batch's counts, `counts-all.csv`; `figures: figures.csv`, with a
row per partner whose batches all had listings), and both roots
are built with `--unsuppressed` (exact counts). Every CSV table of the two sites' `data/` must be
byte for byte the same, except `findings.csv`, where a finding's message says where a number came
from ("as its declared counts say") and a `declared-count-mismatch` of a root that declares
counts beside a listing (the twin's counts are the listing's) is expected: its other columns
must be the same.
"""

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

FLAGS = ["private", "deleted", "suspended", "explicit", "minor"]
ITEM_COLUMNS = ["item_id", "owner_id", "category", "created_at", *FLAGS]
LEDGER_COLUMNS = ["owner_id", "opted_out_at", "withdrawn_at", "scope"]


def sql(binary: str, root: Path, engine: str, export, figures: bool) -> str:
    args = [binary, "sql", "--root", str(root), "--engine", engine]
    if export is not None:
        args += ["--export", export]
    if figures:
        args.append("--figures")
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def table_kind(path: Path) -> str:
    """csv, parquet or ndjson: the file's, or the parts' of a folder."""
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    suffix = files[0].suffix if files else ".csv"
    return {".parquet": "parquet", ".ndjson": "ndjson", ".jsonl": "ndjson"}.get(suffix, "csv")


class DuckDB:
    def __init__(self):
        import duckdb
        self.con = duckdb.connect()
        self.version = f"DuckDB {duckdb.__version__}"

    def source(self, path: Path) -> str:
        kind = table_kind(path)
        p = str(path).replace("'", "''")
        if path.is_dir():
            p += f"/**/*.{ 'parquet' if kind == 'parquet' else 'csv' }"
        if kind == "parquet":
            return f"read_parquet('{p}', hive_partitioning=true)"
        if kind == "ndjson":
            return f"read_json('{p}', format='newline_delimited')"
        return f"read_csv('{p}', header=true, all_varchar=true, hive_partitioning=true)"

    def view(self, name: str, path: Path, wanted: list, extra: str = "") -> None:
        src = self.source(path)
        have = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        cols = ", ".join(c if c in have else f"NULL AS {c}" for c in wanted)
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {extra}{cols} FROM {src}")

    def empty_ledger(self) -> None:
        self.con.execute("DROP TABLE IF EXISTS ledger")
        self.con.execute("CREATE TABLE ledger AS SELECT NULL AS owner_id, NULL AS opted_out_at, NULL AS withdrawn_at, NULL AS scope WHERE false")

    def items(self, path: Path) -> None:
        self.view("items", path, ITEM_COLUMNS)

    def keep(self, k: int, export: str, path: Path) -> None:
        self.view(f"items_{k}", path, ITEM_COLUMNS, extra=f"'{export}' AS export, ")

    def union(self, n: int) -> None:
        self.con.execute("DROP TABLE IF EXISTS items")
        self.con.execute("CREATE TABLE items AS " + " UNION ALL ".join(
            f"SELECT * FROM items_{k}" for k in range(n)))

    def ledger(self, path: Path) -> None:
        self.view("ledger", path, LEDGER_COLUMNS)

    def run(self, text: str) -> list:
        statements = [s for s in text.split(";")
                      if any(l.strip() and not l.strip().startswith("--") for l in s.splitlines())]
        for s in statements[:-1]:
            self.con.execute(s)
        return [list(r) for r in self.con.execute(statements[-1]).fetchall()]

    def stop(self) -> None:
        self.con.close()


class Spark:
    def __init__(self):
        from pyspark.sql import SparkSession
        self.spark = (SparkSession.builder.master("local[1]").appName("sharelog-sql")
                      .config("spark.sql.session.timeZone", "UTC")
                      .config("spark.ui.enabled", "false")
                      .config("spark.ui.showConsoleProgress", "false").getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")
        self.version = f"Spark {self.spark.version}"
        self.kept = []

    def frame(self, path: Path, wanted: list):
        kind = table_kind(path)
        reader = self.spark.read
        if kind == "parquet":
            df = reader.parquet(str(path))
        elif kind == "ndjson":
            df = reader.json(str(path))
        else:
            # CSV cells as text, as DuckDB's all_varchar.
            df = reader.option("header", True).csv(str(path))
        for c in wanted:
            if c not in df.columns:
                df = df.selectExpr("*", f"CAST(NULL AS STRING) AS {c}")
        return df.select(*wanted)

    def empty_ledger(self) -> None:
        self.spark.sql("SELECT CAST(NULL AS STRING) AS owner_id, CAST(NULL AS STRING) AS opted_out_at, CAST(NULL AS STRING) AS withdrawn_at, CAST(NULL AS STRING) AS scope WHERE false").createOrReplaceTempView("ledger")

    def items(self, path: Path) -> None:
        self.frame(path, ITEM_COLUMNS).createOrReplaceTempView("items")

    def keep(self, k: int, export: str, path: Path) -> None:
        from pyspark.sql.functions import col, lit
        # Listings of several types in one relation: every column as text (as DuckDB's union
        # coerces them), which the query reads the same way.
        df = self.frame(path, ITEM_COLUMNS)
        df = df.select(*[col(c).cast("string").alias(c) for c in ITEM_COLUMNS])
        self.kept.append(df.withColumn("export", lit(export)))

    def union(self, n: int) -> None:
        df = self.kept[0]
        for other in self.kept[1:n]:
            df = df.unionByName(other)
        df.createOrReplaceTempView("items")
        self.kept = []

    def ledger(self, path: Path) -> None:
        self.frame(path, LEDGER_COLUMNS).createOrReplaceTempView("ledger")

    def run(self, text: str) -> list:
        # One statement: spark.sql takes no trailing semicolon.
        return [list(r) for r in self.spark.sql(text.strip().rstrip(";")).collect()]

    def stop(self) -> None:
        self.spark.stop()


def cell(v) -> str:
    return "" if v is None else str(v)


def write_csv(path: Path, header: list, rows: list) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([cell(v) for v in r])


def rewrite_manifest(manifest: Path, counts: str, figures: str) -> None:
    """The manifest declares `counts` and `figures` instead of naming the listing."""
    kept, skipping = [], False
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.startswith(("items:", "counts:", "figures:")):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or line.startswith("-")):
            continue
        skipping = False
        kept.append(line)
    kept += [f"counts: {counts}", f"figures: {figures}"]
    manifest.write_text("\n".join(kept) + "\n", encoding="utf-8")


FIGURES = ["partner", "export", "owners", "owners_opted_out", "items_opted_out_now", "outside_window", "as_of"]


def declare(engine, binary: str, original: Path, twin: Path) -> tuple:
    """Counts every listed batch of `original` in the engine and makes `twin` declare the results."""
    ledgers = sorted((twin / "data/opt-outs").glob("ledger.*")) if (twin / "data/opt-outs").is_dir() else []
    if ledgers:
        engine.ledger(ledgers[0])
    else:
        engine.empty_ledger()
    manifests = []
    for manifest in sorted((twin / "data/exports").rglob("*.yaml")):
        m = yaml.load(manifest.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        if "items" in m and (manifest.parent / m["items"]).exists():
            manifests.append((manifest, m))
    partner_of = {}
    for manifest in sorted((twin / "data/exports").rglob("*.yaml")):
        m = yaml.load(manifest.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        partner_of.setdefault(m["partner"], []).append(m["id"] in {x["id"] for _, x in manifests})
    per_counts, per_figures = [], []
    for k, (manifest, m) in enumerate(manifests):
        listing = manifest.parent / m["items"]
        engine.items(listing)
        engine.keep(k, m["id"], listing)
        rows = engine.run(sql(binary, original, engine_name(engine), m["id"], False))
        per_counts.append((m["partner"], m["id"], rows))
        figures = engine.run(sql(binary, original, engine_name(engine), m["id"], True))
        if len(figures) != 1 or figures[0][:2] != [m["partner"], m["id"]]:
            raise SystemExit(f"error: {original}: {m['id']}: the figures query gave {figures}, not one row for the batch")
        per_figures.append(figures[0])
        header = ["category", "year", "items", *FLAGS] + (["opted_out"] if ledgers else [])
        write_csv(manifest.parent / f"counts-{m['id']}.csv", header, rows)
    if not manifests:
        return 0, 0
    # Every batch at once, over one relation with an `export` column: the same rows.
    engine.union(len(manifests))
    got = [[cell(v) for v in r] for r in engine.run(sql(binary, original, engine_name(engine), None, False))]
    want = sorted([[p, e, *map(cell, r)] for p, e, rows in per_counts for r in rows])
    if got != want:
        raise SystemExit(f"error: {original}: the counts query for every batch differs from the per-batch queries")
    # Every other batch declares its counts from this one table of every batch (with `partner`
    # and `export` columns), the others from their own query's result.
    header = ["partner", "export", "category", "year", "items", *FLAGS] + (["opted_out"] if ledgers else [])
    counts_all = twin / "data/exports/counts-all.csv"
    write_csv(counts_all, header, got)
    all_figures = engine.run(sql(binary, original, engine_name(engine), None, True))
    batch_rows = [r for r in all_figures if r[1] != ""]
    if [[cell(v) for v in r] for r in batch_rows] != sorted([cell(v) for v in r] for r in per_figures):
        raise SystemExit(f"error: {original}: the figures query for every batch differs from the per-batch queries:\n{batch_rows}\n{per_figures}")
    # A partner's own row only where every batch of it was counted here (the others' items are
    # not in the warehouse relation).
    partner_rows = [r for r in all_figures if r[1] == "" and all(partner_of.get(r[0], [False]))]
    figures_csv = twin / "data/exports/figures.csv"
    write_csv(figures_csv, FIGURES, batch_rows + partner_rows)
    for k, (manifest, m) in enumerate(manifests):
        counts = f"counts-{m['id']}.csv" if k % 2 == 0 else os.path.relpath(counts_all, manifest.parent)
        rewrite_manifest(manifest, counts, os.path.relpath(figures_csv, manifest.parent))
        listing = manifest.parent / m["items"]
        shutil.rmtree(listing) if listing.is_dir() else listing.unlink()
    return len(manifests), len(partner_rows)


def engine_name(engine) -> str:
    return "spark" if isinstance(engine, Spark) else "duckdb"


def build(binary: str, root: Path, out: Path) -> None:
    subprocess.run([binary, "build", "--quiet", "--unsuppressed", "--root", str(root), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)


def findings(path: Path) -> list:
    """findings.csv without the text (which says where a number came from) and without
    declared-count mismatches (a twin's counts are its listing's)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in r.items() if k != "message"} for r in rows if r["id"] != "declared-count-mismatch"]


def compare(root: Path, a: Path, b: Path) -> int:
    failures = 0
    names = sorted(p.name for p in a.glob("*.csv"))
    if names != sorted(p.name for p in b.glob("*.csv")):
        print(f"error: {root}: the two sites publish different tables", file=sys.stderr)
        return 1
    for name in names:
        x, y = a / name, b / name
        if name == "findings.csv":
            same = findings(x) == findings(y)
        else:
            same = x.read_bytes() == y.read_bytes()
        if not same:
            failures += 1
            print(f"error: {root}: data/{name} differs between the listings and the warehouse queries", file=sys.stderr)
            if name == "findings.csv":
                lines = [[str(r) for r in findings(x)], [str(r) for r in findings(y)]]
            else:
                lines = [x.read_text(encoding="utf-8").splitlines(), y.read_text(encoding="utf-8").splitlines()]
            for l1, l2 in zip(*lines):
                if l1 != l2:
                    print(f"  listings:  {l1}\n  warehouse: {l2}", file=sys.stderr)
                    break
            else:
                print(f"  {len(lines[0])} rows against {len(lines[1])}", file=sys.stderr)
    return failures


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["duckdb", "spark"], required=True)
    ap.add_argument("binary")
    ap.add_argument("roots", nargs="+", type=Path)
    args = ap.parse_args()
    engine = DuckDB() if args.engine == "duckdb" else Spark()
    failures = 0
    for root in args.roots:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            twin = tmp / "declared"
            shutil.copytree(root / "data", twin / "data")
            for extra in ("report.yaml", "content", "templates", "i18n"):
                if (root / extra).is_file():
                    shutil.copy(root / extra, twin / extra)
                elif (root / extra).is_dir():
                    shutil.copytree(root / extra, twin / extra)
            batches, partners = declare(engine, args.binary, root, twin)
            build(args.binary, root, tmp / "from-listings")
            build(args.binary, twin, tmp / "from-warehouse")
            bad = compare(root, tmp / "from-listings/data", tmp / "from-warehouse/data")
            failures += bad
            verdict = "every data table the same as" if not bad else "NOT the same as"
            print(f"{root}: {batches} listing(s) counted by {engine.version} with `sharelog sql` and `sharelog sql --figures` (per batch and all at once; {partners} partner row(s)); built from the results: {verdict} the listings' build")
    engine.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
