//! `history`, `rollback` and `config`: a secret's earlier values, making one current
//! again, and the vault's settings (how many versions to keep). Never prints a value.

use clap::{Args, Subcommand};

use super::secrets::{print_data, rfc3339, table};
use super::{CliError, CliResult, Global, note, unlock};
use crate::vault::{MAX_DEPTH, validate};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    pub key: String,
    /// One JSON array of {version, current, since, by, fingerprint, length}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    pub key: String,
    /// The version to make current again (see `tresor history KEY`)
    pub version: u32,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// How many earlier values each secret keeps (default 10; 0 keeps none). Without N: show it
    #[command(
        after_help = "Examples:\n  tresor config history-depth         show it\n  tresor config history-depth 25      keep 25 earlier values per secret\n\nLowering it deletes the older values at once, in every environment."
    )]
    HistoryDepth {
        #[arg(value_parser = clap::value_parser!(u16).range(0..=i64::from(MAX_DEPTH)))]
        depth: Option<u16>,
    },
}

fn when(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub fn history(global: &Global, args: HistoryArgs) -> CliResult {
    let vault = unlock::open(global)?;
    let versions = vault.history(&global.project, &global.env, &args.key)?;
    let out = if args.json {
        let items: Vec<serde_json::Value> = versions
            .iter()
            .map(|v| {
                serde_json::json!({
                    "version": v.version,
                    "current": v.current,
                    "since": rfc3339(v.since),
                    "by": v.by,
                    "fingerprint": v.fingerprint,
                    "length": v.len,
                })
            })
            .collect();
        let mut out =
            serde_json::to_string_pretty(&items).map_err(|e| CliError::msg(e.to_string()))?;
        out.push('\n');
        out
    } else {
        let rows: Vec<[String; 5]> = versions
            .iter()
            .map(|v| {
                [
                    if v.current {
                        format!("{} (current)", v.version)
                    } else {
                        v.version.to_string()
                    },
                    when(v.since),
                    v.by.as_deref()
                        .map_or_else(|| "-".into(), validate::printable),
                    v.fingerprint.clone(),
                    v.len.to_string(),
                ]
            })
            .collect();
        table(["VERSION", "SINCE", "BY", "FINGERPRINT", "BYTES"], &rows)
    };
    print_data(&out)
}

pub fn rollback(global: &Global, args: RollbackArgs) -> CliResult {
    let vault = unlock::open_for_change(global)?;
    let now = vault.rollback(&global.project, &global.env, &args.key, args.version)?;
    note(&format!(
        "{} in {}/{} has the value of version {} again, as version {now} (undo: `tresor rollback {} {}`)",
        validate::printable(&args.key),
        global.project,
        global.env,
        args.version,
        validate::printable(&args.key),
        now - 1,
    ));
    Ok(())
}

pub fn config(global: &Global, command: ConfigCommand) -> CliResult {
    match command {
        ConfigCommand::HistoryDepth { depth: None } => {
            let vault = unlock::open(global)?;
            print_data(&format!("{}\n", vault.history_depth()?))
        }
        ConfigCommand::HistoryDepth { depth: Some(depth) } => {
            let vault = unlock::open_for_change(global)?;
            let removed = vault.set_history_depth(depth)?;
            let kept = match depth {
                0 => "no earlier values are kept".to_string(),
                1 => "each secret keeps its last earlier value".to_string(),
                n => format!("each secret keeps its last {n} earlier values"),
            };
            if removed > 0 {
                note(&format!(
                    "{kept}; {} removed now",
                    validate::count(removed, "older version", "older versions")
                ));
            } else {
                note(&kept);
            }
            Ok(())
        }
    }
}
