//! `tresor project list|add|rm`: the projects of the vault.

use clap::Subcommand;

use super::{CliError, CliResult, Global, confirm, note, unlock};
use crate::vault::{DEFAULT_ENVIRONMENTS, VaultError, validate};

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// List the projects with their number of environments and secrets
    #[command(after_help = "Example:\n  tresor project list")]
    List,
    /// Add a project with the environments development, staging and production
    #[command(
        after_help = "Example:\n  tresor project add billing\n  tresor -p billing add STRIPE_API_KEY"
    )]
    Add { name: String },
    /// Remove a project with all its environments; one that holds secrets asks first, or needs --force
    #[command(after_help = "Example:\n  tresor project rm old-site --force")]
    Rm {
        name: String,
        /// Delete it with every secret it holds, without asking
        #[arg(short, long, visible_alias = "yes")]
        force: bool,
    },
}

pub fn run(global: &Global, command: ProjectCommand) -> CliResult {
    match command {
        ProjectCommand::List => list(global),
        ProjectCommand::Add { name } => {
            let vault = unlock::open_for_change(global)?;
            let id = super::team::identity_for_catalog(global, &vault, true)?;
            vault.add_project_as(id.as_ref(), &name)?;
            note(&format!(
                "added project {name} with environments {}",
                DEFAULT_ENVIRONMENTS.join(", ")
            ));
            Ok(())
        }
        ProjectCommand::Rm { name, force } => rm(global, &name, force),
    }
}

/// One line per project: name, environments, secrets (tab-separated, for scripts too).
fn list(global: &Global) -> CliResult {
    let vault = unlock::open(global)?;
    for (project, envs) in vault.projects()? {
        let secrets: usize = envs.iter().map(|e| e.secrets).sum();
        println!(
            "{project}\t{}\t{}",
            validate::count(envs.len(), "environment", "environments"),
            validate::count(secrets, "secret", "secrets")
        );
    }
    Ok(())
}

fn rm(global: &Global, name: &str, force: bool) -> CliResult {
    let vault = unlock::open_for_change(global)?;
    let (envs, secrets) = match vault.remove_project(name, force) {
        Err(VaultError::ProjectNotEmpty { count, envs, .. }) if !force => {
            let question = format!(
                "Project {name} holds {} in {}. Delete it with all of them?",
                validate::count(count, "secret", "secrets"),
                validate::count(envs, "environment", "environments")
            );
            match confirm(&question) {
                Some(true) => vault.remove_project(name, true)?,
                Some(false) => {
                    note("nothing deleted");
                    return Err(CliError::Exit(1));
                }
                None => {
                    return Err(VaultError::ProjectNotEmpty {
                        project: name.into(),
                        count,
                        envs,
                    }
                    .into());
                }
            }
        }
        other => other?,
    };
    note(&format!(
        "removed project {name}: {} and {}",
        validate::count(envs, "environment", "environments"),
        validate::count(secrets, "secret", "secrets")
    ));
    Ok(())
}
