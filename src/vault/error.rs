//! Every way a vault operation can fail, worded for the person at the keyboard.
//!
//! Messages name the thing (key, environment, file) so a user can act on them. The
//! product page's verbatim messages live here too, so the CLI and the TUI cannot drift.

use std::path::PathBuf;

pub type Result<T, E = VaultError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The team vault (server, members, head), worded by `vault::team`.
    #[error("{0}")]
    Team(String),
    #[error("Secret key is required")]
    KeyRequired,
    #[error("Secret value is required")]
    ValueRequired,
    #[error("No changes to save")]
    NoChanges,
    #[error("version {version} of `{key}` is its current value already")]
    VersionIsCurrent { key: String, version: u32 },
    #[error(
        "`{key}` has no version {version} (kept: {}; current: {current}; see `tresor history {key}`)",
        if .kept.is_empty() { "none".to_string() } else { .kept.iter().map(u32::to_string).collect::<Vec<_>>().join(", ") }
    )]
    VersionNotKept {
        key: String,
        version: u32,
        kept: Vec<u32>,
        current: u32,
    },
    #[error("history depth {depth} is too large (at most {max})")]
    DepthTooLarge { depth: u16, max: u16 },
    #[error("invalid secret key `{key}`: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("secret key is too long ({len} bytes, at most {max})")]
    KeyTooLong { len: usize, max: usize },
    /// A pasted `KEY=value` line where a key belongs. Never holds the value.
    #[error("looks like KEY=value: the key is `{key}`; the value goes separately")]
    KeyWithValue { key: String },
    #[error("description is too long ({len} characters, at most {max})")]
    DescriptionTooLong { len: usize, max: usize },
    #[error("secret value is too large ({len} bytes, at most 1 MiB)")]
    ValueTooLarge { len: usize },
    #[error("invalid {what} name `{name}`: {reason}")]
    InvalidName {
        what: &'static str,
        name: String,
        reason: String,
    },
    #[error("secret `{key}` already exists in {project}/{env}")]
    Duplicate {
        key: String,
        project: String,
        env: String,
    },
    #[error(
        "no secret `{}` in {}/{}",
        super::validate::printable(.key),
        super::validate::printable(.project),
        super::validate::printable(.env)
    )]
    NotFound {
        key: String,
        project: String,
        env: String,
    },
    #[error(
        "no project `{}` (projects: {})",
        super::validate::printable(.project),
        if .projects.is_empty() { "none".to_string() } else { .projects.join(", ") }
    )]
    ProjectNotFound {
        project: String,
        projects: Vec<String>,
    },
    #[error(
        "no environment `{}` in project `{}` (see `tresor env list`)",
        super::validate::printable(.env),
        super::validate::printable(.project)
    )]
    EnvNotFound { project: String, env: String },
    #[error("environment `{env}` already exists in project `{project}`")]
    EnvExists { project: String, env: String },
    #[error(
        "environment `{project}/{env}` holds {}: pass --yes to delete it with {}",
        super::validate::count(*.count, "secret", "secrets"),
        if *.count == 1 { "it" } else { "them" }
    )]
    EnvNotEmpty {
        project: String,
        env: String,
        count: usize,
    },
    #[error("cannot remove `{env}`: it is the last environment of project `{project}`")]
    LastEnv { project: String, env: String },
    #[error(
        "project `{project}` holds {count} {noun} in {envs} {env_noun}: add --force to delete it with all of them",
        noun = if *.count == 1 { "secret" } else { "secrets" },
        env_noun = if *.envs == 1 { "environment" } else { "environments" }
    )]
    ProjectNotEmpty {
        project: String,
        count: usize,
        envs: usize,
    },
    #[error("project `{project}` is the vault's only project: add another before removing it")]
    LastProject { project: String },
    #[error("no vault at {0}: run `tresor init` to create one")]
    NoVault(PathBuf),
    #[error("a vault already exists at {0}")]
    VaultExists(PathBuf),
    #[error(
        "{path} can be read by other users (mode {mode:04o}); run `chmod 600 {path}` (and 700 on its folder)",
        path = .path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("wrong passphrase or keyfile: no key slot of this vault accepted it")]
    WrongCredential,
    #[error(
        "the vault is locked and there is no way to ask for a passphrase: pass --keyfile PATH (or set TRESOR_KEYFILE), set TRESOR_PASSPHRASE, run in a terminal to be prompted, or run `tresor unlock` in one first"
    )]
    NoCredential,
    #[error("passphrase is empty")]
    EmptyPassphrase,
    #[error(
        "passphrase is too short ({chars} characters, at least 8); a few random words are best"
    )]
    PassphraseTooShort { chars: usize },
    #[error("passphrases do not match")]
    PassphraseMismatch,
    #[error("keyfile {path}: {reason}", path = .path.display())]
    BadKeyfile { path: PathBuf, reason: String },
    #[error(
        "keyfile {path} not found: check the path given with --keyfile or TRESOR_KEYFILE",
        path = .0.display()
    )]
    KeyfileNotFound(PathBuf),
    #[error("vault is busy: another tresor process is writing to it (waited 2 s); try again")]
    Busy,
    #[error("{0} is not a tresor vault")]
    NotAVault(PathBuf),
    #[error(
        "this vault was written by a newer tresor (format {found}, this build reads {supported})"
    )]
    NewerFormat { found: u16, supported: u16 },
    #[error("vault file is damaged: {0}")]
    Corrupt(String),
    #[error(
        "secret record in {project}/{env} failed authentication: it was tampered with or damaged ({detail})"
    )]
    TamperedRecord {
        project: String,
        env: String,
        detail: String,
    },
    #[error(
        "the records of {project}/{env} do not match their digest: a secret was deleted, added or rolled back outside tresor"
    )]
    DigestMismatch { project: String, env: String },
    #[error(
        "the vault does not match its digest: an environment, a whole environment's records or a key slot was deleted, added or rolled back outside tresor"
    )]
    CatalogMismatch,
    #[error(
        "this vault file is older than the one this machine last saw (write {found}, but write {seen} was seen on {when}): it may be a restored backup or a rollback by someone with access to the file; if you restored it on purpose, run `tresor restore --accept-older`",
        when = chrono::DateTime::from_timestamp(*.when, 0).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "an unknown date".into())
    )]
    OlderThanSeen { found: u64, seen: u64, when: i64 },
    #[error(
        "this vault file is in format 1, but this machine has already opened this vault in format 2: it is an older copy; if you restored it on purpose, run `tresor restore --accept-older`"
    )]
    OlderFormatThanSeen,
    #[error(
        "this vault file differs from the one this machine saw at the same write ({version}): two copies were changed separately, or it was edited outside tresor; if you trust this file, run `tresor restore --accept-older`"
    )]
    ForkedVault { version: u64 },
    #[error(
        "the record of what this machine has seen of this vault ({path}) does not verify with this file's keys: this file is an older copy from before a `rekey`, or the record was edited or belongs to another vault; if you trust the vault file as it is, run `tresor restore --accept-older`",
        path = .0.display()
    )]
    HighWaterForged(PathBuf),
    #[error(
        "the vault was given a new data key (`tresor rekey`) since it was unlocked here: unlock it again"
    )]
    Rekeyed,
    #[error(
        "the key the agent holds for this vault no longer opens it (a `rekey`, or the key slot that unlocked it was removed)"
    )]
    HeldKeyStale,
    #[error("no key slot {id} in this vault (see `tresor keyfile list`)")]
    SlotNotFound { id: u32 },
    #[error(
        "key slot {id} is the only way to unlock this vault: add another first (`tresor keyfile add PATH` or `tresor passwd`)"
    )]
    LastSlot { id: u32 },
    #[error(
        "key slot{s} {list} can only be rewrapped with {their}: pass them with --also-keyfile PATH / --also-passphrase, or drop {them} with --drop-unmatched",
        s = if .ids.len() == 1 { "" } else { "s" },
        list = .ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
        their = if .ids.len() == 1 { "its own passphrase or keyfile" } else { "their own passphrases or keyfiles" },
        them = if .ids.len() == 1 { "it" } else { "them" }
    )]
    SlotsNeedCredential { ids: Vec<u32> },
    #[error(
        "this vault is in format 1 and is upgraded once before its first change (its key slots join the integrity check and it gets a new data key); {}",
        if .ids.is_empty() { "run `tresor upgrade`".to_string() } else { format!(
            "key slot{} {} need{} {} own passphrase or keyfile for that: run `tresor upgrade --also-passphrase` or `tresor upgrade --also-keyfile PATH` (or `--drop-unmatched` to remove {})",
            if .ids.len() == 1 { "" } else { "s" },
            .ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
            if .ids.len() == 1 { "s" } else { "" },
            if .ids.len() == 1 { "its" } else { "their" },
            if .ids.len() == 1 { "it" } else { "them" },
        ) }
    )]
    UpgradeRequired { ids: Vec<u32> },
    #[error(
        "not enough memory to unlock: this key slot asks Argon2id for {mib} MiB; close other programs or unlock with a keyfile"
    )]
    KdfOutOfMemory { mib: u32 },
    #[error(
        "key slot parameters are out of range ({0}); the vault header may have been tampered with"
    )]
    BadKdfParams(String),
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("vault storage error: {0}")]
    Storage(String),
    #[error(
        "the disk holding the vault is full: nothing was changed; free some space and try again"
    )]
    DiskFull,
    #[error("cryptographic operation failed")]
    Crypto,
    /// A copy whose target is its source.
    #[error(
        "`{project}/{env}` is both the source and the target: copy to another environment or project"
    )]
    SamePlace { project: String, env: String },
    #[error(
        "environment `{project}/{env}` already holds {}: pass --merge to add only the missing ones, or --overwrite to also replace those that differ",
        super::validate::count(*.count, "secret", "secrets")
    )]
    CloneTargetNotEmpty {
        project: String,
        env: String,
        count: usize,
    },
}

impl VaultError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VaultError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The team vault: a failure already worded for the user (the server, a member, the
/// head), see `vault::team`.
impl VaultError {
    pub fn team(text: impl Into<String>) -> VaultError {
        VaultError::Team(text.into())
    }
}

impl From<orion::errors::UnknownCryptoError> for VaultError {
    fn from(_: orion::errors::UnknownCryptoError) -> Self {
        VaultError::Crypto
    }
}

#[cfg(test)]
mod tests {
    use super::VaultError;

    #[test]
    fn names_in_not_found_messages_cannot_drive_the_terminal() {
        let escape = "A\u{1b}[2J";
        let messages = [
            VaultError::NotFound {
                key: escape.into(),
                project: escape.into(),
                env: escape.into(),
            }
            .to_string(),
            VaultError::EnvNotFound {
                project: escape.into(),
                env: escape.into(),
            }
            .to_string(),
            VaultError::ProjectNotFound {
                project: escape.into(),
                projects: vec![],
            }
            .to_string(),
        ];
        for m in messages {
            assert!(!m.contains('\u{1b}'), "{m:?}");
            assert!(m.contains("A\u{FFFD}[2J"), "{m:?}");
        }
    }
}
