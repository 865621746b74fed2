//! Deliberate tampering by someone who can write the vault file but has no key (issue #4;
//! DESIGN.md §4, research T-13, T-14, T-15): records copied, moved, spliced, deleted and
//! rolled back, the header, a key slot and the catalog digest edited, all with redb
//! directly on the file. Every case must end in a clear error and never show a value that
//! is not the one stored for that key.
//!
//! Writing with redb bypasses the keyed digests, so most swaps surface first as a digest
//! mismatch for the whole environment: that is what `get`, `list` and `export` show. Whether
//! the AEAD binding (a ciphertext is bound to its vault, environment, key and field) holds on
//! its own cannot be shown through them without forging the digest, which needs the key.
//! `tresor doctor` decrypts every record even when the digest fails, so it is where the
//! binding is visible to a user: it must name the record's environment as failing
//! authentication.

mod common;

use std::collections::BTreeMap;

use common::Vault;
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use tresor::vault::records::{SecretRecord, decode, encode};
use tresor::vault::store::{DIGESTS, HEADER_KEY, KEYSLOTS, META, SECRETS, VAULT_DIGEST_KEY};

const DEV: &[(&str, &str)] = &[
    ("API_KEY", "dev-api-key-1111"),
    ("DATABASE_URL", "postgres://dev:dev@localhost/dev"),
    ("SESSION_SECRET", "dev-session-secret-3333"),
];
const PROD: &[(&str, &str)] = &[
    ("API_KEY", "prod-api-key-9999"),
    ("DATABASE_URL", "postgres://prod:Xy7!@db.prod/app"),
];

const DIGEST_MISMATCH: &str =
    "do not match their digest: a secret was deleted, added or rolled back outside tresor";
const AUTH_FAILED: &str = "failed authentication: it was tampered with or damaged";

type SecretId = [u8; 48];

/// A keyfile vault with three secrets in development and two in production.
fn vault() -> Vault {
    let v = Vault::new();
    for (key, value) in DEV {
        v.add_in("development", key, value.as_bytes());
    }
    for (key, value) in PROD {
        v.add_in("production", key, value.as_bytes());
    }
    v
}

/// One write transaction straight through redb: no key, no digest update.
fn tamper(v: &Vault, f: impl FnOnce(&WriteTransaction)) {
    let db = redb::Database::open(&v.path).unwrap();
    let txn = db.begin_write().unwrap();
    f(&txn);
    txn.commit().unwrap();
}

/// Every secret record, by table key.
fn records(v: &Vault) -> BTreeMap<SecretId, Vec<u8>> {
    let db = redb::Builder::new().open_read_only(&v.path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(SECRETS).unwrap();
    table
        .iter()
        .unwrap()
        .map(|e| {
            let (k, val) = e.unwrap();
            (k.value(), val.value().to_vec())
        })
        .collect()
}

/// The record ids of development and production. The ids are blind, but an environment is
/// a key range (its 16-byte id first), and the two hold different numbers of secrets.
fn ids_by_env(v: &Vault) -> (Vec<SecretId>, Vec<SecretId>) {
    let mut groups: BTreeMap<[u8; 16], Vec<SecretId>> = BTreeMap::new();
    for id in records(v).into_keys() {
        groups
            .entry(id[..16].try_into().unwrap())
            .or_default()
            .push(id);
    }
    let find = |n: usize| groups.values().find(|g| g.len() == n).unwrap().clone();
    (find(DEV.len()), find(PROD.len()))
}

/// Every read of the environment fails with the digest error naming it; no value is shown.
#[track_caller]
fn assert_refused(v: &Vault, env: &str, secrets: &[(&str, &str)]) {
    let place = format!("default/{env}");
    let mut reads: Vec<Vec<&str>> = vec![
        vec!["-e", env, "list"],
        vec!["-e", env, "export", "--format", "json"],
    ];
    reads.extend(secrets.iter().map(|(key, _)| vec!["-e", env, "get", key]));
    for args in reads {
        let error = v.err(&args, None);
        assert!(
            error.contains(DIGEST_MISMATCH) && error.contains(&place),
            "`{}`: {error}",
            args.join(" ")
        );
    }
}

/// Every secret of the environment reads back exactly.
#[track_caller]
fn assert_intact(v: &Vault, env: &str, secrets: &[(&str, &str)]) {
    for (key, value) in secrets {
        assert_eq!(v.get_in(env, key), value.as_bytes(), "{env}/{key}");
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

fn auth_failure_in(env: &str) -> String {
    format!("secret record in default/{env} {AUTH_FAILED}")
}

fn digest_mismatch_of(env: &str) -> String {
    format!("the records of default/{env} {DIGEST_MISMATCH}")
}

#[test]
fn a_record_copied_over_another_key_of_its_environment_is_refused() {
    let v = vault();
    let (dev, _) = ids_by_env(&v);
    let all = records(&v);
    tamper(&v, |txn| {
        txn.open_table(SECRETS)
            .unwrap()
            .insert(dev[1], all[&dev[0]].as_slice())
            .unwrap();
    });
    assert_refused(&v, "development", DEV);
    assert_intact(&v, "production", PROD);
    assert_doctor_finds(
        &v,
        &[
            digest_mismatch_of("development"),
            auth_failure_in("development"),
        ],
    );
}

#[test]
fn a_record_moved_into_another_environment_is_refused_in_both() {
    let v = vault();
    let (dev, prod) = ids_by_env(&v);
    let all = records(&v);
    // Same blind name, production's range: the key as it would be if it lived there.
    let mut moved = dev[0];
    moved[..16].copy_from_slice(&prod[0][..16]);
    tamper(&v, |txn| {
        let mut t = txn.open_table(SECRETS).unwrap();
        t.remove(dev[0]).unwrap();
        t.insert(moved, all[&dev[0]].as_slice()).unwrap();
    });
    assert_refused(&v, "development", DEV);
    assert_refused(&v, "production", PROD);
    assert_doctor_finds(
        &v,
        &[
            digest_mismatch_of("development"),
            digest_mismatch_of("production"),
            auth_failure_in("production"),
        ],
    );
}

#[test]
fn a_production_record_over_a_development_key_is_refused() {
    let v = vault();
    let (dev, prod) = ids_by_env(&v);
    let all = records(&v);
    tamper(&v, |txn| {
        txn.open_table(SECRETS)
            .unwrap()
            .insert(dev[0], all[&prod[0]].as_slice())
            .unwrap();
    });
    assert_refused(&v, "development", DEV);
    assert_intact(&v, "production", PROD);
    assert_doctor_finds(&v, &[auth_failure_in("development")]);
}

#[test]
fn a_record_from_another_vault_is_refused() {
    let v = vault();
    let other = vault();
    let (dev, _) = ids_by_env(&v);
    let (other_dev, _) = ids_by_env(&other);
    let theirs = records(&other)[&other_dev[0]].clone();
    tamper(&v, |txn| {
        txn.open_table(SECRETS)
            .unwrap()
            .insert(dev[0], theirs.as_slice())
            .unwrap();
    });
    assert_refused(&v, "development", DEV);
    assert_doctor_finds(&v, &[auth_failure_in("development")]);
}

#[test]
fn a_record_with_its_meta_and_value_halves_swapped_is_refused() {
    let v = vault();
    let (dev, _) = ids_by_env(&v);
    let SecretRecord::V1 {
        meta_nonce,
        meta,
        value_nonce,
        value,
    } = decode(&records(&v)[&dev[0]], "secret record").unwrap();
    let swapped = encode(&SecretRecord::V1 {
        meta_nonce: value_nonce,
        meta: value,
        value_nonce: meta_nonce,
        value: meta,
    })
    .unwrap();
    tamper(&v, |txn| {
        txn.open_table(SECRETS)
            .unwrap()
            .insert(dev[0], swapped.as_slice())
            .unwrap();
    });
    assert_refused(&v, "development", DEV);
    assert_intact(&v, "production", PROD);
    assert_doctor_finds(&v, &[auth_failure_in("development")]);
}

#[test]
fn a_deleted_record_is_refused_not_silently_missing() {
    let v = vault();
    let (dev, _) = ids_by_env(&v);
    tamper(&v, |txn| {
        txn.open_table(SECRETS).unwrap().remove(dev[2]).unwrap();
    });
    // `list` fails instead of showing two secrets.
    assert_refused(&v, "development", DEV);
    assert_intact(&v, "production", PROD);
    assert_doctor_finds(&v, &[digest_mismatch_of("development")]);
}

#[test]
fn a_record_rolled_back_to_its_older_ciphertext_is_refused() {
    let v = vault();
    let before = records(&v);
    v.ok(
        &["edit", "API_KEY", "--value-stdin"],
        Some(b"rotated-dev-api-key"),
    );
    let after = records(&v);
    let changed: Vec<SecretId> = after
        .keys()
        .filter(|id| before.get(*id) != after.get(*id))
        .copied()
        .collect();
    assert_eq!(changed.len(), 1, "one record changed by the edit");
    let old = before[&changed[0]].clone();
    tamper(&v, |txn| {
        txn.open_table(SECRETS)
            .unwrap()
            .insert(changed[0], old.as_slice())
            .unwrap();
    });
    // The old ciphertext is authentic: only the digest can tell, and it does.
    let error = v.err(&["get", "API_KEY"], None);
    assert!(error.contains(DIGEST_MISMATCH), "{error}");
    assert_refused(&v, "development", DEV);
    let out = v.run(&["doctor"], None).failure_after_output();
    assert!(
        out.text().contains(&digest_mismatch_of("development")),
        "{}",
        out.text()
    );
    assert!(!out.text().contains(AUTH_FAILED), "{}", out.text());
}

/// An environment rolled back as a whole (its records and its digest row, both from an
/// older state) is consistent with itself, but not with the vault digest, which covers
/// every environment's digest: only a rollback of the whole file (which needs state
/// outside the file to detect, research T-17) stays consistent.
#[test]
fn a_whole_environment_rolled_back_with_its_digest_is_refused() {
    let v = vault();
    let snapshot = |v: &Vault| {
        let db = redb::Builder::new().open_read_only(&v.path).unwrap();
        let txn = db.begin_read().unwrap();
        let digests: BTreeMap<[u8; 16], [u8; 32]> = txn
            .open_table(DIGESTS)
            .unwrap()
            .iter()
            .unwrap()
            .map(|e| e.map(|(k, d)| (k.value(), d.value())).unwrap())
            .collect();
        digests
    };
    let old_records = records(&v);
    let old_digests = snapshot(&v);
    v.ok(
        &["edit", "API_KEY", "--value-stdin"],
        Some(b"rotated-dev-api-key"),
    );
    tamper(&v, |txn| {
        let mut secrets = txn.open_table(SECRETS).unwrap();
        for (id, bytes) in &old_records {
            secrets.insert(*id, bytes.as_slice()).unwrap();
        }
        let mut digests = txn.open_table(DIGESTS).unwrap();
        for (id, d) in &old_digests {
            digests.insert(*id, *d).unwrap();
        }
    });
    for args in [
        vec!["get", "API_KEY"],
        vec!["list"],
        vec!["-e", "production", "list"],
    ] {
        let error = v.err(&args, None);
        assert!(
            error.contains("the vault does not match its digest"),
            "`{}`: {error}",
            args.join(" ")
        );
        assert!(!error.contains(DEV[0].1), "{error}");
    }
}

#[test]
fn environment_digests_swapped_between_environments_are_refused() {
    let v = vault();
    let (dev, prod) = ids_by_env(&v);
    let dev_env: [u8; 16] = dev[0][..16].try_into().unwrap();
    let prod_env: [u8; 16] = prod[0][..16].try_into().unwrap();
    tamper(&v, |txn| {
        let mut t = txn.open_table(DIGESTS).unwrap();
        let d = t.get(prod_env).unwrap().unwrap().value();
        t.insert(dev_env, d).unwrap();
    });
    // Digest rows are covered by the vault digest: every environment refuses.
    for (env, secrets) in [("development", DEV), ("production", PROD)] {
        for (key, value) in secrets {
            let error = v.err(&["-e", env, "get", key], None);
            assert!(
                error.contains("the vault does not match its digest"),
                "{error}"
            );
            assert!(!error.contains(value), "{error}");
        }
    }
}

#[test]
fn a_deleted_catalog_digest_is_refused() {
    let v = vault();
    tamper(&v, |txn| {
        assert!(
            txn.open_table(META)
                .unwrap()
                .remove(VAULT_DIGEST_KEY)
                .unwrap()
                .is_some()
        );
    });
    for args in [
        vec!["list"],
        vec!["get", "API_KEY"],
        vec!["-e", "production", "export"],
        vec!["env", "list"],
    ] {
        let error = v.err(&args, None);
        assert!(
            error.contains("the vault does not match its digest"),
            "`{}`: {error}",
            args.join(" ")
        );
    }
}

/// Every single-byte edit of a stored item: the vault must refuse to unlock, with one of
/// `allowed`, and never list anything. Returns how often each error was seen.
fn each_byte_edit_refused(
    read: impl Fn(&Vault) -> Vec<u8>,
    write: impl Fn(&WriteTransaction, &[u8]),
    allowed: &[&str],
) -> BTreeMap<String, usize> {
    let v = vault();
    let pristine = v.bytes();
    let item = read(&v);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..item.len() {
        std::fs::write(&v.path, &pristine).unwrap();
        let mut edited = item.clone();
        edited[i] = edited[i].wrapping_add(1);
        tamper(&v, |txn| write(txn, &edited));
        let error = v.err(&["list"], None);
        let kind = allowed
            .iter()
            .find(|a| error.contains(*a))
            .unwrap_or_else(|| panic!("byte {i} of {}: unexpected error {error:?}", item.len()));
        *seen.entry(kind.to_string()).or_default() += 1;
    }
    seen
}

const CREDENTIAL_ERRORS: [&str; 5] = [
    "wrong passphrase or keyfile: no key slot of this vault accepted it",
    "is not a tresor vault",
    "written by a newer tresor",
    "vault file is damaged",
    "key slot parameters are out of range",
];

#[test]
fn every_one_byte_edit_of_the_header_is_refused() {
    let seen = each_byte_edit_refused(
        |v| {
            let db = redb::Builder::new().open_read_only(&v.path).unwrap();
            let txn = db.begin_read().unwrap();
            let t = txn.open_table(META).unwrap();
            t.get(HEADER_KEY).unwrap().unwrap().value().to_vec()
        },
        |txn, bytes| {
            txn.open_table(META)
                .unwrap()
                .insert(HEADER_KEY, bytes)
                .unwrap();
        },
        &CREDENTIAL_ERRORS,
    );
    println!("header, one byte edited: {seen:?}");
    assert!(seen.contains_key(CREDENTIAL_ERRORS[0]), "{seen:?}");
}

#[test]
fn every_one_byte_edit_of_a_key_slot_is_refused() {
    let seen = each_byte_edit_refused(
        |v| {
            let db = redb::Builder::new().open_read_only(&v.path).unwrap();
            let txn = db.begin_read().unwrap();
            let t = txn.open_table(KEYSLOTS).unwrap();
            t.get(0).unwrap().unwrap().value().to_vec()
        },
        |txn, bytes| {
            txn.open_table(KEYSLOTS).unwrap().insert(0, bytes).unwrap();
        },
        &CREDENTIAL_ERRORS,
    );
    println!("key slot, one byte edited: {seen:?}");
    assert!(seen.contains_key(CREDENTIAL_ERRORS[0]), "{seen:?}");
}

/// What redb's integrity check on open costs a write at 10,000 secrets: run with
/// `cargo test --release --test tamper_swap -- --ignored --nocapture`.
#[test]
#[ignore]
fn integrity_check_on_open_cost_at_10000_secrets() {
    use std::time::Instant;
    let v = Vault::new();
    let env_file = v.dir.path().join("big.env");
    let text: String = (0..10_000)
        .map(|i| format!("SECRET_{i}=value-{i}-{}\n", "v".repeat(40)))
        .collect();
    std::fs::write(&env_file, text).unwrap();
    v.ok(
        &[std::ffi::OsStr::new("import"), env_file.as_os_str()],
        None,
    );
    let size = std::fs::metadata(&v.path).unwrap().len();
    let median = |check: bool| {
        let mut times: Vec<f64> = (0..21)
            .map(|_| {
                let t = Instant::now();
                let db = redb::Builder::new()
                    .set_check_integrity_on_open(check)
                    .open(&v.path)
                    .unwrap();
                drop(db);
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let plain = median(false);
    let checked = median(true);
    let add = {
        let mut times: Vec<f64> = (0..11)
            .map(|i| {
                let t = Instant::now();
                v.ok(&["add", &format!("TIMED_{i}")], Some(b"x"));
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    println!(
        "10,000 secrets, {} KiB file: read-write open {plain:.2} ms plain, {checked:.2} ms with the integrity check \
         (+{:.2} ms per write); a whole `tresor add` process {add:.1} ms",
        size / 1024,
        checked - plain
    );
}
