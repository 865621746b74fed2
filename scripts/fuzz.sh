#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 20), one after another.
#   dotenv_parse   any text through the .env parser; values round-trip through encode_line
#   record_decode  any bytes as every stored record type (postcard): never a panic
#   vault_open     any bytes as a vault file, unlocked with the seed vaults' keyfile and read
# cargo-fuzz is installed if missing. It needs nightly-only flags, which a stable toolchain
# accepts with RUSTC_BOOTSTRAP=1. The seed corpus in fuzz/corpus/<target>/ is only read:
# new inputs go to fuzz/target/corpus/<target>/ (not committed). A crash leaves its input in
# fuzz/artifacts/<target>/ and makes this script exit 1; replay one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>   (from fuzz/)
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
SECONDS_EACH=${1:-20}
shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/fuzz"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (a few minutes)..."
    cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# FUZZ_DEV=1 (CI): a dev build, no optimisation: minutes less to compile, fewer inputs a
# second; enough for CI's short runs. By hand, the default optimised build.
mode=()
[ -n "${FUZZ_DEV:-}" ] && mode=(--dev)
cargo fuzz build "${mode[@]}"
status=0
for target in "${targets[@]}"; do
    work="target/corpus/$target"
    mkdir -p "$work" "artifacts/$target"
    echo "== $target: ${SECONDS_EACH}s"
    # -timeout: one input running longer than 10 s is a hang, reported like a crash.
    if ! cargo fuzz run "${mode[@]}" "$target" "$work" "corpus/$target" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        2> "target/fuzz-$target.log"; then
        status=1
        echo "!! $target found a crash: see fuzz/target/fuzz-$target.log and fuzz/artifacts/$target/"
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^(==|SUMMARY|Done)' "target/fuzz-$target.log" || true
done
exit $status
