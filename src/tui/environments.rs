//! Adding and removing environments from the tab bar (`+`, `-`), as `App` methods kept
//! out of `app.rs`. The vault checks names and words its errors, the same as for
//! `tresor env add|rm`; `ui::environments` draws the dialogs.

use super::action::Action;
use super::app::{App, ConfirmAnswer, ConfirmFocus, Mode, NewEnvState};
use super::fields;
use super::text;
use crate::vault::{VaultError, validate};

impl App {
    pub(super) fn open_new_env(&mut self) -> Mode {
        // A member of a team vault who may not add one is told why before typing.
        if let Some(e) = self.team_refusal() {
            self.error(&e);
            return Mode::Browse;
        }
        Mode::NewEnv(Box::new(NewEnvState {
            name: fields::plain_field("environment name, e.g. preview"),
            error: None,
        }))
    }

    pub(super) fn update_new_env(&mut self, mut state: Box<NewEnvState>, action: Action) -> Mode {
        match action {
            Action::Cancel => return Mode::Browse,
            Action::Input(i) => {
                state.name.input(i);
                state.error = None;
            }
            Action::Paste(p) => {
                state.name.insert_str(text::paste_single_line(&p));
                state.error = None;
            }
            Action::Submit => {
                // A team vault asks for the identity first (`team_identity`).
                let mut state = match self.ask_identity_for_env(state) {
                    Ok(mode) => return mode,
                    Err(state) => state,
                };
                let Some(vault) = &self.vault else {
                    return Mode::Browse;
                };
                let name = state.name.lines().join("");
                match vault.add_env(&self.project, &name) {
                    Ok(()) => {
                        self.open_env(name.clone());
                        self.info(format!("Added environment {}/{name}", self.project));
                        return Mode::Browse;
                    }
                    Err(e) => state.error = Some(text::printable(&e.to_string())),
                }
                return Mode::NewEnv(state);
            }
            _ => {}
        }
        Mode::NewEnv(state)
    }

    /// The confirmation, with the number of secrets that go with the environment; the
    /// last environment of a project is refused at once, with the vault's words.
    pub(super) fn open_remove_env(&mut self) -> Mode {
        let Some(tab) = self.envs.iter().find(|e| e.name == self.env) else {
            return Mode::Browse;
        };
        if self.envs.len() <= 1 {
            self.error(&VaultError::LastEnv {
                project: self.project.clone(),
                env: self.env.clone(),
            });
            return Mode::Browse;
        }
        Mode::RemoveEnv {
            env: tab.name.clone(),
            secrets: tab.secrets,
            focus: ConfirmFocus::Cancel,
        }
    }

    pub(super) fn update_remove_env(
        &mut self,
        env: String,
        secrets: usize,
        focus: ConfirmFocus,
        action: Action,
    ) -> Mode {
        let remove = match focus.answer(&action) {
            ConfirmAnswer::Yes => true,
            ConfirmAnswer::No => false,
            ConfirmAnswer::Ask(focus) => {
                return Mode::RemoveEnv {
                    env,
                    secrets,
                    focus,
                };
            }
        };
        if !remove {
            return Mode::Browse;
        }
        let Some(vault) = &self.vault else {
            return Mode::Browse;
        };
        // Confirmed with the count shown: the secrets go with it.
        match vault.remove_env(&self.project, &env, true) {
            Ok(removed) => {
                let next = self
                    .envs
                    .iter()
                    .map(|e| e.name.clone())
                    .find(|name| *name != env)
                    .unwrap_or_default();
                self.open_env(next);
                self.info(format!(
                    "Removed environment {}/{} and its {}",
                    self.project,
                    text::printable(&env),
                    validate::count(removed, "secret", "secrets")
                ));
            }
            // The last one, changed elsewhere, busy, damaged: say so, keep browsing.
            Err(e) => self.error(&e),
        }
        Mode::Browse
    }
}
