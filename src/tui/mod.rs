//! The Secrets screen: terminal lifecycle and the event loop.
//!
//! `app` holds the state and applies `action`s produced by `keymap`; `ui` draws. The
//! loop polls with a timeout and sends a tick, so auto-lock, status expiry and the idle
//! reload (changes made by the CLI in another terminal) happen without a key press. The vault is never
//! held open while waiting: `App` keeps only the unlocked keys. On a team vault the loop
//! also passes on what the watcher thread heard from the server (`live`).

pub mod action;
pub mod app;
pub mod compare;
mod confirm;
pub mod copy;
mod environments;
pub mod fields;
pub mod form;
pub mod health;
pub mod identity_prompt;
pub mod import;
pub mod keymap;
pub mod live;
pub mod member_form;
pub mod members;
mod picker;
pub mod places;
pub mod rows;
pub mod team_identity;
pub mod text;
pub mod ui;
pub mod unlock;
pub mod values;

use std::io::stdout;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::DefaultTerminal;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{self, DisableBracketedPaste, EnableBracketedPaste, Event};
use ratatui::crossterm::execute;

use crate::vault::Credential;
use action::Action;
use app::App;

/// What `tresor` (no subcommand) hands the TUI.
pub struct TuiOptions {
    pub vault_path: PathBuf,
    pub project: String,
    pub env: String,
    /// `project`/`env` were asked for (not defaults): open there, not where the user
    /// was last time.
    pub place_chosen: bool,
    /// From --keyfile/TRESOR_KEYFILE or TRESOR_PASSPHRASE: open straight on the table.
    pub credential: Option<Credential>,
    pub auto_lock: Duration,
}

/// Runs the TUI until the user quits. The terminal is restored on return, on error and
/// on panic (raw mode off, alternate screen left and cleared, bracketed paste off).
pub fn run(options: TuiOptions) -> color_eyre::Result<()> {
    let mut app = App::start(
        places::Places::from_env(),
        options.vault_path,
        options.project,
        options.env,
        options.credential,
        options.auto_lock,
    );
    app.reopen_last_place = !options.place_chosen;
    let palette = ui::theme::Palette::from_env(
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    );
    ui::theme::set_palette(palette);
    // Under NO_COLOR crossterm turns every colour change into `ESC [ m`, which also
    // resets bold and reverse. The theme draws no colour there, so let crossterm write
    // the attributes it is given.
    if palette == ui::theme::Palette::NoColor {
        ratatui::crossterm::style::force_color_output(true);
    }
    // ratatui's hook restores raw mode and the screen, then calls color-eyre's.
    let mut terminal = ratatui::try_init()?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic inside redb on a damaged file is caught at the storage boundary and
        // shown as an error in the app: the terminal must stay as it is.
        if crate::vault::store::in_storage() {
            return;
        }
        let _ = execute!(stdout(), DisableBracketedPaste, Show);
        previous(info);
    }));
    let result = execute!(stdout(), EnableBracketedPaste)
        .map_err(color_eyre::Report::from)
        .and_then(|()| event_loop(&mut terminal, &mut app));
    // A copied value does not outlive the app, whatever ended it.
    app.update(Action::Quit);
    carry_out(&mut app);
    // Drop the keys and typed text first, then leave nothing on the alternate screen.
    drop(app);
    let _ = terminal.clear();
    let _ = execute!(stdout(), DisableBracketedPaste, Show);
    ratatui::try_restore()?;
    result
}

fn event_loop(terminal: &mut DefaultTerminal, app: &mut App) -> color_eyre::Result<()> {
    let size = terminal.size()?;
    app.update(Action::Resize {
        width: size.width,
        height: size.height,
    });
    loop {
        terminal.draw(|frame| ui::render(app, frame))?;
        if app.should_quit {
            carry_out(app);
            return Ok(());
        }
        // A slow step (Argon2) runs after its "Unlocking…" frame is on screen.
        if app.has_pending() {
            app.update(Action::SlowStep);
            continue;
        }
        if event::poll(app.poll_timeout(Instant::now()))? {
            match event::read()? {
                Event::Key(key) if key.is_press() || key.is_repeat() => {
                    app.handle_key(key);
                    carry_out(app);
                }
                // Moved, not copied: the one String is wiped when the action is done.
                Event::Paste(text) => app.update(Action::Paste(text.into())),
                Event::Resize(width, height) => app.update(Action::Resize { width, height }),
                _ => {}
            }
        }
        for event in app.live_events() {
            app.update(Action::Live(event));
        }
        app.update(Action::Tick(Instant::now()));
        carry_out(app);
    }
}

/// Sends what `update` queued for the terminal (the clipboard's OSC 52), after the
/// frame, straight to stdout: the sequence is not drawn, the terminal acts on it.
fn carry_out(app: &mut App) {
    use std::io::Write;
    for effect in app.effects.drain(..) {
        let mut out = stdout().lock();
        let _ = match effect {
            values::Effect::Terminal(bytes) => {
                out.write_all(bytes.as_bytes()).and_then(|()| out.flush())
            }
            values::Effect::ClearClipboard(mark) => crate::clipboard::clear(&mut out, &mark),
        };
    }
}
