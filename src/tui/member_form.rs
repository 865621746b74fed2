//! The add-member form of the Members screen: name, public key (`tresor1…`), role
//! (least privilege first) and the environments, where none picked means every one. It
//! checks what the vault would refuse before the identity is asked for.

use ratatui_textarea::{Input, TextArea};

use super::fields::plain_field;
use super::text::paste_single_line;
use crate::vault::team::keys::{MemberKeys, parse_public};
use crate::vault::team::records::Role;

/// The roles in the order the form cycles through them: least privilege first.
pub const ROLES: [Role; 3] = [Role::Reader, Role::Writer, Role::Admin];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddField {
    Name,
    Key,
    Role,
    Envs,
}

/// The add-member form. Environments: none picked means every environment (the vault's,
/// now and later); picks are of the open project's environments.
pub struct AddForm {
    pub name: TextArea<'static>,
    pub public: TextArea<'static>,
    pub role: Role,
    pub project: String,
    pub envs: Vec<String>,
    pub picked: Vec<bool>,
    /// The environment under the cursor in the Environments row.
    pub cursor: usize,
    pub focus: AddField,
    /// The vault's message for what was typed, shown in the form.
    pub error: Option<String>,
}

impl AddForm {
    pub fn new(project: &str, envs: Vec<String>) -> AddForm {
        AddForm {
            name: plain_field("e.g. bob or ci-prod"),
            public: plain_field("tresor1… from their `tresor identity new`"),
            role: Role::Reader,
            project: project.to_string(),
            picked: vec![false; envs.len()],
            envs,
            cursor: 0,
            focus: AddField::Name,
            error: None,
        }
    }

    pub fn focus_is_text(&self) -> bool {
        matches!(self.focus, AddField::Name | AddField::Key)
    }

    pub(super) fn next_field(&mut self, forward: bool) {
        let order = [
            AddField::Name,
            AddField::Key,
            AddField::Role,
            AddField::Envs,
        ];
        let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = order.len();
        self.focus = order[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    pub(super) fn choose(&mut self, forward: bool) {
        match self.focus {
            AddField::Role => {
                let i = ROLES.iter().position(|r| *r == self.role).unwrap_or(0);
                let n = ROLES.len();
                self.role = ROLES[if forward {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                }];
            }
            AddField::Envs if !self.envs.is_empty() => {
                let n = self.envs.len();
                self.cursor = if forward {
                    (self.cursor + 1) % n
                } else {
                    (self.cursor + n - 1) % n
                };
            }
            _ => {}
        }
    }

    pub(super) fn toggle(&mut self) {
        match self.focus {
            AddField::Envs => {
                if let Some(p) = self.picked.get_mut(self.cursor) {
                    *p = !*p;
                }
            }
            AddField::Role => self.choose(true),
            _ => {}
        }
    }

    /// A key for the focused text field (the Role and Environments rows take none).
    pub(super) fn input(&mut self, input: Input) {
        match self.focus {
            AddField::Name => self.name.input(input),
            AddField::Key => self.public.input(input),
            AddField::Role | AddField::Envs => false,
        };
    }

    /// A paste, on one line; a public key without the spaces around it.
    pub(super) fn paste(&mut self, pasted: &str) {
        let clean = paste_single_line(pasted);
        match self.focus {
            AddField::Name => self.name.insert_str(&*clean),
            AddField::Key => self.public.insert_str(clean.trim()),
            AddField::Role | AddField::Envs => false,
        };
    }

    pub fn name_text(&self) -> String {
        self.name.lines().join("")
    }

    /// `None`: every environment.
    pub fn scope(&self) -> Option<Vec<(String, String)>> {
        let picked: Vec<(String, String)> = self
            .envs
            .iter()
            .zip(&self.picked)
            .filter(|(_, p)| **p)
            .map(|(e, _)| (self.project.clone(), e.clone()))
            .collect();
        (!picked.is_empty()).then_some(picked)
    }

    /// The form's content as the vault wants it; `Err` is the message for the form.
    pub(super) fn checked(&self) -> Result<(String, MemberKeys), String> {
        let name = self.name_text();
        crate::vault::validate::name("member", &name).map_err(|e| e.to_string())?;
        let key = self.public.lines().join("");
        if key.trim().is_empty() {
            return Err(
                "the public key is required: they print it with `tresor identity new`".into(),
            );
        }
        let public = parse_public(key.trim()).map_err(|e| e.to_string())?;
        Ok((name, public))
    }
}
