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
fn the_v1_fixture_opens_with_its_passphrase_and_accepts_writes_after_upgrade() {
    let v = fixture("golden fixture passphrase");
    assert_eq!(
        v.get_in("production", "STRIPE_API_KEY"),
        b"sk_live_golden_0123456789"
    );
    // A format-1 vault with two key slots is not changed in place: the upgrade needs
    // the other slot's credential (the keyfile, slot 0) once.
    let refused = v.err(&["add", "NEW_SECRET"], Some(b"new"));
    assert!(
        refused.contains("format 1") && refused.contains("key slot 0 needs its own"),
        "{refused}"
    );
    assert_eq!(v.get("CUSTOM_TYPED"), b"hunter2-golden", "nothing changed");
    let keyfile = v.dir.path().join("vault.key");
    let upgraded = v.ok(
        &["upgrade", "--also-keyfile", keyfile.to_str().unwrap()],
        None,
    );
    assert!(
        upgraded
            .stderr
            .contains("upgraded to format 2 and rekeyed: a new data key encrypts all 6 values"),
        "{}",
        upgraded.stderr
    );
    assert!(upgraded.stderr.contains("What it cannot undo"));
    // Writing keeps every old record readable.
    v.add("NEW_SECRET", b"new");
    v.ok(&["edit", "DATABASE_URL", "-d", "edited"], None);
    v.ok(&["rm", "CUSTOM_TYPED", "--yes"], None);
    assert_eq!(v.get("NEW_SECRET"), b"new");
    assert_eq!(
        v.get("DATABASE_URL"),
        b"postgres://app:g0lden@db.internal:5432/app"
    );
    assert_eq!(v.get("BINARY_BLOB"), [0x00, 0xff, 0xfe, 0x01]);
    // Dates survive the re-encryption: a rekey is not a new value.
    let multi = v
        .list("development")
        .into_iter()
        .find(|s| s["key"] == "MULTI_LINE")
        .unwrap();
    assert_eq!(multi["value_changed"], CREATED);
    // Both credentials still open it.
    let by_keyfile = Vault {
        dir: tempfile::tempdir().unwrap(),
        path: v.path.clone(),
        cred: Cred::Keyfile(keyfile.clone()),
    };
    assert_eq!(by_keyfile.get("NEW_SECRET"), b"new");
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
/// environment records). It reads as it is and `doctor` says so. Its upgrade gives it a
/// new data key and a format-2 header bound to every key slot, so no part of the old file
/// can bring the older digests back: not the legacy digest alone, and not the old header,
/// key slots and legacy digest together (they unwrap the old data key, which opens
/// nothing written since).
#[test]
fn after_the_upgrade_the_older_digests_can_never_vouch_again() {
    use redb::{ReadableDatabase, ReadableTable};
    use tresor::vault::store::{
        DIGESTS, HEADER_KEY, KEYSLOTS, LEGACY_CATALOG_DIGEST_KEY, META, SECRETS, VAULT_DIGEST_KEY,
    };

    type Rows<K> = Vec<(K, Vec<u8>)>;
    struct OldParts {
        header: Vec<u8>,
        legacy: Vec<u8>,
        slots: Rows<u32>,
        secrets: Rows<[u8; 48]>,
        digests: Vec<([u8; 16], [u8; 32])>,
    }
    let v = fixture("keyfile");
    let old = {
        let db = redb::Builder::new().open_read_only(&v.path).unwrap();
        let txn = db.begin_read().unwrap();
        let meta = txn.open_table(META).unwrap();
        assert!(meta.get(VAULT_DIGEST_KEY).unwrap().is_none(), "old layout");
        OldParts {
            header: meta.get(HEADER_KEY).unwrap().unwrap().value().to_vec(),
            legacy: meta
                .get(LEGACY_CATALOG_DIGEST_KEY)
                .unwrap()
                .unwrap()
                .value()
                .to_vec(),
            slots: txn
                .open_table(KEYSLOTS)
                .unwrap()
                .iter()
                .unwrap()
                .map(|e| e.map(|(k, v)| (k.value(), v.value().to_vec())).unwrap())
                .collect(),
            secrets: txn
                .open_table(SECRETS)
                .unwrap()
                .iter()
                .unwrap()
                .map(|e| e.map(|(k, v)| (k.value(), v.value().to_vec())).unwrap())
                .collect(),
            digests: txn
                .open_table(DIGESTS)
                .unwrap()
                .iter()
                .unwrap()
                .map(|e| e.map(|(k, d)| (k.value(), d.value())).unwrap())
                .collect(),
        }
    };
    let doctor = v.ok(&["doctor"], None).text();
    assert!(doctor.contains("older catalog digest"), "{doctor}");
    assert!(doctor.contains("format 1"), "{doctor}");

    let upgraded = v.ok(&["upgrade", "--drop-unmatched"], None);
    assert!(
        upgraded.stderr.contains("removed slot 1"),
        "{}",
        upgraded.stderr
    );
    v.ok(&["edit", "CUSTOM_TYPED", "--value-stdin"], Some(b"rotated"));
    let doctor = v.ok(&["doctor"], None).text();
    assert!(!doctor.contains("older catalog digest"), "{doctor}");
    assert!(!doctor.contains("format 1"), "{doctor}");

    let write = |f: &dyn Fn(&redb::WriteTransaction)| {
        let db = redb::Builder::new().create(&v.path).unwrap();
        let txn = db.begin_write().unwrap();
        f(&txn);
        txn.commit().unwrap();
    };
    let current = v.bytes();

    // 1. The new digest removed and the legacy one put back.
    write(&|txn| {
        let mut meta = txn.open_table(META).unwrap();
        meta.remove(VAULT_DIGEST_KEY).unwrap();
        meta.insert(LEGACY_CATALOG_DIGEST_KEY, old.legacy.as_slice())
            .unwrap();
    });
    let error = v.run(&["get", "CUSTOM_TYPED"], None).failure().error();
    assert!(error.contains("does not match its digest"), "{error}");
    std::fs::write(&v.path, &current).unwrap();

    // 2. Everything that vouched for the old state put back: header, key slots, legacy
    //    digest, and the old development records with their digest row.
    write(&|txn| {
        let mut meta = txn.open_table(META).unwrap();
        meta.remove(VAULT_DIGEST_KEY).unwrap();
        meta.insert(HEADER_KEY, old.header.as_slice()).unwrap();
        meta.insert(LEGACY_CATALOG_DIGEST_KEY, old.legacy.as_slice())
            .unwrap();
        let mut slots = txn.open_table(KEYSLOTS).unwrap();
        slots.retain(|_, _| false).unwrap();
        for (k, bytes) in &old.slots {
            slots.insert(*k, bytes.as_slice()).unwrap();
        }
        let mut secrets = txn.open_table(SECRETS).unwrap();
        for (k, bytes) in &old.secrets {
            secrets.insert(*k, bytes.as_slice()).unwrap();
        }
        let mut digests = txn.open_table(DIGESTS).unwrap();
        for (k, d) in &old.digests {
            digests.insert(*k, *d).unwrap();
        }
    });
    let out = v.run(&["get", "CUSTOM_TYPED"], None);
    assert_ne!(out.code, 0, "a mixed old/new file must not open");
    assert_ne!(out.stdout, b"hunter2-golden");
    std::fs::write(&v.path, &current).unwrap();
    assert_eq!(v.get("CUSTOM_TYPED"), b"rotated");
}
