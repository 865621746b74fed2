//! Where the credential comes from, in this order: `--keyfile`/`TRESOR_KEYFILE`,
//! then `TRESOR_PASSPHRASE`, then a prompt on the terminal; otherwise fail at once
//! (never hang waiting for input that cannot come).

use std::io::IsTerminal;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{CliError, Global, vault_path};
use crate::vault::{Credential, Vault, VaultError};

pub const PASSPHRASE_ENV: &str = "TRESOR_PASSPHRASE";
pub const NEW_PASSPHRASE_ENV: &str = "TRESOR_NEW_PASSPHRASE";
pub const KEYFILE_ENV: &str = "TRESOR_KEYFILE";

/// A credential that needs no prompt, if the flags or environment give one.
pub fn preset_credential(global: &Global) -> Option<Credential> {
    if let Some(path) = &global.keyfile {
        return Some(Credential::Keyfile(path.clone()));
    }
    env_secret(PASSPHRASE_ENV).map(Credential::Passphrase)
}

/// A secret from an environment variable, wrapped at once (no reallocation).
pub fn env_secret(name: &str) -> Option<SecretString> {
    let value = Zeroizing::new(std::env::var(name).ok()?);
    (!value.is_empty()).then(|| SecretString::from(value.as_str()))
}

/// Whether a passphrase can be asked for: there must be a terminal to ask on, and the
/// user must be looking at it (stdin or stderr is that terminal). A script with both
/// redirected gets the "no credential" error at once instead of a hang.
pub fn can_prompt() -> bool {
    (std::io::stdin().is_terminal() || std::io::stderr().is_terminal())
        && std::fs::File::open("/dev/tty").is_ok()
}

/// Asks for a passphrase on the terminal, hidden (see `prompt::passphrase`).
pub fn prompt(question: &str) -> Result<SecretString, CliError> {
    super::prompt::passphrase(question)
}

/// An unlocked vault for one command. When the command is done with it, it says so if
/// the audit log could not record something (the operation itself went through).
pub struct OpenVault(Vault);

impl std::ops::Deref for OpenVault {
    type Target = Vault;
    fn deref(&self) -> &Vault {
        &self.0
    }
}

impl std::ops::DerefMut for OpenVault {
    fn deref_mut(&mut self) -> &mut Vault {
        &mut self.0
    }
}

impl Drop for OpenVault {
    fn drop(&mut self) {
        warn_audit_failure(&self.0);
    }
}

pub fn warn_audit_failure(vault: &Vault) {
    if let Some(why) = vault.take_audit_failure() {
        super::warn(&format!("the audit log could not record this: {why}"));
    }
}

/// Opens the vault with whatever credential is available.
pub fn open(global: &Global) -> Result<OpenVault, CliError> {
    open_asking(global, "Passphrase: ")
}

/// Like [`open`], with the prompt's words (`passwd` asks for the *current* passphrase).
pub fn open_asking(global: &Global, question: &str) -> Result<OpenVault, CliError> {
    open_with(global, question, Some(false))
}

/// Opens a team replica without syncing it first (`remote sync` fetches new keys).
pub fn open_unsynced(global: &Global) -> Result<OpenVault, CliError> {
    open_with(global, "Passphrase: ", None)
}

/// `sync`: whether a team replica is synced first, and if so whether for a change (an
/// unreachable server is then refused, instead of read from with a warning).
fn open_with(global: &Global, question: &str, sync: Option<bool>) -> Result<OpenVault, CliError> {
    let path = vault_path(global)?;
    // Say "no vault" before asking for a passphrase that could not help.
    crate::vault::store::check_file(&path)?;
    let credential = match preset_credential(global) {
        Some(c) => c,
        None if can_prompt() => Credential::Passphrase(prompt(question)?),
        None => return Err(VaultError::NoCredential.into()),
    };
    let vault = OpenVault(Vault::unlock(&path, &credential)?);
    // A team replica reads after checking the server's head (see `vault::team`).
    if let Some(for_change) = sync {
        super::team::sync_after_unlock(&vault, for_change)?;
    }
    Ok(vault)
}

/// Opens the vault for a command that changes it: a format-1 vault is upgraded first
/// (once; see `Vault::upgrade_before_write`).
pub fn open_for_change(global: &Global) -> Result<OpenVault, CliError> {
    let mut vault = open_with(global, "Passphrase: ", Some(true))?;
    if let Some(report) = vault.upgrade_before_write()? {
        super::note(&format!(
            "upgraded the vault to format {} before this change: a new data key encrypts all {} values; older copies of the file keep the old one",
            crate::vault::records::FORMAT,
            report.values
        ));
    }
    Ok(vault)
}
