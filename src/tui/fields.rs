//! Text fields of the TUI: masked (passphrases) or plain, and wiping what they held.

use ratatui::style::Style;
use ratatui_textarea::{Input, TextArea};
use secrecy::SecretString;
use zeroize::Zeroize;

use super::form::MASK;

pub fn secret_field(placeholder: &str) -> TextArea<'static> {
    let mut ta = TextArea::default();
    ta.set_cursor_line_style(Style::default());
    ta.set_placeholder_text(placeholder);
    ta.set_mask_char(MASK);
    ta.set_max_histories(0);
    ta
}

pub fn plain_field(placeholder: &str) -> TextArea<'static> {
    let mut ta = TextArea::default();
    ta.set_cursor_line_style(Style::default());
    ta.set_placeholder_text(placeholder);
    ta
}

/// A key for a field: a passphrase field never copies what is deleted into the text
/// area's yank buffer (see `form::value_input`).
pub fn secret_or_plain_input(ta: &mut TextArea<'static>, input: Input, secret: bool) {
    if secret {
        super::form::value_input(ta, input);
    } else {
        ta.input(input);
    }
}

/// Wipes a field that held a passphrase.
pub fn wipe(ta: &mut TextArea<'static>) {
    let placeholder = ta.placeholder_text().to_string();
    let mask = ta.mask_char();
    for mut line in std::mem::take(ta).into_lines() {
        line.zeroize();
    }
    *ta = if mask.is_some() {
        secret_field(&placeholder)
    } else {
        plain_field(&placeholder)
    };
}

/// Takes a passphrase out of a field, wiping the field.
pub fn take_secret(ta: &mut TextArea<'static>) -> SecretString {
    let secret = SecretString::from(ta.lines().join(""));
    wipe(ta);
    secret
}
