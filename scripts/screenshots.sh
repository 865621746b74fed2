#!/usr/bin/env bash
# Regenerates screenshots/*.png from the real app in a real terminal emulator:
# tresor runs in a tmux session that this script drives with send-keys, and an xterm
# (JetBrains Mono) under Xvfb shows that session; ImageMagick's `import` takes the picture.
# The vault is a throwaway demo vault with made-up values, written months ago for some of
# them (examples/demo_vault.rs, through the test-only clock), in a throwaway home folder,
# so the header shows ~/.local/share/tresor/vault.tresor as a user's would.
# OUT=dir writes the pictures elsewhere; SHOTS="table add" takes only those;
# TRESOR_BIN=path takes that binary instead of building a release one.
# The `members` shot makes the demo vault a team vault on a throwaway PostgreSQL cluster
# (unix socket in a temp folder, as the tests start one; TRESOR_PG_BIN or Debian's
# postgresql-15) with two more members; the other shots then show a team vault too.
# Needs: xvfb xterm x11-utils xdotool imagemagick fonts-jetbrains-mono tmux (installed if missing).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-"$ROOT/screenshots"}
SHOTS=${SHOTS:-"table add edit delete error help health compare reveal history copy import members"}
COLS=${COLS:-110}
ROWS=${ROWS:-30}
WORK=$(mktemp -d)
SOCK="tresor-shots-$$"
T="tmux -L $SOCK -f /dev/null"
DISPLAY_NUM=":$((90 + $$ % 9))"

cleanup() {
    $T kill-server 2>/dev/null || true
    [ -n "${PGDIR:-}" ] && { "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop \
        >/dev/null 2>&1 || true; rm -rf "$PGDIR"; }
    [ -n "${XTERM_PID:-}" ] && kill "$XTERM_PID" 2>/dev/null || true
    [ -n "${XVFB_PID:-}" ] && kill "$XVFB_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

missing=()
for tool in Xvfb xterm xdpyinfo xdotool import tmux; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
fc-list | grep -qi "JetBrains Mono" || missing+=(font)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends xvfb xterm x11-utils xdotool imagemagick \
        fonts-jetbrains-mono tmux >/dev/null
fi

if [ -n "${TRESOR_BIN:-}" ]; then
    BIN=$(realpath "$TRESOR_BIN")
else
    (cd "$ROOT" && cargo build --release --locked -q)
    BIN="$ROOT/target/release/tresor"
fi
mkdir -p "$OUT"

# A demo vault with made-up values and made-up times, in a home folder of its own (only
# the TUI gets that HOME: cargo needs the real one).
DEMO_HOME="$WORK/home"
export TRESOR_VAULT="$DEMO_HOME/.local/share/tresor/vault.tresor" TRESOR_KEYFILE="$WORK/demo.key"
mkdir -p "$(dirname "$TRESOR_VAULT")"
chmod 700 "$DEMO_HOME" "$DEMO_HOME/.local" "$DEMO_HOME/.local/share" "$(dirname "$TRESOR_VAULT")"
(cd "$ROOT" && cargo run -q --locked --example demo_vault --features test-support -- \
    "$TRESOR_VAULT" "$TRESOR_KEYFILE")

# The members shot: the demo vault shared through a throwaway cluster, with bob (writer)
# and ci-prod (reader of production only), each an identity of their own.
export TRESOR_IDENTITY="$WORK/alice.identity"
case " $SHOTS " in *" members "*)
    PGBIN=${TRESOR_PG_BIN:-/usr/lib/postgresql/15/bin}
    PGDIR=$(mktemp -d /tmp/tresor-shots-pg-XXXXXX)
    AS_PG=()
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGDIR"; AS_PG=(runuser -u postgres --); fi
    "${AS_PG[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U tresor --auth=trust -E UTF8 \
        --locale=C.UTF-8 -N >/dev/null
    "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
        -o "-k $PGDIR -p 5499 -c listen_addresses=''" start >/dev/null
    URL="postgresql://tresor@${PGDIR//\//%2F}:5499/postgres"
    (
        # As the TUI will run: the demo home's state and config folders.
        export HOME="$DEMO_HOME" XDG_STATE_HOME="$DEMO_HOME/.local/state" \
            XDG_CONFIG_HOME="$DEMO_HOME/.config"
        "$BIN" identity new >/dev/null 2>&1
        "$BIN" remote init "$URL" --name alice 2>/dev/null
        for who in bob ci-prod; do
            PK=$(TRESOR_KEYFILE="$WORK/$who.key" TRESOR_IDENTITY="$WORK/$who.identity" \
                "$BIN" identity new 2>/dev/null)
            case $who in
                bob) "$BIN" member add bob "$PK" --role writer >/dev/null 2>&1 ;;
                *) "$BIN" member add ci-prod "$PK" --role reader --only-env production \
                    >/dev/null 2>&1 ;;
            esac
        done
    )
    ;;
esac

Xvfb "$DISPLAY_NUM" -screen 0 1920x1200x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
for _ in $(seq 50); do xdpyinfo -display "$DISPLAY_NUM" >/dev/null 2>&1 && break; sleep 0.1; done

$T new-session -d -s s -x "$COLS" -y "$ROWS" -e TERM=xterm-256color \
    -e HOME="$DEMO_HOME" -e XDG_STATE_HOME="$DEMO_HOME/.local/state" \
    -e XDG_CONFIG_HOME="$DEMO_HOME/.config" -e TRESOR_VAULT="$TRESOR_VAULT" -e TRESOR_KEYFILE="$TRESOR_KEYFILE" \
    -e TRESOR_IDENTITY="$TRESOR_IDENTITY" "$BIN"
$T set -g status off
$T set -g window-size manual
$T set -as terminal-features 'xterm*:RGB'

DISPLAY="$DISPLAY_NUM" xterm -geometry "${COLS}x${ROWS}+0+0" -fa 'JetBrains Mono' -fs 12 \
    -bg '#1e1e1e' -fg '#d4d4d4' +sb -b 6 -bw 0 -tn xterm-256color \
    -xrm 'XTerm*cursorBlink: false' -title tresorshot -e $T attach -t s &
XTERM_PID=$!
WID=""
for _ in $(seq 50); do
    WID=$(DISPLAY="$DISPLAY_NUM" xdotool search --name tresorshot 2>/dev/null | head -1 || true)
    [ -n "$WID" ] && break
    sleep 0.1
done
[ -n "$WID" ] || { echo "xterm window did not appear" >&2; exit 1; }

wait_for() {
    for _ in $(seq 100); do
        $T capture-pane -p -t s | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    echo "timed out waiting for: $1" >&2
    $T capture-pane -p -t s >&2
    exit 1
}
keys() { $T send-keys -t s "$@"; sleep 0.15; }
text() { $T send-keys -t s -l "$1"; sleep 0.15; }
shot() {
    case " $SHOTS " in *" $1 "*) ;; *) return 0 ;; esac
    sleep 0.4
    DISPLAY="$DISPLAY_NUM" import -window "$WID" "$OUT/$1.png"
    echo "$OUT/$1.png"
}

wait_for "STRIPE_API_KEY_FOR_PRODUCTION"
shot table

case " $SHOTS " in *" members "*)
    keys M; wait_for "ci-prod"
    keys Down; sleep 0.2
    shot members
    keys Escape; sleep 0.3
    ;;
esac

keys a; wait_for "Create Secret"
text "OPENAI_API_KEY"; keys Tab; text "sk-demo-not-a-real-key"; keys Tab
text "Team key; billing owner is @ana"
shot add
keys Escape; sleep 0.3

keys Down Down; keys e; wait_for "Update Secret"
shot edit
keys Escape; sleep 0.3

keys d; wait_for "Cancel"
shot delete
keys Escape; sleep 0.3

keys a; wait_for "Create Secret"; keys Enter; wait_for "Secret key is required"
shot error
keys Escape; sleep 0.3

keys '?'; sleep 0.3
shot help
keys Escape; sleep 0.3

keys g; keys Down Down Down Down; wait_for "reused: same value as production/SENTRY_DSN"
shot health
keys '='; wait_for "Compare"
shot compare
keys Escape; sleep 0.3

keys v; wait_for "hides in"
shot reveal
keys Escape; sleep 0.3

keys h; wait_for "History of"
shot history
keys Escape; sleep 0.3

keys c; wait_for "on the clipboard"
shot copy
sleep 0.3

keys i; wait_for "Import into"
$T set-buffer -b demo "$(printf 'SENTRY_DSN=https://demo3@o0.ingest.sentry.io/0\nFEATURE_FLAGS_TOKEN=tok_demo_123456\nbad key=1')"
$T paste-buffer -p -b demo -t s; sleep 0.3
keys Enter; wait_for "invalid"
shot import
keys Escape; sleep 0.2; keys Escape; sleep 0.3


keys q
