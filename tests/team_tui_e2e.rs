//! The Members screen end to end: the real `tresor` binary in tmux, against a real
//! PostgreSQL server (the throwaway cluster of `common/postgres.rs`). Alice opens the
//! Members screen of her team vault, removes bob through the dialog (focus on Cancel,
//! then Remove, then her identity), sees the values to rotate, and `tresor member list`
//! afterwards no longer names bob.

#![cfg(unix)]

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;
#[path = "common/shell.rs"]
mod shell;

use member::Member;
use shell::{Shell, tmux_available};

/// Waits until `needle` is no longer on the screen (a dialog closed).
fn gone(sh: &Shell, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while sh.history().contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "{needle:?} stays on screen:\n{}",
            sh.history()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Alice's team vault on `db`, with one secret.
fn team_of_alice(db: &pg::Db) -> Member {
    let alice = Member::new();
    alice.ok(&["add", "DATABASE_URL"], Some(b"postgres://dev-value-4711"));
    alice.public_key();
    alice.ok(&["remote", "init", &db.url, "--name", "alice"], None);
    alice
}

#[test]
fn removing_a_member_from_the_members_screen() {
    if !tmux_available() {
        return;
    }
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = Member::new();
    let pk = bob.public_key();
    let token = alice
        .ok(&["member", "add", "bob", &pk, "--role", "writer"], None)
        .text();
    bob.ok(&["remote", "join", &db.url, "--token", token.trim()], None);

    let state = alice.v.state_dir();
    let identity = alice.identity();
    let sh = Shell::start(
        "members",
        &[
            ("TRESOR_VAULT", &alice.v.path),
            ("TRESOR_KEYFILE", alice.v.keyfile()),
            ("TRESOR_IDENTITY", &identity),
            ("XDG_STATE_HOME", &state),
        ],
    );
    sh.line("$T; echo EXIT=$?");
    sh.wait_for("DATABASE_URL");
    sh.keys(&["M"]);
    sh.wait_for("Members · 2");
    sh.wait_for("alice (you)");
    sh.keys(&["j", "d"]);
    sh.wait_for("Remove bob (writer, every environment)");
    // Focus starts on Cancel: Enter keeps bob.
    sh.keys(&["Enter"]);
    gone(&sh, "Remove bob");
    sh.keys(&["d"]);
    sh.wait_for("Remove bob (writer");
    sh.keys(&["y"]);
    // The identity, with the keyfile that opened the vault offered.
    sh.wait_for("Removing bob needs this machine's identity");
    sh.keys(&["Enter"]);
    sh.wait_for("bob could read 1 value:");
    // Drawn after that line: the one value bob could read, to rotate.
    sh.wait_for("default/development/DATABASE_URL");
    sh.keys(&["Escape"]);
    // The list shows through as soon as the popup closes (a key sent at once after
    // Escape would read as Alt and that key).
    gone(&sh, "could read");
    sh.wait_for("Members · 1");
    // Back to the secrets (M again), then quit.
    sh.keys(&["M"]);
    gone(&sh, "Members ·");
    sh.keys(&["q"]);
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("EXIT=0"), "{pane}");

    let list = alice.ok(&["member", "list"], None).text();
    assert!(list.contains("alice (you)\tadmin"), "{list}");
    assert!(!list.contains("bob"), "bob is still a member:\n{list}");
}

/// A member whose vault opens with a keyfile and whose identity has a passphrase of its
/// own joins in a terminal: the keyfile does not open the identity, so its passphrase is
/// asked for (a build that only tried the keyfile said "wrong passphrase or keyfile"
/// with no way forward).
#[test]
fn an_identity_with_its_own_passphrase_is_asked_for_beside_a_keyfile() {
    if !tmux_available() {
        return;
    }
    let db = pg::database();
    let alice = team_of_alice(&db);
    let carol = Member::new();
    // Made with a passphrase, not with her vault's keyfile.
    let mut made = common::tresor();
    made.args(["identity", "new", "--identity"])
        .arg(carol.identity())
        .env("TRESOR_PASSPHRASE", "carol's identity passphrase");
    let public = common::output(made, None).success().text();
    let token = alice
        .ok(
            &["member", "add", "carol", public.trim(), "--role", "reader"],
            None,
        )
        .text();

    let identity = carol.identity();
    let sh = Shell::start(
        "identity",
        &[
            ("TRESOR_VAULT", &carol.v.path),
            ("TRESOR_KEYFILE", carol.v.keyfile()),
            ("TRESOR_IDENTITY", &identity),
        ],
    );
    sh.line(&format!(
        "$T remote join '{}' --token '{}'; echo EXIT=$?",
        db.url,
        token.trim()
    ));
    sh.wait_for("Identity passphrase: ");
    sh.line("carol's identity passphrase");
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(
        pane.contains("joined: this vault is now a replica"),
        "{pane}"
    );
    assert_eq!(
        carol.get("development", "DATABASE_URL"),
        b"postgres://dev-value-4711"
    );
}
