//! The key hierarchy, built only from orion primitives.
//!
//! data key (DEK, random, made once) ─HKDF→ subkeys for values, metadata, the blind
//! index, digests and the audit log. The DEK itself is stored only wrapped by key slots
//! whose wrapping keys come from a passphrase (Argon2id) or a keyfile (HKDF).

use orion::hazardous::aead::xchacha20poly1305::{Nonce, SecretKey as AeadKey, XChaCha20Poly1305};
use orion::hazardous::kdf::argon2::{Argon2, CostParams, ID, Sequential};
use orion::hazardous::kdf::hkdf::{Hkdf, SHA512};
use orion::hazardous::mac::blake2b::{Blake2b, SecretKey as MacKey};
use zeroize::{Zeroize, Zeroizing};

use super::error::{Result, VaultError};

pub const KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;

/// Argon2id cost of a passphrase slot. The default: 3 passes, 64 MiB (about 0.3 s here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KdfParams {
    pub passes: u32,
    pub memory_kib: u32,
    pub lanes: u32,
}

impl KdfParams {
    pub const DEFAULT: KdfParams = KdfParams {
        passes: 3,
        memory_kib: 64 * 1024,
        lanes: 1,
    };
    /// Below this a passphrase is too cheap to guess; above the ceiling a crafted slot
    /// could make unlocking exhaust the machine, so both are refused before any work.
    /// The ceiling is 16 times the default memory and about 3 times its passes: 1 GiB
    /// fits the smallest machine tresor targets (a 2 GiB server), and 1 GiB × 10 passes
    /// costs about a minute here, the most an unlock may take before it looks hung.
    pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    pub const MAX_PASSES: u32 = 10;

    pub fn check(&self) -> Result<()> {
        if self.passes == 0 || self.passes > Self::MAX_PASSES {
            return Err(VaultError::BadKdfParams(format!(
                "{} passes, allowed 1 to {}",
                self.passes,
                Self::MAX_PASSES
            )));
        }
        if !(Self::MIN_MEMORY_KIB..=Self::MAX_MEMORY_KIB).contains(&self.memory_kib) {
            return Err(VaultError::BadKdfParams(format!(
                "{} KiB of memory, allowed {} to {}",
                self.memory_kib,
                Self::MIN_MEMORY_KIB,
                Self::MAX_MEMORY_KIB
            )));
        }
        if self.lanes != 1 {
            // orion's Argon2 runs on one thread: more lanes cost time and buy nothing.
            return Err(VaultError::BadKdfParams(format!(
                "{} lanes, allowed 1",
                self.lanes
            )));
        }
        Ok(())
    }
}

/// A 32-byte key that wipes itself.
pub type Key32 = Zeroizing<[u8; KEY_LEN]>;

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    orion::util::secure_rand_bytes(&mut out)?;
    Ok(out)
}

pub fn random_key() -> Result<Key32> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    orion::util::secure_rand_bytes(&mut key[..])?;
    Ok(key)
}

/// HKDF-SHA512 to a 32-byte key; only ever used on high-entropy input (DEK, keyfile).
pub fn hkdf(ikm: &[u8], salt: &[u8], label: &[u8]) -> Result<Key32> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    Hkdf::<SHA512>::derive_key(salt, ikm, Some(label), &mut out[..])?;
    Ok(out)
}

/// The passphrase slot's wrapping key. The vault id goes in as Argon2's associated data,
/// so a slot copied into another vault derives a different key.
pub fn passphrase_kek(
    passphrase: &[u8],
    salt: &[u8; 16],
    params: &KdfParams,
    vault_id: &[u8; 16],
) -> Result<Key32> {
    params.check()?;
    if passphrase.is_empty() {
        return Err(VaultError::EmptyPassphrase);
    }
    // Argon2's memory is one allocation inside orion, and Rust aborts the process when
    // an allocation fails: ask for it first, so a machine that cannot spare it gets an
    // error instead of an abort.
    let bytes = params.memory_kib as usize * 1024;
    let mut probe: Vec<u8> = Vec::new();
    probe
        .try_reserve_exact(bytes)
        .map_err(|_| VaultError::KdfOutOfMemory {
            mib: params.memory_kib / 1024,
        })?;
    drop(probe);
    let cost = CostParams::new(params.passes, params.memory_kib, params.lanes)?;
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::<ID, Sequential>::derive_key(
        passphrase,
        salt,
        &cost,
        None,
        Some(vault_id),
        &mut out[..],
    )?;
    Ok(out)
}

pub fn keyfile_kek(keyfile_secret: &[u8; KEY_LEN], salt: &[u8; 16]) -> Result<Key32> {
    hkdf(keyfile_secret, salt, b"tresor/v1/kek/keyfile")
}

/// XChaCha20-Poly1305 with associated data; returns (nonce, ciphertext‖tag).
/// A fresh random nonce every time: the file can be rolled back, so counters would repeat.
pub fn seal(
    key: &[u8; KEY_LEN],
    plaintext: &[u8],
    ad: &[u8],
) -> Result<([u8; NONCE_LEN], Vec<u8>)> {
    let key = AeadKey::try_from(&key[..])?;
    let nonce = Nonce::generate()?;
    let mut out = vec![0u8; plaintext.len() + TAG_LEN];
    XChaCha20Poly1305::seal(&key, &nonce, plaintext, Some(ad), &mut out)?;
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce.as_ref());
    Ok((n, out))
}

/// Opens into a zeroizing buffer sized once, so no plaintext copy is left behind.
pub fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
    ad: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if ciphertext.len() < TAG_LEN {
        return Err(VaultError::Crypto);
    }
    let key = AeadKey::try_from(&key[..])?;
    let nonce = Nonce::try_from(&nonce[..])?;
    let mut out = Zeroizing::new(vec![0u8; ciphertext.len() - TAG_LEN]);
    XChaCha20Poly1305::open(&key, &nonce, ciphertext, Some(ad), &mut out)?;
    Ok(out)
}

/// Keyed BLAKE2b over length-prefixed parts: ("a","bc") and ("ab","c") differ.
pub fn keyed_hash<const N: usize>(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> Result<[u8; N]> {
    let mut mac = Mac::new(key, N)?;
    for part in parts {
        mac.field(part)?;
    }
    mac.finish()
}

/// Incremental keyed BLAKE2b, for digests over many records.
pub struct Mac(Blake2b);

impl Mac {
    pub fn new(key: &[u8; KEY_LEN], len: usize) -> Result<Mac> {
        Ok(Mac(Blake2b::new(&MacKey::try_from(&key[..])?, len)?))
    }

    /// Adds one length-prefixed field.
    pub fn field(&mut self, bytes: &[u8]) -> Result<()> {
        self.0.update(&(bytes.len() as u64).to_le_bytes())?;
        self.0.update(bytes)?;
        Ok(())
    }

    pub fn finish<const N: usize>(mut self) -> Result<[u8; N]> {
        let tag = self.0.finalize()?;
        let mut out = [0u8; N];
        if tag.len() != N {
            return Err(VaultError::Crypto);
        }
        out.copy_from_slice(tag.unprotected_as_ref::<[u8]>());
        Ok(out)
    }
}

/// Constant-time equality for tags and check values.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    orion::util::secure_cmp(a, b).is_ok()
}

/// The unlocked keys of one vault. Dropping it wipes them.
pub struct Keys {
    pub vault_id: [u8; 16],
    dek: Key32,
    pub value: Key32,
    pub meta: Key32,
    pub index: Key32,
    pub digest: Key32,
    pub audit: Key32,
    /// Keys the short fingerprints of values (`tresor history`): equal values are
    /// recognisable, the values themselves are not.
    pub fingerprint: Key32,
    /// The audit keys of earlier data keys (before each `rekey`), oldest first: entries
    /// written before a rekey stay readable, entries after it are not readable with them.
    pub audit_history: Vec<Key32>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

impl Keys {
    pub fn derive(dek: Key32, vault_id: [u8; 16]) -> Result<Keys> {
        let sub = |label: &[u8]| hkdf(&dek[..], &vault_id, label);
        Ok(Keys {
            value: sub(b"tresor/v1/value-enc")?,
            meta: sub(b"tresor/v1/meta-enc")?,
            index: sub(b"tresor/v1/blind-index")?,
            digest: sub(b"tresor/v1/digest")?,
            audit: sub(b"tresor/v1/audit")?,
            fingerprint: sub(b"tresor/v1/fingerprint")?,
            audit_history: Vec::new(),
            vault_id,
            dek,
        })
    }

    pub fn dek(&self) -> &[u8; KEY_LEN] {
        &self.dek
    }

    /// Proves that a slot unwrapped the same DEK as every other slot (Poly1305 is not
    /// key-committing, so a crafted slot could otherwise yield a different key).
    pub fn dek_check(dek: &[u8; KEY_LEN], vault_id: &[u8; 16]) -> Result<[u8; KEY_LEN]> {
        let check = hkdf(dek, vault_id, b"tresor/v1/dek-check")?;
        Ok(*check)
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.vault_id.zeroize();
    }
}

/// Key slots of format 2 wrap the data key to an X25519 public key with HPKE (RFC 9180,
/// base mode, DHKEM(X25519, HKDF-SHA256), ChaCha20-Poly1305). The private key is derived
/// from the slot's wrapping key (passphrase or keyfile), the public key is stored in the
/// slot. That is what lets `rekey` rewrap a new data key for every remaining slot without
/// asking for each slot's passphrase or keyfile.
pub mod slot_wrap {
    use orion::KP;
    use orion::hazardous::hpke::{DHKEM_X25519_SHA256_CHACHA20, ModeBase};
    use orion::hazardous::kem::x25519_hkdf_sha256::{KeyPair, PublicKey};
    use zeroize::Zeroizing;

    use super::{KEY_LEN, Key32, TAG_LEN};
    use crate::vault::error::{Result, VaultError};

    pub const PUBLIC_LEN: usize = 32;
    pub const ENC_LEN: usize = 32;
    const INFO: &[u8] = b"tresor/v2/keyslot";

    type Hpke = ModeBase<DHKEM_X25519_SHA256_CHACHA20>;

    /// The slot's public key, from its wrapping key.
    pub fn public_key(kek: &Key32) -> Result<[u8; PUBLIC_LEN]> {
        let pair = KeyPair::derive(&kek[..])?;
        let mut out = [0u8; PUBLIC_LEN];
        out.copy_from_slice(pair.public().as_ref());
        Ok(out)
    }

    /// Wraps the data key to a slot's public key; returns (encapsulated key, ciphertext).
    pub fn wrap(
        public: &[u8; PUBLIC_LEN],
        dek: &[u8; KEY_LEN],
        ad: &[u8],
    ) -> Result<([u8; ENC_LEN], Vec<u8>)> {
        let pk = PublicKey::try_from(&public[..])?;
        let mut out = vec![0u8; KEY_LEN + TAG_LEN];
        let enc = Hpke::base_seal(&pk, INFO, dek, ad, &mut out)?;
        let mut e = [0u8; ENC_LEN];
        e.copy_from_slice(enc.as_ref());
        Ok((e, out))
    }

    /// Unwraps with the slot's wrapping key; `Err` for a wrong key or an altered slot.
    /// Also returns the public key of that wrapping key: deriving the pair is an X25519
    /// scalar multiplication, and the unlock checks it against the slot's (done once).
    pub fn unwrap(
        kek: &Key32,
        enc: &[u8; ENC_LEN],
        wrapped: &[u8],
        ad: &[u8],
    ) -> Result<(Key32, [u8; PUBLIC_LEN])> {
        if wrapped.len() != KEY_LEN + TAG_LEN {
            return Err(VaultError::Crypto);
        }
        let pair = KeyPair::derive(&kek[..])?;
        let enc = PublicKey::try_from(&enc[..])?;
        let mut dek = Zeroizing::new([0u8; KEY_LEN]);
        Hpke::base_open(&enc, pair.private(), INFO, wrapped, ad, &mut dek[..])?;
        let mut public = [0u8; PUBLIC_LEN];
        public.copy_from_slice(pair.public().as_ref());
        Ok((dek, public))
    }
}
