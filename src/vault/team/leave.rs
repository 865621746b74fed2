//! `remote leave`: a replica stops being one. The team link (the sidecar with this
//! member's keys, the audit outbox, their lock files) is deleted; the secrets stay in
//! the file as a local vault. The membership on the server is an admin's to end
//! (`member rm`): leaving takes no key back from this machine, it only stops following.

use super::records::Role;
use super::{audit, sidecar};
use crate::vault::Vault;
use crate::vault::error::{Result, VaultError};
use crate::vault::record_file::swap_path;

/// What `remote leave` did.
#[derive(Debug, Clone)]
pub struct Left {
    /// The server the replica followed (its URL as given, password included: redact it).
    pub url: String,
    /// Secrets that stay in the local vault.
    pub secrets: usize,
    /// Audit entries recorded while the server was away that could not be sent now
    /// (they stay in this machine's log).
    pub unsent: usize,
    /// A change made here whose server write was cut off: it stays in this vault only.
    pub unsent_change: bool,
    /// The only admin left with `--force`: nobody can add or remove members now.
    pub last_admin: bool,
}

impl Vault {
    /// Unlinks this replica. An admin who may be the team vault's last one is refused
    /// unless `force`: without an admin's replica nobody can add or remove members.
    /// (The replica's lock is taken here: a caller syncs before, not around, this.)
    pub fn team_leave(&self, force: bool) -> Result<Left> {
        let _lock = sidecar::lock(&self.path)?;
        let sc = self.team_required()?;
        let mut last_admin = false;
        if sc.role == Role::Admin {
            let others = self
                .team_members()
                .ok()
                .map(|members| members.iter().any(|m| !m.is_me && m.role == Role::Admin));
            last_admin = others == Some(false);
            match others {
                _ if force => {}
                Some(true) => {}
                Some(false) => {
                    return Err(VaultError::team(
                        "you are the team vault's only admin: once you leave, nobody can add or remove its members; add another admin first (`tresor member add NAME KEY --role admin`), or pass --force",
                    ));
                }
                None => {
                    return Err(VaultError::team(
                        "you are an admin, and whether another admin remains could not be checked on the server: run it again when the server can be reached, or pass --force",
                    ));
                }
            }
        }
        let unsent = self.team_audit_last_send(&sc);
        // The outbox first, the sidecar last: a crash between leaves a replica.
        let (outbox, record) = (
            audit::outbox_path(&self.path),
            sidecar::path_for(&self.path),
        );
        for path in [
            swap_path(&outbox),
            outbox.clone(),
            audit::outbox_lock_path(&self.path),
            swap_path(&record),
            record,
        ] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(VaultError::io(&path, e)),
            }
        }
        let _ = std::fs::remove_file(sidecar::lock_path(&self.path));
        self.audit("remote leave", "", "", "");
        let secrets = self.environments()?.iter().map(|e| e.secrets).sum();
        Ok(Left {
            url: sc.url.clone(),
            secrets,
            unsent,
            unsent_change: sc.dirty,
            last_admin,
        })
    }
}
