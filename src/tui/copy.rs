//! The copy popup (`C`): the selected secret to another environment or project. Pick the
//! target, then confirm; a target that already holds the key is named, and confirming
//! there replaces it. The copy itself is `Vault::copy_secret`, one transaction.

use crate::vault::{CopyOutcome, CopyTarget};

use super::action::Action;
use super::app::{App, Mode};
use super::text::printable;

pub struct CopyState {
    /// The secret being copied, from the app's project and environment.
    pub key: String,
    /// Every other environment, this project's first, each saying if it holds the key.
    pub targets: Vec<CopyTarget>,
    pub selected: usize,
    /// The question before copying is shown.
    pub confirming: bool,
}

impl CopyState {
    pub fn target(&self) -> Option<&CopyTarget> {
        self.targets.get(self.selected)
    }
}

impl App {
    pub(super) fn open_copy(&mut self) -> Mode {
        let (Some(vault), Some(row)) = (&self.vault, self.selected_row()) else {
            return Mode::Browse;
        };
        let key = row.key.clone();
        match vault.copy_targets(&self.project, &self.env, &key) {
            Ok(targets) if targets.is_empty() => {
                self.warn("no other environment to copy to: add one with `tresor env add NAME`");
                Mode::Browse
            }
            Ok(targets) => {
                // Start on the first target that does not hold the key: the usual copy.
                let selected = targets.iter().position(|t| !t.exists).unwrap_or(0);
                Mode::Copy(Box::new(CopyState {
                    key,
                    targets,
                    selected,
                    confirming: false,
                }))
            }
            Err(e) => {
                self.error(&e);
                Mode::Browse
            }
        }
    }

    pub(super) fn update_copy(&mut self, mut state: Box<CopyState>, action: Action) -> Mode {
        let last = state.targets.len().saturating_sub(1);
        match (state.confirming, action) {
            (false, Action::Up) => state.selected = state.selected.saturating_sub(1),
            (false, Action::Down) => state.selected = (state.selected + 1).min(last),
            (false, Action::Submit) => state.confirming = true,
            (false, Action::Cancel) => return Mode::Browse,
            (true, Action::Cancel) => state.confirming = false,
            (true, Action::Submit | Action::ConfirmYes) => {
                self.copy_now(&state);
                return Mode::Browse;
            }
            _ => {}
        }
        Mode::Copy(state)
    }

    /// Copies after the question; a target that held the key was named, so it is replaced.
    fn copy_now(&mut self, state: &CopyState) {
        let (Some(vault), Some(target)) = (&self.vault, state.target()) else {
            return;
        };
        let from = (self.project.as_str(), self.env.as_str());
        let to = (target.project.as_str(), target.env.as_str());
        let place = printable(&format!("{}/{}", to.0, to.1));
        let key = printable(&state.key);
        match vault.copy_secret(&state.key, from, to, target.exists) {
            Ok(outcome) => {
                self.load();
                self.info(match outcome {
                    CopyOutcome::Created => format!("Copied {key} to {place}"),
                    CopyOutcome::Replaced => format!("Replaced {key} in {place}"),
                    CopyOutcome::Unchanged => {
                        format!("{key} in {place} was already the same: nothing changed")
                    }
                });
            }
            // Added there meanwhile, deleted here meanwhile, busy, damaged: say so.
            Err(e) => self.error(&e),
        }
    }
}
