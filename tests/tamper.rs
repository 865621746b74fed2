//! Deliberate tampering by someone who can write the vault file: records copied, moved,
//! spliced, deleted, added and rolled back; integrity tree rows, environment digests, the
//! vault digest, the write counter, the header and key slots edited; the whole file
//! replaced by an older copy. Every case must end in a clear error and never show a value
//! that is not the one stored for that key.
//!
//! Two levels.
//!
//! - **Plain edits** (no key): the file is changed through the storage layer directly, so
//!   no digest is updated. A record deleted, added, moved or rolled back changes its leaf
//!   of the environment's integrity tree and is refused with "the records of P/E do not
//!   match their digest"; a tree row, an environment or digest row, a key slot or the
//!   write counter changed outside tresor breaks the vault digest ("the vault does not
//!   match its digest").
//! - **Edits with resealed digests** (an attacker who also holds the key):
//!   `Vault::test_reseal` recomputes every tree, environment digest and the vault digest
//!   over the tampered bytes. What is left to catch a ciphertext moved to another record,
//!   field, environment or vault is the AEAD associated data that binds each ciphertext
//!   to its field, vault, record key and format: the error names the environment ("secret
//!   record in P/E failed authentication"). The resealed digest would otherwise first
//!   trip the high-water mark (same write counter, different digest), so those cases
//!   forget what this machine has seen before running the CLI; one test shows the mark
//!   catching it when it is there.
//!
//! Only an older copy of the whole file is consistent with itself; the high-water mark
//! kept outside the file refuses it, and the last tests cover that mark.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use tresor::vault::records::{SecretRecord, decode, encode};
use tresor::vault::storage::redb_file::RedbFile;
use tresor::vault::storage::{ReadTxn, Storage, Table, WriteTxn};
use tresor::vault::{Credential, Vault as Handle};

use common::{Vault, WRONG_CREDENTIAL, output, tresor};

const ALPHA: &[u8] = b"alpha-secret-value";
const BRAVO: &[u8] = b"bravo-secret-value";
const STAGING_ALPHA: &[u8] = b"staging-alpha-value";
const PROD_CHARLIE: &[u8] = b"production-charlie-value";

const AUTH_FAILED: &str = "failed authentication: it was tampered with or damaged";
const DIGEST: &str =
    "do not match their digest: a secret was deleted, added or rolled back outside tresor";
const CATALOG: &str = "the vault does not match its digest: an environment, a whole environment's records or a key slot was deleted, added or rolled back outside tresor";
const FORKED: &str = "differs from the one this machine saw at the same write";

/// development: A, B; staging: A; production: C.
fn vault() -> Vault {
    let v = Vault::new();
    v.add("A", ALPHA);
    v.add("B", BRAVO);
    v.add_in("staging", "A", STAGING_ALPHA);
    v.add_in("production", "C", PROD_CHARLIE);
    v
}

// ----- access to the file, as an attacker has it

/// The vault unlocked through the library, for what an attacker with the key computes.
fn handle(v: &Vault) -> Handle {
    Handle::unlock(&v.path, &Credential::Keyfile(v.keyfile().into())).unwrap()
}

/// The table key of `default/env/key`.
fn sid(v: &Vault, env: &str, key: &str) -> [u8; 48] {
    handle(v).test_secret_key("default", env, key).unwrap()
}

/// The table key of `default/env`.
fn eid(v: &Vault, env: &str) -> [u8; 16] {
    handle(v).test_env_key("default", env).unwrap()
}

/// Recomputes every digest over the bytes now in the file, with the real key.
fn reseal(v: &Vault) {
    handle(v).test_reseal().unwrap();
}

/// Every row of a table whose key starts with `prefix`.
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

fn row(v: &Vault, table: Table, key: &[u8]) -> Option<Vec<u8>> {
    let mut out = None;
    RedbFile::new(&v.path)
        .read(&mut |txn: &dyn ReadTxn| {
            out = txn.get(table, key)?;
            Ok(())
        })
        .unwrap();
    out
}

/// One write transaction straight through the storage layer: no key, no digest update.
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

fn put(v: &Vault, table: Table, key: &[u8], value: &[u8]) {
    tamper(v, |txn| txn.put(table, key, value).unwrap());
}

fn delete(v: &Vault, table: Table, key: &[u8]) {
    tamper(v, |txn| {
        assert!(txn.delete(table, key).unwrap(), "row exists")
    });
}

fn record(v: &Vault, env: &str, key: &str) -> Vec<u8> {
    row(v, Table::Secrets, &sid(v, env, key)).expect("record exists")
}

fn put_record(v: &Vault, env: &str, key: &str, bytes: &[u8]) {
    put(v, Table::Secrets, &sid(v, env, key), bytes);
}

/// The tree row of the node above the leaves whose blind index starts with `b0`.
fn node_key(env: &[u8; 16], b0: u8) -> Vec<u8> {
    let mut k = env.to_vec();
    k.extend_from_slice(&[1, b0]);
    k
}

fn root_key(env: &[u8; 16]) -> Vec<u8> {
    let mut k = env.to_vec();
    k.push(0);
    k
}

/// A key name of `default/env` whose blind index starts with `b0` (and, if given, is in
/// another leaf than `not_b1`), for planting rows exactly where a key lives.
fn key_under(v: &Vault, env: &str, b0: u8, not_b1: Option<u8>) -> String {
    let h = handle(v);
    (0..1_000_000)
        .map(|i| format!("PLANTED_{i}"))
        .find(|k| {
            let id = h.test_secret_key("default", env, k).unwrap();
            id[16] == b0 && not_b1.is_none_or(|b1| id[17] != b1)
        })
        .expect("a key name in that node")
}

// ----- what a refusal looks like

/// Runs a command that must fail, and returns its error; no value may be printed.
#[track_caller]
fn refused(v: &Vault, args: &[&str]) -> String {
    let out = v.run(args, None).failure();
    for value in [ALPHA, BRAVO, STAGING_ALPHA, PROD_CHARLIE] {
        assert!(!common::contains(out.stderr.as_bytes(), value), "{out:?}");
    }
    out.error()
}

fn tampered_in(env: &str) -> String {
    format!("secret record in default/{env} {AUTH_FAILED}")
}

fn digest_of(env: &str) -> String {
    format!("the records of default/{env} {DIGEST}")
}

#[track_caller]
fn assert_tampered(err: &str, env: &str) {
    assert!(
        err.starts_with(&tampered_in(env)),
        "expected a tampered-record error naming default/{env}, got: {err}"
    );
}

/// The error of each level: the environment's digest, or (resealed) the AEAD binding.
#[track_caller]
fn assert_level(err: &str, env: &str, resealed: bool) {
    if resealed {
        assert_tampered(err, env);
    } else {
        assert_eq!(err, digest_of(env));
    }
}

/// `tresor doctor` fails and its report holds each of `problems`.
#[track_caller]
fn assert_doctor_finds(v: &Vault, problems: &[String]) {
    let out = v.run(&["doctor"], None).failure_after_output();
    let report = out.text();
    for p in problems {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with("PROBLEM") && l.contains(p.as_str())),
            "doctor does not report {p:?}:\n{report}"
        );
    }
}

/// After an edit: plain, or resealed with the key (and the high-water mark forgotten).
fn finish(v: &Vault, resealed: bool) {
    if resealed {
        reseal(v);
        v.forget_seen();
    }
}

// ----- the test harness itself

#[test]
fn resealing_an_untouched_vault_changes_no_digest() {
    // If this fails, `test_reseal` no longer computes what the vault computes, and the
    // resealed cases below would pass for the wrong reason.
    let v = vault();
    let before = row(&v, Table::Meta, b"vault_digest").unwrap();
    let digests = rows(&v, Table::Digests, b"");
    let tree = rows(&v, Table::Tree, b"");
    reseal(&v);
    assert_eq!(row(&v, Table::Meta, b"vault_digest").unwrap(), before);
    assert_eq!(rows(&v, Table::Digests, b""), digests);
    assert_eq!(rows(&v, Table::Tree, b""), tree);
    // The high-water mark is kept: the same write with the same digest.
    assert_eq!(v.get("A"), ALPHA);
    v.ok(&["doctor"], None);
}

#[test]
fn the_high_water_mark_catches_resealed_digests_first() {
    let v = vault();
    let a = record(&v, "development", "A");
    put_record(&v, "development", "B", &a);
    reseal(&v);
    // Same write counter, another vault digest: a fork, refused before any record is read.
    for args in [&["get", "A"][..], &["get", "B"], &["-e", "staging", "list"]] {
        let err = refused(&v, args);
        assert!(err.contains(FORKED), "{err}");
    }
    // Without the mark, the AEAD binding is what refuses B.
    v.forget_seen();
    assert_tampered(&refused(&v, &["get", "B"]), "development");
}

// ----- records moved, copied and spliced: both levels

#[test]
fn a_record_copied_over_another_is_refused() {
    for resealed in [false, true] {
        let v = vault();
        let a = record(&v, "development", "A");
        put_record(&v, "development", "B", &a);
        finish(&v, resealed);
        let get = refused(&v, &["get", "B"]);
        for args in [
            &["list"][..],
            &["export", "--format", "json"],
            &["run", "--", "true"],
        ] {
            assert_level(&refused(&v, args), "development", resealed);
        }
        assert_level(&get, "development", resealed);
        if resealed {
            assert!(get.contains("the value of `B` does not decrypt"), "{get}");
            // The untouched record stays readable.
            assert_eq!(v.get("A"), ALPHA);
            assert_doctor_finds(&v, &[tampered_in("development")]);
        } else {
            assert_doctor_finds(&v, &[digest_of("development")]);
        }
        // Another environment is unaffected either way.
        assert_eq!(v.get_in("staging", "A"), STAGING_ALPHA);
    }
}

#[test]
fn a_record_copied_into_another_environment_is_refused() {
    for resealed in [false, true] {
        // Over the same key in staging.
        let v = vault();
        let a = record(&v, "development", "A");
        put_record(&v, "staging", "A", &a);
        finish(&v, resealed);
        assert_level(
            &refused(&v, &["-e", "staging", "get", "A"]),
            "staging",
            resealed,
        );
        assert_level(
            &refused(&v, &["-e", "staging", "list"]),
            "staging",
            resealed,
        );
        assert_eq!(v.get("A"), ALPHA);

        // Into an environment where the key does not exist.
        let v = vault();
        let a = record(&v, "development", "A");
        put_record(&v, "production", "A", &a);
        finish(&v, resealed);
        let get = refused(&v, &["-e", "production", "get", "A"]);
        assert_level(&get, "production", resealed);
        assert_level(
            &refused(&v, &["-e", "production", "list"]),
            "production",
            resealed,
        );
        if resealed {
            assert_doctor_finds(&v, &[tampered_in("production")]);
        }
        assert_eq!(v.get("A"), ALPHA);
    }
}

#[test]
fn a_record_moved_into_another_environment_is_refused() {
    for resealed in [false, true] {
        let v = vault();
        // The same blind name, under production's id: where the key would sit if the
        // environment's part of its name were not in the blind index.
        let from = sid(&v, "development", "A");
        let mut to = from;
        to[..16].copy_from_slice(&eid(&v, "production"));
        let a = record(&v, "development", "A");
        tamper(&v, |txn| {
            assert!(txn.delete(Table::Secrets, &from).unwrap());
            txn.put(Table::Secrets, &to, &a).unwrap();
        });
        finish(&v, resealed);
        for args in [
            &["-e", "production", "list"][..],
            &["-e", "production", "export", "--format", "json"],
        ] {
            assert_level(&refused(&v, args), "production", resealed);
        }
        if resealed {
            // The key holder may delete a record; it may not make it readable elsewhere.
            let err = refused(&v, &["get", "A"]);
            assert!(
                err.starts_with("no secret `A` in default/development"),
                "{err}"
            );
            assert_doctor_finds(&v, &[tampered_in("production")]);
        } else {
            // The record is missing from development, not silently gone.
            assert_eq!(refused(&v, &["get", "A"]), digest_of("development"));
            assert_eq!(refused(&v, &["list"]), digest_of("development"));
            assert_doctor_finds(&v, &[digest_of("development"), digest_of("production")]);
        }
    }
}

#[test]
fn a_production_record_over_a_development_key_is_refused() {
    for resealed in [false, true] {
        let v = vault();
        let c = record(&v, "production", "C");
        put_record(&v, "development", "A", &c);
        finish(&v, resealed);
        assert_level(&refused(&v, &["get", "A"]), "development", resealed);
        assert_level(&refused(&v, &["list"]), "development", resealed);
        assert_eq!(v.get_in("production", "C"), PROD_CHARLIE);
    }
}

#[test]
fn a_record_from_another_vault_is_refused() {
    for resealed in [false, true] {
        let v = vault();
        let other = vault();
        let theirs = record(&other, "development", "A");
        put_record(&v, "development", "A", &theirs);
        finish(&v, resealed);
        assert_level(&refused(&v, &["get", "A"]), "development", resealed);
        assert_level(&refused(&v, &["list"]), "development", resealed);
        if resealed {
            assert_eq!(v.get("B"), BRAVO);
            assert_doctor_finds(&v, &[tampered_in("development")]);
        }
    }
}

#[test]
fn swapped_value_and_metadata_fields_are_refused() {
    for resealed in [false, true] {
        let v = vault();
        let SecretRecord::V1 {
            meta_nonce,
            meta,
            value_nonce,
            value,
        } = decode(&record(&v, "development", "A"), "record").unwrap();
        let swapped = SecretRecord::V1 {
            meta_nonce: value_nonce,
            meta: value,
            value_nonce: meta_nonce,
            value: meta,
        };
        put_record(&v, "development", "A", &encode(&swapped).unwrap());
        finish(&v, resealed);
        assert_level(&refused(&v, &["get", "A"]), "development", resealed);
        assert_level(&refused(&v, &["list"]), "development", resealed);
        if resealed {
            assert_eq!(v.get("B"), BRAVO);
        }
    }
}

#[test]
fn a_value_moved_under_another_records_metadata_is_refused() {
    for resealed in [false, true] {
        let v = vault();
        let SecretRecord::V1 {
            meta_nonce, meta, ..
        } = decode(&record(&v, "development", "A"), "record").unwrap();
        let SecretRecord::V1 {
            value_nonce, value, ..
        } = decode(&record(&v, "development", "B"), "record").unwrap();
        let mixed = SecretRecord::V1 {
            meta_nonce,
            meta,
            value_nonce,
            value,
        };
        put_record(&v, "development", "A", &encode(&mixed).unwrap());
        finish(&v, resealed);
        let err = refused(&v, &["get", "A"]);
        assert_level(&err, "development", resealed);
        assert_level(&refused(&v, &["export"]), "development", resealed);
        if resealed {
            assert!(err.contains("the value of `A` does not decrypt"), "{err}");
            // Listing reads only metadata, which is A's own: it works and shows no value.
            let list = v.ok(&["list", "--json"], None);
            assert!(!common::contains(&list.stdout, BRAVO));
            assert!(!common::contains(&list.stdout, ALPHA));
        }
    }
}

#[test]
fn a_flipped_ciphertext_bit_is_refused() {
    for resealed in [false, true] {
        let v = vault();
        let mut bytes = record(&v, "development", "A");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01; // inside the value's tag
        put_record(&v, "development", "A", &bytes);
        finish(&v, resealed);
        let err = refused(&v, &["get", "A"]);
        assert_level(&err, "development", resealed);
        if resealed {
            assert!(err.contains("the value of `A` does not decrypt"), "{err}");
            // Metadata is sealed separately and still opens.
            assert_eq!(v.keys("development"), ["A", "B"]);
        }
    }
    // Undecodable record bytes under valid digests are an error too, not a panic.
    let v = vault();
    put_record(&v, "development", "A", b"\x07garbage");
    finish(&v, true);
    let err = refused(&v, &["get", "A"]);
    assert!(err.starts_with("vault file is damaged"), "{err}");
}

// ----- records deleted, added and rolled back: the environment's digest

#[test]
fn a_deleted_record_breaks_the_digest() {
    let v = vault();
    delete(&v, Table::Secrets, &sid(&v, "development", "B"));
    let want = digest_of("development");
    assert_eq!(
        refused(&v, &["get", "B"]),
        want,
        "a deleted record is not reported as merely missing"
    );
    assert_eq!(refused(&v, &["list"]), want);
    assert_eq!(refused(&v, &["export", "--format", "json"]), want);
    assert_eq!(v.err(&["add", "B"], Some(b"b")), want);
    assert_eq!(v.err(&["import", "-"], Some(b"D=d\n")), want);
    // A read verifies the path to its own leaf: A's is intact, and A is A.
    assert_eq!(v.get("A"), ALPHA);
    // A write elsewhere does not re-bless the tampered state: it rehashes its own leaf
    // from the tree as it was vouched for, and B's leaf stays wrong.
    v.add("C", b"c");
    v.ok(&["rm", "A", "--yes"], None);
    assert_eq!(refused(&v, &["get", "B"]), want);
    assert_eq!(refused(&v, &["list"]), want);
    assert_doctor_finds(&v, &[want]);
    assert_eq!(v.get_in("staging", "A"), STAGING_ALPHA);
}

#[test]
fn an_added_record_breaks_the_digest() {
    let v = vault();
    // A copy of B's authentic record under a new key of the same environment.
    let b = record(&v, "development", "B");
    put_record(&v, "development", "NEW", &b);
    let want = digest_of("development");
    assert_eq!(refused(&v, &["get", "NEW"]), want);
    assert_eq!(refused(&v, &["list"]), want);
    assert_eq!(refused(&v, &["export", "--format", "json"]), want);
    assert_eq!(v.err(&["add", "NEW"], Some(b"x")), want);
    assert_eq!(v.get_in("production", "C"), PROD_CHARLIE);
}

/// `env list` counts the rows of each environment's range without verifying them, so
/// records added outside tresor show up in the count.
#[test]
fn env_list_does_not_count_records_added_outside_tresor() {
    let v = vault();
    let b = record(&v, "development", "B");
    put_record(&v, "development", "NEW", &b);
    put_record(&v, "development", "NEW2", &b);
    let out = v.run(&["env", "list"], None);
    if out.code == 0 {
        let text = out.text();
        let dev = text.lines().find(|l| l.starts_with("development")).unwrap();
        assert!(dev.ends_with("2 secrets"), "{text}");
    } else {
        assert_eq!(out.failure().error(), digest_of("development"));
    }
}

#[test]
fn a_rolled_back_record_breaks_the_digest() {
    let v = vault();
    let old = record(&v, "development", "A");
    v.ok(&["edit", "A", "--value-stdin"], Some(b"rotated-value"));
    put_record(&v, "development", "A", &old);
    // The old ciphertext is authentic: only the digest can tell, and it does.
    let want = digest_of("development");
    assert_eq!(refused(&v, &["get", "A"]), want);
    assert_eq!(refused(&v, &["list"]), want);
    assert_eq!(v.err(&["edit", "A", "--value-stdin"], Some(b"again")), want);
    assert_eq!(v.get("B"), BRAVO);
    let out = v.run(&["doctor"], None).failure_after_output();
    assert!(out.text().contains(&want), "{}", out.text());
    assert!(!out.text().contains(AUTH_FAILED), "{}", out.text());
}

#[test]
fn a_whole_leafs_records_deleted_break_the_digest() {
    let v = vault();
    let a = sid(&v, "development", "A");
    // Every record sharing the first two bytes of A's blind index.
    let n = {
        let mut n = 0;
        tamper(&v, |txn| {
            n = txn.delete_prefix(Table::Secrets, &a[..18]).unwrap()
        });
        n
    };
    assert!(n >= 1);
    let want = digest_of("development");
    assert_eq!(
        refused(&v, &["get", "A"]),
        want,
        "an emptied leaf is not reported as a missing key"
    );
    assert_eq!(refused(&v, &["list"]), want);
    assert_eq!(refused(&v, &["export"]), want);
    assert_eq!(v.err(&["add", "A"], Some(b"again")), want);
    assert_eq!(v.err(&["import", "-"], Some(b"A=again\n")), want);
}

// ----- the integrity tree

#[test]
fn a_deleted_tree_node_is_refused() {
    let v = vault();
    let a = sid(&v, "development", "A");
    let env = eid(&v, "development");
    delete(&v, Table::Tree, &node_key(&env, a[16]));
    let want = digest_of("development");
    assert_eq!(refused(&v, &["get", "A"]), want);
    assert_eq!(refused(&v, &["list"]), want);
    // A new key under the same node: its write verifies that node first.
    let neighbour = key_under(&v, "development", a[16], None);
    assert_eq!(v.err(&["add", &neighbour], Some(b"x")), want);
    assert_eq!(v.err(&["import", "-"], Some(b"X=x\n")), want);
    assert_eq!(v.get_in("staging", "A"), STAGING_ALPHA);
}

#[test]
fn an_edited_tree_node_or_root_is_refused() {
    for root in [false, true] {
        for at in [0, usize::MAX] {
            let v = vault();
            let a = sid(&v, "development", "A");
            let env = eid(&v, "development");
            let key = if root {
                root_key(&env)
            } else {
                node_key(&env, a[16])
            };
            let mut bytes = row(&v, Table::Tree, &key).unwrap();
            // The root holds all 256 children; a node only its non-empty ones, 33 bytes
            // each (index and digest).
            let len = bytes.len();
            if root {
                assert_eq!(len, 256 * 32);
            } else {
                assert!(len > 0 && len.is_multiple_of(33), "{len}");
            }
            let at = if at == 0 { 0 } else { len - 1 };
            bytes[at] ^= 0x80;
            put(&v, Table::Tree, &key, &bytes);
            let want = digest_of("development");
            assert_eq!(refused(&v, &["get", "A"]), want, "root {root}, byte {at}");
            assert_eq!(refused(&v, &["list"]), want, "root {root}, byte {at}");
        }
    }
    // A node of the wrong size, and a deleted root.
    let v = vault();
    let env = eid(&v, "development");
    let a = sid(&v, "development", "A");
    put(&v, Table::Tree, &node_key(&env, a[16]), b"short");
    assert_eq!(refused(&v, &["get", "A"]), digest_of("development"));
    let v = vault();
    let env = eid(&v, "development");
    delete(&v, Table::Tree, &root_key(&env));
    assert_eq!(refused(&v, &["list"]), digest_of("development"));
    assert_eq!(refused(&v, &["get", "A"]), digest_of("development"));
}

#[test]
fn a_tree_node_planted_where_the_root_says_empty_is_refused() {
    let v = vault();
    let env = eid(&v, "development");
    let a = sid(&v, "development", "A");
    let b = sid(&v, "development", "B");
    let b0 = (0..=255u8).find(|x| *x != a[16] && *x != b[16]).unwrap();
    let planted = key_under(&v, "development", b0, None);
    // A's node, put under an empty slot of the root.
    let node = row(&v, Table::Tree, &node_key(&env, a[16])).unwrap();
    put(&v, Table::Tree, &node_key(&env, b0), &node);
    let want = digest_of("development");
    assert_eq!(refused(&v, &["get", &planted]), want);
    assert_eq!(v.err(&["add", &planted], Some(b"x")), want);
    // Keys elsewhere are untouched by it.
    assert_eq!(v.get("A"), ALPHA);
}

/// A node row where the root says "empty" is only looked at by a read of a key under
/// it; `import` verifies the whole environment, which skips empty slots of the root, and
/// then rehashes the planted node as if it were the environment's own.
#[test]
fn import_refuses_a_tree_node_planted_where_the_root_says_empty() {
    let v = vault();
    let env = eid(&v, "development");
    let a = sid(&v, "development", "A");
    let b = sid(&v, "development", "B");
    let b0 = (0..=255u8).find(|x| *x != a[16] && *x != b[16]).unwrap();
    let planted = key_under(&v, "development", b0, None);
    let node = row(&v, Table::Tree, &node_key(&env, a[16])).unwrap();
    put(&v, Table::Tree, &node_key(&env, b0), &node);
    let import = format!("{planted}=x\n");
    assert_eq!(
        v.err(&["import", "-"], Some(import.as_bytes())),
        digest_of("development")
    );
}

/// The attack the bug above allows: a node row from before a delete, put back, is taken
/// in by the next import under the same node, after which the deleted record put back
/// verifies again.
#[test]
fn a_deleted_secret_is_not_resurrected_by_a_replayed_tree_node() {
    let v = Vault::new();
    v.add("OLD", b"old-secret-value");
    let env = eid(&v, "development");
    let old = sid(&v, "development", "OLD");
    let old_record = record(&v, "development", "OLD");
    let old_node = row(&v, Table::Tree, &node_key(&env, old[16])).unwrap();
    v.ok(&["rm", "OLD", "--yes"], None);
    assert_eq!(row(&v, Table::Tree, &node_key(&env, old[16])), None);
    // The attacker puts the old node back; nothing reads it yet.
    put(&v, Table::Tree, &node_key(&env, old[16]), &old_node);
    // The owner imports a key that lives under the same node, in another leaf.
    let new = key_under(&v, "development", old[16], Some(old[17]));
    let import = format!("{new}=new-value\n");
    let out = v.run(&["import", "-"], Some(import.as_bytes()));
    if out.code == 0 {
        // Then puts the deleted record back.
        put_record(&v, "development", "OLD", &old_record);
        let get = v.run(&["get", "OLD"], None);
        assert_ne!(
            get.stdout, b"old-secret-value",
            "a deleted secret was read back: {get:?}"
        );
        get.failure();
    } else {
        assert_eq!(out.failure().error(), digest_of("development"));
    }
}

// ----- environments, digests and the vault digest

#[test]
fn an_environment_rolled_back_with_its_tree_and_digest_is_refused() {
    let v = vault();
    let env = eid(&v, "development");
    let old_records = rows(&v, Table::Secrets, &env);
    let old_tree = rows(&v, Table::Tree, &env);
    let old_digest = row(&v, Table::Digests, &env).unwrap();
    v.ok(&["edit", "A", "--value-stdin"], Some(b"rotated-value"));
    v.add("NEW", b"added after the snapshot");
    // Consistent with itself: every record, every tree row and the digest row.
    tamper(&v, |txn| {
        txn.delete_prefix(Table::Secrets, &env).unwrap();
        txn.delete_prefix(Table::Tree, &env).unwrap();
        for (k, val) in &old_records {
            txn.put(Table::Secrets, k, val).unwrap();
        }
        for (k, val) in &old_tree {
            txn.put(Table::Tree, k, val).unwrap();
        }
        txn.put(Table::Digests, &env, &old_digest).unwrap();
    });
    // The vault digest covers every environment's digest.
    for args in [
        &["get", "A"][..],
        &["list"],
        &["-e", "staging", "list"],
        &["env", "list"],
    ] {
        assert_eq!(refused(&v, args), CATALOG, "`{}`", args.join(" "));
    }
    assert_eq!(v.err(&["add", "X"], Some(b"x")), CATALOG);
    assert_doctor_finds(&v, &[CATALOG.to_string()]);
}

#[test]
fn a_deleted_environment_row_is_refused() {
    let v = vault();
    delete(&v, Table::Environments, &eid(&v, "production"));
    for args in [&["get", "A"][..], &["env", "list"], &["list"]] {
        assert_eq!(refused(&v, args), CATALOG);
    }
    assert_eq!(v.err(&["env", "add", "production"], None), CATALOG);
}

#[test]
fn an_environment_with_its_tree_and_digest_deleted_is_refused() {
    let v = vault();
    let env = eid(&v, "production");
    tamper(&v, |txn| {
        txn.delete_prefix(Table::Secrets, &env).unwrap();
        txn.delete_prefix(Table::Tree, &env).unwrap();
        txn.delete(Table::Digests, &env).unwrap();
        txn.delete(Table::Environments, &env).unwrap();
    });
    assert_eq!(refused(&v, &["env", "list"]), CATALOG);
    assert_eq!(refused(&v, &["get", "A"]), CATALOG);
}

#[test]
fn swapped_digest_rows_are_refused() {
    let v = vault();
    let dev = eid(&v, "development");
    let prod = eid(&v, "production");
    let d = row(&v, Table::Digests, &dev).unwrap();
    let p = row(&v, Table::Digests, &prod).unwrap();
    tamper(&v, |txn| {
        txn.put(Table::Digests, &dev, &p).unwrap();
        txn.put(Table::Digests, &prod, &d).unwrap();
    });
    // A digest row is covered by the vault digest: the whole vault refuses, and no
    // environment hands out a value on the strength of a moved digest.
    for args in [
        &["get", "A"][..],
        &["-e", "production", "get", "C"],
        &["-e", "staging", "get", "A"],
    ] {
        assert_eq!(refused(&v, args), CATALOG);
    }
    // One digest copied over another, and a deleted digest row.
    let v = vault();
    put(&v, Table::Digests, &eid(&v, "development"), &p);
    assert_eq!(refused(&v, &["get", "A"]), CATALOG);
    let v = vault();
    delete(&v, Table::Digests, &eid(&v, "staging"));
    assert_eq!(refused(&v, &["get", "A"]), CATALOG);
}

#[test]
fn a_deleted_or_edited_vault_digest_is_refused() {
    let v = vault();
    delete(&v, Table::Meta, b"vault_digest");
    for args in [
        &["list"][..],
        &["get", "A"],
        &["-e", "production", "export"],
        &["env", "list"],
    ] {
        assert_eq!(refused(&v, args), CATALOG, "`{}`", args.join(" "));
    }
    let v = vault();
    let mut d = row(&v, Table::Meta, b"vault_digest").unwrap();
    d[0] ^= 1;
    put(&v, Table::Meta, b"vault_digest", &d);
    assert_eq!(refused(&v, &["get", "A"]), CATALOG);
}

#[test]
fn an_edited_write_counter_is_refused() {
    for delta in [-1i64, 1, 1000] {
        let v = vault();
        let now = u64::from_be_bytes(
            row(&v, Table::Meta, b"version")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        let edited = now.checked_add_signed(delta).unwrap();
        put(&v, Table::Meta, b"version", &edited.to_be_bytes());
        assert_eq!(
            refused(&v, &["get", "A"]),
            CATALOG,
            "write {now} → {edited}"
        );
        assert_eq!(v.err(&["add", "X"], Some(b"x")), CATALOG);
    }
}

// ----- key slots and the header

/// The row key of key slot `id`.
fn slot(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

/// `tresor get A` unlocked with another keyfile.
fn get_with(v: &Vault, keyfile: &std::path::Path) -> common::Output {
    let mut cmd = tresor();
    cmd.env("XDG_STATE_HOME", v.state_dir())
        .arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(keyfile)
        .args(["get", "A"]);
    output(cmd, None)
}

#[test]
fn an_edited_header_unlocks_nothing() {
    // A changed header byte invalidates every slot (their associated data covers it).
    let v = vault();
    let mut header = row(&v, Table::Meta, b"header").unwrap();
    let last = header.len() - 1;
    header[last] ^= 0x01; // the creation time
    put(&v, Table::Meta, b"header", &header);
    assert_eq!(
        v.run(&["get", "A"], None).failure().stderr,
        WRONG_CREDENTIAL
    );
}

#[test]
fn a_key_slot_added_outside_tresor_is_refused() {
    // A keyfile slot copied from another vault does not let that vault's keyfile in.
    let v = vault();
    let other = Vault::new();
    let foreign = row(&other, Table::Slots, &slot(0)).unwrap();
    put(&v, Table::Slots, &slot(7), &foreign);
    assert_eq!(
        get_with(&v, other.keyfile()).failure().stderr,
        WRONG_CREDENTIAL
    );
    // The key slots are inside the vault digest: the added slot is detected, so even the
    // real keyfile gets a clear refusal instead of a vault someone extended.
    assert_eq!(refused(&v, &["get", "A"]), CATALOG);
    assert!(CATALOG.contains("a key slot was deleted, added or rolled back"));
    // A copy of the vault's own slot under another id is refused the same way.
    let v = vault();
    let own = row(&v, Table::Slots, &slot(0)).unwrap();
    put(&v, Table::Slots, &slot(1), &own);
    assert_eq!(refused(&v, &["get", "A"]), CATALOG);
}

#[test]
fn a_key_slot_removed_outside_tresor_is_refused() {
    let v = vault();
    let second = v.dir.path().join("second.key");
    v.ok(&["keyfile", "add", second.to_str().unwrap()], None);
    assert_eq!(get_with(&v, &second).success().stdout, ALPHA);
    delete(&v, Table::Slots, &slot(1));
    assert_eq!(get_with(&v, &second).failure().stderr, WRONG_CREDENTIAL);
    assert_eq!(refused(&v, &["get", "A"]), CATALOG);
    assert_eq!(refused(&v, &["keyfile", "list"]), CATALOG);
}

#[test]
fn a_removed_key_slot_put_back_is_refused() {
    let v = vault();
    let second = v.dir.path().join("second.key");
    v.ok(&["keyfile", "add", second.to_str().unwrap()], None);
    let replay = row(&v, Table::Slots, &slot(1)).unwrap();
    v.ok(&["keyfile", "rm", "1"], None);
    assert_eq!(get_with(&v, &second).failure().stderr, WRONG_CREDENTIAL);
    // The revoked keyfile's slot, from an older copy of the file.
    put(&v, Table::Slots, &slot(1), &replay);
    let err = get_with(&v, &second).failure().error();
    assert_eq!(err, CATALOG, "the revoked keyfile reads nothing");
    assert_eq!(refused(&v, &["get", "A"]), CATALOG);
}

/// Every single-byte edit of a stored item: the vault must refuse to open, with one of
/// `allowed`, and never list anything. Returns how often each error was seen.
fn each_byte_edit_refused(table: Table, key: &[u8], allowed: &[&str]) -> BTreeMap<String, usize> {
    let v = vault();
    let pristine = v.bytes();
    let item = row(&v, table, key).unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..item.len() {
        std::fs::write(&v.path, &pristine).unwrap();
        let mut edited = item.clone();
        edited[i] = edited[i].wrapping_add(1);
        put(&v, table, key, &edited);
        let error = v.err(&["list"], None);
        let kind = allowed
            .iter()
            .find(|a| error.contains(*a))
            .unwrap_or_else(|| panic!("byte {i} of {}: unexpected error {error:?}", item.len()));
        *seen.entry(kind.to_string()).or_default() += 1;
    }
    seen
}

const OPEN_ERRORS: [&str; 6] = [
    "wrong passphrase or keyfile: no key slot of this vault accepted it",
    "is not a tresor vault",
    "written by a newer tresor",
    "vault file is damaged",
    "key slot parameters are out of range",
    // A slot that still unlocks (its `added` time edited) is outside the vault digest.
    "the vault does not match its digest",
];

#[test]
fn every_one_byte_edit_of_the_header_is_refused() {
    let seen = each_byte_edit_refused(Table::Meta, b"header", &OPEN_ERRORS);
    println!("header, one byte edited: {seen:?}");
    assert!(seen.contains_key(OPEN_ERRORS[0]), "{seen:?}");
}

#[test]
fn every_one_byte_edit_of_a_key_slot_is_refused() {
    let seen = each_byte_edit_refused(Table::Slots, &slot(0), &OPEN_ERRORS);
    println!("key slot, one byte edited: {seen:?}");
    assert!(seen.contains_key(OPEN_ERRORS[0]), "{seen:?}");
}

// ----- the whole file rolled back: the high-water mark

/// The high-water mark file of the vault, in its state folder.
fn mark_file(v: &Vault) -> PathBuf {
    let dir = v.state_dir().join("tresor").join("seen");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        // Not the one before last, kept beside it to write the next in its place.
        .filter(|p| p.extension().is_none_or(|e| e != "swap"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

#[test]
fn an_older_copy_of_the_whole_file_is_refused_until_accepted() {
    let v = vault();
    let backup = v.dir.path().join("backup.tresor");
    std::fs::copy(&v.path, &backup).unwrap();
    v.ok(&["edit", "A", "--value-stdin"], Some(b"rotated-value"));
    v.add("NEW", b"added after the backup");
    std::fs::copy(&backup, &v.path).unwrap();
    // Consistent with itself, and still refused: every read and every write.
    for args in [&["get", "A"][..], &["list"], &["env", "list"]] {
        let err = refused(&v, args);
        assert!(
            err.contains("older than the one this machine last saw")
                && err.contains("tresor restore --accept-older"),
            "{err}"
        );
    }
    let err = v.err(&["add", "X"], Some(b"x"));
    assert!(
        err.contains("older than the one this machine last saw"),
        "{err}"
    );
    assert_doctor_finds(
        &v,
        &["older than the one this machine last saw".to_string()],
    );
    // Accepted on purpose, the copy is the vault again, as it was.
    v.ok(&["restore", "--accept-older"], None);
    assert_eq!(v.get("A"), ALPHA);
    assert_eq!(v.keys("development"), ["A", "B"]);
    v.add("AFTER", b"a write after the restore");
    assert_eq!(v.get("AFTER"), b"a write after the restore");
}

#[test]
fn an_edited_high_water_mark_is_refused() {
    let v = vault();
    let mark = mark_file(&v);
    let pristine = std::fs::read(&mark).unwrap();
    for at in [0, pristine.len() / 2, pristine.len() - 1] {
        let mut bytes = pristine.clone();
        bytes[at] ^= 0x01;
        std::fs::write(&mark, &bytes).unwrap();
        let err = refused(&v, &["get", "A"]);
        assert!(err.contains("does not verify"), "byte {at}: {err}");
    }
    // The mark of another vault, put in its place, does not verify either.
    let other = Vault::new();
    other.ok(&["list"], None);
    std::fs::copy(mark_file(&other), &mark).unwrap();
    let err = refused(&v, &["get", "A"]);
    assert!(err.contains("does not verify"), "{err}");
    // Trusting the file as it is rewrites the mark.
    v.ok(&["restore", "--accept-older"], None);
    assert_eq!(v.get("A"), ALPHA);
}

#[test]
fn a_deleted_high_water_mark_is_trusted_on_first_use() {
    let v = vault();
    let backup = v.dir.path().join("backup.tresor");
    std::fs::copy(&v.path, &backup).unwrap();
    v.add("NEW", b"added after the backup");
    std::fs::copy(&backup, &v.path).unwrap();
    assert!(refused(&v, &["get", "A"]).contains("older than the one this machine last saw"));
    // Without the mark (deleted, or another machine), the file is trusted as it is.
    std::fs::remove_file(mark_file(&v)).unwrap();
    let report = v.ok(&["doctor"], None).text();
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("warning") && l.contains("no record of this vault yet")),
        "{report}"
    );
    assert_eq!(v.get("A"), ALPHA);
    // And remembered again from then on.
    let report = v.ok(&["doctor"], None).text();
    assert!(!report.contains("no record of this vault yet"), "{report}");
    assert!(mark_file(&v).exists());
}
