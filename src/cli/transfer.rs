//! import and export: .env files in npm dotenv's dialect, JSON and shell.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::{CliError, CliResult, Global, note, output, unlock, warn};
use crate::vault::{SecretValue, dotenv, validate};

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
    /// KEY=value lines that `tresor import` (and npm dotenv) read back exactly
    Dotenv,
    /// One object {"KEY": "value"}
    Json,
    /// export KEY='…' lines, safe for eval
    Shell,
}

/// The largest .env file read: 10,000 secrets of 1 MiB would be far beyond this anyway.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

pub fn import(global: &Global, args: ImportArgs) -> CliResult {
    let name = args.file.display().to_string();
    let mut raw = Zeroizing::new(Vec::new());
    let read = if name == "-" {
        std::io::stdin().take(MAX_FILE_BYTES).read_to_end(&mut raw)
    } else {
        std::fs::File::open(&args.file).and_then(|f| f.take(MAX_FILE_BYTES).read_to_end(&mut raw))
    };
    read.map_err(|e| CliError::msg(format!("{name}: {e}")))?;
    let text = std::str::from_utf8(&raw).map_err(|e| {
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
        .map(|e| (e.key, Zeroizing::new(e.value.into_bytes())))
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
    let mut out = Zeroizing::new(String::new());
    let utf8 = |key: &str, value: &[u8]| -> Result<String, CliError> {
        String::from_utf8(value.to_vec()).map_err(|_| {
            CliError::msg(format!(
                "secret {key} is binary (not UTF-8) and cannot be exported as text; read it with `tresor get {key}`"
            ))
        })
    };
    match args.format {
        Format::Dotenv => {
            for (info, value) in &secrets {
                let value = Zeroizing::new(utf8(&info.key, value)?);
                // Descriptions travel as comments, which import ignores.
                for line in info.description.lines() {
                    out.push_str("# ");
                    out.push_str(&validate::printable(line));
                    out.push('\n');
                }
                let line = Zeroizing::new(
                    dotenv::encode_line(&info.key, &value)
                        .map_err(|e| CliError::msg(e.to_string()))?,
                );
                out.push_str(&line);
                out.push('\n');
            }
        }
        Format::Json => {
            let mut map = serde_json::Map::new();
            for (info, value) in &secrets {
                map.insert(
                    info.key.clone(),
                    serde_json::Value::String(utf8(&info.key, value)?),
                );
            }
            let text = Zeroizing::new(
                serde_json::to_string_pretty(&serde_json::Value::Object(map))
                    .map_err(|e| CliError::msg(e.to_string()))?,
            );
            out.push_str(&text);
            out.push('\n');
        }
        Format::Shell => {
            for (info, value) in &secrets {
                if value.contains(&0) {
                    return Err(CliError::msg(format!(
                        "secret {} contains a NUL byte, which a shell variable cannot hold",
                        info.key
                    )));
                }
                let value = Zeroizing::new(utf8(&info.key, value)?);
                out.push_str("export ");
                out.push_str(&info.key);
                out.push('=');
                out.push_str(&shell_quote(&value));
                out.push('\n');
            }
        }
    }
    write_output(&args, &secrets, out.as_bytes())
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

/// Single quotes keep everything literal in POSIX shells; a quote becomes '\''.
fn shell_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
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

/// "1 key", "2 keys": warnings are read by people.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
