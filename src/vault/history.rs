//! History: a secret's earlier values, sealed like the current one, and rollback.
//!
//! Every change of a value (an edit with a new value, an import that overwrites a
//! changed value, a rollback) first moves the current value into the history table
//! under (secret id ‖ version). The entry is sealed with the value key and associated
//! data naming the field, the vault, the secret's lookup id and the version: a row moved
//! to another secret or version does not open. History rows sit in their secret's leaf
//! of the integrity tree (`integrity`), so a row dropped, replayed or planted fails the
//! same check as a record. The last `depth` versions are kept (10 unless the vault's
//! settings say otherwise); deleting a secret deletes its history.
//!
//! Versions are numbered from 1; the current value is one more than the newest kept
//! row. Listing shows a short keyed fingerprint of each version, never a value.

use super::crypto;
use super::error::{Result, VaultError};
use super::integrity::{self, HISTORY_KEY_LEN, Place, SETTINGS_KEY, leaf_of};
use super::records::{HistoryEntry, HistoryRecord, SecretMeta, SecretRecord, Settings};
use super::records::{decode, encode};
use super::secrets::{not_found, tampered};
use super::storage::{ReadTxn, Table, WriteTxn};
use super::{EnvEntry, SecretId, SecretValue, Vault, audit, now};

/// Versions kept per secret unless the vault says otherwise.
pub const DEFAULT_DEPTH: u16 = 10;
/// The most `tresor config history-depth` accepts.
pub const MAX_DEPTH: u16 = 1000;

const HISTORY_AD: &[u8] = b"tresor/v1/secret/history\0";
const SETTINGS_AD: &[u8] = b"tresor/v2/settings\0";

/// One version of a secret, as `tresor history` shows it: never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: u32,
    pub current: bool,
    /// When this value became current.
    pub since: i64,
    /// Who made it current (`user@host`), when known.
    pub by: Option<String>,
    /// Keyed BLAKE2b of the value, the first 8 hex characters.
    pub fingerprint: String,
    pub len: usize,
}

fn row_key(id: &SecretId, version: u32) -> [u8; HISTORY_KEY_LEN] {
    let mut k = [0u8; HISTORY_KEY_LEN];
    k[..48].copy_from_slice(id);
    k[48..].copy_from_slice(&version.to_be_bytes());
    k
}

fn version_of(row: &[u8]) -> Result<u32> {
    match row.get(48..) {
        Some(v) if row.len() == HISTORY_KEY_LEN => {
            Ok(u32::from_be_bytes(v.try_into().map_err(|_| bad_row())?))
        }
        _ => Err(bad_row()),
    }
}

fn bad_row() -> VaultError {
    VaultError::Corrupt("a history row is stored under a key of the wrong size".into())
}

fn who() -> String {
    let (user, host) = audit::who();
    format!("{user}@{host}")
}

impl Vault {
    /// The short keyed fingerprint of a value: tells versions apart, reveals nothing.
    pub(super) fn fingerprint(&self, value: &[u8]) -> Result<String> {
        let tag: [u8; 32] = crypto::keyed_hash(&self.keys.fingerprint, &[b"value", value])?;
        Ok(tag[..4].iter().map(|b| format!("{b:02x}")).collect())
    }

    fn seal_history(&self, row: &[u8], entry: &HistoryEntry) -> Result<Vec<u8>> {
        let plain = zeroize::Zeroizing::new(encode(entry)?);
        let (nonce, sealed) = crypto::seal(&self.keys.value, &plain, &self.ad(HISTORY_AD, row))?;
        encode(&HistoryRecord::V1 { nonce, sealed })
    }

    fn open_history(
        &self,
        row: &[u8],
        bytes: &[u8],
        place: (&str, &str),
        key: &str,
    ) -> Result<HistoryEntry> {
        let HistoryRecord::V1 { nonce, sealed } = decode(bytes, "history row")?;
        let version = version_of(row)?;
        let plain = crypto::open(&self.keys.value, &nonce, &sealed, &self.ad(HISTORY_AD, row))
            .map_err(|_| {
                tampered(
                    place,
                    &format!("version {version} of `{key}` does not decrypt"),
                )
            })?;
        decode(&plain, "history entry")
    }

    /// The vault's history depth, from the settings the vault digest vouched for.
    pub(super) fn depth_in(&self, txn: &dyn ReadTxn) -> Result<u16> {
        let Some(blob) = txn.get(Table::Meta, SETTINGS_KEY)? else {
            return Ok(DEFAULT_DEPTH);
        };
        let broken = || VaultError::Corrupt("the vault's settings do not decrypt".into());
        if blob.len() < crypto::NONCE_LEN {
            return Err(broken());
        }
        let (nonce, sealed) = blob.split_at(crypto::NONCE_LEN);
        let nonce: [u8; crypto::NONCE_LEN] = nonce.try_into().map_err(|_| broken())?;
        let plain = crypto::open(
            &self.keys.meta,
            &nonce,
            sealed,
            &self.ad(SETTINGS_AD, SETTINGS_KEY),
        )
        .map_err(|_| broken())?;
        let Settings::V1 { history_depth } = decode(&plain, "vault settings")?;
        Ok(history_depth)
    }

    pub(super) fn put_settings(&self, txn: &mut dyn WriteTxn, depth: u16) -> Result<()> {
        let plain = encode(&Settings::V1 {
            history_depth: depth,
        })?;
        let (nonce, sealed) =
            crypto::seal(&self.keys.meta, &plain, &self.ad(SETTINGS_AD, SETTINGS_KEY))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        txn.put(Table::Meta, SETTINGS_KEY, &blob)
    }

    /// The kept history rows of one secret, oldest first, as (version, sealed bytes).
    fn rows_of(&self, txn: &dyn ReadTxn, id: &SecretId) -> Result<Vec<(u32, Vec<u8>)>> {
        let mut rows = Vec::new();
        txn.scan(Table::History, id, &mut |k, v| {
            rows.push((version_of(k)?, v.to_vec()));
            Ok(())
        })?;
        Ok(rows)
    }

    /// Inside a write that is about to replace `record`'s value: the current value
    /// becomes the next history row, and the oldest rows beyond the depth go. The caller
    /// verified the leaf and rehashes it afterwards.
    pub(super) fn keep_history(
        &self,
        txn: &mut dyn WriteTxn,
        id: &SecretId,
        record: &SecretRecord,
        place: (&str, &str),
        key: &str,
        at: i64,
    ) -> Result<()> {
        let depth = usize::from(self.depth_in(&*txn)?);
        let rows = self.rows_of(&*txn, id)?;
        let (version, set_by) = match rows.last() {
            Some((v, bytes)) => {
                let HistoryEntry::V1 { replaced_by, .. } =
                    &self.open_history(&row_key(id, *v), bytes, place, key)?;
                (v.saturating_add(1), Some(replaced_by.clone()))
            }
            None => (1, None),
        };
        let mut drop = rows.len().saturating_add(1).saturating_sub(depth);
        if depth > 0 {
            let SecretMeta::V1 { value_changed, .. } = self.open_meta(id, record, place)?;
            let value = self.open_value(id, record, place, key)?;
            let entry = HistoryEntry::V1 {
                value: value.to_vec(),
                set_at: value_changed,
                set_by,
                replaced_at: at,
                replaced_by: who(),
            };
            let row = row_key(id, version);
            txn.put(Table::History, &row, &self.seal_history(&row, &entry)?)?;
        } else {
            drop = rows.len();
        }
        for (v, _) in rows.iter().take(drop) {
            txn.delete(Table::History, &row_key(id, *v))?;
        }
        Ok(())
    }

    /// Every version of a secret, newest (the current one) first; never a value.
    pub fn history(&self, project: &str, env: &str, key: &str) -> Result<Vec<VersionInfo>> {
        if self.format < super::records::FORMAT {
            // A format-1 vault has no history yet: only the current value.
            let value = super::legacy::get(self, project, env, key)?;
            let info = super::legacy::list(self, project, env)?
                .into_iter()
                .find(|i| i.key == key)
                .ok_or_else(|| not_found(project, env, key))?;
            return Ok(vec![VersionInfo {
                version: 1,
                current: true,
                since: info.value_changed,
                by: None,
                fingerprint: self.fingerprint(&value)?,
                len: value.len(),
            }]);
        }
        let out = self.read(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            let (id, record, rows) = self.find_with_history(txn, entry, project, env, key)?;
            let record = record.ok_or_else(|| not_found(project, env, key))?;
            let place = (project, env);
            let mut out = Vec::with_capacity(rows.len() + 1);
            let mut last_by = None;
            for (row, bytes) in &rows {
                let e = self.open_history(row, bytes, place, key)?;
                let HistoryEntry::V1 {
                    value,
                    set_at,
                    set_by,
                    replaced_by,
                    ..
                } = &e;
                out.push(VersionInfo {
                    version: version_of(row)?,
                    current: false,
                    since: *set_at,
                    by: set_by.clone(),
                    fingerprint: self.fingerprint(value)?,
                    len: value.len(),
                });
                last_by = Some(replaced_by.clone());
            }
            let SecretMeta::V1 { value_changed, .. } = self.open_meta(&id, &record, place)?;
            let value = self.open_value(&id, &record, place, key)?;
            let next = match rows.last() {
                Some((row, _)) => version_of(row)?.saturating_add(1),
                None => 1,
            };
            out.push(VersionInfo {
                version: next,
                current: true,
                since: value_changed,
                by: last_by,
                fingerprint: self.fingerprint(&value)?,
                len: value.len(),
            });
            out.reverse();
            Ok(out)
        })?;
        self.audit("history", project, env, key);
        Ok(out)
    }

    /// A secret's record and its history rows, verified as one leaf.
    pub(super) fn find_with_history(
        &self,
        txn: &dyn ReadTxn,
        entry: &EnvEntry,
        project: &str,
        env: &str,
        key: &str,
    ) -> Result<(SecretId, Option<SecretRecord>, Vec<integrity::HistoryRow>)> {
        let id = self.secret_id(&entry.id, project, env, key)?;
        let (records, history) = integrity::verified_leaf_with_history(
            &self.keys,
            txn,
            &entry.id,
            &entry.digest,
            leaf_of(&id),
            &Place { project, env },
        )?;
        let record = records
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, bytes)| decode::<SecretRecord>(bytes, "secret record"))
            .transpose()?;
        let rows = history
            .into_iter()
            .filter(|(k, _)| k.starts_with(&id))
            .collect();
        Ok((id, record, rows))
    }

    /// Makes an earlier value current again, as a new version (so it can be undone the
    /// same way). Returns the new version's number.
    pub fn rollback(&self, project: &str, env: &str, key: &str, version: u32) -> Result<u32> {
        let team = self.team_before_write()?;
        let at = now();
        let new_version = self.write(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            let (id, record, rows) = self.find_with_history(&*txn, entry, project, env, key)?;
            let record = record.ok_or_else(|| not_found(project, env, key))?;
            let place = (project, env);
            let versions: Vec<u32> = rows
                .iter()
                .map(|(k, _)| version_of(k))
                .collect::<Result<_>>()?;
            let current = versions.last().map_or(1, |v| v.saturating_add(1));
            if version == current {
                return Err(VaultError::VersionIsCurrent {
                    key: key.into(),
                    version,
                });
            }
            let Some((row, bytes)) = rows
                .iter()
                .find(|(k, _)| version_of(k).ok() == Some(version))
            else {
                return Err(VaultError::VersionNotKept {
                    key: key.into(),
                    version,
                    kept: versions,
                    current,
                });
            };
            let old = self.open_history(row, bytes, place, key)?;
            let HistoryEntry::V1 { value, .. } = &old;
            let value: SecretValue = zeroize::Zeroizing::new(value.clone());
            if self.open_value(&id, &record, place, key)?[..] == value[..] {
                return Err(VaultError::VersionIsCurrent {
                    key: key.into(),
                    version,
                });
            }
            self.keep_history(txn, &id, &record, place, key, at)?;
            let SecretMeta::V1 {
                key: stored_key,
                description,
                kind,
                created,
                ..
            } = self.open_meta(&id, &record, place)?;
            let meta = SecretMeta::V1 {
                key: stored_key,
                description,
                kind,
                created,
                updated: at,
                value_changed: at,
                value_len: value.len() as u32,
            };
            self.put_record(txn, &id, &meta, Some(&value), None)?;
            integrity::rehash(&self.keys, txn, &entry.id, [leaf_of(&id)])?;
            Ok(current.saturating_add(1))
        })?;
        if let Some(guard) = team {
            self.team_after_write(guard, project, env, &[key.to_string()])?;
        }
        self.audit(&format!("rollback to version {version}"), project, env, key);
        Ok(new_version)
    }

    /// How many versions each secret keeps (10 unless set).
    pub fn history_depth(&self) -> Result<u16> {
        if self.format < super::records::FORMAT {
            return Ok(DEFAULT_DEPTH);
        }
        self.read(|txn, _| self.depth_in(txn))
    }

    /// Sets how many versions each secret keeps; rows beyond it go now, in every
    /// environment, in the same transaction. Returns how many rows were removed.
    pub fn set_history_depth(&self, depth: u16) -> Result<usize> {
        // History stays with each replica (it never goes to the server): no team write.
        if depth > MAX_DEPTH {
            return Err(VaultError::DepthTooLarge {
                depth,
                max: MAX_DEPTH,
            });
        }
        let removed = self.write(|txn, catalog| {
            let mut removed = 0;
            for entry in &catalog.entries {
                let place = Place {
                    project: &entry.project,
                    env: &entry.name,
                };
                // Verifies every leaf, history included, before anything is dropped.
                integrity::verified_env(&self.keys, &*txn, &entry.id, &entry.digest, &place)?;
                let mut rows: Vec<Vec<u8>> = Vec::new();
                txn.scan(Table::History, &entry.id, &mut |k, _| {
                    rows.push(k.to_vec());
                    Ok(())
                })?;
                let mut doomed = Vec::new();
                for group in rows.chunk_by(|a, b| a.get(..48) == b.get(..48)) {
                    let extra = group.len().saturating_sub(usize::from(depth));
                    doomed.extend(group.iter().take(extra).cloned());
                }
                let mut leaves = std::collections::BTreeSet::new();
                for row in &doomed {
                    txn.delete(Table::History, row)?;
                    leaves.insert(leaf_of(row));
                }
                if !leaves.is_empty() {
                    integrity::rehash(&self.keys, txn, &entry.id, leaves)?;
                }
                removed += doomed.len();
            }
            self.put_settings(txn, depth)?;
            Ok(removed)
        })?;
        self.audit("config", "", "", &format!("history-depth {depth}"));
        Ok(removed)
    }

    /// An environment's history in plaintext, for a rebuild (`rekey`): (key, version,
    /// entry). `names` maps each secret's id to its key; the caller verified the env.
    pub(super) fn export_history(
        &self,
        txn: &dyn ReadTxn,
        entry: &EnvEntry,
        names: &std::collections::HashMap<SecretId, String>,
    ) -> Result<Vec<(String, u32, HistoryEntry)>> {
        let mut out = Vec::new();
        let mut failure = None;
        txn.scan(Table::History, &entry.id, &mut |k, v| {
            let id: SecretId = k
                .get(..48)
                .and_then(|i| i.try_into().ok())
                .ok_or_else(bad_row)?;
            let Some(key) = names.get(&id) else {
                // A row whose secret is gone: the digest would have caught a planted one.
                failure = Some(tampered(
                    (&entry.project, &entry.name),
                    "a history row has no secret",
                ));
                return Ok(());
            };
            let e = self.open_history(k, v, (&entry.project, &entry.name), key)?;
            out.push((key.clone(), version_of(k)?, e));
            Ok(())
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Writes rows exported by [`Vault::export_history`] under this handle's keys.
    pub(super) fn import_history(
        &self,
        txn: &mut dyn WriteTxn,
        env_id: &super::EnvId,
        (project, env): (&str, &str),
        rows: Vec<(String, u32, HistoryEntry)>,
    ) -> Result<()> {
        for (key, version, entry) in rows {
            let id = self.secret_id(env_id, project, env, &key)?;
            let row = row_key(&id, version);
            txn.put(Table::History, &row, &self.seal_history(&row, &entry)?)?;
        }
        Ok(())
    }
}
