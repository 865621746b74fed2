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
        "development\t4 secrets\nstaging\t0 secrets\nproduction\t1 secret\n"
    );
    assert_eq!(
        v.ok(&["-p", "billing", "env", "list"], None).text(),
        "production\t1 secret\n"
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

/// The fixture predates the vault digest (it has only the catalog digest over the
/// environment records). It reads as it is; `doctor` says it will be upgraded; the first
/// write migrates it, after which the legacy digest is gone and an environment rolled back
/// with its own digest row is refused.
#[test]
fn the_v1_fixture_migrates_to_the_vault_digest_on_its_first_write() {
    use redb::{ReadableDatabase, ReadableTable};
    use tresor::vault::store::{
        DIGESTS, LEGACY_CATALOG_DIGEST_KEY, META, SECRETS, VAULT_DIGEST_KEY,
    };

    let v = fixture("keyfile");
    let meta_keys = |v: &Vault| {
        let db = redb::Builder::new().open_read_only(&v.path).unwrap();
        let txn = db.begin_read().unwrap();
        let meta = txn.open_table(META).unwrap();
        (
            meta.get(LEGACY_CATALOG_DIGEST_KEY).unwrap().is_some(),
            meta.get(VAULT_DIGEST_KEY).unwrap().is_some(),
        )
    };
    assert_eq!(
        meta_keys(&v),
        (true, false),
        "the fixture is in the old layout"
    );
    let doctor = v.ok(&["doctor"], None).text();
    assert!(doctor.contains("older catalog digest"), "{doctor}");

    // Snapshot development (records and digest row) before a change, as an attacker would.
    let snapshot = |v: &Vault| {
        let db = redb::Builder::new().open_read_only(&v.path).unwrap();
        let txn = db.begin_read().unwrap();
        let secrets: Vec<([u8; 48], Vec<u8>)> = txn
            .open_table(SECRETS)
            .unwrap()
            .iter()
            .unwrap()
            .map(|e| e.map(|(k, v)| (k.value(), v.value().to_vec())).unwrap())
            .collect();
        let digests: Vec<([u8; 16], [u8; 32])> = txn
            .open_table(DIGESTS)
            .unwrap()
            .iter()
            .unwrap()
            .map(|e| e.map(|(k, d)| (k.value(), d.value())).unwrap())
            .collect();
        (secrets, digests)
    };
    v.ok(&["edit", "CUSTOM_TYPED", "-d", "first write"], None);
    assert_eq!(meta_keys(&v), (false, true), "migrated by the first write");
    assert_eq!(v.get("CUSTOM_TYPED"), b"hunter2-golden");
    let doctor = v.ok(&["doctor"], None).text();
    assert!(!doctor.contains("older catalog digest"), "{doctor}");

    let (old_secrets, old_digests) = snapshot(&v);
    v.ok(&["edit", "CUSTOM_TYPED", "--value-stdin"], Some(b"rotated"));
    {
        let db = redb::Builder::new().create(&v.path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut secrets = txn.open_table(SECRETS).unwrap();
            for (k, bytes) in &old_secrets {
                secrets.insert(*k, bytes.as_slice()).unwrap();
            }
            let mut digests = txn.open_table(DIGESTS).unwrap();
            for (k, d) in &old_digests {
                digests.insert(*k, *d).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    let error = v.run(&["get", "CUSTOM_TYPED"], None).failure().error();
    assert!(
        error.contains("the vault does not match its digest"),
        "{error}"
    );
}
