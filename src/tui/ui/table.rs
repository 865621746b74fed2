//! The secrets table. Only the rows on screen are turned into widgets: the model keeps
//! display-ready rows and the list of visible indices, so a frame costs the same for
//! 10 rows or 100,000.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, HighlightSpacing, Paragraph, Row, Scrollbar, ScrollbarOrientation, ScrollbarState,
    Table, TableState, Wrap,
};

use super::theme;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::health::Mark;
use crate::tui::keymap::{self, ModeKind};
use crate::tui::rows::{self, RowData};
use crate::tui::text::{self, printable};
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

/// Rows of secrets a table drawn in an area this tall shows (borders and the column
/// header take three lines).
pub fn rows_in(area_height: u16) -> usize {
    area_height.saturating_sub(3) as usize
}

/// The table's title on the right: how many rows are flagged and the key that shows
/// only them (from the key table), or that only they are shown.
fn health_title(app: &App) -> Line<'static> {
    let n = app.health.count();
    let key = keymap::hint(ModeKind::Browse, Action::ToggleFlagged);
    let text = if app.health.error.is_some() {
        " health unknown ".to_string()
    } else if app.health.only_flagged {
        format!(" {n} flagged, only these · {key} all ")
    } else if n > 0 {
        format!(" {n} flagged · {key} only these ")
    } else {
        String::new()
    };
    Line::styled(text, theme::warning()).right_aligned()
}

/// The health column's cell: `!` on a flagged row, in the warning colour when a flag
/// is a risk (weak, reused, stale), dim when only hygiene (unused, undocumented, name).
fn health_cell(mark: Option<Mark>) -> Cell<'static> {
    match mark {
        Some(Mark::Risk) => Cell::from(Span::styled("!", theme::warning())),
        Some(Mark::Hygiene) => Cell::from(Span::styled("!", theme::dim())),
        None => Cell::from(""),
    }
}

/// One table row; `actions` is the hint on the selected row when there is a column for
/// it. Keys and descriptions longer than their columns end in `…`.
fn row<'a>(
    r: &'a RowData,
    now: i64,
    actions: Option<&'a str>,
    wide: bool,
    mark: Option<Mark>,
    (key_w, desc_w): (usize, usize),
) -> Row<'a> {
    let age_days = (now - r.value_changed).max(0) / 86_400;
    let age_style = if age_days >= theme::ROTATE_AFTER_DAYS {
        theme::warning()
    } else {
        theme::dim()
    };
    let mut cells = vec![
        health_cell(mark),
        Cell::from(Span::styled(
            text::ellipsis(r.key_shown(), key_w),
            theme::key(),
        )),
        Cell::from(text::ellipsis(&r.description, desc_w)),
        Cell::from(if wide {
            r.kind.label()
        } else {
            short_type(r.kind)
        }),
        Cell::from(text::date(r.created)),
        Cell::from(Span::styled(text::age(now, r.value_changed), age_style)),
    ];
    if let Some(a) = actions {
        cells.push(Cell::from(Span::styled(a, theme::dim())));
    }
    Row::new(cells)
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let shown = app.visible.len();
    let total = app.rows.len();
    let title = if shown == total {
        format!(
            " Secrets · {}/{} · {total} ",
            printable(&app.project),
            printable(&app.env)
        )
    } else {
        format!(
            " Secrets · {}/{} · {shown} of {total} ",
            printable(&app.project),
            printable(&app.env)
        )
    };
    let block = Block::bordered()
        .title(Line::styled(title, theme::title()))
        .title(health_title(app));
    let inner = block.inner(area);
    let page = rows_in(area.height).max(1);
    // `update` keeps `offset` right for the last known size; a frame of another size
    // (before its resize arrives) still shows the selection.
    let offset = rows::window_start(app.offset, app.selected, shown, page);

    if app.visible.is_empty() {
        frame.render_widget(&block, area);
        let filter = app.filter_text();
        let msg = if total > 0 && app.health.only_flagged && filter.is_empty() {
            format!(
                "Nothing flagged in this environment. {} shows every secret.",
                keymap::hint(ModeKind::Browse, Action::ToggleFlagged)
            )
        } else if let Some(why) = app.unreadable.as_ref().filter(|_| total == 0) {
            why.clone()
        } else if total == 0 {
            format!(
                "No secrets in {}/{} yet. Press {} to add one.",
                printable(&app.project),
                printable(&app.env),
                keymap::hint(ModeKind::Browse, Action::OpenAdd)
            )
        } else {
            format!(
                "No secret matches “{}”. {} clears the filter.",
                printable(&filter),
                keymap::hint(ModeKind::Browse, Action::Cancel)
            )
        };
        let text =
            Paragraph::new(Line::styled(msg, theme::dim()).centered()).wrap(Wrap { trim: true });
        // Centred, as many lines as the message wraps to.
        let width = inner.width.saturating_sub(2);
        let lines = u16::try_from(text.line_count(width))
            .unwrap_or(u16::MAX)
            .min(inner.height);
        let mid = Rect {
            x: inner.x + 1,
            y: inner.y + (inner.height - lines) / 2,
            width,
            height: lines,
        };
        frame.render_widget(text, mid);
        return;
    }

    // Three widths: wide shows everything in full; medium shortens the type labels and
    // the action hint; narrow leaves the actions to the footer.
    let wide = inner.width >= 100;
    let narrow = inner.width < 76;
    let end = (offset + page).min(shown);
    let window = &app.visible[offset..end];
    let now = app.clock.now();
    // The key column fits the longest key on screen (up to 45 %), the description
    // takes the rest: keys are what people scan for.
    let longest = window
        .iter()
        .map(|&i| Span::raw(app.rows[i].key_shown()).width())
        .max()
        .unwrap_or(0);
    let key_w = (longest.max(3) as u16).min(inner.width * 45 / 100);
    let (edit, delete) = (
        keymap::hint(ModeKind::Browse, Action::OpenEdit),
        keymap::hint(ModeKind::Browse, Action::OpenDelete),
    );
    let actions = match (wide, narrow) {
        (true, _) => Some(format!("{edit} edit · {delete} delete")),
        (false, false) => Some(format!("{edit} edit · {delete} del")),
        (false, true) => None,
    };
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(key_w),
        Constraint::Fill(1),
        Constraint::Length(if wide { 17 } else { 10 }),
        Constraint::Length(10),
        Constraint::Length(4),
    ];
    let mut titles = vec!["", "Key", "Description", "Type", "Created", "Age"];
    if let Some(a) = &actions {
        widths.push(Constraint::Length(a.chars().count() as u16));
        titles.push("Actions");
    }
    // The description's column as the table will lay it out (after the selection
    // mark, one space between columns), to end a long one with `…`.
    let columns = Layout::horizontal(widths.clone())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, inner.width.saturating_sub(2), 1));
    let desc_w = columns[2].width as usize;
    let rows = window.iter().enumerate().map(|(i, &idx)| {
        let hint = if offset + i == app.selected {
            actions.as_deref()
        } else {
            None
        };
        let r = &app.rows[idx];
        row(
            r,
            now,
            hint,
            wide,
            app.health.mark(&r.key),
            (key_w as usize, desc_w),
        )
    });
    let header = Row::new(titles).style(theme::title());
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme::selected_row())
        .highlight_symbol("▶ ")
        .highlight_spacing(HighlightSpacing::Always);
    let mut state = TableState::default().with_selected(Some(app.selected - offset));
    frame.render_stateful_widget(table, area, &mut state);

    if shown > page {
        let mut sb = ScrollbarState::new(shown.saturating_sub(page)).position(offset);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None),
            area.inner(Margin::new(0, 1)),
            &mut sb,
        );
    }
}
