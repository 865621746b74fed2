//! Member signatures on a real PostgreSQL server (a throwaway cluster, see
//! `common/postgres.rs`): a member whose client is modified, holding the vault key and
//! writing straight into the database, cannot make the others accept a write its role
//! does not allow; a writer's signed write is accepted; team vaults made before
//! signatures keep working and upgrade.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use common::*;
use member::Member;
use tresor::vault::team::forge::{self, ForgedSignature, Forgery};
use tresor::vault::team::records::Role;

/// Alice's vault with secrets in development and production, put on the server.
fn team_of_alice(db: &pg::Db) -> Member {
    member::team_of_alice(&db.url, Member::new())
}

/// A new member with an empty vault, added by `admin` and joined.
fn join(admin: &Member, db: &pg::Db, name: &str, role: &str, only: &[&str]) -> Member {
    member::join(admin, &db.url, Member::new(), name, role, only)
}

/// What a modified client of this member writes into the database.
#[track_caller]
fn forge(m: &Member, forgery: Forgery<'_>, signature: ForgedSignature) {
    m.open()
        .test_team_forge(forgery, signature)
        .expect("the database takes the forged write");
}

const PROD: (&str, &str, &str) = ("default", "production", "STRIPE_LIVE_KEY");

#[track_caller]
fn assert_refused(member: &Member, why: &str) {
    let err = member.err(&["-e", "production", "get", "STRIPE_LIVE_KEY"], None);
    assert!(err.contains("failed verification"), "{err}");
    assert!(err.contains(why), "{err}");
    // Nothing of the forged write reached the replica.
    let out = member.ok(
        &["--offline", "-e", "production", "get", "STRIPE_LIVE_KEY"],
        None,
    );
    assert_eq!(out.stdout, b"sk_live_prod_value_0815");
}

#[test]
fn a_reader_holding_the_vault_key_cannot_forge_a_write() {
    let (p, e, k) = PROD;
    for signature in [ForgedSignature::Mine, ForgedSignature::None] {
        let db = pg::database();
        let alice = team_of_alice(&db);
        let bob = join(&alice, &db, "bob", "writer", &[]);
        let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
        // Invited before the forgery, joining after it.
        let dave = Member::new();
        let token = member::invite(&alice, &dave, "dave", "reader", &[]);
        // The reader's replica holds the vault key and production's key: the row is
        // sealed and the head MAC'd, chained and rooted exactly as tresor would.
        forge(&ci, Forgery::Value(p, e, k, b"forged-by-ci"), signature);
        let why = match signature {
            ForgedSignature::None => "an unsigned change",
            _ => "by a reader",
        };
        assert_refused(&alice, why);
        assert_refused(&bob, why);
        let err = dave.err(&["remote", "join", &db.url, "--token", token.trim()], None);
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn a_writers_signed_write_is_accepted_and_an_unsigned_one_is_refused() {
    let (p, e, k) = PROD;
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    // The same forging path, by a writer who signs: accepted (so the refusals above
    // are the signature's doing, not a flaw of the forgery).
    forge(
        &bob,
        Forgery::Value(p, e, k, b"signed-by-bob"),
        ForgedSignature::Mine,
    );
    assert_eq!(alice.get(e, k), b"signed-by-bob");
    alice.ok(&["doctor"], None);
    // The writer's key without a signature: refused by a replica that saw signed heads.
    forge(
        &bob,
        Forgery::Value(p, e, k, b"unsigned"),
        ForgedSignature::None,
    );
    let err = alice.err(&["-e", e, "get", k], None);
    assert!(err.contains("an unsigned change"), "{err}");
}

#[test]
fn only_an_admin_changes_the_member_list() {
    for (forger, role, signature, why) in [
        // A reader makes itself a writer and signs its change: a writer may not change
        // the member list (nor does it match the admin's seal any more).
        (
            "ci-prod",
            Role::Writer,
            ForgedSignature::Mine,
            "outside what its writer's role and environments allow",
        ),
        // A writer makes itself an admin and seals the member list itself: no admin
        // appointed it.
        (
            "bob",
            Role::Admin,
            ForgedSignature::MineWithMembers,
            "an admin not appointed by an admin",
        ),
    ] {
        let db = pg::database();
        let alice = team_of_alice(&db);
        let bob = join(&alice, &db, "bob", "writer", &[]);
        let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
        let (forger, other) = if forger == "bob" {
            (&bob, &ci)
        } else {
            (&ci, &bob)
        };
        forge(forger, Forgery::SetMyRole(role), signature);
        assert_refused(&alice, why);
        let err = alice.err(&["member", "list"], None);
        assert!(err.contains(why), "{err}");
        assert_refused(other, why);
    }
}

#[test]
fn an_admin_appointed_by_an_admin_is_trusted_by_replicas_that_never_saw_them() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let carol = join(&alice, &db, "carol", "admin", &[]);
    // Bob has not synced since carol was added; carol changes the member list.
    let dave = join(&carol, &db, "dave", "reader", &["production"]);
    assert_eq!(
        dave.get("production", "STRIPE_LIVE_KEY"),
        b"sk_live_prod_value_0815"
    );
    assert_eq!(
        bob.get("production", "STRIPE_LIVE_KEY"),
        b"sk_live_prod_value_0815"
    );
    bob.ok(&["add", "BY_BOB"], Some(b"1"));
    assert_eq!(alice.get("development", "BY_BOB"), b"1");
    assert_eq!(carol.get("development", "BY_BOB"), b"1");
}

#[test]
fn a_reader_cannot_write_through_its_client_and_readers_changes_stay_signed() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
    let err = ci.err(&["-e", "production", "add", "X"], Some(b"y"));
    assert!(err.contains("you are a reader"), "{err}");
    // Every head written by tresor is signed: writes, member changes, removals.
    let bob = join(&alice, &db, "bob", "writer", &[]);
    bob.ok(&["add", "FROM_BOB"], Some(b"1"));
    alice.ok(&["member", "rm", "ci-prod"], None);
    bob.ok(&["remote", "sync"], None);
    bob.ok(&["add", "AFTER_REKEY"], Some(b"2"));
    assert_eq!(alice.get("development", "AFTER_REKEY"), b"2");
    let list = alice.ok(&["member", "list"], None).text();
    assert_eq!(list.matches("\ttresor1").count(), 2, "{list}");
    for line in list.lines() {
        let key = line.rsplit('\t').next().unwrap();
        assert_eq!(key.len(), 7 + 128, "{line}");
    }
}

#[test]
fn the_database_holds_signatures_and_no_plaintext() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob-the-member", "writer", &["development"]);
    bob.ok(&["add", "FROM_BOB"], Some(b"bob-value-1234"));
    let mut client = db.client();
    let head: i32 = client
        .query_one("SELECT length(head) FROM tresor_vaults", &[])
        .unwrap()
        .get(0);
    assert!(
        head > 2 * 3309,
        "two ML-DSA-65 signatures in the head: {head} bytes"
    );
    let keys: Vec<i32> = client
        .query("SELECT length(key) FROM tresor_signing_keys", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(keys, vec![1952, 1952], "alice's and bob's verifying keys");
    let dump = db.dump();
    assert!(contains(&dump, b"tresor_signing_keys"));
    for needle in [
        &b"postgres://dev-value-4711"[..],
        b"sk_live_prod_value_0815",
        b"bob-value-1234",
        b"DATABASE_URL",
        b"FROM_BOB",
        b"primary-database-note",
        b"bob-the-member",
        b"production",
    ] {
        assert!(
            !contains(&dump, needle),
            "pg_dump holds {:?}",
            String::from_utf8_lossy(needle)
        );
    }
}

#[test]
fn a_public_key_of_an_older_tresor_is_refused_clearly() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let old = format!("tresor1{}", "ab".repeat(32));
    let err = alice.err(&["member", "add", "bob", &old, "--role", "writer"], None);
    assert!(err.contains("printed by an older tresor"), "{err}");
    assert!(err.contains("tresor identity show"), "{err}");
}

/// tests/fixtures/team-v1 (see its README.txt): alice and bob's replicas and the database
/// of a team vault made before signatures, restored into this test's database.
fn team_v1_fixture(db: &pg::Db) -> (Member, Member) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/team-v1");
    let dump = std::fs::read_to_string(src.join("dump.sql")).unwrap();
    db.client().batch_execute(&dump).unwrap();
    let member = |name: &str| {
        let v = Vault::uninit();
        let from = src.join(name);
        for (file, to) in [
            ("vault.tresor", v.path.clone()),
            ("vault.tresor.team", v.dir.path().join("vault.tresor.team")),
            ("vault.key", v.dir.path().join("vault.key")),
            ("identity", v.dir.path().join("identity")),
        ] {
            std::fs::copy(from.join(file), &to).unwrap();
            chmod(&to, 0o600);
        }
        let m = Member {
            env: Vec::new(),
            v: Vault {
                cred: Cred::Keyfile(v.dir.path().join("vault.key")),
                ..v
            },
        };
        m.open().test_team_set_url(&db.url).unwrap();
        m
    };
    (member("alice"), member("bob"))
}

#[test]
fn a_team_vault_made_before_signatures_keeps_working_and_upgrades() {
    let db = pg::database();
    let (alice, bob) = team_v1_fixture(&db);
    // Unsigned heads read and write as before while nobody signs.
    assert_eq!(alice.get("development", "API_TOKEN"), b"from-bob");
    assert_eq!(
        bob.get("production", "STRIPE_LIVE_KEY"),
        b"sk_live_prod_value_0815"
    );
    // A writer's change waits for an admin's to move the vault to the commit log (a base
    // commit says which rows exist: an admin's alone); reads go on meanwhile.
    let err = bob.err(&["add", "UNSIGNED_ERA"], Some(b"1"));
    assert!(err.contains("an admin's next change"), "{err}");
    alice.ok(&["add", "ADMIN_FIRST"], Some(b"0"));
    bob.ok(&["add", "UNSIGNED_ERA"], Some(b"1"));
    assert_eq!(alice.get("development", "UNSIGNED_ERA"), b"1");
    let list = alice.ok(&["member", "list"], None).text();
    assert!(list.contains("bob\twriter"), "{list}");

    // The old identity files print the new, longer public key (with the credential).
    let alice_key = alice.ok(&["identity", "show"], None).text();
    let bob_key = bob.ok(&["identity", "show"], None).text();
    assert_eq!(alice_key.trim().len(), 7 + 128, "{alice_key}");
    assert!(
        list.contains(&alice_key.trim()[..7 + 64]),
        "the same X25519 key"
    );

    // The admin adds herself again with it: from now on heads are signed.
    let out = alice.ok(
        &[
            "member",
            "add",
            "alice",
            alice_key.trim(),
            "--role",
            "admin",
        ],
        None,
    );
    assert!(out.stderr.contains("can now sign"), "{}", out.stderr);
    assert_eq!(bob.get("development", "UNSIGNED_ERA"), b"1");
    // Bob's replica saw a signed head: it refuses to write unsigned, and says what to do.
    let err = bob.err(&["add", "X"], Some(b"x"));
    assert!(err.contains("remote sync"), "{err}");
    let out = bob.ok(&["remote", "sync"], None);
    assert!(out.stderr.contains("now signs"), "{}", out.stderr);
    let err = bob.err(&["add", "X"], Some(b"x"));
    assert!(err.contains("member add NAME KEY"), "{err}");
    // A role other than the one he has is not an upgrade.
    let err = alice.err(
        &["member", "add", "bob", bob_key.trim(), "--role", "admin"],
        None,
    );
    assert!(err.contains("same role"), "{err}");
    alice.ok(
        &["member", "add", "bob", bob_key.trim(), "--role", "writer"],
        None,
    );
    bob.ok(&["add", "SIGNED_ERA"], Some(b"2"));
    assert_eq!(alice.get("development", "SIGNED_ERA"), b"2");
    let list = alice.ok(&["member", "list"], None).text();
    assert!(list.contains(bob_key.trim()), "{list}");

    // And an unsigned head is now tampering, for both.
    forge(
        &bob,
        Forgery::Value("default", "development", "SIGNED_ERA", b"unsigned"),
        ForgedSignature::None,
    );
    let err = alice.err(&["get", "SIGNED_ERA"], None);
    assert!(err.contains("an unsigned change"), "{err}");
}

/// Review finding: `--only-env` limits what a writer can read, but nothing checks what
/// its signed commit touches. Bob, a writer limited to production, deletes every
/// development secret (their blind ids are in the database; no key is needed to delete),
/// signs the commit, and alice's replica applies it.
#[test]
fn a_writer_limited_to_production_cannot_delete_development() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &["production"]);
    forge(
        &bob,
        Forgery::DeleteEnvSecrets("default", "development"),
        ForgedSignature::Mine,
    );
    let out = alice.run(&["-e", "development", "get", "DATABASE_URL"], None);
    let err = out.stderr.clone();
    assert!(
        out.code != 0 && err.contains("failed verification"),
        "a production-only writer's deletion of development was accepted: {err}"
    );
    let offline = alice.run(
        &["--offline", "-e", "development", "get", "DATABASE_URL"],
        None,
    );
    assert_eq!(
        offline.stdout, b"postgres://dev-value-4711",
        "alice's replica lost development"
    );
}

/// Review finding: an environment record's names are not checked against its blind id
/// (`vk.env_id(project, name)`), and environment rows are outside the admin's seal. Bob,
/// a writer limited to development, seals development's record as `production` and
/// production's as `development`: alice's `-e production` now reads development's
/// values (which bob controls).
#[test]
fn a_writer_cannot_swap_the_names_of_environments() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &["development"]);
    forge(
        &bob,
        Forgery::SwapEnvNames("default", "development", "production"),
        ForgedSignature::Mine,
    );
    let out = alice.run(&["-e", "production", "get", "DATABASE_URL"], None);
    let err = out.stderr.clone();
    assert!(
        out.code != 0 && err.contains("failed verification"),
        "production now shows development's value: {:?} {err}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Review finding (a race, not tampering): an admin removes an environment while a
/// writer's change to it is on its way. The writer's `team_write` rebases over the
/// removal (it touches no place the removal named) and writes a secret row into an
/// environment that no longer exists: the writer is told it worked, the secret is in no
/// replica, and the row stays on the server.
#[test]
fn a_write_into_an_environment_removed_meanwhile_is_refused() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    alice.ok(&["env", "add", "qa"], None);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let bob_lib = bob.open();
    assert!(bob_lib.team_sync().unwrap().is_some());
    // Alice removes qa after bob's replica synced; bob's change does not sync first.
    alice.ok(&["env", "rm", "qa", "--yes"], None);
    let result = bob_lib.add(
        "default",
        "qa",
        tresor::vault::NewSecret {
            key: "INTO_QA".into(),
            value: b"lost".to_vec().into(),
            description: String::new(),
            kind: None,
        },
    );
    let orphans = alice.ok(&["remote", "sync", "--verify"], None).text();
    assert!(
        result.is_err(),
        "bob was told his secret was written into an environment that is gone ({orphans})"
    );
}

/// Review 2: a commit's list of changes is what `check_scope` judges, but nothing checks
/// that the small tables it moves to (its `small_root`) differ from the old ones only at
/// the places it names; environment rows are outside the admin's member seal. Bob, a
/// writer limited to production, deletes development's environment record in a commit
/// that names no place at all: alice's replica accepts it, and her next whole sync drops
/// development with its history.
#[test]
fn a_writer_cannot_drop_an_environment_without_naming_it() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &["production"]);
    forge(
        &bob,
        Forgery::DropEnvUnnamed("default", "development"),
        ForgedSignature::Mine,
    );
    let sync = alice.run(&["remote", "sync", "--verify"], None);
    let offline = alice.run(
        &["--offline", "-e", "development", "get", "DATABASE_URL"],
        None,
    );
    assert_eq!(
        offline.stdout, b"postgres://dev-value-4711",
        "a production-only writer removed development from alice's replica (sync: {} {})",
        sync.code, sync.stderr
    );
    assert!(
        sync.code != 0 && sync.stderr.contains("failed verification"),
        "the unnamed change was accepted"
    );
}

/// Review 2 (a race, not tampering): an admin removes an environment and adds it again
/// under the same name (same blind id, a new key) while a writer's change to it is on
/// its way. The removal check sees the environment there, the conflict check compares
/// secret places only, so the writer's row is written sealed under the old key, which
/// no member holds any more: alice's next read cannot open it.
#[test]
fn a_write_into_an_environment_made_again_meanwhile_is_refused() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    alice.ok(&["env", "add", "qa"], None);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let bob_lib = bob.open();
    assert!(bob_lib.team_sync().unwrap().is_some());
    alice.ok(&["env", "rm", "qa", "--yes"], None);
    alice.ok(&["env", "add", "qa"], None);
    let result = bob_lib.add(
        "default",
        "qa",
        tresor::vault::NewSecret {
            key: "INTO_QA".into(),
            value: b"old key".to_vec().into(),
            description: String::new(),
            kind: None,
        },
    );
    let after = alice.run(&["remote", "sync", "--verify"], None);
    assert!(
        result.is_err(),
        "bob's secret was written under qa's old key (alice's sync: {} {})",
        after.code,
        after.stderr
    );
    assert_eq!(after.code, 0, "{}", after.stderr);
}

/// Review 2: "the member list's seal is no older than the last change of members or
/// wraps" is checked on a delta only. Bob, a writer, keeps the member list and alice's
/// seal of it; alice then adds dave; bob puts the old list back (without dave) with
/// the old seal, naming no member place. Alice's delta refuses it; carol, who synced
/// before dave was added, accepts it through a whole read (`delta::whole` without the
/// rule: `team_verify`, the sync of a replica whose last change did not reach the server
/// (`dirty`), a delta that falls back to a whole read, a fresh join).
#[test]
fn an_older_member_list_is_refused_by_a_whole_read_too() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let carol = join(&alice, &db, "carol", "reader", &[]);
    carol.ok(&["remote", "sync"], None);
    let (old_rows, old_seal) = bob.open().test_team_members_now().unwrap();
    let _dave = join(&alice, &db, "dave", "reader", &[]);
    forge(
        &bob,
        Forgery::RestoreMembers(&old_rows, &old_seal),
        ForgedSignature::Mine,
    );
    let by_delta = alice.run(&["remote", "sync"], None);
    assert!(
        by_delta.stderr.contains("failed verification"),
        "{}",
        by_delta.stderr
    );
    // The whole read itself (the CLI's `--verify` may sync by delta first).
    let whole = carol.open().team_verify();
    let members = carol.run(&["--offline", "member", "list"], None);
    assert!(
        whole.is_err(),
        "carol accepted the older member list by a whole read: {whole:?}; members now:\n{}",
        String::from_utf8_lossy(&members.stdout)
    );
}

/// Review 3: `check_scope` lets a writer change "the records of existing environments",
/// but never checks that the environment existed before the commit: any record a writer
/// names with a hash passes (`Place::Env(env) => hash.is_some() && may(env)`). Bob, a
/// writer of every environment, seals a record for a new environment `preview` (an
/// admin's `env add`) and names it in his signed commit: alice's replica accepts it. The
/// same lets a writer bring back an environment an admin removed (its old key is still in
/// the replicas that held it, so its members see it again, with what the writer put in).
#[test]
fn a_writer_cannot_make_an_environment() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    alice.ok(&["remote", "sync"], None);
    forge(
        &bob,
        Forgery::NewEnv("default", "preview"),
        ForgedSignature::Mine,
    );
    let out = alice.run(&["remote", "sync"], None);
    assert!(
        out.code != 0 && out.stderr.contains("failed verification"),
        "alice accepted an environment made by a writer: {} {}",
        out.code,
        out.stderr
    );
}

/// Review 3 (an honest history refused): a joining replica trusts an inviter who signs,
/// so it starts with `signed = true`, and its whole read checks every commit from the
/// latest base with `check_commits`, which refuses an unsigned commit once `signed`. In a
/// team vault made before signatures (here: format 1, migrated by alice's first change)
/// the latest base and the commits up to the upgrade are unsigned, so after the upgrade
/// nobody can join until a member is removed (a rekey writes a signed base).
#[test]
fn a_member_joins_a_team_vault_upgraded_to_signatures() {
    let db = pg::database();
    let (alice, bob) = team_v1_fixture(&db);
    alice.ok(&["add", "ADMIN_FIRST"], Some(b"0"));
    let alice_key = alice.ok(&["identity", "show"], None).text();
    alice.ok(
        &[
            "member",
            "add",
            "alice",
            alice_key.trim(),
            "--role",
            "admin",
        ],
        None,
    );
    bob.ok(&["remote", "sync"], None);
    let dave = Member::new();
    let token = member::invite(&alice, &dave, "dave", "reader", &[]);
    let out = dave.run(&["remote", "join", &db.url, "--token", token.trim()], None);
    assert_eq!(
        out.code, 0,
        "dave cannot join the upgraded vault: {}",
        out.stderr
    );
    assert_eq!(dave.get("development", "ADMIN_FIRST"), b"0");
}

/// Review 3: the fix for the race above covers a delta seen inside `team_write` only. A
/// replica that syncs *after* the removal and re-addition reads the change through a
/// whole read, which rebuilds the environment with the keys in its team file: qa's old
/// key stays there (only `team_refresh` replaces it, and `team_keys_waiting` sees a key
/// for qa so says nothing waits). Bob's next write into qa is then sealed under the old
/// key with no delta to flag it: it is accepted, and every replica holding the new key
/// fails to open that row from then on (`failed verification`).
#[test]
fn a_write_after_syncing_an_environment_made_again_uses_its_new_key() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    alice.ok(&["env", "add", "qa"], None);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    bob.ok(&["remote", "sync"], None);
    alice.ok(&["env", "rm", "qa", "--yes"], None);
    alice.ok(&["env", "add", "qa"], None);
    // Bob reads (a sync), then writes into qa.
    bob.ok(&["-e", "production", "get", "STRIPE_LIVE_KEY"], None);
    let write = bob.run(&["-e", "qa", "add", "INTO_QA"], Some(b"old key"));
    let after = alice.run(&["remote", "sync", "--verify"], None);
    assert_eq!(
        after.code, 0,
        "bob's write ({}: {}) blocks alice's replica: {}",
        write.code, write.stderr, after.stderr
    );
}

/// Review 3, what `a_writer_cannot_make_an_environment` allows: alice (admin) removes qa;
/// bob, a writer of every environment, puts qa's record back in a signed commit and
/// writes into it through his own client, sealed under qa's old key, which his and
/// carol's team files still hold. Carol's replica shows qa again with bob's value.
#[test]
fn a_writer_cannot_bring_back_an_environment_an_admin_removed() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    alice.ok(&["env", "add", "qa"], None);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    let carol = join(&alice, &db, "carol", "reader", &[]);
    alice.ok(&["env", "rm", "qa", "--yes"], None);
    carol.ok(&["remote", "sync"], None);
    bob.ok(&["remote", "sync"], None);
    forge(
        &bob,
        Forgery::NewEnv("default", "qa"),
        ForgedSignature::Mine,
    );
    // Even bob's own replica refuses the record he put back.
    let err = bob.err(&["remote", "sync"], None);
    assert!(err.contains("not an admin"), "{err}");
    let write = bob.run(&["-e", "qa", "add", "BACK_FROM_THE_DEAD"], Some(b"bob's"));
    let read = carol.run(&["-e", "qa", "get", "BACK_FROM_THE_DEAD"], None);
    assert!(
        read.code != 0,
        "carol reads an environment alice removed, brought back by bob (write: {} {}): {:?}",
        write.code,
        write.stderr,
        String::from_utf8_lossy(&read.stdout)
    );
}

/// Review 3 (an honest history refused): the same stale key as above locks a replica
/// out. Alice removes qa, makes it again (a new key, wrapped to bob) and adds a secret
/// to it. Bob's sync rebuilds qa with the key in his team file, the old one: the row does
/// not open, and bob is told the database was tampered with; `remote sync` says the same
/// (no key is "waiting": his file has one for qa).
#[test]
fn a_member_reads_an_environment_made_again_with_its_new_key() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    alice.ok(&["env", "add", "qa"], None);
    let bob = join(&alice, &db, "bob", "writer", &[]);
    alice.ok(&["env", "rm", "qa", "--yes"], None);
    alice.ok(&["env", "add", "qa"], None);
    alice.ok(&["-e", "qa", "add", "IN_NEW_QA"], Some(b"new"));
    let sync = bob.run(&["remote", "sync"], None);
    let read = bob.run(&["-e", "qa", "get", "IN_NEW_QA"], None);
    assert_eq!(
        read.stdout, b"new",
        "bob cannot read qa (sync: {} {}; get: {})",
        sync.code, sync.stderr, read.stderr
    );
}

/// Alice (admin) makes qa; carol (admin) syncs, removes qa and makes it again: a new key.
fn qa_made_by_alice_and_again_by_carol(db: &pg::Db) -> (Member, Member) {
    let alice = team_of_alice(db);
    let carol = join(&alice, db, "carol", "admin", &[]);
    alice.ok(&["env", "add", "qa"], None);
    carol.ok(&["remote", "sync"], None);
    carol.ok(&["env", "rm", "qa", "--yes"], None);
    carol.ok(&["env", "add", "qa"], None);
    (alice, carol)
}

/// Review 4: an admin's own `env add` keeps the new key without recording the wrap it
/// came from (`team_after_catalog` adds it after `team_write`'s `observe`, and drops its
/// `key_wraps` entry). If another admin removes the environment and makes it again
/// before this admin's next sync, that sync records the *new* wrap (trust on first use)
/// for the *old* key: alice keeps qa's old key, cannot read carol's qa, and nothing says
/// a key waits.
#[test]
fn an_admin_who_made_an_environment_follows_it_being_made_again() {
    let db = pg::database();
    let (alice, carol) = qa_made_by_alice_and_again_by_carol(&db);
    carol.ok(&["-e", "qa", "add", "IN_NEW_QA"], Some(b"new"));
    let sync = alice.run(&["remote", "sync"], None);
    let again = alice.run(&["remote", "sync"], None);
    let read = alice.run(&["-e", "qa", "get", "IN_NEW_QA"], None);
    assert_eq!(
        read.stdout, b"new",
        "alice cannot read qa (sync: {} {}; again: {} {}; get: {})",
        sync.code, sync.stderr, again.code, again.stderr, read.stderr
    );
}

/// Review 4: as above, carol makes qa again without a secret: alice's write into qa
/// (after a sync) is sealed under qa's old key, and carol's replica refuses it.
#[test]
fn an_admin_who_made_an_environment_does_not_write_under_its_old_key() {
    let db = pg::database();
    let (alice, carol) = qa_made_by_alice_and_again_by_carol(&db);
    let _ = alice.run(&["remote", "sync"], None);
    let _ = alice.run(&["remote", "sync"], None);
    let _ = alice.run(&["-e", "qa", "add", "BY_ALICE"], Some(b"a"));
    let sync = carol.run(&["remote", "sync"], None);
    assert_eq!(sync.code, 0, "carol's replica is blocked: {}", sync.stderr);
}

/// Review 4: a joining replica lets its stretch of the log start unsigned (for a vault
/// upgraded to signatures) whatever the vault: bob, a writer limited to production with
/// write access to the log table, replaces the log from the member list's seal on with
/// an unsigned base claimed by alice that drops development's secrets, then signs a head
/// himself with the seal of then. Alice refuses it; dave, invited before and joining
/// after, accepts a history in which "alice" deleted development.
#[test]
fn a_joining_member_refuses_unsigned_commits_claimed_by_an_admin() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = join(&alice, &db, "bob", "writer", &["production"]);
    let dave = Member::new();
    let token = member::invite(&alice, &dave, "dave", "reader", &[]);
    bob.open()
        .test_team_forge_log_as_admin("default", "development")
        .expect("the database takes the forged log");
    let alice_sync = alice.run(&["remote", "sync"], None);
    assert_ne!(alice_sync.code, 0, "alice accepted the forged log");
    let joined = dave.run(&["remote", "join", &db.url, "--token", token.trim()], None);
    if joined.code == 0 {
        let read = dave.run(&["-e", "development", "get", "DATABASE_URL"], None);
        assert_eq!(
            read.stdout, b"postgres://dev-value-4711",
            "dave joined a history in which an admin never signed development's deletion: {}",
            read.stderr
        );
    }
}

/// A join token names the head its admin saw after adding the member: the joining
/// replica refuses a log that does not follow it (here a token whose head was changed),
/// and takes what members wrote since; a token printed by an earlier build (without the
/// head) still joins.
#[test]
fn a_join_token_pins_the_head_its_admin_saw_and_older_tokens_still_join() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let bob = Member::new();
    let token = member::invite(&alice, &bob, "bob", "writer", &[]);
    let token = token.as_str();
    alice.ok(&["add", "AFTER_THE_TOKEN"], Some(b"written-later"));

    // A digit mistyped: said as a token not valid, not as a database attack.
    let (keep, last) = token.split_at(token.len() - 1);
    let other = if last == "0" { "1" } else { "0" };
    let err = bob.err(
        &[
            "remote",
            "join",
            &db.url,
            "--token",
            &format!("{keep}{other}"),
        ],
        None,
    );
    assert!(err.contains("the join token is not valid"), "{err}");
    // The head's hash changed (its check made again): not the head alice saw.
    let other = forge::test_join_token_with_other_head(token).expect("a join token");
    let err = bob.err(&["remote", "join", &db.url, "--token", &other], None);
    assert!(err.contains("does not follow the head"), "{err}");
    bob.ok(&["remote", "join", &db.url, "--token", token], None);
    let read = bob.ok(&["get", "AFTER_THE_TOKEN"], None);
    assert_eq!(read.stdout, b"written-later");

    // An earlier build's token: prefix 1, vault, member and inviter only.
    let carol = Member::new();
    let token = member::invite(&alice, &carol, "carol", "reader", &[]);
    let hex = token.strip_prefix("tresor-join2:").expect("a join token");
    let old = format!("tresor-join1:{}", &hex[..128]);
    carol.ok(&["remote", "join", &db.url, "--token", &old], None);
    assert_eq!(
        carol.ok(&["get", "AFTER_THE_TOKEN"], None).stdout,
        b"written-later"
    );
}

/// Review 5: a `tresor-join2:` token pins the head its admin saw, but not the admin's
/// signing key: the joiner takes its first trusted admins (`join_anchors`) and every
/// writer's record (`check_commits`) from the member list at the *server's* head. ci-prod,
/// a reader (it holds the vault key and a signing key) with write access to the
/// database, seals alice's record again naming ci-prod's own verifying key (alice's
/// X25519 key, id and role unchanged), uploads that key under alice's id, and writes one
/// commit after the token's head claimed by alice, signed with ci-prod's key and the
/// member list sealed with it too, deleting development's secrets. Alice refuses it (she
/// knows her own key); dave, joining with the token alice printed before, anchors on
/// "alice" with ci-prod's key and accepts a history in which alice deleted development
/// (and from then on trusts ci-prod's key as alice's).
#[test]
fn a_joining_member_refuses_an_inviter_record_sealed_again_with_another_signing_key() {
    let db = pg::database();
    let alice = team_of_alice(&db);
    let ci = join(&alice, &db, "ci-prod", "reader", &["production"]);
    let dave = Member::new();
    let token = member::invite(&alice, &dave, "dave", "reader", &[]);
    ci.open()
        .test_team_forge_as_inviter("default", "development")
        .expect("the database takes the forged commit");
    let alice_sync = alice.run(&["remote", "sync"], None);
    assert_ne!(alice_sync.code, 0, "alice accepted the forged commit");
    let joined = dave.run(&["remote", "join", &db.url, "--token", &token], None);
    if joined.code == 0 {
        let read = dave.run(&["-e", "development", "get", "DATABASE_URL"], None);
        assert_eq!(
            read.stdout, b"postgres://dev-value-4711",
            "dave joined a history in which a reader, signing as alice, deleted development: {}",
            read.stderr
        );
    }
}
