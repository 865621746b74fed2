//! The Members screen (`M`) against a real PostgreSQL server (the throwaway cluster of
//! `common/postgres.rs`): the list drawn at 80x24 and 120x40, the add form, the identity
//! prompt, the join token, the remove question and its result, as insta snapshots; and
//! `App::update` driven the way keys drive it: who may add and remove, what a failure
//! from the server keeps, that a removal really rekeys and the member is gone.

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
use tresor::tui::live::LiveEvent;
use tresor::tui::members::Popup;
use tresor::tui::ui;
use tresor::tui::values::Effect;
use tresor::vault::team::records::Role;

const SHOWN_PATH: &str = "/home/ada/.local/share/tresor/vault.tresor";
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];
const VALUES: [&str; 2] = ["postgres://dev-value-4711", "sk_live_prod_value_0815"];

/// How this file opens the TUI on a member's replica.
trait Screen {
    fn app(&self) -> App;
    fn open_members(&self, app: &mut App);
}

impl Screen for Member {
    /// An app on this member's vault, three and a half days after the members were added
    /// (so an age reads "3 days" whether a member was added just before or after the app
    /// started), whose identity is this member's and whose keyfile opened the vault.
    fn app(&self) -> App {
        let mut app = App::unlocked(self.lv.vault(), "default", "development");
        app.clock = Clock::Fixed(chrono::Utc::now().timestamp() + 3 * 86_400 + 43_200);
        app.keyfile = Some(self.lv.keyfile());
        app.vault_path = PathBuf::from(SHOWN_PATH);
        app
    }

    /// Opens the Members screen, pointed at this member's identity.
    fn open_members(&self, app: &mut App) {
        press(app, KeyCode::Char('M'));
        let Mode::Members(state) = &mut app.mode else {
            panic!("no Members screen; status: {:?}", status(app));
        };
        state.identity = self.identity_path();
    }
}

/// Alice's team vault (development and production), with bob (writer, every
/// environment) and ci-prod (reader, production only).
struct Team {
    db: pg::Db,
    alice: Member,
    bob: Member,
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
    join(
        &alice,
        &db,
        "ci-prod",
        Role::Reader,
        Some(vec![("default".into(), "production".into())]),
    );
    Team { db, alice, bob }
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

fn popup(app: &App) -> Option<&Popup> {
    match &app.mode {
        Mode::Members(m) => m.popup.as_ref(),
        _ => None,
    }
}

fn member_names(app: &App) -> Vec<String> {
    match &app.mode {
        Mode::Members(m) => m.members.iter().map(|m| m.name.clone()).collect(),
        _ => panic!("not on the Members screen"),
    }
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

/// Temporary folders have random names of a fixed length.
fn stable(text: &str) -> String {
    let tmp = regex::Regex::new(r"/tmp/\.tmp[A-Za-z0-9]{6}").expect("regex");
    tmp.replace_all(text, "/tmp/.tmpXXXXXX").into_owned()
}

fn snap(name: &str, app: &mut App) {
    for (w, h) in SIZES {
        let text = draw(app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), stable(&text));
    }
}

#[test]
fn members_screen_lists_who_has_access() {
    let t = team();
    let mut app = t.alice.app();
    t.alice.open_members(&mut app);
    assert_eq!(member_names(&app), ["alice", "bob", "ci-prod"]);
    assert_eq!(app.mode_kind(), ModeKind::Members);
    snap("members_screen", &mut app);
    let text = draw(&mut app, 120, 40);
    assert!(text.contains("alice (you)"), "{text}");
    assert!(
        text.contains("production"),
        "ci-prod's one environment:\n{text}"
    );
    // Esc goes back to the secrets, where it was.
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode_kind(), ModeKind::Browse);
    assert_eq!(app.env, "development");
}

#[test]
fn a_local_vault_says_how_to_share_it() {
    let m = Member::new();
    let mut app = m.app();
    press(&mut app, KeyCode::Char('M'));
    assert_eq!(app.mode_kind(), ModeKind::Browse);
    let (level, text) = status(&app).expect("a message");
    assert_eq!(level, Level::Warning);
    assert!(
        text.contains("not shared") && text.contains("tresor remote init"),
        "{text}"
    );
}

#[test]
fn only_admins_add_and_remove_and_others_see_why() {
    let t = team();
    let mut app = t.bob.app();
    t.bob.open_members(&mut app);
    snap("members_screen_writer", &mut app);
    for key in ['a', 'd'] {
        press(&mut app, KeyCode::Char(key));
        assert!(popup(&app).is_none(), "{key} opened a popup for a writer");
        let (level, text) = status(&app).expect("a message");
        assert_eq!(level, Level::Warning);
        assert!(
            text.contains("only an admin") && text.contains("you are a writer"),
            "{text}"
        );
    }
}

#[test]
fn adding_a_member_asks_for_the_identity_and_shows_a_token_that_joins() {
    let t = team();
    let carol = Member::new();
    let mut app = t.alice.app();
    t.alice.open_members(&mut app);
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(app.mode_kind(), ModeKind::MemberForm);
    typ(&mut app, "carol");
    press(&mut app, KeyCode::Tab);
    app.update(Action::Paste(carol.public_text().as_str().into()));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.mode_kind(), ModeKind::MemberFormChoice);
    press(&mut app, KeyCode::Right); // writer
    press(&mut app, KeyCode::Tab);
    // development, staging, production: the third.
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Char(' '));
    // The key is random: the snapshot shows the form before it is pasted.
    let Some(Popup::Add(form)) = popup(&app) else {
        panic!("no add form")
    };
    assert_eq!(form.role, Role::Writer);
    assert_eq!(
        form.scope(),
        Some(vec![("default".to_string(), "production".to_string())])
    );
    let real = set_form_key(&mut app, "tresor1…(their public key)");
    snap("member_add_form", &mut app);
    set_form_key(&mut app, &real);

    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode_kind(), ModeKind::MemberIdentity);
    snap("member_identity_prompt", &mut app);
    submit_identity(&mut app);
    let Some(Popup::Token { token, join, .. }) = popup(&app) else {
        panic!("no token popup; status {:?}", status(&app))
    };
    assert!(token.starts_with("tresor-join2:"), "{token}");
    assert!(join.starts_with("tresor remote join postgresql://") && join.ends_with(token.as_str()));
    let token = token.clone();
    assert!(member_names(&app).contains(&"carol".to_string()));

    // `c` copies the token (OSC 52, for the event loop to write).
    press(&mut app, KeyCode::Char('c'));
    assert!(
        app.effects
            == [Effect::Terminal(tresor::clipboard::set_sequence(
                token.as_bytes()
            ))],
        "the token's OSC 52 sequence is queued for the terminal: {:?}",
        app.effects
    );
    assert!(status(&app).is_some_and(|(_, s)| s.contains("join token is on the clipboard")));

    // The snapshot with a fixed token and URL (both random).
    {
        let Mode::Members(m) = &mut app.mode else {
            unreachable!()
        };
        if let Some(Popup::Token { token, join, .. }) = &mut m.popup {
            *token = format!("tresor-join2:{}01234567", "0123456789abcdef".repeat(17));
            *join = format!("tresor remote join postgres://app@db/secrets --token {token}");
        }
    }
    snap("member_token", &mut app);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode_kind(), ModeKind::Members);

    // The token joins, with carol's identity, and gives what the form said: production only.
    carol
        .lv
        .vault()
        .team_join(&t.db.url, &token, &carol.identity())
        .expect("carol joins with the token shown");
    let carol_vault = carol.lv.vault();
    assert!(
        carol_vault
            .get("default", "production", "STRIPE_LIVE_KEY")
            .is_ok()
    );
    assert!(
        carol_vault
            .get("default", "development", "DATABASE_URL")
            .is_err()
    );
    let listed = t.alice.lv.vault().team_members().expect("members");
    let c = listed
        .iter()
        .find(|m| m.name == "carol")
        .expect("carol listed");
    assert_eq!(c.role, Role::Writer);
}

/// Replaces the public key typed in the add form; returns the one it held.
fn set_form_key(app: &mut App, key: &str) -> String {
    let Mode::Members(m) = &mut app.mode else {
        panic!("not on the Members screen")
    };
    let Some(Popup::Add(form)) = &mut m.popup else {
        panic!("no add form")
    };
    let old = form.public.lines().join("");
    form.public = tresor::tui::fields::plain_field("");
    form.public.insert_str(key);
    old
}

#[test]
fn the_add_form_says_what_is_wrong_and_keeps_what_was_typed() {
    let t = team();
    let mut app = t.alice.app();
    t.alice.open_members(&mut app);
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Enter);
    let Some(Popup::Add(form)) = popup(&app) else {
        panic!("the form closed")
    };
    assert!(
        form.error.as_deref().is_some_and(|e| e.contains("empty")),
        "{:?}",
        form.error
    );
    typ(&mut app, "dave");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "tresor1nothex");
    press(&mut app, KeyCode::Enter);
    let Some(Popup::Add(form)) = popup(&app) else {
        panic!("the form closed")
    };
    assert!(form.error.is_some());
    assert_eq!(form.name_text(), "dave");
    snap("member_add_form_error", &mut app);

    // A name already taken is refused by the vault after the identity: the form is back,
    // filled, and the status line says why.
    let Mode::Members(m) = &mut app.mode else {
        unreachable!()
    };
    let Some(Popup::Add(form)) = &mut m.popup else {
        unreachable!()
    };
    form.name = tresor::tui::fields::plain_field("");
    form.name.insert_str("bob");
    form.public = tresor::tui::fields::plain_field("");
    form.public.insert_str(Member::new().public_text());
    press(&mut app, KeyCode::Enter);
    submit_identity(&mut app);
    let (level, text) = status(&app).expect("a message");
    assert_eq!(level, Level::Error);
    assert!(text.contains("already exists"), "{text}");
    let Some(Popup::Add(form)) = popup(&app) else {
        panic!("the form is gone: {:?}", status(&app))
    };
    assert_eq!(form.name_text(), "bob");
}

#[test]
fn a_wrong_identity_credential_is_said_in_the_prompt_and_changes_nothing() {
    let t = team();
    let mut app = t.alice.app();
    t.alice.open_members(&mut app);
    press(&mut app, KeyCode::Char('j')); // bob
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.mode_kind(), ModeKind::MemberIdentity);
    ctrl(&mut app, 'k'); // a passphrase, where a keyfile protects the identity
    typ(&mut app, "not-it");
    submit_identity(&mut app);
    let Some(Popup::Identity(prompt)) = popup(&app) else {
        panic!("the prompt closed: {:?}", status(&app))
    };
    assert!(prompt.unlock.error.is_some());
    // The passphrase was taken out of the field and wiped.
    assert!(prompt.unlock.passphrase.is_empty());
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode_kind(), ModeKind::Members);
    assert!(member_names(&app).contains(&"bob".to_string()));
    let listed = t.alice.lv.vault().team_members().expect("members");
    assert!(listed.iter().any(|m| m.name == "bob"));
}

#[test]
fn removing_asks_naming_the_member_then_rekeys_and_lists_what_to_rotate() {
    let t = team();
    let mut app = t.alice.app();
    t.alice.open_members(&mut app);
    // The cursor starts on "you"; you cannot remove yourself.
    press(&mut app, KeyCode::Char('d'));
    assert!(popup(&app).is_none());
    assert!(status(&app).is_some_and(|(_, s)| s.contains("cannot remove yourself")));

    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(app.mode_kind(), ModeKind::MemberRemove);
    snap("member_remove_dialog", &mut app);
    // Focus starts on Cancel: Enter keeps bob.
    press(&mut app, KeyCode::Enter);
    assert!(popup(&app).is_none());
    assert!(member_names(&app).contains(&"bob".to_string()));

    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode_kind(), ModeKind::MemberIdentity);
    submit_identity(&mut app);
    let Some(Popup::Removed {
        name,
        to_rotate,
        epoch,
        ..
    }) = popup(&app)
    else {
        panic!("no removal popup; status {:?}", status(&app))
    };
    assert_eq!(name, "bob");
    assert_eq!(*epoch, 2, "a new epoch: new keys");
    let mut rotate: Vec<String> = to_rotate
        .iter()
        .map(|(p, e, k)| format!("{p}/{e}/{k}"))
        .collect();
    rotate.sort();
    assert_eq!(
        rotate,
        [
            "default/development/DATABASE_URL",
            "default/production/STRIPE_LIVE_KEY"
        ]
    );
    snap("member_removed", &mut app);
    press(&mut app, KeyCode::Esc);
    assert_eq!(member_names(&app), ["alice", "ci-prod"]);
    let listed = t.alice.lv.vault().team_members().expect("members");
    assert!(!listed.iter().any(|m| m.name == "bob"));
    // Bob's replica cannot follow: the vault was rekeyed without him.
    assert!(t.bob.lv.vault().team_refresh(&t.bob.identity()).is_err());
}

#[test]
fn a_server_gone_is_said_in_the_status_line_and_nothing_is_lost() {
    let t = team();
    let mut app = t.alice.app();
    t.alice.open_members(&mut app);
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "erin");
    press(&mut app, KeyCode::Tab);
    app.update(Action::Paste(Member::new().public_text().as_str().into()));
    press(&mut app, KeyCode::Enter);
    // The database goes away between the form and the write.
    let mut admin = postgres::Client::connect(&pg::cluster().url("postgres"), postgres::NoTls)
        .expect("connect");
    admin
        .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", t.db.name))
        .expect("drop database");
    submit_identity(&mut app);
    let (level, text) = status(&app).expect("a message");
    assert_eq!(level, Level::Error, "{text}");
    let Some(Popup::Add(form)) = popup(&app) else {
        panic!("the form is gone: {text}")
    };
    assert_eq!(form.name_text(), "erin");
    assert!(text.contains("team server"), "{text}");
    let screen = draw(&mut app, 80, 24);
    assert!(screen.contains("✖ the team server"), "{screen}");

    // Reload on the list says it too, and the list stays.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(status(&app).map(|s| s.0), Some(Level::Error));
    assert_eq!(member_names(&app), ["alice", "bob", "ci-prod"]);
    // The replica still reads.
    assert!(
        t.alice
            .lv
            .vault()
            .get("default", "development", "DATABASE_URL")
            .is_ok()
    );
}

#[test]
fn the_join_line_leaves_out_the_admins_password_and_says_why() {
    // The shared cluster trusts its socket, so the admin's URL may carry any password.
    let db = pg::database();
    let alice = Member::new();
    let url = db.url.replacen("tresor@", "tresor:alices-pw@", 1);
    alice
        .lv
        .vault()
        .team_init(&url, &alice.identity(), "alice")
        .expect("remote init");
    let carol = Member::new();
    let mut app = alice.app();
    alice.open_members(&mut app);
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "carol");
    press(&mut app, KeyCode::Tab);
    app.update(Action::Paste(carol.public_text().as_str().into()));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode_kind(), ModeKind::MemberIdentity);
    submit_identity(&mut app);
    let Some(Popup::Token { token, join, .. }) = popup(&app) else {
        panic!("no token popup; status {:?}", status(&app))
    };
    assert_eq!(
        join,
        &format!("tresor remote join {} --token {token}", db.url)
    );
    let screen = draw(&mut app, 120, 40);
    assert!(!screen.contains("alices-pw"), "{screen}");
    assert!(
        screen.contains("They log in with their own password (PGPASSWORD or ~/.pgpass)."),
        "{screen}"
    );
}

/// A change made elsewhere while the Members screen is open (the watcher's event): the
/// replica syncs at once (no popup is open) and the list shows the new member, where
/// the header used to wait for a popup to close.
#[test]
fn a_member_added_elsewhere_reaches_the_open_members_screen() {
    let t = team();
    let mut app = t.alice.app();
    t.alice.open_members(&mut app);
    assert_eq!(member_names(&app), ["alice", "bob", "ci-prod"]);
    // Alice in another terminal.
    join(&t.alice, &t.db, "dave", Role::Reader, None);
    app.update(Action::Live(LiveEvent::Changed));
    assert_eq!(member_names(&app), ["alice", "bob", "ci-prod", "dave"]);
    let sync = app.sync.as_ref().expect("a team replica has a sync state");
    assert!(!sync.pending, "the reload still waits for a popup to close");
}
