//! `tresor check` and `tresor diff` as a user runs them: each health rule that can be
//! seen from a fresh vault (stale and unused need time to pass: see
//! `vault::health::rules` and the TUI tests with a fixed clock), exit codes, the JSON,
//! the rotation period, the format-2 fixture, and values never in the output.

mod common;

use std::path::Path;

use common::{Cred, Vault, chmod, contains};
use serde_json::Value;

const WEAK: &[u8] = b"hunter2";
const SHARED: &[u8] = b"Qm7vXk2pLr9sT4wZ8nB3cF6hJ1dG5yE0-shared";
const STRONG: &[u8] = b"sk_live_4eC39HqLyjWDarjtT1zdp7dc9Xq";

fn check_json(v: &Vault, args: &[&str], code: i32) -> Value {
    let mut all = vec!["check", "--json"];
    all.extend(args);
    let out = v.run(&all, None);
    assert_eq!(out.code, code, "stderr: {}", out.stderr);
    out.assert_no_panic();
    serde_json::from_slice(&out.stdout).expect("check --json is JSON")
}

/// The flags of `key` in `env` in a `check --json` report (empty when not flagged).
fn flags(report: &Value, env: &str, key: &str) -> Vec<String> {
    report["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["environment"] == env && s["key"] == key)
        .map(|s| {
            s["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn add_described(v: &Vault, env: &str, key: &str, value: &[u8]) {
    v.ok(&["-e", env, "add", key, "-d", "documented"], Some(value));
}

#[test]
fn a_weak_password_is_flagged_and_its_value_is_never_printed() {
    let v = Vault::new();
    add_described(&v, "development", "DB_PASSWORD", WEAK);
    add_described(&v, "development", "STRIPE_API_KEY", STRONG);
    let out = v.run(&["check"], None);
    assert_eq!(out.code, 3, "flags found: exit 3; stderr {}", out.stderr);
    let text = out.text();
    assert!(text.starts_with("KEY"), "{text}");
    let line = text.lines().find(|l| l.contains("DB_PASSWORD")).unwrap();
    assert!(
        line.contains("development") && line.contains("weak"),
        "{line}"
    );
    assert!(line.contains("7 characters"), "{line}");
    assert!(
        !text.contains("STRIPE_API_KEY"),
        "a strong, documented secret is not listed"
    );
    assert!(
        out.stderr.contains("checked 2 secrets: 1 flagged (weak 1)"),
        "{}",
        out.stderr
    );
    assert!(!contains(&out.stdout, WEAK) && !out.stderr.contains("hunter2"));
}

#[test]
fn a_connection_string_is_weak_by_its_password_alone() {
    let v = Vault::new();
    add_described(
        &v,
        "development",
        "DATABASE_URL",
        b"postgres://app:changeme@db.internal/app",
    );
    add_described(
        &v,
        "development",
        "CACHE_URL",
        b"redis://cache.internal:6379/0",
    );
    add_described(
        &v,
        "development",
        "TLS_KEY",
        b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    );
    let report = check_json(&v, &[], 3);
    assert_eq!(flags(&report, "development", "DATABASE_URL"), ["weak"]);
    assert!(
        flags(&report, "development", "CACHE_URL").is_empty(),
        "no password: not judged"
    );
    assert!(
        flags(&report, "development", "TLS_KEY").is_empty(),
        "PEM is not judged"
    );
    let text = report.to_string();
    assert!(
        text.contains("password in this connection string"),
        "{text}"
    );
    assert!(!text.contains("changeme"));
}

#[test]
fn a_value_reused_across_two_environments_is_found_without_showing_it() {
    let v = Vault::new();
    add_described(&v, "development", "STRIPE_API_KEY", SHARED);
    add_described(&v, "production", "STRIPE_API_KEY", SHARED);
    add_described(&v, "production", "WEBHOOK_SECRET", STRONG);
    let out = v.run(&["check", "--all", "--json"], None);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(flags(&report, "development", "STRIPE_API_KEY"), ["reused"]);
    assert_eq!(flags(&report, "production", "STRIPE_API_KEY"), ["reused"]);
    assert!(flags(&report, "production", "WEBHOOK_SECRET").is_empty());
    let dev = report["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["environment"] == "development")
        .unwrap();
    assert_eq!(
        dev["reused_with"],
        serde_json::json!([{"project": "default", "environment": "production", "key": "STRIPE_API_KEY"}])
    );
    assert_eq!(
        dev["reasons"][0]["why"],
        "same value as production/STRIPE_API_KEY"
    );
    // Neither the value nor any 8-byte piece of it is in anything tresor printed.
    for piece in SHARED.windows(8) {
        assert!(
            !contains(&out.stdout, piece),
            "a piece of the value is in stdout"
        );
        assert!(!contains(out.stderr.as_bytes(), piece));
        assert!(!contains(&v.audit_bytes(), piece));
    }
    // The table says the same, and one environment's check still sees the other one.
    let table = v.run(&["-e", "production", "check"], None);
    assert_eq!(table.code, 3);
    assert!(
        table
            .text()
            .contains("same value as development/STRIPE_API_KEY")
    );
    assert!(!contains(&table.stdout, SHARED));
}

#[test]
fn a_value_reused_in_another_project_names_the_project() {
    let v = Vault::new();
    add_described(&v, "development", "SMTP_PASSWORD", SHARED);
    v.ok(&["-p", "billing", "env", "add", "production"], None);
    v.ok(
        &[
            "-p",
            "billing",
            "-e",
            "production",
            "add",
            "MAIL_PASSWORD",
            "-d",
            "x",
        ],
        Some(SHARED),
    );
    let report = check_json(&v, &[], 3);
    assert_eq!(
        report["secrets"][0]["reasons"][0]["why"],
        "same value as billing/production/MAIL_PASSWORD"
    );
}

#[test]
fn other_values_such_as_ports_are_neither_weak_nor_reused() {
    let v = Vault::new();
    add_described(&v, "development", "PORT", b"8080");
    add_described(&v, "production", "PORT", b"8080");
    let report = check_json(&v, &["--all"], 0);
    assert_eq!(report["flagged"], 0);
    assert_eq!(report["checked"], 2);
}

#[test]
fn undocumented_and_badly_named_secrets_are_flagged() {
    let v = Vault::new();
    v.add("TOKEN", STRONG);
    v.ok(
        &["add", "stripe_secret", "-d", "documented"],
        Some(b"Zp8#xQ4!vL2@mK9$wT7&"),
    );
    let report = check_json(&v, &[], 3);
    assert_eq!(
        flags(&report, "development", "TOKEN"),
        ["undocumented", "badly-named"]
    );
    assert_eq!(
        flags(&report, "development", "stripe_secret"),
        ["badly-named"]
    );
    let text = report.to_string();
    assert!(text.contains("too generic"), "{text}");
    assert!(text.contains("try STRIPE_SECRET"), "{text}");
    assert_eq!(report["counts"]["undocumented"], 1);
    assert_eq!(report["counts"]["badly-named"], 2);
}

#[test]
fn exit_codes_follow_fail_on() {
    let v = Vault::new();
    add_described(&v, "development", "DB_PASSWORD", WEAK);
    assert_eq!(v.run(&["check"], None).code, 3, "default: every flag fails");
    assert_eq!(v.run(&["check", "--fail-on", "weak"], None).code, 3);
    let report = check_json(&v, &["--fail-on", "reused,stale"], 0);
    assert_eq!(report["failed"], false);
    assert_eq!(report["fail_on"], serde_json::json!(["reused", "stale"]));
    assert_eq!(report["flagged"], 1, "still reported, just not failing");
    assert_eq!(v.run(&["check", "--fail-on", "none"], None).code, 0);
    // A typo is a usage error, never a silently weaker check.
    let out = v
        .run(&["check", "--fail-on", "weak,wek"], None)
        .usage_error();
    assert!(out.stderr.contains("unknown flag `wek`"), "{}", out.stderr);
    // A clean environment exits 0 and says so.
    let clean = v.run(&["-e", "staging", "check"], None).success();
    assert!(clean.stdout.is_empty());
    assert!(clean.stderr.contains("checked 0 secrets: nothing flagged"));
    // An error is 1, with the usual message.
    let err = v.err(&["-e", "nope", "check"], None);
    assert!(err.contains("no environment `nope`"), "{err}");
}

#[test]
fn the_rotation_period_is_stored_shown_checked_and_kept_by_rekey() {
    let v = Vault::new();
    let out = v.ok(&["env", "set", "production", "--rotate-days", "30"], None);
    assert!(out.stderr.contains("older than 30 days"), "{}", out.stderr);
    assert_eq!(
        v.ok(&["env", "list"], None).text(),
        "development\t0 secrets\nstaging\t0 secrets\nproduction\t0 secrets\trotate every 30 days\n"
    );
    let report = check_json(&v, &["--all"], 0);
    let days: Vec<(String, u64)> = report["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["environment"].as_str().unwrap().into(),
                e["rotate_days"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("development".into(), 90),
            ("staging".into(), 90),
            ("production".into(), 30)
        ]
    );
    v.ok(&["rekey"], None);
    assert!(
        v.ok(&["env", "list"], None)
            .text()
            .contains("rotate every 30 days")
    );
    // Bad periods are refused and change nothing.
    let err = v.err(&["env", "set", "production", "--rotate-days", "0"], None);
    assert!(err.contains("1 to 3650"), "{err}");
    v.run(&["env", "set", "production", "--rotate-days", "-3"], None)
        .usage_error();
    let err = v.err(&["env", "set", "nope", "--rotate-days", "7"], None);
    assert!(err.contains("no environment `nope`"), "{err}");
    assert!(
        v.ok(&["env", "list"], None)
            .text()
            .contains("rotate every 30 days")
    );
    assert!(String::from_utf8_lossy(&v.ok(&["audit"], None).stdout).contains("env set"));
}

fn fixture(name: &str) -> Vault {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let v = Vault::uninit();
    std::fs::copy(src.join("vault.tresor"), &v.path).unwrap();
    let keyfile = v.dir.path().join("vault.key");
    std::fs::copy(src.join("vault.key"), &keyfile).unwrap();
    chmod(&v.path, 0o600);
    chmod(&keyfile, 0o600);
    Vault {
        cred: Cred::Keyfile(keyfile),
        ..v
    }
}

#[test]
fn a_format_2_vault_from_before_rotation_periods_is_checked_and_can_set_one() {
    let v = fixture("v2-vault");
    let report = check_json(&v, &["--all"], 3);
    assert_eq!(report["checked"], 6);
    assert!(flags(&report, "development", "CUSTOM_TYPED").contains(&"undocumented".to_string()));
    assert_eq!(flags(&report, "development", "DATABASE_URL"), ["weak"]);
    assert!(flags(&report, "development", "MULTI_LINE").is_empty());
    let out = v.ok(&["diff", "development", "production"], None);
    assert!(out.text().contains("DATABASE_URL"));
    v.ok(&["env", "set", "staging", "--rotate-days", "14"], None);
    assert_eq!(
        v.ok(&["env", "list"], None).text(),
        "development\t4 secrets\nstaging\t0 secrets\trotate every 14 days\nproduction\t1 secret\n"
    );
    // Every value still reads after the environment record changed variant.
    assert_eq!(
        v.get("DATABASE_URL"),
        b"postgres://app:g0lden@db.internal:5432/app"
    );
    v.ok(&["doctor"], None);
}

fn diff_json(v: &Vault, args: &[&str]) -> Value {
    let mut all = vec!["diff", "--json"];
    all.extend(args);
    serde_json::from_slice(&v.ok(&all, None).stdout).expect("diff --json is JSON")
}

fn keys_of(report: &Value) -> Vec<String> {
    report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap().to_string())
        .collect()
}

/// staging has A, B, C; production has A (same value), B (another value).
fn staging_and_production() -> Vault {
    let v = Vault::new();
    add_described(&v, "staging", "API_A", SHARED);
    add_described(&v, "staging", "API_B", STRONG);
    add_described(&v, "staging", "API_C", STRONG);
    add_described(&v, "production", "API_A", SHARED);
    add_described(
        &v,
        "production",
        "API_B",
        b"another value, not the same as staging's",
    );
    v
}

#[test]
fn diff_says_what_production_lacks_and_which_values_are_the_same() {
    let v = staging_and_production();
    let out = v.ok(&["diff", "staging", "production"], None);
    assert_eq!(
        out.text(),
        "KEY    staging  production\n\
         API_A  A        A           same\n\
         API_B  A        B           differ\n\
         API_C  A        -           missing in production\n"
    );
    assert!(
        out.stderr
            .contains("3 keys: 1 same, 1 differ, 1 missing somewhere")
    );
    assert_eq!(
        keys_of(&diff_json(&v, &["staging", "production", "--only-missing"])),
        ["API_C"]
    );
    let same = diff_json(&v, &["staging", "production", "--only-same"]);
    assert_eq!(keys_of(&same), ["API_A"]);
    assert_eq!(
        same["keys"][0],
        serde_json::json!({"key": "API_A", "state": "same", "missing_in": [],
            "values": {"staging": "A", "production": "A"}})
    );
    for piece in SHARED.windows(8).chain(STRONG.windows(8)) {
        assert!(!contains(&out.stdout, piece) && !contains(out.stderr.as_bytes(), piece));
    }
}

#[test]
fn diff_of_three_environments_and_its_errors() {
    let v = staging_and_production();
    let report = diff_json(&v, &["development", "staging", "production"]);
    assert_eq!(
        report["environments"],
        serde_json::json!(["development", "staging", "production"])
    );
    assert_eq!(
        report["keys"][0]["missing_in"],
        serde_json::json!(["development"])
    );
    assert_eq!(
        report["keys"][2]["missing_in"],
        serde_json::json!(["development", "production"])
    );
    let err = v.err(&["diff", "staging", "prod"], None);
    assert!(err.contains("no environment `prod`"), "{err}");
    let err = v.err(&["diff", "staging", "staging"], None);
    assert!(err.contains("named twice"), "{err}");
    v.run(&["diff", "staging"], None).usage_error();
    v.run(&["diff", "a", "b", "--only-same", "--only-missing"], None)
        .usage_error();
}

/// The rotation period lives in the sealed environment record, which the vault digest
/// covers: putting back an older record (a laxer period) outside tresor is refused.
#[test]
fn a_rotation_period_rolled_back_in_the_file_is_refused() {
    use tresor::vault::storage::redb_file::RedbFile;
    use tresor::vault::storage::{ReadTxn, Storage, Table, WriteTxn};
    use tresor::vault::{Credential, Vault as Handle};

    let v = Vault::new();
    v.ok(&["env", "set", "production", "--rotate-days", "365"], None);
    let Cred::Keyfile(keyfile) = &v.cred else {
        unreachable!()
    };
    let env = Handle::unlock(&v.path, &Credential::Keyfile(keyfile.clone()))
        .unwrap()
        .test_env_key("default", "production")
        .unwrap();
    let mut lax = None;
    RedbFile::new(&v.path)
        .read(&mut |txn: &dyn ReadTxn| {
            lax = txn.get(Table::Environments, &env)?;
            Ok(())
        })
        .unwrap();
    v.ok(&["env", "set", "production", "--rotate-days", "30"], None);
    let lax = lax.expect("environment row");
    RedbFile::new(&v.path)
        .write(&mut |txn: &mut dyn WriteTxn| txn.put(Table::Environments, &env, &lax))
        .unwrap();
    let err = v.err(&["-e", "production", "check"], None);
    assert!(err.contains("does not match its digest"), "{err}");
    assert!(
        v.err(&["env", "list"], None)
            .contains("does not match its digest")
    );
}

/// Past 2,000 records the scan opens records on every core: the answers must not change.
#[test]
fn thousands_of_secrets_give_the_same_answers_on_every_core() {
    let v = Vault::new();
    let token = |i: usize| format!("tok-{i:05}-Qm7vXk2pLr9sT4wZ8nB3cF6hJ1dG5yE");
    let mut dotenv: String = (0..2_500)
        .map(|i| format!("SERVICE_{i:05}_TOKEN={}\n", token(i)))
        .collect();
    dotenv.push_str("WEAK_TOKEN=hunter2\n");
    v.ok(&["import", "-"], Some(dotenv.as_bytes()));
    // production shares one value with development, under another name.
    v.ok(
        &["-e", "production", "add", "COPY_TOKEN", "-d", "x"],
        Some(token(1234).as_bytes()),
    );
    let report = check_json(&v, &["--fail-on", "weak,reused"], 3);
    assert_eq!(report["checked"], 2_501);
    assert_eq!(report["counts"]["weak"], 1);
    assert_eq!(report["counts"]["reused"], 1);
    assert_eq!(report["counts"]["undocumented"], 2_501);
    assert_eq!(
        flags(&report, "development", "SERVICE_01234_TOKEN"),
        ["reused", "undocumented"]
    );
    let same = diff_json(&v, &["development", "production", "--only-same"]);
    assert!(
        keys_of(&same).is_empty(),
        "different names: not the same key"
    );
    let missing = diff_json(&v, &["development", "production", "--only-missing"]);
    assert_eq!(missing["keys"].as_array().unwrap().len(), 2_502);
}

/// A format-1 vault is read as it is (no upgrade for a read): check and diff work on it.
#[test]
fn a_format_1_vault_is_checked_and_compared_without_an_upgrade() {
    let v = fixture("v1-vault");
    let before = v.bytes();
    let report = check_json(&v, &["--all"], 3);
    assert_eq!(report["checked"], 6);
    assert_eq!(flags(&report, "development", "DATABASE_URL"), ["weak"]);
    let out = v.ok(&["diff", "development", "production"], None);
    assert!(out.text().contains("STRIPE_API_KEY"), "{}", out.text());
    assert_eq!(v.bytes(), before, "reading never changes a format-1 vault");
}

#[test]
fn an_audit_log_that_fails_verification_is_not_trusted_to_call_a_secret_unused() {
    let v = Vault::new();
    v.add("GOOD_API_KEY", b"a-good-long-value-4711-0815");
    v.ok(&["get", "GOOD_API_KEY"], None);
    let report = check_json(&v, &["--fail-on", "none"], 0);
    assert_eq!(report["notes"], serde_json::json!([]));
    // Someone removes the line of the read (the hash chain breaks at the next one).
    let log = String::from_utf8(v.audit_bytes()).expect("hex lines");
    let mut lines: Vec<&str> = log.lines().collect();
    let read = lines.len() - 2;
    lines.remove(read);
    std::fs::write(v.audit_path(), lines.join("\n") + "\n").expect("rewrite the log");
    let report = check_json(&v, &["--fail-on", "none"], 0);
    let notes = report["notes"].to_string();
    assert!(notes.contains("unused not checked"), "{notes}");
    assert!(notes.contains("failed verification"), "{notes}");
}
