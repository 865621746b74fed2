//! Secrets: sealed records, and the page's rules for adding, editing and deleting them.
//!
//! A record seals the metadata (key, description, type, dates) and the value separately,
//! so listing never decrypts a value. Each ciphertext's associated data names its field,
//! the vault, the record's table key and the format: a ciphertext moved anywhere else
//! fails to open. A read verifies only the leaf of the integrity tree it reads from.

use super::crypto;
use super::error::{Result, VaultError};
use super::integrity::{self, Place, leaf_of};
use super::records::{
    FORMAT, SecretMeta, SecretRecord, SecretRecordView, decode, decode_view, encode,
};
use super::storage::{ReadTxn, Table, WriteTxn};
use super::{SecretId, SecretInfo, SecretType, SecretValue, Vault, legacy, now, validate};

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

pub(super) const META_AD: &[u8] = b"tresor/v1/secret/meta\0";
pub(super) const VALUE_AD: &[u8] = b"tresor/v1/secret/value\0";

impl Vault {
    pub(super) fn seal_meta(
        &self,
        id: &SecretId,
        meta: &SecretMeta,
    ) -> Result<([u8; 24], Vec<u8>)> {
        let plain = zeroize::Zeroizing::new(encode(meta)?);
        crypto::seal(&self.keys.meta, &plain, &self.ad(META_AD, id))
    }

    pub(super) fn seal_value(&self, id: &SecretId, value: &[u8]) -> Result<([u8; 24], Vec<u8>)> {
        crypto::seal(&self.keys.value, value, &self.ad(VALUE_AD, id))
    }

    pub(super) fn open_meta(
        &self,
        id: &SecretId,
        record: &SecretRecord,
        place: (&str, &str),
    ) -> Result<SecretMeta> {
        let SecretRecord::V1 {
            meta_nonce, meta, ..
        } = record;
        self.open_meta_bytes(id, meta_nonce, meta, place)
    }

    fn open_meta_bytes(
        &self,
        id: &SecretId,
        nonce: &[u8; crypto::NONCE_LEN],
        sealed: &[u8],
        place: (&str, &str),
    ) -> Result<SecretMeta> {
        open_meta_with(&self.keys, self.format, id, nonce, sealed, place)
    }

    pub(super) fn open_value(
        &self,
        id: &SecretId,
        record: &SecretRecord,
        place: (&str, &str),
        key: &str,
    ) -> Result<SecretValue> {
        let SecretRecord::V1 {
            value_nonce, value, ..
        } = record;
        crypto::open(&self.keys.value, value_nonce, value, &self.ad(VALUE_AD, id))
            .map_err(|_| tampered(place, &format!("the value of `{key}` does not decrypt")))
    }

    /// Seals and stores a record; `keep_value` reuses the stored value ciphertext.
    pub(super) fn put_record(
        &self,
        txn: &mut dyn WriteTxn,
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
        txn.put(Table::Secrets, id, &encode(&record)?)
    }

    /// Whether a stored value is exactly `candidate` (compared in constant time).
    pub(super) fn same_value(
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

    /// A secret's id and, if it exists, its record: only its leaf of the tree is
    /// verified, so this costs the same at any size.
    pub(super) fn find_record(
        &self,
        txn: &dyn ReadTxn,
        entry: &super::EnvEntry,
        project: &str,
        env: &str,
        key: &str,
    ) -> Result<(SecretId, Option<SecretRecord>)> {
        // The leaf's history rows are read and verified with it either way (the leaf's
        // MAC covers both); only the record is wanted here.
        let (id, record, _) = self.find_with_history(txn, entry, project, env, key)?;
        Ok((id, record))
    }

    /// Every record of an environment, verified, as (id, record).
    pub(super) fn env_records(
        &self,
        project: &str,
        env: &str,
    ) -> Result<Vec<(SecretId, SecretRecord)>> {
        self.read(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            let place = Place { project, env };
            let v = integrity::verified_env(&self.keys, txn, &entry.id, &entry.digest, &place)?;
            v.into_iter()
                .map(|(id, bytes)| Ok((id, decode(&bytes, "secret record")?)))
                .collect()
        })
    }

    /// Every secret of an environment, without values, sorted by key.
    pub fn list(&self, project: &str, env: &str) -> Result<Vec<SecretInfo>> {
        if self.format < FORMAT {
            return legacy::list(self, project, env);
        }
        let (keys, format) = (&self.keys, self.format);
        let mut out = self.read(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            let place = Place { project, env };
            // Each record's metadata is opened on the thread that verifies its part of
            // the environment; nothing opened is returned unless the whole verified.
            integrity::verify_env_map(keys, txn, &entry.id, &entry.digest, &place, &|id, bytes| {
                let SecretRecordView::V1 {
                    meta_nonce, meta, ..
                } = decode_view(bytes, "secret record")?;
                let meta = open_meta_with(keys, format, id, &meta_nonce, meta, (project, env))?;
                Ok(info(meta))
            })
        })?;
        // Keys are unique within an environment: an unstable sort gives the same order.
        out.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        self.or_no_access(project, env, Ok(out), Vec::is_empty)
    }

    /// One value, byte for byte. Recorded in the audit log.
    pub fn get(&self, project: &str, env: &str, key: &str) -> Result<SecretValue> {
        self.read_value(project, env, key, "get")
    }

    /// One value, recorded in the audit log as `action` (`copy`, `reveal`: reads too).
    pub fn read_value(
        &self,
        project: &str,
        env: &str,
        key: &str,
        action: &str,
    ) -> Result<SecretValue> {
        let value = if self.format < FORMAT {
            legacy::get(self, project, env, key)?
        } else {
            let found = self.read(|txn, catalog| {
                let entry = self.find_env(catalog, project, env)?;
                let (id, record) = self.find_record(txn, entry, project, env, key)?;
                let record = record.ok_or_else(|| not_found(project, env, key))?;
                self.open_value(&id, &record, (project, env), key)
            });
            self.or_no_access(project, env, found, |_| false)?
        };
        self.audit(action, project, env, key);
        Ok(value)
    }

    /// Every secret with its value, sorted by key: for `run` and `export`. Audited once.
    pub fn reveal_all(
        &self,
        project: &str,
        env: &str,
        action: &str,
    ) -> Result<Vec<(SecretInfo, SecretValue)>> {
        let mut out = if self.format < FORMAT {
            legacy::reveal_all(self, project, env)?
        } else {
            let mut out = Vec::new();
            for (id, record) in self.env_records(project, env)? {
                let meta = info(self.open_meta(&id, &record, (project, env))?);
                let value = self.open_value(&id, &record, (project, env), &meta.key)?;
                out.push((meta, value));
            }
            out
        };
        out.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        let out = self.or_no_access(project, env, Ok(out), Vec::is_empty)?;
        let keys: Vec<&str> = out.iter().map(|(i, _)| i.key.as_str()).collect();
        self.audit(action, project, env, &keys.join(","));
        Ok(out)
    }

    /// Some secrets with their values, each read by verifying only its own leaf: what
    /// `run --only` needs costs the same at any size. Audited once.
    pub fn reveal_some(
        &self,
        project: &str,
        env: &str,
        keys: &[String],
        action: &str,
    ) -> Result<Vec<(SecretInfo, SecretValue)>> {
        let out = if self.format < FORMAT {
            let mut all = legacy::reveal_all(self, project, env)?;
            for key in keys {
                if !all.iter().any(|(i, _)| &i.key == key) {
                    return Err(not_found(project, env, key));
                }
            }
            all.retain(|(i, _)| keys.contains(&i.key));
            all
        } else {
            let found = self.read(|txn, catalog| {
                let entry = self.find_env(catalog, project, env)?;
                let mut out = Vec::with_capacity(keys.len());
                for key in keys {
                    let (id, record) = self.find_record(txn, entry, project, env, key)?;
                    let record = record.ok_or_else(|| not_found(project, env, key))?;
                    let meta = info(self.open_meta(&id, &record, (project, env))?);
                    let value = self.open_value(&id, &record, (project, env), key)?;
                    out.push((meta, value));
                }
                Ok(out)
            });
            self.or_no_access(project, env, found, |_| false)?
        };
        let names: Vec<&str> = out.iter().map(|(i, _)| i.key.as_str()).collect();
        self.audit(action, project, env, &names.join(","));
        Ok(out)
    }

    /// A change to one secret: the leaf its key lives in is verified first, `f` changes
    /// the record, and that leaf is rehashed up to the vault digest.
    fn write_secret<T>(
        &self,
        project: &str,
        env: &str,
        key: &str,
        f: impl FnOnce(&mut dyn WriteTxn, &SecretId, Option<SecretRecord>) -> Result<T>,
    ) -> Result<T> {
        self.write(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            let (id, existing) = self.find_record(&*txn, entry, project, env, key)?;
            let out = f(txn, &id, existing)?;
            integrity::rehash(&self.keys, txn, &entry.id, [leaf_of(&id)])?;
            Ok(out)
        })
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
        let team = self.team_before_write()?;
        self.write_secret(project, env, &secret.key, |txn, id, existing| {
            if existing.is_some() {
                return Err(VaultError::Duplicate {
                    key: secret.key.clone(),
                    project: project.into(),
                    env: env.into(),
                });
            }
            self.put_record(txn, id, &meta, Some(&secret.value), None)
        })?;
        if let Some(guard) = team {
            self.team_after_write(guard, project, env, std::slice::from_ref(&secret.key))?;
        }
        self.audit("add", project, env, &secret.key);
        Ok(info(meta))
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
        let team = self.team_before_write()?;
        let written = self.write_secret(project, env, key, |txn, id, existing| {
            let record = existing.ok_or_else(|| not_found(project, env, key))?;
            let SecretMeta::V1 {
                key: stored_key,
                description,
                kind,
                created,
                value_changed,
                value_len,
                ..
            } = self.open_meta(id, &record, (project, env))?;
            let new_description = edit.description.clone().filter(|d| *d != description);
            let new_kind = edit.kind.filter(|k| *k != kind);
            // The same bytes again are not a new value: the value's age (rotate
            // regularly) must not reset when nothing changed.
            let new_value = match edit.value.as_ref() {
                Some(v) if self.same_value(id, &record, (project, env), key, v)? => None,
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
            if new_value.is_some() {
                self.keep_history(txn, id, &record, (project, env), key, at)?;
            }
            let SecretRecord::V1 {
                value_nonce, value, ..
            } = record;
            self.put_record(
                txn,
                id,
                &meta,
                new_value.map(|v| &v[..]),
                Some((value_nonce, value)),
            )?;
            Ok((info(meta), new_value.is_some()))
        });
        let (updated, value_changed) = self.or_no_access(project, env, written, |_| false)?;
        if let Some(guard) = team {
            self.team_after_write(guard, project, env, &[key.to_string()])?;
        }
        self.audit(
            if value_changed { "edit value" } else { "edit" },
            project,
            env,
            key,
        );
        Ok(updated)
    }

    /// Deleting is permanent, and takes the secret's history with it.
    pub fn remove(&self, project: &str, env: &str, key: &str) -> Result<()> {
        let team = self.team_before_write()?;
        let removed = self.write_secret(project, env, key, |txn, id, existing| {
            existing.ok_or_else(|| not_found(project, env, key))?;
            txn.delete(Table::Secrets, id)?;
            // The history goes with the secret: deleting is permanent.
            txn.delete_prefix(Table::History, id)?;
            Ok(())
        });
        self.or_no_access(project, env, removed, |_| false)?;
        if let Some(guard) = team {
            self.team_after_write(guard, project, env, &[key.to_string()])?;
        }
        self.audit("delete", project, env, key);
        Ok(())
    }

    /// Adds many secrets in one transaction: all or nothing. Existing keys are skipped
    /// unless `overwrite`; empty values are skipped (a value is required); a value that
    /// is already exactly the stored one is left alone (its age stays).
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
        let team = self.team_before_write()?;
        let report = self.write(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            let place = Place { project, env };
            // Many leaves change: verify the whole environment once.
            let existing: std::collections::HashMap<SecretId, Vec<u8>> =
                integrity::verified_env(&self.keys, &*txn, &entry.id, &entry.digest, &place)?
                    .into_iter()
                    .collect();
            let mut report = ImportReport::default();
            let mut changed = std::collections::BTreeSet::new();
            for (key, value) in &entries {
                if value.is_empty() {
                    report.skipped_empty.push(key.clone());
                    continue;
                }
                let id = self.secret_id(&entry.id, project, env, key)?;
                let meta = match existing.get(&id) {
                    Some(_) if !overwrite => {
                        report.skipped_existing.push(key.clone());
                        continue;
                    }
                    Some(bytes) => {
                        let record: SecretRecord = decode(bytes, "secret record")?;
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
                        self.keep_history(txn, &id, &record, (project, env), key, at)?;
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
                self.put_record(txn, &id, &meta, Some(value), None)?;
                changed.insert(leaf_of(&id));
            }
            if !changed.is_empty() {
                integrity::rehash(&self.keys, txn, &entry.id, changed)?;
            }
            Ok(report)
        })?;
        let changed: Vec<&str> = report
            .added
            .iter()
            .chain(&report.updated)
            .map(String::as_str)
            .collect();
        if let Some(guard) = team {
            let keys: Vec<String> = changed.iter().map(|k| k.to_string()).collect();
            self.team_after_write(guard, project, env, &keys)?;
        }
        self.audit("import", project, env, &changed.join(","));
        Ok(report)
    }
}

pub(super) fn info(meta: SecretMeta) -> SecretInfo {
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

pub(super) fn not_found(project: &str, env: &str, key: &str) -> VaultError {
    VaultError::NotFound {
        key: validate::printable(key),
        project: project.into(),
        env: env.into(),
    }
}

/// A record's metadata, opened with the vault's keys alone (see `Vault::open_meta`).
fn open_meta_with(
    keys: &crypto::Keys,
    format: u16,
    id: &SecretId,
    nonce: &[u8; crypto::NONCE_LEN],
    sealed: &[u8],
    place: (&str, &str),
) -> Result<SecretMeta> {
    let plain = crypto::open(
        &keys.meta,
        nonce,
        sealed,
        &super::record_ad(keys, format, META_AD, id),
    )
    .map_err(|_| tampered(place, "its metadata does not decrypt"))?;
    decode(&plain, "secret metadata")
}

pub(super) fn tampered((project, env): (&str, &str), detail: &str) -> VaultError {
    VaultError::TamperedRecord {
        project: project.into(),
        env: env.into(),
        detail: detail.into(),
    }
}
