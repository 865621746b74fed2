//! add, edit, get, list, rm and run: one secret or one environment at a time.

use std::io::{IsTerminal, Write};

use crate::clipboard;
use clap::Args;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{CliError, CliResult, Global, confirm, note, output, prompt, unlock, warn};
use crate::vault::{
    NewSecret, SecretEdit, SecretType, SecretValue, VaultError, generate, validate,
};

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The secret's key, e.g. STRIPE_API_KEY (letters, digits and _)
    pub key: String,
    /// A note for the team, e.g. how to obtain the value
    #[arg(short, long, default_value = "")]
    pub description: String,
    /// api-key, token, password, connection-string, certificate, credential, other [default: detected]
    #[arg(long = "type", value_parser = parse_type)]
    pub kind: Option<SecretType>,
    #[command(flatten)]
    pub generate: GenerateArgs,
}

// `--generate[=LEN]`, `--length N`, `--charset NAME`, shared by add and edit (a plain
// comment: see `keys::OtherCredentials`).
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Store a strong random value (32 characters, or LEN) instead of reading one
    #[arg(long, value_name = "LEN", num_args = 0..=1,
          value_parser = clap::value_parser!(u16).range(8..=4096))]
    pub generate: Option<Option<u16>>,
    /// Length of the generated value (8 to 4096) [default: 32]
    #[arg(long, value_name = "N", requires = "generate",
          value_parser = clap::value_parser!(u16).range(8..=4096))]
    pub length: Option<u16>,
    /// Characters of the generated value: urlsafe (letters, digits, - and _: fits in
    /// URLs, shells and .env files unquoted), alnum, symbols (needs quoting), hex
    #[arg(long, value_name = "NAME", requires = "generate", value_parser = parse_charset)]
    pub charset: Option<generate::Charset>,
}

impl GenerateArgs {
    /// The length and charset asked for, if a value is to be generated.
    fn wanted(&self) -> Result<Option<(usize, generate::Charset)>, CliError> {
        let Some(given) = self.generate else {
            return Ok(None);
        };
        let len = match (given, self.length) {
            (Some(a), Some(b)) if a != b => {
                // A usage error, like clap's: same prefix, same exit status.
                eprintln!("error: --generate={a} and --length {b} disagree: give the length once");
                return Err(CliError::Exit(2));
            }
            (Some(n), _) | (None, Some(n)) => usize::from(n),
            (None, None) => generate::DEFAULT_LEN,
        };
        Ok(Some((len, self.charset.unwrap_or_default())))
    }
}

fn parse_charset(text: &str) -> Result<generate::Charset, String> {
    generate::Charset::parse(text).ok_or_else(|| {
        let names: Vec<&str> = generate::Charset::ALL.iter().map(|c| c.name()).collect();
        format!("unknown charset `{text}`; use one of {}", names.join(", "))
    })
}

#[derive(Debug, Args)]
pub struct EditArgs {
    pub key: String,
    /// New description
    #[arg(short, long)]
    pub description: Option<String>,
    /// New type
    #[arg(long = "type", value_parser = parse_type)]
    pub kind: Option<SecretType>,
    /// Read a new value from stdin (one trailing newline stripped; empty keeps the current one)
    #[arg(long, conflicts_with = "generate")]
    pub value_stdin: bool,
    #[command(flatten)]
    pub generate: GenerateArgs,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    pub key: String,
    /// Print the value to a terminal even if it holds control characters (escape
    /// sequences), which the terminal would act on
    #[arg(long)]
    pub raw: bool,
    /// Put the value on the terminal's clipboard (OSC 52) instead of printing it; it is
    /// cleared after 30 s (TRESOR_CLIP_SECONDS)
    #[arg(short, long, conflicts_with = "raw")]
    pub copy: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// One JSON array of {key, description, type, created, updated, value_changed}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    pub key: String,
    /// Delete without asking (needed when not on a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only these keys (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "KEY,…")]
    pub only: Vec<String>,
    /// Pass these keys although their names can make the command run other code
    /// (PATH, LD_PRELOAD, BASH_ENV, NODE_OPTIONS, …): only for values you trust
    #[arg(long, value_delimiter = ',', value_name = "KEY,…")]
    pub allow_name: Vec<String>,
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

fn parse_type(text: &str) -> Result<SecretType, String> {
    SecretType::parse(text).ok_or_else(|| {
        let names: Vec<&str> = SecretType::ALL.iter().map(|t| t.slug()).collect();
        format!("unknown type `{text}`; use one of {}", names.join(", "))
    })
}

/// Reads a value from stdin, sized for the 1 MiB limit plus one byte to detect overflow.
fn read_stdin_value() -> Result<SecretValue, CliError> {
    let limit = validate::MAX_VALUE_BYTES + 2;
    // A buffer that wipes its old copy whenever it grows (a plain Vec leaves them behind).
    let mut buf = crate::vault::wipe::WipeBuf::with_capacity(64 * 1024);
    buf.read_from(std::io::stdin(), limit as u64 + 1, 64 * 1024)
        .map_err(|e| CliError::msg(format!("cannot read the value from stdin: {e}")))?;
    Ok(strip_one_newline(buf.into_inner()))
}

/// Pipes and heredocs end with a newline the user did not mean as part of the value.
fn strip_one_newline(mut value: SecretValue) -> SecretValue {
    let cut = if value.ends_with(b"\r\n") {
        2
    } else {
        usize::from(value.ends_with(b"\n"))
    };
    let keep = value.len() - cut;
    value.truncate(keep);
    value
}

/// A strong random value (see `vault::generate`).
fn generate_value((len, charset): (usize, generate::Charset)) -> Result<SecretValue, CliError> {
    Ok(generate::value_from(charset, len)?)
}

pub fn add(global: &Global, args: AddArgs) -> CliResult {
    // Check the key before asking for anything: a typo should not cost a passphrase.
    validate::secret_key(&args.key)?;
    validate::description(&args.description)?;
    if let Some(w) = validate::lowercase_warning(&args.key) {
        warn(&w);
    }
    if let Some(why) = validate::dangerous_env_name(&args.key) {
        warn(&format!(
            "`tresor run` refuses to pass {0} unless run with --allow-name {0}: {why}",
            args.key
        ));
    }
    let wanted = args.generate.wanted()?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let vault = unlock::open_for_change(global)?;
    let value = match wanted {
        Some(wanted) => generate_value(wanted)?,
        None if !stdin_is_terminal => read_stdin_value()?,
        None => {
            // Say "already exists" before the user pastes a secret for nothing.
            if key_exists(&vault, global, &args.key)? {
                return Err(VaultError::Duplicate {
                    key: args.key,
                    project: global.project.clone(),
                    env: global.env.clone(),
                }
                .into());
            }
            prompt::value(&format!("Value for {}: ", args.key))?
        }
    };
    let info = vault.add(
        &global.project,
        &global.env,
        NewSecret {
            key: args.key,
            value,
            description: args.description,
            kind: args.kind,
        },
    )?;
    let generated = match wanted {
        Some((n, generate::Charset::Urlsafe)) => format!(", generated {n} characters"),
        Some((n, charset)) => format!(", generated {n} {} characters", charset.name()),
        None => String::new(),
    };
    note(&format!(
        "added {} to {}/{} ({}{generated})",
        info.key, global.project, global.env, info.kind
    ));
    Ok(())
}

pub fn edit(global: &Global, args: EditArgs) -> CliResult {
    if let Some(d) = &args.description {
        validate::description(d)?;
    }
    let wanted = args.generate.wanted()?;
    let vault = unlock::open_for_change(global)?;
    let value = match (wanted, args.value_stdin) {
        (Some(wanted), _) => Some(generate_value(wanted)?),
        (None, true) if std::io::stdin().is_terminal() => {
            // A missing key is an error before the value is asked for, not after.
            if !key_exists(&vault, global, &args.key)? {
                return Err(with_suggestion(
                    &vault,
                    global,
                    VaultError::NotFound {
                        key: args.key,
                        project: global.project.clone(),
                        env: global.env.clone(),
                    },
                ));
            }
            Some(prompt::value(&format!("New value for {}: ", args.key))?).filter(|v| !v.is_empty())
        }
        (None, true) => Some(read_stdin_value()?).filter(|v| !v.is_empty()),
        (None, false) => None,
    };
    let changed_value = value.is_some();
    let info = vault
        .edit(
            &global.project,
            &global.env,
            &args.key,
            SecretEdit {
                value,
                description: args.description,
                kind: args.kind,
            },
        )
        .map_err(|e| with_suggestion(&vault, global, e))?;
    let what = if changed_value { "value" } else { "details" };
    note(&format!(
        "updated {} {what} in {}/{}",
        info.key, global.project, global.env
    ));
    Ok(())
}

pub fn get(global: &Global, args: GetArgs) -> CliResult {
    if args.copy {
        return copy(global, &args.key);
    }
    let vault = unlock::open(global)?;
    let value = vault
        .get(&global.project, &global.env, &args.key)
        .map_err(|e| with_suggestion(&vault, global, e))?;
    if !args.raw && std::io::stdout().is_terminal() {
        output::check_for_terminal(&args.key, &value, "send it to a pipe or a file")?;
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(&value).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `tresor get X | head -c 10` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::msg(format!("cannot write to stdout: {e}"))),
    }
}

/// `get --copy`: the value goes to the clipboard, never to stdout, and a detached
/// clearer empties the clipboard after TRESOR_CLIP_SECONDS.
fn copy(global: &Global, key: &str) -> CliResult {
    let seconds = clipboard::seconds_from_env().map_err(CliError::msg)?;
    // No terminal, no read: the audit log must not say "copy" for a copy that failed.
    let tty = clipboard::terminal().map_err(CliError::msg)?;
    let vault = unlock::open(global)?;
    let value = vault
        .read_value(&global.project, &global.env, key, "copy")
        .map_err(|e| with_suggestion(&vault, global, e))?;
    clipboard::copy_and_clear_later(tty, &value, seconds).map_err(CliError::msg)?;
    note(&format!(
        "copied {} to the clipboard; it is cleared in {seconds} s",
        validate::printable(key)
    ));
    Ok(())
}

/// Whether the environment holds `key` (reads no value, writes no audit entry).
fn key_exists(vault: &crate::vault::Vault, global: &Global, key: &str) -> Result<bool, CliError> {
    Ok(vault
        .list(&global.project, &global.env)?
        .iter()
        .any(|s| s.key == key))
}

/// Keys are case-sensitive; `database_url` for `DATABASE_URL` is the likely slip.
fn with_suggestion(vault: &crate::vault::Vault, global: &Global, err: VaultError) -> CliError {
    let VaultError::NotFound { key, .. } = &err else {
        return err.into();
    };
    let near = vault
        .list(&global.project, &global.env)
        .ok()
        .and_then(|all| {
            all.into_iter()
                .find(|s| s.key.eq_ignore_ascii_case(key))
                .map(|s| s.key)
        });
    match near {
        Some(k) => CliError::msg(format!(
            "{err} (keys are case-sensitive: did you mean {k}?)"
        )),
        None => err.into(),
    }
}

pub fn list(global: &Global, args: ListArgs) -> CliResult {
    let vault = unlock::open(global)?;
    let secrets = vault.list(&global.project, &global.env)?;
    let mut out = String::new();
    if args.json {
        let items: Vec<serde_json::Value> = secrets
            .iter()
            .map(|s| {
                serde_json::json!({
                    "key": s.key,
                    "description": s.description,
                    "type": s.kind.slug(),
                    "created": rfc3339(s.created),
                    "updated": rfc3339(s.updated),
                    "value_changed": rfc3339(s.value_changed),
                })
            })
            .collect();
        out = serde_json::to_string_pretty(&items).map_err(|e| CliError::msg(e.to_string()))?;
        out.push('\n');
    } else if secrets.is_empty() {
        note(&format!(
            "no secrets in {}/{} (add one with `tresor add KEY`)",
            global.project, global.env
        ));
    } else {
        let rows: Vec<[String; 5]> = secrets
            .iter()
            .map(|s| {
                [
                    s.key.clone(),
                    one_line(&s.description),
                    s.kind.label().to_string(),
                    date(s.created),
                    date(s.updated),
                ]
            })
            .collect();
        out = table(["KEY", "DESCRIPTION", "TYPE", "CREATED", "UPDATED"], &rows);
    }
    print_data(&out)
}

pub fn rm(global: &Global, args: RmArgs) -> CliResult {
    let vault = unlock::open_for_change(global)?;
    if !args.yes {
        let question = format!(
            "Delete secret {} from {}/{}? Deleting is permanent: the value and its history go.",
            validate::printable(&args.key),
            global.project,
            global.env
        );
        match confirm(&question) {
            Some(true) => {}
            Some(false) => {
                note("nothing deleted");
                return Err(CliError::Exit(1));
            }
            None => {
                return Err(CliError::msg(format!(
                    "refusing to delete {} without confirmation: pass --yes",
                    validate::printable(&args.key)
                )));
            }
        }
    }
    vault
        .remove(&global.project, &global.env, &args.key)
        .map_err(|e| with_suggestion(&vault, global, e))?;
    note(&format!(
        "deleted {} from {}/{}",
        args.key, global.project, global.env
    ));
    Ok(())
}

/// The longest `KEY=value` string (with its NUL) that exec accepts on Linux.
const MAX_ENV_STRING: usize = 128 * 1024;

pub fn run(global: &Global, args: RunArgs) -> CliResult {
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::process::CommandExt;

    let vault = unlock::open(global)?;
    let secrets = if args.only.is_empty() {
        vault.reveal_all(&global.project, &global.env, "run")?
    } else {
        // Only what is asked for is read (and decrypted): the same cost at any size.
        let mut only = args.only.clone();
        only.sort();
        only.dedup();
        match vault.reveal_some(&global.project, &global.env, &only, "run") {
            Err(VaultError::NotFound { key, .. }) => {
                return Err(CliError::msg(format!(
                    "--only names `{key}`, which is not in {}/{}",
                    global.project, global.env
                )));
            }
            other => other?,
        }
    };
    // A secret named PATH, LD_PRELOAD, BASH_ENV… would make the command run code of the
    // secret's author: refuse unless the user allows each such name.
    let refused: Vec<(&str, &str)> = secrets
        .iter()
        .filter(|(info, _)| !args.allow_name.contains(&info.key))
        .filter_map(|(info, _)| {
            validate::dangerous_env_name(&info.key).map(|why| (info.key.as_str(), why))
        })
        .collect();
    if !refused.is_empty() {
        let named: Vec<String> = refused
            .iter()
            .map(|(key, why)| format!("{key} ({why})"))
            .collect();
        let keys: Vec<&str> = refused.iter().map(|(key, _)| *key).collect();
        return Err(CliError::msg(format!(
            "refusing to pass {} to the command: whoever can add a secret would run code as you. Leave them out with --only, or pass --allow-name {} if these values are yours",
            named.join(", "),
            keys.join(",")
        )));
    }
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| CliError::msg("no command given after --"))?;
    let mut command = std::process::Command::new(program);
    command.args(rest);
    // The child must not inherit the means to unlock the vault.
    for name in [
        unlock::PASSPHRASE_ENV,
        unlock::KEYFILE_ENV,
        unlock::NEW_PASSPHRASE_ENV,
    ] {
        command.env_remove(name);
    }
    for (info, value) in &secrets {
        if value.contains(&0) {
            return Err(CliError::msg(format!(
                "secret {} contains a NUL byte, which an environment variable cannot hold",
                info.key
            )));
        }
        // Linux refuses exec (E2BIG, "Argument list too long") when one `KEY=value`
        // string exceeds MAX_ARG_STRLEN (32 pages): say which secret instead.
        if info.key.len() + 2 + value.len() > MAX_ENV_STRING {
            return Err(CliError::msg(format!(
                "secret {} is {} bytes, more than an environment variable can hold (128 KiB); leave it out with --only, or read it with `tresor get {}`",
                info.key,
                value.len(),
                info.key
            )));
        }
        command.env(&info.key, std::ffi::OsString::from_vec(value.to_vec()));
    }
    drop(secrets);
    drop(vault);
    // exec replaces this process, so signals go straight to the child and its exit
    // status is ours. It only returns on failure.
    let err = command.exec();
    let name = program.to_string_lossy();
    // Like a shell: 127 when there is no such command, 126 when it cannot be run.
    let (status, why) = match err.raw_os_error() {
        Some(libc::ENOENT) if name.contains('/') => (127, "no such file".to_string()),
        Some(libc::ENOENT) => (127, "command not found (not in PATH)".to_string()),
        Some(libc::EACCES) => (
            126,
            "permission denied (not an executable file)".to_string(),
        ),
        Some(libc::E2BIG) => (
            126,
            format!(
                "{err}; the secrets together are too large for the environment: pass fewer with --only"
            ),
        ),
        _ => (126, err.to_string()),
    };
    eprintln!("error: cannot run {name}: {why}");
    Err(CliError::Exit(status))
}

pub fn print_data(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::msg(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

pub fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub fn date(ts: i64) -> String {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| {
            let d = t.date_naive();
            // What `%Y-%m-%d` writes, without parsing the pattern for each of 20,000 cells
            // of a long `list`; `%Y` signs years outside 0..=9999, so those go through it.
            if let Ok(year @ 0..=9999) = u32::try_from(d.year()) {
                let mut s = String::with_capacity(10);
                for (n, digits) in [(year, 4), (d.month(), 2), (d.day(), 2)] {
                    if digits == 2 {
                        s.push('-');
                    }
                    for place in (0..digits).rev() {
                        s.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
                    }
                }
                s
            } else {
                t.format("%Y-%m-%d").to_string()
            }
        })
        .unwrap_or_default()
}

/// Descriptions can hold newlines and control characters; a table row cannot.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate_to_width(&flat, DESCRIPTION_COLUMNS)
}

/// The widest a description gets in `list`, in terminal columns.
const DESCRIPTION_COLUMNS: usize = 50;

/// `text` cut to at most `max` terminal columns, with `…` when cut.
fn truncate_to_width(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max.saturating_sub(1) {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Aligned columns, padded by terminal width (CJK and emoji take two columns).
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    // Each cell is measured once, and lines are built in one reused buffer: a `list` of
    // 10,000 secrets is 50,000 cells.
    let header_widths = header.map(|h| h.width());
    let row_widths: Vec<[usize; N]> = rows
        .iter()
        .map(|row| std::array::from_fn(|i| row[i].width()))
        .collect();
    let mut widths = header_widths;
    for cells in &row_widths {
        for (w, cell) in widths.iter_mut().zip(cells) {
            *w = (*w).max(*cell);
        }
    }
    let mut out = String::new();
    let mut line = String::new();
    let mut push = |cells: [&str; N], cell_widths: &[usize; N]| {
        line.clear();
        for (i, ((cell, w), cw)) in cells.iter().zip(widths).zip(cell_widths).enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                line.extend(std::iter::repeat_n(' ', w - cw + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push(header, &header_widths);
    for (row, cell_widths) in rows.iter().zip(&row_widths) {
        push(std::array::from_fn(|i| row[i].as_str()), cell_widths);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_columns_not_characters() {
        assert_eq!(truncate_to_width("short", 50), "short");
        let wide = "鍵".repeat(30);
        let cut = truncate_to_width(&wide, 50);
        assert_eq!(cut, format!("{}…", "鍵".repeat(24)));
        assert!(cut.width() <= 50);
        // A wide character that would straddle the limit is left out whole.
        assert_eq!(truncate_to_width("ab鍵", 3), "ab…");
        let table = table(
            ["A", "B"],
            &[["鍵🔑".into(), "x".into()], ["ab".into(), "y".into()]],
        );
        assert_eq!(table, "A     B\n鍵🔑  x\nab    y\n");
    }

    #[test]
    fn dates_read_as_strftime_writes_them() {
        let strftime = |ts: i64| {
            chrono::DateTime::from_timestamp(ts, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        let samples = [
            0,
            -1,
            86_399,
            86_400,
            951_782_400, // 2000-02-29
            1_767_225_599,
            -62_135_596_800, // 0001-01-01
            -62_135_596_801, // the year 0
            -62_198_755_200, // year -2: signed
            253_402_300_799, // 9999-12-31
            253_402_300_800, // 10000-01-01: signed
            i64::MAX,        // out of range: empty
            i64::MIN,
        ];
        for ts in samples {
            assert_eq!(date(ts), strftime(ts), "timestamp {ts}");
        }
        assert_eq!(date(951_782_400), "2000-02-29");
    }
}
