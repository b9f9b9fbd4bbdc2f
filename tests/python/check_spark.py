"""Runs the Spark SQL query `sharelog sql --engine spark` prints, unchanged, in PySpark (local
mode) on report roots, and checks that it counts every batch with an item listing exactly as
sharelog does: its rows must equal the batch's rows of `data/shared-items.csv` in an exact
(`--unsuppressed`) build.

Usage: python check_spark.py SHARELOG_BINARY ROOT [ROOT...]
"""

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from pyspark.sql import SparkSession

FLAGS = ["private", "deleted", "suspended", "explicit", "minor"]
COLUMNS = ["category", "year", "items", *FLAGS, "opted_out"]


def frame(spark, path: Path):
    """A listing or ledger as Spark reads it: CSV cells as text (as DuckDB's all_varchar)."""
    if path.suffix == ".parquet":
        return spark.read.parquet(str(path))
    if path.suffix in (".ndjson", ".jsonl"):
        return spark.read.json(str(path))
    return spark.read.option("header", True).csv(str(path))


def query(binary: str, root: Path, export: str) -> str:
    text = subprocess.run(
        [binary, "sql", "--root", str(root), "--engine", "spark", "--export", export],
        check=True, capture_output=True, text=True,
    ).stdout
    # One statement: spark.sql takes no trailing semicolon.
    return text.strip().rstrip(";")


def main() -> int:
    binary, roots = sys.argv[1], [Path(r) for r in sys.argv[2:]]
    spark = (SparkSession.builder.master("local[1]").appName("sharelog-sql")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    failures = 0
    for root in roots:
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / "site"
            subprocess.run([binary, "build", "--quiet", "--unsuppressed", "--root", str(root),
                            "--out", str(site)], check=True, stdout=subprocess.DEVNULL)
            with open(site / "data/shared-items.csv", newline="", encoding="utf-8") as f:
                shared = list(csv.DictReader(f))
        ledgers = sorted((root / "data/opt-outs").glob("ledger.*")) if (root / "data/opt-outs").is_dir() else []
        if ledgers:
            ledger = frame(spark, ledgers[0])
            for c in ("withdrawn_at", "scope"):
                if c not in ledger.columns:
                    ledger = ledger.selectExpr("*", f"CAST(NULL AS STRING) AS {c}")
            ledger.createOrReplaceTempView("ledger")
        counted, before = 0, failures
        for manifest in sorted((root / "data/exports").rglob("*.yaml")):
            m = yaml.load(manifest.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
            if "items" not in m or not (manifest.parent / m["items"]).is_file():
                continue
            items = frame(spark, manifest.parent / m["items"])
            for f in FLAGS:
                if f not in items.columns:
                    items = items.selectExpr("*", f"CAST(NULL AS STRING) AS {f}")
            items.createOrReplaceTempView("items")
            got = [[str(v) for v in r] for r in spark.sql(query(binary, root, m["id"])).collect()]
            columns = COLUMNS if ledgers else COLUMNS[:-1]
            want = [[r[c] for c in columns] for r in shared if r["export"] == m["id"]]
            if got != want:
                failures += 1
                print(f"error: {root}: {m['id']}: the Spark query's counts differ from sharelog's", file=sys.stderr)
                for x, y in zip(want, got):
                    if x != y:
                        print(f"  sharelog: {x}\n  spark:    {y}", file=sys.stderr)
                        break
            counted += 1
        verdict = "the same as sharelog's" if failures == before else "NOT the same as sharelog's"
        print(f"{root}: {counted} listing(s) counted by Spark {spark.version} with `sharelog sql --engine spark`; {verdict}")
    spark.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
