//! Projects and environments of a team vault, changed through the server like a secret:
//! the change is made on the replica first (so the vault's rules and messages apply),
//! then the server's rows of each touched environment are made to match the replica in
//! one server write. The functions here only say which rows to put and delete, so they
//! sit on whatever write path `team_write` is.
//!
//! Adding an environment makes its key and wraps it to every member who may read every
//! environment, signed by the admin's identity (HPKE auth mode; `adopt` accepts only
//! wraps by an admin), so only an admin adds one. Other members fetch the new key with
//! their identity at `tresor remote sync`. History stays with each replica.

use zeroize::Zeroizing;

use super::identity::Identity;
use super::keys::{self, EnvId, EnvKey, MemberId};
use super::records::{Role, Rows};
use super::sidecar::Sidecar;
use super::signing;
use super::{Edit, Held, TeamGuard, open_member, seal_secret, wrap_to};
use crate::vault::crypto;
use crate::vault::error::{Result, VaultError};
use crate::vault::integrity;
use crate::vault::records::{EnvMeta, SecretMeta, encode};
use crate::vault::storage::{Table, WriteTxn};
use crate::vault::{Catalog, SecretValue, Vault};

/// An environment as the replica holds it after a local change; `None`: it is gone.
pub(super) struct LocalEnv {
    meta: EnvMeta,
    /// Every secret, when the change was to them too; `None`: only the record changed.
    secrets: Option<Vec<(SecretMeta, SecretValue)>>,
}

/// How much of an environment a change touched.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Touch {
    /// Its record only (its rotation period).
    Record,
    /// Its record and every secret in it (added, removed, cloned into).
    Whole,
}

/// The rows of `env_id` put to match `local`, or deleted with its secrets and key wraps
/// when it is gone. A new environment gets a new key, wrapped by `identity` to every
/// member who reads every environment; it is returned for this replica to keep.
pub(super) fn env_rows(
    sc: &Sidecar,
    held: &Held,
    identity: Option<&Identity>,
    edit: &mut Edit,
    env_id: EnvId,
    local: Option<&LocalEnv>,
) -> Result<Option<EnvKey>> {
    let Some(local) = local else {
        edit.rows.envs.remove(&env_id);
        edit.clear_env(env_id);
        edit.rows
            .wraps
            .retain(|(_, scope), _| scope[..] != env_id[..]);
        return Ok(None);
    };
    edit.rows.envs.insert(
        env_id,
        keys::seal(
            &held.vk.catalog,
            &Zeroizing::new(encode(&local.meta)?),
            &keys::ad(b"environment", &sc.team, sc.epoch, &[&env_id]),
        )?,
    );
    let mut made = None;
    let key = match held.envs.get(&env_id) {
        Some(k) => k,
        None => {
            let identity = identity.filter(|_| sc.role == Role::Admin).ok_or_else(|| {
                VaultError::team(
                    "only an admin of the team vault can add an environment (its key is wrapped with the admin's identity)",
                )
            })?;
            let raw = crypto::random_key()?;
            for (id, public) in every_env_members(sc, held, &edit.rows)? {
                edit.rows.wraps.insert(
                    (id, env_id.to_vec()),
                    wrap_to(identity, &public, &sc.team, sc.epoch, &id, &env_id, &raw)?,
                );
            }
            &*made.insert(EnvKey::derive(raw, &sc.team, &env_id)?)
        }
    };
    if let Some(secrets) = &local.secrets {
        edit.clear_env(env_id);
        for (meta, value) in secrets {
            let (id, row) = seal_secret(key, &sc.team, sc.epoch, &env_id, meta, value)?;
            edit.put_secret((env_id, id), row);
        }
    }
    Ok(made)
}

/// The members whose record grants every environment, with their public keys.
fn every_env_members(
    sc: &Sidecar,
    held: &Held,
    rows: &Rows,
) -> Result<Vec<(MemberId, keys::PublicKeyBytes)>> {
    let mut out = Vec::new();
    for (id, sealed) in &rows.members {
        let record = open_member(&held.vk, &sc.team, sc.epoch, id, sealed)?;
        if record.envs().is_none() {
            out.push((*id, *record.public()));
        }
    }
    Ok(out)
}

/// What a writer is told when it tries to change the vault's shape.
fn not_admin() -> VaultError {
    VaultError::team(
        "only an admin of the team vault can add or remove its projects and environments: nothing was changed",
    )
}

impl Vault {
    /// Before a local change to projects or environments on a team replica: like
    /// `team_before_write`, and for a change of the vault's shape, an admin only.
    pub(in crate::vault) fn team_before_catalog(
        &self,
        admin_only: bool,
    ) -> Result<Option<TeamGuard<'_>>> {
        let guard = self.team_before_write()?;
        if guard.is_some() && admin_only && self.team_required()?.role != Role::Admin {
            return Err(not_admin());
        }
        Ok(guard)
    }

    /// Whether this replica holds the key of an environment of its team vault (always,
    /// for a local vault). An admin limited with `--only-env` who makes one does not: its
    /// key goes to the members who read every environment.
    pub fn team_holds_key(&self, project: &str, env: &str) -> Result<bool> {
        match self.team_env_ids()? {
            Some(ids) => ids.held(project, env),
            None => Ok(true),
        }
    }

    /// The replica's record and its vault key, to tell environments' ids (`None`: not a
    /// team vault). Loaded once for as many questions as a caller asks.
    fn team_env_ids(&self) -> Result<Option<EnvIds>> {
        let Some(sc) = self.team_load()? else {
            return Ok(None);
        };
        let vk = keys::VaultKey::derive(Zeroizing::new(sc.vault_key), &sc.team)?;
        Ok(Some(EnvIds { sc, vk }))
    }

    /// `result` of reading or changing secrets of an environment, where it says a secret
    /// is not there (`NotFound`) or the environment is `empty`: on a team replica that
    /// holds no key of the environment that is no access, and said so, rather than an
    /// empty environment to add secrets to.
    pub(in crate::vault) fn or_no_access<T>(
        &self,
        project: &str,
        env: &str,
        result: Result<T>,
        empty: impl FnOnce(&T) -> bool,
    ) -> Result<T> {
        let missing = match &result {
            Err(VaultError::NotFound { .. }) => true,
            Ok(found) => empty(found),
            // Not in the replica: shared since its last fetch of keys, or not there.
            Err(VaultError::EnvNotFound { .. }) => {
                let waits = self
                    .team_env_ids()
                    .ok()
                    .flatten()
                    .is_some_and(|ids| ids.waits(project, env).unwrap_or(false));
                return if waits {
                    Err(super::key_waits(project, env))
                } else {
                    result
                };
            }
            Err(_) => false,
        };
        if !missing {
            return result;
        }
        let Some(ids) = self.team_env_ids()? else {
            return result;
        };
        if !ids.held(project, env)? {
            if ids.waits(project, env)? {
                return Err(super::key_waits(project, env));
            }
            let mut readable = Vec::new();
            for e in self.environments()? {
                if e.project == project && ids.held(project, &e.name)? {
                    readable.push(e.name);
                }
            }
            return Err(super::no_access_naming(project, env, &readable));
        }
        result
    }

    /// Whether adding a project or an environment here needs this machine's identity
    /// (a team replica of which this member is an admin). A member who may not add one
    /// is told why, in the words the change itself would get, before typing a name.
    pub fn team_new_env_needs_identity(&self) -> Result<bool> {
        let Some(sc) = self.team_load()? else {
            return Ok(false);
        };
        match sc.role {
            Role::Admin => Ok(true),
            Role::Writer => Err(not_admin()),
            Role::Reader => Err(super::reader_refused()),
        }
    }

    /// Before adding an environment on a team replica: an admin, with the identity that
    /// wraps its key (the TUI asks for it first: `tui::team_identity`).
    pub(in crate::vault) fn team_before_new_env(
        &self,
        identity: Option<&Identity>,
    ) -> Result<Option<TeamGuard<'_>>> {
        let guard = self.team_before_catalog(true)?;
        if guard.is_some() && identity.is_none() {
            return Err(VaultError::team(
                "adding an environment to a team vault needs your identity, which wraps its key: use `tresor env add`, `tresor project add` or `tresor env clone` (nothing was changed)",
            ));
        }
        Ok(guard)
    }

    /// After a local change to these environments: the server's rows made to match the
    /// replica, in one server write. On failure the replica is rebuilt from the server.
    pub(in crate::vault) fn team_after_catalog(
        &self,
        guard: TeamGuard<'_>,
        identity: Option<&Identity>,
        envs: &[(&str, &str)],
        touch: Touch,
    ) -> Result<()> {
        let result = (|| {
            let mut sc = self.team_required()?;
            let mut plan = Vec::new();
            for (project, env) in envs {
                plan.push((*project, *env, self.local_env(project, env, touch)?));
            }
            let mut made = Vec::new();
            let mut gone = Vec::new();
            self.team_write(&mut sc, |sc, held, edit| {
                for (project, env, local) in &plan {
                    let env_id = held.vk.env_id(project, env)?;
                    if local.is_none() {
                        gone.push(env_id);
                    }
                    if let Some(k) = env_rows(sc, held, identity, edit, env_id, local.as_ref())? {
                        made.push((env_id, *k.raw));
                    }
                }
                Ok(())
            })?;
            // The new keys this member is wrapped are kept here, so the next sync can
            // read them (`remote sync` would fetch them otherwise).
            let replaced = |id: &EnvId| gone.contains(id) || made.iter().any(|(m, _)| m == id);
            sc.env_keys.retain(|(id, _)| !replaced(id));
            sc.key_wraps.retain(|(id, _)| !replaced(id));
            signing::keep_made_keys(&mut sc, made);
            self.team_save(&sc)
        })();
        if result.is_err() {
            let _ = self.sync_locked();
        }
        drop(guard);
        result
    }

    /// An environment as this replica holds it now; `None` when it is gone.
    fn local_env(&self, project: &str, env: &str, touch: Touch) -> Result<Option<LocalEnv>> {
        let entry = self.read(|_, catalog| {
            Ok(catalog
                .entries
                .iter()
                .find(|e| e.project == project && e.name == env)
                .map(|e| (e.created, e.rotate_days)))
        })?;
        let Some((created, rotate_days)) = entry else {
            return Ok(None);
        };
        let meta = match rotate_days {
            None => EnvMeta::V1 {
                project: project.into(),
                name: env.into(),
                created,
            },
            Some(rotate_days) => EnvMeta::V2 {
                project: project.into(),
                name: env.into(),
                created,
                rotate_days,
            },
        };
        let secrets = if touch == Touch::Whole {
            let mut out = Vec::new();
            for (id, record) in self.env_records(project, env)? {
                let place = (project, env);
                let meta = self.open_meta(&id, &record, place)?;
                let SecretMeta::V1 { key, .. } = &meta;
                let value = self.open_value(&id, &record, place, key)?;
                out.push((meta, value));
            }
            Some(out)
        } else {
            None
        };
        Ok(Some(LocalEnv { meta, secrets }))
    }
}

impl Vault {
    /// In a sync's local transaction: the environments an admin removed from the team
    /// vault are removed from this replica too (with their history).
    pub(super) fn drop_gone_envs(
        &self,
        txn: &mut dyn WriteTxn,
        catalog: &Catalog,
        held: &Held,
        rows: &Rows,
    ) -> Result<()> {
        for entry in &catalog.entries {
            if rows
                .envs
                .contains_key(&held.vk.env_id(&entry.project, &entry.name)?)
            {
                continue;
            }
            txn.delete_prefix(Table::Secrets, &entry.id)?;
            txn.delete_prefix(Table::History, &entry.id)?;
            integrity::remove_env_tree(txn, &entry.id)?;
            txn.delete(Table::Environments, &entry.id)?;
        }
        Ok(())
    }

    /// Whether the head this replica last applied wraps keys to this member that the
    /// replica lacks (an environment shared since it last fetched them): `remote sync`
    /// then fetches them with the identity. Asks no server.
    pub fn team_keys_waiting(&self) -> Result<bool> {
        let Some(sc) = self.team_load()? else {
            return Ok(false);
        };
        Ok(super::keys_waiting(&sc).next().is_some())
    }
}

/// A replica's record and vault key: the environments' ids, and which keys it holds or
/// waits for.
struct EnvIds {
    sc: Sidecar,
    vk: keys::VaultKey,
}

impl EnvIds {
    /// Whether the replica holds the key of `project/env`.
    fn held(&self, project: &str, env: &str) -> Result<bool> {
        let id = self.vk.env_id(project, env)?;
        Ok(self.sc.env_keys.iter().any(|(held, _)| *held == id))
    }

    /// Whether the key of `project/env` waits for this member (`keys_waiting`).
    fn waits(&self, project: &str, env: &str) -> Result<bool> {
        let id = self.vk.env_id(project, env)?;
        Ok(super::keys_waiting(&self.sc).any(|scope| scope == id))
    }
}
