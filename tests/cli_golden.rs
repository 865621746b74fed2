//! The committed vault in tests/fixtures/v1-vault (see its README.txt) must keep opening,
//! with the same values, in every later build: it guards the on-disk format.

mod common;

use std::path::Path;

use common::{Cred, Vault, chmod};

const CREATED: &str = "2026-11-27T07:21:30Z";

/// A private copy (git does not keep 0600, and reads append to the audit log beside it).
fn fixture(cred: &str) -> Vault {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-vault");
    let v = Vault::uninit();
    std::fs::copy(src.join("vault.tresor"), &v.path).unwrap();
    let keyfile = v.dir.path().join("vault.key");
    std::fs::copy(src.join("vault.key"), &keyfile).unwrap();
    chmod(&v.path, 0o600);
    chmod(&keyfile, 0o600);
    let cred = match cred {
        "keyfile" => Cred::Keyfile(keyfile),
        pass => Cred::Passphrase(pass.into()),
    };
    Vault { cred, ..v }
}

#[test]
fn the_v1_fixture_still_reads() {
    let v = fixture("keyfile");
    assert_eq!(
        v.ok(&["env", "list"], None).text(),
        "development\t4 secrets\nstaging\t0 secrets\nproduction\t1 secrets\n"
    );
    assert_eq!(
        v.ok(&["-p", "billing", "env", "list"], None).text(),
        "production\t1 secrets\n"
    );

    assert_eq!(
        v.get("DATABASE_URL"),
        b"postgres://app:g0lden@db.internal:5432/app"
    );
    assert_eq!(v.get("MULTI_LINE"), b"line one\nline two\n");
    assert_eq!(v.get("BINARY_BLOB"), [0x00, 0xff, 0xfe, 0x01]);
    assert_eq!(v.get("CUSTOM_TYPED"), b"hunter2-golden");
    assert_eq!(
        v.get_in("production", "STRIPE_API_KEY"),
        b"sk_live_golden_0123456789"
    );
    assert_eq!(
        v.ok(
            &["-p", "billing", "-e", "production", "get", "INVOICE_TOKEN"],
            None
        )
        .stdout,
        b"inv_golden_token"
    );

    let listed: Vec<(String, String, String)> = v
        .list("development")
        .iter()
        .map(|s| {
            assert_eq!(s["created"], CREATED);
            assert_eq!(s["updated"], CREATED);
            assert_eq!(s["value_changed"], CREATED);
            (
                s["key"].as_str().unwrap().to_string(),
                s["type"].as_str().unwrap().to_string(),
                s["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("BINARY_BLOB", "other", ""),
        ("CUSTOM_TYPED", "password", ""),
        ("DATABASE_URL", "connection-string", "primary database"),
        ("MULTI_LINE", "other", "two lines, ends with a newline"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(k, t, d)| (k.to_string(), t.to_string(), d.to_string()))
        .collect();
    assert_eq!(listed, want);
    let prod = v.list("production");
    assert_eq!(prod.len(), 1);
    assert_eq!(prod[0]["type"], "api-key");
    assert_eq!(prod[0]["description"], "live key");
    assert!(v.list("staging").is_empty());
}

#[test]
fn the_v1_fixture_opens_with_its_passphrase_and_accepts_writes() {
    let v = fixture("golden fixture passphrase");
    assert_eq!(
        v.get_in("production", "STRIPE_API_KEY"),
        b"sk_live_golden_0123456789"
    );
    // Writing to an old vault keeps it readable, old records included.
    v.add("NEW_SECRET", b"new");
    v.ok(&["edit", "DATABASE_URL", "-d", "edited"], None);
    v.ok(&["rm", "CUSTOM_TYPED", "--yes"], None);
    assert_eq!(v.get("NEW_SECRET"), b"new");
    assert_eq!(
        v.get("DATABASE_URL"),
        b"postgres://app:g0lden@db.internal:5432/app"
    );
    assert_eq!(v.get("BINARY_BLOB"), [0x00, 0xff, 0xfe, 0x01]);
    assert_eq!(
        v.run(
            &[
                "-p",
                "billing",
                "-e",
                "production",
                "run",
                "--",
                "sh",
                "-c",
                "printf %s \"$INVOICE_TOKEN\""
            ],
            None
        )
        .success()
        .stdout,
        b"inv_golden_token"
    );
    let wrong = fixture("not the golden passphrase");
    assert_eq!(
        wrong.run(&["list"], None).failure().stderr,
        common::WRONG_CREDENTIAL
    );
}
