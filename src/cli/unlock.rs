//! Where the credential comes from, in this order: `--keyfile`/`TRESOR_KEYFILE`,
//! then `TRESOR_PASSPHRASE`, then the agent when it holds this vault's key, then a
//! prompt on the terminal; otherwise fail at once (never hang waiting for input that
//! cannot come). A credential given for this command wins over the agent: it is a
//! choice, and the audit log names its key slot.

use std::io::IsTerminal;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{CliError, Global, vault_path};
use crate::agent::{self, AgentError};
use crate::vault::{self, Credential, Vault, VaultError};

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

/// Opens the vault with whatever credential is available, the agent included.
pub fn open(global: &Global) -> Result<OpenVault, CliError> {
    synced(
        global,
        open_with(global, "Passphrase: ", agent::Mode::from_env())?,
        false,
    )
}

/// Opens the vault for a command that changes who can open it (`passwd`, `rekey`,
/// `keyfile add|rm`, `upgrade`): the credential itself is asked for, never the agent's
/// key, and the agent is told to forget the key afterwards (see [`forget_held`]).
pub fn open_asking(global: &Global, question: &str) -> Result<OpenVault, CliError> {
    synced(
        global,
        open_with(global, question, agent::Mode::Off)?,
        false,
    )
}

/// Opens a team replica without syncing it first (`remote sync` fetches new keys).
pub fn open_unsynced(global: &Global) -> Result<OpenVault, CliError> {
    open_with(global, "Passphrase: ", agent::Mode::from_env())
}

/// A team replica reads after checking the server's head (see `vault::team`); for a
/// change, an unreachable server is refused instead of read from with a warning.
fn synced(global: &Global, vault: OpenVault, for_change: bool) -> Result<OpenVault, CliError> {
    if global.offline && vault.is_team() {
        // Asked for: the replica as it is, no connection. A change would leave the
        // replica ahead of the team, so it is refused before anything is written.
        if for_change {
            return Err(CliError::msg(
                "changes to a team vault need the server: run it again without --offline (nothing was changed)",
            ));
        }
        return Ok(vault);
    }
    super::team::sync_after_unlock(global, &vault, for_change)?;
    Ok(vault)
}

fn open_with(global: &Global, question: &str, mode: agent::Mode) -> Result<OpenVault, CliError> {
    let path = vault_path(global)?;
    // Say "no vault" before asking for a passphrase that could not help.
    crate::vault::store::check_file(&path)?;
    if let Some(credential) = preset_credential(global) {
        return Ok(OpenVault(Vault::unlock(&path, &credential)?));
    }
    let vault_id = match mode {
        agent::Mode::Off => None,
        _ => vault::vault_id(&path)?,
    };
    if let Some(id) = &vault_id
        && let Some(vault) = from_agent(&path, id)?
    {
        return Ok(OpenVault(vault));
    }
    if !can_prompt() {
        return Err(VaultError::NoCredential.into());
    }
    let vault = Vault::unlock(&path, &Credential::Passphrase(prompt(question)?))?;
    if vault_id.is_some() {
        hand_to_agent(&vault, mode);
    }
    Ok(OpenVault(vault))
}

/// The vault opened with the agent's key, if it holds one that still opens it. A stale
/// key (rekeyed, or its slot removed) is forgotten there, and the caller asks again.
fn from_agent(path: &std::path::Path, id: &[u8; 16]) -> Result<Option<Vault>, CliError> {
    let held = match agent::client::fetch(id) {
        Ok(Some(held)) => held,
        Ok(None) | Err(AgentError::NotRunning) => return Ok(None),
        Err(e) => {
            super::warn(&e.to_string());
            return Ok(None);
        }
    };
    match Vault::unlock(path, &Credential::Held(held)) {
        Ok(vault) => Ok(Some(vault)),
        Err(VaultError::HeldKeyStale) => {
            let _ = agent::client::forget(id);
            super::warn(&format!(
                "{}: the agent forgot it; unlock again",
                VaultError::HeldKeyStale
            ));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Gives the agent this vault's key after a prompt (see `agent::offer`). A failure is a
/// warning: the command itself goes on.
fn hand_to_agent(vault: &Vault, mode: agent::Mode) {
    if let Err(e) = agent::offer(vault, mode) {
        super::warn(&format!("the agent does not hold the key: {e}"));
    }
}

/// For the Secrets screen: the agent's key, when it holds one that still opens this
/// vault (a stale one is forgotten there, and the unlock screen asks).
pub fn agent_credential(path: &std::path::Path) -> Option<Credential> {
    if agent::Mode::from_env() == agent::Mode::Off {
        return None;
    }
    let id = vault::vault_id(path).ok()??;
    let vault = from_agent(path, &id).ok()??;
    vault.held_key().map(Credential::Held)
}

/// After a change of who can open the vault: the agent forgets its key (a `rekey`
/// makes it stale anyway; this spares the next command the warning).
pub fn forget_held(global: &Global) {
    if let Ok(path) = vault_path(global)
        && let Ok(Some(id)) = vault::vault_id(&path)
    {
        let _ = agent::client::forget(&id);
    }
}

/// Opens the vault for a command that changes it: a format-1 vault is upgraded first
/// (once; see `Vault::upgrade_before_write`).
pub fn open_for_change(global: &Global) -> Result<OpenVault, CliError> {
    upgraded(synced(
        global,
        open_with(global, "Passphrase: ", agent::Mode::from_env())?,
        true,
    )?)
}

/// Like [`open_for_change`], with the credential itself (see [`open_asking`]).
pub fn open_credential_for_change(global: &Global) -> Result<OpenVault, CliError> {
    upgraded(synced(
        global,
        open_with(global, "Passphrase: ", agent::Mode::Off)?,
        true,
    )?)
}

fn upgraded(mut vault: OpenVault) -> Result<OpenVault, CliError> {
    if let Some(report) = vault.upgrade_before_write()? {
        super::note(&format!(
            "upgraded the vault to format {} before this change: a new data key encrypts all {} values; older copies of the file keep the old one",
            crate::vault::records::FORMAT,
            report.values
        ));
    }
    Ok(vault)
}
