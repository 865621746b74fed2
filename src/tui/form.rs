//! The Add / Edit secret form: its fields, focus, inline messages, and how its text
//! becomes a `NewSecret` or a `SecretEdit`. No drawing and no vault calls here.

use ratatui::style::Style;
use ratatui_textarea::{CursorMove, Input, Key, TextArea};
use zeroize::Zeroize;

use crate::vault::generate::{self, Charset};
use crate::vault::validate;
use crate::vault::{NewSecret, SecretEdit, SecretType, SecretValue, VaultError};

use super::text;

pub const MASK: char = '•';
/// The most rows a shown multi-line value takes in the form before it scrolls.
pub const MAX_VALUE_ROWS: u16 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Key,
    Value,
    Description,
    Type,
    Button,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormKind {
    Add,
    /// The key is read-only. The original description and type tell "unchanged" apart.
    Edit {
        key: String,
        description: String,
        kind: SecretType,
    },
}

pub struct SecretForm {
    pub kind: FormKind,
    pub key: TextArea<'static>,
    pub value: TextArea<'static>,
    pub description: TextArea<'static>,
    pub secret_type: SecretType,
    /// Add form: the type follows detection until the user picks one.
    pub type_auto: bool,
    pub focus: Field,
    pub revealed: bool,
    pub key_error: Option<String>,
    pub key_warning: Option<String>,
    pub value_error: Option<String>,
    /// Errors that belong to no single field: no changes, busy vault, storage.
    pub error: Option<String>,
    /// The charset of the value Ctrl-G just put in, until anything else changes: Ctrl-G
    /// again then picks the next one.
    pub generated: Option<Charset>,
}

fn field(placeholder: &str) -> TextArea<'static> {
    let mut ta = TextArea::default();
    ta.set_cursor_line_style(Style::default());
    ta.set_placeholder_text(placeholder);
    ta
}

impl SecretForm {
    pub fn add() -> SecretForm {
        let mut value = field("required");
        value.set_mask_char(MASK);
        // No undo history: it would keep copies of the value typed.
        value.set_max_histories(0);
        SecretForm {
            kind: FormKind::Add,
            key: field("e.g. STRIPE_API_KEY"),
            value,
            description: field("optional: how to obtain it, who owns it"),
            secret_type: SecretType::Other,
            type_auto: true,
            focus: Field::Key,
            revealed: false,
            key_error: None,
            key_warning: None,
            value_error: None,
            error: None,
            generated: None,
        }
    }

    /// The current value is never loaded: the field starts empty and empty keeps it.
    pub fn edit(key: &str, description: &str, kind: SecretType) -> SecretForm {
        let mut form = SecretForm::add();
        form.value
            .set_placeholder_text("leave empty to keep the current value");
        // A stored description can hold a line break or control character from outside
        // tresor: the one-line field shows it made printable (see `description_edit`).
        form.description = field("optional: how to obtain it, who owns it");
        form.description
            .insert_str(text::paste_single_line(&text::printable(description)));
        form.key.insert_str(text::printable(key));
        form.kind = FormKind::Edit {
            key: key.to_string(),
            description: description.to_string(),
            kind,
        };
        form.secret_type = kind;
        form.type_auto = false;
        form.focus = Field::Value;
        form
    }

    pub fn is_edit(&self) -> bool {
        matches!(self.kind, FormKind::Edit { .. })
    }

    /// Fields in Tab order; the read-only key of an edit is skipped.
    fn order(&self) -> &'static [Field] {
        if self.is_edit() {
            &[Field::Value, Field::Description, Field::Type, Field::Button]
        } else {
            &[
                Field::Key,
                Field::Value,
                Field::Description,
                Field::Type,
                Field::Button,
            ]
        }
    }

    pub fn next_field(&mut self, forward: bool) {
        let order = self.order();
        let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = order.len();
        self.focus = order[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    /// Up / Down: through the lines of a shown multi-line value, else to the next field.
    pub fn line_or_field(&mut self, forward: bool) {
        if self.focus == Field::Value && self.revealed && self.value.lines().len() > 1 {
            let row = self.value.cursor().0;
            if forward && row + 1 < self.value.lines().len() {
                self.value.move_cursor(CursorMove::Down);
                return;
            }
            if !forward && row > 0 {
                self.value.move_cursor(CursorMove::Up);
                return;
            }
        }
        self.next_field(forward);
    }

    /// Rows the value field takes: every line of a shown multi-line value, up to a
    /// limit (the field scrolls beyond it); one row otherwise.
    pub fn value_rows(&self) -> u16 {
        if self.revealed && self.value_line_count() > 1 {
            self.value_line_count().min(MAX_VALUE_ROWS as usize) as u16
        } else {
            1
        }
    }

    /// True when the focus is on a text field (keys type into it).
    pub fn focus_is_text(&self) -> bool {
        matches!(self.focus, Field::Key | Field::Value | Field::Description)
    }

    fn focused_text(&mut self) -> Option<&mut TextArea<'static>> {
        match self.focus {
            Field::Key => Some(&mut self.key),
            Field::Value => Some(&mut self.value),
            Field::Description => Some(&mut self.description),
            Field::Type | Field::Button => None,
        }
    }

    pub fn input(&mut self, input: Input) {
        let changed = if self.focus == Field::Value {
            value_input(&mut self.value, input)
        } else {
            match self.focused_text() {
                Some(ta) => ta.input(input),
                None => return,
            }
        };
        if changed {
            self.after_change();
        }
    }

    /// A bracketed paste: the value keeps line breaks (PEM, JSON), the others drop them.
    pub fn paste(&mut self, pasted: &str) {
        let focus = self.focus;
        let Some(ta) = self.focused_text() else {
            return;
        };
        let clean = if focus == Field::Value {
            text::paste_multi_line(pasted)
        } else {
            text::paste_single_line(pasted)
        };
        ta.insert_str(&clean);
        self.after_change();
    }

    /// Ctrl-G: replaces the value with a strong random one, of the default charset, or
    /// of the next one if Ctrl-G made the current value.
    pub fn generate(&mut self) {
        let charset = self.generated.map_or_else(Charset::default, Charset::next);
        match generate::value_from(charset, generate::DEFAULT_LEN) {
            Ok(v) => {
                self.clear_value();
                // The alphabet is ASCII, so the bytes are the characters.
                self.value.insert_str(String::from_utf8_lossy(&v));
                self.focus = Field::Value;
                self.value_error = None;
                self.after_change();
                self.generated = Some(charset);
            }
            Err(_) => self.value_error = Some("the system random generator failed".into()),
        }
    }

    pub fn toggle_reveal(&mut self) {
        self.revealed = !self.revealed;
        if self.revealed {
            self.value.clear_mask_char();
        } else {
            self.value.set_mask_char(MASK);
        }
    }

    pub fn cycle_type(&mut self, forward: bool) {
        let all = SecretType::ALL;
        let i = all.iter().position(|t| *t == self.secret_type).unwrap_or(0);
        let n = all.len();
        self.secret_type = all[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
        self.type_auto = false;
    }

    /// Live validation of the key, and type detection while the user has not chosen.
    fn after_change(&mut self) {
        self.generated = None;
        if !self.is_edit() {
            let key = self.key_text();
            // An empty key is only an error on submit: not while the form is fresh.
            self.key_error = match validate::secret_key(&key) {
                Err(VaultError::KeyRequired) | Ok(()) => None,
                Err(e) => Some(text::printable(&e.to_string())),
            };
            self.key_warning = validate::lowercase_warning(&key)
                .or_else(|| {
                    validate::dangerous_env_name(&key).map(|_| {
                        format!("`tresor run` refuses {key} without --allow-name {key} (it can load code)")
                    })
                })
                .map(|w| text::printable(&w));
        }
        if self.value_error.is_some() && !self.value_is_empty() {
            self.value_error = None;
        }
        if self.type_auto {
            let value = self.value_bytes();
            self.secret_type = SecretType::detect(&self.key_text(), &value);
        }
    }

    pub fn key_text(&self) -> String {
        self.key.lines().join("")
    }

    pub fn description_text(&self) -> String {
        self.description.lines().join("")
    }

    pub fn value_is_empty(&self) -> bool {
        self.value.is_empty()
    }

    pub fn value_line_count(&self) -> usize {
        self.value.lines().len()
    }

    /// Lines as a person counts them: a final line break does not start another line.
    pub fn value_lines_shown(&self) -> usize {
        let lines = self.value.lines();
        match lines.last() {
            Some(last) if last.is_empty() && lines.len() > 1 => lines.len() - 1,
            _ => lines.len(),
        }
    }

    /// The value as bytes, in a buffer sized once (a growing Vec would leave copies).
    pub fn value_bytes(&self) -> SecretValue {
        let lines = self.value.lines();
        let len = lines.iter().map(String::len).sum::<usize>() + lines.len().saturating_sub(1);
        let mut out = SecretValue::new(Vec::with_capacity(len));
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(line.as_bytes());
        }
        out
    }

    /// Whether closing the form would lose something the user typed or chose.
    pub fn has_input(&self) -> bool {
        match &self.kind {
            FormKind::Add => {
                !self.key.is_empty() || !self.value_is_empty() || !self.description.is_empty()
            }
            FormKind::Edit { .. } => {
                let edit = self.secret_edit();
                edit.value.is_some() || edit.description.is_some() || edit.kind.is_some()
            }
        }
    }

    /// Auto-lock: the form stays, its value does not (wiped), so it can be typed again
    /// after unlocking.
    pub fn keep_without_value(&mut self) {
        self.clear_value();
        if self.revealed {
            self.toggle_reveal();
        }
        self.value_error = None;
        self.error = None;
        self.focus = Field::Value;
    }

    fn clear_value(&mut self) {
        let old = std::mem::take(&mut self.value);
        let mask = old.mask_char();
        let placeholder = old.placeholder_text().to_string();
        for mut line in old.into_lines() {
            line.zeroize();
        }
        self.value = field(&placeholder);
        self.value.set_max_histories(0);
        if let Some(m) = mask {
            self.value.set_mask_char(m);
        }
    }

    pub fn new_secret(&self) -> NewSecret {
        NewSecret {
            key: self.key_text(),
            value: self.value_bytes(),
            description: self.description_text(),
            kind: Some(self.secret_type),
        }
    }

    /// Only what changed is sent, so the vault can answer `No changes to save`.
    pub fn secret_edit(&self) -> SecretEdit {
        let FormKind::Edit {
            description, kind, ..
        } = &self.kind
        else {
            return SecretEdit::default();
        };
        let typed = self.description_text();
        let shown = text::paste_single_line(&text::printable(description));
        SecretEdit {
            value: (!self.value_is_empty()).then(|| self.value_bytes()),
            description: (typed != *shown).then_some(typed),
            kind: (self.secret_type != *kind).then_some(self.secret_type),
        }
    }

    /// Puts a vault error next to the field it is about; the rest goes under the form.
    pub fn show_error(&mut self, err: &VaultError) {
        let text = text::printable(&err.to_string());
        self.key_error = None;
        self.value_error = None;
        self.error = None;
        match err {
            VaultError::KeyRequired
            | VaultError::InvalidKey { .. }
            | VaultError::KeyTooLong { .. }
            | VaultError::Duplicate { .. } => {
                self.key_error = Some(text);
                if !self.is_edit() {
                    self.focus = Field::Key;
                }
            }
            VaultError::ValueRequired | VaultError::ValueTooLarge { .. } => {
                self.value_error = Some(text);
                self.focus = Field::Value;
            }
            _ => self.error = Some(text),
        }
    }
}

/// A key for the value field. The text area copies what its word and line deletions,
/// cut and copy remove into a yank buffer that cannot be wiped: those are done here
/// through a selection, which deletes without copying, and copy does nothing.
/// Used for passphrase fields too.
pub fn value_input(value: &mut TextArea<'static>, input: Input) -> bool {
    let select = match (input.key, input.ctrl, input.alt) {
        (Key::Char('k'), true, false) => Some(CursorMove::End),
        (Key::Char('j'), true, false) => Some(CursorMove::Head),
        (Key::Char('w'), true, false)
        | (Key::Char('h'), false, true)
        | (Key::Backspace, false, true) => Some(CursorMove::WordBack),
        (Key::Char('d'), false, true) | (Key::Delete, false, true) => Some(CursorMove::WordForward),
        (Key::Char('x'), true, false) | (Key::Cut, _, _) => None,
        (Key::Char('c'), true, false) | (Key::Copy, _, _) => return false,
        _ => return value.input(input),
    };
    if let Some(to) = select
        && !value.is_selecting()
    {
        value.start_selection();
        value.move_cursor(to);
    }
    // With a selection, delete_str removes it and yanks nothing.
    let changed = value.delete_str(0);
    value.cancel_selection();
    changed
}

impl Drop for SecretForm {
    /// The typed value lives in the TextArea's Strings: wipe them when the form closes.
    fn drop(&mut self) {
        for mut line in std::mem::take(&mut self.value).into_lines() {
            line.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key: Key, ctrl: bool, alt: bool) -> Input {
        Input {
            key,
            ctrl,
            alt,
            shift: false,
        }
    }

    fn value_form(text: &str) -> SecretForm {
        let mut form = SecretForm::add();
        form.focus = Field::Value;
        form.value.insert_str(text);
        form
    }

    #[test]
    fn deleting_in_the_value_never_fills_the_yank_buffer() {
        // The text area keeps what these keys delete in a buffer nobody can wipe.
        for (input, left) in [
            (key(Key::Char('w'), true, false), "left "),
            (key(Key::Backspace, false, true), "left "),
            (key(Key::Char('h'), false, true), "left "),
        ] {
            let mut form = value_form("left SECRET");
            let shown = format!("{input:?}");
            form.input(input);
            assert_eq!(form.value.lines(), [left]);
            assert_eq!(form.value.yank_text(), "", "{shown}");
        }
        let mut form = value_form("left SECRET");
        form.value.move_cursor(CursorMove::Head);
        form.input(key(Key::Char('d'), false, true));
        assert_eq!(form.value.yank_text(), "");
        form.input(key(Key::Char('k'), true, false));
        assert_eq!(form.value.lines(), [""]);
        assert_eq!(form.value.yank_text(), "");
        // A selection cut or copied stays out of it too.
        let mut form = value_form("SECRET");
        form.value.move_cursor(CursorMove::Head);
        form.value.start_selection();
        form.value.move_cursor(CursorMove::End);
        form.input(key(Key::Copy, false, false));
        form.input(key(Key::Char('x'), true, false));
        assert_eq!(form.value.yank_text(), "");
        assert!(form.value_is_empty());
    }
}
