//! The team changes of the Secrets screen that need this machine's identity, against a
//! real PostgreSQL server (`common/postgres.rs`), driven through `App` the way keys drive
//! it and drawn on a `TestBackend` (insta): adding an environment (`+`) or a project (the
//! picker) asks an admin for the identity and the other members fetch the new key with
//! `r`; a writer or reader is told why before typing a name; after a rekey the header
//! says which key fetches the new keys, and `r` does, with the identity.

mod common;
#[path = "common/tui_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use std::path::PathBuf;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use member::Member;
use tresor::tui::action::Action;
use tresor::tui::app::{App, Clock, Level, Mode};
use tresor::tui::keymap::{self, ModeKind};
use tresor::tui::live::{LiveEvent, SyncState};
use tresor::tui::ui;
use tresor::vault::team::records::Role;

const SHOWN_PATH: &str = "/home/ada/.local/share/tresor/vault.tresor";
const VALUES: [&str; 2] = ["postgres://dev-value-4711", "sk_live_prod_value_0815"];

/// How this file opens the TUI on a member's replica.
trait Screen {
    fn app(&self) -> App;
}

impl Screen for Member {
    /// The TUI on this replica (watcher stopped: the tests send its events), its
    /// keyfile the one that opened the vault, the clock fixed.
    fn app(&self) -> App {
        let mut app = App::unlocked(self.lv.vault(), "default", "development");
        app.keyfile = Some(self.lv.keyfile());
        app.vault_path = PathBuf::from(SHOWN_PATH);
        app.start_live(false);
        app.clock = Clock::Fixed(chrono::Utc::now().timestamp());
        app
    }
}

/// Alice's team vault (development, staging, production), bob a writer of every
/// environment, ci-prod a reader of production.
struct Team {
    _db: pg::Db,
    alice: Member,
    bob: Member,
    ci: Member,
}

fn team() -> Team {
    let db = pg::database();
    let alice = Member::new();
    alice
        .lv
        .add("development", "DATABASE_URL", VALUES[0], "primary database");
    alice
        .lv
        .add("production", "STRIPE_LIVE_KEY", VALUES[1], "live payments");
    alice
        .lv
        .vault()
        .team_init(&db.url, &alice.identity(), "alice")
        .expect("remote init");
    let bob = join(&alice, &db, "bob", Role::Writer, None);
    let ci = join(
        &alice,
        &db,
        "ci-prod",
        Role::Reader,
        Some(vec![("default".into(), "production".into())]),
    );
    Team {
        _db: db,
        alice,
        bob,
        ci,
    }
}

fn join(
    admin: &Member,
    db: &pg::Db,
    name: &str,
    role: Role,
    envs: Option<Vec<(String, String)>>,
) -> Member {
    let m = Member::new();
    let identity = m.identity();
    let public = (identity.public, identity.signing);
    let token = admin
        .lv
        .vault()
        .team_add_member(&admin.identity(), name, &public, role, envs)
        .expect("member add");
    m.lv.vault()
        .team_join(&db.url, &token, &m.identity())
        .expect("join");
    m
}

fn secret(key: &str, value: &[u8]) -> tresor::vault::NewSecret {
    tresor::vault::NewSecret {
        key: key.into(),
        value: tresor::vault::SecretValue::new(value.to_vec()),
        description: String::new(),
        kind: None,
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

/// The prompt is open: it is pointed at `m`'s identity (the tests have no home folder).
fn prompt_for(app: &mut App, m: &Member) {
    let Mode::TeamIdentity(prompt) = &mut app.mode else {
        panic!("no identity prompt; status: {:?}", status(app));
    };
    prompt.path = m.identity_path();
}

/// Enter in the identity prompt, then the slow step the event loop sends after drawing
/// "Unlocking…".
fn submit_identity(app: &mut App) {
    press(app, KeyCode::Enter);
    assert!(app.has_pending(), "Enter did not start the slow step");
    app.update(Action::SlowStep);
}

fn status(app: &App) -> Option<(Level, String)> {
    app.status.as_ref().map(|s| (s.level, s.text.clone()))
}

fn tabs(app: &App) -> Vec<String> {
    app.envs.iter().map(|e| e.name.clone()).collect()
}

fn keys(app: &App) -> Vec<String> {
    app.visible
        .iter()
        .map(|&i| app.rows[i].key.clone())
        .collect()
}

fn header(app: &App) -> String {
    let sync = app.sync.as_ref().expect("a team replica has a sync state");
    sync.text(app.clock.now())
}

fn draw(app: &mut App, w: u16, h: u16) -> String {
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| ui::render(app, f)).expect("draw");
    let out = common::screen_text(t.backend().buffer());
    assert!(
        !out.contains(keymap::UNBOUND),
        "a view names a key that is not bound in its mode:\n{out}"
    );
    for v in VALUES {
        assert!(!out.contains(v), "a value is on screen:\n{out}");
    }
    out
}

/// Temporary folders have random names; the table's dates are today's.
fn stable(text: &str) -> String {
    let tmp = regex::Regex::new(r"/tmp/\.tmp[A-Za-z0-9]{6}").expect("regex");
    let date = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").expect("regex");
    // A slow machine may draw a second after the sync.
    let synced = regex::Regex::new(r"synced \d+ s ago").expect("regex");
    let text = tmp.replace_all(text, "/tmp/.tmpXXXXXX");
    let text = synced.replace_all(&text, "synced 0 s ago");
    date.replace_all(&text, "YYYY-MM-DD").into_owned()
}

fn snap(name: &str, app: &mut App) {
    for (w, h) in [(80, 24), (120, 40)] {
        let text = draw(app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), stable(&text));
    }
}

#[test]
fn adding_an_environment_asks_the_admin_for_the_identity_and_reaches_the_others() {
    let t = team();
    let mut alice = t.alice.app();
    press(&mut alice, KeyCode::Char('+'));
    assert_eq!(alice.mode_kind(), ModeKind::EnvNew);
    // A name the vault refuses is said before the identity is asked for.
    typ(&mut alice, "development");
    press(&mut alice, KeyCode::Enter);
    let Mode::NewEnv(state) = &alice.mode else {
        panic!("the dialog closed: {:?}", status(&alice));
    };
    assert!(
        state
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("exists"),
        "{:?}",
        state.error
    );
    press(&mut alice, KeyCode::Esc);
    press(&mut alice, KeyCode::Char('+'));
    typ(&mut alice, "qa");
    press(&mut alice, KeyCode::Enter);
    assert_eq!(alice.mode_kind(), ModeKind::MemberIdentity);
    prompt_for(&mut alice, &t.alice);
    snap("team_new_env_identity", &mut alice);
    submit_identity(&mut alice);
    assert_eq!(alice.mode_kind(), ModeKind::Browse, "{:?}", status(&alice));
    assert_eq!(alice.env, "qa");
    assert!(tabs(&alice).contains(&"qa".to_string()));
    let (level, text) = status(&alice).expect("a message");
    assert_eq!(level, Level::Info, "{text}");
    assert!(text.contains("Added environment default/qa"), "{text}");
    // A secret in it, through the server like any other.
    alice
        .vault
        .as_ref()
        .expect("unlocked")
        .add("default", "qa", secret("QA_KEY", b"qa-value"))
        .expect("add to qa");

    // Bob reads every environment: his open TUI hears the change, says which key
    // fetches the new environment's key, and shows it once his identity did.
    let mut bob = t.bob.app();
    bob.update(Action::Live(LiveEvent::Changed));
    assert_eq!(
        bob.sync.as_ref().map(|s| s.state.clone()),
        Some(SyncState::KeysWaiting)
    );
    assert_eq!(header(&bob), "shared · new environment: r fetches its key");
    let (level, text) = status(&bob).expect("a message");
    assert_eq!(level, Level::Warning);
    assert!(text.contains("press r"), "{text}");
    // Still said after the next check of an unchanged head.
    bob.update(Action::Live(LiveEvent::Changed));
    assert_eq!(header(&bob), "shared · new environment: r fetches its key");
    press(&mut bob, KeyCode::Char('r'));
    prompt_for(&mut bob, &t.bob);
    submit_identity(&mut bob);
    assert_eq!(bob.mode_kind(), ModeKind::Browse, "{:?}", status(&bob));
    assert!(
        header(&bob).starts_with("shared · synced"),
        "{}",
        header(&bob)
    );
    assert!(tabs(&bob).contains(&"qa".to_string()), "{:?}", tabs(&bob));
    press(&mut bob, KeyCode::BackTab); // development, staging, production, qa: the last
    assert_eq!(bob.env, "qa");
    assert_eq!(keys(&bob), ["QA_KEY"]);

    // ci-prod reads production only: the new key was never wrapped to it.
    let mut ci = t.ci.app();
    ci.update(Action::Live(LiveEvent::Changed));
    assert!(!tabs(&ci).contains(&"qa".to_string()));
    assert!(!header(&ci).contains("new environment"), "{}", header(&ci));
}

#[test]
fn a_writer_or_reader_is_told_why_before_typing_a_name() {
    let t = team();
    for (m, words) in [
        (
            &t.bob,
            "only an admin of the team vault can add or remove its projects and environments",
        ),
        (&t.ci, "you are a reader of this team vault"),
    ] {
        let mut app = m.app();
        press(&mut app, KeyCode::Char('+'));
        assert_eq!(app.mode_kind(), ModeKind::Browse, "+ opened a dialog");
        let (level, text) = status(&app).expect("a message");
        assert_eq!(level, Level::Error);
        assert!(text.contains(words), "{text}");
        press(&mut app, KeyCode::Char('p'));
        press(&mut app, KeyCode::Char('n'));
        assert_eq!(app.mode_kind(), ModeKind::Picker, "n opened the name field");
        let Mode::ProjectPicker(picker) = &app.mode else {
            panic!("no picker");
        };
        let error = picker.error.clone().unwrap_or_default();
        assert!(error.contains(words), "{error}");
        if std::ptr::eq(m, &t.bob) {
            snap("team_new_project_writer", &mut app);
        }
    }
}

#[test]
fn a_new_project_asks_for_the_identity_and_a_wrong_one_changes_nothing() {
    let t = team();
    let mut alice = t.alice.app();
    press(&mut alice, KeyCode::Char('p'));
    press(&mut alice, KeyCode::Char('n'));
    typ(&mut alice, "billing");
    press(&mut alice, KeyCode::Enter);
    prompt_for(&mut alice, &t.alice);
    ctrl(&mut alice, 'k'); // a passphrase, where a keyfile protects the identity
    typ(&mut alice, "not-it");
    submit_identity(&mut alice);
    let Mode::TeamIdentity(prompt) = &alice.mode else {
        panic!("the prompt closed: {:?}", status(&alice));
    };
    let error = prompt.unlock.error.clone().unwrap_or_default();
    assert!(error.contains("identity at"), "{error}");
    assert!(
        prompt.unlock.passphrase.is_empty(),
        "the passphrase was kept"
    );
    let projects = t.alice.lv.vault().projects().expect("projects");
    assert!(!projects.contains_key("billing"));

    // Esc goes back to the name, kept; Enter asks again, and the keyfile opens it.
    press(&mut alice, KeyCode::Esc);
    assert_eq!(alice.mode_kind(), ModeKind::PickerNew);
    press(&mut alice, KeyCode::Enter);
    prompt_for(&mut alice, &t.alice);
    submit_identity(&mut alice);
    let Mode::ProjectPicker(picker) = &alice.mode else {
        panic!("no picker: {:?}", status(&alice));
    };
    assert_eq!(picker.projects[picker.selected].name, "billing");
    assert_eq!(picker.projects[picker.selected].environments, 3);

    // Bob's replica has it after his sync and his identity fetched its keys.
    let bob = t.bob.lv.vault();
    bob.team_sync().expect("sync");
    assert!(bob.team_keys_waiting().expect("keys waiting"));
    bob.team_refresh(&t.bob.identity()).expect("refresh");
    assert!(bob.projects().expect("projects").contains_key("billing"));
}

#[test]
fn after_a_rekey_r_fetches_the_new_keys_with_the_identity() {
    let t = team();
    let mut bob = t.bob.app();
    t.alice
        .lv
        .vault()
        .team_remove_member(&t.alice.identity(), "ci-prod")
        .expect("member rm");
    bob.update(Action::Live(LiveEvent::Changed));
    assert_eq!(header(&bob), "shared · rekeyed: r fetches the new keys");
    let (level, text) = status(&bob).expect("a warning");
    assert_eq!(level, Level::Warning);
    assert!(text.contains("press r to fetch the new keys"), "{text}");
    snap("team_rekeyed", &mut bob);

    press(&mut bob, KeyCode::Char('r'));
    assert_eq!(bob.mode_kind(), ModeKind::MemberIdentity);
    prompt_for(&mut bob, &t.bob);
    snap("team_new_keys_identity", &mut bob);
    // Esc: nothing fetched, still said.
    press(&mut bob, KeyCode::Esc);
    assert_eq!(bob.mode_kind(), ModeKind::Browse);
    assert_eq!(header(&bob), "shared · rekeyed: r fetches the new keys");
    press(&mut bob, KeyCode::Char('r'));
    prompt_for(&mut bob, &t.bob);
    submit_identity(&mut bob);
    assert_eq!(bob.mode_kind(), ModeKind::Browse, "{:?}", status(&bob));
    assert!(
        header(&bob).starts_with("shared · synced"),
        "{}",
        header(&bob)
    );
    assert_eq!(keys(&bob), ["DATABASE_URL"]);

    // Bob reads and writes at the new epoch: alice sees his change.
    bob.vault
        .as_ref()
        .expect("unlocked")
        .add("default", "development", secret("FROM_BOB", b"after-rekey"))
        .expect("a write at the new epoch");
    let alice = t.alice.lv.vault();
    alice.team_sync().expect("sync");
    let listed: Vec<String> = alice
        .list("default", "development")
        .expect("list")
        .into_iter()
        .map(|s| s.key)
        .collect();
    assert!(listed.contains(&"FROM_BOB".to_string()), "{listed:?}");
}

/// A reader limited to production opens the TUI on development: the table says it has
/// no access there, not that the environment is empty and to add a secret; production
/// shows its secret.
#[test]
fn an_environment_a_member_has_no_key_of_says_so_in_the_table() {
    let t = team();
    let mut app = t.ci.app();
    app.load();
    let screen = draw(&mut app, 120, 30);
    assert!(
        screen.contains("you have no access to default/development"),
        "{screen}"
    );
    assert!(!screen.contains("Press a to add one"), "{screen}");
    snap("no_access", &mut app);
    // Tab twice: staging (no access either), then production.
    app.update(Action::NextEnv);
    app.update(Action::NextEnv);
    assert_eq!(app.env, "production");
    assert_eq!(keys(&app), ["STRIPE_LIVE_KEY"]);
    assert!(app.unreadable.is_none());
}
