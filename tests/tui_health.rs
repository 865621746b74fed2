//! The health column, the `!` filter, the status line's reasons and the compare view
//! (`=`), driven through the real key table on a real temporary vault, and drawn on a
//! `TestBackend` at 80x24 and 120x40 as insta snapshots. No value is ever on screen.

mod common;

use common::LibraryVault;
use std::path::PathBuf;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use tresor::tui::app::{App, Clock, Mode};
use tresor::tui::ui;
use tresor::vault::health::Flag;
use tresor::vault::{RowFilter, SecretValue};

const SHOWN_PATH: &str = "/home/ada/.local/share/tresor/vault.tresor";
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];
const DAY: i64 = 86_400;
/// Every value in the fixture: none may be drawn.
const VALUES: &[&str] = &[
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "hunter2",
    "ghp_Zp8xQ4vL2mK9wT7aB3cD5eF6gH8jK0",
    "Xk9mQ2vL7pW4rT8zN3bC6dF1",
    "sk_live_PROD_only_5tY7uI9oP1aS3dF",
];

struct Fixture {
    lib: LibraryVault,
}

impl std::ops::Deref for Fixture {
    type Target = LibraryVault;
    fn deref(&self) -> &LibraryVault {
        &self.lib
    }
}

impl Fixture {
    /// development: a weak password, an API key shared with production, a clean token,
    /// a port, and an undocumented lowercase key; production: the shared key and one
    /// of its own; staging: empty.
    fn new() -> Fixture {
        let lib = LibraryVault::new();
        let fx = Fixture { lib };
        fx.add("development", "DB_PASSWORD", VALUES[1], "primary Postgres");
        fx.add(
            "development",
            "STRIPE_API_KEY",
            VALUES[0],
            "Stripe → API keys",
        );
        fx.add("development", "GITHUB_TOKEN", VALUES[2], "CI releases");
        fx.add("development", "PORT", "8080", "the HTTP port");
        fx.add("development", "session_key", VALUES[3], "");
        fx.add("production", "STRIPE_API_KEY", VALUES[0], "live key");
        fx.add("production", "STRIPE_WEBHOOK", VALUES[4], "webhook signing");
        fx
    }

    /// An unlocked app whose clock is `days` after the secrets were written.
    fn app(&self, days: i64) -> App {
        let mut app = App::unlocked(self.vault(), "default", "development");
        app.clock = Clock::Fixed(chrono::Utc::now().timestamp() + days * DAY);
        app.vault_path = PathBuf::from(SHOWN_PATH);
        app.load();
        app
    }
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn keys(app: &App) -> Vec<&str> {
    app.visible
        .iter()
        .map(|&i| app.rows[i].key.as_str())
        .collect()
}

fn flags(app: &App, key: &str) -> Vec<Flag> {
    app.health
        .get(key)
        .map(|h| h.findings.iter().map(|f| f.flag).collect())
        .unwrap_or_default()
}

fn draw(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| ui::render(app, f)).expect("draw");
    common::screen_text(t.backend().buffer())
}

fn stable(text: &str) -> String {
    let date = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").expect("regex");
    date.replace_all(text, "YYYY-MM-DD").into_owned()
}

/// Draws at both sizes, checks that no value is visible, and snapshots.
fn snap(name: &str, app: &mut App) -> String {
    let mut small = String::new();
    for (w, h) in SIZES {
        let text = draw(app, w, h);
        for v in VALUES {
            assert!(!text.contains(v), "{name}: value {v:?} on screen:\n{text}");
        }
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), stable(&text));
        if w == 80 {
            small = text;
        }
    }
    small
}

#[test]
fn flagged_rows_are_known_with_their_reasons() {
    let fx = Fixture::new();
    let app = fx.app(12);
    assert_eq!(flags(&app, "DB_PASSWORD"), [Flag::Weak]);
    assert_eq!(flags(&app, "STRIPE_API_KEY"), [Flag::Reused]);
    assert_eq!(
        flags(&app, "session_key"),
        [Flag::Undocumented, Flag::BadlyNamed]
    );
    assert!(flags(&app, "GITHUB_TOKEN").is_empty());
    assert!(flags(&app, "PORT").is_empty());
    let reused = app.health.get("STRIPE_API_KEY").unwrap().summary();
    assert_eq!(reused, "reused: same value as production/STRIPE_API_KEY");
}

#[test]
fn bang_shows_only_flagged_rows_and_back() {
    let fx = Fixture::new();
    let mut app = fx.app(12);
    press(&mut app, KeyCode::Char('j')); // GITHUB_TOKEN, not flagged
    press(&mut app, KeyCode::Char('!'));
    assert!(app.health.only_flagged);
    assert_eq!(keys(&app), ["DB_PASSWORD", "STRIPE_API_KEY", "session_key"]);
    // With the text filter too.
    press(&mut app, KeyCode::Char('/'));
    for c in "stripe".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(keys(&app), ["STRIPE_API_KEY"]);
    press(&mut app, KeyCode::Esc);
    assert_eq!(keys(&app), ["DB_PASSWORD", "STRIPE_API_KEY", "session_key"]);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('!'));
    assert!(!app.health.only_flagged);
    assert_eq!(keys(&app).len(), 5);
    // The selection follows its key back.
    assert_eq!(app.selected_row().unwrap().key, "STRIPE_API_KEY");
}

#[test]
fn stale_and_unused_appear_once_time_has_passed() {
    let fx = Fixture::new();
    // 100 days on: every value is past the 90-day rotation period, and nothing was
    // read in the last 90 days (the fixture never reads).
    let mut app = fx.app(100);
    assert_eq!(
        flags(&app, "GITHUB_TOKEN"),
        [Flag::Stale, Flag::Unused],
        "{:?}",
        app.health.get("GITHUB_TOKEN")
    );
    // production rotates every 30 days: at day 40 its values are stale, development's not.
    fx.vault()
        .set_rotation("default", "production", 30)
        .expect("set rotation");
    app.clock = Clock::Fixed(chrono::Utc::now().timestamp() + 40 * DAY);
    app.load();
    assert!(flags(&app, "GITHUB_TOKEN").is_empty());
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.env, "production");
    assert_eq!(flags(&app, "STRIPE_WEBHOOK"), [Flag::Stale]);
    let why = app.health.get("STRIPE_WEBHOOK").unwrap().summary();
    assert_eq!(why, "stale: value unchanged for 40 days (rotate every 30)");
}

#[test]
fn the_compare_view_opens_filters_scrolls_and_closes() {
    let fx = Fixture::new();
    let mut app = fx.app(12);
    press(&mut app, KeyCode::Char('='));
    let Mode::Compare(state) = &app.mode else {
        panic!("no compare view")
    };
    let c = &state.comparison;
    assert_eq!(c.envs, ["development", "staging", "production"]);
    assert_eq!(c.rows.len(), 6);
    let stripe = c.rows.iter().find(|r| r.key == "STRIPE_API_KEY").unwrap();
    assert!(
        stripe.same_in(0, 2),
        "same value in development and production"
    );
    press(&mut app, KeyCode::Char('s'));
    let Mode::Compare(state) = &app.mode else {
        panic!()
    };
    assert_eq!(state.filter, RowFilter::Same);
    assert_eq!(state.visible.len(), 1);
    press(&mut app, KeyCode::Char('m'));
    let Mode::Compare(state) = &app.mode else {
        panic!()
    };
    assert_eq!(state.filter, RowFilter::Missing);
    assert_eq!(
        state.visible.len(),
        6,
        "staging is empty: every key is missing there"
    );
    press(&mut app, KeyCode::Char('G'));
    let Mode::Compare(state) = &app.mode else {
        panic!()
    };
    assert_eq!(state.selected, 5);
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Browse));
}

#[test]
fn health_table_and_reason_snapshots() {
    let fx = Fixture::new();
    let mut app = fx.app(12);
    let text = snap("health_table", &mut app);
    // Every column of the page still fits 80 columns beside the mark.
    for title in ["Key", "Description", "Type", "Created", "Actions"] {
        assert!(
            text.contains(title),
            "{title} missing at 80 columns:\n{text}"
        );
    }
    assert!(text.contains("3 flagged · ! only these"), "{text}");
    assert!(
        text.contains("weak: the value has 7 characters"),
        "the selected row's reason:\n{text}"
    );
    press(&mut app, KeyCode::Char('!'));
    press(&mut app, KeyCode::Char('j'));
    let text = snap("health_only_flagged", &mut app);
    assert!(text.contains("reused: same value as production/STRIPE_API_KEY"));
}

#[test]
fn compare_view_snapshots() {
    let fx = Fixture::new();
    let mut app = fx.app(12);
    press(&mut app, KeyCode::Char('='));
    let text = snap("compare_view", &mut app);
    assert!(text.contains("missing in staging, production"), "{text}");
    press(&mut app, KeyCode::Char('s'));
    snap("compare_same", &mut app);
}

#[test]
fn the_compare_view_scrolls_through_many_keys() {
    let fx = Fixture::new();
    let entries = (0..500)
        .map(|i| {
            (
                format!("SERVICE_{i:03}_TOKEN"),
                SecretValue::new(format!("value-{i}-Zp8xQ4vL2mK9wT7aB3cD").into_bytes()),
            )
        })
        .collect();
    fx.vault()
        .import("default", "staging", entries, false)
        .expect("import");
    let mut app = fx.app(12);
    press(&mut app, KeyCode::Char('='));
    draw(&mut app, 80, 24);
    press(&mut app, KeyCode::PageDown);
    press(&mut app, KeyCode::PageDown);
    let text = draw(&mut app, 80, 24);
    let Mode::Compare(state) = &app.mode else {
        panic!()
    };
    let selected = &state.comparison.rows[state.visible[state.selected]].key;
    assert!(state.selected > 20, "two pages down");
    assert!(
        text.contains(selected.as_str()),
        "the selected row is on screen:\n{text}"
    );
    assert!(text.contains("506 of 506 keys"), "{text}");
}

#[test]
fn a_change_in_another_environment_shows_on_the_next_load() {
    // Scans of unchanged environments are reused between loads: a change elsewhere
    // (another terminal) must still be seen.
    let fx = Fixture::new();
    let mut app = fx.app(12);
    assert!(flags(&app, "GITHUB_TOKEN").is_empty());
    fx.add("staging", "RELEASE_TOKEN", VALUES[2], "copied by mistake");
    app.load();
    assert_eq!(flags(&app, "GITHUB_TOKEN"), [Flag::Reused]);
    fx.vault()
        .remove("default", "staging", "RELEASE_TOKEN")
        .expect("remove");
    app.load();
    assert!(flags(&app, "GITHUB_TOKEN").is_empty());
    // A description changed elsewhere changes the environment's digest too.
    fx.vault()
        .edit(
            "default",
            "development",
            "session_key",
            tresor::vault::SecretEdit {
                description: Some("signs sessions".into()),
                ..Default::default()
            },
        )
        .expect("edit");
    app.load();
    assert_eq!(flags(&app, "session_key"), [Flag::BadlyNamed]);
}
