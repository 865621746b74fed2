//! The changes of the Secrets screen that need this machine's identity on a team
//! vault, as `App` methods kept out of `app.rs`: adding an environment (`+`) or a
//! project (the picker's new name), whose key an admin's identity wraps to the members
//! who read every environment, and fetching the keys the replica lacks (after a rekey,
//! or an environment shared since) when the header asks for it and `r` is pressed.
//!
//! A member who may not add one is told why at once, before typing a name; the name is
//! checked before the identity is asked for; a failure goes back to where the name was
//! typed, with the vault's words. `ui::team_identity` draws the prompt.

use super::action::Action;
use super::app::{App, Mode, NewEnvState, PickerState};
use super::identity_prompt::IdentityPrompt;
use super::live::SyncState;
use super::text::{self, printable};
use super::unlock::UnlockState;
use crate::vault::team::identity::Identity;
use crate::vault::{Credential, Result, VaultError, validate};

/// What the identity is asked for.
pub enum TeamTask {
    /// A new environment of the open project; the dialog comes back on a failure.
    NewEnv(Box<NewEnvState>),
    /// A new project, named in the picker's field; the picker comes back on a failure.
    NewProject(Box<PickerState>),
    /// The keys the replica lacks: after a rekey, or of an environment shared since.
    NewKeys,
}

/// The prompt over the secrets table.
pub type TeamPrompt = IdentityPrompt<TeamTask>;

impl TeamTask {
    /// "Adding environment default/qa", as the prompt's first line says it.
    pub fn describe(&self, project: &str) -> String {
        match self {
            TeamTask::NewEnv(state) => printable(&format!(
                "Adding environment {project}/{}",
                state.name.lines().join("")
            )),
            TeamTask::NewProject(picker) => {
                printable(&format!("Creating project {}", new_project(picker)))
            }
            TeamTask::NewKeys => "Fetching the team vault's new keys".into(),
        }
    }
}

impl App {
    /// Why projects and environments may not be added from here: a member of a team
    /// vault who is not an admin, in the vault's words; `None`: they may.
    pub(super) fn team_refusal(&self) -> Option<VaultError> {
        self.vault.as_ref()?.team_new_env_needs_identity().err()
    }

    /// On a team vault: the name checked as the vault would, then the identity asked
    /// for. `Err` gives the dialog back: not a team vault, add as before.
    pub(super) fn ask_identity_for_env(
        &mut self,
        mut state: Box<NewEnvState>,
    ) -> std::result::Result<Mode, Box<NewEnvState>> {
        if !self.vault.as_ref().is_some_and(|v| v.is_team()) {
            return Err(state);
        }
        let name = state.name.lines().join("");
        let checked = validate::name("environment", &name).and_then(|()| {
            match self.envs.iter().any(|e| e.name == name) {
                true => Err(VaultError::EnvExists {
                    project: self.project.clone(),
                    env: name.clone(),
                }),
                false => Ok(()),
            }
        });
        Ok(match checked {
            Ok(()) => self.ask_team_identity(TeamTask::NewEnv(state)),
            Err(e) => {
                state.error = Some(text::printable(&e.to_string()));
                Mode::NewEnv(state)
            }
        })
    }

    /// The picker's new project (its name field filled) on a team vault, like
    /// [`App::ask_identity_for_env`]. `Err` gives the picker back: not a team vault.
    pub(super) fn ask_identity_for_project(
        &mut self,
        mut picker: Box<PickerState>,
    ) -> std::result::Result<Mode, Box<PickerState>> {
        if !self.vault.as_ref().is_some_and(|v| v.is_team()) {
            return Err(picker);
        }
        let project = new_project(&picker);
        let checked = validate::name("project", &project).and_then(|()| {
            match picker.projects.iter().any(|p| p.name == project) {
                true => Err(VaultError::InvalidName {
                    what: "project",
                    name: project.clone(),
                    reason: "a project with this name already exists".into(),
                }),
                false => Ok(()),
            }
        });
        Ok(match checked {
            Ok(()) => {
                picker.error = None;
                self.ask_team_identity(TeamTask::NewProject(picker))
            }
            Err(e) => {
                picker.error = Some(text::printable(&e.to_string()));
                Mode::ProjectPicker(picker)
            }
        })
    }

    /// The keys a sync found waiting (a rekey's, an environment's shared since), fetched
    /// at once when the keyfile that opened the vault opens the identity too, as the CLI
    /// does; `false` (nothing changed) otherwise, and `r` asks for the identity.
    pub(super) fn fetch_keys_with_keyfile(&mut self) -> bool {
        let (Some(vault), Some(keyfile)) = (&self.vault, &self.keyfile) else {
            return false;
        };
        // A failed fetch leaves the header as it was: `r` asks for the identity.
        let fetched =
            vault.team_refresh_with(&self.identity, &Credential::Keyfile(keyfile.clone()));
        if !matches!(fetched, Ok(true)) {
            return false;
        }
        let watching = self.live.is_some();
        self.start_live(watching);
        self.load();
        self.info("fetched the team vault's new keys with the keyfile that opened it");
        true
    }

    /// `r` while the header says the replica lacks keys: the identity, then the keys.
    pub(super) fn ask_identity_for_keys(&mut self) -> Option<Mode> {
        let sync = self.sync.as_ref()?;
        matches!(sync.state, SyncState::Rekeyed | SyncState::KeysWaiting)
            .then(|| self.ask_team_identity(TeamTask::NewKeys))
    }

    fn ask_team_identity(&self, task: TeamTask) -> Mode {
        Mode::TeamIdentity(Box::new(TeamPrompt {
            path: self.identity.clone(),
            // The vault's keyfile first: the CLI unlocks the identity with it too.
            unlock: UnlockState::new(self.keyfile.clone()),
            change: Some(task),
        }))
    }

    pub(super) fn update_team_identity(
        &mut self,
        mut prompt: Box<TeamPrompt>,
        action: Action,
    ) -> Mode {
        if prompt.unlock.pending {
            return Mode::TeamIdentity(prompt);
        }
        match action {
            Action::Submit => {
                prompt.unlock.error = None;
                prompt.unlock.pending = true;
            }
            Action::ToggleKeyfile => prompt.unlock.toggle_keyfile(),
            Action::Input(i) => prompt.unlock.input(i),
            Action::Paste(p) => prompt.unlock.paste(&p),
            // Back to where the name was typed; nothing was changed.
            Action::Cancel => return back(prompt.change.take(), None),
            _ => {}
        }
        Mode::TeamIdentity(prompt)
    }

    /// The slow step (Argon2 for a passphrase, then the server), after the "working…"
    /// frame: unlock the identity and make the change.
    pub(super) fn team_identity_slow_step(&mut self) {
        let Mode::TeamIdentity(mut prompt) = std::mem::replace(&mut self.mode, Mode::Browse) else {
            return;
        };
        prompt.unlock.pending = false;
        let opened = prompt
            .unlock
            .take_credential()
            .and_then(|c: Credential| prompt.open(&c));
        self.mode = match opened {
            Ok(identity) => match prompt.change.take() {
                Some(task) => self.change_with(task, &identity),
                None => Mode::Browse,
            },
            Err(e) => {
                prompt.unlock.error = Some(e);
                Mode::TeamIdentity(prompt)
            }
        };
    }

    fn change_with(&mut self, task: TeamTask, identity: &Identity) -> Mode {
        let Some(vault) = &self.vault else {
            return Mode::Browse;
        };
        let result: Result<()> = match &task {
            TeamTask::NewEnv(state) => {
                vault.add_env_as(Some(identity), &self.project, &state.name.lines().join(""))
            }
            TeamTask::NewProject(picker) => {
                vault.add_project_as(Some(identity), &new_project(picker))
            }
            TeamTask::NewKeys => vault.team_refresh(identity),
        };
        match (result, task) {
            (Ok(()), TeamTask::NewEnv(state)) => {
                let name = state.name.lines().join("");
                self.open_env(name.clone());
                self.info(printable(&format!(
                    "Added environment {}/{name}; the members who read every environment can read it",
                    self.project
                )));
                Mode::Browse
            }
            (Ok(()), TeamTask::NewProject(picker)) => self.project_created(&new_project(&picker)),
            (Ok(()), TeamTask::NewKeys) => {
                // The header's state starts again from the replica, now current.
                let watching = self.live.is_some();
                self.start_live(watching);
                self.load();
                self.info("fetched the team vault's keys: the table shows what you can read now");
                Mode::Browse
            }
            (Err(e), task) => {
                let words = text::printable(&e.to_string());
                if matches!(task, TeamTask::NewKeys) {
                    self.error(&e);
                }
                back(Some(task), Some(words))
            }
        }
    }

    /// After a sync that brought changes and left an environment's key wrapped for this
    /// member and not held (`Vault::team_keys_waiting`): the header says which key
    /// fetches it with the identity.
    pub(super) fn note_keys_waiting(&mut self) {
        if let Some(sync) = &mut self.sync {
            sync.state = SyncState::KeysWaiting;
        }
        self.warn(format!(
            "an environment was shared with you: press {} to fetch its key with your identity",
            super::keymap::hint(super::keymap::ModeKind::Browse, Action::Reload)
        ));
    }
}

/// The name typed in the picker's new-project field.
fn new_project(picker: &PickerState) -> String {
    picker
        .new_name
        .as_ref()
        .map(|n| n.lines().join(""))
        .unwrap_or_default()
}

/// Where a task goes back to when cancelled or refused, with the vault's words.
fn back(task: Option<TeamTask>, error: Option<String>) -> Mode {
    match task {
        Some(TeamTask::NewEnv(mut state)) => {
            state.error = error;
            Mode::NewEnv(state)
        }
        Some(TeamTask::NewProject(mut picker)) => {
            picker.error = error;
            Mode::ProjectPicker(picker)
        }
        Some(TeamTask::NewKeys) | None => Mode::Browse,
    }
}
