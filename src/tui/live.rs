//! Live updates of a team replica while the Secrets screen is open: a thread runs a
//! `vault::team::watch::Watcher` (its own connection, no key) and passes what it hears
//! to the event loop, which hands it to `App::update` as `Action::Live`. A change is
//! synced and the table reloaded at once when nothing is open over it; with a form or
//! popup open it waits until that closes, so an edit in progress is never overwritten.
//! Also the header's "shared · …" words (`SyncView`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crate::vault::team::watch::{WatchEvent, WatchTarget, Watcher};
use crate::vault::team::{SyncReport, age_text};

use super::action::Action;
use super::app::{App, Mode};
use super::keymap::{self, ModeKind};

/// How long "changed by bob, reloaded" stays in the header.
pub const CHANGED_SHOWN_FOR: i64 = 10;
/// How long the watcher thread blocks at most before looking at its stop flag.
const THREAD_WAIT: Duration = Duration::from_millis(250);

/// What the watcher thread tells the app (an `Action::Live`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// The team vault may have changed: sync and reload.
    Changed,
    /// The server's head was checked and had not moved.
    Unchanged,
    /// The server cannot be reached (why); the watcher retries with back-off.
    Offline(String),
}

impl From<WatchEvent> for LiveEvent {
    fn from(e: WatchEvent) -> LiveEvent {
        match e {
            WatchEvent::Changed => LiveEvent::Changed,
            WatchEvent::Unchanged => LiveEvent::Unchanged,
            WatchEvent::Offline(why) => LiveEvent::Offline(why),
        }
    }
}

/// Where the replica stands, as the header says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    /// The replica matches the server's head as of `SyncView::synced_at`.
    Synced,
    /// Another member's change was just synced and the table reloaded (`who`: their
    /// name, `None` when it could not be told; `at`: when it was reloaded).
    Changed { who: Option<String>, at: i64 },
    /// The server cannot be reached: the data is as of `synced_at`.
    Offline,
    /// A member was removed and the vault rekeyed: `r` fetches the new keys with the
    /// identity (`team_identity`), as `tresor remote sync` does.
    Rekeyed,
    /// An environment was shared with this member since: `r` fetches its key likewise.
    KeysWaiting,
    /// The server's data failed verification (the status line says why).
    Refused,
    /// The vault was rekeyed without this member: an admin removed it.
    Removed,
}

/// The header's view of a team replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncView {
    pub state: SyncState,
    /// When the replica last matched the server (Unix seconds).
    pub synced_at: i64,
    /// A change arrived while something was open over the table: synced on close.
    pub pending: bool,
}

impl SyncView {
    /// `shared · synced 3 s ago`, `shared · offline · data from 12 min ago`, …
    pub fn text(&self, now: i64) -> String {
        let state = match &self.state {
            _ if self.pending => "changed · reloads when this closes".to_string(),
            SyncState::Changed { who, at } if now - at < CHANGED_SHOWN_FOR => match who {
                Some(who) => format!("changed by {who}, reloaded"),
                None => "changed by someone, reloaded".to_string(),
            },
            SyncState::Synced | SyncState::Changed { .. } => {
                format!("synced {} ago", age_text(now - self.synced_at))
            }
            SyncState::Offline => {
                format!("offline · data from {} ago", age_text(now - self.synced_at))
            }
            SyncState::Rekeyed => format!("rekeyed: {} fetches the new keys", reload_key()),
            SyncState::KeysWaiting => format!("new environment: {} fetches its key", reload_key()),
            SyncState::Refused => "server data refused".to_string(),
            SyncState::Removed => "you were removed from it".to_string(),
        };
        format!("shared · {state}")
    }

    /// Whether the header should draw attention to it.
    pub fn is_warning(&self) -> bool {
        matches!(
            self.state,
            SyncState::Offline
                | SyncState::Rekeyed
                | SyncState::KeysWaiting
                | SyncState::Refused
                | SyncState::Removed
        )
    }
}

/// The key that fetches the keys the replica lacks (it reloads otherwise).
fn reload_key() -> String {
    keymap::hint(ModeKind::Browse, Action::Reload)
}

/// The watcher thread, stopped (within `THREAD_WAIT`) when dropped.
pub struct Live {
    events: Receiver<LiveEvent>,
    stop: Arc<AtomicBool>,
}

impl Live {
    /// Starts watching; `listen`: use LISTEN/NOTIFY (else poll the head every second).
    pub fn start(target: WatchTarget, listen: bool) -> Live {
        let (tx, events) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        // A thread that cannot start leaves the screen as it was before live updates:
        // the idle reload still shows what this machine changes.
        let _ = std::thread::Builder::new()
            .name("tresor-live".into())
            .spawn(move || {
                let mut watcher = Watcher::new(target, listen);
                while !flag.load(Ordering::Relaxed) {
                    if let Some(event) = watcher.next(THREAD_WAIT)
                        && tx.send(event.into()).is_err()
                    {
                        return;
                    }
                }
            });
        Live { events, stop }
    }

    /// What arrived since the last call, without waiting.
    pub fn take(&self) -> Vec<LiveEvent> {
        self.events.try_iter().collect()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `TRESOR_LISTEN=0` (or no, false, off): poll the head instead of LISTEN, for a
/// connection pooler that drops notifications.
pub fn listen_from_env() -> bool {
    !matches!(
        std::env::var("TRESOR_LISTEN")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
            .as_str(),
        "0" | "no" | "false" | "off"
    )
}

impl App {
    /// On a team replica: the header's sync state from what the replica remembers, and
    /// the watcher thread (unless `watch` is false: tests drive the events themselves).
    pub fn start_live(&mut self, watch: bool) {
        self.live = None;
        self.sync = None;
        let Some(vault) = &self.vault else { return };
        if !vault.is_team() {
            return;
        }
        let synced_at = vault.team_status().map(|s| s.synced_at).unwrap_or(0);
        self.sync = Some(SyncView {
            state: SyncState::Synced,
            synced_at,
            pending: false,
        });
        if watch && let Ok(Some(target)) = vault.team_watch_target() {
            self.live = Some(Live::start(target, listen_from_env()));
        }
    }

    /// What the watcher thread sent since the last call (for the event loop).
    pub fn live_events(&self) -> Vec<LiveEvent> {
        self.live.as_ref().map(Live::take).unwrap_or_default()
    }

    /// Nothing is open whose state a reload could pull from under it (the Members
    /// screen without a popup: its list is read again when it next loads).
    fn can_reload_now(&self) -> bool {
        match &self.mode {
            Mode::Browse | Mode::Filter | Mode::Help { .. } => true,
            Mode::Members(m) => m.popup.is_none(),
            _ => false,
        }
    }

    pub(super) fn on_live(&mut self, event: LiveEvent) {
        let now = self.clock.now();
        let reload_now = self.can_reload_now();
        let Some(sync) = &mut self.sync else { return };
        match event {
            LiveEvent::Changed if !reload_now => {
                if !sync.pending {
                    sync.pending = true;
                    self.info("the team vault changed: the table reloads when this closes");
                }
            }
            LiveEvent::Changed => self.sync_now(),
            LiveEvent::Unchanged => {
                if !sync.pending && matches!(sync.state, SyncState::Synced | SyncState::Offline) {
                    sync.state = SyncState::Synced;
                }
                if !sync.pending
                    && !matches!(
                        sync.state,
                        SyncState::Rekeyed
                            | SyncState::KeysWaiting
                            | SyncState::Refused
                            | SyncState::Removed
                    )
                {
                    sync.synced_at = now;
                }
            }
            LiveEvent::Offline(why) => {
                if sync.state != SyncState::Offline {
                    sync.state = SyncState::Offline;
                    let age = age_text(now - sync.synced_at);
                    self.warn(format!("{why}; showing the local copy, synced {age} ago"));
                }
            }
        }
    }

    /// After every update: a change that waited for a popup is synced once it closed.
    pub(super) fn live_after_update(&mut self) {
        if self.sync.as_ref().is_some_and(|s| s.pending) && self.can_reload_now() {
            self.sync_now();
        }
    }

    /// `r` on a team replica asks the server first, without waiting for the watcher;
    /// not while the watcher finds it unreachable (a connection attempt could hold up
    /// the keys for its whole timeout, and the watcher syncs as soon as it is back).
    pub(super) fn sync_for_reload(&mut self) {
        if self
            .sync
            .as_ref()
            .is_some_and(|s| s.state != SyncState::Offline)
        {
            self.sync_now();
        }
    }

    /// Brings the replica up to the server's head and reloads the table; the selection
    /// follows its key (`App::load`).
    fn sync_now(&mut self) {
        let now = self.clock.now();
        let Some(vault) = &self.vault else { return };
        let result = vault.team_sync();
        let who = match &result {
            Ok(Some(SyncReport::Updated { .. })) => Some(
                vault
                    .team_last_change()
                    .ok()
                    .flatten()
                    .map(|c| if c.mine { "you".to_string() } else { c.by }),
            ),
            _ => None,
        };
        // The Members screen shows the list as it is now too (the change may have been
        // this replica's own, made from another terminal: nothing new to apply).
        let reached = matches!(
            result,
            Ok(Some(SyncReport::Current | SyncReport::Updated { .. }))
        );
        let Some(sync) = &mut self.sync else { return };
        sync.pending = false;
        match result {
            Ok(Some(SyncReport::Current)) => {
                // Keys still waiting stay said until `r` fetches them.
                if !matches!(
                    sync.state,
                    SyncState::Changed { .. } | SyncState::KeysWaiting
                ) {
                    sync.state = SyncState::Synced;
                }
                sync.synced_at = now;
            }
            Ok(Some(SyncReport::Updated { .. })) => {
                sync.state = SyncState::Changed {
                    who: who.flatten(),
                    at: now,
                };
                sync.synced_at = now;
                self.load();
                if self
                    .vault
                    .as_ref()
                    .is_some_and(|v| v.team_keys_waiting().unwrap_or(false))
                    && !self.fetch_keys_with_keyfile()
                {
                    self.note_keys_waiting();
                }
            }
            Ok(Some(SyncReport::Offline { age, .. })) => {
                sync.state = SyncState::Offline;
                sync.synced_at = now - age;
            }
            Ok(Some(SyncReport::Removed)) => {
                sync.state = SyncState::Removed;
                self.error(&crate::vault::team::removed());
            }
            Ok(Some(SyncReport::Rekeyed)) => {
                sync.state = SyncState::Rekeyed;
                if !self.fetch_keys_with_keyfile() {
                    self.warn(format!(
                        "a member was removed: press {} to fetch the new keys with your identity",
                        reload_key()
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => {
                sync.state = SyncState::Refused;
                self.error(&e);
            }
        }
        if reached {
            self.reload_open_members();
        }
    }
}
