//! Review 5 (a real PostgreSQL server, see `common/postgres.rs`): what the last changes
//! left open outside the signature checks — the connection a write now takes from its
//! command's sync, and the wraps an admin records for the keys it made.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use member::Member;
use tresor::vault::NewSecret;

/// Review 5, item 3: `team_write` takes the connection kept in `Vault::team_link` by the
/// last sync, however old, without the five-second limit and the `is_closed` check that
/// `server::connect` applies to idle connections. A vault handle that lives on (the TUI
/// keeps one for the whole session) syncs, the server closes that session meanwhile (a
/// restart, `idle_session_timeout`, a pooler or a firewall dropping idle connections),
/// and the member's next change fails ("nothing was written", the replica rebuilt)
/// where the build before opened a new connection. Here the session is ended with
/// `pg_terminate_backend`.
#[test]
fn a_write_after_the_server_closed_the_kept_connection_opens_a_new_one() {
    let db = pg::database();
    let alice = member::team_of_alice(&db.url, Member::new());
    let bob = member::join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    let bob_lib = bob.open();
    assert!(bob_lib.team_sync().unwrap().is_some());
    let ended: Vec<postgres::Row> = db
        .client()
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert!(!ended.is_empty(), "the kept session was there to end");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let write = bob_lib.add(
        "default",
        "development",
        NewSecret {
            key: "AFTER_A_RESTART".into(),
            value: b"b".to_vec().into(),
            description: String::new(),
            kind: None,
        },
    );
    assert!(
        write.is_ok(),
        "a write on a live server fails because the kept connection was closed: {:?}",
        write.err().map(|e| e.to_string())
    );
    assert_eq!(alice.get("development", "AFTER_A_RESTART"), b"b");
}

/// Review 5, item 2: `record_made_wraps` records the wrap of a key this admin made only
/// when the admin has a wrap of it, and `env_rows` wraps a new key only to members who
/// read every environment. An admin limited to production (`--only-env`) who makes qa
/// keeps qa's key with no wrap recorded (follow_wraps never records one either: there
/// is none). When another admin removes qa and makes it again with a secret, the limited
/// admin's next sync rebuilds qa with the old key: the row does not open and the replica
/// is told the database was tampered with, on every sync from then on.
#[test]
fn an_admin_limited_to_some_environments_who_made_one_follows_it_being_made_again() {
    let db = pg::database();
    let alice = member::team_of_alice(&db.url, Member::new());
    let carol = member::join(
        &alice,
        &db.url,
        Member::new(),
        "carol",
        "admin",
        &["production"],
    );
    carol.ok(&["env", "add", "qa"], None);
    alice.ok(&["remote", "sync"], None);
    alice.ok(&["env", "rm", "qa", "--yes"], None);
    alice.ok(&["env", "add", "qa"], None);
    alice.ok(&["-e", "qa", "add", "IN_NEW_QA"], Some(b"new"));
    let sync = carol.run(&["remote", "sync"], None);
    let read = carol.run(&["-e", "production", "get", "STRIPE_LIVE_KEY"], None);
    assert_eq!(
        (sync.code, read.stdout.as_slice()),
        (0, &b"sk_live_prod_value_0815"[..]),
        "carol's replica is blocked by qa's old key (sync: {}; get: {})",
        sync.stderr,
        read.stderr
    );
}
