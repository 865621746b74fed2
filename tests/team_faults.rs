//! The team server stops and restarts mid-operation (each test on a cluster of its own,
//! stopped with `pg_ctl -m immediate`, as a crash or a pulled cable would): a write
//! fails clearly and loses nothing, reads go on from the replica saying how old it is,
//! and after a restart the next write and sync work; a large import cut off by the
//! server's death is on the server whole or not at all, and the replicas agree with it.
//! A session the server ended under a long-lived handle (the TUI's) is replaced.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use std::time::{Duration, Instant};

use member::{Member, join, team_of_alice};

#[test]
fn a_stopped_server_refuses_writes_keeps_reads_and_a_restart_heals() {
    let c = pg::own_cluster();
    let db = c.database();
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    let before = bob.v.bytes();

    c.kill();
    let err = bob.err(&["add", "WHILE_DOWN"], Some(b"x"));
    assert!(
        err.contains("cannot be reached") && err.contains("nothing was changed"),
        "{err}"
    );
    let err = bob.err(&["edit", "DATABASE_URL", "--value-stdin"], Some(b"new"));
    assert!(err.contains("nothing was changed"), "{err}");
    // Reads go on from the replica, saying how old it is; nothing of the refused
    // writes is in it.
    let out = bob.ok(&["get", "DATABASE_URL"], None);
    assert_eq!(out.stdout, b"postgres://dev-value-4711");
    assert!(out.stderr.contains("last synced"), "{}", out.stderr);
    assert!(!bob.keys("development").contains(&"WHILE_DOWN".to_string()));
    assert_eq!(
        bob.v.bytes().len(),
        before.len(),
        "the refused writes changed the replica"
    );

    c.resume();
    bob.ok(&["add", "AFTER_RESTART"], Some(b"y"));
    assert_eq!(alice.get("development", "AFTER_RESTART"), b"y");
    assert_eq!(
        alice.get("development", "DATABASE_URL"),
        b"postgres://dev-value-4711"
    );
    bob.ok(&["remote", "sync"], None);
    alice.ok(&["doctor"], None);
}

/// Waits until the server is inside one of tresor's write transactions, or the command
/// ended; true when it caught the transaction.
fn wait_for_write(db: &pg::Db, child: &mut std::process::Child) -> bool {
    let mut admin = db.client();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
                 AND datname = current_database() AND backend_xid IS NOT NULL",
                &[],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

#[test]
fn a_server_killed_during_a_large_import_keeps_all_or_nothing() {
    let c = pg::own_cluster();
    let db = c.database();
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    let mut input = String::new();
    for i in 0..10_000 {
        input.push_str(&format!("IMPORTED_{i:05}=value-{i}\n"));
    }
    let mut cmd = bob.cmd(&["import", "-"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
    }
    let caught = wait_for_write(&db, &mut child);
    c.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if caught {
        assert!(
            !out.status.success(),
            "the import went through a dead server"
        );
        assert!(stderr.contains("team server"), "{stderr}");
    }
    // In between, reads go on from the replica, saying how old it is; bob's replica,
    // which made the change, says it may hold what the server lacks.
    let read = alice.ok(&["get", "DATABASE_URL"], None);
    assert!(read.stderr.contains("last synced"), "{}", read.stderr);
    if caught {
        let read = bob.ok(&["get", "DATABASE_URL"], None);
        assert!(
            read.stderr.contains("may not have reached the server"),
            "{}",
            read.stderr
        );
    }

    c.resume();
    bob.ok(&["remote", "sync"], None);
    let on_server = alice.keys("development");
    let imported = on_server
        .iter()
        .filter(|k| k.starts_with("IMPORTED_"))
        .count();
    assert!(
        imported == 0 || imported == 10_000,
        "{imported} of 10,000 imported secrets are on the server"
    );
    if caught {
        assert_eq!(imported, 0, "the cut-off import was committed");
    }
    assert_eq!(
        bob.keys("development"),
        on_server,
        "bob's replica disagrees"
    );
    // And the team goes on.
    bob.ok(&["add", "NEXT"], Some(b"n"));
    assert_eq!(alice.get("development", "NEXT"), b"n");
}

/// Review 5: `team_write` takes the connection kept in `Vault::team_link` by the
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
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
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
        tresor::vault::NewSecret {
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

/// Leaving while the server is away: the entries still queued are said, and stay in
/// this machine's log; the secrets stay as last synced.
#[test]
fn leaving_while_the_server_is_away_says_what_did_not_reach_it() {
    let c = pg::own_cluster();
    let db = c.database();
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    c.kill();
    bob.ok(&["get", "DATABASE_URL"], None);
    bob.ok(&["--offline", "get", "DATABASE_URL"], None);
    let out = bob.ok(&["remote", "leave"], None);
    assert!(
        out.stderr
            .contains("audit entries recorded while the server was away did not reach it"),
        "{}",
        out.stderr
    );
    let log = bob.ok(&["audit", "--mine"], None).text();
    assert!(log.matches("  get ").count() >= 2, "{log}");
    assert!(log.contains("remote leave"), "{log}");
    assert_eq!(
        bob.ok(&["get", "DATABASE_URL"], None).stdout,
        b"postgres://dev-value-4711"
    );
    c.resume();
}
