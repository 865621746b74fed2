//! The one key table. `map` dispatches with it, and the help screen, the footers and
//! every key named in a view (`hint`) are generated from it, so what the screen says can
//! never drift from what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// Where a key is pressed. `Global` bindings apply everywhere, before the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeKind {
    Global,
    Create,
    Unlock,
    Browse,
    Filter,
    /// A text field of the secret form has focus.
    Form,
    /// The form's Type selector or button has focus (no text entry).
    FormChoice,
    Confirm,
    Help,
    Picker,
    PickerNew,
    /// Naming a new environment.
    EnvNew,
    /// The reveal popup: any key but scrolling hides it.
    Reveal,
    /// The history popup.
    History,
    /// The rollback question inside the history popup.
    HistoryConfirm,
    /// The copy popup: picking the target environment.
    CopyPick,
    /// The copy popup: the question before copying.
    CopyConfirm,
    /// The import popup's text area.
    ImportText,
    /// The import popup's preview.
    ImportPreview,
    /// The compare view: keys × environments.
    Compare,
    /// The Members screen of a team vault.
    Members,
    /// The add-member form, a text field focused.
    MemberForm,
    /// The add-member form, Role or Environments focused.
    MemberFormChoice,
    /// The question before removing a member.
    MemberRemove,
    /// This machine's identity, asked for before a change of a team vault that needs it
    /// (adding or removing a member, adding a project or environment, new keys).
    MemberIdentity,
    /// The join token of a member just added.
    MemberToken,
    /// What a removal did: the values to rotate.
    MemberRemoved,
}

impl ModeKind {
    /// Modes where unbound keys are typed into a text field.
    pub fn is_text_entry(self) -> bool {
        matches!(
            self,
            ModeKind::Create
                | ModeKind::Unlock
                | ModeKind::Filter
                | ModeKind::Form
                | ModeKind::PickerNew
                | ModeKind::EnvNew
                | ModeKind::ImportText
                | ModeKind::MemberForm
                | ModeKind::MemberIdentity
        )
    }

    /// The section title in the help screen.
    pub fn title(self) -> &'static str {
        match self {
            ModeKind::Global => "Everywhere",
            ModeKind::Create => "Create vault",
            ModeKind::Unlock => "Unlock",
            ModeKind::Browse => "Secrets table",
            ModeKind::Filter => "Filter",
            ModeKind::Form => "Add / edit form",
            ModeKind::FormChoice => "Form: Type and button",
            ModeKind::Confirm => "Delete dialog",
            ModeKind::Help => "Help",
            ModeKind::Picker => "Project picker",
            ModeKind::PickerNew => "New project name",
            ModeKind::EnvNew => "New environment name",
            ModeKind::Reveal => "Value popup (v)",
            ModeKind::History => "History (h)",
            ModeKind::HistoryConfirm => "Rollback question",
            ModeKind::CopyPick => "Copy to another environment (C)",
            ModeKind::CopyConfirm => "Copy: confirm",
            ModeKind::ImportText => "Import: paste a .env block (i)",
            ModeKind::ImportPreview => "Import: preview",
            ModeKind::Compare => "Compare environments",
            ModeKind::Members => "Members of a team vault (M)",
            ModeKind::MemberForm => "Add member: text fields",
            ModeKind::MemberFormChoice => "Add member: Role and Environments",
            ModeKind::MemberRemove => "Remove member dialog",
            ModeKind::MemberIdentity => {
                "Your identity (team vault: members, new environments, new keys)"
            }
            ModeKind::MemberToken => "Join token of a new member",
            ModeKind::MemberRemoved => "Member removed: values to rotate",
        }
    }
}

pub struct Binding {
    pub mode: ModeKind,
    pub code: KeyCode,
    pub mods: KeyModifiers,
    pub action: Action,
    /// Shown in the help screen.
    pub help: &'static str,
    /// Shown in the footer when not empty.
    pub short: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

const fn b(
    mode: ModeKind,
    code: KeyCode,
    mods: KeyModifiers,
    action: Action,
    help: &'static str,
    short: &'static str,
) -> Binding {
    Binding {
        mode,
        code,
        mods,
        action,
        help,
        short,
    }
}

use KeyCode::{
    BackTab, Char, Delete, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up,
};
use ModeKind::{
    Browse, Compare, Confirm, CopyConfirm, CopyPick, Create, EnvNew, Filter, Form, FormChoice,
    Global, Help, History, HistoryConfirm, ImportPreview, ImportText, MemberForm, MemberFormChoice,
    MemberIdentity, MemberRemove, MemberRemoved, MemberToken, Members, Picker, PickerNew, Reveal,
    Unlock,
};

#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(Global, Char('c'), CTRL, Action::Quit, "quit", ""),
    // Create vault
    b(Create, Enter, NONE, Action::Submit, "create the vault", "create"),
    b(Create, Tab, NONE, Action::NextField, "next field", "next"),
    b(Create, BackTab, NONE, Action::PrevField, "previous field", ""),
    b(Create, Char('k'), CTRL, Action::ToggleKeyfile, "use a keyfile instead of a passphrase (or back)", "keyfile"),
    b(Create, Char('r'), CTRL, Action::ToggleReveal, "show / hide what is typed", "show"),
    b(Create, Esc, NONE, Action::Quit, "quit", "quit"),
    // Unlock
    b(Unlock, Enter, NONE, Action::Submit, "unlock", "unlock"),
    b(Unlock, Char('k'), CTRL, Action::ToggleKeyfile, "unlock with a keyfile, or back to the passphrase", "keyfile"),
    b(Unlock, Esc, NONE, Action::Quit, "quit", "quit"),
    // Secrets table
    b(Browse, Char('a'), NONE, Action::OpenAdd, "add a secret", "add"),
    b(Browse, Char('e'), NONE, Action::OpenEdit, "edit the selected secret", "edit"),
    b(Browse, Enter, NONE, Action::OpenEdit, "edit the selected secret", ""),
    b(Browse, Char('d'), NONE, Action::OpenDelete, "delete the selected secret", "delete"),
    b(Browse, Delete, NONE, Action::OpenDelete, "delete the selected secret", ""),
    b(Browse, Char('/'), NONE, Action::OpenFilter, "filter by key or description", "filter"),
    b(Browse, Char('j'), NONE, Action::Down, "move down", ""),
    b(Browse, Down, NONE, Action::Down, "move down", ""),
    b(Browse, Char('k'), NONE, Action::Up, "move up", ""),
    b(Browse, Up, NONE, Action::Up, "move up", ""),
    b(Browse, Char('g'), NONE, Action::Top, "first row", ""),
    b(Browse, Home, NONE, Action::Top, "first row", ""),
    b(Browse, Char('G'), NONE, Action::Bottom, "last row", ""),
    b(Browse, End, NONE, Action::Bottom, "last row", ""),
    b(Browse, PageDown, NONE, Action::PageDown, "page down", ""),
    b(Browse, PageUp, NONE, Action::PageUp, "page up", ""),
    b(Browse, Tab, NONE, Action::NextEnv, "next environment", "env"),
    b(Browse, BackTab, NONE, Action::PrevEnv, "previous environment", ""),
    b(Browse, Char('s'), NONE, Action::CycleSort, "sort by key, type or created", "sort"),
    b(Browse, Char('p'), NONE, Action::OpenPicker, "pick or create a project", "project"),
    b(Browse, Char('+'), NONE, Action::NewEnv, "add an environment to the project", ""),
    b(Browse, Char('-'), NONE, Action::RemoveEnv, "remove this environment and its secrets", ""),
    b(Browse, Char('r'), NONE, Action::Reload, "reload from the vault", ""),
    b(Browse, Char('?'), NONE, Action::OpenHelp, "this help", "help"),
    b(Browse, Char('q'), NONE, Action::Quit, "quit", "quit"),
    b(Browse, Esc, NONE, Action::Cancel, "clear the filter", ""),
    b(Browse, Char('c'), NONE, Action::Copy, "copy the value to the clipboard for 30 s", ""),
    b(Browse, Char('v'), NONE, Action::Reveal, "show the value for 10 s", ""),
    b(Browse, Char('h'), NONE, Action::OpenHistory, "history: earlier values, rollback", ""),
    b(Browse, Char('C'), NONE, Action::OpenCopy, "copy the secret to another environment", ""),
    b(Browse, Char('i'), NONE, Action::OpenImport, "import: paste a .env block, preview, confirm", ""),
    b(Browse, Char('!'), NONE, Action::ToggleFlagged, "show only flagged secrets (or all again)", ""),
    b(Browse, Char('='), NONE, Action::OpenCompare, "compare the project's environments", ""),
    b(Browse, Char('M'), NONE, Action::OpenMembers, "members of a team vault: who has access", ""),
    // Filter
    b(Filter, Enter, NONE, Action::Submit, "keep the filter, back to the table", "keep"),
    b(Filter, Esc, NONE, Action::Cancel, "clear the filter", "clear"),
    b(Filter, Down, NONE, Action::Down, "move down", ""),
    b(Filter, Up, NONE, Action::Up, "move up", ""),
    // Form, text fields
    b(Form, Enter, NONE, Action::Submit, "save (Create Secret / Update Secret)", "save"),
    b(Form, Esc, NONE, Action::Cancel, "cancel", "cancel"),
    b(Form, Tab, NONE, Action::NextField, "next field", "next"),
    b(Form, Down, NONE, Action::Down, "next field, or line of a shown value", ""),
    b(Form, BackTab, NONE, Action::PrevField, "previous field", ""),
    b(Form, Up, NONE, Action::Up, "previous field, or line of a shown value", ""),
    b(Form, Char('r'), CTRL, Action::ToggleReveal, "show / hide the value", ""),
    b(Form, Char('g'), CTRL, Action::Generate, "generate a strong random value", ""),
    // Form, Type selector and button
    b(FormChoice, Enter, NONE, Action::Submit, "save", "save"),
    b(FormChoice, Esc, NONE, Action::Cancel, "cancel", "cancel"),
    b(FormChoice, Tab, NONE, Action::NextField, "next field", "next"),
    b(FormChoice, Down, NONE, Action::NextField, "next field", ""),
    b(FormChoice, BackTab, NONE, Action::PrevField, "previous field", ""),
    b(FormChoice, Up, NONE, Action::PrevField, "previous field", ""),
    b(FormChoice, Left, NONE, Action::TypePrev, "previous type", "type"),
    b(FormChoice, Right, NONE, Action::TypeNext, "next type", ""),
    b(FormChoice, Char(' '), NONE, Action::TypeNext, "next type", ""),
    b(FormChoice, Char('r'), CTRL, Action::ToggleReveal, "show / hide the value", ""),
    b(FormChoice, Char('g'), CTRL, Action::Generate, "generate a strong random value", ""),
    // Delete dialog
    b(Confirm, Char('y'), NONE, Action::ConfirmYes, "delete", "delete"),
    b(Confirm, Enter, NONE, Action::Submit, "choose the focused button", "choose"),
    b(Confirm, Char('n'), NONE, Action::Cancel, "cancel", "cancel"),
    b(Confirm, Esc, NONE, Action::Cancel, "cancel", ""),
    b(Confirm, Left, NONE, Action::ToggleFocus, "move focus", ""),
    b(Confirm, Right, NONE, Action::ToggleFocus, "move focus", ""),
    b(Confirm, Tab, NONE, Action::ToggleFocus, "move focus", ""),
    b(Confirm, BackTab, NONE, Action::ToggleFocus, "move focus", ""),
    // Help
    b(Help, Esc, NONE, Action::Cancel, "close", "close"),
    b(Help, Char('?'), NONE, Action::Cancel, "close", ""),
    b(Help, Char('q'), NONE, Action::Cancel, "close", ""),
    b(Help, Char('j'), NONE, Action::Down, "scroll down", ""),
    b(Help, Down, NONE, Action::Down, "scroll down", ""),
    b(Help, Char('k'), NONE, Action::Up, "scroll up", ""),
    b(Help, Up, NONE, Action::Up, "scroll up", ""),
    // Project picker
    b(Picker, Enter, NONE, Action::Submit, "open the project", "open"),
    b(Picker, Char('n'), NONE, Action::NewProject, "new project", "new"),
    b(Picker, Esc, NONE, Action::Cancel, "close", "close"),
    b(Picker, Char('j'), NONE, Action::Down, "move down", ""),
    b(Picker, Down, NONE, Action::Down, "move down", ""),
    b(Picker, Char('k'), NONE, Action::Up, "move up", ""),
    b(Picker, Up, NONE, Action::Up, "move up", ""),
    b(PickerNew, Enter, NONE, Action::Submit, "create the project", "create"),
    b(PickerNew, Esc, NONE, Action::Cancel, "back to the list", "back"),
    // New environment
    b(EnvNew, Enter, NONE, Action::Submit, "add the environment", "add"),
    b(EnvNew, Esc, NONE, Action::Cancel, "cancel", "cancel"),
    // Value popup
    b(Reveal, Esc, NONE, Action::Cancel, "hide the value (so does any other key)", "hide"),
    b(Reveal, Char('j'), NONE, Action::Down, "scroll down", "scroll"),
    b(Reveal, Down, NONE, Action::Down, "scroll down", ""),
    b(Reveal, Char('k'), NONE, Action::Up, "scroll up", ""),
    b(Reveal, Up, NONE, Action::Up, "scroll up", ""),
    b(Reveal, PageDown, NONE, Action::PageDown, "page down", ""),
    b(Reveal, PageUp, NONE, Action::PageUp, "page up", ""),
    // History
    b(History, Char('r'), NONE, Action::Rollback, "roll back to the selected version (asks first)", "rollback"),
    b(History, Enter, NONE, Action::Rollback, "roll back to the selected version (asks first)", ""),
    b(History, Esc, NONE, Action::Cancel, "close", "close"),
    b(History, Char('h'), NONE, Action::Cancel, "close", ""),
    b(History, Char('q'), NONE, Action::Cancel, "close", ""),
    b(History, Char('j'), NONE, Action::Down, "move down", ""),
    b(History, Down, NONE, Action::Down, "move down", ""),
    b(History, Char('k'), NONE, Action::Up, "move up", ""),
    b(History, Up, NONE, Action::Up, "move up", ""),
    b(HistoryConfirm, Char('y'), NONE, Action::ConfirmYes, "roll back", "roll back"),
    b(HistoryConfirm, Char('n'), NONE, Action::Cancel, "keep the current value", "cancel"),
    b(HistoryConfirm, Esc, NONE, Action::Cancel, "keep the current value", ""),
    // Copy popup
    b(CopyPick, Enter, NONE, Action::Submit, "copy to the selected environment (asks first)", "choose"),
    b(CopyPick, Esc, NONE, Action::Cancel, "close", "close"),
    b(CopyPick, Char('j'), NONE, Action::Down, "move down", ""),
    b(CopyPick, Down, NONE, Action::Down, "move down", ""),
    b(CopyPick, Char('k'), NONE, Action::Up, "move up", ""),
    b(CopyPick, Up, NONE, Action::Up, "move up", ""),
    b(CopyConfirm, Char('y'), NONE, Action::ConfirmYes, "copy", "copy"),
    b(CopyConfirm, Enter, NONE, Action::Submit, "copy", ""),
    b(CopyConfirm, Char('n'), NONE, Action::Cancel, "back to the environments", "back"),
    b(CopyConfirm, Esc, NONE, Action::Cancel, "back to the environments", ""),
    // Import popup
    b(ImportText, Enter, NONE, Action::Submit, "preview: what the import would do", "preview"),
    b(ImportText, Esc, NONE, Action::Cancel, "close; nothing is imported", "cancel"),
    b(ImportText, Char('r'), CTRL, Action::ToggleReveal, "show / hide the pasted text", "show"),
    b(ImportPreview, Enter, NONE, Action::Submit, "import, in one transaction", "import"),
    b(ImportPreview, Char('y'), NONE, Action::ConfirmYes, "import, in one transaction", ""),
    b(ImportPreview, Char('o'), NONE, Action::ToggleOverwrite, "replace changed values, or keep them", "overwrite"),
    b(ImportPreview, Esc, NONE, Action::Cancel, "back to the text; nothing is imported", "back"),
    b(ImportPreview, Char('j'), NONE, Action::Down, "scroll down", ""),
    b(ImportPreview, Down, NONE, Action::Down, "scroll down", ""),
    b(ImportPreview, Char('k'), NONE, Action::Up, "scroll up", ""),
    b(ImportPreview, Up, NONE, Action::Up, "scroll up", ""),
    // Compare view
    b(Compare, Char('m'), NONE, Action::CompareMissing, "only keys missing somewhere (or all)", "missing"),
    b(Compare, Char('s'), NONE, Action::CompareSame, "only keys with a value equal elsewhere (or all)", "same"),
    b(Compare, Char('j'), NONE, Action::Down, "move down", ""),
    b(Compare, Down, NONE, Action::Down, "move down", ""),
    b(Compare, Char('k'), NONE, Action::Up, "move up", ""),
    b(Compare, Up, NONE, Action::Up, "move up", ""),
    b(Compare, Char('g'), NONE, Action::Top, "first row", ""),
    b(Compare, Char('G'), NONE, Action::Bottom, "last row", ""),
    b(Compare, PageDown, NONE, Action::PageDown, "page down", ""),
    b(Compare, PageUp, NONE, Action::PageUp, "page up", ""),
    b(Compare, Esc, NONE, Action::Cancel, "close", "close"),
    b(Compare, Char('='), NONE, Action::Cancel, "close", ""),
    b(Compare, Char('q'), NONE, Action::Cancel, "close", ""),
    // Members screen (team vault)
    b(Members, Char('a'), NONE, Action::OpenAdd, "add a member (admins)", "add"),
    b(Members, Char('d'), NONE, Action::OpenDelete, "remove the selected member (admins; asks first)", "remove"),
    b(Members, Delete, NONE, Action::OpenDelete, "remove the selected member (admins; asks first)", ""),
    b(Members, Char('r'), NONE, Action::Reload, "reload the list from the server", "reload"),
    b(Members, Esc, NONE, Action::Cancel, "back to the secrets", "back"),
    b(Members, Char('M'), NONE, Action::Cancel, "back to the secrets", ""),
    b(Members, Char('q'), NONE, Action::Cancel, "back to the secrets", ""),
    b(Members, Char('j'), NONE, Action::Down, "move down", ""),
    b(Members, Down, NONE, Action::Down, "move down", ""),
    b(Members, Char('k'), NONE, Action::Up, "move up", ""),
    b(Members, Up, NONE, Action::Up, "move up", ""),
    b(MemberForm, Enter, NONE, Action::Submit, "add (asks for your identity)", "add"),
    b(MemberForm, Esc, NONE, Action::Cancel, "cancel", "cancel"),
    b(MemberForm, Tab, NONE, Action::NextField, "next field", "next"),
    b(MemberForm, Down, NONE, Action::NextField, "next field", ""),
    b(MemberForm, BackTab, NONE, Action::PrevField, "previous field", ""),
    b(MemberForm, Up, NONE, Action::PrevField, "previous field", ""),
    b(MemberFormChoice, Enter, NONE, Action::Submit, "add (asks for your identity)", "add"),
    b(MemberFormChoice, Esc, NONE, Action::Cancel, "cancel", "cancel"),
    b(MemberFormChoice, Tab, NONE, Action::NextField, "next field", "next"),
    b(MemberFormChoice, Down, NONE, Action::NextField, "next field", ""),
    b(MemberFormChoice, BackTab, NONE, Action::PrevField, "previous field", ""),
    b(MemberFormChoice, Up, NONE, Action::PrevField, "previous field", ""),
    b(MemberFormChoice, Left, NONE, Action::TypePrev, "previous role or environment", "choose"),
    b(MemberFormChoice, Right, NONE, Action::TypeNext, "next role or environment", ""),
    b(MemberFormChoice, Char(' '), NONE, Action::ToggleChoice, "pick / unpick the environment", "pick"),
    b(MemberRemove, Char('y'), NONE, Action::ConfirmYes, "remove and rekey", "remove"),
    b(MemberRemove, Enter, NONE, Action::Submit, "choose the focused button", "choose"),
    b(MemberRemove, Char('n'), NONE, Action::Cancel, "cancel", "cancel"),
    b(MemberRemove, Esc, NONE, Action::Cancel, "cancel", ""),
    b(MemberRemove, Left, NONE, Action::ToggleFocus, "move focus", ""),
    b(MemberRemove, Right, NONE, Action::ToggleFocus, "move focus", ""),
    b(MemberRemove, Tab, NONE, Action::ToggleFocus, "move focus", ""),
    b(MemberRemove, BackTab, NONE, Action::ToggleFocus, "move focus", ""),
    b(MemberIdentity, Enter, NONE, Action::Submit, "unlock the identity and go on", "go on"),
    b(MemberIdentity, Char('k'), CTRL, Action::ToggleKeyfile, "a keyfile instead of a passphrase (or back)", "keyfile"),
    b(MemberIdentity, Esc, NONE, Action::Cancel, "back; nothing is changed", "back"),
    b(MemberToken, Char('c'), NONE, Action::Copy, "copy the join token to the clipboard", "copy"),
    b(MemberToken, Esc, NONE, Action::Cancel, "close", "close"),
    b(MemberToken, Enter, NONE, Action::Cancel, "close", ""),
    b(MemberRemoved, Esc, NONE, Action::Cancel, "close", "close"),
    b(MemberRemoved, Enter, NONE, Action::Cancel, "close", ""),
    b(MemberRemoved, Char('j'), NONE, Action::Down, "scroll down", "scroll"),
    b(MemberRemoved, Down, NONE, Action::Down, "scroll down", ""),
    b(MemberRemoved, Char('k'), NONE, Action::Up, "scroll up", ""),
    b(MemberRemoved, Up, NONE, Action::Up, "scroll up", ""),
];

/// How a binding's key is written, for views that name it in their own text (the
/// table's title says which key shows only flagged rows).
pub fn key_for(mode: ModeKind, action: &Action) -> Option<String> {
    BINDINGS
        .iter()
        .find(|b| b.mode == mode && b.action == *action)
        .map(|b| key_label(b.code, b.mods))
}

/// Crossterm reports `G` with SHIFT on some terminals and without on others, and
/// Shift-Tab as BackTab with SHIFT: the code already says it, so SHIFT is ignored there.
fn normalized(code: KeyCode, mods: KeyModifiers) -> KeyModifiers {
    match code {
        KeyCode::Char(_) | KeyCode::BackTab => mods - KeyModifiers::SHIFT,
        _ => mods,
    }
}

fn find(mode: ModeKind, key: &KeyEvent) -> Option<&'static Binding> {
    let mods = normalized(key.code, key.modifiers);
    BINDINGS
        .iter()
        .find(|b| b.mode == mode && b.code == key.code && normalized(b.code, b.mods) == mods)
}

/// The action for a key in a mode: global bindings first, then the mode's own; in
/// text-entry modes anything else goes to the text field, except the keys a TextArea
/// would turn into a newline.
pub fn map(mode: ModeKind, key: KeyEvent) -> Option<Action> {
    if let Some(b) = find(ModeKind::Global, &key).or_else(|| find(mode, &key)) {
        return Some(b.action.clone());
    }
    if mode == ModeKind::Reveal {
        // A value on screen goes away at the first key that is not scrolling.
        return Some(Action::Cancel);
    }
    if !mode.is_text_entry() {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('m' | 'j') if ctrl => Some(Action::Ignore),
        KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab => Some(Action::Ignore),
        KeyCode::Char('\n' | '\r') => Some(Action::Ignore),
        _ => Some(Action::Input(ratatui_textarea::Input::from(key))),
    }
}

/// How a key is written in the help and footer.
pub fn key_label(code: KeyCode, mods: KeyModifiers) -> String {
    let base = match code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Delete => "Del".into(),
        other => format!("{other:?}"),
    };
    if mods.contains(KeyModifiers::CONTROL) {
        let upper = base.to_uppercase();
        format!("Ctrl-{upper}")
    } else {
        base
    }
}

/// What `hint` returns for an action the mode does not bind: a view that names a key
/// that does nothing shows this, and the key-hint test looks for it on every screen.
pub const UNBOUND: &str = "‹unbound key›";

/// The key that does `action` in `mode` (or everywhere), as the help writes it: the first
/// such binding in the table. Views name keys only through this.
pub fn hint(mode: ModeKind, action: Action) -> String {
    BINDINGS
        .iter()
        .find(|b| (b.mode == mode || b.mode == ModeKind::Global) && b.action == action)
        .map_or_else(|| UNBOUND.to_string(), |b| key_label(b.code, b.mods))
}

/// One help line: all keys of a mode that do the same thing, joined.
pub struct HelpLine {
    pub keys: String,
    pub help: &'static str,
}

/// The help screen's sections, built from [`BINDINGS`]: the table's keys first, the
/// screens before unlocking last.
pub fn help_sections() -> Vec<(ModeKind, Vec<HelpLine>)> {
    let mut sections: Vec<(ModeKind, Vec<HelpLine>)> = Vec::new();
    for bind in BINDINGS {
        let label = key_label(bind.code, bind.mods);
        let idx = match sections.iter().position(|(m, _)| *m == bind.mode) {
            Some(i) => i,
            None => {
                sections.push((bind.mode, Vec::new()));
                sections.len() - 1
            }
        };
        let lines = &mut sections[idx].1;
        match lines.iter_mut().find(|l| l.help == bind.help) {
            Some(line) => {
                line.keys.push_str(" / ");
                line.keys.push_str(&label);
            }
            None => lines.push(HelpLine {
                keys: label,
                help: bind.help,
            }),
        }
    }
    let rank = |m: ModeKind| match m {
        ModeKind::Global => 1,
        ModeKind::Create | ModeKind::Unlock => 2,
        _ => 0,
    };
    sections.sort_by_key(|(m, _)| rank(*m));
    sections
}

/// The footer of a mode: its bindings that have a short label, plus the global ones.
pub fn footer(mode: ModeKind) -> Vec<(String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.mode == mode && !b.short.is_empty())
        .map(|b| (key_label(b.code, b.mods), b.short))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEvent;

    #[test]
    fn every_binding_dispatches_to_its_own_action() {
        // An earlier row with the same key would shadow a later one: help would lie.
        for bind in BINDINGS {
            let key = KeyEvent::new(bind.code, bind.mods);
            let got = map(bind.mode, key);
            let global = find(ModeKind::Global, &key).map(|g| g.action.clone());
            assert!(
                got == Some(bind.action.clone()) || (global.is_some() && got == global),
                "{:?} {:?} in {:?} gives {got:?}, table says {:?}",
                bind.mods,
                bind.code,
                bind.mode,
                bind.action
            );
        }
    }

    #[test]
    fn hint_names_the_first_key_of_an_action_or_says_unbound() {
        assert_eq!(hint(ModeKind::Browse, Action::OpenEdit), "e");
        assert_eq!(hint(ModeKind::Form, Action::ToggleReveal), "Ctrl-R");
        assert_eq!(
            hint(ModeKind::Form, Action::Quit),
            "Ctrl-C",
            "global keys count"
        );
        assert_eq!(hint(ModeKind::Browse, Action::Generate), UNBOUND);
    }

    #[test]
    fn shifted_capital_g_still_matches() {
        let key = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map(ModeKind::Browse, key), Some(Action::Bottom));
    }

    #[test]
    fn text_fields_never_get_a_newline() {
        for key in [
            KeyEvent::new(KeyCode::Char('m'), KeyModifiers::CONTROL),
            KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL),
        ] {
            assert_eq!(map(ModeKind::Form, key), Some(Action::Ignore));
        }
        assert_eq!(
            map(
                ModeKind::Form,
                KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)
            ),
            Some(Action::Submit)
        );
        assert!(matches!(
            map(
                ModeKind::Form,
                KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)
            ),
            Some(Action::Input(_))
        ));
        assert_eq!(
            map(
                ModeKind::Browse,
                KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)
            ),
            None
        );
    }

    #[test]
    fn ctrl_c_quits_from_every_mode() {
        let key = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in [
            ModeKind::Unlock,
            ModeKind::Form,
            ModeKind::Confirm,
            ModeKind::Filter,
            ModeKind::Help,
        ] {
            assert_eq!(map(mode, key), Some(Action::Quit));
        }
    }
}
