//! The compare view: a matrix of keys × the project's environments over the table.
//! Each cell is a value letter (the same letter in two columns: the same value) or
//! `—` (missing); the last column says same / differ / missing in …. Only the rows on
//! screen are built, so 10,000 keys × 5 environments draw like 40.

use ratatui::Frame;
use ratatui::layout::{Constraint, Margin};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, Clear, HighlightSpacing, Paragraph, Row, Scrollbar, ScrollbarOrientation,
    ScrollbarState, Table, TableState, Wrap,
};

use super::{status, theme};
use crate::tui::compare::CompareState;
use crate::tui::keymap::ModeKind;
use crate::tui::text::printable;
use crate::vault::{CompareRow, RowFilter, RowState};

/// The widest an environment's column gets; longer names are cut.
const ENV_COLUMN: usize = 12;

fn cut(name: &str, max: usize) -> String {
    let shown = printable(name);
    if shown.chars().count() <= max {
        return shown;
    }
    let mut out: String = shown.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn status_of(state: &CompareState, row: &CompareRow) -> (String, ratatui::style::Style) {
    match row.state {
        RowState::Same => ("same".into(), theme::dim()),
        RowState::Differ => ("differ".into(), theme::info()),
        RowState::Missing => {
            let missing: Vec<String> = state
                .comparison
                .envs
                .iter()
                .zip(&row.groups)
                .filter(|(_, g)| g.is_none())
                .map(|(e, _)| printable(e))
                .collect();
            (
                format!("missing in {}", missing.join(", ")),
                theme::warning(),
            )
        }
    }
}

pub fn render(state: &mut CompareState, current_env: &str, frame: &mut Frame) {
    // Everything under the header line: the view's own keys are in its bottom border.
    let full = frame.area();
    let area = ratatui::layout::Rect {
        y: full.y + 1,
        height: full.height.saturating_sub(1),
        ..full
    };
    frame.render_widget(Clear, area);
    let c = &state.comparison;
    let filter = match state.filter {
        RowFilter::All => "all keys",
        RowFilter::Missing => "missing somewhere",
        RowFilter::Same => "same value in two or more",
    };
    let title = format!(
        " Compare · {} · {} environments · {} of {} keys · {filter} ",
        printable(&c.project),
        c.envs.len(),
        state.visible.len(),
        c.rows.len()
    );
    let block = Block::bordered()
        .border_type(theme::border())
        .title(Line::styled(title, theme::title()))
        .title_bottom(status::footer_line(ModeKind::Compare).centered());
    let inner = block.inner(area);
    frame.render_widget(&block, area);
    let [legend, body] =
        ratatui::layout::Layout::vertical([Constraint::Length(1), Constraint::Fill(1)])
            .areas(inner);
    frame.render_widget(
        Line::styled(
            " same letter = same value (values are never shown) · — missing",
            theme::dim(),
        ),
        legend,
    );
    // One line for the column header.
    let page = body.height.saturating_sub(1).max(1) as usize;
    state.page = page;
    if state.selected < state.offset {
        state.offset = state.selected;
    } else if state.selected >= state.offset + page {
        state.offset = state.selected + 1 - page;
    }
    state.offset = state.offset.min(state.visible.len().saturating_sub(page));

    if state.visible.is_empty() {
        let msg = if c.rows.is_empty() {
            "No secrets in these environments yet."
        } else {
            "No key matches this view. m or s again shows all keys."
        };
        let text =
            Paragraph::new(Line::styled(msg, theme::dim()).centered()).wrap(Wrap { trim: true });
        frame.render_widget(text, body.inner(Margin::new(1, body.height / 2)));
        return;
    }

    let end = (state.offset + page).min(state.visible.len());
    let window = &state.visible[state.offset..end];
    let env_w: Vec<u16> = c
        .envs
        .iter()
        .map(|e| printable(e).chars().count().clamp(3, ENV_COLUMN) as u16)
        .collect();
    let longest = window
        .iter()
        .map(|&i| printable(&c.rows[i].key).chars().count())
        .max()
        .unwrap_or(3)
        .max(3) as u16;
    let key_w = longest.min(body.width * 40 / 100);
    let rows = window.iter().map(|&i| {
        let row = &c.rows[i];
        let mut cells = vec![Cell::from(Span::styled(printable(&row.key), theme::key()))];
        for g in &row.groups {
            cells.push(match g {
                Some(g) => Cell::from(CompareRow::letter(*g).to_string()),
                None => Cell::from(Span::styled("—", theme::warning())),
            });
        }
        let (text, style) = status_of(state, row);
        cells.push(Cell::from(Span::styled(text, style)));
        Row::new(cells)
    });
    let mut widths = vec![Constraint::Length(key_w)];
    widths.extend(env_w.iter().map(|w| Constraint::Length(*w)));
    widths.push(Constraint::Fill(1));
    let mut header = vec![Cell::from("Key")];
    for e in &c.envs {
        let style = if e == current_env {
            theme::active_tab()
        } else {
            theme::title()
        };
        header.push(Cell::from(Span::styled(cut(e, ENV_COLUMN), style)));
    }
    header.push(Cell::from(""));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme::title()))
        .row_highlight_style(theme::selected_row())
        .highlight_symbol("▶ ")
        .highlight_spacing(HighlightSpacing::Always);
    let mut ts = TableState::default().with_selected(Some(state.selected - state.offset));
    frame.render_stateful_widget(table, body, &mut ts);
    let shown = state.visible.len();
    if shown > page {
        let mut sb = ScrollbarState::new(shown.saturating_sub(page)).position(state.offset);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None),
            area.inner(Margin::new(0, 1)),
            &mut sb,
        );
    }
}
