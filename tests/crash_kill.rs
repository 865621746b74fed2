//! Crash safety: SIGKILL real `tresor`
//! processes in the middle of writes (import, add, edit, rm, passwd), then check that the
//! vault still opens, that an import is all or nothing, that every write acknowledged
//! (exit 0) before the kill survived intact, and that the killed one happened completely
//! or not at all.
//!
//! Durability is structural, not tested here: every write transaction of the vault is made
//! by `begin_write` in src/vault/mod.rs, which sets `Durability::Immediate` and two-phase
//! commit (called by `Vault::create` and `Vault::write`, the only places that open one;
//! `compact` and `doctor` run redb's own compaction and integrity check).
//! Testing redb's own flag would test redb; this test checks what a user relies on.
//!
//! Random moments come from a xorshift generator; its seed is printed, and `CRASH_SEED=N`
//! replays a run.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{Output, output, tresor};

/// Rounds in all: even ones kill an import, odd ones a loop of adds, edits and deletes.
const ROUNDS: usize = 80;
/// Lines in the imported .env file.
const IMPORT_LINES: usize = 2000;
/// The kill window; widened to the measured length of an import when that is
/// longer, so that kills land before, during and after the commit.
const MIN_WINDOW_MS: u64 = 80;

/// xorshift64*: small, deterministic, good enough to pick moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed() -> u64 {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    seed.max(1)
}

struct Fixture {
    vault: common::Vault,
    env_file: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let vault = common::Vault::new();
        let env_file = vault.dir.path().join("import.env");
        let text: String = (0..IMPORT_LINES)
            .map(|i| format!("IMPORTED_{i}={}\n", import_value(i)))
            .collect();
        std::fs::write(&env_file, text).unwrap();
        Fixture { vault, env_file }
    }

    /// `tresor ARGS…` on this vault, unlocked through TRESOR_VAULT / TRESOR_KEYFILE.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = tresor();
        c.env("TRESOR_VAULT", &self.vault.path)
            .env("TRESOR_KEYFILE", self.vault.keyfile())
            .args(args);
        c
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> Output {
        output(self.cmd(args), None)
    }

    /// A development secret's value through `get`; `None` when there is no such secret.
    #[track_caller]
    fn observe(&self, key: &str) -> Option<Vec<u8>> {
        let got = self.run(&["get", key]);
        if got.code == 0 {
            return Some(got.stdout);
        }
        let error = got.failure().error();
        assert!(
            error.starts_with(&format!("no secret `{key}`")),
            "get {key}: {error}"
        );
        None
    }

    /// Keys of an environment, through `list --json` (which verifies its digest).
    #[track_caller]
    fn keys(&self, env: &str) -> Vec<String> {
        let out = self.run(&["-e", env, "list", "--json"]).success();
        let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        items
            .iter()
            .map(|s| s["key"].as_str().unwrap().to_string())
            .collect()
    }
}

fn import_value(i: usize) -> String {
    format!("imported-value-{i}-{}", "x".repeat(i % 40))
}

fn add_value(rng: &mut Rng, n: usize) -> Vec<u8> {
    let len = 1 + rng.below(200) as usize;
    let mut v = format!("v{n}:").into_bytes();
    v.extend((0..len).map(|_| b'!' + rng.below(94) as u8));
    v
}

/// Starts `cmd` and SIGKILLs it `after` from now unless it has exited by then. The status
/// tells which: a process that exited 0 before the kill acknowledged its write. Returns the
/// status and what the process wrote on stderr.
fn run_and_kill(mut cmd: Command, stdin: Option<&[u8]>, after: Duration) -> (ExitStatus, String) {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn tresor");
    if let Some(data) = stdin {
        // A short value fits the pipe buffer: this never blocks.
        let mut pipe = child.stdin.take().unwrap();
        let _ = pipe.write_all(data);
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() >= after {
            // Kill the process (a no-op on one that has just exited) and reap it: `wait`
            // then reports how it really ended.
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    // A few lines at most: they fit the pipe buffer, so reading after the exit is safe.
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    (status, stderr)
}

#[derive(Default)]
struct Tally {
    imports_complete: usize,
    imports_none: usize,
    /// Changes that exited 0 before their kill, by command.
    acknowledged: BTreeMap<String, usize>,
    /// Killed changes found done (they had committed) or not done.
    killed_applied: usize,
    killed_not_applied: usize,
}

/// One change to a secret: the command, and the secret's value before and after it
/// (`None`: no such secret).
struct Change {
    key: String,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    before: Option<Vec<u8>>,
    after: Option<Vec<u8>>,
}

/// Mostly adds of new keys; edits and deletes of existing ones.
fn pick_change(rng: &mut Rng, model: &BTreeMap<String, Vec<u8>>, next_key: &mut usize) -> Change {
    let existing = match model.len() {
        0 => None,
        n => model.iter().nth(rng.below(n as u64) as usize),
    };
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    match (rng.below(20), existing) {
        (12..=16, Some((key, old))) => {
            let value = add_value(rng, *next_key);
            Change {
                args: args(&["edit", key, "--value-stdin"]),
                key: key.clone(),
                stdin: Some(value.clone()),
                before: Some(old.clone()),
                after: Some(value),
            }
        }
        (17..=19, Some((key, old))) => Change {
            args: args(&["rm", key, "--yes"]),
            key: key.clone(),
            stdin: None,
            before: Some(old.clone()),
            after: None,
        },
        _ => {
            *next_key += 1;
            let key = format!("KEY_{next_key}");
            let value = add_value(rng, *next_key);
            Change {
                args: args(&["add", &key]),
                key,
                stdin: Some(value.clone()),
                before: None,
                after: Some(value),
            }
        }
    }
}

fn set(model: &mut BTreeMap<String, Vec<u8>>, key: &str, value: Option<Vec<u8>>) {
    match value {
        Some(v) => model.insert(key.to_string(), v),
        None => model.remove(key),
    };
}

#[test]
fn sigkill_during_writes_loses_no_acknowledged_write_and_breaks_no_import() {
    let started = Instant::now();
    let seed = seed();
    println!("crash_kill seed: {seed} (replay with CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let fx = Fixture::new();
    let env_file = fx.env_file.to_str().unwrap().to_string();

    // One undisturbed import: the command works, and its length sets the kill window.
    fx.run(&["env", "add", "imp"]).success();
    let t = Instant::now();
    fx.run(&["-e", "imp", "import", &env_file]).success();
    let import_ms = t.elapsed().as_millis() as u64;
    assert_eq!(fx.keys("imp").len(), IMPORT_LINES);
    fx.run(&["env", "rm", "imp", "--yes"]).success();
    fx.run(&["env", "add", "imp"]).success();
    let window = MIN_WINDOW_MS.max(import_ms * 13 / 10);
    println!("an import of {IMPORT_LINES} lines took {import_ms} ms; kill window 0..{window} ms");

    // What development must hold: every acknowledged change applied.
    let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut next_key = 0usize;
    let mut tally = Tally::default();

    for round in 0..ROUNDS {
        if round % 2 == 0 {
            // ----- an import killed at a random moment
            let after = Duration::from_millis(rng.below(window + 1));
            let (status, stderr) =
                run_and_kill(fx.cmd(&["-e", "imp", "import", &env_file]), None, after);
            assert!(
                status.success() || status.code().is_none(),
                "round {round}: import failed on its own ({status}): {stderr} (seed {seed})"
            );
            let keys = fx.keys("imp");
            let imported = keys.iter().filter(|k| k.starts_with("IMPORTED_")).count();
            assert!(
                imported == 0 || imported == IMPORT_LINES,
                "round {round}: import killed after {after:?} left {imported} of {IMPORT_LINES} keys (seed {seed})"
            );
            if status.success() {
                assert_eq!(
                    imported, IMPORT_LINES,
                    "round {round}: an acknowledged import is complete"
                );
            }
            if imported == IMPORT_LINES {
                tally.imports_complete += 1;
                for _ in 0..2 {
                    let i = rng.below(IMPORT_LINES as u64) as usize;
                    let key = format!("IMPORTED_{i}");
                    let got = fx.run(&["-e", "imp", "get", &key]).success();
                    assert_eq!(
                        got.stdout,
                        import_value(i).as_bytes(),
                        "round {round}: {key}"
                    );
                }
                // Start the next round from an empty environment again.
                fx.run(&["env", "rm", "imp", "--yes"]).success();
                fx.run(&["env", "add", "imp"]).success();
            } else {
                tally.imports_none += 1;
            }
        } else {
            // ----- a loop of adds, edits and deletes, the last one killed at a random moment
            let deadline = Instant::now() + Duration::from_millis(rng.below(window + 1));
            let mut this_round = Vec::new();
            let in_flight = loop {
                let change = pick_change(&mut rng, &model, &mut next_key);
                let args: Vec<&str> = change.args.iter().map(String::as_str).collect();
                let left = deadline.saturating_duration_since(Instant::now());
                let (status, stderr) = run_and_kill(fx.cmd(&args), change.stdin.as_deref(), left);
                if status.success() {
                    *tally
                        .acknowledged
                        .entry(change.args[0].clone())
                        .or_default() += 1;
                    set(&mut model, &change.key, change.after);
                    this_round.push(change.key);
                } else {
                    assert!(
                        status.code().is_none(),
                        "round {round}: `{}` failed on its own ({status}): {stderr} (seed {seed})",
                        args.join(" ")
                    );
                    break change;
                }
            };
            fx.run(&["list"]).success();
            // (The killed change may be to one of these keys: it is checked below.)
            for key in this_round.iter().filter(|k| **k != in_flight.key) {
                assert_eq!(
                    fx.observe(key),
                    model.get(key).cloned(),
                    "round {round}: acknowledged change of {key}"
                );
            }
            // The killed change happened completely or not at all.
            let seen = fx.observe(&in_flight.key);
            assert!(
                seen == in_flight.before || seen == in_flight.after,
                "round {round}: killed `{}` left {:?} (seed {seed})",
                in_flight.args.join(" "),
                seen.as_deref().map(String::from_utf8_lossy)
            );
            if seen == in_flight.after {
                tally.killed_applied += 1;
            } else {
                tally.killed_not_applied += 1;
            }
            set(&mut model, &in_flight.key, seen);
        }
        // The vault opens and lists after every kill.
        fx.run(&["list"]).success();
    }

    // Every acknowledged change, all at once, and nothing else in development.
    let out = fx.run(&["export", "--format", "json"]).success();
    let exported: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    let expected: BTreeMap<String, String> = model
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
        .collect();
    assert_eq!(
        exported, expected,
        "development after {ROUNDS} rounds (seed {seed})"
    );
    // And the deep check agrees: storage checksums, digests, every record.
    let doctor = fx.run(&["doctor"]);
    assert_eq!(
        doctor.code,
        0,
        "doctor after the kills (seed {seed}):\n{}{}",
        doctor.text(),
        doctor.stderr
    );
    doctor.assert_no_panic();

    println!(
        "{ROUNDS} rounds in {:.1} s: imports complete {} / nothing {}; changes acknowledged {:?}; killed changes found applied {}, not applied {}; {} secrets at the end",
        started.elapsed().as_secs_f64(),
        tally.imports_complete,
        tally.imports_none,
        tally.acknowledged,
        tally.killed_applied,
        tally.killed_not_applied,
        model.len()
    );
}

/// A `passwd` killed at any moment leaves exactly one of the old and the new
/// passphrase working (the slots are replaced in one transaction), never neither, and the
/// secrets readable with it.
#[test]
fn sigkill_during_passwd_leaves_the_old_or_the_new_passphrase() {
    const ROUNDS: usize = 20;
    let seed = seed();
    println!("passwd seed: {seed} (replay with CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let v = common::Vault::with_passphrase("passphrase-0");
    v.add("CANARY", b"canary value");
    let with = |pass: &str, args: &[&str]| {
        let mut c = tresor();
        c.arg("--vault")
            .arg(&v.path)
            .env("TRESOR_PASSPHRASE", pass)
            .args(args);
        c
    };
    let passwd = |old: &str, new: &str| {
        let mut c = with(old, &["passwd"]);
        c.args(common::CHEAP_KDF).env("TRESOR_NEW_PASSPHRASE", new);
        c
    };
    let t = Instant::now();
    output(passwd("passphrase-0", "passphrase-1"), None).success();
    let window = MIN_WINDOW_MS.max(t.elapsed().as_millis() as u64 * 13 / 10);
    let mut current = "passphrase-1".to_string();
    let (mut changed, mut kept) = (0, 0);
    for round in 0..ROUNDS {
        let new = format!("passphrase-{}", round + 2);
        let after = Duration::from_millis(rng.below(window + 1));
        let (status, stderr) = run_and_kill(passwd(&current, &new), None, after);
        assert!(
            status.success() || status.code().is_none(),
            "round {round}: passwd failed on its own ({status}): {stderr} (seed {seed})"
        );
        let old_works = output(with(&current, &["get", "CANARY"]), None);
        let new_works = output(with(&new, &["get", "CANARY"]), None);
        match (old_works.code, new_works.code) {
            (0, 1) if !status.success() => {
                assert_eq!(old_works.stdout, b"canary value");
                assert!(
                    new_works
                        .failure()
                        .error()
                        .starts_with("wrong passphrase or keyfile")
                );
                kept += 1;
            }
            (1, 0) => {
                assert_eq!(new_works.stdout, b"canary value");
                assert!(
                    old_works
                        .failure()
                        .error()
                        .starts_with("wrong passphrase or keyfile")
                );
                current = new;
                changed += 1;
            }
            other => panic!(
                "round {round}: passwd killed after {after:?} (status {status}): old/new passphrase gave {other:?}: {} / {} (seed {seed})",
                old_works.stderr, new_works.stderr
            ),
        }
    }
    println!(
        "passwd: {ROUNDS} kills in a 0..{window} ms window: {changed} changed, {kept} kept the old passphrase"
    );
}
