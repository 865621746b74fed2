#!/usr/bin/env bash
# tresor and its peers side by side at 1,000, 10,000 and 100,000 secrets, on this machine.
#
# What it measures (whole process, release build, `hyperfine -N`, median of RUNS runs):
#   tresor (keyfile unlock), one vault per size holding N secrets in one environment:
#     get KEY | run --only KEY -- true | list | export | import FILE (N lines into an
#     empty environment; only at 10,000 and above; --prepare removes and re-adds it)
#   peers reading one secret from a store of N:
#     age -d of an encrypted .env + grep -m1 | pass show (gpg cv25519, no passphrase)
#     | keepassxc-cli show -a Password (keyfile-only database, the CLI's default KDF)
# KEY is the middle secret (SECRET_00500 of 1,000); values are 32 random characters.
#
# How to read it: stdout is one markdown table for the README (rows = commands, columns
# = sizes, cells = median ms), with the targets from the project's performance issue
# in the last column and each tresor cell marked ✓ (target met) or ✗ (missed); the last
# row is tresor get divided by `age -d | grep` (target ≤ 0.5). Footnotes say which cells
# ran fewer runs, and which peer was not run at a size because filling its store would
# take longer than PEER_BUDGET_S (estimated from the smaller sizes). Progress goes to
# stderr. The machine is shared: look at the load average in the header before trusting
# a number.
#
# Usage: scripts/bench-peers.sh [RUNS] [SIZES]       (defaults: 30 "1000 10000 100000")
# Environment: TRESOR_BIN=path  use this tresor binary instead of building one
#              BENCH_BUDGET_S   at most this many seconds of timed runs per cell, never
#                               fewer than 3 runs (default 30)
#              PEER_BUDGET_S    don't fill a peer's store that would take longer (600)
# Installs missing tools from the distribution's packages (hyperfine, pass, age,
# keepassxc, gnupg). Everything lives in a temporary directory, HOME included.
set -euo pipefail
RUNS=${1:-30}
SIZES=${2:-"1000 10000 100000"}
BUDGET=${BENCH_BUDGET_S:-30}
PEER_BUDGET=${PEER_BUDGET_S:-600}
MIN_RUNS=3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
START=$(date +%s)
WORK=$(mktemp -d)
cleanup() {
    [ -d "$WORK/gnupg" ] && GNUPGHOME="$WORK/gnupg" gpgconf --kill gpg-agent 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

case "$RUNS" in '' | *[!0-9]*) echo "RUNS must be a number, not '$RUNS'" >&2; exit 2 ;; esac
[ "$RUNS" -ge 2 ] || { echo "RUNS must be at least 2" >&2; exit 2; }
for n in $SIZES; do
    case "$n" in '' | *[!0-9]*) echo "SIZES must be numbers, not '$n'" >&2; exit 2 ;; esac
    [ "$n" -ge 2 ] && [ "$n" -le 99999999 ] || { echo "a size must be 2..99999999" >&2; exit 2; }
done
SIZES=$(printf '%s\n' $SIZES | sort -n | uniq | tr '\n' ' ')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

need=()
for tool in hyperfine pass age age-keygen keepassxc-cli gpg python3; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends hyperfine pass age keepassxc gnupg python3 >/dev/null
fi

if [ -n "${TRESOR_BIN:-}" ]; then
    TRESOR=$(cd "$(dirname "$TRESOR_BIN")" && pwd)/$(basename "$TRESOR_BIN")
else
    log "building tresor (release)"
    (cd "$ROOT" && cargo build --release --locked -q)
    TRESOR="$ROOT/target/release/tresor"
fi
[ -x "$TRESOR" ] || { echo "no tresor binary at $TRESOR" >&2; exit 1; }

# Nothing below may touch the real home directory.
export HOME="$WORK/home" XDG_STATE_HOME="$WORK/home/state" XDG_CONFIG_HOME="$WORK/home/config" \
    XDG_CACHE_HOME="$WORK/home/cache" XDG_DATA_HOME="$WORK/home/data"
export GNUPGHOME="$WORK/gnupg"
unset TRESOR_PASSPHRASE TRESOR_PROJECT TRESOR_ENV
mkdir -p "$HOME" "$WORK/res"
mkdir -m 700 "$GNUPGHOME"
cd "$WORK"

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
# would_take RATE_NS_PER_ENTRY N: seconds, rounded up
would_take() { awk -v r="$1" -v n="$2" 'BEGIN { s = r * n / 1e9; printf "%d", s == int(s) ? s : int(s) + 1 }'; }
skip() { printf '%s\n' "$3" >"$WORK/res/$1.$2.skip"; }

# bench SIZE SLUG CHECK CMD [PREPARE]
# One untimed run first (after PREPARE): it checks the output (CHECK is "eq:TEXT", "has:TEXT"
# or "") and gives the time of one run, from which the number of runs is chosen: RUNS, or
# fewer when RUNS runs would take longer than BUDGET seconds (never fewer than MIN_RUNS).
bench() {
    local size=$1 slug=$2 check=$3 cmd=$4 prepare=${5:-} t0 t1 ns runs warmup
    [ -z "$prepare" ] || eval "$prepare" >/dev/null 2>&1
    t0=$(now_ns)
    eval "$cmd" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; echo "failed: $cmd" >&2; exit 1; }
    t1=$(now_ns)
    case "$check" in
        eq:*) [ "$(cat "$WORK/out")" = "${check#eq:}" ] || { echo "wrong output from: $cmd" >&2; exit 1; } ;;
        has:*) grep -qF -- "${check#has:}" "$WORK/out" || { echo "wrong output from: $cmd" >&2; exit 1; } ;;
    esac
    ns=$((t1 - t0))
    runs=$RUNS warmup=3
    if [ $((ns * RUNS)) -gt $((BUDGET * 1000000000)) ]; then
        runs=$((BUDGET * 1000000000 / ns))
        [ "$runs" -ge "$MIN_RUNS" ] || runs=$MIN_RUNS
        warmup=0 # the checking run above warmed the caches
    fi
    log "  $slug: one run $(secs 0 "$ns") s -> $runs runs"
    local args=(-N --style none --warmup "$warmup" --runs "$runs" --export-json "$WORK/res/$size.$slug.json")
    [ -z "$prepare" ] || args+=(--prepare "$prepare")
    hyperfine "${args[@]}" "$cmd" >/dev/null
}

# The tools' versions and a reference rate for `pass insert`, one entry per process.
VERSIONS="tresor $("$TRESOR" --version | awk '{print $NF}'), hyperfine $(hyperfine --version | awk '{print $NF}'), \
age $(age --version), gpg $(gpg --version | awk 'NR==1 {print $NF}'), \
pass $(pass version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -1 | tr -d v), keepassxc-cli $(keepassxc-cli --version)"
printf '%s\n' "$VERSIONS" >"$WORK/res/versions"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Bench <bench@bench.invalid>' future-default default never 2>/dev/null
FPR=$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
age-keygen -o age.key 2>/dev/null
AGE_RECIPIENT=$(age-keygen -y age.key)
PASSWORD_STORE_DIR="$WORK/pass-insert" pass init "$FPR" >/dev/null 2>&1
t0=$(now_ns)
for i in $(seq 1 20); do
    printf 'value-%s\n' "$i" | PASSWORD_STORE_DIR="$WORK/pass-insert" pass insert -m -f "bench/entry-$i" >/dev/null 2>&1
done
PASS_INSERT_NS=$((($(now_ns) - t0) / 20))
echo "$PASS_INSERT_NS" >"$WORK/res/pass-insert-ns"
rm -rf "$WORK/pass-insert"
log "pass insert, one entry at a time: $(secs 0 "$PASS_INSERT_NS") s each"

PASS_RATE="" KP_RATE="" # ns per entry to fill the store, from the last size filled
for N in $SIZES; do
    D="$WORK/n$N"
    mkdir -p "$D"
    cd "$D"
    KEY=$(printf 'SECRET_%05d' $((N / 2)))
    NAME=$(printf 'secret-%05d' $((N / 2)))
    log "$N secrets (reading $KEY)"

    do_pass=1 do_kp=1
    if [ -n "$PASS_RATE" ] && [ "$(would_take "$PASS_RATE" "$N")" -gt "$PEER_BUDGET" ]; then
        do_pass=0
        skip "$N" pass "$(would_take "$PASS_RATE" "$N")"
        log "  pass: not run, filling the store would take about $(would_take "$PASS_RATE" "$N") s"
    fi
    if [ -n "$KP_RATE" ] && [ "$(would_take "$KP_RATE" "$N")" -gt "$PEER_BUDGET" ]; then
        do_kp=0
        skip "$N" keepassxc "$(would_take "$KP_RATE" "$N")"
        log "  keepassxc: not run, creating the database would take about $(would_take "$KP_RATE" "$N") s"
    fi

    # The data: a .env file, the plaintext of one pass entry per secret, a KeePass XML.
    python3 - "$N" "$do_pass" "$do_kp" <<'PY'
import os, random, string, sys
n, do_pass, do_kp = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1"
rng, alphabet = random.SystemRandom(), string.ascii_letters + string.digits
rows = [(f"SECRET_{i:05d}", "".join(rng.choices(alphabet, k=32))) for i in range(1, n + 1)]
name = lambda k: k.lower().replace("_", "-")
with open("secrets.env", "w") as f:
    f.writelines(f"{k}={v}\n" for k, v in rows)
if do_pass:
    os.makedirs("pass/bench")
    for k, v in rows:
        with open(f"pass/bench/{name(k)}", "w") as f:
            f.write(v + "\n")  # what `pass insert -m` stores
if do_kp:
    with open("secrets.xml", "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<KeePassFile><Root><Group><Name>Root</Name>\n')
        f.writelines(f"<Entry><String><Key>Title</Key><Value>{name(k)}</Value></String>"
                     f"<String><Key>Password</Key><Value>{v}</Value></String></Entry>\n" for k, v in rows)
        f.write("</Group></Root></KeePassFile>\n")
PY
    WANT=$(grep -m1 "^$KEY=" secrets.env | cut -d= -f2)

    # tresor: a vault of its own per size, keyfile unlock
    export TRESOR_VAULT="$D/vault.tresor" TRESOR_KEYFILE="$D/tresor.key"
    t0=$(now_ns)
    "$TRESOR" init >/dev/null 2>&1
    "$TRESOR" import secrets.env >/dev/null 2>&1
    log "  tresor: init + import took $(secs "$t0" "$(now_ns)") s"

    # age: the .env file encrypted to an X25519 key
    age -r "$AGE_RECIPIENT" -o secrets.env.age secrets.env

    # pass: the same gpg encryption as `pass insert` (gpg -e -r KEY --compress-algo=none
    # --no-encrypt-to), done by a few gpg --multifile processes instead of one per entry
    if [ "$do_pass" = 1 ]; then
        export PASSWORD_STORE_DIR="$D/pass"
        pass init "$FPR" >/dev/null 2>&1
        batch=$(((N + $(nproc) - 1) / $(nproc)))
        [ "$batch" -ge 100 ] || batch=100
        [ "$batch" -le 5000 ] || batch=5000
        t0=$(now_ns)
        find pass/bench -type f -print0 | xargs -0 -n "$batch" -P "$(nproc)" \
            gpg --batch --quiet --yes --compress-algo=none --no-encrypt-to -r "$FPR" --multifile --encrypt 2>/dev/null
        find pass/bench -type f ! -name '*.gpg' -delete
        t1=$(now_ns)
        PASS_RATE=$(((t1 - t0) / N))
        echo "$((t1 - t0))" >"$WORK/res/$N.pass.fill-ns"
        [ "$(find pass/bench -name '*.gpg' | wc -l)" -eq "$N" ] || { echo "pass store incomplete" >&2; exit 1; }
        log "  pass: filling the store took $(secs "$t0" "$t1") s"
    fi

    # KeePassXC: a keyfile-only database imported from XML, the CLI's default KDF
    if [ "$do_kp" = 1 ]; then
        t0=$(now_ns)
        keepassxc-cli import -q --set-key-file kp.keyx secrets.xml kp.kdbx </dev/null >/dev/null 2>&1
        t1=$(now_ns)
        KP_RATE=$(((t1 - t0) / N))
        echo "$((t1 - t0))" >"$WORK/res/$N.keepassxc.fill-ns"
        log "  keepassxc: importing the XML took $(secs "$t0" "$t1") s"
    fi

    bench "$N" get "eq:$WANT" "$TRESOR get $KEY"
    bench "$N" run "" "$TRESOR run --only $KEY -- true"
    bench "$N" list "has:$KEY" "$TRESOR list"
    bench "$N" export "has:$KEY=$WANT" "$TRESOR export"
    bench "$N" age "eq:$KEY=$WANT" "sh -c 'age -d -i $WORK/age.key secrets.env.age | grep -m1 ^$KEY='"
    [ "$do_pass" = 0 ] || bench "$N" pass "eq:$WANT" "pass show bench/$NAME"
    [ "$do_kp" = 0 ] || bench "$N" keepassxc "eq:$WANT" \
        "keepassxc-cli show -q --no-password -k kp.keyx -s -a Password kp.kdbx $NAME"
    if [ "$N" -ge 10000 ]; then
        bench "$N" import "" "$TRESOR -e fresh import secrets.env" \
            "sh -c '$TRESOR env rm fresh --yes >/dev/null 2>&1; $TRESOR env add fresh >/dev/null 2>&1'"
    fi
    cd "$WORK"
    rm -rf "$D/pass" "$D/secrets.xml" # the biggest files; the results are in $WORK/res
done

ELAPSED=$(($(date +%s) - START))
log "done in $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
python3 - "$WORK/res" "$RUNS" "$ELAPSED" "$LOAD_START" $SIZES <<'PY'
import datetime, json, os, platform, sys

res, runs_wanted, elapsed, load_start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sizes = [int(s) for s in sys.argv[5:]]

def read(name):
    try:
        with open(os.path.join(res, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")) / 1048576
load_end = " ".join(open("/proc/loadavg").read().split()[:3])
print(f"Machine: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}; "
      f"{datetime.date.today().isoformat()}; load average {load_start} at the start, {load_end} at the end; "
      f"whole run {elapsed / 60:.1f} min.  ")
print(f"Versions: {read('versions')}.")
print()

T_GET = {1000: 2.5, 10000: 3, 100000: 4}
ROWS = [  # slug, label, targets in ms by size, target text
    ("get", "`tresor get KEY` (keyfile)", T_GET, "≤ 2.5 / 3 / 4 ms"),
    ("run", "`tresor run --only KEY -- true`", T_GET, "≤ 2.5 / 3 / 4 ms"),
    ("list", "`tresor list`", {1000: 5, 10000: 20, 100000: 200}, "≤ 5 / 20 / 200 ms"),
    ("export", "`tresor export`", {1000: 5, 10000: 25, 100000: 250}, "≤ 5 / 25 / 250 ms"),
    ("import", "`tresor import FILE` (N lines, empty environment)", {10000: 100, 100000: 1000},
     "— / ≤ 100 ms / ≤ 1 s"),
    ("age", "`age -d -i age.key secrets.env.age \\| grep -m1 ^KEY=`", {}, ""),
    ("pass", "`pass show bench/name` (gpg cv25519)", {}, ""),
    ("keepassxc", "`keepassxc-cli show -a Password` (keyfile)", {}, ""),
]
SHORT = {"get": "tresor get", "run": "tresor run", "list": "tresor list", "export": "tresor export",
         "import": "tresor import", "age": "age -d | grep", "pass": "pass show", "keepassxc": "keepassxc-cli show"}
result, notes, fewer = {}, [], []

def note(text):
    if text not in notes:
        notes.append(text)
    return "¹²³⁴⁵⁶⁷⁸⁹"[notes.index(text)]

def duration(s):
    return f"{s} s" if s < 90 else f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"

def mark(value, target):
    return "" if target is None else (" ✓" if value <= target else " ✗")

def cell(slug, n, targets):
    r = read(f"{n}.{slug}.json")
    if r is not None:
        x = json.loads(r)["results"][0]
        result[slug, n] = ms = x["median"] * 1000
        if len(x["times"]) < runs_wanted:
            fewer.append(f"{SHORT[slug]} at {n:,}: {len(x['times'])}")
        return f"{ms:.1f}{mark(ms, targets.get(n))}"
    s = read(f"{n}.{slug}.skip")
    if s is not None:
        if slug == "pass":
            why = ("pass: not run where filling the store (one gpg file per entry) would take longer than "
                   "the budget (PEER_BUDGET_S), as extrapolated from the smaller sizes; `pass show` "
                   "decrypts one file whatever the store's size.")
        else:
            why = (f"{slug}: not run where creating the database would take longer than the budget "
                   "(PEER_BUDGET_S), as extrapolated from the smaller sizes.")
        mark_ = note(why)
        return f"not run ({duration(int(s))} to create){mark_}"
    return "—"

print(f"| command | {' | '.join(f'{n:,}' for n in sizes)} | target |")
print(f"|---|{'---:|' * len(sizes)}---|")
for slug, label, targets, target_text in ROWS:
    print(f"| {label} | {' | '.join(cell(slug, n, targets) for n in sizes)} | {target_text} |")
ratios = []
for n in sizes:
    if ("get", n) in result and ("age", n) in result:
        q = result["get", n] / result["age", n]
        ratios.append(f"{q:.2f}{mark(q, 0.5)}")
    else:
        ratios.append("—")
print(f"| get / (age -d \\| grep) | {' | '.join(ratios)} | ≤ 0.5 |")
print()

print(f"Median of {runs_wanted} runs in ms (hyperfine -N, whole process, release build), "
      f"✓ target met, ✗ missed. KEY is the middle secret (SECRET_00500 of 1,000); "
      f"each size has its own vault and stores. `tresor import` runs after "
      f"`tresor env rm fresh --yes; tresor env add fresh` (hyperfine --prepare, not timed).")
if fewer:
    print(f"Fewer runs where {runs_wanted} would take over the time budget per cell: {'; '.join(fewer)}.")
pi = read("pass-insert-ns")
fills = [f"{n:,} in {int(read(f'{n}.pass.fill-ns')) / 1e9:.0f} s" for n in sizes if read(f"{n}.pass.fill-ns")]
if pi and fills:
    per_k = int(pi) * 1000 / 1e9
    print(f"The pass stores were filled with gpg --multifile using pass's own gpg options ({', '.join(fills)}); "
          f"`pass insert`, one process per entry, takes {per_k:.0f} s per 1,000 entries here "
          f"({duration(round(per_k * 10))} for 10,000, {duration(round(per_k * 100))} for 100,000).")
kp = [f"{n:,} in {int(read(f'{n}.keepassxc.fill-ns')) / 1e9:.1f} s" for n in sizes if read(f"{n}.keepassxc.fill-ns")]
if kp:
    print(f"keepassxc-cli import of the XML took {', '.join(kp)}.")
for i, text in enumerate(notes):
    print(f"{'¹²³⁴⁵⁶⁷⁸⁹'[i]} {text}")
PY
