//! Projects, environments, cp, env clone, rollback and the rotation period on a team
//! vault go through the server like a secret's change (on the shared test cluster):
//! made on one replica, seen on another after a sync; a reader is refused, and adding or
//! removing an environment is an admin's change. A new environment's key reaches only
//! the members who read every environment.

mod common;
#[path = "common/team_member.rs"]
mod member;
#[path = "common/postgres.rs"]
mod pg;

use member::{Member, join, team_of_alice};

fn env_names(m: &Member, project: &str) -> Vec<String> {
    m.ok(&["-p", project, "env", "list"], None)
        .text()
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn environments_and_projects_added_and_removed_reach_the_members_who_may_read_them() {
    let db = pg::database();
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    let ci = join(
        &alice,
        &db.url,
        Member::new(),
        "ci",
        "reader",
        &["production"],
    );

    alice.ok(&["env", "add", "qa"], None);
    alice.ok(&["-e", "qa", "add", "QA_KEY"], Some(b"qa-value"));
    // Bob reads every environment: his identity fetches the new key. Where the
    // credential that opens his vault does not open it (here: not found), he is told,
    // at the first command after the change and whenever he asks for `qa`.
    let elsewhere = [("TRESOR_IDENTITY", "/nonexistent/identity")];
    let out = bob
        .run_with(&["get", "DATABASE_URL"], None, &elsewhere)
        .success();
    assert!(
        out.stderr.contains(
            "an admin shared an environment with you: `tresor remote sync` fetches its key"
        ),
        "{}",
        out.stderr
    );
    for _ in 0..2 {
        let err = bob
            .run_with(&["-e", "qa", "get", "QA_KEY"], None, &elsewhere)
            .failure()
            .error();
        assert!(
            err.contains("default/qa was shared with you since your last `tresor remote sync`: run it to fetch its key"),
            "{err}"
        );
    }
    // Known from the rows the replica verified: said offline too.
    let err = bob
        .run_with(
            &["--offline", "-e", "qa", "get", "QA_KEY"],
            None,
            &elsewhere,
        )
        .failure()
        .error();
    assert!(err.contains("default/qa was shared with you"), "{err}");
    // His next command with his own identity (his keyfile opens it) fetches the key on
    // its way, whatever it was for: not only the command that first saw the share
    // (review 7 found a build where only that one could).
    let out = bob.run(&["-e", "nope", "get", "QA_KEY"], None).failure();
    assert!(
        out.stderr
            .contains("fetched the keys of the environments shared with you since your last sync"),
        "{}",
        out.stderr
    );
    let err = out.error();
    assert!(err.contains("no environment `nope`"), "{err}");
    assert_eq!(bob.get("qa", "QA_KEY"), b"qa-value");
    alice.ok(&["env", "add", "canary"], None);
    alice.ok(&["-e", "canary", "add", "CANARY_KEY"], Some(b"st"));
    let out = bob.ok(&["-e", "canary", "get", "CANARY_KEY"], None);
    assert_eq!(out.stdout, b"st");
    assert!(
        out.stderr
            .contains("fetched the keys of the environments shared with you since your last sync"),
        "{}",
        out.stderr
    );
    bob.ok(
        &["-e", "qa", "edit", "QA_KEY", "--value-stdin"],
        Some(b"qa-by-bob"),
    );
    assert_eq!(alice.get("qa", "QA_KEY"), b"qa-by-bob");
    // ci reads production only: the new environment's key was never wrapped to it.
    ci.ok(&["remote", "sync"], None);
    assert!(!env_names(&ci, "default").contains(&"qa".to_string()));
    let err = ci.err(&["-e", "qa", "get", "QA_KEY"], None);
    assert!(err.contains("no environment `qa`"), "{err}");

    alice.ok(&["project", "add", "billing"], None);
    alice.ok(&["-p", "billing", "add", "INVOICE_KEY"], Some(b"inv"));
    bob.ok(&["remote", "sync"], None);
    assert_eq!(
        bob.ok(&["-p", "billing", "get", "INVOICE_KEY"], None)
            .stdout,
        b"inv"
    );

    // Removals reach the others at their next read.
    alice.ok(&["env", "rm", "qa", "--yes"], None);
    assert!(!env_names(&bob, "default").contains(&"qa".to_string()));
    alice.ok(&["project", "rm", "billing", "--force"], None);
    let projects = bob.ok(&["project", "list"], None).text();
    assert!(!projects.contains("billing"), "{projects}");
    alice.ok(&["doctor"], None);
    bob.ok(&["doctor"], None);

    // A writer cannot change the vault's shape, a reader nothing; nothing is left behind.
    let err = bob.err(&["env", "add", "preview"], None);
    assert!(err.contains("only an admin"), "{err}");
    let err = bob.err(&["env", "rm", "production", "--yes"], None);
    assert!(err.contains("only an admin"), "{err}");
    let err = ci.err(&["-p", "other", "env", "add", "x"], None);
    assert!(err.contains("you are a reader"), "{err}");
    assert!(!env_names(&bob, "default").contains(&"preview".to_string()));
    assert!(!env_names(&alice, "default").contains(&"preview".to_string()));
    assert_eq!(
        bob.get("production", "STRIPE_LIVE_KEY"),
        b"sk_live_prod_value_0815"
    );
}

#[test]
fn cp_clone_rollback_and_rotation_go_through_the_server() {
    let db = pg::database();
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    let ci = join(&alice, &db.url, Member::new(), "ci", "reader", &[]);

    bob.ok(&["cp", "DATABASE_URL", "--to-env", "production"], None);
    assert_eq!(
        alice.get("production", "DATABASE_URL"),
        b"postgres://dev-value-4711"
    );

    // env clone into an existing environment is a writer's change; into a new one, an
    // admin's (alice's identity wraps its key).
    bob.ok(&["env", "clone", "production", "staging"], None);
    assert_eq!(
        alice.get("staging", "STRIPE_LIVE_KEY"),
        b"sk_live_prod_value_0815"
    );
    let err = bob.err(&["env", "clone", "production", "preview"], None);
    assert!(err.contains("only an admin"), "{err}");
    alice.ok(&["env", "clone", "production", "preview"], None);
    bob.ok(&["remote", "sync"], None);
    assert_eq!(
        bob.get("preview", "STRIPE_LIVE_KEY"),
        b"sk_live_prod_value_0815"
    );

    // rollback writes the older value as a new change; history stays with each replica.
    bob.ok(&["edit", "DATABASE_URL", "--value-stdin"], Some(b"v2"));
    assert_eq!(alice.get("development", "DATABASE_URL"), b"v2");
    bob.ok(&["rollback", "DATABASE_URL", "1"], None);
    assert_eq!(
        alice.get("development", "DATABASE_URL"),
        b"postgres://dev-value-4711"
    );
    bob.ok(&["config", "history-depth", "3"], None);

    bob.ok(&["env", "set", "production", "--rotate-days", "30"], None);
    let listed = alice.ok(&["env", "list"], None).text();
    assert!(
        listed.contains("production\t") && listed.contains("rotate every 30 days"),
        "{listed}"
    );

    // A reader changes none of it.
    for args in [
        &["cp", "DATABASE_URL", "--to-env", "staging", "--overwrite"][..],
        &["env", "clone", "production", "staging", "--overwrite"],
        &["rollback", "DATABASE_URL", "1"],
        &["env", "set", "production", "--rotate-days", "7"],
    ] {
        let err = ci.err(args, None);
        assert!(err.contains("you are a reader"), "{args:?}: {err}");
    }
    let listed = alice.ok(&["env", "list"], None).text();
    assert!(listed.contains("rotate every 30 days"), "{listed}");
    alice.ok(&["doctor"], None);
}

/// An admin removes an environment from a replica that has not seen a secret another
/// member just added there: the removal would delete that secret unseen, so it is
/// refused as a conflict and nothing is lost; once synced, the admin sees it and can
/// decide.
#[test]
fn removing_an_environment_that_just_gained_a_secret_elsewhere_is_a_conflict() {
    let db = pg::database();
    let alice = team_of_alice(&db.url, Member::new());
    let bob = join(&alice, &db.url, Member::new(), "bob", "writer", &[]);
    alice.ok(&["env", "add", "qa"], None);
    alice.ok(&["-e", "qa", "add", "OLD"], Some(b"old"));
    bob.ok(&["remote", "sync"], None);
    // Alice's replica, opened here, is at this version; the library does not sync first.
    let replica = alice.open();
    bob.ok(&["-e", "qa", "add", "NEW_BY_BOB"], Some(b"bob's"));

    let err = replica
        .remove_env("default", "qa", true)
        .expect_err("a removal over bob's unseen secret")
        .to_string();
    assert!(err.contains("changed by bob"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    drop(replica);
    assert_eq!(bob.get("qa", "NEW_BY_BOB"), b"bob's");
    assert_eq!(alice.get("qa", "NEW_BY_BOB"), b"bob's");
    assert_eq!(alice.get("qa", "OLD"), b"old");

    // Seen, the removal goes through, for both.
    alice.ok(&["env", "rm", "qa", "--yes"], None);
    bob.ok(&["remote", "sync"], None);
    assert!(!env_names(&bob, "default").contains(&"qa".to_string()));
}

/// Review 5: an admin limited to production (`--only-env`) who makes qa is not wrapped
/// its key (a new environment's key goes to the members who read every environment), so
/// it is told it cannot read qa and keeps no key of it. It used to keep the key with no
/// wrap recorded: when another admin removed qa and made it again with a secret, the
/// limited admin's every sync rebuilt qa with the old key and reported tampering.
#[test]
fn an_admin_limited_to_some_environments_who_made_one_follows_it_being_made_again() {
    let db = pg::database();
    let alice = team_of_alice(&db.url, Member::new());
    let carol = join(
        &alice,
        &db.url,
        Member::new(),
        "carol",
        "admin",
        &["production"],
    );
    let made = carol.ok(&["env", "add", "qa"], None);
    assert!(made.stderr.contains("you cannot read"), "{}", made.stderr);
    // Its key went to the members who read every environment, not to carol.
    let err = carol.err(&["-e", "qa", "add", "BY_CAROL"], Some(b"c"));
    assert!(err.contains("you have no access to default/qa"), "{err}");
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
