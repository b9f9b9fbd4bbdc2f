"""Sharelog's queries over item listings and the ledger, in Python polars and in DuckDB, on a root
written by examples/gen.rs (Parquet listings). Two versions of each:

- "join": the aggregation and the one ledger join of examples/bench_query.rs (opt-outs in force
  at each export);
- "full": what sharelog's counting stage computes from listings and the ledger: that join, a
  second one with the owners opted out at the end of the report's `published` date (what each
  partner is asked to delete), the items created before the content window's start, and the
  number of owners opted out at each export and, per partner, now. (Not included: the monthly
  opt-out series and the scope table, which sharelog also computes from the ledger.)

Prints the median of RUNS runs of each, and checks that the engines agree.

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
        window = d.get("content_window") or {}
        out.append({
            "id": d["id"],
            "window_from": window.get("from"),
            "partner": d["partner"],
            "trains_ai": "ai-training" in partners[d["partner"]]["purposes"],
            "at": d["exported_at"],
            "listing": str(m.parent / d["items"]),
        })
    return out


def published(root: Path) -> str:
    """The last microsecond of the report's `published` date, as sharelog's "now"."""
    d = yaml.load((root / "report.yaml").read_text(), Loader=yaml.BaseLoader)["published"]
    return f"{d}T23:59:59.999999Z"


def with_polars(root: Path, ex, full: bool):
    ledger = pl.scan_parquet(root / "data/opt-outs/ledger.parquet")
    now = pl.lit(published(root)).str.to_datetime(time_zone="UTC", time_unit="us")

    def opted(at, e, name):
        covers = ((pl.col("scope") == "all-third-parties") | (pl.col("scope") == e["partner"])
                  | ((pl.col("scope") == "ai-training") & pl.lit(e["trains_ai"])))
        return (ledger.filter((pl.col("opted_out_at") <= at)
                              & (pl.col("withdrawn_at").is_null() | (pl.col("withdrawn_at") > at))
                              & covers)
                .select("owner_id").unique().with_columns(pl.lit(True).alias(name)))

    # The owners opted out now: one set per partner, as sharelog keeps them.
    now_sets = {}
    for e in ex:
        if full and e["partner"] not in now_sets:
            now_sets[e["partner"]] = opted(now, e, "opted_now").collect()
    parts = []
    for e in ex:
        at = pl.lit(e["at"]).str.to_datetime(time_zone="UTC", time_unit="us")
        frame = (pl.scan_parquet(e["listing"])
                 .with_columns(pl.col("created_at").dt.year().alias("year"),
                               pl.lit(e["partner"]).alias("partner"),
                               pl.lit(e["id"]).alias("export"))
                 .join(opted(at, e, "opted"), on="owner_id", how="left"))
        if full:
            start = (pl.lit(e["window_from"]).str.to_datetime(time_zone="UTC", time_unit="us")
                     if e["window_from"] else None)
            frame = (frame.join(now_sets[e["partner"]].lazy(), on="owner_id", how="left")
                     .with_columns((pl.col("created_at") < start if start is not None
                                    else pl.lit(False)).alias("outside")))
        parts.append(frame)
    extra = [pl.col("opted_now").sum(), pl.col("outside").sum()] if full else []
    if full:
        # Opt-outs in force at each export and, per partner, now.
        for e in ex:
            at = pl.lit(e["at"]).str.to_datetime(time_zone="UTC", time_unit="us")
            opted(at, e, "x").select(pl.len()).collect()
        for frame in now_sets.values():
            frame.height
    return (pl.concat(parts)
            .group_by("partner", "export", "category", "year")
            .agg(pl.len().alias("items"), *[pl.col(f).sum() for f in FLAGS],
                 pl.col("opted").sum().alias("opted_out"), *extra)
            .sort("partner", "export", "category", "year")
            .collect(engine="streaming"))


def with_duckdb(root: Path, ex, full: bool):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    ledger = str(root / "data/opt-outs/ledger.parquet")
    now = published(root)

    def opted(at, e):
        return f"""SELECT DISTINCT owner_id FROM read_parquet('{ledger}')
                WHERE opted_out_at <= TIMESTAMPTZ '{at}'
                  AND (withdrawn_at IS NULL OR withdrawn_at > TIMESTAMPTZ '{at}')
                  AND (scope = 'all-third-parties' OR scope = '{e['partner']}'
                       OR (scope = 'ai-training' AND {str(e['trains_ai']).lower()}))"""

    # The owners opted out now: one temporary table per partner, as sharelog keeps them.
    if full:
        for i, p in enumerate(dict.fromkeys(e["partner"] for e in ex)):
            e = next(e for e in ex if e["partner"] == p)
            con.execute(f"CREATE TEMP TABLE now_{i} AS {opted(now, e)}")
            con.execute(f"SELECT count(*) FROM now_{i}").fetchall()
        # Opt-outs in force at each export.
        for e in ex:
            con.execute(f"SELECT count(*) FROM ({opted(e['at'], e)})").fetchall()
    now_table = {p: f"now_{i}" for i, p in enumerate(dict.fromkeys(e["partner"] for e in ex))}
    selects = []
    for e in ex:
        extra, joins = "", ""
        if full:
            start = (f"i.created_at < TIMESTAMPTZ '{e['window_from']}'" if e["window_from"]
                     else "false")
            extra = f", n.owner_id IS NOT NULL AS opted_now, {start} AS outside"
            joins = f"LEFT JOIN {now_table[e['partner']]} AS n ON n.owner_id = i.owner_id"
        selects.append(f"""
            SELECT '{e['partner']}' AS partner, '{e['id']}' AS export, i.category,
                   year(i.created_at) AS year, i.private, i.deleted, i.suspended, i.explicit,
                   i.minor, o.owner_id IS NOT NULL AS opted {extra}
            FROM read_parquet('{e['listing']}') AS i
            LEFT JOIN ({opted(e['at'], e)}) AS o ON o.owner_id = i.owner_id {joins}""")
    flags = ", ".join(f"count(*) FILTER (WHERE {f}) AS {f}" for f in FLAGS)
    more = (", count(*) FILTER (WHERE opted_now) AS opted_now, "
            "count(*) FILTER (WHERE outside) AS outside") if full else ""
    sql = (f"SELECT partner, export, category, year, count(*) AS items, {flags}, "
           f"count(*) FILTER (WHERE opted) AS opted_out {more} "
           f"FROM ({' UNION ALL '.join(selects)}) GROUP BY ALL ORDER BY ALL")
    return pl.from_arrow(con.sql(sql).to_arrow_table())


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
    out = []
    for full in (False, True):
        tp, dp = timed(lambda: with_polars(root, ex, full), runs)
        td, dd = timed(lambda: with_duckdb(root, ex, full), runs)
        cols = ["items", "opted_out"] + (["opted_now", "outside"] if full else [])
        for c in cols:
            if dd[c].sum() != dp[c].sum():
                sys.exit(f"the engines disagree on {c}: {dp[c].sum()} and {dd[c].sum()}")
        kind = "full" if full else "join"
        out.append(f"{kind}: python_polars_s={tp:.3f} duckdb_s={td:.3f}")
        if full:
            out.append(f"items={dp['items'].sum()} opted_out={dp['opted_out'].sum()} "
                       f"opted_out_now={dp['opted_now'].sum()} outside={dp['outside'].sum()}")
    print(" ".join(out) + f" polars={pl.__version__} duckdb={duckdb.__version__}")


if __name__ == "__main__":
    main()
