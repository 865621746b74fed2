//! The outbox file beside a team replica (`vault.tresor.team-audit`): what this replica
//! keeps between commands (see `Outbox`), sealed under a key of the local vault.
//!
//! Its layout: a *base*, the whole outbox as last rewritten, then the entries queued
//! since, one sealed frame each. A command that does not reach the server (offline, or
//! `--offline`) only appends its entry: no rewrite and rename of the file, no opening of
//! the base, so a read from the replica stays cheap. Anything that sends or changes the
//! outbox loads base and frames together and rewrites the file as a base alone.
//!
//! A frame's associated data names the vault, the team, the member, the base's nonce and
//! the frame's position: a frame written for another team vault or member, or moved to
//! another place or file, does not open and is dropped, like a base of another team.
//! A frame cut short (a crash mid-append) ends the file: it and anything after it are
//! dropped, and the next append writes over it. A base from earlier builds (`V1`, never
//! followed by frames) is read as it is and rewritten as `V2` the first time it changes.

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::super::sidecar::{self, Sidecar};
use super::Outbox;
use crate::vault::Vault;
use crate::vault::audit::AuditEvent;
use crate::vault::crypto::{self, Key32};
use crate::vault::error::{Result, VaultError};
use crate::vault::record_file;
use crate::vault::records::{decode, encode};

/// A queued entry: when it was made (Unix milliseconds) and what.
pub(super) type Queued = (i64, AuditEvent);

#[derive(Serialize, Deserialize)]
enum OutboxFile {
    /// Earlier builds: the whole outbox, nothing may follow it.
    V1 { nonce: [u8; 24], sealed: Vec<u8> },
    /// The whole outbox; queued entries may follow it as frames.
    V2 { nonce: [u8; 24], sealed: Vec<u8> },
}

/// One queued entry appended after the base.
#[derive(Serialize, Deserialize)]
enum Frame {
    V1 { nonce: [u8; 24], sealed: Vec<u8> },
}

pub(super) fn path(vault: &Path) -> PathBuf {
    let mut p = vault.as_os_str().to_owned();
    p.push(".team-audit");
    PathBuf::from(p)
}

/// Serialises outbox changes between processes sharing this replica (its own lock: the
/// replica's team lock may be held by this very process around a write).
pub(super) fn lock(vault: &Path) -> Result<std::fs::File> {
    sidecar::lock_file(&lock_path(vault))
}

pub(super) fn lock_path(vault: &Path) -> PathBuf {
    let mut p = path(vault).into_os_string();
    p.push(".lock");
    PathBuf::from(p)
}

/// The file cut into its parts, nothing opened yet.
struct Parts {
    base: OutboxFile,
    frames: Vec<Frame>,
    /// Where the last whole frame ends: an append goes here.
    end: usize,
}

fn parts(bytes: &[u8]) -> Result<Parts> {
    let (base, mut rest) = postcard::take_from_bytes::<OutboxFile>(bytes)
        .map_err(|e| VaultError::Corrupt(format!("team audit outbox cannot be decoded ({e})")))?;
    let mut frames = Vec::new();
    let mut end = bytes.len() - rest.len();
    if let OutboxFile::V2 { .. } = base {
        // A frame that does not decode was cut short by a crash: the file ends before it.
        while let Ok((frame, after)) = postcard::take_from_bytes::<Frame>(rest) {
            frames.push(frame);
            rest = after;
            end = bytes.len() - rest.len();
        }
    }
    Ok(Parts { base, frames, end })
}

fn frame_ad(vault_id: &[u8; 16], sc: &Sidecar, base_nonce: &[u8; 24], at: usize) -> Vec<u8> {
    let mut ad = b"tresor/team/v1/audit-outbox-frame\0".to_vec();
    ad.extend_from_slice(vault_id);
    ad.extend_from_slice(&sc.team);
    ad.extend_from_slice(&sc.member);
    ad.extend_from_slice(base_nonce);
    ad.extend_from_slice(&(at as u64).to_be_bytes());
    ad
}

impl Vault {
    fn outbox_key(&self) -> Result<Key32> {
        crypto::hkdf(
            self.keys.dek(),
            &self.keys.vault_id,
            b"tresor/team/v1/audit-outbox",
        )
    }

    /// The outbox with every entry queued since its base, or a new one (also when it
    /// belongs to another team vault or member).
    pub(super) fn outbox_load(&self, sc: &Sidecar) -> Result<Outbox> {
        let path = path(&self.path);
        let bytes = read(&path)?;
        let fresh = || {
            let mut ob = Outbox::default();
            ob.team = sc.team;
            ob.member = sc.member;
            ob
        };
        if bytes.is_empty() {
            return Ok(fresh());
        }
        let key = self.outbox_key()?;
        let parts = parts(&bytes)?;
        let (OutboxFile::V1 { nonce, sealed } | OutboxFile::V2 { nonce, sealed }) = &parts.base;
        let plain =
            crypto::open(&key, nonce, sealed, &self.keys.vault_id).map_err(|_| {
                VaultError::Corrupt(format!(
                    "{} does not open with this vault's key: it belongs to another vault or was changed",
                    path.display()
                ))
            })?;
        let mut ob: Outbox = decode(&plain, "team audit outbox")?;
        if ob.team != sc.team || ob.member != sc.member {
            ob = fresh();
        }
        for (
            at,
            Frame::V1 {
                nonce: n,
                sealed: s,
            },
        ) in parts.frames.iter().enumerate()
        {
            // Queued for another team vault or member: not this replica's to send.
            let Ok(plain) = crypto::open(&key, n, s, &frame_ad(&self.keys.vault_id, sc, nonce, at))
            else {
                continue;
            };
            ob.pending
                .push(decode::<Queued>(&plain, "team audit outbox entry")?);
        }
        Ok(ob)
    }

    /// Rewrites the outbox as a base alone (the queued frames are in `ob`).
    pub(super) fn outbox_save(&self, ob: &Outbox) -> Result<()> {
        let plain = zeroize::Zeroizing::new(encode(ob)?);
        let (nonce, sealed) = crypto::seal(&*self.outbox_key()?, &plain, &self.keys.vault_id)?;
        record_file::write_atomically(
            &path(&self.path),
            &encode(&OutboxFile::V2 { nonce, sealed })?,
        )
    }

    /// Queues one entry by appending a frame (the caller holds the outbox lock). A missing
    /// outbox, or one from earlier builds, is written whole first.
    pub(super) fn outbox_append(&self, sc: &Sidecar, entry: &Queued) -> Result<()> {
        let path = path(&self.path);
        let bytes = read(&path)?;
        // A base of earlier builds, or none yet: written whole, with the entry in it.
        let appendable = if bytes.is_empty() {
            None
        } else {
            Some(parts(&bytes)?).filter(|p| matches!(p.base, OutboxFile::V2 { .. }))
        };
        let Some(Parts {
            base: OutboxFile::V2 {
                nonce: base_nonce, ..
            },
            frames,
            end,
        }) = appendable
        else {
            let mut ob = self.outbox_load(sc)?;
            ob.pending.push(entry.clone());
            return self.outbox_save(&ob);
        };
        let plain = zeroize::Zeroizing::new(encode(entry)?);
        let ad = frame_ad(&self.keys.vault_id, sc, &base_nonce, frames.len());
        let (nonce, sealed) = crypto::seal(&*self.outbox_key()?, &plain, &ad)?;
        let frame = encode(&Frame::V1 { nonce, sealed })?;
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)?;
            // Over a frame a crash cut short, if there is one.
            f.set_len(end as u64)?;
            f.seek(SeekFrom::Start(end as u64))?;
            f.write_all(&frame)
        };
        write().map_err(|e| VaultError::io(&path, e))
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    match crate::vault::record_file::read_record(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(VaultError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> Vec<u8> {
        encode(&Frame::V1 {
            nonce: [n; 24],
            sealed: vec![n; 40],
        })
        .unwrap_or_default()
    }

    #[test]
    fn a_frame_cut_short_ends_the_file() {
        let mut bytes = encode(&OutboxFile::V2 {
            nonce: [9; 24],
            sealed: vec![1, 2, 3],
        })
        .unwrap_or_default();
        let base_len = bytes.len();
        bytes.extend(frame(1));
        let whole = bytes.len();
        bytes.extend(frame(2));
        bytes.truncate(bytes.len() - 5);
        let p = parts(&bytes).expect("parts");
        assert_eq!(p.frames.len(), 1);
        assert_eq!(p.end, whole);
        assert!(p.end > base_len);
    }

    #[test]
    fn an_outbox_of_earlier_builds_is_its_base_alone() {
        let bytes = encode(&OutboxFile::V1 {
            nonce: [9; 24],
            sealed: vec![1, 2, 3],
        })
        .unwrap_or_default();
        let p = parts(&bytes).expect("parts");
        assert!(matches!(p.base, OutboxFile::V1 { .. }));
        assert!(p.frames.is_empty());
        assert_eq!(p.end, bytes.len());
    }
}
