#!/usr/bin/env bash
# `tresor get KEY` with a warm agent beside the same get with a keyfile, on this machine.
#
# What it measures (whole process, release build, `hyperfine -N`, median of RUNS runs):
# one vault of SIZE secrets in one environment (KEY is the middle one), read with
#   keyfile: tresor --keyfile K get KEY     (unwraps the key slot: HPKE, X25519)
#   agent:   tresor get KEY                 (after `tresor unlock`: one socket round trip)
#   passphrase: tresor get KEY with TRESOR_PASSPHRASE (Argon2id, 3 passes, 64 MiB), for scale
# stdout is a markdown table for the README; progress goes to stderr. Everything lives in
# a temporary directory (the agent's folder included), and the agent is stopped at exit.
#
# Usage: scripts/bench-agent.sh [RUNS] [SIZE]        (defaults: 100 1000)
# Environment: TRESOR_BIN=path  use this tresor binary instead of building one
set -euo pipefail
RUNS=${1:-100}
SIZE=${2:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
export XDG_RUNTIME_DIR="$WORK/run" XDG_STATE_HOME="$WORK/state" HOME="$WORK"
mkdir -m 700 "$XDG_RUNTIME_DIR"
BIN=${TRESOR_BIN:-}
cleanup() {
    [ -n "$BIN" ] && "$BIN" lock --all >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
if [ -z "$BIN" ]; then
    echo "building the release binary…" >&2
    (cd "$ROOT" && cargo build --release --quiet)
    BIN="$ROOT/target/release/tresor"
fi
V="$WORK/vault.tresor"
K="$WORK/vault.key"
PASS="bench agent passphrase"
echo "filling a vault with $SIZE secrets…" >&2
"$BIN" --vault "$V" --keyfile "$K" init 2>/dev/null
for i in $(seq -f %05g 1 "$SIZE"); do
    printf 'SECRET_%s=%s\n' "$i" "$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"
done >"$WORK/secrets.env"
"$BIN" --vault "$V" --keyfile "$K" import "$WORK/secrets.env" 2>/dev/null
printf '%s' "$PASS" | TRESOR_PASSPHRASE= TRESOR_NEW_PASSPHRASE="$PASS" \
    "$BIN" --vault "$V" --keyfile "$K" passwd 2>/dev/null
KEY=$(printf 'SECRET_%05d' $((SIZE / 2)))
"$BIN" --vault "$V" --keyfile "$K" unlock 2>/dev/null
median() { python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$1"; }
run() { # name, runs, command…
    local name=$1 runs=$2
    shift 2
    hyperfine -N --warmup 5 --runs "$runs" --export-json "$WORK/$name.json" "$*" >&2
    median "$WORK/$name.json"
}
keyfile=$(run keyfile "$RUNS" "$BIN" --vault "$V" --keyfile "$K" get "$KEY")
agent=$(run agent "$RUNS" "$BIN" --vault "$V" get "$KEY")
export TRESOR_PASSPHRASE="$PASS"
pass=$(run passphrase 10 "$BIN" --vault "$V" get "$KEY")
unset TRESOR_PASSPHRASE
echo "| \`tresor get KEY\`, $SIZE secrets | median (ms) |"
echo "|---|---:|"
echo "| keyfile (\`--keyfile\`) | $keyfile |"
echo "| warm agent (after \`tresor unlock\`) | $agent |"
echo "| passphrase (\`TRESOR_PASSPHRASE\`, Argon2id) | $pass |"
echo
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); hyperfine -N, $RUNS runs (passphrase: 10), release build, $(date -u +%F)."
