//! For tests only (feature `test-support`): what an attacker who holds the key, and can
//! write the file, could compute. The tamper suites use it to show that the associated
//! data, not only the digests, catches a record moved between places.

use std::sync::atomic::{AtomicI64, Ordering};

use super::error::Result;
use super::integrity;
use super::storage::Table;
use super::{SecretId, Vault};

static CLOCK_OFFSET: AtomicI64 = AtomicI64::new(0);
static STATE_DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Keeps this process's high-water marks in `dir` instead of the user's state folder
/// (first call wins), for tests that open committed fixtures in-process: their vault
/// ids are the same on every run.
pub fn set_state_dir(dir: std::path::PathBuf) {
    let _ = STATE_DIR.set(dir);
}

pub(super) fn state_dir() -> Option<&'static std::path::PathBuf> {
    STATE_DIR.get()
}

/// Moves this process's vault clock (times of creation and change) by `seconds`, so a
/// demo vault can hold values changed months ago (`examples/demo_vault.rs`). Only in
/// `test-support` builds: the binary a user runs cannot be told what time it is.
pub fn set_clock_offset(seconds: i64) {
    CLOCK_OFFSET.store(seconds, Ordering::Relaxed);
}

pub(super) fn clock_offset() -> i64 {
    CLOCK_OFFSET.load(Ordering::Relaxed)
}

impl Vault {
    /// The table key of a secret (environment id ‖ blind index).
    pub fn test_secret_key(&self, project: &str, env: &str, key: &str) -> Result<SecretId> {
        let env_id = self.env_id(project, env)?;
        self.secret_id(&env_id, project, env, key)
    }

    /// The table key of an environment.
    pub fn test_env_key(&self, project: &str, env: &str) -> Result<[u8; 16]> {
        self.env_id(project, env)
    }

    /// Recomputes every integrity tree and the vault digest over the bytes now in the
    /// file, without verifying anything first, and without counting a write.
    pub fn test_reseal(&self) -> Result<()> {
        self.storage.write(&mut |txn| {
            let mut envs = Vec::new();
            txn.scan(Table::Environments, b"", &mut |k, _| {
                envs.push(k.to_vec());
                Ok(())
            })?;
            for env in envs {
                let id: [u8; 16] = env.as_slice().try_into().unwrap_or([0; 16]);
                integrity::remove_env_tree(txn, &id)?;
                integrity::create_env_tree(&self.keys, txn, &id)?;
                let leaves = integrity::all_leaves(&*txn, &id)?;
                integrity::rehash(&self.keys, txn, &id, leaves)?;
            }
            let state = integrity::vault_state(&self.keys, &*txn)?;
            txn.put(Table::Meta, integrity::VAULT_DIGEST_KEY, &state.digest)
        })
    }
}
