//! The secrets table. Only the rows on screen are turned into widgets: the model keeps
//! display-ready rows and the list of visible indices, so a frame costs the same for
//! 10 rows or 100,000.

use ratatui::Frame;
use ratatui::layout::{Constraint, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, HighlightSpacing, Paragraph, Row, Scrollbar, ScrollbarOrientation, ScrollbarState, Table,
    TableState, Wrap,
};

use super::theme;
use crate::tui::app::App;
use crate::tui::rows::RowData;
use crate::tui::text::printable;
use crate::vault::SecretType;

/// Type labels that fit a narrow terminal.
fn short_type(kind: SecretType) -> &'static str {
    match kind {
        SecretType::ApiKey => "API key",
        SecretType::Token => "Token",
        SecretType::Password => "Password",
        SecretType::ConnectionString => "URL",
        SecretType::Certificate => "Cert/key",
        SecretType::Credential => "Credential",
        SecretType::Other => "Other",
    }
}

/// Keeps the selected row inside the window of `page` rows.
fn scroll(app: &mut App, page: usize) {
    let len = app.visible.len();
    if app.selected < app.offset {
        app.offset = app.selected;
    } else if app.selected >= app.offset + page {
        app.offset = app.selected + 1 - page;
    }
    app.offset = app.offset.min(len.saturating_sub(page));
}

fn row<'a>(r: &'a RowData, selected: bool, wide: bool) -> Row<'a> {
    let age_style = if r.age_days >= theme::ROTATE_AFTER_DAYS { theme::warning() } else { theme::dim() };
    let actions = match (selected, wide) {
        (false, _) => "",
        (true, true) => "e edit · d delete",
        (true, false) => "e edit · d del",
    };
    Row::new([
        Cell::from(Span::styled(r.key_shown.as_str(), theme::key())),
        Cell::from(r.description.as_str()),
        Cell::from(if wide { r.kind.label() } else { short_type(r.kind) }),
        Cell::from(r.created_shown.as_str()),
        Cell::from(Span::styled(r.age.as_str(), age_style)),
        Cell::from(Span::styled(actions, theme::dim())),
    ])
}

pub fn render(app: &mut App, frame: &mut Frame, area: Rect) {
    let shown = app.visible.len();
    let total = app.rows.len();
    let title = if shown == total {
        format!(" Secrets · {}/{} · {total} ", printable(&app.project), printable(&app.env))
    } else {
        format!(" Secrets · {}/{} · {shown} of {total} ", printable(&app.project), printable(&app.env))
    };
    let block = Block::bordered().title(Line::styled(title, theme::title()));
    let inner = block.inner(area);
    // One line for the column header.
    let page = inner.height.saturating_sub(1) as usize;
    app.page = page.max(1);
    scroll(app, page.max(1));

    if app.visible.is_empty() {
        frame.render_widget(&block, area);
        let filter = app.filter_text();
        let msg = if total == 0 {
            format!(
                "No secrets in {}/{} yet. Press a to add one.",
                printable(&app.project),
                printable(&app.env)
            )
        } else {
            format!("No secret matches “{}”. Esc clears the filter.", printable(&filter))
        };
        let text = Paragraph::new(Line::styled(msg, theme::dim()).centered()).wrap(Wrap { trim: true });
        let mid = inner.inner(Margin::new(1, inner.height.saturating_sub(1) / 2));
        frame.render_widget(text, mid);
        return;
    }

    let wide = inner.width >= 100;
    let end = (app.offset + page).min(shown);
    let rows = app.visible[app.offset..end]
        .iter()
        .enumerate()
        .map(|(i, &idx)| row(&app.rows[idx], app.offset + i == app.selected, wide));
    let widths = [
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Length(if wide { 17 } else { 10 }),
        Constraint::Length(10),
        Constraint::Length(4),
        Constraint::Length(if wide { 17 } else { 14 }),
    ];
    let header = Row::new(["Key", "Description", "Type", "Created", "Age", "Actions"]).style(theme::title());
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme::selected_row())
        .highlight_symbol("▶ ")
        .highlight_spacing(HighlightSpacing::Always);
    let mut state = TableState::default().with_selected(Some(app.selected - app.offset));
    frame.render_stateful_widget(table, area, &mut state);

    if shown > page {
        let mut sb = ScrollbarState::new(shown.saturating_sub(page)).position(app.offset);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight).begin_symbol(None).end_symbol(None),
            area.inner(Margin::new(0, 1)),
            &mut sb,
        );
    }
}
