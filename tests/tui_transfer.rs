//! The copy popup (`C`) and the import popup (`i`) of the Secrets screen: driven through
//! the real key table against a temporary vault (what the vault holds before and after
//! the confirmation), and drawn on a `TestBackend` as insta snapshots that must never
//! show a value.

mod common;

use std::path::PathBuf;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use common::LibraryVault;
use tresor::tui::action::Action;
use tresor::tui::app::{App, Clock, Mode};
use tresor::tui::import::ImportState;
use tresor::tui::ui;
use tresor::vault::SecretType;
use tresor::vault::import_preview::PreviewStatus;

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
    fn new() -> Fixture {
        let lib = LibraryVault::new();
        Fixture { lib }
    }

    fn get(&self, env: &str, key: &str) -> Option<String> {
        let v = self.vault().get("default", env, key).ok()?;
        Some(String::from_utf8(v.to_vec()).expect("utf8"))
    }

    fn keys(&self, env: &str) -> Vec<String> {
        let list = self.vault().list("default", env).expect("list");
        list.into_iter().map(|s| s.key).collect()
    }

    /// An unlocked app, its clock fixed and its vault path shown the same in every run.
    fn app(&self) -> App {
        let mut app = App::unlocked(self.vault(), "default", "development");
        app.clock = Clock::Fixed(chrono::Utc::now().timestamp() + 12 * 86_400);
        app.vault_path = PathBuf::from("/home/ada/.local/share/tresor/vault.tresor");
        app.load();
        app
    }
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn status(app: &App) -> &str {
    app.status.as_ref().map_or("", |s| s.text.as_str())
}

fn import(app: &App) -> &ImportState {
    match &app.mode {
        Mode::Import(i) => i,
        _ => panic!("no import popup open"),
    }
}

/// `i`, a bracketed paste of `text`, Enter: the preview.
fn paste_and_preview(app: &mut App, text: &str) {
    press(app, KeyCode::Char('i'));
    assert!(matches!(app.mode, Mode::Import(_)));
    app.update(Action::Paste(text.into()));
    press(app, KeyCode::Enter);
    assert!(import(app).preview.is_some(), "{:?}", import(app).error);
}

/// The preview as (key, status) pairs.
fn preview(app: &App) -> Vec<(String, PreviewStatus)> {
    let p = import(app).preview.as_ref().expect("preview");
    p.lines
        .iter()
        .map(|l| (l.key.clone(), l.status.clone()))
        .collect()
}

// ----- drawing

const VALUES: &[&str] = &[
    "sk_live_MUST_NOT_SHOW",
    "PASTED_MUST_NOT_SHOW",
    "prod-MUST-NOT",
];

fn screen_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    let date = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").expect("regex");
    date.replace_all(&out, "YYYY-MM-DD").into_owned()
}

/// Draws at 80x24 and 120x40, checks that no value is on screen, and snapshots.
fn snap(name: &str, app: &mut App) {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| ui::render(app, f)).expect("draw");
        let text = screen_text(&t);
        for v in VALUES {
            assert!(
                !text.contains(v),
                "{name}: value {v:?} is on screen:\n{text}"
            );
        }
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
    }
}

// ----- copy

#[test]
fn copy_asks_then_copies_the_secret_with_its_description_and_type() {
    let f = Fixture::new();
    f.add(
        "development",
        "STRIPE_API_KEY",
        VALUES[0],
        "Stripe dashboard",
    );
    let mut app = f.app();
    press(&mut app, KeyCode::Char('C'));
    let Mode::Copy(state) = &app.mode else {
        panic!("no copy popup")
    };
    let targets: Vec<&str> = state.targets.iter().map(|t| t.env.as_str()).collect();
    assert_eq!(
        targets,
        ["staging", "production"],
        "every other environment"
    );
    assert_eq!(state.selected, 0);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(&app.mode, Mode::Copy(s) if s.confirming));
    assert!(f.keys("production").is_empty(), "nothing before the answer");
    press(&mut app, KeyCode::Char('y'));
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(status(&app), "Copied STRIPE_API_KEY to default/production");
    assert_eq!(
        f.get("production", "STRIPE_API_KEY").as_deref(),
        Some(VALUES[0])
    );
    let copied = f.vault().list("default", "production").expect("list");
    assert_eq!(copied[0].description, "Stripe dashboard");
    assert_eq!(copied[0].kind, SecretType::ApiKey);
    // The tab's count follows.
    let tab = app
        .envs
        .iter()
        .find(|e| e.name == "production")
        .expect("tab");
    assert_eq!(tab.secrets, 1);
}

#[test]
fn copy_names_a_target_that_has_the_key_and_replaces_it_only_when_confirmed() {
    let f = Fixture::new();
    f.add("development", "STRIPE_API_KEY", VALUES[0], "dev");
    f.add("staging", "STRIPE_API_KEY", VALUES[2], "staging's own");
    let mut app = f.app();
    press(&mut app, KeyCode::Char('C'));
    let Mode::Copy(state) = &app.mode else {
        panic!("no copy popup")
    };
    assert!(state.targets[0].exists && !state.targets[1].exists);
    assert_eq!(state.selected, 1, "starts on a target without the key");
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Enter);
    // n goes back to the list, Esc closes: nothing was copied.
    press(&mut app, KeyCode::Char('n'));
    assert!(matches!(&app.mode, Mode::Copy(s) if !s.confirming));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(
        f.get("staging", "STRIPE_API_KEY").as_deref(),
        Some(VALUES[2])
    );

    press(&mut app, KeyCode::Char('C'));
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert_eq!(status(&app), "Replaced STRIPE_API_KEY in default/staging");
    assert_eq!(
        f.get("staging", "STRIPE_API_KEY").as_deref(),
        Some(VALUES[0])
    );
}

#[test]
fn copy_with_no_row_selected_does_nothing() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, KeyCode::Char('C'));
    assert!(matches!(app.mode, Mode::Browse));
}

#[test]
fn copy_popup_snapshots() {
    let f = Fixture::new();
    f.add(
        "development",
        "STRIPE_API_KEY",
        VALUES[0],
        "Stripe dashboard",
    );
    f.add("staging", "STRIPE_API_KEY", VALUES[2], "");
    f.vault().add_env("billing", "production").expect("env");
    let mut app = f.app();
    press(&mut app, KeyCode::Char('C'));
    snap("copy_pick", &mut app);
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Enter);
    snap("copy_confirm_replaces", &mut app);
}

// ----- import

#[test]
fn import_writes_nothing_before_the_confirmation() {
    let f = Fixture::new();
    let mut app = f.app();
    paste_and_preview(
        &mut app,
        "export API_TOKEN=\"PASTED_MUST_NOT_SHOW\"\r\nPORT=8080\r\n",
    );
    assert_eq!(
        preview(&app),
        [
            ("API_TOKEN".to_string(), PreviewStatus::New),
            ("PORT".to_string(), PreviewStatus::New)
        ]
    );
    assert!(
        f.keys("development").is_empty(),
        "the preview wrote something"
    );
    // Back to the text, and closed: still nothing.
    press(&mut app, KeyCode::Esc);
    assert!(import(&app).preview.is_none());
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Browse));
    assert!(f.keys("development").is_empty());

    paste_and_preview(&mut app, "API_TOKEN='PASTED_MUST_NOT_SHOW'\nPORT=8080\n");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(
        status(&app),
        "Imported 2 new and 0 updated into default/development"
    );
    assert_eq!(
        f.get("development", "API_TOKEN").as_deref(),
        Some(VALUES[1])
    );
    assert_eq!(f.keys("development"), ["API_TOKEN", "PORT"]);
}

#[test]
fn import_preview_tells_new_changed_and_unchanged_apart_and_overwrite_is_a_choice() {
    let f = Fixture::new();
    f.add("development", "SAME", "same-value", "");
    f.add("development", "OTHER", "old-value", "kept description");
    let age = |key: &str| {
        let list = f.vault().list("default", "development").expect("list");
        list.into_iter()
            .find(|s| s.key == key)
            .map(|s| s.value_changed)
    };
    let same_age = age("SAME");
    let mut app = f.app();
    let block = "SAME=same-value\nOTHER=new-value\nFRESH=x\nNOTHING=\n";
    paste_and_preview(&mut app, block);
    assert_eq!(
        preview(&app),
        [
            ("SAME".to_string(), PreviewStatus::Unchanged),
            ("OTHER".to_string(), PreviewStatus::Changed),
            ("FRESH".to_string(), PreviewStatus::New),
            ("NOTHING".to_string(), PreviewStatus::Empty),
        ]
    );
    // Overwrite off (the default): the changed value stays.
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        status(&app),
        "Imported 1 new and 0 updated into default/development; 1 unchanged; kept 1 changed value (o replaces them); skipped 1 empty value"
    );
    assert_eq!(f.get("development", "OTHER").as_deref(), Some("old-value"));
    assert_eq!(f.get("development", "FRESH").as_deref(), Some("x"));
    assert_eq!(f.get("development", "NOTHING"), None);

    // With o: replaced, its description kept; the unchanged one keeps its age.
    paste_and_preview(&mut app, block);
    press(&mut app, KeyCode::Char('o'));
    assert!(import(&app).overwrite);
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(f.get("development", "OTHER").as_deref(), Some("new-value"));
    let list = f.vault().list("default", "development").expect("list");
    let other = list.iter().find(|s| s.key == "OTHER").expect("OTHER");
    assert_eq!(other.description, "kept description");
    assert_eq!(age("SAME"), same_age);
}

#[test]
fn invalid_lines_are_reported_with_the_pages_messages_and_block_the_import() {
    let f = Fixture::new();
    let mut app = f.app();
    paste_and_preview(
        &mut app,
        "GOOD=1\nmy-key=2\n1ST=3\nthis is not an assignment\nlower_case=4\n",
    );
    let lines = preview(&app);
    assert_eq!(lines[0], ("GOOD".into(), PreviewStatus::New));
    let PreviewStatus::Invalid(why) = &lines[1].1 else {
        panic!("{lines:?}")
    };
    assert!(why.starts_with("invalid secret key `my-key`"), "{why}");
    assert!(
        matches!(&lines[2].1, PreviewStatus::Invalid(w) if w.contains("`1ST`")),
        "{lines:?}"
    );
    assert!(
        matches!(&lines[3], (k, PreviewStatus::Invalid(_)) if k.is_empty()),
        "{lines:?}"
    );
    // Lowercase is the page's warning, not an error.
    let p = import(&app).preview.as_ref().expect("preview");
    assert_eq!(p.lines[4].status, PreviewStatus::New);
    assert!(p.lines[4].warning.is_some());

    press(&mut app, KeyCode::Enter);
    assert_eq!(
        import(&app).error.as_deref(),
        Some("3 lines cannot be imported: nothing was written; Esc to fix the text")
    );
    assert!(f.keys("development").is_empty());
}

#[test]
fn the_pasted_text_is_masked_until_shown_and_enter_on_nothing_says_so() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, KeyCode::Char('i'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        import(&app).error.as_deref(),
        Some("paste a .env block first")
    );
    app.update(Action::Paste("TOKEN=PASTED_MUST_NOT_SHOW\n".into()));
    assert_eq!(import(&app).text.mask_char(), Some('•'));
    app.handle_key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL));
    assert_eq!(import(&app).text.mask_char(), None);
    // Typing goes into the text too; Tab never does.
    press(&mut app, KeyCode::Tab);
    for c in "X=1".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert_eq!(
        import(&app).text.lines(),
        ["TOKEN=PASTED_MUST_NOT_SHOW", "X=1"]
    );
}

#[test]
fn import_popup_snapshots() {
    let f = Fixture::new();
    f.add("development", "STRIPE_API_KEY", VALUES[0], "");
    f.add("development", "PORT", "8080", "");
    let mut app = f.app();
    press(&mut app, KeyCode::Char('i'));
    snap("import_empty", &mut app);
    app.update(Action::Paste(
        "# pasted from the team wiki\nSTRIPE_API_KEY=PASTED_MUST_NOT_SHOW\nPORT=8080\nSENTRY_DSN=\"https://PASTED_MUST_NOT_SHOW@o1.ingest/1\"\nbad-key=1\nEMPTY=\ndatabase_url=PASTED_MUST_NOT_SHOW\n"
            .into(),
    ));
    snap("import_text_masked", &mut app);
    press(&mut app, KeyCode::Enter);
    snap("import_preview", &mut app);
    press(&mut app, KeyCode::Char('o'));
    press(&mut app, KeyCode::Enter);
    snap("import_preview_refused", &mut app);
}
