//! The history popup (`h`): the selected secret's versions, newest first, with date,
//! who and a keyed fingerprint (never a value), and the rollback question.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};

use super::{status, theme};
use crate::tui::keymap::ModeKind;
use crate::tui::text::{self, printable};
use crate::tui::values::HistoryState;

fn when(ts: i64) -> String {
    format!("{} {}", text::date(ts), text::time(ts))
}

pub fn render(state: &HistoryState, frame: &mut Frame) {
    let full = frame.area();
    let question = u16::from(state.confirm.is_some()) * 3;
    let width = full.width.saturating_sub(4).min(76);
    let height = (state.versions.len() as u16 + 4 + question).min(full.height.saturating_sub(2));
    let area = full.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, area);
    let mode = if state.confirm.is_some() {
        ModeKind::HistoryConfirm
    } else {
        ModeKind::History
    };
    let block = Block::bordered()
        .border_type(theme::border())
        .padding(Padding::horizontal(1))
        .title(Line::from(vec![
            Span::styled(" History of ", theme::title()),
            Span::styled(printable(&state.key), theme::key()),
            Span::styled(" ", theme::title()),
        ]))
        .title_bottom(status::footer_line(mode).centered());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [head, list, ask] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(question),
    ])
    .areas(inner);
    let row = |version: String, since: String, by: String, fp: String| {
        format!("{version:<13} {since:<17} {by:<20} {fp}")
    };
    frame.render_widget(
        Line::styled(
            row(
                "VERSION".into(),
                "SINCE".into(),
                "BY".into(),
                "FINGERPRINT".into(),
            ),
            theme::label(),
        ),
        head,
    );
    let visible = usize::from(list.height);
    let first = state.selected.saturating_sub(visible.saturating_sub(1));
    let lines: Vec<Line> = state
        .versions
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, v)| {
            let version = if v.current {
                format!("{} current", v.version)
            } else {
                v.version.to_string()
            };
            let by = v.by.as_deref().map_or_else(|| "-".into(), printable);
            let text = row(version, when(v.since), by, v.fingerprint.clone());
            if i == state.selected {
                Line::styled(text, theme::selected_row())
            } else {
                Line::raw(text)
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
    if let Some(version) = state.confirm {
        let text = vec![Line::from(vec![
            Span::raw("Roll "),
            Span::styled(printable(&state.key), theme::key()),
            Span::raw(format!(
                " back to version {version}? Its value becomes version {}; the current value stays in the history.",
                state.next_version()
            )),
        ])];
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .block(Block::new().padding(Padding::top(1))),
            ask,
        );
    }
}
