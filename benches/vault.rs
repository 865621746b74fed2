//! Benchmarks of the CLI's speed targets on a 10,000-secret vault:
//! whole-process `tresor get` with a keyfile (target < 10 ms median), whole-process
//! `tresor list`, and `tresor import` of a 10,000-line .env (target < 1 s), plus the
//! in-process library calls behind them.
//!
//! The `history_10k` group measures what history costs: the same vault after three
//! `import --overwrite` rounds, so every secret keeps three earlier values.
//!
//! Run: `cargo bench --bench vault`. The README's numbers come from here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tresor::vault::{Credential, NewCredential, SecretValue, Vault};
use zeroize::Zeroizing;

const SECRETS: usize = 10_000;
const BIN: &str = env!("CARGO_BIN_EXE_tresor");

struct Fixture {
    _dir: tempfile::TempDir,
    vault: PathBuf,
    keyfile: PathBuf,
    dotenv: PathBuf,
}

fn entries(n: usize) -> Vec<(String, SecretValue)> {
    (0..n)
        .map(|i| {
            (
                format!("SECRET_{i:05}"),
                Zeroizing::new(format!("value-{i:05}-{}", "x".repeat(32)).into_bytes()),
            )
        })
        .collect()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = dir.path().join("vault.tresor");
    let keyfile = dir.path().join("key");
    let v = Vault::create(&vault, NewCredential::Keyfile(keyfile.clone())).expect("create vault");
    v.import("default", "development", entries(SECRETS), false)
        .expect("import");
    let dotenv = dir.path().join("big.env");
    let text: String = entries(SECRETS)
        .iter()
        .map(|(k, v)| format!("{k}={}\n", String::from_utf8_lossy(v)))
        .collect();
    std::fs::write(&dotenv, text).expect("write .env");
    Fixture {
        _dir: dir,
        vault,
        keyfile,
        dotenv,
    }
}

fn tresor(vault: &Path, keyfile: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("TRESOR_VAULT", vault)
        .env("TRESOR_KEYFILE", keyfile)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn run_ok(mut cmd: Command) {
    let status = cmd.status().expect("spawn tresor");
    assert!(status.success(), "tresor failed: {status}");
}

fn cli(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("cli_10k");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("get (whole process, keyfile)", |b| {
        b.iter(|| run_ok(tresor(&f.vault, &f.keyfile, &["get", "SECRET_05000"])))
    });
    group.bench_function("list (whole process, keyfile)", |b| {
        b.iter(|| run_ok(tresor(&f.vault, &f.keyfile, &["list"])))
    });
    group.finish();

    let mut group = c.benchmark_group("cli_import");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("import 10,000-line .env (whole process)", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let vault = dir.path().join("v.tresor");
                let keyfile = dir.path().join("k");
                Vault::create(&vault, NewCredential::Keyfile(keyfile.clone())).expect("create");
                (dir, vault, keyfile)
            },
            |(_dir, vault, keyfile)| {
                let dotenv = f.dotenv.to_string_lossy().into_owned();
                run_ok(tresor(&vault, &keyfile, &["import", &dotenv]));
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn library(c: &mut Criterion) {
    let f = fixture();
    let vault = Vault::unlock(&f.vault, &Credential::Keyfile(f.keyfile.clone())).expect("unlock");
    let mut group = c.benchmark_group("library_10k");
    group.sample_size(30);
    group.bench_function("unlock (keyfile)", |b| {
        b.iter(|| Vault::unlock(&f.vault, &Credential::Keyfile(f.keyfile.clone())).expect("unlock"))
    });
    group.bench_function("get", |b| {
        b.iter(|| {
            vault
                .get("default", "development", "SECRET_05000")
                .expect("get")
        })
    });
    group.bench_function("list (metadata of 10,000)", |b| {
        b.iter(|| vault.list("default", "development").expect("list"))
    });
    group.finish();
}

/// Every secret with three earlier values (three overwriting imports).
fn fixture_with_history() -> Fixture {
    let f = fixture();
    let vault = Vault::unlock(&f.vault, &Credential::Keyfile(f.keyfile.clone())).expect("unlock");
    for round in 1..=3 {
        let changed = entries(SECRETS)
            .into_iter()
            .map(|(k, v)| {
                let mut v = v.to_vec();
                v.extend_from_slice(format!("-r{round}").as_bytes());
                (k, Zeroizing::new(v))
            })
            .collect();
        vault
            .import("default", "development", changed, true)
            .expect("import");
    }
    f
}

fn history(c: &mut Criterion) {
    let f = fixture_with_history();
    let vault = Vault::unlock(&f.vault, &Credential::Keyfile(f.keyfile.clone())).expect("unlock");
    let mut group = c.benchmark_group("history_10k");
    group.sample_size(30);
    group.bench_function("get (every secret has 3 earlier values)", |b| {
        b.iter(|| {
            vault
                .get("default", "development", "SECRET_05000")
                .expect("get")
        })
    });
    group.bench_function("list (metadata of 10,000, with history)", |b| {
        b.iter(|| vault.list("default", "development").expect("list"))
    });
    group.bench_function("history of one secret (4 versions)", |b| {
        b.iter(|| {
            vault
                .history("default", "development", "SECRET_05000")
                .expect("history")
        })
    });
    group.finish();
    let mut group = c.benchmark_group("history_cli_10k");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("get (whole process, keyfile, with history)", |b| {
        b.iter(|| run_ok(tresor(&f.vault, &f.keyfile, &["get", "SECRET_05000"])))
    });
    group.finish();
}

criterion_group!(benches, cli, library, history);
criterion_main!(benches);
