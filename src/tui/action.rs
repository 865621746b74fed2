//! Everything the user can ask for, as data: the keymap produces these, `App::update`
//! applies them. Tests drive the app with the same values.

use ratatui_textarea::Input;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Quit,
    // Moving in the table.
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    NextEnv,
    PrevEnv,
    CycleSort,
    Reload,
    // Opening things.
    OpenAdd,
    OpenEdit,
    OpenDelete,
    OpenFilter,
    OpenHelp,
    OpenPicker,
    /// Project picker: start typing a new project's name.
    NewProject,
    // Inside forms and dialogs.
    Submit,
    Cancel,
    NextField,
    PrevField,
    ToggleReveal,
    Generate,
    TypePrev,
    TypeNext,
    /// Delete dialog: `y`, delete at once.
    ConfirmYes,
    /// Delete dialog: move focus between Delete and Cancel.
    ToggleFocus,
    /// Create-vault screen: switch between a passphrase and a keyfile.
    ToggleKeyfile,
    /// A key for the focused text field.
    Input(Input),
    /// A bracketed paste, as the terminal sent it.
    Paste(String),
    /// Swallowed on purpose (Ctrl-M / Ctrl-J in text fields: never a newline).
    Ignore,
}
