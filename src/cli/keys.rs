//! init, keyfile add and passwd: how the vault is created and unlocked.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use super::{CliError, CliResult, Global, note, unlock, vault_path, warn};
use crate::vault::crypto::KdfParams;
use crate::vault::{
    DEFAULT_ENVIRONMENTS, DEFAULT_PROJECT, NewCredential, Vault, VaultError, validate,
};

#[derive(Debug, Args)]
pub struct KdfArgs {
    /// Argon2id passes for the passphrase (advanced)
    #[arg(long, value_name = "N", default_value_t = KdfParams::DEFAULT.passes)]
    pub kdf_passes: u32,
    /// Argon2id memory in MiB for the passphrase (advanced; 8 to 4096)
    #[arg(long, value_name = "MIB", default_value_t = KdfParams::DEFAULT.memory_kib / 1024)]
    pub kdf_memory_mib: u32,
}

impl KdfArgs {
    fn params(&self) -> Result<KdfParams, CliError> {
        let params = KdfParams {
            passes: self.kdf_passes,
            memory_kib: self.kdf_memory_mib.saturating_mul(1024),
            lanes: 1,
        };
        params.check()?;
        Ok(params)
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Debug, Args)]
pub struct PasswdArgs {
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Debug, Subcommand)]
pub enum KeyfileCommand {
    /// Write a new random keyfile (0600) and let it unlock the vault
    #[command(
        after_help = "Example:\n  tresor keyfile add /etc/tresor/app.key\n  TRESOR_KEYFILE=/etc/tresor/app.key tresor get DATABASE_URL"
    )]
    Add { path: PathBuf },
}

/// A new passphrase: from the environment variable, or typed twice on the terminal.
fn new_passphrase(env_name: &str, what: &str) -> Result<SecretString, CliError> {
    let pass = match unlock::env_secret(env_name) {
        Some(p) => p,
        None if unlock::can_prompt() => {
            let first = unlock::prompt(&format!("{what}: "))?;
            let second = unlock::prompt(&format!("{what} (again): "))?;
            if first.expose_secret() != second.expose_secret() {
                return Err(VaultError::PassphraseMismatch.into());
            }
            first
        }
        None => {
            return Err(CliError::msg(format!(
                "no passphrase: set {env_name}, pass --keyfile PATH, or run in a terminal to be prompted"
            )));
        }
    };
    validate::new_passphrase(pass.expose_secret())?;
    Ok(pass)
}

pub fn init(global: &Global, args: InitArgs) -> CliResult {
    let path = vault_path(global)?;
    if path.exists() {
        return Err(VaultError::VaultExists(path).into());
    }
    let credential = match &global.keyfile {
        Some(keyfile) => NewCredential::Keyfile(keyfile.clone()),
        None => NewCredential::Passphrase(
            new_passphrase(unlock::PASSPHRASE_ENV, "New passphrase")?,
            args.kdf.params()?,
        ),
    };
    let vault = Vault::create(&path, credential)?;
    unlock::warn_audit_failure(&vault);
    note(&format!(
        "created vault {} with project {DEFAULT_PROJECT} ({})",
        path.display(),
        DEFAULT_ENVIRONMENTS.join(", ")
    ));
    if let Some(keyfile) = &global.keyfile {
        warn(&format!(
            "keyfile {} unlocks this vault: keep it private and backed up; without it the secrets are lost",
            keyfile.display()
        ));
    }
    Ok(())
}

pub fn keyfile(global: &Global, command: KeyfileCommand) -> CliResult {
    match command {
        KeyfileCommand::Add { path } => {
            let vault = unlock::open(global)?;
            vault.add_keyfile(&path)?;
            note(&format!(
                "wrote keyfile {} (mode 0600); it now unlocks the vault",
                path.display()
            ));
            Ok(())
        }
    }
}

pub fn passwd(global: &Global, args: PasswdArgs) -> CliResult {
    let kdf = args.kdf.params()?;
    let vault = unlock::open(global)?;
    let new = new_passphrase(unlock::NEW_PASSPHRASE_ENV, "New passphrase")?;
    vault.change_passphrase(new, kdf)?;
    note(
        "passphrase changed; the old one no longer opens this vault (older copies of the file still open with it)",
    );
    Ok(())
}
