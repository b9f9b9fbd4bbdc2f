#!/usr/bin/env bash
# Issue 22's scale figures: what commitments (--receipt-key) and receipts (--receipts) add to a
# cold build of 10M items from 2M owners in 20 Parquet exports (examples/gen.rs's defaults), and
# what printing and verifying one receipt costs. Prints figures; asserts nothing.
#
#   bench/receipts.sh [ITEMS]     default 10000000
#
# Needs a release build and GNU time. The root is written once under $BENCH_DIR (default
# target/bench) and shared with bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
work=${BENCH_DIR:-target/bench}
n=${1:-10000000}
mkdir -p "$work"
cargo build --quiet --release --bin sharelog --example gen
bin="$target/release"
root="$work/items-$n"
if [ ! -f "$root/report.yaml" ]; then
  "$bin/examples/gen" --items "$n" --exports 20 --out "$root" >/dev/null
fi
key="$work/receipt.key"
[ -f "$key" ] || head -c 32 /dev/urandom > "$key"

run() { # label, then build arguments -> "seconds peak_MiB"
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin/sharelog" build --quiet --no-cache --root "$root" "$@"
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$work/time.txt"
}
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
three() { # build arguments -> "median_seconds max_peak_MiB"
  local t=() m=0 secs mib
  for _ in 1 2 3; do
    read -r secs mib < <(run "$@")
    t+=("$secs")
    [ "$mib" -gt "$m" ] && m=$mib
  done
  echo "$(median3 "${t[@]}") $m"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); sharelog $("$bin/sharelog" --version | cut -d' ' -f2); items=$n exports=20"
read -r base base_mib < <(three --out "$work/rc-plain")
echo "cold build, no receipts:            ${base} s, peak ${base_mib} MiB (median of 3)"
read -r key_s key_mib < <(three --out "$work/rc-key" --receipt-key "$key")
echo "cold build, --receipt-key:          ${key_s} s, peak ${key_mib} MiB (+$(awk -v a="$key_s" -v b="$base" 'BEGIN { printf "%.0f", (a / b - 1) * 100 }')%)"
read -r all_s all_mib < <(three --out "$work/rc-all" --receipt-key "$key" --receipts "$work/rc-receipts")
echo "cold build, --receipt-key --receipts: ${all_s} s, peak ${all_mib} MiB (+$(awk -v a="$all_s" -v b="$base" 'BEGIN { printf "%.0f", (a / b - 1) * 100 }')%)"
python3 - "$work/rc-all/data/commitments.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
trees = [e for e in c["exports"] if e["committed"]]
print(f"  {len(trees)} of {len(c['exports'])} batches committed, {sum(e['tree_size'] for e in trees):,} leaves")
PY
echo "  receipts folder: $(du -sh "$work/rc-receipts" | cut -f1) (trees $(du -sh "$work/rc-receipts/trees" | cut -f1), owner shards $(du -sh "$work/rc-receipts/owners" | cut -f1))"
owner=$(head -1 "$work/rc-receipts/owners/00.tsv" | cut -f1 | tr -d '"')
/usr/bin/time -f "%e" -o "$work/time.txt" "$bin/sharelog" receipt --receipts "$work/rc-receipts" --owner "$owner" > "$work/receipt.json"
echo "  sharelog receipt (one owner, $(grep -c '"export":' "$work/receipt.json") batches): $(cat "$work/time.txt") s"
/usr/bin/time -f "%e" -o "$work/time.txt" "$bin/sharelog" verify "$work/receipt.json" --site "$work/rc-all" > /dev/null
echo "  sharelog verify: $(cat "$work/time.txt") s"
