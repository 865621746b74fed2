//! The reference the exported .env files are held to: npm dotenv's parser, transcribed.

#![allow(dead_code)]

use std::collections::BTreeMap;

/// npm `dotenv`'s `parse` (lib/main.js), transcribed: the reference every exported .env
/// file must satisfy. Same LINE regex (JS backtracking and Rust's leftmost-first pick the
/// same match; `\w` is ASCII in JS), CR/CRLF normalised, quotes stripped, `\n` and `\r`
/// expanded only in double quotes, later keys win.
pub fn npm_dotenv_parse(src: &str) -> BTreeMap<String, String> {
    let line = regex::Regex::new(
        r#"(?m)(?:^|^)\s*(?:export\s+)?([A-Za-z0-9_.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)"#,
    )
    .unwrap();
    let normalised = src.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = BTreeMap::new();
    for caps in line.captures_iter(&normalised) {
        let key = caps[1].to_string();
        let raw = caps.get(2).map_or("", |m| m.as_str()).trim();
        let first = raw.chars().next();
        let mut value = raw.to_string();
        if let Some(q @ ('\'' | '"' | '`')) = first
            && raw.len() >= 2
            && raw.ends_with(q)
        {
            value = raw[1..raw.len() - 1].to_string();
        }
        if first == Some('"') {
            value = value.replace("\\n", "\n").replace("\\r", "\r");
        }
        out.insert(key, value);
    }
    out
}
