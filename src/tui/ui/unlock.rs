//! The create-vault and unlock screens: a centred box, masked passphrase fields, the
//! strength hint, and "Unlocking…" while Argon2 runs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::{status, theme};
use crate::tui::action::Action;
use crate::tui::keymap::{self, ModeKind};
use crate::tui::text::Strength;
use crate::tui::unlock::{CreateField, CreateState, UnlockState};

fn boxed(frame: &mut Frame, title: &str, mode: ModeKind, height: u16) -> Rect {
    let full = frame.area();
    let area = full.centered(
        Constraint::Length(full.width.saturating_sub(4).min(76)),
        Constraint::Length(height.min(full.height)),
    );
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_type(theme::border())
        .title(Line::from(vec![
            Span::styled(" tresor ", theme::key()),
            Span::styled(title, theme::title()),
        ]))
        .title_bottom(status::footer_line(mode).centered());
    let inner = block.inner(area).inner(Margin::new(1, 0));
    frame.render_widget(block, area);
    inner
}

pub(super) fn field(
    frame: &mut Frame,
    area: Rect,
    label: &str,
    ta: &mut TextArea<'static>,
    focused: bool,
) {
    let [l, r] = Layout::horizontal([Constraint::Length(14), Constraint::Fill(1)]).areas(area);
    let (mark, style) = if focused {
        ("▸ ", theme::focused_label())
    } else {
        ("  ", theme::label())
    };
    frame.render_widget(
        Line::from(vec![Span::styled(mark, style), Span::styled(label, style)]),
        l,
    );
    ta.set_cursor_style(theme::cursor(focused));
    ta.set_style(theme::input_bg(focused));
    ta.set_placeholder_style(theme::dim());
    frame.render_widget(&*ta, r);
}

/// The part of a row under the inputs: messages line up with what they are about.
pub(super) fn indent(area: Rect) -> Rect {
    let [_, r] = Layout::horizontal([Constraint::Length(14), Constraint::Fill(1)]).areas(area);
    r
}

/// The key that switches between a passphrase and a keyfile.
fn keyfile_key(mode: ModeKind) -> String {
    keymap::hint(mode, Action::ToggleKeyfile)
}

fn vault_line(path: &std::path::Path) -> Line<'static> {
    Line::from(vec![
        Span::styled("  Vault       ", theme::label()),
        Span::raw(super::shown_path(path)),
    ])
}

pub fn render_unlock(
    state: &mut UnlockState,
    path: &std::path::Path,
    status_text: Option<Line<'static>>,
    frame: &mut Frame,
) {
    let inner = boxed(frame, "· unlock ", ModeKind::Unlock, 10);
    let [vault, _, pass, msg, _, note] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(vault_line(path), vault);
    let focused = !state.pending;
    if state.use_keyfile {
        field(frame, pass, "Keyfile", &mut state.keyfile_path, focused);
    } else {
        field(frame, pass, "Passphrase", &mut state.passphrase, focused);
    }
    let line = if state.pending {
        Line::styled("Unlocking…", theme::warning())
    } else if let Some(e) = &state.error {
        Line::styled(e.clone(), theme::error())
    } else if state.use_keyfile {
        Line::styled(
            format!(
                "The keyfile that last opened this vault. {}: use a passphrase instead.",
                keyfile_key(ModeKind::Unlock)
            ),
            theme::dim(),
        )
    } else {
        Line::styled(
            format!(
                "The passphrase is never stored. {}: use a keyfile instead.",
                keyfile_key(ModeKind::Unlock)
            ),
            theme::dim(),
        )
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), indent(msg));
    if let Some(s) = status_text {
        frame.render_widget(s, note);
    }
}

fn strength_line(strength: Option<Strength>) -> Line<'static> {
    match strength {
        None => Line::styled(
            "  Strength    type a passphrase (a few words is best)",
            theme::dim(),
        ),
        Some(s) => {
            let style = match s {
                Strength::Weak => theme::error(),
                Strength::Fair => theme::warning(),
                Strength::Strong => theme::info(),
            };
            let advice = match s {
                Strength::Weak => "  make it longer or add words",
                Strength::Fair => "  a few more characters would help",
                Strength::Strong => "",
            };
            Line::from(vec![
                Span::styled("  Strength    ", theme::label()),
                Span::styled(s.label(), style),
                Span::styled(advice, theme::dim()),
            ])
        }
    }
}

pub fn render_create(state: &mut CreateState, path: &std::path::Path, frame: &mut Frame) {
    let inner = boxed(frame, "· create a new vault ", ModeKind::Create, 13);
    let [intro, vault, _, first, second, third, fourth, msg] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(
        Line::styled(
            "  No vault here yet: create one to keep your secrets.",
            theme::title(),
        ),
        intro,
    );
    frame.render_widget(vault_line(path), vault);
    if state.use_keyfile {
        field(frame, first, "Keyfile", &mut state.keyfile_path, true);
        frame.render_widget(
            Paragraph::new(Line::styled(
                "A new random keyfile is written here (mode 0600), away from the vault's folder so that one backup never holds both. Whoever has it can unlock the vault: keep it safe.",
                theme::dim(),
            ))
            .wrap(Wrap { trim: false }),
            indent(second.union(fourth)),
        );
    } else {
        let focus = state.focus;
        field(
            frame,
            first,
            "Passphrase",
            &mut state.passphrase,
            focus == CreateField::Passphrase,
        );
        field(
            frame,
            second,
            "Again",
            &mut state.confirm,
            focus == CreateField::Confirm,
        );
        frame.render_widget(strength_line(state.strength()), third);
    }
    let line = if state.pending {
        Line::styled("Creating the vault…", theme::warning())
    } else if let Some(e) = &state.error {
        Line::styled(e.clone(), theme::error())
    } else if state.use_keyfile {
        Line::styled(
            format!(
                "{}: use a passphrase instead",
                keyfile_key(ModeKind::Create)
            ),
            theme::dim(),
        )
    } else {
        Line::styled(
            format!(
                "{}: use a keyfile instead (for scripts and servers)",
                keyfile_key(ModeKind::Create)
            ),
            theme::dim(),
        )
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), indent(msg));
}
