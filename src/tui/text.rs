//! Small pure text helpers of the TUI: making strings safe to draw, fitting them to a
//! width, normalising pastes, estimating passphrase strength, and formatting times and
//! paths.

use std::borrow::Cow;
use std::path::Path;

use chrono::{DateTime, Local, TimeZone};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
use zeroize::Zeroizing;

/// Replaces every control character (ESC, CR, TAB, NUL…) with U+FFFD so that text
/// imported from elsewhere can never drive the terminal.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// `text` cut to `width` columns, ending in `…` when it did not fit, so a cut is never
/// mistaken for the whole text.
pub fn ellipsis(text: &str, width: usize) -> Cow<'_, str> {
    if text.width() <= width {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(width + 3);
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

/// How many lines `text` takes when wrapped at word boundaries to `width` columns (a
/// word longer than the width is broken): popups are sized to what they hold.
pub fn wrapped_lines(text: &str, width: usize) -> usize {
    if text.is_empty() {
        return 0;
    }
    let width = width.max(1);
    let mut lines = 1;
    let mut used = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let w = word.width();
        let needed = if used == 0 { w } else { used + 1 + w };
        if needed <= width {
            used = needed;
        } else if used == 0 {
            lines += (w - 1) / width;
            used = (w - 1) % width + 1;
        } else {
            lines += 1 + (w.max(1) - 1) / width;
            used = (w.max(1) - 1) % width + 1;
        }
    }
    lines
}

/// A path as the user knows it: under their home folder it starts with `~`.
pub fn home_relative(path: &Path, home: Option<&Path>) -> String {
    let shown = match home.filter(|h| h.is_absolute() && h.parent().is_some()) {
        Some(home) => match path.strip_prefix(home) {
            Ok(rest) if rest.as_os_str().is_empty() => "~".to_string(),
            Ok(rest) => format!("~/{}", rest.to_string_lossy()),
            Err(_) => path.to_string_lossy().into_owned(),
        },
        None => path.to_string_lossy().into_owned(),
    };
    printable(&shown)
}

/// A paste into a multi-line field (the value): CRLF and lone CR become LF, because
/// terminals differ in what a pasted line break is. One buffer, sized once and wiped.
pub fn paste_multi_line(text: &str) -> Zeroizing<String> {
    crate::vault::dotenv::lf_line_ends(text)
}

/// A paste into a single-line field: line breaks are dropped, other control characters
/// too (a key or description never holds them). One buffer, sized once and wiped.
pub fn paste_single_line(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    out.extend(text.chars().filter(|c| !c.is_control()));
    out
}

/// How hard a passphrase is to guess, as a word for the create-vault screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    Weak,
    Fair,
    Strong,
}

impl Strength {
    pub fn label(self) -> &'static str {
        match self {
            Strength::Weak => "weak",
            Strength::Fair => "fair",
            Strength::Strong => "strong",
        }
    }
}

/// A rough entropy estimate: length × log2(size of the character classes used). It
/// overrates dictionary words, which is why the thresholds are conservative.
pub fn entropy_bits(pass: &str) -> f64 {
    let mut pool = 0u32;
    let has = |f: fn(&char) -> bool| pass.chars().any(|c| f(&c));
    if has(char::is_ascii_lowercase) {
        pool += 26;
    }
    if has(char::is_ascii_uppercase) {
        pool += 26;
    }
    if has(char::is_ascii_digit) {
        pool += 10;
    }
    if has(|c| c.is_ascii_punctuation() || *c == ' ') {
        pool += 33;
    }
    if has(|c| !c.is_ascii()) {
        pool += 100;
    }
    if pool == 0 {
        return 0.0;
    }
    pass.chars().count() as f64 * f64::from(pool).log2()
}

pub fn strength(pass: &str) -> Strength {
    match entropy_bits(pass) {
        b if b < 45.0 => Strength::Weak,
        b if b < 75.0 => Strength::Fair,
        _ => Strength::Strong,
    }
}

/// A date as the Created column shows it.
pub fn date(unix: i64) -> String {
    match Local.timestamp_opt(unix, 0).single() {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => DateTime::from_timestamp(unix, 0)
            .map_or_else(|| "?".into(), |t| t.format("%Y-%m-%d").to_string()),
    }
}

/// The local time of day, hours and minutes.
pub fn time(unix: i64) -> String {
    match Local.timestamp_opt(unix, 0).single() {
        Some(t) => t.format("%H:%M").to_string(),
        None => DateTime::from_timestamp(unix, 0)
            .map_or_else(|| "?".into(), |t| t.format("%H:%M").to_string()),
    }
}

/// How long ago a value last changed, in one short unit: the rotation hint.
pub fn age(now: i64, then: i64) -> String {
    let secs = (now - then).max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    if h < 1 {
        format!("{m}m")
    } else if h < 48 {
        format!("{h}h")
    } else if d < 730 {
        format!("{d}d")
    } else {
        format!("{}y", d / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsis_cuts_to_the_width_and_says_so() {
        assert_eq!(ellipsis("short", 10), "short");
        assert_eq!(ellipsis("exactly10!", 10), "exactly10!");
        assert_eq!(ellipsis("a longer description", 10), "a longer …");
        // A wide character that would straddle the edge is left out whole.
        assert_eq!(ellipsis("鍵の説明です", 6), "鍵の…");
        assert_eq!(ellipsis("abc", 0), "");
    }

    #[test]
    fn wrapped_lines_counts_word_wrapped_lines() {
        assert_eq!(wrapped_lines("", 10), 0);
        assert_eq!(wrapped_lines("one two", 10), 1);
        assert_eq!(wrapped_lines("one two three", 10), 2);
        assert_eq!(wrapped_lines("abcdefghijklmnopqrstuvwxy", 10), 3);
    }

    #[test]
    fn paths_under_home_start_with_a_tilde() {
        let home = Path::new("/home/ada");
        let vault = Path::new("/home/ada/.local/share/tresor/vault.tresor");
        assert_eq!(
            home_relative(vault, Some(home)),
            "~/.local/share/tresor/vault.tresor"
        );
        assert_eq!(
            home_relative(Path::new("/home/adam/v"), Some(home)),
            "/home/adam/v"
        );
        assert_eq!(
            home_relative(vault, Some(Path::new("/"))),
            vault.to_str().unwrap()
        );
        assert_eq!(home_relative(vault, None), vault.to_str().unwrap());
    }

    #[test]
    fn control_characters_never_survive() {
        assert_eq!(printable("A\x1b[2JB\tC"), "A\u{FFFD}[2JB\u{FFFD}C");
        assert_eq!(printable("ключ 🔑"), "ключ 🔑");
    }

    #[test]
    fn pastes_are_normalised() {
        assert_eq!(*paste_multi_line("a\r\nb\rc\nd\r"), "a\nb\nc\nd\n");
        assert_eq!(*paste_single_line("KEY\r\n\tX\n"), "KEYX");
    }

    #[test]
    fn strength_words() {
        assert_eq!(strength("hunter2"), Strength::Weak);
        assert_eq!(strength("Summer2024"), Strength::Fair);
        assert_eq!(strength("correct horse battery staple"), Strength::Strong);
    }

    #[test]
    fn ages() {
        assert_eq!(age(1000, 1000), "0m");
        assert_eq!(age(3 * 3600, 0), "3h");
        assert_eq!(age(12 * 86_400 + 5, 0), "12d");
        assert_eq!(age(800 * 86_400, 0), "2y");
    }
}
