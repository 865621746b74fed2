//! Team vaults, replicas and members made before signatures. Their heads stay readable
//! (unsigned heads are accepted until a replica has seen a signed one); to sign, a
//! replica needs its identity's signing seed (`remote sync` asks for the identity once),
//! and a member needs a record that names their verifying key: an admin runs
//! `member add` again with the longer public key `identity show` prints now.

use super::identity::Identity;
use super::keys::{self, PublicKeyBytes};
use super::records::{MemberRecord, Role};
use super::sidecar::{self, Sidecar};
use super::signing::{self, KeyHash};
use super::{open_member, server};
use crate::vault::Vault;
use crate::vault::error::{Result, VaultError};
use crate::vault::records::encode;

impl Vault {
    /// Makes sure this replica holds its identity's signing seed and the verifying key
    /// is on the server (a replica made before signatures has neither).
    pub(super) fn ensure_signing_key(&self, sc: &mut Sidecar, identity: &Identity) -> Result<()> {
        if sc.signing_seed.is_some() {
            return Ok(());
        }
        let seed = identity.signing_seed()?;
        let mut client = server::connect(&sc.url)?;
        signing::upload_key(&mut *client, &sc.team, &sc.member, &seed)?;
        sc.signing_seed = Some(*seed);
        self.team_save(sc)
    }

    /// Whether this is a team replica made before signatures, without a signing seed.
    pub fn team_needs_signing_key(&self) -> Result<bool> {
        Ok(self
            .team_load()?
            .is_some_and(|sc| sc.signing_seed.is_none()))
    }

    /// Gives a replica made before signatures its identity's signing seed, and puts the
    /// verifying key on the server.
    pub fn team_adopt_signing_key(&self, identity: &Identity) -> Result<()> {
        let _lock = sidecar::lock(&self.path)?;
        let mut sc = self.team_required()?;
        self.ensure_signing_key(&mut sc, identity)
    }

    /// `member add` of a member added before signatures, with the same X25519 key and
    /// now its verifying key's hash: the record is sealed again with the hash (same id,
    /// role, environments and keys). `false`: no such member (add them as new).
    pub fn team_upgrade_member(
        &self,
        identity: &Identity,
        name: &str,
        public: &(PublicKeyBytes, KeyHash),
        role: Role,
        envs: Option<Vec<(String, String)>>,
    ) -> Result<bool> {
        let unsigned = self
            .team_members()?
            .into_iter()
            .find(|m| m.name == name && !m.signs && m.public == keys::public_text(&public.0, None));
        let Some(old) = unsigned else {
            return Ok(false);
        };
        if old.role != role || old.envs != envs {
            return Err(VaultError::team(format!(
                "{name} is a member added before signatures, as {}: add them again with the same role and environments to let them sign (to change those, remove them first)",
                old.role.label()
            )));
        }
        let _lock = sidecar::lock(&self.path)?;
        let mut sc = self.team_required()?;
        if sc.role != Role::Admin {
            return Err(VaultError::team(
                "only an admin of the team vault can add members",
            ));
        }
        self.ensure_signing_key(&mut sc, identity)?;
        self.team_write(&mut sc, |sc, held, edit| {
            let rows = &mut edit.rows;
            let mine = rows
                .members
                .get(&sc.member)
                .map(|s| open_member(&held.vk, &sc.team, sc.epoch, &sc.member, s))
                .transpose()?;
            if mine.is_none_or(|m| *m.public() != identity.public) {
                return Err(VaultError::team(
                    "this identity is not the one that joined this vault as an admin",
                ));
            }
            for (id, sealed) in rows.members.clone() {
                let record = open_member(&held.vk, &sc.team, sc.epoch, &id, &sealed)?;
                if record.name() != name || *record.public() != public.0 {
                    continue;
                }
                let (added, added_by) = record.added();
                let mut upgraded = MemberRecord::V2 {
                    name: name.into(),
                    public: public.0,
                    signing: public.1,
                    role: record.role(),
                    envs: record.envs().clone(),
                    added,
                    added_by: *added_by,
                    grant: None,
                };
                signing::appoint(sc, &id, &mut upgraded)?;
                rows.members.insert(
                    id,
                    keys::seal(
                        &held.vk.members,
                        &encode(&upgraded)?,
                        &keys::ad(b"member", &sc.team, sc.epoch, &[&id]),
                    )?,
                );
                return Ok(());
            }
            Err(VaultError::team(format!("no member named `{name}`")))
        })?;
        self.audit("member add", "", "", name);
        Ok(true)
    }
}
