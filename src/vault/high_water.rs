//! The high-water mark: what this machine has seen of each vault, kept outside the file.
//!
//! Everything inside the vault file can be replaced by an older copy of the whole file
//! (a backup, a synced folder, an attacker), and that copy is consistent with itself.
//! So every vault carries a write counter inside its digest, and this module keeps, per
//! vault id, the highest counter and the vault digest seen with it, in the user's state
//! directory. A file older than that is refused until the user accepts it
//! (`tresor restore --accept-older`). The record is MAC'd with a key from the vault's
//! data key, so it cannot be forged without the key; deleting it only forgets (the next
//! open trusts the file as it is, and says so in `doctor`).
//!
//! The record is read *before* the vault's snapshot is taken and written only after a
//! commit, so a reader racing a writer never sees a record newer than its snapshot.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::audit::hex_string;
use super::crypto::{self, Keys};
use super::error::{Result, VaultError};
use super::record_file::{read_record, swap_path, write_atomically};
use super::records::{decode, encode};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
enum Record {
    V1 {
        version: u64,
        digest: [u8; 32],
        seen: i64,
        mac: [u8; 32],
    },
}

/// What this machine last saw of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub version: u64,
    pub digest: [u8; 32],
    /// When it was seen (seconds since the epoch).
    pub seen: i64,
}

/// A record that is there, read before the vault's snapshot.
pub enum Mark {
    /// No record: this machine has not seen the vault (or the record was deleted).
    None,
    Seen(Seen),
    /// A record that does not verify under any of the vault's keys.
    Forged(PathBuf),
}

/// The folder of the records: `$XDG_STATE_HOME/tresor/seen` on Linux.
pub fn dir() -> Option<PathBuf> {
    #[cfg(feature = "test-support")]
    if let Some(dir) = super::testing::state_dir() {
        return Some(dir.join("seen"));
    }
    let dirs = directories::ProjectDirs::from("", "", "tresor")?;
    let base = dirs
        .state_dir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dirs.data_local_dir().to_path_buf());
    Some(base.join("seen"))
}

fn file(vault_id: &[u8; 16]) -> Option<PathBuf> {
    Some(dir()?.join(hex_string(vault_id)))
}

fn mac_key(audit_key: &crypto::Key32) -> Result<[u8; 32]> {
    crypto::keyed_hash(audit_key, &[b"tresor/v2/high-water"])
}

fn mac(
    key: &[u8; 32],
    vault_id: &[u8; 16],
    version: u64,
    digest: &[u8; 32],
    seen: i64,
) -> Result<[u8; 32]> {
    crypto::keyed_hash(
        key,
        &[
            vault_id,
            &version.to_be_bytes(),
            digest,
            &seen.to_be_bytes(),
        ],
    )
}

/// Reads the record for a vault. Unreadable state (no home, a permission problem) counts
/// as no record: the mark protects, it must not lock the user out of their vault.
pub fn read(keys: &Keys) -> Mark {
    let Some(path) = file(&keys.vault_id) else {
        return Mark::None;
    };
    let Ok(bytes) = read_record(&path) else {
        return Mark::None;
    };
    let Ok(Record::V1 {
        version,
        digest,
        seen,
        mac: stored,
    }) = decode::<Record>(&bytes, "high-water mark")
    else {
        return Mark::Forged(path);
    };
    // The audit keys survive a rekey (sealed in the vault), so a record written before
    // one still verifies after it.
    let verifies = std::iter::once(&keys.audit)
        .chain(keys.audit_history.iter().rev())
        .any(|k| {
            mac_key(k)
                .and_then(|k| mac(&k, &keys.vault_id, version, &digest, seen))
                .is_ok_and(|m| crypto::same(&m, &stored))
        });
    if verifies {
        Mark::Seen(Seen {
            version,
            digest,
            seen,
        })
    } else {
        Mark::Forged(path)
    }
}

/// Whether this machine has any record of the vault (a format-1 file of a vault this
/// machine has opened in format 2 is an older copy, whatever its contents).
pub fn exists(vault_id: &[u8; 16]) -> bool {
    file(vault_id).is_some_and(|p| p.exists())
}

/// Forgets what this machine has seen of a vault (to accept a format-1 copy on purpose).
pub fn forget(vault_id: &[u8; 16]) -> Result<()> {
    match file(vault_id) {
        Some(path) => {
            let _ = std::fs::remove_file(swap_path(&path));
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(VaultError::io(&path, e)),
                _ => Ok(()),
            }
        }
        None => Ok(()),
    }
}

/// Checks a verified vault state against the mark read before it was taken.
pub fn check(mark: &Mark, version: u64, digest: &[u8; 32]) -> Result<()> {
    match mark {
        Mark::None => Ok(()),
        Mark::Forged(path) => Err(VaultError::HighWaterForged(path.clone())),
        Mark::Seen(seen) if version < seen.version => Err(VaultError::OlderThanSeen {
            found: version,
            seen: seen.version,
            when: seen.seen,
        }),
        Mark::Seen(seen) if version == seen.version && !crypto::same(digest, &seen.digest) => {
            Err(VaultError::ForkedVault { version })
        }
        Mark::Seen(_) => Ok(()),
    }
}

/// Records a state as seen, when it is newer than the mark (or `force`, to accept an
/// older file on purpose). Failures are ignored: the vault works without the mark.
pub fn record(
    keys: &Keys,
    mark: &Mark,
    version: u64,
    digest: &[u8; 32],
    force: bool,
) -> Result<()> {
    if let Mark::Seen(seen) = mark
        && !force
        && seen.version >= version
    {
        return Ok(());
    }
    let Some(path) = file(&keys.vault_id) else {
        return Ok(());
    };
    let seen = chrono::Utc::now().timestamp();
    let record = Record::V1 {
        version,
        digest: *digest,
        seen,
        mac: mac(
            &mac_key(&keys.audit)?,
            &keys.vault_id,
            version,
            digest,
            seen,
        )?,
    };
    write_atomically(&path, &encode(&record)?)
}
