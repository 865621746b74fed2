//! The delete dialogs (a secret, an environment): what goes, in bold, Delete and Cancel,
//! focus shown on one of them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{status, theme};
use crate::tui::app::ConfirmFocus;
use crate::tui::keymap::ModeKind;
use crate::tui::text::printable;
use crate::vault::validate::count;

pub fn render(key: &str, focus: ConfirmFocus, project: &str, env: &str, frame: &mut Frame) {
    let text = vec![
        Line::from(vec![
            Span::raw("Delete "),
            Span::styled(printable(key), theme::key()),
            Span::raw(format!(" from {}/{}?", printable(project), printable(env))),
        ]),
        Line::styled(
            "Deleting is permanent: the value and its history cannot be recovered.",
            theme::dim(),
        ),
    ];
    dialog(" Delete Secret ", text, focus, frame);
}

/// Removing an environment: its name and how many secrets go with it.
pub fn render_env(
    env: &str,
    secrets: usize,
    focus: ConfirmFocus,
    project: &str,
    frame: &mut Frame,
) {
    let holds = if secrets == 0 {
        "It holds no secrets.".to_string()
    } else {
        format!(
            "It holds {}: they are deleted with it.",
            count(secrets, "secret", "secrets")
        )
    };
    let text = vec![
        Line::from(vec![
            Span::raw("Delete environment "),
            Span::styled(printable(env), theme::key()),
            Span::raw(format!(" from project {}?", printable(project))),
        ]),
        Line::raw(holds),
        Line::styled("Deleting is permanent.", theme::dim()),
    ];
    dialog(" Delete Environment ", text, focus, frame);
}

fn dialog(title: &str, text: Vec<Line<'static>>, focus: ConfirmFocus, frame: &mut Frame) {
    question(title, text, (focus, "Delete"), ModeKind::Confirm, frame);
}

/// A question with a dangerous button (`yes`, focus as given) and Cancel; `mode`'s keys
/// in the border. The delete dialogs and the remove-member dialog.
pub fn question(
    title: &str,
    text: Vec<Line<'static>>,
    (focus, yes): (ConfirmFocus, &str),
    mode: ModeKind,
    frame: &mut Frame,
) {
    let full = frame.area();
    let area = full.centered(
        Constraint::Length(full.width.saturating_sub(4).min(60)),
        Constraint::Length(8),
    );
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_type(theme::border())
        .border_style(theme::error())
        .title(Line::styled(title.to_string(), theme::title()))
        .title_bottom(status::footer_line(mode).centered());
    let inner = block.inner(area).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, area);
    let [question, _, buttons] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), question);
    let button = |label: &str, focused: bool, danger: bool| {
        let text = if focused {
            format!("[ {label} ]")
        } else {
            format!("  {label}  ")
        };
        let style = if danger {
            theme::danger_button(focused)
        } else {
            theme::button(focused)
        };
        Span::styled(text, style)
    };
    let line = Line::from(vec![
        button(yes, focus == ConfirmFocus::Delete, true),
        Span::raw("    "),
        button("Cancel", focus == ConfirmFocus::Cancel, false),
    ])
    .centered();
    frame.render_widget(line, buttons);
}
