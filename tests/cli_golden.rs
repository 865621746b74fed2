//! The committed vaults in tests/fixtures/v1-vault and v2-vault (see their README.txt)
//! must keep opening, with the same values, in every later build: they guard the on-disk
//! formats. Format 1 reads as it is and is upgraded before its first change.

mod common;

use std::path::Path;

use common::{Cred, Vault, chmod};

const CREATED: &str = "2026-11-27T07:21:30Z";

/// A private copy (git does not keep 0600, and reads append to the audit log beside it).
fn fixture(cred: &str) -> Vault {
    fixture_of("v1-vault", cred)
}

fn fixture_of(name: &str, cred: &str) -> Vault {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
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

/// Both fixtures hold the same environments and values (see their README.txt).
#[track_caller]
fn assert_golden_values(v: &Vault) {
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
}

#[test]
fn the_v1_fixture_still_reads() {
    let v = fixture("keyfile");
    assert_golden_values(&v);

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
/// new data key, format-2 tables and a header bound to every key slot, so nothing of the
/// old file can bring the older digests back: a format-2 file has no fallback digest, and
/// the old file as a whole is an older copy, refused by what this machine has seen.
#[test]
fn after_the_upgrade_the_older_digests_can_never_vouch_again() {
    use tresor::vault::storage::{Storage, Table, redb_file::RedbFile};

    let v = fixture("keyfile");
    let old_file = v.bytes();
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
    let current = v.bytes();

    // 1. The vault digest removed: a format-2 file has nothing else to fall back on.
    RedbFile::new(&v.path)
        .write(&mut |txn| {
            txn.delete(Table::Meta, b"vault_digest")?;
            Ok(())
        })
        .unwrap();
    let error = v.run(&["get", "CUSTOM_TYPED"], None).failure().error();
    assert!(error.contains("does not match its digest"), "{error}");
    std::fs::write(&v.path, &current).unwrap();

    // 2. The whole format-1 file put back (header, key slots, legacy digest and all):
    //    this machine has opened the vault in format 2, so it is an older copy.
    std::fs::write(&v.path, &old_file).unwrap();
    let error = v.run(&["get", "CUSTOM_TYPED"], None).failure().error();
    assert!(
        error.contains("this machine has already opened this vault in format 2"),
        "{error}"
    );
    // What cannot be detected without that record: the whole old file on a machine
    // that never saw the new one. It opens, with the old values.
    v.forget_seen();
    assert_eq!(v.get("CUSTOM_TYPED"), b"hunter2-golden");

    std::fs::write(&v.path, &current).unwrap();
    assert_eq!(v.get("CUSTOM_TYPED"), b"rotated");
}

/// The format-2 fixture: every value, both credentials, the slots listed, doctor clean.
#[test]
fn the_v2_fixture_still_reads() {
    for cred in ["keyfile", "golden fixture passphrase"] {
        let v = fixture_of("v2-vault", cred);
        assert_golden_values(&v);
        let kinds: Vec<(String, String)> = v
            .list("development")
            .iter()
            .map(|s| {
                assert_eq!(s["created"], s["value_changed"]);
                (
                    s["key"].as_str().unwrap().to_string(),
                    s["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("BINARY_BLOB".to_string(), "other".to_string()),
                ("CUSTOM_TYPED".into(), "password".into()),
                ("DATABASE_URL".into(), "connection-string".into()),
                ("MULTI_LINE".into(), "other".into()),
            ]
        );
        let slots = v.ok(&["keyfile", "list"], None).text();
        assert!(slots.contains("\n0\tkeyfile\t2026-11-30T"), "{slots}");
        assert!(slots.contains("\n1\tpassphrase\t2026-11-30T"), "{slots}");
        let doctor = v.ok(&["doctor"], None).text();
        assert!(!doctor.contains("PROBLEM"), "{doctor}");
        // And it takes a change like any vault of its format.
        v.add("NEW_ONE", b"n");
        assert_eq!(v.get("NEW_ONE"), b"n");
    }
}

/// History came after format 2: the fixture opens as a vault with no history yet, keeps
/// history from its first change on, rolls back, and its untouched records keep the
/// digests they were written with (no migration, no format bump).
#[test]
fn the_v2_fixture_gets_history_without_a_migration() {
    let v = fixture_of("v2-vault", "keyfile");
    let h = v.ok(&["history", "DATABASE_URL", "--json"], None).text();
    let h: Vec<serde_json::Value> = serde_json::from_str(&h).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["version"], 1);
    assert_eq!(h[0]["current"], true);
    assert_eq!(v.ok(&["config", "history-depth"], None).text(), "10\n");

    v.ok(&["edit", "MULTI_LINE", "--value-stdin"], Some(b"rotated"));
    v.ok(&["edit", "BINARY_BLOB", "--value-stdin"], Some(b"text now"));
    v.ok(&["rollback", "MULTI_LINE", "1"], None);
    v.ok(&["rollback", "BINARY_BLOB", "1"], None);
    assert_golden_values(&v);
    let h = v.ok(&["history", "MULTI_LINE", "--json"], None).text();
    let h: Vec<serde_json::Value> = serde_json::from_str(&h).unwrap();
    assert_eq!(h.len(), 3);
    v.ok(&["config", "history-depth", "4"], None);
    let doctor = v.ok(&["doctor"], None).text();
    assert!(!doctor.contains("PROBLEM"), "{doctor}");
    // And the passphrase slot still opens it, history and all.
    let p = fixture_of("v2-vault", "golden fixture passphrase");
    std::fs::copy(&v.path, &p.path).unwrap();
    assert_eq!(
        p.ok(&["history", "MULTI_LINE", "--json"], None)
            .text()
            .matches("\"version\"")
            .count(),
        3
    );
}
