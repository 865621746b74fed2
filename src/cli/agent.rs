//! `tresor unlock`, `tresor lock [--all]`, and the hidden `tresor agent serve` that
//! `unlock` starts: unlock once per session (see `crate::agent`).

use clap::{Args, Subcommand};

use super::{CliError, CliResult, Global, note, unlock, vault_path};
use crate::agent::{self, AgentError};
use crate::vault::{self, Credential, Vault, VaultError};

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Forget the keys of every vault and stop the agent
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Run the agent (started by `tresor unlock`; not for direct use)
    #[command(after_help = "Example:\n  tresor unlock        starts it")]
    Serve {
        /// Forget a key unused for this many seconds
        #[arg(long, default_value_t = agent::DEFAULT_TIMEOUT.as_secs())]
        timeout: u64,
    },
    /// Print how many keys the agent holds and its process id
    #[command(after_help = "Example:\n  tresor agent status")]
    Status,
}

/// Unlocks the vault once and hands its key to the agent, starting the agent if needed.
pub fn unlock(global: &Global) -> CliResult {
    let path = vault_path(global)?;
    vault::store::check_file(&path)?;
    let timeout = agent::timeout_from_env().map_err(CliError::Message)?;
    let Some(id) = vault::vault_id(&path)? else {
        return Err(CliError::msg(
            "this vault is in format 1: the agent holds only format-2 keys; run `tresor upgrade` first",
        ));
    };
    // Already held and still good: nothing to ask (the key's timer restarts).
    if let Ok(Some(held)) = agent::client::fetch(&id) {
        match Vault::unlock(&path, &Credential::Held(held)) {
            Ok(_) => {
                note(&format!("{} is already unlocked", path.display()));
                return Ok(());
            }
            Err(VaultError::HeldKeyStale) => {
                let _ = agent::client::forget(&id);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let vault = unlock::open_asking(global, "Passphrase: ")?;
    agent::offer(&vault, agent::Mode::Start).map_err(|e| CliError::msg(e.to_string()))?;
    note(&format!(
        "unlocked {}: commands use the agent's key until it goes unused for {} (`tresor lock` forgets it now)",
        path.display(),
        human(timeout)
    ));
    Ok(())
}

/// Forgets this vault's key at once, or every key and the agent itself.
pub fn lock(global: &Global, args: LockArgs) -> CliResult {
    if args.all {
        return match agent::client::stop() {
            Ok(()) => {
                note("the agent forgot every key and stopped");
                Ok(())
            }
            Err(AgentError::NotRunning) => {
                note("no agent is running");
                Ok(())
            }
            Err(e) => Err(CliError::msg(e.to_string())),
        };
    }
    let path = vault_path(global)?;
    vault::store::check_file(&path)?;
    let Some(id) = vault::vault_id(&path)? else {
        note("no agent holds a format-1 vault's key");
        return Ok(());
    };
    match agent::client::forget(&id) {
        Ok(true) => note(&format!(
            "locked {}: the agent forgot its key",
            path.display()
        )),
        Ok(false) => note(&format!("the agent held no key for {}", path.display())),
        Err(AgentError::NotRunning) => note("no agent is running"),
        Err(e) => return Err(CliError::msg(e.to_string())),
    }
    Ok(())
}

pub fn agent(command: AgentCommand) -> CliResult {
    let timeout = match command {
        AgentCommand::Serve { timeout } => timeout,
        AgentCommand::Status => {
            return match agent::client::status() {
                Ok(status) => {
                    println!("keys\t{}\npid\t{}", status.keys, status.pid);
                    Ok(())
                }
                Err(e) => Err(CliError::msg(e.to_string())),
            };
        }
    };
    let timeout = std::time::Duration::from_secs(timeout.max(1));
    match agent::server::serve(timeout) {
        0 => Ok(()),
        code => Err(CliError::Exit(code)),
    }
}

fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
