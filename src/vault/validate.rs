//! The product page's input rules, enforced in one place for the CLI, the TUI and import.

use super::error::{Result, VaultError};

pub const MAX_KEY_BYTES: usize = 256;
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
pub const MAX_NAME_BYTES: usize = 64;
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Checks a secret key against `^[A-Za-z_][A-Za-z0-9_]*$`. Keys become environment
/// variable names, so anything else would break `tresor run`.
pub fn secret_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(VaultError::KeyRequired);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(VaultError::KeyTooLong {
            len: key.len(),
            max: MAX_KEY_BYTES,
        });
    }
    if let Some(key) = pasted_assignment(key) {
        // Short, to be read whole under the form's key field; never quotes the value.
        return Err(VaultError::KeyWithValue { key });
    }
    let invalid = |reason: String| VaultError::InvalidKey {
        key: shortened(&printable(key)),
        reason,
    };
    for (i, c) in key.chars().enumerate() {
        if i == 0 && c.is_ascii_digit() {
            return Err(invalid(format!(
                "it starts with the digit `{c}`; keys start with a letter or `_`"
            )));
        }
        if !(c.is_ascii_alphanumeric() || c == '_') {
            let suggested = suggestion(key);
            // A long suggestion would push the message past a line; the rule is enough.
            let example = if suggested.chars().count() <= SHOWN_KEY_CHARS {
                format!(" (e.g. {suggested})")
            } else {
                String::new()
            };
            return Err(invalid(format!(
                "{} is not allowed; use letters, digits and `_`{example}",
                describe_char(c)
            )));
        }
    }
    Ok(())
}

/// A lowercase key is legal but unusual for environment variables: the page asks for
/// UPPERCASE, so callers show this as a warning, never silently rewrite the key.
pub fn lowercase_warning(key: &str) -> Option<String> {
    key.chars().any(|c| c.is_ascii_lowercase()).then(|| {
        format!(
            "key `{key}` has lowercase letters; environment variables are usually UPPERCASE (`{}`)",
            key.to_ascii_uppercase()
        )
    })
}

pub fn description(text: &str) -> Result<()> {
    let len = text.chars().count();
    if len > MAX_DESCRIPTION_CHARS {
        return Err(VaultError::DescriptionTooLong {
            len,
            max: MAX_DESCRIPTION_CHARS,
        });
    }
    Ok(())
}

pub fn value(value: &[u8]) -> Result<()> {
    if value.is_empty() {
        return Err(VaultError::ValueRequired);
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(VaultError::ValueTooLarge { len: value.len() });
    }
    Ok(())
}

/// A new passphrase: Argon2id slows each guess, but a very short passphrase falls to a
/// word list anyway. Characters, not bytes.
pub fn new_passphrase(passphrase: &str) -> Result<()> {
    match passphrase.chars().count() {
        0 => Err(VaultError::EmptyPassphrase),
        chars if chars < MIN_PASSPHRASE_CHARS => Err(VaultError::PassphraseTooShort { chars }),
        _ => Ok(()),
    }
}

/// Project and environment names: short, no surprises in a tab bar or a path.
pub fn name(what: &'static str, name: &str) -> Result<()> {
    let invalid = |reason: &str| VaultError::InvalidName {
        what,
        name: printable(name),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(invalid("it is longer than 64 bytes"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid("it must start with a letter or digit"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(invalid(&format!(
            "{} is not allowed (use letters, digits, `-`, `_`, `.`)",
            describe_char(c)
        )));
    }
    Ok(())
}

/// How long a key may be when quoted whole in a message.
const SHOWN_KEY_CHARS: usize = 32;

/// The key as quoted in a message: a pasted block would otherwise push the reason off
/// the line (a form shows two lines of message).
fn shortened(key: &str) -> String {
    if key.chars().count() <= SHOWN_KEY_CHARS {
        return key.to_owned();
    }
    let mut short: String = key.chars().take(SHOWN_KEY_CHARS - 1).collect();
    short.push('…');
    short
}

/// The key of a pasted `KEY=value` line (or the first line of a pasted block), made
/// valid if it is not: `export A=1` gives `A`, `db.url = x` gives `DB_URL`.
fn pasted_assignment(text: &str) -> Option<String> {
    let (before, _) = text.split_once('=')?;
    let before = before.trim();
    let before = before
        .strip_prefix("export")
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .map_or(before, str::trim_start);
    if before.is_empty() {
        return None;
    }
    let valid = before.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && before
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    let named = if valid {
        before.to_owned()
    } else {
        suggestion(before)
    };
    Some(shortened(&named))
}

/// A character as a message names it: common blanks in words, other invisible ones by
/// code point, the rest quoted.
fn describe_char(c: char) -> String {
    let named = match c {
        ' ' => "a space",
        '\t' => "a tab",
        '\n' => "a line break",
        '\r' => "a carriage return",
        '\0' => "a NUL byte",
        '\u{a0}' => "a no-break space",
        '\u{feff}' => "a byte order mark (U+FEFF)",
        '\u{200b}' => "a zero-width space (U+200B)",
        c if c.is_control() || c.is_whitespace() => {
            return format!("the invisible character U+{:04X}", c as u32);
        }
        c => return format!("character `{c}`"),
    };
    named.to_owned()
}

/// "1 secret", "2 secrets": messages are read by people.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Keys end up in error messages and descriptions in .env comments: control characters
/// must not reach the terminal raw, and U+2028/U+2029 are line breaks to npm dotenv (a
/// description holding one would turn the rest of its comment into an entry).
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fn suggestion(key: &str) -> String {
    let mut s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// Names that `tresor run` refuses to pass to its command unless allowed one by one.
///
/// A secret becomes an environment variable of the command, and these variables make a
/// program (or the loader, the shell, an interpreter it starts) run code or files that
/// the variable names. So whoever can add a secret to the vault (a teammate with a copy,
/// an imported .env file) could run code as whoever runs `tresor run`. The list covers:
/// the program search path; the dynamic loader (glibc `LD_*`, `GCONV_PATH`, `MALLOC_*`,
/// `GLIBC_TUNABLES`; macOS `DYLD_*`); shell start-up and parsing (`BASH_ENV`, `ENV`,
/// `ZDOTDIR`, `IFS`, `SHELLOPTS`, `BASHOPTS`, `PS4`, `PROMPT_COMMAND`, `CDPATH`,
/// `GLOBIGNORE`); interpreters' start-up code and module paths (Node, Python, Perl,
/// Ruby, Java); commands git and ssh run; programs other tools start (editor, pager,
/// askpass); and `HOME`, `SHELL`, `TMPDIR`, which move every program's settings files,
/// shell and scratch files somewhere else. Returns why the name is on the list.
pub fn dangerous_env_name(key: &str) -> Option<&'static str> {
    const LOADER: &str = "the dynamic loader loads code it names into every program";
    const LIBC: &str = "it changes how the C library loads modules or manages memory";
    const SHELL_START: &str = "a shell runs the file it names at start";
    const SHELL_PARSE: &str = "it changes how shell scripts run or parse commands";
    const INTERPRETER: &str = "an interpreter loads code it names at start";
    const RUNS_COMMAND: &str = "tools run the command it names";
    const MOVES_FILES: &str = "it moves where programs read their settings or write files";
    let why = match key {
        "PATH" => "it chooses which program every command name runs",
        "BASH_ENV" | "ENV" | "ZDOTDIR" => SHELL_START,
        "IFS" | "SHELLOPTS" | "BASHOPTS" | "PS4" | "PROMPT_COMMAND" | "CDPATH" | "GLOBIGNORE" => {
            SHELL_PARSE
        }
        "GCONV_PATH" | "GLIBC_TUNABLES" | "LOCPATH" => LIBC,
        "NODE_OPTIONS" | "NODE_PATH" | "PYTHONSTARTUP" | "PYTHONPATH" | "PYTHONHOME"
        | "PYTHONBREAKPOINT" | "PYTHONUSERBASE" | "PERL5OPT" | "PERL5LIB" | "PERLLIB"
        | "PERL5DB" | "RUBYOPT" | "RUBYLIB" | "JAVA_TOOL_OPTIONS" | "_JAVA_OPTIONS"
        | "JDK_JAVA_OPTIONS" | "CLASSPATH" => INTERPRETER,
        "GIT_SSH"
        | "GIT_SSH_COMMAND"
        | "GIT_EXEC_PATH"
        | "GIT_ASKPASS"
        | "GIT_PROXY_COMMAND"
        | "GIT_EDITOR"
        | "GIT_PAGER"
        | "GIT_CONFIG_GLOBAL"
        | "GIT_CONFIG_SYSTEM"
        | "GIT_CONFIG_PARAMETERS"
        | "SSH_ASKPASS"
        | "SUDO_ASKPASS"
        | "EDITOR"
        | "VISUAL"
        | "PAGER"
        | "MANPAGER"
        | "LESSOPEN"
        | "LESSCLOSE"
        | "BROWSER" => RUNS_COMMAND,
        "HOME" | "SHELL" | "TMPDIR" | "XDG_CONFIG_HOME" => MOVES_FILES,
        _ if key.starts_with("LD_") || key.starts_with("DYLD_") => LOADER,
        _ if key.starts_with("MALLOC_") => LIBC,
        _ => return None,
    };
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_environment_variable_names() {
        for key in ["A", "_", "STRIPE_API_KEY_FOR_PRODUCTION", "db_url", "_X9"] {
            assert!(secret_key(key).is_ok(), "{key}");
        }
    }

    #[test]
    fn names_the_bad_character() {
        let err = secret_key("API-KEY").unwrap_err().to_string();
        assert!(err.contains("`-`") && err.contains("API_KEY"), "{err}");
        let err = secret_key("9LIVES").unwrap_err().to_string();
        assert!(err.contains("digit `9`"), "{err}");
        let err = secret_key("A B").unwrap_err().to_string();
        assert!(err.contains("a space is not allowed"), "{err}");
        let err = secret_key("A\u{85}B").unwrap_err().to_string();
        assert!(err.contains("the invisible character U+0085"), "{err}");
        let err = secret_key("CLÉ").unwrap_err().to_string();
        assert!(err.contains("`É`"), "{err}");
        assert_eq!(
            secret_key("").unwrap_err().to_string(),
            "Secret key is required"
        );
    }

    #[test]
    fn limits() {
        assert!(secret_key(&"K".repeat(256)).is_ok());
        assert!(matches!(
            secret_key(&"K".repeat(257)),
            Err(VaultError::KeyTooLong { .. })
        ));
        assert!(description(&"é".repeat(4096)).is_ok());
        assert!(description(&"é".repeat(4097)).is_err());
        assert!(value(&vec![b'x'; MAX_VALUE_BYTES]).is_ok());
        assert!(value(&vec![b'x'; MAX_VALUE_BYTES + 1]).is_err());
        assert_eq!(
            value(b"").unwrap_err().to_string(),
            "Secret value is required"
        );
    }

    #[test]
    fn lowercase_gets_a_warning_with_the_uppercase_form() {
        assert!(lowercase_warning("API_KEY").is_none());
        assert!(lowercase_warning("api_key").unwrap().contains("`API_KEY`"));
    }
}
