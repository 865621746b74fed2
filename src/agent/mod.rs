//! The agent: unlock once per session, like ssh-agent or gpg-agent.
//!
//! `tresor unlock` starts one agent process per user (`server`), which holds the data
//! keys of the vaults unlocked through it, by vault id, in locked, non-dumpable memory
//! (`memory`), and forgets each after a time without use. Commands and the Secrets
//! screen ask it first (`client`); a key it hands out is checked against the file by
//! `vault::held` before use, so a `rekey` or a removed key slot makes it stale.
//!
//! Why it hands out the key instead of decrypting on request: any process of the same
//! user can ask either kind for every value, so decrypting inside the agent protects no
//! value from that user; it would need its own copy of every read path and of the
//! integrity checks, where a second copy is a second place to get them wrong. The agent
//! therefore stores 32 bytes per vault and knows nothing of the file.
//!
//! It knows nothing of terminals or the screen (`tests/architecture.rs`).

pub mod client;
mod memory;
mod protocol;
pub mod server;
mod socket;

use std::time::Duration;

pub use client::AgentError;

use crate::vault::Vault;

/// `TRESOR_AGENT=1`: the first passphrase prompt of any command starts the agent and
/// hands it the key; `0` never asks it, even when it runs.
pub const ENABLE_ENV: &str = "TRESOR_AGENT";
/// How long an unused key is held: seconds, or a number with `s`, `m` or `h`.
pub const TIMEOUT_ENV: &str = "TRESOR_AGENT_TIMEOUT";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// What `TRESOR_AGENT` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Never ask the agent (`TRESOR_AGENT=0`).
    Off,
    /// Use a running agent; do not start one.
    IfRunning,
    /// Start the agent at the first prompt (`TRESOR_AGENT=1`).
    Start,
}

impl Mode {
    pub fn from_env() -> Mode {
        match std::env::var(ENABLE_ENV).as_deref() {
            Ok("0") | Ok("off") | Ok("no") => Mode::Off,
            Ok("1") | Ok("on") | Ok("yes") => Mode::Start,
            _ => Mode::IfRunning,
        }
    }
}

/// After a passphrase unlocked `vault`: hands its key to the agent when `mode` says so,
/// starting the agent for [`Mode::Start`]. `Ok(false)`: not handed (agent off or not
/// running, or a format-1 vault). Recorded in the audit log.
pub fn offer(vault: &Vault, mode: Mode) -> Result<bool, AgentError> {
    let Some(held) = vault.held_key() else {
        return Ok(false);
    };
    match mode {
        Mode::Off => return Ok(false),
        Mode::IfRunning => match client::status() {
            Ok(_) => {}
            Err(AgentError::NotRunning) => return Ok(false),
            Err(e) => return Err(e),
        },
        Mode::Start => client::start(timeout_from_env().map_err(AgentError::Start)?)?,
    }
    client::hold(held)?;
    vault.note_held();
    Ok(true)
}

/// The idle timeout from `TRESOR_AGENT_TIMEOUT`, or the default; an unreadable value is
/// an error that names the variable (never a silent default).
pub fn timeout_from_env() -> Result<Duration, String> {
    match std::env::var(TIMEOUT_ENV) {
        Err(_) => Ok(DEFAULT_TIMEOUT),
        Ok(text) if text.trim().is_empty() => Ok(DEFAULT_TIMEOUT),
        Ok(text) => parse_timeout(&text).ok_or_else(|| {
            format!("{TIMEOUT_ENV}={text} is not a duration: write seconds, or e.g. 90s, 15m, 1h")
        }),
    }
}

/// `900`, `90s`, `15m`, `1h`; at least one second, at most a day.
pub fn parse_timeout(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, 's') => (&text[..i], 1),
        (i, 'm') => (&text[..i], 60),
        (i, 'h') => (&text[..i], 3600),
        _ => (text, 1),
    };
    let secs = number.trim().parse::<u64>().ok()?.checked_mul(unit)?;
    (1..=24 * 3600)
        .contains(&secs)
        .then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_people_write_them() {
        assert_eq!(parse_timeout("900"), Some(Duration::from_secs(900)));
        assert_eq!(parse_timeout("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_timeout("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_timeout(" 1h "), Some(Duration::from_secs(3600)));
        for bad in [
            "",
            "m",
            "0",
            "-5",
            "1.5m",
            "2d",
            "25h",
            "99999999999999999999",
        ] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }
}
