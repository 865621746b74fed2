#!/usr/bin/env bash
# What member signatures cost (ML-DSA-65, orion), whole processes timed with hyperfine
# (mean ± σ), on a throwaway PostgreSQL 15 cluster on a unix socket: a small team vault
# (alice admin, bob writer, 100 secrets).
#   edit by bob             checks the current head (2 signature verifications), signs his
#                           head, checks it as the others will, before the commit
#   get by alice, changed   after bob's change: fetches the rows, checks the signatures
#   get by alice, current   the head unchanged: no signature checked (the baseline)
# Usage: scripts/bench-team-signing.sh [RUNS]      (as root the server runs as user postgres)
set -euo pipefail
RUNS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG=${TRESOR_PG_BIN:-/usr/lib/postgresql/15/bin}
WORK=$(mktemp -d /tmp/tresor-bench-sign-XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    as_pg "$PG/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
[ -n "${BIN:-}" ] || { (cd "$ROOT" && cargo build --release --locked -q); BIN="$ROOT/target/release/tresor"; }

[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
as_pg "$PG/initdb" -D "$WORK/data" -U tresor --auth=trust -E UTF8 --locale=C.UTF-8 -N >/dev/null
as_pg "$PG/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
    -o "-k $WORK -p 5434 -c listen_addresses=''" start >/dev/null
URL="postgresql://tresor@${WORK//\//%2F}:5434/postgres"

A="$WORK/a"; B="$WORK/b"; mkdir -p "$A" "$B"
ta() { TRESOR_VAULT="$A/vault" TRESOR_KEYFILE="$A/key" TRESOR_IDENTITY="$A/id" "$BIN" "$@"; }
tb() { TRESOR_VAULT="$B/vault" TRESOR_KEYFILE="$B/key" TRESOR_IDENTITY="$B/id" "$BIN" "$@"; }
python3 -c "
for i in range(100): print(f'SECRET_{i:03}=value-{i:03}')" > "$WORK/100.env"
ta init 2>/dev/null; ta identity new >/dev/null 2>&1
ta import "$WORK/100.env" >/dev/null 2>&1
ta remote init "$URL" --name alice 2>/dev/null
tb init 2>/dev/null
PK=$(tb identity new 2>/dev/null)
TOKEN=$(ta member add bob "$PK" --role writer 2>/dev/null)
tb remote join "$URL" --token "$TOKEN" 2>/dev/null
echo "team vault: 100 secrets; alice admin, bob writer; PostgreSQL 15 on a unix socket"

# Through the shell (its start-up is subtracted by hyperfine): a new value on each run.
hyperfine --warmup 3 --runs "$RUNS" --export-markdown "$WORK/edit.md" \
    -n "edit by bob (signed write)" \
    "printf v\$\$ | env TRESOR_VAULT=$B/vault TRESOR_KEYFILE=$B/key $BIN edit SECRET_050 --value-stdin" \
    >/dev/null 2>&1
hyperfine --warmup 2 --runs "$RUNS" --export-markdown "$WORK/get.md" \
    --prepare "sh -c 'printf x\$\$ | TRESOR_VAULT=$B/vault TRESOR_KEYFILE=$B/key $BIN edit SECRET_050 --value-stdin >/dev/null 2>&1'" \
    -n "get by alice after bob's change (signatures checked)" \
    "env TRESOR_VAULT=$A/vault TRESOR_KEYFILE=$A/key $BIN get SECRET_001" \
    >/dev/null 2>&1
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$WORK/current.md" \
    -n "get by alice, head unchanged (baseline)" \
    "env TRESOR_VAULT=$A/vault TRESOR_KEYFILE=$A/key $BIN get SECRET_001" \
    >/dev/null 2>&1
cat "$WORK/edit.md" "$WORK/get.md" "$WORK/current.md" | grep -E '^\| `|^\| edit|^\| get' | cut -d'|' -f2,3
