//! The TUI's update function, driven the way a user drives it: key events through the
//! real key table, against a real temporary vault. Each test asserts what the user
//! would see change (mode, rows, messages) and what the vault then holds.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use secrecy::SecretString;
use tempfile::TempDir;

use tresor::tui::action::Action;
use tresor::tui::app::{App, ConfirmFocus, Mode, Screen};
use tresor::tui::form::{Field, SecretForm};
use tresor::tui::places::Places;
use tresor::tui::rows::SortKey;
use tresor::tui::unlock::UnlockState;
use tresor::vault::crypto::KdfParams;
use tresor::vault::{Credential, NewCredential, NewSecret, SecretType, SecretValue, Vault};

struct Fixture {
    tmp: TempDir,
}

impl Fixture {
    fn new() -> (Fixture, App) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let vault = Vault::create(
            &tmp.path().join("v.tresor"),
            NewCredential::Keyfile(tmp.path().join("k")),
        )
        .expect("create vault");
        let app = App::unlocked(vault, "default", "development");
        (Fixture { tmp }, app)
    }

    fn path(&self) -> PathBuf {
        self.tmp.path().join("v.tresor")
    }

    fn keyfile(&self) -> PathBuf {
        self.tmp.path().join("k")
    }

    /// A second handle, as `tresor` in another terminal would have.
    fn vault(&self) -> Vault {
        Vault::unlock(&self.path(), &Credential::Keyfile(self.keyfile())).expect("unlock")
    }

    fn add(&self, env: &str, key: &str, value: &str, description: &str) {
        self.vault()
            .add(
                "default",
                env,
                NewSecret {
                    key: key.into(),
                    value: SecretValue::new(value.as_bytes().to_vec()),
                    description: description.into(),
                    kind: None,
                },
            )
            .expect("add");
    }

    fn get(&self, key: &str) -> String {
        let v = self
            .vault()
            .get("default", "development", key)
            .expect("get");
        String::from_utf8(v.to_vec()).expect("utf8")
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

fn form(app: &App) -> &SecretForm {
    match &app.mode {
        Mode::Form(f) => f,
        _ => panic!("no form open"),
    }
}

fn keys(app: &App) -> Vec<&str> {
    app.visible
        .iter()
        .map(|&i| app.rows[i].key.as_str())
        .collect()
}

fn status(app: &App) -> &str {
    app.status.as_ref().map_or("", |s| s.text.as_str())
}

fn add_via_form(app: &mut App, key: &str, value: &str) {
    press(app, KeyCode::Char('a'));
    typ(app, key);
    press(app, KeyCode::Tab);
    typ(app, value);
    press(app, KeyCode::Enter);
}

/// The app as `tresor` starts it on `path`, project default/development, 5-minute lock,
/// remembering nothing.
fn start(path: PathBuf, credential: Option<Credential>) -> App {
    App::start(
        Places::none(),
        path,
        "default".into(),
        "development".into(),
        credential,
        Duration::from_secs(300),
    )
}

#[test]
fn add_creates_the_secret_and_closes_the_form() {
    let (fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(form(&app).focus, Field::Key);
    typ(&mut app, "STRIPE_API_KEY");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "sk_live_x");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "from the Stripe dashboard");
    assert_eq!(
        form(&app).secret_type,
        SecretType::ApiKey,
        "type detected from the key"
    );
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(keys(&app), ["STRIPE_API_KEY"]);
    assert_eq!(status(&app), "Created secret STRIPE_API_KEY");
    assert_eq!(fx.get("STRIPE_API_KEY"), "sk_live_x");
    let info = &fx.vault().list("default", "development").unwrap()[0];
    assert_eq!(info.description, "from the Stripe dashboard");
    assert_eq!(info.kind, SecretType::ApiKey);
    assert_eq!(app.envs[0].secrets, 1, "the tab count follows");
}

#[test]
fn duplicate_key_keeps_the_form_open_with_the_text_typed() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "DB_URL", "postgres://a", "");
    app.load();
    add_via_form(&mut app, "DB_URL", "postgres://b");
    let f = form(&app);
    let err = f.key_error.as_deref().unwrap_or("");
    assert!(err.contains("`DB_URL` already exists"), "{err}");
    assert_eq!(f.key_text(), "DB_URL");
    assert_eq!(&f.value_bytes()[..], b"postgres://b");
    assert_eq!(fx.get("DB_URL"), "postgres://a", "nothing overwritten");
}

#[test]
fn empty_key_and_value_get_the_verbatim_messages() {
    let (_fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        form(&app).key_error.as_deref(),
        Some("Secret key is required")
    );
    assert_eq!(
        form(&app).value_error.as_deref(),
        Some("Secret value is required")
    );
    typ(&mut app, "TOKEN");
    press(&mut app, KeyCode::Enter);
    assert_eq!(form(&app).key_error, None);
    assert_eq!(
        form(&app).value_error.as_deref(),
        Some("Secret value is required")
    );
    assert_eq!(
        form(&app).focus,
        Field::Value,
        "focus goes where the problem is"
    );
}

#[test]
fn key_is_validated_while_typing() {
    let (_fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "api_key");
    assert_eq!(form(&app).key_error, None, "lowercase is allowed");
    let warning = form(&app).key_warning.clone().unwrap_or_default();
    assert!(warning.contains("`API_KEY`"), "{warning}");
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    typ(&mut app, "-KEY");
    let err = form(&app).key_error.clone().unwrap_or_default();
    assert!(err.contains("`-`"), "names the bad character: {err}");
}

#[test]
fn edit_with_an_empty_value_keeps_the_old_one() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "DB_PASSWORD", "hunter2", "old note");
    app.load();
    press(&mut app, KeyCode::Char('e'));
    let f = form(&app);
    assert!(f.is_edit());
    assert_eq!(f.focus, Field::Value, "the key is not focusable");
    assert!(f.value_is_empty(), "the current value is never loaded");
    assert_eq!(f.description_text(), "old note");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, " (rotated yearly)");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Browse), "{}", status(&app));
    assert_eq!(fx.get("DB_PASSWORD"), "hunter2");
    let info = &fx.vault().list("default", "development").unwrap()[0];
    assert_eq!(info.description, "old note (rotated yearly)");
    assert_eq!(status(&app), "Updated secret DB_PASSWORD");
}

#[test]
fn edit_with_a_new_value_replaces_it_and_enter_opens_edit() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "DB_PASSWORD", "hunter2", "");
    app.load();
    press(&mut app, KeyCode::Enter);
    typ(&mut app, "correct-horse");
    press(&mut app, KeyCode::Enter);
    assert_eq!(fx.get("DB_PASSWORD"), "correct-horse");
}

#[test]
fn edit_without_changes_says_so() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "A", "1", "same");
    app.load();
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(form(&app).error.as_deref(), Some("No changes to save"));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Browse));
}

#[test]
fn edit_cycles_the_type() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "PORT", "8080", "");
    app.load();
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(form(&app).focus, Field::Type);
    press(&mut app, KeyCode::Left);
    assert_eq!(form(&app).secret_type, SecretType::Credential);
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        fx.vault().list("default", "development").unwrap()[0].kind,
        SecretType::Credential
    );
    assert_eq!(fx.get("PORT"), "8080");
}

#[test]
fn delete_asks_first_with_focus_on_cancel() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "OLD_TOKEN", "x", "");
    app.load();
    press(&mut app, KeyCode::Char('d'));
    assert!(
        matches!(&app.mode, Mode::Confirm { key, focus: ConfirmFocus::Cancel } if key == "OLD_TOKEN")
    );
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(keys(&app), ["OLD_TOKEN"], "Enter on Cancel keeps it");
    press(&mut app, KeyCode::Delete);
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(keys(&app), ["OLD_TOKEN"]);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(keys(&app), ["OLD_TOKEN"]);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Right);
    assert!(matches!(
        app.mode,
        Mode::Confirm {
            focus: ConfirmFocus::Delete,
            ..
        }
    ));
    press(&mut app, KeyCode::Tab);
    assert!(matches!(
        app.mode,
        Mode::Confirm {
            focus: ConfirmFocus::Cancel,
            ..
        }
    ));
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Enter);
    assert!(keys(&app).is_empty());
    assert_eq!(status(&app), "Deleted secret OLD_TOKEN");
    assert!(
        fx.vault()
            .list("default", "development")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn y_deletes_at_once() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "A", "1", "");
    fx.add("development", "B", "2", "");
    app.load();
    press(&mut app, KeyCode::Char('G'));
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(keys(&app), ["A"]);
    assert_eq!(app.selected, 0, "selection clamped after the last row went");
}

#[test]
fn filter_narrows_and_clamps_the_selection() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "AWS_ACCESS_KEY_ID", "1", "");
    fx.add("development", "AWS_SECRET_ACCESS_KEY", "2", "");
    fx.add(
        "development",
        "STRIPE_KEY",
        "3",
        "billing, from AWS marketplace",
    );
    fx.add("development", "ZED", "4", "");
    app.load();
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.selected, 3);
    press(&mut app, KeyCode::Char('/'));
    typ(&mut app, "aws");
    assert_eq!(
        keys(&app),
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "STRIPE_KEY"]
    );
    typ(&mut app, "_s");
    assert_eq!(keys(&app), ["AWS_SECRET_ACCESS_KEY"]);
    assert_eq!(app.selected, 0, "clamped to the one row left");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(keys(&app).len(), 1, "Enter keeps the filter");
    press(&mut app, KeyCode::Char('/'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(keys(&app).len(), 4, "Esc clears it");
    assert_eq!(app.filter_text(), "");
}

#[test]
fn filter_matches_description_case_insensitively() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "A", "1", "Ask the Ops team");
    fx.add("development", "B", "2", "");
    app.load();
    press(&mut app, KeyCode::Char('/'));
    typ(&mut app, "OPS");
    assert_eq!(keys(&app), ["A"]);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert_eq!(keys(&app).len(), 2, "Esc in the table clears a kept filter");
}

#[test]
fn tab_switches_environment() {
    let (fx, mut app) = Fixture::new();
    fx.add("staging", "S1", "x", "");
    fx.add("production", "P1", "x", "");
    fx.add("production", "P2", "x", "");
    app.load();
    let tabs: Vec<(&str, usize)> = app
        .envs
        .iter()
        .map(|e| (e.name.as_str(), e.secrets))
        .collect();
    assert_eq!(
        tabs,
        [("development", 0), ("staging", 1), ("production", 2)]
    );
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.env, "staging");
    assert_eq!(keys(&app), ["S1"]);
    app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.env, "production");
    assert_eq!(keys(&app), ["P1", "P2"]);
    add_via_form(&mut app, "P3", "x");
    assert_eq!(
        fx.vault().list("default", "production").unwrap().len(),
        3,
        "adds go to the open environment"
    );
}

#[test]
fn s_cycles_the_sort() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "B_TOKEN", "x", "");
    fx.add("development", "A_PASSWORD", "x", "");
    fx.add("development", "C_API_KEY", "x", "");
    app.load();
    assert_eq!(keys(&app), ["A_PASSWORD", "B_TOKEN", "C_API_KEY"]);
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Type);
    assert_eq!(keys(&app), ["C_API_KEY", "A_PASSWORD", "B_TOKEN"]);
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Created);
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortKey::Key);
}

#[test]
fn movement_keys() {
    let (fx, mut app) = Fixture::new();
    for i in 0..30 {
        fx.add("development", &format!("K{i:02}"), "x", "");
    }
    app.load();
    app.page = 10;
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected, 2);
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.selected, 1);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.selected, 11);
    press(&mut app, KeyCode::End);
    assert_eq!(app.selected, 29);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected, 29, "stays on the last row");
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.selected, 19);
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.selected, 0);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.selected, 0);
}

#[test]
fn project_picker_creates_and_opens_a_project() {
    let (fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('p'));
    let Mode::ProjectPicker(p) = &app.mode else {
        panic!("picker not open")
    };
    assert_eq!(
        p.projects
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["default"]
    );
    press(&mut app, KeyCode::Char('n'));
    typ(&mut app, "bad name");
    press(&mut app, KeyCode::Enter);
    let Mode::ProjectPicker(p) = &app.mode else {
        panic!("picker closed")
    };
    assert!(
        p.error
            .as_deref()
            .unwrap_or("")
            .contains("a space is not allowed"),
        "{:?}",
        p.error
    );
    for _ in 0..8 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "billing");
    press(&mut app, KeyCode::Enter);
    let Mode::ProjectPicker(p) = &app.mode else {
        panic!("picker closed")
    };
    assert!(p.new_name.is_none());
    assert_eq!(p.projects[p.selected].name, "billing");
    assert!(fx.vault().projects().unwrap().contains_key("billing"));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(app.project, "billing");
    assert_eq!(app.env, "development");
    add_via_form(&mut app, "BILLING_KEY", "x");
    assert_eq!(fx.vault().list("billing", "development").unwrap().len(), 1);
}

#[test]
fn auto_lock_drops_the_keys_and_shows_the_unlock_screen() {
    let (_fx, mut app) = Fixture::new();
    app.keyfile = Some(_fx.keyfile());
    app.auto_lock = Duration::from_secs(300);
    press(&mut app, KeyCode::Char('/'));
    typ(&mut app, "abc");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "HALF_TYPED");
    app.update(Action::Tick(Instant::now() + Duration::from_secs(299)));
    assert!(app.vault.is_some(), "not yet");
    app.update(Action::Tick(Instant::now() + Duration::from_secs(301)));
    assert!(app.vault.is_none(), "keys dropped");
    assert!(matches!(app.screen, Screen::Unlock(_)));
    assert!(matches!(app.mode, Mode::Browse), "form closed");
    assert_eq!(app.filter_text(), "");
    assert!(app.rows.is_empty());
    assert!(status(&app).contains("locked after 5 min"));
    // The unlock screen offers the keyfile that was in use: Enter unlocks.
    press(&mut app, KeyCode::Enter);
    assert!(app.has_pending(), "an Unlocking… frame comes first");
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets));
    assert!(app.vault.is_some());
}

#[test]
fn auto_lock_keeps_a_half_filled_form_without_its_value() {
    let (fx, mut app) = Fixture::new();
    app.keyfile = Some(fx.keyfile());
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "STRIPE_API_KEY");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "sk_live_half_typed");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "from the dashboard");
    app.update(Action::Tick(Instant::now() + Duration::from_secs(301)));
    assert!(app.vault.is_none(), "locked");
    assert!(
        matches!(app.mode, Mode::Browse),
        "nothing drawn over the unlock screen"
    );
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets));
    let f = form(&app);
    assert_eq!(f.key_text(), "STRIPE_API_KEY", "the key typed is kept");
    assert_eq!(f.description_text(), "from the dashboard");
    assert!(f.value_is_empty(), "the value is never kept while locked");
    assert_eq!(f.focus, Field::Value, "ready to type the value again");
    assert_eq!(
        status(&app),
        "your unsaved form was kept; the value was cleared"
    );
    typ(&mut app, "sk_live_again");
    press(&mut app, KeyCode::Enter);
    assert_eq!(fx.get("STRIPE_API_KEY"), "sk_live_again");
}

#[test]
fn auto_lock_with_an_untouched_form_keeps_nothing() {
    let (fx, mut app) = Fixture::new();
    app.keyfile = Some(fx.keyfile());
    press(&mut app, KeyCode::Char('a'));
    app.update(Action::Tick(Instant::now() + Duration::from_secs(301)));
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(status(&app), "");
}

fn passphrase_vault(dir: &Path) -> PathBuf {
    let path = dir.join("p.tresor");
    let cheap = KdfParams {
        passes: 1,
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        lanes: 1,
    };
    Vault::create(
        &path,
        NewCredential::Passphrase(SecretString::from("right horse"), cheap),
    )
    .expect("create");
    path
}

#[test]
fn unlock_screen_wrong_then_right_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let path = passphrase_vault(tmp.path());
    let mut app = start(path, None);
    assert!(matches!(app.screen, Screen::Unlock(_)));
    typ(&mut app, "wrong");
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    let Screen::Unlock(s) = &app.screen else {
        panic!("left the unlock screen")
    };
    assert!(
        s.error
            .as_deref()
            .unwrap_or("")
            .contains("wrong passphrase"),
        "{:?}",
        s.error
    );
    assert!(s.passphrase.is_empty(), "the field is wiped after a try");
    typ(&mut app, "right horse");
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets));
    assert_eq!(app.envs.len(), 3);
}

#[test]
fn esc_and_ctrl_c_quit_the_unlock_screen() {
    let tmp = tempfile::tempdir().unwrap();
    let path = passphrase_vault(tmp.path());
    let mut app = start(path.clone(), None);
    press(&mut app, KeyCode::Esc);
    assert!(app.should_quit);
    let mut app = start(path, None);
    ctrl(&mut app, 'c');
    assert!(app.should_quit);
}

#[test]
fn preset_credential_unlocks_after_one_frame() {
    let (fx, _app) = Fixture::new();
    let mut app = start(fx.path(), Some(Credential::Keyfile(fx.keyfile())));
    assert!(app.has_pending());
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets));
}

/// The user's state and config folders, inside a test's temporary folder.
fn places(dir: &Path) -> Places {
    Places {
        state_dir: Some(dir.join("state/tresor")),
        config_dir: Some(dir.join("config/tresor")),
    }
}

fn start_in(dir: &Path, path: PathBuf, credential: Option<Credential>) -> App {
    App::start(
        places(dir),
        path,
        "default".into(),
        "development".into(),
        credential,
        Duration::from_secs(300),
    )
}

fn unlock_state(app: &App) -> &UnlockState {
    match &app.screen {
        Screen::Unlock(s) => s,
        _ => panic!("not on the unlock screen"),
    }
}

#[test]
fn create_screen_with_a_keyfile() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("new.tresor");
    let mut app = start_in(tmp.path(), path.clone(), None);
    assert!(matches!(app.screen, Screen::Create(_)));
    ctrl(&mut app, 'k');
    let Screen::Create(s) = &app.screen else {
        panic!()
    };
    assert!(s.use_keyfile);
    let keyfile = tmp.path().join("config/tresor/new.key");
    assert_eq!(
        s.keyfile_path(),
        keyfile,
        "the default is in the config folder, not beside the vault"
    );
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets), "created and open");
    assert!(
        status(&app).contains(&keyfile.display().to_string()),
        "{}",
        status(&app)
    );
    assert!(path.exists());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&keyfile), 0o600);
    assert_eq!(mode(&tmp.path().join("config/tresor")), 0o700);
    assert!(Vault::unlock(&path, &Credential::Keyfile(keyfile)).is_ok());
}

#[test]
fn a_vault_created_with_a_keyfile_opens_again_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("new.tresor");
    let mut app = start_in(tmp.path(), path.clone(), None);
    ctrl(&mut app, 'k');
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets));
    drop(app);

    // The next start offers the keyfile, prefilled: Enter unlocks.
    let mut app = start_in(tmp.path(), path.clone(), None);
    let s = unlock_state(&app);
    assert!(s.use_keyfile, "the unlock screen offers the keyfile");
    assert_eq!(s.keyfile_path(), tmp.path().join("config/tresor/new.key"));
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    assert!(
        matches!(app.screen, Screen::Secrets),
        "unlocked with the remembered keyfile"
    );

    // Only the path is kept, in a private file under the state folder.
    let state = tmp.path().join("state/tresor/keyfiles.json");
    let text = std::fs::read_to_string(&state).unwrap();
    let key = std::fs::read_to_string(tmp.path().join("config/tresor/new.key")).unwrap();
    let hex = key.trim().rsplit(':').next().unwrap();
    assert!(!text.contains(hex), "the key itself is never remembered");
    assert!(text.contains("new.key"), "{text}");
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn unlock_screen_ctrl_k_takes_a_keyfile_path_and_remembers_it() {
    let (fx, _app) = Fixture::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut app = start_in(tmp.path(), fx.path(), None);
    assert!(
        !unlock_state(&app).use_keyfile,
        "nothing remembered: passphrase first"
    );
    ctrl(&mut app, 'k');
    assert!(unlock_state(&app).use_keyfile);
    // A wrong keyfile: the one generic message, the path stays for correcting.
    typ(
        &mut app,
        &tmp.path().join("missing.key").display().to_string(),
    );
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    let s = unlock_state(&app);
    assert!(
        s.error.as_deref().unwrap_or("").contains("missing.key"),
        "{:?}",
        s.error
    );
    assert!(s.use_keyfile);
    for _ in 0..200 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, &fx.keyfile().display().to_string());
    press(&mut app, KeyCode::Enter);
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets));
    let again = start_in(tmp.path(), fx.path(), None);
    assert_eq!(unlock_state(&again).keyfile_path(), fx.keyfile());
    assert!(unlock_state(&again).use_keyfile);
}

#[test]
fn a_keyfile_given_at_start_is_remembered() {
    let (fx, _app) = Fixture::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut app = start_in(
        tmp.path(),
        fx.path(),
        Some(Credential::Keyfile(fx.keyfile())),
    );
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets));
    let again = start_in(tmp.path(), fx.path(), None);
    assert!(unlock_state(&again).use_keyfile);
    assert_eq!(unlock_state(&again).keyfile_path(), fx.keyfile());
    // Ctrl-K goes back to the passphrase.
    let mut again = again;
    ctrl(&mut again, 'k');
    assert!(!unlock_state(&again).use_keyfile);
}

#[test]
fn create_screen_passphrases_must_match() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("new.tresor");
    let mut app = start(path.clone(), None);
    press(&mut app, KeyCode::Enter);
    let Screen::Create(s) = &app.screen else {
        panic!()
    };
    assert_eq!(s.error.as_deref(), Some("passphrase is empty"));
    typ(&mut app, "one two six");
    let Screen::Create(s) = &app.screen else {
        panic!()
    };
    assert_eq!(s.strength().map(|s| s.label()), Some("fair"));
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "one two ten");
    press(&mut app, KeyCode::Enter);
    let Screen::Create(s) = &app.screen else {
        panic!()
    };
    assert_eq!(s.error.as_deref(), Some("passphrases do not match"));
    assert!(!app.has_pending());
    assert!(!path.exists());
}

/// The same rule as `tresor init`: at least 8 characters.
#[test]
fn create_screen_refuses_a_short_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("new.tresor");
    let mut app = start(path.clone(), None);
    typ(&mut app, "hunter2");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "hunter2");
    press(&mut app, KeyCode::Enter);
    let Screen::Create(s) = &app.screen else {
        panic!()
    };
    assert_eq!(
        s.error.as_deref(),
        Some("passphrase is too short (7 characters, at least 8); a few random words are best")
    );
    assert!(!app.has_pending());
    assert!(!path.exists());
}

#[test]
fn paste_keeps_newlines_in_the_value_only() {
    let (fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    app.update(Action::Paste("TLS_\r\nKEY".into()));
    assert_eq!(
        form(&app).key_text(),
        "TLS_KEY",
        "newlines stripped from the key"
    );
    press(&mut app, KeyCode::Tab);
    let pem = "-----BEGIN PRIVATE KEY-----\r\nMIIB\rabc\n-----END PRIVATE KEY-----\n";
    app.update(Action::Paste(pem.into()));
    assert_eq!(
        &form(&app).value_bytes()[..],
        b"-----BEGIN PRIVATE KEY-----\nMIIB\nabc\n-----END PRIVATE KEY-----\n"
    );
    assert_eq!(form(&app).secret_type, SecretType::Certificate);
    press(&mut app, KeyCode::Enter);
    let v = fx.vault().get("default", "development", "TLS_KEY").unwrap();
    assert_eq!(
        &v[..],
        b"-----BEGIN PRIVATE KEY-----\nMIIB\nabc\n-----END PRIVATE KEY-----\n"
    );
}

#[test]
fn enter_and_ctrl_m_j_never_insert_a_newline() {
    let (_fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "ab");
    ctrl(&mut app, 'm');
    ctrl(&mut app, 'j');
    typ(&mut app, "cd");
    assert_eq!(&form(&app).value_bytes()[..], b"abcd");
    assert_eq!(form(&app).value_line_count(), 1);
}

#[test]
fn ctrl_g_generates_32_characters_and_ctrl_r_reveals() {
    let (_fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    ctrl(&mut app, 'g');
    let first = form(&app).value_bytes().to_vec();
    assert_eq!(first.len(), 32);
    assert!(
        first
            .iter()
            .all(|b| tresor::vault::generate::ALPHABET.contains(b))
    );
    ctrl(&mut app, 'g');
    assert_ne!(
        form(&app).value_bytes().to_vec(),
        first,
        "a fresh value each time, replacing the old"
    );
    assert_eq!(form(&app).value_bytes().len(), 32);
    assert!(!form(&app).revealed);
    ctrl(&mut app, 'r');
    assert!(form(&app).revealed);
    ctrl(&mut app, 'r');
    assert!(!form(&app).revealed);
}

#[test]
fn ctrl_c_quits_from_a_form() {
    let (_fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    ctrl(&mut app, 'c');
    assert!(app.should_quit);
}

#[test]
fn q_quits_and_help_opens_and_closes() {
    let (_fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('?'));
    assert!(matches!(app.mode, Mode::Help { .. }));
    press(&mut app, KeyCode::Char('q'));
    assert!(matches!(app.mode, Mode::Browse), "q closes help first");
    assert!(!app.should_quit);
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit);
}

#[test]
fn changes_from_another_process_show_up_when_idle() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "FROM_CLI", "x", "");
    assert!(keys(&app).is_empty());
    app.update(Action::Tick(Instant::now() + Duration::from_secs(3)));
    assert_eq!(keys(&app), ["FROM_CLI"]);
    assert_eq!(app.envs[0].secrets, 1);
}

/// The idle reload stats the file first: an unchanged vault is not decrypted again
/// (a large table every 2 s would cost a core), until the 30 s full reload.
#[test]
fn an_unchanged_vault_is_not_reloaded_when_idle() {
    let (_fx, mut app) = Fixture::new();
    // A row that is not in the vault: only a reload would remove it.
    app.set_infos(&[tresor::vault::SecretInfo {
        key: "ONLY_ON_SCREEN".into(),
        description: String::new(),
        kind: SecretType::Other,
        created: 0,
        updated: 0,
        value_changed: 0,
        value_len: 1,
    }]);
    app.update(Action::Tick(Instant::now() + Duration::from_secs(3)));
    assert_eq!(
        keys(&app),
        ["ONLY_ON_SCREEN"],
        "reloaded an unchanged vault"
    );
    app.update(Action::Tick(Instant::now() + Duration::from_secs(31)));
    assert!(keys(&app).is_empty(), "the full reload did not happen");
}

#[test]
fn busy_vault_keeps_the_form_and_its_text() {
    let (fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "BUSY_KEY");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "v");
    // Another writer holds the file (redb's exclusive lock) for longer than the retry.
    let db = redb::Database::open(fx.path()).expect("hold the vault");
    press(&mut app, KeyCode::Enter);
    drop(db);
    let f = form(&app);
    assert!(
        f.error.as_deref().unwrap_or("").contains("vault is busy"),
        "{:?}",
        f.error
    );
    assert_eq!(f.key_text(), "BUSY_KEY");
    assert_eq!(&f.value_bytes()[..], b"v");
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(app.mode, Mode::Browse),
        "works once the other writer is gone"
    );
    assert_eq!(fx.get("BUSY_KEY"), "v");
}

#[test]
fn a_secret_deleted_elsewhere_is_an_error_in_the_form() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "GONE", "x", "");
    app.load();
    press(&mut app, KeyCode::Char('e'));
    fx.vault().remove("default", "development", "GONE").unwrap();
    typ(&mut app, "new");
    press(&mut app, KeyCode::Enter);
    let err = form(&app).error.clone().unwrap_or_default();
    assert!(err.contains("no secret `GONE`"), "{err}");
}

#[test]
fn missing_environment_is_named_and_an_existing_one_opens() {
    let (fx, _app) = Fixture::new();
    let mut app = App::unlocked(fx.vault(), "default", "qa");
    assert!(
        status(&app).contains("no environment `qa` in project `default`"),
        "{}",
        status(&app)
    );
    assert_eq!(
        app.env, "development",
        "opens on an environment that exists"
    );
    press(&mut app, KeyCode::Char('a'));
    assert!(
        matches!(app.mode, Mode::Form(_)),
        "`a` adds to the environment shown"
    );
}

#[test]
fn missing_project_is_named_and_an_existing_one_opens() {
    let (fx, _app) = Fixture::new();
    fx.vault().add_project("billing").expect("project");
    let mut app = App::unlocked(fx.vault(), "nope", "qa");
    assert!(
        status(&app).contains("no project `nope` (projects: billing, default)"),
        "{}",
        status(&app)
    );
    assert_eq!(
        (app.project.as_str(), app.env.as_str()),
        ("default", "development")
    );
    assert!(!app.envs.is_empty(), "the tabs are a real project's");
    add_via_form(&mut app, "TOKEN", "t");
    assert_eq!(fx.get("TOKEN"), "t", "`a` never silently does nothing");
}

#[test]
fn the_loop_never_spins() {
    let (_fx, mut app) = Fixture::new();
    app.auto_lock = Duration::from_secs(300);
    let now = Instant::now();
    assert_eq!(app.poll_timeout(now), Duration::from_millis(500));
    assert!(app.poll_timeout(now + Duration::from_secs(400)) >= Duration::from_millis(10));
    app.update(Action::Tick(now + Duration::from_secs(400)));
    assert_eq!(
        app.poll_timeout(now + Duration::from_secs(400)),
        Duration::from_millis(500)
    );
}

#[test]
fn a_passphrase_deleted_with_ctrl_w_is_not_kept_for_pasting() {
    let tmp = tempfile::tempdir().unwrap();
    let path = passphrase_vault(tmp.path());
    let mut app = start(path, None);
    typ(&mut app, "right horse");
    ctrl(&mut app, 'w');
    let s = unlock_state(&app);
    assert_eq!(s.passphrase.lines(), ["right "]);
    assert_eq!(
        s.passphrase.yank_text(),
        "",
        "the deleted word is in no buffer"
    );
}

#[test]
fn ctrl_g_cycles_through_the_charsets() {
    use tresor::vault::generate::Charset;
    let (_fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('a'));
    for charset in Charset::ALL.into_iter().chain([Charset::Urlsafe]) {
        ctrl(&mut app, 'g');
        let value = form(&app).value_bytes().to_vec();
        assert_eq!(value.len(), 32);
        assert!(
            value.iter().all(|b| charset.alphabet().contains(b)),
            "{charset:?}: {}",
            String::from_utf8_lossy(&value)
        );
    }
}

/// Opens the TUI as `tresor` with no -p/-e does: on the place last used, if any.
fn reopen(dir: &Path, fx: &Fixture) -> App {
    let mut app = start_in(dir, fx.path(), Some(Credential::Keyfile(fx.keyfile())));
    app.reopen_last_place = true;
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets));
    app
}

#[test]
fn the_tui_reopens_on_the_last_project_and_environment() {
    let (fx, _) = Fixture::new();
    fx.vault().add_project("billing").unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut app = reopen(state.path(), &fx);
    assert_eq!(
        (app.project.as_str(), app.env.as_str()),
        ("default", "development")
    );
    press(&mut app, KeyCode::Char('p'));
    let Mode::ProjectPicker(p) = &app.mode else {
        panic!("picker")
    };
    let (billing, open) = (
        p.projects.iter().position(|e| e.name == "billing").unwrap(),
        p.selected,
    );
    let key = if billing < open {
        KeyCode::Up
    } else {
        KeyCode::Down
    };
    for _ in 0..billing.abs_diff(open) {
        press(&mut app, key);
    }
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Tab);
    assert_eq!(
        (app.project.as_str(), app.env.as_str()),
        ("billing", "staging")
    );
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit);
    drop(app);

    let app = reopen(state.path(), &fx);
    assert_eq!(
        (app.project.as_str(), app.env.as_str()),
        ("billing", "staging")
    );
    assert!(app.status.is_none(), "no message for a place found");

    // Names are sealed in the vault: the state file holds none of them.
    let text = std::fs::read_to_string(state.path().join("state/tresor/keyfiles.json")).unwrap();
    for name in ["billing", "staging", "default", "development"] {
        assert!(!text.contains(name), "{name} in the state file:\n{text}");
    }

    // -p/-e (or TRESOR_PROJECT/TRESOR_ENV) win over the remembered place.
    let mut app = start_in(
        state.path(),
        fx.path(),
        Some(Credential::Keyfile(fx.keyfile())),
    );
    app.update(Action::SlowStep);
    assert_eq!(
        (app.project.as_str(), app.env.as_str()),
        ("default", "development")
    );
}

// ----- copy, reveal, history

fn edit_value(fx: &Fixture, key: &str, value: &str) {
    fx.vault()
        .edit(
            "default",
            "development",
            key,
            tresor::vault::SecretEdit {
                value: Some(SecretValue::new(value.as_bytes().to_vec())),
                ..Default::default()
            },
        )
        .expect("edit");
}

fn audit_actions(fx: &Fixture) -> Vec<String> {
    fx.vault()
        .audit_log()
        .expect("audit")
        .into_iter()
        .filter_map(|l| match l {
            tresor::vault::audit::AuditLine::Ok(e) => Some(e.action),
            _ => None,
        })
        .collect()
}

#[test]
fn c_copies_by_osc_52_counts_down_and_clears() {
    use tresor::tui::values::Effect;
    let (fx, mut app) = Fixture::new();
    fx.add("development", "TOKEN", "tok-123", "");
    app.load();
    let start = Instant::now();
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(
        app.effects.drain(..).collect::<Vec<_>>(),
        [Effect::Terminal(zeroize::Zeroizing::new(
            "\x1b]52;c;dG9rLTEyMw==\x07".into()
        ))]
    );
    assert_eq!(app.clip.as_ref().map(|c| c.left), Some(30));
    assert!(matches!(app.mode, Mode::Browse), "the table stays");
    app.update(Action::Tick(start + Duration::from_millis(10_500)));
    assert_eq!(app.clip.as_ref().map(|c| c.left), Some(20));
    assert!(app.effects.is_empty(), "nothing is cleared before its time");
    app.update(Action::Tick(start + Duration::from_secs(31)));
    assert!(app.clip.is_none());
    assert!(matches!(
        app.effects.drain(..).collect::<Vec<_>>()[..],
        [Effect::ClearClipboard(_)]
    ));
    assert_eq!(status(&app), "clipboard cleared (TOKEN)");
    assert!(
        audit_actions(&fx).iter().any(|a| a == "copy"),
        "audited as a read"
    );
}

#[test]
fn quitting_clears_a_copied_value_at_once() {
    use tresor::tui::values::Effect;
    let (fx, mut app) = Fixture::new();
    fx.add("development", "TOKEN", "tok", "");
    app.load();
    press(&mut app, KeyCode::Char('c'));
    app.effects.clear();
    // A second copy first clears the first one (tmux keeps every copy).
    press(&mut app, KeyCode::Char('c'));
    assert!(matches!(
        app.effects.drain(..).collect::<Vec<_>>()[..],
        [Effect::ClearClipboard(_), Effect::Terminal(_)]
    ));
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit);
    assert!(matches!(
        app.effects.drain(..).collect::<Vec<_>>()[..],
        [Effect::ClearClipboard(_)]
    ));
}

#[test]
fn v_reveals_the_value_until_any_key_or_ten_seconds() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "PEM", "line 1\nline 2\nline 3", "");
    app.load();
    let start = Instant::now();
    press(&mut app, KeyCode::Char('v'));
    let Mode::Reveal(r) = &app.mode else {
        panic!("no reveal popup")
    };
    assert_eq!(&r.value[..], b"line 1\nline 2\nline 3");
    // Scrolling keeps it; any other key hides it.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let Mode::Reveal(r) = &app.mode else {
        panic!("scrolling hid the value")
    };
    assert_eq!(r.scroll, 2, "stops at the last line");
    press(&mut app, KeyCode::Char('x'));
    assert!(matches!(app.mode, Mode::Browse));
    // The timer hides it too.
    press(&mut app, KeyCode::Char('v'));
    app.update(Action::Tick(start + Duration::from_secs(4)));
    assert!(matches!(app.mode, Mode::Reveal(_)));
    app.update(Action::Tick(start + Duration::from_secs(11)));
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(
        audit_actions(&fx).iter().filter(|a| *a == "reveal").count(),
        2
    );
}

#[test]
fn a_removed_last_environment_falls_back_to_the_default_place() {
    let (fx, _) = Fixture::new();
    let state = tempfile::tempdir().unwrap();
    let mut app = reopen(state.path(), &fx);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.env, "production");
    // Auto-lock remembers too.
    app.update(Action::Tick(Instant::now() + Duration::from_secs(301)));
    assert!(matches!(app.screen, Screen::Unlock(_)));
    drop(app);
    fx.vault()
        .remove_env("default", "production", true)
        .unwrap();

    let app = reopen(state.path(), &fx);
    assert_eq!(
        (app.project.as_str(), app.env.as_str()),
        ("default", "development")
    );
    assert!(
        app.status.is_none(),
        "{:?}",
        app.status.as_ref().map(|s| &s.text)
    );
}

fn env_names(app: &App) -> Vec<&str> {
    app.envs.iter().map(|e| e.name.as_str()).collect()
}

#[test]
fn plus_adds_an_environment_with_the_clis_checks_and_opens_it() {
    let (fx, mut app) = Fixture::new();
    press(&mut app, KeyCode::Char('+'));
    typ(&mut app, "pre view");
    press(&mut app, KeyCode::Enter);
    let Mode::NewEnv(state) = &app.mode else {
        panic!("the popup stays open on a bad name")
    };
    // The words `tresor env add "pre view"` prints after `error: `.
    let cli = tresor::vault::validate::name("environment", "pre view")
        .unwrap_err()
        .to_string();
    assert_eq!(state.error.as_deref(), Some(cli.as_str()));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Browse));

    press(&mut app, KeyCode::Char('+'));
    typ(&mut app, "staging");
    press(&mut app, KeyCode::Enter);
    let Mode::NewEnv(state) = &app.mode else {
        panic!("a duplicate keeps the popup")
    };
    assert_eq!(
        state.error.as_deref(),
        Some("environment `staging` already exists in project `default`")
    );
    press(&mut app, KeyCode::Esc);

    press(&mut app, KeyCode::Char('+'));
    typ(&mut app, "preview");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(app.env, "preview", "the new environment is open");
    assert_eq!(
        env_names(&app),
        ["development", "staging", "production", "preview"]
    );
    assert_eq!(status(&app), "Added environment default/preview");
    let other = fx.vault().environments().unwrap();
    assert!(other.iter().any(|e| e.name == "preview"), "in the vault");
}

#[test]
fn minus_removes_the_environment_after_naming_it_and_its_secrets() {
    let (fx, mut app) = Fixture::new();
    fx.add("staging", "A", "1", "");
    fx.add("staging", "B", "2", "");
    fx.add("development", "KEEP", "3", "");
    app.load();
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.env, "staging");
    press(&mut app, KeyCode::Char('-'));
    let Mode::RemoveEnv {
        env,
        secrets,
        focus,
    } = &app.mode
    else {
        panic!("a confirmation first")
    };
    assert_eq!((env.as_str(), *secrets), ("staging", 2));
    assert_eq!(*focus, ConfirmFocus::Cancel, "focus starts on Cancel");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(env_names(&app).len(), 3, "Enter on Cancel removes nothing");

    press(&mut app, KeyCode::Char('-'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(env_names(&app), ["development", "production"]);
    assert_eq!(app.env, "development", "another environment is open");
    assert_eq!(
        status(&app),
        "Removed environment default/staging and its 2 secrets"
    );
    assert_eq!(fx.get("KEEP"), "3", "other environments keep their secrets");
    assert!(fx.vault().list("default", "staging").is_err());
}

#[test]
fn the_last_environment_of_a_project_is_not_offered_for_removal() {
    let (fx, mut app) = Fixture::new();
    for env in ["staging", "production"] {
        fx.vault().remove_env("default", env, true).unwrap();
    }
    app.load();
    press(&mut app, KeyCode::Char('-'));
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(
        status(&app),
        "cannot remove `development`: it is the last environment of project `default`"
    );
    assert_eq!(env_names(&app), ["development"]);
}

#[test]
fn v_on_a_secret_deleted_elsewhere_says_so() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "GONE", "x", "");
    app.load();
    fx.vault()
        .remove("default", "development", "GONE")
        .expect("rm");
    press(&mut app, KeyCode::Char('v'));
    assert!(matches!(app.mode, Mode::Browse));
    assert!(
        status(&app).contains("no secret `GONE`"),
        "{}",
        status(&app)
    );
}

#[test]
fn h_lists_versions_and_rolls_back_only_after_the_question() {
    let (fx, mut app) = Fixture::new();
    fx.add("development", "API_KEY", "one", "");
    edit_value(&fx, "API_KEY", "two");
    edit_value(&fx, "API_KEY", "three");
    app.load();
    press(&mut app, KeyCode::Char('h'));
    let versions = |app: &App| match &app.mode {
        Mode::History(h) => h.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        _ => panic!("no history popup"),
    };
    assert_eq!(versions(&app), [3, 2, 1]);
    // The current version cannot be rolled back to.
    press(&mut app, KeyCode::Char('r'));
    assert!(matches!(&app.mode, Mode::History(h) if h.confirm.is_none()));
    assert!(status(&app).contains("is the current value"));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(&app.mode, Mode::History(h) if h.confirm == Some(1)));
    press(&mut app, KeyCode::Char('n'));
    assert!(matches!(&app.mode, Mode::History(h) if h.confirm.is_none()));
    assert_eq!(fx.get("API_KEY"), "three");
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(fx.get("API_KEY"), "one");
    assert_eq!(versions(&app), [4, 3, 2, 1]);
    assert_eq!(
        status(&app),
        "API_KEY has the value of version 1 again, as version 4"
    );
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Browse));
}
