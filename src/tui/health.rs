//! The health column's model: each secret's flags in the current environment, computed
//! on every load (see `vault::health`), and whether `!` shows only flagged rows.
//!
//! Holds key names and reasons, never a value or a fingerprint.

use std::collections::HashMap;

use crate::vault::health::{Flag, HealthReport, SecretHealth};

#[derive(Debug, Default)]
pub struct HealthView {
    /// Flagged secrets of the current environment, by key.
    pub flagged: HashMap<String, SecretHealth>,
    /// `!`: only flagged rows are listed.
    pub only_flagged: bool,
    /// Why health could not be computed, shown instead of reasons.
    pub error: Option<String>,
}

/// How a flagged row is marked: risk (weak, reused, stale) or hygiene only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Risk,
    Hygiene,
}

impl HealthView {
    pub fn set(&mut self, report: HealthReport) {
        self.error = None;
        self.flagged = report
            .secrets
            .into_iter()
            .filter(|s| !s.findings.is_empty())
            .map(|s| (s.place.key.clone(), s))
            .collect();
    }

    pub fn clear(&mut self) {
        self.flagged.clear();
        self.error = None;
    }

    pub fn get(&self, key: &str) -> Option<&SecretHealth> {
        self.flagged.get(key)
    }

    pub fn mark(&self, key: &str) -> Option<Mark> {
        let h = self.flagged.get(key)?;
        Some(if h.findings.iter().any(|f| f.flag.is_risk()) {
            Mark::Risk
        } else {
            Mark::Hygiene
        })
    }

    pub fn is_flagged(&self, key: &str) -> bool {
        self.flagged.contains_key(key)
    }

    pub fn count(&self) -> usize {
        self.flagged.len()
    }

    /// How many of this environment's secrets carry `flag`.
    pub fn count_of(&self, flag: Flag) -> usize {
        self.flagged.values().filter(|h| h.has(flag)).count()
    }
}
