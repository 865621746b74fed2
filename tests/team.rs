//! The team vault against a real PostgreSQL server (a throwaway cluster, see
//! `common/postgres.rs`): members share secrets, least privilege holds with the whole
//! database in hand, the database holds no plaintext, and a database changed outside
//! tresor (rows edited, moved, dropped, rolled back, a member inserted) is refused.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use common::*;
use member::Member;

/// Alice's vault with secrets in development and production, put on the server.
fn team_of_alice(db: &pg::Db) -> Member {
    member::team_of_alice(&db.url, Member::new())
}

/// A new member with an empty vault, added by `admin` and joined.
fn join(admin: &Member, db: &pg::Db, name: &str, role: &str, only: &[&str]) -> Member {
    member::join(admin, &db.url, Member::new(), name, role, only)
}

#[test]
fn members_share_secrets_and_changes_reach_each_other() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    assert_eq!(
        bob.get("development", "DATABASE_URL"),
        b"postgres://dev-value-4711"
    );
    assert_eq!(
        bob.get("production", "STRIPE_LIVE_KEY"),
        b"sk_live_prod_value_0815"
    );

    // A change by bob reaches alice's next read, and the other way round.
    bob.ok(&["add", "API_TOKEN"], Some(b"from-bob"));
    assert_eq!(alice.get("development", "API_TOKEN"), b"from-bob");
    alice.ok(&["edit", "API_TOKEN", "--value-stdin"], Some(b"from-alice"));
    assert_eq!(bob.get("development", "API_TOKEN"), b"from-alice");
    alice.ok(&["rm", "API_TOKEN", "--yes"], None);
    let err = bob.err(&["get", "API_TOKEN"], None);
    assert!(err.contains("no secret `API_TOKEN`"), "{err}");
    bob.ok(&["import", "-"], Some(b"A=1\nB=2\n"));
    assert_eq!(alice.get("development", "B"), b"2");

    // History is kept by the replica that made the change, and survives another
    // member's change being synced in.
    alice.ok(&["add", "C"], Some(b"from-alice-1"));
    alice.ok(&["edit", "C", "--value-stdin"], Some(b"from-alice-2"));
    bob.ok(&["edit", "B", "--value-stdin"], Some(b"3"));
    assert_eq!(alice.get("development", "B"), b"3");
    assert_eq!(alice.get("development", "C"), b"from-alice-2");
    let history = alice.ok(&["history", "C"], None).text();
    assert!(history.contains("2 (current)"), "{history}");
    alice.ok(&["doctor"], None);

    // run and export read the same replica.
    let out = alice.ok(&["run", "--", "sh", "-c", "printf %s \"$A\""], None);
    assert_eq!(out.stdout, b"1");

    let list = alice.ok(&["member", "list"], None).text();
    assert!(
        list.contains("alice (you)\tadmin\tall environments"),
        "{list}"
    );
    assert!(list.contains("bob\twriter\tall environments"), "{list}");
}

#[test]
fn least_privilege_is_cryptographic_and_readers_cannot_write() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
    assert_eq!(
        ci.get("production", "STRIPE_LIVE_KEY"),
        b"sk_live_prod_value_0815"
    );
    // Development is not in its replica, and it is told so (not that it is empty)...
    let err = ci.err(&["-e", "development", "get", "DATABASE_URL"], None);
    assert!(
        err.contains("you have no access to default/development")
            && err.ends_with("your membership is limited to production"),
        "{err}"
    );
    let err = ci.err(&["-e", "development", "list"], None);
    assert!(
        err.contains("you have no access to default/development"),
        "{err}"
    );
    let envs = ci.ok(&["env", "list"], None).text();
    assert!(envs.contains("development\tno access\n"), "{envs}");
    assert!(envs.contains("production\t1 secret\n"), "{envs}");
    // ...and the database holds no key of development's for it: only the vault key and
    // production's key are wrapped to it.
    let mut client = db.client();
    let rows = client
        .query(
            "SELECT member, count(*) FROM tresor_wraps GROUP BY member ORDER BY count(*)",
            &[],
        )
        .unwrap();
    let counts: Vec<i64> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(
        counts,
        vec![2, 4],
        "ci-prod: vault + production; alice: vault + 3 envs"
    );
    // A reader is refused writes by its client, and nothing changes.
    let err = ci.err(&["-e", "production", "add", "X"], Some(b"y"));
    assert!(err.contains("you are a reader"), "{err}");
    let err = ci.err(
        &[
            "member",
            "add",
            "eve",
            &Member::new().public_key(),
            "--role",
            "admin",
        ],
        None,
    );
    assert!(err.contains("only an admin"), "{err}");
    assert_eq!(
        alice
            .ok(&["-e", "production", "list", "--json"], None)
            .text()
            .matches("\"key\"")
            .count(),
        1
    );
}

#[test]
fn the_database_holds_no_plaintext() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let _bob = join(&alice, &db, "bob-the-member", "writer", &["development"]);
    let dump = db.dump();
    for needle in [
        &b"postgres://dev-value-4711"[..],
        b"sk_live_prod_value_0815",
        b"DATABASE_URL",
        b"STRIPE_LIVE_KEY",
        b"primary-database-note",
        b"bob-the-member",
        b"production",
        b"development",
    ] {
        assert!(
            !contains(&dump, needle),
            "pg_dump holds {:?}",
            String::from_utf8_lossy(needle)
        );
    }
    assert!(
        contains(&dump, b"tresor_secrets"),
        "the dump is of the right database"
    );
}

#[test]
fn a_row_edited_or_moved_by_the_database_is_refused() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let mut client = db.client();
    // Move production's value ciphertext onto development's secret.
    client
        .batch_execute(
            "UPDATE tresor_secrets SET value = (SELECT value FROM tresor_secrets ORDER BY env DESC LIMIT 1)
             WHERE secret = (SELECT secret FROM tresor_secrets ORDER BY env ASC LIMIT 1)",
        )
        .unwrap();
    // Make bob's replica fetch: bump the version column as a new write would.
    client
        .batch_execute("UPDATE tresor_vaults SET version = version + 1")
        .unwrap();
    let err = bob.err(&["get", "DATABASE_URL"], None);
    assert!(err.contains("failed verification"), "{err}");
}

#[test]
fn a_dropped_row_or_a_member_inserted_by_a_database_admin_is_refused() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    bob.ok(&["add", "NEW_ONE"], Some(b"v"));
    let mut client = db.client();
    // A member row copied under a new id (as a db admin granting access would).
    client
        .batch_execute(
            "INSERT INTO tresor_members SELECT vault, '\\x00112233445566778899aabbccddeeff', sealed
             FROM tresor_members LIMIT 1",
        )
        .unwrap();
    let err = alice.err(&["member", "list"], None);
    assert!(err.contains("failed verification"), "{err}");
    let err = alice.err(&["add", "MORE"], Some(b"x"));
    assert!(err.contains("failed verification"), "{err}");
    client
        .batch_execute(
            "DELETE FROM tresor_members WHERE member = '\\x00112233445566778899aabbccddeeff'",
        )
        .unwrap();
    // Now a dropped secret.
    client
        .batch_execute(
            "DELETE FROM tresor_secrets WHERE ctid = (SELECT min(ctid) FROM tresor_secrets)",
        )
        .unwrap();
    client
        .batch_execute("UPDATE tresor_vaults SET version = version + 1")
        .unwrap();
    let err = bob.err(&["list"], None);
    assert!(err.contains("failed verification"), "{err}");
}

#[test]
fn a_database_restored_to_an_older_state_is_refused() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let mut client = db.client();
    let tables = ["vaults", "members", "wraps", "environments", "secrets"];
    for t in tables {
        client
            .batch_execute(&format!(
                "CREATE TABLE backup_{t} AS SELECT * FROM tresor_{t}"
            ))
            .unwrap();
    }
    bob.ok(&["add", "ROTATED"], Some(b"new"));
    assert_eq!(alice.get("development", "ROTATED"), b"new");
    for t in tables {
        client
            .batch_execute(&format!(
                "DELETE FROM tresor_{t}; INSERT INTO tresor_{t} SELECT * FROM backup_{t}"
            ))
            .unwrap();
    }
    let err = alice.err(&["get", "ROTATED"], None);
    assert!(err.contains("older than version"), "{err}");
    let err = bob.err(&["add", "X"], Some(b"y"));
    assert!(err.contains("older than version"), "{err}");
}

#[test]
fn concurrent_writers_lose_no_update() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    // Bob's replica synced, then alice writes: bob's next write syncs first and works.
    alice.ok(&["add", "ONE"], Some(b"1"));
    bob.ok(&["add", "TWO"], Some(b"2"));
    assert_eq!(alice.get("development", "TWO"), b"2");
    assert_eq!(bob.get("development", "ONE"), b"1");
    // Several writers at once: every write either lands or fails saying so; none is lost.
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let m = if i % 2 == 0 { &alice } else { &bob };
            let cmd = |k: String| {
                let mut c = m.v.cmd(&["add", &k]);
                c.env("TRESOR_IDENTITY", m.identity());
                c
            };
            (0..3)
                .map(|j| (format!("K{i}_{j}"), cmd(format!("K{i}_{j}"))))
                .collect::<Vec<_>>()
        })
        .collect();
    let handles: Vec<_> = writers
        .into_iter()
        .map(|cmds| {
            std::thread::spawn(move || {
                let mut landed = Vec::new();
                for (key, cmd) in cmds {
                    let out = output(cmd, Some(b"v"));
                    if out.code == 0 {
                        landed.push(key);
                    } else {
                        assert!(
                            out.stderr.contains("nothing was written")
                                || out.stderr.contains("busy"),
                            "{}",
                            out.stderr
                        );
                    }
                }
                landed
            })
        })
        .collect();
    let landed: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(!landed.is_empty());
    let listed = alice.ok(&["list", "--json"], None).text();
    for key in &landed {
        assert!(
            listed.contains(&format!("\"{key}\"")),
            "{key} was lost: {listed}"
        );
    }
}

#[test]
fn offline_reads_say_how_old_and_writes_fail_clearly() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let mut client = pg::database().client();
    client
        .batch_execute(&format!(
            "ALTER DATABASE {} RENAME TO {}_away",
            db.name, db.name
        ))
        .unwrap();
    let out = bob.ok(&["get", "DATABASE_URL"], None);
    assert_eq!(out.stdout, b"postgres://dev-value-4711");
    // The server answered: it has no such database now.
    assert!(
        out.stderr.contains("refused the login") && out.stderr.contains("does not exist"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("last synced"), "{}", out.stderr);
    let err = bob.err(&["add", "X"], Some(b"y"));
    assert!(err.contains("nothing was changed"), "{err}");
    // --offline: the replica as it is, without trying the server or warning.
    let out = bob.ok(&["--offline", "get", "DATABASE_URL"], None);
    assert_eq!(out.stdout, b"postgres://dev-value-4711");
    assert_eq!(out.stderr, "");
    client
        .batch_execute(&format!(
            "ALTER DATABASE {}_away RENAME TO {}",
            db.name, db.name
        ))
        .unwrap();
    let err = bob.err(&["get", "X"], None);
    assert!(err.contains("no secret `X`"), "{err}");
    // With the server up, --offline still never writes past it.
    let err = bob.err(&["--offline", "add", "X"], Some(b"y"));
    assert!(
        err.contains("without --offline (nothing was changed)"),
        "{err}"
    );
    let err = alice.err(&["get", "X"], None);
    assert!(err.contains("no secret `X`"), "{err}");
}

#[test]
fn a_token_for_someone_else_or_a_bad_key_is_refused() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = Member::new();
    let pk = bob.public_key();
    let token = alice
        .ok(&["member", "add", "bob", &pk, "--role", "writer"], None)
        .text();
    let mallory = Member::new();
    mallory.public_key();
    let err = mallory.err(&["remote", "join", &db.url, "--token", token.trim()], None);
    assert!(err.contains("do not open with this identity"), "{err}");
    // The URL of a database without tresor's tables: said so, not as SQL.
    let empty = pg::database();
    let err = bob.err(
        &["remote", "join", &empty.url, "--token", token.trim()],
        None,
    );
    assert!(err.contains("this database holds no team vault"), "{err}");
    let err = alice.err(
        &["member", "add", "x", "tresor1zz", "--role", "writer"],
        None,
    );
    assert!(err.contains("not a tresor public key"), "{err}");
    let err = alice.err(&["member", "add", "bob2", &pk, "--role", "writer"], None);
    assert!(err.contains("already a member"), "{err}");
}

#[test]
fn removing_a_member_rekeys_and_names_the_values_to_rotate() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
    let mut client = db.client();
    let values = |c: &mut postgres::Client| -> Vec<Vec<u8>> {
        c.query("SELECT value FROM tresor_secrets", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let before = values(&mut client);

    let out = alice.ok(&["member", "rm", "ci-prod"], None);
    assert_eq!(out.text(), "default/production/STRIPE_LIVE_KEY\n");
    assert!(
        out.stderr.contains("epoch 2, 2 values re-encrypted"),
        "{}",
        out.stderr
    );

    // Every value is a new ciphertext under a new key; no key is wrapped to ci-prod.
    let after = values(&mut client);
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|v| !before.contains(v)));
    let wraps: i64 = client
        .query_one("SELECT count(*) FROM tresor_wraps", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        wraps,
        4 + 4,
        "alice and bob: vault key + 3 environments each"
    );

    // The removed member is told so by its next command; the others fetch their new
    // keys and go on.
    let err = ci.err(&["-e", "production", "get", "STRIPE_LIVE_KEY"], None);
    assert!(err.contains("no longer a member"), "{err}");
    let err = ci.err(&["remote", "sync"], None);
    assert!(err.contains("no longer a member"), "{err}");
    assert!(
        err.contains("`tresor remote leave` makes it a local vault"),
        "{err}"
    );
    // Where it stood is still said; leaving says it had been removed.
    ci.ok(&["remote", "status"], None);
    let out = ci.ok(&["remote", "leave"], None);
    assert!(
        out.stderr.contains("An admin had removed you already"),
        "{}",
        out.stderr
    );
    // Bob's identity not where his vault's credential opens it (here: not found): his
    // read shows his copy saying why, a change waits for `remote sync`.
    let elsewhere = [("TRESOR_IDENTITY", "/nonexistent/identity")];
    let out = bob
        .run_with(&["get", "DATABASE_URL"], None, &elsewhere)
        .success();
    assert_eq!(out.stdout, b"postgres://dev-value-4711");
    assert!(
        out.stderr
            .contains("rekeyed (a member was removed): showing the local copy")
            && out
                .stderr
                .contains("`tresor remote sync` fetches the new keys"),
        "{}",
        out.stderr
    );
    let err = bob
        .run_with(&["add", "WAITS"], Some(b"w"), &elsewhere)
        .failure()
        .error();
    assert!(
        err.contains("rekeyed") && err.contains("remote sync"),
        "{err}"
    );
    // With it (opened by the keyfile that opens his vault, as a server's is), the next
    // read fetches the new keys itself.
    let out = bob.ok(&["get", "DATABASE_URL"], None);
    assert_eq!(out.stdout, b"postgres://dev-value-4711");
    assert!(
        out.stderr
            .contains("fetched the new keys of the rekeyed team vault"),
        "{}",
        out.stderr
    );
    bob.ok(&["remote", "sync"], None);
    bob.ok(&["add", "AFTER"], Some(b"rekey"));
    assert_eq!(alice.get("development", "AFTER"), b"rekey");
    let list = alice.ok(&["member", "list"], None).text();
    assert!(!list.contains("ci-prod"), "{list}");
    let err = bob.err(&["member", "rm", "alice"], None);
    assert!(err.contains("only an admin"), "{err}");
}

#[test]
fn status_says_where_it_stands_and_a_vault_is_shared_once() {
    // Catalog changes on a team vault: tests/team_catalog.rs.
    let db = pg::database();
    let alice = team_of_alice(&db);
    let status = alice.ok(&["remote", "status"], None).text();
    assert!(status.contains("role: admin\nversion: 1\n"), "{status}");
    let err = alice.err(&["remote", "init", &db.url], None);
    assert!(err.contains("already a team vault"), "{err}");
}

/// Review 6: a member limited to production asks for an environment of the team it has
/// no key of, right after `tresor remote sync`. The "no environment" hint tells it that
/// an environment an admin added reaches its copy at `remote sync`, which it just ran and
/// which cannot help: it has no access there (the replica reads the environment's record
/// with the vault key and skips it for want of its key).
#[test]
fn a_limited_member_is_not_sent_to_remote_sync_for_an_environment_it_has_no_access_to() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
    alice.ok(&["env", "add", "qa"], None);
    alice.ok(&["-e", "qa", "add", "QA_KEY"], Some(b"qa-value"));
    ci.ok(&["remote", "sync"], None);
    let err = ci.err(&["-e", "qa", "get", "QA_KEY"], None);
    assert!(
        !err.contains("tresor remote sync") || err.contains("no access"),
        "{err}"
    );
}

#[test]
fn a_member_leaves_and_keeps_a_local_vault_and_the_only_admin_is_held_back() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let out = bob.ok(&["remote", "leave"], None);
    assert!(
        out.stderr.contains("no longer follows the team vault at")
            && out.stderr.contains("secrets as last synced stay in it")
            && out
                .stderr
                .contains("still a member until an admin removes you"),
        "{}",
        out.stderr
    );
    let dir = bob.v.dir.path();
    let team_files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".team"))
        .collect();
    assert!(team_files.is_empty(), "left behind: {team_files:?}");
    // A local vault now: its secrets as last synced, its changes its own.
    assert_eq!(
        bob.get("development", "DATABASE_URL"),
        b"postgres://dev-value-4711"
    );
    bob.ok(&["add", "ONLY_BOBS"], Some(b"local"));
    let err = alice.err(&["get", "ONLY_BOBS"], None);
    assert!(err.contains("no secret `ONLY_BOBS`"), "{err}");
    let err = bob.err(&["remote", "status"], None);
    assert!(err.contains("not a team vault"), "{err}");
    let err = bob.err(&["remote", "leave"], None);
    assert!(err.contains("not a team vault"), "{err}");
    // The membership is an admin's to end.
    let list = alice.ok(&["member", "list"], None).text();
    assert!(list.contains("bob\twriter"), "{list}");
    alice.ok(&["member", "rm", "bob"], None);

    // The only admin is held back: nobody could add or remove members after.
    let err = alice.err(&["remote", "leave"], None);
    assert!(
        err.contains("only admin") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        alice.get("development", "DATABASE_URL"),
        b"postgres://dev-value-4711"
    );
    let out = alice.ok(&["remote", "leave", "--force"], None);
    assert!(
        out.stderr
            .contains("no admin with a copy now: nobody can add or remove its members"),
        "{}",
        out.stderr
    );
    alice.ok(&["add", "AFTER_LEAVING"], Some(b"x"));
}

/// Review 9: a member limited to production asks for development, of which no key waits
/// for it (a limited member is never sent the key of another environment): it is told
/// what it is limited to, and not sent to a `tresor remote sync` that cannot help (a
/// build that could not tell said "…, or its key waits (`tresor remote sync` fetches it)").
#[test]
fn review9_a_limited_member_with_no_key_waiting_is_not_sent_to_remote_sync() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
    ci.ok(&["remote", "sync"], None);
    let err = ci.err(&["-e", "development", "get", "DATABASE_URL"], None);
    assert!(
        err.contains("you have no access to default/development")
            && err.contains("limited to production")
            && !err.contains("remote sync"),
        "{err}"
    );
}

/// Review 9: `remote leave` with one secret left says the verb in the singular.
#[test]
fn review9_the_leave_note_agrees_with_one_secret() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
    let out = ci.ok(&["remote", "leave"], None);
    assert!(
        out.stderr.contains("1 secret as last synced stays in it"),
        "{}",
        out.stderr
    );
}
