//! A data key held outside the file, by the agent (`src/agent/`): what a vault hands
//! out after a credential unlocked it, and the checks before such a key is used again.
//!
//! A held key is only as good as the file still agrees with it. A `rekey` gives the
//! file a new data key, and removing the key slot that first unlocked it revokes that
//! credential: either way the held key is *stale* and the caller must ask again.

use std::path::Path;

use super::Vault;
use super::crypto::{self, Key32, Keys};
use super::error::{Result, VaultError};
use super::records::{FORMAT, Slot};
use super::slots::{self, Found};

/// The data key of one vault, and the key slot whose credential unlocked it (the audit
/// log keeps naming that slot while the key is used from the agent).
pub struct HeldKey {
    pub vault_id: [u8; 16],
    pub slot: u32,
    pub dek: Key32,
}

impl std::fmt::Debug for HeldKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldKey")
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

/// The vault's id, read from its header without any key; `None` for a format-1 vault,
/// whose key is never held (its upgrade needs the credential itself).
pub fn vault_id(path: &Path) -> Result<Option<[u8; 16]>> {
    let found = slots::read_header_and_slots(path)?;
    Ok((found.format >= FORMAT).then_some(found.vault_id))
}

impl Vault {
    /// This handle's data key, to be held by the agent; `None` for a format-1 vault.
    pub fn held_key(&self) -> Option<HeldKey> {
        (self.format >= FORMAT).then(|| HeldKey {
            vault_id: self.keys.vault_id,
            slot: self.slot,
            dek: Key32::new(*self.keys.dek()),
        })
    }

    /// Records in the audit log that the agent now holds this vault's key, from the key
    /// slot that unlocked this handle.
    pub fn note_held(&self) {
        self.audit("agent hold", "", "", "");
    }
}

/// The keys a held data key gives, if the file still agrees with it: same vault, the
/// header's check value, and the slot it came from still there.
pub(super) fn unlock(found: &Found, held: &HeldKey) -> Result<(Keys, u32)> {
    let slot_kept = found
        .slots
        .iter()
        .any(|(id, slot)| *id == held.slot && matches!(slot, Slot::V2 { .. }));
    if found.format < FORMAT
        || !crypto::same(&held.vault_id, &found.vault_id)
        || !slot_kept
        || !crypto::same(
            &Keys::dek_check(&held.dek, &found.vault_id)?,
            &found.dek_check,
        )
    {
        return Err(VaultError::HeldKeyStale);
    }
    let mut keys = Keys::derive(held.dek.clone(), found.vault_id)?;
    if let Some(blob) = &found.audit_keys {
        keys.audit_history = super::rekey::open_audit_keys(&keys, blob)?;
    }
    Ok((keys, held.slot))
}
