//! Key slots: the data key, wrapped once per credential (a passphrase or a keyfile).
//!
//! Format 2 wraps the data key with HPKE to an X25519 public key whose private key comes
//! from the credential (`crypto::slot_wrap`), so `rekey` can rewrap a new data key for
//! every remaining slot without asking for each credential. Each slot is bound to the
//! vault header by its associated data, and the slot table is inside the vault digest,
//! so a slot added, put back or removed outside tresor is detected. A format-1 slot (a
//! symmetric wrap) is read until the vault is upgraded.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::crypto::{self, KdfParams, Keys, slot_wrap};
use super::error::{Result, VaultError};
use super::integrity::{AUDIT_KEYS_KEY, HEADER_KEY};
use super::records::{FORMAT, Header, MAGIC, OLDEST_FORMAT, Slot, SlotKind, decode, encode};
use super::storage::redb_file::RedbFile;
use super::storage::{ReadTxn, Table};
use super::{Credential, NewCredential, Vault, keyfile, legacy, now, validate};

/// A key slot as `tresor keyfile list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub id: u32,
    pub kind: SlotKindName,
    /// When it was added; `None` for a slot made before format 2 recorded it.
    pub added: Option<i64>,
    /// 1 for a slot from before format 2 (cannot be rewrapped without its credential).
    pub format: u16,
    /// The slot this handle was unlocked with.
    pub current: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKindName {
    Passphrase,
    Keyfile,
}

impl SlotKindName {
    pub fn label(self) -> &'static str {
        match self {
            SlotKindName::Passphrase => "passphrase",
            SlotKindName::Keyfile => "keyfile",
        }
    }
}

/// A slot's table key: its id, big-endian, so the table lists slots in id order.
pub(super) fn slot_key(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

fn slot_id(key: &[u8]) -> Result<u32> {
    let bytes: [u8; 4] = key
        .try_into()
        .map_err(|_| VaultError::Corrupt("a key slot id has the wrong size".into()))?;
    Ok(u32::from_be_bytes(bytes))
}

/// What unlocking needs from the file, read before any key is known.
pub(super) struct Found {
    pub header_bytes: Vec<u8>,
    pub vault_id: [u8; 16],
    pub dek_check: [u8; 32],
    pub format: u16,
    pub slots: Vec<(u32, Slot)>,
    pub audit_keys: Option<Vec<u8>>,
}

/// Reads the header and key slots, from either layout.
pub(super) fn read_header_and_slots(path: &Path) -> Result<Found> {
    let mut out = None;
    let v2 = RedbFile::new(path).read_current(&mut |txn| {
        let header = txn
            .get(Table::Meta, HEADER_KEY)?
            .ok_or_else(|| VaultError::NotAVault(path.to_path_buf()))?;
        let mut slots = Vec::new();
        txn.scan(Table::Slots, b"", &mut |k, v| {
            slots.push((slot_id(k)?, decode::<Slot>(v, "key slot")?));
            Ok(())
        })?;
        out = Some((header, slots, txn.get(Table::Meta, AUDIT_KEYS_KEY)?));
        Ok(())
    })?;
    let (header_bytes, slots, audit_keys) = match out {
        Some(found) => found,
        None => {
            let (header, slots) = legacy::read_header_and_slots(path)?;
            (header, slots, None)
        }
    };
    let not_a_vault = || VaultError::NotAVault(path.to_path_buf());
    let Header::V1 {
        magic,
        format,
        min_reader,
        vault_id,
        dek_check,
        ..
    } = decode(&header_bytes, "vault header").map_err(|_| not_a_vault())?;
    if magic != MAGIC {
        return Err(not_a_vault());
    }
    if min_reader > FORMAT || format > FORMAT {
        return Err(VaultError::NewerFormat {
            found: min_reader.max(format),
            supported: FORMAT,
        });
    }
    // Each layout has exactly one format: format-2 tables under a format-1 header (or
    // the reverse) were put together by hand.
    if format < OLDEST_FORMAT || (format >= 2) != v2 {
        return Err(VaultError::Corrupt(
            "its header does not match its tables".into(),
        ));
    }
    Ok(Found {
        header_bytes,
        vault_id,
        dek_check,
        format,
        slots,
        audit_keys,
    })
}

/// Finds the slot a credential opens. Returns the keys, the slot id and its wrapping key.
pub(super) fn unlock_with(
    found: &Found,
    credential: &Credential,
) -> Result<(Keys, u32, crypto::Key32)> {
    let keyfile_secret = match credential {
        Credential::Keyfile(p) => Some(keyfile::read(p)?),
        Credential::Passphrase(_) => None,
        // Never here: a held key opens no slot (see `held::unlock`).
        Credential::Held(_) => return Err(VaultError::WrongCredential),
    };
    for (id, slot) in &found.slots {
        // A format-2 vault never holds a format-1 slot: one found there was put back
        // from an older copy, and must not open anything.
        if found.format >= 2 && matches!(slot, Slot::V1 { .. }) {
            continue;
        }
        let Some(kek) = slot_kek(
            slot.kind(),
            credential,
            keyfile_secret.as_ref(),
            &found.vault_id,
        )?
        else {
            continue;
        };
        let Ok((dek, derived)) = open_slot(slot, &kek, &found.header_bytes, *id) else {
            continue;
        };
        // The public key is what `rekey` wraps the next data key to: one that is not this
        // credential's was put there to receive it.
        if let Slot::V2 { public, .. } = slot
            && !derived.is_some_and(|d| crypto::same(&d, public))
        {
            return Err(VaultError::Corrupt(format!(
                "key slot {id} was changed outside tresor: its public key is not its credential's"
            )));
        }
        if !crypto::same(&Keys::dek_check(&dek, &found.vault_id)?, &found.dek_check) {
            return Err(VaultError::Corrupt(
                "a key slot yields a different data key than the header records".into(),
            ));
        }
        let mut keys = Keys::derive(dek, found.vault_id)?;
        if let Some(blob) = &found.audit_keys {
            keys.audit_history = super::rekey::open_audit_keys(&keys, blob)?;
        }
        return Ok((keys, *id, kek));
    }
    Err(VaultError::WrongCredential)
}

impl Vault {
    /// Writes a new keyfile and adds a slot for it. No record is re-encrypted.
    pub fn add_keyfile(&self, keyfile_path: &Path) -> Result<u32> {
        let id = self.add_slot(NewCredential::Keyfile(keyfile_path.to_path_buf()), false)?;
        self.audit("keyfile add", "", "", &format!("slot {id}"));
        Ok(id)
    }

    /// Replaces the passphrase slot(s) with one for `new` (adds one to a keyfile-only
    /// vault). Only the data key is rewrapped: an older copy of the file still opens with
    /// the old passphrase and holds the same data key (`rekey` changes that).
    pub fn change_passphrase(&self, new: SecretString, kdf: KdfParams) -> Result<()> {
        let id = self.add_slot(NewCredential::Passphrase(new, kdf), true)?;
        // One more commit so redb reuses the page that still held the old wrapped key.
        self.write(|_, _| Ok(()))?;
        self.audit("passwd", "", "", &format!("slot {id}"));
        Ok(())
    }

    fn add_slot(&self, credential: NewCredential, replace_passphrase: bool) -> Result<u32> {
        // Only a keyfile this call writes may be cleaned up: a path that already exists
        // (refused below) belongs to the user and must survive the error.
        let keyfile_path = match &credential {
            NewCredential::Keyfile(p) if std::fs::symlink_metadata(p).is_err() => Some(p.clone()),
            _ => None,
        };
        let result = self.write(|txn, _| {
            let header_bytes = txn
                .get(Table::Meta, HEADER_KEY)?
                .ok_or_else(|| VaultError::NotAVault(self.path.clone()))?;
            let mut next = 0;
            let mut stale = Vec::new();
            txn.scan(Table::Slots, b"", &mut |k, v| {
                let id = slot_id(k)?;
                let after = id
                    .checked_add(1)
                    .ok_or_else(|| VaultError::Corrupt("a key slot has an impossible id".into()))?;
                next = next.max(after);
                let slot: Slot = decode(v, "key slot")?;
                if replace_passphrase && matches!(slot.kind(), SlotKind::Passphrase { .. }) {
                    stale.push(id);
                }
                Ok(())
            })?;
            let slot = make_slot(
                &credential,
                self.keys.dek(),
                &self.keys.vault_id,
                &header_bytes,
                next,
            )?;
            txn.put(Table::Slots, &slot_key(next), &encode(&slot)?)?;
            for id in stale {
                txn.delete(Table::Slots, &slot_key(id))?;
            }
            Ok(next)
        });
        if result.is_err()
            && let Some(p) = keyfile_path.filter(|p| p.exists())
        {
            let _ = std::fs::remove_file(p);
        }
        result
    }

    /// The key slots, verified against the vault digest.
    pub fn slots(&self) -> Result<Vec<SlotInfo>> {
        let slots = if self.format < FORMAT {
            legacy::read_header_and_slots(&self.path)?.1
        } else {
            self.read(|txn, _| read_slots(txn))?
        };
        Ok(slots
            .iter()
            .map(|(id, slot)| self.slot_info(*id, slot))
            .collect())
    }

    pub(super) fn slot_info(&self, id: u32, slot: &Slot) -> SlotInfo {
        let kind = match slot.kind() {
            SlotKind::Passphrase { .. } => SlotKindName::Passphrase,
            SlotKind::Keyfile { .. } => SlotKindName::Keyfile,
        };
        let (added, format) = match slot {
            Slot::V1 { .. } => (None, 1),
            Slot::V2 { added, .. } => (*added, 2),
        };
        SlotInfo {
            id,
            kind,
            added,
            format,
            current: id == self.slot,
        }
    }

    /// When each key slot last unlocked the vault, from the audit log.
    pub fn slot_last_used(&self) -> Result<std::collections::BTreeMap<u32, i64>> {
        Ok(super::audit::slot_last_used(&self.audit_log()?))
    }

    /// Removes a key slot; the last one stays. Its credential no longer opens this file,
    /// but it still opens older copies, whose data key is this file's until `rekey`.
    pub fn remove_slot(&self, id: u32) -> Result<SlotInfo> {
        let info = self.write(|txn, _| {
            let slots = read_slots(txn)?;
            let slot = slots
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, s)| s)
                .ok_or(VaultError::SlotNotFound { id })?;
            if slots.len() <= 1 {
                return Err(VaultError::LastSlot { id });
            }
            txn.delete(Table::Slots, &slot_key(id))?;
            Ok(self.slot_info(id, slot))
        })?;
        self.audit("keyfile rm", "", "", &format!("slot {id}"));
        Ok(info)
    }
}

/// Every key slot of a format-2 vault, in id order.
pub(super) fn read_slots(txn: &dyn ReadTxn) -> Result<Vec<(u32, Slot)>> {
    let mut slots = Vec::new();
    txn.scan(Table::Slots, b"", &mut |k, v| {
        slots.push((slot_id(k)?, decode::<Slot>(v, "key slot")?));
        Ok(())
    })?;
    Ok(slots)
}

/// A new format-2 slot for a credential (a keyfile is written here).
pub(super) fn make_slot(
    credential: &NewCredential,
    dek: &[u8; 32],
    vault_id: &[u8; 16],
    header_bytes: &[u8],
    id: u32,
) -> Result<Slot> {
    if let NewCredential::Passphrase(pass, _) = credential {
        validate::new_passphrase(pass.expose_secret())?;
    }
    let salt: [u8; 16] = crypto::random_bytes()?;
    let (kind, kek) = match credential {
        NewCredential::Passphrase(pass, kdf) => (
            SlotKind::Passphrase { salt, kdf: *kdf },
            crypto::passphrase_kek(pass.expose_secret().as_bytes(), &salt, kdf, vault_id)?,
        ),
        NewCredential::Keyfile(path) => {
            let secret = keyfile::generate(path)?;
            (
                SlotKind::Keyfile { salt },
                crypto::keyfile_kek(&secret, &salt)?,
            )
        }
    };
    let public = slot_wrap::public_key(&kek)?;
    wrap_slot(kind, public, Some(now()), dek, header_bytes, id)
}

/// A format-2 slot: the data key wrapped to the slot's public key, bound to the header.
pub(super) fn wrap_slot(
    kind: SlotKind,
    public: [u8; 32],
    added: Option<i64>,
    dek: &[u8; 32],
    header_bytes: &[u8],
    id: u32,
) -> Result<Slot> {
    let (enc, wrapped_dek) = slot_wrap::wrap(&public, dek, &slot_ad(header_bytes, id, &kind)?)?;
    Ok(Slot::V2 {
        kind,
        added,
        public,
        enc,
        wrapped_dek,
    })
}

/// The wrapping key a credential gives for a slot, or `None` when the kinds differ.
/// A crafted passphrase slot's Argon2 settings are refused before any work.
pub(super) fn slot_kek(
    kind: &SlotKind,
    credential: &Credential,
    keyfile_secret: Option<&keyfile::KeyfileSecret>,
    vault_id: &[u8; 16],
) -> Result<Option<crypto::Key32>> {
    Ok(match (kind, credential, keyfile_secret) {
        (SlotKind::Passphrase { salt, kdf }, Credential::Passphrase(pass), _) => Some(
            crypto::passphrase_kek(pass.expose_secret().as_bytes(), salt, kdf, vault_id)?,
        ),
        (SlotKind::Keyfile { salt }, Credential::Keyfile(_), Some(secret)) => {
            Some(crypto::keyfile_kek(secret, salt)?)
        }
        _ => None,
    })
}

/// The data key inside a slot, given the slot's wrapping key; for a format-2 slot also
/// the public key that wrapping key derives (see `slot_wrap::unwrap`).
pub(super) fn open_slot(
    slot: &Slot,
    kek: &crypto::Key32,
    header_bytes: &[u8],
    id: u32,
) -> Result<(crypto::Key32, Option<[u8; 32]>)> {
    let ad = slot_ad(header_bytes, id, slot.kind())?;
    match slot {
        Slot::V1 {
            nonce, wrapped_dek, ..
        } => {
            // Exactly a 32-byte key plus tag: anything else is not ours (partitioning oracles).
            if wrapped_dek.len() != crypto::KEY_LEN + crypto::TAG_LEN {
                return Err(VaultError::Crypto);
            }
            let plain = crypto::open(kek, nonce, wrapped_dek, &ad)?;
            let mut dek = zeroize::Zeroizing::new([0u8; crypto::KEY_LEN]);
            dek.copy_from_slice(&plain);
            Ok((dek, None))
        }
        Slot::V2 {
            enc, wrapped_dek, ..
        } => {
            let (dek, public) = slot_wrap::unwrap(kek, enc, wrapped_dek, &ad)?;
            Ok((dek, Some(public)))
        }
    }
}

/// A slot is bound to the whole header: editing any header byte makes every slot fail.
fn slot_ad(header_bytes: &[u8], id: u32, kind: &SlotKind) -> Result<Vec<u8>> {
    let mut ad = b"tresor/v1/keyslot\0".to_vec();
    ad.extend_from_slice(&(header_bytes.len() as u64).to_le_bytes());
    ad.extend_from_slice(header_bytes);
    ad.extend_from_slice(&id.to_le_bytes());
    ad.extend_from_slice(&encode(kind)?);
    Ok(ad)
}

/// The key slots' ids and kinds, read without any key (they are not sealed): what a
/// completion can offer for a vault it cannot open. Unverified: for display only.
pub fn slot_kinds(path: &Path) -> Result<Vec<(u32, SlotKindName)>> {
    Ok(read_header_and_slots(path)?
        .slots
        .iter()
        .map(|(id, slot)| {
            let kind = match slot.kind() {
                SlotKind::Passphrase { .. } => SlotKindName::Passphrase,
                SlotKind::Keyfile { .. } => SlotKindName::Keyfile,
            };
            (*id, kind)
        })
        .collect())
}
