#!/usr/bin/env bash
# Builds every report root below with SHARELOG_BINARY, published and exact (--unsuppressed), and
# runs the attacker's audit (audit.py) on them:
#   - published sites: any disclosed cell fails the run;
#   - exact builds: nothing is hidden, so every relation the audit uses is checked on the true
#     numbers; a relation that fails there (audit exit 3) fails the run as well.
# Roots: the example (MAIN), its test fixtures, and synthetic roots from GEN; each also as variants
# with random deletion requests (and opt-outs by quarter where months would be hidden), with
# bands, and with a higher min_count (variant.py).
#
# Usage: audit_roots.sh SHARELOG_BINARY [WORK_DIR] [MAIN_ROOT] [GEN_BINARY]
#   defaults: WORK_DIR=target/audit, MAIN_ROOT=. (the repository), GEN_BINARY=target/debug/examples/gen
#   PYTHON: the interpreter with scipy and numpy (default python3).
# Sites go to WORK_DIR/sites/, roots to WORK_DIR/roots/. Exit 0: no disclosure; 1: some site
# discloses a cell; 3: a build failed or the audit's model does not fit an exact build.
set -u
BIN=${1:?usage: audit_roots.sh SHARELOG_BINARY [WORK_DIR] [MAIN_ROOT] [GEN_BINARY]}
WORK=${2:-target/audit}
MAIN=${3:-.}
GEN=${4:-target/debug/examples/gen}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
MAIN=$(cd "$MAIN" && pwd)
GEN=$(cd "$(dirname "$GEN")" && pwd)/$(basename "$GEN")
ROOTS=$WORK/roots
SITES=$WORK/sites
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
rm -rf "$ROOTS" "$SITES"
mkdir -p "$ROOTS" "$SITES"
start=$(date +%s)

# name=path of every base root. They are copied first (data only: templates and interface
# strings do not change the downloads, and the example's templates/ are the project's own, which
# an older binary may not know).
declare -a BASE=()
for entry in "example=$MAIN" "basic=$MAIN/tests/fixtures/basic" "findings=$MAIN/tests/fixtures/findings" \
             "scopes=$MAIN/tests/fixtures/scopes" "deletions=$MAIN/tests/fixtures/deletions" \
             "attack-mismatch=$MAIN/tests/fixtures/attack-mismatch" \
             "attack-in-force=$MAIN/tests/fixtures/attack-in-force"; do
  name=${entry%%=*}
  "$PY" "$HERE/variant.py" "${entry#*=}" "$ROOTS/$name" --seed 0 --data-only || exit 3
  BASE+=("$name=$ROOTS/$name")
done
# Synthetic roots: items exports seed [format]
for spec in "20000 3 7 parquet" "5000 8 11 csv" "60000 12 3 parquet"; do
  set -- $spec
  name=gen-$1-$2-s$3
  "$GEN" --items "$1" --exports "$2" --seed "$3" --format "$4" --out "$ROOTS/$name" >/dev/null || exit 3
  BASE+=("$name=$ROOTS/$name")
done

# Every root to build: the base roots and their variants.
declare -a ALL=()
seed=1
for entry in "${BASE[@]}"; do
  name=${entry%%=*}; root=${entry#*=}
  ALL+=("$name=$root")
  seed=$((seed + 1))
  "$PY" "$HERE/variant.py" "$root" "$ROOTS/$name+del" --seed $seed --deletions 40 --quarters --data-only || exit 3
  "$PY" "$HERE/variant.py" "$root" "$ROOTS/$name+bands" --seed $seed --deletions 40 --bands 250 --data-only || exit 3
  "$PY" "$HERE/variant.py" "$root" "$ROOTS/$name+mc25" --seed $seed --deletions 25 --min-count 25 --bands 100 --data-only || exit 3
  ALL+=("$name+del=$ROOTS/$name+del" "$name+bands=$ROOTS/$name+bands" "$name+mc25=$ROOTS/$name+mc25")
done

status=0
published=()
exact=()
for entry in "${ALL[@]}"; do
  name=${entry%%=*}; root=${entry#*=}
  if ! "$BIN" build --root "$root" --out "$SITES/$name" --quiet --no-cache \
     || ! "$BIN" build --root "$root" --out "$SITES/$name.exact" --quiet --no-cache --unsuppressed; then
    echo "BUILD FAILED: $name ($root)"
    status=3
    continue
  fi
  published+=("$SITES/$name")
  exact+=("$SITES/$name.exact")
done
built=$(date +%s)

echo "== exact builds (every relation checked on the true numbers)"
"$PY" "$HERE/audit.py" "${exact[@]}"
rc=$?
if [ $rc -ne 0 ]; then echo "EXACT BUILDS: audit exit $rc"; status=3; fi

echo "== published sites (every disclosed value checked against the exact build)"
"$PY" "$HERE/audit.py" --truth-suffix .exact "${published[@]}"
rc=$?
[ $rc -eq 1 ] && [ $status -eq 0 ] && status=1
[ $rc -gt 1 ] && status=3
end=$(date +%s)
echo "== ${#published[@]} sites; builds $((built - start)) s, audits $((end - built)) s; exit $status"
exit $status
