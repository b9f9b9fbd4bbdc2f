"""The warehouse scale run (issue 21, part 4): count a large root's batches, written as folders of
part files, with the queries `sharelog sql` and `sharelog sql --figures` print, in DuckDB and in
Spark (local mode) on this machine; write the results as declared counts and figures; build the
report from them; and compare every data table with sharelog's own build from the listings.
Prints figures (times, peak memory, sizes); asserts only that the reports agree.

Usage: python bench/warehouse.py SHARELOG_BINARY ROOT WORK [duckdb|spark ...]

ROOT is a root from `examples/gen.rs --parts N` (listings as items/export=<id>/part-*.parquet).
WORK is a scratch folder. The engines' input is the part files as they lie: one relation over
every batch's parts, partitioned by batch (the `export` column comes from the folder names), as a
warehouse table partitioned by batch.
"""

import csv
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
from check_warehouse import FIGURES, FLAGS, compare, rewrite_manifest, write_csv  # noqa: E402

import yaml  # noqa: E402


class PeakRss:
    """Samples the resident memory of this process and all its descendants (Spark's JVM is one)."""

    def __init__(self):
        self.peak = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @staticmethod
    def tree_rss() -> int:
        children = {}
        rss = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ppid, pages = int(fields[1]), int(fields[21])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(pid))
            rss[int(pid)] = pages * os.sysconf("SC_PAGE_SIZE")
        total, todo = 0, [os.getpid()]
        while todo:
            p = todo.pop()
            total += rss.get(p, 0)
            todo.extend(children.get(p, []))
        return total

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, self.tree_rss())
            time.sleep(0.1)

    def done(self) -> float:
        self.stop = True
        self.thread.join()
        return self.peak / 2**20


def sql(binary, root, engine, figures):
    args = [binary, "sql", "--root", str(root), "--engine", engine]
    if figures:
        args.append("--figures")
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def duckdb_run(root: Path, binary: str):
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    parts = str(root / "data/exports/items/*/*.parquet")
    ledger = str(root / "data/opt-outs/ledger.parquet")
    # Partitioned by batch (export=<id>/): the batch's filter reads only its own files.
    con.execute(f"CREATE VIEW items AS SELECT * FROM read_parquet('{parts}', hive_partitioning=true)")
    con.execute(f"CREATE VIEW ledger AS SELECT owner_id, opted_out_at, withdrawn_at, scope FROM read_parquet('{ledger}')")
    out = {}
    for what, figures in (("counts", False), ("figures", True)):
        text = sql(binary, root, "duckdb", figures)
        statements = [s for s in text.split(";") if any(l.strip() and not l.strip().startswith("--") for l in s.splitlines())]
        start = time.monotonic()
        for s in statements[:-1]:
            con.execute(s)
        rows = [list(r) for r in con.execute(statements[-1]).fetchall()]
        out[what] = (rows, time.monotonic() - start)
    return out, f"DuckDB {duckdb.__version__}, {os.cpu_count()} threads"


def spark_run(root: Path, binary: str):
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[*]").appName("sharelog-scale")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "6g"))
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    # Partitioned by batch (export=<id>/): the batch's filter reads only its own files.
    spark.read.parquet(str(root / "data/exports/items")).createOrReplaceTempView("items")
    spark.read.parquet(str(root / "data/opt-outs/ledger.parquet")).createOrReplaceTempView("ledger")
    out = {}
    for what, figures in (("counts", False), ("figures", True)):
        text = sql(binary, root, "spark", figures).strip().rstrip(";")
        start = time.monotonic()
        rows = [list(r) for r in spark.sql(text).collect()]
        out[what] = (rows, time.monotonic() - start)
    version = f"Spark {spark.version} local[*], driver memory {spark.conf.get('spark.driver.memory')}"
    spark.stop()
    return out, version


def declared_root(root: Path, twin: Path, results) -> None:
    """A copy of `root` (without listings) whose manifests declare the engine's results."""
    if twin.exists():
        shutil.rmtree(twin)
    shutil.copytree(root, twin, ignore=shutil.ignore_patterns("items"))
    counts, _ = results["counts"]
    figures, _ = results["figures"]
    by_export = {}
    for r in counts:
        by_export.setdefault(r[1], []).append(r[2:])
    write_csv(twin / "data/exports/figures.csv", FIGURES, figures)
    for manifest in sorted((twin / "data/exports").glob("*.yaml")):
        m = yaml.load(manifest.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        write_csv(manifest.parent / f"counts-{m['id']}.csv",
                  ["category", "year", "items", *FLAGS, "opted_out"], by_export.get(m["id"], []))
        rewrite_manifest(manifest, f"counts-{m['id']}.csv", "figures.csv")


def timed_build(binary: str, root: Path, out: Path, exact: bool):
    args = ["/usr/bin/time", "-f", "%e %M", binary, "build", "--quiet", "--no-cache", "--root", str(root), "--out", str(out)]
    if exact:
        args.append("--unsuppressed")
    p = subprocess.run(args, check=True, capture_output=True, text=True)
    secs, kib = p.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kib) / 1024


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> int:
    binary, root, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    engines = sys.argv[4:] or ["duckdb", "spark"]
    work.mkdir(parents=True, exist_ok=True)
    parts = sorted((root / "data/exports/items").glob("*/*.parquet"))
    print(f"root: {root}: {len(parts)} part files, {size(root / 'data/exports/items') / 2**20:.0f} MiB of Parquet listings, "
          f"ledger {size(root / 'data/opt-outs') / 2**20:.0f} MiB")
    secs, mib = timed_build(binary, root, work / "from-listings", True)
    print(f"sharelog build from the listings (cold, --unsuppressed): {secs:.2f} s, peak RSS {mib:.0f} MiB")
    failures = 0
    for engine in engines:
        rss = PeakRss()
        start = time.monotonic()
        results, version = (duckdb_run if engine == "duckdb" else spark_run)(root, binary)
        wall = time.monotonic() - start
        peak = rss.done()
        print(f"{version}: counts query {results['counts'][1]:.1f} s ({len(results['counts'][0])} rows), "
              f"figures query {results['figures'][1]:.1f} s ({len(results['figures'][0])} rows); "
              f"whole run {wall:.1f} s with start-up and reading; peak RSS of the process tree {peak:.0f} MiB")
        twin = work / f"declared-{engine}"
        declared_root(root, twin, results)
        secs, mib = timed_build(binary, twin, work / f"from-{engine}", True)
        print(f"sharelog build from {engine}'s declared counts and figures ({size(twin / 'data/exports') / 2**10:.0f} KiB of them): "
              f"{secs:.2f} s, peak RSS {mib:.0f} MiB")
        bad = compare(twin, work / "from-listings/data", work / f"from-{engine}/data")
        print(f"  every data table the same as the listings' build: {'yes' if not bad else 'NO'}")
        failures += bad
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
