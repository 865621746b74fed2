//! The headless command line: argument parsing and the glue between a command and the
//! vault. Each subcommand group lives in its own file and stays thin: rules and storage
//! belong to `vault`.

mod agent;
mod audit;
mod check;
pub mod complete;
mod copy;
mod envs;
mod history;
mod keys;
mod maintenance;
mod output;
mod projects;
mod prompt;
mod secrets;
mod team;
mod team_audit;
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
    /// Team vault: read the local replica without asking the server (changes are refused)
    // Falsey: TRESOR_OFFLINE=1/yes/true turns it on; empty, 0, no or false leave it off.
    #[arg(long, global = true, env = "TRESOR_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    pub offline: bool,
}

// Deferred: a subcommand's arguments are built only when it is the one run (otherwise
// clap builds all of them on every start, a tenth of a `get`). An `Args` struct must
// then carry no doc comment, which would replace the subcommand's about.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
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
        after_help = "Examples:\n  tresor get DATABASE_URL\n  tresor -e production get STRIPE_API_KEY --copy      to the clipboard, cleared after 30 s\n\n--copy sends the value to the terminal's clipboard (OSC 52: works over SSH, and in tmux\nwith `set-clipboard on`); a detached process clears it after TRESOR_CLIP_SECONDS (30).\nOn a terminal, a value holding control characters (other than line breaks and tabs)\nis refused unless --raw: escape sequences would drive the terminal."
    )]
    Get(secrets::GetArgs),
    /// List the environment's secrets: key, description, type, created, updated; never values
    #[command(
        after_help = "Examples:\n  tresor list\n  tresor -e production list --json | jq -r '.[].key'"
    )]
    List(secrets::ListArgs),
    /// Delete a secret and its history (permanent)
    #[command(
        after_help = "Examples:\n  tresor rm OLD_TOKEN            asks for confirmation\n  tresor rm OLD_TOKEN --yes      in scripts\n\nDeleting is permanent: the value and its earlier values (`tresor history`) go."
    )]
    Rm(secrets::RmArgs),
    /// List a secret's versions: number, date, who, a keyed fingerprint; never values
    #[command(
        after_help = "Examples:\n  tresor history STRIPE_API_KEY\n  tresor -e production history DATABASE_URL --json\n\nEvery change of a value keeps the previous one, sealed like the current one (the last\n10 unless `tresor config history-depth N`). The fingerprint is a keyed hash: equal\nvalues have equal fingerprints; it reveals nothing else."
    )]
    History(history::HistoryArgs),
    /// Make an earlier value current again (as a new version: itself undoable)
    #[command(
        after_help = "Examples:\n  tresor history STRIPE_API_KEY\n  tresor rollback STRIPE_API_KEY 3"
    )]
    Rollback(history::RollbackArgs),
    /// The vault's settings
    #[command(
        subcommand,
        after_help = "Examples:\n  tresor config history-depth         show it\n  tresor config history-depth 25      keep 25 earlier values per secret\n  tresor config history-depth 0       keep none (deletes the kept ones now)"
    )]
    Config(history::ConfigCommand),
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
    /// Copy a secret, with its description and type, to another environment or project
    #[command(
        after_help = "Examples:\n  tresor cp STRIPE_API_KEY --to-env staging\n  tresor -e staging cp DATABASE_URL --to-env production --overwrite\n  tresor cp SENTRY_DSN --to-env development --to-project billing\n\nThe value is encrypted again for its new place; the copy keeps the value's age.\nAn existing key at the target is refused unless --overwrite. To copy a whole\nenvironment: `tresor env clone`."
    )]
    Cp(copy::CpArgs),
    /// Projects of the vault
    #[command(
        subcommand,
        after_help = "Examples:\n  tresor project list\n  tresor project add billing\n  tresor project rm billing --force"
    )]
    Project(projects::ProjectCommand),
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
    /// This person's or server's keypair, for team vaults
    #[command(
        subcommand,
        after_help = "Examples:\n  tresor identity new          prints tresor1…: give it to an admin of the team vault\n  tresor identity show"
    )]
    Identity(team::IdentityCommand),
    /// Share this vault through PostgreSQL, or join a shared one (end-to-end encrypted)
    #[command(
        subcommand,
        after_help = "Examples:\n  tresor remote init postgres://app@db/secrets\n  tresor remote join postgres://app@db/secrets --token tresor-join2:…\n  tresor remote status"
    )]
    Remote(team::RemoteCommand),
    /// Members of a team vault: who can read which environments, who can write
    #[command(
        subcommand,
        after_help = "Examples:\n  tresor member add bob tresor1… --role writer\n  tresor member add ci-prod tresor1… --role reader --only-env production\n  tresor member list"
    )]
    Member(team::MemberCommand),
    /// Show the audit log: who read or changed what, when; never values
    #[command(
        after_help = "Examples:\n  tresor audit                      everything, oldest first\n  tresor audit -e production        production's entries, in every project\n  tresor -p billing audit --last 20\n\nOnly -p/-e typed on the command line filter (not TRESOR_PROJECT/TRESOR_ENV).\nThe via column says where an entry came from and which key slot unlocked the vault\n(see `tresor keyfile list`). Exits 1 when an entry fails verification.\n\nOn a team vault it shows every member's entries from the server, with the member's\nname and machine; --mine shows this machine's own log."
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
    /// Clears the clipboard after a delay (started by `get --copy`; not for people)
    #[command(
        hide = true,
        after_help = "Example (what `tresor get KEY --copy` starts):\n  tresor clipboard-clear --after 30 < MARK > /dev/tty"
    )]
    ClipboardClear {
        #[arg(long, default_value_t = crate::clipboard::DEFAULT_SECONDS)]
        after: u64,
    },
    /// Unlock once: the agent holds the vault's key for the next commands
    #[command(
        after_help = "Examples:\n  tresor unlock                   passphrase once; the next commands ask nothing\n  TRESOR_AGENT_TIMEOUT=1h tresor unlock\n  tresor lock                     forget it now\n\nThe agent forgets a key unused for 15 minutes (TRESOR_AGENT_TIMEOUT: seconds, or 90s,\n15m, 1h). TRESOR_AGENT=1 makes the first passphrase prompt of any command start it;\nTRESOR_AGENT=0 never uses it. Any process running as you can ask it for the key."
    )]
    Unlock,
    /// Make the agent forget this vault's key now (--all: every key, and stop it)
    #[command(after_help = "Examples:\n  tresor lock\n  tresor lock --all")]
    Lock(agent::LockArgs),
    /// The agent process itself (started by `tresor unlock`), and its status
    #[command(
        subcommand,
        hide = true,
        after_help = "Examples:\n  tresor agent status\n  tresor lock --all      stops it"
    )]
    Agent(agent::AgentCommand),
    /// Print the shell script that completes commands, keys, environments and projects
    #[command(
        after_help = "Examples:\n  echo 'source <(tresor completions bash)' >> ~/.bashrc\n  echo 'source <(tresor completions zsh)' >> ~/.zshrc\n  tresor completions fish > ~/.config/fish/completions/tresor.fish\n\nThe script asks tresor for candidates at each Tab. Keys are completed when the agent\nholds the vault's key (`tresor unlock`) or a keyfile is given; never with a prompt."
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
        Command::History(args) => history::history(&global, args),
        Command::Rollback(args) => history::rollback(&global, args),
        Command::Config(cmd) => history::config(&global, cmd),
        Command::ClipboardClear { after } => return crate::clipboard::run_clearer(after),
        Command::Import(args) => transfer::import(&global, args),
        Command::Export(args) => transfer::export(&global, args),
        Command::Cp(args) => copy::cp(&global, args),
        Command::Project(cmd) => projects::run(&global, cmd),
        Command::Check(args) => check::check(&global, args),
        Command::Diff(args) => check::diff(&global, args),
        Command::Env(cmd) => envs::run(&global, cmd),
        Command::Keyfile(cmd) => keys::keyfile(&global, cmd),
        Command::Passwd(args) => keys::passwd(&global, args),
        Command::Rekey(args) => keys::rekey(&global, args),
        Command::Upgrade(args) => keys::upgrade(&global, args),
        Command::Identity(cmd) => team::identity(&global, cmd),
        Command::Remote(cmd) => team::remote(&global, cmd),
        Command::Member(cmd) => team::member(&global, cmd),
        Command::Audit(args) => audit::show(&global, args),
        Command::Doctor(args) => maintenance::doctor(&global, args),
        Command::Compact => maintenance::compact(&global),
        Command::Restore(args) => maintenance::restore(&global, args),
        Command::Unlock => agent::unlock(&global),
        Command::Lock(args) => agent::lock(&global, args),
        Command::Agent(cmd) => agent::agent(cmd),
        Command::Completions { shell } => complete::print_registration(shell)
            .map_err(|e| CliError::msg(format!("cannot write the completions: {e}"))),
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
