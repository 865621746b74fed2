//! Completions that know the vault: the binary is run as bash's completion script runs
//! it (`COMPLETE=bash tresor -- WORDS…`, the index of the word being completed in
//! `_CLAP_COMPLETE_INDEX`), with the agent warm and cold. A completion never prompts,
//! never prints an error and never writes to the audit log.

#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{Output, Vault, chmod, output, tresor};

const PASS: &str = "correct horse battery";

/// A runtime folder of its own; its agent is stopped on drop.
struct Session {
    runtime: tempfile::TempDir,
}

impl Session {
    fn new() -> Session {
        let runtime = tempfile::tempdir().unwrap();
        chmod(runtime.path(), 0o700);
        Session { runtime }
    }

    fn env(&self, c: &mut Command, v: &Vault) {
        c.env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("XDG_STATE_HOME", v.state_dir());
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let mut c = tresor();
        c.env("XDG_RUNTIME_DIR", self.runtime.path())
            .args(["lock", "--all"]);
        let _ = output(c, None);
    }
}

/// The candidates bash would get for the last word of `words` (after `tresor --vault V`),
/// without the flags clap offers beside them.
fn complete(s: &Session, v: &Vault, words: &[&str]) -> Vec<String> {
    let out = complete_raw(s, v, &v.path, words);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "a completion printed to the shell's stderr");
    out.text()
        .lines()
        .filter(|c| !c.starts_with('-'))
        .map(String::from)
        .collect()
}

fn complete_raw(s: &Session, v: &Vault, vault: &Path, words: &[&str]) -> Output {
    let mut line = vec!["tresor".to_string(), "--vault".into()];
    line.push(vault.display().to_string());
    line.extend(words.iter().map(|w| w.to_string()));
    let mut c = tresor();
    s.env(&mut c, v);
    c.env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (line.len() - 1).to_string())
        .arg("--")
        .args(&line);
    output(c, None)
}

fn vault_with_names() -> Vault {
    let v = Vault::with_passphrase(PASS);
    v.add("API_KEY", b"1");
    v.add("DATABASE_URL", b"postgres://x");
    v.add_in("staging", "STAGING_ONLY", b"s");
    v.ok(&["env", "add", "preview"], None);
    v.ok(&["project", "add", "billing"], None);
    v.ok(&["-p", "billing", "add", "STRIPE_KEY"], Some(b"sk"));
    v
}

fn unlock(s: &Session, v: &Vault) {
    let mut c = v.cmd(&["unlock"]);
    s.env(&mut c, v);
    output(c, None).success();
}

#[test]
fn with_the_agent_warm_keys_environments_and_projects_come_from_the_vault() {
    let v = vault_with_names();
    let s = Session::new();
    unlock(&s, &v);
    assert_eq!(complete(&s, &v, &["get", ""]), ["API_KEY", "DATABASE_URL"]);
    assert_eq!(complete(&s, &v, &["get", "D"]), ["DATABASE_URL"]);
    assert_eq!(complete(&s, &v, &["rm", "A"]), ["API_KEY"]);
    assert_eq!(complete(&s, &v, &["edit", ""]).len(), 2);
    // -e and -p already on the line choose where the keys come from.
    assert_eq!(
        complete(&s, &v, &["-e", "staging", "get", ""]),
        ["STAGING_ONLY"]
    );
    assert_eq!(
        complete(&s, &v, &["--project=billing", "get", ""]),
        ["STRIPE_KEY"]
    );
    assert_eq!(complete(&s, &v, &["-pbilling", "rm", ""]), ["STRIPE_KEY"]);
    assert_eq!(
        complete(&s, &v, &["--env=staging", "-d", "x", "edit", ""]),
        ["STAGING_ONLY"]
    );
    assert_eq!(
        complete(&s, &v, &["-e", ""]),
        ["development", "staging", "production", "preview"]
    );
    assert_eq!(complete(&s, &v, &["-e", "p"]), ["production", "preview"]);
    assert_eq!(complete(&s, &v, &["-p", ""]), ["billing", "default"]);
    // After the subcommand too (the global flag's copy in each subcommand).
    assert_eq!(
        complete(&s, &v, &["get", "-e", "p"]),
        ["production", "preview"]
    );
    assert_eq!(complete(&s, &v, &["env", "list", "-p", "b"]), ["billing"]);
    assert_eq!(complete(&s, &v, &["project", "rm", "b"]), ["billing"]);
    assert_eq!(complete(&s, &v, &["env", "rm", "pre"]), ["preview"]);
}

#[test]
fn cold_it_offers_only_what_every_vault_starts_with() {
    let v = vault_with_names();
    let s = Session::new();
    assert_eq!(complete(&s, &v, &["get", ""]), Vec::<String>::new());
    assert_eq!(
        complete(&s, &v, &["-e", ""]),
        ["development", "staging", "production"]
    );
    assert_eq!(complete(&s, &v, &["-p", ""]), ["default"]);
    // Commands and flags complete as always; key slots are not sealed.
    assert!(complete(&s, &v, &["unl"]).contains(&"unlock".to_string()));
    assert_eq!(complete(&s, &v, &["keyfile", "rm", ""]), ["0"]);
}

#[test]
fn a_keyfile_on_the_line_or_in_the_environment_opens_the_vault_without_the_agent() {
    let v = Vault::new();
    v.add("API_KEY", b"1");
    let s = Session::new();
    let keyfile = v.keyfile().display().to_string();
    assert_eq!(
        complete(&s, &v, &["--keyfile", &keyfile, "get", ""]),
        ["API_KEY"]
    );
}

#[test]
fn a_completion_records_nothing_in_the_audit_log() {
    let v = vault_with_names();
    let s = Session::new();
    unlock(&s, &v);
    let before = v.audit_bytes();
    complete(&s, &v, &["get", ""]);
    complete(&s, &v, &["-e", ""]);
    complete(&s, &v, &["-p", ""]);
    assert_eq!(v.audit_bytes(), before);
}

#[test]
fn a_missing_or_damaged_vault_completes_nothing_and_prints_nothing() {
    let v = vault_with_names();
    let s = Session::new();
    unlock(&s, &v);
    let missing = v.dir.path().join("nope.tresor");
    let out = complete_raw(&s, &v, &missing, &["get", "A"]);
    assert_eq!(
        (out.code, out.stderr.as_str(), out.stdout.len()),
        (0, "", 0)
    );

    let damaged = v.dir.path().join("damaged.tresor");
    std::fs::write(&damaged, vec![0x5a; 8192]).unwrap();
    chmod(&damaged, 0o600);
    for words in [&["get", "A"][..], &["-e", "s"][..]] {
        let out = complete_raw(&s, &v, &damaged, words);
        assert_eq!(out.code, 0);
        assert_eq!(out.stderr, "", "{words:?}");
    }
    // What cannot be opened is treated as cold: the defaults, never an error.
    let out = complete_raw(&s, &v, &damaged, &["-e", "s"]);
    assert_eq!(out.text(), "staging");
}

#[test]
fn completions_prints_a_script_that_asks_tresor() {
    for shell in ["bash", "zsh", "fish"] {
        let mut c = tresor();
        c.args(["completions", shell]);
        let out = output(c, None).success();
        assert!(out.text().contains("COMPLETE="), "{shell}: {}", out.text());
    }
}
