//! `tresor audit`: the access log, oldest first. Never values.

use clap::Args;

use super::secrets::rfc3339;
use super::{CliError, CliResult, Global, unlock};
use crate::vault::audit::AuditLine;
use crate::vault::validate;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Show only the last N entries
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
}

pub fn show(global: &Global, args: AuditArgs) -> CliResult {
    let vault = unlock::open(global)?;
    let lines = vault.audit_log()?;
    let skip = args.last.map_or(0, |n| lines.len().saturating_sub(n));
    let mut broken = 0;
    for line in lines.iter().skip(skip) {
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
                    e.via.label(),
                    e.action,
                    place,
                    summarize_keys(&e.key)
                );
            }
            AuditLine::Broken { line } => {
                broken += 1;
                println!("line {line}: entry failed verification (edited, reordered or damaged)");
            }
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

/// `run`, `export` and `import` record every key they touched; a line shows a few.
fn summarize_keys(keys: &str) -> String {
    const SHOWN: usize = 5;
    let all: Vec<&str> = keys.split(',').collect();
    if all.len() <= SHOWN {
        return keys.to_string();
    }
    format!("{},… ({} keys)", all[..SHOWN].join(","), all.len())
}
