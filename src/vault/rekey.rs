//! `rekey`: a new random data key, every record re-encrypted and every remaining key slot
//! rewrapped, in one transaction. The same rebuild moves a format-1 file to format 2.
//!
//! Everything is read and verified with the current keys first: a tampered vault is
//! refused, never re-encrypted into a "valid" one. The audit log's earlier keys are kept,
//! sealed with the new data key, so entries written before the rekey stay readable while
//! entries after it are unreadable with the old key.

use secrecy::SecretString;

use super::crypto::{self, KdfParams, Keys, slot_wrap};
use super::error::{Result, VaultError};
use super::high_water;
use super::integrity::{self, AUDIT_KEYS_KEY, HEADER_KEY, Place, VERSION_KEY, VaultState};
use super::legacy;
use super::records::{
    FORMAT, Header, HistoryEntry, SecretMeta, SecretRecord, Slot, SlotKind, decode, encode,
};
use super::slots::{self, make_slot, open_slot, slot_kek, wrap_slot};
use super::storage::redb_file::RedbFile;
use super::storage::{ReadTxn, Table, WriteTxn};
use super::{Credential, NewCredential, SecretValue, Vault, keyfile};

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

/// One environment's plaintext, between reading it and sealing it again.
pub(super) struct PlainEnv {
    pub project: String,
    pub name: String,
    pub created: i64,
    /// The environment's own rotation period, kept through the rebuild.
    pub rotate_days: Option<u16>,
    pub secrets: Vec<(SecretMeta, SecretValue)>,
    /// Earlier values, as (key, version, entry).
    pub history: Vec<(String, u32, HistoryEntry)>,
}

/// Everything a rebuild needs, read and verified with the current keys.
pub(super) struct Plain {
    pub header: Vec<u8>,
    pub slots: Vec<(u32, Slot)>,
    pub version: u64,
    pub envs: Vec<PlainEnv>,
    /// The history depth, when the vault has settings.
    pub history_depth: Option<u16>,
}

/// What the rebuild hands back to the handle.
struct Rebuilt {
    report: RekeyReport,
    keys: Keys,
    new_slot: Option<u32>,
    state: VaultState,
}

impl Vault {
    /// A new random data key: every record re-encrypted and every remaining key slot
    /// rewrapped, in one transaction. Afterwards no removed slot, and no slot of an older
    /// copy of the file, opens anything written from now on. A format-1 vault becomes
    /// format 2 on the way (its slots need their credentials once: see [`RekeyPlan`]).
    pub fn rekey(&mut self, plan: RekeyPlan) -> Result<RekeyReport> {
        let mut other_secrets = Vec::new();
        for credential in &plan.other_credentials {
            other_secrets.push(match credential {
                Credential::Keyfile(p) => Some(keyfile::read(p)?),
                _ => None,
            });
        }
        let new_dek = crypto::random_key()?;
        let mark = high_water::read(&self.keys);
        let mut rebuilt = None;
        if self.format < FORMAT {
            RedbFile::new(&self.path).migrate(legacy::TABLES, |raw, txn| {
                let plain = legacy::export(self, raw)?;
                rebuilt = Some(self.rebuild(txn, &plan, &other_secrets, plain, &new_dek)?);
                Ok(())
            })?;
        } else {
            let mut plan = Some(&plan);
            self.storage.write(&mut |txn| {
                let catalog = self.catalog(&*txn)?;
                high_water::check(&mark, catalog.state.version, &catalog.state.digest)?;
                let plain = self.export(&*txn, &catalog)?;
                for table in [
                    Table::Environments,
                    Table::Secrets,
                    Table::Digests,
                    Table::Tree,
                    Table::Slots,
                    Table::History,
                ] {
                    txn.delete_prefix(table, b"")?;
                }
                if let Some(plan) = plan.take() {
                    rebuilt = Some(self.rebuild(txn, plan, &other_secrets, plain, &new_dek)?);
                }
                Ok(())
            })?;
        }
        let Rebuilt {
            report,
            keys,
            new_slot,
            state,
        } = rebuilt.ok_or_else(|| VaultError::Storage("the rekey did not run".into()))?;
        self.keys = keys;
        self.format = FORMAT;
        if let Some(id) = new_slot.filter(|_| !report.slots.contains(&self.slot)) {
            self.slot = id;
        }
        self.slot_kek = None;
        let _ = high_water::record(&self.keys, &mark, state.version, &state.digest, true);
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

    /// The whole vault in plaintext, every environment verified.
    fn export(&self, txn: &dyn ReadTxn, catalog: &super::Catalog) -> Result<Plain> {
        let header = txn
            .get(Table::Meta, HEADER_KEY)?
            .ok_or_else(|| VaultError::NotAVault(self.path.clone()))?;
        let mut envs = Vec::with_capacity(catalog.entries.len());
        for env in &catalog.entries {
            let place = Place {
                project: &env.project,
                env: &env.name,
            };
            let mut secrets = Vec::new();
            let mut names = std::collections::HashMap::new();
            for (id, bytes) in
                integrity::verified_env(&self.keys, txn, &env.id, &env.digest, &place)?
            {
                let record: SecretRecord = decode(&bytes, "secret record")?;
                let at = (env.project.as_str(), env.name.as_str());
                let meta = self.open_meta(&id, &record, at)?;
                let SecretMeta::V1 { key, .. } = &meta;
                let value = self.open_value(&id, &record, at, key)?;
                names.insert(id, key.clone());
                secrets.push((meta, value));
            }
            // Verified with the records: the leaf digests cover the history rows.
            let history = self.export_history(txn, env, &names)?;
            envs.push(PlainEnv {
                project: env.project.clone(),
                name: env.name.clone(),
                created: env.created,
                rotate_days: env.rotate_days,
                secrets,
                history,
            });
        }
        Ok(Plain {
            header,
            slots: slots::read_slots(txn)?,
            version: catalog.state.version,
            envs,
            history_depth: match txn.get(Table::Meta, integrity::SETTINGS_KEY)? {
                Some(_) => Some(self.depth_in(txn)?),
                None => None,
            },
        })
    }

    /// Writes the whole vault again under a new data key into emptied tables.
    fn rebuild(
        &self,
        txn: &mut dyn WriteTxn,
        plan: &RekeyPlan,
        other_secrets: &[Option<keyfile::KeyfileSecret>],
        plain: Plain,
        new_dek: &crypto::Key32,
    ) -> Result<Rebuilt> {
        let Header::V1 {
            magic,
            vault_id,
            created,
            ..
        } = decode(&plain.header, "vault header")?;
        for id in &plan.remove {
            if !plain.slots.iter().any(|(i, _)| i == id) {
                return Err(VaultError::SlotNotFound { id: *id });
            }
        }
        let new_header = encode(&Header::V1 {
            magic,
            format: FORMAT,
            min_reader: FORMAT,
            vault_id,
            dek_check: Keys::dek_check(new_dek, &vault_id)?,
            created,
        })?;
        let mut new_slots = Vec::new();
        let mut removed = Vec::new();
        let mut unmatched = Vec::new();
        for (id, slot) in &plain.slots {
            let replaced =
                plan.new_passphrase.is_some() && matches!(slot.kind(), SlotKind::Passphrase { .. });
            if plan.remove.contains(id) || replaced {
                removed.push(*id);
                continue;
            }
            let (public, added) = match slot {
                // The slot this handle opened: its public key comes from its credential,
                // not from the file.
                Slot::V2 { added, .. } if *id == self.slot && self.slot_kek.is_some() => (
                    self.slot_kek
                        .as_ref()
                        .map(slot_wrap::public_key)
                        .transpose()?,
                    *added,
                ),
                Slot::V2 { public, added, .. } => (Some(*public), *added),
                Slot::V1 { kind, .. } => {
                    let kek = match (&self.slot_kek, *id == self.slot) {
                        (Some(k), true) => Some(k.clone()),
                        _ => self.find_kek(
                            *id,
                            slot,
                            kind,
                            &plan.other_credentials,
                            other_secrets,
                            &plain.header,
                            &vault_id,
                        )?,
                    };
                    (kek.map(|k| slot_wrap::public_key(&k)).transpose()?, None)
                }
            };
            match public {
                Some(public) => new_slots.push((
                    *id,
                    wrap_slot(
                        slot.kind().clone(),
                        public,
                        added,
                        new_dek,
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
            let next = match plain.slots.iter().map(|(i, _)| *i).max() {
                Some(last) => last
                    .checked_add(1)
                    .ok_or_else(|| VaultError::Corrupt("a key slot has an impossible id".into()))?,
                None => 0,
            };
            let credential = NewCredential::Passphrase(pass.clone(), *kdf);
            new_slots.push((
                next,
                make_slot(&credential, new_dek, &vault_id, &new_header, next)?,
            ));
            new_slot = Some(next);
        }
        if new_slots.is_empty() {
            return Err(VaultError::LastSlot { id: self.slot });
        }

        let mut keys = Keys::derive(new_dek.clone(), vault_id)?;
        keys.audit_history = self.keys.audit_history.clone();
        keys.audit_history.push(self.keys.audit.clone());
        let rebuilt = Vault {
            path: self.path.clone(),
            storage: Box::new(RedbFile::new(&self.path)),
            keys,
            via: self.via,
            slot: self.slot,
            format: FORMAT,
            slot_kek: None,
            audit_failure: Default::default(),
            team_link: Default::default(),
            mark_pending: Default::default(),
            _signer: Default::default(),
        };
        txn.put(Table::Meta, HEADER_KEY, &new_header)?;
        txn.put(Table::Meta, VERSION_KEY, &plain.version.to_be_bytes())?;
        txn.put(
            Table::Meta,
            AUDIT_KEYS_KEY,
            &seal_audit_keys(&rebuilt.keys, &rebuilt.keys.audit_history)?,
        )?;
        for (id, slot) in &new_slots {
            txn.put(Table::Slots, &slots::slot_key(*id), &encode(slot)?)?;
        }
        match plain.history_depth {
            Some(depth) => rebuilt.put_settings(txn, depth)?,
            None => {
                txn.delete(Table::Meta, integrity::SETTINGS_KEY)?;
            }
        }
        let mut values = 0;
        let environments = plain.envs.len();
        for env in plain.envs {
            let env_id = rebuilt.insert_env(txn, &env.project, &env.name, env.created)?;
            if let Some(days) = env.rotate_days {
                rebuilt.set_env_rotation(
                    txn,
                    &env_id,
                    &env.project,
                    &env.name,
                    env.created,
                    days,
                )?;
            }
            for (meta, value) in env.secrets {
                let SecretMeta::V1 { key, .. } = &meta;
                let id = rebuilt.secret_id(&env_id, &env.project, &env.name, key)?;
                rebuilt.put_record(txn, &id, &meta, Some(&value), None)?;
                values += 1;
            }
            rebuilt.import_history(txn, &env_id, (&env.project, &env.name), env.history)?;
            let leaves = integrity::all_leaves(&*txn, &env_id)?;
            integrity::rehash(&rebuilt.keys, txn, &env_id, leaves)?;
        }
        let state = integrity::seal_vault(&rebuilt.keys, txn)?;
        let report = RekeyReport {
            values,
            environments,
            slots: new_slots.iter().map(|(i, _)| *i).collect(),
            removed,
            upgraded: self.format < FORMAT,
        };
        let Vault { keys, .. } = rebuilt;
        Ok(Rebuilt {
            report,
            keys,
            new_slot,
            state,
        })
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
                && let Ok((dek, _)) = open_slot(slot, &kek, header_bytes, id)
                && crypto::same(&dek[..], &self.keys.dek()[..])
            {
                return Ok(Some(kek));
            }
        }
        Ok(None)
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

pub(super) fn open_audit_keys(keys: &Keys, blob: &[u8]) -> Result<Vec<crypto::Key32>> {
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
