//! `tresor check` (the health report) and `tresor diff` (environments compared): thin
//! printers over `vault::health` and `Vault::compare`. Neither prints a value or a
//! fingerprint: keys, environments, flags and reasons only.

use std::io::Write;

use clap::Args;
use serde_json::json;

use super::secrets::table;
use super::{CliError, CliResult, Global, note, unlock};
use crate::vault::health::{Flag, HealthReport, Scope, SecretPlace};
use crate::vault::{CompareRow, Comparison, RowFilter, RowState, validate};

/// The exit status of `check` when a flag chosen by `--fail-on` is found: distinct
/// from 1 (an error) and 2 (a usage error), so CI can tell "unhealthy" from "broken".
pub const EXIT_FLAGGED: i32 = 3;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check every environment of every project (default: the -p/-e environment)
    #[arg(long)]
    all: bool,
    /// One JSON object on stdout (stable: see the README)
    #[arg(long)]
    json: bool,
    /// Flags that make the exit status 3, comma-separated: weak, reused, stale, unused,
    /// undocumented, badly-named; `all` or `none`
    #[arg(long, value_name = "FLAGS", default_value = "all", value_parser = parse_fail_on)]
    fail_on: FailOn,
}

/// The flags chosen by `--fail-on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailOn(Vec<Flag>);

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Two or more environments of the project, in the order of the columns
    #[arg(required = true, num_args = 2.., value_name = "ENV")]
    envs: Vec<String>,
    /// One JSON object on stdout
    #[arg(long)]
    json: bool,
    /// Only keys missing from at least one of the environments
    #[arg(long, conflicts_with = "only_same")]
    only_missing: bool,
    /// Only keys whose value is the same in at least two of the environments
    #[arg(long)]
    only_same: bool,
}

/// A typo in `--fail-on` is a usage error (exit 2), never a silently weaker check.
fn parse_fail_on(text: &str) -> Result<FailOn, String> {
    let mut out = Vec::new();
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err("give at least one flag, or `all` or `none`".into());
    }
    for part in parts {
        match part {
            "all" => out.extend(Flag::ALL),
            "none" => {}
            _ => out.push(Flag::parse(part).ok_or_else(|| {
                let known: Vec<&str> = Flag::ALL.iter().map(|f| f.slug()).collect();
                format!(
                    "unknown flag `{}` (known: {}, all, none)",
                    validate::printable(part),
                    known.join(", ")
                )
            })?),
        }
    }
    out.sort();
    out.dedup();
    Ok(FailOn(out))
}

fn print(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::msg(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn json_text(value: &serde_json::Value) -> Result<String, CliError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| CliError::msg(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

fn place_json(p: &SecretPlace) -> serde_json::Value {
    json!({"project": p.project, "environment": p.env, "key": p.key})
}

pub fn check(global: &Global, args: CheckArgs) -> CliResult {
    let fail_on = args.fail_on.0;
    let vault = unlock::open(global)?;
    let scope = if args.all {
        Scope::all()
    } else {
        Scope::env(&global.project, &global.env)
    };
    let report = vault.health(&scope, chrono::Utc::now().timestamp())?;
    let (project, env) = match (&scope.project, &scope.env) {
        (Some(p), Some(e)) => (p.as_str(), e.as_str()),
        _ => ("", ""),
    };
    vault.record_check(project, env, if args.all { "all" } else { "" });
    let failed = report
        .flagged()
        .any(|s| s.findings.iter().any(|f| fail_on.contains(&f.flag)));
    for n in &report.notes {
        super::warn(n);
    }
    if args.json {
        print(&json_text(&report_json(&report, &fail_on, failed))?)?;
    } else {
        print_report(&report, args.all)?;
    }
    if failed {
        Err(CliError::Exit(EXIT_FLAGGED))
    } else {
        Ok(())
    }
}

fn report_json(report: &HealthReport, fail_on: &[Flag], failed: bool) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = Flag::ALL
        .iter()
        .map(|f| (f.slug().to_string(), json!(report.count(*f))))
        .collect();
    let secrets: Vec<serde_json::Value> = report
        .flagged()
        .map(|s| {
            json!({
                "project": s.place.project,
                "environment": s.place.env,
                "key": s.place.key,
                "type": s.kind.slug(),
                "flags": s.findings.iter().map(|f| f.flag.slug()).collect::<Vec<_>>(),
                "reasons": s.findings.iter().map(|f| json!({"flag": f.flag.slug(), "why": f.why})).collect::<Vec<_>>(),
                "reused_with": s.reused_with.iter().map(place_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "version": 1,
        "environments": report.environments.iter().map(|e| json!({
            "project": e.project,
            "environment": e.env,
            "rotate_days": e.rotate_days,
            "secrets": e.secrets,
        })).collect::<Vec<_>>(),
        "checked": report.secrets.len(),
        "flagged": report.flagged().count(),
        "counts": counts,
        "fail_on": fail_on.iter().map(|f| f.slug()).collect::<Vec<_>>(),
        "failed": failed,
        "secrets": secrets,
        "notes": report.notes,
    })
}

fn print_report(report: &HealthReport, all: bool) -> CliResult {
    let rows: Vec<[String; 4]> = report
        .flagged()
        .flat_map(|s| {
            let env = if all {
                format!("{}/{}", s.place.project, s.place.env)
            } else {
                s.place.env.clone()
            };
            s.findings.iter().map(move |f| {
                [
                    validate::printable(&s.place.key),
                    validate::printable(&env),
                    f.flag.slug().to_string(),
                    validate::printable(&f.why),
                ]
            })
        })
        .collect();
    if !rows.is_empty() {
        print(&table(["KEY", "ENVIRONMENT", "FLAG", "WHY"], &rows))?;
    }
    let flagged = report.flagged().count();
    let checked = report.secrets.len();
    let counts: Vec<String> = Flag::ALL
        .iter()
        .map(|f| (f, report.count(*f)))
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| format!("{} {n}", f.slug()))
        .collect();
    let noun = if checked == 1 { "secret" } else { "secrets" };
    if flagged == 0 {
        note(&format!("checked {checked} {noun}: nothing flagged"));
    } else {
        note(&format!(
            "checked {checked} {noun}: {flagged} flagged ({})",
            counts.join(", ")
        ));
    }
    Ok(())
}

pub fn diff(global: &Global, args: DiffArgs) -> CliResult {
    let vault = unlock::open(global)?;
    let comparison = vault.compare(&global.project, &args.envs)?;
    vault.record_check(
        &global.project,
        "",
        &format!("diff {}", args.envs.join(",")),
    );
    let filter = if args.only_missing {
        RowFilter::Missing
    } else if args.only_same {
        RowFilter::Same
    } else {
        RowFilter::All
    };
    let rows: Vec<&CompareRow> = comparison.rows.iter().filter(|r| filter.keeps(r)).collect();
    if args.json {
        print(&json_text(&diff_json(&comparison, &rows))?)?;
        return Ok(());
    }
    print_diff(&comparison, &rows)
}

/// Where a row's key is missing, for the status column.
pub fn row_status(c: &Comparison, row: &CompareRow) -> String {
    match row.state {
        RowState::Same => "same".into(),
        RowState::Differ => "differ".into(),
        RowState::Missing => {
            let missing: Vec<&str> = c
                .envs
                .iter()
                .zip(&row.groups)
                .filter(|(_, g)| g.is_none())
                .map(|(e, _)| e.as_str())
                .collect();
            format!("missing in {}", missing.join(", "))
        }
    }
}

fn diff_json(c: &Comparison, rows: &[&CompareRow]) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let values: serde_json::Map<String, serde_json::Value> = c
                .envs
                .iter()
                .zip(&r.groups)
                .map(|(e, g)| {
                    let v = g.map(|g| CompareRow::letter(g).to_string());
                    (e.clone(), json!(v))
                })
                .collect();
            let missing_in: Vec<&str> = c
                .envs
                .iter()
                .zip(&r.groups)
                .filter(|(_, g)| g.is_none())
                .map(|(e, _)| e.as_str())
                .collect();
            json!({
                "key": r.key,
                "state": r.state.slug(),
                "values": values,
                "missing_in": missing_in,
            })
        })
        .collect();
    json!({
        "version": 1,
        "project": c.project,
        "environments": c.envs,
        "keys": keys,
    })
}

fn print_diff(c: &Comparison, rows: &[&CompareRow]) -> CliResult {
    if rows.is_empty() {
        note(&format!(
            "no keys to show in {} of project {}",
            c.envs.join(", "),
            c.project
        ));
        return Ok(());
    }
    // The column count is known only at run time: build the table by hand.
    let mut header = vec!["KEY".to_string()];
    header.extend(c.envs.iter().map(|e| validate::printable(e)));
    header.push(String::new());
    let mut lines: Vec<Vec<String>> = vec![header];
    for r in rows {
        let mut line = vec![validate::printable(&r.key)];
        line.extend(r.groups.iter().map(|g| match g {
            Some(g) => CompareRow::letter(*g).to_string(),
            None => "-".to_string(),
        }));
        line.push(row_status(c, r));
        lines.push(line);
    }
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let mut text = String::new();
        for (i, cell) in l.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < columns {
                text.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    print(&out)?;
    let count = |s: RowState| rows.iter().filter(|r| r.state == s).count();
    note(&format!(
        "{} keys: {} same, {} differ, {} missing somewhere (same letter: same value; -: missing)",
        rows.len(),
        count(RowState::Same),
        count(RowState::Differ),
        count(RowState::Missing)
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_reads_names_all_and_none() {
        let parsed = |t: &str| parse_fail_on(t).map(|f| f.0);
        assert_eq!(parsed("all").unwrap(), Flag::ALL.to_vec());
        assert_eq!(parsed("none").unwrap(), Vec::<Flag>::new());
        assert_eq!(
            parsed("reused, weak,weak").unwrap(),
            [Flag::Weak, Flag::Reused]
        );
        assert_eq!(parsed("badly-named").unwrap(), [Flag::BadlyNamed]);
        let err = parsed("weak,typo").unwrap_err();
        assert!(err.contains("unknown flag `typo`"), "{err}");
        // An empty list would make `check` pass whatever it finds.
        assert!(parsed("").is_err());
        assert!(parsed(" , ").is_err());
    }
}
