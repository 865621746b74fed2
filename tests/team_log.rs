//! The team vault's commit log against a real PostgreSQL server: a team vault made before
//! the log is migrated by the first write and still read by replicas made before it; a
//! write rebases over another member's commit to other secrets and is refused over one
//! to the same secret; delta sync refuses a replayed row, a row the log does not name,
//! a dropped commit, and `remote sync --verify` finds an old row edited in place.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use member::Member;
use tresor::vault::NewSecret;

const FORMAT_1: [(&str, &str); 1] = [("TRESOR_TEST_TEAM_FORMAT", "1")];

/// Alice's vault and bob, a writer who joined it; with `format_1`, both as the build
/// before the commit log made them (server, replicas and the member add).
fn team(db: &pg::Db, format_1: bool) -> (Member, Member) {
    let env: &[(&str, &str)] = if format_1 { &FORMAT_1 } else { &[] };
    let alice = Member::new();
    alice.ok(&["add", "DATABASE_URL"], Some(b"postgres://dev"));
    alice.ok(&["add", "SHARED"], Some(b"shared-1"));
    alice.public_key();
    alice
        .run_with(&["remote", "init", &db.url, "--name", "alice"], None, env)
        .success();
    let bob = Member::new();
    let pk = bob.public_key();
    let token = alice
        .run_with(
            &["member", "add", "bob", &pk, "--role", "writer"],
            None,
            env,
        )
        .success()
        .text();
    bob.ok(&["remote", "join", &db.url, "--token", token.trim()], None);
    (alice, bob)
}

/// A new secret of this key and value, nothing else set.
fn secret(key: &str, value: &[u8]) -> NewSecret {
    NewSecret {
        key: key.into(),
        value: value.to_vec().into(),
        description: String::new(),
        kind: None,
    }
}

fn has_log(db: &pg::Db) -> bool {
    db.client()
        .query_one("SELECT to_regclass('tresor_commits') IS NOT NULL", &[])
        .unwrap()
        .get(0)
}

fn commits(db: &pg::Db) -> i64 {
    db.client()
        .query_one("SELECT count(*) FROM tresor_commits", &[])
        .unwrap()
        .get(0)
}

#[test]
fn a_team_vault_made_before_the_commit_log_is_migrated_by_the_first_write() {
    let db = pg::database();
    let (alice, bob) = team(&db, true);
    bob.run_with(&["add", "OLD_WRITE"], Some(b"format 1"), &FORMAT_1)
        .success();
    // The server is as the previous build left it: no log, a head with a state root;
    // this build reads it (verified the old way).
    assert!(!has_log(&db), "a format-1 server has no log");
    assert_eq!(alice.get("development", "OLD_WRITE"), b"format 1");
    let list = alice.ok(&["member", "list"], None).text();
    assert!(list.contains("bob\twriter"), "{list}");

    // The first write of this build migrates the server (a base commit naming every
    // row), then commits its own change on top.
    alice.ok(&["add", "AFTER"], Some(b"migrated"));
    assert!(has_log(&db));
    assert_eq!(commits(&db), 2);
    // Bob's replica, made before the migration, follows it...
    assert_eq!(bob.get("development", "AFTER"), b"migrated");
    assert_eq!(bob.get("development", "OLD_WRITE"), b"format 1");
    bob.ok(&["edit", "SHARED", "--value-stdin"], Some(b"shared-2"));
    assert_eq!(alice.get("development", "SHARED"), b"shared-2");
    assert_eq!(commits(&db), 3);
    // ...and the migrated state is whole.
    let out = bob.ok(&["remote", "sync", "--verify"], None);
    assert!(
        out.stderr.contains("matches the commit log at version 6"),
        "{}",
        out.stderr
    );
    // A database rolled back to before the migration is refused.
    let mut client = db.client();
    client
        .batch_execute("UPDATE tresor_vaults SET version = 4")
        .unwrap();
    let err = alice.err(&["get", "AFTER"], None);
    assert!(err.contains("older than version 6"), "{err}");
}

#[test]
fn removing_a_member_of_a_format_1_vault_rekeys_into_the_log() {
    let db = pg::database();
    let (alice, bob) = team(&db, true);
    assert!(!has_log(&db));
    alice.ok(&["member", "rm", "bob"], None);
    assert_eq!(commits(&db), 1, "the rekey is the log's base commit");
    alice.ok(&["remote", "sync", "--verify"], None);
    assert_eq!(alice.get("development", "SHARED"), b"shared-1");
    let err = bob.err(&["remote", "sync"], None);
    assert!(err.contains("no longer a member"), "{err}");
}

#[test]
fn a_write_rebases_over_another_members_commit_to_other_secrets() {
    let db = pg::database();
    let (alice, bob) = team(&db, false);
    let bob_lib = bob.open();
    assert!(bob_lib.team_sync().unwrap().is_some());
    // Alice commits after bob's replica synced; bob's change does not sync first.
    alice.ok(&["add", "FROM_ALICE"], Some(b"a"));
    bob_lib
        .add("default", "development", secret("FROM_BOB", b"b"))
        .expect("a commit to another secret is rebased over");
    // Both landed, and bob's replica holds alice's change without another sync.
    assert_eq!(alice.get("development", "FROM_BOB"), b"b");
    assert_eq!(
        bob.ok(&["--offline", "get", "FROM_ALICE"], None).stdout,
        b"a"
    );
    assert_eq!(bob.get("development", "FROM_ALICE"), b"a");

    // The same secret changed by both: the second write is refused, nothing is lost.
    alice.ok(&["edit", "SHARED", "--value-stdin"], Some(b"alice's"));
    bobs_edit_of_shared_is_refused(&bob_lib, &bob, &alice);
}

/// A long-lived handle, as the TUI's, leaves the replica's file free when a team write
/// ends, also when the change is refused before the server is asked; the state the
/// write leaves (its change, then the other members' commits) is recorded as seen once,
/// at its end, so the replica as it was before is an older copy.
#[test]
fn a_team_write_lets_go_of_the_replica_when_it_ends_and_records_what_it_left() {
    let db = pg::database();
    let (alice, bob) = team(&db, false);
    let bob_lib = bob.open();
    let err = bob_lib
        .add("default", "development", secret("SHARED", b"again"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("already"), "{err}");
    // Another process reads and writes the replica at once, the handle still open.
    assert_eq!(
        bob.ok(&["--offline", "get", "SHARED"], None).stdout,
        b"shared-1"
    );
    bob.ok(&["add", "FROM_BOB_CLI"], Some(b"cli"));
    assert!(bob_lib.team_sync().unwrap().is_some());

    let before = std::fs::read(&bob.v.path).unwrap();
    alice.ok(&["add", "FROM_ALICE"], Some(b"a"));
    bob_lib
        .add("default", "development", secret("FROM_BOB_LIB", b"lib"))
        .expect("rebased over alice's commit");
    std::fs::write(&bob.v.path, &before).unwrap();
    // (This handle keeps its marks apart from the processes', see `Member::open`.)
    let err = bob_lib
        .list("default", "development")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("older than the one this machine last saw"),
        "{err}"
    );
}

/// A writer verifies other members' commits before it locks the head row; one that
/// lands between that and the lock is fetched under the lock and rebased over, or
/// refuses the write when it changed the same secret.
#[test]
fn a_commit_landing_just_before_the_lock_is_rebased_over_or_refuses_the_write() {
    use tresor::vault::team::BEFORE_LOCK;
    let db = pg::database();
    let (alice, bob) = team(&db, false);
    let bob_lib = bob.open();
    assert!(bob_lib.team_sync().unwrap().is_some());
    // One commit before bob's write starts (verified before the lock), one between
    // that and the lock.
    alice.ok(&["add", "EARLIER"], Some(b"e"));
    let meanwhile = alice.cmd(&["add", "MEANWHILE"]);
    *BEFORE_LOCK.lock().unwrap() = Some(Box::new(move || {
        common::output(meanwhile, Some(b"m")).success();
    }));
    bob_lib
        .add("default", "development", secret("FROM_BOB", b"b"))
        .expect("rebased over both commits");
    assert!(BEFORE_LOCK.lock().unwrap().is_none(), "the hook ran");
    assert_eq!(alice.get("development", "FROM_BOB"), b"b");
    for (key, value) in [
        ("EARLIER", &b"e"[..]),
        ("MEANWHILE", b"m"),
        ("FROM_BOB", b"b"),
    ] {
        assert_eq!(
            bob.ok(&["--offline", "get", key], None).stdout,
            value,
            "{key} in bob's replica without another sync"
        );
    }
    bob.ok(&["remote", "sync", "--verify"], None);
    alice.ok(&["remote", "sync", "--verify"], None);

    // The secret bob changes, changed by alice between his check and his lock.
    let meanwhile = alice.cmd(&["edit", "SHARED", "--value-stdin"]);
    *BEFORE_LOCK.lock().unwrap() = Some(Box::new(move || {
        common::output(meanwhile, Some(b"alice's")).success();
    }));
    bobs_edit_of_shared_is_refused(&bob_lib, &bob, &alice);
}

/// Under the lock a writer reuses the member, wrap and environment rows it verified
/// before it, unless a commit since changed one: a member added between the check and
/// the lock is read and verified, and the write lands over it.
#[test]
fn a_member_added_just_before_the_lock_is_read_again_under_it() {
    use tresor::vault::team::BEFORE_LOCK;
    let db = pg::database();
    let (alice, bob) = team(&db, false);
    let bob_lib = bob.open();
    assert!(bob_lib.team_sync().unwrap().is_some());
    let carol = Member::new();
    let added = alice.cmd(&[
        "member",
        "add",
        "carol",
        &carol.public_key(),
        "--role",
        "reader",
    ]);
    *BEFORE_LOCK.lock().unwrap() = Some(Box::new(move || {
        common::output(added, None).success();
    }));
    bob_lib
        .add("default", "development", secret("AFTER_CAROL", b"c"))
        .expect("rebased over the member added");
    assert!(BEFORE_LOCK.lock().unwrap().is_none(), "the hook ran");
    let list = bob.ok(&["member", "list"], None).text();
    assert!(list.contains("carol\treader"), "{list}");
    assert_eq!(alice.get("development", "AFTER_CAROL"), b"c");
    bob.ok(&["remote", "sync", "--verify"], None);
    alice.ok(&["remote", "sync", "--verify"], None);
}

/// Review 7: while a team write waits on the server (a slow connect, the head row lock
/// held by another writer or by a database admin), another process on the machine
/// reads the replica, `--offline` too: the write does not keep the file open (redb's
/// exclusive lock) across the network. (A build that did made that read give up with
/// "busy" after redb's retries.)
#[test]
fn another_process_reads_the_replica_while_a_team_write_waits_on_the_server() {
    use tresor::vault::team::BEFORE_LOCK;
    let db = pg::database();
    let (_alice, bob) = team(&db, false);
    let bob_lib = bob.open();
    assert!(bob_lib.team_sync().unwrap().is_some());
    let read = bob.cmd(&["--offline", "get", "SHARED"]);
    let (tx, rx) = std::sync::mpsc::channel();
    *BEFORE_LOCK.lock().unwrap() = Some(Box::new(move || {
        // The server is slow to grant the head row's lock meanwhile.
        let out = common::output(read, None);
        tx.send((out.code, out.stdout, out.stderr)).unwrap();
    }));
    bob_lib
        .add("default", "development", secret("WHILE_READ", b"w"))
        .expect("the write goes on");
    let (code, stdout, stderr) = rx.recv().expect("the hook ran");
    assert_eq!(
        (code, stdout.as_slice()),
        (0, &b"shared-1"[..]),
        "another process's read while the write waited on the server: {stderr}"
    );
}

#[test]
fn a_large_change_by_another_member_is_applied_to_the_replica() {
    let db = pg::database();
    let (alice, bob) = team(&db, false);
    // 2,000 keys: many share a leaf of the replica's integrity tree.
    let many: String = (0..2000)
        .map(|i| format!("BULK_{i:04}=value-{i}\n"))
        .collect();
    bob.ok(&["import", "-"], Some(many.as_bytes()));
    assert_eq!(alice.get("development", "BULK_1999"), b"value-1999");
    let many: String = (0..2000)
        .map(|i| format!("BULK_{i:04}=new-{i}\n"))
        .collect();
    bob.ok(&["import", "--overwrite", "-"], Some(many.as_bytes()));
    alice.ok(&["rm", "BULK_0000", "--yes"], None);
    assert_eq!(bob.get("development", "BULK_0001"), b"new-1");
    assert_eq!(alice.get("development", "BULK_0002"), b"new-2");
    let err = bob.err(&["get", "BULK_0000"], None);
    assert!(err.contains("no secret `BULK_0000`"), "{err}");
    alice.ok(&["doctor"], None);
    bob.ok(&["remote", "sync", "--verify"], None);
}

/// A fresh team with alice and bob, bob's replica current, and the admin's client.
fn tampering() -> (pg::Db, Member, Member, postgres::Client) {
    let db = pg::database();
    let (alice, bob) = team(&db, false);
    alice.ok(&["add", "GONE"], Some(b"soon deleted"));
    assert_eq!(bob.get("development", "GONE"), b"soon deleted");
    let client = db.client();
    (db, alice, bob, client)
}

#[test]
fn delta_sync_refuses_a_replayed_row() {
    let (_db, alice, bob, mut client) = tampering();
    client
        .batch_execute("CREATE TABLE old_rows AS SELECT * FROM tresor_secrets")
        .unwrap();
    alice.ok(&["rm", "GONE", "--yes"], None);
    let err = bob.err(&["get", "GONE"], None);
    assert!(err.contains("no secret `GONE`"), "{err}");
    // The database puts the deleted row back, as it was.
    client
        .batch_execute(
            "INSERT INTO tresor_secrets SELECT * FROM old_rows o WHERE NOT EXISTS
             (SELECT 1 FROM tresor_secrets s WHERE s.env = o.env AND s.secret = o.secret)",
        )
        .unwrap();
    // Every writer refuses it (the head's row count), and so does a whole check.
    let err = alice.err(&["add", "NEXT"], Some(b"x"));
    assert!(err.contains("failed verification"), "{err}");
    let err = bob.err(&["remote", "sync", "--verify"], None);
    assert!(err.contains("failed verification"), "{err}");
}

#[test]
fn delta_sync_refuses_a_row_the_log_does_not_name_and_a_dropped_commit() {
    let (db, alice, bob, mut client) = tampering();
    // A row stamped as written by the next commit, which does not name it.
    alice.ok(&["add", "NEXT"], Some(b"x"));
    client
        .batch_execute(
            "UPDATE tresor_secrets SET version = (SELECT version FROM tresor_vaults)
             WHERE ctid = (SELECT min(ctid) FROM tresor_secrets
                           WHERE version < (SELECT version FROM tresor_vaults))",
        )
        .unwrap();
    let err = bob.err(&["get", "NEXT"], None);
    assert!(err.contains("failed verification"), "{err}");

    // A commit dropped from the middle of the log.
    let (_db2, alice2, bob2, mut client2) = tampering();
    alice2.ok(&["add", "ONE"], Some(b"1"));
    alice2.ok(&["add", "TWO"], Some(b"2"));
    client2
        .batch_execute(
            "DELETE FROM tresor_commits WHERE version = (SELECT version - 1 FROM tresor_vaults)",
        )
        .unwrap();
    let err = bob2.err(&["get", "TWO"], None);
    assert!(err.contains("failed verification"), "{err}");
    drop(db);
}

#[test]
fn verify_finds_an_old_row_edited_in_place() {
    let (_db, _alice, bob, mut client) = tampering();
    // Two values swapped without touching the head: a read of an unchanged head
    // trusts its replica, the whole-state check does not.
    client
        .batch_execute(
            "UPDATE tresor_secrets SET value = (SELECT value FROM tresor_secrets ORDER BY secret DESC LIMIT 1)
             WHERE secret = (SELECT secret FROM tresor_secrets ORDER BY secret ASC LIMIT 1)",
        )
        .unwrap();
    assert_eq!(bob.get("development", "GONE"), b"soon deleted");
    let err = bob.err(&["remote", "sync", "--verify"], None);
    assert!(err.contains("failed verification"), "{err}");
}

/// Bob's edit of SHARED, which alice changed after bob's replica last saw it: refused,
/// saying who changed it, nothing written, and bob's replica rebuilt with alice's value.
#[track_caller]
fn bobs_edit_of_shared_is_refused(bob_lib: &tresor::vault::Vault, bob: &Member, alice: &Member) {
    let err = bob_lib
        .edit(
            "default",
            "development",
            "SHARED",
            tresor::vault::SecretEdit {
                value: Some(b"bob's".to_vec().into()),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("changed by alice"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(alice.get("development", "SHARED"), b"alice's");
    assert_eq!(
        bob.ok(&["--offline", "get", "SHARED"], None).stdout,
        b"alice's",
        "bob's replica was rebuilt from the server"
    );
}

/// Review 8: a database admin drops a NOT NULL and sets a column of the member, wrap,
/// environment or verifying-key rows to NULL: every member's `tresor` says the database
/// was changed outside tresor (a build that read them with `Row::get` crashed, exit 101).
#[test]
fn a_null_in_a_small_row_is_refused_not_a_crash() {
    let (_db, _alice, bob, mut client) = tampering();
    for (table, column) in [
        ("tresor_wraps", "enc"),
        ("tresor_members", "sealed"),
        ("tresor_environments", "sealed"),
    ] {
        client
            .batch_execute(&format!(
                "CREATE TABLE saved AS SELECT * FROM {table};
                 ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL;
                 UPDATE {table} SET {column} = NULL"
            ))
            .unwrap();
        let out = bob.run(&["remote", "sync", "--verify"], None);
        assert!(
            out.code != 0 && out.code != 101 && !out.stderr.contains("panicked"),
            "{table}.{column} NULL: exit {}: {}",
            out.code,
            out.stderr
        );
        client
            .batch_execute(&format!(
                "DELETE FROM {table}; INSERT INTO {table} SELECT * FROM saved; DROP TABLE saved;
                 ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL"
            ))
            .unwrap();
    }
}
