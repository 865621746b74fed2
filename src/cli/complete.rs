//! Completions that know your vault, through clap's dynamic engine: the shell runs
//! `COMPLETE=bash tresor -- WORDS…` at each Tab, and the candidates for keys,
//! environments and projects come from the vault.
//!
//! A completion never prompts, never starts the agent, never prints an error and never
//! records a read in the audit log (it only lists names). It opens the vault with the
//! agent's key when the agent holds it, or with a keyfile given on the line or in
//! `TRESOR_KEYFILE`. Without either (cold) the names are sealed in the file: it offers
//! only what every vault starts with, the project `default` and the environments
//! development, staging and production, and no keys; key slot ids (`keyfile rm`) are
//! stored in the clear and offered either way.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::EnvCompleter;

use super::{Cli, Shell};
use crate::agent;
use crate::vault::{self, Credential, DEFAULT_ENVIRONMENTS, DEFAULT_PROJECT, Vault};

/// The environment variable the shell scripts set to ask for candidates.
pub const VAR: &str = "COMPLETE";

/// The command line with the vault-aware completers attached. Subcommands' arguments
/// are deferred until built (see `cli::Command`): the tree is built first, so the global
/// `-p`/`-e` have their copies in every subcommand, and each copy gets its completer.
pub fn command() -> clap::Command {
    let keys = || ArgValueCompleter::new(keys);
    let mut cmd = Cli::command();
    cmd.build();
    let cmd = everywhere(cmd, "project", &|| ArgValueCompleter::new(projects));
    everywhere(cmd, "env", &|| ArgValueCompleter::new(environments))
        .mut_subcommand("get", |c| c.mut_arg("key", |a| a.add(keys())))
        .mut_subcommand("edit", |c| c.mut_arg("key", |a| a.add(keys())))
        .mut_subcommand("rm", |c| c.mut_arg("key", |a| a.add(keys())))
        .mut_subcommand("env", |c| {
            c.mut_subcommand("rm", |c| {
                c.mut_arg("name", |a| a.add(ArgValueCompleter::new(environments)))
            })
        })
        .mut_subcommand("project", |c| {
            c.mut_subcommand("rm", |c| {
                c.mut_arg("name", |a| a.add(ArgValueCompleter::new(projects)))
            })
        })
        .mut_subcommand("keyfile", |c| {
            c.mut_subcommand("rm", |c| {
                c.mut_arg("id", |a| a.add(ArgValueCompleter::new(key_slots)))
            })
        })
}

/// `id`'s completer on the command and on every subcommand that has the argument.
fn everywhere(
    cmd: clap::Command,
    id: &str,
    completer: &dyn Fn() -> ArgValueCompleter,
) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut cmd = if cmd.get_arguments().any(|a| a.get_id() == id) {
        cmd.mut_arg(id, |a| a.add(completer()))
    } else {
        cmd
    };
    for name in names {
        cmd = cmd.mut_subcommand(name, |c| everywhere(c, id, completer));
    }
    cmd
}

/// Answers the shell when it asks for candidates (and then exits); otherwise returns.
pub fn answer_shell() {
    clap_complete::CompleteEnv::with_factory(command)
        .var(VAR)
        .complete();
}

/// `tresor completions SHELL`: the script that makes the shell ask `tresor` at each Tab.
pub fn print_registration(shell: Shell) -> std::io::Result<()> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
    };
    // The program as it was called: `tresor` on the PATH stays `tresor`.
    let program = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .filter(|p| p.components().count() == 1)
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from("tresor"));
    let mut out = std::io::stdout().lock();
    completer.write_registration(
        VAR,
        "tresor",
        "tresor",
        &program.to_string_lossy(),
        &mut out,
    )
}

/// What the line being completed says about the vault, after the environment.
struct Place {
    vault: Option<PathBuf>,
    keyfile: Option<PathBuf>,
    project: String,
    env: String,
}

impl Place {
    /// Reads `--vault`, `--keyfile`, `-p` and `-e` from the words the shell passed after `--`.
    fn from_line() -> Place {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let mut place = Place {
            vault: var("TRESOR_VAULT").map(PathBuf::from),
            keyfile: var("TRESOR_KEYFILE").map(PathBuf::from),
            project: var("TRESOR_PROJECT")
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_else(|| DEFAULT_PROJECT.into()),
            env: var("TRESOR_ENV")
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_else(|| "development".into()),
        };
        let words: Vec<String> = std::env::args_os()
            .skip_while(|a| a != "--")
            .skip(2)
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            // `--flag=value`, `-pvalue`, or `--flag value`.
            let (flag, inline) = match word.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
                _ if word.len() > 2 && (word.starts_with("-p") || word.starts_with("-e")) => {
                    (&word[..2], Some(word[2..].to_string()))
                }
                _ => (word.as_str(), None),
            };
            if !matches!(
                flag,
                "-p" | "--project" | "-e" | "--env" | "--vault" | "--keyfile"
            ) {
                continue;
            }
            let Some(value) = inline.or_else(|| words.next()) else {
                break;
            };
            match flag {
                "-p" | "--project" => place.project = value,
                "-e" | "--env" => place.env = value,
                "--vault" => place.vault = Some(PathBuf::from(value)),
                _ => place.keyfile = Some(PathBuf::from(value)),
            }
        }
        place
    }

    /// The vault, opened without asking anything; `None` when that cannot be done.
    fn open(&self) -> Option<Vault> {
        let path = vault::resolve_path(self.vault.as_deref()).ok()?;
        if !path.is_file() {
            return None;
        }
        if let Some(keyfile) = &self.keyfile {
            return Vault::unlock(&path, &Credential::Keyfile(keyfile.clone())).ok();
        }
        if agent::Mode::from_env() == agent::Mode::Off {
            return None;
        }
        let id = vault::vault_id(&path).ok()??;
        let held = agent::client::fetch(&id).ok()??;
        Vault::unlock(&path, &Credential::Held(held)).ok()
    }
}

fn matching(
    current: &std::ffi::OsStr,
    names: impl IntoIterator<Item = (String, Option<String>)>,
) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    names
        .into_iter()
        .filter(|(name, _)| name.starts_with(current.as_ref()))
        .map(|(name, help)| {
            let candidate = CompletionCandidate::new(name);
            match help.filter(|h| !h.is_empty()) {
                Some(h) => candidate.help(Some(h.into())),
                None => candidate,
            }
        })
        .collect()
}

/// The keys of the environment named on the line (none when cold).
fn keys(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let place = Place::from_line();
    let Some(vault) = place.open() else {
        return Vec::new();
    };
    let secrets = vault.list(&place.project, &place.env).unwrap_or_default();
    matching(
        current,
        secrets.into_iter().map(|s| (s.key, Some(s.description))),
    )
}

/// The environments of the project named on the line.
fn environments(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let place = Place::from_line();
    let names: Vec<String> = match place.open() {
        Some(vault) => vault
            .environment_tabs()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.project == place.project)
            .map(|e| e.name)
            .collect(),
        None => DEFAULT_ENVIRONMENTS.iter().map(|e| e.to_string()).collect(),
    };
    matching(current, names.into_iter().map(|n| (n, None)))
}

fn projects(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let place = Place::from_line();
    let mut names: Vec<String> = match place.open() {
        Some(vault) => vault
            .environment_tabs()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.project)
            .collect(),
        None => vec![DEFAULT_PROJECT.to_string()],
    };
    names.dedup();
    matching(current, names.into_iter().map(|n| (n, None)))
}

/// Key slot ids with their kind: stored in the clear, so offered warm or cold.
fn key_slots(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let place = Place::from_line();
    let Some(slots) = vault::resolve_path(place.vault.as_deref())
        .ok()
        .filter(|p| p.is_file())
        .and_then(|p| vault::slot_kinds(&p).ok())
    else {
        return Vec::new();
    };
    matching(
        current,
        slots
            .into_iter()
            .map(|(id, kind)| (id.to_string(), Some(kind.label().to_string()))),
    )
}
