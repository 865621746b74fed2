//! Live updates end to end: bob's TUI is open in a real terminal (tmux) on his replica of
//! a team vault on a real PostgreSQL server (`common/postgres.rs`), and alice, on another
//! machine, adds a secret with the CLI. It must appear in bob's table without a key
//! press, by LISTEN/NOTIFY, and with LISTEN turned off (`TRESOR_LISTEN=0`) by polling
//! the head alone. Bob's replica is a vault of its own: the TUI's idle reload of the
//! local file cannot show alice's change, only a sync with the server can.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;
#[path = "common/shell.rs"]
mod shell;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use member::{Member, join, team_of_alice};
use shell::{Shell, tmux_available};

/// Alice's team vault (`common/team_member.rs`), and bob joined as a writer.
fn alice_and_bob(db: &pg::Db) -> (Member, Member) {
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    (alice, bob)
}

/// Bob's TUI in a tmux pane, on his replica (keyfile: straight to the table).
fn bob_tui(name: &str, bob: &Member, listen: bool) -> Shell {
    let state = bob.v.state_dir();
    let home = bob.v.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut env: Vec<(&str, &std::path::Path)> = vec![
        ("XDG_STATE_HOME", &state),
        ("HOME", &home),
        ("V", &bob.v.path),
        ("K", bob.v.keyfile()),
    ];
    let off = PathBuf::from("0");
    if !listen {
        env.push(("TRESOR_LISTEN", &off));
    }
    let s = Shell::start(name, &env);
    s.line("$T --vault \"$V\" --keyfile \"$K\"");
    s.wait_for("DATABASE_URL");
    s
}

/// Polls the pane until `needle` shows, for up to `secs` seconds (no timing asserted:
/// the limit only keeps a broken build from hanging).
fn screen_with(s: &Shell, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let screen = s.history();
        if screen.contains(needle) {
            return screen;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} never appeared in the open TUI; pane:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One test at a time: one of them stops the server that all of them use.
static SERVER: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    SERVER.lock().unwrap_or_else(|e| e.into_inner())
}

fn a_change_appears_without_a_key(listen: bool) {
    if !tmux_available() {
        return;
    }
    let _one = one_at_a_time();
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    let name = if listen { "live-listen" } else { "live-poll" };
    let s = bob_tui(name, &bob, listen);
    let before = s.history();
    assert!(before.contains("shared · synced"), "{before}");
    assert!(!before.contains("FROM_ALICE"), "{before}");

    alice.ok(
        &["add", "FROM_ALICE", "-d", "added-while-bob-looks"],
        Some(b"value-from-alice-0815"),
    );
    let screen = screen_with(&s, "FROM_ALICE", 20);
    assert!(screen.contains("added-while-bob-looks"), "{screen}");
    assert!(screen.contains("changed by alice, reloaded"), "{screen}");
    assert!(
        !screen.contains("value-from-alice-0815"),
        "a value is on screen:\n{screen}"
    );

    // A second change, once more without a key: the watcher keeps watching.
    alice.ok(&["rm", "DATABASE_URL", "--yes"], None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.history().contains("DATABASE_URL") {
        assert!(
            Instant::now() < deadline,
            "the removal never reached the open TUI:\n{}",
            s.history()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s.keys(&["q"]);
    s.settle(2);
}

#[test]
fn a_change_by_another_member_appears_in_the_open_tui_by_notification() {
    a_change_appears_without_a_key(true);
}

#[test]
fn with_listen_turned_off_polling_alone_brings_the_change() {
    a_change_appears_without_a_key(false);
}

#[test]
fn the_server_going_away_and_coming_back_shows_in_the_header_and_changes_flow_again() {
    if !tmux_available() {
        return;
    }
    let _one = one_at_a_time();
    let db = pg::database();
    let (alice, bob) = alice_and_bob(&db);
    let s = bob_tui("live-fault", &bob, true);
    screen_with(&s, "shared · synced", 20);

    pg::cluster().pause();
    let screen = screen_with(&s, "shared · offline · data from", 20);
    assert!(
        screen.contains("DATABASE_URL"),
        "the table went away:\n{screen}"
    );
    pg::cluster().resume();

    // Back (the watcher retries with back-off), and a change reaches the screen again.
    screen_with(&s, "shared · synced", 60);
    alice.ok(&["add", "AFTER_RESTART"], Some(b"v"));
    screen_with(&s, "AFTER_RESTART", 20);
    s.keys(&["q"]);
    s.settle(2);
}
