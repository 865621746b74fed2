//! init, keyfile add and passwd: how the vault is created and unlocked.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use super::secrets::rfc3339;
use super::{CliError, CliResult, Global, note, unlock, vault_path, warn};
use crate::vault::crypto::KdfParams;
use crate::vault::{
    Credential, DEFAULT_ENVIRONMENTS, DEFAULT_PROJECT, NewCredential, RekeyPlan, RekeyReport,
    Vault, VaultError, validate,
};

#[derive(Debug, Args)]
pub struct KdfArgs {
    /// Argon2id passes for the passphrase (advanced)
    #[arg(long, value_name = "N", default_value_t = KdfParams::DEFAULT.passes)]
    pub kdf_passes: u32,
    /// Argon2id memory in MiB for the passphrase (advanced; 8 to 1024)
    #[arg(long, value_name = "MIB", default_value_t = KdfParams::DEFAULT.memory_kib / 1024)]
    pub kdf_memory_mib: u32,
}

impl KdfArgs {
    pub(super) fn params(&self) -> Result<KdfParams, CliError> {
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
    /// Also give the vault a new data key, so the old passphrase opens nothing written
    /// from now on (see `tresor rekey`)
    #[arg(long)]
    pub rekey: bool,
}

// Credentials for key slots of a format-1 vault other than the one used to unlock (a
// plain comment: a doc comment would become the about of every command that flattens
// this, as clap applies a deferred subcommand's arguments after its own about).
#[derive(Debug, Args)]
pub struct OtherCredentials {
    /// A keyfile that opens another key slot (repeatable)
    #[arg(long = "also-keyfile", value_name = "PATH")]
    pub also_keyfile: Vec<PathBuf>,
    /// Ask for (or take TRESOR_PASSPHRASE as) the passphrase of another key slot
    #[arg(long)]
    pub also_passphrase: bool,
    /// Remove format-1 key slots that none of the given credentials opens
    #[arg(long)]
    pub drop_unmatched: bool,
}

#[derive(Debug, Args)]
pub struct RekeyArgs {
    #[command(flatten)]
    pub others: OtherCredentials,
}

#[derive(Debug, Subcommand)]
pub enum KeyfileCommand {
    /// Write a new random keyfile (0600) and let it unlock the vault
    #[command(
        after_help = "Example:\n  tresor keyfile add /etc/tresor/app.key\n  TRESOR_KEYFILE=/etc/tresor/app.key tresor get DATABASE_URL"
    )]
    Add { path: PathBuf },
    /// List the key slots (passphrase and keyfiles) that unlock the vault
    #[command(after_help = "Example:\n  tresor keyfile list")]
    List,
    /// Remove a key slot (see `keyfile list`); the last one cannot be removed
    #[command(
        after_help = "Examples:\n  tresor keyfile rm 2\n  tresor keyfile rm 2 --rekey     also renew the data key (revokes the keyfile for good)\n\nWithout --rekey the keyfile no longer opens this file, but still opens older copies\nof it, whose data key is this file's until `tresor rekey`."
    )]
    Rm {
        /// The slot's id, from `tresor keyfile list`
        id: u32,
        /// Also give the vault a new data key in the same transaction
        #[arg(long)]
        rekey: bool,
    },
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
        remember_keyfile(&path, keyfile);
        warn(&format!(
            "keyfile {} unlocks this vault: keep it private and backed up; without it the secrets are lost",
            keyfile.display()
        ));
    }
    Ok(())
}

/// The Secrets screen offers the keyfile that last opened a vault (its path, never the
/// key); a keyfile made here is that keyfile. Not remembering it is never an error.
fn remember_keyfile(vault: &std::path::Path, keyfile: &std::path::Path) {
    let _ = crate::tui::places::Places::from_env().remember_keyfile(vault, keyfile);
}

pub fn keyfile(global: &Global, command: KeyfileCommand) -> CliResult {
    match command {
        KeyfileCommand::Add { path } => {
            let vault = unlock::open_credential_for_change(global)?;
            let id = vault.add_keyfile(&path)?;
            remember_keyfile(vault.path(), &path);
            note(&format!(
                "wrote keyfile {} (mode 0600); it now unlocks the vault as key slot {id}",
                path.display()
            ));
            Ok(())
        }
        KeyfileCommand::List => list_slots(global),
        KeyfileCommand::Rm { id, rekey } => {
            let mut vault = unlock::open_credential_for_change(global)?;
            unlock::forget_held(global);
            if rekey {
                let report = vault.rekey(RekeyPlan {
                    remove: vec![id],
                    ..RekeyPlan::default()
                })?;
                note(&format!("removed key slot {id}"));
                note(&rekey_summary(&report));
                return Ok(());
            }
            let removed = vault.remove_slot(id)?;
            note(&format!(
                "removed key slot {id} ({}); it no longer opens this file",
                removed.kind.label()
            ));
            warn(
                "it still opens copies of the vault made before now (backups, synced folders), and their data key is still this file's: run `tresor rekey` so it opens nothing written from now on",
            );
            if removed.current {
                warn("that was the credential you unlocked with this time");
            }
            Ok(())
        }
    }
}

fn list_slots(global: &Global) -> CliResult {
    let vault = unlock::open(global)?;
    let slots = vault.slots()?;
    let last_used = vault.slot_last_used().unwrap_or_default();
    println!("ID\tKIND\tADDED\tLAST USED");
    for slot in slots {
        let added = slot
            .added
            .map_or_else(|| "unknown (format 1)".to_string(), rfc3339);
        let used = match (slot.current, last_used.get(&slot.id)) {
            (true, _) => "now".to_string(),
            (false, Some(t)) => rfc3339(*t),
            (false, None) => "not recorded".to_string(),
        };
        println!("{}\t{}\t{added}\t{used}", slot.id, slot.kind.label());
    }
    Ok(())
}

/// What a rekey did and, as plainly, what it cannot undo.
fn rekey_summary(report: &RekeyReport) -> String {
    let slots = report
        .slots
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "{}: a new data key encrypts all {} ({} in {}); key slot{} {slots} rewrapped",
        if report.upgraded {
            "upgraded to format 2 and rekeyed"
        } else {
            "rekeyed"
        },
        plural(report.values, "value", "values"),
        plural(report.values, "secret", "secrets"),
        plural(report.environments, "environment", "environments"),
        if report.slots.len() == 1 { "" } else { "s" },
    );
    if !report.removed.is_empty() {
        let removed: Vec<String> = report.removed.iter().map(u32::to_string).collect();
        text.push_str(&format!("; removed slot {}", removed.join(", ")));
    }
    text.push_str(
        ".\nWhat it cannot undo: copies of the vault made before now (backups, synced folders) still hold the old values under the old data key, and every credential that opened them still does. Rotate the values a removed credential could read.",
    );
    text
}

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The other credentials a format-1 vault's slots may need.
fn other_credentials(others: &OtherCredentials) -> Result<Vec<Credential>, CliError> {
    let mut out: Vec<Credential> = others
        .also_keyfile
        .iter()
        .map(|p| Credential::Keyfile(p.clone()))
        .collect();
    if others.also_passphrase {
        let pass = match unlock::env_secret(unlock::PASSPHRASE_ENV) {
            Some(p) => p,
            None if unlock::can_prompt() => unlock::prompt("Passphrase of the other key slot: ")?,
            None => return Err(VaultError::NoCredential.into()),
        };
        out.push(Credential::Passphrase(pass));
    }
    Ok(out)
}

pub fn rekey(global: &Global, args: RekeyArgs) -> CliResult {
    let mut vault = unlock::open_asking(global, "Passphrase: ")?;
    unlock::forget_held(global);
    rekey_open(&mut vault, &args)
}

pub fn upgrade(global: &Global, args: RekeyArgs) -> CliResult {
    let mut vault = unlock::open_asking(global, "Passphrase: ")?;
    if vault.format() >= crate::vault::records::FORMAT {
        note(&format!(
            "the vault is already in format {}; nothing to do",
            vault.format()
        ));
        return Ok(());
    }
    rekey_open(&mut vault, &args)
}

fn rekey_open(vault: &mut unlock::OpenVault, args: &RekeyArgs) -> CliResult {
    let report = vault.rekey(RekeyPlan {
        other_credentials: other_credentials(&args.others)?,
        drop_unmatched: args.others.drop_unmatched,
        ..RekeyPlan::default()
    })?;
    note(&rekey_summary(&report));
    Ok(())
}

pub fn passwd(global: &Global, args: PasswdArgs) -> CliResult {
    let kdf = args.kdf.params()?;
    let mut vault = unlock::open_asking(global, "Current passphrase: ")?;
    let new = new_passphrase(unlock::NEW_PASSPHRASE_ENV, "New passphrase")?;
    // The passphrase's key slot gets a new id: a key held from the old one is stale.
    unlock::forget_held(global);
    // A format-1 vault is upgraded by a rekey anyway; its old passphrase slots are
    // replaced, so they need no credential.
    if args.rekey || vault.format() < crate::vault::records::FORMAT {
        let report = vault.rekey(RekeyPlan {
            new_passphrase: Some((new, kdf)),
            ..RekeyPlan::default()
        })?;
        note("passphrase changed; the old passphrase opens nothing written from now on");
        note(&rekey_summary(&report));
        return Ok(());
    }
    vault.change_passphrase(new, kdf)?;
    note("passphrase changed: the old passphrase no longer opens this file");
    warn(
        "it still opens copies of the vault made before now (backups, synced folders), and the data key inside them still decrypts this file: if the old passphrase may be known to someone else, run `tresor rekey` (or `tresor passwd --rekey` next time)",
    );
    Ok(())
}
