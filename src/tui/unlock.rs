//! The state of the screens before the table: create a vault (first run) and unlock it.
//! `App::update` runs the slow Argon2 step (`Action::SlowStep`) after a "working…" frame
//! has been drawn; `ui::unlock` draws them.

use std::path::{Path, PathBuf};

use ratatui_textarea::{Input, TextArea};

use crate::vault::Credential;

use super::fields::{plain_field, secret_field, secret_or_plain_input, take_secret, wipe};
use super::form::MASK;
use super::text;

pub struct UnlockState {
    pub passphrase: TextArea<'static>,
    /// The keyfile way: a path, prefilled with the one that last unlocked this vault.
    pub keyfile_path: TextArea<'static>,
    /// Which of the two fields is shown (Ctrl-K switches).
    pub use_keyfile: bool,
    /// Set after a failed attempt: one generic message.
    pub error: Option<String>,
    /// A credential from the command line, tried once before asking.
    pub preset: Option<Credential>,
    /// Enter was pressed: the next loop turn draws "Unlocking…" and then unlocks.
    pub pending: bool,
}

impl UnlockState {
    /// `keyfile`: a keyfile known to open this vault (given at start, remembered, or used
    /// before auto-lock): the screen starts on it, prefilled.
    pub fn new(keyfile: Option<PathBuf>) -> UnlockState {
        let mut keyfile_path = plain_field("path of the keyfile");
        if let Some(k) = &keyfile {
            keyfile_path.insert_str(k.to_string_lossy());
        }
        UnlockState {
            passphrase: secret_field("passphrase"),
            keyfile_path,
            use_keyfile: keyfile.is_some(),
            error: None,
            preset: None,
            pending: false,
        }
    }

    fn focused(&mut self) -> &mut TextArea<'static> {
        if self.use_keyfile {
            &mut self.keyfile_path
        } else {
            &mut self.passphrase
        }
    }

    pub fn input(&mut self, input: Input) {
        let secret = !self.use_keyfile;
        secret_or_plain_input(self.focused(), input, secret);
    }

    pub fn paste(&mut self, pasted: &str) {
        let clean = text::paste_single_line(pasted);
        self.focused().insert_str(&*clean);
    }

    pub fn toggle_keyfile(&mut self) {
        self.use_keyfile = !self.use_keyfile;
        self.error = None;
    }

    pub fn keyfile_path(&self) -> PathBuf {
        PathBuf::from(self.keyfile_path.lines().join(""))
    }

    /// What to unlock with: the preset once, else the field shown. `Err` is the message
    /// for an empty field.
    pub fn take_credential(&mut self) -> Result<Credential, String> {
        if let Some(c) = self.preset.take() {
            return Ok(c);
        }
        if self.use_keyfile {
            let path = self.keyfile_path();
            if path.as_os_str().is_empty() {
                return Err("keyfile path is required".into());
            }
            return Ok(Credential::Keyfile(path));
        }
        if self.passphrase.is_empty() {
            return Err(crate::vault::VaultError::EmptyPassphrase.to_string());
        }
        Ok(Credential::Passphrase(take_secret(&mut self.passphrase)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateField {
    Passphrase,
    Confirm,
    Keyfile,
}

pub struct CreateState {
    pub passphrase: TextArea<'static>,
    pub confirm: TextArea<'static>,
    pub keyfile_path: TextArea<'static>,
    pub use_keyfile: bool,
    pub focus: CreateField,
    pub revealed: bool,
    pub error: Option<String>,
    pub pending: bool,
}

impl CreateState {
    /// `new_keyfile`: where a keyfile is suggested (see `Places::new_keyfile`).
    pub fn new(new_keyfile: &Path) -> CreateState {
        let mut keyfile_path = plain_field("path of the new keyfile");
        keyfile_path.insert_str(new_keyfile.to_string_lossy());
        CreateState {
            passphrase: secret_field("passphrase"),
            confirm: secret_field("the same again"),
            keyfile_path,
            use_keyfile: false,
            focus: CreateField::Passphrase,
            revealed: false,
            error: None,
            pending: false,
        }
    }

    fn focused(&mut self) -> &mut TextArea<'static> {
        match self.focus {
            CreateField::Passphrase => &mut self.passphrase,
            CreateField::Confirm => &mut self.confirm,
            CreateField::Keyfile => &mut self.keyfile_path,
        }
    }

    pub fn input(&mut self, input: Input) {
        let secret = self.focus != CreateField::Keyfile;
        secret_or_plain_input(self.focused(), input, secret);
        self.error = None;
    }

    pub fn paste(&mut self, pasted: &str) {
        self.focused().insert_str(text::paste_single_line(pasted));
    }

    pub fn next_field(&mut self) {
        self.focus = match (self.use_keyfile, self.focus) {
            (true, _) => CreateField::Keyfile,
            (false, CreateField::Passphrase) => CreateField::Confirm,
            (false, _) => CreateField::Passphrase,
        };
    }

    pub fn toggle_keyfile(&mut self) {
        self.use_keyfile = !self.use_keyfile;
        self.error = None;
        self.focus = if self.use_keyfile {
            CreateField::Keyfile
        } else {
            CreateField::Passphrase
        };
    }

    pub fn toggle_reveal(&mut self) {
        self.revealed = !self.revealed;
        for ta in [&mut self.passphrase, &mut self.confirm] {
            if self.revealed {
                ta.clear_mask_char();
            } else {
                ta.set_mask_char(MASK);
            }
        }
    }

    pub fn strength(&self) -> Option<text::Strength> {
        let pass = zeroize::Zeroizing::new(self.passphrase.lines().join(""));
        (!pass.is_empty()).then(|| text::strength(&pass))
    }

    pub fn keyfile_path(&self) -> PathBuf {
        PathBuf::from(self.keyfile_path.lines().join(""))
    }

    /// Checks the two passphrases before the slow step; `Err` is the message to show.
    pub fn check(&self) -> Result<(), String> {
        if self.use_keyfile {
            let path = self.keyfile_path();
            if path.as_os_str().is_empty() {
                return Err("keyfile path is required".into());
            }
            if path.exists() {
                return Err(format!(
                    "{} already exists: choose another path",
                    text::printable(&path.to_string_lossy())
                ));
            }
            return Ok(());
        }
        crate::vault::validate::new_passphrase(&zeroize::Zeroizing::new(
            self.passphrase.lines().join(""),
        ))
        .map_err(|e| e.to_string())?;
        if self.passphrase.lines() != self.confirm.lines() {
            return Err(crate::vault::VaultError::PassphraseMismatch.to_string());
        }
        Ok(())
    }
}

impl Drop for CreateState {
    fn drop(&mut self) {
        wipe(&mut self.passphrase);
        wipe(&mut self.confirm);
    }
}

impl Drop for UnlockState {
    fn drop(&mut self) {
        wipe(&mut self.passphrase);
    }
}
