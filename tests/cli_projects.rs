//! `tresor project list|add|rm` on temporary vaults.

mod common;
#[path = "common/shell.rs"]
mod shell;

use common::{Cred, Vault};
use shell::{Shell, tmux_available};

fn projects(v: &Vault) -> Vec<String> {
    v.ok(&["project", "list"], None)
        .text()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn projects_are_listed_with_their_environments_and_secrets() {
    let v = Vault::new();
    v.add("API_KEY", b"1");
    assert_eq!(projects(&v), ["default\t3 environments\t1 secret"]);
    let out = v.ok(&["project", "add", "billing"], None);
    assert!(
        out.stderr
            .contains("added project billing with environments development, staging, production"),
        "{}",
        out.stderr
    );
    assert_eq!(
        projects(&v),
        [
            "billing\t3 environments\t0 secrets",
            "default\t3 environments\t1 secret"
        ]
    );
    // Its environments are there to use.
    v.ok(
        &["-p", "billing", "-e", "production", "add", "STRIPE_KEY"],
        Some(b"sk"),
    );
    assert_eq!(
        v.ok(
            &["-p", "billing", "-e", "production", "get", "STRIPE_KEY"],
            None
        )
        .stdout,
        b"sk"
    );
}

#[test]
fn a_project_that_exists_or_a_bad_name_is_refused() {
    let v = Vault::new();
    v.ok(&["project", "add", "billing"], None);
    let out = v.run(&["project", "add", "billing"], None).failure();
    assert!(out.error().contains("already exists"), "{}", out.stderr);
    let out = v.run(&["project", "add", "bad name"], None).failure();
    assert!(
        out.error().contains("invalid project name"),
        "{}",
        out.stderr
    );
    assert_eq!(projects(&v).len(), 2);
}

#[test]
fn removing_a_project_with_secrets_needs_force_and_says_how_many() {
    let v = Vault::new();
    v.ok(&["project", "add", "billing"], None);
    v.ok(&["-p", "billing", "add", "A"], Some(b"1"));
    v.ok(&["-p", "billing", "-e", "staging", "add", "B"], Some(b"2"));

    // No terminal to ask on: refused, naming the count; nothing is lost.
    let out = v.run(&["project", "rm", "billing"], None).failure();
    assert_eq!(
        out.error(),
        "project `billing` holds 2 secrets in 3 environments: add --force to delete it with all of them"
    );
    assert_eq!(v.ok(&["-p", "billing", "get", "A"], None).stdout, b"1");

    let out = v.ok(&["project", "rm", "billing", "--force"], None);
    assert!(
        out.stderr
            .contains("removed project billing: 3 environments and 2 secrets"),
        "{}",
        out.stderr
    );
    assert_eq!(projects(&v), ["default\t3 environments\t0 secrets"]);
    let out = v.run(&["-p", "billing", "get", "A"], None).failure();
    assert!(
        out.error().contains("no project `billing`"),
        "{}",
        out.stderr
    );

    let audit = v.ok(&["audit", "--last", "1"], None).text();
    assert!(audit.contains("project rm"), "{audit}");
    assert!(audit.contains("3 environments, 2 secrets"), "{audit}");
}

#[test]
fn an_empty_project_goes_without_force() {
    let v = Vault::new();
    v.ok(&["project", "add", "scratch"], None);
    let out = v.ok(&["project", "rm", "scratch"], None);
    assert!(out.stderr.contains("0 secrets"), "{}", out.stderr);
    assert_eq!(projects(&v).len(), 1);
}

#[test]
fn an_unknown_project_is_named_and_the_last_one_stays() {
    let v = Vault::new();
    let out = v.run(&["project", "rm", "nope", "--force"], None).failure();
    assert_eq!(out.error(), "no project `nope` (projects: default)");
    let out = v
        .run(&["project", "rm", "default", "--force"], None)
        .failure();
    assert!(out.error().contains("only project"), "{}", out.stderr);
    assert_eq!(projects(&v).len(), 1);
}

#[test]
fn on_a_terminal_removing_a_project_with_secrets_asks_first() {
    if !tmux_available() {
        return;
    }
    let v = Vault::new();
    v.ok(&["project", "add", "billing"], None);
    v.ok(&["-p", "billing", "add", "A"], Some(b"1"));
    let Cred::Keyfile(keyfile) = &v.cred else {
        unreachable!()
    };
    let state = v.state_dir();
    let sh = Shell::start(
        "project-rm",
        &[
            ("TRESOR_VAULT", v.path.as_path()),
            ("TRESOR_KEYFILE", keyfile.as_path()),
            ("XDG_STATE_HOME", state.as_path()),
        ],
    );
    sh.line("$T project rm billing; echo EXIT=$?");
    sh.wait_for(
        "Project billing holds 1 secret in 3 environments. Delete it with all of them? [y/N]",
    );
    sh.line("n");
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("nothing deleted"), "{pane}");
    assert_eq!(projects(&v).len(), 2);

    sh.line("$T project rm billing; echo EXIT=$?");
    sh.wait_for_nth("Delete it with all of them? [y/N]", 2);
    sh.line("y");
    let pane = sh.wait_for_exit(2);
    assert!(
        pane.contains("removed project billing: 3 environments and 1 secret"),
        "{pane}"
    );
    assert_eq!(projects(&v), ["default\t3 environments\t0 secrets"]);
}
