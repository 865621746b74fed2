//! Every screen drawn on a `TestBackend` at 80x24 and 120x40, as insta snapshots.
//! Dates are replaced by `YYYY-MM-DD` and the vault path is fixed, so snapshots are
//! stable. Every buffer is also searched for the secret values in the vault: a value
//! must never be drawn unless the user revealed what they are typing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use secrecy::SecretString;
use tempfile::TempDir;

use tresor::tui::action::Action;
use tresor::tui::app::{App, Clock, Screen};
use tresor::tui::keymap::{self, BINDINGS};
use tresor::tui::places::Places;
use tresor::tui::ui;
use tresor::vault::crypto::KdfParams;
use tresor::vault::{Credential, NewCredential, NewSecret, SecretValue, Vault};

const VALUES: &[&str] = &[
    "sk_live_VALUE_MUST_NOT_SHOW",
    "postgres://app:PW_MUST_NOT_SHOW@db/app",
    "TYPED_MUST_NOT_SHOW",
];
const SHOWN_PATH: &str = "/home/ada/.local/share/tresor/vault.tresor";
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

struct Fixture {
    tmp: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        Vault::create(
            &tmp.path().join("v.tresor"),
            NewCredential::Keyfile(tmp.path().join("k")),
        )
        .expect("create");
        Fixture { tmp }
    }

    fn vault(&self) -> Vault {
        Vault::unlock(
            &self.tmp.path().join("v.tresor"),
            &Credential::Keyfile(self.tmp.path().join("k")),
        )
        .expect("unlock")
    }

    fn add(&self, env: &str, key: &str, value: &str, description: &str) {
        let secret = NewSecret {
            key: key.into(),
            value: SecretValue::new(value.as_bytes().to_vec()),
            description: description.into(),
            kind: None,
        };
        self.vault().add("default", env, secret).expect("add");
    }

    fn full(&self) -> &Self {
        self.add(
            "development",
            "STRIPE_API_KEY",
            VALUES[0],
            "Stripe dashboard → Developers → API keys",
        );
        self.add(
            "development",
            "DATABASE_URL",
            VALUES[1],
            "primary Postgres, owned by the platform team",
        );
        self.add("development", "GITHUB_TOKEN", "ghp_x", "CI releases");
        self.add(
            "development",
            "TLS_PRIVATE_KEY",
            "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----",
            "",
        );
        self.add(
            "development",
            "ADMIN_PASSWORD",
            "hunter2",
            "鍵の説明 🔑 wide characters",
        );
        self.add(
            "development",
            "WEBHOOK_SECRET",
            "whsec",
            "line one\u{1b}[31m red?\tend",
        );
        self.add("development", "PORT", "8080", "");
        self.add("production", "STRIPE_API_KEY", "sk_live_prod", "");
        self
    }

    /// An unlocked app whose clock is 12 days after the secrets were written.
    fn app(&self) -> App {
        let mut app = App::unlocked(self.vault(), "default", "development");
        app.clock = Clock::Fixed(chrono::Utc::now().timestamp() + 12 * 86_400);
        app.vault_path = PathBuf::from(SHOWN_PATH);
        app.load();
        app
    }
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn ctrl(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

fn typ(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Draws as the event loop does: the app hears of the size first. Every screen any
/// test draws is also checked for a key hint that names no bound key.
fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| ui::render(app, f)).expect("draw");
    let text = screen_text(&t);
    assert!(
        !text.contains(keymap::UNBOUND),
        "a view names a key that is not bound in its mode:\n{text}"
    );
    t
}

fn screen_text(t: &Terminal<TestBackend>) -> String {
    common::screen_text(t.backend().buffer())
}

fn stable(text: &str) -> String {
    let date = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").expect("regex");
    date.replace_all(text, "YYYY-MM-DD").into_owned()
}

fn assert_no_value(text: &str, name: &str) {
    for v in VALUES
        .iter()
        .chain(&["hunter2", "whsec", "ghp_x", "sk_live_prod", "BEGIN PRIVATE"])
    {
        assert!(
            !text.contains(v),
            "{name}: value {v:?} is on screen:\n{text}"
        );
    }
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{name}: control character drawn"
    );
}

/// Draws at both sizes, checks no value is visible, and snapshots.
fn snap(name: &str, app: &mut App) {
    for (w, h) in SIZES {
        let t = draw(app, w, h);
        let text = screen_text(&t);
        assert_no_value(&text, name);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), stable(&text));
    }
}

#[test]
fn create_screen() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = App::start(
        Places::none(),
        tmp.path().join("v.tresor"),
        "default".into(),
        "development".into(),
        None,
        Duration::from_secs(300),
    );
    app.vault_path = PathBuf::from(SHOWN_PATH);
    typ(&mut app, "TYPED_MUST_NOT_SHOW");
    snap("create", &mut app);
    ctrl(&mut app, 'k');
    let Screen::Create(s) = &mut app.screen else {
        panic!()
    };
    s.keyfile_path = tresor::tui::fields::plain_field("");
    s.keyfile_path
        .insert_str("/home/ada/.config/tresor/vault.key");
    snap("create_keyfile", &mut app);
}

#[test]
fn unlock_screen_with_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p.tresor");
    let cheap = KdfParams {
        passes: 1,
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        lanes: 1,
    };
    Vault::create(
        &path,
        NewCredential::Passphrase(SecretString::from("right horse"), cheap),
    )
    .unwrap();
    let mut app = App::start(
        Places::none(),
        path,
        "default".into(),
        "development".into(),
        None,
        Duration::from_secs(300),
    );
    let real = std::mem::replace(&mut app.vault_path, PathBuf::from(SHOWN_PATH));
    typ(&mut app, "wrong");
    press(&mut app, KeyCode::Enter);
    snap("unlocking", &mut app);
    app.vault_path = real;
    app.update(Action::SlowStep);
    app.vault_path = PathBuf::from(SHOWN_PATH);
    typ(&mut app, "TYPED_MUST_NOT_SHOW");
    snap("unlock_error", &mut app);
}

#[test]
fn unlock_screen_offers_the_remembered_keyfile() {
    let fx = Fixture::new();
    let state = tempfile::tempdir().unwrap();
    let places = Places {
        state_dir: Some(state.path().join("state")),
        config_dir: Some(state.path().join("config")),
    };
    let path = fx.tmp.path().join("v.tresor");
    places
        .remember_keyfile(&path, Path::new("/home/ada/.config/tresor/vault.key"))
        .unwrap();
    let mut app = App::start(
        places,
        path,
        "default".into(),
        "development".into(),
        None,
        Duration::from_secs(300),
    );
    app.vault_path = PathBuf::from(SHOWN_PATH);
    snap("unlock_keyfile", &mut app);
}

#[test]
fn table_empty() {
    let fx = Fixture::new();
    snap("table_empty", &mut fx.app());
}

#[test]
fn table_full_and_styles() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('j'));
    snap("table_full", &mut app);
    // The key column is bold and in the accent colour.
    let t = draw(&mut app, 120, 40);
    let buf = t.backend().buffer();
    let text = screen_text(&t);
    let row = text
        .lines()
        .position(|l| l.contains("DATABASE_URL"))
        .expect("row drawn") as u16;
    let col = text
        .lines()
        .nth(row as usize)
        .unwrap()
        .chars()
        .position(|c| c == 'D')
        .unwrap() as u16;
    let style = buf[(col, row)].style();
    assert!(style.add_modifier.contains(Modifier::BOLD), "{style:?}");
    assert_eq!(style.fg, Some(Color::Cyan));
    assert!(text.contains("12d"), "rotation hint shows the value's age");
    assert!(
        text.contains("e edit · d delete"),
        "actions on the selected row"
    );
    assert!(
        text.contains("\u{FFFD}[31m"),
        "control characters replaced with U+FFFD"
    );
}

#[test]
fn table_filtered() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('/'));
    typ(&mut app, "key");
    snap("table_filtering", &mut app);
    press(&mut app, KeyCode::Enter);
    snap("table_filtered", &mut app);
    press(&mut app, KeyCode::Char('/'));
    typ(&mut app, "zzz");
    snap("table_filter_no_match", &mut app);
}

#[test]
fn add_dialog() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('a'));
    snap("add_empty", &mut app);
    typ(&mut app, "stripe_key");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "TYPED_MUST_NOT_SHOW");
    snap("add_typed_lowercase_warning", &mut app);
    // Revealing shows it: proves the no-value check can fail.
    ctrl(&mut app, 'r');
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(
        text.contains("TYPED_MUST_NOT_SHOW"),
        "Ctrl-R reveals:\n{text}"
    );
    ctrl(&mut app, 'r');
    assert!(!screen_text(&draw(&mut app, 80, 24)).contains("TYPED_MUST_NOT_SHOW"));
}

#[test]
fn add_dialog_multi_line_value() {
    let fx = Fixture::new();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "TLS_KEY");
    press(&mut app, KeyCode::Tab);
    app.update(Action::Paste(
        "-----BEGIN PRIVATE KEY-----\nTYPED_MUST_NOT_SHOW\n-----END PRIVATE KEY-----".into(),
    ));
    snap("add_multi_line", &mut app);
}

#[test]
fn form_errors() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Enter);
    snap("add_required_errors", &mut app);
    typ(&mut app, "PORT");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "TYPED_MUST_NOT_SHOW");
    press(&mut app, KeyCode::Enter);
    snap("add_duplicate_error", &mut app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Enter);
    snap("edit_no_changes", &mut app);
}

#[test]
fn edit_dialog() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('e'));
    snap("edit", &mut app);
}

#[test]
fn delete_dialog() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('G'));
    press(&mut app, KeyCode::Char('d'));
    snap("delete_focus_cancel", &mut app);
    press(&mut app, KeyCode::Right);
    snap("delete_focus_delete", &mut app);
}

#[test]
fn help_overlay() {
    let fx = Fixture::new();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('?'));
    snap("help", &mut app);
}

/// The help overlay, scrolled from top to bottom, shows every binding of the key table
/// on a line with its keys and what it does (nothing cut off, no section lost), at the
/// sizes the page promises.
#[test]
fn help_overlay_shows_every_binding() {
    let fx = Fixture::new();
    for (w, h) in SIZES {
        let mut app = fx.app();
        press(&mut app, KeyCode::Char('?'));
        let mut seen: Vec<String> = Vec::new();
        // The popup's columns, inside its border.
        let width = (w - 4).min(84);
        let left = (w - width) / 2 + 1;
        for _ in 0..200 {
            let t = draw(&mut app, w, h);
            let buf = t.backend().buffer();
            for y in 0..h {
                let line: String = (left..left + width - 2)
                    .map(|x| buf[(x, y)].symbol())
                    .collect();
                let line = line.trim().to_string();
                if !seen.contains(&line) {
                    seen.push(line);
                }
            }
            press(&mut app, KeyCode::Char('j'));
        }
        let missing: Vec<String> = BINDINGS
            .iter()
            .filter(|bind| {
                let label = keymap::key_label(bind.code, bind.mods);
                !seen.iter().any(|line| {
                    line.split_once(bind.help).is_some_and(|(keys, rest)| {
                        rest.trim().is_empty() && keys.trim().split(" / ").any(|k| k == label)
                    })
                })
            })
            .map(|bind| format!("{:?}: {}", bind.mode, bind.help))
            .collect();
        assert!(
            missing.is_empty(),
            "{w}x{h}: the help does not show {missing:#?} in:\n{}",
            seen.join("\n")
        );
    }
}

/// Screens not drawn by the snapshot tests, where a hint names a key of another mode:
/// the form with its Type selector focused and a multi-line value shown.
#[test]
fn every_key_named_on_screen_is_bound() {
    let fx = Fixture::new();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "TLS_KEY");
    press(&mut app, KeyCode::Tab);
    app.update(Action::Paste("one\ntwo\nthree".into()));
    ctrl(&mut app, 'r');
    draw(&mut app, 80, 24);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.mode_kind(), keymap::ModeKind::FormChoice);
    draw(&mut app, 80, 24);
    ctrl(&mut app, 'g');
    draw(&mut app, 120, 40);
    // The check `draw` makes can fail: a hint for an action a mode does not bind.
    assert_eq!(
        keymap::hint(keymap::ModeKind::Browse, Action::Generate),
        keymap::UNBOUND
    );
}

#[test]
fn project_picker() {
    let fx = Fixture::new();
    fx.full();
    fx.vault().add_project("billing-api").unwrap();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('p'));
    snap("picker", &mut app);
    press(&mut app, KeyCode::Char('n'));
    typ(&mut app, "bad name");
    press(&mut app, KeyCode::Enter);
    snap("picker_new_error", &mut app);
}

#[test]
fn status_messages_and_tabs() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('y'));
    snap("deleted_status", &mut app);
}

#[test]
fn too_small() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    for (w, h) in [(59, 24), (80, 14), (20, 5), (1, 1)] {
        let text = screen_text(&draw(&mut app, w, h));
        if w >= 32 {
            assert!(
                text.contains("terminal too small (need 60x15)"),
                "{w}x{h}:\n{text}"
            );
        }
        assert!(!text.contains("STRIPE"), "nothing else drawn at {w}x{h}");
    }
    insta::assert_snapshot!("too_small_59x24", screen_text(&draw(&mut app, 59, 24)));
    // The minimum size draws the whole screen, a form included, without panicking.
    press(&mut app, KeyCode::Char('a'));
    insta::assert_snapshot!("add_at_minimum_60x15", screen_text(&draw(&mut app, 60, 15)));
}

#[test]
fn resizing_keeps_the_selection_visible() {
    let fx = Fixture::new();
    for i in 0..60 {
        fx.add("staging", &format!("KEY_{i:02}"), "x", "");
    }
    let mut app = fx.app();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('G'));
    for (w, h) in [(120, 40), (80, 24), (60, 15), (100, 30)] {
        let text = screen_text(&draw(&mut app, w, h));
        assert!(text.contains("KEY_59"), "{w}x{h}:\n{text}");
    }
    press(&mut app, KeyCode::Char('g'));
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(text.contains("KEY_00") && !text.contains("KEY_59"));
}

#[test]
fn help_scrolls_to_every_section_and_back() {
    let fx = Fixture::new();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('?'));
    for _ in 0..200 {
        press(&mut app, KeyCode::Char('j'));
    }
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(
        text.contains("Unlock") && text.contains("create the vault"),
        "{text}"
    );
    press(&mut app, KeyCode::Char('k'));
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(
        text.contains("create the vault"),
        "one step up from the end, not 200:\n{text}"
    );
    for _ in 0..200 {
        press(&mut app, KeyCode::Up);
    }
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(text.contains("Secrets table"), "{text}");
}

/// Every colour drawn anywhere on the screen.
fn colours(t: &Terminal<TestBackend>) -> Vec<Color> {
    let buf = t.backend().buffer();
    let mut out: Vec<Color> = Vec::new();
    for cell in buf.content() {
        for c in [cell.fg, cell.bg] {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// The cells of the first screen line containing `needle`, from where it starts.
fn style_at(t: &Terminal<TestBackend>, needle: &str) -> ratatui::style::Style {
    let text = screen_text(t);
    let (row, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not drawn:\n{text}"));
    let col = line[..line.find(needle).unwrap()].chars().count() as u16;
    t.backend().buffer()[(col, row as u16)].style()
}

#[test]
fn palette_follows_no_color_and_term() {
    use tresor::tui::ui::theme::Palette;
    let env = |no_color: Option<&str>, term: Option<&str>| {
        Palette::from_env(
            no_color.map(std::ffi::OsStr::new),
            term.map(std::ffi::OsStr::new),
        )
    };
    assert_eq!(env(None, Some("xterm-256color")), Palette::Full);
    assert_eq!(env(Some("1"), Some("xterm-256color")), Palette::NoColor);
    // no-color.org: an empty NO_COLOR is as if unset.
    assert_eq!(env(Some(""), Some("xterm-256color")), Palette::Full);
    assert_eq!(env(None, Some("linux")), Palette::Basic);
    assert_eq!(env(Some("1"), Some("linux")), Palette::NoColor);
}

#[test]
fn no_color_keeps_bold_and_reverse_so_the_tab_and_row_stay_visible() {
    use tresor::tui::ui::theme::{self, Palette};
    theme::set_palette(Palette::NoColor);
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('j'));
    let t = draw(&mut app, 120, 40);
    assert_eq!(colours(&t), [Color::Reset], "no colour at all");
    let tab = style_at(&t, "development (7)");
    assert!(
        tab.add_modifier.contains(Modifier::REVERSED),
        "active tab: {tab:?}"
    );
    let other = style_at(&t, "staging (0)");
    assert!(
        !other.add_modifier.contains(Modifier::REVERSED),
        "{other:?}"
    );
    let row = style_at(&t, "DATABASE_URL");
    assert!(
        row.add_modifier
            .contains(Modifier::REVERSED | Modifier::BOLD),
        "selected row: {row:?}"
    );
    let unselected = style_at(&t, "GITHUB_TOKEN");
    assert!(!unselected.add_modifier.contains(Modifier::REVERSED));
    // The form's focused button is reversed too.
    press(&mut app, KeyCode::Char('a'));
    for _ in 0..4 {
        press(&mut app, KeyCode::Tab);
    }
    let t = draw(&mut app, 80, 24);
    assert_eq!(colours(&t), [Color::Reset]);
    let button = style_at(&t, "[ Create Secret ]");
    assert!(
        button.add_modifier.contains(Modifier::REVERSED),
        "{button:?}"
    );
    theme::set_palette(Palette::Full);
}

#[test]
fn linux_console_gets_sixteen_colours_and_plain_borders() {
    use tresor::tui::ui::theme::{self, Palette};
    theme::set_palette(Palette::Basic);
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('j'));
    let t = draw(&mut app, 80, 24);
    let basic = |c: &Color| !matches!(c, Color::Indexed(_) | Color::Rgb(..));
    assert!(colours(&t).iter().all(basic), "{:?}", colours(&t));
    let row = style_at(&t, "DATABASE_URL");
    assert!(row.add_modifier.contains(Modifier::REVERSED), "{row:?}");
    press(&mut app, KeyCode::Char('a'));
    let t = draw(&mut app, 80, 24);
    assert!(colours(&t).iter().all(basic), "{:?}", colours(&t));
    let text = screen_text(&t);
    assert!(!text.contains('╭') && text.contains('┌'), "{text}");
    insta::assert_snapshot!("add_linux_console_80x24", stable(&text));
    theme::set_palette(Palette::Full);
}

#[test]
fn ctrl_r_shows_every_line_of_a_multi_line_value() {
    let fx = Fixture::new();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "TLS_KEY");
    press(&mut app, KeyCode::Tab);
    app.update(Action::Paste(
        "-----BEGIN PRIVATE KEY-----\nLINE_TWO\nLINE_THREE\n-----END PRIVATE KEY-----".into(),
    ));
    ctrl(&mut app, 'r');
    let text = screen_text(&draw(&mut app, 80, 24));
    for line in [
        "-----BEGIN PRIVATE KEY-----",
        "LINE_TWO",
        "LINE_THREE",
        "-----END PRIVATE KEY-----",
    ] {
        assert!(text.contains(line), "{line:?} not shown:\n{text}");
    }
    insta::assert_snapshot!("add_multi_line_revealed_80x24", stable(&text));
}

#[test]
fn a_long_revealed_value_scrolls_with_up_and_down() {
    let fx = Fixture::new();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "LONG");
    press(&mut app, KeyCode::Tab);
    let value: Vec<String> = (1..=20).map(|i| format!("ROW_{i:02}")).collect();
    app.update(Action::Paste(value.join("\n").into()));
    ctrl(&mut app, 'r');
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(
        text.contains("ROW_20") && !text.contains("ROW_01"),
        "{text}"
    );
    for _ in 0..19 {
        press(&mut app, KeyCode::Up);
    }
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(
        text.contains("ROW_01"),
        "scrolled to the first line:\n{text}"
    );
    let tresor::tui::app::Mode::Form(form) = &app.mode else {
        panic!("form closed")
    };
    assert_eq!(
        form.focus,
        tresor::tui::form::Field::Value,
        "Up stayed in the value"
    );
    press(&mut app, KeyCode::Up);
    let tresor::tui::app::Mode::Form(form) = &app.mode else {
        panic!("form closed")
    };
    assert_eq!(
        form.focus,
        tresor::tui::form::Field::Key,
        "past the first line: the field above"
    );
}

#[test]
fn ctrl_g_again_picks_the_next_charset_and_says_which() {
    let fx = Fixture::new();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "DB_PASSWORD");
    ctrl(&mut app, 'g');
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(
        text.contains("urlsafe · Ctrl-G: alnum · Ctrl-R show"),
        "{text}"
    );
    snap("add_generated", &mut app);
    for (next, after) in [("alnum", "symbols"), ("symbols", "hex"), ("hex", "urlsafe")] {
        ctrl(&mut app, 'g');
        let text = screen_text(&draw(&mut app, 80, 24));
        assert!(
            text.contains(&format!("{next} · Ctrl-G: {after} · Ctrl-R show")),
            "{text}"
        );
    }
    // Typing in the value starts over: the next Ctrl-G is the default again.
    typ(&mut app, "x");
    assert!(screen_text(&draw(&mut app, 80, 24)).contains("Ctrl-R show · Ctrl-G generate"));
}

#[test]
fn a_pasted_assignment_in_the_key_field_gets_a_whole_message() {
    let fx = Fixture::new();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('a'));
    app.update(Action::Paste(
        "DATABASE_URL=postgres://app:pw@db/app".into(),
    ));
    for (w, h) in SIZES {
        let text = screen_text(&draw(&mut app, w, h));
        let words: Vec<&str> = text.split_whitespace().filter(|w| *w != "│").collect();
        let flat = words.join(" ");
        assert!(
            flat.contains(
                "looks like KEY=value: the key is `DATABASE_URL`; the value goes separately"
            ),
            "{text}"
        );
    }
}

#[test]
fn the_project_picker_counts_one_in_the_singular() {
    let fx = Fixture::new();
    let vault = fx.vault();
    vault.add_project("solo").unwrap();
    for env in ["staging", "production"] {
        vault.remove_env("solo", env, true).unwrap();
    }
    let secret = NewSecret {
        key: "ONLY".into(),
        value: SecretValue::new(b"1".to_vec()),
        description: String::new(),
        kind: None,
    };
    vault.add("solo", "development", secret).unwrap();
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('p'));
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(text.contains("1 environment · 1 secret"), "{text}");
    assert!(
        !text.contains("1 environments") && !text.contains("1 secrets"),
        "{text}"
    );
}

#[test]
fn environment_add_and_remove_dialogs() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('+'));
    typ(&mut app, "pre view");
    press(&mut app, KeyCode::Enter);
    snap("env_new_error", &mut app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('-'));
    snap("env_remove", &mut app);
}

// ----- copy, reveal, history

/// `snap`, with what differs between runs and machines in the history popup (times,
/// user@host, keyed fingerprints) replaced.
fn snap_history(name: &str, app: &mut App) {
    let (user, host) = tresor::vault::audit::who();
    let who = format!("{user}@{host}");
    let time = regex::Regex::new(r"\b\d{2}:\d{2}\b").expect("regex");
    let fp = regex::Regex::new(r"\b[0-9a-f]{8}\b").expect("regex");
    for (w, h) in SIZES {
        let t = draw(app, w, h);
        let text = screen_text(&t);
        assert_no_value(&text, name);
        // The BY column is padded: keep each cell's width, whatever the real name's length.
        let by = regex::Regex::new(&format!("{} +", regex::escape(&who))).expect("regex");
        let text = by
            .replace_all(&stable(&text), |m: &regex::Captures| {
                format!("{:<w$}", "ada@host", w = m[0].len())
            })
            .into_owned();
        let text = time.replace_all(&text, "HH:MM").into_owned();
        let text = fp.replace_all(&text, "ffffffff").into_owned();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
    }
}

#[test]
fn reveal_popup_shows_every_line_safely() {
    let fx = Fixture::new();
    fx.full().add(
        "development",
        "AAA_REVEALED",
        "first line of the value\nsecond \u{1b}[31mred\u{7} 日本語 🔑\tend\nthird",
        "",
    );
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('v'));
    snap("reveal_popup", &mut app);
    let t = draw(&mut app, 80, 24);
    let text = screen_text(&t);
    assert!(text.contains("second ␛[31mred␇ 日本語 🔑    end"), "{text}");
    assert!(text.contains("hides in 10 s"), "{text}");
}

#[test]
fn reveal_popup_scrolls_a_long_value() {
    let fx = Fixture::new();
    let long: String = (1..=40).map(|i| format!("line {i}\n")).collect();
    fx.add("development", "LONG", &long, "");
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('v'));
    for _ in 0..10 {
        press(&mut app, KeyCode::Char('j'));
    }
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(
        text.contains("line 11 ") && !text.contains("line 10 "),
        "{text}"
    );
    assert!(text.contains("lines 11–28 of 41"), "{text}");
    press(&mut app, KeyCode::Char('k'));
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(text.contains("line 10 "), "{text}");
    // Past the end, the last page stays in view.
    for _ in 0..60 {
        press(&mut app, KeyCode::Char('j'));
    }
    let text = screen_text(&draw(&mut app, 80, 24));
    assert!(
        text.contains("line 40 ") && text.contains("of 41"),
        "{text}"
    );
}

#[test]
fn history_popup_and_rollback_question() {
    let fx = Fixture::new();
    fx.full();
    for value in ["sk_rotated_1", "sk_rotated_2"] {
        fx.vault()
            .edit(
                "default",
                "development",
                "ADMIN_PASSWORD",
                tresor::vault::SecretEdit {
                    value: Some(SecretValue::new(value.as_bytes().to_vec())),
                    ..Default::default()
                },
            )
            .expect("edit");
    }
    let mut app = fx.app();
    press(&mut app, KeyCode::Char('h'));
    snap_history("history_popup", &mut app);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('r'));
    snap_history("history_rollback_question", &mut app);
}

#[test]
fn copy_countdown_in_the_status_line() {
    let fx = Fixture::new();
    let mut app = fx.full().app();
    press(&mut app, KeyCode::Char('c'));
    app.effects.clear();
    snap("copy_countdown", &mut app);
}
