//! For tests only (feature `test-support`): what a member whose client is modified could
//! write straight into the database with the keys its replica holds: rows sealed and a
//! commit MAC'd, chained and logged exactly as tresor would, signed with its own key
//! or not at all. The signature tests show which of these the other members refuse.

use std::collections::BTreeMap;

use super::keys::EnvId;
use super::log::{self, CommitBody, Place};
use super::records::{HeadRecord, MemberRecord, MembersSeal, Role, head_hash};
use super::signing::{self, MEMBERS_CONTEXT};
use super::{Held, open_member, seal_secret, server};
use crate::vault::error::{Result, VaultError};
use crate::vault::records::{decode, encode};
use crate::vault::{Vault, now};

/// What the forger changes.
#[derive(Debug, Clone)]
pub enum Forgery<'a> {
    /// A new value for a secret this member can read (project, environment, key, value).
    Value(&'a str, &'a str, &'a str, &'a [u8]),
    /// This member's own record, with another role (an admin's appointment missing).
    SetMyRole(Role),
    /// Every secret row of an environment deleted (project, environment): needs no key
    /// of that environment, only its rows' blind ids, which the database shows.
    DeleteEnvSecrets(&'a str, &'a str),
    /// The records of two environments of a project sealed again with each other's
    /// names (project, a, b): needs only the vault key.
    SwapEnvNames(&'a str, &'a str, &'a str),
    /// An environment's record deleted (project, environment) without its place in the
    /// commit's list of changes (the commit's `small_root` still covers the new table):
    /// needs only the vault key.
    DropEnvUnnamed(&'a str, &'a str),
    /// An earlier member list and key wraps put back with the admin's seal of then
    /// (`Vault::test_team_members_now`), their places not named: needs only the vault key.
    RestoreMembers(&'a super::records::Rows, &'a MembersSeal),
    /// A record for an environment that does not exist (project, environment), named in
    /// the commit: what only an admin's `env add` makes. Needs only the vault key.
    NewEnv(&'a str, &'a str),
}

/// How the forged head is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgedSignature {
    /// No signature (a head as tresor wrote before signatures).
    None,
    /// Signed by this member; the member list's seal carried from the current head.
    Mine,
    /// Signed by this member, the member list sealed again by this member too.
    MineWithMembers,
}

impl Vault {
    /// Writes `forgery` to the server as the next commit, bypassing every check a
    /// client makes before a write (role, signing key). The replica is not changed.
    pub fn test_team_forge(&self, forgery: Forgery<'_>, signature: ForgedSignature) -> Result<()> {
        let sc = self.team_required()?;
        let held = Held::from_sidecar(&sc)?;
        let vk = &held.vk;
        let mut client = server::connect(&sc.url)?;
        let mut tx = client.transaction().map_err(server::db_error)?;
        let (version, prev) = server::lock_head(&mut tx, &sc.team)?
            .ok_or_else(|| VaultError::team("no team vault"))?;
        let old = server::small_rows(&mut tx, &sc.team, false)?;
        let mut new = old.clone();
        let mut puts = BTreeMap::new();
        let mut deletes = Vec::new();
        let seal_env = |id: &EnvId, meta: &crate::vault::records::EnvMeta| {
            super::keys::seal(
                &vk.catalog,
                &encode(meta)?,
                &super::keys::ad(b"environment", &sc.team, sc.epoch, &[id]),
            )
        };
        match forgery {
            Forgery::SwapEnvNames(project, a, b) => {
                let (ia, ib) = (vk.env_id(project, a)?, vk.env_id(project, b)?);
                for (id, name) in [(ia, b), (ib, a)] {
                    let (p, _, created, _) =
                        super::open_env(vk, &sc.team, sc.epoch, &id, &old.envs[&id])?.into_parts();
                    let meta = crate::vault::records::EnvMeta::V1 {
                        project: p,
                        name: name.to_string(),
                        created,
                    };
                    new.envs.insert(id, seal_env(&id, &meta)?);
                }
            }
            Forgery::DropEnvUnnamed(project, env) => {
                new.envs.remove(&vk.env_id(project, env)?);
            }
            Forgery::NewEnv(project, env) => {
                let id = vk.env_id(project, env)?;
                let meta = crate::vault::records::EnvMeta::V1 {
                    project: project.to_string(),
                    name: env.to_string(),
                    created: now(),
                };
                new.envs.insert(id, seal_env(&id, &meta)?);
            }
            Forgery::RestoreMembers(rows, _) => {
                new.members = rows.members.clone();
                new.wraps = rows.wraps.clone();
            }
            Forgery::DeleteEnvSecrets(project, env) => {
                let env_id = vk.env_id(project, env)?;
                for id in server::secret_ids(&mut tx, &sc.team, &env_id)? {
                    deletes.push((env_id, id));
                }
            }
            Forgery::Value(project, env, key, value) => {
                let env_id = vk.env_id(project, env)?;
                let ek = held
                    .envs
                    .get(&env_id)
                    .ok_or_else(|| VaultError::team("no key for that environment"))?;
                let (_, Some((meta, _))) = self
                    .local_secrets(project, env, &[key.to_string()])?
                    .pop()
                    .ok_or_else(|| VaultError::team("no such secret to forge"))?
                else {
                    return Err(VaultError::team("no such secret to forge"));
                };
                let (id, row) = seal_secret(ek, &sc.team, sc.epoch, &env_id, &meta, value)?;
                puts.insert((env_id, id), row);
            }
            Forgery::SetMyRole(role) => {
                let sealed = &old.members[&sc.member];
                let me = open_member(vk, &sc.team, sc.epoch, &sc.member, sealed)?;
                let (added, added_by) = me.added();
                let forged = MemberRecord::V2 {
                    name: me.name().into(),
                    public: *me.public(),
                    signing: *me.signing().ok_or(VaultError::Crypto)?,
                    role,
                    envs: me.envs().clone(),
                    added,
                    added_by: *added_by,
                    grant: None,
                };
                new.members.insert(
                    sc.member,
                    super::keys::seal(
                        &vk.members,
                        &encode(&forged)?,
                        &super::keys::ad(b"member", &sc.team, sc.epoch, &[&sc.member]),
                    )?,
                );
            }
        }
        let next = version + 1;
        let mut changes = log::small_changes(vk, &old, &new)?;
        if let Forgery::DropEnvUnnamed(project, env) = forgery {
            let id = vk.env_id(project, env)?;
            changes.retain(|(place, _)| *place != Place::Env(id));
        }
        if let Forgery::RestoreMembers(..) = forgery {
            changes.retain(|(place, _)| !matches!(place, Place::Member(_) | Place::Wrap(..)));
        }
        for (k, row) in &puts {
            changes.push((
                Place::Secret(k.0, k.1),
                Some(log::secret_hash(vk, k, next, row)?),
            ));
        }
        for k in &deletes {
            changes.push((Place::Secret(k.0, k.1), None));
        }
        server::apply(&mut tx, &sc.team, &old, &new, Some(next))?;
        server::write_secrets(&mut tx, &sc.team, next, &deletes, &puts)?;
        let body = CommitBody {
            team: sc.team,
            epoch: sc.epoch,
            version: next,
            prev: head_hash(&prev)?,
            time: now(),
            writer: sc.member,
            base: false,
            changes,
            small_root: new.small_root(&vk.root)?,
            secrets: server::secret_count(&mut tx, &sc.team)?,
        };
        let (record, changes) = log::seal_commit(vk, &body)?;
        let record = match signature {
            ForgedSignature::None => record,
            _ => {
                let HeadRecord::V2 { commit, mac } = decode(&record, "team commit")? else {
                    return Err(VaultError::Crypto);
                };
                let kp = signing::pair(&sc.signing_seed.ok_or(VaultError::Crypto)?)?;
                let members = if let Forgery::RestoreMembers(_, seal) = &forgery {
                    (*seal).clone()
                } else if signature == ForgedSignature::MineWithMembers {
                    let message = signing::members_message(vk, &sc.team, sc.epoch, next, &new)?;
                    MembersSeal {
                        version: next,
                        by: sc.member,
                        signature: kp.sign(&message, MEMBERS_CONTEXT)?.as_ref().to_vec(),
                    }
                } else {
                    match decode(&prev, "team head")? {
                        HeadRecord::V3 { members, .. } => members,
                        _ => return Err(VaultError::Crypto),
                    }
                };
                signing::signed_record(&kp, commit, mac, members)?
            }
        };
        server::insert_commit(&mut tx, &sc.team, next, false, (&record, &changes))?;
        server::set_head(&mut tx, &sc.team, version, &record)?;
        tx.commit().map_err(server::db_error)
    }
}

impl Vault {
    /// The member list and key wraps on the server now, with the admin's seal the head
    /// carries (what a member could keep for a later `Forgery::RestoreMembers`).
    pub fn test_team_members_now(&self) -> Result<(super::records::Rows, MembersSeal)> {
        let sc = self.team_required()?;
        let mut client = server::connect(&sc.url)?;
        let rows = server::small_rows(&mut *client, &sc.team, false)?;
        let (_, head) = server::head(&mut *client, &sc.team)?
            .ok_or_else(|| VaultError::team("no team vault"))?;
        match decode(&head, "team head")? {
            HeadRecord::V3 { members, .. } => Ok((rows, members)),
            _ => Err(VaultError::Crypto),
        }
    }

    /// Points this replica at another server address (a committed fixture's cluster is
    /// gone; its database is restored into the test's own).
    pub fn test_team_set_url(&self, url: &str) -> Result<()> {
        let mut sc = self.team_required()?;
        sc.url = url.into();
        self.team_save(&sc)
    }
}

impl Vault {
    /// What a member with write access to the log table could show a member who joins
    /// later: the log from the head's member-list seal on replaced by an unsigned base
    /// commit claimed by an admin (deleting `project`/`env`'s secrets), unsigned commits
    /// claimed by that admin up to the old head's version, and a head signed by this
    /// member carrying the old head's seal. Replicas that saw the old log refuse it.
    pub fn test_team_forge_log_as_admin(&self, project: &str, env: &str) -> Result<()> {
        use super::records::Rows;
        let sc = self.team_required()?;
        let held = Held::from_sidecar(&sc)?;
        let vk = &held.vk;
        let team = sc.team;
        let mut client = server::connect(&sc.url)?;
        let mut tx = client.transaction().map_err(server::db_error)?;
        let (version, prev) =
            server::lock_head(&mut tx, &team)?.ok_or_else(|| VaultError::team("no team vault"))?;
        let HeadRecord::V3 { members: seal, .. } = decode(&prev, "team head")? else {
            return Err(VaultError::Crypto);
        };
        let s = seal.version;
        let (_, _, rows) =
            server::load(&mut tx, &team, false)?.ok_or_else(|| VaultError::team("no vault"))?;
        let admin = rows
            .members
            .iter()
            .find_map(|(id, sealed)| {
                let r = open_member(vk, &team, sc.epoch, id, sealed).ok()?;
                (r.role() == Role::Admin && *id != sc.member).then_some(*id)
            })
            .ok_or_else(|| VaultError::team("no admin"))?;
        let env_id = vk.env_id(project, env)?;
        let mut new: Rows = rows.clone();
        new.secrets.retain(|(e, _), _| *e != env_id);
        let t = &&team[..];
        let sql = |e: postgres::Error| server::db_error(e);
        tx.execute(
            "DELETE FROM tresor_secrets WHERE vault = $1 AND env = $2",
            &[t, &&env_id[..]],
        )
        .map_err(sql)?;
        tx.execute(
            "UPDATE tresor_secrets SET version = $2 WHERE vault = $1",
            &[t, &(s as i64)],
        )
        .map_err(sql)?;
        for v in new.versions.values_mut() {
            *v = s;
        }
        let before: Vec<u8> = tx
            .query_one(
                "SELECT record FROM tresor_commits WHERE vault = $1 AND version = $2",
                &[t, &((s - 1) as i64)],
            )
            .map_err(sql)?
            .get(0);
        tx.execute(
            "DELETE FROM tresor_commits WHERE vault = $1 AND version >= $2",
            &[t, &(s as i64)],
        )
        .map_err(sql)?;
        let mut prev_hash = head_hash(&before)?;
        let base = CommitBody::base(vk, (team, sc.epoch, s), prev_hash, admin, &new)?;
        let (record, changes) = log::seal_commit(vk, &base)?;
        server::insert_commit(&mut tx, &team, s, true, (&record, &changes))?;
        prev_hash = head_hash(&record)?;
        let count = new.secrets.len() as u64;
        for v in s + 1..=version + 1 {
            let mine = v == version + 1;
            let body = CommitBody {
                team,
                epoch: sc.epoch,
                version: v,
                prev: prev_hash,
                time: now(),
                writer: if mine { sc.member } else { admin },
                base: false,
                changes: Vec::new(),
                small_root: new.small_root(&vk.root)?,
                secrets: count,
            };
            let (mut record, changes) = log::seal_commit(vk, &body)?;
            if mine {
                let HeadRecord::V2 { commit, mac } = decode(&record, "team commit")? else {
                    return Err(VaultError::Crypto);
                };
                let kp = signing::pair(&sc.signing_seed.ok_or(VaultError::Crypto)?)?;
                record = signing::signed_record(&kp, commit, mac, seal.clone())?;
                server::insert_commit(&mut tx, &team, v, false, (&record, &changes))?;
                server::set_head(&mut tx, &team, version, &record)?;
            } else {
                server::insert_commit(&mut tx, &team, v, false, (&record, &changes))?;
            }
            prev_hash = head_hash(&record)?;
        }
        tx.commit().map_err(server::db_error)
    }
}

impl Vault {
    /// Review 5: what a member holding the vault key (any role) with write access to the
    /// database can show a member who joins with a `tresor-join2:` token, after the
    /// token's head: the inviting admin's member record sealed again naming *this*
    /// member's verifying key (same X25519 key, role and id), this member's verifying
    /// key uploaded under the admin's id, and a commit claimed by the admin, signed with
    /// this member's key and with the member list sealed by "the admin" (this key), that
    /// deletes `project`/`env`'s secrets. Replicas that know the admin's real key refuse
    /// it; the joiner's anchors come from the head's list.
    pub fn test_team_forge_as_inviter(&self, project: &str, env: &str) -> Result<()> {
        let sc = self.team_required()?;
        let held = Held::from_sidecar(&sc)?;
        let vk = &held.vk;
        let team = sc.team;
        let seed = sc.signing_seed.ok_or(VaultError::Crypto)?;
        let kp = signing::pair(&seed)?;
        let my_key = signing::verifying_key(&seed)?;
        let my_hash = signing::key_hash(&my_key)?;
        let mut client = server::connect(&sc.url)?;
        let mut tx = client.transaction().map_err(server::db_error)?;
        let (version, prev) =
            server::lock_head(&mut tx, &team)?.ok_or_else(|| VaultError::team("no team vault"))?;
        let old = server::small_rows(&mut tx, &team, false)?;
        let (admin, record) = old
            .members
            .iter()
            .find_map(|(id, sealed)| {
                let r = open_member(vk, &team, sc.epoch, id, sealed).ok()?;
                (r.role() == Role::Admin && *id != sc.member).then_some((*id, r))
            })
            .ok_or_else(|| VaultError::team("no admin"))?;
        let (added, added_by) = record.added();
        let forged = MemberRecord::V2 {
            name: record.name().into(),
            public: *record.public(),
            signing: my_hash,
            role: Role::Admin,
            envs: record.envs().clone(),
            added,
            added_by: *added_by,
            grant: record.grant().cloned(),
        };
        let mut new = old.clone();
        new.members.insert(
            admin,
            super::keys::seal(
                &vk.members,
                &encode(&forged)?,
                &super::keys::ad(b"member", &team, sc.epoch, &[&admin]),
            )?,
        );
        tx.execute(
            "UPDATE tresor_signing_keys SET key = $3 WHERE vault = $1 AND member = $2",
            &[&&team[..], &&admin[..], &my_key],
        )
        .map_err(server::db_error)?;
        let env_id = vk.env_id(project, env)?;
        let deletes: Vec<_> = server::secret_ids(&mut tx, &team, &env_id)?
            .into_iter()
            .map(|id| (env_id, id))
            .collect();
        let next = version + 1;
        let mut changes = log::small_changes(vk, &old, &new)?;
        for k in &deletes {
            changes.push((Place::Secret(k.0, k.1), None));
        }
        server::apply(&mut tx, &team, &old, &new, Some(next))?;
        server::write_secrets(&mut tx, &team, next, &deletes, &BTreeMap::new())?;
        let body = CommitBody {
            team,
            epoch: sc.epoch,
            version: next,
            prev: head_hash(&prev)?,
            time: now(),
            writer: admin,
            base: false,
            changes,
            small_root: new.small_root(&vk.root)?,
            secrets: server::secret_count(&mut tx, &team)?,
        };
        let (record, changes) = log::seal_commit(vk, &body)?;
        let HeadRecord::V2 { commit, mac } = decode(&record, "team commit")? else {
            return Err(VaultError::Crypto);
        };
        let message = signing::members_message(vk, &team, sc.epoch, next, &new)?;
        let members = MembersSeal {
            version: next,
            by: admin,
            signature: kp.sign(&message, MEMBERS_CONTEXT)?.as_ref().to_vec(),
        };
        let record = signing::signed_record(&kp, commit, mac, members)?;
        server::insert_commit(&mut tx, &team, next, false, (&record, &changes))?;
        server::set_head(&mut tx, &team, version, &record)?;
        tx.commit().map_err(server::db_error)
    }
}

/// A join token naming another head than its admin saw (the hash's last bit flipped),
/// its check made again: a token altered on its way, beyond a copy mistake. `None`: not
/// a token of this build.
pub fn test_join_token_with_other_head(token: &str) -> Option<String> {
    let mut token = super::token::JoinToken::parse(token)?;
    let (_, hash) = token.invited_at.as_mut()?;
    hash[31] ^= 1;
    token.text().ok()
}
