//! Talking to the agent: for commands, the Secrets screen and completions.
//!
//! Before a key goes to the agent or comes from it, the folder and the socket must be
//! this user's alone and the process answering must run as this user (its uid from
//! the kernel): a socket planted by someone else gets no key and gives none. Every call
//! has a short timeout, so a stuck agent costs a moment, never a hang.

use std::io::{self, BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::Duration;

use super::protocol::{self, RESPONSE_LEN, Request, Response};
use super::socket;
use crate::vault::HeldKey;

const CALL_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no agent is running")]
    NotRunning,
    /// The socket or its folder could be someone else's: not used.
    #[error("not using the agent's socket: {0}")]
    Unsafe(String),
    #[error("the agent could not be reached: {0}")]
    Io(#[from] io::Error),
    #[error("the agent gave an answer tresor does not understand")]
    Protocol,
    #[error("the agent refused: it holds as many vaults as it can")]
    Full,
    #[error("the agent did not start: {0}")]
    Start(String),
}

/// What `tresor lock` and the tests see of a running agent.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub keys: u32,
    pub pid: u32,
}

/// A checked connection to the running agent.
fn connect() -> Result<UnixStream, AgentError> {
    let dir = socket::dir();
    let path = dir.join(socket::SOCKET_NAME);
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(AgentError::NotRunning);
    }
    socket::check_dir(&dir).map_err(AgentError::Unsafe)?;
    socket::check_socket(&path).map_err(AgentError::Unsafe)?;
    let stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        // A socket left by an agent that was killed.
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            return Err(AgentError::NotRunning);
        }
        Err(e) => return Err(e.into()),
    };
    let server = socket::peer_uid(&stream)?;
    if server != socket::uid() {
        return Err(AgentError::Unsafe(format!(
            "the process behind {} runs as uid {server}",
            path.display()
        )));
    }
    stream.set_read_timeout(Some(CALL_TIMEOUT))?;
    stream.set_write_timeout(Some(CALL_TIMEOUT))?;
    Ok(stream)
}

fn call(request: &Request, vault_id: [u8; 16]) -> Result<Response, AgentError> {
    let mut stream = connect()?;
    stream.write_all(&protocol::encode_request(request)[..])?;
    let mut buf = zeroize::Zeroizing::new([0u8; RESPONSE_LEN]);
    stream.read_exact(&mut buf[..])?;
    protocol::decode_response(&buf, vault_id).ok_or(AgentError::Protocol)
}

/// The key the agent holds for this vault, if it does.
pub fn fetch(vault_id: &[u8; 16]) -> Result<Option<HeldKey>, AgentError> {
    match call(&Request::Get(*vault_id), *vault_id)? {
        Response::Key(held) => Ok(Some(held)),
        Response::NotHeld => Ok(None),
        _ => Err(AgentError::Protocol),
    }
}

/// Hands a vault's key to the running agent.
pub fn hold(held: HeldKey) -> Result<(), AgentError> {
    let id = held.vault_id;
    match call(&Request::Hold(held), id)? {
        Response::Done => Ok(()),
        Response::Refused => Err(AgentError::Full),
        _ => Err(AgentError::Protocol),
    }
}

/// Makes the agent forget a vault's key at once. `Ok(false)`: it held none.
pub fn forget(vault_id: &[u8; 16]) -> Result<bool, AgentError> {
    match call(&Request::Forget(*vault_id), *vault_id)? {
        Response::Done => Ok(true),
        Response::NotHeld => Ok(false),
        _ => Err(AgentError::Protocol),
    }
}

/// Makes the agent forget every key and exit.
pub fn stop() -> Result<(), AgentError> {
    match call(&Request::Stop, [0; 16])? {
        Response::Done => Ok(()),
        _ => Err(AgentError::Protocol),
    }
}

pub fn status() -> Result<Status, AgentError> {
    match call(&Request::Status, [0; 16])? {
        Response::Status { keys, pid } => Ok(Status { keys, pid }),
        _ => Err(AgentError::Protocol),
    }
}

/// Starts the agent (`tresor agent serve`) unless one runs, and waits until it listens.
/// It keeps running after this process exits, in its own session.
pub fn start(timeout: Duration) -> Result<(), AgentError> {
    match status() {
        Ok(_) => return Ok(()),
        Err(AgentError::NotRunning) => {}
        Err(e) => return Err(e),
    }
    let mut command =
        crate::detached::tresor_command().map_err(|e| AgentError::Start(e.to_string()))?;
    command
        .args(["agent", "serve", "--timeout"])
        .arg(timeout.as_secs().to_string())
        // The agent needs neither credentials nor the vault's place.
        .env_remove("TRESOR_KEYFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command
        .spawn()
        .map_err(|e| AgentError::Start(e.to_string()))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        // Blocks until the agent listens, or has exited (EOF).
        let _ = io::BufReader::new(out).read_line(&mut line);
    }
    match line.trim() {
        "ready" | "running" => Ok(()),
        "" => {
            let _ = child.wait();
            Err(AgentError::Start("it exited without a word".into()))
        }
        other => {
            let _ = child.wait();
            Err(AgentError::Start(
                other.strip_prefix("error: ").unwrap_or(other).to_string(),
            ))
        }
    }
}
