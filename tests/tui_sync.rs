//! The TUI on a team replica: the header's "shared · …" states drawn on a `TestBackend`
//! (insta snapshots), `App::update` driven with the watcher's events against a real
//! PostgreSQL server (`common/postgres.rs`), and the watcher itself: it hears a change
//! by notification or by polling, says when the server is gone, and the notification
//! names nothing but the vault's blind id.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use common::*;
use member::{Member, join};
use tresor::tui::action::Action;
use tresor::tui::app::{App, Clock, Level, Mode};
use tresor::tui::live::{LiveEvent, SyncState, SyncView};
use tresor::tui::ui;
use tresor::vault::Credential;
use tresor::vault::team::watch::{WatchEvent, Watcher};

/// The replica through the library, as the TUI opens it.
fn replica(m: &Member) -> tresor::vault::Vault {
    tresor::vault::Vault::unlock(&m.v.path, &Credential::Keyfile(m.v.keyfile().into()))
        .expect("unlock")
}

/// The TUI on this replica, its watcher thread stopped: the tests send its events.
fn app_of(m: &Member) -> App {
    let mut app = App::unlocked(replica(m), "default", "development");
    app.start_live(false);
    app
}

/// Alice's team vault with one secret, and bob joined as a writer.
fn alice_and_bob(db: &pg::Db) -> (Member, Member) {
    let alice = Member::new();
    alice.ok(&["add", "DATABASE_URL"], Some(b"postgres://dev-value-4711"));
    alice.public_key();
    alice.ok(&["remote", "init", &db.url, "--name", "alice"], None);
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    (alice, bob)
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

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn typ(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

// ----- the header, drawn

fn screen(app: &mut App, w: u16, h: u16) -> String {
    app.update(Action::Resize {
        width: w,
        height: h,
    });
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| ui::render(app, f)).expect("draw");
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// A local vault's app made to look like a team replica in each state.
/// `pending`: a change waits for the add form, open over the table, to close.
fn app_in(state: SyncState, pending: bool) -> (LibraryVault, App) {
    let lv = LibraryVault::new();
    lv.add("development", "DATABASE_URL", "postgres://x", "primary");
    let mut app = App::unlocked(lv.vault(), "default", "development");
    // Now, fixed: the table's ages stay "0m" and the sync state's are exact.
    app.clock = Clock::Fixed(app.clock.now());
    if pending {
        press(&mut app, KeyCode::Char('a'));
    }
    app.sync = Some(SyncView {
        state,
        synced_at: app.clock.now() - 12 * 60,
        pending,
    });
    (lv, app)
}

fn header_line(app: &mut App, w: u16) -> String {
    let text = screen(app, w, 24);
    let first = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_string();
    // The temporary vault's path changes from run to run.
    match first.find("  vault ") {
        Some(i) => format!("{}  vault …", &first[..i]),
        None => first,
    }
}

#[test]
fn the_header_says_shared_and_the_sync_state_within_80_columns() {
    let cases = [
        ("synced", SyncState::Synced, false),
        ("offline", SyncState::Offline, false),
        (
            "changed",
            SyncState::Changed {
                who: Some("bob".into()),
                at: chrono::Utc::now().timestamp() - 2,
            },
            false,
        ),
        ("pending", SyncState::Synced, true),
        ("rekeyed", SyncState::Rekeyed, false),
        ("newkeys", SyncState::KeysWaiting, false),
        ("refused", SyncState::Refused, false),
        ("removed", SyncState::Removed, false),
    ];
    let mut all = String::new();
    for (name, state, pending) in cases {
        let (_lv, mut app) = app_in(state, pending);
        let line = header_line(&mut app, 80);
        // The whole sync state fits beside the project at 80 columns.
        assert!(line.contains(&header(&app)), "{name}: {line}");
        // At the smallest size the screen draws, "shared" is still there.
        assert!(header_line(&mut app, 60).contains("shared ·"), "{name}");
        all.push_str(&format!("{name:8}|{line}\n"));
    }
    insta::assert_snapshot!("team_header_states_80", all);
}

#[test]
fn the_header_states_in_words() {
    let at = |state, pending| {
        let (_lv, app) = app_in(state, pending);
        header(&app)
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(at(SyncState::Synced, false), "shared · synced 12 min ago");
    assert_eq!(
        at(SyncState::Offline, false),
        "shared · offline · data from 12 min ago"
    );
    let changed = |ago| SyncState::Changed {
        who: Some("bob".into()),
        at: now - ago,
    };
    assert_eq!(at(changed(3), false), "shared · changed by bob, reloaded");
    // The news fades: then it is simply synced.
    assert_eq!(at(changed(60), false), "shared · synced 12 min ago");
    assert_eq!(
        at(SyncState::Synced, true),
        "shared · changed · reloads when this closes"
    );
}

#[test]
fn a_vault_of_one_machine_shows_no_sync_state() {
    let lv = LibraryVault::new();
    let mut app = App::unlocked(lv.vault(), "default", "development");
    assert!(app.sync.is_none() && app.live.is_none());
    let text = screen(&mut app, 80, 24);
    assert!(!text.contains("shared"), "{text}");
    // Its events, should any arrive, change nothing.
    app.update(Action::Live(LiveEvent::Offline("gone".into())));
    assert!(app.status.is_none());
}

#[test]
fn a_full_screen_on_a_team_replica() {
    let (_lv, mut app) = app_in(SyncState::Offline, false);
    let text = screen(&mut app, 80, 24);
    let text = regex::Regex::new(r"\d{4}-\d{2}-\d{2}")
        .expect("regex")
        .replace_all(&text, "YYYY-MM-DD")
        .into_owned();
    let text = regex::Regex::new(r"vault /\S+")
        .expect("regex")
        .replace_all(&text, "vault …")
        .into_owned();
    insta::assert_snapshot!("team_offline_80x24", text);
}

// ----- App::update with the watcher's events, against a real server

#[test]
fn a_change_on_the_server_reloads_the_table_and_keeps_the_selection() {
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    alice.ok(&["add", "ZZZ_LAST"], Some(b"z"));
    let mut app = app_of(&bob);
    assert_eq!(keys(&app), ["DATABASE_URL"], "not synced before an event");
    app.update(Action::Live(LiveEvent::Changed));
    assert_eq!(keys(&app), ["DATABASE_URL", "ZZZ_LAST"]);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_row().map(|r| r.key.as_str()), Some("ZZZ_LAST"));

    // A new first row: the selection stays on its secret, not its position.
    alice.ok(&["add", "AAA_FIRST"], Some(b"a"));
    app.update(Action::Live(LiveEvent::Changed));
    assert_eq!(keys(&app), ["AAA_FIRST", "DATABASE_URL", "ZZZ_LAST"]);
    assert_eq!(app.selected_row().map(|r| r.key.as_str()), Some("ZZZ_LAST"));
    assert!(
        header(&app).ends_with("changed by alice, reloaded"),
        "{}",
        header(&app)
    );

    // Nothing new: the same table, synced.
    app.update(Action::Live(LiveEvent::Changed));
    assert_eq!(keys(&app).len(), 3);
    app.update(Action::Live(LiveEvent::Unchanged));
    assert!(
        matches!(
            app.sync.as_ref().map(|s| &s.state),
            Some(SyncState::Changed { .. })
        ),
        "the news stays until it fades"
    );
}

#[test]
fn a_change_while_a_form_is_open_waits_until_it_closes() {
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    let mut app = app_of(&bob);
    press(&mut app, KeyCode::Char('a'));
    typ(&mut app, "MY_HALF_TYPED_KEY");
    alice.ok(&["add", "FROM_ALICE"], Some(b"v"));

    app.update(Action::Live(LiveEvent::Changed));
    let Mode::Form(form) = &app.mode else {
        panic!("the form was closed by a change on the server");
    };
    assert_eq!(form.key_text(), "MY_HALF_TYPED_KEY", "the typing was lost");
    assert_eq!(keys(&app), ["DATABASE_URL"], "reloaded under an open form");
    let status = app.status.as_ref().expect("a status");
    assert!(
        status.text.contains("reloads when this closes"),
        "{}",
        status.text
    );
    assert!(header(&app).contains("reloads when this closes"));

    // More typing, more ticks: still waiting, still typing.
    typ(&mut app, "_2");
    app.update(Action::Tick(Instant::now()));
    assert_eq!(keys(&app), ["DATABASE_URL"]);

    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Browse));
    assert_eq!(keys(&app), ["DATABASE_URL", "FROM_ALICE"]);
    assert!(header(&app).ends_with("changed by alice, reloaded"));
}

#[test]
fn a_database_changed_outside_tresor_is_refused_and_the_table_stays() {
    let db = pg::database();
    let (_alice, bob) = alice_and_bob(&db);
    let mut app = app_of(&bob);
    db.client()
        .batch_execute("UPDATE tresor_vaults SET version = version + 1")
        .expect("tamper");
    app.update(Action::Live(LiveEvent::Changed));
    assert_eq!(header(&app), "shared · server data refused");
    let status = app.status.as_ref().expect("an error");
    assert_eq!(status.level, Level::Error);
    assert!(
        status.text.contains("failed verification"),
        "{}",
        status.text
    );
    assert_eq!(keys(&app), ["DATABASE_URL"], "the replica was kept");
    // Nothing that arrives later makes the refusal look fine.
    app.update(Action::Live(LiveEvent::Unchanged));
    assert_eq!(header(&app), "shared · server data refused");
}

/// Carol added by alice as a reader (a member to remove).
fn add_carol(alice: &Member) {
    let pk = Member::new().public_key();
    alice.ok(&["member", "add", "carol", &pk, "--role", "reader"], None);
}

/// Opened with the keyfile that also opens the identity (a server's screen, a person
/// whose identity has no passphrase of its own): the new keys after a removal, and an
/// environment shared since, are fetched at once, as the CLI does; no `r` to press.
#[test]
fn keys_waiting_are_fetched_at_once_with_the_keyfile_that_opened_the_vault() {
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    add_carol(&alice);
    let mut app = app_of(&bob);
    app.keyfile = Some(bob.v.keyfile().to_path_buf());
    app.identity = bob.identity();
    app.update(Action::Live(LiveEvent::Changed));
    alice.ok(&["member", "rm", "carol"], None);
    app.update(Action::Live(LiveEvent::Changed));
    assert!(
        header(&app).starts_with("shared · synced"),
        "{}",
        header(&app)
    );
    let status = app.status.as_ref().expect("a note");
    assert!(
        status.text.contains("fetched the team vault's new keys"),
        "{}",
        status.text
    );
    // Readable, and writable under the new keys.
    assert_eq!(
        bob.ok(&["--offline", "get", "DATABASE_URL"], None).stdout,
        b"postgres://dev-value-4711"
    );
    bob.ok(&["add", "AFTER_REKEY"], Some(b"x"));

    alice.ok(&["env", "add", "qa"], None);
    app.update(Action::Live(LiveEvent::Changed));
    assert!(!header(&app).contains("r fetches"), "{}", header(&app));
    assert_eq!(bob.ok(&["--offline", "-e", "qa", "list"], None).stdout, b"");
}

#[test]
fn a_member_removed_is_told_so_in_its_own_tui() {
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    let mut app = app_of(&bob);
    alice.ok(&["member", "rm", "bob"], None);
    app.update(Action::Live(LiveEvent::Changed));
    assert_eq!(header(&app), "shared · you were removed from it");
    let status = app.status.as_ref().expect("an error");
    assert!(
        status
            .text
            .contains("no longer a member of this team vault"),
        "{}",
        status.text
    );
    // Nothing that arrives later makes it look fine.
    app.update(Action::Live(LiveEvent::Unchanged));
    assert_eq!(header(&app), "shared · you were removed from it");
}

#[test]
fn a_member_removed_elsewhere_says_rekeyed() {
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    add_carol(&alice);
    let mut app = app_of(&bob);
    app.update(Action::Live(LiveEvent::Changed));
    alice.ok(&["member", "rm", "carol"], None);
    app.update(Action::Live(LiveEvent::Changed));
    // The TUI fetches them itself (`tests/tui_team_changes.rs`): the key is named.
    assert_eq!(header(&app), "shared · rekeyed: r fetches the new keys");
    let status = app.status.as_ref().expect("a warning");
    assert!(
        status.text.contains("press r to fetch the new keys"),
        "{}",
        status.text
    );
    assert_eq!(keys(&app), ["DATABASE_URL"]);
}

#[test]
fn r_asks_the_server_at_once() {
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    let mut app = app_of(&bob);
    alice.ok(&["add", "FROM_ALICE"], Some(b"v"));
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(keys(&app), ["DATABASE_URL", "FROM_ALICE"]);
    assert!(header(&app).ends_with("changed by alice, reloaded"));
}

#[test]
fn offline_then_back_says_how_old_the_data_is() {
    let db = pg::database();
    let (_alice, bob) = alice_and_bob(&db);
    let mut app = app_of(&bob);
    let typed = app.last_input;
    app.update(Action::Live(LiveEvent::Offline(
        "the team server cannot be reached: connection refused".into(),
    )));
    assert!(header(&app).starts_with("shared · offline · data from"));
    let status = app.status.as_ref().expect("a warning");
    assert_eq!(status.level, Level::Warning);
    assert!(
        status.text.contains("showing the local copy"),
        "{}",
        status.text
    );
    assert_eq!(
        app.last_input, typed,
        "an event from the server is not a key press"
    );
    // The table is still there, from the replica.
    assert_eq!(keys(&app), ["DATABASE_URL"]);

    app.clock = Clock::Fixed(app.clock.now());
    app.update(Action::Live(LiveEvent::Unchanged));
    assert_eq!(header(&app), "shared · synced 0 s ago");
}

// ----- the watcher

fn watch_for(w: &mut Watcher, wanted: &WatchEvent, secs: u64) -> Vec<WatchEvent> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(e) = w.next(Duration::from_millis(200)) {
            let done = &e == wanted;
            seen.push(e);
            if done {
                return seen;
            }
        }
    }
    panic!("no {wanted:?} within {secs} s; heard {seen:?}");
}

#[test]
fn the_watcher_hears_a_change_by_notification_or_by_polling() {
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    let target = replica(&bob)
        .team_watch_target()
        .expect("target")
        .expect("a team vault");
    for listen in [true, false] {
        let mut w = Watcher::new(target.clone(), listen);
        // Connecting is a change: whatever happened while away gets synced.
        assert_eq!(w.next(Duration::from_secs(1)), Some(WatchEvent::Changed));
        assert_eq!(w.listening(), listen);
        watch_for(&mut w, &WatchEvent::Unchanged, 10);
        alice.ok(&["add", &format!("NEW_{listen}")], Some(b"v"));
        watch_for(&mut w, &WatchEvent::Changed, 10);
    }
}

#[test]
fn the_watcher_says_offline_and_retries() {
    let db = pg::database();
    let (_alice, bob) = alice_and_bob(&db);
    let dir = tempfile::tempdir().expect("tempdir");
    // The same vault, but the server's socket is somewhere with no server.
    let url = format!(
        "postgresql://tresor@{}:5999/x",
        dir.path().display().to_string().replace('/', "%2F")
    );
    let mut target = replica(&bob)
        .team_watch_target()
        .expect("target")
        .expect("a team vault");
    target.url = url;
    let mut w = Watcher::new(target, true);
    match w.next(Duration::from_millis(100)) {
        Some(WatchEvent::Offline(why)) => assert!(why.contains("cannot be reached"), "{why}"),
        other => panic!("expected offline, got {other:?}"),
    }
    // Back-off: no second attempt at once.
    let start = Instant::now();
    assert_eq!(w.next(Duration::from_millis(100)), None);
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn the_notification_names_only_the_vaults_blind_id() {
    let db = pg::database();
    let (alice, _bob) = alice_and_bob(&db);
    let mut listener = db.client();
    listener
        .batch_execute("LISTEN tresor_changed")
        .expect("listen");
    alice.ok(
        &["add", "NOTIFIED_KEY", "-d", "a-description"],
        Some(b"notified-value"),
    );
    let mut notifications = listener.notifications();
    let mut it = notifications.timeout_iter(Duration::from_secs(10));
    use postgres::fallible_iterator::FallibleIterator;
    let n = it.next().expect("notifications").expect("a notification");
    let payload = n.payload();
    assert_eq!(payload.len(), 32, "{payload}");
    assert!(payload.bytes().all(|b| b.is_ascii_hexdigit()), "{payload}");
    for word in [
        "alice",
        "NOTIFIED",
        "description",
        "notified-value",
        "development",
    ] {
        assert!(!payload.contains(word), "{payload}");
    }
}
