//! `tresor env list|add|rm`: the environments of a project.

use clap::Subcommand;

use super::{CliError, CliResult, Global, confirm, note, unlock};
use crate::vault::{VaultError, validate};

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// List the project's environments with their number of secrets
    #[command(after_help = "Example:\n  tresor -p billing env list")]
    List,
    /// Add an environment to the project (a new project is created by its first environment)
    #[command(
        after_help = "Examples:\n  tresor env add preview\n  tresor -p billing env add production"
    )]
    Add { name: String },
    /// Remove an environment; one that holds secrets asks first, or needs --yes
    #[command(after_help = "Example:\n  tresor env rm preview --yes")]
    Rm {
        name: String,
        #[arg(short, long)]
        yes: bool,
    },
    /// Copy every secret of an environment into a new one (or an empty one)
    #[command(
        after_help = "Examples:\n  tresor env clone staging preview\n  tresor -p billing env clone production production --to-project billing-eu\n  tresor env clone staging qa --merge          qa exists: add only what it lacks\n  tresor env clone staging qa --overwrite      …and replace what differs\n\nOne transaction. Secrets of the target that the source lacks are never removed."
    )]
    Clone(super::copy::CloneArgs),
    /// Set an environment's rotation period: `tresor check` flags values older than it
    #[command(
        after_help = "Example:\n  tresor env set production --rotate-days 30\n\nThe default is 90 days. Stored in the vault (sealed, covered by its digest)."
    )]
    Set {
        name: String,
        /// Days a value may stay unchanged before it is stale (1 to 3650)
        #[arg(long, value_name = "DAYS", required = true)]
        rotate_days: Option<u16>,
    },
}

pub fn run(global: &Global, command: EnvCommand) -> CliResult {
    let vault = match command {
        EnvCommand::List => unlock::open(global)?,
        _ => unlock::open_for_change(global)?,
    };
    match command {
        EnvCommand::List => {
            let envs: Vec<_> = vault
                .environments()?
                .into_iter()
                .filter(|e| e.project == global.project)
                .collect();
            if envs.is_empty() {
                return Err(CliError::msg(format!(
                    "no project `{}` in this vault (create it with `tresor -p {} env add development`)",
                    global.project, global.project
                )));
            }
            let periods = vault.rotation_periods()?;
            for env in envs {
                let noun = if env.secrets == 1 {
                    "secret"
                } else {
                    "secrets"
                };
                // The rotation period is shown only where one was set.
                let days = periods
                    .iter()
                    .find(|(p, e, _)| *p == env.project && *e == env.name)
                    .map(|(_, _, d)| *d)
                    .filter(|d| *d != crate::vault::DEFAULT_ROTATE_DAYS)
                    .map(|d| format!("\trotate every {d} days"))
                    .unwrap_or_default();
                // A team environment this member holds no key of shows no secrets.
                if env.secrets == 0 && !vault.team_holds_key(&env.project, &env.name)? {
                    println!("{}\tno access{days}", env.name);
                    continue;
                }
                println!("{}\t{} {noun}{days}", env.name, env.secrets);
            }
            Ok(())
        }
        EnvCommand::Clone(args) => super::copy::clone_env(&vault, global, args),
        EnvCommand::Add { name } => {
            let id = super::team::identity_for_catalog(global, &vault, true)?;
            vault.add_env_as(id.as_ref(), &global.project, &name)?;
            note(&format!("added environment {}/{name}", global.project));
            if !vault.team_holds_key(&global.project, &name)? {
                note(
                    "its key went to the members who read every environment: you are limited to some (--only-env), so you cannot read or change its secrets",
                );
            }
            Ok(())
        }
        EnvCommand::Set { name, rotate_days } => {
            if let Some(days) = rotate_days {
                vault.set_rotation(&global.project, &name, days)?;
                note(&format!(
                    "{}/{name}: values older than {days} days are now stale",
                    global.project
                ));
            }
            Ok(())
        }
        EnvCommand::Rm { name, yes } => {
            let removed = match vault.remove_env(&global.project, &name, yes) {
                Err(VaultError::EnvNotEmpty { count, .. }) if !yes => {
                    let question = format!(
                        "Environment {}/{name} holds {count} {}. Delete it with all of them?",
                        global.project,
                        if count == 1 { "secret" } else { "secrets" }
                    );
                    match confirm(&question) {
                        Some(true) => vault.remove_env(&global.project, &name, true)?,
                        Some(false) => {
                            note("nothing deleted");
                            return Err(CliError::Exit(1));
                        }
                        None => {
                            return Err(VaultError::EnvNotEmpty {
                                project: global.project.clone(),
                                env: name,
                                count,
                            }
                            .into());
                        }
                    }
                }
                other => other?,
            };
            note(&format!(
                "removed environment {}/{name} and its {}",
                global.project,
                validate::count(removed, "secret", "secrets")
            ));
            Ok(())
        }
    }
}
