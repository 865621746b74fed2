//! The header (vault, project, sort), the environment tabs, the status line and the
//! footer of key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Tabs;

use super::theme;
use crate::tui::action::Action;
use crate::tui::app::{App, Level};
use crate::tui::keymap;
use crate::tui::text::printable;

pub fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let mut spans = vec![
        Span::styled(" tresor ", theme::key()),
        Span::styled(" project ", theme::dim()),
        Span::styled(printable(&app.project), theme::title()),
    ];
    // Before the sort and the path, so a narrow terminal cuts those first.
    if let Some(sync) = &app.sync {
        let style = if sync.is_warning() {
            theme::warning()
        } else {
            theme::info()
        };
        spans.push(Span::raw("  "));
        spans.push(Span::styled(printable(&sync.text(app.clock.now())), style));
    }
    spans.extend([
        Span::styled("  sort ", theme::dim()),
        Span::raw(app.sort.label()),
        Span::styled("  vault ", theme::dim()),
        Span::raw(super::shown_path(&app.vault_path)),
    ]);
    frame.render_widget(Line::from(spans), area);
}

pub fn render_tabs(app: &App, frame: &mut Frame, area: Rect) {
    let titles: Vec<Line> = app
        .envs
        .iter()
        .map(|e| Line::from(format!("{} ({})", printable(&e.name), e.secrets)))
        .collect();
    let selected = app.envs.iter().position(|e| e.name == app.env);
    let tabs = Tabs::new(titles)
        .select(selected)
        .style(theme::label())
        .highlight_style(theme::active_tab())
        .divider("│");
    if app.envs.is_empty() {
        let msg = format!(
            " no environments in project `{}` ({}: pick a project)",
            printable(&app.project),
            keymap::hint(keymap::ModeKind::Browse, Action::OpenPicker)
        );
        frame.render_widget(Line::styled(msg, theme::warning()), area);
    } else {
        frame.render_widget(tabs, area);
    }
}

pub fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    // A copied value's countdown, unless a warning or an error has something to say.
    let urgent = app.status.as_ref().is_some_and(|s| s.level != Level::Info);
    if let Some(clip) = app.clip.as_ref().filter(|_| !urgent) {
        let text = format!(
            " {} is on the clipboard: cleared in {} s",
            printable(&clip.key),
            clip.left
        );
        frame.render_widget(Line::styled(text, theme::info()), area);
        return;
    }
    let Some(status) = &app.status else {
        return super::health::render_reason(app, frame, area);
    };
    let (mark, style) = match status.level {
        Level::Info => ("✔", theme::info()),
        Level::Warning => ("⚠", theme::warning()),
        Level::Error => ("✖", theme::error()),
    };
    frame.render_widget(
        Line::styled(format!(" {mark} {}", status.text), style),
        area,
    );
}

/// Key hints of the current mode, from the key table.
pub fn footer_line(mode: keymap::ModeKind) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, short)) in keymap::footer(mode).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(key, theme::key()));
        spans.push(Span::raw(format!(" {short}")));
    }
    Line::from(spans)
}

pub fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    // A dialog shows its own keys in its border; the footer keeps the table's.
    let mode = match app.mode_kind() {
        keymap::ModeKind::Filter => keymap::ModeKind::Filter,
        _ if matches!(app.mode, crate::tui::app::Mode::Members(_)) => keymap::ModeKind::Members,
        _ => keymap::ModeKind::Browse,
    };
    frame.render_widget(footer_line(mode), area);
}
