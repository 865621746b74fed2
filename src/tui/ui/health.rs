//! The selected row's health, on the status line when no message is showing: why the
//! secret is flagged, in the words of `tresor check`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::theme;
use crate::tui::app::{App, Mode};
use crate::tui::text::printable;

pub fn render_reason(app: &App, frame: &mut Frame, area: Rect) {
    if !matches!(app.mode, Mode::Browse | Mode::Filter) {
        return;
    }
    if let Some(err) = &app.health.error {
        let text = format!(" health not checked: {err}");
        frame.render_widget(Line::styled(text, theme::dim()), area);
        return;
    }
    let Some(row) = app.selected_row() else {
        return;
    };
    let Some(health) = app.health.get(&row.key) else {
        return;
    };
    let mut spans = vec![Span::styled(" ! ", theme::warning())];
    for (i, f) in health.findings.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme::dim()));
        }
        let style = if f.flag.is_risk() {
            theme::warning()
        } else {
            theme::label()
        };
        spans.push(Span::styled(f.flag.slug(), style));
        spans.push(Span::raw(format!(": {}", printable(&f.why))));
    }
    frame.render_widget(Line::from(spans), area);
}
