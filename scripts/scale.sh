#!/usr/bin/env bash
# Scale check: a vault of 100,000 secrets across 5 environments (20,000 each).
# Measures whole-process get, list, export and import (hyperfine), peak memory
# (/usr/bin/time), file size, and what `tresor compact` gives back after many edits.
# Usage: scripts/scale.sh [RUNS]
set -euo pipefail
RUNS=${1:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
(cd "$ROOT" && cargo build --release --locked -q)
BIN="$ROOT/target/release/tresor"
export TRESOR_VAULT="$WORK/vault.tresor" TRESOR_KEYFILE="$WORK/key"
"$BIN" init >/dev/null 2>&1
ENVS="development staging production qa preview"
for env in qa preview; do "$BIN" env add "$env" >/dev/null 2>&1; done
for env in $ENVS; do
    python3 -c "
import sys
for i in range(20000): print(f'SECRET_{i:05}=$env-value-{i:05}-' + 'x' * 40)" > "$WORK/$env.env"
    "$BIN" -e "$env" import "$WORK/$env.env" >/dev/null 2>&1
done
python3 -c "
for i in range(10000): print(f'NEW_{i:05}=value-{i:05}')" > "$WORK/new.env"
size() { stat -c %s "$TRESOR_VAULT" | awk '{printf "%.1f MiB", $1/1048576}'; }
echo "vault: 100,000 secrets in 5 environments, $(size)"
hyperfine -N --warmup 2 --runs "$RUNS" \
    -n "get (keyfile)" "$BIN get SECRET_10000" \
    -n "list (20,000)" "$BIN list" \
    -n "export dotenv (20,000)" "$BIN export" \
    2>/dev/null | grep -E "^Benchmark|Time \(mean"
hyperfine -N --runs "$RUNS" --prepare "sh -c '$BIN env rm fresh --yes >/dev/null 2>&1; $BIN env add fresh >/dev/null 2>&1'" \
    -n "import 10,000 lines into a fresh environment" "$BIN -e fresh import $WORK/new.env" \
    2>/dev/null | grep -E "^Benchmark|Time \(mean"
for cmd in "get SECRET_10000" "list" "export"; do
    # shellcheck disable=SC2086
    rss=$(/usr/bin/time -f %M "$BIN" $cmd 2>&1 >/dev/null | tail -1)
    echo "peak memory of tresor $cmd: $((rss / 1024)) MiB"
done
for i in $(seq 1 200); do printf 'rotated-%s' "$i" | "$BIN" edit SECRET_00001 --value-stdin >/dev/null 2>&1; done
"$BIN" env rm qa --yes >/dev/null 2>&1
echo "after 200 edits and deleting an environment of 20,000: $(size)"
"$BIN" compact 2>&1
echo "after compact: $(size)"
