#!/usr/bin/env bash
# Reading one secret from a store of 1,000, side by side on this machine:
#   tresor get (keyfile)  |  pass show (gpg, cv25519)  |  age -d of an env file + grep
#   |  keepassxc-cli show with a keyfile.
# Installs the peers from the distribution's packages, builds tresor in release mode,
# runs hyperfine (-N, 3 warmups, 30 runs) and prints medians and ratios to tresor.
# Usage: scripts/bench-peers.sh [RUNS]
set -euo pipefail
RUNS=${1:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'gpgconf --kill gpg-agent 2>/dev/null || true; rm -rf "$WORK"' EXIT

need=()
for tool in hyperfine pass age keepassxc-cli gpg python3; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends hyperfine pass age keepassxc gnupg python3 >/dev/null
fi

(cd "$ROOT" && cargo build --release --locked -q)
TRESOR="$ROOT/target/release/tresor"

cd "$WORK"
python3 - <<'PY'
import secrets, string
alphabet = string.ascii_letters + string.digits
rows = [(f"SECRET_{i:04d}", "".join(secrets.choice(alphabet) for _ in range(32))) for i in range(1, 1001)]
with open("secrets.env", "w") as f:
    for k, v in rows: f.write(f"{k}={v}\n")
with open("secrets.tsv", "w") as f:
    for k, v in rows: f.write(f"{k.lower().replace('_', '-')}\t{v}\n")
with open("secrets.xml", "w") as f:
    f.write('<?xml version="1.0" encoding="utf-8"?>\n<KeePassFile><Root><Group><Name>Root</Name>\n')
    for k, v in rows:
        f.write(f"<Entry><String><Key>Title</Key><Value>{k.lower().replace('_', '-')}</Value></String>"
                f"<String><Key>Password</Key><Value>{v}</Value></String></Entry>\n")
    f.write("</Group></Root></KeePassFile>\n")
PY
WANT=$(grep '^SECRET_0500=' secrets.env | cut -d= -f2)

# tresor, keyfile unlock
export TRESOR_VAULT="$WORK/tresor/vault.tresor" TRESOR_KEYFILE="$WORK/tresor.key"
"$TRESOR" init >/dev/null 2>&1
"$TRESOR" import secrets.env >/dev/null 2>&1
[ "$("$TRESOR" get SECRET_0500)" = "$WANT" ]

# pass, with a cv25519 key and no passphrase (gpg-agent does the private-key work)
export GNUPGHOME="$WORK/gnupg" PASSWORD_STORE_DIR="$WORK/pass"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Bench <bench@bench.invalid>' future-default default never 2>/dev/null
FPR=$(gpg --list-keys --with-colons | awk -F: '/^fpr/ {print $10; exit}')
pass init "$FPR" >/dev/null 2>&1
while IFS=$'\t' read -r name value; do printf '%s\n' "$value" | pass insert -m -f "bench/$name" >/dev/null; done < secrets.tsv
[ "$(pass show bench/secret-0500)" = "$WANT" ]

# age: one encrypted env file, decrypted and grepped
age-keygen -o age.key 2>/dev/null
age -r "$(age-keygen -y age.key)" -o secrets.env.age secrets.env
[ "$(age -d -i age.key secrets.env.age | grep -m1 '^SECRET_0500=' | cut -d= -f2)" = "$WANT" ]

# KeePassXC: a keyfile-only database with the CLI's default KDF
keepassxc-cli import -q --set-key-file kp.keyx secrets.xml kp.kdbx </dev/null >/dev/null 2>&1
[ "$(keepassxc-cli show -q --no-password -k kp.keyx -s -a Password kp.kdbx secret-0500)" = "$WANT" ]

hyperfine -N --warmup 3 --runs "$RUNS" --export-json results.json \
    -n "tresor get (keyfile)" "$TRESOR get SECRET_0500" \
    -n "pass show (gpg cv25519)" "pass show bench/secret-0500" \
    -n "age -d + grep" "sh -c 'age -d -i age.key secrets.env.age | grep -m1 ^SECRET_0500='" \
    -n "keepassxc-cli show (keyfile)" "keepassxc-cli show -q --no-password -k kp.keyx -s -a Password kp.kdbx secret-0500" \
    >/dev/null

python3 - <<'PY'
import json, platform, os
r = json.load(open("results.json"))["results"]
base = r[0]["median"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
print(f"{'command':32} {'median ms':>10} {'mean ms':>9} {'× tresor':>9}")
for x in r:
    print(f"{x['command']:32} {x['median']*1000:10.1f} {x['mean']*1000:9.1f} {x['median']/base:9.1f}")
PY
