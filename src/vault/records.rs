//! What is stored in the vault file, byte for byte.
//!
//! Every stored value is a postcard-encoded enum with a version variant: postcard is not
//! self-describing, so a new field means a new variant (`V2`), never an appended struct
//! field. Decoding requires the whole input to be consumed.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::crypto::{KdfParams, NONCE_LEN};
use super::error::{Result, VaultError};
use super::model::SecretType;

/// The format this build writes. Format 1: key slots wrap the data key with a symmetric
/// key and are outside the vault digest. Format 2: key slots wrap it with HPKE to a
/// public key (so `rekey` can rewrap every slot) and the vault digest covers the header
/// and every key slot. A format-1 vault keeps working until `tresor upgrade`/`rekey`.
pub const FORMAT: u16 = 2;
/// The oldest format this build still opens.
pub const OLDEST_FORMAT: u16 = 1;
pub const MAGIC: [u8; 8] = *b"TRESOR\0\x01";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Header {
    V1 {
        magic: [u8; 8],
        format: u16,
        min_reader: u16,
        vault_id: [u8; 16],
        dek_check: [u8; 32],
        created: i64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum SlotKind {
    Passphrase { salt: [u8; 16], kdf: KdfParams },
    Keyfile { salt: [u8; 16] },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Slot {
    /// Format 1: the data key sealed with the slot's wrapping key.
    V1 {
        kind: SlotKind,
        nonce: [u8; NONCE_LEN],
        wrapped_dek: Vec<u8>,
    },
    /// The data key wrapped with HPKE to `public`, whose private key comes from the
    /// slot's wrapping key. `added` is unknown (`None`) for a slot upgraded from V1.
    V2 {
        kind: SlotKind,
        added: Option<i64>,
        public: [u8; 32],
        enc: [u8; 32],
        wrapped_dek: Vec<u8>,
    },
}

impl Slot {
    pub fn kind(&self) -> &SlotKind {
        match self {
            Slot::V1 { kind, .. } | Slot::V2 { kind, .. } => kind,
        }
    }
}

/// One secret: metadata and value sealed separately, so listing never decrypts a value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum SecretRecord {
    V1 {
        meta_nonce: [u8; NONCE_LEN],
        meta: Vec<u8>,
        value_nonce: [u8; NONCE_LEN],
        value: Vec<u8>,
    },
}

/// A stored [`SecretRecord`] read in place: the same bytes (postcard writes a `Vec<u8>` and
/// a byte slice alike, a length and the bytes), without copying the two ciphertexts out.
/// `list` reads 10,000 of them and opens only the metadata.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub enum SecretRecordView<'a> {
    V1 {
        meta_nonce: [u8; NONCE_LEN],
        meta: &'a [u8],
        value_nonce: [u8; NONCE_LEN],
        value: &'a [u8],
    },
}

/// The plaintext inside `SecretRecord::V1::meta`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum SecretMeta {
    V1 {
        key: String,
        description: String,
        kind: SecretType,
        created: i64,
        updated: i64,
        value_changed: i64,
        value_len: u32,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum EnvRecord {
    V1 {
        nonce: [u8; NONCE_LEN],
        sealed: Vec<u8>,
    },
}

/// The plaintext inside `EnvRecord::V1::sealed`: names are sealed like secret keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum EnvMeta {
    V1 {
        project: String,
        name: String,
        created: i64,
    },
    /// An environment with its own rotation period (`tresor env set --rotate-days`).
    /// Written only when one is set, so a vault that never sets one stays readable by
    /// builds that know only V1.
    V2 {
        project: String,
        name: String,
        created: i64,
        rotate_days: u16,
    },
}

impl EnvMeta {
    /// (project, name, created, rotation period in days when set).
    pub fn into_parts(self) -> (String, String, i64, Option<u16>) {
        match self {
            EnvMeta::V1 {
                project,
                name,
                created,
            } => (project, name, created, None),
            EnvMeta::V2 {
                project,
                name,
                created,
                rotate_days,
            } => (project, name, created, Some(rotate_days)),
        }
    }
}

/// An earlier value of a secret, under (secret id ‖ version) in the history table. The
/// whole entry is sealed with the value key; its associated data names the field, the
/// vault, the secret and the version, so a row moved to another secret or version fails.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum HistoryRecord {
    V1 {
        nonce: [u8; NONCE_LEN],
        sealed: Vec<u8>,
    },
}

/// The plaintext inside `HistoryRecord::V1::sealed`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum HistoryEntry {
    V1 {
        value: Vec<u8>,
        /// When this value became current.
        set_at: i64,
        /// Who made it current (`user@host`), when known.
        set_by: Option<String>,
        /// When it was replaced, and by whom.
        replaced_at: i64,
        replaced_by: String,
    },
}

impl Drop for HistoryEntry {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        let HistoryEntry::V1 { value, .. } = self;
        value.zeroize();
    }
}

impl std::fmt::Debug for HistoryEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistoryEntry { .. }")
    }
}

/// Per-vault settings, sealed with the metadata key under `settings` in the meta table
/// and covered by the vault digest once present.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Settings {
    V1 { history_depth: u16 },
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| VaultError::Storage(format!("encoding failed: {e}")))
}

/// `take_from_bytes` plus an empty-remainder check: `from_bytes` ignores trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err(VaultError::Corrupt(format!("{what} has trailing bytes"))),
        Err(e) => Err(VaultError::Corrupt(format!(
            "{what} cannot be decoded ({e})"
        ))),
    }
}

/// [`decode`] for a type that borrows from `bytes`.
pub fn decode_view<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err(VaultError::Corrupt(format!("{what} has trailing bytes"))),
        Err(e) => Err(VaultError::Corrupt(format!(
            "{what} cannot be decoded ({e})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_record_reads_the_same_in_place() {
        let record = SecretRecord::V1 {
            meta_nonce: [7; NONCE_LEN],
            meta: (0..=200).collect(),
            value_nonce: [9; NONCE_LEN],
            value: vec![1, 2, 3],
        };
        let bytes = encode(&record).unwrap();
        let SecretRecord::V1 {
            meta_nonce,
            meta,
            value_nonce,
            value,
        } = &record;
        assert_eq!(
            decode_view::<SecretRecordView>(&bytes, "record").unwrap(),
            SecretRecordView::V1 {
                meta_nonce: *meta_nonce,
                meta,
                value_nonce: *value_nonce,
                value,
            }
        );
        // Whatever the owned decoder refuses, the view refuses too.
        for cut in 0..bytes.len() {
            assert!(decode_view::<SecretRecordView>(&bytes[..cut], "record").is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_view::<SecretRecordView>(&longer, "record").is_err());
        assert!(decode::<SecretRecord>(&longer, "record").is_err());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let env = EnvMeta::V1 {
            project: "p".into(),
            name: "e".into(),
            created: 1,
        };
        let mut bytes = encode(&env).unwrap();
        assert_eq!(decode::<EnvMeta>(&bytes, "env").unwrap(), env);
        bytes.push(0);
        assert!(decode::<EnvMeta>(&bytes, "env").is_err());
        assert!(decode::<EnvMeta>(&bytes[..2], "env").is_err());
    }

    #[test]
    fn an_unknown_variant_fails_cleanly() {
        // A future V3 is variant index 2: an old reader must refuse it, not misread it.
        assert!(decode::<EnvMeta>(&[2, 1, b'p', 1, b'e', 2], "env").is_err());
    }

    #[test]
    fn an_environment_with_a_rotation_period_reads_back() {
        let v1 = EnvMeta::V1 {
            project: "p".into(),
            name: "e".into(),
            created: 1,
        };
        // V1's bytes are unchanged by the new variant: format-2 vaults still open.
        assert_eq!(encode(&v1).unwrap(), [0, 1, b'p', 1, b'e', 2]);
        let v2 = EnvMeta::V2 {
            project: "p".into(),
            name: "e".into(),
            created: 1,
            rotate_days: 30,
        };
        let bytes = encode(&v2).unwrap();
        assert_eq!(decode::<EnvMeta>(&bytes, "env").unwrap(), v2);
        assert_eq!(v2.into_parts().3, Some(30));
        assert_eq!(v1.into_parts().3, None);
    }
}
