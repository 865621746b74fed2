//! The Secrets screen: terminal lifecycle and the event loop.
//!
//! `app` holds the state and applies `action`s produced by `keymap`; `ui` draws. The
//! loop polls with a timeout so auto-lock, status expiry and the idle reload (changes
//! made by the CLI in another terminal) happen without a key press. The vault is never
//! held open while waiting: `App` keeps only the unlocked keys.

pub mod action;
pub mod app;
pub mod compare;
pub mod form;
pub mod gate;
pub mod health;
pub mod keymap;
mod modals;
pub mod places;
pub mod rows;
pub mod text;
pub mod ui;

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
    // Drop the keys and typed text first, then leave nothing on the alternate screen.
    drop(app);
    let _ = terminal.clear();
    let _ = execute!(stdout(), DisableBracketedPaste, Show);
    ratatui::try_restore()?;
    result
}

fn event_loop(terminal: &mut DefaultTerminal, app: &mut App) -> color_eyre::Result<()> {
    loop {
        terminal.draw(|frame| ui::render(app, frame))?;
        if app.should_quit {
            return Ok(());
        }
        // A slow step (Argon2) runs after its "Unlocking…" frame is on screen.
        if app.has_pending() {
            app.run_pending();
            continue;
        }
        if event::poll(app.poll_timeout(Instant::now()))? {
            match event::read()? {
                Event::Key(key) if key.is_press() || key.is_repeat() => app.handle_key(key),
                Event::Paste(text) => {
                    app.last_input = Instant::now();
                    // Moved, not copied: the one String is wiped when the action is done.
                    app.update(Action::Paste(text.into()));
                }
                // Resize: the next draw adapts.
                _ => {}
            }
        }
        app.on_tick(Instant::now());
    }
}
