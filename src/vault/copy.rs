//! Copying between environments and projects: one secret (`tresor cp`, the TUI's copy
//! popup) or a whole environment (`tresor env clone`).
//!
//! A ciphertext is bound to its record, so nothing is copied as bytes: each value is
//! opened at its source and sealed again under the target's own associated data. Each
//! copy is one write transaction that verifies what it reads and what it replaces, and
//! rehashes the target's tree up to the vault digest. A copied value keeps its age (the
//! time its bytes last changed): copying an old value does not make it fresh.

use std::collections::{BTreeSet, HashMap};

use super::error::{Result, VaultError};
use super::integrity::{self, Place, leaf_of};
use super::records::{FORMAT, SecretMeta, SecretRecord, decode};
use super::secrets::not_found;
use super::team::Touch;
use super::team::identity::Identity;
use super::{EnvId, SecretId, SecretValue, Vault, crypto, now, validate};

/// The audit log's action on the source of a copy or a clone (a read of its value;
/// `tresor check` counts it as one), followed by the target's `project/environment`.
pub(super) const COPY_TO: &str = "copy to";
pub(super) const CLONE_TO: &str = "env clone to";

/// What a copy of one secret did at its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyOutcome {
    /// The target had no secret of that key.
    Created,
    /// The target's secret was replaced (value, description and type).
    Replaced,
    /// The target already held exactly this value, description and type.
    Unchanged,
}

/// An environment a secret could be copied to, and whether it already holds the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTarget {
    pub project: String,
    pub env: String,
    pub exists: bool,
}

/// What `env clone` does with keys the target already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloneMode {
    /// Only into a new or empty environment.
    #[default]
    Refuse,
    /// Adds the missing keys and keeps the target's own.
    Merge,
    /// Adds the missing keys and replaces those whose value, description or type differ.
    Overwrite,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloneReport {
    /// The target environment did not exist and was created.
    pub created_env: bool,
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    /// Already exactly the source's secret.
    pub unchanged: Vec<String>,
    /// `Merge`: the target's own secret was kept, though it differs.
    pub kept: Vec<String>,
}

/// What [`Vault::put_copy`] did at the target.
enum Put {
    Created,
    Replaced,
    Unchanged,
    /// Differs, and replacing was not asked for.
    Kept,
}

/// A secret read from its source, ready to be sealed elsewhere.
struct Source {
    meta: SecretMeta,
    value: SecretValue,
}

impl Vault {
    /// Every other environment (of every project) and whether it holds `key`: what the
    /// copy popup offers. Verifies one leaf per environment, so it costs the same at any
    /// size.
    pub fn copy_targets(&self, project: &str, env: &str, key: &str) -> Result<Vec<CopyTarget>> {
        if self.format < FORMAT {
            return Err(VaultError::UpgradeRequired { ids: Vec::new() });
        }
        let mut out = self.read(|txn, catalog| {
            let mut out = Vec::new();
            for entry in &catalog.entries {
                if entry.project == project && entry.name == env {
                    continue;
                }
                let (_, record) = self.find_record(txn, entry, &entry.project, &entry.name, key)?;
                out.push(CopyTarget {
                    project: entry.project.clone(),
                    env: entry.name.clone(),
                    exists: record.is_some(),
                });
            }
            Ok(out)
        })?;
        // This project's environments first, in the tabs' order; then the others.
        out.sort_by(|a, b| {
            (a.project != project, &a.project, super::env_rank(&a.env)).cmp(&(
                b.project != project,
                &b.project,
                super::env_rank(&b.env),
            ))
        });
        Ok(out)
    }

    /// Copies one secret, with its description and type, to another environment or
    /// project. An existing key at the target is refused unless `overwrite`. Audited at
    /// both ends: a read of the source, a change of the target.
    pub fn copy_secret(
        &self,
        key: &str,
        (from_project, from_env): (&str, &str),
        (to_project, to_env): (&str, &str),
        overwrite: bool,
    ) -> Result<CopyOutcome> {
        if (from_project, from_env) == (to_project, to_env) {
            return Err(VaultError::SamePlace {
                project: from_project.into(),
                env: from_env.into(),
            });
        }
        let team = self.team_before_write()?;
        let outcome = self.write(|txn, catalog| {
            let from = self.find_env(catalog, from_project, from_env)?;
            let to = self.find_env(catalog, to_project, to_env)?;
            let (src_id, src) = self.find_record(&*txn, from, from_project, from_env, key)?;
            let src = src.ok_or_else(|| not_found(from_project, from_env, key))?;
            let source = self.open_source(&src_id, &src, (from_project, from_env), key)?;
            let (id, existing) = self.find_record(&*txn, to, to_project, to_env, key)?;
            if existing.is_some() && !overwrite {
                return Err(VaultError::Duplicate {
                    key: key.into(),
                    project: to_project.into(),
                    env: to_env.into(),
                });
            }
            let outcome = match self.put_copy(
                txn,
                &id,
                existing.as_ref(),
                (to_project, to_env),
                &source,
                true,
            )? {
                Put::Created => CopyOutcome::Created,
                Put::Replaced => CopyOutcome::Replaced,
                Put::Unchanged | Put::Kept => return Ok(CopyOutcome::Unchanged),
            };
            integrity::rehash(&self.keys, txn, &to.id, [leaf_of(&id)])?;
            Ok(outcome)
        })?;
        if let Some(guard) = team {
            self.team_after_write(guard, to_project, to_env, &[key.to_string()])?;
        }
        self.audit(
            &format!("{COPY_TO} {to_project}/{to_env}"),
            from_project,
            from_env,
            key,
        );
        self.audit(
            &format!("copy from {from_project}/{from_env}"),
            to_project,
            to_env,
            key,
        );
        Ok(outcome)
    }

    /// Copies every secret of `project/from` into `to_project/to`, creating it when it
    /// does not exist, in one transaction. A target that holds secrets is refused in
    /// `CloneMode::Refuse`. Secrets of the target that the source lacks are never removed.
    pub fn clone_env(
        &self,
        (project, from): (&str, &str),
        (to_project, to): (&str, &str),
        mode: CloneMode,
    ) -> Result<CloneReport> {
        self.clone_env_as(None, (project, from), (to_project, to), mode)
    }

    /// [`Vault::clone_env`]; on a team vault, a new target environment needs an admin's
    /// `identity` (see [`Vault::add_env_as`]).
    pub fn clone_env_as(
        &self,
        identity: Option<&Identity>,
        (project, from): (&str, &str),
        (to_project, to): (&str, &str),
        mode: CloneMode,
    ) -> Result<CloneReport> {
        if (project, from) == (to_project, to) {
            return Err(VaultError::SamePlace {
                project: project.into(),
                env: from.into(),
            });
        }
        validate::name("project", to_project)?;
        validate::name("environment", to)?;
        // On a team vault, a new environment is an admin's change.
        let new_env = self.is_team()
            && !self
                .environment_tabs()?
                .iter()
                .any(|e| e.project == to_project && e.name == to);
        let team = if new_env {
            self.team_before_new_env(identity)?
        } else {
            self.team_before_catalog(false)?
        };
        let at = now();
        let report = self.write(|txn, catalog| {
            let source = self.find_env(catalog, project, from)?;
            let records = integrity::verified_env(
                &self.keys,
                &*txn,
                &source.id,
                &source.digest,
                &Place { project, env: from },
            )?;
            let mut report = CloneReport::default();
            let (target, existing): (EnvId, HashMap<SecretId, Vec<u8>>) = if catalog
                .entries
                .iter()
                .any(|e| e.project == to_project && e.name == to)
            {
                let entry = self.find_env(catalog, to_project, to)?;
                let place = Place {
                    project: to_project,
                    env: to,
                };
                let held =
                    integrity::verified_env(&self.keys, &*txn, &entry.id, &entry.digest, &place)?;
                if !held.is_empty() && mode == CloneMode::Refuse {
                    return Err(VaultError::CloneTargetNotEmpty {
                        project: to_project.into(),
                        env: to.into(),
                        count: held.len(),
                    });
                }
                (entry.id, held.into_iter().collect())
            } else {
                report.created_env = true;
                (self.insert_env(txn, to_project, to, at)?, HashMap::new())
            };
            let mut changed = BTreeSet::new();
            for (src_id, bytes) in records {
                let record: SecretRecord = decode(&bytes, "secret record")?;
                let meta = self.open_meta(&src_id, &record, (project, from))?;
                let SecretMeta::V1 { key, .. } = &meta;
                let key = key.clone();
                let id = self.secret_id(&target, to_project, to, &key)?;
                let held = existing
                    .get(&id)
                    .map(|b| decode::<SecretRecord>(b, "secret record"))
                    .transpose()?;
                let value = self.open_value(&src_id, &record, (project, from), &key)?;
                let source = Source { meta, value };
                let replace = mode != CloneMode::Merge;
                match self.put_copy(txn, &id, held.as_ref(), (to_project, to), &source, replace)? {
                    Put::Created => report.added.push(key),
                    Put::Replaced => report.replaced.push(key),
                    Put::Unchanged => {
                        report.unchanged.push(key);
                        continue;
                    }
                    Put::Kept => {
                        report.kept.push(key);
                        continue;
                    }
                }
                changed.insert(leaf_of(&id));
            }
            if !changed.is_empty() {
                integrity::rehash(&self.keys, txn, &target, changed)?;
            }
            // `kept` and `unchanged` are about keys the target had: sorted like the rest.
            for list in [
                &mut report.added,
                &mut report.replaced,
                &mut report.unchanged,
                &mut report.kept,
            ] {
                list.sort();
            }
            Ok(report)
        })?;
        if let Some(guard) = team {
            self.team_after_catalog(guard, identity, &[(to_project, to)], Touch::Whole)?;
        }
        let copied: Vec<&str> = report
            .added
            .iter()
            .chain(&report.replaced)
            .map(String::as_str)
            .collect();
        self.audit(
            &format!("{CLONE_TO} {to_project}/{to}"),
            project,
            from,
            &copied.join(","),
        );
        self.audit(
            &format!("env clone from {project}/{from}"),
            to_project,
            to,
            &copied.join(","),
        );
        Ok(report)
    }

    /// A source secret, opened: its metadata and its value.
    fn open_source(
        &self,
        id: &SecretId,
        record: &SecretRecord,
        place: (&str, &str),
        key: &str,
    ) -> Result<Source> {
        Ok(Source {
            meta: self.open_meta(id, record, place)?,
            value: self.open_value(id, record, place, key)?,
        })
    }

    /// Seals the source's value and metadata under the target record's id; an existing
    /// secret that differs is replaced only with `replace`. A replaced secret keeps its
    /// creation date, and its value's age when the bytes are the same.
    fn put_copy(
        &self,
        txn: &mut dyn super::storage::WriteTxn,
        id: &SecretId,
        existing: Option<&SecretRecord>,
        place: (&str, &str),
        source: &Source,
        replace: bool,
    ) -> Result<Put> {
        let SecretMeta::V1 {
            key,
            description,
            kind,
            value_changed,
            ..
        } = &source.meta;
        let at = now();
        let (created, value_changed, outcome) = match existing {
            None => (at, *value_changed, Put::Created),
            Some(record) => {
                let SecretMeta::V1 {
                    description: held_description,
                    kind: held_kind,
                    created,
                    value_changed: held_changed,
                    ..
                } = self.open_meta(id, record, place)?;
                let held = self.open_value(id, record, place, key)?;
                let same_value =
                    held.len() == source.value.len() && crypto::same(&held, &source.value);
                if same_value && held_description == *description && held_kind == *kind {
                    return Ok(Put::Unchanged);
                }
                if !replace {
                    return Ok(Put::Kept);
                }
                let changed = if same_value {
                    held_changed
                } else {
                    // The replaced value stays undoable, as with `edit` or `import`.
                    self.keep_history(txn, id, record, place, key, at)?;
                    *value_changed
                };
                (created, changed, Put::Replaced)
            }
        };
        let meta = SecretMeta::V1 {
            key: key.clone(),
            description: description.clone(),
            kind: *kind,
            created,
            updated: at,
            value_changed,
            value_len: source.value.len() as u32,
        };
        self.put_record(txn, id, &meta, Some(&source.value), None)?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::storage::Table;
    use crate::vault::{NewCredential, NewSecret, SecretType};

    fn vault(dir: &tempfile::TempDir) -> Vault {
        Vault::create(
            &dir.path().join("v.tresor"),
            NewCredential::Keyfile(dir.path().join("k")),
        )
        .expect("create")
    }

    fn add(v: &Vault, env: &str, key: &str, value: &[u8], description: &str) {
        let secret = NewSecret {
            key: key.into(),
            value: SecretValue::new(value.to_vec()),
            description: description.into(),
            kind: Some(SecretType::Password),
        };
        v.add("default", env, secret).expect("add");
    }

    /// The stored record of a secret, as bytes.
    fn record(v: &Vault, env: &str, key: &str) -> Vec<u8> {
        let env_id = v.env_id("default", env).expect("env id");
        let id = v.secret_id(&env_id, "default", env, key).expect("id");
        let mut out = None;
        v.storage
            .read(&mut |txn| {
                out = txn.get(Table::Secrets, &id)?;
                Ok(())
            })
            .expect("read");
        out.expect("record")
    }

    #[test]
    fn a_copy_is_sealed_again_for_its_new_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let v = vault(&dir);
        add(&v, "development", "DB_PASS", b"pw-123", "from the DBA");
        let outcome = v
            .copy_secret(
                "DB_PASS",
                ("default", "development"),
                ("default", "staging"),
                false,
            )
            .expect("copy");
        assert_eq!(outcome, CopyOutcome::Created);
        let (src, dst) = (
            record(&v, "development", "DB_PASS"),
            record(&v, "staging", "DB_PASS"),
        );
        let (SecretRecord::V1 { value: a, .. }, SecretRecord::V1 { value: b, .. }) = (
            decode::<SecretRecord>(&src, "r").expect("decode"),
            decode::<SecretRecord>(&dst, "r").expect("decode"),
        );
        assert_ne!(a, b, "the ciphertext is not carried over");
        assert_eq!(
            &*v.get("default", "staging", "DB_PASS").expect("get"),
            b"pw-123"
        );
        let copied = &v.list("default", "staging").expect("list")[0];
        assert_eq!(copied.description, "from the DBA");
        assert_eq!(copied.kind, SecretType::Password);
    }

    #[test]
    fn copying_over_an_existing_key_needs_overwrite_and_same_place_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let v = vault(&dir);
        add(&v, "development", "K", b"one", "");
        add(&v, "staging", "K", b"two", "");
        let from = ("default", "development");
        let to = ("default", "staging");
        assert!(matches!(
            v.copy_secret("K", from, to, false),
            Err(VaultError::Duplicate { .. })
        ));
        assert_eq!(&*v.get("default", "staging", "K").expect("get"), b"two");
        assert_eq!(
            v.copy_secret("K", from, to, true).expect("copy"),
            CopyOutcome::Replaced
        );
        assert_eq!(
            v.copy_secret("K", from, to, true).expect("copy"),
            CopyOutcome::Unchanged
        );
        assert!(matches!(
            v.copy_secret("K", from, from, true),
            Err(VaultError::SamePlace { .. })
        ));
        let targets = v
            .copy_targets("default", "development", "K")
            .expect("targets");
        let shown: Vec<(&str, bool)> = targets.iter().map(|t| (t.env.as_str(), t.exists)).collect();
        assert_eq!(shown, [("staging", true), ("production", false)]);
    }

    #[test]
    fn clone_reports_what_it_did_in_each_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let v = vault(&dir);
        add(&v, "development", "A", b"a", "");
        add(&v, "development", "B", b"b", "");
        add(&v, "development", "C", b"c", "");
        add(&v, "staging", "B", b"b", "");
        add(&v, "staging", "C", b"other", "");
        add(&v, "staging", "OWN", b"own", "");
        let (from, to) = (("default", "development"), ("default", "staging"));
        assert!(matches!(
            v.clone_env(from, to, CloneMode::Refuse),
            Err(VaultError::CloneTargetNotEmpty { count: 3, .. })
        ));
        let merged = v.clone_env(from, to, CloneMode::Merge).expect("merge");
        assert_eq!(merged.added, ["A"]);
        assert_eq!(merged.unchanged, ["B"]);
        assert_eq!(merged.kept, ["C"]);
        let over = v
            .clone_env(from, to, CloneMode::Overwrite)
            .expect("overwrite");
        assert_eq!(over.replaced, ["C"]);
        assert_eq!(over.unchanged, ["A", "B"]);
        assert_eq!(&*v.get("default", "staging", "OWN").expect("get"), b"own");
        let fresh = v
            .clone_env(from, ("other", "dev"), CloneMode::Refuse)
            .expect("new");
        assert!(fresh.created_env);
        assert_eq!(fresh.added, ["A", "B", "C"]);
        let findings = v.doctor().expect("doctor");
        assert!(!findings.iter().any(|f| f.is_problem()), "{findings:?}");
    }
}
