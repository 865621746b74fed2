//! Everything the user can ask for, as data: the keymap produces these, `App::update`
//! applies them. Tests drive the app with the same values.

use std::fmt;
use std::ops::Deref;

use ratatui_textarea::Input;
use zeroize::Zeroizing;

/// The text of a bracketed paste (a PEM key, a password): wiped when dropped, and
/// `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Pasted(Zeroizing<String>);

impl Deref for Pasted {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Pasted {
    /// Takes the terminal's string as it is: no copy is made.
    fn from(text: String) -> Pasted {
        Pasted(Zeroizing::new(text))
    }
}

impl From<&str> for Pasted {
    fn from(text: &str) -> Pasted {
        Pasted(Zeroizing::new(text.to_string()))
    }
}

impl fmt::Debug for Pasted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pasted({} bytes)", self.0.len())
    }
}

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
    Paste(Pasted),
    /// Swallowed on purpose (Ctrl-M / Ctrl-J in text fields: never a newline).
    Ignore,
    // Health and compare.
    /// Show only the secrets the health column flags, or all again.
    ToggleFlagged,
    /// Open the compare view of the project's environments.
    OpenCompare,
    /// Compare view: only keys missing somewhere, or all again.
    CompareMissing,
    /// Compare view: only keys with the same value in two environments, or all again.
    CompareSame,
}
