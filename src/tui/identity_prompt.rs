//! This machine's identity (`tresor identity new`), asked for before a change of a team
//! vault that needs it: adding or removing a member (the Members screen), adding an
//! environment or a project (its key is wrapped with the admin's identity) and fetching
//! the new keys after a rekey (`team_identity`). Asked for as the unlock screen asks for
//! the vault's credential (masked, or a keyfile); the passphrase field is wiped when the
//! prompt goes, and the unlocked identity is dropped after the one change.

use std::path::PathBuf;

use super::fields::wipe;
use super::text;
use super::unlock::UnlockState;
use crate::vault::team::identity::{self, Identity};
use crate::vault::{Credential, VaultError};

/// The prompt, holding the change `T` it is asked for.
pub struct IdentityPrompt<T> {
    pub path: PathBuf,
    pub unlock: UnlockState,
    /// Taken when the prompt is done with (it is `None` only then).
    pub change: Option<T>,
}

impl<T> IdentityPrompt<T> {
    /// The identity unlocked with `credential`, or the words the prompt shows (a wrong
    /// credential names the identity file, which the user may not have had in mind).
    pub fn open(&self, credential: &Credential) -> Result<Identity, String> {
        identity::unlock(&self.path, credential).map_err(|e| {
            let text = match e {
                VaultError::WrongCredential => format!(
                    "{e} (the identity at {})",
                    super::ui::shown_path(&self.path)
                ),
                e => e.to_string(),
            };
            text::printable(&text)
        })
    }
}

impl<T> Drop for IdentityPrompt<T> {
    fn drop(&mut self) {
        wipe(&mut self.unlock.passphrase);
    }
}

/// Where this machine's identity is: `TRESOR_IDENTITY`, else the default place (as the
/// CLI finds it; without a home folder, a name the prompt shows and that fails to open).
pub fn identity_path() -> PathBuf {
    std::env::var_os("TRESOR_IDENTITY")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(identity::default_path)
        .unwrap_or_else(|| PathBuf::from("identity"))
}
