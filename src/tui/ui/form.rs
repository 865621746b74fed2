//! The Add Secret / Edit Secret popup: labels on the left, one-line inputs on the
//! right, each field's message under it, the button, and form-wide errors at the bottom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::{status, theme};
use crate::tui::action::Action;
use crate::tui::form::{Field, MASK, SecretForm};
use crate::tui::keymap::{self, ModeKind};
use crate::tui::text::printable;

const LABEL_W: u16 = 15;

fn label(frame: &mut Frame, area: Rect, text: &str, focused: bool) {
    let (mark, style) = if focused {
        ("▸ ", theme::focused_label())
    } else {
        ("  ", theme::label())
    };
    frame.render_widget(
        Line::from(vec![Span::styled(mark, style), Span::styled(text, style)]),
        area,
    );
}

fn split(area: Rect) -> (Rect, Rect) {
    let [l, r] = Layout::horizontal([Constraint::Length(LABEL_W), Constraint::Fill(1)]).areas(area);
    (l, r)
}

fn input(frame: &mut Frame, area: Rect, ta: &mut TextArea<'static>, focused: bool) {
    ta.set_cursor_style(theme::cursor(focused));
    ta.set_style(theme::input_bg(focused));
    ta.set_placeholder_style(theme::dim());
    frame.render_widget(&*ta, area);
}

/// The message under a field: its error, else its warning, else the hint.
fn message_line(error: Option<&str>, warning: Option<&str>, hint: &str) -> Line<'static> {
    match (error, warning) {
        (Some(e), _) => Line::styled(e.to_string(), theme::error()),
        (None, Some(w)) => Line::styled(format!("⚠ {w}"), theme::warning()),
        (None, None) => Line::styled(hint.to_string(), theme::dim()),
    }
}

fn message(frame: &mut Frame, area: Rect, line: Line<'static>) {
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), area);
}

/// Lines a message takes wrapped to `width`: at least one, so the form does not jump.
fn lines_for(line: &Line, width: u16) -> u16 {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    crate::tui::text::wrapped_lines(&text, width as usize).max(1) as u16
}

pub fn render(form: &mut SecretForm, mode: ModeKind, frame: &mut Frame) {
    let full = frame.area();
    let width = full.width.saturating_sub(4).min(78);
    // Inside the border and margin; messages sit right of the labels.
    let inner_w = width.saturating_sub(4);
    let key_hint = if form.is_edit() {
        "keys never change: delete and re-create to rename"
    } else {
        "UPPERCASE letters, digits and _"
    };
    let key_message = message_line(
        form.key_error.as_deref(),
        form.key_warning.as_deref(),
        key_hint,
    );
    let key_msg_h = lines_for(&key_message, inner_w.saturating_sub(LABEL_W));
    let error_h = form.error.as_deref().map_or(0, |e| {
        crate::tui::text::wrapped_lines(e, inner_w as usize) as u16
    });
    // Sized to what it holds: the fields, their messages, the button and any error.
    let height = 2 + 1 + key_msg_h + form.value_rows() + 5 + error_h;
    let area = full.centered(
        Constraint::Length(width),
        Constraint::Length(full.height.min(height)),
    );
    frame.render_widget(Clear, area);
    let (title, button) = if form.is_edit() {
        (" Edit Secret ", "Update Secret")
    } else {
        (" Add Secret ", "Create Secret")
    };
    let block = Block::bordered()
        .border_type(theme::border())
        .border_style(theme::focused_label())
        .title(Line::styled(title, theme::title()))
        .title_bottom(status::footer_line(mode).centered());
    let inner = block.inner(area).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, area);

    let [
        key_row,
        key_msg,
        value_row,
        value_msg,
        desc_row,
        type_row,
        _,
        button_row,
        error_row,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(key_msg_h),
        Constraint::Length(form.value_rows()),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);

    // Secret Key: typed in Add, read-only (dim, never focused) in Edit.
    let (l, r) = split(key_row);
    label(frame, l, "Secret Key", form.focus == Field::Key);
    if form.is_edit() {
        let key = printable(&form.key_text());
        frame.render_widget(
            Line::from(vec![
                Span::styled(key, theme::dim()),
                Span::styled("  (read-only)", theme::dim()),
            ]),
            r,
        );
    } else {
        let focused = form.focus == Field::Key;
        input(frame, r, &mut form.key, focused);
    }
    let (_, r) = split(key_msg);
    message(frame, r, key_message);

    // Secret Value: masked; a multi-line value shows as a count of lines.
    let (l, r) = split(value_row);
    let focused = form.focus == Field::Value;
    label(
        frame,
        l,
        if form.is_edit() {
            "New Value"
        } else {
            "Secret Value"
        },
        focused,
    );
    let lines = form.value_lines_shown();
    if !form.revealed && form.value_line_count() > 1 {
        let unit = if lines == 1 { "line" } else { "lines" };
        let masked = format!("{} ({lines} {unit})", MASK.to_string().repeat(8));
        frame.render_widget(Line::styled(masked, theme::input_bg(focused)), r);
    } else {
        input(frame, r, &mut form.value, focused);
    }
    let (_, r) = split(value_msg);
    let reveal_key = keymap::hint(mode, Action::ToggleReveal);
    let generate_key = keymap::hint(mode, Action::Generate);
    let reveal = if form.revealed {
        format!("{reveal_key} hide")
    } else {
        format!("{reveal_key} show")
    };
    let hint = if form.revealed && form.value_line_count() > 1 {
        // The line keys work while the value has focus (a text field: `Form`).
        format!(
            "{reveal} · {}/{} through the {lines} lines",
            keymap::hint(ModeKind::Form, Action::Up),
            keymap::hint(ModeKind::Form, Action::Down)
        )
    } else {
        match form.generated {
            Some(charset) => format!(
                "{} · {generate_key}: {} · {reveal}",
                charset.name(),
                charset.next().name()
            ),
            None => format!("{reveal} · {generate_key} generate"),
        }
    };
    message(
        frame,
        r,
        message_line(form.value_error.as_deref(), None, &hint),
    );

    let (l, r) = split(desc_row);
    let focused = form.focus == Field::Description;
    label(frame, l, "Description", focused);
    input(frame, r, &mut form.description, focused);

    let (l, r) = split(type_row);
    let focused = form.focus == Field::Type;
    label(frame, l, "Type", focused);
    let mut spans = vec![
        Span::styled("◀ ", theme::dim()),
        Span::styled(
            form.secret_type.label(),
            if focused {
                theme::focused_label()
            } else {
                theme::title()
            },
        ),
        Span::styled(" ▶", theme::dim()),
    ];
    if form.type_auto {
        spans.push(Span::styled("  detected", theme::dim()));
    }
    frame.render_widget(Line::from(spans), r);

    let (l, r) = split(button_row);
    let focused = form.focus == Field::Button;
    label(frame, l, "", focused);
    frame.render_widget(
        Line::styled(format!("[ {button} ]"), theme::button(focused)),
        r,
    );

    if let Some(err) = &form.error {
        frame.render_widget(
            Paragraph::new(Line::styled(err.as_str(), theme::error())).wrap(Wrap { trim: true }),
            error_row,
        );
    }
}
