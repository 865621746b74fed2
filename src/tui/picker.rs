//! The project picker's updates (open, move, create, switch), as `App` methods kept out
//! of `app.rs` so each file stays about one thing; `ui::picker` draws it.

use super::action::Action;
use super::app::{App, Mode, PickerState, ProjectEntry};
use super::fields;
use super::text;

impl App {
    pub(super) fn open_picker(&mut self) -> Mode {
        let Some(vault) = &self.vault else {
            return Mode::Browse;
        };
        match vault.projects() {
            Ok(map) => {
                let projects: Vec<ProjectEntry> = map
                    .into_iter()
                    .map(|(name, envs)| ProjectEntry {
                        secrets: envs.iter().map(|e| e.secrets).sum(),
                        environments: envs.len(),
                        name,
                    })
                    .collect();
                let selected = projects
                    .iter()
                    .position(|p| p.name == self.project)
                    .unwrap_or(0);
                Mode::ProjectPicker(Box::new(PickerState {
                    projects,
                    selected,
                    new_name: None,
                    error: None,
                }))
            }
            Err(e) => {
                self.error(&e);
                Mode::Browse
            }
        }
    }

    pub(super) fn update_picker(&mut self, mut p: Box<PickerState>, action: Action) -> Mode {
        if let Some(mut name) = p.new_name.take() {
            match action {
                Action::Cancel => p.error = None,
                Action::Input(i) => {
                    name.input(i);
                    p.new_name = Some(name);
                }
                Action::Paste(s) => {
                    name.insert_str(text::paste_single_line(&s));
                    p.new_name = Some(name);
                }
                Action::Submit => {
                    // A team vault asks for the identity first (`team_identity`).
                    p.new_name = Some(name);
                    let mut p = match self.ask_identity_for_project(p) {
                        Ok(mode) => return mode,
                        Err(back) => back,
                    };
                    let Some(name) = p.new_name.take() else {
                        return Mode::ProjectPicker(p);
                    };
                    let project = name.lines().join("");
                    let result = match &self.vault {
                        Some(v) => v.add_project(&project),
                        None => return Mode::Browse,
                    };
                    match result {
                        Ok(()) => return self.project_created(&project),
                        Err(e) => {
                            p.error = Some(text::printable(&e.to_string()));
                            p.new_name = Some(name);
                        }
                    }
                    return Mode::ProjectPicker(p);
                }
                _ => p.new_name = Some(name),
            }
            return Mode::ProjectPicker(p);
        }
        match action {
            Action::Up => p.selected = p.selected.saturating_sub(1),
            Action::Down => p.selected = (p.selected + 1).min(p.projects.len().saturating_sub(1)),
            Action::NewProject => match self.team_refusal() {
                // Said before a name is typed, in the vault's words.
                Some(e) => p.error = Some(text::printable(&e.to_string())),
                None => {
                    p.error = None;
                    p.new_name = Some(fields::plain_field("project name, e.g. billing-api"));
                }
            },
            Action::Cancel => return Mode::Browse,
            Action::Submit => {
                if let Some(entry) = p.projects.get(p.selected) {
                    self.open_project(entry.name.clone());
                }
                return Mode::Browse;
            }
            _ => {}
        }
        Mode::ProjectPicker(p)
    }

    /// The picker again, on the project just created.
    pub(super) fn project_created(&mut self, project: &str) -> Mode {
        let mut reopened = match self.open_picker() {
            Mode::ProjectPicker(r) => r,
            other => return other,
        };
        if let Some(i) = reopened.projects.iter().position(|e| e.name == project) {
            reopened.selected = i;
        }
        self.info(format!("Created project {}", text::printable(project)));
        Mode::ProjectPicker(reopened)
    }

    /// Switches project, keeping the environment name when the project has it.
    fn open_project(&mut self, project: String) {
        self.project = project;
        self.selected = 0;
        self.offset = 0;
        let Some(vault) = &self.vault else { return };
        if let Ok(envs) = vault.environments() {
            let names: Vec<&String> = envs
                .iter()
                .filter(|e| e.project == self.project)
                .map(|e| &e.name)
                .collect();
            if !names.contains(&&self.env)
                && let Some(first) = names.first()
            {
                self.env = (*first).clone();
            }
        }
        self.load();
    }
}
