//! `tresor audit`: the access log, oldest first. Never values.
//!
//! `-p`/`-e` given on the command line filter it; their defaults (and `TRESOR_PROJECT`/
//! `TRESOR_ENV`, which say where commands act, not what to look back at) do not.

use std::collections::BTreeMap;

use clap::Args;

use super::secrets::rfc3339;
use super::{CliError, CliResult, Global, unlock, warn};
use crate::vault::audit::{AuditEvent, AuditLine};
use crate::vault::validate;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Show only the last N entries
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// On a team vault: this machine's own log instead of the team's
    #[arg(long)]
    pub mine: bool,
}

/// Which entries to show: only what was given on the command line filters.
pub(super) struct Filter {
    project: Option<String>,
    env: Option<String>,
}

impl Filter {
    fn from(global: &Global) -> Filter {
        Filter {
            project: given_on_command_line("project").then(|| global.project.clone()),
            env: given_on_command_line("env").then(|| global.env.clone()),
        }
    }

    fn keeps(&self, e: &AuditEvent) -> bool {
        self.keeps_place(&e.project, &e.env)
    }

    pub(super) fn keeps_place(&self, project: &str, env: &str) -> bool {
        self.project.as_ref().is_none_or(|p| p == project)
            && self.env.as_ref().is_none_or(|e| e == env)
    }
}

/// Whether a global option was typed, not defaulted: `Global` holds only the value, so
/// the arguments are parsed again for their source.
fn given_on_command_line(id: &str) -> bool {
    use clap::CommandFactory;
    use clap::parser::ValueSource;
    let Ok(matches) = super::Cli::command().try_get_matches_from(std::env::args_os()) else {
        return false;
    };
    let audit = matches.subcommand_matches("audit");
    [Some(&matches), audit]
        .into_iter()
        .flatten()
        .any(|m| m.value_source(id) == Some(ValueSource::CommandLine))
}

pub fn show(global: &Global, args: AuditArgs) -> CliResult {
    let vault = unlock::open(global)?;
    if vault.is_team() && !args.mine {
        if global.offline {
            return Err(CliError::msg(
                "the team's audit log is on the server: run it again without --offline, or `tresor audit --mine` for this machine's log",
            ));
        }
        return super::team_audit::show(&vault, &Filter::from(global), args.last);
    }
    let lines = vault.audit_log()?;
    // The log is still shown from a vault that fails its checks (it is evidence), but
    // then no slot can be called "removed": say why instead.
    let kinds: Option<BTreeMap<u32, &'static str>> = match vault.slots() {
        Ok(slots) => Some(slots.into_iter().map(|s| (s.id, s.kind.label())).collect()),
        Err(e) => {
            warn(&format!(
                "the vault did not pass its checks ({e}); key slots are shown by id only"
            ));
            None
        }
    };
    let filter = Filter::from(global);
    // Lines that fail to verify cannot be placed, so a filter keeps them all.
    let shown: Vec<&AuditLine> = lines
        .iter()
        .filter(|l| match l {
            AuditLine::Ok(e) => filter.keeps(e),
            _ => true,
        })
        .collect();
    let skip = args.last.map_or(0, |n| shown.len().saturating_sub(n));
    let mut broken = 0;
    for line in shown.iter().skip(skip) {
        match line {
            AuditLine::Ok(e) => {
                let place = match (e.project.as_str(), e.env.as_str()) {
                    ("", _) => "-".to_string(),
                    (p, "") => p.to_string(),
                    (p, env) => format!("{p}/{env}"),
                };
                println!(
                    "{}  {}@{}  {}  {}  {}  {}",
                    rfc3339(e.time),
                    e.user,
                    e.host,
                    via(e, kinds.as_ref()),
                    e.action,
                    place,
                    summarize_keys(&e.key)
                );
            }
            AuditLine::Broken { line } => {
                broken += 1;
                println!("line {line}: entry failed verification (edited, reordered or damaged)");
            }
            AuditLine::Oversized { line, len } => {
                broken += 1;
                println!(
                    "line {line}: {} MiB long, longer than any entry can be (planted or damaged); not read",
                    len >> 20
                );
            }
            AuditLine::Interrupted { line } => println!(
                "line {line}: an entry was interrupted while being written (a crash or a full disk); only that entry is lost"
            ),
        }
    }
    if broken > 0 {
        return Err(CliError::msg(format!(
            "the audit log has {} that failed verification",
            validate::count(broken, "entry", "entries")
        )));
    }
    Ok(())
}

/// `cli/slot 1 (keyfile)`; entries from before slots were recorded say only `cli`.
fn via(e: &AuditEvent, kinds: Option<&BTreeMap<u32, &'static str>>) -> String {
    match (e.slot, kinds) {
        (None, _) => e.via.label().to_string(),
        (Some(id), None) => format!("{}/slot {id}", e.via.label()),
        (Some(id), Some(kinds)) => format!(
            "{}/slot {id} ({})",
            e.via.label(),
            kinds.get(&id).copied().unwrap_or("removed")
        ),
    }
}

/// `run`, `export` and `import` record every key they touched; a line shows a few.
pub(super) fn summarize_keys(keys: &str) -> String {
    const SHOWN: usize = 5;
    let all: Vec<&str> = keys.split(',').collect();
    if all.len() <= SHOWN {
        return keys.to_string();
    }
    // A very long list was cut when written and ends with its own count.
    let total = all
        .last()
        .and_then(|l| l.strip_prefix("…("))
        .and_then(|l| l.strip_suffix(" keys in all)"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(all.len());
    format!("{},… ({total} keys)", all[..SHOWN].join(","))
}
