//! Health: the product page's advice (strong values, different secrets per environment,
//! rotate regularly, remove unused secrets, document each secret, descriptive names) as
//! flags on each secret, for `tresor check` and the TUI's health column.
//!
//! The rules are pure functions (`rules`); `scan` reads values only inside this process
//! to fingerprint and judge them; this file puts both together with the audit log
//! (for "unused") and the environments' rotation periods. A report names keys and
//! environments, never a value, a part of one, or a fingerprint.

pub mod rules;
pub mod scan;

use std::collections::HashMap;

use super::audit::AuditLine;
use super::environments::DEFAULT_ROTATE_DAYS;
use super::error::Result;
use super::{SecretType, Vault};
pub use scan::Fingerprint;
use scan::{ScanPlan, ScannedEnv};

/// One piece of the page's advice. The order is the order flags are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    Weak,
    Reused,
    Stale,
    Unused,
    Undocumented,
    BadlyNamed,
}

impl Flag {
    pub const ALL: [Flag; 6] = [
        Flag::Weak,
        Flag::Reused,
        Flag::Stale,
        Flag::Unused,
        Flag::Undocumented,
        Flag::BadlyNamed,
    ];

    /// The name used by `--fail-on`, the JSON and the table.
    pub fn slug(self) -> &'static str {
        match self {
            Flag::Weak => "weak",
            Flag::Reused => "reused",
            Flag::Stale => "stale",
            Flag::Unused => "unused",
            Flag::Undocumented => "undocumented",
            Flag::BadlyNamed => "badly-named",
        }
    }

    pub fn parse(text: &str) -> Option<Flag> {
        let t = text.trim().to_ascii_lowercase().replace('_', "-");
        Flag::ALL
            .into_iter()
            .find(|f| f.slug() == t)
            .or(match t.as_str() {
                "naming" | "name" | "badly-named" | "bad-name" => Some(Flag::BadlyNamed),
                "old" | "rotate" => Some(Flag::Stale),
                _ => None,
            })
    }

    /// Weak, reused and stale values put a secret at risk; the others are hygiene.
    pub fn is_risk(self) -> bool {
        matches!(self, Flag::Weak | Flag::Reused | Flag::Stale)
    }
}

/// Why one secret carries one flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub flag: Flag,
    pub why: String,
}

/// Where a secret lives: (project, environment, key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretPlace {
    pub project: String,
    pub env: String,
    pub key: String,
}

/// One checked secret with its flags (none when healthy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHealth {
    pub place: SecretPlace,
    pub kind: SecretType,
    pub findings: Vec<Finding>,
    /// The other secrets holding the same value (the `reused` flag), sorted.
    pub reused_with: Vec<SecretPlace>,
}

impl SecretHealth {
    pub fn has(&self, flag: Flag) -> bool {
        self.findings.iter().any(|f| f.flag == flag)
    }

    /// All reasons on one line, e.g. for a status line.
    pub fn summary(&self) -> String {
        self.findings
            .iter()
            .map(|f| format!("{}: {}", f.flag.slug(), f.why))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// An environment that was checked, with the rotation period it was checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedEnv {
    pub project: String,
    pub env: String,
    pub rotate_days: u16,
    pub secrets: usize,
}

/// What `health` found: every checked secret, flagged or not, in (project, env, key)
/// order, and the environments checked.
#[derive(Debug, Clone, Default)]
pub struct HealthReport {
    pub environments: Vec<CheckedEnv>,
    pub secrets: Vec<SecretHealth>,
    /// A rule that could not run, and why (an unreadable audit log, say).
    pub notes: Vec<String>,
}

impl HealthReport {
    pub fn flagged(&self) -> impl Iterator<Item = &SecretHealth> {
        self.secrets.iter().filter(|s| !s.findings.is_empty())
    }

    pub fn count(&self, flag: Flag) -> usize {
        self.secrets.iter().filter(|s| s.has(flag)).count()
    }
}

/// Which environments to check: one, a project's, or all of the vault's.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub project: Option<String>,
    pub env: Option<String>,
}

impl Scope {
    pub fn env(project: &str, env: &str) -> Scope {
        Scope {
            project: Some(project.into()),
            env: Some(env.into()),
        }
    }

    pub fn all() -> Scope {
        Scope::default()
    }

    pub fn contains(&self, project: &str, env: &str) -> bool {
        self.project.as_deref().is_none_or(|p| p == project)
            && self.env.as_deref().is_none_or(|e| e == env)
    }
}

/// Audit actions that read a value: what keeps a secret from being "unused".
const READ_ACTIONS: &[&str] = &["get", "run", "export", "copy", "cp", "reveal"];

/// A value read: by the commands above, or as the source of `cp` / `env clone`
/// (whose action names the target after the prefix).
fn is_read(action: &str) -> bool {
    READ_ACTIONS.contains(&action)
        || [super::copy::COPY_TO, super::copy::CLONE_TO]
            .iter()
            .any(|prefix| {
                action
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(' '))
            })
}

/// When each (project, env, key) was last read, from the audit log. A `run` or
/// `export` whose key list was cut (see `audit`) read the whole environment.
fn last_reads(lines: &[AuditLine]) -> (HashMap<SecretPlace, i64>, HashMap<(String, String), i64>) {
    let mut keys: HashMap<SecretPlace, i64> = HashMap::new();
    let mut whole: HashMap<(String, String), i64> = HashMap::new();
    for line in lines {
        let AuditLine::Ok(e) = line else { continue };
        if !is_read(&e.action) {
            continue;
        }
        if e.key.contains(",…(") {
            let t = whole.entry((e.project.clone(), e.env.clone())).or_default();
            *t = (*t).max(e.time);
        }
        for key in e.key.split(',') {
            let place = SecretPlace {
                project: e.project.clone(),
                env: e.env.clone(),
                key: key.to_string(),
            };
            let t = keys.entry(place).or_default();
            *t = (*t).max(e.time);
        }
    }
    (keys, whole)
}

impl Vault {
    /// Checks the secrets in `scope` at time `now` (Unix seconds). Every environment of
    /// the vault is read to find reused values; only those in scope are reported and
    /// judged for strength. Not audited: callers that show a report record it with
    /// [`Vault::record_check`].
    pub fn health(&self, scope: &Scope, now: i64) -> Result<HealthReport> {
        let in_scope = |p: &str, e: &str| scope.contains(p, e);
        let envs = self.scan(&ScanPlan {
            read: &|_, _| true,
            judge: &in_scope,
        })?;
        if let (Some(p), Some(e)) = (&scope.project, &scope.env)
            && !envs.iter().any(|s| &s.project == p && &s.env == e)
        {
            // Name the missing place the way every other command does.
            self.list(p, e)?;
        }
        let mut notes = Vec::new();
        let reads = match self.audit_log() {
            // A line that fails verification may be a read someone removed or changed:
            // no secret is called unused on the word of such a log.
            Ok(lines) if lines.iter().any(|l| matches!(l, AuditLine::Broken { .. })) => {
                notes.push(
                    "unused not checked: entries of the audit log failed verification (see `tresor audit`)"
                        .to_string(),
                );
                None
            }
            Ok(lines) => Some(last_reads(&lines)),
            Err(e) => {
                notes.push(format!(
                    "unused not checked: the audit log cannot be read ({e})"
                ));
                None
            }
        };
        Ok(judge_all(&envs, scope, now, reads.as_ref(), notes))
    }

    /// Records in the audit log that a health report was shown (no value left tresor).
    pub fn record_check(&self, project: &str, env: &str, what: &str) {
        self.audit("check", project, env, what);
    }
}

type Reads = (HashMap<SecretPlace, i64>, HashMap<(String, String), i64>);

fn judge_all(
    envs: &[ScannedEnv],
    scope: &Scope,
    now: i64,
    reads: Option<&Reads>,
    notes: Vec<String>,
) -> HealthReport {
    // Positions (environment, secret), not names: 50,000 entries stay cheap.
    let mut by_value: HashMap<Fingerprint, Vec<(usize, usize)>> = HashMap::new();
    for (ei, e) in envs.iter().enumerate() {
        for (si, s) in e.secrets.iter().enumerate() {
            if rules::is_judged(s.info.kind) {
                by_value.entry(s.fingerprint).or_default().push((ei, si));
            }
        }
    }
    let place_of = |(ei, si): (usize, usize)| SecretPlace {
        project: envs[ei].project.clone(),
        env: envs[ei].env.clone(),
        key: envs[ei].secrets[si].info.key.clone(),
    };
    let mut report = HealthReport {
        notes,
        ..HealthReport::default()
    };
    for e in envs.iter().filter(|e| scope.contains(&e.project, &e.env)) {
        let rotate_days = e.rotate_days.unwrap_or(DEFAULT_ROTATE_DAYS);
        report.environments.push(CheckedEnv {
            project: e.project.clone(),
            env: e.env.clone(),
            rotate_days,
            secrets: e.secrets.len(),
        });
        for s in &e.secrets {
            let place = SecretPlace {
                project: e.project.clone(),
                env: e.env.clone(),
                key: s.info.key.clone(),
            };
            let mut reused_with: Vec<SecretPlace> = match by_value.get(&s.fingerprint) {
                Some(all) if all.len() > 1 && rules::is_judged(s.info.kind) => all
                    .iter()
                    .map(|&at| place_of(at))
                    .filter(|p| *p != place)
                    .collect(),
                _ => Vec::new(),
            };
            reused_with.sort();
            let mut findings = Vec::new();
            let mut add = |flag, why: Option<String>| {
                if let Some(why) = why {
                    findings.push(Finding { flag, why });
                }
            };
            add(Flag::Weak, s.weak.clone());
            add(Flag::Reused, reuse_reason(&place, &reused_with));
            add(
                Flag::Stale,
                rules::stale(s.info.value_changed, now, rotate_days),
            );
            if let Some((keys, whole)) = reads {
                let last = keys.get(&place).copied().max(
                    whole
                        .get(&(place.project.clone(), place.env.clone()))
                        .copied(),
                );
                add(Flag::Unused, rules::unused(s.info.created, last, now));
            }
            add(Flag::Undocumented, rules::undocumented(&s.info.description));
            add(Flag::BadlyNamed, rules::badly_named(&s.info.key));
            report.secrets.push(SecretHealth {
                place,
                kind: s.info.kind,
                findings,
                reused_with,
            });
        }
    }
    report
}

/// "same value as production/DB_PASSWORD, staging/DB_PASSWORD": names only, the
/// project added when it differs, at most three and a count.
fn reuse_reason(me: &SecretPlace, others: &[SecretPlace]) -> Option<String> {
    if others.is_empty() {
        return None;
    }
    let name = |p: &SecretPlace| {
        if p.project == me.project && p.env == me.env {
            p.key.clone()
        } else if p.project == me.project {
            format!("{}/{}", p.env, p.key)
        } else {
            format!("{}/{}/{}", p.project, p.env, p.key)
        }
    };
    let shown: Vec<String> = others.iter().take(3).map(name).collect();
    let more = others.len().saturating_sub(3);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some(format!("same value as {}{tail}", shown.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::Via;
    use crate::vault::audit::AuditEvent;
    use crate::vault::copy::{CLONE_TO, COPY_TO};

    fn line(time: i64, action: &str, env: &str, key: &str) -> AuditLine {
        AuditLine::Ok(AuditEvent {
            time,
            user: "ada".into(),
            host: "h".into(),
            via: Via::Cli,
            action: action.into(),
            project: "default".into(),
            env: env.into(),
            key: key.into(),
            slot: Some(0),
        })
    }

    fn place(env: &str, key: &str) -> SecretPlace {
        SecretPlace {
            project: "default".into(),
            env: env.into(),
            key: key.into(),
        }
    }

    #[test]
    fn reads_come_from_get_run_export_copies_and_clones_but_not_from_changes_or_checks() {
        let lines = [
            line(10, "get", "development", "A"),
            line(20, "run", "development", "A,B"),
            line(30, "export", "production", "C"),
            line(40, "copy", "development", "D"),
            line(50, "edit value", "development", "E"),
            line(60, "check", "development", ""),
            line(70, "add", "development", "F"),
            line(
                80,
                &format!("{COPY_TO} default/staging"),
                "development",
                "G",
            ),
            line(
                90,
                &format!("{CLONE_TO} default/preview"),
                "development",
                "H,I",
            ),
            line(95, "copy from default/development", "staging", "J"),
            AuditLine::Broken { line: 8 },
        ];
        let (keys, whole) = last_reads(&lines);
        assert_eq!(keys.get(&place("development", "A")), Some(&20));
        assert_eq!(keys.get(&place("development", "B")), Some(&20));
        assert_eq!(keys.get(&place("production", "C")), Some(&30));
        assert_eq!(keys.get(&place("development", "D")), Some(&40));
        // The source of a copy or a clone was read; its target was written.
        assert_eq!(keys.get(&place("development", "G")), Some(&80));
        assert_eq!(keys.get(&place("development", "I")), Some(&90));
        assert_eq!(keys.get(&place("staging", "J")), None);
        for key in ["E", "F", ""] {
            assert_eq!(keys.get(&place("development", key)), None, "{key}");
        }
        assert!(whole.is_empty());
    }

    #[test]
    fn a_run_whose_key_list_was_cut_read_the_whole_environment() {
        let lines = [line(99, "run", "staging", "A,B,…(90000 keys in all)")];
        let (_, whole) = last_reads(&lines);
        assert_eq!(whole.get(&("default".into(), "staging".into())), Some(&99));
    }

    #[test]
    fn reuse_names_up_to_three_others_and_counts_the_rest() {
        let me = place("development", "A");
        let others = [
            place("development", "B"),
            place("production", "A"),
            SecretPlace {
                project: "billing".into(),
                env: "production".into(),
                key: "X".into(),
            },
            place("staging", "A"),
        ];
        assert_eq!(
            reuse_reason(&me, &others).unwrap(),
            "same value as B, production/A, billing/production/X and 1 more"
        );
        assert_eq!(reuse_reason(&me, &[]), None);
    }
}
