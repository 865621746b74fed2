#!/usr/bin/env bash
# The team vault's speed, beside the issue's targets: a throwaway PostgreSQL 15 cluster on
# a unix socket (no TCP), a team vault of 10,000 secrets, whole processes timed with
# hyperfine (median). Beside each: the same command on a local vault.
# Also: a get after another member's change (delta sync), and the in-process bench of
# 4 writers on 4 replicas (examples/team_writers.rs).
# Usage: scripts/bench-team.sh [RUNS]      (as root the server runs as user postgres)
# SKIP_READS=1, SKIP_RM=1, SKIP_WRITERS=1 leave parts out.
set -euo pipefail
RUNS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG=${TRESOR_PG_BIN:-/usr/lib/postgresql/15/bin}
WORK=$(mktemp -d /tmp/tresor-bench-XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    as_pg "$PG/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
(cd "$ROOT" && cargo build --release --locked -q)
BIN="$ROOT/target/release/tresor"

[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
as_pg "$PG/initdb" -D "$WORK/data" -U tresor --auth=trust -E UTF8 --locale=C.UTF-8 -N >/dev/null
as_pg "$PG/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
    -o "-k $WORK -p 5433 -c listen_addresses=''" start >/dev/null
URL="postgresql://tresor@${WORK//\//%2F}:5433/postgres"

A="$WORK/a"; B="$WORK/b"; mkdir -p "$A" "$B"
ta() { TRESOR_VAULT="$A/vault" TRESOR_KEYFILE="$A/key" TRESOR_IDENTITY="$A/id" "$BIN" "$@"; }
tb() { TRESOR_VAULT="$B/vault" TRESOR_KEYFILE="$B/key" TRESOR_IDENTITY="$B/id" "$BIN" "$@"; }
python3 -c "
for i in range(10000): print(f'SECRET_{i:05}=value-{i:05}-' + 'x' * 40)" > "$WORK/10k.env"
ta init 2>/dev/null; ta identity new >/dev/null 2>&1
ta import "$WORK/10k.env" >/dev/null 2>&1
cp "$A/vault" "$WORK/local.tresor"
# The copy has alice's vault id: its own state folder, or its reads would make alice's
# vault look rolled back to this machine (the high-water mark).
LOCAL="env XDG_STATE_HOME=$WORK/local-state $BIN --vault $WORK/local.tresor --keyfile $A/key"
ta remote init "$URL" --name alice 2>/dev/null
tb init 2>/dev/null
PK=$(tb identity new 2>/dev/null)
TOKEN=$(ta member add bob "$PK" --role writer 2>/dev/null)
tb remote join "$URL" --token "$TOKEN" 2>/dev/null
echo "team vault: 10,000 secrets in development; two members; PostgreSQL 15 on a unix socket"

export TRESOR_VAULT="$B/vault" TRESOR_KEYFILE="$B/key" TRESOR_IDENTITY="$B/id"
[ -n "${SKIP_READS:-}" ] || hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$WORK/read.md" \
    -n "get, team (head checked; target 15 ms)" "$BIN get SECRET_05000" \
    -n "get --offline, team (replica only; target 3 ms)" "$BIN --offline get SECRET_05000" \
    -n "get, local vault" "$LOCAL get SECRET_05000" \
    -n "list 10,000, team (target 40 ms)" "$BIN list" \
    -n "list 10,000, local vault" "$LOCAL list" \
    >/dev/null 2>&1
# Each run, alice changes one value first: bob's get fetches and applies that commit.
[ -n "${SKIP_READS:-}" ] || hyperfine -N --warmup 2 --runs "$RUNS" --export-markdown "$WORK/delta.md" \
    --prepare "sh -c 'date +%N | $BIN --vault $A/vault --keyfile $A/key edit SECRET_00001 --value-stdin'" \
    -n "get after another member's change (delta sync)" "$BIN get SECRET_05000" \
    >/dev/null 2>&1
python3 -c "
for i in range(10000): print(f'NEW_{i:05}=new-{i:05}')" > "$WORK/new.env"
# Each run overwrites the same 10,000 keys with new values (prepared before each run).
[ -n "${SKIP_READS:-}" ] || hyperfine -N --runs 5 --export-markdown "$WORK/write.md" \
    --prepare "sh -c 'python3 -c \"import random; r=random.random()
for i in range(10000): print(f\\\"NEW_{i:05}=v{r}-{i}\\\")\" > $WORK/new.env'" \
    -n "import 10,000 (overwrite), team (target 1 s)" "$BIN import --overwrite $WORK/new.env" \
    >/dev/null 2>&1
[ -n "${SKIP_READS:-}" ] || cat "$WORK/read.md" "$WORK/delta.md" "$WORK/write.md" | grep -E '^\| `|^\| get|^\| list|^\| import' | cut -d'|' -f2,3

[ -n "${SKIP_RM:-}" ] || {
# member rm at 20,000 secrets: add and remove a member, three times.
ta remote sync >/dev/null 2>&1
for i in 1 2 3; do
    C="$WORK/c$i"; mkdir -p "$C"
    PK=$(TRESOR_VAULT="$C/vault" TRESOR_KEYFILE="$C/key" TRESOR_IDENTITY="$C/id" "$BIN" identity new 2>/dev/null)
    ta member add "carol$i" "$PK" --role reader >/dev/null 2>&1
    start=$(date +%s%N)
    ta member rm "carol$i" >/dev/null 2>&1
    echo "member rm at 20,000 secrets (target 1.5 s): $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
# Bob fetches the new epoch's keys before writing again.
tb remote sync >/dev/null 2>"$WORK/sync.err" || { echo "bob's remote sync failed:"; cat "$WORK/sync.err"; }
}

# Concurrent writers: 4 processes, 50 adds each, on two replicas; count what landed.
start=$(date +%s%N)
for w in 1 2 3 4; do
    (
        for i in $(seq 1 50); do
            if [ $((w % 2)) = 0 ]; then f=ta; else f=tb; fi
            printf v | $f add "W${w}_$i" >/dev/null 2>>"$WORK/errors" || echo fail >> "$WORK/fails"
        done
    ) &
done
wait
ms=$(( ($(date +%s%N) - start) / 1000000 ))
landed=$({ tb list --json 2>/dev/null || true; } | { grep -o '"W[0-9]*_[0-9]*"' || true; } | wc -l)
fails=$({ cat "$WORK/fails" 2>/dev/null || true; } | wc -l)
{ grep "^error" "$WORK/errors" 2>/dev/null || true; } | sort | uniq -c | sort -rn | head -3
echo "4 concurrent writers, 200 adds: $landed landed, $fails refused (told to retry), $((200 - landed - fails)) lost; $((landed * 1000 / ms)) commits/s (target 200)"

# The same in one process: 4 threads on 4 replicas, no sync before a write (rebases).
[ -n "${SKIP_WRITERS:-}" ] || (cd "$ROOT" && cargo run --release --locked -q --example team_writers 2>/dev/null | grep writers)
