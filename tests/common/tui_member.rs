//! A member of a team vault in the in-process TUI tests: a library vault and an identity,
//! both opened by the same keyfile. Each test file says how it opens its `App` on one.
//!
//! Included by the TUI team tests (`#[path = "common/tui_member.rs"] mod member;`).

#![allow(dead_code)]

use std::path::PathBuf;

use crate::common::LibraryVault;
use tresor::vault::Credential;
use tresor::vault::crypto::KdfParams;
use tresor::vault::team::identity::{self, Identity};

pub struct Member {
    pub lv: LibraryVault,
}

impl Member {
    pub fn new() -> Member {
        let m = Member {
            lv: LibraryVault::new(),
        };
        identity::create(
            &m.identity_path(),
            &Credential::Keyfile(m.lv.keyfile()),
            KdfParams::DEFAULT,
        )
        .expect("identity");
        m
    }

    pub fn identity_path(&self) -> PathBuf {
        self.lv.tmp.path().join("identity")
    }

    pub fn identity(&self) -> Identity {
        identity::unlock(
            &self.identity_path(),
            &Credential::Keyfile(self.lv.keyfile()),
        )
        .expect("unlock identity")
    }

    pub fn public_text(&self) -> String {
        self.identity().public_text()
    }
}
