//! The delete dialog's update, as an `App` method; `ui::confirm` draws it.

use super::action::Action;
use super::app::{App, ConfirmAnswer, ConfirmFocus, Mode};
use super::text;

impl App {
    pub(super) fn update_confirm(
        &mut self,
        key: String,
        focus: ConfirmFocus,
        action: Action,
    ) -> Mode {
        let delete = match focus.answer(&action) {
            ConfirmAnswer::Yes => true,
            ConfirmAnswer::No => false,
            ConfirmAnswer::Ask(focus) => return Mode::Confirm { key, focus },
        };
        if delete && let Some(vault) = &self.vault {
            match vault.remove(&self.project, &self.env, &key) {
                Ok(()) => {
                    self.load();
                    self.info(format!("Deleted secret {}", text::printable(&key)));
                }
                // Not found (deleted elsewhere), busy, damaged: say so, keep browsing.
                Err(e) => self.error(&e),
            }
        }
        Mode::Browse
    }
}
