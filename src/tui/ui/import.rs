//! The import popup: the (masked) text area for a pasted `.env` block, then the preview,
//! one line per key with what the import would do; never a value.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{status, theme};
use crate::tui::import::{ImportState, summary};
use crate::tui::keymap::ModeKind;
use crate::tui::text::printable;
use crate::vault::import_preview::{PreviewLine, PreviewStatus};
use crate::vault::validate::count;

pub fn render(state: &mut ImportState, project: &str, env: &str, frame: &mut Frame) {
    let full = frame.area();
    let area = full.centered(
        Constraint::Length(full.width.saturating_sub(4).min(96)),
        Constraint::Length(full.height.saturating_sub(2).min(24)),
    );
    frame.render_widget(Clear, area);
    let mode = if state.preview.is_some() {
        ModeKind::ImportPreview
    } else {
        ModeKind::ImportText
    };
    let title = format!(" Import into {} ", printable(&format!("{project}/{env}")));
    let block = Block::bordered()
        .border_type(theme::border())
        .title(Line::styled(title, theme::title()))
        .title_bottom(status::footer_line(mode).centered());
    let inner = block.inner(area).inner(Margin::new(1, 0));
    frame.render_widget(block, area);
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let error = state
        .error
        .as_deref()
        .map(|e| Line::styled(e.to_string(), theme::error()));

    if state.preview.is_none() {
        let hint = if state.revealed {
            "Paste a .env block. The text is shown: Ctrl-R hides it."
        } else {
            "Paste a .env block; values stay hidden (Ctrl-R shows the text). Nothing is written before you confirm."
        };
        frame.render_widget(
            Paragraph::new(Line::styled(hint, theme::dim())).wrap(Wrap { trim: true }),
            head,
        );
        state.text.set_cursor_style(theme::cursor(true));
        state.text.set_style(theme::input_bg(true));
        state.text.set_placeholder_style(theme::dim());
        frame.render_widget(&state.text, body);
        let lines = state.text.lines();
        let shown = lines.len()
            - usize::from(lines.len() > 1 && lines.last().is_some_and(String::is_empty));
        let foot_line = error.unwrap_or_else(|| {
            Line::styled(
                if state.text.is_empty() {
                    String::new()
                } else {
                    count(shown, "line", "lines")
                },
                theme::dim(),
            )
        });
        frame.render_widget(Paragraph::new(foot_line).wrap(Wrap { trim: true }), foot);
        return;
    }

    let Some(preview) = &state.preview else {
        return;
    };
    let mut counts: Vec<Span> = Vec::new();
    for (n, word) in summary(preview) {
        if n == 0 {
            continue;
        }
        if !counts.is_empty() {
            counts.push(Span::styled(" · ", theme::dim()));
        }
        counts.push(Span::styled(format!("{n} {word}"), status_style(word)));
    }
    let changed = preview.count(|s| *s == PreviewStatus::Changed);
    let toggle = if changed == 0 {
        Line::styled(
            "Existing keys with the same value are left alone.",
            theme::dim(),
        )
    } else if state.overwrite {
        Line::from(vec![
            Span::styled("[x] ", theme::warning()),
            Span::raw("replace the changed values (o: keep them)"),
        ])
    } else {
        Line::from(vec![
            Span::styled("[ ] ", theme::label()),
            Span::raw("replace the changed values (o: replace them)"),
        ])
    };
    frame.render_widget(Paragraph::new(vec![Line::from(counts), toggle]), head);

    let key_w = preview
        .lines
        .iter()
        .map(|l| Span::raw(l.key.as_str()).width())
        .max()
        .unwrap_or(0)
        .min(usize::from(body.width / 2));
    let rows: Vec<Line> = preview
        .lines
        .iter()
        .skip(state.scroll)
        .take(usize::from(body.height))
        .map(|l| row(l, key_w, state.overwrite))
        .collect();
    // A long message wraps under its row rather than being cut at the border.
    frame.render_widget(Paragraph::new(rows).wrap(Wrap { trim: false }), body);
    let foot_line = error.unwrap_or_else(|| {
        Line::styled(
            "Values are never shown here. Enter imports in one transaction.",
            theme::dim(),
        )
    });
    frame.render_widget(Paragraph::new(foot_line).wrap(Wrap { trim: true }), foot);
}

fn status_style(word: &str) -> ratatui::style::Style {
    match word {
        "new" => theme::info(),
        "changed" | "empty" => theme::warning(),
        "invalid" => theme::error(),
        _ => theme::dim(),
    }
}

/// `line 3  STRIPE_KEY  changed: kept`, with the page's message for an invalid line.
fn row(line: &PreviewLine, key_w: usize, overwrite: bool) -> Line<'static> {
    let (text, word) = match &line.status {
        PreviewStatus::New => ("new".to_string(), "new"),
        PreviewStatus::Changed if overwrite => ("changed: replaced".to_string(), "changed"),
        PreviewStatus::Changed => ("changed: kept (o replaces)".to_string(), "changed"),
        PreviewStatus::Unchanged => ("unchanged".to_string(), "unchanged"),
        PreviewStatus::Empty => ("skipped: Secret value is required".to_string(), "empty"),
        PreviewStatus::Invalid(why) => (format!("invalid: {why}"), "invalid"),
    };
    let mut spans = vec![
        Span::styled(format!("line {:<4} ", line.line), theme::dim()),
        Span::styled(format!("{:<key_w$}  ", line.key), theme::key()),
        Span::styled(text, status_style(word)),
    ];
    if let Some(w) = &line.warning {
        spans.push(Span::styled(format!("  ⚠ {w}"), theme::warning()));
    }
    Line::from(spans)
}
