//! libpq connection strings as text, in both forms: a URL
//! (`postgresql://user:pw@h1:5432,h2/db?key=value&…`) and `key=value …` (values quoted
//! with `'…'`, `\` escaping). One reading of the text, with where each part sits, serves
//! three jobs: hiding the password for display ([`redact_url`]), leaving it out of a
//! join line a newcomer pastes ([`without_password`]), and checking the text before the
//! postgres crate parses it, with errors that name a key but never echo a value.
//!
//! Where the URL's user info ends is the one guess: the password may hold an unencoded
//! `@`, `/` or `?`. It ends at the LAST `@` before the first `/` or `?` that follows the
//! first `@`: the postgres crate's reading (user info up to the first `@`) when the
//! password has no `@`, and RFC 3986's (the last `@` of the authority) when it has.

use std::ops::Range;

/// The keys the postgres crate understands, plus the TLS ones `connection` takes itself.
const KNOWN: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "sslmode",
    "sslnegotiation",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
];

/// libpq keys this client does not take: named in errors (they are not someone's password).
const LIBPQ_ONLY: &[&str] = &[
    "passfile",
    "service",
    "sslpassword",
    "sslcertmode",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslcompression",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslkeylogfile",
    "requirepeer",
    "require_auth",
    "gssencmode",
    "gsslib",
    "gssdelegation",
    "krbsrvname",
    "replication",
    "client_encoding",
    "fallback_application_name",
    "min_protocol_version",
    "max_protocol_version",
];

/// Whether the text is the URL form (else `key=value`).
pub fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// One `key=value` (or URL query parameter) and where it sits in the text.
#[derive(Debug, Clone)]
pub struct Pair {
    pub key: String,
    /// The value, unquoted and unescaped (URL: percent-decoded).
    pub value: String,
    /// The whole `key=value` as written.
    pub whole: Range<usize>,
    /// The value as written (quotes included).
    pub raw_value: Range<usize>,
    /// A quoted value whose closing quote is missing (it runs to the end).
    pub unclosed: bool,
}

/// A word of the text: a pair, or a word with no `=` (part of an unquoted value, often).
#[derive(Debug, Clone)]
pub enum Word {
    Pair(Pair),
    Stray(Range<usize>),
}

impl Word {
    fn whole(&self) -> Range<usize> {
        match self {
            Word::Pair(p) => p.whole.clone(),
            Word::Stray(r) => r.clone(),
        }
    }
}

/// The `key=value` form read leniently: every word, whatever is wrong with it.
pub fn words(text: &str) -> Vec<Word> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut i = 0;
    let mut out = Vec::new();
    let skip_space = |i: &mut usize| {
        while chars.get(*i).is_some_and(|(_, c)| c.is_whitespace()) {
            *i += 1;
        }
    };
    loop {
        skip_space(&mut i);
        if i >= chars.len() {
            return out;
        }
        let start = i;
        while chars
            .get(i)
            .is_some_and(|&(_, c)| c != '=' && !c.is_whitespace())
        {
            i += 1;
        }
        let key_end = i;
        if key_end == start {
            // A lone `=`.
            i += 1;
            out.push(Word::Stray(at(start)..at(i)));
            continue;
        }
        skip_space(&mut i);
        if chars.get(i).is_none_or(|&(_, c)| c != '=') {
            out.push(Word::Stray(at(start)..at(key_end)));
            continue;
        }
        i += 1;
        skip_space(&mut i);
        let value_start = i;
        let quoted = chars.get(i).is_some_and(|&(_, c)| c == '\'');
        if quoted {
            i += 1;
        }
        let mut value = String::new();
        let mut unclosed = false;
        loop {
            let Some(&(_, c)) = chars.get(i) else {
                unclosed = quoted;
                break;
            };
            if c == '\\' {
                if let Some(&(_, n)) = chars.get(i + 1) {
                    value.push(n);
                }
                i += 2;
                continue;
            }
            if quoted && c == '\'' {
                i += 1;
                break;
            }
            if !quoted && c.is_whitespace() {
                break;
            }
            value.push(c);
            i += 1;
        }
        let end = at(i.min(chars.len()));
        out.push(Word::Pair(Pair {
            key: text[at(start)..at(key_end)].to_string(),
            value,
            whole: at(start)..end,
            raw_value: at(value_start)..end,
            unclosed,
        }));
    }
}

/// A URL's parts, by where they sit in the text.
#[derive(Debug)]
pub struct Url {
    /// The user name as written (before `:`), if the URL has user info.
    pub user: Option<Range<usize>>,
    /// The password as written (after `user:`, before the `@`).
    pub password: Option<Range<usize>>,
    /// The host list (`h1:5432,h2`), possibly empty.
    pub hosts: Range<usize>,
    /// `?` and everything after it, split at `&`.
    pub query: Vec<Word>,
    /// Where the `?` is (the text's length when there is none).
    pub query_at: usize,
}

/// The URL form read leniently (`None` if the text is not a URL).
pub fn url(text: &str) -> Option<Url> {
    if !is_url(text) {
        return None;
    }
    let authority = text.find("://")? + 3;
    let rest = &text[authority..];
    let mut user = None;
    let mut password = None;
    let mut host_start = authority;
    if let Some(first_at) = rest.find('@') {
        let end = rest[first_at..]
            .find(['/', '?'])
            .map_or(rest.len(), |e| first_at + e);
        let last_at = rest[..end].rfind('@').unwrap_or(first_at);
        let info = &rest[..last_at];
        match info.find(':') {
            Some(colon) => {
                user = Some(authority..authority + colon);
                password = Some(authority + colon + 1..authority + last_at);
            }
            None => user = Some(authority..authority + last_at),
        }
        host_start = authority + last_at + 1;
    }
    let hosts_end = text[host_start..]
        .find(['/', '?'])
        .map_or(text.len(), |e| host_start + e);
    let query_at = text[hosts_end..]
        .find('?')
        .map_or(text.len(), |q| hosts_end + q);
    let mut query = Vec::new();
    let mut start = query_at + 1;
    while start < text.len() {
        let end = text[start..].find('&').map_or(text.len(), |e| start + e);
        let piece = &text[start..end];
        match piece.split_once('=') {
            Some((k, v)) => query.push(Word::Pair(Pair {
                key: percent_decode(k),
                value: percent_decode(v),
                whole: start..end,
                raw_value: start + k.len() + 1..end,
                unclosed: false,
            })),
            None if piece.is_empty() => {}
            None => query.push(Word::Stray(start..end)),
        }
        start = end + 1;
    }
    Some(Url {
        user,
        password,
        hosts: host_start..hosts_end,
        query,
        query_at,
    })
}

/// A word that may hold (part of) a password: a `password=`, a word with no `=`, or a
/// key that is no setting (`password=a b=c` makes `b=c` of the password).
fn secret(word: &Word) -> bool {
    match word {
        Word::Pair(p) => p.key == "password" || !known(&p.key),
        Word::Stray(_) => true,
    }
}

fn known(key: &str) -> bool {
    KNOWN.contains(&key) || LIBPQ_ONLY.contains(&key)
}

/// A connection string without its password, for display (`remote status`, errors): the
/// password becomes `***`, in every libpq form, and so does anything that may be part of
/// one (a word with no `=` or an unknown key after an unquoted password with spaces).
pub fn redact_url(text: &str) -> String {
    rewrite(text, Some("***"))
}

/// A connection string with the password left out entirely, for a join line the
/// newcomer pastes: each member logs in with their own (`PGPASSWORD` or `~/.pgpass`).
pub fn without_password(text: &str) -> String {
    rewrite(text, None)
}

/// The command a new member runs to join, as the admin sends it: the server without
/// the admin's password (the newcomer logs in with their own), quoted for a shell when
/// the string holds `?`, `&`, spaces, quotes or the brackets of an IPv6 address (zsh
/// would take them for a glob and refuse the line: "no matches found").
pub fn join_command(text: &str, token: &str) -> String {
    let server = without_password(text);
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    let server = if server.chars().all(plain) {
        server
    } else {
        format!("'{}'", server.replace('\'', "'\\''"))
    };
    format!("tresor remote join {server} --token {token}")
}

/// The text with every secret part replaced by `mask`, or cut out when `mask` is `None`.
fn rewrite(text: &str, mask: Option<&str>) -> String {
    let Some(u) = url(text) else {
        return kept(text, &words(text), mask).join(" ");
    };
    let mut head = text[..u.query_at].to_string();
    if let Some(pw) = &u.password {
        let (cut, with) = match (mask, &u.user) {
            (Some(m), _) => (pw.clone(), m),
            // No user name either: the whole `:pw@` goes.
            (None, Some(user)) if user.is_empty() => (user.start..pw.end + 1, ""),
            (None, _) => (pw.start - 1..pw.end, ""),
        };
        head.replace_range(cut, with);
    }
    let query = kept(text, &u.query, mask);
    if query.is_empty() {
        head
    } else {
        format!("{head}?{}", query.join("&"))
    }
}

/// The words as written, each secret one masked or left out.
fn kept(text: &str, words: &[Word], mask: Option<&str>) -> Vec<String> {
    words
        .iter()
        .filter_map(|w| match (secret(w), mask, w) {
            (false, _, w) => Some(text[w.whole()].to_string()),
            (true, Some(m), Word::Pair(p)) if p.key == "password" => {
                Some(format!("{}{m}", &text[p.whole.start..p.raw_value.start]))
            }
            (true, Some(m), _) => Some(m.to_string()),
            (true, None, _) => None,
        })
        .collect()
}

/// The text with its hosts, host addresses and ports left out, for a connection to one
/// host of the list at a time (each with its own password).
pub fn without_hosts(text: &str) -> String {
    let drop = |w: &&Word| matches!(w, Word::Pair(p) if matches!(p.key.as_str(), "host" | "hostaddr" | "port"));
    let Some(u) = url(text) else {
        let kept: Vec<&str> = words(text)
            .iter()
            .filter(|w| !drop(w))
            .map(|w| &text[w.whole()])
            .collect::<Vec<_>>();
        return kept.join(" ");
    };
    let query: Vec<&str> = u
        .query
        .iter()
        .filter(|w| !drop(w))
        .map(|w| &text[w.whole()])
        .collect();
    let head = format!(
        "{}{}",
        &text[..u.hosts.start],
        &text[u.hosts.end..u.query_at]
    );
    if query.is_empty() {
        head
    } else {
        format!("{head}?{}", query.join("&"))
    }
}

/// Checks the text the way the postgres crate will read it, first, so that what it
/// would echo (an unknown key may be the tail of an unquoted password) is said without
/// the text: the problem and the key, or the key the bad word follows.
pub fn check(text: &str) -> Result<(), String> {
    let (all, url_form) = match url(text) {
        Some(u) => (u.query, true),
        None => (words(text), false),
    };
    let mut after: Option<&str> = None;
    for w in &all {
        let place = || match after {
            Some(k) => format!("after `{k}=…`"),
            None if url_form => "at the start of the URL's parameters".into(),
            None => "at the start".into(),
        };
        let quote = if url_form {
            "percent-encode a value's `&`, `=` and spaces (%26, %3D, %20)"
        } else {
            "a value holding spaces goes in quotes: key='a b'"
        };
        match w {
            Word::Stray(_) => {
                return Err(format!("a word {} has no `=value` ({quote})", place()));
            }
            Word::Pair(p) if p.unclosed => {
                return Err(format!("the value of `{}` has no closing quote", p.key));
            }
            Word::Pair(p) if LIBPQ_ONLY.contains(&p.key.as_str()) => {
                return Err(format!("`{}` is not supported by tresor", p.key));
            }
            Word::Pair(p) if !KNOWN.contains(&p.key.as_str()) => {
                return Err(format!(
                    "a word {} is not a known setting ({quote})",
                    place()
                ));
            }
            Word::Pair(p)
                if p.value.is_empty()
                    && !url_form
                    && !text[p.raw_value.clone()].starts_with('\'') =>
            {
                return Err(format!("`{}` has no value", p.key));
            }
            Word::Pair(p) => after = Some(&p.key),
        }
    }
    Ok(())
}

pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No character of the password survives, and the rest reads as written.
    fn hidden(text: &str, password: &str, want: &str) {
        let shown = redact_url(text);
        assert_eq!(shown, want, "{text}");
        assert!(!shown.contains(password), "{text} -> {shown}");
    }

    #[test]
    fn a_url_password_is_hidden() {
        hidden(
            "postgres://u:s3cret@db/x",
            "s3cret",
            "postgres://u:***@db/x",
        );
        hidden(
            "postgresql://u:p%40ss%2Fw@db:5432/x",
            "p%40",
            "postgresql://u:***@db:5432/x",
        );
        hidden("postgres://u@db/x", "-", "postgres://u@db/x");
        hidden("postgres://db/x", "-", "postgres://db/x");
    }

    #[test]
    fn an_unencoded_at_slash_or_question_mark_in_the_password_is_hidden() {
        hidden("postgres://u:p@ss@db/x", "ss", "postgres://u:***@db/x");
        hidden(
            "postgres://u:a@b@c@db/x?sslmode=require",
            "b@c",
            "postgres://u:***@db/x?sslmode=require",
        );
        hidden("postgres://u:p/w@db/x", "p/w", "postgres://u:***@db/x");
        hidden("postgres://u:p?w@db/x", "p?w", "postgres://u:***@db/x");
        // An `@` later in the query is not the user info's.
        hidden(
            "postgres://u:pw@db/x?application_name=me@laptop",
            "pw",
            "postgres://u:***@db/x?application_name=me@laptop",
        );
    }

    #[test]
    fn a_multi_host_url_keeps_its_hosts() {
        hidden(
            "postgres://u:p@h1:5432,h2/db",
            "p@",
            "postgres://u:***@h1:5432,h2/db",
        );
        hidden(
            "postgres://u:p@[::1]:5432,h2:6543/db",
            ":p@",
            "postgres://u:***@[::1]:5432,h2:6543/db",
        );
    }

    #[test]
    fn a_password_in_the_url_query_is_hidden() {
        hidden(
            "postgres://u@db/x?password=s3cret&sslmode=require",
            "s3cret",
            "postgres://u@db/x?password=***&sslmode=require",
        );
        hidden(
            "postgres://u@db/x?sslmode=require&password=s3cret",
            "s3cret",
            "postgres://u@db/x?sslmode=require&password=***",
        );
        hidden(
            "postgres://u@db/x?pass%77ord=s3cret",
            "s3cret",
            "postgres://u@db/x?pass%77ord=***",
        );
        // An unencoded `&` in it: the tail is no setting, and hidden too.
        hidden(
            "postgres://u@db/x?password=ab&cd=ef&sslmode=require",
            "cd",
            "postgres://u@db/x?password=***&***&sslmode=require",
        );
        hidden(
            "postgres://u@db/x?password=ab&cd",
            "cd",
            "postgres://u@db/x?password=***&***",
        );
    }

    #[test]
    fn a_key_value_password_is_hidden_quoted_or_not() {
        hidden(
            "host=db password=s3cret user=u",
            "s3cret",
            "host=db password=*** user=u",
        );
        hidden(
            "host=db password = 's3 cr\\'et' user=u",
            "cr",
            "host=db password = *** user=u",
        );
        hidden(
            "host=db password='it\\'s secret",
            "secret",
            "host=db password=***",
        );
        // Unquoted with spaces: the words after it are no settings, and hidden.
        hidden(
            "host=db password=two words=x three",
            "words",
            "host=db password=*** *** ***",
        );
        hidden("password=\\ lead x=1", "lead", "password=*** ***");
    }

    #[test]
    fn the_join_line_leaves_the_password_out() {
        let cases = [
            ("postgres://u:s3cret@db/x", "postgres://u@db/x"),
            ("postgres://:s3cret@db/x", "postgres://db/x"),
            (
                "postgres://u:p@ss@h1,h2:6543/x",
                "postgres://u@h1,h2:6543/x",
            ),
            (
                "postgres://u@db/x?password=s3cret&sslmode=require",
                "postgres://u@db/x?sslmode=require",
            ),
            (
                "postgres://u@db/x?sslmode=require&password=s3cret",
                "postgres://u@db/x?sslmode=require",
            ),
            ("postgres://u@db/x?password=s3cret", "postgres://u@db/x"),
            ("host=db password='s3 cret' user=u", "host=db user=u"),
            ("host=db user=u", "host=db user=u"),
        ];
        for (text, want) in cases {
            assert_eq!(without_password(text), want, "{text}");
        }
    }

    #[test]
    fn the_join_command_quotes_what_a_shell_would_split() {
        assert_eq!(
            join_command("postgres://u:pw@db/x", "T"),
            "tresor remote join postgres://u@db/x --token T"
        );
        assert_eq!(
            join_command("postgres://u:pw@db/x?sslmode=require&password=pw", "T"),
            "tresor remote join 'postgres://u@db/x?sslmode=require' --token T"
        );
        assert_eq!(
            join_command("host=db user=o'neil password=pw", "T"),
            "tresor remote join 'host=db user=o'\\''neil' --token T"
        );
        assert_eq!(
            join_command("postgres://u:pw@[::1]:5432/x", "T"),
            "tresor remote join 'postgres://u@[::1]:5432/x' --token T"
        );
    }

    #[test]
    fn a_malformed_string_names_the_key_and_never_the_value() {
        let cases = [
            (
                "host=db password=my secret",
                "a word after `password=…` has no `=value`",
            ),
            (
                "host=db password=my se=cret",
                "a word after `password=…` is not a known setting",
            ),
            (
                "password='unclosed secret",
                "the value of `password` has no closing quote",
            ),
            ("secret host=db", "a word at the start has no `=value`"),
            ("host=db password=", "`password` has no value"),
            ("host=db sslpassword=x", "`sslpassword` is not supported"),
            (
                "postgres://u@db/x?password=my&secret",
                "a word after `password=…` has no `=value`",
            ),
            (
                "postgres://u@db/x?password=my&se=cret",
                "a word after `password=…` is not a known setting",
            ),
        ];
        for (text, want) in cases {
            let err = check(text).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
            for word in ["my", "secret", "cret", "unclosed"] {
                assert!(!err.contains(word), "{text}: {err}");
            }
        }
        assert!(check("host=db password='a b' user=u").is_ok());
        assert!(check("postgres://u:p@db/x?sslmode=require&sslrootcert=%2Fr").is_ok());
    }

    fn pct(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    proptest::proptest! {
        /// Any printable password, in every form libpq takes, is gone from what is shown
        /// and from the join line. (An unencoded `/` or `?` together with an `@` in a URL's
        /// password is the one reading left ambiguous: see the module doc.)
        #[test]
        fn no_form_shows_any_password(pw in "[ -~]{8,24}") {
            let quoted = pw.replace('\\', "\\\\").replace('\'', "\\'");
            let mut texts = vec![
                format!("postgres://app:{}@db.internal:5432,db2/secrets", pct(&pw)),
                format!("postgresql://app@db/secrets?password={}&sslmode=require", pct(&pw)),
                format!("host=db password='{quoted}' user=app dbname=secrets"),
                format!("password = '{quoted}'"),
            ];
            if !pw.contains(['/', '?']) {
                texts.push(format!("postgres://app:{pw}@db.internal/secrets?sslmode=require"));
            }
            if !pw.contains(['\'', '\\']) && !pw.starts_with(' ') {
                texts.push(format!("host=db password={pw} user=app"));
            }
            for text in texts {
                for shown in [redact_url(&text), without_password(&text)] {
                    proptest::prop_assert!(!shown.contains(&pw), "{} -> {}", text, shown);
                    proptest::prop_assert!(!shown.contains(&pct(&pw)), "{} -> {}", text, shown);
                }
            }
        }
    }
}
