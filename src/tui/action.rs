//! Everything the user can ask for, as data: the keymap produces these, `App::update`
//! applies them. Tests drive the app with the same values.

use std::fmt;
use std::ops::Deref;
use std::time::Instant;

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
    /// Tab bar: name a new environment of the project.
    NewEnv,
    /// Tab bar: remove the environment shown (after a confirmation).
    RemoveEnv,
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
    /// Swallowed on purpose (Ctrl-M / Ctrl-J in text fields: never a newline), or a key
    /// with no binding: either way the user is at the keyboard (auto-lock waits).
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
    /// Copy the selected secret to another environment or project (opens a popup).
    OpenCopy,
    /// Import popup: paste a .env block, preview, confirm.
    OpenImport,
    /// Import preview: replace changed values, or keep them.
    ToggleOverwrite,
    /// Put the selected secret's value on the clipboard (OSC 52), cleared later.
    Copy,
    /// Show the selected secret's value in a popup that hides itself.
    Reveal,
    /// Open the selected secret's history.
    OpenHistory,
    /// History: make the selected version current again (asks first).
    Rollback,
    // Members (team vault).
    /// Open the Members screen: who has access to the team vault.
    OpenMembers,
    /// Add-member form: pick or unpick the environment under the cursor.
    ToggleChoice,
    // Not from keys: the event loop sends these.
    /// Time passed: auto-lock, status expiry, the idle reload.
    Tick(Instant),
    /// The slow step (Argon2) announced by `App::has_pending`, sent once its "working…"
    /// frame is on screen.
    SlowStep,
    /// The terminal's size: the table's page and scroll window follow from it.
    Resize {
        width: u16,
        height: u16,
    },
    /// The team vault's watcher thread heard something (`tui::live`).
    Live(super::live::LiveEvent),
}

impl Action {
    /// Whether the action comes from the person at the keyboard (it postpones auto-lock).
    pub fn is_input(&self) -> bool {
        !matches!(
            self,
            Action::Tick(_) | Action::SlowStep | Action::Resize { .. } | Action::Live(_)
        )
    }
}
