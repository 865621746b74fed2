//! Adding an environment of a team vault from the TUI, end to end: the real `tresor`
//! binary in tmux against a real PostgreSQL server (`common/postgres.rs`). Alice presses
//! `+`, names `qa`, unlocks her identity with the keyfile offered; bob's `remote sync`
//! then fetches the new environment's key and reads a secret she put there.

#![cfg(unix)]

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;
#[path = "common/shell.rs"]
mod shell;

use member::{Member, join, team_of_alice};
use shell::{Shell, tmux_available};

#[test]
fn an_admin_adds_an_environment_from_the_tui_and_a_member_reads_it() {
    if !tmux_available() {
        return;
    }
    let db = pg::database();
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);

    let state = alice.v.state_dir();
    let identity = alice.identity();
    let sh = Shell::start(
        "teamenv",
        &[
            ("TRESOR_VAULT", &alice.v.path),
            ("TRESOR_KEYFILE", alice.v.keyfile()),
            ("TRESOR_IDENTITY", &identity),
            ("XDG_STATE_HOME", &state),
        ],
    );
    sh.line("$T; echo EXIT=$?");
    sh.wait_for("DATABASE_URL");
    sh.keys(&["+"]);
    sh.wait_for("New environment in default");
    sh.keys(&["q", "a", "Enter"]);
    // The identity, with the keyfile that opened the vault offered.
    sh.wait_for("Adding environment default/qa needs this machine's identity");
    sh.keys(&["Enter"]);
    sh.wait_for("Added environment default/qa");
    sh.keys(&["q"]);
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("EXIT=0"), "{pane}");

    alice.ok(&["-e", "qa", "add", "QA_KEY"], Some(b"qa-value"));
    let out = bob.ok(&["remote", "sync"], None);
    assert!(out.stderr.contains("fetched the keys"), "{}", out.stderr);
    assert_eq!(bob.get("qa", "QA_KEY"), b"qa-value");
}
