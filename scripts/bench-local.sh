#!/usr/bin/env bash
# The local vault path under the team vault's speed targets (issue #9): whole processes,
# release build, keyfile unlock, one environment of N secrets (default 10,000).
#
#   get KEY | list | import FILE (N new secrets into an empty environment)
#   | import --overwrite FILE (N changed values: each keeps its earlier value)
#
# Usage: scripts/bench-local.sh [RUNS] [N] [BASELINE_BIN]
#   RUNS          hyperfine runs per command (default 30; imports: a third, at least 5)
#   N             secrets (default 10000)
#   BASELINE_BIN  another tresor binary to time beside this build (e.g. one built from main)
# Environment: TRESOR_BIN=path  time this binary instead of building one.
# Prints hyperfine's markdown table (mean, min, max in ms) and the load average before
# and after: the machine is shared, look at it before trusting a number. Everything lives
# in a temporary directory, HOME included.
set -euo pipefail
RUNS=${1:-30}
N=${2:-10000}
BASE=${3:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install -y hyperfine)" >&2; exit 1; }
if [ -n "${TRESOR_BIN:-}" ]; then
    NEW=$TRESOR_BIN
else
    (cd "$ROOT" && cargo build --release --locked -q)
    NEW="$ROOT/target/release/tresor"
fi
cp "$NEW" "$WORK/tresor-new"
BINS=("$WORK/tresor-new")
if [ -n "$BASE" ]; then cp "$BASE" "$WORK/tresor-base"; BINS=("$WORK/tresor-base" "$WORK/tresor-new"); fi

export HOME="$WORK/home" XDG_STATE_HOME="$WORK/home/state" XDG_DATA_HOME="$WORK/home/data" \
    XDG_CONFIG_HOME="$WORK/home/config" XDG_CACHE_HOME="$WORK/home/cache"
unset TRESOR_PASSPHRASE TRESOR_PROJECT TRESOR_ENV TRESOR_VAULT TRESOR_KEYFILE
mkdir -p "$HOME"
cd "$WORK"
python3 - "$N" <<'PY'
import random, string, sys
n = int(sys.argv[1])
for seed, name in ((1, "a.env"), (2, "b.env")):
    r = random.Random(seed)
    with open(name, "w") as f:
        for i in range(n):
            f.write("SECRET_%05d=%s\n" % (i, "".join(r.choice(string.ascii_letters) for _ in range(32))))
PY
KEY=$(printf 'SECRET_%05d' $((N / 2)))
"$WORK/tresor-new" --vault v.tresor init --keyfile k.key >/dev/null
"$WORK/tresor-new" --vault v.tresor --keyfile k.key import a.env >/dev/null
cp v.tresor v.clean
T="--vault v.tresor --keyfile k.key"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
args=()
for b in "${BINS[@]}"; do
    n=$(basename "$b")
    args+=(-n "$n get" "$b $T get $KEY" -n "$n list" "$b $T list")
done
hyperfine -N -w 3 -r "$RUNS" --export-markdown reads.md "${args[@]}" >&2
IRUNS=$((RUNS / 3 < 5 ? 5 : RUNS / 3))
args=()
for b in "${BINS[@]}"; do
    n=$(basename "$b")
    args+=(-n "$n import (new)" "$b $T -e fresh import a.env")
done
hyperfine -N -r "$IRUNS" --export-markdown import.md \
    --prepare "sh -c 'cp v.clean v.tresor; rm -rf $HOME/state; $WORK/tresor-new $T env add fresh >/dev/null'" \
    "${args[@]}" >&2
args=()
for b in "${BINS[@]}"; do
    n=$(basename "$b")
    args+=(-n "$n import --overwrite (changed)" "$b $T import --overwrite b.env")
done
hyperfine -N -r "$IRUNS" --export-markdown overwrite.md \
    --prepare "sh -c 'cp v.clean v.tresor; rm -rf $HOME/state'" "${args[@]}" >&2
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cat reads.md; tail -n +3 import.md; tail -n +3 overwrite.md
