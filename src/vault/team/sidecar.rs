//! What a replica remembers about its team vault, in a file beside the local vault
//! (`vault.tresor.team`, 0600): the server, the team vault and member ids, this member's
//! role and keys, and the head it last applied (the client's high-water mark for the
//! server). Sealed under a subkey of the local vault's data key: reading it needs the
//! vault unlocked, and an edited file does not open.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::keys::{EnvId, MemberId, TeamId};
use super::log::{Place, RowHash};
use super::records::Role;
use super::signing::KeyHash;
use crate::vault::crypto::{self, Key32};
use crate::vault::error::{Result, VaultError};
use crate::vault::records::{decode, encode};

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Sidecar {
    pub url: String,
    pub team: TeamId,
    pub member: MemberId,
    #[zeroize(skip)]
    pub role: Role,
    pub epoch: u64,
    pub vault_key: [u8; 32],
    /// The environments this member can read, with their keys.
    pub env_keys: Vec<(EnvId, [u8; 32])>,
    pub seen_version: u64,
    pub seen_hash: [u8; 32],
    /// When the replica last matched the server (Unix seconds).
    pub synced_at: i64,
    /// Set before a local change that still has to reach the server: the next sync
    /// rebuilds the replica from the server whatever the version.
    pub dirty: bool,
    /// This member's ML-DSA-65 signing seed (`signing::seed_of` the identity's), so a
    /// write signs without asking for the identity's passphrase. `None`: a replica made
    /// before signatures, until `remote sync` adds it.
    pub signing_seed: Option<[u8; 32]>,
    /// What this replica saw of signatures (`signing::Seen`).
    pub signed_seen: bool,
    pub members_seen: u64,
    /// The admins (id, verifying key hash) of the last signed member list applied: the
    /// next list must be signed by one of them or by an admin they appointed.
    #[zeroize(skip)]
    pub admins: Vec<(MemberId, KeyHash)>,
    /// The hash of every member, wrap and environment row at the head last applied, and
    /// that head's epoch: a delta must name every one of those rows that changed since
    /// (`log::check_small`). `None` (a replica made before this check, or a format-1
    /// head): the next sync reads the whole state.
    #[zeroize(skip)]
    pub small_seen: Option<(u64, BTreeMap<Place, RowHash>)>,
    /// The hash of the wrap each environment key in `env_keys` was taken from (recorded
    /// the first time a head is applied with it): a key whose wrap changed since, the
    /// environment removed and made again, is dropped (`signing::follow_wraps`).
    #[zeroize(skip)]
    pub key_wraps: Vec<(EnvId, RowHash)>,
}

/// The encoding of the fields a replica made before them lacks (signatures: `None`,
/// `false`, 0, empty; `small_seen`: `None`; `key_wraps`: empty): postcard writes a struct's fields one after
/// the other, so an older file's plaintext followed by these bytes reads as today's
/// `Sidecar`.
const V1_TAIL: [u8; 6] = [0, 0, 0, 0, 0, 0];
const V2_TAIL: [u8; 2] = [0, 0];

#[derive(Serialize, Deserialize)]
enum SidecarFile {
    V1 {
        nonce: [u8; 24],
        sealed: Vec<u8>,
    },
    /// Its `Sidecar` has the signing fields.
    V2 {
        nonce: [u8; 24],
        sealed: Vec<u8>,
    },
    /// And `small_seen`, `key_wraps`.
    V3 {
        nonce: [u8; 24],
        sealed: Vec<u8>,
    },
}

pub fn path_for(vault: &Path) -> PathBuf {
    let mut p = vault.as_os_str().to_owned();
    p.push(".team");
    PathBuf::from(p)
}

pub fn exists(vault: &Path) -> bool {
    path_for(vault).exists()
}

fn ad(local_vault_id: &[u8; 16]) -> Vec<u8> {
    let mut ad = b"tresor/team/v1/sidecar\0".to_vec();
    ad.extend_from_slice(local_vault_id);
    ad
}

pub fn key(dek: &[u8; 32], local_vault_id: &[u8; 16]) -> Result<Key32> {
    crypto::hkdf(dek, local_vault_id, b"tresor/team/v1/sidecar")
}

pub fn read(vault: &Path, key: &Key32, local_vault_id: &[u8; 16]) -> Result<Option<Sidecar>> {
    let path = path_for(vault);
    let bytes = match crate::vault::record_file::read_record(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(VaultError::io(&path, e)),
    };
    let (nonce, sealed, tail) = match decode(&bytes, "team file")? {
        SidecarFile::V1 { nonce, sealed } => (nonce, sealed, &V1_TAIL[..]),
        SidecarFile::V2 { nonce, sealed } => (nonce, sealed, &V2_TAIL[..]),
        SidecarFile::V3 { nonce, sealed } => (nonce, sealed, &[][..]),
    };
    let mut plain = crypto::open(key, &nonce, &sealed, &ad(local_vault_id)).map_err(|_| {
        VaultError::Corrupt(format!(
            "{} does not open with this vault's key: it belongs to another vault or was changed",
            path.display()
        ))
    })?;
    plain.extend_from_slice(tail);
    Ok(Some(decode(&plain, "team file")?))
}

pub fn write(
    vault: &Path,
    key: &Key32,
    local_vault_id: &[u8; 16],
    sidecar: &Sidecar,
) -> Result<()> {
    let plain = zeroize::Zeroizing::new(encode(sidecar)?);
    let (nonce, sealed) = crypto::seal(key, &plain, &ad(local_vault_id))?;
    crate::vault::record_file::write_atomically(
        &path_for(vault),
        &encode(&SidecarFile::V3 { nonce, sealed })?,
    )
}

/// Serialises the team operations of processes sharing this replica (a sync, a change
/// and its server write): the replica and this file must move together. Released when
/// the returned file is dropped.
pub fn lock(vault: &Path) -> Result<std::fs::File> {
    lock_file(&lock_path(vault))
}

pub fn lock_path(vault: &Path) -> PathBuf {
    let mut p = path_for(vault).into_os_string();
    p.push(".lock");
    PathBuf::from(p)
}

/// An exclusive lock on the file at `path` (made 0600 if missing, never through a
/// symlink), held until the file is dropped.
pub fn lock_file(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| VaultError::io(path, e))?;
    crate::vault::store::lock_exclusive(&file).map_err(|e| VaultError::io(path, e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sidecar as tresor wrote it before member signatures.
    #[derive(Serialize)]
    struct SidecarBeforeSignatures {
        url: String,
        team: TeamId,
        member: MemberId,
        role: Role,
        epoch: u64,
        vault_key: [u8; 32],
        env_keys: Vec<(EnvId, [u8; 32])>,
        seen_version: u64,
        seen_hash: [u8; 32],
        synced_at: i64,
        dirty: bool,
    }

    #[test]
    fn a_sidecar_from_before_signatures_reads_with_their_fields_empty() {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("vault.tresor");
        let key = zeroize::Zeroizing::new([7u8; 32]);
        let id = [1u8; 16];
        let old = SidecarBeforeSignatures {
            url: "postgresql://db/secrets".into(),
            team: [2; 16],
            member: [3; 16],
            role: Role::Writer,
            epoch: 4,
            vault_key: [5; 32],
            env_keys: vec![([6; 16], [8; 32])],
            seen_version: 9,
            seen_hash: [10; 32],
            synced_at: 11,
            dirty: true,
        };
        let (nonce, sealed) = crypto::seal(&key, &encode(&old).unwrap(), &ad(&id)).unwrap();
        std::fs::write(
            path_for(&vault),
            encode(&SidecarFile::V1 { nonce, sealed }).unwrap(),
        )
        .unwrap();
        let sc = read(&vault, &key, &id).unwrap().unwrap();
        assert_eq!(
            (
                sc.url.as_str(),
                sc.role,
                sc.epoch,
                sc.seen_version,
                sc.dirty
            ),
            ("postgresql://db/secrets", Role::Writer, 4, 9, true)
        );
        assert_eq!((sc.env_keys.clone(), sc.synced_at), (old.env_keys, 11));
        assert_eq!(sc.signing_seed, None);
        assert!(!sc.signed_seen && sc.members_seen == 0 && sc.admins.is_empty());
        assert!(sc.small_seen.is_none() && sc.key_wraps.is_empty());
        // Written back (as V3), it reads the same, with a signing seed now.
        let mut sc = sc;
        sc.signing_seed = Some([12; 32]);
        write(&vault, &key, &id, &sc).unwrap();
        let again = read(&vault, &key, &id).unwrap().unwrap();
        assert_eq!(
            (again.seen_version, again.signing_seed),
            (9, Some([12; 32]))
        );
    }

    #[test]
    fn a_sidecar_from_before_small_seen_reads_with_it_empty() {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("vault.tresor");
        let key = zeroize::Zeroizing::new([7u8; 32]);
        let id = [1u8; 16];
        let sc = Sidecar {
            url: "postgresql://db/secrets".into(),
            team: [2; 16],
            member: [3; 16],
            role: Role::Admin,
            epoch: 4,
            vault_key: [5; 32],
            env_keys: vec![([6; 16], [8; 32])],
            seen_version: 9,
            seen_hash: [10; 32],
            synced_at: 11,
            dirty: false,
            signing_seed: Some([12; 32]),
            signed_seen: true,
            members_seen: 7,
            admins: vec![([3; 16], [13; 32])],
            small_seen: None,
            key_wraps: Vec::new(),
        };
        // A V2 file is today's fields without the last two (`None` and an empty list
        // are one zero byte each).
        let mut plain = encode(&sc).unwrap();
        assert_eq!(plain.split_off(plain.len() - 2), [0, 0]);
        let (nonce, sealed) = crypto::seal(&key, &plain, &ad(&id)).unwrap();
        std::fs::write(
            path_for(&vault),
            encode(&SidecarFile::V2 { nonce, sealed }).unwrap(),
        )
        .unwrap();
        let read_back = read(&vault, &key, &id).unwrap().unwrap();
        assert_eq!(
            (
                read_back.members_seen,
                read_back.signing_seed,
                read_back.admins.clone()
            ),
            (7, Some([12; 32]), sc.admins.clone())
        );
        assert!(read_back.small_seen.is_none() && read_back.key_wraps.is_empty());
    }
}
