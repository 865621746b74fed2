//! `tresor cp` and `tresor env clone`, as processes on temporary vaults: what lands at the
//! target (value, description, type, the value's age), what is refused and left alone,
//! and what the audit log records.

mod common;

use common::Vault;
use serde_json::Value;

fn secret<'a>(list: &'a [Value], key: &str) -> &'a Value {
    list.iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {list:?}"))
}

/// Everything a user can see: the environments, and each one's secrets and values.
fn state(v: &Vault) -> String {
    let envs = v.ok(&["env", "list"], None).text();
    let mut out = envs.clone();
    for line in envs.lines() {
        let env = line.split('\t').next().unwrap_or_default();
        out.push_str(&format!("{:?}{:?}", v.list(env), v.export_json(env)));
    }
    out
}

/// A vault with two secrets in development, one multi-line, with descriptions and types.
fn vault_with_secrets() -> Vault {
    let v = Vault::new();
    v.ok(
        &["add", "DB_PASS", "-d", "from the DBA", "--type", "token"],
        Some(b"hunter2-but-longer"),
    );
    v.ok(
        &["add", "TLS_KEY", "-d", "server key"],
        Some(b"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"),
    );
    v
}

#[test]
fn cp_copies_the_value_with_its_description_and_type() {
    let v = vault_with_secrets();
    let out = v.ok(&["cp", "DB_PASS", "--to-env", "production"], None);
    assert_eq!(
        out.stderr,
        "copied DB_PASS from default/development to default/production\n"
    );
    assert_eq!(v.get_in("production", "DB_PASS"), b"hunter2-but-longer");
    let prod = v.list("production");
    assert_eq!(prod.len(), 1, "only the one secret is copied");
    let copied = secret(&prod, "DB_PASS");
    assert_eq!(copied["description"], "from the DBA");
    assert_eq!(copied["type"], "token", "a type set by hand is kept");
    // The source is untouched, and the file still verifies end to end.
    assert_eq!(v.get("DB_PASS"), b"hunter2-but-longer");
    v.ok(&["doctor"], None);
}

#[test]
fn a_copied_value_keeps_its_age() {
    let v = vault_with_secrets();
    // Dates are in seconds: let one go by, so a reset age would show.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    v.ok(&["cp", "TLS_KEY", "--to-env", "staging"], None);
    let source = v.list("development");
    let target = v.list("staging");
    let (source, target) = (secret(&source, "TLS_KEY"), secret(&target, "TLS_KEY"));
    assert_eq!(target["value_changed"], source["value_changed"]);
    assert_ne!(
        target["created"], source["created"],
        "the copy is created now"
    );
}

#[test]
fn cp_refuses_an_existing_key_unless_overwrite() {
    let v = vault_with_secrets();
    v.ok(
        &["-e", "production", "add", "DB_PASS", "-d", "prod's own"],
        Some(b"prod-value"),
    );
    let err = v.err(&["cp", "DB_PASS", "--to-env", "production"], None);
    assert_eq!(
        err,
        "secret `DB_PASS` already exists in default/production: pass --overwrite to replace it"
    );
    assert_eq!(v.get_in("production", "DB_PASS"), b"prod-value");
    let before = v.list("production");

    let out = v.ok(
        &["cp", "DB_PASS", "--to-env", "production", "--overwrite"],
        None,
    );
    assert_eq!(
        out.stderr,
        "replaced DB_PASS in default/production with the one from default/development\n"
    );
    assert_eq!(v.get_in("production", "DB_PASS"), b"hunter2-but-longer");
    let after = v.list("production");
    let (before, after) = (secret(&before, "DB_PASS"), secret(&after, "DB_PASS"));
    assert_eq!(after["description"], "from the DBA");
    assert_eq!(after["type"], "token");
    assert_eq!(
        after["created"], before["created"],
        "the target keeps its creation date"
    );

    let out = v.ok(
        &["cp", "DB_PASS", "--to-env", "production", "--overwrite"],
        None,
    );
    assert!(out.stderr.contains("already the same"), "{}", out.stderr);

    // The replaced value is kept in the target's history, like any change of a value.
    v.ok(&["-e", "production", "rollback", "DB_PASS", "1"], None);
    assert_eq!(v.get_in("production", "DB_PASS"), b"prod-value");
}

#[test]
fn cp_across_projects() {
    let v = vault_with_secrets();
    v.ok(&["-p", "billing", "env", "add", "production"], None);
    let out = v.ok(
        &[
            "cp",
            "TLS_KEY",
            "--to-project",
            "billing",
            "--to-env",
            "production",
        ],
        None,
    );
    assert_eq!(
        out.stderr,
        "copied TLS_KEY from default/development to billing/production\n"
    );
    let value = v.ok(
        &["-p", "billing", "-e", "production", "get", "TLS_KEY"],
        None,
    );
    assert_eq!(
        value.stdout,
        b"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
    );
    // Back the other way, from -p/-e.
    v.ok(
        &[
            "-p",
            "billing",
            "-e",
            "production",
            "cp",
            "TLS_KEY",
            "--to-project",
            "default",
            "--to-env",
            "staging",
        ],
        None,
    );
    assert_eq!(v.keys("staging"), ["TLS_KEY"]);
}

#[test]
fn cp_refusals_name_the_problem_and_change_nothing() {
    let v = vault_with_secrets();
    let before = state(&v);
    let cases: &[(&[&str], &str)] = &[
        (
            &["cp", "DB_PASS", "--to-env", "development"],
            "`default/development` is both the source and the target: copy to another environment or project",
        ),
        (
            &["cp", "NOPE", "--to-env", "production"],
            "no secret `NOPE` in default/development",
        ),
        (
            &["cp", "DB_PASS", "--to-env", "qa"],
            "no environment `qa` in project `default` (see `tresor env list`)",
        ),
        (
            &[
                "cp",
                "DB_PASS",
                "--to-env",
                "production",
                "--to-project",
                "x",
            ],
            "no project `x` (projects: default)",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(v.err(args, None), *want, "{args:?}");
    }
    assert!(state(&v) == before, "a refused copy changes nothing");
    v.run(&["cp", "DB_PASS"], None).usage_error();
}

#[test]
fn cp_is_audited_as_a_read_of_the_source_and_a_change_of_the_target() {
    let v = vault_with_secrets();
    v.ok(&["cp", "DB_PASS", "--to-env", "staging"], None);
    let log = v.ok(&["audit"], None).text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("copy")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("copy to default/staging")
            && lines[0].contains("default/development")
            && lines[0].ends_with("DB_PASS"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("copy from default/development")
            && lines[1].contains("default/staging")
            && lines[1].ends_with("DB_PASS"),
        "{}",
        lines[1]
    );
    assert!(!common::contains(&v.audit_bytes(), b"hunter2"));
}

#[test]
fn env_clone_creates_the_environment_with_every_secret() {
    let v = vault_with_secrets();
    let out = v.ok(&["env", "clone", "development", "preview"], None);
    assert_eq!(
        out.stderr,
        "created default/preview with 2 secrets from default/development\n"
    );
    assert_eq!(v.export_json("preview"), v.export_json("development"));
    let (source, target) = (v.list("development"), v.list("preview"));
    for key in ["DB_PASS", "TLS_KEY"] {
        let (s, t) = (secret(&source, key), secret(&target, key));
        assert_eq!(s["description"], t["description"]);
        assert_eq!(s["type"], t["type"]);
        assert_eq!(s["value_changed"], t["value_changed"]);
    }
    let envs = v.ok(&["env", "list"], None).text();
    assert!(envs.contains("preview\t2 secrets"), "{envs}");
    v.ok(&["doctor"], None);

    // Into another project, which the clone creates.
    v.ok(
        &["env", "clone", "development", "dev", "--to-project", "fork"],
        None,
    );
    let out = v.ok(&["-p", "fork", "-e", "dev", "get", "DB_PASS"], None);
    assert_eq!(out.stdout, b"hunter2-but-longer");
}

#[test]
fn env_clone_into_an_environment_with_secrets_needs_merge_or_overwrite() {
    let v = vault_with_secrets();
    v.add_in("staging", "DB_PASS", b"staging-own");
    v.add_in("staging", "ONLY_IN_STAGING", b"x1");
    let before = state(&v);
    let err = v.err(&["env", "clone", "development", "staging"], None);
    assert_eq!(
        err,
        "environment `default/staging` already holds 2 secrets: pass --merge to add only the missing ones, or --overwrite to also replace those that differ"
    );
    assert!(state(&v) == before, "a refused clone changes nothing");

    let out = v.ok(&["env", "clone", "development", "staging", "--merge"], None);
    assert_eq!(
        out.stderr,
        "default/staging: 1 secret added and 0 replaced from default/development\n\
         kept 1 secret of default/staging that differs (use --overwrite to replace them): DB_PASS\n"
    );
    assert_eq!(v.get_in("staging", "DB_PASS"), b"staging-own");
    assert_eq!(v.keys("staging"), ["DB_PASS", "ONLY_IN_STAGING", "TLS_KEY"]);

    let out = v.ok(
        &["env", "clone", "development", "staging", "--overwrite"],
        None,
    );
    assert_eq!(
        out.stderr,
        "default/staging: 0 secrets added and 1 replaced from default/development; 1 already the same\n"
    );
    assert_eq!(v.get_in("staging", "DB_PASS"), b"hunter2-but-longer");
    // The target's own secrets are never removed.
    assert_eq!(v.get_in("staging", "ONLY_IN_STAGING"), b"x1");
    v.run(
        &[
            "env",
            "clone",
            "development",
            "staging",
            "--merge",
            "--overwrite",
        ],
        None,
    )
    .usage_error();
}

#[test]
fn env_clone_into_an_empty_environment_needs_no_flag() {
    let v = vault_with_secrets();
    let out = v.ok(&["env", "clone", "development", "staging"], None);
    assert_eq!(
        out.stderr,
        "default/staging: 2 secrets added and 0 replaced from default/development\n"
    );
}

#[test]
fn env_clone_refusals_change_nothing() {
    let v = vault_with_secrets();
    let before = state(&v);
    let cases: &[(&[&str], &str)] = &[
        (
            &["env", "clone", "development", "development"],
            "`default/development` is both the source and the target: copy to another environment or project",
        ),
        (
            &["env", "clone", "qa", "preview"],
            "no environment `qa` in project `default` (see `tresor env list`)",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(v.err(args, None), *want, "{args:?}");
    }
    let err = v.err(&["env", "clone", "development", "bad name"], None);
    assert!(
        err.starts_with("invalid environment name `bad name`"),
        "{err}"
    );
    assert!(state(&v) == before, "a refused clone changes nothing");
}

#[test]
fn env_clone_is_audited_at_both_ends_with_the_keys() {
    let v = vault_with_secrets();
    v.ok(&["env", "clone", "development", "preview"], None);
    let log = v.ok(&["audit"], None).text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("env clone")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("env clone to default/preview"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("env clone from default/development"),
        "{}",
        lines[1]
    );
    for line in lines {
        assert!(line.ends_with("DB_PASS,TLS_KEY"), "{line}");
    }
}

#[test]
fn a_format_2_vault_from_an_earlier_build_copies_and_clones() {
    // tests/fixtures/v2-vault, written by an earlier build (see its README.txt).
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v2-vault");
    let v = Vault::uninit();
    std::fs::copy(src.join("vault.tresor"), &v.path).unwrap();
    let keyfile = v.dir.path().join("vault.key");
    std::fs::copy(src.join("vault.key"), &keyfile).unwrap();
    common::chmod(&v.path, 0o600);
    common::chmod(&keyfile, 0o600);
    let v = Vault {
        cred: common::Cred::Keyfile(keyfile),
        ..v
    };
    v.ok(&["cp", "MULTI_LINE", "--to-env", "staging"], None);
    assert_eq!(v.get_in("staging", "MULTI_LINE"), b"line one\nline two\n");
    v.ok(
        &[
            "-p",
            "billing",
            "env",
            "clone",
            "production",
            "production",
            "--to-project",
            "default",
            "--merge",
        ],
        None,
    );
    let out = v.ok(&["-e", "production", "get", "INVOICE_TOKEN"], None);
    assert!(!out.stdout.is_empty());
    assert_eq!(
        v.get_in("production", "STRIPE_API_KEY"),
        b"sk_live_golden_0123456789",
        "merge keeps the target's own"
    );
    v.ok(&["doctor"], None);
}
