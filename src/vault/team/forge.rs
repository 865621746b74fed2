//! For tests only (feature `test-support`): what a member whose client is modified could
//! write straight into the database with the keys its replica holds: rows sealed and a
//! head MAC'd, chained and state-rooted exactly as tresor would, signed with its own key
//! or not at all. The signature tests show which of these the other members refuse.

use super::records::{Head, HeadRecord, MemberRecord, MembersSeal, Role};
use super::signing::{self, HEAD_CONTEXT, MEMBERS_CONTEXT};
use super::{Held, head_hash, load_locked, open_member, seal_secret, server};
use crate::vault::crypto;
use crate::vault::error::{Result, VaultError};
use crate::vault::records::encode;
use crate::vault::{Vault, now};

/// What the forger changes.
#[derive(Debug, Clone)]
pub enum Forgery<'a> {
    /// A new value for a secret this member can read (project, environment, key, value).
    Value(&'a str, &'a str, &'a str, &'a [u8]),
    /// This member's own record, with another role (an admin's appointment missing).
    SetMyRole(Role),
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
    /// Writes `forgery` to the server as the next head, bypassing every check a
    /// client makes before a write (role, signing key). The replica is not changed.
    pub fn test_team_forge(&self, forgery: Forgery<'_>, signature: ForgedSignature) -> Result<()> {
        let sc = self.team_required()?;
        let held = Held::from_sidecar(&sc)?;
        let mut client = server::connect(&sc.url)?;
        let mut tx = client.transaction().map_err(server::db_error)?;
        let (version, prev, _, rows) = load_locked(&mut tx, &sc, &held)?;
        let mut new = rows.clone();
        match forgery {
            Forgery::Value(project, env, key, value) => {
                let env_id = held.vk.env_id(project, env)?;
                let ek = held
                    .envs
                    .get(&env_id)
                    .ok_or_else(|| VaultError::team("no key for that environment"))?;
                let (meta, _) = self
                    .local_secret(project, env, key)?
                    .ok_or_else(|| VaultError::team("no such secret to forge"))?;
                let (id, row) = seal_secret(ek, &sc.team, sc.epoch, &env_id, &meta, value)?;
                new.secrets.insert((env_id, id), row);
            }
            Forgery::SetMyRole(role) => {
                let sealed = &rows.members[&sc.member];
                let me = open_member(&held.vk, &sc.team, sc.epoch, &sc.member, sealed)?;
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
                        &held.vk.members,
                        &encode(&forged)?,
                        &super::keys::ad(b"member", &sc.team, sc.epoch, &[&sc.member]),
                    )?,
                );
            }
        }
        let head = Head::V1 {
            team: sc.team,
            epoch: sc.epoch,
            version: version + 1,
            prev: head_hash(&prev)?,
            root: new.state_root(&held.vk.root)?,
            time: now(),
            writer: sc.member,
        };
        let bytes = encode(&head)?;
        let mac = crypto::keyed_hash(&held.vk.head, &[&bytes])?;
        let record = match signature {
            ForgedSignature::None => HeadRecord::V1 { head: bytes, mac },
            _ => {
                let kp = signing::pair(&sc.signing_seed.ok_or(VaultError::Crypto)?)?;
                let members = if signature == ForgedSignature::MineWithMembers {
                    let message =
                        signing::members_message(&held.vk, &sc.team, sc.epoch, version + 1, &new)?;
                    MembersSeal {
                        version: version + 1,
                        by: sc.member,
                        signature: kp.sign(&message, MEMBERS_CONTEXT)?.as_ref().to_vec(),
                    }
                } else {
                    match crate::vault::records::decode(&prev, "team head")? {
                        HeadRecord::V2 { members, .. } => members,
                        HeadRecord::V1 { .. } => return Err(VaultError::Crypto),
                    }
                };
                let signature = kp
                    .sign(&signing::head_message(&bytes, &members)?, HEAD_CONTEXT)?
                    .as_ref()
                    .to_vec();
                HeadRecord::V2 {
                    head: bytes,
                    mac,
                    members,
                    signature,
                }
            }
        };
        server::apply(&mut tx, &sc.team, &rows, &new)?;
        server::set_head(&mut tx, &sc.team, version, &encode(&record)?)?;
        tx.commit().map_err(server::db_error)
    }
}

impl Vault {
    /// Points this replica at another server address (a committed fixture's cluster is
    /// gone; its database is restored into the test's own).
    pub fn test_team_set_url(&self, url: &str) -> Result<()> {
        let mut sc = self.team_required()?;
        sc.url = url.into();
        self.team_save(&sc)
    }
}
