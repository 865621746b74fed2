//! The Members screen: a table of who has access (name, role, environments, added,
//! last seen) between the header and the status line, and its popups: the add form,
//! the identity prompt, the join token, the remove question and what a removal did.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, Clear, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap,
};

use super::unlock::{field, indent};
use super::{confirm, status, theme};
use crate::tui::action::Action;
use crate::tui::identity_prompt::IdentityPrompt;
use crate::tui::keymap::{self, ModeKind};
use crate::tui::members::{AddField, AddForm, MembersState, Popup, envs_text};
use crate::tui::text::printable;
use crate::vault::team::age_text;
use crate::vault::team::records::Role;
use crate::vault::validate::count;

/// "3 days ago".
fn ago(now: i64, then: i64) -> String {
    format!("{} ago", age_text(now - then))
}

fn role_note(role: Role) -> &'static str {
    match role {
        Role::Reader => "reads secrets, cannot change them",
        Role::Writer => "reads and changes secrets",
        Role::Admin => "also adds and removes members",
    }
}

pub fn render(state: &mut MembersState, project: &str, now: i64, frame: &mut Frame) {
    // Under the header, above the status line and the footer (which names this
    // screen's keys): errors from the server stay visible.
    let full = frame.area();
    let area = Rect {
        y: full.y + 1,
        height: full.height.saturating_sub(3),
        ..full
    };
    frame.render_widget(Clear, area);
    let who = match state.me() {
        Some(me) => format!(" you are {} as {} ", printable(&me.name), me.role.label()),
        None => String::new(),
    };
    let mut block = Block::bordered()
        .border_type(theme::border())
        .title(Line::styled(
            format!(" Members · {} ", state.members.len()),
            theme::title(),
        ))
        .title(Line::styled(who, theme::dim()).right_aligned());
    if !state.is_admin() {
        block = block.title_bottom(Line::styled(
            " only admins add and remove members ",
            theme::dim(),
        ));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let rows: Vec<Row> = state
        .members
        .iter()
        .map(|m| {
            let mut name = vec![Span::styled(printable(&m.name), theme::key())];
            if m.is_me {
                name.push(Span::styled(" (you)", theme::dim()));
            }
            let seen = m.last_seen.map_or_else(|| "—".to_string(), |t| ago(now, t));
            Row::new(vec![
                Cell::from(Line::from(name)),
                Cell::from(m.role.label()),
                Cell::from(envs_text(&m.envs, project)),
                Cell::from(format!(
                    "{} by {}",
                    ago(now, m.added),
                    printable(&m.added_by)
                )),
                Cell::from(seen),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(16),
        Constraint::Length(7),
        Constraint::Fill(1),
        Constraint::Length(24),
        Constraint::Length(10),
    ];
    let header =
        Row::new(["Name", "Role", "Environments", "Added", "Last seen"]).style(theme::label());
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(theme::selected_row())
        .highlight_symbol("▶ ")
        .highlight_spacing(HighlightSpacing::Always);
    let mut table_state = TableState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(table, inner, &mut table_state);

    match &mut state.popup {
        None => {}
        Some(Popup::Add(form)) => render_add(form, frame),
        Some(Popup::Remove { member: m, focus }) => {
            let envs = match &m.envs {
                None => "every environment".to_string(),
                Some(_) => envs_text(&m.envs, project),
            };
            let text = vec![
                Line::from(vec![
                    Span::raw("Remove "),
                    Span::styled(printable(&m.name), theme::key()),
                    Span::raw(format!(
                        " ({}, {envs}) from the team vault?",
                        m.role.label()
                    )),
                ]),
                Line::styled(
                    "The vault gets new keys and every value is encrypted again; what they could read is listed next, to rotate.",
                    theme::dim(),
                ),
            ];
            confirm::question(
                " Remove Member ",
                text,
                (*focus, "Remove"),
                ModeKind::MemberRemove,
                frame,
            );
        }
        Some(Popup::Identity(prompt)) => {
            let doing = prompt.change.as_ref().map(|c| c.describe());
            render_identity(prompt, &doing.unwrap_or_default(), frame);
        }
        Some(Popup::Token { name, token, join }) => render_token(name, token, join, frame),
        Some(Popup::Removed {
            name,
            epoch,
            reencrypted,
            to_rotate,
            scroll,
        }) => {
            let mut lines = vec![
                Line::from(vec![
                    Span::styled(printable(name), theme::key()),
                    Span::raw(format!(
                        " was removed. The vault has new keys (epoch {epoch}, {} encrypted again); the others run `tresor remote sync`.",
                        count(*reencrypted, "value", "values")
                    )),
                ]),
                Line::raw(""),
            ];
            if to_rotate.is_empty() {
                lines.push(Line::raw(format!(
                    "{} could read no values.",
                    printable(name)
                )));
            } else {
                lines.push(Line::styled(
                    format!(
                        "{} could read {}: rotate them (a rekey cannot take back what was read):",
                        printable(name),
                        count(to_rotate.len(), "value", "values")
                    ),
                    theme::warning(),
                ));
                for (p, e, k) in to_rotate.iter().skip(*scroll as usize) {
                    lines.push(Line::raw(format!(
                        "  {}",
                        printable(&format!("{p}/{e}/{k}"))
                    )));
                }
            }
            let inner = popup(frame, " Member Removed ", ModeKind::MemberRemoved, 14);
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
    }
}

/// A centred popup with its mode's keys in the bottom border; the area inside.
fn popup(frame: &mut Frame, title: &str, mode: ModeKind, height: u16) -> Rect {
    let full = frame.area();
    let area = full.centered(
        Constraint::Length(popup_width(full)),
        Constraint::Length(height.min(full.height.saturating_sub(2))),
    );
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_type(theme::border())
        .title(Line::styled(title.to_string(), theme::title()))
        .title_bottom(status::footer_line(mode).centered());
    let inner = block.inner(area).inner(Margin::new(1, 0));
    frame.render_widget(block, area);
    inner
}

fn popup_width(full: Rect) -> u16 {
    full.width.saturating_sub(4).min(76)
}

fn label(text: &str, focused: bool) -> Span<'static> {
    let (mark, style) = if focused {
        ("▸ ", theme::focused_label())
    } else {
        ("  ", theme::label())
    };
    Span::styled(format!("{mark}{text:<12}"), style)
}

fn render_add(form: &mut AddForm, frame: &mut Frame) {
    let mode = if form.focus_is_text() {
        ModeKind::MemberForm
    } else {
        ModeKind::MemberFormChoice
    };
    let inner = popup(frame, " Add Member ", mode, 12);
    let [name, key, role, envs, _, msg] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let focus = form.focus;
    field(frame, name, "Name", &mut form.name, focus == AddField::Name);
    field(
        frame,
        key,
        "Public key",
        &mut form.public,
        focus == AddField::Key,
    );

    let on_role = focus == AddField::Role;
    frame.render_widget(
        Line::from(vec![
            label("Role", on_role),
            Span::styled(format!("‹ {} ›", form.role.label()), theme::button(on_role)),
            Span::styled(format!("  {}", role_note(form.role)), theme::dim()),
        ]),
        role,
    );

    let on_envs = focus == AddField::Envs;
    let [envs_label, envs_list] =
        Layout::horizontal([Constraint::Length(14), Constraint::Fill(1)]).areas(envs);
    frame.render_widget(label("Can read", on_envs), envs_label);
    let mut spans = Vec::new();
    if form.scope().is_none() {
        spans.push(Span::raw("every environment, now and later"));
        if !form.envs.is_empty() {
            spans.push(Span::styled(" · or only: ", theme::dim()));
        }
    } else {
        spans.push(Span::raw("only: "));
    }
    for (i, (env, picked)) in form.envs.iter().zip(&form.picked).enumerate() {
        let mark = if *picked { "[x]" } else { "[ ]" };
        let text = format!("{mark} {}", printable(env));
        spans.push(Span::styled(
            text,
            theme::button(on_envs && i == form.cursor),
        ));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).wrap(Wrap { trim: false }),
        envs_list,
    );

    let line = match &form.error {
        Some(e) => Line::styled(e.clone(), theme::error()),
        None if on_envs => Line::styled(
            format!(
                "{} / {} move, {} picks this project's environments; none picked: all",
                keymap::hint(mode, Action::TypePrev),
                keymap::hint(mode, Action::TypeNext),
                keymap::hint(mode, Action::ToggleChoice)
            ),
            theme::dim(),
        ),
        None => Line::styled(
            "Their public key: `tresor identity new` prints it on their machine.",
            theme::dim(),
        ),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), indent(msg));
}

/// The identity prompt over `doing` ("Removing bob"); also drawn over the secrets table
/// for the team changes made there (`ui::team_identity`).
pub fn render_identity<T>(prompt: &mut IdentityPrompt<T>, doing: &str, frame: &mut Frame) {
    let inner = popup(frame, " Your Identity ", ModeKind::MemberIdentity, 10);
    let [what, path, _, input, msg] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(
        Line::raw(format!("{doing} needs this machine's identity.")),
        what,
    );
    frame.render_widget(
        Line::from(vec![
            label("Identity", false),
            Span::raw(super::shown_path(&prompt.path)),
        ]),
        path,
    );
    let unlock = &mut prompt.unlock;
    let focused = !unlock.pending;
    if unlock.use_keyfile {
        field(frame, input, "Keyfile", &mut unlock.keyfile_path, focused);
    } else {
        field(frame, input, "Passphrase", &mut unlock.passphrase, focused);
    }
    let switch = keymap::hint(ModeKind::MemberIdentity, Action::ToggleKeyfile);
    let line = if unlock.pending {
        Line::styled(
            "Unlocking the identity, then writing to the server…",
            theme::warning(),
        )
    } else if let Some(e) = &unlock.error {
        Line::styled(e.clone(), theme::error())
    } else if unlock.use_keyfile {
        Line::styled(
            format!("The keyfile that protects your identity. {switch}: a passphrase instead."),
            theme::dim(),
        )
    } else {
        Line::styled(
            format!("Used once for this change, never stored. {switch}: a keyfile instead."),
            theme::dim(),
        )
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), indent(msg));
}

fn render_token(name: &str, token: &str, join: &str, frame: &mut Frame) {
    let name = printable(name);
    let lines = vec![
        Line::raw(format!(
            "Send {name} this join token (it opens nothing without their identity):"
        )),
        Line::styled(token.to_string(), theme::key()),
        Line::raw(""),
        Line::raw(format!("On {name}'s machine, in a new empty vault:")),
        Line::styled(join.to_string(), theme::dim()),
        Line::styled(
            "They log in with their own password (PGPASSWORD or ~/.pgpass).",
            theme::dim(),
        ),
    ];
    let text = Paragraph::new(lines).wrap(Wrap { trim: false });
    // As tall as the wrapped token needs (borders, and a blank line above the keys).
    let width = popup_width(frame.area()).saturating_sub(4);
    let height = u16::try_from(text.line_count(width)).unwrap_or(u16::MAX);
    let inner = popup(
        frame,
        " Member Added ",
        ModeKind::MemberToken,
        height.saturating_add(3),
    );
    frame.render_widget(text, inner);
}
