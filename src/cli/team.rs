//! identity, remote and member: sharing a vault through PostgreSQL (see `vault::team`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::keys::{KdfArgs, plural};
use super::secrets::date;
use super::{CliError, CliResult, Global, note, unlock};
use crate::vault::team::identity::{self, Identity};
use crate::vault::team::keys::parse_public;
use crate::vault::team::records::Role;
use crate::vault::team::{SyncReport, age_text, join_command, redact_url};
use crate::vault::{Credential, VaultError};

#[derive(Debug, Args)]
pub struct IdentityPath {
    /// This person's or server's identity [default: ~/.config/tresor/identity]
    #[arg(long, env = "TRESOR_IDENTITY", value_name = "PATH")]
    pub identity: Option<PathBuf>,
}

impl IdentityPath {
    /// Where a command without an `--identity` option finds it: `TRESOR_IDENTITY`, or
    /// the default.
    fn from_env() -> IdentityPath {
        IdentityPath {
            identity: std::env::var_os("TRESOR_IDENTITY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    fn path(&self) -> Result<PathBuf, CliError> {
        match &self.identity {
            Some(p) => Ok(p.clone()),
            None => identity::default_path().ok_or_else(|| {
                CliError::msg("no home directory for the identity; pass --identity PATH")
            }),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Make this person's or server's keypair; prints the tresor1… public key to give an admin
    #[command(
        after_help = "Examples:\n  tresor identity new                         protected like your vault (passphrase)\n  tresor --keyfile ~/.config/tresor/ci.key identity new   a server's identity"
    )]
    New {
        #[command(flatten)]
        path: IdentityPath,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Print the public key (no credential needed)
    #[command(after_help = "Example:\n  tresor identity show")]
    Show {
        #[command(flatten)]
        path: IdentityPath,
    },
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Put this vault on a PostgreSQL server as a team vault, with you as its admin
    #[command(
        after_help = "Examples:\n  tresor remote init postgres://app@db/secrets --name alice\n  PGPASSWORD=… tresor remote init postgres://app@db.internal:5432/secrets"
    )]
    Init {
        /// libpq URL, e.g. postgres://app@db/secrets (password from the URL or PGPASSWORD)
        url: String,
        /// Your name as the other members will see it [default: your user name]
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        path: IdentityPath,
    },
    /// Make this new, empty vault a replica of a team vault
    #[command(
        after_help = "Example:\n  tresor init && tresor identity new      then send the tresor1… key to an admin\n  tresor remote join postgres://app@db/secrets --token tresor-join2:…"
    )]
    Join {
        /// The server's libpq URL, as in the admin's join line (your own password from
        /// PGPASSWORD or ~/.pgpass)
        url: String,
        /// The token printed by the admin's `tresor member add`
        #[arg(long)]
        token: String,
        #[command(flatten)]
        path: IdentityPath,
    },
    /// Where this replica stands: server, your role, head fingerprint, last sync
    #[command(after_help = "Example:\n  tresor remote status")]
    Status,
    /// Stop following the team vault: this vault becomes a local vault again, its
    /// secrets as last synced; you stay a member until an admin removes you
    #[command(after_help = "Example:\n  tresor remote leave")]
    Leave {
        /// Leave even as the team vault's only admin (nobody can then add or remove
        /// members)
        #[arg(long)]
        force: bool,
    },
    /// Bring the replica up to date now (every command also does it); after a member
    /// was removed, fetch the new keys with your identity
    #[command(after_help = "Examples:\n  tresor remote sync\n  tresor remote sync --verify")]
    Sync {
        #[command(flatten)]
        path: IdentityPath,
        /// Check every row on the server against the commit log (not only what changed
        /// since the last sync) and rebuild the replica from it
        #[arg(long)]
        verify: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Give someone access (admins only); prints the join token to send them
    #[command(
        after_help = "Examples:\n  tresor member add bob tresor1… --role writer\n  tresor -p billing member add ci-prod tresor1… --role reader --only-env production"
    )]
    Add {
        /// Their name as the members will see it (letters, digits, `-`, `_`, `.`)
        name: String,
        /// Their public key, as `tresor identity new` printed it (tresor1…)
        public_key: String,
        /// reader: reads; writer: reads and changes secrets; admin: also members,
        /// environments and projects
        #[arg(long, value_parser = ["reader", "writer", "admin"])]
        role: String,
        /// Only these environments of the project (repeatable) [default: all]
        #[arg(long = "only-env", value_name = "ENV")]
        envs: Vec<String>,
        #[command(flatten)]
        path: IdentityPath,
    },
    /// Who has access: name, role, environments, added, last seen
    #[command(after_help = "Example:\n  tresor member list")]
    List,
    /// Take someone's access away (admins only): rekeys the team vault in one transaction
    /// and lists the values they could read, to rotate
    #[command(
        after_help = "Example:\n  tresor member rm ci-prod        then rotate the values it prints"
    )]
    Rm {
        name: String,
        #[command(flatten)]
        path: IdentityPath,
    },
}

/// The identity's credential: the same sources as the vault's (keyfile, passphrase).
fn identity_credential(global: &Global) -> Result<Credential, CliError> {
    match unlock::preset_credential(global) {
        Some(c) => Ok(c),
        None if unlock::can_prompt() => Ok(Credential::Passphrase(unlock::prompt(
            "Identity passphrase: ",
        )?)),
        None => Err(VaultError::NoCredential.into()),
    }
}

fn unlock_identity(global: &Global, path: &IdentityPath) -> Result<Identity, CliError> {
    let file = path.path()?;
    let wrong = || {
        // Not the vault's slots: the identity file's, which the user may not have had in
        // mind.
        CliError::msg(format!(
            "wrong passphrase or keyfile for the identity at {} (`tresor identity new` made it with the credential given then; one with its own passphrase is asked for in a terminal)",
            file.display()
        ))
    };
    match identity::unlock(&file, &identity_credential(global)?) {
        Ok(id) => Ok(id),
        // The keyfile that opens the vault does not open this identity: it may have a
        // passphrase of its own.
        Err(VaultError::WrongCredential)
            if unlock::preset_credential(global).is_some() && unlock::can_prompt() =>
        {
            let passphrase = unlock::prompt("Identity passphrase: ")?;
            identity::unlock(&file, &Credential::Passphrase(passphrase)).map_err(|e| match e {
                VaultError::WrongCredential => wrong(),
                e => e.into(),
            })
        }
        Err(VaultError::WrongCredential) => Err(wrong()),
        Err(e) => Err(e.into()),
    }
}

/// The identity of an admin changing a team vault's environments (a new one's key is
/// wrapped with it): `None` when the vault is not a team vault, or `needed` is false, or
/// this member is not an admin (the vault refuses them with its own message).
pub fn identity_for_catalog(
    global: &Global,
    vault: &crate::vault::Vault,
    needed: bool,
) -> Result<Option<Identity>, CliError> {
    if !needed || !vault.is_team() || vault.team_status()?.role != Role::Admin {
        return Ok(None);
    }
    Ok(Some(unlock_identity(global, &IdentityPath::from_env())?))
}

pub fn identity(global: &Global, cmd: IdentityCommand) -> CliResult {
    match cmd {
        IdentityCommand::New { path, kdf } => {
            let file = path.path()?;
            let id = identity::create(&file, &identity_credential(global)?, kdf.params()?)?;
            note(&format!("identity written to {}", file.display()));
            println!("{}", id.public_text());
        }
        IdentityCommand::Show { path } => {
            let text = match identity::public_text(&path.path()?)? {
                Some(text) => text,
                // Made before signatures: the signing key's hash needs the seed.
                None => unlock_identity(global, &path)?.public_text(),
            };
            println!("{text}");
        }
    }
    Ok(())
}

pub fn remote(global: &Global, cmd: RemoteCommand) -> CliResult {
    match cmd {
        RemoteCommand::Init { url, name, path } => {
            let id = unlock_identity(global, &path)?;
            let vault = unlock::open(global)?;
            let name = name.unwrap_or_else(|| crate::vault::audit::who().0);
            let fingerprint = vault.team_init(&url, &id, &name)?;
            note(&format!(
                "this vault is now the team vault {fingerprint} on the server, with {name} as admin; add members with `tresor member add NAME PUBLIC_KEY --role writer`"
            ));
        }
        RemoteCommand::Join { url, token, path } => {
            let id = unlock_identity(global, &path)?;
            let vault = unlock::open(global)?;
            vault.team_join(&url, &token, &id)?;
            let envs = vault.environments()?;
            let shared: Vec<String> = envs
                .iter()
                .filter(|e| e.secrets > 0)
                .map(|e| format!("{}/{} ({})", e.project, e.name, e.secrets))
                .collect();
            note(&format!(
                "joined: this vault is now a replica of the team vault{}",
                if shared.is_empty() {
                    String::new()
                } else {
                    format!("; secrets in {}", shared.join(", "))
                }
            ));
        }
        RemoteCommand::Status => {
            // Where the replica stands, as last synced: also for a member removed since.
            let vault = unlock::open_unsynced(global)?;
            let s = vault.team_status()?;
            println!("server: {}", redact_url(&s.url));
            println!("role: {}", s.role.label());
            println!("version: {}", s.version);
            println!("head: {}", s.head);
            println!(
                "last sync: {} ago",
                age_text(chrono::Utc::now().timestamp() - s.synced_at)
            );
        }
        RemoteCommand::Leave { force } => {
            let vault = unlock::open_unsynced(global)?;
            // The copy left behind as current as it can be, and whether this member was
            // removed already (the sync is best effort: leaving works offline).
            let removed = matches!(vault.team_sync(), Ok(Some(SyncReport::Removed)));
            let left = vault.team_leave(force)?;
            if left.unsent > 0 {
                super::warn(&format!(
                    "{} recorded while the server was away did not reach it (this machine's log keeps {}: `tresor audit --mine`)",
                    plural(left.unsent, "audit entry", "audit entries"),
                    if left.unsent == 1 { "it" } else { "them" }
                ));
            }
            if left.unsent_change {
                super::warn(
                    "a change made here never reached the server: it stays in this vault only",
                );
            }
            let membership = if removed {
                "An admin had removed you already."
            } else if left.last_admin {
                "The team vault has no admin with a copy now: nobody can add or remove its members, you included."
            } else {
                "You are still a member until an admin removes you (`tresor member rm`)."
            };
            note(&format!(
                "this vault no longer follows the team vault at {}: {} as last synced {} in it, a local vault now. {membership} To join again: a new token from an admin, and a new empty vault (`tresor --vault PATH --keyfile NEW_KEYFILE init`) with an identity that opens with its credential",
                redact_url(&left.url),
                plural(left.secrets, "secret", "secrets"),
                if left.secrets == 1 { "stays" } else { "stay" }
            ));
        }
        RemoteCommand::Sync { path, verify } => {
            let vault = unlock::open_unsynced(global)?;
            match vault.team_sync()? {
                Some(SyncReport::Removed) => return Err(crate::vault::team::removed().into()),
                Some(SyncReport::Rekeyed) => {
                    let id = unlock_identity(global, &path)?;
                    vault.team_refresh(&id)?;
                    note("fetched the new keys of the rekeyed team vault");
                }
                Some(SyncReport::Offline { why, .. }) => return Err(CliError::msg(why)),
                _ => {
                    // An environment an admin added since: its key, with the identity.
                    if vault.team_keys_waiting()? {
                        let id = unlock_identity(global, &path)?;
                        vault.team_refresh(&id)?;
                        note(
                            "fetched the keys of the environments shared with you since your last sync",
                        );
                    }
                }
            }
            if verify {
                let version = vault.team_verify()?;
                note(&format!(
                    "every row on the server matches the commit log at version {version}"
                ));
            }
            if vault.team_needs_signing_key()? {
                // A replica made before signatures: once, its identity's signing key.
                match unlock_identity(global, &path) {
                    Ok(id) => {
                        vault.team_adopt_signing_key(&id)?;
                        note("this replica now signs its changes with your identity's key");
                    }
                    Err(e) => super::warn(&format!(
                        "this replica cannot sign its changes until `tresor remote sync` can unlock your identity: {e}"
                    )),
                }
            }
            note(&format!(
                "in sync at version {}",
                vault.team_status()?.version
            ));
        }
    }
    Ok(())
}

pub fn member(global: &Global, cmd: MemberCommand) -> CliResult {
    match cmd {
        MemberCommand::Add {
            name,
            public_key,
            role,
            envs,
            path,
        } => {
            let public = parse_public(&public_key)?;
            let role = Role::parse(&role).ok_or_else(|| CliError::msg("unknown role"))?;
            let id = unlock_identity(global, &path)?;
            let vault = unlock::open_for_change(global)?;
            let scope = (!envs.is_empty()).then(|| {
                envs.iter()
                    .map(|e| (global.project.clone(), e.clone()))
                    .collect::<Vec<_>>()
            });
            if vault.team_upgrade_member(&id, &name, &public, role, scope.clone())? {
                note(&format!(
                    "{name} can now sign their changes; they run `tresor remote sync` once"
                ));
                return Ok(());
            }
            let token = vault.team_add_member(&id, &name, &public, role, scope)?;
            note(&format!(
                "{name} added as {}; send them this join token:",
                role.label()
            ));
            println!("{token}");
            print_join_line(&vault.team_status()?.url, &token);
        }
        MemberCommand::Rm { name, path } => {
            let id = unlock_identity(global, &path)?;
            let vault = unlock::open_for_change(global)?;
            let done = vault.team_remove_member(&id, &name)?;
            note(&format!(
                "{name} removed; the team vault has new keys (epoch {}, {} re-encrypted); the other members' next command fetches theirs (`tresor remote sync` where their identity has a passphrase of its own)",
                done.epoch,
                plural(done.reencrypted, "value", "values")
            ));
            if done.to_rotate.is_empty() {
                note(&format!("{name} could read no values"));
            } else {
                let (these, them) = if done.to_rotate.len() == 1 {
                    ("this value", "it")
                } else {
                    ("these values", "them")
                };
                note(&format!(
                    "{name} could read {these}: rotate {them} (a rekey cannot take back what was read):"
                ));
                for (project, env, key) in &done.to_rotate {
                    println!("{project}/{env}/{key}");
                }
            }
        }
        MemberCommand::List => {
            let vault = unlock::open(global)?;
            for m in vault.team_members()? {
                let envs = match &m.envs {
                    None => "all environments".to_string(),
                    Some(list) => list
                        .iter()
                        .map(|(p, e)| format!("{p}/{e}"))
                        .collect::<Vec<_>>()
                        .join(","),
                };
                let seen = match m.last_seen {
                    Some(t) => format!(
                        "last seen {} ago",
                        age_text(chrono::Utc::now().timestamp() - t)
                    ),
                    None => "never seen".into(),
                };
                println!(
                    "{}{}\t{}\t{}\tadded {} by {}\t{seen}\t{}",
                    m.name,
                    if m.is_me { " (you)" } else { "" },
                    m.role.label(),
                    envs,
                    date(m.added),
                    m.added_by,
                    m.public
                );
            }
        }
    }
    Ok(())
}

/// What the newcomer runs, on stderr (stdout stays the token alone, for scripts): the
/// server without this admin's password, since each member logs in with their own.
fn print_join_line(url: &str, token: &str) {
    note(&format!(
        "on their machine, in a new empty vault:\n  {}\n{JOIN_PASSWORD_NOTE}",
        join_command(url, token)
    ));
}

/// Said under the join line.
const JOIN_PASSWORD_NOTE: &str =
    "they log in to the database with their own password (PGPASSWORD or ~/.pgpass), not yours";

/// The keys a sync found waiting (a rekey's, an environment's shared since), fetched
/// when a credential given without a prompt (a keyfile, `TRESOR_PASSPHRASE`: a server,
/// a script) opens the identity as it opened the vault, so a server reading its secrets
/// goes on by itself. `false`: there is no such credential, or it does not open it.
fn fetch_keys_unprompted(global: &Global, vault: &crate::vault::Vault) -> Result<bool, CliError> {
    let (Some(credential), Ok(file)) = (
        unlock::preset_credential(global),
        IdentityPath::from_env().path(),
    ) else {
        return Ok(false);
    };
    Ok(vault.team_refresh_with(&file, &credential)?)
}

/// After unlocking a team replica: bring it up to date, or say how old it is.
/// `for_change`: an unreachable server is an error (a change must reach it).
pub fn sync_after_unlock(
    global: &Global,
    vault: &crate::vault::Vault,
    for_change: bool,
) -> CliResult {
    match vault.team_sync()? {
        None => Ok(()),
        Some(SyncReport::Current | SyncReport::Updated { .. }) => {
            // Said, or fetched, by every command until fetched: the one that first saw
            // the share may not have been able to.
            if vault.team_keys_waiting()? {
                if fetch_keys_unprompted(global, vault)? {
                    note(
                        "fetched the keys of the environments shared with you since your last sync",
                    );
                } else {
                    super::warn(
                        "an admin shared an environment with you: `tresor remote sync` fetches its key",
                    );
                }
            }
            Ok(())
        }
        Some(SyncReport::Removed) => Err(crate::vault::team::removed().into()),
        Some(SyncReport::Rekeyed) => {
            if fetch_keys_unprompted(global, vault)? {
                note("fetched the new keys of the rekeyed team vault");
                return Ok(());
            }
            if for_change {
                return Err(crate::vault::team::rekeyed().into());
            }
            super::warn(&format!(
                "the team vault was rekeyed (a member was removed): showing the local copy, last synced {} ago; `tresor remote sync` fetches the new keys",
                age_text(chrono::Utc::now().timestamp() - vault.team_status()?.synced_at)
            ));
            Ok(())
        }
        Some(SyncReport::Offline { age, why }) if for_change => Err(CliError::msg(format!(
            "{why}; changes to a team vault need the server: nothing was changed (the local copy is {} old)",
            age_text(age)
        ))),
        Some(SyncReport::Offline { age, why }) => {
            super::warn(&format!(
                "{why}; showing the local copy, last synced {} ago",
                age_text(age)
            ));
            Ok(())
        }
    }
}
