//! `tresor doctor`, `tresor compact` and `tresor restore`.

use clap::Args;

use super::{CliError, CliResult, Global, note, unlock, vault_path};
use crate::vault::maintenance::{self, Finding};
use crate::vault::validate;

#[derive(Debug, Args)]
pub struct DoctorArgs {}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Accept the vault file as it is now, even if it is older than what this machine saw
    #[arg(long, required = true)]
    pub accept_older: bool,
}

pub fn doctor(global: &Global, _args: DoctorArgs) -> CliResult {
    let path = vault_path(global)?;
    let mut findings = maintenance::check_file(&path);
    // Deep checks need the key; a damaged file stops at the storage findings.
    let vault_ok = !findings.iter().any(Finding::is_problem);
    findings.push(maintenance::check_audit_file(&path));
    if vault_ok {
        match unlock::open(global) {
            Ok(vault) => match vault.doctor() {
                Ok(more) => findings.extend(more),
                Err(e) => findings.push(Finding::Problem(e.to_string())),
            },
            Err(e) => findings.push(Finding::Problem(format!(
                "cannot unlock for the deep checks: {e}"
            ))),
        }
    }
    let mut problems = 0;
    for f in &findings {
        match f {
            Finding::Ok(t) => println!("ok       {t}"),
            Finding::Warning(t) => println!("warning  {t}"),
            Finding::Problem(t) => {
                problems += 1;
                println!("PROBLEM  {t}");
            }
        }
    }
    if problems > 0 {
        return Err(CliError::msg(format!(
            "doctor found {}",
            validate::count(problems, "problem", "problems")
        )));
    }
    Ok(())
}

pub fn compact(global: &Global) -> CliResult {
    let vault = unlock::open(global)?;
    let (before, after) = vault.compact()?;
    note(&format!(
        "compacted {}: {} KiB → {} KiB",
        vault.path().display(),
        before / 1024,
        after / 1024
    ));
    Ok(())
}

/// After a backup was restored on purpose: this machine accepts the file as it is.
pub fn restore(global: &Global, _args: RestoreArgs) -> CliResult {
    let vault = unlock::open(global)?;
    let (now, seen) = vault.accept_older()?;
    note(&match seen {
        Some(seen) if seen > now => format!(
            "accepted {} as it is (write {now}; this machine had seen write {seen}): changes made after this copy are not in it",
            vault.path().display()
        ),
        _ => format!("accepted {} as it is (write {now})", vault.path().display()),
    });
    Ok(())
}
