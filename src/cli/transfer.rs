//! import and export: .env files in npm dotenv's dialect, JSON and shell.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::{CliError, CliResult, Global, note, output, unlock, warn};
use crate::vault::validate::count;
use crate::vault::wipe::WipeBuf;
use crate::vault::{SecretInfo, SecretValue, dotenv, validate};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The .env file, or - for stdin
    pub file: PathBuf,
    /// Replace the values of keys that already exist
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "dotenv")]
    pub format: Format,
    /// Write to this new file, created readable by you only (0600), never through a
    /// symbolic link; `> FILE` would get the shell's umask, often 0644
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --output: replace an existing file (made 0600; a symbolic link is still refused)
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Print to a terminal even values holding control characters (escape sequences)
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// KEY=value lines that `tresor import`, npm dotenv, dotenvy and a POSIX shell
    /// (`set -a; . ./.env`) read back exactly; a value holding a `'` and one of $ ` \ "
    /// is written as only npm dotenv and `tresor import` read it, with a warning
    Dotenv,
    /// KEY=value lines for `docker run --env-file`, taken literally (no quoting): values
    /// with a line break, CR, NUL or surrounding quotes are refused
    Docker,
    /// One object {"KEY": "value"}
    Json,
    /// export KEY='…' lines, safe for eval
    Shell,
}

/// The largest .env file read: 10,000 secrets of 1 MiB would be far beyond this anyway.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// What stdin's buffer starts with, and grows by (each growth wipes the old copy).
const STDIN_CHUNK: usize = 64 * 1024;

/// The whole input, read into one buffer that is wiped: a file's sized once from its
/// length (plus one byte to see the end), stdin's grown by wiping copies.
fn read_input(path: &Path) -> std::io::Result<WipeBuf> {
    if path.as_os_str() == "-" {
        let mut buf = WipeBuf::with_capacity(STDIN_CHUNK);
        buf.read_from(std::io::stdin().lock(), MAX_FILE_BYTES, STDIN_CHUNK)?;
        return Ok(buf);
    }
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len().min(MAX_FILE_BYTES);
    let mut buf = WipeBuf::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    buf.read_from(file, MAX_FILE_BYTES, STDIN_CHUNK)?;
    Ok(buf)
}

pub fn import(global: &Global, args: ImportArgs) -> CliResult {
    let name = args.file.display().to_string();
    let raw = read_input(&args.file).map_err(|e| CliError::msg(format!("{name}: {e}")))?;
    let text = std::str::from_utf8(raw.as_bytes()).map_err(|e| {
        CliError::msg(format!(
            "{name}: not a text file (invalid UTF-8 at byte {})",
            e.valid_up_to()
        ))
    })?;
    let entries = dotenv::parse(text).map_err(|e| CliError::msg(format!("{name}: {e}")))?;
    // Every line is checked before anything is written: one bad line imports nothing.
    for entry in &entries {
        let at = |e: crate::vault::VaultError| CliError::msg(format!("{name}:{}: {e}", entry.line));
        validate::secret_key(&entry.key).map_err(at)?;
        if !entry.value.is_empty() {
            validate::value(entry.value.as_bytes()).map_err(at)?;
        }
    }
    let entries: Vec<(String, SecretValue)> = dotenv::dedup_last_wins(entries)
        .into_iter()
        .map(|mut e| {
            // Moves the value's bytes, no copy; the emptied string is wiped anyway.
            let value = std::mem::take(&mut *e.value).into_bytes();
            (e.key, Zeroizing::new(value))
        })
        .collect();
    let lowercase: Vec<&str> = entries
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| validate::lowercase_warning(k).is_some())
        .collect();
    if !lowercase.is_empty() {
        warn(&format!(
            "{} lowercase letters; environment variables are usually UPPERCASE: {}",
            count(lowercase.len(), "key has", "keys have"),
            lowercase.join(", ")
        ));
    }
    warn_run_names(&entries);
    let vault = unlock::open_for_change(global)?;
    let report = vault.import(&global.project, &global.env, entries, args.overwrite)?;
    let place = format!("{}/{}", global.project, global.env);
    let mut summary = format!(
        "imported {} new and {} updated secrets into {place}",
        report.added.len(),
        report.updated.len()
    );
    if !report.unchanged.is_empty() {
        summary.push_str(&format!(
            "; {} unchanged (same value)",
            report.unchanged.len()
        ));
    }
    note(&summary);
    if !report.skipped_existing.is_empty() {
        warn(&format!(
            "skipped {} (use --overwrite to replace them): {}",
            count(
                report.skipped_existing.len(),
                "existing key",
                "existing keys"
            ),
            report.skipped_existing.join(", ")
        ));
    }
    if !report.skipped_empty.is_empty() {
        warn(&format!(
            "skipped {} (a value is required): {}",
            count(
                report.skipped_empty.len(),
                "key with an empty value",
                "keys with empty values"
            ),
            report.skipped_empty.join(", ")
        ));
    }
    Ok(())
}

pub fn export(global: &Global, args: ExportArgs) -> CliResult {
    let vault = unlock::open(global)?;
    let secrets = vault.reveal_all(&global.project, &global.env, "export")?;
    let rendered = render(args.format, &secrets)?;
    if !rendered.npm_only.is_empty() {
        warn(&format!(
            "{} a `'` and one of $ ` \\ \", written as only npm dotenv and `tresor import` read them; a shell sourcing this file reads other values and may run part of them as commands (use --format shell for a shell): {}",
            count(rendered.npm_only.len(), "value holds", "values hold"),
            rendered.npm_only.join(", ")
        ));
    }
    write_output(&args, &secrets, &rendered.bytes)
}

/// Sends the export where it was asked to go: a new private file (`--output`), or
/// stdout, where a terminal gets no control characters unless `--raw`.
fn write_output(
    args: &ExportArgs,
    secrets: &[(crate::vault::SecretInfo, SecretValue)],
    text: &[u8],
) -> CliResult {
    if let Some(path) = &args.output {
        output::write_private_file(path, text, args.force)?;
        note(&format!(
            "wrote {} to {} (mode 0600)",
            count(secrets.len(), "secret", "secrets"),
            path.display()
        ));
        return Ok(());
    }
    if !args.raw
        && std::io::stdout().is_terminal()
        && let Some(what) = output::terminal_hazard(text)
    {
        let hint = "write a file with --output FILE";
        // Name a secret that holds what the terminal would see (a format such as JSON
        // escapes some control characters itself).
        let culprit = secrets
            .iter()
            .find(|(_, v)| output::terminal_hazard(v).as_ref() == Some(&what))
            .or_else(|| {
                secrets
                    .iter()
                    .find(|(_, v)| output::terminal_hazard(v).is_some())
            });
        if let Some((info, value)) = culprit {
            output::check_for_terminal(&info.key, value, hint)?;
        }
        return Err(CliError::msg(format!(
            "the export holds a control character ({what}) that a terminal would act on; pass --raw to print it anyway, or {hint}"
        )));
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::msg(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// An export, ready to write.
#[derive(Debug)]
pub struct Rendered {
    /// The whole output, in one buffer sized before the first byte went in.
    pub bytes: Zeroizing<Vec<u8>>,
    /// Keys whose dotenv line only npm dotenv reads as written (see [`dotenv::Readers`]).
    pub npm_only: Vec<String>,
}

/// The bytes of an export. Nothing is returned unless every secret can be written, and
/// the output buffer never grows: its size is computed first (exactly, or a bound for
/// dotenv, whose form is chosen per value), so no copy of a value is left unwiped.
pub fn render(format: Format, secrets: &[(SecretInfo, SecretValue)]) -> Result<Rendered, CliError> {
    let mut texts = Vec::with_capacity(secrets.len());
    for (info, value) in secrets {
        let text = std::str::from_utf8(value).map_err(|_| {
            CliError::msg(format!(
                "secret {key} is binary (not UTF-8) and cannot be exported as text; read it with `tresor get {key}`",
                key = info.key
            ))
        })?;
        match format {
            Format::Shell if value.contains(&0) => {
                return Err(CliError::msg(format!(
                    "secret {} contains a NUL byte, which a shell variable cannot hold",
                    info.key
                )));
            }
            Format::Docker => docker_check(&info.key, text)?,
            _ => {}
        }
        texts.push((info, text));
    }
    let capacity = match format {
        Format::Dotenv => texts
            .iter()
            .map(|(info, text)| comments_len(info) + dotenv::encoded_len_bound(&info.key, text) + 1)
            .sum(),
        Format::Docker => texts
            .iter()
            .map(|(info, text)| comments_len(info) + info.key.len() + text.len() + 2)
            .sum(),
        Format::Json => {
            let items: usize = texts
                .iter()
                .map(|(info, text)| json_len(&info.key) + json_len(text) + 9)
                .sum();
            // `{\n`, each item then `,\n` but the last `\n` alone, `}\n`; or `{}\n`.
            if texts.is_empty() {
                3
            } else {
                2 + items + (texts.len() - 1) + 2
            }
        }
        Format::Shell => texts
            .iter()
            .map(|(info, text)| "export ".len() + info.key.len() + 1 + shell_quoted_len(text) + 1)
            .sum(),
    };
    let mut out = WipeBuf::with_capacity(capacity);
    let mut npm_only = Vec::new();
    match format {
        Format::Dotenv => {
            for (info, text) in &texts {
                write_comments(&mut out, info);
                let (line, readers) = dotenv::encode_line(&info.key, text)
                    .map_err(|e| CliError::msg(e.to_string()))?;
                if readers == dotenv::Readers::NpmDotenv {
                    npm_only.push(info.key.clone());
                }
                out.push_str(&line);
                out.push('\n');
            }
        }
        Format::Docker => {
            for (info, text) in &texts {
                write_comments(&mut out, info);
                out.push_str(&info.key);
                out.push('=');
                out.push_str(text);
                out.push('\n');
            }
        }
        Format::Json => {
            // By hand rather than through serde_json's map and string, which would be
            // further copies of every value; same output as its pretty printer.
            if texts.is_empty() {
                out.push_str("{}\n");
            } else {
                out.push_str("{\n");
                for (i, (info, text)) in texts.iter().enumerate() {
                    out.push_str("  \"");
                    json_escape(&mut out, &info.key);
                    out.push_str("\": \"");
                    json_escape(&mut out, text);
                    out.push('"');
                    out.push_str(if i + 1 == texts.len() { "\n" } else { ",\n" });
                }
                out.push_str("}\n");
            }
        }
        Format::Shell => {
            for (info, text) in &texts {
                out.push_str("export ");
                out.push_str(&info.key);
                out.push('=');
                shell_quote(&mut out, text);
                out.push('\n');
            }
        }
    }
    debug_assert_eq!(out.capacity(), capacity, "the export buffer grew");
    Ok(Rendered {
        bytes: out.into_inner(),
        npm_only,
    })
}

/// docker's `--env-file` reads each line literally up to its end: no quoting, no escapes.
fn docker_check(key: &str, value: &str) -> Result<(), CliError> {
    let refuse = |why: &str| {
        Err(CliError::msg(format!(
            "secret {key} cannot be written for docker's --env-file: {why}; use --format dotenv or json"
        )))
    };
    if value.contains('\n') {
        return refuse("it holds a line break, and each line is one variable");
    }
    if value.contains('\r') {
        return refuse("it holds a carriage return, which docker drops at a line's end");
    }
    if value.contains('\0') {
        return refuse("it holds a NUL byte, which an environment variable cannot hold");
    }
    let quoted = |q| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if quoted('\'') || quoted('"') {
        return refuse(
            "it starts and ends with the same quote, which recent docker versions remove",
        );
    }
    // docker reads lines with Go's bufio.Scanner, whose lines are at most 64 KiB.
    if key.len() + 1 + value.len() + 1 > 64 * 1024 {
        return refuse("its line would be longer than docker reads (64 KiB)");
    }
    Ok(())
}

/// Descriptions travel as comments, which every reader ignores.
fn write_comments(out: &mut WipeBuf, info: &SecretInfo) {
    for line in info.description.lines() {
        out.push_str("# ");
        out.push_str(&validate::printable(line));
        out.push('\n');
    }
}

fn comments_len(info: &SecretInfo) -> usize {
    info.description
        .lines()
        .map(|line| validate::printable(line).len() + 3)
        .sum()
}

/// serde_json's escaping: `"`, `\\` and control characters.
fn json_escape(out: &mut WipeBuf, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn json_len(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// Single quotes keep everything literal in POSIX shells; a quote becomes '\''.
fn shell_quote(out: &mut WipeBuf, value: &str) {
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

/// Keys that `tresor run` will not pass without `--allow-name` (see
/// `validate::dangerous_env_name`): said at import, not discovered at the first run.
fn warn_run_names(entries: &[(String, SecretValue)]) {
    let keys: Vec<&str> = entries
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| validate::dangerous_env_name(k).is_some())
        .collect();
    match keys[..] {
        [] => {}
        [key] => warn(&format!(
            "`tresor run` refuses to pass {key} unless run with --allow-name {key}: {}",
            validate::dangerous_env_name(key).unwrap_or_default()
        )),
        _ => warn(&format!(
            "`tresor run` refuses to pass these {} keys unless run with --allow-name: {}",
            keys.len(),
            keys.join(", ")
        )),
    }
}

fn shell_quoted_len(value: &str) -> usize {
    value.len() + 2 + 3 * value.matches('\'').count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::SecretType;

    fn secret(key: &str, value: &str, description: &str) -> (SecretInfo, SecretValue) {
        let info = SecretInfo {
            key: key.to_owned(),
            description: description.to_owned(),
            kind: SecretType::Other,
            created: 0,
            updated: 0,
            value_changed: 0,
            value_len: value.len(),
        };
        (info, Zeroizing::new(value.as_bytes().to_vec()))
    }

    fn sample() -> Vec<(SecretInfo, SecretValue)> {
        vec![
            secret("A", "plain", ""),
            secret("B", "it's \"x\" $HOME\n\\ \u{1}\t😀", "two\nlines \u{7}"),
            secret("C", "", "empty"),
            secret("D", "a'b'c", ""),
            secret("E", &"x".repeat(5000), ""),
        ]
    }

    #[test]
    fn the_export_buffer_is_sized_once() {
        for format in [Format::Dotenv, Format::Json, Format::Shell] {
            for secrets in [sample(), Vec::new()] {
                let out = render(format, &secrets).unwrap();
                // Exact for JSON and shell, a bound for dotenv: never more than asked for.
                assert!(out.bytes.len() <= out.bytes.capacity());
                if !matches!(format, Format::Dotenv) {
                    assert_eq!(out.bytes.len(), out.bytes.capacity(), "{format:?}");
                }
            }
        }
        let docker = vec![secret("A", "x y", "note"), secret("B", "it's", "")];
        let out = render(Format::Docker, &docker).unwrap();
        assert_eq!(out.bytes.len(), out.bytes.capacity());
    }

    #[test]
    fn an_import_file_is_read_into_one_buffer_of_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.env");
        let text = "A=1\nB='two words'\n".repeat(1000);
        std::fs::write(&path, &text).unwrap();
        let buf = read_input(&path).unwrap();
        assert_eq!(buf.as_bytes(), text.as_bytes());
        // The length plus the one byte that shows the end: no regrowth copy was made.
        assert_eq!(buf.capacity(), text.len() + 1);
    }

    #[test]
    fn json_export_is_what_serde_json_prints() {
        let secrets = sample();
        let out = render(Format::Json, &secrets).unwrap();
        let map: serde_json::Map<String, serde_json::Value> = secrets
            .iter()
            .map(|(i, v)| {
                let v = String::from_utf8(v.to_vec()).unwrap();
                (i.key.clone(), serde_json::Value::String(v))
            })
            .collect();
        let want = serde_json::to_string_pretty(&map).unwrap() + "\n";
        assert_eq!(String::from_utf8(out.bytes.to_vec()).unwrap(), want);
    }
}
