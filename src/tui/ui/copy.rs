//! The copy popup: the environments a secret can go to (those that already hold its key
//! say so), then the question, naming what a copy there would replace.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::{status, theme};
use crate::tui::copy::CopyState;
use crate::tui::keymap::ModeKind;
use crate::tui::text::printable;
use crate::vault::CopyTarget;

/// `production` for this project's environments, `billing/production` for the others'.
fn name(target: &CopyTarget, project: &str) -> String {
    if target.project == project {
        printable(&target.env)
    } else {
        printable(&format!("{}/{}", target.project, target.env))
    }
}

pub fn render(state: &mut CopyState, project: &str, env: &str, frame: &mut Frame) {
    let full = frame.area();
    let rows = if state.confirming {
        4
    } else {
        state.targets.len() as u16
    };
    let area = full.centered(
        Constraint::Length(full.width.saturating_sub(4).min(64)),
        Constraint::Length((rows + 5).clamp(8, full.height.saturating_sub(2))),
    );
    frame.render_widget(Clear, area);
    let mode = if state.confirming {
        ModeKind::CopyConfirm
    } else {
        ModeKind::CopyPick
    };
    let block = Block::bordered()
        .border_type(theme::border())
        .title(Line::styled(" Copy Secret ", theme::title()))
        .title_bottom(status::footer_line(mode).centered());
    let inner = block.inner(area).inner(Margin::new(1, 0));
    frame.render_widget(block, area);
    let [head, _, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let key = Span::styled(printable(&state.key), theme::key());
    let from = printable(&format!("{project}/{env}"));

    if state.confirming {
        let Some(target) = state.target() else { return };
        let to = printable(&format!("{}/{}", target.project, target.env));
        frame.render_widget(
            Line::from(vec![
                Span::raw("Copy "),
                key.clone(),
                Span::raw(format!(" to {to}?")),
            ]),
            head,
        );
        let detail = if target.exists {
            vec![
                Line::from(vec![
                    Span::styled(format!("{to} already has "), theme::warning()),
                    key,
                    Span::styled(
                        ": its value, description and type will be replaced.",
                        theme::warning(),
                    ),
                ]),
                Line::styled(
                    "The value is encrypted again for its new place.",
                    theme::dim(),
                ),
            ]
        } else {
            vec![Line::styled(
                format!(
                    "With its description and type, from {from}. The value is encrypted again for its new place and keeps its age."
                ),
                theme::dim(),
            )]
        };
        frame.render_widget(Paragraph::new(detail).wrap(Wrap { trim: true }), body);
        return;
    }

    frame.render_widget(
        Line::from(vec![
            Span::raw("Copy "),
            key,
            Span::raw(format!(" from {from} to:")),
        ]),
        head,
    );
    let width = state
        .targets
        .iter()
        .map(|t| Span::raw(name(t, project)).width())
        .max()
        .unwrap_or(0);
    let items: Vec<ListItem> = state
        .targets
        .iter()
        .map(|t| {
            let mut spans = vec![Span::raw(format!("{:<width$}", name(t, project)))];
            if t.exists {
                spans.push(Span::styled(
                    "  has this key: copying replaces it",
                    theme::warning(),
                ));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let list = List::new(items)
        .highlight_symbol("▶ ")
        .highlight_style(theme::selected_row());
    let mut list_state = ListState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(list, body, &mut list_state);
}
