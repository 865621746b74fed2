//! A throwaway keyfile vault reached through the library, for the TUI's update and render
//! tests (which drive `App` in-process rather than the binary).

use std::path::PathBuf;

use tempfile::TempDir;
use tresor::vault::{Credential, NewCredential, NewSecret, SecretValue, Vault};

pub struct LibraryVault {
    pub tmp: TempDir,
}

impl LibraryVault {
    pub fn new() -> LibraryVault {
        let tmp = tempfile::tempdir().expect("tempdir");
        Vault::create(
            &tmp.path().join("v.tresor"),
            NewCredential::Keyfile(tmp.path().join("k")),
        )
        .expect("create vault");
        LibraryVault { tmp }
    }

    pub fn path(&self) -> PathBuf {
        self.tmp.path().join("v.tresor")
    }

    pub fn keyfile(&self) -> PathBuf {
        self.tmp.path().join("k")
    }

    pub fn vault(&self) -> Vault {
        Vault::unlock(&self.path(), &Credential::Keyfile(self.keyfile())).expect("unlock")
    }

    /// Adds a secret to project `default`, its type detected.
    pub fn add(&self, env: &str, key: &str, value: &str, description: &str) {
        let secret = NewSecret {
            key: key.into(),
            value: SecretValue::new(value.as_bytes().to_vec()),
            description: description.into(),
            kind: None,
        };
        self.vault().add("default", env, secret).expect("add");
    }
}
