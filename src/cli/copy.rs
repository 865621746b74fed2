//! `tresor cp` and `tresor env clone`: copy a secret, or a whole environment, to another
//! environment or project. The rules (refusals, what is kept) live in `vault::copy`.

use clap::Args;

use super::{CliError, CliResult, Global, note, unlock};
use crate::vault::validate::count;
use crate::vault::{CloneMode, CopyOutcome, Vault, VaultError};

#[derive(Debug, Args)]
pub struct CpArgs {
    /// The secret to copy (from -p/-e)
    pub key: String,
    /// The environment to copy it to
    #[arg(long, value_name = "ENV")]
    pub to_env: String,
    /// The project to copy it to [default: the source's project]
    #[arg(long, value_name = "PROJECT")]
    pub to_project: Option<String>,
    /// Replace the secret if the target already has this key
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The environment to copy (of -p)
    pub from: String,
    /// The environment to create, or an empty one to fill
    pub to: String,
    /// The project of the new environment [default: -p]
    #[arg(long, value_name = "PROJECT")]
    pub to_project: Option<String>,
    /// Into an environment that holds secrets: add only the keys it lacks, keep its own
    #[arg(long, conflicts_with = "overwrite")]
    pub merge: bool,
    /// Into an environment that holds secrets: add the keys it lacks and replace the
    /// ones that differ (value, description, type)
    #[arg(long)]
    pub overwrite: bool,
}

pub fn cp(global: &Global, args: CpArgs) -> CliResult {
    let from = (global.project.as_str(), global.env.as_str());
    let to_project = args.to_project.as_deref().unwrap_or(from.0);
    let to = (to_project, args.to_env.as_str());
    let vault = unlock::open_for_change(global)?;
    let outcome = match vault.copy_secret(&args.key, from, to, args.overwrite) {
        Err(VaultError::Duplicate { key, project, env }) => {
            return Err(CliError::msg(format!(
                "secret `{key}` already exists in {project}/{env}: pass --overwrite to replace it"
            )));
        }
        other => other?,
    };
    let (key, src, dst) = (
        &args.key,
        format!("{}/{}", from.0, from.1),
        format!("{}/{}", to.0, to.1),
    );
    note(&match outcome {
        CopyOutcome::Created => format!("copied {key} from {src} to {dst}"),
        CopyOutcome::Replaced => format!("replaced {key} in {dst} with the one from {src}"),
        CopyOutcome::Unchanged => {
            format!("{key} in {dst} is already the same as in {src}: nothing changed")
        }
    });
    Ok(())
}

pub fn clone_env(vault: &Vault, global: &Global, args: CloneArgs) -> CliResult {
    let project = global.project.as_str();
    let to_project = args.to_project.as_deref().unwrap_or(project);
    let mode = match (args.merge, args.overwrite) {
        (true, _) => CloneMode::Merge,
        (_, true) => CloneMode::Overwrite,
        _ => CloneMode::Refuse,
    };
    let new_env = !vault
        .environment_tabs()?
        .iter()
        .any(|e| e.project == to_project && e.name == args.to);
    let id = super::team::identity_for_catalog(global, vault, new_env)?;
    let report = vault.clone_env_as(
        id.as_ref(),
        (project, &args.from),
        (to_project, &args.to),
        mode,
    )?;
    let (src, dst) = (
        format!("{project}/{}", args.from),
        format!("{to_project}/{}", args.to),
    );
    let mut summary = if report.created_env {
        format!(
            "created {dst} with {} from {src}",
            count(report.added.len(), "secret", "secrets")
        )
    } else {
        format!(
            "{dst}: {} added and {} replaced from {src}",
            count(report.added.len(), "secret", "secrets"),
            report.replaced.len()
        )
    };
    if !report.unchanged.is_empty() {
        summary.push_str(&format!("; {} already the same", report.unchanged.len()));
    }
    note(&summary);
    if !report.kept.is_empty() {
        note(&format!(
            "kept {} of {dst} that differ{} (use --overwrite to replace them): {}",
            count(report.kept.len(), "secret", "secrets"),
            if report.kept.len() == 1 { "s" } else { "" },
            report.kept.join(", ")
        ));
    }
    Ok(())
}
