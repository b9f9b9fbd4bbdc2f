"""The same aggregation and ledger join as examples/bench_query.rs, in Python polars and in
DuckDB, on a root written by examples/gen.rs (Parquet listings). Prints the median of RUNS runs of
each, and checks that both count the same items and opted-out items.

Usage: python bench/python_engines.py ROOT [RUNS]
"""

import statistics
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import yaml

FLAGS = ["private", "deleted", "suspended", "explicit", "minor"]


def exports(root: Path):
    partners = {p["id"]: p for p in yaml.safe_load((root / "data/partners.yaml").read_text())}
    out = []
    for m in sorted((root / "data/exports").glob("*.yaml")):
        d = yaml.load(m.read_text(), Loader=yaml.BaseLoader)
        if "items" not in d:
            continue
        out.append({
            "id": d["id"],
            "partner": d["partner"],
            "trains_ai": "ai-training" in partners[d["partner"]]["purposes"],
            "at": d["exported_at"],
            "listing": str(m.parent / d["items"]),
        })
    return out


def with_polars(root: Path, ex):
    ledger = pl.scan_parquet(root / "data/opt-outs/ledger.parquet")
    parts = []
    for e in ex:
        at = pl.lit(e["at"]).str.to_datetime(time_zone="UTC", time_unit="us")
        covers = ((pl.col("scope") == "all-third-parties") | (pl.col("scope") == e["partner"])
                  | ((pl.col("scope") == "ai-training") & pl.lit(e["trains_ai"])))
        opted = (ledger.filter((pl.col("opted_out_at") <= at)
                               & (pl.col("withdrawn_at").is_null() | (pl.col("withdrawn_at") > at))
                               & covers)
                 .select("owner_id").unique().with_columns(pl.lit(True).alias("opted")))
        parts.append(pl.scan_parquet(e["listing"])
                     .with_columns(pl.col("created_at").dt.year().alias("year"),
                                   pl.lit(e["partner"]).alias("partner"),
                                   pl.lit(e["id"]).alias("export"))
                     .join(opted, on="owner_id", how="left"))
    return (pl.concat(parts)
            .group_by("partner", "export", "category", "year")
            .agg(pl.len().alias("items"), *[pl.col(f).sum() for f in FLAGS],
                 pl.col("opted").sum().alias("opted_out"))
            .sort("partner", "export", "category", "year")
            .collect(engine="streaming"))


def with_duckdb(root: Path, ex):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    ledger = str(root / "data/opt-outs/ledger.parquet")
    selects = []
    for e in ex:
        selects.append(f"""
            SELECT '{e['partner']}' AS partner, '{e['id']}' AS export, i.category,
                   year(i.created_at) AS year, i.private, i.deleted, i.suspended, i.explicit,
                   i.minor, o.owner_id IS NOT NULL AS opted
            FROM read_parquet('{e['listing']}') AS i
            LEFT JOIN (
                SELECT DISTINCT owner_id FROM read_parquet('{ledger}')
                WHERE opted_out_at <= TIMESTAMPTZ '{e['at']}'
                  AND (withdrawn_at IS NULL OR withdrawn_at > TIMESTAMPTZ '{e['at']}')
                  AND (scope = 'all-third-parties' OR scope = '{e['partner']}'
                       OR (scope = 'ai-training' AND {str(e['trains_ai']).lower()}))
            ) AS o USING (owner_id)""")
    flags = ", ".join(f"count(*) FILTER (WHERE {f}) AS {f}" for f in FLAGS)
    sql = (f"SELECT partner, export, category, year, count(*) AS items, {flags}, "
           f"count(*) FILTER (WHERE opted) AS opted_out FROM ({' UNION ALL '.join(selects)}) "
           f"GROUP BY ALL ORDER BY ALL")
    return pl.from_arrow(con.execute(sql).to_arrow_table())


def timed(fn, runs):
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main():
    root = Path(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    ex = exports(root)
    tp, dp = timed(lambda: with_polars(root, ex), runs)
    td, dd = timed(lambda: with_duckdb(root, ex), runs)
    for name, df in [("python polars", dp), ("duckdb", dd)]:
        if df["items"].sum() != dp["items"].sum() or df["opted_out"].sum() != dp["opted_out"].sum():
            sys.exit(f"{name} disagrees: {df['items'].sum()} items, {df['opted_out'].sum()} opted out")
    print(f"python_polars_s={tp:.3f} duckdb_s={td:.3f} items={dp['items'].sum()} "
          f"opted_out={dp['opted_out'].sum()} polars={pl.__version__} duckdb={duckdb.__version__}")


if __name__ == "__main__":
    main()
