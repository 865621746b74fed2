//! The clipboard, through the terminal: OSC 52, which works over SSH and inside tmux
//! (`set-clipboard on`), with no display server and no helper program.
//!
//! Setting sends `ESC ] 52 ; c ; base64 BEL`. Inside tmux the plain sequence is the one
//! that reaches tmux's paste buffer (tmux forwards it to the outer terminal itself);
//! wrapping it in tmux's passthrough would skip the buffer. Clearing sends the same
//! sequence with nothing in it, which terminals take as "clear" — but tmux ignores an
//! empty one and keeps the value in its buffer list, so inside tmux the buffers that hold
//! the copied value are also deleted (`tmux delete-buffer`), found by a keyed hash: the
//! clearer keeps a [`Mark`], never the value.
//!
//! Used by `tresor get --copy` (a detached clearer process: `tresor clipboard-clear`)
//! and the TUI's `c` (its own timer, then the same clearing).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use zeroize::Zeroizing;

use crate::vault::crypto;

/// How long a copied value stays, unless `TRESOR_CLIP_SECONDS` says otherwise.
pub const DEFAULT_SECONDS: u64 = 30;
/// The longest `TRESOR_CLIP_SECONDS` accepted.
pub const MAX_SECONDS: u64 = 86_400;

/// The sequence that puts `value` on the clipboard.
pub fn set_sequence(value: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len().div_ceil(3) * 4 + 10));
    out.push_str("\x1b]52;c;");
    base64::engine::general_purpose::STANDARD.encode_string(value, &mut out);
    out.push('\x07');
    out
}

/// The sequence that clears the clipboard (an empty selection); inside tmux, also the
/// same wrapped in tmux's passthrough for the outer terminal (ignored unless tmux allows
/// passthrough), since tmux does not forward an empty one.
pub fn clear_sequence(in_tmux: bool) -> &'static str {
    if in_tmux {
        "\x1b]52;c;\x07\x1bPtmux;\x1b\x1b]52;c;\x07\x1b\\"
    } else {
        "\x1b]52;c;\x07"
    }
}

/// Whether this process runs inside tmux.
pub fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

/// How long to keep a copied value, from `TRESOR_CLIP_SECONDS`.
pub fn seconds_from_env() -> Result<u64, String> {
    match std::env::var("TRESOR_CLIP_SECONDS") {
        Err(_) => Ok(DEFAULT_SECONDS),
        Ok(s) => match s.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_SECONDS).contains(&n) => Ok(n),
            _ => Err(format!(
                "TRESOR_CLIP_SECONDS must be a whole number of seconds from 1 to {MAX_SECONDS} (got `{}`)",
                s.escape_debug()
            )),
        },
    }
}

/// What recognises a copied value later without keeping it: a random key and the keyed
/// BLAKE2b of the value under it, and its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Mark {
    key: [u8; 32],
    tag: [u8; 32],
    len: u64,
}

impl std::fmt::Debug for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mark { .. }")
    }
}

const MARK_LEN: usize = 72;

impl Mark {
    pub fn of(value: &[u8]) -> Result<Mark, String> {
        let key = crypto::random_key().map_err(|e| e.to_string())?;
        let tag = crypto::keyed_hash(&key, &[value]).map_err(|e| e.to_string())?;
        Ok(Mark {
            key: *key,
            tag,
            len: value.len() as u64,
        })
    }

    pub fn matches(&self, bytes: &[u8]) -> bool {
        bytes.len() as u64 == self.len
            && crypto::keyed_hash::<32>(&self.key, &[bytes])
                .is_ok_and(|t| crypto::same(&t, &self.tag))
    }

    fn to_bytes(&self) -> Zeroizing<[u8; MARK_LEN]> {
        let mut out = Zeroizing::new([0u8; MARK_LEN]);
        out[..32].copy_from_slice(&self.key);
        out[32..64].copy_from_slice(&self.tag);
        out[64..].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    fn from_bytes(bytes: &[u8; MARK_LEN]) -> Mark {
        let mut m = Mark {
            key: [0; 32],
            tag: [0; 32],
            len: 0,
        };
        m.key.copy_from_slice(&bytes[..32]);
        m.tag.copy_from_slice(&bytes[32..64]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[64..]);
        m.len = u64::from_be_bytes(len);
        m
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.key.zeroize();
    }
}

/// Inside tmux: deletes every paste buffer holding the marked value. Returns how many.
pub fn forget_in_tmux(mark: &Mark) -> usize {
    let Ok(list) = Command::new("tmux")
        .args(["list-buffers", "-F", "#{buffer_name} #{buffer_size}"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return 0;
    };
    let mut deleted = 0;
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let Some((name, size)) = line.rsplit_once(' ') else {
            continue;
        };
        if size.parse::<u64>().ok() != Some(mark.len) {
            continue;
        }
        let Ok(shown) = Command::new("tmux")
            .args(["show-buffer", "-b", name])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        else {
            continue;
        };
        let bytes = Zeroizing::new(shown.stdout);
        if mark.matches(&bytes)
            && Command::new("tmux")
                .args(["delete-buffer", "-b", name])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        {
            deleted += 1;
        }
    }
    deleted
}

/// Clears now: the clearing sequence to `terminal`, and tmux's copies.
pub fn clear(terminal: &mut dyn Write, mark: &Mark) -> std::io::Result<()> {
    let tmux = in_tmux();
    if tmux {
        forget_in_tmux(mark);
    }
    terminal.write_all(clear_sequence(tmux).as_bytes())?;
    terminal.flush()
}

/// The controlling terminal, where OSC 52 goes (stdout may be a pipe).
pub fn terminal() -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/tty")
        .map_err(|e| format!("--copy needs a terminal to send the value to ({e})"))
}

/// `tresor get --copy`: puts the value on the terminal's clipboard and leaves a detached
/// process that clears it after `seconds`, so the shell prompt comes back at once (as
/// `pass -c` does). The clearer gets only a [`Mark`], on a pipe; it writes to the same
/// terminal, in its own session so that closing the shell's job does not stop it early.
pub fn copy_and_clear_later(
    mut tty: std::fs::File,
    value: &[u8],
    seconds: u64,
) -> Result<(), String> {
    let mark = Mark::of(value)?;
    let out = tty
        .try_clone()
        .map_err(|e| format!("cannot start the clearer: {e}"))?;
    let mut command =
        crate::detached::tresor_command().map_err(|e| format!("cannot start the clearer: {e}"))?;
    command
        .args(["clipboard-clear", "--after", &seconds.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::from(out))
        .stderr(Stdio::null());
    // The clearer starts first: a value never sits on the clipboard without one.
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start the clearer: {e}"))?;
    let handed = child
        .stdin
        .take()
        .ok_or_else(|| "cannot start the clearer: no pipe".to_string())
        .and_then(|mut pipe| {
            pipe.write_all(&mark.to_bytes()[..])
                .map_err(|e| format!("cannot start the clearer: {e}"))
        });
    if let Err(e) = handed {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    tty.write_all(set_sequence(value).as_bytes())
        .and_then(|()| tty.flush())
        .map_err(|e| format!("cannot write to the terminal: {e}"))
}

/// The detached clearer (`tresor clipboard-clear --after N`): reads a mark from stdin,
/// waits, clears through stdout (the terminal it was given).
pub fn run_clearer(after: u64) -> i32 {
    let mut bytes = Zeroizing::new([0u8; MARK_LEN]);
    if std::io::stdin().read_exact(&mut bytes[..]).is_err() {
        return 1;
    }
    let mark = Mark::from_bytes(&bytes);
    std::thread::sleep(Duration::from_secs(after.min(MAX_SECONDS)));
    match clear(&mut std::io::stdout().lock(), &mark) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_osc_52_with_base64() {
        assert_eq!(&*set_sequence(b"hello"), "\x1b]52;c;aGVsbG8=\x07");
        assert_eq!(&*set_sequence(b""), "\x1b]52;c;\x07");
        // Newlines and escapes travel inside base64: nothing reaches the terminal raw.
        let seq = set_sequence(b"a\nb\x1b[31m");
        assert!(!seq[7..seq.len() - 1].contains(['\n', '\x1b']));
    }

    #[test]
    fn a_mark_recognises_its_value_only() {
        let mark = Mark::of(b"s3cret").unwrap();
        assert!(mark.matches(b"s3cret"));
        assert!(!mark.matches(b"s3cres"));
        assert!(!mark.matches(b"s3cret "));
        let again = Mark::from_bytes(&mark.to_bytes());
        assert!(again.matches(b"s3cret"));
    }

    #[test]
    fn clearing_outside_tmux_is_the_empty_selection() {
        assert_eq!(clear_sequence(false), "\x1b]52;c;\x07");
        assert!(clear_sequence(true).starts_with("\x1b]52;c;\x07"));
    }
}
