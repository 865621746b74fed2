//! Comparing environments: a matrix of keys × environments saying where each key is
//! present and which environments hold equal values.
//!
//! Values are compared by keyed fingerprint (see `health::scan`) inside this process.
//! What leaves it is, per key, a letter per environment: environments with the same
//! letter hold the same value. Never a value, never a fingerprint.

use std::collections::BTreeMap;

use super::error::{Result, VaultError};
use super::health::scan::{Fingerprint, ScanPlan};
use super::{Vault, validate};

/// A key's row: where it is, and whether the values agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// Present everywhere, one value.
    Same,
    /// Present everywhere, more than one value.
    Differ,
    /// Absent from at least one environment.
    Missing,
}

impl RowState {
    pub fn slug(self) -> &'static str {
        match self {
            RowState::Same => "same",
            RowState::Differ => "differ",
            RowState::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareRow {
    pub key: String,
    /// Per environment (in the comparison's order): `None` when the key is missing,
    /// else its value group: environments with the same group hold the same value.
    pub groups: Vec<Option<u8>>,
    pub state: RowState,
}

impl CompareRow {
    /// The letter of a value group: A, B, C…
    pub fn letter(group: u8) -> char {
        char::from(b'A' + group.min(25))
    }

    /// Whether at least two environments hold the same value.
    pub fn shares_a_value(&self) -> bool {
        let mut seen = [0u8; 26];
        self.groups.iter().flatten().any(|&g| {
            let slot = &mut seen[usize::from(g.min(25))];
            *slot += 1;
            *slot > 1
        })
    }

    pub fn is_missing_somewhere(&self) -> bool {
        self.groups.iter().any(Option::is_none)
    }

    /// Whether environment `a` and `b` (indices) both hold the key with the same value.
    pub fn same_in(&self, a: usize, b: usize) -> bool {
        matches!((self.groups.get(a), self.groups.get(b)), (Some(Some(x)), Some(Some(y))) if x == y)
    }
}

/// Which rows to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowFilter {
    #[default]
    All,
    /// Missing in at least one environment.
    Missing,
    /// The same value in at least two environments.
    Same,
}

impl RowFilter {
    pub fn keeps(self, row: &CompareRow) -> bool {
        match self {
            RowFilter::All => true,
            RowFilter::Missing => row.is_missing_somewhere(),
            RowFilter::Same => row.shares_a_value(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub project: String,
    pub envs: Vec<String>,
    /// Sorted by key.
    pub rows: Vec<CompareRow>,
}

impl Vault {
    /// Compares the project's environments `envs` (in that order; at least one, no
    /// duplicates). Reads and verifies only those environments. Not audited here.
    pub fn compare(&self, project: &str, envs: &[String]) -> Result<Comparison> {
        for (i, e) in envs.iter().enumerate() {
            validate::name("environment", e)?;
            if envs[..i].contains(e) {
                return Err(VaultError::InvalidName {
                    what: "environment",
                    name: e.clone(),
                    reason: "named twice".into(),
                });
            }
        }
        let scanned = self.scan(&ScanPlan {
            read: &|p, e| p == project && envs.iter().any(|x| x == e),
            judge: &|_, _| false,
        })?;
        let mut columns: Vec<Option<&_>> = vec![None; envs.len()];
        for s in &scanned {
            if let Some(i) = envs.iter().position(|e| *e == s.env) {
                columns[i] = Some(s);
            }
        }
        for (i, c) in columns.iter().enumerate() {
            if c.is_none() {
                // The usual "no environment / no project" error.
                self.list(project, &envs[i])?;
            }
        }
        let mut by_key: BTreeMap<&str, Vec<Option<Fingerprint>>> = BTreeMap::new();
        for (i, col) in columns.iter().enumerate() {
            for s in col.map(|c| c.secrets.as_slice()).unwrap_or_default() {
                by_key
                    .entry(&s.info.key)
                    .or_insert_with(|| vec![None; envs.len()])[i] = Some(s.fingerprint);
            }
        }
        let rows = by_key
            .into_iter()
            .map(|(key, fps)| {
                let mut distinct: Vec<Fingerprint> = Vec::new();
                let groups: Vec<Option<u8>> = fps
                    .iter()
                    .map(|fp| {
                        fp.map(|fp| match distinct.iter().position(|d| *d == fp) {
                            Some(g) => g as u8,
                            None => {
                                distinct.push(fp);
                                (distinct.len() - 1) as u8
                            }
                        })
                    })
                    .collect();
                let state = if groups.iter().any(Option::is_none) {
                    RowState::Missing
                } else if distinct.len() > 1 {
                    RowState::Differ
                } else {
                    RowState::Same
                };
                CompareRow {
                    key: key.to_string(),
                    groups,
                    state,
                }
            })
            .collect();
        Ok(Comparison {
            project: project.into(),
            envs: envs.to_vec(),
            rows,
        })
    }
}
