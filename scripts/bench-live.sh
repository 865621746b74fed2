#!/usr/bin/env bash
# Live updates of the team vault, measured: bob's TUI is open in tmux on his replica, alice
# adds a secret with the CLI, and the time until its key is on bob's screen is taken by
# polling the pane (tmux capture-pane, a few ms a look). A throwaway PostgreSQL 15 cluster
# on a unix socket. Each run twice: LISTEN/NOTIFY, then TRESOR_LISTEN=0 (polling the head).
# Two numbers per change: from the start of alice's `add` (its commit lies within it) and
# from the moment it exited (after its commit): the true latency lies between them.
# Usage: scripts/bench-live.sh [CHANGES]    PROFILE=debug uses the debug build
set -euo pipefail
N=${1:-20}
PROFILE=${PROFILE:-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG=${TRESOR_PG_BIN:-/usr/lib/postgresql/15/bin}
WORK=$(mktemp -d /tmp/tresor-live-XXXXXX)
SOCK="tresor-bench-live-$$"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    tmux -L "$SOCK" kill-server >/dev/null 2>&1 || true
    as_pg "$PG/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$PROFILE" = release ]; then
    (cd "$ROOT" && cargo build --release --locked -q)
else
    (cd "$ROOT" && cargo build --locked -q)
fi
BIN="$ROOT/target/$PROFILE/tresor"

[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
as_pg "$PG/initdb" -D "$WORK/data" -U tresor --auth=trust -E UTF8 --locale=C.UTF-8 -N >/dev/null
as_pg "$PG/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
    -o "-k $WORK -p 5434 -c listen_addresses=''" start >/dev/null
URL="postgresql://tresor@${WORK//\//%2F}:5434/postgres"

A="$WORK/a"; B="$WORK/b"; mkdir -p "$A" "$B"
export XDG_RUNTIME_DIR=/dev/null/no-agent
ta() { XDG_STATE_HOME="$A/state" TRESOR_VAULT="$A/vault" TRESOR_KEYFILE="$A/key" TRESOR_IDENTITY="$A/id" "$BIN" "$@"; }
tb() { XDG_STATE_HOME="$B/state" TRESOR_VAULT="$B/vault" TRESOR_KEYFILE="$B/key" TRESOR_IDENTITY="$B/id" "$BIN" "$@"; }
ta init 2>/dev/null; ta identity new >/dev/null 2>&1
printf 'x' | ta add FIRST >/dev/null 2>&1
ta remote init "$URL" --name alice 2>/dev/null
tb init 2>/dev/null
PK=$(tb identity new 2>/dev/null)
TOKEN=$(ta member add bob "$PK" --role writer 2>/dev/null)
tb remote join "$URL" --token "$TOKEN" 2>/dev/null

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # $1: label, $2: TRESOR_LISTEN value
    tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 120 -y 60 \
        "env HOME=$B XDG_STATE_HOME=$B/state XDG_RUNTIME_DIR=/dev/null/no-agent TRESOR_LISTEN=$2 TERM=xterm-256color $BIN --vault $B/vault --keyfile $B/key"
    until tmux -L "$SOCK" capture-pane -p -t t | grep -q FIRST; do sleep 0.05; done
    sleep 2 # the watcher connected and settled
    : > "$WORK/from-start"; : > "$WORK/from-exit"
    for i in $(seq 1 "$N"); do
        key="LIVE_${2}_$i"
        t0=$(now)
        printf v | ta add "$key" >/dev/null 2>&1
        t1=$(now)
        until tmux -L "$SOCK" capture-pane -p -t t | grep -q "$key"; do :; done
        t2=$(now)
        echo $(( (t2 - t0) / 1000000 )) >> "$WORK/from-start"
        echo $(( (t2 - t1) / 1000000 )) >> "$WORK/from-exit"
        # Scroll nothing: the table is tall enough; keep the new rows apart in time.
        sleep 0.3
    done
    tmux -L "$SOCK" kill-server >/dev/null 2>&1 || true
    echo "$1: change → row on bob's screen, median $(median < "$WORK/from-exit")–$(median < "$WORK/from-start") ms, worst $(sort -n "$WORK/from-start" | tail -1) ms ($N changes, $PROFILE build)"
}
measure "LISTEN/NOTIFY" 1
measure "polling the head (TRESOR_LISTEN=0)" 0
