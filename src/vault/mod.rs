//! The vault: a project's secrets, encrypted in one file. Knows nothing of terminals.
//!
//! vault › project › environment › secret. A [`Vault`] is an unlocked handle: it holds the
//! data key's subkeys and a [`storage::Storage`], never an open transaction. Each
//! operation is one transaction: it verifies what it touches against the vault digest
//! (`integrity`), does its work and, for a change, seals the new state, so other
//! processes can use the vault between two operations.
//!
//! The parts, each in its own file: key slots (`slots`), a new data key (`rekey`), the
//! integrity tree and vault digest (`integrity`), environments (`environments`), secrets
//! (`secrets`), their earlier values (`history`), copies between environments (`copy`), the
//! import preview (`import_preview`), what this machine has seen of a vault (`high_water`),
//! and the reader of format-1 files (`legacy`).

pub mod audit;
mod compare;
mod copy;
pub mod crypto;
pub mod dotenv;
mod environments;
pub mod error;
pub mod generate;
pub mod health;
mod held;
pub mod high_water;
mod history;
pub mod import_preview;
mod integrity;
pub mod keyfile;
mod legacy;
pub mod maintenance;
pub mod model;
mod record_file;
pub mod records;
mod rekey;
mod secrets;
mod slots;
pub mod storage;
pub mod store;
pub mod team;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod validate;
pub mod wipe;

use std::path::{Path, PathBuf};

use secrecy::SecretString;

pub use copy::{CloneMode, CloneReport, CopyOutcome, CopyTarget};
pub use error::{Result, VaultError};
pub use held::{HeldKey, vault_id};
pub use history::{DEFAULT_DEPTH, MAX_DEPTH, VersionInfo};
pub use model::{EnvironmentInfo, SecretInfo, SecretType, SecretValue, Via};
pub use rekey::{RekeyPlan, RekeyReport};
pub use secrets::{ImportReport, NewSecret, SecretEdit};
pub use slots::{SlotInfo, SlotKindName, slot_kinds};

use audit::AuditEvent;
pub use compare::{CompareRow, Comparison, RowFilter, RowState};
use crypto::{KdfParams, Keys};
pub use environments::{DEFAULT_ROTATE_DAYS, MAX_ROTATE_DAYS};
use integrity::VaultState;
use records::{EnvMeta, EnvRecord, FORMAT, Header, MAGIC, decode, encode};
use storage::redb_file::RedbFile;
use storage::{ReadTxn, Storage, Table, WriteTxn};

pub const DEFAULT_PROJECT: &str = "default";
pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

/// What unlocks an existing vault.
pub enum Credential {
    Passphrase(SecretString),
    Keyfile(PathBuf),
    /// The data key itself, as the agent holds it (see `held`).
    Held(HeldKey),
}

/// What a new vault (or a new slot) is protected by.
pub enum NewCredential {
    Passphrase(SecretString, KdfParams),
    /// A keyfile to be written at this path.
    Keyfile(PathBuf),
}

/// An unlocked vault.
pub struct Vault {
    path: PathBuf,
    storage: Box<dyn Storage>,
    keys: Keys,
    via: Via,
    /// The key slot that unlocked this handle (or was made with the vault), for the audit log.
    slot: u32,
    /// The vault's format (see `records::FORMAT`): 1 until `upgrade`/`rekey`.
    format: u16,
    /// The wrapping key of that slot: what lets the upgrade turn a format-1 slot into a
    /// format-2 one without asking for the credential again.
    slot_kek: Option<crypto::Key32>,
    /// Why the last audit entry could not be written, until the caller takes it.
    audit_failure: std::cell::RefCell<Option<String>>,
    /// A team replica's connection from its last sync, kept so this command's audit
    /// entries reach the server in the same connection (`team::audit`).
    team_link: team::audit::Link,
    /// While an operation defers it (`one_mark`): the newest state read or written
    /// meanwhile, recorded as seen once, when the operation ends.
    mark_pending: std::cell::RefCell<Option<Option<SeenState>>>,
    /// A team replica's signing key, expanded and kept for its writes on this thread,
    /// goes when the handle does (the TUI locking).
    _signer: team::signing::ForgetSigner,
}

/// A state of the vault file: its write counter and digest.
type SeenState = (u64, [u8; 32]);

/// One record of the high-water mark for the transactions of one operation
/// (`Vault::one_mark`), made when this is dropped.
pub(crate) struct OneMark<'a> {
    vault: &'a Vault,
    /// Whether this one records the mark (an enclosing one does otherwise).
    outermost: bool,
}

impl Drop for OneMark<'_> {
    fn drop(&mut self) {
        if !self.outermost {
            return;
        }
        if let Some(Some((version, digest))) = self.vault.mark_pending.borrow_mut().take() {
            let mark = high_water::read(&self.vault.keys);
            let _ = high_water::record(&self.vault.keys, &mark, version, &digest, false);
        }
    }
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The table key of a secret: environment id (16) ‖ blind index of the key (32).
type SecretId = [u8; 48];
/// The blind id of (project, environment).
type EnvId = [u8; 16];

/// One environment of the verified catalog.
#[derive(Debug, Clone)]
struct EnvEntry {
    id: EnvId,
    project: String,
    name: String,
    created: i64,
    /// Its own rotation period in days, when one is set (`health` defaults to 90).
    rotate_days: Option<u16>,
    /// The root digest of its integrity tree, as the vault digest vouches for it.
    digest: [u8; 32],
}

/// Every environment, verified against the vault digest, with the state it was read in.
struct Catalog {
    entries: Vec<EnvEntry>,
    state: VaultState,
}

fn now() -> i64 {
    let now = chrono::Utc::now().timestamp();
    // Only test builds can be told another time (see `testing::set_clock_offset`).
    #[cfg(any(test, feature = "test-support"))]
    let now = now + testing::clock_offset();
    now
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
        let header_bytes = encode(&Header::V1 {
            magic: MAGIC,
            format: FORMAT,
            // A format-1 build would not know the tables or the digests.
            min_reader: FORMAT,
            vault_id,
            dek_check: Keys::dek_check(&dek, &vault_id)?,
            created: now(),
        })?;
        let keyfile_written = match &credential {
            NewCredential::Keyfile(p) => Some(p.clone()),
            NewCredential::Passphrase(..) => None,
        };
        let slot = slots::make_slot(&credential, &dek, &vault_id, &header_bytes, 0)?;
        let vault = Vault {
            path: path.to_path_buf(),
            storage: Box::new(RedbFile::new(path)),
            keys: Keys::derive(dek, vault_id)?,
            via,
            slot: 0,
            format: FORMAT,
            slot_kek: None,
            audit_failure: Default::default(),
            team_link: Default::default(),
            mark_pending: Default::default(),
            _signer: Default::default(),
        };
        let mut sealed = None;
        let result = RedbFile::create(path, &mut |txn| {
            txn.put(Table::Meta, integrity::HEADER_KEY, &header_bytes)?;
            txn.put(Table::Meta, integrity::VERSION_KEY, &0u64.to_be_bytes())?;
            txn.put(Table::Slots, &slots::slot_key(0), &encode(&slot)?)?;
            for env in DEFAULT_ENVIRONMENTS {
                vault.insert_env(txn, DEFAULT_PROJECT, env, now())?;
            }
            sealed = Some(integrity::seal_vault(&vault.keys, txn)?);
            Ok(())
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
        if let Some(state) = sealed {
            let _ = high_water::record(
                &vault.keys,
                &high_water::Mark::None,
                state.version,
                &state.digest,
                true,
            );
        }
        vault.audit("init", "", "", "");
        Ok(vault)
    }

    /// Unlocks with a passphrase or keyfile. A wrong one gets one generic error and
    /// changes nothing (the file is only read).
    pub fn unlock(path: &Path, credential: &Credential) -> Result<Vault> {
        let found = slots::read_header_and_slots(path)?;
        let (keys, slot, kek) = match credential {
            Credential::Held(held) => {
                let (keys, slot) = held::unlock(&found, held)?;
                (keys, slot, None)
            }
            _ => {
                let (keys, slot, kek) = slots::unlock_with(&found, credential)?;
                (keys, slot, Some(kek))
            }
        };
        Ok(Vault {
            path: path.to_path_buf(),
            storage: Box::new(RedbFile::new(path)),
            keys,
            via: Via::Cli,
            slot,
            format: found.format,
            slot_kek: kek,
            audit_failure: Default::default(),
            team_link: Default::default(),
            mark_pending: Default::default(),
            _signer: Default::default(),
        })
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

    /// The vault's format: 1 for a vault not yet upgraded (see `upgrade_before_write`).
    pub fn format(&self) -> u16 {
        self.format
    }

    // ----- transactions

    /// The verified catalog of a transaction: the vault digest recomputed and compared,
    /// every environment record opened.
    fn catalog(&self, txn: &dyn ReadTxn) -> Result<Catalog> {
        let catalog = self.catalog_unverified(txn)?;
        if !integrity::vouched(txn, &catalog.state)? {
            return Err(VaultError::CatalogMismatch);
        }
        Ok(catalog)
    }

    /// The catalog as the tables hold it, before comparing with the stored digest
    /// (`doctor` reports on everything even when the digest fails).
    fn catalog_unverified(&self, txn: &dyn ReadTxn) -> Result<Catalog> {
        // Another process may have rekeyed since this handle was unlocked: say so, rather
        // than report the (honestly) failing digest as tampering.
        if let Some(header) = txn.get(Table::Meta, integrity::HEADER_KEY)?
            && let Ok(Header::V1 { dek_check, .. }) = decode::<Header>(&header, "vault header")
            && !crypto::same(
                &Keys::dek_check(self.keys.dek(), &self.keys.vault_id)?,
                &dek_check,
            )
        {
            return Err(VaultError::Rekeyed);
        }
        let state = integrity::vault_state(&self.keys, txn)?;
        let mut entries = Vec::with_capacity(state.envs.len());
        for row in &state.envs {
            let (project, name, created, rotate_days) =
                self.open_env_record(&row.id, &row.record)?.into_parts();
            entries.push(EnvEntry {
                id: row.id,
                project,
                name,
                created,
                rotate_days,
                digest: row.digest,
            });
        }
        Ok(Catalog { entries, state })
    }

    /// An environment's sealed (project, name, created), opened.
    fn open_env_record(&self, id: &EnvId, bytes: &[u8]) -> Result<EnvMeta> {
        let EnvRecord::V1 { nonce, sealed } = decode(bytes, "environment record")?;
        let plain = crypto::open(
            &self.keys.meta,
            &nonce,
            &sealed,
            &self.ad(b"tresor/v1/environment\0", id),
        )
        .map_err(|_| VaultError::Corrupt("an environment record failed authentication".into()))?;
        decode(&plain, "environment")
    }

    /// One read transaction over a verified catalog, checked against what this machine
    /// has seen of the vault (read before the snapshot is taken).
    fn read<T>(&self, f: impl FnOnce(&dyn ReadTxn, &Catalog) -> Result<T>) -> Result<T> {
        debug_assert!(self.format >= FORMAT, "format-1 reads go through `legacy`");
        let mark = high_water::read(&self.keys);
        let mut f = Some(f);
        let mut out = None;
        let mut seen = None;
        self.storage.read(&mut |txn| {
            let catalog = self.catalog(txn)?;
            high_water::check(&mark, catalog.state.version, &catalog.state.digest)?;
            seen = Some((catalog.state.version, catalog.state.digest));
            if let Some(f) = f.take() {
                out = Some(f(txn, &catalog)?);
            }
            Ok(())
        })?;
        if let Some((version, digest)) = seen {
            self.saw(&mark, version, digest);
        }
        out.ok_or_else(|| VaultError::Storage("the read did not run".into()))
    }

    /// One write transaction with immediate durability: a crash leaves the old state or
    /// the new one, and a returned `Ok` is on disk. It starts from a verified catalog
    /// (a tampered state is never re-sealed) and ends by sealing the new state. A
    /// format-1 vault is never changed in place: it is upgraded first.
    fn write<T>(&self, f: impl FnOnce(&mut dyn WriteTxn, &Catalog) -> Result<T>) -> Result<T> {
        if self.format < FORMAT {
            return Err(VaultError::UpgradeRequired { ids: Vec::new() });
        }
        let mark = high_water::read(&self.keys);
        let mut f = Some(f);
        let mut out = None;
        let mut sealed = None;
        self.storage.write(&mut |txn| {
            let catalog = self.catalog(txn)?;
            high_water::check(&mark, catalog.state.version, &catalog.state.digest)?;
            if let Some(f) = f.take() {
                out = Some(f(txn, &catalog)?);
            }
            sealed = Some(integrity::seal_vault(&self.keys, txn)?);
            Ok(())
        })?;
        if let Some(state) = sealed {
            self.saw(&mark, state.version, state.digest);
        }
        out.ok_or_else(|| VaultError::Storage("the write did not run".into()))
    }

    /// Records a state read or written as seen (the high-water mark); during `one_mark`,
    /// once at its end.
    fn saw(&self, mark: &high_water::Mark, version: u64, digest: [u8; 32]) {
        match &mut *self.mark_pending.borrow_mut() {
            Some(pending) => {
                if pending.is_none_or(|(v, _)| v <= version) {
                    *pending = Some((version, digest));
                }
            }
            None => {
                let _ = high_water::record(&self.keys, mark, version, &digest, false);
            }
        }
    }

    /// Until the returned value is dropped, the states this handle reads and writes are
    /// recorded as seen once, at the end: a team write (its change, then the other
    /// members' commits) writes the mark file once instead of twice.
    pub(crate) fn one_mark(&self) -> OneMark<'_> {
        let outermost = self.mark_pending.borrow().is_none();
        if outermost {
            *self.mark_pending.borrow_mut() = Some(None);
        }
        OneMark {
            vault: self,
            outermost,
        }
    }

    // ----- ids and associated data

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
        record_ad(&self.keys, self.format, field, table_key)
    }

    // ----- the audit log

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
        // A team replica also queues the entry for the team's log on the server.
        let team = self.team_audit(&event);
        if let Err(e) = audit::append(&self.path, &self.keys, event).and(team) {
            *self.audit_failure.borrow_mut() = Some(e.to_string());
        }
    }

    /// Why the audit log missed an entry since the last call, if it did.
    pub fn take_audit_failure(&self) -> Option<String> {
        self.audit_failure.borrow_mut().take()
    }

    /// The audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<audit::AuditLine>> {
        audit::read(&self.path, &self.keys)
    }

    // ----- the high-water mark

    /// Accepts the vault file as it is now, even when it is older than what this machine
    /// has seen (a backup restored on purpose). Returns (version now, version seen).
    pub fn accept_older(&self) -> Result<(u64, Option<u64>)> {
        if self.format < FORMAT {
            high_water::forget(&self.keys.vault_id)?;
            self.audit("restore", "", "", "accepted a format-1 copy");
            return Ok((0, None));
        }
        let mark = high_water::read(&self.keys);
        let seen = match &mark {
            high_water::Mark::Seen(s) => Some(s.version),
            _ => None,
        };
        let mut state = None;
        self.storage.read(&mut |txn| {
            let catalog = self.catalog(txn)?;
            state = Some((catalog.state.version, catalog.state.digest));
            Ok(())
        })?;
        let (version, digest) =
            state.ok_or_else(|| VaultError::Storage("the read did not run".into()))?;
        high_water::record(&self.keys, &mark, version, &digest, true)?;
        self.audit("restore", "", "", &format!("accepted version {version}"));
        Ok((version, seen))
    }
}

/// development, staging, production first, in that order; others after, by name.
fn env_rank(name: &str) -> (usize, &str) {
    let rank = DEFAULT_ENVIRONMENTS
        .iter()
        .position(|e| *e == name)
        .unwrap_or(DEFAULT_ENVIRONMENTS.len());
    (rank, name)
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

/// A record's associated data: its field, the vault, its table key and the format (free
/// of the `Vault` handle, for work spread over threads).
fn record_ad(keys: &crypto::Keys, format: u16, field: &[u8], table_key: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(field.len() + 16 + table_key.len() + 2);
    ad.extend_from_slice(field);
    ad.extend_from_slice(&keys.vault_id);
    ad.extend_from_slice(table_key);
    ad.extend_from_slice(&format.to_le_bytes());
    ad
}
