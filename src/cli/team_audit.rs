//! `tresor audit` on a team vault: every member's entries from the server, oldest first,
//! with the member's name and machine; what fails verification is listed after them.

use super::audit::{Filter, summarize_keys};
use super::secrets::rfc3339;
use super::{CliError, CliResult};
use crate::vault::Vault;
use crate::vault::team::audit::TeamAuditLine;
use crate::vault::validate;

pub(super) fn show(vault: &Vault, filter: &Filter, last: Option<usize>) -> CliResult {
    let lines = vault.team_audit_log().map_err(|e| {
        CliError::msg(format!(
            "{e} (`tresor audit --mine` shows this machine's own log without the server)"
        ))
    })?;
    let shown: Vec<&TeamAuditLine> = lines
        .iter()
        .filter(|l| match l {
            TeamAuditLine::Ok(e) => filter.keeps_place(&e.project, &e.env),
            _ => true,
        })
        .collect();
    let skip = last.map_or(0, |n| shown.len().saturating_sub(n));
    let mut failed = 0;
    for line in shown.iter().skip(skip) {
        match line {
            TeamAuditLine::Ok(e) => {
                let place = match (e.project.as_str(), e.env.as_str()) {
                    ("", _) => "-".to_string(),
                    (p, "") => p.to_string(),
                    (p, env) => format!("{p}/{env}"),
                };
                let keys = match &e.keys {
                    Some(k) => summarize_keys(k),
                    None => "(an environment you cannot read)".into(),
                };
                println!(
                    "{}  {}  {}@{}  {}  {}  {}  {}",
                    rfc3339(e.time_ms.div_euclid(1000)),
                    e.member,
                    e.user,
                    e.host,
                    e.via.label(),
                    e.action,
                    place,
                    keys
                );
            }
            TeamAuditLine::Broken { member, seq } => {
                failed += 1;
                println!(
                    "{member}, entry {seq}: failed verification (edited, moved, reordered or replayed on the server)"
                );
            }
            TeamAuditLine::Missing { member, from, to } => {
                failed += 1;
                let which = if from == to {
                    format!("entry {from}")
                } else {
                    format!("entries {from} to {to}")
                };
                println!("{member}, {which}: missing (dropped from the server's log)");
            }
            TeamAuditLine::CutOff { from, to } => {
                failed += 1;
                println!(
                    "your entries {from} to {to}, sent from this machine, are gone from the end of the server's log"
                );
            }
            TeamAuditLine::Unreadable { member, count } => println!(
                "{member}: {} sealed under keys from before you joined; not shown",
                validate::count(*count, "entry", "entries")
            ),
        }
    }
    if failed > 0 {
        return Err(CliError::msg(format!(
            "the team's audit log has {} that failed verification",
            validate::count(failed, "problem", "problems")
        )));
    }
    Ok(())
}
