#!/usr/bin/env bash
# What the team's audit log costs a read: `get` on a team replica (head check, then its
# audit entry sent to the server in one INSERT on the same connection) beside
# `get --offline` (no server; the entry waits in the outbox). With BASELINE=path/to/an/
# older/tresor, that binary's `get` on the same replica is measured too (before the log
# existed: the head check alone). A throwaway PostgreSQL 15 cluster on a unix socket;
# whole processes timed, interleaved (median).
# Usage: [BIN=target/release/tresor] [BASELINE=…] scripts/bench-team-audit.sh [RUNS]
set -euo pipefail
RUNS=${1:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG=${TRESOR_PG_BIN:-/usr/lib/postgresql/15/bin}
WORK=$(mktemp -d /tmp/tresor-bench-audit-XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    as_pg "$PG/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
if [ -z "${BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --locked -q)
    BIN="$ROOT/target/release/tresor"
fi

[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
as_pg "$PG/initdb" -D "$WORK/data" -U tresor --auth=trust -E UTF8 --locale=C.UTF-8 -N >/dev/null
as_pg "$PG/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
    -o "-k $WORK -p 5434 -c listen_addresses=''" start >/dev/null
URL="postgresql://tresor@${WORK//\//%2F}:5434/postgres"

A="$WORK/a"; B="$WORK/b"; mkdir -p "$A" "$B"
ta() { TRESOR_VAULT="$A/vault" TRESOR_KEYFILE="$A/key" TRESOR_IDENTITY="$A/id" "$BIN" "$@"; }
tb() { TRESOR_VAULT="$B/vault" TRESOR_KEYFILE="$B/key" TRESOR_IDENTITY="$B/id" "$BIN" "$@"; }
ta init 2>/dev/null; ta identity new >/dev/null 2>&1
printf 'value' | ta add API_TOKEN >/dev/null 2>&1
ta remote init "$URL" --name alice 2>/dev/null
tb init 2>/dev/null
PK=$(tb identity new 2>/dev/null)
TOKEN=$(ta member add bob "$PK" --role writer 2>/dev/null)
tb remote join "$URL" --token "$TOKEN" 2>/dev/null

export TRESOR_VAULT="$B/vault" TRESOR_KEYFILE="$B/key" TRESOR_IDENTITY="$B/id"
# Interleaved (A B C A B C …), so a busy machine's load falls on every command alike.
python3 - "$RUNS" "$BIN" "${BASELINE:-}" <<'PY'
import statistics, subprocess, sys, time
runs, bin_, base = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def measure(cmds):
    times = {name: [] for name in cmds}
    for i in range(runs + 3):
        for name, cmd in cmds.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if i >= 3:
                times[name].append((time.perf_counter() - start) * 1000)
    for name, t in times.items():
        print(f"{name}: median {statistics.median(t):.1f} ms over {runs} runs")
# The baseline knows no outbox, so nothing queued is left between two `get`s.
online = {"get, team (head check + audit INSERT)": [bin_, "get", "API_TOKEN"]}
if base:
    online["get, team, BASELINE binary (head check only)"] = [base, "get", "API_TOKEN"]
measure(online)
measure({"get --offline, team (entry queued)": [bin_, "--offline", "get", "API_TOKEN"]})
PY
rows=$(ta audit 2>/dev/null | grep -c '  bob  .*  get  ' || true)
echo "bob's reads in the team's log: $rows (each run above, warmups included)"
