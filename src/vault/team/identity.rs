//! A member's identity: an X25519 keypair for HPKE, made once per person or server. The
//! private part is a random 32-byte seed sealed in a 0600 file, under a key from the
//! same kind of credential as a vault (a passphrase through Argon2id, or a keyfile).
//! The same seed gives the member's ML-DSA-65 signing key (`signing::seed_of`, its own
//! KDF label). The public part, the X25519 key and the hash of the verifying key, is
//! printed as `tresor1…` for an admin to add; identity files made before signatures (V1)
//! hold only the X25519 key, so their public text needs the credential once.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::keys::{self, PublicKeyBytes};
use super::signing::{self, KeyHash};
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
    /// V1 and the hash of the signing key's verifying key, for `identity show`.
    V2 {
        protection: Protection,
        public: PublicKeyBytes,
        signing: KeyHash,
        nonce: [u8; 24],
        sealed: Vec<u8>,
    },
}

/// An unlocked identity. Dropping it wipes the seed.
pub struct Identity {
    pub(super) seed: Key32,
    pub public: PublicKeyBytes,
    /// The hash of this identity's verifying key.
    pub signing: KeyHash,
}

impl Identity {
    pub fn public_text(&self) -> String {
        keys::public_text(&self.public, Some(&self.signing))
    }

    /// The ML-DSA-65 seed a replica keeps to sign its writes.
    pub(super) fn signing_seed(&self) -> Result<Key32> {
        signing::seed_of(&self.seed)
    }

    fn from_seed(seed: Key32) -> Result<Identity> {
        let public = keys::public_of(&seed)?;
        let signing = signing::key_hash(&signing::verifying_key(&*signing::seed_of(&seed)?)?)?;
        Ok(Identity {
            seed,
            public,
            signing,
        })
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
    let identity = Identity::from_seed(crypto::random_key()?)?;
    let (nonce, sealed) = crypto::seal(&key, &identity.seed[..], &ad(&identity.public))?;
    let bytes = encode(&IdentityFile::V2 {
        protection,
        public: identity.public,
        signing: identity.signing,
        nonce,
        sealed,
    })?;
    store::ensure_parent_dir(path)?;
    let mut file = store::create_private_file(path)?;
    std::io::Write::write_all(&mut file, &bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| VaultError::io(path, e))?;
    Ok(identity)
}

/// The public text without the credential; `None` for an identity file made before
/// signatures (its signing key's hash needs the seed: unlock it).
pub fn public_text(path: &Path) -> Result<Option<String>> {
    match read_file(path)? {
        IdentityFile::V1 { .. } => Ok(None),
        IdentityFile::V2 {
            public, signing, ..
        } => Ok(Some(keys::public_text(&public, Some(&signing)))),
    }
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
    let (protection, public, signing, nonce, sealed) = match read_file(path)? {
        IdentityFile::V1 {
            protection,
            public,
            nonce,
            sealed,
        } => (protection, public, None, nonce, sealed),
        IdentityFile::V2 {
            protection,
            public,
            signing,
            nonce,
            sealed,
        } => (protection, public, Some(signing), nonce, sealed),
    };
    let key = kek(&protection, credential)?;
    let plain = crypto::open(&key, &nonce, &sealed, &ad(&public))
        .map_err(|_| VaultError::WrongCredential)?;
    let seed: [u8; 32] = plain[..].try_into().map_err(|_| VaultError::Crypto)?;
    let identity = Identity::from_seed(zeroize::Zeroizing::new(seed))?;
    if identity.public != public || signing.is_some_and(|s| s != identity.signing) {
        return Err(VaultError::Corrupt(
            "the identity file's public key is not its private key's".into(),
        ));
    }
    Ok(identity)
}
