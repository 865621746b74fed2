//! Where values are written: the rule for a terminal, and private files.
//!
//! A terminal acts on control characters: an escape sequence in a value can recolour or
//! clear the screen, set the window title, move the cursor to rewrite what was shown, or,
//! on some terminals, answer back into the input. So a value printed to a terminal may
//! hold text, line breaks and tabs, but no other control character unless the user asks
//! with `--raw`. A pipe or a file gets every byte.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::CliError;

/// The first thing in `bytes` a terminal would act on, named for a message; `None` when
/// the bytes are plain text (line breaks and tabs allowed).
pub fn terminal_hazard(bytes: &[u8]) -> Option<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Stray bytes 0x80-0x9f are C1 controls to a terminal in 8-bit mode.
        return Some("bytes that are not UTF-8 text".into());
    };
    text.chars().find_map(|c| match c {
        '\n' | '\t' => None,
        '\u{1b}' => Some("ESC".into()),
        '\u{7}' => Some("BEL".into()),
        '\r' => Some("CR".into()),
        '\u{8}' => Some("BS".into()),
        '\u{7f}' => Some("DEL".into()),
        c if c.is_control() => Some(format!("U+{:04X}", c as u32)),
        _ => None,
    })
}

/// Refuses `value` of secret `key` for a terminal, with `hint` saying what to do instead.
pub fn check_for_terminal(key: &str, value: &[u8], hint: &str) -> Result<(), CliError> {
    match terminal_hazard(value) {
        None => Ok(()),
        Some(what) => Err(CliError::msg(format!(
            "secret {key} holds a control character ({what}) that a terminal would act on; pass --raw to print it anyway, or {hint}"
        ))),
    }
}

/// Creates `path` readable by its owner only (0600 whatever the umask) and writes
/// `bytes`. It never follows a symbolic link (an attacker's link would otherwise send the
/// secrets to a file of their choosing), refuses an existing file unless `force`, and
/// with `force` replaces only a regular file, making it 0600 before writing.
pub fn write_private_file(path: &Path, bytes: &[u8], force: bool) -> Result<(), CliError> {
    let shown = path.display();
    let mut options = std::fs::OpenOptions::new();
    options
        .write(true)
        .mode(0o600)
        // O_NONBLOCK: a FIFO without a reader fails at once instead of hanging.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    if force {
        options.create(true);
    } else {
        options.create_new(true);
    }
    let file = options.open(path).map_err(|e| match e.raw_os_error() {
        Some(libc::EEXIST) if is_symlink(path) => symlink_error(path),
        Some(libc::EEXIST) => CliError::msg(format!(
            "{shown} already exists: pass --force to replace it"
        )),
        Some(libc::ELOOP) => symlink_error(path),
        _ => CliError::msg(format!("cannot create {shown}: {e}")),
    })?;
    let fail = |e: std::io::Error| CliError::msg(format!("cannot write {shown}: {e}"));
    // Checked on the open handle: what was opened is what gets written.
    let meta = file.metadata().map_err(fail)?;
    if !meta.file_type().is_file() {
        return Err(CliError::msg(format!(
            "{shown} is not a regular file: refusing to write to it"
        )));
    }
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    file.set_len(0).map_err(fail)?;
    write_all(file, bytes).map_err(fail)
}

fn write_all(mut file: File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn symlink_error(path: &Path) -> CliError {
    CliError::msg(format!(
        "{} is a symbolic link: refusing to write through it",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::terminal_hazard;

    #[test]
    fn text_line_breaks_and_tabs_are_safe_controls_are_not() {
        assert_eq!(terminal_hazard("a\n\tb ✓".as_bytes()), None);
        assert_eq!(terminal_hazard(b"a\x1b[2J").as_deref(), Some("ESC"));
        assert_eq!(terminal_hazard(b"a\r\n").as_deref(), Some("CR"));
        assert_eq!(
            terminal_hazard("\u{9b}2J".as_bytes()).as_deref(),
            Some("U+009B")
        );
        assert_eq!(terminal_hazard(b"\x00").as_deref(), Some("U+0000"));
        assert!(terminal_hazard(b"\x9b2J").is_some());
    }
}
