//! The popup that names a new environment: one field, the vault's message under it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{status, theme};
use crate::tui::app::NewEnvState;
use crate::tui::keymap::ModeKind;
use crate::tui::text::{printable, wrapped_lines};

pub fn render_new(state: &mut NewEnvState, project: &str, frame: &mut Frame) {
    let full = frame.area();
    let width = full.width.saturating_sub(4).min(60);
    let error_h = state.error.as_deref().map_or(0, |e| {
        wrapped_lines(e, width.saturating_sub(4) as usize) as u16
    });
    let area = full.centered(
        Constraint::Length(width),
        Constraint::Length((4 + error_h).min(full.height)),
    );
    frame.render_widget(Clear, area);
    let title = format!(" New environment in {} ", printable(project));
    let block = Block::bordered()
        .border_type(theme::border())
        .title(Line::styled(title, theme::title()))
        .title_bottom(status::footer_line(ModeKind::EnvNew).centered());
    let inner = block.inner(area).inner(Margin::new(1, 0));
    frame.render_widget(block, area);
    let [_, name_area, error_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let [l, r] = Layout::horizontal([Constraint::Length(8), Constraint::Fill(1)]).areas(name_area);
    frame.render_widget(Line::styled("▸ Name", theme::focused_label()), l);
    state.name.set_cursor_style(theme::cursor(true));
    state.name.set_style(theme::input_bg(true));
    frame.render_widget(&state.name, r);
    if let Some(err) = &state.error {
        frame.render_widget(
            Paragraph::new(Line::styled(err.as_str(), theme::error())).wrap(Wrap { trim: true }),
            error_area,
        );
    }
}
