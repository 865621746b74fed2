//! The team vault's keys, from orion only: a vault key per epoch (head MAC, catalog and
//! member-list seals, environment blind ids), an environment key per environment (secret
//! seals and blind ids), and HPKE auth-mode wraps of both to each member.
//!
//! A wrap is `ModeAuth` (RFC 9180, DHKEM(X25519, HKDF-SHA256), ChaCha20-Poly1305): only
//! the member can open it, and opening it proves which admin's key made it.

use orion::KP;
use orion::hazardous::hpke::{DHKEM_X25519_SHA256_CHACHA20, ModeAuth};
use orion::hazardous::kem::x25519_hkdf_sha256::{KeyPair, PublicKey};
use zeroize::Zeroizing;

use super::signing::KeyHash;
use crate::vault::crypto::{self, KEY_LEN, Key32, TAG_LEN};
use crate::vault::error::{Result, VaultError};

pub type TeamId = [u8; 16];
pub type EnvId = [u8; 16];
pub type SecretId = [u8; 32];
pub type MemberId = [u8; 16];
pub type PublicKeyBytes = [u8; 32];
/// A member's public text, parsed: the X25519 key and the hash of the ML-DSA-65 key.
pub type MemberKeys = (PublicKeyBytes, KeyHash);

type Hpke = ModeAuth<DHKEM_X25519_SHA256_CHACHA20>;
const WRAP_INFO: &[u8] = b"tresor/team/v1/wrap";
/// The scope of a wrap of the vault key (an environment key's scope is its id).
pub const VAULT_SCOPE: &[u8] = b"vault";

/// The vault key of one epoch and its subkeys.
pub struct VaultKey {
    pub raw: Key32,
    pub head: Key32,
    pub catalog: Key32,
    pub members: Key32,
    pub index: Key32,
    pub root: Key32,
}

impl VaultKey {
    pub fn derive(raw: Key32, team: &TeamId) -> Result<VaultKey> {
        let sub = |label: &[u8]| crypto::hkdf(&raw[..], team, label);
        Ok(VaultKey {
            head: sub(b"tresor/team/v1/head")?,
            catalog: sub(b"tresor/team/v1/catalog")?,
            members: sub(b"tresor/team/v1/members")?,
            index: sub(b"tresor/team/v1/env-index")?,
            root: sub(b"tresor/team/v1/state-root")?,
            raw,
        })
    }

    /// The blind id of (project, environment) on the server.
    pub fn env_id(&self, project: &str, env: &str) -> Result<EnvId> {
        crypto::keyed_hash(&self.index, &[b"env", project.as_bytes(), env.as_bytes()])
    }
}

/// The key of one environment in one epoch: who holds it can read that environment.
pub struct EnvKey {
    pub raw: Key32,
    pub meta: Key32,
    pub value: Key32,
    pub index: Key32,
}

impl EnvKey {
    pub fn derive(raw: Key32, team: &TeamId, env: &EnvId) -> Result<EnvKey> {
        let mut salt = [0u8; 32];
        salt[..16].copy_from_slice(team);
        salt[16..].copy_from_slice(env);
        let sub = |label: &[u8]| crypto::hkdf(&raw[..], &salt, label);
        Ok(EnvKey {
            meta: sub(b"tresor/team/v1/secret-meta")?,
            value: sub(b"tresor/team/v1/secret-value")?,
            index: sub(b"tresor/team/v1/secret-index")?,
            raw,
        })
    }

    /// The blind id of a secret's key: names are not visible to the server, nor to a
    /// member without this environment's key.
    pub fn secret_id(&self, key: &str) -> Result<SecretId> {
        crypto::keyed_hash(&self.index, &[b"secret", key.as_bytes()])
    }
}

/// Associated data: a label, the team vault, the epoch, and the row's ids.
pub fn ad(label: &[u8], team: &TeamId, epoch: u64, ids: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(label);
    out.push(0);
    out.extend_from_slice(team);
    out.extend_from_slice(&epoch.to_be_bytes());
    for id in ids {
        out.extend_from_slice(&(id.len() as u32).to_be_bytes());
        out.extend_from_slice(id);
    }
    out
}

/// nonce ‖ ciphertext, the one column form of a sealed field.
pub fn seal(key: &[u8; KEY_LEN], plain: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
    let (nonce, ct) = crypto::seal(key, plain, ad)?;
    let mut out = Vec::with_capacity(nonce.len() + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub fn open(key: &[u8; KEY_LEN], sealed: &[u8], ad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.len() < crypto::NONCE_LEN + TAG_LEN {
        return Err(VaultError::Crypto);
    }
    let (nonce, ct) = sealed.split_at(crypto::NONCE_LEN);
    let mut n = [0u8; crypto::NONCE_LEN];
    n.copy_from_slice(nonce);
    crypto::open(key, &n, ct, ad)
}

/// A member's keypair from its 32-byte secret seed.
pub fn keypair(seed: &[u8; KEY_LEN]) -> Result<KeyPair> {
    Ok(KeyPair::derive(&seed[..])?)
}

pub fn public_of(seed: &[u8; KEY_LEN]) -> Result<PublicKeyBytes> {
    let pair = keypair(seed)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(pair.public().as_ref());
    Ok(out)
}

/// A key wrapped to a member: (encapsulated key, ciphertext).
pub fn wrap(
    to: &PublicKeyBytes,
    by_seed: &[u8; KEY_LEN],
    key: &[u8; KEY_LEN],
    ad: &[u8],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let pk = PublicKey::try_from(&to[..])?;
    let sender = keypair(by_seed)?;
    let mut out = vec![0u8; KEY_LEN + TAG_LEN];
    let enc = Hpke::auth_seal(&pk, WRAP_INFO, sender.private(), key, ad, &mut out)?;
    Ok((enc.as_ref().to_vec(), out))
}

/// Opens a wrap made for us by `by` (a wrap made by anyone else fails).
pub fn unwrap(
    seed: &[u8; KEY_LEN],
    by: &PublicKeyBytes,
    enc: &[u8],
    ct: &[u8],
    ad: &[u8],
) -> Result<Key32> {
    if ct.len() != KEY_LEN + TAG_LEN || enc.len() != 32 {
        return Err(VaultError::Crypto);
    }
    let pair = keypair(seed)?;
    let sender = PublicKey::try_from(&by[..])?;
    let enc = PublicKey::try_from(enc)?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    Hpke::auth_open(
        &enc,
        pair.private(),
        WRAP_INFO,
        &sender,
        ct,
        ad,
        &mut key[..],
    )?;
    Ok(key)
}

/// `tresor1` + 128 hex digits: a member's X25519 key and the hash of their ML-DSA-65
/// verifying key, as people paste it. A member added before signatures has only the
/// first 64 (`signing` is `None`).
pub fn public_text(pk: &PublicKeyBytes, signing: Option<&KeyHash>) -> String {
    let mut text = format!("tresor1{}", crate::vault::audit::hex_string(pk));
    if let Some(hash) = signing {
        text.push_str(&crate::vault::audit::hex_string(hash));
    }
    text
}

/// A pasted public key: (X25519 key, verifying key hash). The shorter text of an older
/// tresor has no signing key: its owner prints it again with this version.
pub fn parse_public(text: &str) -> Result<MemberKeys> {
    let bad = || {
        VaultError::team(format!(
            "`{}` is not a tresor public key (tresor1 followed by 128 hex digits, as `tresor identity show` prints)",
            crate::vault::validate::printable(text)
        ))
    };
    let hex = text.trim().strip_prefix("tresor1").ok_or_else(bad)?;
    let bytes = crate::vault::audit::unhex(hex.as_bytes()).ok_or_else(bad)?;
    match bytes.len() {
        64 => Ok((
            bytes[..32].try_into().map_err(|_| bad())?,
            bytes[32..].try_into().map_err(|_| bad())?,
        )),
        32 => Err(VaultError::team(
            "this public key was printed by an older tresor and has no signing key: ask its owner to run `tresor identity show` again with this version and send the longer key it prints",
        )),
        _ => Err(bad()),
    }
}
