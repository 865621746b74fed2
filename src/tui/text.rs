//! Small pure text helpers of the TUI: making strings safe to draw, normalising pastes,
//! generating values, estimating passphrase strength, and formatting times.

use chrono::{DateTime, Local, TimeZone};

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
/// terminals differ in what a pasted line break is.
pub fn paste_multi_line(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// A paste into a single-line field: line breaks are dropped, other control characters
/// too (a key or description never holds them).
pub fn paste_single_line(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The alphabet of generated values: letters, digits and symbols that survive a shell,
/// a .env file and a URL query without quoting surprises.
pub const GENERATED_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+=@%";
pub const GENERATED_LEN: usize = 32;

/// A strong random value from the OS RNG (via orion). Rejection sampling keeps every
/// character equally likely (a plain `byte % len` would favour the first ones).
pub fn generate_value(len: usize) -> Result<String, orion::errors::UnknownCryptoError> {
    let n = GENERATED_ALPHABET.len();
    let limit = 256 - (256 % n); // largest multiple of n that fits in a byte
    let mut out = String::with_capacity(len);
    let mut pool = zeroize::Zeroizing::new([0u8; 64]);
    while out.len() < len {
        orion::util::secure_rand_bytes(&mut pool[..])?;
        for &b in pool.iter() {
            if (b as usize) < limit && out.len() < len {
                out.push(GENERATED_ALPHABET[b as usize % n] as char);
            }
        }
    }
    Ok(out)
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
        assert_eq!(paste_multi_line("a\r\nb\rc\nd"), "a\nb\nc\nd");
        assert_eq!(paste_single_line("KEY\r\n\tX\n"), "KEYX");
    }

    #[test]
    fn generated_values_use_the_alphabet_and_differ() {
        let a = generate_value(GENERATED_LEN).unwrap();
        let b = generate_value(GENERATED_LEN).unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| GENERATED_ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn generator_is_roughly_uniform() {
        let mut counts = [0usize; 256];
        let sample = generate_value(70_000).unwrap();
        for b in sample.bytes() {
            counts[b as usize] += 1;
        }
        let expected = 70_000 / GENERATED_ALPHABET.len();
        for &c in GENERATED_ALPHABET {
            let n = counts[c as usize];
            assert!(
                n > expected * 8 / 10 && n < expected * 12 / 10,
                "{} {n}",
                c as char
            );
        }
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
