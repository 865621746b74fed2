//! The agent process (`tresor agent serve`, started by `client::start`): a unix socket,
//! one request per connection, from this user only.
//!
//! It answers on its standard output once, `ready` or `error: …`, for the process that
//! started it, then lets go of the terminal (a new session, stdio on /dev/null). It exits
//! on `stop`, when its socket is removed or replaced, and when it has held no key for
//! one idle timeout.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use super::memory::LockedKeys;
use super::protocol::{self, REQUEST_LEN, Request, Response};
use super::{client, socket};

/// How long a connection may take to send its request: a stuck client cannot hold the
/// agent for longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How often an idle agent checks that its socket is still its own.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Runs the agent until it stops. Returns the exit status.
pub fn serve(timeout: Duration) -> i32 {
    let (listener, path, inode, mut keys) = match start() {
        Ok(Some(started)) => started,
        Ok(None) => {
            // Two starts raced: the other one serves.
            println!("running");
            return 0;
        }
        Err(e) => {
            println!("error: {e}");
            return 1;
        }
    };
    let stdout_ok = writeln!(io::stdout(), "ready").and_then(|()| io::stdout().flush());
    detach();
    if stdout_ok.is_err() {
        let _ = std::fs::remove_file(&path);
        return 1;
    }
    let mut idle_since = Instant::now();
    loop {
        let now = Instant::now();
        keys.expire(now, timeout);
        if keys.is_empty() && now.saturating_duration_since(idle_since) >= timeout {
            break;
        }
        if !still_ours(&path, inode) {
            // Another agent took the place, or the folder went: nobody can reach us.
            return 0;
        }
        let deadline = keys
            .next_expiry(timeout)
            .unwrap_or(idle_since + timeout)
            .min(now + CHECK_EVERY);
        if !wait_readable(&listener, deadline.saturating_duration_since(now)) {
            continue;
        }
        let Ok((stream, _)) = listener.accept() else {
            continue;
        };
        idle_since = Instant::now();
        if answer(stream, &mut keys) == Flow::Stop {
            break;
        }
    }
    drop(keys);
    let _ = std::fs::remove_file(&path);
    0
}

type Started = (UnixListener, std::path::PathBuf, u64, LockedKeys);

/// The socket bound in a checked folder, and the locked key store; `None` when an
/// agent already answers there.
fn start() -> io::Result<Option<Started>> {
    let keys = LockedKeys::new()
        .map_err(|e| io::Error::other(format!("cannot lock memory for the keys: {e}")))?;
    let dir = socket::make_dir()?;
    let path = dir.join(socket::SOCKET_NAME);
    if std::fs::symlink_metadata(&path).is_ok() {
        if client::status().is_ok() {
            return Ok(None);
        }
        // Left by an agent that was killed: nobody answers on it.
        std::fs::remove_file(&path)?;
    }
    // The socket is created 0600 (no window in which others could connect).
    // SAFETY: umask only changes this process's file creation mask.
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(&path);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old) };
    let listener = bound?;
    let inode = std::fs::symlink_metadata(&path)?.ino();
    Ok(Some((listener, path, inode, keys)))
}

/// A new session without a terminal, stdio on /dev/null, out of any folder the user
/// may want to remove.
fn detach() {
    // SAFETY: plain syscalls; setsid fails harmlessly when already a session leader.
    unsafe {
        libc::setsid();
    }
    let _ = std::env::set_current_dir("/");
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..=2 {
            // SAFETY: dup2 onto the standard descriptors, which this process owns.
            unsafe {
                libc::dup2(null.as_raw_fd(), fd);
            }
        }
    }
}

fn still_ours(path: &Path, inode: u64) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.ino() == inode)
}

/// Waits until a connection is waiting, or `wait` has passed.
fn wait_readable(listener: &UnixListener, wait: Duration) -> bool {
    let mut fd = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = wait.as_millis().clamp(10, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut fd, 1, ms) > 0 }
}

#[derive(PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// One request, one answer. A peer of another uid gets nothing, not even an answer.
fn answer(mut stream: UnixStream, keys: &mut LockedKeys) -> Flow {
    if !peer_allowed(&stream) {
        return Flow::Go;
    }
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let _ = stream.set_write_timeout(Some(REQUEST_TIMEOUT));
    let mut buf = zeroize::Zeroizing::new([0u8; REQUEST_LEN]);
    if stream.read_exact(&mut buf[..]).is_err() {
        return Flow::Go;
    }
    let now = Instant::now();
    let (response, flow) = match protocol::decode_request(&buf) {
        Some(Request::Get(id)) => (
            keys.get(&id, now).map_or(Response::NotHeld, Response::Key),
            Flow::Go,
        ),
        Some(Request::Hold(held)) => (
            if keys.hold(&held, now) {
                Response::Done
            } else {
                Response::Refused
            },
            Flow::Go,
        ),
        Some(Request::Forget(id)) => (
            if keys.forget(&id) {
                Response::Done
            } else {
                Response::NotHeld
            },
            Flow::Go,
        ),
        Some(Request::Stop) => (Response::Done, Flow::Stop),
        Some(Request::Status) => (
            Response::Status {
                keys: keys.len() as u32,
                pid: std::process::id(),
            },
            Flow::Go,
        ),
        None => (Response::Refused, Flow::Go),
    };
    let _ = stream.write_all(&protocol::encode_response(&response)[..]);
    flow
}

/// Only this user's processes may talk to the agent. Root is refused too: it can read
/// the agent's memory anyway, and refusing it keeps the rule one line long.
fn peer_allowed(stream: &UnixStream) -> bool {
    socket::peer_uid(stream).is_ok_and(|peer| peer == socket::uid())
}
