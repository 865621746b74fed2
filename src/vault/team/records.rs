//! What the team vault stores, as postcard enums (a new field is a new variant), the rows
//! of one snapshot of the server, and the state root that the head vouches for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::{EnvId, MemberId, PublicKeyBytes, SecretId, TeamId};
use super::signing::KeyHash;
use crate::vault::crypto::{KEY_LEN, Mac};
use crate::vault::error::{Result, VaultError};

/// What a member may do. Admins add members; writers change secrets; readers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Reader,
    Writer,
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "reader" => Some(Role::Reader),
            "writer" => Some(Role::Writer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }

    pub fn can_write(self) -> bool {
        self != Role::Reader
    }
}

/// A member, sealed under the vault key's member subkey (names never reach the server
/// in clear).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum MemberRecord {
    V1 {
        name: String,
        public: PublicKeyBytes,
        role: Role,
        /// `None`: every environment, present and future.
        envs: Option<Vec<(String, String)>>,
        added: i64,
        added_by: MemberId,
    },
    /// V1 and the hash of the member's ML-DSA-65 verifying key (`signing::key_hash`):
    /// the key itself is uploaded by the member and trusted only if it hashes to this.
    V2 {
        name: String,
        public: PublicKeyBytes,
        signing: KeyHash,
        role: Role,
        envs: Option<Vec<(String, String)>>,
        added: i64,
        added_by: MemberId,
        /// For an admin: (the admin who appointed them, their signature over this
        /// member's id, keys and role; `signing::grant`). `None` for the first admin.
        grant: Option<(MemberId, Vec<u8>)>,
    },
}

impl MemberRecord {
    pub fn name(&self) -> &str {
        match self {
            MemberRecord::V1 { name, .. } | MemberRecord::V2 { name, .. } => name,
        }
    }

    pub fn public(&self) -> &PublicKeyBytes {
        match self {
            MemberRecord::V1 { public, .. } | MemberRecord::V2 { public, .. } => public,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            MemberRecord::V1 { role, .. } | MemberRecord::V2 { role, .. } => *role,
        }
    }

    pub fn envs(&self) -> &Option<Vec<(String, String)>> {
        match self {
            MemberRecord::V1 { envs, .. } | MemberRecord::V2 { envs, .. } => envs,
        }
    }

    pub fn added(&self) -> (i64, &MemberId) {
        match self {
            MemberRecord::V1 {
                added, added_by, ..
            }
            | MemberRecord::V2 {
                added, added_by, ..
            } => (*added, added_by),
        }
    }

    pub fn grant(&self) -> Option<&(MemberId, Vec<u8>)> {
        match self {
            MemberRecord::V1 { .. } => None,
            MemberRecord::V2 { grant, .. } => grant.as_ref(),
        }
    }

    /// The hash of the member's verifying key; `None`: a member added before signatures.
    pub fn signing(&self) -> Option<&KeyHash> {
        match self {
            MemberRecord::V1 { .. } => None,
            MemberRecord::V2 { signing, .. } => Some(signing),
        }
    }
}

/// The head: the one row that says which state is current. MAC'd under the vault key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Head {
    V1 {
        team: TeamId,
        epoch: u64,
        version: u64,
        /// The hash of the head this one follows (zero for the first).
        prev: [u8; 32],
        root: [u8; 32],
        time: i64,
        writer: MemberId,
    },
}

/// The head row's bytes. `V1`: a head with a state root (team vaults made before the
/// commit log; migrated by the first write). `V2`: the latest sealed commit
/// (`log::seal_commit`), also stored in the commit log. `V3`: the same, signed
/// (`signing::sign`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum HeadRecord {
    V1 {
        head: Vec<u8>,
        mac: [u8; 32],
    },
    V2 {
        commit: Vec<u8>,
        mac: [u8; 32],
    },
    /// A commit signed by its writer; `members` is an admin's signature over the member
    /// list and key wraps, carried forward by writes that do not change them.
    V3 {
        commit: Vec<u8>,
        mac: [u8; 32],
        members: MembersSeal,
        signature: Vec<u8>,
    },
}

impl HeadRecord {
    /// The encoded head or commit, and its MAC.
    pub fn parts(&self) -> (&[u8], &[u8; 32]) {
        match self {
            HeadRecord::V1 { head: bytes, mac }
            | HeadRecord::V2 { commit: bytes, mac }
            | HeadRecord::V3 {
                commit: bytes, mac, ..
            } => (bytes, mac),
        }
    }
}

/// An admin's ML-DSA-65 signature over the member list and key wraps as they stood at
/// `version` (see `signing`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MembersSeal {
    pub version: u64,
    pub by: MemberId,
    pub signature: Vec<u8>,
}

/// A key wrapped to a member by an admin (HPKE auth mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrap {
    pub epoch: u64,
    pub wrapper: PublicKeyBytes,
    pub enc: Vec<u8>,
    pub ct: Vec<u8>,
}

/// A secret's row: (sealed metadata, sealed value).
pub type SealedSecret = (Vec<u8>, Vec<u8>);

/// Every row of one team vault, as read in one server transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    pub members: BTreeMap<MemberId, Vec<u8>>,
    /// (member, scope) → wrap; the scope is `keys::VAULT_SCOPE` or an environment id.
    pub wraps: BTreeMap<(MemberId, Vec<u8>), Wrap>,
    pub envs: BTreeMap<EnvId, Vec<u8>>,
    /// (environment, secret) → (sealed metadata, sealed value).
    pub secrets: BTreeMap<(EnvId, SecretId), SealedSecret>,
    /// The version of the commit that last wrote each secret row (the server's column).
    pub versions: BTreeMap<(EnvId, SecretId), u64>,
    /// Members' ML-DSA-65 verifying keys as uploaded (read only for a signed head; not in
    /// the state root: each is checked against the hash in its member record).
    pub signing_keys: BTreeMap<MemberId, Vec<u8>>,
}

impl Rows {
    /// A keyed BLAKE2b over every row in a fixed order, each field length-prefixed: any
    /// row added, dropped, edited, moved or replayed changes it.
    pub fn state_root(&self, key: &[u8; KEY_LEN]) -> Result<[u8; 32]> {
        self.root_of(key, true)
    }

    /// The state root of the members, wraps and environments alone: small tables, read
    /// whole and checked against each commit's `small_root`.
    pub fn small_root(&self, key: &[u8; KEY_LEN]) -> Result<[u8; 32]> {
        self.root_of(key, false)
    }

    /// The same rows without the secrets (what a write reads whole under the lock).
    pub fn small(&self) -> Rows {
        Rows {
            members: self.members.clone(),
            wraps: self.wraps.clone(),
            envs: self.envs.clone(),
            ..Rows::default()
        }
    }

    fn root_of(&self, key: &[u8; KEY_LEN], with_secrets: bool) -> Result<[u8; 32]> {
        let mut mac = Mac::new(key, 32)?;
        mac.field(b"members")?;
        for (id, sealed) in &self.members {
            mac.field(id)?;
            mac.field(sealed)?;
        }
        mac.field(b"wraps")?;
        for ((member, scope), w) in &self.wraps {
            mac.field(member)?;
            mac.field(scope)?;
            mac.field(&w.epoch.to_be_bytes())?;
            mac.field(&w.wrapper)?;
            mac.field(&w.enc)?;
            mac.field(&w.ct)?;
        }
        mac.field(b"environments")?;
        for (id, sealed) in &self.envs {
            mac.field(id)?;
            mac.field(sealed)?;
        }
        if !with_secrets {
            return mac.finish();
        }
        mac.field(b"secrets")?;
        for ((env, id), (meta, value)) in &self.secrets {
            mac.field(env)?;
            mac.field(id)?;
            mac.field(meta)?;
            mac.field(value)?;
        }
        mac.finish()
    }
}

pub fn head_hash(record: &[u8]) -> Result<[u8; 32]> {
    let digest = orion::hash::digest(record).map_err(|_| VaultError::Crypto)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    Ok(out)
}
