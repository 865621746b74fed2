//! The reveal popup (`v`): every line of the value, scrollable, with control characters
//! drawn as visible symbols (never sent to the terminal) and its hiding countdown.

use ratatui::Frame;
use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph};
use unicode_width::UnicodeWidthChar;

use super::{status, theme};
use crate::tui::keymap::ModeKind;
use crate::tui::text::printable;
use crate::tui::values::RevealState;

/// A character as it may be drawn: C0 controls as their Unicode pictures (ESC as ␛),
/// DEL as ␡, other controls as U+FFFD, a tab as spaces.
fn visible(c: char, out: &mut String) {
    match c {
        '\t' => out.push_str("    "),
        '\0'..='\x1f' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}')),
        '\x7f' => out.push('\u{2421}'),
        c if c.is_control() => out.push('\u{FFFD}'),
        c => out.push(c),
    }
}

/// The value as rows of at most `width` columns: each line of the value, cut where it
/// would overflow (wide characters count two).
pub fn rows(value: &[u8], width: usize) -> Vec<String> {
    let width = width.max(2);
    let text = String::from_utf8_lossy(value);
    let mut rows = Vec::new();
    for line in text.split('\n') {
        let mut safe = String::with_capacity(line.len());
        for c in line.chars() {
            visible(c, &mut safe);
        }
        let mut row = String::new();
        let mut used = 0;
        for c in safe.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            row.push(c);
            used += w;
        }
        rows.push(row);
    }
    rows
}

pub fn render(state: &RevealState, frame: &mut Frame) {
    let full = frame.area();
    let width = full.width.saturating_sub(4).min(90);
    let inner_width = usize::from(width.saturating_sub(4));
    let rows = rows(&state.value, inner_width);
    let height = (rows.len() as u16)
        .saturating_add(2)
        .clamp(3, full.height.saturating_sub(4));
    let area = full.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, area);
    let visible_rows = usize::from(height.saturating_sub(2));
    let max = rows.len().saturating_sub(visible_rows);
    let scroll = usize::from(state.scroll).min(max);
    let more = if rows.len() > visible_rows {
        format!(
            " lines {}–{} of {} ",
            scroll + 1,
            (scroll + visible_rows).min(rows.len()),
            rows.len()
        )
    } else {
        String::new()
    };
    let lossy = std::str::from_utf8(&state.value).is_err();
    let mut title = vec![
        Span::styled(" ", theme::title()),
        Span::styled(printable(&state.key), theme::key()),
        Span::styled(" ", theme::title()),
    ];
    if lossy {
        title.push(Span::styled("(not UTF-8: shown with �) ", theme::warning()));
    }
    let block = Block::bordered()
        .border_type(theme::border())
        .border_style(theme::warning())
        .padding(Padding::horizontal(1))
        .title(Line::from(title))
        .title(
            Line::styled(format!(" hides in {} s ", state.left), theme::warning()).right_aligned(),
        )
        .title_bottom(status::footer_line(ModeKind::Reveal).centered())
        .title_bottom(Line::styled(more, theme::dim()).right_aligned());
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(scroll)
        .take(visible_rows)
        .map(Line::raw)
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::rows;

    #[test]
    fn controls_become_pictures_and_lines_wrap_by_width() {
        assert_eq!(rows(b"a\x1b[31mb\r", 20), vec!["a␛[31mb␍"]);
        assert_eq!(rows(b"one\ntwo", 20), vec!["one", "two"]);
        assert_eq!(rows("日本語".as_bytes(), 4), vec!["日本", "語"]);
        assert_eq!(rows(b"\xff", 4), vec!["\u{FFFD}"]);
    }
}
