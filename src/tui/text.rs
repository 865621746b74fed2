//! Small pure text helpers of the TUI: making strings safe to draw, normalising pastes,
//! generating values, estimating passphrase strength, and formatting times.

use chrono::{DateTime, Local, TimeZone};
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
