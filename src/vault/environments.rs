//! Projects and environments: the catalog of the vault.
//!
//! An environment is one sealed record (its project, name and creation time) under a
//! blind id, plus its integrity tree. A project exists as long as it has an environment.

use std::collections::BTreeMap;

use super::error::{Result, VaultError};
use super::integrity;
use super::records::{EnvMeta, EnvRecord, encode};
use super::storage::{Table, WriteTxn};
use super::team::Touch;
use super::team::identity::Identity;
use super::{
    Catalog, DEFAULT_ENVIRONMENTS, EnvEntry, EnvId, EnvironmentInfo, Vault, crypto, env_rank,
    legacy, now, validate,
};

/// How long a value may stay unchanged before it is stale, unless its environment says.
pub const DEFAULT_ROTATE_DAYS: u16 = 90;
/// Ten years: anything longer is a typo.
pub const MAX_ROTATE_DAYS: u16 = 3650;

/// A missing project, named with the projects there are.
pub(super) fn project_not_found(project: &str, all: impl Iterator<Item = String>) -> VaultError {
    let mut projects: Vec<String> = all.collect();
    projects.sort();
    projects.dedup();
    VaultError::ProjectNotFound {
        project: project.into(),
        projects,
    }
}

impl Catalog {
    /// Finds an environment. A project that does not exist is named as such.
    fn find(&self, project: &str, env: &str) -> Result<&EnvEntry> {
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.project == project && e.name == env)
        {
            return Ok(e);
        }
        if !self.entries.iter().any(|e| e.project == project) {
            return Err(project_not_found(
                project,
                self.entries.iter().map(|e| e.project.clone()),
            ));
        }
        Err(VaultError::EnvNotFound {
            project: project.into(),
            env: env.into(),
        })
    }
}

impl Vault {
    /// The environment, checking that its id is the one its name derives.
    pub(super) fn find_env<'c>(
        &self,
        catalog: &'c Catalog,
        project: &str,
        env: &str,
    ) -> Result<&'c EnvEntry> {
        let entry = catalog.find(project, env)?;
        if entry.id != self.env_id(project, env)? {
            return Err(VaultError::Corrupt(format!(
                "environment `{project}/{env}` is stored under another environment's id"
            )));
        }
        Ok(entry)
    }

    /// Seals and stores a new environment with an empty integrity tree.
    pub(super) fn insert_env(
        &self,
        txn: &mut dyn WriteTxn,
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
        self.put_env_record(txn, &id, &meta)?;
        integrity::create_env_tree(&self.keys, txn, &id)?;
        Ok(id)
    }

    /// Seals an environment's (project, name, created[, rotation]) under its id. The
    /// record is part of the vault digest, so changing it is tamper-evident.
    fn put_env_record(&self, txn: &mut dyn WriteTxn, id: &EnvId, meta: &EnvMeta) -> Result<()> {
        let (nonce, sealed) = crypto::seal(
            &self.keys.meta,
            &encode(meta)?,
            &self.ad(b"tresor/v1/environment\0", id),
        )?;
        txn.put(
            Table::Environments,
            id,
            &encode(&EnvRecord::V1 { nonce, sealed })?,
        )
    }

    /// Rewrites an environment's record with its own rotation period (`rekey` keeps it).
    pub(super) fn set_env_rotation(
        &self,
        txn: &mut dyn WriteTxn,
        id: &EnvId,
        project: &str,
        env: &str,
        created: i64,
        rotate_days: u16,
    ) -> Result<()> {
        let meta = EnvMeta::V2 {
            project: project.into(),
            name: env.into(),
            created,
            rotate_days,
        };
        self.put_env_record(txn, id, &meta)
    }

    /// Sets how many days a value of this environment may stay unchanged before
    /// `tresor check` calls it stale (default 90). One transaction, audited.
    pub fn set_rotation(&self, project: &str, env: &str, days: u16) -> Result<()> {
        if !(1..=MAX_ROTATE_DAYS).contains(&days) {
            return Err(VaultError::InvalidName {
                what: "rotation period",
                name: days.to_string(),
                reason: format!("use 1 to {MAX_ROTATE_DAYS} days"),
            });
        }
        let team = self.team_before_catalog(false)?;
        self.write(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            self.set_env_rotation(txn, &entry.id, project, env, entry.created, days)
        })?;
        if let Some(guard) = team {
            self.team_after_catalog(guard, None, &[(project, env)], Touch::Record)?;
        }
        self.audit(
            "env set",
            project,
            env,
            &format!("rotate every {days} days"),
        );
        Ok(())
    }

    /// Each environment's rotation period in days (the default where none is set), as
    /// (project, environment, days).
    pub fn rotation_periods(&self) -> Result<Vec<(String, String, u16)>> {
        if self.format < super::records::FORMAT {
            return Ok(legacy::environments(self)?
                .into_iter()
                .map(|e| (e.project, e.name, DEFAULT_ROTATE_DAYS))
                .collect());
        }
        self.read(|_, catalog| {
            Ok(catalog
                .entries
                .iter()
                .map(|e| {
                    let days = e.rotate_days.unwrap_or(DEFAULT_ROTATE_DAYS);
                    (e.project.clone(), e.name.clone(), days)
                })
                .collect())
        })
    }

    /// Every environment of every project, with its number of secrets.
    pub fn environments(&self) -> Result<Vec<EnvironmentInfo>> {
        let mut out = if self.format < super::records::FORMAT {
            legacy::environments(self)?
        } else {
            self.read(|txn, catalog| {
                let mut out = Vec::with_capacity(catalog.entries.len());
                for e in &catalog.entries {
                    // Counted from verified records: rows added outside tresor do not count.
                    let place = integrity::Place {
                        project: &e.project,
                        env: &e.name,
                    };
                    let records =
                        integrity::verified_env(&self.keys, txn, &e.id, &e.digest, &place)?;
                    out.push(EnvironmentInfo {
                        project: e.project.clone(),
                        name: e.name.clone(),
                        created: e.created,
                        secrets: records.len(),
                    });
                }
                Ok(out)
            })?
        };
        out.sort_by(|a, b| (&a.project, env_rank(&a.name)).cmp(&(&b.project, env_rank(&b.name))));
        Ok(out)
    }

    /// Every environment, verified, with the number of its stored records, counted
    /// without verifying each record: for the Secrets screen's tabs, which are redrawn
    /// often. A record added outside tresor can show in this count, never in a listing
    /// (`environments` counts verified records, at the cost of reading them all).
    pub fn environment_tabs(&self) -> Result<Vec<EnvironmentInfo>> {
        if self.format < super::records::FORMAT {
            return self.environments();
        }
        let mut out = self.read(|txn, catalog| {
            let mut out = Vec::with_capacity(catalog.entries.len());
            for e in &catalog.entries {
                out.push(EnvironmentInfo {
                    project: e.project.clone(),
                    name: e.name.clone(),
                    created: e.created,
                    secrets: txn.count(Table::Secrets, &e.id)? as usize,
                });
            }
            Ok(out)
        })?;
        out.sort_by(|a, b| (&a.project, env_rank(&a.name)).cmp(&(&b.project, env_rank(&b.name))));
        Ok(out)
    }

    /// An opaque reference to an environment, for remembering it outside the vault (the
    /// TUI's "where you were"): its blind id in hex. Without the key it names nothing, and
    /// the vault file already shows it as a row key; it changes when `rekey` makes a new
    /// data key, after which the reference matches nothing.
    pub fn environment_ref(&self, project: &str, env: &str) -> Result<String> {
        let id = self.env_id(project, env)?;
        Ok(id.iter().map(|b| format!("{b:02x}")).collect())
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
        self.add_env_as(None, project, env)
    }

    /// [`Vault::add_env`]; on a team vault, by an admin whose `identity` wraps the new
    /// environment's key to the members who read every environment.
    pub fn add_env_as(&self, identity: Option<&Identity>, project: &str, env: &str) -> Result<()> {
        validate::name("project", project)?;
        validate::name("environment", env)?;
        let team = self.team_before_new_env(identity)?;
        self.write(|txn, catalog| {
            if catalog
                .entries
                .iter()
                .any(|e| e.project == project && e.name == env)
            {
                return Err(VaultError::EnvExists {
                    project: project.into(),
                    env: env.into(),
                });
            }
            self.insert_env(txn, project, env, now())?;
            Ok(())
        })?;
        if let Some(guard) = team {
            self.team_after_catalog(guard, identity, &[(project, env)], Touch::Whole)?;
        }
        self.audit("env add", project, env, "");
        Ok(())
    }

    /// Creates a project with the three usual environments.
    pub fn add_project(&self, project: &str) -> Result<()> {
        self.add_project_as(None, project)
    }

    /// [`Vault::add_project`]; on a team vault, by an admin (see [`Vault::add_env_as`]).
    pub fn add_project_as(&self, identity: Option<&Identity>, project: &str) -> Result<()> {
        validate::name("project", project)?;
        let team = self.team_before_new_env(identity)?;
        self.write(|txn, catalog| {
            if catalog.entries.iter().any(|e| e.project == project) {
                return Err(VaultError::InvalidName {
                    what: "project",
                    name: project.into(),
                    reason: "a project with this name already exists".into(),
                });
            }
            for env in DEFAULT_ENVIRONMENTS {
                self.insert_env(txn, project, env, now())?;
            }
            Ok(())
        })?;
        if let Some(guard) = team {
            let envs: Vec<(&str, &str)> =
                DEFAULT_ENVIRONMENTS.iter().map(|e| (project, *e)).collect();
            self.team_after_catalog(guard, identity, &envs, Touch::Whole)?;
        }
        self.audit("project add", project, "", "");
        Ok(())
    }

    /// Removes an environment; one holding secrets needs `force`. The last environment of
    /// a project stays, so a project never silently disappears.
    pub fn remove_env(&self, project: &str, env: &str, force: bool) -> Result<usize> {
        let team = self.team_before_catalog(true)?;
        let removed = self.write(|txn, catalog| {
            let siblings = catalog
                .entries
                .iter()
                .filter(|e| e.project == project)
                .count();
            if siblings <= 1 {
                return Err(VaultError::LastEnv {
                    project: project.into(),
                    env: env.into(),
                });
            }
            let entry = self.find_env(catalog, project, env)?;
            let env_id = entry.id;
            let place = integrity::Place { project, env };
            let count =
                integrity::verified_env(&self.keys, &*txn, &entry.id, &entry.digest, &place)?.len();
            if count > 0 && !force {
                return Err(VaultError::EnvNotEmpty {
                    project: project.into(),
                    env: env.into(),
                    count,
                });
            }
            txn.delete_prefix(Table::Secrets, &env_id)?;
            txn.delete_prefix(Table::History, &env_id)?;
            integrity::remove_env_tree(txn, &env_id)?;
            txn.delete(Table::Environments, &env_id)?;
            Ok(count)
        })?;
        if let Some(guard) = team {
            self.team_after_catalog(guard, None, &[(project, env)], Touch::Whole)?;
        }
        self.audit("env rm", project, env, "");
        Ok(removed)
    }

    /// Removes a project with all its environments, in one transaction. One holding
    /// secrets needs `force`; the last project stays (a vault always has one). Returns
    /// (environments, secrets) removed.
    pub fn remove_project(&self, project: &str, force: bool) -> Result<(usize, usize)> {
        let team = self.team_before_catalog(true)?;
        let names: Vec<String> = match &team {
            Some(_) => self
                .environment_tabs()?
                .into_iter()
                .filter(|e| e.project == project)
                .map(|e| e.name)
                .collect(),
            None => Vec::new(),
        };
        let removed = self.write(|txn, catalog| {
            let envs: Vec<&EnvEntry> = catalog
                .entries
                .iter()
                .filter(|e| e.project == project)
                .collect();
            if envs.is_empty() {
                return Err(project_not_found(
                    project,
                    catalog.entries.iter().map(|e| e.project.clone()),
                ));
            }
            if envs.len() == catalog.entries.len() {
                return Err(VaultError::LastProject {
                    project: project.into(),
                });
            }
            let mut count = 0;
            for entry in &envs {
                let place = integrity::Place {
                    project,
                    env: &entry.name,
                };
                count +=
                    integrity::verified_env(&self.keys, &*txn, &entry.id, &entry.digest, &place)?
                        .len();
            }
            if count > 0 && !force {
                return Err(VaultError::ProjectNotEmpty {
                    project: project.into(),
                    count,
                    envs: envs.len(),
                });
            }
            for entry in &envs {
                txn.delete_prefix(Table::Secrets, &entry.id)?;
                integrity::remove_env_tree(txn, &entry.id)?;
                txn.delete(Table::Environments, &entry.id)?;
            }
            Ok((envs.len(), count))
        })?;
        if let Some(guard) = team {
            let envs: Vec<(&str, &str)> = names.iter().map(|e| (project, e.as_str())).collect();
            self.team_after_catalog(guard, None, &envs, Touch::Whole)?;
        }
        self.audit(
            "project rm",
            project,
            "",
            &format!("{} environments, {} secrets", removed.0, removed.1),
        );
        Ok(removed)
    }
}
