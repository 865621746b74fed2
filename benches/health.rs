//! Benchmarks of health and compare (targets: both under 200 ms):
//! `tresor check` of a 10,000-secret environment, and the compare of 5 environments ×
//! 10,000 keys, in-process after unlock and as whole processes; plus the TUI's compare
//! view opened and one frame of it drawn. The values are a realistic mix: mostly random
//! 40-character tokens, one in ten a short or well-known password, one in five shared
//! with another environment.
//!
//! Run: `cargo bench --bench health`. The README's numbers come from here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use zeroize::Zeroizing;

use tresor::tui::action::Action;
use tresor::tui::app::App;
use tresor::tui::ui;
use tresor::vault::health::Scope;
use tresor::vault::health::scan::forget_scans;
use tresor::vault::{Credential, NewCredential, SecretValue, Vault};

const KEYS: usize = 10_000;
const ENVS: [&str; 5] = ["development", "staging", "production", "preview", "qa"];
const BIN: &str = env!("CARGO_BIN_EXE_tresor");

/// A deterministic value: env `e`, secret `i`.
fn value(e: usize, i: usize) -> SecretValue {
    let text = if i.is_multiple_of(10) {
        format!("hunter{i}")
    } else if i % 5 == 1 {
        // The same in every environment: "reused".
        format!("shared-{i:05}-Qm7vXk2pLr9sT4wZ8nB3cF6hJ1dG5yE0")
    } else {
        let mut x = ((e as u64 + 1) * 0x9E37_79B9_7F4A_7C15)
            ^ (i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        (0..40)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
                char::from(alphabet[(x % alphabet.len() as u64) as usize])
            })
            .collect()
    };
    Zeroizing::new(text.into_bytes())
}

struct Fixture {
    _dir: tempfile::TempDir,
    vault: PathBuf,
    keyfile: PathBuf,
}

/// A vault of `envs` environments × 10,000 secrets.
fn fixture(envs: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = dir.path().join("vault.tresor");
    let keyfile = dir.path().join("key");
    let v = Vault::create(&vault, NewCredential::Keyfile(keyfile.clone())).expect("create vault");
    for (e, env) in ENVS.iter().enumerate().take(envs) {
        if e >= 3 {
            v.add_env("default", env).expect("env add");
        }
        let entries = (0..KEYS)
            .map(|i| (format!("SERVICE_{i:05}_TOKEN"), value(e, i)))
            .collect();
        v.import("default", env, entries, false).expect("import");
    }
    Fixture {
        _dir: dir,
        vault,
        keyfile,
    }
}

fn tresor(f: &Fixture, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("TRESOR_VAULT", &f.vault)
        .env("TRESOR_KEYFILE", &f.keyfile)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn unlock(path: &Path, keyfile: &Path) -> Vault {
    Vault::unlock(path, &Credential::Keyfile(keyfile.to_path_buf())).expect("unlock")
}

/// The "10,000 secrets" case: one environment of 10,000, nothing else in the vault.
fn ten_thousand(c: &mut Criterion) {
    let f = fixture(1);
    let vault = unlock(&f.vault, &f.keyfile);
    let now = chrono::Utc::now().timestamp();
    let mut group = c.benchmark_group("health_10k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("check 10,000 secrets, in-process", |b| {
        b.iter(|| {
            forget_scans();
            vault
                .health(&Scope::env("default", "development"), now)
                .expect("health")
        })
    });
    group.bench_function("tresor check --json of 10,000 (whole process)", |b| {
        b.iter(|| {
            let status = tresor(&f, &["check", "--json"]).status().expect("spawn");
            assert_eq!(status.code(), Some(3));
        })
    });
    let mut app = App::unlocked(unlock(&f.vault, &f.keyfile), "default", "development");
    group.bench_function(
        "TUI: load 10,000 secrets with the health column (cold)",
        |b| {
            b.iter(|| {
                forget_scans();
                app.load()
            })
        },
    );
    group.bench_function(
        "TUI: reload 10,000 secrets, nothing changed (scans kept)",
        |b| b.iter(|| app.load()),
    );
    group.finish();
}

fn health(c: &mut Criterion) {
    let f = fixture(ENVS.len());
    let vault = unlock(&f.vault, &f.keyfile);
    let now = chrono::Utc::now().timestamp();
    let envs: Vec<String> = ENVS.iter().map(|e| e.to_string()).collect();
    let mut group = c.benchmark_group("health");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    // One environment of 10,000 checked against the 50,000 values of the vault.
    group.bench_function(
        "check 10,000 secrets (vault of 5 x 10,000), in-process",
        |b| {
            b.iter(|| {
                forget_scans();
                vault
                    .health(&Scope::env("default", "development"), now)
                    .expect("health")
            })
        },
    );
    group.bench_function("compare 5 environments x 10,000 keys, in-process", |b| {
        b.iter(|| {
            forget_scans();
            vault.compare("default", &envs).expect("compare")
        })
    });
    group.bench_function("tresor check --json (whole process)", |b| {
        b.iter(|| {
            // Exit 3: flags found, as expected of this vault.
            let status = tresor(&f, &["check", "--json"]).status().expect("spawn");
            assert_eq!(status.code(), Some(3));
        })
    });
    let mut diff = vec!["diff"];
    diff.extend(ENVS);
    diff.push("--json");
    group.bench_function("tresor diff of 5 environments (whole process)", |b| {
        b.iter(|| {
            let status = tresor(&f, &diff).status().expect("spawn");
            assert!(status.success());
        })
    });
    group.finish();

    let mut group = c.benchmark_group("tui_health");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let mut app = App::unlocked(unlock(&f.vault, &f.keyfile), "default", "development");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    group.bench_function(
        "open the compare view (5 x 10,000) and draw it (cold)",
        |b| {
            b.iter(|| {
                forget_scans();
                app.update(Action::OpenCompare);
                terminal.draw(|fr| ui::render(&mut app, fr)).expect("draw");
                app.update(Action::Cancel);
            })
        },
    );
    group.bench_function("open the compare view again (scans kept)", |b| {
        b.iter(|| {
            app.update(Action::OpenCompare);
            terminal.draw(|fr| ui::render(&mut app, fr)).expect("draw");
            app.update(Action::Cancel);
        })
    });
    app.update(Action::OpenCompare);
    group.bench_function(
        "one frame of the compare view (5 x 10,000), scrolled",
        |b| {
            b.iter(|| {
                app.update(Action::PageDown);
                terminal.draw(|fr| ui::render(&mut app, fr)).expect("draw");
            })
        },
    );
    app.update(Action::Cancel);
    group.bench_function(
        "load a 10,000-secret environment of 5 with its health column (cold)",
        |b| {
            b.iter(|| {
                forget_scans();
                app.load()
            })
        },
    );
    group.bench_function("reload it, nothing changed (scans kept)", |b| {
        b.iter(|| app.load())
    });
    group.finish();
}

criterion_group!(benches, ten_thousand, health);
criterion_main!(benches);
