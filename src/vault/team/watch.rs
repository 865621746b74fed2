//! Watching a team vault for changes, for a screen that stays open (the TUI): a
//! connection of its own that `LISTEN`s for the head moving (`server::notify_changed`)
//! and checks the head's version now and then, falling back to checking it every second
//! when notifications cannot arrive (`LISTEN` turned off, or a connection pooler that
//! drops them), and reconnecting with back-off when the server goes away.
//!
//! The watcher holds no key: it knows the server's address and the vault's blind id, and
//! only ever says "something may have changed". What changed is found by an ordinary
//! sync (`Vault::team_sync`), which verifies everything as a command's would. No
//! terminal code here; the TUI runs a watcher on a thread of its own (`tui::live`).

use super::server::Column;
use std::thread::sleep;
use std::time::{Duration, Instant};

use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;

use super::keys::TeamId;
use super::{Held, head_writer, hex, open_member, server};
use crate::vault::error::Result;
use crate::vault::{Vault, crypto};

/// How often the head is checked when notifications cannot arrive.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often it is checked anyway while listening (a notification lost on the way).
pub const CHECK_WHILE_LISTENING: Duration = Duration::from_secs(5);
/// How long a fresh `LISTEN` may take to hear its own probe before polling takes over.
const PROBE_WAIT: Duration = Duration::from_secs(2);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// Where to watch: the server and the vault's blind id. No key material.
#[derive(Debug, Clone)]
pub struct WatchTarget {
    pub url: String,
    pub team: TeamId,
}

/// What a watcher has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The head moved, or may have (a notification, a new version, a reconnect): sync.
    Changed,
    /// The head was checked and had not moved since the last event.
    Unchanged,
    /// The server cannot be reached (the reason); retried with back-off.
    Offline(String),
}

/// Who moved the head this replica last synced to, and when (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastChange {
    pub by: String,
    pub at: i64,
    /// The change was made by this member (from another of their replicas).
    pub mine: bool,
}

/// A connection that watches one team vault. [`Watcher::next`] blocks for at most
/// about the time it is given (a connection attempt may take up to its 5 s timeout).
pub struct Watcher {
    target: WatchTarget,
    listen: bool,
    conn: Option<Client>,
    /// `LISTEN` is on and its probe came back.
    listening: bool,
    /// The head's version at the last check.
    version: Option<u64>,
    next_check: Instant,
    retry_at: Instant,
    backoff: Duration,
}

impl Vault {
    /// What a watcher needs to follow this replica's team vault; `None` for a vault that
    /// is not a team vault.
    pub fn team_watch_target(&self) -> Result<Option<WatchTarget>> {
        Ok(self.team_load()?.map(|sc| WatchTarget {
            url: sc.url.clone(),
            team: sc.team,
        }))
    }

    /// Who wrote the head this replica last applied: asks the server for the head, and
    /// answers only if it is the very head the replica verified when it synced (same
    /// version, same hash), then opens the writer's member record under the vault key.
    /// `None` when the server moved on since, or the vault is not a team vault.
    pub fn team_last_change(&self) -> Result<Option<LastChange>> {
        let Some(sc) = self.team_load()? else {
            return Ok(None);
        };
        let mut client = server::connect(&sc.url)?;
        let Some((version, head)) = server::head(&mut *client, &sc.team)? else {
            return Ok(None);
        };
        if version != sc.seen_version
            || !crypto::same(&super::records::head_hash(&head)?, &sc.seen_hash)
        {
            return Ok(None);
        }
        let held = Held::from_sidecar(&sc)?;
        let (writer, time) = head_writer(&held.vk, &sc.team, &head)?;
        let row = client
            .query_opt(
                "SELECT sealed FROM tresor_members WHERE vault = $1 AND member = $2",
                &[&&sc.team[..], &&writer[..]],
            )
            .map_err(server::db_error)?;
        let by = match row {
            Some(r) => {
                let sealed: Vec<u8> = r.col(0)?;
                open_member(&held.vk, &sc.team, sc.epoch, &writer, &sealed)?
                    .name()
                    .to_string()
            }
            None => "a removed member".into(),
        };
        Ok(Some(LastChange {
            by,
            at: time,
            mine: writer == sc.member,
        }))
    }
}

impl Watcher {
    /// `listen`: try `LISTEN` (otherwise only poll, as behind a pooler that drops
    /// notifications). Nothing is connected until the first [`Watcher::next`].
    pub fn new(target: WatchTarget, listen: bool) -> Watcher {
        let now = Instant::now();
        Watcher {
            target,
            listen,
            conn: None,
            listening: false,
            version: None,
            next_check: now,
            retry_at: now,
            backoff: FIRST_RETRY,
        }
    }

    /// Whether changes arrive by notification (else by polling the head).
    pub fn listening(&self) -> bool {
        self.conn.is_some() && self.listening
    }

    /// Waits up to `wait` for something to say. `None`: nothing happened in that time.
    pub fn next(&mut self, wait: Duration) -> Option<WatchEvent> {
        let now = Instant::now();
        if self.conn.is_none() {
            if now < self.retry_at {
                sleep(wait.min(self.retry_at - now));
                return None;
            }
            return Some(self.connect());
        }
        let until = (now + wait).min(self.next_check);
        let left = until.saturating_duration_since(now);
        if self.listening {
            match self.wait_for_notification(left) {
                // Read the new version now, so the next check does not report it again.
                Ok(true) => {
                    return match self.check() {
                        WatchEvent::Offline(why) => Some(WatchEvent::Offline(why)),
                        _ => Some(WatchEvent::Changed),
                    };
                }
                Ok(false) => {}
                Err(why) => return Some(self.lost(why)),
            }
        } else {
            sleep(left);
        }
        if Instant::now() >= self.next_check {
            return Some(self.check());
        }
        None
    }

    fn connect(&mut self) -> WatchEvent {
        // Its own connection, held for as long as the screen is open: never the one a
        // command hands back for reuse.
        let mut client = match super::connection::connect(&self.target.url) {
            Ok(c) => c,
            Err(e) => return self.offline(e.to_string()),
        };
        self.listening = self.listen && start_listening(&mut client).unwrap_or(false);
        self.conn = Some(client);
        self.backoff = FIRST_RETRY;
        // Whatever happened while away: the caller syncs once.
        match self.check() {
            WatchEvent::Offline(why) => WatchEvent::Offline(why),
            _ => WatchEvent::Changed,
        }
    }

    /// Reads the head's version: a new one is a change.
    fn check(&mut self) -> WatchEvent {
        let Some(client) = self.conn.as_mut() else {
            return WatchEvent::Offline("not connected".into());
        };
        let version = match server::head(client, &self.target.team) {
            Ok(head) => head.map(|(v, _)| v),
            Err(e) => return self.lost(e.to_string()),
        };
        self.next_check = Instant::now()
            + if self.listening {
                CHECK_WHILE_LISTENING
            } else {
                POLL_EVERY
            };
        if std::mem::replace(&mut self.version, version) == version {
            WatchEvent::Unchanged
        } else {
            WatchEvent::Changed
        }
    }

    /// Blocks up to `timeout` on the connection; true when this vault's head moved.
    fn wait_for_notification(&mut self, timeout: Duration) -> std::result::Result<bool, String> {
        let Some(client) = self.conn.as_mut() else {
            return Err("not connected".into());
        };
        let ours = hex(&self.target.team);
        let mut changed = false;
        {
            let mut notifications = client.notifications();
            match notifications.timeout_iter(timeout).next() {
                Ok(Some(n)) => changed |= is_ours(&n, &ours),
                Ok(None) => {}
                Err(e) => {
                    return Err(format!(
                        "the team server cannot be reached: {}",
                        server::error_text(&e)
                    ));
                }
            }
            // Whatever else already arrived, without waiting.
            let mut pending = notifications.iter();
            while let Ok(Some(n)) = pending.next() {
                changed |= is_ours(&n, &ours);
            }
        }
        if client.is_closed() {
            return Err("the team server closed the connection".into());
        }
        Ok(changed)
    }

    fn lost(&mut self, why: String) -> WatchEvent {
        self.conn = None;
        self.listening = false;
        self.offline(why)
    }

    fn offline(&mut self, why: String) -> WatchEvent {
        self.retry_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(LAST_RETRY);
        WatchEvent::Offline(why)
    }
}

fn is_ours(n: &postgres::Notification, ours: &str) -> bool {
    n.channel() == server::CHANGED_CHANNEL && n.payload() == ours
}

/// `LISTEN`s on the change channel, then checks that notifications reach this
/// connection: a probe sent on a channel of its own must come back. Behind a pooler in
/// transaction mode the `LISTEN` stays on a server connection that is no longer ours,
/// the probe never arrives, and the watcher polls instead.
fn start_listening(client: &mut Client) -> std::result::Result<bool, postgres::Error> {
    let probe = match crypto::random_bytes::<8>() {
        Ok(b) => format!("tresor_probe_{}", hex(&b)),
        Err(_) => return Ok(false),
    };
    client.batch_execute(&format!(
        "LISTEN {}; LISTEN {probe}; NOTIFY {probe}",
        server::CHANGED_CHANNEL
    ))?;
    let deadline = Instant::now() + PROBE_WAIT;
    let heard = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        match client.notifications().timeout_iter(left).next()? {
            Some(n) if n.channel() == probe => break true,
            Some(_) => continue,
            None => break false,
        }
    };
    if heard {
        client.batch_execute(&format!("UNLISTEN {probe}"))?;
    } else {
        client.batch_execute("UNLISTEN *")?;
    }
    Ok(heard)
}
