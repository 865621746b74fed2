//! The selected secret's value, on purpose: copy (`c`), reveal (`v`) and history (`h`).
//!
//! Values never reach the table or the edit form. A copy goes to the terminal's
//! clipboard by OSC 52 and is cleared when its countdown ends; a reveal is a popup that
//! hides itself after [`REVEAL_FOR`] or at any key; the history popup lists versions
//! (never values) and rolls back behind a question naming the key and version. Timers
//! advance on `Action::Tick`; what must reach the terminal outside a frame (the OSC 52
//! bytes, the clearing) is queued as an [`Effect`] for the event loop.

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::action::Action;
use super::app::{App, Mode};
use crate::clipboard::{self, Mark};
use crate::vault::{SecretValue, VersionInfo};

/// How long a revealed value stays on screen.
pub const REVEAL_FOR: Duration = Duration::from_secs(10);

/// What the event loop does for the app outside drawing a frame.
#[derive(PartialEq, Eq)]
pub enum Effect {
    /// Bytes for the terminal: an OSC 52 sequence. Wiped when dropped.
    Terminal(Zeroizing<String>),
    /// Clear the clipboard: the clearing sequence, and tmux's copies of the value.
    ClearClipboard(Mark),
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The bytes carry the value (base64): never in a log or a panic.
            Effect::Terminal(bytes) => write!(f, "Terminal({} bytes)", bytes.len()),
            Effect::ClearClipboard(_) => f.write_str("ClearClipboard"),
        }
    }
}

/// A value on the clipboard, until its countdown ends.
#[derive(Debug)]
pub struct Clip {
    pub key: String,
    pub mark: Mark,
    pub until: Instant,
    /// Whole seconds left, for the status line (updated on each tick).
    pub left: u64,
}

/// The reveal popup.
pub struct RevealState {
    pub key: String,
    pub value: SecretValue,
    pub scroll: u16,
    pub until: Instant,
    pub left: u64,
}

/// The history popup.
pub struct HistoryState {
    pub key: String,
    /// Newest (the current value) first.
    pub versions: Vec<VersionInfo>,
    pub selected: usize,
    /// The version the rollback question is about.
    pub confirm: Option<u32>,
}

impl HistoryState {
    pub fn selected_version(&self) -> Option<&VersionInfo> {
        self.versions.get(self.selected)
    }

    /// What the selected version becomes when rolled back to.
    pub fn next_version(&self) -> u32 {
        self.versions
            .first()
            .map_or(1, |v| v.version.saturating_add(1))
    }
}

fn secs_left(until: Instant, now: Instant) -> u64 {
    let left = until.saturating_duration_since(now);
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

impl App {
    /// `c`: the selected value to the clipboard, and the countdown to clearing it.
    pub(super) fn copy_selected(&mut self) {
        let Some(key) = self.selected_row().map(|r| r.key.clone()) else {
            return;
        };
        let Some(vault) = &self.vault else { return };
        let seconds = match clipboard::seconds_from_env() {
            Ok(s) => s,
            Err(e) => return self.warn(e),
        };
        let value = match vault.read_value(&self.project, &self.env, &key, "copy") {
            Ok(v) => v,
            Err(e) => return self.error(&e),
        };
        let mark = match Mark::of(&value) {
            Ok(m) => m,
            Err(e) => return self.warn(format!("could not copy: {e}")),
        };
        // A value copied before goes first (tmux keeps every copy in its buffer list).
        self.clear_clip();
        self.effects
            .push(Effect::Terminal(clipboard::set_sequence(&value)));
        self.status = None;
        self.clip = Some(Clip {
            key,
            mark,
            until: Instant::now() + Duration::from_secs(seconds),
            left: seconds,
        });
    }

    /// Clears a pending copy at once (on quit, or when its time is up).
    pub(super) fn clear_clip(&mut self) {
        if let Some(clip) = self.clip.take() {
            self.effects.push(Effect::ClearClipboard(clip.mark));
        }
    }

    /// `v`: the selected value in a popup.
    pub(super) fn reveal_selected(&mut self) -> Option<Mode> {
        let key = self.selected_row()?.key.clone();
        let vault = self.vault.as_ref()?;
        match vault.read_value(&self.project, &self.env, &key, "reveal") {
            Ok(value) => Some(Mode::Reveal(Box::new(RevealState {
                key,
                value,
                scroll: 0,
                until: Instant::now() + REVEAL_FOR,
                left: REVEAL_FOR.as_secs(),
            }))),
            Err(e) => {
                self.error(&e);
                None
            }
        }
    }

    pub(super) fn update_reveal(&mut self, mut state: Box<RevealState>, action: Action) -> Mode {
        let lines = state.value.split(|&b| b == b'\n').count();
        let last = u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX);
        match action {
            Action::Down => state.scroll = state.scroll.saturating_add(1).min(last),
            Action::Up => state.scroll = state.scroll.saturating_sub(1),
            Action::PageDown => state.scroll = state.scroll.saturating_add(10).min(last),
            Action::PageUp => state.scroll = state.scroll.saturating_sub(10),
            Action::Tick(_) => {}
            // Any other key hides the value (the popup's state, value included, is
            // dropped and wiped here).
            _ => return Mode::Browse,
        }
        Mode::Reveal(state)
    }

    /// `h`: the selected secret's versions.
    pub(super) fn open_history(&mut self) -> Option<Mode> {
        let key = self.selected_row()?.key.clone();
        let vault = self.vault.as_ref()?;
        match vault.history(&self.project, &self.env, &key) {
            Ok(versions) => Some(Mode::History(Box::new(HistoryState {
                key,
                versions,
                selected: 0,
                confirm: None,
            }))),
            Err(e) => {
                self.error(&e);
                None
            }
        }
    }

    pub(super) fn update_history(&mut self, mut state: Box<HistoryState>, action: Action) -> Mode {
        if let Some(version) = state.confirm {
            match action {
                Action::ConfirmYes => return self.roll_back(state, version),
                Action::Cancel => state.confirm = None,
                _ => {}
            }
            return Mode::History(state);
        }
        match action {
            Action::Down => {
                state.selected = (state.selected + 1).min(state.versions.len().saturating_sub(1));
            }
            Action::Up => state.selected = state.selected.saturating_sub(1),
            Action::Rollback => match state.selected_version() {
                Some(v) if v.current => self.info(format!(
                    "version {} is the current value: pick an earlier one",
                    v.version
                )),
                Some(v) => state.confirm = Some(v.version),
                None => {}
            },
            Action::Cancel => return Mode::Browse,
            _ => {}
        }
        Mode::History(state)
    }

    fn roll_back(&mut self, mut state: Box<HistoryState>, version: u32) -> Mode {
        state.confirm = None;
        let Some(vault) = &self.vault else {
            return Mode::History(state);
        };
        let result = vault.rollback(&self.project, &self.env, &state.key, version);
        let versions = vault.history(&self.project, &self.env, &state.key);
        match result {
            Ok(now) => {
                self.load();
                self.info(format!(
                    "{} has the value of version {version} again, as version {now}",
                    state.key
                ));
            }
            Err(e) => self.error(&e),
        }
        match versions {
            Ok(v) => {
                state.versions = v;
                state.selected = 0;
            }
            Err(e) => self.error(&e),
        }
        Mode::History(state)
    }

    /// The timers of this module: the copy's countdown and the reveal's.
    pub(super) fn tick_values(&mut self, now: Instant) {
        if let Some(clip) = &mut self.clip {
            clip.left = secs_left(clip.until, now);
            if clip.left == 0 {
                let key = clip.key.clone();
                self.clear_clip();
                self.info(format!("clipboard cleared ({key})"));
            }
        }
        if let Mode::Reveal(state) = &mut self.mode {
            state.left = secs_left(state.until, now);
            if state.left == 0 {
                self.mode = Mode::Browse;
            }
        }
    }
}
