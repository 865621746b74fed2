//! Removing a member: a new epoch in one server transaction. A new vault key and new
//! environment keys, every record re-encrypted, every remaining member's keys rewrapped
//! by the removing admin; the removed member's rows and wraps are gone. What they could
//! read before is listed, to be rotated: no rekey takes back what was already read.
//!
//! The other members see a head of a newer epoch and fetch their new keys with
//! `tresor remote sync` (`Vault::team_refresh`).

use std::collections::BTreeMap;

use super::identity::Identity;
use super::keys::{self, EnvId, EnvKey, MemberId, VaultKey};
use super::log::{self, CommitBody};
use super::records::{Role, Rows, head_hash};
use super::signing::Seen;
use super::{
    Held, adopt, claimed_epoch, delta, open_env, open_member, open_secret, seal_secret, server,
    signing, wrap_to,
};
use crate::vault::crypto;
use crate::vault::error::{Result, VaultError};
use crate::vault::records::{SecretMeta, encode};
use crate::vault::{Vault, now};

/// What `member rm` did.
#[derive(Debug, Clone)]
pub struct Removal {
    /// (project, environment, key) of every value the member could read: rotate them.
    pub to_rotate: Vec<(String, String, String)>,
    pub epoch: u64,
    pub reencrypted: usize,
}

impl Vault {
    /// Removes a member (admins only) and rekeys the team vault, atomically.
    pub fn team_remove_member(&self, identity: &Identity, name: &str) -> Result<Removal> {
        let _lock = super::sidecar::lock(&self.path)?;
        let mut sc = self.team_required()?;
        if sc.role != Role::Admin {
            return Err(VaultError::team(
                "only an admin of the team vault can remove members",
            ));
        }
        self.ensure_signing_key(&mut sc, identity)?;
        let held = Held::from_sidecar(&sc)?;
        let mut client = server::connect(&sc.url)?;
        let mut tx = client.transaction().map_err(server::db_error)?;
        let snap = server::load_whole(&mut tx, &sc.team, true)?
            .ok_or_else(|| VaultError::team("the team vault is no longer on the server"))?;
        if claimed_epoch(&snap.head) > Some(sc.epoch) {
            return Err(super::rekeyed());
        }
        delta::whole(
            &held.vk,
            &sc.team,
            &snap,
            Some((sc.seen_version, sc.seen_hash)),
            &Seen::of(&sc),
        )?;
        let (version, head, rows) = (snap.version, &snap.head, &snap.rows);
        if version != sc.seen_version {
            return Err(VaultError::team(
                "the team vault changed since this replica synced; nothing was written: run the command again",
            ));
        }
        let (old_epoch, team) = (sc.epoch, sc.team);
        let mut members = BTreeMap::new();
        for (id, sealed) in &rows.members {
            members.insert(*id, open_member(&held.vk, &team, old_epoch, id, sealed)?);
        }
        let gone: MemberId = members
            .iter()
            .find(|(_, record)| record.name() == name)
            .map(|(id, _)| *id)
            .ok_or_else(|| VaultError::team(format!("no member named `{name}`")))?;
        if gone == sc.member {
            return Err(VaultError::team(
                "you cannot remove yourself; another admin can",
            ));
        }
        match members.get(&sc.member) {
            Some(record) if *record.public() == identity.public => {}
            _ => {
                return Err(VaultError::team(
                    "this identity is not the one that joined this vault as an admin",
                ));
            }
        }

        // The new epoch's keys, and every row sealed again under them.
        let epoch = old_epoch + 1;
        let vk_raw = crypto::random_key()?;
        let vk = VaultKey::derive(vk_raw.clone(), &team)?;
        let mut new = Rows::default();
        let mut env_map: BTreeMap<EnvId, (EnvId, EnvKey)> = BTreeMap::new();
        let mut to_rotate = Vec::new();
        let mut reencrypted = 0;
        for (old_id, sealed) in &rows.envs {
            let meta = open_env(&held.vk, &team, old_epoch, old_id, sealed)?;
            let (project, name, _, _) = meta.clone().into_parts();
            let (project, name) = (&project, &name);
            let old_ek = held.envs.get(old_id).ok_or_else(|| {
                VaultError::team(format!(
                    "you hold no key for {project}/{name}: only an admin who can read every environment can rekey"
                ))
            })?;
            let new_id = vk.env_id(project, name)?;
            let ek_raw = crypto::random_key()?;
            let ek = EnvKey::derive(ek_raw, &team, &new_id)?;
            new.envs.insert(
                new_id,
                keys::seal(
                    &vk.catalog,
                    &encode(&meta)?,
                    &keys::ad(b"environment", &team, epoch, &[&new_id]),
                )?,
            );
            let could_read = rows.wraps.contains_key(&(gone, old_id.to_vec()));
            for ((_, sid), row) in rows
                .secrets
                .range((*old_id, [0u8; 32])..=(*old_id, [0xff; 32]))
            {
                let (meta, value) = open_secret(old_ek, &team, old_epoch, old_id, sid, row)?;
                let SecretMeta::V1 { key, .. } = &meta;
                if could_read {
                    to_rotate.push((project.clone(), name.clone(), key.clone()));
                }
                let (id, sealed) = seal_secret(&ek, &team, epoch, &new_id, &meta, &value)?;
                new.secrets.insert((new_id, id), sealed);
                reencrypted += 1;
            }
            env_map.insert(*old_id, (new_id, ek));
        }
        for (id, record) in &members {
            if *id == gone {
                continue;
            }
            let public = record.public();
            new.members.insert(
                *id,
                keys::seal(
                    &vk.members,
                    &encode(record)?,
                    &keys::ad(b"member", &team, epoch, &[id]),
                )?,
            );
            new.wraps.insert(
                (*id, keys::VAULT_SCOPE.to_vec()),
                wrap_to(
                    identity,
                    public,
                    &team,
                    epoch,
                    id,
                    keys::VAULT_SCOPE,
                    &vk_raw,
                )?,
            );
            for (old_id, (new_id, ek)) in &env_map {
                if rows.wraps.contains_key(&(*id, old_id.to_vec())) {
                    new.wraps.insert(
                        (*id, new_id.to_vec()),
                        wrap_to(identity, public, &team, epoch, id, new_id, &ek.raw)?,
                    );
                }
            }
        }
        // A base commit of the new epoch: it names every row, so members who join later
        // replay the log from here, with the new keys.
        let next = version + 1;
        let body = CommitBody::base(&vk, (team, epoch, next), head_hash(head)?, sc.member, &new)?;
        let (record, changes) = log::seal_commit(&vk, &body)?;
        let mut small = new.small();
        let record = signing::sign(&vk, &sc, record, &body, &small, Some(head))?;
        signing::check_own(&mut tx, &vk, &sc, (&record, &body), &mut small)?;
        if log::claimed(head).is_none() {
            server::migrate_schema(&mut tx)?;
        }
        server::apply(&mut tx, &team, rows, &new, Some(next))?;
        server::insert_commit(&mut tx, &team, next, true, (&record, &changes))?;
        server::set_head(&mut tx, &team, version, &record)?;
        server::notify_changed(&mut tx, &team)?;
        tx.commit().map_err(server::db_error)?;

        sc.epoch = epoch;
        sc.vault_key = *vk_raw;
        sc.env_keys = env_map.values().map(|(id, ek)| (*id, *ek.raw)).collect();
        sc.key_wraps.clear();
        sc.seen_version = version + 1;
        sc.seen_hash = head_hash(&record)?;
        signing::observe(&mut sc, &vk, &record, &new)?;
        sc.synced_at = now();
        sc.dirty = false;
        self.team_save(&sc)?;
        self.audit("member rm", "", "", name);
        to_rotate.sort();
        Ok(Removal {
            to_rotate,
            epoch,
            reencrypted,
        })
    }

    /// `team_refresh` with the identity at `path`, when `credential` (the one that
    /// opened the vault without a prompt: a keyfile, a passphrase from the environment)
    /// opens it too, as a server's does. `Ok(false)`: it does not, nothing was fetched.
    pub fn team_refresh_with(
        &self,
        path: &std::path::Path,
        credential: &crate::vault::Credential,
    ) -> Result<bool> {
        match super::identity::unlock(path, credential) {
            Ok(identity) => self.team_refresh(&identity).map(|()| true),
            Err(_) => Ok(false),
        }
    }

    /// Fetches this member's keys again after a rekey (and the replica with them).
    pub fn team_refresh(&self, identity: &Identity) -> Result<()> {
        let _lock = super::sidecar::lock(&self.path)?;
        let sc = self.team_required()?;
        let mut client = server::connect(&sc.url)?;
        let snap = server::load_snapshot(&mut client, &sc.team)?
            .ok_or_else(|| VaultError::team("the team vault is no longer on the server"))?;
        if !snap
            .rows
            .wraps
            .contains_key(&(sc.member, keys::VAULT_SCOPE.to_vec()))
        {
            return Err(super::removed());
        }
        let fresh = adopt(
            &sc.url,
            sc.team,
            sc.member,
            &snap,
            identity,
            None,
            Some(((sc.seen_version, sc.seen_hash), super::Seen::of(&sc))),
        )?;
        let held = Held::from_sidecar(&fresh)?;
        self.replace_from(&fresh, &held, &snap.rows)?;
        self.team_save(&fresh)?;
        Ok(())
    }
}
