#!/usr/bin/env bash
# Benchmarks sharelog on synthetic reports and prints figures (nothing is asserted).
#
#   bench/run.sh            1M and 10M items
#   bench/run.sh --huge     also 100M items
#
# Needs a release build (about 20 minutes from clean on a 2-core machine), GNU time, and Python
# for the comparison engines (installed into target/bench-venv). Roots are written once under
# $BENCH_DIR (default target/bench) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
work=${BENCH_DIR:-target/bench}
mkdir -p "$work"

cargo build --quiet --release --bin sharelog --example gen --example bench_query
bin="$target/release"

venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'polars==2.1.0' 'duckdb==2.0.0' 'pyarrow==26.0.1' 'pyyaml==6.0.3'

sizes="1000000 10000000"
[ "${1:-}" = "--huge" ] && sizes="$sizes 100000000"

# A build: wall time and peak resident memory of the whole `sharelog build`. Cold unless a
# --cache is given.
build() { # root out [cache dir] -> "seconds peak_MiB"
  local cache=(--no-cache)
  [ -n "${3:-}" ] && cache=(--cache "$3")
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin/sharelog" build --quiet "${cache[@]}" --root "$1" --out "$2"
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$work/time.txt"
}

# The median of three: wall times vary by a few tenths of a second from run to run here.
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

# Three cold builds: the median wall time and the largest peak.
cold() { # root out -> "seconds peak_MiB"
  local t=() m=0 secs mib
  for _ in 1 2 3; do
    read -r secs mib < <(build "$1" "$2")
    t+=("$secs")
    [ "$mib" -gt "$m" ] && m=$mib
  done
  echo "$(median3 "${t[@]}") $m"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); sharelog $("$bin/sharelog" --version | cut -d' ' -f2)"
for n in $sizes; do
  root="$work/items-$n"
  if [ ! -f "$root/report.yaml" ]; then
    "$bin/examples/gen" --items "$n" --exports 20 --out "$root" >/dev/null
  fi
  read -r secs mib < <(cold "$root" "$work/out-$n")
  echo "items=$n exports=20 format=parquet: cold build ${secs} s (median of 3), peak RSS ${mib} MiB"
  echo "  same process, median of 3: $("$bin/examples/bench_query" "$root" 3 2>/dev/null)"
  engines=$("$venv/bin/python" bench/python_engines.py "$root" 3 2>/dev/null)
  echo "  other engines, median of 3: $engines"
  # sharelog's cold build against the faster engine, for each version of the queries.
  echo "$engines" | awk -v s="$secs" '{
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^(join|full):$/) kind = substr($i, 1, length($i) - 1)
      if ($i ~ /^python_polars_s=/) { split($i, a, "="); p[kind] = a[2] }
      if ($i ~ /^duckdb_s=/) { split($i, a, "="); d[kind] = a[2] }
    }
    for (k in p) {
      best = p[k] < d[k] ? p[k] : d[k]
      printf "  cold build / faster engine (%s queries): %s s / %s s = %.2fx\n", k, s, best, s / best
    }
  }' | sort
done

# The same 10M items as CSV listings (the ledger stays Parquet): each file is read whole, once,
# its plain-integer ids as integers, and every other value checked as text (docs/input.md).
csv="$work/items-10000000-csv"
[ -f "$csv/report.yaml" ] || "$bin/examples/gen" --items 10000000 --exports 20 --format csv --out "$csv" >/dev/null
read -r secs mib < <(cold "$csv" "$work/out-csv")
echo "items=10000000 exports=20 format=csv: cold build ${secs} s (median of 3), peak RSS ${mib} MiB"

# Adding one export to a root of 20: the rebuild, against the cold build of the 20. At 1M items
# (1.05M with the 21st export) and at 10M (10.5M).
incremental() { # items
  local n=$1 inc="$work/incremental-$1" held="$work/held-back-$1"
  if [ ! -f "$inc/report.yaml" ]; then
    "$bin/examples/gen" --items "$((n + n / 20))" --exports 21 --out "$inc" >/dev/null
    mkdir -p "$held"
    mv "$inc/data/exports/e00020.yaml" "$inc/data/exports/items/e00020.parquet" "$held/"
  fi
  # The cold build of 20 exports fills a fresh cache, as the first CI run would; the rebuild
  # after the 21st export arrives uses it, as CI does when it keeps .sharelog-cache between runs.
  # Three rounds; the medians.
  [ -f "$held/ledger.parquet" ] || cp "$inc/data/opt-outs/ledger.parquet" "$held/ledger.parquet"
  # Two cases: the 21st export alone (the ledger unchanged), and the realistic one: the 21st
  # export and 1% new opt-outs in the ledger, dated between the 20th and the 21st export.
  local case
  for case in export export+opt-outs; do
  local colds=() agains=() nocaches=() t
  for _ in 1 2 3; do
    cp "$held/ledger.parquet" "$inc/data/opt-outs/ledger.parquet"
    rm -rf "$work/cache-inc-$n"
    read -r t _ < <(build "$inc" "$work/out-inc-$n" "$work/cache-inc-$n")
    colds+=("$t")
    cp "$held/e00020.yaml" "$inc/data/exports/"
    cp "$held/e00020.parquet" "$inc/data/exports/items/"
    if [ "$case" = export+opt-outs ]; then
      "$bin/examples/gen" --items "$((n + n / 20))" --exports 21 --out "$inc" \
        --append-opt-outs "$(( (n + n / 20) / 1000 ))" >/dev/null
    fi
    read -r t _ < <(build "$inc" "$work/out-inc-$n" "$work/cache-inc-$n")
    agains+=("$t")
    read -r t _ < <(build "$inc" "$work/out-inc-$n-nocache")
    nocaches+=("$t")
    rm "$inc/data/exports/e00020.yaml" "$inc/data/exports/items/e00020.parquet"
  done
  cp "$held/ledger.parquet" "$inc/data/opt-outs/ledger.parquet"
  local cold again nocache same
  cold=$(median3 "${colds[@]}") again=$(median3 "${agains[@]}") nocache=$(median3 "${nocaches[@]}")
  cmp -s <(cd "$work/out-inc-$n" && find . -type f | sort | xargs sha256sum) \
    <(cd "$work/out-inc-$n-nocache" && find . -type f | sort | xargs sha256sum) \
    && same="byte-identical to a build without the cache" || same="DIFFERS from a build without the cache"
  echo "incremental ($case), medians of 3: 20 exports ($n items) cold ${cold} s; after adding the 21st export${case#export} ${again} s with the cache ($(awk -v a="$again" -v c="$cold" 'BEGIN { printf "%.0f", 100 * a / c }')% of cold), ${nocache} s without; ${same}"
  done
}
incremental 1000000
incremental 10000000

# 1,000 export pages and their charts.
many="$work/exports-1000"
[ -f "$many/report.yaml" ] || "$bin/examples/gen" --items 1000000 --exports 1000 --out "$many" >/dev/null
read -r secs mib < <(cold "$many" "$work/out-1000")
echo "1,000 exports (1M items): cold build ${secs} s (median of 3), peak RSS ${mib} MiB, $(find "$work/out-1000" -type f | wc -l) files"
# The same build with its stage lines, timed: how long rendering 1,000 export pages and their
# charts takes (suppression and rendering; then writing the files).
{ "$bin/sharelog" build --no-cache --root "$many" --out "$work/out-1000" 2>&1 >/dev/null; echo "sharelog: done"; } \
  | while IFS= read -r line; do echo "$(date +%s.%N) $line"; done \
  | awk '/: counting/ { c = $1 } /rendering the site/ { r = $1 } /: writing/ { w = $1 } /: done/ { b = $1 }
         END { printf "1,000 exports: counting %.2f s, suppression and rendering %.2f s, writing %.2f s\n", r - c, w - r, b - w }'
