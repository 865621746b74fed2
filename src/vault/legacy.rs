//! Format 1, read only: the layout the first release wrote (typed redb tables `*_v1`,
//! one digest over each environment's records, a vault digest over the environments).
//!
//! A format-1 vault keeps opening for reads as it always did; it is never changed in
//! place. Its first change upgrades it (`rekey` reads everything here, verified, and
//! writes format 2 in the same transaction, then drops these tables). On files that
//! predate the vault digest, the older catalog digest (environment records only) is
//! still accepted for reads; after the upgrade nothing can bring it back (see `rekey`).

use std::path::Path;

use redb::{ReadableTable, TableDefinition};

use super::crypto::{self, Mac};
use super::error::{Result, VaultError};
use super::records::{SecretMeta, SecretRecord, Slot, decode};
use super::rekey::{Plain, PlainEnv};
use super::secrets::{info, not_found};
use super::{EnvId, EnvironmentInfo, SecretInfo, SecretValue, Vault, high_water, store};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta_v1");
const KEYSLOTS: TableDefinition<u32, &[u8]> = TableDefinition::new("keyslots_v1");
const ENVIRONMENTS: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("environments_v1");
const SECRETS: TableDefinition<[u8; 48], &[u8]> = TableDefinition::new("secrets_v1");
const DIGESTS: TableDefinition<[u8; 16], [u8; 32]> = TableDefinition::new("digests_v1");

/// The tables an upgrade removes.
pub const TABLES: &[&str] = &[
    "meta_v1",
    "keyslots_v1",
    "environments_v1",
    "secrets_v1",
    "digests_v1",
];
const HEADER_KEY: &str = "header";
const VAULT_DIGEST_KEY: &str = "vault_digest";
const LEGACY_CATALOG_DIGEST_KEY: &str = "catalog_digest";

/// The header's bytes and the key slots, by id.
pub(super) type HeaderAndSlots = (Vec<u8>, Vec<(u32, Slot)>);

/// The header and key slots of a format-1 file.
pub(super) fn read_header_and_slots(path: &Path) -> Result<HeaderAndSlots> {
    let db = store::open_read(path)?;
    let txn = store::read_txn(&db)?;
    store::fenced(|| {
        let not_a_vault = || VaultError::NotAVault(path.to_path_buf());
        let meta = txn.open_table(META).map_err(|_| not_a_vault())?;
        let header = meta
            .get(HEADER_KEY)?
            .map(|h| h.value().to_vec())
            .ok_or_else(not_a_vault)?;
        let mut slots = Vec::new();
        for entry in txn.open_table(KEYSLOTS)?.iter()? {
            let (k, v) = entry?;
            slots.push((k.value(), decode(v.value(), "key slot")?));
        }
        Ok((header, slots))
    })
}

/// One environment of a format-1 catalog.
pub(super) struct V1Env {
    id: EnvId,
    pub project: String,
    pub name: String,
    pub created: i64,
}

/// The tables of a format-1 file, from a read or a write transaction.
struct V1<M, E, S, D> {
    meta: M,
    envs: E,
    secrets: S,
    digests: D,
}

/// What `doctor` reports about a format-1 file.
pub(super) struct Health {
    pub catalog_ok: bool,
    /// Only the older catalog digest vouches for it.
    pub legacy_digest: bool,
    /// (project, environment, secrets, problems)
    pub envs: Vec<(String, String, usize, Vec<String>)>,
}

impl<M, E, S, D> V1<M, E, S, D>
where
    M: ReadableTable<&'static str, &'static [u8]>,
    E: ReadableTable<[u8; 16], &'static [u8]>,
    S: ReadableTable<[u8; 48], &'static [u8]>,
    D: ReadableTable<[u8; 16], [u8; 32]>,
{
    /// Every environment, and whether the stored digest vouches for them.
    fn catalog_unverified(&self, vault: &Vault) -> Result<(Vec<V1Env>, bool, bool)> {
        let mut mac = Mac::new(&vault.keys.digest, 32)?;
        mac.field(b"vault")?;
        let mut legacy = Mac::new(&vault.keys.digest, 32)?;
        legacy.field(b"catalog")?;
        let mut out = Vec::new();
        for entry in self.envs.iter()? {
            let (k, v) = entry?;
            let id = k.value();
            for m in [&mut mac, &mut legacy] {
                m.field(&id)?;
                m.field(v.value())?;
            }
            match self.digests.get(id)? {
                Some(d) => mac.field(&d.value())?,
                None => mac.field(b"")?,
            }
            let (project, name, created, _) = vault.open_env_record(&id, v.value())?.into_parts();
            out.push(V1Env {
                id,
                project,
                name,
                created,
            });
        }
        let vault_digest: [u8; 32] = mac.finish()?;
        let legacy_digest: [u8; 32] = legacy.finish()?;
        let (ok, legacy_used) = match self.meta.get(VAULT_DIGEST_KEY)? {
            Some(stored) => (crypto::same(stored.value(), &vault_digest), false),
            None => (
                self.meta
                    .get(LEGACY_CATALOG_DIGEST_KEY)?
                    .is_some_and(|s| crypto::same(s.value(), &legacy_digest)),
                true,
            ),
        };
        Ok((out, ok, legacy_used))
    }

    fn catalog(&self, vault: &Vault) -> Result<Vec<V1Env>> {
        match self.catalog_unverified(vault)? {
            (envs, true, _) => Ok(envs),
            _ => Err(VaultError::CatalogMismatch),
        }
    }

    fn find(&self, vault: &Vault, project: &str, env: &str) -> Result<V1Env> {
        let envs = self.catalog(vault)?;
        if !envs.iter().any(|e| e.project == project) {
            return Err(super::environments::project_not_found(
                project,
                envs.iter().map(|e| e.project.clone()),
            ));
        }
        let want = vault.env_id(project, env)?;
        envs.into_iter()
            .find(|e| e.id == want && e.project == project && e.name == env)
            .ok_or_else(|| VaultError::EnvNotFound {
                project: project.into(),
                env: env.into(),
            })
    }

    /// The records of an environment after checking its digest.
    fn records(&self, vault: &Vault, env: &V1Env) -> Result<Vec<([u8; 48], SecretRecord)>> {
        let mut mac = Mac::new(&vault.keys.digest, 32)?;
        mac.field(b"environment")?;
        mac.field(&env.id)?;
        let mut out = Vec::new();
        for entry in self.secrets.range(range(&env.id))? {
            let (k, v) = entry?;
            mac.field(&k.value())?;
            mac.field(v.value())?;
            out.push((k.value(), decode(v.value(), "secret record")?));
        }
        let actual: [u8; 32] = mac.finish()?;
        match self.digests.get(env.id)? {
            Some(s) if crypto::same(&s.value(), &actual) => Ok(out),
            _ => Err(VaultError::DigestMismatch {
                project: env.project.clone(),
                env: env.name.clone(),
            }),
        }
    }

    fn plain_env(&self, vault: &Vault, env: &V1Env) -> Result<PlainEnv> {
        let at = (env.project.as_str(), env.name.as_str());
        let mut secrets = Vec::new();
        for (id, record) in self.records(vault, env)? {
            let meta = vault.open_meta(&id, &record, at)?;
            let SecretMeta::V1 { key, .. } = &meta;
            let value = vault.open_value(&id, &record, at, key)?;
            secrets.push((meta, value));
        }
        Ok(PlainEnv {
            project: env.project.clone(),
            name: env.name.clone(),
            created: env.created,
            rotate_days: None,
            secrets,
            history: Vec::new(),
        })
    }
}

/// A format-1 file of a vault this machine has opened in format 2 is an older copy.
fn refuse_if_newer_seen(vault: &Vault) -> Result<()> {
    if high_water::exists(&vault.keys.vault_id) {
        return Err(VaultError::OlderFormatThanSeen);
    }
    Ok(())
}

fn range(env_id: &EnvId) -> std::ops::RangeInclusive<[u8; 48]> {
    let mut lo = [0u8; 48];
    let mut hi = [0xffu8; 48];
    lo[..16].copy_from_slice(env_id);
    hi[..16].copy_from_slice(env_id);
    lo..=hi
}

/// Runs `f` over the format-1 tables of a read transaction.
fn read<T>(
    vault: &Vault,
    f: impl FnOnce(
        &V1<
            redb::ReadOnlyTable<&'static str, &'static [u8]>,
            redb::ReadOnlyTable<[u8; 16], &'static [u8]>,
            redb::ReadOnlyTable<[u8; 48], &'static [u8]>,
            redb::ReadOnlyTable<[u8; 16], [u8; 32]>,
        >,
    ) -> Result<T>,
) -> Result<T> {
    refuse_if_newer_seen(vault)?;
    let db = store::open_read(&vault.path)?;
    let txn = store::read_txn(&db)?;
    store::fenced(|| {
        let tables = V1 {
            meta: txn.open_table(META)?,
            envs: txn.open_table(ENVIRONMENTS)?,
            secrets: txn.open_table(SECRETS)?,
            digests: txn.open_table(DIGESTS)?,
        };
        f(&tables)
    })
}

pub(super) fn environments(vault: &Vault) -> Result<Vec<EnvironmentInfo>> {
    read(vault, |t| {
        let mut out = Vec::new();
        for env in t.catalog(vault)? {
            let mut count = 0;
            for entry in t.secrets.range(range(&env.id))? {
                entry?;
                count += 1;
            }
            out.push(EnvironmentInfo {
                project: env.project,
                name: env.name,
                created: env.created,
                secrets: count,
            });
        }
        Ok(out)
    })
}

pub(super) fn list(vault: &Vault, project: &str, env: &str) -> Result<Vec<SecretInfo>> {
    let mut out = read(vault, |t| {
        let e = t.find(vault, project, env)?;
        let mut out = Vec::new();
        for (id, record) in t.records(vault, &e)? {
            out.push(info(vault.open_meta(&id, &record, (project, env))?));
        }
        Ok(out)
    })?;
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

pub(super) fn get(vault: &Vault, project: &str, env: &str, key: &str) -> Result<SecretValue> {
    read(vault, |t| {
        let e = t.find(vault, project, env)?;
        let id = vault.secret_id(&e.id, project, env, key)?;
        let records = t.records(vault, &e)?;
        let (_, record) = records
            .iter()
            .find(|(k, _)| *k == id)
            .ok_or_else(|| not_found(project, env, key))?;
        vault.open_value(&id, record, (project, env), key)
    })
}

pub(super) fn reveal_all(
    vault: &Vault,
    project: &str,
    env: &str,
) -> Result<Vec<(SecretInfo, SecretValue)>> {
    read(vault, |t| {
        let e = t.find(vault, project, env)?;
        Ok(t.plain_env(vault, &e)?
            .secrets
            .into_iter()
            .map(|(meta, value)| (info(meta), value))
            .collect())
    })
}

/// Everything in a format-1 file, verified, from the transaction that will replace it.
pub(super) fn export(vault: &Vault, txn: &redb::WriteTransaction) -> Result<Plain> {
    refuse_if_newer_seen(vault)?;
    let tables = V1 {
        meta: txn.open_table(META)?,
        envs: txn.open_table(ENVIRONMENTS)?,
        secrets: txn.open_table(SECRETS)?,
        digests: txn.open_table(DIGESTS)?,
    };
    let header = tables
        .meta
        .get(HEADER_KEY)?
        .map(|h| h.value().to_vec())
        .ok_or_else(|| VaultError::NotAVault(vault.path.clone()))?;
    let mut envs = Vec::new();
    for env in tables.catalog(vault)? {
        envs.push(tables.plain_env(vault, &env)?);
    }
    let mut slots = Vec::new();
    for entry in txn.open_table(KEYSLOTS)?.iter()? {
        let (k, v) = entry?;
        slots.push((k.value(), decode(v.value(), "key slot")?));
    }
    Ok(Plain {
        header,
        slots,
        version: 0,
        envs,
        history_depth: None,
    })
}

/// Every check `doctor` runs on a format-1 file: the catalog, and each environment's
/// digest and records (all of them, even when the catalog fails).
pub(super) fn health(vault: &Vault) -> Result<Health> {
    read(vault, |t| {
        let (catalog, catalog_ok, legacy_digest) = t.catalog_unverified(vault)?;
        let mut envs = Vec::new();
        for env in catalog {
            let mut problems = Vec::new();
            let mut count = 0;
            match t.records(vault, &env) {
                Ok(records) => {
                    count = records.len();
                    for (id, record) in records {
                        let at = (env.project.as_str(), env.name.as_str());
                        let opened = vault.open_meta(&id, &record, at).and_then(|meta| {
                            let SecretMeta::V1 { key, .. } = &meta;
                            vault.open_value(&id, &record, at, key).map(|_| ())
                        });
                        if let Err(e) = opened {
                            problems.push(e.to_string());
                        }
                    }
                }
                Err(e) => problems.push(e.to_string()),
            }
            envs.push((env.project, env.name, count, problems));
        }
        Ok(Health {
            catalog_ok,
            legacy_digest,
            envs,
        })
    })
}
