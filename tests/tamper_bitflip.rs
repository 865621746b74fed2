//! Damaged and tampered vault files: single bit flips anywhere in the file and in every
//! stored record, and whole-file damage. Each command must either give exactly the output of the undamaged vault or fail
//! with exit 1 and one of the vault's error messages: never a panic, a signal, a hang, or a
//! different value.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tresor::vault::storage::redb_file::RedbFile;
use tresor::vault::storage::{ReadTxn, Storage, Table};

/// A command still running after this is a hang.
const HANG: Duration = Duration::from_secs(5);

/// The secrets of the test vault, per environment.
const SECRETS_BY_ENV: [(&str, &[(&str, &str)]); 2] = [
    (
        "development",
        &[
            ("STRIPE_API_KEY", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
            ("DATABASE_URL", "postgres://app:s3cret@db.internal:5432/app"),
            (
                "TLS_KEY",
                "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
            ),
        ],
    ),
    (
        "production",
        &[
            ("STRIPE_API_KEY", "sk_live_51H8xQ2eZvKYlo2C0000prod"),
            ("GITHUB_TOKEN", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
        ],
    ),
];

/// The vault's error messages a damaged file may produce, and the name each is counted as.
const KNOWN_ERRORS: [(&str, &str); 8] = [
    ("vault file is damaged", "file is damaged"),
    ("failed authentication", "record failed authentication"),
    ("do not match their digest", "environment digest mismatch"),
    ("does not match its digest", "catalog digest mismatch"),
    ("is not a tresor vault", "not a tresor vault"),
    (
        "wrong passphrase or keyfile",
        "no key slot accepts the keyfile",
    ),
    (
        "key slot parameters are out of range",
        "key slot parameters refused",
    ),
    ("written by a newer tresor", "newer format"),
];

/// A pristine vault, and what every command printed on it.
struct Baseline {
    vault: common::Vault,
    bytes: Vec<u8>,
    /// (args, stdout) of every command run against each damaged copy.
    expected: BTreeMap<Vec<String>, Vec<u8>>,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Baseline {
    fn new() -> Baseline {
        let vault = common::Vault::new();
        for (env, secrets) in SECRETS_BY_ENV {
            for (i, (key, value)) in secrets.iter().enumerate() {
                // The first secret of each environment has an earlier value: history
                // rows get flipped too.
                let first = if i == 0 {
                    format!("earlier {value}")
                } else {
                    value.to_string()
                };
                vault.ok(
                    &["-e", env, "add", key, "-d", "a test secret"],
                    Some(first.as_bytes()),
                );
                if i == 0 {
                    vault.ok(
                        &["-e", env, "edit", key, "--value-stdin"],
                        Some(value.as_bytes()),
                    );
                }
            }
        }
        let mut expected = BTreeMap::new();
        for (env, secrets) in SECRETS_BY_ENV {
            let mut all = vec![
                args(&["-e", env, "list"]),
                args(&["-e", env, "export", "--format", "json"]),
            ];
            all.extend(
                secrets
                    .iter()
                    .map(|(key, _)| args(&["-e", env, "get", key])),
            );
            for a in all {
                expected.insert(a.clone(), vault.ok(&a, None).stdout);
            }
        }
        Baseline {
            bytes: vault.bytes(),
            vault,
            expected,
        }
    }

    /// A command on a copy. Each copy has its own high-water mark next to it (none at
    /// first: trusted as it is), so what one damaged copy wrote is not held against the
    /// next copy of the same vault.
    fn cmd(&self, vault: &Path, args: &[String]) -> Command {
        let mut c = common::tresor();
        c.env("XDG_STATE_HOME", vault.parent().unwrap().join("state"))
            .arg("--vault")
            .arg(vault)
            .arg("--keyfile")
            .arg(self.vault.keyfile())
            .args(args);
        c
    }

    /// The three commands run against a damaged copy for environment number `n`.
    fn commands(&self, n: usize, rng: &mut Rng) -> Vec<Vec<String>> {
        let (env, secrets) = SECRETS_BY_ENV[n % SECRETS_BY_ENV.len()];
        let (key, _) = secrets[rng.below(secrets.len() as u64) as usize];
        vec![
            args(&["-e", env, "list"]),
            args(&["-e", env, "export", "--format", "json"]),
            args(&["-e", env, "get", key]),
        ]
    }

    /// Writes `bytes` as a fresh 0600 vault file (with no audit log yet) and returns it.
    fn copy_with(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let dir = self.vault.dir.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join("vault.tresor");
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }
}

/// xorshift64*, fixed seeds: the same flips every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// How one command ended, already judged.
enum Verdict {
    Same,
    Error(&'static str),
    Failure(String),
}

/// Runs a command with a hang deadline and judges its outcome against `expected`.
/// `input`, if any, is the command's stdin (a short value: it fits the pipe buffer).
fn judge(mut cmd: Command, input: Option<&[u8]>, expected: Option<&[u8]>) -> Verdict {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn tresor");
    if let Some(data) = input {
        let _ = child.stdin.take().unwrap().write_all(data);
    }
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    let Some(status) = status else {
        return Verdict::Failure(format!("hang: still running after {HANG:?}"));
    };
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        return Verdict::Failure(format!("panic ({status}): {stderr}"));
    }
    match status.code() {
        Some(0) if expected == Some(&stdout[..]) => Verdict::Same,
        Some(0) => Verdict::Failure(format!(
            "succeeded with different output: {:?} (stderr {stderr:?})",
            String::from_utf8_lossy(&stdout)
        )),
        Some(1) => {
            let line = stderr
                .lines()
                .find(|l| l.starts_with("error: "))
                .unwrap_or("");
            match KNOWN_ERRORS
                .iter()
                .find(|(phrase, _)| line.contains(phrase))
            {
                Some(_) if !stdout.is_empty() => Verdict::Failure(format!(
                    "output before the error: {:?}",
                    String::from_utf8_lossy(&stdout)
                )),
                // A panic inside redb that the storage fence turned into this error.
                Some(_) if line.contains("redb could not read it") => {
                    Verdict::Error("file is damaged (redb panic caught)")
                }
                Some((_, kind)) => Verdict::Error(kind),
                None => Verdict::Failure(format!("exit 1 without a damage error: {stderr:?}")),
            }
        }
        Some(code) => Verdict::Failure(format!("exit {code}: {stderr}")),
        None => Verdict::Failure(format!("killed by signal {:?}: {stderr}", status.signal())),
    }
}

/// Counts of outcomes, per flip and per command.
#[derive(Default)]
struct Stats {
    flips: usize,
    flips_unchanged: usize,
    flips_refused: usize,
    commands_same: usize,
    errors: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

impl Stats {
    fn print(&self, title: &str) {
        println!(
            "{title}: {} flips: {} with every command unchanged, {} refused by at least one command; \
             commands: {} same output, errors {:?}, {} failures",
            self.flips,
            self.flips_unchanged,
            self.flips_refused,
            self.commands_same,
            self.errors,
            self.failures.len()
        );
    }
}

/// A damaged copy of the vault, and whether any command refused it.
struct Flipped {
    copy: PathBuf,
    label: String,
    refused: bool,
}

impl Flipped {
    /// Flips `bit` at each of `offsets` in a fresh copy of the vault.
    fn new(base: &Baseline, stats: &mut Stats, name: &str, offsets: &[usize], bit: u8) -> Flipped {
        let mut bytes = base.bytes.clone();
        for &at in offsets {
            bytes[at] ^= 1 << bit;
        }
        stats.flips += 1;
        Flipped {
            copy: base.copy_with(name, &bytes),
            label: format!("{name}: bit {bit} at {offsets:?}"),
            refused: false,
        }
    }

    /// Runs one command on the copy and counts its verdict; true if it gave `expected`.
    fn run(
        &mut self,
        base: &Baseline,
        stats: &mut Stats,
        a: &[String],
        input: Option<&[u8]>,
        expected: Option<&[u8]>,
    ) -> bool {
        match judge(base.cmd(&self.copy, a), input, expected) {
            Verdict::Same => {
                stats.commands_same += 1;
                return true;
            }
            Verdict::Error(kind) => *stats.errors.entry(kind).or_default() += 1,
            Verdict::Failure(why) => {
                stats
                    .failures
                    .push(format!("{}: `{}`: {why}", self.label, a.join(" ")))
            }
        }
        self.refused = true;
        false
    }

    fn finish(self, stats: &mut Stats) {
        if self.refused {
            stats.flips_refused += 1;
        } else {
            stats.flips_unchanged += 1;
        }
        let _ = std::fs::remove_dir_all(self.copy.parent().unwrap());
    }
}

/// Flips one bit at each of `offsets` in a copy of the vault and runs the commands on it.
fn flip_and_check(
    base: &Baseline,
    stats: &mut Stats,
    name: &str,
    offsets: &[usize],
    bit: u8,
    commands: &[Vec<String>],
) {
    let mut flipped = Flipped::new(base, stats, name, offsets, bit);
    for a in commands {
        flipped.run(
            base,
            stats,
            a,
            None,
            base.expected.get(a).map(Vec::as_slice),
        );
    }
    flipped.finish(stats);
}

fn assert_clean(stats: &Stats) {
    assert!(
        stats.failures.is_empty(),
        "{} of {} flips misbehaved:\n{}",
        stats.failures.len(),
        stats.flips,
        stats.failures.join("\n")
    );
}

/// 1,000 flips, one in each 1/1000 slice of the file: redb's headers,
/// pages in use, stale and free pages.
#[test]
fn single_bit_flips_across_the_whole_file() {
    let base = Baseline::new();
    let mut rng = Rng(0x7E50_0001_B17F_11B5);
    let mut stats = Stats::default();
    const FLIPS: usize = 1000;
    let slice = base.bytes.len() / FLIPS;
    for i in 0..FLIPS {
        let at = i * slice + rng.below(slice as u64) as usize;
        let bit = rng.below(8) as u8;
        let commands = base.commands(i, &mut rng);
        flip_and_check(
            &base,
            &mut stats,
            &format!("flip{i}"),
            &[at],
            bit,
            &commands,
        );
    }
    stats.print(&format!("whole file ({} bytes)", base.bytes.len()));
    assert_clean(&stats);
    assert_eq!(stats.flips, FLIPS);
}

/// redb's super-header (the first 512 bytes: magic, god byte, both commit slots) decides
/// which commit is live. One flip in each byte, checked with a read of the secret written
/// last: a flip that made redb fall back to the previous commit would lose it silently.
/// (An exhaustive run of all 4,096 bits, done once by hand, found none either.)
#[test]
fn single_bit_flips_in_the_super_header_never_roll_back_the_last_commit() {
    let base = Baseline::new();
    let mut rng = Rng(0x7E50_0004_60D0_B17E);
    let mut stats = Stats::default();
    let (env, secrets) = SECRETS_BY_ENV[SECRETS_BY_ENV.len() - 1];
    let (last, _) = secrets[secrets.len() - 1];
    let read_last = [args(&["-e", env, "get", last])];
    for at in 0..512 {
        let bit = rng.below(8) as u8;
        flip_and_check(
            &base,
            &mut stats,
            &format!("super{at}"),
            &[at],
            bit,
            &read_last,
        );
    }
    stats.print("super-header (512 bytes)");
    assert_clean(&stats);
}

/// Every stored item (the values of all six tables, and the keys of environments and
/// secrets) gets 8 flips. redb's
/// copy-on-write pages can hold stale copies of an item; the bit is flipped in every copy
/// the file holds, so each flip reaches the live one.
#[test]
fn single_bit_flips_in_every_stored_record() {
    let base = Baseline::new();
    let mut rng = Rng(0x7E50_0002_0DEC_0DE5);
    let mut stats = Stats::default();
    let items = stored_items(&base.vault.path);
    assert!(items.len() >= 20, "found only {} stored items", items.len());
    let mut n = 0;
    for (what, item) in &items {
        let found = occurrences(&base.bytes, item);
        assert!(
            !found.is_empty(),
            "{what} is not stored verbatim in the file"
        );
        for _ in 0..8 {
            let within = rng.below(item.len() as u64) as usize;
            let offsets: Vec<usize> = found.iter().map(|at| at + within).collect();
            let bit = rng.below(8) as u8;
            let commands = base.commands(n, &mut rng);
            flip_and_check(
                &base,
                &mut stats,
                &format!("rec{n}"),
                &offsets,
                bit,
                &commands,
            );
            n += 1;
        }
    }
    stats.print(&format!("stored records ({} items)", items.len()));
    assert_clean(&stats);
}

/// Writes open with redb's integrity check. After a flip, `add` either fails with a damage
/// error or succeeds, and then every secret, old and new, reads back exactly (or with a
/// damage error): a write never builds on damage it did not see.
#[test]
fn single_bit_flips_then_a_write() {
    let base = Baseline::new();
    let mut rng = Rng(0x7E50_0005_0000_AD0D);
    let mut stats = Stats::default();
    const FLIPS: usize = 300;
    let slice = base.bytes.len() / FLIPS;
    let new_value = b"a value written after the flip";
    for i in 0..FLIPS {
        let at = i * slice + rng.below(slice as u64) as usize;
        let bit = rng.below(8) as u8;
        let mut flipped = Flipped::new(&base, &mut stats, &format!("write{i}"), &[at], bit);
        let add = args(&["add", "NEW_KEY"]);
        if flipped.run(&base, &mut stats, &add, Some(new_value), Some(b"")) {
            // The write went through: read it back, and the secrets around it.
            let get = args(&["get", "NEW_KEY"]);
            flipped.run(&base, &mut stats, &get, None, Some(new_value));
            for (key, value) in SECRETS_BY_ENV[0].1 {
                let get = args(&["get", key]);
                flipped.run(&base, &mut stats, &get, None, Some(value.as_bytes()));
            }
        }
        flipped.finish(&mut stats);
    }
    stats.print(&format!(
        "a write after a flip ({} bytes)",
        base.bytes.len()
    ));
    assert_clean(&stats);
}

/// The raw bytes of every value in the vault's tables, and of the environment and secret
/// ids (the table keys that carry meaning: the others are fixed names and counters).
fn stored_items(vault: &Path) -> Vec<(String, Vec<u8>)> {
    let mut items = Vec::new();
    RedbFile::new(vault)
        .read(&mut |txn: &dyn ReadTxn| {
            for table in Table::ALL {
                txn.scan(table, b"", &mut |k, v| {
                    let what = match table {
                        Table::Meta => format!("meta {}", String::from_utf8_lossy(k)),
                        Table::Slots => format!("key slot {k:?}"),
                        Table::Environments => "environment record".into(),
                        Table::Secrets => "secret record".into(),
                        Table::Digests => "environment digest".into(),
                        Table::Tree if k.len() == 17 => "integrity tree root".into(),
                        Table::Tree => "integrity tree node".into(),
                        Table::History => "history row".into(),
                    };
                    if matches!(table, Table::Environments | Table::Secrets | Table::History) {
                        let id = match table {
                            Table::Secrets => "secret id",
                            Table::History => "history row id",
                            _ => "environment id",
                        };
                        items.push((id.into(), k.to_vec()));
                    }
                    items.push((what, v.to_vec()));
                    Ok(())
                })?;
            }
            Ok(())
        })
        .unwrap();
    items
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Whole-file damage: every command, reads and a write, fails with a clear error, and the
/// write leaves the file as it was (never "a new empty vault over it").
#[test]
fn truncated_zeroed_random_and_empty_files_are_refused() {
    let base = Baseline::new();
    let len = base.bytes.len();
    let mut rng = Rng(0x7E50_0003_0000_0001);
    let random: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
    let cases: [(&str, Vec<u8>); 6] = [
        ("truncated to half", base.bytes[..len / 2].to_vec()),
        ("truncated to 4096 bytes", base.bytes[..4096].to_vec()),
        ("zeros", vec![0; len]),
        ("random bytes", random),
        ("empty", Vec::new()),
        ("a redb file that is not a vault", foreign_redb_file(&base)),
    ];
    let mut kinds: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, (name, bytes)) in cases.iter().enumerate() {
        let copy = base.copy_with(&format!("whole{i}"), bytes);
        let commands = [
            args(&["list"]),
            args(&["export", "--format", "json"]),
            args(&["get", "STRIPE_API_KEY"]),
            args(&["add", "NEW_KEY"]),
            args(&["env", "list"]),
        ];
        for a in &commands {
            match judge(base.cmd(&copy, a), None, None) {
                Verdict::Error(kind) => kinds.entry(name).or_default().push(kind),
                Verdict::Same => unreachable!("no expected output"),
                Verdict::Failure(why) => panic!("{name}: `{}`: {why}", a.join(" ")),
            }
        }
        assert_eq!(
            &std::fs::read(&copy).unwrap(),
            bytes,
            "{name}: the file was changed"
        );
    }
    println!("whole-file damage: {kinds:?}");
}

/// A valid redb database with none of the vault's tables.
fn foreign_redb_file(base: &Baseline) -> Vec<u8> {
    let path = base.vault.dir.path().join("foreign.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("other_app");
            txn.open_table(table).unwrap().insert("x", 1).unwrap();
        }
        txn.commit().unwrap();
    }
    std::fs::read(&path).unwrap()
}
