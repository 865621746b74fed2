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

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use secrecy::{ExposeSecret, SecretString};

pub use error::{Result, VaultError};
pub use model::{EnvironmentInfo, SecretInfo, SecretType, SecretValue, Via};

use audit::AuditEvent;
use crypto::{KdfParams, Keys, Mac, slot_wrap};
use records::{
    EnvMeta, EnvRecord, FORMAT, Header, MAGIC, OLDEST_FORMAT, SecretMeta, SecretRecord, Slot,
    SlotKind, decode, encode,
};
use store::{
    AUDIT_KEYS_KEY, DIGESTS, ENVIRONMENTS, HEADER_KEY, KEYSLOTS, LEGACY_CATALOG_DIGEST_KEY, META,
    SECRETS, VAULT_DIGEST_KEY,
};

/// The catalog of a read or write transaction, with the vault digest recomputed.
macro_rules! catalog_in {
    ($vault:expr, $txn:expr) => {{
        let meta = $txn.open_table(META)?;
        $vault.catalog_entries(
            &$txn.open_table(ENVIRONMENTS)?,
            &$txn.open_table(DIGESTS)?,
            &meta,
            &$txn.open_table(KEYSLOTS)?,
        )
    }};
}

/// The environments of a read or write transaction, verified against the vault digest.
macro_rules! verified_catalog {
    ($vault:expr, $txn:expr) => {{
        let meta = $txn.open_table(META)?;
        let catalog = $vault.catalog_entries(
            &$txn.open_table(ENVIRONMENTS)?,
            &$txn.open_table(DIGESTS)?,
            &meta,
            &$txn.open_table(KEYSLOTS)?,
        )?;
        let ok = $vault.catalog_verified(&catalog, &meta)?;
        $vault.verified_catalog(catalog, ok)
    }};
}

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
    /// With overwrite: keys whose value was already exactly this (left untouched).
    pub unchanged: Vec<String>,
}

/// An unlocked vault.
pub struct Vault {
    path: PathBuf,
    keys: Keys,
    via: Via,
    /// The key slot that unlocked this handle (or was made with the vault), for the audit log.
    slot: u32,
    /// The vault's format (see `records::FORMAT`): 1 until `upgrade`/`rekey`.
    format: u16,
    /// The wrapping key of that slot: what lets `upgrade` turn a format-1 slot into a
    /// format-2 one without asking for the credential again.
    slot_kek: Option<crypto::Key32>,
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

/// One environment as the environments table lists it, once its record decrypted.
#[derive(Debug, Clone)]
struct EnvEntry {
    id: EnvId,
    project: String,
    name: String,
    created: i64,
}

/// The environments as the environments table lists them, with the digests over them.
struct Catalog {
    entries: Vec<EnvEntry>,
    vault_digest: [u8; 32],
    legacy_digest: [u8; 32],
}
type EnvId = [u8; 16];

/// A key slot as `tresor keyfile list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub id: u32,
    pub kind: SlotKindName,
    /// When it was added; `None` for a slot made before format 2 recorded it.
    pub added: Option<i64>,
    /// 1 for a slot from before format 2 (cannot be rewrapped without its credential).
    pub format: u16,
    /// The slot this handle was unlocked with.
    pub current: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKindName {
    Passphrase,
    Keyfile,
}

impl SlotKindName {
    pub fn label(self) -> &'static str {
        match self {
            SlotKindName::Passphrase => "passphrase",
            SlotKindName::Keyfile => "keyfile",
        }
    }
}

/// What `rekey` (and `upgrade`, `passwd --rekey`, `keyfile rm --rekey`) changes besides
/// the data key.
#[derive(Default)]
pub struct RekeyPlan {
    /// Slots to remove in the same transaction.
    pub remove: Vec<u32>,
    /// Replaces every passphrase slot with one for this passphrase.
    pub new_passphrase: Option<(SecretString, KdfParams)>,
    /// Credentials for format-1 slots other than the one this handle was unlocked with.
    pub other_credentials: Vec<Credential>,
    /// Drops format-1 slots that no given credential opens instead of refusing.
    pub drop_unmatched: bool,
}

/// What a rekey did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekeyReport {
    /// Secret values re-encrypted under the new data key.
    pub values: usize,
    pub environments: usize,
    /// Slots that open the vault afterwards.
    pub slots: Vec<u32>,
    /// Slots removed (asked for, or format-1 slots without a credential).
    pub removed: Vec<u32>,
    /// The vault moved from format 1 to format 2.
    pub upgraded: bool,
}

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
            // A format-1 build would write digests that leave the key slots out.
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
            format: FORMAT,
            slot_kek: None,
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
        let (header_bytes, header, slots, audit_keys) = read_header_and_slots(path)?;
        let Header::V1 {
            vault_id,
            dek_check,
            format,
            ..
        } = header;
        let keyfile_secret = match credential {
            Credential::Keyfile(p) => Some(keyfile::read(p)?),
            Credential::Passphrase(_) => None,
        };
        for (id, slot) in &slots {
            // A format-2 vault never holds a format-1 slot: one found there was put back
            // from an older copy, and must not open anything.
            if format >= 2 && matches!(slot, Slot::V1 { .. }) {
                continue;
            }
            let Some(kek) = slot_kek(slot.kind(), credential, keyfile_secret.as_ref(), &vault_id)?
            else {
                continue;
            };
            let Ok(dek) = open_slot(slot, &kek, &header_bytes, *id) else {
                continue;
            };
            if !crypto::same(&Keys::dek_check(&dek, &vault_id)?, &dek_check) {
                return Err(VaultError::Corrupt(
                    "a key slot yields a different data key than the header records".into(),
                ));
            }
            let mut keys = Keys::derive(dek, vault_id)?;
            if let Some(blob) = &audit_keys {
                keys.audit_history = open_audit_keys(&keys, blob)?;
            }
            return Ok(Vault {
                path: path.to_path_buf(),
                keys,
                via: Via::Cli,
                slot: *id,
                format,
                slot_kek: Some(kek),
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

    /// The vault's format: 1 for a vault not yet upgraded (see `upgrade`).
    pub fn format(&self) -> u16 {
        self.format
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
        ad.extend_from_slice(&self.format.to_le_bytes());
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
    /// the new one, and a returned `Ok` is on disk. A format-1 vault is never changed in
    /// place: it is upgraded first (see [`Vault::upgrade_before_write`]).
    fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        if self.format < FORMAT {
            return Err(VaultError::UpgradeRequired { ids: Vec::new() });
        }
        self.write_any_format(f)
    }

    fn write_any_format<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
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
            slot: Some(self.slot),
        };
        if let Err(e) = audit::append(&self.path, &self.keys, event) {
            *self.audit_failure.borrow_mut() = Some(e.to_string());
        }
    }

    /// Why the audit log missed an entry since the last call, if it did.
    pub fn take_audit_failure(&self) -> Option<String> {
        self.audit_failure.borrow_mut().take()
    }

    // ----- environments and the vault digest

    fn insert_env(&self, txn: &WriteTransaction, project: &str, env: &str) -> Result<EnvId> {
        self.insert_env_created(txn, project, env, now())
    }

    fn insert_env_created(
        &self,
        txn: &WriteTransaction,
        project: &str,
        env: &str,
        created: i64,
    ) -> Result<EnvId> {
        let id = self.env_id(project, env)?;
        let meta = EnvMeta::V1 {
            project: project.into(),
            name: env.into(),
            created,
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
    /// digest, so rolling one environment back (records and digest row together) breaks
    /// it. From format 2 it also covers the header and every key slot, so a slot added,
    /// put back or removed outside tresor breaks it too. Only a rollback of the whole
    /// file to an older copy stays consistent. The second MAC is the legacy catalog
    /// digest (environment records only), accepted only on format-1 vaults that predate
    /// the vault digest.
    fn catalog_entries(
        &self,
        envs: &impl ReadableTable<[u8; 16], &'static [u8]>,
        digests: &impl ReadableTable<[u8; 16], [u8; 32]>,
        meta: &impl ReadableTable<&'static str, &'static [u8]>,
        slots: &impl ReadableTable<u32, &'static [u8]>,
    ) -> Result<Catalog> {
        let mut mac = Mac::new(&self.keys.digest, 32)?;
        if self.format >= 2 {
            mac.field(b"vault/v2")?;
            let header = meta
                .get(HEADER_KEY)?
                .ok_or_else(|| VaultError::NotAVault(self.path.clone()))?;
            mac.field(header.value())?;
            mac.field(&slots.len()?.to_le_bytes())?;
            for entry in slots.iter()? {
                let (k, v) = entry?;
                mac.field(&k.value().to_le_bytes())?;
                mac.field(v.value())?;
            }
            match meta.get(AUDIT_KEYS_KEY)? {
                Some(blob) => mac.field(blob.value())?,
                None => mac.field(b"")?,
            }
            mac.field(&envs.len()?.to_le_bytes())?;
        } else {
            mac.field(b"vault")?;
        }
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
            entries.push(EnvEntry {
                id,
                project,
                name,
                created,
            });
        }
        Ok(Catalog {
            entries,
            vault_digest: mac.finish()?,
            legacy_digest: legacy.finish()?,
        })
    }

    /// Whether the stored digest vouches for this catalog. A format-2 vault has no
    /// fallback: its header (bound to every key slot) says the vault digest must be there.
    fn catalog_verified(
        &self,
        catalog: &Catalog,
        meta: &impl ReadableTable<&'static str, &'static [u8]>,
    ) -> Result<bool> {
        if let Some(stored) = meta.get(VAULT_DIGEST_KEY)? {
            return Ok(crypto::same(stored.value(), &catalog.vault_digest));
        }
        if self.format >= 2 {
            return Ok(false);
        }
        Ok(meta
            .get(LEGACY_CATALOG_DIGEST_KEY)?
            .is_some_and(|stored| crypto::same(stored.value(), &catalog.legacy_digest)))
    }

    /// Recomputes the vault digest; every write ends with this. It also migrates a vault
    /// that still has the legacy catalog digest: once the vault digest is written, the
    /// legacy one is removed.
    fn update_catalog_digest(&self, txn: &WriteTransaction) -> Result<()> {
        let catalog = catalog_in!(self, txn)?;
        let mut meta = txn.open_table(META)?;
        meta.insert(VAULT_DIGEST_KEY, catalog.vault_digest.as_slice())?;
        meta.remove(LEGACY_CATALOG_DIGEST_KEY)?;
        Ok(())
    }

    /// Every environment of the vault, verified against the vault digest.
    fn verified_catalog(&self, catalog: Catalog, meta_ok: bool) -> Result<Vec<EnvEntry>> {
        if meta_ok {
            Ok(catalog.entries)
        } else {
            Err(VaultError::CatalogMismatch)
        }
    }

    /// Finds an environment in a verified catalog. A missing project is named as such.
    fn find_env(&self, catalog: &[EnvEntry], project: &str, env: &str) -> Result<EnvId> {
        let id = self.env_id(project, env)?;
        if let Some(e) = catalog
            .iter()
            .find(|e| e.id == id && e.project == project && e.name == env)
        {
            return Ok(e.id);
        }
        if !catalog.iter().any(|e| e.project == project) {
            let mut projects: Vec<String> = catalog.iter().map(|e| e.project.clone()).collect();
            projects.sort();
            projects.dedup();
            return Err(VaultError::ProjectNotFound {
                project: project.into(),
                projects,
            });
        }
        Err(VaultError::EnvNotFound {
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
            let env_id = self.find_env(&verified_catalog!(self, txn)?, project, env)?;
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
            let env_id = self.find_env(&verified_catalog!(self, txn)?, project, env)?;
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

    /// Whether a stored value is exactly `candidate` (compared in constant time).
    fn same_value(
        &self,
        id: &SecretId,
        record: &SecretRecord,
        place: (&str, &str),
        key: &str,
        candidate: &[u8],
    ) -> Result<bool> {
        let current = self.open_value(id, record, place, key)?;
        Ok(current.len() == candidate.len() && crypto::same(&current, candidate))
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
            // The same bytes again are not a new value: the value's age (rotate
            // regularly) must not reset when nothing changed.
            let new_value = match edit.value.as_ref() {
                Some(v) if self.same_value(&id, &record, (project, env), key, v)? => None,
                other => other,
            };
            if new_value.is_none() && new_description.is_none() && new_kind.is_none() {
                return Err(VaultError::NoChanges);
            }
            let at = now();
            let meta = SecretMeta::V1 {
                key: stored_key,
                description: new_description.unwrap_or(description),
                kind: new_kind.unwrap_or(kind),
                created,
                updated: at,
                value_changed: if new_value.is_some() {
                    at
                } else {
                    value_changed
                },
                value_len: new_value.map_or(value_len, |v| v.len() as u32),
            };
            let SecretRecord::V1 {
                value_nonce, value, ..
            } = record;
            self.put(
                secrets,
                &id,
                &meta,
                new_value.map(|v| &v[..]),
                Some((value_nonce, value)),
            )?;
            Ok((info(meta), new_value.is_some()))
        })?;
        let (updated, value_changed) = updated;
        self.audit(
            if value_changed { "edit value" } else { "edit" },
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
                        if self.same_value(&id, &record, (project, env), key, value)? {
                            report.unchanged.push(key.clone());
                            continue;
                        }
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
            let catalog = verified_catalog!(self, txn)?;
            let secrets = txn.open_table(SECRETS)?;
            let mut out = Vec::new();
            for EnvEntry {
                id,
                project,
                name,
                created,
            } in catalog
            {
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
            let catalog = verified_catalog!(self, txn)?;
            if catalog
                .iter()
                .any(|e| e.project == project && e.name == env)
            {
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
            let catalog = verified_catalog!(self, txn)?;
            if catalog.iter().any(|e| e.project == project) {
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
            let env_id = self.find_env(&verified_catalog!(self, txn)?, project, env)?;
            let siblings = verified_catalog!(self, txn)?
                .into_iter()
                .filter(|e| e.project == project)
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
    pub fn add_keyfile(&self, keyfile_path: &Path) -> Result<u32> {
        let id = self.add_slot(NewCredential::Keyfile(keyfile_path.to_path_buf()), false)?;
        self.audit("keyfile add", "", "", &format!("slot {id}"));
        Ok(id)
    }

    /// Replaces the passphrase slot(s) with one for `new` (adds one to a keyfile-only
    /// vault). Only the data key is rewrapped: an older copy of the file still opens with
    /// the old passphrase and holds the same data key (`rekey` changes that).
    pub fn change_passphrase(&self, new: SecretString, kdf: KdfParams) -> Result<()> {
        let id = self.add_slot(NewCredential::Passphrase(new, kdf), true)?;
        // One more commit so redb reuses the page that still held the old wrapped key.
        self.write(|txn| {
            txn.open_table(META)?;
            Ok(())
        })?;
        self.audit("passwd", "", "", &format!("slot {id}"));
        Ok(())
    }

    fn add_slot(&self, credential: NewCredential, replace_passphrase: bool) -> Result<u32> {
        // Only a keyfile this call writes may be cleaned up: a path that already exists
        // (refused below) belongs to the user and must survive the error.
        let keyfile_path = match &credential {
            NewCredential::Keyfile(p) if std::fs::symlink_metadata(p).is_err() => Some(p.clone()),
            _ => None,
        };
        let result = self.write(|txn| {
            // Never bless a slot put in outside tresor with a new digest.
            verified_catalog!(self, txn)?;
            let header_bytes = self.header_bytes(&txn.open_table(META)?)?;
            let mut slots = txn.open_table(KEYSLOTS)?;
            let mut next = 0;
            let mut stale = Vec::new();
            for entry in slots.iter()? {
                let (k, v) = entry?;
                next = next.max(k.value() + 1);
                let slot: Slot = decode(v.value(), "key slot")?;
                if replace_passphrase && matches!(slot.kind(), SlotKind::Passphrase { .. }) {
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
            drop(slots);
            self.update_catalog_digest(txn)?;
            Ok(next)
        });
        if result.is_err()
            && let Some(p) = keyfile_path.filter(|p| p.exists())
        {
            let _ = std::fs::remove_file(p);
        }
        result
    }

    fn header_bytes(
        &self,
        meta: &impl ReadableTable<&'static str, &'static [u8]>,
    ) -> Result<Vec<u8>> {
        meta.get(HEADER_KEY)?
            .map(|h| h.value().to_vec())
            .ok_or_else(|| VaultError::NotAVault(self.path.clone()))
    }

    /// The key slots, verified against the vault digest (format 2).
    pub fn slots(&self) -> Result<Vec<SlotInfo>> {
        self.read(|txn| {
            verified_catalog!(self, txn)?;
            let mut out = Vec::new();
            for entry in txn.open_table(KEYSLOTS)?.iter()? {
                let (k, v) = entry?;
                let slot: Slot = decode(v.value(), "key slot")?;
                out.push(self.slot_info(k.value(), &slot));
            }
            Ok(out)
        })
    }

    fn slot_info(&self, id: u32, slot: &Slot) -> SlotInfo {
        let kind = match slot.kind() {
            SlotKind::Passphrase { .. } => SlotKindName::Passphrase,
            SlotKind::Keyfile { .. } => SlotKindName::Keyfile,
        };
        let (added, format) = match slot {
            Slot::V1 { .. } => (None, 1),
            Slot::V2 { added, .. } => (*added, 2),
        };
        SlotInfo {
            id,
            kind,
            added,
            format,
            current: id == self.slot,
        }
    }

    /// Removes a key slot; the last one stays. Its credential no longer opens this file,
    /// but it still opens older copies, whose data key is this file's until `rekey`.
    pub fn remove_slot(&self, id: u32) -> Result<SlotInfo> {
        let info = self.write(|txn| {
            verified_catalog!(self, txn)?;
            let mut slots = txn.open_table(KEYSLOTS)?;
            let slot: Slot = match slots.get(id)? {
                Some(v) => decode(v.value(), "key slot")?,
                None => return Err(VaultError::SlotNotFound { id }),
            };
            if slots.len()? <= 1 {
                return Err(VaultError::LastSlot { id });
            }
            slots.remove(id)?;
            drop(slots);
            self.update_catalog_digest(txn)?;
            Ok(self.slot_info(id, &slot))
        })?;
        self.audit("keyfile rm", "", "", &format!("slot {id}"));
        Ok(info)
    }

    /// A new random data key: every record re-encrypted and every remaining key slot
    /// rewrapped, in one transaction. Afterwards no removed slot, and no slot of an older
    /// copy of the file, opens anything written from now on. A format-1 vault becomes
    /// format 2 on the way (its slots need their credentials once: see [`RekeyPlan`]).
    pub fn rekey(&mut self, plan: RekeyPlan) -> Result<RekeyReport> {
        let mut other_secrets = Vec::new();
        for credential in &plan.other_credentials {
            other_secrets.push(match credential {
                Credential::Keyfile(p) => Some(keyfile::read(p)?),
                Credential::Passphrase(_) => None,
            });
        }
        let new_dek = crypto::random_key()?;
        let (report, keys, new_slot, audit_history) = self.write_any_format(|txn| {
            // Everything is verified and decrypted with the current keys first: a
            // tampered vault is refused, never re-encrypted into a "valid" one.
            let catalog = verified_catalog!(self, txn)?;
            let header_bytes = self.header_bytes(&txn.open_table(META)?)?;
            let Header::V1 {
                magic,
                vault_id,
                created,
                ..
            } = decode(&header_bytes, "vault header")?;
            let mut old_slots = Vec::new();
            for entry in txn.open_table(KEYSLOTS)?.iter()? {
                let (k, v) = entry?;
                old_slots.push((k.value(), decode::<Slot>(v.value(), "key slot")?));
            }
            for id in &plan.remove {
                if !old_slots.iter().any(|(i, _)| i == id) {
                    return Err(VaultError::SlotNotFound { id: *id });
                }
            }
            let mut plain = Vec::new();
            {
                let secrets = txn.open_table(SECRETS)?;
                let digests = txn.open_table(DIGESTS)?;
                for env in catalog {
                    self.verify_env(&secrets, &digests, &env.id, &env.project, &env.name)?;
                    let place = (env.project.as_str(), env.name.as_str());
                    let mut records = Vec::new();
                    for entry in secrets.range(env_range(&env.id))? {
                        let (k, v) = entry?;
                        let id = k.value();
                        let record: SecretRecord = decode(v.value(), "secret record")?;
                        let meta = self.open_meta(&id, &record, place)?;
                        let SecretMeta::V1 { key, .. } = &meta;
                        let value = self.open_value(&id, &record, place, key)?;
                        records.push((meta, value));
                    }
                    plain.push((env, records));
                }
            }

            let new_header = encode(&Header::V1 {
                magic,
                format: FORMAT,
                min_reader: FORMAT,
                vault_id,
                dek_check: Keys::dek_check(&new_dek, &vault_id)?,
                created,
            })?;
            let mut new_slots = Vec::new();
            let mut removed = Vec::new();
            let mut unmatched = Vec::new();
            for (id, slot) in &old_slots {
                let replaced = plan.new_passphrase.is_some()
                    && matches!(slot.kind(), SlotKind::Passphrase { .. });
                if plan.remove.contains(id) || replaced {
                    removed.push(*id);
                    continue;
                }
                let public = match slot {
                    Slot::V2 { public, .. } => Some(*public),
                    Slot::V1 { kind, .. } => {
                        let kek = match (&self.slot_kek, *id == self.slot) {
                            (Some(k), true) => Some(k.clone()),
                            _ => self.find_kek(
                                *id,
                                slot,
                                kind,
                                &plan.other_credentials,
                                &other_secrets,
                                &header_bytes,
                                &vault_id,
                            )?,
                        };
                        kek.map(|k| slot_wrap::public_key(&k)).transpose()?
                    }
                };
                let added = match slot {
                    Slot::V2 { added, .. } => *added,
                    Slot::V1 { .. } => None,
                };
                match public {
                    Some(public) => new_slots.push((
                        *id,
                        wrap_slot(
                            slot.kind().clone(),
                            public,
                            added,
                            &new_dek,
                            &new_header,
                            *id,
                        )?,
                    )),
                    None => unmatched.push(*id),
                }
            }
            if !unmatched.is_empty() {
                if !plan.drop_unmatched {
                    return Err(VaultError::SlotsNeedCredential { ids: unmatched });
                }
                removed.extend(unmatched);
            }
            let mut new_slot = None;
            if let Some((pass, kdf)) = &plan.new_passphrase {
                let next = old_slots.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
                let credential = NewCredential::Passphrase(pass.clone(), *kdf);
                new_slots.push((
                    next,
                    make_slot(&credential, &new_dek, &vault_id, &new_header, next)?,
                ));
                new_slot = Some(next);
            }
            if new_slots.is_empty() {
                return Err(VaultError::LastSlot { id: self.slot });
            }

            let rebuilt = Vault {
                path: self.path.clone(),
                keys: Keys::derive(new_dek.clone(), vault_id)?,
                via: self.via,
                slot: self.slot,
                format: FORMAT,
                slot_kek: None,
                audit_failure: Default::default(),
            };
            txn.open_table(ENVIRONMENTS)?.retain(|_, _| false)?;
            txn.open_table(SECRETS)?.retain(|_, _| false)?;
            txn.open_table(DIGESTS)?.retain(|_, _| false)?;
            let mut slots_table = txn.open_table(KEYSLOTS)?;
            slots_table.retain(|_, _| false)?;
            for (id, slot) in &new_slots {
                slots_table.insert(*id, encode(slot)?.as_slice())?;
            }
            drop(slots_table);
            let mut audit_keys: Vec<crypto::Key32> = self.keys.audit_history.clone();
            audit_keys.push(self.keys.audit.clone());
            let mut meta = txn.open_table(META)?;
            meta.insert(HEADER_KEY, new_header.as_slice())?;
            meta.insert(
                AUDIT_KEYS_KEY,
                seal_audit_keys(&rebuilt.keys, &audit_keys)?.as_slice(),
            )?;
            drop(meta);
            let mut values = 0;
            let environments = plain.len();
            for (env, records) in plain {
                let env_id =
                    rebuilt.insert_env_created(txn, &env.project, &env.name, env.created)?;
                let mut secrets = txn.open_table(SECRETS)?;
                for (meta, value) in records {
                    let SecretMeta::V1 { key, .. } = &meta;
                    let id = rebuilt.secret_id(&env_id, &env.project, &env.name, key)?;
                    rebuilt.put(&mut secrets, &id, &meta, Some(&value), None)?;
                    values += 1;
                }
                let digest = rebuilt.env_digest(&secrets, &env_id)?;
                drop(secrets);
                txn.open_table(DIGESTS)?.insert(env_id, digest)?;
            }
            rebuilt.update_catalog_digest(txn)?;
            let report = RekeyReport {
                values,
                environments,
                slots: new_slots.iter().map(|(i, _)| *i).collect(),
                removed,
                upgraded: self.format < FORMAT,
            };
            let Vault { keys, .. } = rebuilt;
            Ok((report, keys, new_slot, audit_keys))
        })?;
        self.keys = keys;
        self.keys.audit_history = audit_history;
        self.format = FORMAT;
        if let Some(id) = new_slot.filter(|_| !report.slots.contains(&self.slot)) {
            self.slot = id;
        }
        self.slot_kek = None;
        self.audit(
            if report.upgraded { "upgrade" } else { "rekey" },
            "",
            "",
            &format!("{} values", report.values),
        );
        Ok(report)
    }

    /// Upgrades a format-1 vault before its first change: a rekey, which needs every
    /// format-1 slot's credential. With only the slot this handle was unlocked with (what
    /// `init` makes) that happens on its own; with more, the user runs `tresor upgrade`.
    /// Until then the vault reads as before and refuses changes, so the downgrade to the
    /// older digests can never happen after a change.
    pub fn upgrade_before_write(&mut self) -> Result<Option<RekeyReport>> {
        if self.format >= FORMAT {
            return Ok(None);
        }
        match self.rekey(RekeyPlan::default()) {
            Ok(report) => Ok(Some(report)),
            Err(VaultError::SlotsNeedCredential { ids }) => {
                Err(VaultError::UpgradeRequired { ids })
            }
            Err(e) => Err(e),
        }
    }

    /// The wrapping key of a format-1 slot, from one of the credentials given for it.
    #[allow(clippy::too_many_arguments)]
    fn find_kek(
        &self,
        id: u32,
        slot: &Slot,
        kind: &SlotKind,
        credentials: &[Credential],
        secrets: &[Option<keyfile::KeyfileSecret>],
        header_bytes: &[u8],
        vault_id: &[u8; 16],
    ) -> Result<Option<crypto::Key32>> {
        for (credential, secret) in credentials.iter().zip(secrets) {
            if let Some(kek) = slot_kek(kind, credential, secret.as_ref(), vault_id)?
                && let Ok(dek) = open_slot(slot, &kek, header_bytes, id)
                && crypto::same(&dek[..], &self.keys.dek()[..])
            {
                return Ok(Some(kek));
            }
        }
        Ok(None)
    }

    /// When each key slot last unlocked the vault, from the audit log.
    pub fn slot_last_used(&self) -> Result<BTreeMap<u32, i64>> {
        Ok(audit::slot_last_used(&self.audit_log()?))
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
    let public = slot_wrap::public_key(&kek)?;
    wrap_slot(kind, public, Some(now()), dek, header_bytes, id)
}

/// A format-2 slot: the data key wrapped to the slot's public key, bound to the header.
fn wrap_slot(
    kind: SlotKind,
    public: [u8; 32],
    added: Option<i64>,
    dek: &[u8; 32],
    header_bytes: &[u8],
    id: u32,
) -> Result<Slot> {
    let (enc, wrapped_dek) = slot_wrap::wrap(&public, dek, &slot_ad(header_bytes, id, &kind)?)?;
    Ok(Slot::V2 {
        kind,
        added,
        public,
        enc,
        wrapped_dek,
    })
}

/// The wrapping key a credential gives for a slot, or `None` when the kinds differ.
/// Refuses a crafted passphrase slot's Argon2 settings before any work.
fn slot_kek(
    kind: &SlotKind,
    credential: &Credential,
    keyfile_secret: Option<&keyfile::KeyfileSecret>,
    vault_id: &[u8; 16],
) -> Result<Option<crypto::Key32>> {
    Ok(match (kind, credential, keyfile_secret) {
        (SlotKind::Passphrase { salt, kdf }, Credential::Passphrase(pass), _) => Some(
            crypto::passphrase_kek(pass.expose_secret().as_bytes(), salt, kdf, vault_id)?,
        ),
        (SlotKind::Keyfile { salt }, Credential::Keyfile(_), Some(secret)) => {
            Some(crypto::keyfile_kek(secret, salt)?)
        }
        _ => None,
    })
}

/// The data key inside a slot, given the slot's wrapping key.
fn open_slot(
    slot: &Slot,
    kek: &crypto::Key32,
    header_bytes: &[u8],
    id: u32,
) -> Result<crypto::Key32> {
    let ad = slot_ad(header_bytes, id, slot.kind())?;
    match slot {
        Slot::V1 {
            nonce, wrapped_dek, ..
        } => {
            // Exactly a 32-byte key plus tag: anything else is not ours (partitioning oracles).
            if wrapped_dek.len() != crypto::KEY_LEN + crypto::TAG_LEN {
                return Err(VaultError::Crypto);
            }
            let plain = crypto::open(kek, nonce, wrapped_dek, &ad)?;
            let mut dek = zeroize::Zeroizing::new([0u8; crypto::KEY_LEN]);
            dek.copy_from_slice(&plain);
            Ok(dek)
        }
        Slot::V2 {
            enc, wrapped_dek, ..
        } => slot_wrap::unwrap(kek, enc, wrapped_dek, &ad),
    }
}

const AUDIT_KEYS_AD: &[u8] = b"tresor/v2/audit-keys\0";

/// The earlier audit keys, sealed with the current metadata key.
fn seal_audit_keys(keys: &Keys, history: &[crypto::Key32]) -> Result<Vec<u8>> {
    let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(history.len() * 32));
    for k in history {
        plain.extend_from_slice(&k[..]);
    }
    let mut ad = AUDIT_KEYS_AD.to_vec();
    ad.extend_from_slice(&keys.vault_id);
    let (nonce, sealed) = crypto::seal(&keys.meta, &plain, &ad)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open_audit_keys(keys: &Keys, blob: &[u8]) -> Result<Vec<crypto::Key32>> {
    let broken = || VaultError::Corrupt("the audit log's earlier keys do not decrypt".into());
    if blob.len() < crypto::NONCE_LEN {
        return Err(broken());
    }
    let (nonce, sealed) = blob.split_at(crypto::NONCE_LEN);
    let nonce: [u8; crypto::NONCE_LEN] = nonce.try_into().map_err(|_| broken())?;
    let mut ad = AUDIT_KEYS_AD.to_vec();
    ad.extend_from_slice(&keys.vault_id);
    let plain = crypto::open(&keys.meta, &nonce, sealed, &ad).map_err(|_| broken())?;
    if plain.len() % 32 != 0 {
        return Err(broken());
    }
    Ok(plain
        .chunks(32)
        .map(|c| {
            let mut k = zeroize::Zeroizing::new([0u8; 32]);
            k.copy_from_slice(c);
            k
        })
        .collect())
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

type HeaderAndSlots = (Vec<u8>, Header, Vec<(u32, Slot)>, Option<Vec<u8>>);

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
            magic,
            min_reader,
            format,
            ..
        } = &header;
        if *magic != MAGIC {
            return Err(not_a_vault());
        }
        if *min_reader > FORMAT || *format > FORMAT {
            return Err(VaultError::NewerFormat {
                found: (*min_reader).max(*format),
                supported: FORMAT,
            });
        }
        if *format < OLDEST_FORMAT {
            return Err(not_a_vault());
        }
        let mut slots = Vec::new();
        for entry in txn.open_table(KEYSLOTS)?.iter()? {
            let (k, v) = entry?;
            slots.push((k.value(), decode(v.value(), "key slot")?));
        }
        let audit_keys = meta.get(AUDIT_KEYS_KEY)?.map(|b| b.value().to_vec());
        Ok((header_bytes, header, slots, audit_keys))
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
