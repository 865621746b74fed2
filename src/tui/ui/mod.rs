//! Views: they draw the `App`'s state. They change nothing in it but the styles of text
//! fields (focus and cursor); the table's window and the help's scroll are kept by
//! `App::update`. Overlays are drawn last, over a `Clear`.

pub mod compare;
pub mod confirm;
pub mod copy;
pub mod environments;
pub mod form;
pub mod health;
pub mod help;
pub mod history;
pub mod import;
pub mod members;
pub mod picker;
pub mod reveal;
pub mod status;
pub mod table;
pub mod theme;
pub mod unlock;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Level, Mode, Screen};

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

/// The vault's path as the header and the unlock screen show it: `~/…` under the home
/// folder (a temporary or absolute path says less to its owner).
pub fn shown_path(path: &std::path::Path) -> String {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    super::text::home_relative(path, home.as_deref())
}

/// Rows of the table on a terminal this tall: what `update` pages by. The lines around
/// it are those `draw` lays out: header, tabs, the filter when shown, status, footer.
pub fn table_rows(height: u16, filter_shown: bool) -> usize {
    table::rows_in(height.saturating_sub(4 + u16::from(filter_shown)))
}

pub fn render(app: &mut App, frame: &mut Frame) {
    draw(app, frame);
    theme::enforce(frame.buffer_mut());
}

fn draw(app: &mut App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!("terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT})");
        let y = area.height / 2;
        let line = Paragraph::new(Line::styled(msg, theme::warning()).centered())
            .wrap(ratatui::widgets::Wrap { trim: true });
        frame.render_widget(
            line,
            ratatui::layout::Rect {
                y,
                height: area.height - y,
                ..area
            },
        );
        return;
    }
    let mode = app.mode_kind();
    let path = app.vault_path.clone();
    let status_line = app.status.as_ref().map(|s| {
        let style = match s.level {
            Level::Info => theme::info(),
            Level::Warning => theme::warning(),
            Level::Error => theme::error(),
        };
        Line::styled(format!("  {}", s.text), style)
    });
    match &mut app.screen {
        Screen::Create(state) => return unlock::render_create(state, &path, frame),
        Screen::Unlock(state) => return unlock::render_unlock(state, &path, status_line, frame),
        Screen::Secrets => {}
    }

    let show_filter = app.filter_shown();
    let [header, tabs, filter, table, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(u16::from(show_filter)),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    status::render_header(app, frame, header);
    status::render_tabs(app, frame, tabs);
    if show_filter {
        let [l, r] =
            Layout::horizontal([Constraint::Length(10), Constraint::Fill(1)]).areas(filter);
        let typing = matches!(app.mode, Mode::Filter);
        let style = if typing {
            theme::focused_label()
        } else {
            theme::label()
        };
        frame.render_widget(Line::from(vec![Span::styled(" / filter", style)]), l);
        app.filter.set_cursor_style(theme::cursor(typing));
        frame.render_widget(&app.filter, r);
    }
    table::render(app, frame, table);
    status::render_status(app, frame, status);
    status::render_footer(app, frame, footer);

    let (project, env) = (app.project.clone(), app.env.clone());
    let now = app.clock.now();
    match &mut app.mode {
        Mode::Form(form) => form::render(form, mode, frame),
        Mode::Confirm { key, focus } => confirm::render(key, *focus, &project, &env, frame),
        Mode::Help { scroll } => help::render(*scroll, frame),
        Mode::ProjectPicker(p) => picker::render(p, &project, frame),
        Mode::NewEnv(state) => environments::render_new(state, &project, frame),
        Mode::RemoveEnv {
            env,
            secrets,
            focus,
        } => confirm::render_env(env, *secrets, *focus, &project, frame),
        Mode::Reveal(r) => reveal::render(r, frame),
        Mode::History(h) => history::render(h, frame),
        Mode::Copy(c) => copy::render(c, &project, &env, frame),
        Mode::Import(i) => import::render(i, &project, &env, frame),
        Mode::Compare(c) => compare::render(c, &env, frame),
        Mode::Members(m) => members::render(m, &project, now, frame),
        Mode::TeamIdentity(p) => {
            let doing = p.change.as_ref().map(|t| t.describe(&project));
            members::render_identity(p, &doing.unwrap_or_default(), frame);
        }
        Mode::Browse | Mode::Filter => {}
    }
}
