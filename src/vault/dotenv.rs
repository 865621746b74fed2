//! `.env` files in the dialect of npm's `dotenv` package (v16/v17, `lib/main.js`).
//!
//! That package is what most `.env` files in the wild are written for, so its `parse` is
//! the reference, ported here rule by rule: an optional `export ` prefix, `KEY=value` or
//! `KEY: value`, `#` comments (whole lines, and after a value: in an unquoted value `#`
//! always starts one), single, double and backtick quotes, quoted values spanning lines,
//! `\n`/`\r` escapes expanded in double quotes only, no `$VAR` expansion, CRLF and CR
//! line ends. The last duplicate wins ([`dedup_last_wins`]).
//!
//! Why not the `dotenvy` crate: it expands `$VAR`/`${VAR}` (a secret containing `$` would
//! be silently altered), unescapes `\"` and `\\` in double quotes, has no backtick quotes,
//! and rejects or reads differently lines that `dotenv` accepts. A file that works with
//! the tools people already use must import to the same values here.
//!
//! The port is faithful, including the corners of JS regular expressions that the `regex`
//! crate does not share (JS `\s` and `trim()` include U+FEFF but not U+0085; with the `m`
//! flag, `^`, `$` and `.` treat U+2028 and U+2029 as line breaks). Deliberate differences:
//! - text that the grammar does not read is reported as [`DotenvError::BadLine`], where
//!   `dotenv` skips it silently: an import must not lose a secret without saying so;
//! - duplicates are all returned, in file order, and a `__proto__` key is an ordinary
//!   key (in JS, assigning a string to `obj.__proto__` is silently ignored).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use zeroize::Zeroizing;

/// One `KEY=value` assignment as read from a file.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// Wiped when dropped; take it with `std::mem::take(&mut *entry.value)`.
    pub value: Zeroizing<String>,
    /// 1-based line of the key (a quoted value may go on over the following lines).
    pub line: usize,
}

// Values are secrets: keep them out of logs and panic messages.
impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .field("line", &self.line)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DotenvError {
    /// A non-blank, non-comment line that the dotenv grammar does not read (e.g. `foo bar`,
    /// `=value`, `KEY:value`). The reason never quotes the line: it may hold a secret.
    #[error("line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    #[error(
        "secret `{key}` cannot be written as a .env value that reads back exactly (npm dotenv's dialect has no escape for its mix of quotes, backslashes and line breaks); use --format json"
    )]
    Unrepresentable { key: String },
}

/// JS `\s`, which is also what `String.prototype.trim` strips (checked against node over
/// the whole BMP). Rust's `\s` and `str::trim` differ: they include U+0085, not U+FEFF.
const JS_WS: &str = concat!(
    r"[\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}",
    r"\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]"
);

fn is_js_ws(c: char) -> bool {
    matches!(c, '\t'..='\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
        )
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// JS line terminators: where `^`/`$` match under the `m` flag and what `.` refuses.
fn is_js_lt(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// dotenv's `LINE` regex, reshaped for the `regex` crate, whose `(?m)` knows only `\n` as
/// a line break and which has no look-around:
/// - `^` becomes `\A`: the caller runs the regex only at JS line starts (see [`scan`]);
/// - `$` becomes "end of text, or one line terminator", which the caller gives back
///   after the match. It is the last item, so this picks exactly the path that the
///   zero-width JS `$` picks, with the same captures.
///
/// Everything else keeps its JS meaning: `\w` is ASCII, `\s` is [`JS_WS`], `.` is
/// "not a JS line terminator", and the leftmost-first semantics of the `regex` crate give
/// the captures of JS backtracking.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        concat!(
            r"\A{ws}*(?:export{ws}+)?([A-Za-z0-9_.-]+)(?:{ws}*={ws}*?|:{ws}+?)",
            r#"({ws}*'(?:\\'|[^'])*'|{ws}*"(?:\\"|[^"])*"|{ws}*`(?:\\`|[^`])*`|[^#\r\n]+)?"#,
            r"{ws}*(?:#[^\n\r\x{{2028}}\x{{2029}}]*)?(?:\z|[\n\r\x{{2028}}\x{{2029}}])",
        ),
        ws = JS_WS
    );
    Regex::new(&pattern).expect("the dotenv LINE regex is valid")
});

/// Parses `.env` text. Entries come in file order with duplicates kept; see
/// [`dedup_last_wins`]. Fails on the first line that the grammar does not read.
pub fn parse(src: &str) -> Result<Vec<Entry>, DotenvError> {
    let scanned = scan(src);
    match scanned.first_bad {
        Some((line, reason)) => Err(DotenvError::BadLine { line, reason }),
        None => Ok(scanned.entries),
    }
}

/// Like [`parse`], but also returns the entries read around a bad line: a preview shows
/// every key it could read together with the first line it could not.
pub fn parse_keeping_entries(src: &str) -> (Vec<Entry>, Option<DotenvError>) {
    let scanned = scan(src);
    let bad = scanned
        .first_bad
        .map(|(line, reason)| DotenvError::BadLine { line, reason });
    (scanned.entries, bad)
}

/// Keeps the last occurrence of each key, in the order of those last occurrences.
pub fn dedup_last_wins(entries: Vec<Entry>) -> Vec<Entry> {
    let mut seen = HashSet::new();
    let mut kept: Vec<Entry> = entries
        .into_iter()
        .rev()
        .filter(|e| seen.insert(e.key.clone()))
        .collect();
    kept.reverse();
    kept
}

/// Who reads a line written by [`encode_line`] as the value it was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// npm dotenv (so `tresor import`), a POSIX shell (`set -a; . ./.env`) and dotenvy;
    /// python-dotenv too, unless the value holds a backslash (it reads `\\` and `\'` in
    /// single quotes as escapes).
    Everyone,
    /// npm dotenv and `tresor import` only: a shell would read another value, and may run
    /// part of it as a command.
    NpmDotenv,
}

/// Characters that every reader takes literally in an unquoted value, a shell included.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '=')
}

/// What a backslash before a closing quote needs (see [`quoted_lines`]).
const GUARD: &str = " # 'value ends with a backslash'";

/// The longest line [`encode_line`] can return for `key` and `value`: the key, `=`, two
/// quotes, the value with every byte escaped to two, and the guard comment.
pub fn encoded_len_bound(key: &str, value: &str) -> usize {
    key.len() + 3 + 2 * value.len() + GUARD.len()
}

/// Encodes one `KEY=value` line (no trailing newline) that [`parse`] reads back as exactly
/// `value`, alone or followed by any other lines, and says who else reads it the same way.
///
/// First the forms that a POSIX shell reads the same way too: bare if every character is
/// plain, single quotes if the value has no `'` (nor CR, which npm dotenv turns into a
/// newline, nor NUL, which a shell cannot hold), double quotes if it has a `'` but nothing
/// that a shell expands in double quotes (`$`, a backtick, `\`, `"`). A value with a `'`
/// and one of those has no form both read: then npm dotenv's forms, simplest first: bare,
/// single quotes, double quotes, backticks, then double quotes with `\n`/`\r` escapes.
/// Each candidate is proven by parsing it back rather than by reasoning about the grammar,
/// whose corners (a `#`, a leading quote, a trailing backslash, U+2028...) are too many to
/// enumerate safely. `key` must match `[A-Za-z0-9_.-]+`; other keys come back as
/// `Unrepresentable`.
///
/// Besides values that hold all three quote characters, two rarer kinds can fail: values
/// holding `'`, a backtick and a literal `\n` or `\r` (double quotes would expand it), and
/// values holding a carriage return, which survives only as `\r` inside double quotes,
/// where a literal `\n` or `\r` cannot, nor a `"` that does not follow a backslash if
/// there is also a `#`.
///
/// Every candidate is built in a buffer that is wiped when dropped.
pub fn encode_line(key: &str, value: &str) -> Result<(Zeroizing<String>, Readers), DotenvError> {
    let has = |c: char| value.contains(c);
    let has_cr = has('\r');
    let has_lf = has('\n');
    let bare = || std::iter::once(joined(&[key, "=", value]));
    let shell_bare = value.chars().all(is_plain).then(bare).into_iter().flatten();
    let shell_single = (!has('\'') && !has_cr && !has('\0'))
        .then(|| quoted_lines(key, '\'', value))
        .into_iter()
        .flatten();
    let shell_double = (has('\'') && !value.contains(['"', '$', '`', '\\', '\r', '\0']))
        .then(|| quoted_lines(key, '"', value))
        .into_iter()
        .flatten();
    let everyone = shell_bare
        .chain(shell_single)
        .chain(shell_double)
        .map(|line| (line, Readers::Everyone));

    // Unquoted, `#` starts a comment and a newline ends the value. A raw CR never
    // survives at all: parse turns CR and CRLF into LF before anything else.
    let npm_bare = (!has_cr && !has_lf && !has('#'))
        .then(bare)
        .into_iter()
        .flatten();
    let quotes: &[char] = if has_cr { &[] } else { &['\'', '"', '`'] };
    let npm_quoted = quotes.iter().flat_map(|&q| quoted_lines(key, q, value));
    let npm_escaped = (has_cr || has_lf)
        .then(|| {
            let mut escaped = Zeroizing::new(String::with_capacity(2 * value.len()));
            for c in value.chars() {
                match c {
                    '\n' => escaped.push_str("\\n"),
                    '\r' => escaped.push_str("\\r"),
                    c => escaped.push(c),
                }
            }
            quoted_lines(key, '"', &escaped).collect::<Vec<_>>()
        })
        .into_iter()
        .flatten();
    let npm_only = npm_bare
        .chain(npm_quoted)
        .chain(npm_escaped)
        .map(|line| (line, Readers::NpmDotenv));

    everyone
        .chain(npm_only)
        .find(|(line, _)| round_trips(line, key, value))
        .ok_or_else(|| DotenvError::Unrepresentable {
            key: key.to_owned(),
        })
}

/// The concatenation, in a buffer of exactly its size that is wiped when dropped.
fn joined(parts: &[&str]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(parts.iter().map(|p| p.len()).sum()));
    for part in parts {
        out.push_str(part);
    }
    out
}

/// `KEY=<q>body<q>`, then, if the body ends with a backslash, the same with a guard.
fn quoted_lines(key: &str, q: char, body: &str) -> impl Iterator<Item = Zeroizing<String>> {
    let mut quote = [0; 4];
    let q: &str = q.encode_utf8(&mut quote);
    let plain = joined(&[key, "=", q, body, q]);
    // Before a closing quote, a backslash lets the grammar read `\'` as an escaped quote
    // and run on to the next line that holds one. A comment holding that quote, followed
    // by more text, stops the run on the same line and leaves the short reading as the
    // only one that matches.
    let guarded = body.ends_with('\\').then(|| {
        let guard = GUARD.replace('\'', q);
        joined(&[key, "=", q, body, q, &guard])
    });
    std::iter::once(plain).chain(guarded)
}

/// Lines that make a quoted value run on if its closing quote can be read as escaped
/// (`\'`): for each quote, the first unescaped one after the candidate stands alone on its
/// line, so the longer match succeeds and changes the value. Without such a quote no later
/// text can extend the match, so passing alone and with this probe means passing anywhere.
const RUN_ON_PROBE: &str = "\n'\n\"\n`";

fn round_trips(line: &str, key: &str, value: &str) -> bool {
    let is_it = |e: &Entry| e.key == key && e.value.as_str() == value;
    let alone = scan(line);
    if alone.first_bad.is_some() || alone.entries.len() != 1 || !is_it(&alone.entries[0]) {
        return false;
    }
    !may_run_on(line, key)
        || scan(&joined(&[line, RUN_ON_PROBE]))
            .entries
            .first()
            .is_some_and(is_it)
}

/// Whether a quoted reading of the value could go past the end of `line`: only if the
/// value opens a quote and every later copy of that quote follows a backslash, as an
/// unescaped one ends every quoted reading. Saves the probe for the common case.
fn may_run_on(line: &str, key: &str) -> bool {
    let rest = line
        .strip_prefix(key)
        .and_then(|rest| rest.strip_prefix('='))
        .map_or(line, |rest| rest.trim_start_matches(is_js_ws));
    let Some(q) = rest.chars().next().filter(|&c| is_quote(c)) else {
        return false;
    };
    let after_open = &rest[1..];
    after_open
        .match_indices(q)
        .all(|(i, _)| after_open[..i].ends_with('\\'))
}

struct Scan {
    entries: Vec<Entry>,
    first_bad: Option<(usize, String)>,
}

/// dotenv's `while ((match = LINE.exec(lines)) != null)` loop, plus a look at the text
/// between matches, which JS ignores.
fn scan(src: &str) -> Scan {
    let normalized = normalize_line_ends(src);
    let text = normalized.as_deref().map_or(src, String::as_str);
    let mut lines = LineCounter::default();
    let mut entries = Vec::new();
    let mut first_bad = None;
    // Where the last match ended: the JS `lastIndex`.
    let mut covered_to = 0;
    // The line of an entry whose value opens a quote that it never closes: the likely
    // cause of unreadable lines right after it.
    let mut unclosed_quote_line = None;

    let mut candidate = line_start_at_or_after(text, 0);
    while let Some(start) = candidate {
        // From any line start up to the first non-blank character, the regex can only
        // skip the blanks and go on from that character, so all those starts succeed or
        // fail together. Skipping them keeps long runs of blank lines linear.
        let first = text.len() - text[start..].trim_start_matches(is_js_ws).len();
        let caps = text[first..]
            .starts_with(is_key_char)
            .then(|| LINE.captures(&text[start..]))
            .flatten();
        let Some(caps) = caps else {
            candidate = next_line_start(text, first);
            continue;
        };
        let whole = caps.get_match();
        let key = caps.get(1).expect("the key group is not optional");
        let mut end = start + whole.end();
        // Give back the line terminator that stands in for the zero-width JS `$`. At the
        // end of the text `\z` may have matched instead; there it makes no difference.
        if end < text.len() {
            end -= text[..end].chars().next_back().map_or(0, char::len_utf8);
        }
        if first_bad.is_none() {
            first_bad = check_gap(text, covered_to, start, &mut lines, unclosed_quote_line);
        }
        let raw = caps.get(2).map_or("", |m| m.as_str());
        let key_line = lines.line_at(text, start + key.start());
        let (value, unclosed) = js_value(raw);
        unclosed_quote_line = unclosed.then_some(key_line);
        entries.push(Entry {
            key: key.as_str().to_owned(),
            value,
            line: key_line,
        });
        covered_to = end;
        candidate = line_start_at_or_after(text, end);
    }
    if first_bad.is_none() {
        first_bad = check_gap(
            text,
            covered_to,
            text.len(),
            &mut lines,
            unclosed_quote_line,
        );
    }
    Scan { entries, first_bad }
}

/// JS `lines.replace(/\r\n?/mg, '\n')`.
/// `None` when there is nothing to change; a copy is made in one pass into a buffer that
/// is wiped.
fn normalize_line_ends(src: &str) -> Option<Zeroizing<String>> {
    src.contains('\r').then(|| lf_line_ends(src))
}

/// CRLF and lone CR as LF, in one pass into one buffer sized once and wiped: for .env
/// text and for values pasted into the Secrets screen alike.
pub fn lf_line_ends(src: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(src.len()));
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// Where a JS `m`-flag `^` first holds at or after `pos`.
fn line_start_at_or_after(text: &str, pos: usize) -> Option<usize> {
    let after_break = text[..pos].chars().next_back().is_none_or(is_js_lt);
    if after_break {
        Some(pos)
    } else {
        next_line_start(text, pos)
    }
}

/// The first JS line start strictly after `pos`.
fn next_line_start(text: &str, pos: usize) -> Option<usize> {
    text[pos..]
        .char_indices()
        .find(|&(_, c)| is_js_lt(c))
        .map(|(i, c)| pos + i + c.len_utf8())
}

/// The first unreadable piece of `text[from..to]`, text that no match consumed.
fn check_gap(
    text: &str,
    from: usize,
    to: usize,
    lines: &mut LineCounter,
    unclosed_quote_line: Option<usize>,
) -> Option<(usize, String)> {
    let mut piece_start = from;
    loop {
        let rest = &text[piece_start..to];
        let (piece, next) = match rest.char_indices().find(|&(_, c)| is_js_lt(c)) {
            Some((i, c)) => (&rest[..i], Some(piece_start + i + c.len_utf8())),
            None => (rest, None),
        };
        let body = piece.trim_start_matches(is_js_ws);
        if !body.is_empty() && !body.starts_with('#') {
            let line = lines.line_at(text, piece_start + (piece.len() - body.len()));
            return Some((line, bad_line_reason(body, unclosed_quote_line)));
        }
        piece_start = next?;
    }
}

/// A hint at what is wrong, never quoting the text: it may be part of a secret.
fn bad_line_reason(body: &str, unclosed_quote_line: Option<usize>) -> String {
    if let Some(line) = unclosed_quote_line {
        return format!(
            "expected KEY=value; is the quoted value on line {line} missing its closing quote?"
        );
    }
    let after_export = body
        .strip_prefix("export")
        .filter(|rest| rest.starts_with(is_js_ws))
        .map_or(body, |rest| rest.trim_start_matches(is_js_ws));
    let after_key = after_export.trim_start_matches(is_key_char);
    if body.starts_with('=') {
        "missing key before `=`".to_owned()
    } else if after_key.len() == after_export.len() {
        "expected KEY=value; a key is made of letters, digits and `_`".to_owned()
    } else if after_key.starts_with(':') {
        "expected `=` after the key (or `: ` with a space)".to_owned()
    } else {
        "expected `=` after the key".to_owned()
    }
}

/// The value part of dotenv's loop: trim, strip quotes, expand `\n`/`\r` if the trimmed
/// value began with `"`. Also tells whether the value opens a quote that it never closes.
fn js_value(raw: &str) -> (Zeroizing<String>, bool) {
    let trimmed = raw.trim_matches(is_js_ws);
    let first = trimmed.chars().next();
    let unclosed =
        first.is_some_and(|q| is_quote(q) && (trimmed.len() < 2 || !trimmed.ends_with(q)));
    // Every copy of the value is wiped when dropped.
    let stripped = match strip_quotes(trimmed) {
        Cow::Borrowed(s) => Zeroizing::new(s.to_owned()),
        Cow::Owned(s) => Zeroizing::new(s),
    };
    let value = if first == Some('"') {
        expand_newline_escapes(&stripped)
    } else {
        stripped
    };
    (value, unclosed)
}

/// JS `.replace(/\\n/g, '\n').replace(/\\r/g, '\r')` in one pass: the two patterns never
/// overlap, so `\\n` still becomes a backslash and a newline.
fn expand_newline_escapes(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let escaped = match (c, chars.peek()) {
            ('\\', Some('n')) => Some('\n'),
            ('\\', Some('r')) => Some('\r'),
            _ => None,
        };
        match escaped {
            Some(e) => {
                chars.next();
                out.push(e);
            }
            None => out.push(c),
        }
    }
    out
}

fn is_quote(c: char) -> bool {
    matches!(c, '\'' | '"' | '`')
}

/// JS `value.replace(/^(['"`])([\s\S]*)\1$/mg, '$2')`, by hand since it needs a
/// backreference.
///
/// For what dotenv feeds it, this is "drop the first and last character if they are the
/// same quote": a quoted match starts and ends with its quote, and an unquoted one has no
/// `\n`. But an unquoted value can hold U+2028 or U+2029, and with the `m` flag those
/// start new lines, so every line of the value that starts with a quote is stripped up to
/// the last same quote that ends a line (`[\s\S]*` is greedy). `a<U+2028>'b'` becomes
/// `a<U+2028>b`; this is reproduced, not "fixed".
fn strip_quotes(value: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut candidate = Some(0);
    while let Some(i) = candidate {
        let mut resume = i;
        if let Some(q) = value[i..].chars().next().filter(|&c| is_quote(c))
            && let Some(j) = last_quote_ending_a_line(value, i + 1, q)
        {
            let out = out.get_or_insert_with(|| String::with_capacity(value.len()));
            out.push_str(&value[copied..i]);
            out.push_str(&value[i + 1..j]);
            copied = j + 1;
            resume = j + 1;
        }
        candidate = next_line_start(value, resume);
    }
    match out {
        None => Cow::Borrowed(value),
        Some(mut out) => {
            out.push_str(&value[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The largest `j >= from` with `value[j] == q` followed by the end or a line terminator.
fn last_quote_ending_a_line(value: &str, from: usize, q: char) -> Option<usize> {
    let mut ends_line = true;
    for (k, c) in value[from..].char_indices().rev() {
        if c == q && ends_line {
            return Some(from + k);
        }
        ends_line = is_js_lt(c);
    }
    None
}

/// 1-based line numbers of byte offsets, counting `\n` only (after CR/CRLF became `\n`):
/// U+2028 and U+2029 break lines for the grammar but not in editors or for the user.
/// Offsets are asked for in increasing order, so counting is linear overall.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    newlines: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, pos: usize) -> usize {
        if pos < self.pos {
            *self = Self::default();
        }
        self.newlines += text.as_bytes()[self.pos..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = pos;
        self.newlines + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kv(src: &str) -> Vec<(String, String)> {
        parse(src)
            .unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
            .into_iter()
            .map(|e| (e.key, e.value.to_string()))
            .collect()
    }

    /// The line alone, whoever reads it.
    fn line_for(key: &str, value: &str) -> Result<String, DotenvError> {
        encode_line(key, value).map(|(line, _)| line.to_string())
    }

    fn one(src: &str) -> String {
        match kv(src).as_slice() {
            [(_, value)] => value.clone(),
            other => panic!("{src:?} should give one entry, got {other:?}"),
        }
    }

    fn lines_of(src: &str) -> Vec<(String, usize)> {
        parse(src)
            .unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
            .into_iter()
            .map(|e| (e.key, e.line))
            .collect()
    }

    fn bad_line(src: &str) -> (usize, String) {
        match parse(src) {
            Err(DotenvError::BadLine { line, reason }) => (line, reason),
            other => panic!("{src:?} should be a bad line, got {other:?}"),
        }
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    // npm dotenv's tests/.env, with the values its test-parse.js expects (checked by
    // running the reference parser under node).
    const NPM_FIXTURE: &str = r#"BASIC=basic

# previous line intentionally left blank
AFTER_LINE=after_line
EMPTY=
EMPTY_SINGLE_QUOTES=''
EMPTY_DOUBLE_QUOTES=""
EMPTY_BACKTICKS=``
SINGLE_QUOTES='single_quotes'
SINGLE_QUOTES_SPACED='    single quotes    '
DOUBLE_QUOTES="double_quotes"
DOUBLE_QUOTES_SPACED="    double quotes    "
DOUBLE_QUOTES_INSIDE_SINGLE='double "quotes" work inside single quotes'
DOUBLE_QUOTES_WITH_NO_SPACE_BRACKET="{ port: $MONGOLAB_PORT}"
SINGLE_QUOTES_INSIDE_DOUBLE="single 'quotes' work inside double quotes"
BACKTICKS_INSIDE_SINGLE='`backticks` work inside single quotes'
BACKTICKS_INSIDE_DOUBLE="`backticks` work inside double quotes"
BACKTICKS=`backticks`
BACKTICKS_SPACED=`    backticks    `
DOUBLE_QUOTES_INSIDE_BACKTICKS=`double "quotes" work inside backticks`
SINGLE_QUOTES_INSIDE_BACKTICKS=`single 'quotes' work inside backticks`
DOUBLE_AND_SINGLE_QUOTES_INSIDE_BACKTICKS=`double "quotes" and single 'quotes' work inside backticks`
EXPAND_NEWLINES="expand\nnew\nlines"
DONT_EXPAND_UNQUOTED=dontexpand\nnewlines
DONT_EXPAND_SQUOTED='dontexpand\nnewlines'
# COMMENTS=work
INLINE_COMMENTS=inline comments # work #very #well
INLINE_COMMENTS_SINGLE_QUOTES='inline comments outside of #singlequotes' # work
INLINE_COMMENTS_DOUBLE_QUOTES="inline comments outside of #doublequotes" # work
INLINE_COMMENTS_BACKTICKS=`inline comments outside of #backticks` # work
INLINE_COMMENTS_SPACE=inline comments start with a#number sign. no space required.
EQUAL_SIGNS=equals==
RETAIN_INNER_QUOTES={"foo": "bar"}
RETAIN_INNER_QUOTES_AS_STRING='{"foo": "bar"}'
RETAIN_INNER_QUOTES_AS_BACKTICKS=`{"foo": "bar's"}`
TRIM_SPACE_FROM_UNQUOTED=    some spaced out string
USERNAME=therealnerdybeast@example.tld
    SPACED_KEY = parsed
EDGE_CASE_INLINE_COMMENTS="VALUE1" # or "VALUE2" or "VALUE3"
"#;

    #[test]
    fn npm_fixture() {
        let expected = pairs(&[
            ("BASIC", "basic"),
            ("AFTER_LINE", "after_line"),
            ("EMPTY", ""),
            ("EMPTY_SINGLE_QUOTES", ""),
            ("EMPTY_DOUBLE_QUOTES", ""),
            ("EMPTY_BACKTICKS", ""),
            ("SINGLE_QUOTES", "single_quotes"),
            ("SINGLE_QUOTES_SPACED", "    single quotes    "),
            ("DOUBLE_QUOTES", "double_quotes"),
            ("DOUBLE_QUOTES_SPACED", "    double quotes    "),
            (
                "DOUBLE_QUOTES_INSIDE_SINGLE",
                r#"double "quotes" work inside single quotes"#,
            ),
            (
                "DOUBLE_QUOTES_WITH_NO_SPACE_BRACKET",
                "{ port: $MONGOLAB_PORT}",
            ),
            (
                "SINGLE_QUOTES_INSIDE_DOUBLE",
                "single 'quotes' work inside double quotes",
            ),
            (
                "BACKTICKS_INSIDE_SINGLE",
                "`backticks` work inside single quotes",
            ),
            (
                "BACKTICKS_INSIDE_DOUBLE",
                "`backticks` work inside double quotes",
            ),
            ("BACKTICKS", "backticks"),
            ("BACKTICKS_SPACED", "    backticks    "),
            (
                "DOUBLE_QUOTES_INSIDE_BACKTICKS",
                r#"double "quotes" work inside backticks"#,
            ),
            (
                "SINGLE_QUOTES_INSIDE_BACKTICKS",
                "single 'quotes' work inside backticks",
            ),
            (
                "DOUBLE_AND_SINGLE_QUOTES_INSIDE_BACKTICKS",
                r#"double "quotes" and single 'quotes' work inside backticks"#,
            ),
            ("EXPAND_NEWLINES", "expand\nnew\nlines"),
            ("DONT_EXPAND_UNQUOTED", r"dontexpand\nnewlines"),
            ("DONT_EXPAND_SQUOTED", r"dontexpand\nnewlines"),
            ("INLINE_COMMENTS", "inline comments"),
            (
                "INLINE_COMMENTS_SINGLE_QUOTES",
                "inline comments outside of #singlequotes",
            ),
            (
                "INLINE_COMMENTS_DOUBLE_QUOTES",
                "inline comments outside of #doublequotes",
            ),
            (
                "INLINE_COMMENTS_BACKTICKS",
                "inline comments outside of #backticks",
            ),
            ("INLINE_COMMENTS_SPACE", "inline comments start with a"),
            ("EQUAL_SIGNS", "equals=="),
            ("RETAIN_INNER_QUOTES", r#"{"foo": "bar"}"#),
            ("RETAIN_INNER_QUOTES_AS_STRING", r#"{"foo": "bar"}"#),
            ("RETAIN_INNER_QUOTES_AS_BACKTICKS", r#"{"foo": "bar's"}"#),
            ("TRIM_SPACE_FROM_UNQUOTED", "some spaced out string"),
            ("USERNAME", "therealnerdybeast@example.tld"),
            ("SPACED_KEY", "parsed"),
            ("EDGE_CASE_INLINE_COMMENTS", "VALUE1"),
        ]);
        assert_eq!(kv(NPM_FIXTURE), expected);
    }

    const PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnNl1tL3QjKp3DZWM0T3u
LgGJQwu9WqyzHKZ6WIA5T+7zPjO1L8l3S8k8YzBrfH4mqWOD1GBI8Yjq2L1ac3Y/
u4QuUoobAgMBAAE=
-----END PUBLIC KEY-----";

    // npm dotenv's tests/.env-multiline.
    #[test]
    fn multi_line_quoted_values() {
        let src = format!(
            "MULTI_DOUBLE_QUOTED=\"THIS\nIS\nA\nMULTILINE\nSTRING\"\n\n\
             MULTI_SINGLE_QUOTED='THIS\nIS\nA\nMULTILINE\nSTRING'\n\n\
             MULTI_BACKTICKED=`THIS\nIS\nA\n\"MULTILINE'S\"\nSTRING`\n\n\
             MULTI_PEM_DOUBLE_QUOTED=\"{PEM}\"\nAFTER=1\n"
        );
        let expected = pairs(&[
            ("MULTI_DOUBLE_QUOTED", "THIS\nIS\nA\nMULTILINE\nSTRING"),
            ("MULTI_SINGLE_QUOTED", "THIS\nIS\nA\nMULTILINE\nSTRING"),
            ("MULTI_BACKTICKED", "THIS\nIS\nA\n\"MULTILINE'S\"\nSTRING"),
            ("MULTI_PEM_DOUBLE_QUOTED", PEM),
            ("AFTER", "1"),
        ]);
        assert_eq!(kv(&src), expected);
        let lines: Vec<usize> = lines_of(&src).into_iter().map(|(_, l)| l).collect();
        assert_eq!(lines, [1, 7, 13, 19, 24]);
    }

    #[test]
    fn export_prefix() {
        assert_eq!(
            kv("export KEY=value\nexport\tOTHER = v2\n  export  SPACED=3"),
            pairs(&[("KEY", "value"), ("OTHER", "v2"), ("SPACED", "3")])
        );
        // `export` is also a key of its own, and only a prefix when followed by a space.
        assert_eq!(
            kv("export=e\nexportT=t"),
            pairs(&[("export", "e"), ("exportT", "t")])
        );
    }

    #[test]
    fn comments() {
        let src = "# a comment\n  # indented comment\n#KEY=not read\nA=1 # trailing\nB=2#no space needed\n";
        assert_eq!(kv(src), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(one("A='a # b' # c"), "a # b");
        assert_eq!(one("A=\"a#b\"#c"), "a#b");
        assert_eq!(one("A=`x` # c"), "x");
        assert_eq!(one("A=# only a comment"), "");
    }

    #[test]
    fn quotes() {
        assert_eq!(one("A='single'"), "single");
        assert_eq!(one("A=\"double\""), "double");
        assert_eq!(one("A=`backtick`"), "backtick");
        assert_eq!(one("A= \"spaced\" "), "spaced");
        // No unescaping: a backslash before a quote only keeps the quote open.
        assert_eq!(one(r#"A="a\"b""#), r#"a\"b"#);
        assert_eq!(one(r"A='it\'s'"), r"it\'s");
        // A quoted value followed by more text is read as unquoted.
        assert_eq!(one(r#"A="abc" def"#), r#""abc" def"#);
        assert_eq!(one("A='a'b'"), "a'b");
    }

    #[test]
    fn escapes_expand_only_in_double_quotes() {
        assert_eq!(one(r#"A="a\nb\rc""#), "a\nb\rc");
        assert_eq!(one(r"A='a\nb\rc'"), r"a\nb\rc");
        assert_eq!(one(r"A=`a\nb`"), r"a\nb");
        assert_eq!(one(r"A=a\nb"), r"a\nb");
        // JS replaces `\n` left to right: `\\n` is a backslash then a newline.
        assert_eq!(one(r#"A="x\\ny""#), "x\\\ny");
        // The decision looks at the first character only, even if the quote never closes.
        assert_eq!(one(r#"A="a\nb"#), "\"a\nb");
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        let expected = pairs(&[
            ("SERVER", "localhost"),
            ("PASSWORD", "password"),
            ("DB", "tests"),
        ]);
        assert_eq!(
            kv("SERVER=localhost\rPASSWORD=password\rDB=tests\r"),
            expected
        );
        assert_eq!(
            kv("SERVER=localhost\nPASSWORD=password\nDB=tests\n"),
            expected
        );
        assert_eq!(
            kv("SERVER=localhost\r\nPASSWORD=password\r\nDB=tests\r\n"),
            expected
        );
        assert_eq!(one("A=\"x\r\ny\"\r\n"), "x\ny");
        assert_eq!(
            lines_of("A=1\r\n\r\nB=\"x\r\ny\"\r\nC=3\rD=4"),
            [
                ("A".to_owned(), 1),
                ("B".to_owned(), 3),
                ("C".to_owned(), 5),
                ("D".to_owned(), 6)
            ]
        );
    }

    #[test]
    fn spaces_around_equals() {
        assert_eq!(
            kv("A = 1\nB= 2\nC =3\n    D = 4\n\tE\t=\t5"),
            pairs(&[("A", "1"), ("B", "2"), ("C", "3"), ("D", "4"), ("E", "5")])
        );
    }

    #[test]
    fn colon_form() {
        assert_eq!(one("KEY: value"), "value");
        assert_eq!(one("KEY:   'quoted'"), "quoted");
        // The colon needs whitespace after it, and a newline is whitespace.
        assert_eq!(kv("KEY:\nvalue"), pairs(&[("KEY", "value")]));
        assert_eq!(bad_line("A=1\nKEY:value").0, 2);
    }

    #[test]
    fn empty_values() {
        assert_eq!(
            kv("A=\nB=   \nC=''\nD=\"\"\nE=``\nF= # c"),
            pairs(&[
                ("A", ""),
                ("B", ""),
                ("C", ""),
                ("D", ""),
                ("E", ""),
                ("F", "")
            ])
        );
    }

    #[test]
    fn a_quoted_value_may_start_on_the_next_line() {
        // JS: after `=`, the optional value may skip whitespace, newlines included, but
        // only to reach an opening quote.
        assert_eq!(kv("A=\n\"multi\""), pairs(&[("A", "multi")]));
        assert_eq!(bad_line("A=\nunquoted").0, 2);
    }

    #[test]
    fn duplicates_last_wins() {
        let entries = parse("A=1\nB=2\nA=3\nC=4\nB=5").expect("valid");
        assert_eq!(entries.len(), 5);
        let kept: Vec<(String, String, usize)> = dedup_last_wins(entries)
            .into_iter()
            .map(|e| (e.key, e.value.to_string(), e.line))
            .collect();
        assert_eq!(
            kept,
            [
                ("A".to_owned(), "3".to_owned(), 3),
                ("C".to_owned(), "4".to_owned(), 4),
                ("B".to_owned(), "5".to_owned(), 5)
            ]
        );
        assert!(dedup_last_wins(Vec::new()).is_empty());
    }

    #[test]
    fn no_variable_expansion() {
        assert_eq!(
            kv("HOME2=$HOME\nB=\"${HOME2}/x\"\nC='$B'\nD=a$$b"),
            pairs(&[
                ("HOME2", "$HOME"),
                ("B", "${HOME2}/x"),
                ("C", "$B"),
                ("D", "a$$b")
            ])
        );
    }

    #[test]
    fn unicode() {
        assert_eq!(one("A=héllo wörld 😀"), "héllo wörld 😀");
        assert_eq!(one("A='日本語 '"), "日本語 ");
        // JS trim and \s take U+FEFF (a BOM) and U+3000, and leave U+0085 alone.
        assert_eq!(kv("\u{feff}A=1"), pairs(&[("A", "1")]));
        assert_eq!(one("A=\u{3000}x\u{3000}"), "x");
        assert_eq!(one("A=\u{85}x\u{85}"), "\u{85}x\u{85}");
        assert_eq!(one("A=x\u{feff}"), "x");
    }

    #[test]
    fn unicode_line_separators_follow_js() {
        // With the `m` flag, JS `^` and `$` also break at U+2028 and U+2029...
        assert_eq!(kv("A='x'\u{2028}B=y"), pairs(&[("A", "x"), ("B", "y")]));
        // ...so the quote stripping works line by line inside an unquoted value...
        assert_eq!(one("A=x\u{2028}'y'"), "x\u{2028}y");
        assert_eq!(one("A='a'b'\u{2029}c"), "a'b\u{2029}c");
        assert_eq!(one("A='x\u{2029}y'z"), "'x\u{2029}y'z");
        // ...but for line numbers, as in editors, only \n, \r\n and \r count.
        assert_eq!(
            lines_of("A='x'\u{2028}B=y\nC=z"),
            [
                ("A".to_owned(), 1),
                ("B".to_owned(), 1),
                ("C".to_owned(), 2)
            ]
        );
        assert_eq!(bad_line("A='x'\u{2028}oops").0, 1);
    }

    #[test]
    fn trailing_spaces() {
        assert_eq!(one("A=  spaced out   "), "spaced out");
        assert_eq!(one("A=tab\t"), "tab");
        assert_eq!(one("A='  kept  '  "), "  kept  ");
        assert_eq!(one("A=\"  kept  \"\t"), "  kept  ");
        assert_eq!(one("A=`  kept  `"), "  kept  ");
    }

    #[test]
    fn unterminated_quotes_are_kept_as_text() {
        assert_eq!(one("A=\"retained"), "\"retained");
        assert_eq!(one("A='retained"), "'retained");
        assert_eq!(one("A=`retained"), "`retained");
        assert_eq!(one("A=retained\""), "retained\"");
        assert_eq!(one("A=retained'"), "retained'");
        // The rest of a multi-line value that never closes is unreadable, with a hint.
        let (line, reason) = bad_line("A=1\nB=\"line one\nline two\nC=3");
        assert_eq!(line, 3);
        assert!(
            reason.contains("line 2") && reason.contains("closing quote"),
            "{reason}"
        );
        // An unclosed quote can swallow lines up to the next matching quote, as in JS.
        assert_eq!(
            kv("A=\"one\nB=two\"\nC=3"),
            pairs(&[("A", "one\nB=two"), ("C", "3")])
        );
    }

    #[test]
    fn entry_lines() {
        let src = "# header\n\nA=1\n  B = 2\n\n# c\nexport C=3\nD='x\ny'\nE=5\n";
        let expected: Vec<(String, usize)> = [("A", 3), ("B", 4), ("C", 7), ("D", 8), ("E", 10)]
            .iter()
            .map(|&(k, l)| (k.to_owned(), l))
            .collect();
        assert_eq!(lines_of(src), expected);
    }

    #[test]
    fn bad_lines() {
        let (line, reason) = bad_line("A=1\nfoo bar\nB=2");
        assert_eq!((line, reason.as_str()), (2, "expected `=` after the key"));
        let (line, reason) = bad_line("A=1\n\n  =value");
        assert_eq!((line, reason.as_str()), (3, "missing key before `=`"));
        assert_eq!(bad_line("KEY").0, 1);
        assert_eq!(bad_line("export KEY").0, 1);
        assert_eq!(bad_line("A=1\r\n\r\n{\"json\": true}\r\n").0, 3);
        assert!(bad_line("KEY:value").1.contains("`: `"));
        let reason = bad_line("A=1\n$X=2").1;
        // The key rule is tresor's, not the grammar's: `.` and `-` are refused later.
        assert!(
            reason.ends_with("a key is made of letters, digits and `_`"),
            "{reason}"
        );
        // Only the first bad line is reported.
        assert_eq!(bad_line("A=1\nbad one\nbad two").0, 2);
        // Blank lines, whitespace and comments anywhere are fine.
        assert_eq!(kv("\n  \n\t\n# c\n   # d\nA=1\n\n"), pairs(&[("A", "1")]));
        assert!(kv("").is_empty());
        // Keys are checked against the grammar only; the caller has its own rules.
        assert_eq!(
            kv("1KEY=x\na.b-c=y"),
            pairs(&[("1KEY", "x"), ("a.b-c", "y")])
        );
    }

    #[test]
    fn bad_line_never_quotes_the_text() {
        let secret = "hunter2supersecret";
        for src in [
            secret.to_owned(),
            format!("A=\"{secret}\n{secret}"),
            format!("={secret}"),
            format!("{secret} {secret}"),
        ] {
            let err = parse(&src).expect_err("unreadable");
            assert!(!err.to_string().contains(secret), "{err}");
            assert!(!format!("{err:?}").contains(secret), "{err:?}");
        }
        let entries = parse(&format!("A={secret}")).expect("valid");
        assert!(!format!("{entries:?}").contains(secret));
    }

    fn encoded(value: &str) -> String {
        line_for("KEY", value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
    }

    #[test]
    fn encode_picks_the_simplest_form() {
        let everyone = |value: &str| encode_line("KEY", value).unwrap().1 == Readers::Everyone;
        // Forms a shell reads the same way: bare only for plain words.
        assert_eq!(encoded("abc"), "KEY=abc");
        assert_eq!(
            encoded("postgres://u:p@h:5432/d?x=1"),
            "KEY='postgres://u:p@h:5432/d?x=1'"
        );
        assert_eq!(
            encoded("a-b_c.d/e:f@g%h+i,j=k"),
            "KEY=a-b_c.d/e:f@g%h+i,j=k"
        );
        assert_eq!(encoded("My App"), "KEY='My App'");
        assert_eq!(encoded("a b=c $HOME"), "KEY='a b=c $HOME'");
        assert_eq!(encoded(r"a\nb"), r"KEY='a\nb'");
        assert_eq!(encoded(""), "KEY=");
        assert_eq!(encoded(" padded "), "KEY=' padded '");
        assert_eq!(encoded("a#b"), "KEY='a#b'");
        assert_eq!(encoded("`id`"), "KEY='`id`'");
        assert_eq!(encoded("'quoted'"), "KEY=\"'quoted'\"");
        assert_eq!(encoded("it's #1"), "KEY=\"it's #1\"");
        assert_eq!(encoded("line1\nline2"), "KEY='line1\nline2'");
        assert_eq!(encoded("it's\nline2"), "KEY=\"it's\nline2\"");
        assert_eq!(encoded(&format!("{PEM}\n")), format!("KEY='{PEM}\n'"));
        // A closing quote after a backslash needs a guard against reading it as escaped.
        assert_eq!(encoded("x\\"), "KEY='x\\' # 'value ends with a backslash'");
        assert_eq!(
            encoded(" a\\"),
            "KEY=' a\\' # 'value ends with a backslash'"
        );
        for value in ["abc", "My App", "it's #1", "x\\", "`$(id)`", ""] {
            assert!(everyone(value), "{value:?}");
        }

        // A `'` with something a shell expands in double quotes: npm dotenv's forms.
        assert_eq!(encoded(r"it's #1\n"), "KEY=`it's #1\\n`");
        assert_eq!(encoded("say \"hi\" it's #1"), "KEY=`say \"hi\" it's #1`");
        assert_eq!(encoded("it's $HOME"), "KEY=it's $HOME");
        assert_eq!(encoded("a\r\nb"), r#"KEY="a\r\nb""#);
        assert_eq!(encoded("'\"`\nx"), r#"KEY="'"`\nx""#);
        // Unless the quote cannot be closed early anyway.
        assert_eq!(encoded(" a'b\\"), "KEY=' a'b\\'");
        for value in [
            "it's $HOME",
            "it's `id`",
            "it's \"x\"",
            "it's \\",
            "a\rb",
            "a\0b",
        ] {
            assert!(!everyone(value), "{value:?}");
        }
    }

    #[test]
    fn encode_refuses_what_cannot_be_written() {
        for value in [
            // All three quotes and a `#`: every quoting is cut short.
            "'\"` #", // All three quotes and a newline.
            "'\"`\n#",
            // A CR survives only as `\r` in double quotes, where `\n` cannot.
            "a\r\\n",
            // A newline and both other quotes, and double quotes would expand the `\n`.
            "'`\\n\n",
        ] {
            match encode_line("KEY", value) {
                Err(DotenvError::Unrepresentable { key }) => assert_eq!(key, "KEY"),
                other => panic!("{value:?} gave {other:?}"),
            }
        }
        // Keys outside the grammar cannot be read back either.
        assert!(encode_line("MY KEY", "x").is_err());
        assert!(encode_line("", "x").is_err());
        let err = encode_line("MY_KEY", "'\"` #").expect_err("unrepresentable");
        assert!(err.to_string().contains("`MY_KEY`"));
        assert!(err.to_string().contains("--format json"));
    }

    #[test]
    fn encoded_lines_do_not_depend_on_the_next_line() {
        // `KEY='a\'` alone reads as `a\`, but the escaped-looking quote would let the
        // value run on to the `'` of the next line, swallowing B.
        assert_eq!(kv("KEY='a\\'\nB='# x'").len(), 1);
        for value in ["a\\\n", "'a", "\"a", "`a", "x\\'"] {
            if let Ok(line) = line_for("KEY", value) {
                for next in ["B='# x'", "B=\"# x\"", "B=`# x`", "B=x'", "B=x\"", "B=x`"] {
                    let src = format!("{line}\n{next}");
                    let got = kv(&src);
                    assert_eq!(got[0], ("KEY".to_owned(), value.to_owned()), "{src:?}");
                    assert_eq!(got.len(), 2, "{src:?}");
                }
            }
        }
    }

    #[test]
    fn large_files_are_linear() {
        let mut src = String::new();
        let mut values = Vec::new();
        for i in 0..10_000 {
            let value = match i % 4 {
                0 => format!("plain-{i}"),
                1 => format!("with spaces and # {i}"),
                2 => format!("multi\nline {i}"),
                _ => format!("it's \"{i}\""),
            };
            let line = line_for(&format!("KEY_{i}"), &value).expect("representable");
            src.push_str(&line);
            src.push('\n');
            values.push(value);
        }
        let started = std::time::Instant::now();
        let entries = parse(&src).expect("valid");
        // Generous: this runs unoptimized too. It catches quadratic behaviour, not speed.
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let got: Vec<String> = entries.into_iter().map(|e| e.value.to_string()).collect();
        assert_eq!(got, values);

        // JS tries the regex at every line start, and `^\s*` runs over all the blank
        // lines that follow; done naively, blank runs are quadratic.
        for tail in ["", "# end", "not a line"] {
            let src = format!("# header{}{tail}", "\n \t".repeat(50_000));
            let started = std::time::Instant::now();
            let _ = parse(&src);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(1),
                "{tail:?}"
            );
        }
    }

    /// Values that some candidate of `encode_line` writes, by the grammar: a value without
    /// `'` fits in single quotes, one without a backtick in backticks, one without `"` in
    /// double quotes unless it holds a literal `\n` or `\r` (they would expand). A CR needs
    /// more luck (see `encode_line`).
    fn surely_representable(value: &str) -> bool {
        !value.contains('\r')
            && (!value.contains('\'')
                || !value.contains('`')
                || !(value.contains('"') || value.contains("\\n") || value.contains("\\r")))
    }

    fn tricky_value() -> impl Strategy<Value = String> {
        let rich = proptest::collection::vec(
            proptest::sample::select(vec![
                '\'', '"', '`', '#', '$', '\\', ' ', '\t', '\n', '\r', '=', ':', 'a', 'n', 'r',
                'Z', '0', 'é', '日', '😀', '\u{2028}', '\u{2029}', '\u{feff}', '\u{a0}', '\u{85}',
                '\u{b}',
            ]),
            0..24,
        )
        .prop_map(String::from_iter);
        prop_oneof![4 => rich, 1 => any::<String>()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn encode_round_trips_or_refuses(value in tricky_value()) {
            match line_for("KEY", &value) {
                Ok(line) => prop_assert_eq!(kv(&line), vec![("KEY".to_owned(), value)]),
                Err(DotenvError::Unrepresentable { .. }) => {
                    prop_assert!(!surely_representable(&value), "refused {:?}", value);
                }
                Err(e) => prop_assert!(false, "{}", e),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn encoded_files_round_trip(
            values in proptest::collection::vec(tricky_value(), 1..40),
            crlf in any::<bool>(),
        ) {
            let mut expected = Vec::new();
            let mut lines = vec!["# exported by tresor".to_owned()];
            for (i, value) in values.into_iter().enumerate() {
                let key = format!("KEY_{i}");
                if let Ok(line) = line_for(&key, &value) {
                    lines.push(line);
                    expected.push((key, value));
                }
            }
            let src = lines.join(if crlf { "\r\n" } else { "\n" });
            prop_assert_eq!(kv(&src), expected);
        }

        #[test]
        fn parse_never_panics(src in proptest::collection::vec(tricky_value(), 0..8)) {
            let _ = parse(&src.join("\n"));
        }
    }

    proptest! {
        // Each case starts a shell per value.
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn lines_for_everyone_are_what_a_shell_reads(
            values in proptest::collection::vec(tricky_value(), 1..12),
        ) {
            let mut file = String::new();
            let mut expected = Vec::new();
            for (i, value) in values.into_iter().enumerate() {
                let key = format!("KEY_{i}");
                if let Ok((line, Readers::Everyone)) = encode_line(&key, &value) {
                    file.push_str(&line);
                    file.push('\n');
                    expected.push((key, value));
                }
            }
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("out.env");
            std::fs::write(&path, &file).expect("write");
            for (key, value) in expected {
                // The shell cannot hold NUL, so no `Everyone` line may contain one.
                prop_assert!(!value.contains('\0'));
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!("set -a; . \"$1\" || exit 9; printf %s \"${key}\""))
                    .arg("sh")
                    .arg(&path)
                    .output()
                    .expect("sh runs");
                prop_assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), file);
                prop_assert_eq!(String::from_utf8_lossy(&out.stdout), value, "{}", file);
            }
        }

    }
}
