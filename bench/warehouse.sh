#!/usr/bin/env bash
# The warehouse scale run (issue 21, part 4): a large root written as folders of part files,
# counted by the queries `sharelog sql` prints in DuckDB and in Spark (local mode), the report
# built from their results and compared with sharelog's own build from the listings. Prints
# figures (nothing is timed against a target; the only check is that the reports agree).
#
#   bench/warehouse.sh [ITEMS]      default 20000000 items in 20 batches of 8 part files
#
# Needs a release build, GNU time, Java 17 for Spark, and Python (DuckDB and PySpark are
# installed into virtual environments under target/). The root is written once under
# $BENCH_DIR (default target/bench) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
work=${BENCH_DIR:-target/bench}
items=${1:-20000000}
mkdir -p "$work"

cargo build --quiet --release --bin sharelog --example gen
bin="$target/release"

duck=target/bench-venv
[ -x "$duck/bin/python" ] || python3 -m venv "$duck"
"$duck/bin/pip" install --quiet --disable-pip-version-check 'duckdb==2.0.0' 'pyyaml==6.0.3'
spark=target/ci-venv-spark
[ -x "$spark/bin/python" ] || python3 -m venv "$spark"
"$spark/bin/pip" install --quiet --disable-pip-version-check 'pyspark==3.5.3' 'pyyaml==6.0.3'

root="$work/warehouse-$items"
if [ ! -f "$root/report.yaml" ]; then
  "$bin/examples/gen" --items "$items" --exports 20 --parts 8 --out "$root" >/dev/null
fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); sharelog $("$bin/sharelog" --version | cut -d' ' -f2); $items items"
"$duck/bin/python" bench/warehouse.py "$bin/sharelog" "$root" "$work/warehouse-out" duckdb
"$spark/bin/python" bench/warehouse.py "$bin/sharelog" "$root" "$work/warehouse-out" spark
