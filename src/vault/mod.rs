//! The vault: a project's secrets, encrypted in one redb file. Knows nothing of terminals.
//!
//! vault › project › environment › secret. A [`Vault`] is an unlocked handle: it holds the
//! data key's subkeys, never an open database. Each operation opens the file, does its
//! work in one transaction, and closes it, so other processes can use the vault between
//! two operations (see `store`).

pub mod audit;
pub mod crypto;
pub mod dotenv;
pub mod error;
pub mod generate;
pub mod keyfile;
pub mod maintenance;
pub mod model;
pub mod records;
pub mod store;
pub mod validate;
pub mod wipe;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{ReadableTable, WriteTransaction};
use secrecy::{ExposeSecret, SecretString};

pub use error::{Result, VaultError};
pub use model::{EnvironmentInfo, SecretInfo, SecretType, SecretValue, Via};

use audit::AuditEvent;
use crypto::{KdfParams, Keys, Mac};
use records::{
    EnvMeta, EnvRecord, FORMAT, Header, MAGIC, SecretMeta, SecretRecord, Slot, SlotKind, decode,
    encode,
};
use store::{
    DIGESTS, ENVIRONMENTS, HEADER_KEY, KEYSLOTS, LEGACY_CATALOG_DIGEST_KEY, META, SECRETS,
    VAULT_DIGEST_KEY,
};

pub const DEFAULT_PROJECT: &str = "default";
pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

/// What unlocks an existing vault.
pub enum Credential {
    Passphrase(SecretString),
    Keyfile(PathBuf),
}

/// What a new vault (or a new slot) is protected by.
pub enum NewCredential {
    Passphrase(SecretString, KdfParams),
    /// A keyfile to be written at this path.
    Keyfile(PathBuf),
}

/// A secret to create.
pub struct NewSecret {
    pub key: String,
    pub value: SecretValue,
    pub description: String,
    /// `None`: detected from the key and value.
    pub kind: Option<SecretType>,
}

/// An edit, with the product page's rules: no new value keeps the current one.
#[derive(Default)]
pub struct SecretEdit {
    pub value: Option<SecretValue>,
    pub description: Option<String>,
    pub kind: Option<SecretType>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub skipped_existing: Vec<String>,
    pub skipped_empty: Vec<String>,
}

/// An unlocked vault.
pub struct Vault {
    path: PathBuf,
    keys: Keys,
    via: Via,
    /// The key slot that unlocked this handle (or was made with the vault), for the audit log.
    slot: u32,
    /// Why the last audit entry could not be written, until the caller takes it.
    audit_failure: std::cell::RefCell<Option<String>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

type SecretId = [u8; 48];

/// The environments as the environments table lists them, with the digests over them.
struct Catalog {
    entries: Vec<(EnvId, String, String, i64)>,
    vault_digest: [u8; 32],
    legacy_digest: [u8; 32],
}
type EnvId = [u8; 16];

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Vault {
    /// Creates a vault with project `default` and its three environments.
    pub fn create(path: &Path, credential: NewCredential) -> Result<Vault> {
        Self::create_via(path, credential, Via::Cli)
    }

    /// Like [`Vault::create`], recording in the audit log where the vault was created.
    pub fn create_via(path: &Path, credential: NewCredential, via: Via) -> Result<Vault> {
        if path.exists() {
            return Err(VaultError::VaultExists(path.to_path_buf()));
        }
        let dek = crypto::random_key()?;
        let vault_id: [u8; 16] = crypto::random_bytes()?;
        let header = Header::V1 {
            magic: MAGIC,
            format: FORMAT,
            min_reader: FORMAT,
            vault_id,
            dek_check: Keys::dek_check(&dek, &vault_id)?,
            created: now(),
        };
        let header_bytes = encode(&header)?;
        let keyfile_written = match &credential {
            NewCredential::Keyfile(p) => Some(p.clone()),
            NewCredential::Passphrase(..) => None,
        };
        let slot = make_slot(&credential, &dek, &vault_id, &header_bytes, 0)?;
        let keys = Keys::derive(dek, vault_id)?;
        let vault = Vault {
            path: path.to_path_buf(),
            keys,
            via,
            slot: 0,
            audit_failure: Default::default(),
        };
        let result = store::create(path).and_then(|db| {
            store::fenced(|| {
                let txn = begin_write(&db)?;
                {
                    txn.open_table(META)?
                        .insert(HEADER_KEY, header_bytes.as_slice())?;
                    txn.open_table(KEYSLOTS)?
                        .insert(0, encode(&slot)?.as_slice())?;
                    txn.open_table(SECRETS)?;
                    for env in DEFAULT_ENVIRONMENTS {
                        vault.insert_env(&txn, DEFAULT_PROJECT, env)?;
                    }
                    vault.update_catalog_digest(&txn)?;
                }
                txn.commit()?;
                Ok(())
            })
        });
        if let Err(e) = result {
            // Leave nothing half-made behind: a failed init must be repeatable.
            if !matches!(e, VaultError::VaultExists(_)) {
                let _ = std::fs::remove_file(path);
            }
            if let Some(k) = keyfile_written {
                let _ = std::fs::remove_file(k);
            }
            return Err(e);
        }
        vault.audit("init", "", "", "");
        Ok(vault)
    }

    /// Unlocks with a passphrase or keyfile. A wrong one gets one generic error and
    /// changes nothing (the file is only read).
    pub fn unlock(path: &Path, credential: &Credential) -> Result<Vault> {
        let (header_bytes, header, slots) = read_header_and_slots(path)?;
        let Header::V1 {
            vault_id,
            dek_check,
            ..
        } = header;
        let keyfile_secret = match credential {
            Credential::Keyfile(p) => Some(keyfile::read(p)?),
            Credential::Passphrase(_) => None,
        };
        for (id, slot) in &slots {
            let Slot::V1 {
                kind,
                nonce,
                wrapped_dek,
            } = slot;
            let kek = match (kind, credential, &keyfile_secret) {
                (SlotKind::Passphrase { salt, kdf }, Credential::Passphrase(pass), _) => {
                    crypto::passphrase_kek(pass.expose_secret().as_bytes(), salt, kdf, &vault_id)?
                }
                (SlotKind::Keyfile { salt }, Credential::Keyfile(_), Some(secret)) => {
                    crypto::keyfile_kek(secret, salt)?
                }
                _ => continue,
            };
            // Exactly a 32-byte key plus tag: anything else is not ours (partitioning oracles).
            if wrapped_dek.len() != crypto::KEY_LEN + crypto::TAG_LEN {
                continue;
            }
            let ad = slot_ad(&header_bytes, *id, kind)?;
            let Ok(plain) = crypto::open(&kek, nonce, wrapped_dek, &ad) else {
                continue;
            };
            let mut dek = zeroize::Zeroizing::new([0u8; crypto::KEY_LEN]);
            dek.copy_from_slice(&plain);
            if !crypto::same(&Keys::dek_check(&dek, &vault_id)?, &dek_check) {
                return Err(VaultError::Corrupt(
                    "a key slot yields a different data key than the header records".into(),
                ));
            }
            return Ok(Vault {
                path: path.to_path_buf(),
                keys: Keys::derive(dek, vault_id)?,
                via: Via::Cli,
                slot: *id,
                audit_failure: Default::default(),
            });
        }
        Err(VaultError::WrongCredential)
    }

    /// Marks where later operations come from, for the audit log.
    pub fn with_via(mut self, via: Via) -> Vault {
        self.via = via;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of the key slot this handle was unlocked with.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    // ----- ids, associated data, sealing

    fn env_id(&self, project: &str, env: &str) -> Result<EnvId> {
        crypto::keyed_hash(
            &self.keys.index,
            &[b"env", project.as_bytes(), env.as_bytes()],
        )
    }

    fn secret_id(&self, env_id: &EnvId, project: &str, env: &str, key: &str) -> Result<SecretId> {
        let name: [u8; 32] = crypto::keyed_hash(
            &self.keys.index,
            &[
                b"secret",
                project.as_bytes(),
                env.as_bytes(),
                key.as_bytes(),
            ],
        )?;
        let mut id = [0u8; 48];
        id[..16].copy_from_slice(env_id);
        id[16..].copy_from_slice(&name);
        Ok(id)
    }

    /// Binds a ciphertext to its field, vault, record and format version.
    fn ad(&self, field: &[u8], table_key: &[u8]) -> Vec<u8> {
        let mut ad = Vec::with_capacity(field.len() + 16 + table_key.len() + 2);
        ad.extend_from_slice(field);
        ad.extend_from_slice(&self.keys.vault_id);
        ad.extend_from_slice(table_key);
        ad.extend_from_slice(&FORMAT.to_le_bytes());
        ad
    }

    fn seal_meta(&self, id: &SecretId, meta: &SecretMeta) -> Result<([u8; 24], Vec<u8>)> {
        let plain = zeroize::Zeroizing::new(encode(meta)?);
        crypto::seal(
            &self.keys.meta,
            &plain,
            &self.ad(b"tresor/v1/secret/meta\0", id),
        )
    }

    fn seal_value(&self, id: &SecretId, value: &[u8]) -> Result<([u8; 24], Vec<u8>)> {
        crypto::seal(
            &self.keys.value,
            value,
            &self.ad(b"tresor/v1/secret/value\0", id),
        )
    }

    fn open_meta(
        &self,
        id: &SecretId,
        record: &SecretRecord,
        place: (&str, &str),
    ) -> Result<SecretMeta> {
        let SecretRecord::V1 {
            meta_nonce, meta, ..
        } = record;
        let plain = crypto::open(
            &self.keys.meta,
            meta_nonce,
            meta,
            &self.ad(b"tresor/v1/secret/meta\0", id),
        )
        .map_err(|_| tampered(place, "its metadata does not decrypt"))?;
        decode(&plain, "secret metadata")
    }

    fn open_value(
        &self,
        id: &SecretId,
        record: &SecretRecord,
        place: (&str, &str),
        key: &str,
    ) -> Result<SecretValue> {
        let SecretRecord::V1 {
            value_nonce, value, ..
        } = record;
        crypto::open(
            &self.keys.value,
            value_nonce,
            value,
            &self.ad(b"tresor/v1/secret/value\0", id),
        )
        .map_err(|_| tampered(place, &format!("the value of `{key}` does not decrypt")))
    }

    // ----- transactions

    fn read<T>(&self, f: impl FnOnce(&redb::ReadTransaction) -> Result<T>) -> Result<T> {
        let db = store::open_read(&self.path)?;
        let txn = store::read_txn(&db)?;
        store::fenced(|| f(&txn))
    }

    /// One write transaction with immediate durability: a crash leaves the old state or
    /// the new one, and a returned `Ok` is on disk.
    fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        let db = store::open_write(&self.path)?;
        store::fenced(|| {
            let txn = begin_write(&db)?;
            let out = f(&txn)?;
            txn.commit()?;
            Ok(out)
        })
    }

    /// Appends to the audit log. A failure (a full disk, an unwritable log) does not undo
    /// or refuse the operation: a change is already committed when it is recorded, and
    /// the log is accountability, not access control (whoever holds the key can read the
    /// file without tresor). The failure is kept for the caller to show as a warning.
    fn audit(&self, action: &str, project: &str, env: &str, key: &str) {
        let (user, host) = audit::who();
        let event = AuditEvent {
            time: now(),
            user,
            host,
            via: self.via,
            action: action.into(),
            project: project.into(),
            env: env.into(),
            key: key.into(),
        };
        if let Err(e) = audit::append(&self.path, &self.keys, event) {
            *self.audit_failure.borrow_mut() = Some(e.to_string());
        }
    }

    /// Why the audit log missed an entry since the last call, if it did.
    pub fn take_audit_failure(&self) -> Option<String> {
        self.audit_failure.borrow_mut().take()
    }

    // ----- environments and the catalog digest

    fn insert_env(&self, txn: &WriteTransaction, project: &str, env: &str) -> Result<EnvId> {
        let id = self.env_id(project, env)?;
        let meta = EnvMeta::V1 {
            project: project.into(),
            name: env.into(),
            created: now(),
        };
        let (nonce, sealed) = crypto::seal(
            &self.keys.meta,
            &encode(&meta)?,
            &self.ad(b"tresor/v1/environment\0", &id),
        )?;
        txn.open_table(ENVIRONMENTS)?
            .insert(id, encode(&EnvRecord::V1 { nonce, sealed })?.as_slice())?;
        let secrets = txn.open_table(SECRETS)?;
        let digest = self.env_digest(&secrets, &id)?;
        txn.open_table(DIGESTS)?.insert(id, digest)?;
        Ok(id)
    }

    /// All environments of all projects, with the vault digest recomputed from the tables.
    ///
    /// The vault digest covers every environment record *and* every environment's
    /// digest, so it stands for the whole vault's contents: rolling one environment back
    /// (records and digest row together) breaks it, and only a rollback of the whole file
    /// to an older copy stays consistent. The second MAC is the legacy catalog digest
    /// (environment records only), checked only on vaults that predate the vault digest.
    fn catalog_entries(
        &self,
        envs: &impl ReadableTable<[u8; 16], &'static [u8]>,
        digests: &impl ReadableTable<[u8; 16], [u8; 32]>,
    ) -> Result<Catalog> {
        let mut mac = Mac::new(&self.keys.digest, 32)?;
        mac.field(b"vault")?;
        let mut legacy = Mac::new(&self.keys.digest, 32)?;
        legacy.field(b"catalog")?;
        let mut entries = Vec::new();
        for entry in envs.iter()? {
            let (k, v) = entry?;
            let id = k.value();
            for m in [&mut mac, &mut legacy] {
                m.field(&id)?;
                m.field(v.value())?;
            }
            match digests.get(id)? {
                Some(d) => mac.field(&d.value())?,
                None => mac.field(b"")?,
            }
            let EnvRecord::V1 { nonce, sealed } = decode(v.value(), "environment record")?;
            let plain = crypto::open(
                &self.keys.meta,
                &nonce,
                &sealed,
                &self.ad(b"tresor/v1/environment\0", &id),
            )
            .map_err(|_| {
                VaultError::Corrupt("an environment record failed authentication".into())
            })?;
            let EnvMeta::V1 {
                project,
                name,
                created,
            } = decode(&plain, "environment")?;
            entries.push((id, project, name, created));
        }
        Ok(Catalog {
            entries,
            vault_digest: mac.finish()?,
            legacy_digest: legacy.finish()?,
        })
    }

    /// Whether the stored digest vouches for this catalog.
    fn catalog_verified(
        &self,
        catalog: &Catalog,
        meta: &impl ReadableTable<&'static str, &'static [u8]>,
    ) -> Result<bool> {
        if let Some(stored) = meta.get(VAULT_DIGEST_KEY)? {
            return Ok(crypto::same(stored.value(), &catalog.vault_digest));
        }
        Ok(meta
            .get(LEGACY_CATALOG_DIGEST_KEY)?
            .is_some_and(|stored| crypto::same(stored.value(), &catalog.legacy_digest)))
    }

    /// All environments of all projects, verified against the vault digest.
    fn catalog(
        &self,
        envs: &impl ReadableTable<[u8; 16], &'static [u8]>,
        digests: &impl ReadableTable<[u8; 16], [u8; 32]>,
        meta: &impl ReadableTable<&'static str, &'static [u8]>,
    ) -> Result<Vec<(EnvId, String, String, i64)>> {
        let catalog = self.catalog_entries(envs, digests)?;
        if self.catalog_verified(&catalog, meta)? {
            Ok(catalog.entries)
        } else {
            Err(VaultError::CatalogMismatch)
        }
    }

    /// Recomputes the vault digest; every write ends with this. It also migrates a vault
    /// that still has the legacy catalog digest: once the vault digest is written, the
    /// legacy one is removed, so it can never again be what vouches for the vault.
    fn update_catalog_digest(&self, txn: &WriteTransaction) -> Result<()> {
        let catalog =
            self.catalog_entries(&txn.open_table(ENVIRONMENTS)?, &txn.open_table(DIGESTS)?)?;
        let mut meta = txn.open_table(META)?;
        meta.insert(VAULT_DIGEST_KEY, catalog.vault_digest.as_slice())?;
        meta.remove(LEGACY_CATALOG_DIGEST_KEY)?;
        Ok(())
    }

    /// Finds an environment, checking the catalog digest on the way.
    fn require_env(
        &self,
        envs: &impl ReadableTable<[u8; 16], &'static [u8]>,
        digests: &impl ReadableTable<[u8; 16], [u8; 32]>,
        meta: &impl ReadableTable<&'static str, &'static [u8]>,
        project: &str,
        env: &str,
    ) -> Result<EnvId> {
        let catalog = self.catalog(envs, digests, meta)?;
        let id = self.env_id(project, env)?;
        catalog
            .iter()
            .find(|(i, p, n, _)| *i == id && p == project && n == env)
            .map(|_| id)
            .ok_or_else(|| VaultError::EnvNotFound {
                project: project.into(),
                env: env.into(),
            })
    }

    /// A keyed MAC over the exact bytes of every record of one environment, in key order.
    /// Deleting, adding or rolling back any record changes it.
    fn env_digest(
        &self,
        secrets: &impl ReadableTable<[u8; 48], &'static [u8]>,
        env_id: &EnvId,
    ) -> Result<[u8; 32]> {
        let mut mac = Mac::new(&self.keys.digest, 32)?;
        mac.field(b"environment")?;
        mac.field(env_id)?;
        for entry in secrets.range(env_range(env_id))? {
            let (k, v) = entry?;
            mac.field(&k.value())?;
            mac.field(v.value())?;
        }
        mac.finish()
    }

    fn verify_env(
        &self,
        secrets: &impl ReadableTable<[u8; 48], &'static [u8]>,
        digests: &impl ReadableTable<[u8; 16], [u8; 32]>,
        env_id: &EnvId,
        project: &str,
        env: &str,
    ) -> Result<()> {
        let stored = digests.get(env_id)?.map(|d| d.value());
        let actual = self.env_digest(secrets, env_id)?;
        match stored {
            Some(s) if crypto::same(&s, &actual) => Ok(()),
            _ => Err(VaultError::DigestMismatch {
                project: project.into(),
                env: env.into(),
            }),
        }
    }

    /// Opens the tables a change to one environment needs, verifying it first so that a
    /// tampered state is never re-blessed by a new digest.
    fn write_env<T>(
        &self,
        project: &str,
        env: &str,
        f: impl FnOnce(&mut redb::Table<[u8; 48], &'static [u8]>, &EnvId) -> Result<T>,
    ) -> Result<T> {
        self.write(|txn| {
            let env_id = self.require_env(
                &txn.open_table(ENVIRONMENTS)?,
                &txn.open_table(DIGESTS)?,
                &txn.open_table(META)?,
                project,
                env,
            )?;
            let mut secrets = txn.open_table(SECRETS)?;
            let mut digests = txn.open_table(DIGESTS)?;
            self.verify_env(&secrets, &digests, &env_id, project, env)?;
            let out = f(&mut secrets, &env_id)?;
            digests.insert(env_id, self.env_digest(&secrets, &env_id)?)?;
            drop((secrets, digests));
            self.update_catalog_digest(txn)?;
            Ok(out)
        })
    }

    /// Reads one environment after verifying its catalog entry and digest.
    fn read_env<T>(
        &self,
        project: &str,
        env: &str,
        f: impl FnOnce(&redb::ReadOnlyTable<[u8; 48], &'static [u8]>, &EnvId) -> Result<T>,
    ) -> Result<T> {
        self.read(|txn| {
            let env_id = self.require_env(
                &txn.open_table(ENVIRONMENTS)?,
                &txn.open_table(DIGESTS)?,
                &txn.open_table(META)?,
                project,
                env,
            )?;
            let secrets = txn.open_table(SECRETS)?;
            self.verify_env(&secrets, &txn.open_table(DIGESTS)?, &env_id, project, env)?;
            f(&secrets, &env_id)
        })
    }

    // ----- secrets

    /// Every secret of an environment, without values, sorted by key.
    pub fn list(&self, project: &str, env: &str) -> Result<Vec<SecretInfo>> {
        let mut out = self.read_env(project, env, |secrets, env_id| {
            let mut out = Vec::new();
            for entry in secrets.range(env_range(env_id))? {
                let (k, v) = entry?;
                let record: SecretRecord = decode(v.value(), "secret record")?;
                out.push(info(self.open_meta(&k.value(), &record, (project, env))?));
            }
            Ok(out)
        })?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// One value, byte for byte. Recorded in the audit log.
    pub fn get(&self, project: &str, env: &str, key: &str) -> Result<SecretValue> {
        let value = self.read_env(project, env, |secrets, env_id| {
            let id = self.secret_id(env_id, project, env, key)?;
            let record = secrets
                .get(id)?
                .ok_or_else(|| not_found(project, env, key))?;
            let record: SecretRecord = decode(record.value(), "secret record")?;
            self.open_value(&id, &record, (project, env), key)
        })?;
        self.audit("get", project, env, key);
        Ok(value)
    }

    /// Every secret with its value, sorted by key: for `run` and `export`. Audited once.
    pub fn reveal_all(
        &self,
        project: &str,
        env: &str,
        action: &str,
    ) -> Result<Vec<(SecretInfo, SecretValue)>> {
        let mut out = self.read_env(project, env, |secrets, env_id| {
            let mut out = Vec::new();
            for entry in secrets.range(env_range(env_id))? {
                let (k, v) = entry?;
                let id = k.value();
                let record: SecretRecord = decode(v.value(), "secret record")?;
                let meta = info(self.open_meta(&id, &record, (project, env))?);
                let value = self.open_value(&id, &record, (project, env), &meta.key)?;
                out.push((meta, value));
            }
            Ok(out)
        })?;
        out.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        let keys: Vec<&str> = out.iter().map(|(i, _)| i.key.as_str()).collect();
        self.audit(action, project, env, &keys.join(","));
        Ok(out)
    }

    pub fn add(&self, project: &str, env: &str, secret: NewSecret) -> Result<SecretInfo> {
        validate::secret_key(&secret.key)?;
        validate::value(&secret.value)?;
        validate::description(&secret.description)?;
        let at = now();
        let meta = SecretMeta::V1 {
            kind: secret
                .kind
                .unwrap_or_else(|| SecretType::detect(&secret.key, &secret.value)),
            key: secret.key.clone(),
            description: secret.description,
            created: at,
            updated: at,
            value_changed: at,
            value_len: secret.value.len() as u32,
        };
        self.write_env(project, env, |secrets, env_id| {
            let id = self.secret_id(env_id, project, env, &secret.key)?;
            if secrets.get(id)?.is_some() {
                return Err(VaultError::Duplicate {
                    key: secret.key.clone(),
                    project: project.into(),
                    env: env.into(),
                });
            }
            self.put(secrets, &id, &meta, Some(&secret.value), None)
        })?;
        self.audit("add", project, env, &secret.key);
        Ok(info(meta))
    }

    /// Seals and stores a record; `keep_value` reuses the stored value ciphertext.
    fn put(
        &self,
        secrets: &mut redb::Table<[u8; 48], &'static [u8]>,
        id: &SecretId,
        meta: &SecretMeta,
        value: Option<&[u8]>,
        keep_value: Option<([u8; 24], Vec<u8>)>,
    ) -> Result<()> {
        let (meta_nonce, meta_ct) = self.seal_meta(id, meta)?;
        let (value_nonce, value_ct) = match (value, keep_value) {
            (Some(v), _) => self.seal_value(id, v)?,
            (None, Some(kept)) => kept,
            (None, None) => return Err(VaultError::ValueRequired),
        };
        let record = SecretRecord::V1 {
            meta_nonce,
            meta: meta_ct,
            value_nonce,
            value: value_ct,
        };
        secrets.insert(*id, encode(&record)?.as_slice())?;
        Ok(())
    }

    /// The edit dialog's rules: the key never changes, an empty value keeps the current
    /// one, and saving needs a new value or a changed description or type.
    pub fn edit(
        &self,
        project: &str,
        env: &str,
        key: &str,
        edit: SecretEdit,
    ) -> Result<SecretInfo> {
        if let Some(v) = &edit.value {
            validate::value(v)?;
        }
        if let Some(d) = &edit.description {
            validate::description(d)?;
        }
        let updated = self.write_env(project, env, |secrets, env_id| {
            let id = self.secret_id(env_id, project, env, key)?;
            let record: SecretRecord = match secrets.get(id)? {
                Some(r) => decode(r.value(), "secret record")?,
                None => return Err(not_found(project, env, key)),
            };
            let SecretMeta::V1 {
                key: stored_key,
                description,
                kind,
                created,
                value_changed,
                value_len,
                ..
            } = self.open_meta(&id, &record, (project, env))?;
            let new_description = edit.description.clone().filter(|d| *d != description);
            let new_kind = edit.kind.filter(|k| *k != kind);
            if edit.value.is_none() && new_description.is_none() && new_kind.is_none() {
                return Err(VaultError::NoChanges);
            }
            let at = now();
            let meta = SecretMeta::V1 {
                key: stored_key,
                description: new_description.unwrap_or(description),
                kind: new_kind.unwrap_or(kind),
                created,
                updated: at,
                value_changed: if edit.value.is_some() {
                    at
                } else {
                    value_changed
                },
                value_len: edit.value.as_ref().map_or(value_len, |v| v.len() as u32),
            };
            let SecretRecord::V1 {
                value_nonce, value, ..
            } = record;
            self.put(
                secrets,
                &id,
                &meta,
                edit.value.as_deref().map(|v| &v[..]),
                Some((value_nonce, value)),
            )?;
            Ok(info(meta))
        })?;
        self.audit(
            if edit.value.is_some() {
                "edit value"
            } else {
                "edit"
            },
            project,
            env,
            key,
        );
        Ok(updated)
    }

    /// Deleting is permanent.
    pub fn remove(&self, project: &str, env: &str, key: &str) -> Result<()> {
        self.write_env(project, env, |secrets, env_id| {
            let id = self.secret_id(env_id, project, env, key)?;
            match secrets.remove(id)? {
                Some(_) => Ok(()),
                None => Err(not_found(project, env, key)),
            }
        })?;
        self.audit("delete", project, env, key);
        Ok(())
    }

    /// Adds many secrets in one transaction: all or nothing. Existing keys are skipped
    /// unless `overwrite`; empty values are skipped (a value is required).
    pub fn import(
        &self,
        project: &str,
        env: &str,
        entries: Vec<(String, SecretValue)>,
        overwrite: bool,
    ) -> Result<ImportReport> {
        for (key, value) in &entries {
            validate::secret_key(key)?;
            if !value.is_empty() {
                validate::value(value)?;
            }
        }
        let at = now();
        let report = self.write_env(project, env, |secrets, env_id| {
            let mut report = ImportReport::default();
            for (key, value) in &entries {
                if value.is_empty() {
                    report.skipped_empty.push(key.clone());
                    continue;
                }
                let id = self.secret_id(env_id, project, env, key)?;
                let existing = match secrets.get(id)? {
                    Some(r) => Some(decode::<SecretRecord>(r.value(), "secret record")?),
                    None => None,
                };
                let meta = match existing {
                    Some(_) if !overwrite => {
                        report.skipped_existing.push(key.clone());
                        continue;
                    }
                    Some(record) => {
                        let SecretMeta::V1 {
                            description,
                            kind,
                            created,
                            ..
                        } = self.open_meta(&id, &record, (project, env))?;
                        report.updated.push(key.clone());
                        SecretMeta::V1 {
                            key: key.clone(),
                            description,
                            kind,
                            created,
                            updated: at,
                            value_changed: at,
                            value_len: value.len() as u32,
                        }
                    }
                    None => {
                        report.added.push(key.clone());
                        SecretMeta::V1 {
                            key: key.clone(),
                            description: String::new(),
                            kind: SecretType::detect(key, value),
                            created: at,
                            updated: at,
                            value_changed: at,
                            value_len: value.len() as u32,
                        }
                    }
                };
                self.put(secrets, &id, &meta, Some(value), None)?;
            }
            Ok(report)
        })?;
        let changed: Vec<&str> = report
            .added
            .iter()
            .chain(&report.updated)
            .map(String::as_str)
            .collect();
        self.audit("import", project, env, &changed.join(","));
        Ok(report)
    }

    // ----- projects and environments

    /// Every environment of every project, with its number of secrets.
    pub fn environments(&self) -> Result<Vec<EnvironmentInfo>> {
        let mut out = self.read(|txn| {
            let catalog = self.catalog(
                &txn.open_table(ENVIRONMENTS)?,
                &txn.open_table(DIGESTS)?,
                &txn.open_table(META)?,
            )?;
            let secrets = txn.open_table(SECRETS)?;
            let mut out = Vec::new();
            for (id, project, name, created) in catalog {
                let mut count = 0;
                for entry in secrets.range(env_range(&id))? {
                    entry?;
                    count += 1;
                }
                out.push(EnvironmentInfo {
                    project,
                    name,
                    created,
                    secrets: count,
                });
            }
            Ok(out)
        })?;
        out.sort_by(|a, b| (&a.project, env_rank(&a.name)).cmp(&(&b.project, env_rank(&b.name))));
        Ok(out)
    }

    /// Projects, each with its environments in display order.
    pub fn projects(&self) -> Result<BTreeMap<String, Vec<EnvironmentInfo>>> {
        let mut map: BTreeMap<String, Vec<EnvironmentInfo>> = BTreeMap::new();
        for env in self.environments()? {
            map.entry(env.project.clone()).or_default().push(env);
        }
        Ok(map)
    }

    pub fn add_env(&self, project: &str, env: &str) -> Result<()> {
        validate::name("project", project)?;
        validate::name("environment", env)?;
        self.write(|txn| {
            let catalog = self.catalog(
                &txn.open_table(ENVIRONMENTS)?,
                &txn.open_table(DIGESTS)?,
                &txn.open_table(META)?,
            )?;
            if catalog.iter().any(|(_, p, n, _)| p == project && n == env) {
                return Err(VaultError::EnvExists {
                    project: project.into(),
                    env: env.into(),
                });
            }
            self.insert_env(txn, project, env)?;
            self.update_catalog_digest(txn)
        })?;
        self.audit("env add", project, env, "");
        Ok(())
    }

    /// Creates a project with the three usual environments.
    pub fn add_project(&self, project: &str) -> Result<()> {
        validate::name("project", project)?;
        self.write(|txn| {
            let catalog = self.catalog(
                &txn.open_table(ENVIRONMENTS)?,
                &txn.open_table(DIGESTS)?,
                &txn.open_table(META)?,
            )?;
            if catalog.iter().any(|(_, p, _, _)| p == project) {
                return Err(VaultError::InvalidName {
                    what: "project",
                    name: project.into(),
                    reason: "a project with this name already exists".into(),
                });
            }
            for env in DEFAULT_ENVIRONMENTS {
                self.insert_env(txn, project, env)?;
            }
            self.update_catalog_digest(txn)
        })?;
        self.audit("project add", project, "", "");
        Ok(())
    }

    /// Removes an environment; one holding secrets needs `force`. The last environment of
    /// a project stays, so a project never silently disappears.
    pub fn remove_env(&self, project: &str, env: &str, force: bool) -> Result<usize> {
        let removed = self.write(|txn| {
            let env_id = self.require_env(
                &txn.open_table(ENVIRONMENTS)?,
                &txn.open_table(DIGESTS)?,
                &txn.open_table(META)?,
                project,
                env,
            )?;
            let siblings = self
                .catalog(
                    &txn.open_table(ENVIRONMENTS)?,
                    &txn.open_table(DIGESTS)?,
                    &txn.open_table(META)?,
                )?
                .into_iter()
                .filter(|(_, p, _, _)| p == project)
                .count();
            if siblings <= 1 {
                return Err(VaultError::LastEnv {
                    project: project.into(),
                    env: env.into(),
                });
            }
            let mut secrets = txn.open_table(SECRETS)?;
            let ids: Vec<SecretId> = secrets
                .range(env_range(&env_id))?
                .map(|e| e.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            if !ids.is_empty() && !force {
                return Err(VaultError::EnvNotEmpty {
                    project: project.into(),
                    env: env.into(),
                    count: ids.len(),
                });
            }
            for id in &ids {
                secrets.remove(id)?;
            }
            txn.open_table(DIGESTS)?.remove(env_id)?;
            txn.open_table(ENVIRONMENTS)?.remove(env_id)?;
            self.update_catalog_digest(txn)?;
            Ok(ids.len())
        })?;
        self.audit("env rm", project, env, "");
        Ok(removed)
    }

    // ----- key slots

    /// Writes a new keyfile and adds a slot for it. No record is re-encrypted.
    pub fn add_keyfile(&self, keyfile_path: &Path) -> Result<()> {
        self.add_slot(NewCredential::Keyfile(keyfile_path.to_path_buf()), false)?;
        self.audit("keyfile add", "", "", "");
        Ok(())
    }

    /// Replaces the passphrase slot(s) with one for `new` (adds one to a keyfile-only
    /// vault). Only the data key is rewrapped.
    pub fn change_passphrase(&self, new: SecretString, kdf: KdfParams) -> Result<()> {
        self.add_slot(NewCredential::Passphrase(new, kdf), true)?;
        // One more commit so redb reuses the page that still held the old wrapped key.
        self.write(|txn| {
            txn.open_table(META)?;
            Ok(())
        })?;
        self.audit("passwd", "", "", "");
        Ok(())
    }

    fn add_slot(&self, credential: NewCredential, replace_passphrase: bool) -> Result<()> {
        // Only a keyfile this call writes may be cleaned up: a path that already exists
        // (refused below) belongs to the user and must survive the error.
        let keyfile_path = match &credential {
            NewCredential::Keyfile(p) if std::fs::symlink_metadata(p).is_err() => Some(p.clone()),
            _ => None,
        };
        let result = self.write(|txn| {
            let header_bytes = txn
                .open_table(META)?
                .get(HEADER_KEY)?
                .map(|h| h.value().to_vec())
                .ok_or_else(|| VaultError::NotAVault(self.path.clone()))?;
            let mut slots = txn.open_table(KEYSLOTS)?;
            let mut next = 0;
            let mut stale = Vec::new();
            for entry in slots.iter()? {
                let (k, v) = entry?;
                next = next.max(k.value() + 1);
                let Slot::V1 { kind, .. } = decode(v.value(), "key slot")?;
                if replace_passphrase && matches!(kind, SlotKind::Passphrase { .. }) {
                    stale.push(k.value());
                }
            }
            let slot = make_slot(
                &credential,
                self.keys.dek(),
                &self.keys.vault_id,
                &header_bytes,
                next,
            )?;
            slots.insert(next, encode(&slot)?.as_slice())?;
            for id in stale {
                slots.remove(id)?;
            }
            Ok(())
        });
        if result.is_err()
            && let Some(p) = keyfile_path.filter(|p| p.exists())
        {
            let _ = std::fs::remove_file(p);
        }
        result
    }

    /// The audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<audit::AuditLine>> {
        audit::read(&self.path, &self.keys)
    }
}

fn begin_write(db: &redb::Database) -> Result<WriteTransaction> {
    let mut txn = db.begin_write()?;
    txn.set_durability(redb::Durability::Immediate)
        .map_err(|e| VaultError::Storage(e.to_string()))?;
    txn.set_two_phase_commit(true);
    txn.set_quick_repair(true);
    Ok(txn)
}

fn make_slot(
    credential: &NewCredential,
    dek: &[u8; 32],
    vault_id: &[u8; 16],
    header_bytes: &[u8],
    id: u32,
) -> Result<Slot> {
    if let NewCredential::Passphrase(pass, _) = credential {
        validate::new_passphrase(pass.expose_secret())?;
    }
    let salt: [u8; 16] = crypto::random_bytes()?;
    let (kind, kek) = match credential {
        NewCredential::Passphrase(pass, kdf) => (
            SlotKind::Passphrase { salt, kdf: *kdf },
            crypto::passphrase_kek(pass.expose_secret().as_bytes(), &salt, kdf, vault_id)?,
        ),
        NewCredential::Keyfile(path) => {
            let secret = keyfile::generate(path)?;
            (
                SlotKind::Keyfile { salt },
                crypto::keyfile_kek(&secret, &salt)?,
            )
        }
    };
    let (nonce, wrapped_dek) = crypto::seal(&kek, dek, &slot_ad(header_bytes, id, &kind)?)?;
    Ok(Slot::V1 {
        kind,
        nonce,
        wrapped_dek,
    })
}

/// A slot is bound to the whole header: editing any header byte makes every slot fail.
fn slot_ad(header_bytes: &[u8], id: u32, kind: &SlotKind) -> Result<Vec<u8>> {
    let mut ad = b"tresor/v1/keyslot\0".to_vec();
    ad.extend_from_slice(&(header_bytes.len() as u64).to_le_bytes());
    ad.extend_from_slice(header_bytes);
    ad.extend_from_slice(&id.to_le_bytes());
    ad.extend_from_slice(&encode(kind)?);
    Ok(ad)
}

type HeaderAndSlots = (Vec<u8>, Header, Vec<(u32, Slot)>);

fn read_header_and_slots(path: &Path) -> Result<HeaderAndSlots> {
    let db = store::open_read(path)?;
    let txn = store::read_txn(&db)?;
    store::fenced(|| {
        let not_a_vault = || VaultError::NotAVault(path.to_path_buf());
        let meta = txn.open_table(META).map_err(|_| not_a_vault())?;
        let header_bytes = meta
            .get(HEADER_KEY)?
            .map(|h| h.value().to_vec())
            .ok_or_else(not_a_vault)?;
        let header: Header = decode(&header_bytes, "vault header")?;
        let Header::V1 {
            magic, min_reader, ..
        } = &header;
        if *magic != MAGIC {
            return Err(not_a_vault());
        }
        if *min_reader > FORMAT {
            return Err(VaultError::NewerFormat {
                found: *min_reader,
                supported: FORMAT,
            });
        }
        let mut slots = Vec::new();
        for entry in txn.open_table(KEYSLOTS)?.iter()? {
            let (k, v) = entry?;
            slots.push((k.value(), decode(v.value(), "key slot")?));
        }
        Ok((header_bytes, header, slots))
    })
}

fn env_range(env_id: &EnvId) -> std::ops::RangeInclusive<[u8; 48]> {
    let mut lo = [0u8; 48];
    let mut hi = [0xffu8; 48];
    lo[..16].copy_from_slice(env_id);
    hi[..16].copy_from_slice(env_id);
    lo..=hi
}

/// development, staging, production first, in that order; others after, by name.
fn env_rank(name: &str) -> (usize, &str) {
    let rank = DEFAULT_ENVIRONMENTS
        .iter()
        .position(|e| *e == name)
        .unwrap_or(DEFAULT_ENVIRONMENTS.len());
    (rank, name)
}

fn info(meta: SecretMeta) -> SecretInfo {
    let SecretMeta::V1 {
        key,
        description,
        kind,
        created,
        updated,
        value_changed,
        value_len,
    } = meta;
    SecretInfo {
        key,
        description,
        kind,
        created,
        updated,
        value_changed,
        value_len: value_len as usize,
    }
}

fn not_found(project: &str, env: &str, key: &str) -> VaultError {
    VaultError::NotFound {
        key: validate::printable(key),
        project: project.into(),
        env: env.into(),
    }
}

fn tampered((project, env): (&str, &str), detail: &str) -> VaultError {
    VaultError::TamperedRecord {
        project: project.into(),
        env: env.into(),
        detail: detail.into(),
    }
}

/// The vault file's location from `--vault`/`TRESOR_VAULT`, else the platform default.
pub fn resolve_path(explicit: Option<&Path>) -> Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => store::default_path().ok_or_else(|| {
            VaultError::Storage("no home directory to put the vault in; pass --vault PATH".into())
        }),
    }
}
