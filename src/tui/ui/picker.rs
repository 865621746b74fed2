//! The project picker: the vault's projects, and a field to name a new one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::{status, theme};
use crate::tui::app::PickerState;
use crate::tui::keymap::ModeKind;
use crate::tui::text::printable;
use crate::vault::validate::count;

pub fn render(picker: &mut PickerState, current: &str, frame: &mut Frame) {
    let full = frame.area();
    let height = (picker.projects.len() as u16 + 7).clamp(9, full.height.saturating_sub(2));
    let area = full.centered(
        Constraint::Length(full.width.saturating_sub(4).min(60)),
        Constraint::Length(height),
    );
    frame.render_widget(Clear, area);
    let mode = if picker.new_name.is_some() {
        ModeKind::PickerNew
    } else {
        ModeKind::Picker
    };
    let block = Block::bordered()
        .border_type(theme::border())
        .title(Line::styled(" Projects ", theme::title()))
        .title_bottom(status::footer_line(mode).centered());
    let inner = block.inner(area).inner(Margin::new(1, 0));
    frame.render_widget(block, area);
    let [list_area, name_area, error_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(inner);

    let name_w = picker
        .projects
        .iter()
        .map(|p| Span::raw(printable(&p.name)).width())
        .max()
        .unwrap_or(0);
    let items: Vec<ListItem> = picker
        .projects
        .iter()
        .map(|p| {
            let mark = if p.name == current { " (open)" } else { "" };
            ListItem::new(Line::from(vec![
                Span::styled(format!("{:<name_w$}", printable(&p.name)), theme::key()),
                Span::styled(
                    format!(
                        "  {} · {}{mark}",
                        count(p.environments, "environment", "environments"),
                        count(p.secrets, "secret", "secrets")
                    ),
                    theme::dim(),
                ),
            ]))
        })
        .collect();
    let list = List::new(items)
        .highlight_symbol("▶ ")
        .highlight_style(theme::selected_row());
    let mut state = ListState::default().with_selected(Some(picker.selected));
    frame.render_stateful_widget(list, list_area, &mut state);

    if let Some(name) = &mut picker.new_name {
        let [l, r] =
            Layout::horizontal([Constraint::Length(14), Constraint::Fill(1)]).areas(name_area);
        frame.render_widget(Line::styled("▸ New project", theme::focused_label()), l);
        name.set_cursor_style(theme::cursor(true));
        name.set_style(theme::input_bg(true));
        frame.render_widget(&*name, r);
    }
    if let Some(err) = &picker.error {
        frame.render_widget(
            Paragraph::new(Line::styled(err.as_str(), theme::error())).wrap(Wrap { trim: true }),
            error_area,
        );
    }
}
