//! The health rules, as pure functions of what a listing knows (and, for `weak`, the
//! value while it is in memory). Each returns why a secret is flagged, or `None`.
//!
//! The wording is for the person reading `tresor check` or the TUI's status line: it
//! names sizes, days and key names, never a value or a part of one.

use crate::vault::SecretType;

const DAY: i64 = 86_400;
/// "Remove Unused Secrets": not read for this long, and at least this old.
pub const UNUSED_AFTER_DAYS: i64 = 90;
/// zxcvbn costs about 1 ms for 16 characters and 10 ms for 32 on the development
/// machine, growing with the length: only the start of a value is estimated.
pub const ESTIMATE_CHARS: usize = 24;
/// From this length on, a value that looks random (see `looks_random`) is strong
/// without asking zxcvbn: 24 random characters from even the 16 hex digits are 96 bits.
const RANDOM_FROM: usize = 24;
/// zxcvbn scores 0–4; below 3 is "guessable" (under about 10^10 guesses).
const MIN_SCORE: u8 = 3;

/// Placeholders and defaults that turn up as real values.
const WELL_KNOWN: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "password",
    "passw0rd",
    "secret",
    "admin",
    "root",
    "test",
    "testing",
    "example",
    "default",
    "dummy",
    "todo",
    "placeholder",
    "xxx",
    "xxxx",
    "123456",
    "12345678",
    "letmein",
    "qwerty",
    "postgres",
    "mysql",
    "guest",
    "your-api-key",
    "your_api_key",
    "insert-key-here",
];

/// Keys that say nothing about what they are for.
const GENERIC_NAMES: &[&str] = &[
    "KEY",
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASS",
    "PWD",
    "API_KEY",
    "APIKEY",
    "API_TOKEN",
    "API_SECRET",
    "SECRET_KEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "ACCESS_TOKEN",
    "AUTH",
    "AUTH_TOKEN",
    "CREDENTIAL",
    "CREDENTIALS",
    "VALUE",
    "URL",
];

/// The shortest value that is not "short", by type.
fn min_len(kind: SecretType) -> Option<usize> {
    match kind {
        SecretType::Password | SecretType::ConnectionString => Some(12),
        SecretType::ApiKey | SecretType::Token | SecretType::Credential => Some(20),
        // Certificates and keys are not passwords; "Other" holds ports, regions, flags.
        SecretType::Certificate | SecretType::Other => None,
    }
}

/// Whether a type's values are judged for strength and reuse at all. "Other" is where
/// configuration that is not secret lives (ports, regions, feature flags): the same
/// `LOG_LEVEL=info` in every environment is not a problem.
pub fn is_judged(kind: SecretType) -> bool {
    min_len(kind).is_some()
}

/// Why a value is weak, if it is: short for its type, a well-known value, or guessable
/// by zxcvbn's estimate. Connection strings are judged by their password alone; PEM
/// blocks and JSON credential files are not judged.
pub fn weak(kind: SecretType, value: &[u8]) -> Option<String> {
    let min = min_len(kind)?;
    let text = std::str::from_utf8(value).ok();
    if let Some(t) = text {
        let head = t.trim_start();
        if head.starts_with("-----BEGIN ") || head.starts_with('{') {
            return None;
        }
    }
    let (what, judged): (&str, &[u8]) = if kind == SecretType::ConnectionString {
        match text.and_then(url_password) {
            Some(p) => ("the password in this connection string", p.as_bytes()),
            None => return None,
        }
    } else {
        ("the value", value)
    };
    let Ok(candidate) = std::str::from_utf8(judged) else {
        // Binary: only its length can be judged.
        return (judged.len() < min).then(|| format!("{what} is {} bytes long", judged.len()));
    };
    let chars = candidate.chars().count();
    let lower = candidate.trim().to_ascii_lowercase();
    if WELL_KNOWN.contains(&lower.as_str()) {
        return Some(format!("{what} is a well-known default"));
    }
    if chars < min {
        return Some(format!(
            "{what} has {chars} characters (at least {min} for {})",
            type_words(kind)
        ));
    }
    if let Some(why) = simple_pattern(candidate) {
        return Some(format!("{what} {why}"));
    }
    if chars >= RANDOM_FROM && looks_random(candidate) {
        return None;
    }
    let head: String = candidate.chars().take(ESTIMATE_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&head, &[]);
    let score = u8::from(estimate.score());
    (score < MIN_SCORE).then(|| {
        format!(
            "{what} is guessable (about 10^{:.0} guesses)",
            estimate.guesses_log10()
        )
    })
}

/// Patterns found in one pass, before (and instead of) zxcvbn: a few characters
/// repeated, one chunk repeated, or only digits.
fn simple_pattern(text: &str) -> Option<&'static str> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut distinct: Vec<char> = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() * 4 <= n.min(32) {
        return Some("repeats a few characters");
    }
    for period in 1..=n / 2 {
        if n.is_multiple_of(period) && (period..n).all(|i| chars[i] == chars[i - period]) {
            return Some("is one chunk repeated");
        }
    }
    if chars.iter().all(char::is_ascii_digit) && n < 20 {
        return Some("is only digits");
    }
    None
}

/// Whether a value has the spread of characters random generation gives: at least
/// 70 % of the distinct characters expected from its alphabet, and no run of four
/// that counts up or down (`1234`, `abcd`), which human-made values are full of.
fn looks_random(text: &str) -> bool {
    let chars: Vec<char> = text.chars().take(256).collect();
    let n = chars.len() as f64;
    let has = |f: fn(&char) -> bool| chars.iter().any(f);
    let pool = [
        (has(char::is_ascii_lowercase), 26.0),
        (has(char::is_ascii_uppercase), 26.0),
        (has(char::is_ascii_digit), 10.0),
        (has(|c| !c.is_ascii_alphanumeric()), 32.0),
    ]
    .iter()
    .filter(|(present, _)| *present)
    .map(|(_, size)| size)
    .sum::<f64>();
    // Hex is digits and a–f only: its alphabet is 16, not 36.
    let pool = if chars.iter().all(char::is_ascii_hexdigit) {
        16.0
    } else {
        pool
    };
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let expected = pool * (1.0 - (-n / pool).exp());
    let sequence = chars.windows(4).any(|w| {
        let step = |a: char, b: char| b as i64 - a as i64;
        let d = step(w[0], w[1]);
        d.abs() == 1 && step(w[1], w[2]) == d && step(w[2], w[3]) == d
    });
    distinct.len() as f64 >= 0.7 * expected && !sequence
}

fn type_words(kind: SecretType) -> &'static str {
    match kind {
        SecretType::ApiKey => "an API key",
        SecretType::Token => "a token",
        SecretType::Password => "a password",
        SecretType::ConnectionString => "a connection string's password",
        SecretType::Credential => "a credential",
        SecretType::Certificate | SecretType::Other => "this type",
    }
}

/// The password part of `scheme://user:password@host/…`, if there is one.
pub fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// Why a value is stale: unchanged for longer than the environment's rotation period.
pub fn stale(value_changed: i64, now: i64, rotate_days: u16) -> Option<String> {
    let days = (now - value_changed).max(0) / DAY;
    (days > i64::from(rotate_days))
        .then(|| format!("value unchanged for {days} days (rotate every {rotate_days})"))
}

/// Why a secret is unused: older than the window and not read within it. `last_read`
/// is the newest read in the audit log, if any.
pub fn unused(created: i64, last_read: Option<i64>, now: i64) -> Option<String> {
    let window = UNUSED_AFTER_DAYS * DAY;
    if now - created < window {
        return None; // Too new to tell.
    }
    match last_read {
        Some(t) if now - t < window => None,
        Some(t) => Some(format!("last read {} days ago", (now - t) / DAY)),
        None => Some(format!("not read in the last {UNUSED_AFTER_DAYS} days")),
    }
}

pub fn undocumented(description: &str) -> Option<String> {
    description
        .trim()
        .is_empty()
        .then(|| "no description: say what it is for and how to get a new one".to_string())
}

/// Why a key is badly named: not UPPERCASE_WITH_UNDERSCORES, or too generic to tell
/// what it is for.
pub fn badly_named(key: &str) -> Option<String> {
    let upper_snake = key.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !upper_snake {
        let suggestion = key.to_ascii_uppercase().replace(['-', '.', ' '], "_");
        return Some(format!("not UPPERCASE_WITH_UNDERSCORES (try {suggestion})"));
    }
    if GENERIC_NAMES.contains(&key.trim_matches('_')) {
        return Some("too generic: name what it is for, e.g. STRIPE_API_KEY".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn short_well_known_and_guessable_values_are_weak() {
        let weak_pw = |v: &str| weak(SecretType::Password, v.as_bytes());
        assert!(weak_pw("hunter2").unwrap().contains("7 characters"));
        assert!(weak_pw("changeme").unwrap().contains("well-known"));
        assert!(
            weak_pw("passwordpassword")
                .unwrap()
                .contains("one chunk repeated")
        );
        let why = weak_pw("aaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        assert!(why.contains("a few characters"), "{why}");
        assert!(weak_pw("Password2024!").unwrap().contains("guessable"));
        assert_eq!(weak_pw("vX7#qL9!mZ2@wR4$"), None);
        // An API key is held to a longer minimum than a password.
        assert!(
            weak(SecretType::ApiKey, b"sk_live_0123")
                .unwrap()
                .contains("at least 20")
        );
        assert_eq!(
            weak(SecretType::ApiKey, b"sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            None
        );
    }

    #[test]
    fn a_connection_string_is_judged_by_its_password_alone() {
        let url = |u: &str| weak(SecretType::ConnectionString, u.as_bytes());
        let why = url("postgres://app:hunter2@db.internal:5432/app").unwrap();
        assert!(why.contains("password in this connection string"), "{why}");
        assert!(!why.contains("hunter2"));
        // A long URL with a strong password is fine, however plain the rest of it is.
        assert_eq!(url("postgres://app:Xk9#mQ2$vL7!pW4@db.internal/app"), None);
        // No password: nothing to judge.
        assert_eq!(url("redis://cache.internal:6379/0"), None);
        assert_eq!(url_password("postgres://u:p%40ss@h/db"), Some("p%40ss"));
        assert_eq!(url_password("postgres://u@h/db"), None);
    }

    #[test]
    fn certificates_json_credentials_and_other_values_are_not_judged() {
        let pem = b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
        assert_eq!(weak(SecretType::Certificate, pem), None);
        assert_eq!(weak(SecretType::Password, pem), None);
        assert_eq!(
            weak(SecretType::Credential, b"{\"private_key\":\"x\"}"),
            None
        );
        assert_eq!(weak(SecretType::Other, b"8080"), None);
        assert!(!is_judged(SecretType::Other));
        // Binary values are judged by their length.
        assert!(
            weak(SecretType::Token, &[0, 255, 254])
                .unwrap()
                .contains("3 bytes")
        );
    }

    #[test]
    fn a_long_value_is_estimated_on_its_start_only() {
        // 100 KiB must not cost zxcvbn's quadratic time; a long repetition is caught
        // by the one-pass patterns.
        let long: String = "ab".repeat(50_000);
        let why = weak(SecretType::Token, long.as_bytes()).unwrap();
        assert!(why.contains("repeats a few characters"), "{why}");
        let long: String = "xK9#mQ2$vL7!pW4zR8@tN5&".repeat(3_000);
        assert!(
            weak(SecretType::Token, long.as_bytes())
                .unwrap()
                .contains("one chunk")
        );
    }

    #[test]
    fn random_looking_values_skip_the_estimate_and_human_patterns_do_not() {
        // Generated tokens: base62, hex, with symbols.
        for token in [
            "Qm7vXk2pLr9sT4wZ8nB3cF6hJ1dG5yE0",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "xK9#mQ2$vL7!pW4zR8@tN5&e",
        ] {
            assert!(looks_random(token), "{token}");
            assert_eq!(weak(SecretType::Token, token.as_bytes()), None);
        }
        // Long, but made by a person: zxcvbn judges these.
        for human in ["passwordpassword1234567890", "Summer2024Summer2024!!xyz"] {
            assert!(!looks_random(human), "{human}");
        }
        assert!(weak(SecretType::Password, b"passwordpassword1234567890").is_some());
        assert!(
            weak(SecretType::Password, b"000000000000")
                .unwrap()
                .contains("a few characters")
        );
        assert!(
            weak(SecretType::Password, b"5550123456789")
                .unwrap()
                .contains("only digits")
        );
    }

    #[test]
    fn stale_after_the_environments_rotation_period() {
        assert_eq!(stale(NOW - 30 * DAY, NOW, 90), None);
        assert_eq!(stale(NOW - 90 * DAY, NOW, 90), None);
        let why = stale(NOW - 91 * DAY, NOW, 90).unwrap();
        assert_eq!(why, "value unchanged for 91 days (rotate every 90)");
        assert!(stale(NOW - 31 * DAY, NOW, 30).is_some());
    }

    #[test]
    fn unused_only_once_old_enough_and_unread_for_90_days() {
        // Created 10 days ago, never read: too new to call unused.
        assert_eq!(unused(NOW - 10 * DAY, None, NOW), None);
        assert_eq!(
            unused(NOW - 200 * DAY, None, NOW).unwrap(),
            "not read in the last 90 days"
        );
        assert_eq!(unused(NOW - 200 * DAY, Some(NOW - 5 * DAY), NOW), None);
        assert_eq!(
            unused(NOW - 200 * DAY, Some(NOW - 120 * DAY), NOW).unwrap(),
            "last read 120 days ago"
        );
    }

    #[test]
    fn undocumented_means_no_description() {
        assert!(undocumented("").is_some());
        assert!(undocumented("  \n").is_some());
        assert_eq!(undocumented("primary database"), None);
    }

    #[test]
    fn names_must_be_upper_snake_and_say_what_they_are_for() {
        assert_eq!(badly_named("STRIPE_API_KEY_FOR_PRODUCTION"), None);
        assert_eq!(badly_named("_INTERNAL_2"), None);
        assert!(
            badly_named("stripe_key")
                .unwrap()
                .contains("try STRIPE_KEY")
        );
        assert!(badly_named("StripeKey").is_some());
        for generic in ["KEY", "SECRET", "TOKEN", "PASSWORD", "API_KEY"] {
            assert!(
                badly_named(generic).unwrap().contains("too generic"),
                "{generic}"
            );
        }
    }
}
