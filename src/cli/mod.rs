//! The headless command line: argument parsing and the glue between a command and the
//! vault. Each subcommand group lives in its own file and stays thin: rules and storage
//! belong to `vault`.

mod audit;
mod check;
mod envs;
mod keys;
mod maintenance;
mod output;
mod prompt;
mod secrets;
mod transfer;
pub mod unlock;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::vault::{self, VaultError};

const AFTER_HELP: &str = "\
Examples:
  tresor init                                  create the vault (passphrase prompted twice)
  printf %s \"$URL\" | tresor add DATABASE_URL -d 'primary database'
  tresor get DATABASE_URL
  tresor -e production run -- ./server         run with the production secrets
  tresor                                       open the Secrets screen

Unlock: --keyfile PATH or TRESOR_KEYFILE, else TRESOR_PASSPHRASE, else a prompt on the terminal.";

/// A keyboard-driven secrets manager: an encrypted vault, a terminal UI and a CLI.
#[derive(Debug, Parser)]
#[command(name = "tresor", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// The vault file [default: the platform data directory, e.g. ~/.local/share/tresor/vault.tresor]
    #[arg(long, global = true, env = "TRESOR_VAULT", value_name = "PATH")]
    pub vault: Option<PathBuf>,
    /// Project
    #[arg(short, long, global = true, env = "TRESOR_PROJECT", default_value = vault::DEFAULT_PROJECT)]
    pub project: String,
    /// Environment
    #[arg(
        short,
        long = "env",
        global = true,
        env = "TRESOR_ENV",
        default_value = "development"
    )]
    pub env: String,
    /// Unlock with this keyfile instead of a passphrase (for `init`: create it here)
    #[arg(long, global = true, env = "TRESOR_KEYFILE", value_name = "PATH")]
    pub keyfile: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the vault with project `default` and environments development, staging, production
    #[command(
        after_help = "Examples:\n  tresor init\n  TRESOR_PASSPHRASE=… tresor init\n  tresor init --keyfile ~/.config/tresor/ci.key"
    )]
    Init(keys::InitArgs),
    /// Add a secret; the value comes from stdin when piped, else from a hidden prompt
    #[command(
        after_help = "Examples:\n  printf %s 'postgres://app:pw@db/app' | tresor add DATABASE_URL -d 'primary database'\n  tresor add TLS_KEY --type certificate < server.key\n  tresor add SESSION_SECRET --generate=48\n\nValues are never taken from the command line (it shows in `ps` and shell history)."
    )]
    Add(secrets::AddArgs),
    /// Change a secret's value, description or type (the key cannot change)
    #[command(
        after_help = "Examples:\n  tresor edit STRIPE_API_KEY -d 'live key, rotated monthly'\n  printf %s \"$NEW\" | tresor edit STRIPE_API_KEY --value-stdin\n\nAn empty new value keeps the current one; nothing changed is `No changes to save`."
    )]
    Edit(secrets::EditArgs),
    /// Print a secret's value, byte for byte, nothing added
    #[command(
        after_help = "Examples:\n  tresor get DATABASE_URL\n  tresor -e production get STRIPE_API_KEY | pbcopy\n\nOn a terminal, a value holding control characters (other than line breaks and tabs)\nis refused unless --raw: escape sequences would drive the terminal."
    )]
    Get(secrets::GetArgs),
    /// List the environment's secrets: key, description, type, created, updated; never values
    #[command(
        after_help = "Examples:\n  tresor list\n  tresor -e production list --json | jq -r '.[].key'"
    )]
    List(secrets::ListArgs),
    /// Delete a secret (permanent)
    #[command(
        after_help = "Examples:\n  tresor rm OLD_TOKEN            asks for confirmation\n  tresor rm OLD_TOKEN --yes      in scripts"
    )]
    Rm(secrets::RmArgs),
    /// Run a command with the environment's secrets as environment variables
    #[command(
        after_help = "Examples:\n  tresor run -- npm start\n  tresor -e production run --only DATABASE_URL -- sh -c 'psql \"$DATABASE_URL\"'\n\nExits with the command's status (127: command not found, 126: cannot be run).\nTRESOR_PASSPHRASE and TRESOR_KEYFILE are not passed on. Secrets whose names make\nprograms load or run other code (PATH, LD_*, DYLD_*, BASH_ENV, ENV, IFS, NODE_OPTIONS,\nPYTHONPATH, HOME, …) are refused unless allowed with --allow-name NAME."
    )]
    Run(secrets::RunArgs),
    /// Import a .env file (npm dotenv's dialect) in one transaction
    #[command(
        after_help = "Examples:\n  tresor import .env\n  tresor -e staging import --overwrite .env.staging\n  cat .env | tresor import -\n\nExisting keys are skipped (and listed) unless --overwrite; empty values are skipped.\nA line that cannot be imported stops the import: nothing is written."
    )]
    Import(transfer::ImportArgs),
    /// Write the environment's secrets to stdout or a new private file
    #[command(
        after_help = "Examples:\n  tresor export --output .env        a new file, readable by you only (0600)\n  tresor export --format json\n  eval \"$(tresor export --format shell)\"\n\nOn a terminal, a value holding control characters is refused unless --raw."
    )]
    Export(transfer::ExportArgs),
    /// Check the secrets' health: weak, reused, stale, unused, undocumented, badly named
    #[command(
        after_help = "Examples:\n  tresor check                          the development environment\n  tresor -e production check --fail-on weak,reused,stale\n  tresor check --all --json             every environment, for CI\n\nExit status: 0 nothing chosen by --fail-on (default: all) is flagged, 3 something is,\n1 an error, 2 a usage error. Values never appear in the report."
    )]
    Check(check::CheckArgs),
    /// Compare environments: which keys are missing where, which values are the same
    #[command(
        after_help = "Examples:\n  tresor diff staging production --only-missing     what production lacks that staging has\n  tresor diff development production --only-same   production values still the same as development's\n  tresor -p billing diff development staging production --json\n\nThe same letter in two columns means the same value (compared by a keyed fingerprint,\nnever shown); - means missing. Exits 0 whatever the differences."
    )]
    Diff(check::DiffArgs),
    /// Environments of a project
    #[command(
        subcommand,
        after_help = "Examples:\n  tresor env list\n  tresor env add preview\n  tresor env rm preview --yes"
    )]
    Env(envs::EnvCommand),
    /// Keyfiles: unlock on servers and in CI without a passphrase
    #[command(
        subcommand,
        after_help = "Example:\n  tresor keyfile add /etc/tresor/app.key"
    )]
    Keyfile(keys::KeyfileCommand),
    /// Change the passphrase (only the data key is rewrapped, unless --rekey)
    #[command(
        after_help = "Examples:\n  tresor passwd\n  tresor passwd --rekey           the old passphrase opens nothing written from now on\n  TRESOR_PASSPHRASE=old TRESOR_NEW_PASSPHRASE=new tresor passwd"
    )]
    Passwd(keys::PasswdArgs),
    /// Give the vault a new data key: every value re-encrypted, every key slot rewrapped
    #[command(
        after_help = "Examples:\n  tresor keyfile rm 2 && tresor rekey     revoke a leaked keyfile\n  tresor rekey\n\nOne transaction. Afterwards no removed key slot, and no key slot of an older copy of\nthe file, opens anything written from now on. It cannot change older copies (backups):\nthey keep the old values; rotate the values a removed credential could read."
    )]
    Rekey(keys::RekeyArgs),
    /// Move a format-1 vault to format 2 (a rekey; needs each key slot's credential once)
    #[command(
        after_help = "Examples:\n  tresor upgrade\n  tresor --keyfile ci.key upgrade --also-passphrase\n  tresor upgrade --also-keyfile ci.key\n  tresor upgrade --drop-unmatched          remove slots whose credential is lost"
    )]
    Upgrade(keys::RekeyArgs),
    /// Show the audit log: who read or changed what, when; never values
    #[command(
        after_help = "Examples:\n  tresor audit                      everything, oldest first\n  tresor audit -e production        production's entries, in every project\n  tresor -p billing audit --last 20\n\nOnly -p/-e typed on the command line filter (not TRESOR_PROJECT/TRESOR_ENV).\nThe via column says where an entry came from and which key slot unlocked the vault\n(see `tresor keyfile list`). Exits 1 when an entry fails verification."
    )]
    Audit(audit::AuditArgs),
    /// Check the vault file: storage checksums, digests, every record, permissions, KDF settings
    #[command(after_help = "Example:\n  tresor doctor\n\nExits 1 when it finds a problem.")]
    Doctor(maintenance::DoctorArgs),
    /// Accept a vault file restored from a backup (older than what this machine saw)
    #[command(
        after_help = "Example:\n  cp backup/vault.tresor ~/.local/share/tresor/vault.tresor\n  tresor restore --accept-older\n\nEvery command refuses a vault file older than the newest one this machine has opened\n(a rollback by someone with access to the file looks the same as a restored backup)."
    )]
    Restore(maintenance::RestoreArgs),
    /// Shrink the vault file after many edits or deletes
    #[command(after_help = "Example:\n  tresor compact")]
    Compact,
    /// Print shell completions
    #[command(
        after_help = "Examples:\n  tresor completions bash > ~/.local/share/bash-completion/completions/tresor\n  tresor completions zsh > \"${fpath[1]}/_tresor\"\n  tresor completions fish > ~/.config/fish/completions/tresor.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// An error that the command already explained; carries the exit status.
#[derive(Debug)]
pub struct Exit(pub i32);

pub type CliResult = Result<(), CliError>;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("{0}")]
    Message(String),
    /// The command printed what it had to say; exit with this status.
    #[error("")]
    Exit(i32),
}

impl CliError {
    pub fn msg(text: impl Into<String>) -> CliError {
        CliError::Message(text.into())
    }
}

/// Runs a subcommand. Returns the process exit status.
pub fn run(global: Global, command: Command) -> i32 {
    let outcome = match command {
        Command::Init(args) => keys::init(&global, args),
        Command::Add(args) => secrets::add(&global, args),
        Command::Edit(args) => secrets::edit(&global, args),
        Command::Get(args) => secrets::get(&global, args),
        Command::List(args) => secrets::list(&global, args),
        Command::Rm(args) => secrets::rm(&global, args),
        Command::Run(args) => secrets::run(&global, args),
        Command::Import(args) => transfer::import(&global, args),
        Command::Export(args) => transfer::export(&global, args),
        Command::Check(args) => check::check(&global, args),
        Command::Diff(args) => check::diff(&global, args),
        Command::Env(cmd) => envs::run(&global, cmd),
        Command::Keyfile(cmd) => keys::keyfile(&global, cmd),
        Command::Passwd(args) => keys::passwd(&global, args),
        Command::Rekey(args) => keys::rekey(&global, args),
        Command::Upgrade(args) => keys::upgrade(&global, args),
        Command::Audit(args) => audit::show(&global, args),
        Command::Doctor(args) => maintenance::doctor(&global, args),
        Command::Compact => maintenance::compact(&global),
        Command::Restore(args) => maintenance::restore(&global, args),
        Command::Completions { shell } => {
            completions(shell);
            Ok(())
        }
    };
    match outcome {
        Ok(()) => 0,
        Err(CliError::Exit(code)) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn completions(shell: Shell) {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "tresor", &mut std::io::stdout());
}

pub fn warn(text: &str) {
    eprintln!("warning: {text}");
}

/// Human-facing confirmations go to stderr so stdout stays clean for data.
pub fn note(text: &str) {
    eprintln!("{text}");
}

/// Asks a yes/no question on the terminal; `None` when there is no terminal to ask on.
pub fn confirm(question: &str) -> Option<bool> {
    use std::io::{BufRead, BufReader, Write};
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    write!(tty, "{question} [y/N] ").ok()?;
    tty.flush().ok()?;
    let mut answer = String::new();
    BufReader::new(tty).read_line(&mut answer).ok()?;
    Some(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

pub fn vault_path(global: &Global) -> Result<PathBuf, CliError> {
    Ok(vault::resolve_path(global.vault.as_deref())?)
}
