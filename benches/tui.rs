//! Benchmarks of the TUI's speed targets: draw one frame of a 100,000-row table
//! (target < 2 ms), filter 100,000 rows per keystroke (< 10 ms), and open a
//! 10,000-secret environment up to its first frame (< 50 ms after unlock).
//!
//! Run: `cargo bench --bench tui` (needs `[[bench]] name = "tui" harness = false`).

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::Input;
use zeroize::Zeroizing;

use tresor::tui::action::Action;
use tresor::tui::app::App;
use tresor::tui::ui;
use tresor::vault::{Credential, NewCredential, SecretInfo, SecretType, Vault};

fn infos(n: usize) -> Vec<SecretInfo> {
    let now = chrono::Utc::now().timestamp();
    (0..n)
        .map(|i| SecretInfo {
            key: format!("SERVICE_{i:06}_API_KEY"),
            description: format!("key number {i} for the payments team, rotate quarterly"),
            kind: SecretType::ALL[i % SecretType::ALL.len()],
            created: now - i as i64 * 60,
            updated: now,
            value_changed: now - i as i64 * 3600,
            value_len: 40,
        })
        .collect()
}

/// An unlocked app (tiny real vault) whose table holds `n` synthetic rows.
fn app_with_rows(dir: &std::path::Path, n: usize) -> App {
    let vault =
        Vault::create(&dir.join("v.tresor"), NewCredential::Keyfile(dir.join("k"))).expect("vault");
    let mut app = App::unlocked(vault, "default", "development");
    app.set_infos(&infos(n));
    app
}

fn key(c: KeyCode) -> Action {
    Action::Input(Input::from(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn draw_100k(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = app_with_rows(dir.path(), 100_000);
    app.selected = 50_000;
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    c.bench_function("tui: draw one frame, 100,000-row table, 120x40", |b| {
        b.iter(|| {
            terminal.draw(|f| ui::render(&mut app, f)).expect("draw");
        })
    });
}

fn filter_100k(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = app_with_rows(dir.path(), 100_000);
    app.update(Action::OpenFilter);
    for ch in "key_00".chars() {
        app.update(key(KeyCode::Char(ch)));
    }
    // Each keystroke re-filters every row; typing then erasing keeps the state steady.
    c.bench_function("tui: filter keystroke, 100,000 rows", |b| {
        let mut typed = false;
        b.iter(|| {
            app.update(if typed {
                key(KeyCode::Backspace)
            } else {
                key(KeyCode::Char('4'))
            });
            typed = !typed;
        })
    });
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    c.bench_function("tui: filter keystroke + frame, 100,000 rows", |b| {
        let mut typed = false;
        b.iter(|| {
            app.update(if typed {
                key(KeyCode::Backspace)
            } else {
                key(KeyCode::Char('4'))
            });
            typed = !typed;
            terminal.draw(|f| ui::render(&mut app, f)).expect("draw");
        })
    });
}

fn open_10k(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.tresor");
    let keyfile = dir.path().join("k");
    let vault = Vault::create(&path, NewCredential::Keyfile(keyfile.clone())).expect("vault");
    let entries = (0..10_000)
        .map(|i| {
            (
                format!("SECRET_{i:05}"),
                Zeroizing::new(format!("value-{i:05}").into_bytes()),
            )
        })
        .collect();
    vault
        .import("default", "development", entries, false)
        .expect("import");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    c.bench_function(
        "tui: open a 10,000-secret environment to first frame",
        |b| {
            b.iter_batched(
                // Unlocking (keyfile) is setup: the figure is "after unlock".
                || Vault::unlock(&path, &Credential::Keyfile(keyfile.clone())).expect("unlock"),
                |vault| {
                    let mut app = App::unlocked(vault, "default", "development");
                    terminal.draw(|f| ui::render(&mut app, f)).expect("draw");
                    assert_eq!(app.rows.len(), 10_000);
                },
                BatchSize::PerIteration,
            )
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(30);
    targets = draw_100k, filter_100k, open_10k
}
criterion_main!(benches);
