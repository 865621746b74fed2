//! A member's identity: an X25519 keypair for HPKE, made once per person or server. The
//! private part is a random 32-byte seed sealed in a 0600 file, under a key from the
//! same kind of credential as a vault (a passphrase through Argon2id, or a keyfile).
//! The public part is printed as `tresor1…` for an admin to add.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::keys::{self, PublicKeyBytes};
use crate::vault::crypto::{self, KdfParams, Key32};
use crate::vault::error::{Result, VaultError};
use crate::vault::records::{decode, encode};
use crate::vault::{Credential, keyfile, store};

/// Argon2's associated data for identities (a vault passes its id there).
const KDF_CONTEXT: [u8; 16] = *b"tresor-identity\0";

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Protection {
    Passphrase { salt: [u8; 16], kdf: KdfParams },
    Keyfile { salt: [u8; 16] },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum IdentityFile {
    V1 {
        protection: Protection,
        public: PublicKeyBytes,
        nonce: [u8; 24],
        sealed: Vec<u8>,
    },
}

/// An unlocked identity. Dropping it wipes the seed.
pub struct Identity {
    pub(super) seed: Key32,
    pub public: PublicKeyBytes,
}

impl Identity {
    pub fn public_text(&self) -> String {
        keys::public_text(&self.public)
    }
}

/// `~/.config/tresor/identity`, unless `TRESOR_IDENTITY` or `--identity` says otherwise.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tresor").map(|d| d.config_dir().join("identity"))
}

fn ad(public: &PublicKeyBytes) -> Vec<u8> {
    let mut ad = b"tresor/identity/v1\0".to_vec();
    ad.extend_from_slice(public);
    ad
}

fn kek(protection: &Protection, credential: &Credential) -> Result<Key32> {
    match (protection, credential) {
        (Protection::Passphrase { salt, kdf }, Credential::Passphrase(p)) => {
            crypto::passphrase_kek(p.expose_secret().as_bytes(), salt, kdf, &KDF_CONTEXT)
        }
        (Protection::Keyfile { salt }, Credential::Keyfile(path)) => {
            crypto::keyfile_kek(&*keyfile::read(path)?, salt)
        }
        _ => Err(VaultError::WrongCredential),
    }
}

/// Makes a new identity at `path` (refusing to replace one). A keyfile credential whose
/// file does not exist yet is created.
pub fn create(path: &Path, credential: &Credential, kdf: KdfParams) -> Result<Identity> {
    if path.exists() {
        return Err(VaultError::team(format!(
            "an identity already exists at {}: it is yours; `tresor identity show` prints its public key",
            path.display()
        )));
    }
    let salt: [u8; 16] = crypto::random_bytes()?;
    let protection = match credential {
        Credential::Passphrase(_) => Protection::Passphrase { salt, kdf },
        Credential::Keyfile(k) => {
            if !k.exists() {
                keyfile::generate(k)?;
            }
            Protection::Keyfile { salt }
        }
        Credential::Held(_) => {
            return Err(VaultError::team(
                "an identity is protected by a passphrase or a keyfile, not by the agent's key",
            ));
        }
    };
    let key = kek(&protection, credential)?;
    let seed = crypto::random_key()?;
    let public = keys::public_of(&seed)?;
    let (nonce, sealed) = crypto::seal(&key, &seed[..], &ad(&public))?;
    let bytes = encode(&IdentityFile::V1 {
        protection,
        public,
        nonce,
        sealed,
    })?;
    store::ensure_parent_dir(path)?;
    let mut file = store::create_private_file(path)?;
    std::io::Write::write_all(&mut file, &bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| VaultError::io(path, e))?;
    Ok(Identity { seed, public })
}

/// The public key alone: no credential needed.
pub fn public(path: &Path) -> Result<PublicKeyBytes> {
    let IdentityFile::V1 { public, .. } = read_file(path)?;
    Ok(public)
}

fn read_file(path: &Path) -> Result<IdentityFile> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => VaultError::team(format!(
            "no identity at {}: make one with `tresor identity new`",
            path.display()
        )),
        _ => VaultError::io(path, e),
    })?;
    let meta = std::fs::metadata(path).map_err(|e| VaultError::io(path, e))?;
    store::check_private(path, &meta)?;
    decode(&bytes, "identity file")
}

/// Unlocks the identity with the same kind of credential it was made with.
pub fn unlock(path: &Path, credential: &Credential) -> Result<Identity> {
    let IdentityFile::V1 {
        protection,
        public,
        nonce,
        sealed,
    } = read_file(path)?;
    let key = kek(&protection, credential)?;
    let plain = crypto::open(&key, &nonce, &sealed, &ad(&public))
        .map_err(|_| VaultError::WrongCredential)?;
    let seed: [u8; 32] = plain[..].try_into().map_err(|_| VaultError::Crypto)?;
    let seed = zeroize::Zeroizing::new(seed);
    if keys::public_of(&seed)? != public {
        return Err(VaultError::Corrupt(
            "the identity file's public key is not its private key's".into(),
        ));
    }
    Ok(Identity { seed, public })
}
