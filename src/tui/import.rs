//! The import popup (`i`): paste a `.env` block into a text area, see what importing it
//! would do (`Vault::preview_import`: new, changed, unchanged, invalid), choose whether
//! changed values are replaced, then confirm. Nothing is written before the confirmation,
//! and then it is `Vault::import`, one transaction, as `tresor import` does.
//!
//! The pasted text is secret: the text area is masked unless shown with Ctrl-R, keeps no
//! undo history, deletes without the editor's cut buffer (`form::value_input`), and its
//! lines are wiped when the popup closes. The preview holds keys and messages, never a
//! value; the values are read from the text again at confirmation.

use ratatui::style::Style;
use ratatui_textarea::TextArea;
use zeroize::Zeroize;

use crate::vault::import_preview::{self, ImportPreview, PreviewStatus};
use crate::vault::validate::count;

use super::action::Action;
use super::app::{App, Mode};
use super::form::{self, MASK};
use super::text;

pub struct ImportState {
    pub text: TextArea<'static>,
    pub revealed: bool,
    /// Set by Enter on the text: what the import would do.
    pub preview: Option<ImportPreview>,
    /// Changed keys get the pasted value (like `import --overwrite`); off by default.
    pub overwrite: bool,
    /// First preview line shown.
    pub scroll: usize,
    /// Why the last Enter did nothing.
    pub error: Option<String>,
}

impl ImportState {
    pub fn new() -> ImportState {
        let mut text = TextArea::default();
        text.set_cursor_line_style(Style::default());
        text.set_placeholder_text("paste a .env block: KEY=value lines (npm dotenv's dialect)");
        text.set_mask_char(MASK);
        // No undo history: it would keep copies of the pasted values.
        text.set_max_histories(0);
        ImportState {
            text,
            revealed: false,
            preview: None,
            overwrite: false,
            scroll: 0,
            error: None,
        }
    }

    /// The text as one string, in a buffer sized once and wiped.
    fn joined(&self) -> zeroize::Zeroizing<String> {
        let lines = self.text.lines();
        let len = lines.iter().map(String::len).sum::<usize>() + lines.len();
        let mut out = zeroize::Zeroizing::new(String::with_capacity(len));
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(line);
        }
        out
    }

    fn toggle_reveal(&mut self) {
        self.revealed = !self.revealed;
        if self.revealed {
            self.text.clear_mask_char();
        } else {
            self.text.set_mask_char(MASK);
        }
    }
}

impl Default for ImportState {
    fn default() -> Self {
        ImportState::new()
    }
}

impl Drop for ImportState {
    /// The pasted values live in the text area's Strings: wipe them when the popup closes.
    fn drop(&mut self) {
        for mut line in std::mem::take(&mut self.text).into_lines() {
            line.zeroize();
        }
    }
}

impl App {
    pub(super) fn open_import(&mut self) -> Mode {
        if self.envs.iter().any(|e| e.name == self.env) {
            return Mode::Import(Box::default());
        }
        self.warn(format!(
            "no environment `{}` in project `{}`: press p to pick a project",
            self.env, self.project
        ));
        Mode::Browse
    }

    pub(super) fn update_import(&mut self, mut state: Box<ImportState>, action: Action) -> Mode {
        if state.preview.is_some() {
            return self.update_import_preview(state, action);
        }
        match action {
            Action::Cancel => return Mode::Browse,
            Action::Input(input) => {
                form::value_input(&mut state.text, input);
                state.error = None;
            }
            Action::Paste(pasted) => {
                // Terminals differ in what a pasted line break is: CRLF and CR become LF.
                state.text.insert_str(text::paste_multi_line(&pasted));
                state.error = None;
            }
            Action::ToggleReveal => state.toggle_reveal(),
            Action::Submit => self.preview(&mut state),
            _ => {}
        }
        Mode::Import(state)
    }

    fn preview(&mut self, state: &mut ImportState) {
        let Some(vault) = &self.vault else { return };
        let text = state.joined();
        if text.trim().is_empty() {
            state.error = Some("paste a .env block first".into());
            return;
        }
        match vault.preview_import(&self.project, &self.env, &text) {
            Ok(preview) if preview.lines.is_empty() => {
                state.error = Some("no KEY=value line in the text".into());
            }
            Ok(preview) => {
                state.preview = Some(preview);
                state.scroll = 0;
                state.error = None;
            }
            Err(e) => state.error = Some(text::printable(&e.to_string())),
        }
    }

    fn update_import_preview(&mut self, mut state: Box<ImportState>, action: Action) -> Mode {
        let lines = state.preview.as_ref().map_or(0, |p| p.lines.len());
        match action {
            Action::Cancel => {
                state.preview = None;
                state.error = None;
            }
            Action::Up => state.scroll = state.scroll.saturating_sub(1),
            Action::Down => state.scroll = (state.scroll + 1).min(lines.saturating_sub(1)),
            Action::ToggleOverwrite => state.overwrite = !state.overwrite,
            Action::Submit | Action::ConfirmYes if self.import_now(&mut state) => {
                return Mode::Browse;
            }
            _ => {}
        }
        Mode::Import(state)
    }

    /// Imports after the preview. `false` (and a message) when nothing may be written.
    fn import_now(&mut self, state: &mut ImportState) -> bool {
        let Some(preview) = &state.preview else {
            return false;
        };
        let invalid = preview.invalid();
        if invalid > 0 {
            state.error = Some(format!(
                "{} cannot be imported: nothing was written; Esc to fix the text",
                count(invalid, "line", "lines")
            ));
            return false;
        }
        let Some(vault) = &self.vault else {
            return false;
        };
        let text = state.joined();
        // The text is what the preview read; a line that turned invalid is caught above.
        let Some(entries) = import_preview::importable(&text) else {
            state.error = Some("the text cannot be imported: Esc to fix it".into());
            return false;
        };
        let place = text::printable(&format!("{}/{}", self.project, self.env));
        // Without overwrite, the vault skips every existing key: the preview tells
        // which of them already held exactly the pasted value.
        let same: Vec<&str> = preview
            .lines
            .iter()
            .filter(|l| l.status == PreviewStatus::Unchanged)
            .map(|l| l.key.as_str())
            .collect();
        match vault.import(&self.project, &self.env, entries, state.overwrite) {
            Ok(mut report) => {
                let (unchanged, kept): (Vec<String>, Vec<String>) = report
                    .skipped_existing
                    .drain(..)
                    .partition(|k| same.contains(&k.as_str()));
                report.unchanged.extend(unchanged);
                report.skipped_existing = kept;
                self.load();
                let mut done = format!(
                    "Imported {} new and {} updated into {place}",
                    report.added.len(),
                    report.updated.len()
                );
                if !report.unchanged.is_empty() {
                    done.push_str(&format!("; {} unchanged", report.unchanged.len()));
                }
                if !report.skipped_existing.is_empty() {
                    done.push_str(&format!(
                        "; kept {} (o replaces them)",
                        count(
                            report.skipped_existing.len(),
                            "changed value",
                            "changed values"
                        )
                    ));
                }
                if !report.skipped_empty.is_empty() {
                    done.push_str(&format!(
                        "; skipped {}",
                        count(report.skipped_empty.len(), "empty value", "empty values")
                    ));
                }
                self.info(done);
                true
            }
            Err(e) => {
                state.error = Some(text::printable(&e.to_string()));
                false
            }
        }
    }
}

/// Counts for the preview's summary line.
pub fn summary(preview: &ImportPreview) -> Vec<(usize, &'static str)> {
    let n = |f: fn(&PreviewStatus) -> bool| preview.count(f);
    vec![
        (n(|s| *s == PreviewStatus::New), "new"),
        (n(|s| *s == PreviewStatus::Changed), "changed"),
        (n(|s| *s == PreviewStatus::Unchanged), "unchanged"),
        (n(|s| *s == PreviewStatus::Empty), "empty"),
        (preview.invalid(), "invalid"),
    ]
}
