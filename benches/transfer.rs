//! Copying at 10,000 secrets: `tresor env clone` of a 10,000-secret environment (every
//! value opened and sealed again for its new place, one transaction) and `tresor cp` of
//! one secret out of it, whole process with a keyfile, plus the library call behind the
//! clone.
//!
//! Run: `cargo bench --bench transfer`. The README's numbers come from here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tresor::vault::{CloneMode, Credential, NewCredential, SecretValue, Vault};
use zeroize::Zeroizing;

const SECRETS: usize = 10_000;
const BIN: &str = env!("CARGO_BIN_EXE_tresor");

fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = dir.path().join("vault.tresor");
    let keyfile = dir.path().join("key");
    let v = Vault::create(&vault, NewCredential::Keyfile(keyfile.clone())).expect("create vault");
    let entries: Vec<(String, SecretValue)> = (0..SECRETS)
        .map(|i| {
            let value = format!("value-{i:05}-{}", "x".repeat(32)).into_bytes();
            (format!("SECRET_{i:05}"), Zeroizing::new(value))
        })
        .collect();
    v.import("default", "development", entries, false)
        .expect("import");
    (dir, vault, keyfile)
}

fn tresor(vault: &Path, keyfile: &Path, args: &[&str]) {
    let status = Command::new(BIN)
        .env_clear()
        .env("TRESOR_VAULT", vault)
        .env("TRESOR_KEYFILE", keyfile)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn tresor");
    assert!(status.success(), "tresor {args:?} failed: {status}");
}

fn clone(c: &mut Criterion) {
    let (_dir, path, keyfile) = fixture();
    let vault = Vault::unlock(&path, &Credential::Keyfile(keyfile.clone())).expect("unlock");
    // Each run clones into a `copy` that the (untimed) setup removed.
    let fresh = || {
        let _ = vault.remove_env("default", "copy", true);
    };
    let mut group = c.benchmark_group("clone_10k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("env clone of 10,000 secrets (whole process)", |b| {
        b.iter_batched(
            fresh,
            |()| tresor(&path, &keyfile, &["env", "clone", "development", "copy"]),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("clone_env of 10,000 secrets (library)", |b| {
        b.iter_batched(
            fresh,
            |()| {
                vault
                    .clone_env(
                        ("default", "development"),
                        ("default", "copy"),
                        CloneMode::Refuse,
                    )
                    .expect("clone")
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("cp of one secret out of 10,000 (whole process)", |b| {
        b.iter_batched(
            || {
                let _ = vault.remove("default", "staging", "SECRET_05000");
            },
            |()| {
                tresor(
                    &path,
                    &keyfile,
                    &["cp", "SECRET_05000", "--to-env", "staging"],
                )
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, clone);
criterion_main!(benches);
