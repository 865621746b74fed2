//! The Members screen of a team vault (`M`): who has access, with their role, the
//! environments they can read, when and by whom they were added, and when last seen.
//!
//! Admins add a member (a form, then this machine's identity, then the join token to
//! send) and remove one (a question naming them, then the identity; the vault is rekeyed
//! and the values they could read are listed, to rotate). The identity is asked for
//! like the unlock screen asks (masked, or a keyfile) and dropped after the one change.
//! The server calls are `Vault::team_members`, `team_add_member` and
//! `team_remove_member`; a failure is said in the status line and changes nothing (the
//! form stays filled). `ui::members` draws it.

use std::path::PathBuf;

use super::action::Action;
use super::app::{App, ConfirmAnswer, ConfirmFocus, Mode};
use super::identity_prompt::identity_path;
use super::keymap::ModeKind;
pub use super::member_form::{AddField, AddForm};
use super::text::{self, printable};
use super::unlock::UnlockState;
use super::values::Effect;
use crate::vault::team::identity;
use crate::vault::team::keys::MemberKeys;
use crate::vault::team::records::Role;
use crate::vault::team::{MemberInfo, join_command};
use crate::vault::{Credential, VaultError};

pub struct MembersState {
    pub members: Vec<MemberInfo>,
    pub selected: usize,
    pub popup: Option<Popup>,
    /// Where this machine's identity is: `TRESOR_IDENTITY`, else the default place.
    pub identity: PathBuf,
}

impl MembersState {
    pub fn new(members: Vec<MemberInfo>) -> MembersState {
        MembersState {
            members,
            selected: 0,
            popup: None,
            identity: identity_path(),
        }
    }

    /// This machine's member, as the server's list names it.
    pub fn me(&self) -> Option<&MemberInfo> {
        self.members.iter().find(|m| m.is_me)
    }

    pub fn is_admin(&self) -> bool {
        self.me().is_some_and(|m| m.role == Role::Admin)
    }

    pub fn selected_member(&self) -> Option<&MemberInfo> {
        self.members.get(self.selected)
    }

    /// Which part of the key table applies.
    pub fn mode_kind(&self) -> ModeKind {
        match &self.popup {
            None => ModeKind::Members,
            Some(Popup::Add(f)) if f.focus_is_text() => ModeKind::MemberForm,
            Some(Popup::Add(_)) => ModeKind::MemberFormChoice,
            Some(Popup::Remove { .. }) => ModeKind::MemberRemove,
            Some(Popup::Identity(_)) => ModeKind::MemberIdentity,
            Some(Popup::Token { .. }) => ModeKind::MemberToken,
            Some(Popup::Removed { .. }) => ModeKind::MemberRemoved,
        }
    }

    /// The identity was asked for and Enter pressed: the next turn unlocks and writes.
    pub fn pending(&self) -> bool {
        matches!(&self.popup, Some(Popup::Identity(p)) if p.unlock.pending)
    }
}

/// What is open over the members list.
pub enum Popup {
    Add(Box<AddForm>),
    /// The question before removing `member`, focus on Cancel.
    Remove {
        member: MemberInfo,
        focus: ConfirmFocus,
    },
    Identity(Box<IdentityPrompt>),
    /// A member was added: the token to send them and the line they run.
    Token {
        name: String,
        token: String,
        join: String,
    },
    /// A member was removed: what they could read, to rotate.
    Removed {
        name: String,
        epoch: u64,
        reencrypted: usize,
        to_rotate: Vec<(String, String, String)>,
        scroll: u16,
    },
}

/// The change the identity is asked for.
pub enum Change {
    /// The form is kept whole: a failure goes back to it.
    Add {
        form: Box<AddForm>,
        name: String,
        public: MemberKeys,
    },
    Remove {
        member: MemberInfo,
    },
}

impl Change {
    /// "adding bob as writer", "removing bob".
    pub fn describe(&self) -> String {
        match self {
            Change::Add { form, name, .. } => {
                format!("Adding {} as {}", printable(name), form.role.label())
            }
            Change::Remove { member } => format!("Removing {}", printable(&member.name)),
        }
    }
}

/// This machine's identity, asked for before adding or removing (`identity_prompt`).
pub type IdentityPrompt = super::identity_prompt::IdentityPrompt<Change>;

/// The environments a member can read, as the list shows them: `all`, or the names
/// (prefixed by their project when it is not the open one).
pub fn envs_text(envs: &Option<Vec<(String, String)>>, project: &str) -> String {
    match envs {
        None => "all".into(),
        Some(list) => list
            .iter()
            .map(|(p, e)| {
                if p == project {
                    printable(e)
                } else {
                    printable(&format!("{p}/{e}"))
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

impl App {
    pub(super) fn open_members(&mut self) -> Mode {
        let Some(vault) = &self.vault else {
            return Mode::Browse;
        };
        if !vault.is_team() {
            self.warn(
                "this vault is not shared: `tresor remote init postgres://…` makes it a team vault, with you as its admin",
            );
            return Mode::Browse;
        }
        match vault.team_members() {
            Ok(members) => {
                let mut state = MembersState::new(members);
                state.selected = state.members.iter().position(|m| m.is_me).unwrap_or(0);
                Mode::Members(Box::new(state))
            }
            // Offline, refused, tampered: said, and the table stays.
            Err(e) => {
                self.error(&e);
                Mode::Browse
            }
        }
    }

    /// The Members screen's list again, if it is open.
    pub(super) fn reload_open_members(&mut self) {
        let mode = std::mem::replace(&mut self.mode, Mode::Browse);
        self.mode = match mode {
            Mode::Members(mut members) => {
                self.reload_members(&mut members);
                Mode::Members(members)
            }
            other => other,
        };
    }

    /// The list again from the server, the selection kept on the same name if it is there.
    fn reload_members(&mut self, state: &mut MembersState) -> bool {
        let Some(vault) = &self.vault else {
            return false;
        };
        match vault.team_members() {
            Ok(members) => {
                let keep = state.selected_member().map(|m| m.name.clone());
                state.members = members;
                state.selected = keep
                    .and_then(|k| state.members.iter().position(|m| m.name == k))
                    .unwrap_or(0)
                    .min(state.members.len().saturating_sub(1));
                true
            }
            Err(e) => {
                self.error(&e);
                false
            }
        }
    }

    pub(super) fn update_members(&mut self, mut state: Box<MembersState>, action: Action) -> Mode {
        state.popup = match state.popup.take() {
            None => return self.update_members_list(state, action),
            Some(Popup::Add(form)) => self.update_add_form(&state, form, action),
            Some(Popup::Remove { member, focus }) => match focus.answer(&action) {
                ConfirmAnswer::Yes => Some(self.ask_identity(&state, Change::Remove { member })),
                ConfirmAnswer::No => None,
                ConfirmAnswer::Ask(focus) => Some(Popup::Remove { member, focus }),
            },
            Some(Popup::Identity(prompt)) => self.update_identity(prompt, action),
            Some(Popup::Token { name, token, join }) => match action {
                Action::Cancel => None,
                Action::Copy => {
                    self.effects
                        .push(Effect::Terminal(crate::clipboard::set_sequence(
                            token.as_bytes(),
                        )));
                    self.info(format!(
                        "{}'s join token is on the clipboard",
                        printable(&name)
                    ));
                    Some(Popup::Token { name, token, join })
                }
                _ => Some(Popup::Token { name, token, join }),
            },
            Some(Popup::Removed {
                name,
                epoch,
                reencrypted,
                to_rotate,
                scroll,
            }) => {
                let scroll = match action {
                    Action::Cancel => return Mode::Members(state),
                    Action::Down => scroll
                        .saturating_add(1)
                        .min(to_rotate.len().saturating_sub(1) as u16),
                    Action::Up => scroll.saturating_sub(1),
                    _ => scroll,
                };
                Some(Popup::Removed {
                    name,
                    epoch,
                    reencrypted,
                    to_rotate,
                    scroll,
                })
            }
        };
        Mode::Members(state)
    }

    fn update_members_list(&mut self, mut state: Box<MembersState>, action: Action) -> Mode {
        let last = state.members.len().saturating_sub(1);
        match action {
            Action::Cancel => return Mode::Browse,
            Action::Up => state.selected = state.selected.saturating_sub(1),
            Action::Down => state.selected = (state.selected + 1).min(last),
            Action::Reload if self.reload_members(&mut state) => {
                self.info("members reloaded from the server");
            }
            Action::OpenAdd if self.admin_only(&state, "add") => {
                let envs = self.envs.iter().map(|e| e.name.clone()).collect();
                state.popup = Some(Popup::Add(Box::new(AddForm::new(&self.project, envs))));
            }
            Action::OpenDelete => {
                if let Some(m) = state.selected_member().cloned()
                    && self.admin_only(&state, "remove")
                {
                    if m.is_me {
                        self.warn("you cannot remove yourself; another admin can");
                    } else {
                        state.popup = Some(Popup::Remove {
                            member: m,
                            focus: ConfirmFocus::Cancel,
                        });
                    }
                }
            }
            _ => {}
        }
        Mode::Members(state)
    }

    /// Whether this member may `verb` members; says why not otherwise.
    fn admin_only(&mut self, state: &MembersState, verb: &str) -> bool {
        if state.is_admin() {
            return true;
        }
        let role = state.me().map_or("not a member", |m| m.role.label());
        self.warn(format!(
            "only an admin of the team vault can {verb} members: you are {}{role}; ask an admin",
            if state.me().is_some() { "a " } else { "" }
        ));
        false
    }

    fn update_add_form(
        &mut self,
        state: &MembersState,
        mut form: Box<AddForm>,
        action: Action,
    ) -> Option<Popup> {
        match action {
            Action::Cancel => return None,
            Action::Submit => match form.checked() {
                Ok((name, public)) => {
                    form.error = None;
                    return Some(self.ask_identity(state, Change::Add { form, name, public }));
                }
                Err(e) => form.error = Some(text::printable(&e)),
            },
            Action::NextField => form.next_field(true),
            Action::PrevField => form.next_field(false),
            Action::TypeNext => form.choose(true),
            Action::TypePrev => form.choose(false),
            Action::ToggleChoice => form.toggle(),
            Action::Input(i) => form.input(i),
            Action::Paste(p) => form.paste(&p),
            _ => {}
        }
        Some(Popup::Add(form))
    }

    fn ask_identity(&self, state: &MembersState, change: Change) -> Popup {
        Popup::Identity(Box::new(IdentityPrompt {
            path: state.identity.clone(),
            // The vault's keyfile is offered first: the CLI unlocks the identity with the
            // same credential as the vault.
            unlock: UnlockState::new(self.keyfile.clone()),
            change: Some(change),
        }))
    }

    fn update_identity(
        &mut self,
        mut prompt: Box<IdentityPrompt>,
        action: Action,
    ) -> Option<Popup> {
        if prompt.unlock.pending {
            return Some(Popup::Identity(prompt));
        }
        match action {
            Action::Submit => {
                prompt.unlock.error = None;
                prompt.unlock.pending = true;
            }
            Action::ToggleKeyfile => prompt.unlock.toggle_keyfile(),
            Action::Input(i) => prompt.unlock.input(i),
            Action::Paste(p) => prompt.unlock.paste(&p),
            Action::Cancel => {
                return match prompt.change.take() {
                    Some(Change::Add { form, .. }) => Some(Popup::Add(form)),
                    _ => None,
                };
            }
            _ => {}
        }
        Some(Popup::Identity(prompt))
    }

    /// The slow step of the Members screen: unlock the identity (Argon2 for a
    /// passphrase), then add or remove on the server. Runs after the "working…" frame.
    pub(super) fn members_slow_step(&mut self) {
        let mut state = match std::mem::replace(&mut self.mode, Mode::Browse) {
            Mode::Members(s) => s,
            other => {
                self.mode = other;
                return;
            }
        };
        if let Some(Popup::Identity(mut prompt)) = state.popup.take() {
            prompt.unlock.pending = false;
            state.popup = match prompt.unlock.take_credential() {
                Ok(credential) => self.change_members(&mut state, prompt, &credential),
                Err(e) => {
                    prompt.unlock.error = Some(e);
                    Some(Popup::Identity(prompt))
                }
            };
        }
        self.mode = Mode::Members(state);
    }

    /// Unlocks the identity and makes the change. What comes next: the token, the
    /// values to rotate, or (on a failure, said in the status line) the form again.
    fn change_members(
        &mut self,
        state: &mut MembersState,
        mut prompt: Box<IdentityPrompt>,
        credential: &Credential,
    ) -> Option<Popup> {
        let id = match identity::unlock(&prompt.path, credential) {
            Ok(id) => id,
            Err(e) => {
                let text = match e {
                    VaultError::WrongCredential => format!(
                        "{e} (the identity at {})",
                        super::ui::shown_path(&prompt.path)
                    ),
                    e => e.to_string(),
                };
                prompt.unlock.error = Some(text::printable(&text));
                return Some(Popup::Identity(prompt));
            }
        };
        let vault = self.vault.as_ref()?;
        match prompt.change.take()? {
            Change::Add { form, name, public } => {
                // A member added before signatures, added again with the key they print
                // now: the same member, who can sign from now on (as `member add` does).
                match vault.team_upgrade_member(&id, &name, &public, form.role, form.scope()) {
                    Ok(true) => {
                        self.reload_members(state);
                        self.info(format!(
                            "{} can now sign their changes; they run `tresor remote sync` once",
                            printable(&name)
                        ));
                        return None;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        self.error(&e);
                        return Some(Popup::Add(form));
                    }
                }
                match vault.team_add_member(&id, &name, &public, form.role, form.scope()) {
                    Ok(token) => {
                        // Without this admin's password: the newcomer logs in with theirs.
                        let join = match vault.team_status() {
                            Ok(s) => join_command(&s.url, &token),
                            Err(_) => format!("tresor remote join URL --token {token}"),
                        };
                        self.reload_members(state);
                        if let Some(i) = state.members.iter().position(|m| m.name == name) {
                            state.selected = i;
                        }
                        self.info(format!(
                            "{} added as {}: send them the join token",
                            printable(&name),
                            form.role.label()
                        ));
                        Some(Popup::Token { name, token, join })
                    }
                    Err(e) => {
                        self.error(&e);
                        Some(Popup::Add(form))
                    }
                }
            }
            Change::Remove { member } => match vault.team_remove_member(&id, &member.name) {
                Ok(done) => {
                    self.reload_members(state);
                    // The replica now holds the new epoch's rows: show them.
                    self.load();
                    self.info(format!(
                        "{} removed; the team vault has new keys; the others run `tresor remote sync`",
                        printable(&member.name)
                    ));
                    Some(Popup::Removed {
                        name: member.name,
                        epoch: done.epoch,
                        reencrypted: done.reencrypted,
                        to_rotate: done.to_rotate,
                        scroll: 0,
                    })
                }
                Err(e) => {
                    self.error(&e);
                    None
                }
            },
        }
    }
}
