//! The help overlay, generated from the key table (`keymap::BINDINGS`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph};

use super::{status, theme};
use crate::tui::action::Action;
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

/// The help's popup: two rows shorter than the screen.
fn area(full: Rect) -> Rect {
    full.centered(
        Constraint::Length(full.width.saturating_sub(4).min(84)),
        Constraint::Length(full.height.saturating_sub(2)),
    )
}

/// The furthest the help scrolls on a screen this tall: its last page, so `k` works at
/// once after scrolling too far.
pub fn max_scroll(height: u16) -> u16 {
    let shown = area(Rect::new(0, 0, 84, height)).height.saturating_sub(2);
    (lines().len() as u16).saturating_sub(shown)
}

fn scroll_hint() -> String {
    format!(
        " {}/{} scroll ",
        keymap::hint(ModeKind::Help, Action::Down),
        keymap::hint(ModeKind::Help, Action::Up)
    )
}

/// Draws the help from line `scroll`.
pub fn render(scroll: u16, frame: &mut Frame) {
    let area = area(frame.area());
    frame.render_widget(Clear, area);
    let scroll = scroll.min(max_scroll(frame.area().height));
    let block = Block::bordered()
        .border_type(theme::border())
        .padding(Padding::horizontal(1))
        .title(Line::styled(" Help: keys ", theme::title()))
        .title_bottom(status::footer_line(ModeKind::Help).centered())
        .title_bottom(Line::styled(scroll_hint(), theme::dim()).right_aligned());
    let text = Paragraph::new(lines()).block(block).scroll((scroll, 0));
    frame.render_widget(text, area);
}
