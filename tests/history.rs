//! History and rollback from the command line: every change of a value keeps the
//! previous one (sealed, in the file, never in plaintext), `tresor history` lists
//! versions without values, `tresor rollback` restores exact bytes as a new version, the
//! depth setting is honoured, history goes with its secret, and a history row dropped,
//! moved, replayed or planted in the file is caught.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;
use tresor::vault::storage::redb_file::RedbFile;
use tresor::vault::storage::{ReadTxn, Storage, Table, WriteTxn};
use tresor::vault::{Credential, Vault as Handle};

use common::{Vault, contains};

const DIGEST: &str = "do not match their digest";

fn edit(v: &Vault, key: &str, value: &[u8]) {
    v.ok(&["edit", key, "--value-stdin"], Some(value));
}

fn history(v: &Vault, key: &str) -> Vec<Value> {
    let out = v.ok(&["history", key, "--json"], None).text();
    serde_json::from_str::<Vec<Value>>(&out).expect("history --json")
}

fn versions(v: &Vault, key: &str) -> Vec<u64> {
    history(v, key)
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect()
}

fn handle(v: &Vault) -> Handle {
    Handle::unlock(&v.path, &Credential::Keyfile(v.keyfile().into())).unwrap()
}

fn sid(v: &Vault, key: &str) -> [u8; 48] {
    handle(v)
        .test_secret_key("default", "development", key)
        .unwrap()
}

fn rows(v: &Vault, table: Table, prefix: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    RedbFile::new(&v.path)
        .read(&mut |txn: &dyn ReadTxn| {
            txn.scan(table, prefix, &mut |k, val| {
                out.insert(k.to_vec(), val.to_vec());
                Ok(())
            })
        })
        .unwrap();
    out
}

fn tamper(v: &Vault, f: impl FnOnce(&mut dyn WriteTxn)) {
    let mut f = Some(f);
    RedbFile::new(&v.path)
        .write(&mut |txn: &mut dyn WriteTxn| {
            if let Some(f) = f.take() {
                f(txn);
            }
            Ok(())
        })
        .unwrap();
}

fn row_key(id: &[u8; 48], version: u32) -> Vec<u8> {
    let mut k = id.to_vec();
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// A with three values: version 3 is current.
fn three_versions() -> Vault {
    let v = Vault::new();
    v.add("A", b"first-value-AAAA");
    edit(&v, "A", b"second-value-BBBB");
    edit(&v, "A", b"third-value-CCCC");
    v
}

#[test]
fn history_lists_versions_after_edits_without_values() {
    let v = three_versions();
    let h = history(&v, "A");
    assert_eq!(versions(&v, "A"), [3, 2, 1]);
    assert_eq!(h[0]["current"], true);
    assert_eq!(h[1]["current"], false);
    let fps: Vec<&str> = h
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap())
        .collect();
    for fp in &fps {
        assert_eq!(fp.len(), 8);
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()), "{fp}");
    }
    assert!(fps[0] != fps[1] && fps[1] != fps[2], "{fps:?}");
    assert_eq!(h[2]["length"], 16);
    // Who changed it is known from the second version on (the first was added).
    assert!(h[0]["by"].as_str().unwrap().contains('@'), "{h:?}");
    let table = v.ok(&["history", "A"], None).text();
    assert!(table.starts_with("VERSION"), "{table}");
    assert!(table.contains("3 (current)"), "{table}");
    for value in ["first-value", "second-value", "third-value"] {
        assert!(!table.contains(value), "{table}");
        assert!(!contains(&v.audit_bytes(), value.as_bytes()));
    }
    // A description change is not a new value.
    v.ok(&["edit", "A", "-d", "now described"], None);
    assert_eq!(versions(&v, "A"), [3, 2, 1]);
    // Nor is the same value again.
    v.err(&["edit", "A", "--value-stdin"], Some(b"third-value-CCCC"));
    assert_eq!(versions(&v, "A"), [3, 2, 1]);
}

#[test]
fn the_fingerprint_is_keyed_per_vault_and_stable_for_equal_values() {
    let one = Vault::new();
    let two = Vault::new();
    one.add("A", b"same value");
    two.add("A", b"same value");
    let fp = |v: &Vault| history(v, "A")[0]["fingerprint"].clone();
    assert_ne!(fp(&one), fp(&two), "an unkeyed hash would be equal");
    // Equal values in one vault have equal fingerprints: a rollback is recognisable.
    edit(&one, "A", b"other");
    one.ok(&["rollback", "A", "1"], None);
    let h = history(&one, "A");
    assert_eq!(h[0]["fingerprint"], h[2]["fingerprint"]);
}

#[test]
fn rollback_restores_the_exact_bytes_and_is_itself_undoable() {
    let v = Vault::new();
    let binary = [0x00, 0xff, 0x1b, b'\n', 0x80, 0x00];
    let pem = b"-----BEGIN KEY-----\nline two\r\nline three\n\n";
    v.add("BLOB", &binary);
    edit(&v, "BLOB", pem);
    // stdin loses one trailing newline (the CLI contract); the rest is the value.
    let stored = v.get("BLOB");
    assert_eq!(stored, &pem[..pem.len() - 1]);
    let out = v.ok(&["rollback", "BLOB", "1"], None);
    assert!(
        out.stderr
            .contains("has the value of version 1 again, as version 3"),
        "{}",
        out.stderr
    );
    assert_eq!(v.get("BLOB"), binary);
    assert_eq!(versions(&v, "BLOB"), [3, 2, 1]);
    // Undo the rollback: version 2 is the PEM, byte for byte.
    v.ok(&["rollback", "BLOB", "2"], None);
    assert_eq!(v.get("BLOB"), stored);
    assert_eq!(versions(&v, "BLOB"), [4, 3, 2, 1]);
    let list = v.list("development");
    assert_eq!(list[0]["value_changed"], list[0]["updated"]);
    let audit = v.ok(&["audit"], None).text();
    assert!(audit.contains("rollback to version 2"), "{audit}");
}

#[test]
fn rollback_refuses_the_current_version_and_versions_not_kept() {
    let v = three_versions();
    let err = v.err(&["rollback", "A", "3"], None);
    assert!(
        err.contains("version 3 of `A` is its current value already"),
        "{err}"
    );
    let err = v.err(&["rollback", "A", "9"], None);
    assert!(
        err.contains("`A` has no version 9 (kept: 1, 2; current: 3"),
        "{err}"
    );
    let err = v.err(&["rollback", "NOPE", "1"], None);
    assert!(err.contains("no secret `NOPE`"), "{err}");
    assert_eq!(v.get("A"), b"third-value-CCCC");
}

#[test]
fn the_depth_is_honoured_and_lowering_it_drops_old_values_at_once() {
    let v = Vault::new();
    assert_eq!(v.ok(&["config", "history-depth"], None).text(), "10\n");
    v.add("A", b"earlier-value-01");
    for i in 2..=13 {
        edit(&v, "A", format!("earlier-value-{i:02}").as_bytes());
    }
    // The default keeps the last 10 earlier values.
    assert_eq!(versions(&v, "A"), (3..=13).rev().collect::<Vec<_>>());
    let out = v.ok(&["config", "history-depth", "2"], None);
    assert!(
        out.stderr.contains("8 older versions removed now"),
        "{}",
        out.stderr
    );
    assert_eq!(v.ok(&["config", "history-depth"], None).text(), "2\n");
    assert_eq!(versions(&v, "A"), [13, 12, 11]);
    // Long values: two bytes like `v3` turn up in random ciphertext now and then.
    assert!(!contains(&v.bytes(), b"earlier-value-03"));
    edit(&v, "A", b"earlier-value-14");
    assert_eq!(versions(&v, "A"), [14, 13, 12]);
    assert_eq!(rows(&v, Table::History, &sid(&v, "A")).len(), 2);
    v.ok(&["config", "history-depth", "0"], None);
    assert_eq!(history(&v, "A").len(), 1);
    assert!(rows(&v, Table::History, b"").is_empty());
    // Out of range is a usage error, and nothing changes.
    let out = v.run(&["config", "history-depth", "1001"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(v.ok(&["config", "history-depth"], None).text(), "0\n");
}

#[test]
fn history_goes_with_the_secret_and_with_its_environment() {
    let v = three_versions();
    assert_eq!(rows(&v, Table::History, &sid(&v, "A")).len(), 2);
    v.ok(&["rm", "A", "--yes"], None);
    assert!(rows(&v, Table::History, b"").is_empty());
    let err = v.err(&["history", "A"], None);
    assert!(err.contains("no secret `A`"), "{err}");
    // A new secret of the same name starts afresh.
    v.add("A", b"new");
    assert_eq!(versions(&v, "A"), [1]);

    v.ok(&["env", "add", "preview"], None);
    v.ok(&["-e", "preview", "add", "P"], Some(b"p1"));
    v.ok(
        &["-e", "preview", "edit", "P", "--value-stdin"],
        Some(b"p2"),
    );
    assert_eq!(rows(&v, Table::History, b"").len(), 1);
    v.ok(&["env", "rm", "preview", "--yes"], None);
    assert!(rows(&v, Table::History, b"").is_empty());
    let help = v.ok(&["rm", "--help"], None).text();
    assert!(help.contains("history"), "{help}");
}

#[test]
fn old_values_are_never_in_the_file_in_plaintext() {
    let v = three_versions();
    let file = v.bytes();
    for value in [
        &b"first-value-AAAA"[..],
        b"second-value-BBBB",
        b"third-value-CCCC",
    ] {
        assert!(!contains(&file, value));
    }
}

#[test]
fn import_overwrite_of_a_changed_value_keeps_the_previous_one() {
    let v = Vault::new();
    v.add("A", b"before");
    v.add("B", b"same");
    v.ok(&["import", "--overwrite", "-"], Some(b"A=after\nB=same\n"));
    assert_eq!(versions(&v, "A"), [2, 1]);
    assert_eq!(versions(&v, "B"), [1]);
    v.ok(&["rollback", "A", "1"], None);
    assert_eq!(v.get("A"), b"before");
}

#[test]
fn rekey_re_encrypts_the_history() {
    let v = three_versions();
    let before = rows(&v, Table::History, b"");
    v.ok(&["config", "history-depth", "5"], None);
    v.ok(&["rekey"], None);
    let after = rows(&v, Table::History, b"");
    assert_eq!(after.len(), 2);
    assert!(before.values().all(|b| !after.values().any(|a| a == b)));
    assert_eq!(versions(&v, "A"), [3, 2, 1]);
    assert_eq!(v.ok(&["config", "history-depth"], None).text(), "5\n");
    v.ok(&["rollback", "A", "1"], None);
    assert_eq!(v.get("A"), b"first-value-AAAA");
    let doctor = v.ok(&["doctor"], None).text();
    assert!(!doctor.contains("PROBLEM"), "{doctor}");
}

#[test]
fn a_dropped_history_row_is_detected() {
    let v = three_versions();
    let k = row_key(&sid(&v, "A"), 1);
    tamper(&v, |txn| assert!(txn.delete(Table::History, &k).unwrap()));
    for args in [
        &["get", "A"][..],
        &["history", "A"],
        &["rollback", "A", "2"],
    ] {
        let err = v.err(args, None);
        assert!(err.contains(DIGEST), "{args:?}: {err}");
    }
}

#[test]
fn a_replayed_history_row_is_detected() {
    let v = three_versions();
    let id = sid(&v, "A");
    let old = rows(&v, Table::History, &id);
    edit(&v, "A", b"fourth");
    v.ok(&["rollback", "A", "1"], None);
    // Put back the rows as they were before the last two changes.
    tamper(&v, |txn| {
        txn.delete_prefix(Table::History, &id).unwrap();
        for (k, val) in &old {
            txn.put(Table::History, k, val).unwrap();
        }
    });
    let err = v.err(&["history", "A"], None);
    assert!(err.contains(DIGEST), "{err}");
}

#[test]
fn a_planted_history_row_is_detected() {
    let v = Vault::new();
    v.add("A", b"a");
    let k = row_key(&sid(&v, "A"), 7);
    tamper(&v, |txn| txn.put(Table::History, &k, b"planted").unwrap());
    let err = v.err(&["get", "A"], None);
    assert!(err.contains(DIGEST), "{err}");
}

#[test]
fn a_history_row_moved_to_another_version_or_secret_does_not_open_even_resealed() {
    let v = three_versions();
    v.add("B", b"bee");
    edit(&v, "B", b"bee two");
    let (a, b) = (sid(&v, "A"), sid(&v, "B"));
    let a1 = rows(&v, Table::History, &row_key(&a, 1))
        .into_values()
        .next()
        .unwrap();
    // Version 1 of A copied over version 2 of A, with every digest recomputed.
    tamper(&v, |txn| {
        txn.put(Table::History, &row_key(&a, 2), &a1).unwrap()
    });
    handle(&v).test_reseal().unwrap();
    v.forget_seen();
    let err = v.err(&["history", "A"], None);
    assert!(err.contains("version 2 of `A` does not decrypt"), "{err}");
    // A's version 1 under B's id.
    tamper(&v, |txn| {
        txn.put(Table::History, &row_key(&b, 1), &a1).unwrap()
    });
    handle(&v).test_reseal().unwrap();
    v.forget_seen();
    let err = v.err(&["history", "B"], None);
    assert!(err.contains("version 1 of `B` does not decrypt"), "{err}");
}

#[test]
fn the_depth_setting_is_covered_by_the_vault_digest() {
    let v = Vault::new();
    v.ok(&["config", "history-depth", "3"], None);
    tamper(&v, |txn| {
        assert!(txn.delete(Table::Meta, b"settings").unwrap())
    });
    let err = v.err(&["list"], None);
    assert!(err.contains("the vault does not match its digest"), "{err}");
}

#[test]
fn get_copy_without_a_terminal_is_refused_before_reading() {
    let v = Vault::new();
    v.add("A", b"copy-me-not");
    // In a session of its own: no controlling terminal, even when the tests run in one.
    let mut cmd = v.cmd(&["get", "A", "--copy"]);
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let out = common::output(cmd, None);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("--copy needs a terminal"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    let audit = v.ok(&["audit"], None).text();
    assert!(!audit.contains("copy"), "{audit}");
}
