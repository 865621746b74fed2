//! Hidden input on the terminal, for values and passphrases, pasted or typed.
//!
//! A line-based prompt stores only the first line of a pasted PEM key and leaves the
//! other lines in the terminal's input queue, where the shell runs them. This one puts
//! /dev/tty in raw mode and asks for bracketed paste, so a paste arrives marked and is
//! kept whole, line breaks included; Enter or Ctrl-D typed outside a paste ends the
//! input, Ctrl-C cancels, Backspace and Ctrl-U edit. Nothing is echoed. On every way out
//! (including an error or a panic) the terminal's settings come back and whatever is
//! still queued is read and discarded, so nothing is left for the shell.
//!
//! A terminal that does not mark pastes sends the lines as if typed: the first line
//! break ends the input. When more input follows at once, that was a paste, and the
//! whole input is refused rather than storing its first line.
//!
//! termios is driven through libc rather than crossterm's event reader, which hands a
//! paste over as a `String` copied through buffers it does not wipe (and replaces bytes
//! that are not UTF-8); here every byte goes from a wiped stack buffer to one
//! `Zeroizing` buffer allocated once at its final size.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use zeroize::{Zeroize, Zeroizing};

use super::CliError;
use crate::vault::{SecretValue, validate};

/// A passphrase longer than this is certainly a wrong paste.
const MAX_PASSPHRASE_BYTES: usize = 4096;

/// Input that follows Enter within this time was sent together with it (a paste).
const PASTE_GAP: Duration = Duration::from_millis(60);

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// A secret value: every byte of a paste is kept (a terminal's CR line breaks become
/// LF, as the copied text had them); Enter ends the input and is not part of it.
pub fn value(question: &str) -> Result<SecretValue, CliError> {
    let value = read_hidden(question, validate::MAX_VALUE_BYTES)?;
    if value.len() > validate::MAX_VALUE_BYTES {
        return Err(CliError::msg(
            "secret value is too large (more than 1 MiB): nothing was stored",
        ));
    }
    Ok(value)
}

/// A passphrase is one line: a pasted line break at its end (a triple-click copies one)
/// is dropped; one inside it is refused, since no prompt could have typed it.
pub fn passphrase(question: &str) -> Result<SecretString, CliError> {
    let mut input = read_hidden(question, MAX_PASSPHRASE_BYTES)?;
    if input.len() > MAX_PASSPHRASE_BYTES {
        return Err(CliError::msg(format!(
            "the passphrase is longer than {MAX_PASSPHRASE_BYTES} bytes; nothing was changed"
        )));
    }
    if input.ends_with(b"\n") {
        input.pop();
    }
    if input.contains(&b'\n') {
        return Err(CliError::msg(
            "the passphrase holds a line break (a paste of several lines?); a passphrase is one line",
        ));
    }
    let text = std::str::from_utf8(&input)
        .map_err(|_| CliError::msg("the passphrase is not valid UTF-8 text"))?;
    Ok(SecretString::from(text))
}

/// What the input loop decided.
enum End {
    Done,
    Cancelled,
    /// More input came right after Enter: an unmarked multi-line paste.
    TrailingInput,
    Closed,
}

/// Raw mode plus bracketed paste on /dev/tty, undone on drop.
struct RawTty {
    tty: File,
    saved: libc::termios,
}

impl RawTty {
    fn open() -> std::io::Result<RawTty> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")?;
        let fd = tty.as_raw_fd();
        // SAFETY: termios is plain data; tcgetattr fills it for a valid descriptor.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd is open for the lifetime of `tty`; `saved` is a valid out-pointer.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut raw = saved;
        // No echo, no line editing, no signals from Ctrl-C/Ctrl-Z (handled here), CR kept
        // as CR, no flow control eating Ctrl-S/Ctrl-Q. Output processing stays on.
        raw.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
        raw.c_iflag &= !(libc::ICRNL | libc::INLCR | libc::IGNCR | libc::IXON | libc::ISTRIP);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        // SAFETY: as above, with a termios derived from the current one.
        if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &raw) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut guard = RawTty { tty, saved };
        guard.tty.write_all(b"\x1b[?2004h")?;
        guard.tty.flush()?;
        Ok(guard)
    }

    /// Waits up to `wait` for input; reads what is there into `buf`.
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> std::io::Result<Option<usize>> {
        let mut fds = libc::pollfd {
            fd: self.tty.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut fds, 1, millis) };
        if ready < 0 {
            let err = std::io::Error::last_os_error();
            return if err.kind() == std::io::ErrorKind::Interrupted {
                Ok(None)
            } else {
                Err(err)
            };
        }
        if ready == 0 {
            return Ok(None);
        }
        self.tty.read(buf).map(Some)
    }

    /// Reads and throws away input until none has come for a while (a paste still
    /// arriving), then drops whatever the kernel still queues.
    fn discard_pending(&mut self) {
        let mut junk = [0u8; 4096];
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            match self.read_within(&mut junk, Duration::from_millis(150)) {
                Ok(Some(n)) if n > 0 => continue,
                _ => break,
            }
        }
        junk.zeroize();
        // SAFETY: valid descriptor; only discards queued input.
        unsafe { libc::tcflush(self.tty.as_raw_fd(), libc::TCIFLUSH) };
    }
}

impl Drop for RawTty {
    fn drop(&mut self) {
        let _ = self.tty.write_all(b"\x1b[?2004l");
        let _ = self.tty.flush();
        // SAFETY: restores the settings read in `open` on the same descriptor. TCSAFLUSH
        // also drops any input still queued, so the shell gets none of it.
        unsafe { libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSAFLUSH, &self.saved) };
    }
}

/// Reads hidden input of at most `limit` bytes (one more is kept to tell "too long").
fn read_hidden(question: &str, limit: usize) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let cannot = |e: std::io::Error| CliError::msg(format!("cannot read from the terminal: {e}"));
    let mut tty = RawTty::open().map_err(cannot)?;
    tty.tty
        .write_all(question.as_bytes())
        .and_then(|()| tty.tty.flush())
        .map_err(cannot)?;
    let mut input = Input::new(limit);
    let mut chunk = Zeroizing::new([0u8; 4096]);
    let end = loop {
        let n = match tty.read_within(&mut chunk[..], Duration::from_secs(3600)) {
            Ok(Some(0)) => break End::Closed,
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(e) => return Err(cannot(e)),
        };
        if let Some(end) = input.feed(&chunk[..n]) {
            break end;
        }
    };
    let end = match end {
        // Anything sent together with Enter, or right after it, was pasted.
        End::Done if input.after_end > 0 => End::TrailingInput,
        End::Done => match tty.read_within(&mut chunk[..], PASTE_GAP) {
            Ok(Some(n)) if n > 0 => End::TrailingInput,
            _ => End::Done,
        },
        other => other,
    };
    // The question's line ends here, whatever comes next.
    let _ = tty.tty.write_all(b"\n");
    match end {
        End::Done => {}
        End::TrailingInput => {
            tty.discard_pending();
            return Err(CliError::msg(
                "more lines arrived after Enter: this terminal pasted several lines without marking the paste, so nothing was stored; pipe the value instead (`tresor add KEY < file`)",
            ));
        }
        End::Cancelled => {
            tty.discard_pending();
            return Err(CliError::msg("cancelled at the prompt: nothing was stored"));
        }
        End::Closed => {
            return Err(CliError::msg(
                "the terminal closed before the input ended: nothing was stored",
            ));
        }
    }
    drop(tty);
    Ok(input.take())
}

/// The editing state: the input so far and where the escape-sequence parser stands.
struct Input {
    buf: Zeroizing<Vec<u8>>,
    /// One more than the limit: the caller tells "too long" from "exactly the limit".
    cap: usize,
    overflow: bool,
    pasting: bool,
    /// Bytes of an escape sequence seen so far (at most a few).
    esc: Zeroizing<Vec<u8>>,
    /// The last pasted byte was a CR turned into LF (so an LF after it is the same break).
    after_cr: bool,
    /// Bytes that came in the same read after Enter.
    after_end: usize,
}

impl Input {
    fn new(limit: usize) -> Input {
        let cap = limit + 1;
        Input {
            buf: Zeroizing::new(Vec::with_capacity(cap)),
            cap,
            overflow: false,
            pasting: false,
            esc: Zeroizing::new(Vec::with_capacity(16)),
            after_cr: false,
            after_end: 0,
        }
    }

    fn take(mut self) -> Zeroizing<Vec<u8>> {
        if self.overflow {
            // A length past the limit tells the caller; the rest was never kept.
            self.buf.resize(self.cap, 0);
        }
        std::mem::take(&mut self.buf)
    }

    fn push(&mut self, b: u8) {
        if self.buf.len() < self.cap {
            self.buf.push(b);
        } else {
            self.overflow = true;
        }
    }

    /// Handles one chunk of terminal input; `Some` once the input is over.
    fn feed(&mut self, bytes: &[u8]) -> Option<End> {
        for (i, &b) in bytes.iter().enumerate() {
            if let Some(end) = self.byte(b) {
                if matches!(end, End::Done) {
                    self.after_end = bytes.len() - i - 1;
                }
                return Some(end);
            }
        }
        None
    }

    fn byte(&mut self, b: u8) -> Option<End> {
        if !self.esc.is_empty() || b == 0x1b {
            self.esc.push(b);
            return self.escape();
        }
        if self.pasting {
            self.pasted(b);
            return None;
        }
        match b {
            b'\r' | b'\n' | 0x04 => return Some(End::Done),
            0x03 => return Some(End::Cancelled),
            0x7f | 0x08 => self.backspace(),
            0x15 => self.buf.clear(),
            b'\t' => self.push(b),
            // Other control keys mean nothing here.
            0..=0x1f => {}
            _ => self.push(b),
        }
        None
    }

    /// A byte inside a paste: kept, with a terminal's CR (or CR LF) line break as LF.
    fn pasted(&mut self, b: u8) {
        match b {
            b'\r' => {
                self.push(b'\n');
                self.after_cr = true;
            }
            b'\n' if self.after_cr => self.after_cr = false,
            _ => {
                self.push(b);
                self.after_cr = false;
            }
        }
    }

    /// Advances the escape sequence in `self.esc` (which starts with ESC).
    fn escape(&mut self) -> Option<End> {
        let seq = &self.esc[..];
        if self.pasting {
            if PASTE_END.starts_with(seq) {
                if seq.len() == PASTE_END.len() {
                    self.pasting = false;
                    self.after_cr = false;
                    self.esc.clear();
                }
                return None;
            }
            // Not the end marker: those bytes were pasted text.
            let seq = std::mem::take(&mut self.esc);
            let (last, head) = seq.split_last()?;
            for &b in head {
                self.pasted(b);
            }
            return self.byte(*last);
        }
        if PASTE_START.starts_with(seq) {
            if seq.len() == PASTE_START.len() {
                self.pasting = true;
                self.after_cr = false;
                self.esc.clear();
            }
            return None;
        }
        match seq {
            [0x1b] => None,
            // CSI: parameters then a final byte in 0x40..=0x7e; SS3: one more byte.
            [0x1b, b'[', .., last] if (0x40..=0x7e).contains(last) => {
                self.esc.clear();
                None
            }
            [0x1b, b'['] | [0x1b, b'[', ..] if seq.len() < 16 => None,
            [0x1b, b'O'] => None,
            [0x1b, b'O', _] => {
                self.esc.clear();
                None
            }
            // ESC then an ordinary key (Esc pressed, or Alt+key): the key counts alone.
            [0x1b, b] => {
                let b = *b;
                self.esc.clear();
                self.byte(b)
            }
            _ => {
                self.esc.clear();
                None
            }
        }
    }

    /// Removes the last character (all bytes of a UTF-8 sequence).
    fn backspace(&mut self) {
        while let Some(b) = self.buf.pop() {
            if b & 0xc0 != 0x80 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(input: &[u8]) -> (Vec<u8>, bool) {
        let mut i = Input::new(64);
        let done = matches!(i.feed(input), Some(End::Done));
        (i.take().to_vec(), done)
    }

    #[test]
    fn a_paste_keeps_its_line_breaks_and_enter_ends() {
        let (v, done) = feed(b"\x1b[200~a\rb\r\nc\n\x1b[201~\r");
        assert!(done);
        assert_eq!(v, b"a\nb\nc\n");
    }

    #[test]
    fn backspace_removes_a_whole_character_and_arrows_are_ignored() {
        let (v, _) = feed("abä\x7f\x1b[D\x1bOAx\r".as_bytes());
        assert_eq!(v, b"abx");
    }

    #[test]
    fn an_escape_inside_a_paste_that_is_not_the_end_is_kept() {
        let (v, _) = feed(b"\x1b[200~a\x1b[31mb\x1b[201~\r");
        assert_eq!(v, b"a\x1b[31mb");
    }

    #[test]
    fn input_past_the_limit_is_reported_too_long() {
        let mut i = Input::new(4);
        i.feed(b"\x1b[200~123456789\x1b[201~\r");
        assert_eq!(i.take().len(), 5);
    }
}
