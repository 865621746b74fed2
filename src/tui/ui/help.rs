//! The help overlay, generated from the key table (`keymap::BINDINGS`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Margin};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph};

use super::{status, theme};
use crate::tui::keymap::{self, ModeKind};

pub fn lines() -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (mode, entries) in keymap::help_sections() {
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.push(Line::styled(mode.title(), theme::title()));
        for e in entries {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<22}", e.keys), theme::key()),
                Span::raw(e.help),
            ]));
        }
    }
    out
}

/// Draws the help; `scroll` is clamped to the last page so `k` works at once after
/// scrolling too far.
pub fn render(scroll: &mut u16, frame: &mut Frame) {
    let full = frame.area();
    let area = full.centered(
        Constraint::Length(full.width.saturating_sub(4).min(84)),
        Constraint::Length(full.height.saturating_sub(2)),
    );
    frame.render_widget(Clear, area);
    let lines = lines();
    let max = (lines.len() as u16).saturating_sub(area.height.saturating_sub(2));
    *scroll = (*scroll).min(max);
    let block = Block::bordered()
        .border_type(theme::border())
        .padding(Padding::horizontal(1))
        .title(Line::styled(" Help: keys ", theme::title()))
        .title_bottom(status::footer_line(ModeKind::Help).centered())
        .title_bottom(Line::styled(" j/k scroll ", theme::dim()).right_aligned());
    let text = Paragraph::new(lines).block(block).scroll((*scroll, 0));
    frame.render_widget(text, area.inner(Margin::new(0, 0)));
}
