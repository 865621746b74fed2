//! Someone who can write the vault file moves ciphertexts around with redb itself: copies
//! a record over another, into another environment, swaps fields, deletes or rolls back a
//! record. Reading must fail with an error that says so; it must never return the wrong
//! value.
//!
//! Two levels. Plain edits must trip the per-environment digest. Edits whose digest is
//! then recomputed (an attacker who also had the digest key) must still fail, on the
//! associated data that binds each ciphertext to its field, record and environment. To
//! recompute digests this file re-derives the keys the way `src/vault` does (key slot
//! associated data, HKDF subkeys, digest layout): if those internals change, update the
//! helpers below together with them.

mod common;

use std::path::Path;

use redb::{ReadableDatabase, ReadableTable};
use tresor::vault::crypto::{self, Keys, Mac};
use tresor::vault::records::{self, Header, SecretRecord, Slot, SlotKind};
use tresor::vault::store::{
    DIGESTS, ENVIRONMENTS, HEADER_KEY, KEYSLOTS, META, SECRETS, VAULT_DIGEST_KEY,
};

use common::{Vault, WRONG_CREDENTIAL, output, tresor};

const ALPHA: &[u8] = b"alpha-secret-value";
const BRAVO: &[u8] = b"bravo-secret-value";
const STAGING_ALPHA: &[u8] = b"staging-alpha-value";
const TAMPERED: &str = "secret record in default/";
const DIGEST: &str = "do not match their digest";

/// development: A, B; staging: A; production: empty.
fn vault() -> Vault {
    let v = Vault::new();
    v.add("A", ALPHA);
    v.add("B", BRAVO);
    v.add_in("staging", "A", STAGING_ALPHA);
    v
}

/// The vault file opened with redb, plus the keys an attacker with the keyfile would have.
struct Raw {
    db: redb::Database,
    keys: Keys,
}

impl Raw {
    fn open(v: &Vault) -> Raw {
        let db = redb::Database::open(&v.path).unwrap();
        let keys = unlock(&db, v.keyfile());
        Raw { db, keys }
    }

    fn env_id(&self, env: &str) -> [u8; 16] {
        crypto::keyed_hash(&self.keys.index, &[b"env", b"default", env.as_bytes()]).unwrap()
    }

    fn id(&self, env: &str, key: &str) -> [u8; 48] {
        let name: [u8; 32] = crypto::keyed_hash(
            &self.keys.index,
            &[b"secret", b"default", env.as_bytes(), key.as_bytes()],
        )
        .unwrap();
        let mut id = [0u8; 48];
        id[..16].copy_from_slice(&self.env_id(env));
        id[16..].copy_from_slice(&name);
        id
    }

    fn record(&self, env: &str, key: &str) -> Vec<u8> {
        let txn = self.db.begin_read().unwrap();
        let table = txn.open_table(SECRETS).unwrap();
        let got = table
            .get(self.id(env, key))
            .unwrap()
            .expect("record exists");
        got.value().to_vec()
    }

    fn put(&self, env: &str, key: &str, bytes: &[u8]) {
        let txn = self.db.begin_write().unwrap();
        txn.open_table(SECRETS)
            .unwrap()
            .insert(self.id(env, key), bytes)
            .unwrap();
        txn.commit().unwrap();
    }

    fn remove(&self, env: &str, key: &str) {
        let txn = self.db.begin_write().unwrap();
        assert!(
            txn.open_table(SECRETS)
                .unwrap()
                .remove(self.id(env, key))
                .unwrap()
                .is_some()
        );
        txn.commit().unwrap();
    }

    /// Recomputes an environment's digest over its current records (as `env_digest` does).
    fn reseal(&self, env: &str) {
        let env_id = self.env_id(env);
        let txn = self.db.begin_write().unwrap();
        {
            let secrets = txn.open_table(SECRETS).unwrap();
            let mut lo = [0u8; 48];
            let mut hi = [0xffu8; 48];
            lo[..16].copy_from_slice(&env_id);
            hi[..16].copy_from_slice(&env_id);
            let mut mac = Mac::new(&self.keys.digest, 32).unwrap();
            mac.field(b"environment").unwrap();
            mac.field(&env_id).unwrap();
            for entry in secrets.range(lo..=hi).unwrap() {
                let (k, v) = entry.unwrap();
                mac.field(&k.value()).unwrap();
                mac.field(v.value()).unwrap();
            }
            let digest: [u8; 32] = mac.finish().unwrap();
            txn.open_table(DIGESTS)
                .unwrap()
                .insert(env_id, digest)
                .unwrap();
        }
        {
            // And the vault digest over every environment record and digest (as
            // `catalog_entries` does), so only the AEAD binding is left to catch the edit.
            use redb::ReadableTableMetadata;
            let envs = txn.open_table(ENVIRONMENTS).unwrap();
            let digests = txn.open_table(DIGESTS).unwrap();
            let meta = txn.open_table(META).unwrap();
            let slots = txn.open_table(KEYSLOTS).unwrap();
            let mut mac = Mac::new(&self.keys.digest, 32).unwrap();
            // Format 2: the header and every key slot first.
            mac.field(b"vault/v2").unwrap();
            mac.field(meta.get(HEADER_KEY).unwrap().unwrap().value())
                .unwrap();
            mac.field(&slots.len().unwrap().to_le_bytes()).unwrap();
            for entry in slots.iter().unwrap() {
                let (k, v) = entry.unwrap();
                mac.field(&k.value().to_le_bytes()).unwrap();
                mac.field(v.value()).unwrap();
            }
            match meta.get(tresor::vault::store::AUDIT_KEYS_KEY).unwrap() {
                Some(blob) => mac.field(blob.value()).unwrap(),
                None => mac.field(b"").unwrap(),
            }
            mac.field(&envs.len().unwrap().to_le_bytes()).unwrap();
            drop((meta, slots));
            for entry in envs.iter().unwrap() {
                let (k, v) = entry.unwrap();
                mac.field(&k.value()).unwrap();
                mac.field(v.value()).unwrap();
                match digests.get(k.value()).unwrap() {
                    Some(d) => mac.field(&d.value()).unwrap(),
                    None => mac.field(b"").unwrap(),
                }
            }
            let digest: [u8; 32] = mac.finish().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(VAULT_DIGEST_KEY, digest.as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }

    fn digest(&self, env: &str) -> [u8; 32] {
        let txn = self.db.begin_read().unwrap();
        let table = txn.open_table(DIGESTS).unwrap();
        table.get(self.env_id(env)).unwrap().unwrap().value()
    }
}

/// The data key from the keyfile slot, as `Vault::unlock` finds it.
fn unlock(db: &redb::Database, keyfile: &Path) -> Keys {
    let secret = tresor::vault::keyfile::read(keyfile).unwrap();
    let txn = db.begin_read().unwrap();
    let header_bytes = txn
        .open_table(META)
        .unwrap()
        .get(HEADER_KEY)
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    let Header::V1 { vault_id, .. } = records::decode(&header_bytes, "header").unwrap();
    for entry in txn.open_table(KEYSLOTS).unwrap().iter().unwrap() {
        let (id, bytes) = entry.unwrap();
        let slot: Slot = records::decode(bytes.value(), "slot").unwrap();
        let SlotKind::Keyfile { salt } = slot.kind() else {
            continue;
        };
        let kek = crypto::keyfile_kek(&secret, salt).unwrap();
        let mut ad = b"tresor/v1/keyslot\0".to_vec();
        ad.extend_from_slice(&(header_bytes.len() as u64).to_le_bytes());
        ad.extend_from_slice(&header_bytes);
        ad.extend_from_slice(&id.value().to_le_bytes());
        ad.extend_from_slice(&records::encode(slot.kind()).unwrap());
        let dek = match &slot {
            Slot::V1 {
                nonce, wrapped_dek, ..
            } => crypto::open(&kek, nonce, wrapped_dek, &ad).map(|plain| {
                let mut dek = zeroize::Zeroizing::new([0u8; 32]);
                dek.copy_from_slice(&plain);
                dek
            }),
            Slot::V2 {
                enc, wrapped_dek, ..
            } => crypto::slot_wrap::unwrap(&kek, enc, wrapped_dek, &ad),
        };
        if let Ok(dek) = dek {
            return Keys::derive(dek, vault_id).unwrap();
        }
    }
    panic!("no keyfile slot opened");
}

/// Runs a read that must fail, and returns its error; no value may reach stdout.
#[track_caller]
fn refused(v: &Vault, args: &[&str]) -> String {
    let out = v.run(args, None).failure();
    for value in [ALPHA, BRAVO, STAGING_ALPHA] {
        assert!(!common::contains(&out.stderr.clone().into_bytes(), value));
    }
    out.error()
}

#[track_caller]
fn assert_tampered(err: &str) {
    assert!(
        err.starts_with(TAMPERED)
            && err.contains("failed authentication: it was tampered with or damaged"),
        "expected a tampered-record error, got: {err}"
    );
}

#[track_caller]
fn assert_detected(err: &str) {
    assert!(
        err.starts_with(TAMPERED) || err.contains(DIGEST),
        "expected tampering to be detected, got: {err}"
    );
}

#[test]
fn the_digest_key_layout_matches_the_vault() {
    // If this fails, the helpers above no longer mirror src/vault and the tests below
    // would pass for the wrong reason.
    let v = vault();
    let raw = Raw::open(&v);
    let before = raw.digest("development");
    raw.reseal("development");
    assert_eq!(raw.digest("development"), before);
    assert_eq!(
        raw.record("development", "A").len(),
        raw.record("development", "B").len()
    );
    drop(raw);
    assert_eq!(v.get("A"), ALPHA);
}

#[test]
fn a_record_copied_over_another_is_refused() {
    for reseal in [false, true] {
        let v = vault();
        {
            let raw = Raw::open(&v);
            let a = raw.record("development", "A");
            raw.put("development", "B", &a);
            if reseal {
                raw.reseal("development");
            }
        }
        let err = refused(&v, &["get", "B"]);
        let list = refused(&v, &["list"]);
        let export = refused(&v, &["export", "--format", "json"]);
        let run = refused(&v, &["run", "--", "true"]);
        if reseal {
            for e in [&err, &list, &export, &run] {
                assert_tampered(e);
            }
            assert!(
                err.contains("the value of `B` does not decrypt"),
                "names the record: {err}"
            );
            // The untouched record stays readable.
            assert_eq!(v.get("A"), ALPHA);
        } else {
            for e in [&err, &list, &export, &run] {
                assert!(e.contains(DIGEST), "{e}");
            }
            assert_eq!(
                err,
                "the records of default/development do not match their digest: a secret was deleted, added or rolled back outside tresor"
            );
        }
        // Another environment is unaffected either way.
        assert_eq!(v.get_in("staging", "A"), STAGING_ALPHA);
    }
}

#[test]
fn a_record_copied_into_another_environment_is_refused() {
    for reseal in [false, true] {
        // Over the same key in staging.
        let v = vault();
        {
            let raw = Raw::open(&v);
            let a = raw.record("development", "A");
            raw.put("staging", "A", &a);
            if reseal {
                raw.reseal("staging");
            }
        }
        let err = refused(&v, &["-e", "staging", "get", "A"]);
        if reseal {
            assert_tampered(&err);
            assert!(err.starts_with("secret record in default/staging"), "{err}");
        } else {
            assert_detected(&err);
        }
        assert_eq!(v.get("A"), ALPHA);

        // Into an environment where the key does not exist.
        let v = vault();
        {
            let raw = Raw::open(&v);
            let a = raw.record("development", "A");
            raw.put("production", "A", &a);
            if reseal {
                raw.reseal("production");
            }
        }
        let get = refused(&v, &["-e", "production", "get", "A"]);
        let list = refused(&v, &["-e", "production", "list"]);
        if reseal {
            assert_tampered(&get);
            assert_tampered(&list);
        } else {
            assert_detected(&get);
            assert_detected(&list);
        }
    }
}

#[test]
fn swapped_value_and_metadata_fields_are_refused() {
    let v = vault();
    {
        let raw = Raw::open(&v);
        let SecretRecord::V1 {
            meta_nonce,
            meta,
            value_nonce,
            value,
        } = records::decode(&raw.record("development", "A"), "record").unwrap();
        let swapped = SecretRecord::V1 {
            meta_nonce: value_nonce,
            meta: value,
            value_nonce: meta_nonce,
            value: meta,
        };
        raw.put("development", "A", &records::encode(&swapped).unwrap());
        raw.reseal("development");
    }
    assert_tampered(&refused(&v, &["get", "A"]));
    assert_tampered(&refused(&v, &["list"]));
    assert_eq!(v.get("B"), BRAVO);
}

#[test]
fn a_value_moved_under_another_records_metadata_is_refused() {
    let v = vault();
    {
        let raw = Raw::open(&v);
        let SecretRecord::V1 {
            meta_nonce, meta, ..
        } = records::decode(&raw.record("development", "A"), "record").unwrap();
        let SecretRecord::V1 {
            value_nonce, value, ..
        } = records::decode(&raw.record("development", "B"), "record").unwrap();
        let mixed = SecretRecord::V1 {
            meta_nonce,
            meta,
            value_nonce,
            value,
        };
        raw.put("development", "A", &records::encode(&mixed).unwrap());
        raw.reseal("development");
    }
    let err = refused(&v, &["get", "A"]);
    assert_tampered(&err);
    assert!(err.contains("the value of `A` does not decrypt"), "{err}");
    // Listing reads only metadata, which is A's own: it still works and shows no value.
    let list = v.ok(&["list", "--json"], None);
    assert!(!common::contains(&list.stdout, BRAVO) && !common::contains(&list.stdout, ALPHA));
    assert_tampered(&refused(&v, &["export"]));
}

#[test]
fn a_flipped_ciphertext_bit_is_refused() {
    let v = vault();
    {
        let raw = Raw::open(&v);
        let mut bytes = raw.record("development", "A");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01; // inside the value's tag
        raw.put("development", "A", &bytes);
        raw.reseal("development");
    }
    assert_tampered(&refused(&v, &["get", "A"]));
    // Undecodable record bytes are an error too, not a panic.
    let v = vault();
    {
        let raw = Raw::open(&v);
        raw.put("development", "A", b"\x07garbage");
        raw.reseal("development");
    }
    let err = refused(&v, &["get", "A"]);
    assert!(err.starts_with("vault file is damaged"), "{err}");
}

#[test]
fn a_deleted_record_breaks_the_digest() {
    let v = vault();
    Raw::open(&v).remove("development", "B");
    let want = "the records of default/development do not match their digest: a secret was deleted, added or rolled back outside tresor";
    assert_eq!(refused(&v, &["get", "A"]), want);
    assert_eq!(refused(&v, &["list"]), want);
    assert_eq!(
        refused(&v, &["get", "B"]),
        want,
        "a deleted record is not reported as merely missing"
    );
    // A write does not re-bless the tampered state.
    assert_eq!(v.err(&["add", "C"], Some(b"c")), want);
    assert_eq!(v.err(&["rm", "A", "--yes"], None), want);
    assert_eq!(refused(&v, &["get", "A"]), want);
    assert_eq!(v.get_in("staging", "A"), STAGING_ALPHA);
}

#[test]
fn a_rolled_back_record_breaks_the_digest() {
    let v = vault();
    let old = Raw::open(&v).record("development", "A");
    v.ok(&["edit", "A", "--value-stdin"], Some(b"rotated-value"));
    Raw::open(&v).put("development", "A", &old);
    assert!(refused(&v, &["get", "A"]).contains(DIGEST));
    assert!(refused(&v, &["get", "B"]).contains(DIGEST));
}

#[test]
fn swapped_digests_are_refused() {
    let v = vault();
    {
        let raw = Raw::open(&v);
        let staging = raw.digest("staging");
        let txn = raw.db.begin_write().unwrap();
        txn.open_table(DIGESTS)
            .unwrap()
            .insert(raw.env_id("development"), staging)
            .unwrap();
        txn.commit().unwrap();
    }
    // A digest row is covered by the vault digest: the whole vault refuses, and no
    // environment hands out a value on the strength of a moved digest.
    for args in [&["get", "A"][..], &["-e", "staging", "get", "A"][..]] {
        let error = refused(&v, args);
        assert!(
            error.contains("the vault does not match its digest"),
            "{error}"
        );
    }
}

#[test]
fn a_deleted_environment_breaks_the_catalog_digest() {
    let v = vault();
    {
        let raw = Raw::open(&v);
        let txn = raw.db.begin_write().unwrap();
        txn.open_table(ENVIRONMENTS)
            .unwrap()
            .remove(raw.env_id("production"))
            .unwrap();
        txn.commit().unwrap();
    }
    let want = "the vault does not match its digest: an environment, a whole environment's records or a key slot was deleted, added or rolled back outside tresor";
    assert_eq!(refused(&v, &["get", "A"]), want);
    assert_eq!(refused(&v, &["env", "list"]), want);
    assert_eq!(v.err(&["env", "add", "production"], None), want);
}

#[test]
fn an_edited_header_or_foreign_slot_unlocks_nothing() {
    // A changed header byte invalidates every slot (their associated data covers it).
    let v = vault();
    {
        let db = redb::Database::open(&v.path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            let mut header = meta.get(HEADER_KEY).unwrap().unwrap().value().to_vec();
            let last = header.len() - 1;
            header[last] ^= 0x01; // the creation time
            meta.insert(HEADER_KEY, header.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    assert_eq!(
        v.run(&["get", "A"], None).failure().stderr,
        WRONG_CREDENTIAL
    );

    // A keyfile slot copied from another vault does not let that vault's keyfile in.
    let v = vault();
    let other = Vault::new();
    let foreign: Vec<u8> = {
        let db = redb::Database::open(&other.path).unwrap();
        let txn = db.begin_read().unwrap();
        let slots = txn.open_table(KEYSLOTS).unwrap();
        slots.get(0).unwrap().unwrap().value().to_vec()
    };
    {
        let db = redb::Database::open(&v.path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(KEYSLOTS)
            .unwrap()
            .insert(7, foreign.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let mut cmd = tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .arg("--keyfile")
        .arg(other.keyfile())
        .args(["get", "A"]);
    assert_eq!(output(cmd, None).failure().stderr, WRONG_CREDENTIAL);
    // The key slots are inside the vault digest: the added slot is detected, so even the
    // real keyfile gets a clear refusal instead of a vault someone extended.
    let err = v.err(&["get", "A"], None);
    assert!(
        err.contains("a key slot was deleted, added or rolled back"),
        "{err}"
    );
}
