//! The team vault: one vault shared through PostgreSQL, encrypted end to end.
//!
//! The local vault is a replica: reads stay local and unchanged, after a sync that checks
//! the server's head and, when it moved, fetches only the commits and rows written since
//! the version this replica saw, verifies them against the commit log (`log`, `delta`)
//! and applies them secret by secret. A change is made locally first (so the vault's
//! rules and messages apply), then written to the server as one commit under a row lock;
//! a commit by another member in between is verified and applied first, and the write
//! goes on unless it touched the same secret. If the write fails, the replica is rebuilt
//! from the server. See the "Team vault" section of ARCHITECTURE.md for the design and
//! what it cannot detect.

pub mod audit;
mod catalog;
mod connection;
mod delta;
#[cfg(feature = "test-support")]
pub mod forge;
#[cfg(feature = "test-support")]
mod format1;
pub mod identity;
pub mod keys;
mod leave;
pub mod log;
pub mod records;
mod removal;
mod server;
mod sidecar;
pub mod signing;
mod token;
mod upgrade;
pub mod watch;

pub use connection::{join_command, redact_url};

use std::collections::{BTreeMap, BTreeSet};

use zeroize::Zeroizing;

pub(super) use self::catalog::Touch;
use self::delta::Found;
use self::identity::Identity;
use self::keys::{EnvId, EnvKey, MemberId, PublicKeyBytes, SecretId, TeamId, VaultKey};
use self::log::{CommitBody, Place};
use self::records::{Head, HeadRecord, MemberRecord, Role, Rows, SealedSecret, Wrap, head_hash};
use self::server::Snapshot;
use self::sidecar::Sidecar;
use self::signing::{Inviter, KeyHash, Seen};
use self::token::JoinToken;
use super::crypto::{self, Key32};
use super::error::{Result, VaultError};
use super::integrity;
use super::records::{EnvMeta, SecretMeta, decode, encode};
use super::storage::Table;
use super::{SecretValue, Vault, now};

/// Seconds between rewrites of the replica's "last synced" time on reads.
const SYNCED_AT_EVERY: i64 = 30;

/// What a sync found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncReport {
    /// The replica matched the server's head.
    Current,
    /// The replica was brought up to this version.
    Updated { version: u64 },
    /// The server could not be reached: the replica is this many seconds old.
    Offline { age: i64, why: String },
    /// A member was removed and the vault rekeyed: `team_refresh` fetches the new keys.
    Rekeyed,
    /// The vault was rekeyed without this member: an admin removed it.
    Removed,
}

/// A member as `member list` shows it.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    pub name: String,
    pub public: String,
    pub role: Role,
    /// `None`: every environment.
    pub envs: Option<Vec<(String, String)>>,
    pub added: i64,
    pub added_by: String,
    pub is_me: bool,
    /// When the member's latest audit entry was made (Unix seconds); `None`: never.
    pub last_seen: Option<i64>,
    /// Added with a signing key (members added before signatures are not, until an
    /// admin adds them again with the key `identity show` prints now).
    pub signs: bool,
}

/// Where this replica stands, for `remote status`.
#[derive(Debug, Clone)]
pub struct TeamStatus {
    pub url: String,
    pub role: Role,
    pub version: u64,
    pub head: String,
    pub synced_at: i64,
}

/// Held from before a local change on a team replica until its server write is done
/// and the other members' commits it found are applied: the replica's lock, and one
/// record of the high-water mark for the whole (`Vault::one_mark`). The vault file is
/// not kept open meanwhile: another process's read, `--offline` too, must not wait for
/// the server.
pub(super) struct TeamGuard<'a>(
    #[allow(dead_code)] crate::vault::OneMark<'a>,
    #[allow(dead_code)] std::fs::File,
);

/// The keys this member holds, unwrapped.
struct Held {
    vk: VaultKey,
    envs: BTreeMap<EnvId, EnvKey>,
}

impl Held {
    fn from_sidecar(sc: &Sidecar) -> Result<Held> {
        let vk = VaultKey::derive(Zeroizing::new(sc.vault_key), &sc.team)?;
        let mut envs = BTreeMap::new();
        for (id, raw) in &sc.env_keys {
            envs.insert(*id, EnvKey::derive(Zeroizing::new(*raw), &sc.team, id)?);
        }
        Ok(Held { vk, envs })
    }
}

fn tampered(what: &str) -> VaultError {
    VaultError::team(format!(
        "the team server's data failed verification ({what}): someone changed the database outside tresor; nothing was read from it"
    ))
}

/// Checks a head against the rows read with it and what this replica saw before.
fn verify(
    vk: &VaultKey,
    team: &TeamId,
    version: u64,
    head_bytes: &[u8],
    rows: &Rows,
    seen: Option<(u64, [u8; 32])>,
) -> Result<Head> {
    let Ok(HeadRecord::V1 { head, mac }) = decode(head_bytes, "team head") else {
        return Err(tampered("the head does not decode"));
    };
    let expected: [u8; 32] = crypto::keyed_hash(&vk.head, &[&head])?;
    if !crypto::same(&expected, &mac) {
        return Err(tampered("the head's MAC"));
    }
    let head: Head = decode(&head, "team head").map_err(|_| tampered("the head"))?;
    let Head::V1 {
        team: head_team,
        version: head_version,
        root,
        ..
    } = &head;
    if head_team != team || *head_version != version {
        return Err(tampered("the head names another vault or version"));
    }
    if !crypto::same(&rows.state_root(&vk.root)?, root) {
        return Err(tampered("a row was added, removed, changed or moved"));
    }
    if let Some((seen_version, seen_hash)) = seen {
        let hash = head_hash(head_bytes)?;
        if version < seen_version {
            return Err(log::rolled_back(version, seen_version));
        }
        if version == seen_version && !crypto::same(&hash, &seen_hash) {
            return Err(tampered("the same version with another content"));
        }
        let Head::V1 { prev, .. } = &head;
        if version == seen_version + 1 && !crypto::same(prev, &seen_hash) {
            return Err(tampered(
                "the head does not follow the one this machine saw",
            ));
        }
    }
    Ok(head)
}

/// The epoch a head claims, before anything is verified: only to tell "rekeyed, fetch
/// the new keys" from tampering (the MAC under the new key is checked after that).
fn claimed_epoch(head_bytes: &[u8]) -> Option<u64> {
    if let Some((epoch, _)) = log::claimed(head_bytes) {
        return Some(epoch);
    }
    let HeadRecord::V1 { head, .. } = decode(head_bytes, "team head").ok()? else {
        return None;
    };
    let Head::V1 { epoch, .. } = decode(&head, "team head").ok()?;
    Some(epoch)
}

/// The changes a write makes, recorded by `team_write`'s closure: the small tables as
/// read under the lock (change them in place) and the secrets put or deleted.
pub(super) struct Edit {
    /// Members, wraps and environments, current; no secrets.
    pub rows: Rows,
    puts: BTreeMap<(EnvId, SecretId), SealedSecret>,
    deletes: BTreeSet<(EnvId, SecretId)>,
    /// Environments whose every secret on the server goes, but for those put again.
    cleared: BTreeSet<EnvId>,
}

impl Edit {
    fn on(small: Rows) -> Edit {
        Edit {
            rows: small,
            puts: BTreeMap::new(),
            deletes: BTreeSet::new(),
            cleared: BTreeSet::new(),
        }
    }

    pub fn put_secret(&mut self, place: (EnvId, SecretId), row: SealedSecret) {
        self.deletes.remove(&place);
        self.puts.insert(place, row);
    }

    pub fn delete_secret(&mut self, place: (EnvId, SecretId)) {
        self.puts.remove(&place);
        self.deletes.insert(place);
    }

    /// Every secret of this environment deleted, but for those put in this edit (which
    /// the server names under the lock, so one another member just added goes too and
    /// makes the write a conflict).
    pub fn clear_env(&mut self, env: EnvId) {
        self.cleared.insert(env);
    }

    fn touches(&self, place: &Place) -> bool {
        match place {
            Place::Secret(e, s) => {
                self.puts.contains_key(&(*e, *s)) || self.deletes.contains(&(*e, *s))
            }
            _ => false,
        }
    }
}

/// Tests: run once by the next write between its verification before the lock and
/// the lock (another member commits there).
#[cfg(feature = "test-support")]
#[allow(clippy::type_complexity)]
pub static BEFORE_LOCK: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>> =
    std::sync::Mutex::new(None);

/// From how many keys a write reads the local replica's environment in one pass.
const SCAN_FROM: usize = 64;

/// What a writer verified before locking the head row (`verify_before_lock`): the head
/// at `version` and what came after the replica's version up to it.
struct Verified {
    version: u64,
    head_hash: [u8; 32],
    found: Found,
    /// The replica's record moved to this head, as if it were applied.
    replica: Sidecar,
}

impl Verified {
    /// The member, wrap and environment rows at this head, verified.
    fn small(&self) -> Option<&Rows> {
        match &self.found {
            Found::Same { small } => Some(small),
            Found::Delta(d) => Some(&d.small),
            Found::Rekeyed | Found::Whole => None,
        }
    }

    /// These changes followed by `later`, fetched (under the lock) from this head on.
    fn then(self, later: Found) -> Found {
        match (self.found, later) {
            (Found::Delta(d), Found::Delta(l)) => Found::Delta(d.then(l)),
            (Found::Delta(d), Found::Same { .. }) => Found::Delta(d),
            // From the replica's own head, or nothing a delta can carry (rekey, base).
            (_, later) => later,
        }
    }
}

impl From<Verified> for Found {
    fn from(v: Verified) -> Found {
        v.found
    }
}

/// Who wrote a head and when: from its commit, or from a format-1 head (whose MAC the
/// caller has checked or does not rely on: the answer only names someone in a message).
fn head_writer(vk: &VaultKey, team: &TeamId, head: &[u8]) -> Result<(MemberId, i64)> {
    match log::open_commit(vk, team, head, None) {
        Ok(body) => Ok((body.writer, body.time)),
        Err(_) => {
            let Ok(HeadRecord::V1 { head: inner, .. }) = decode(head, "team head") else {
                return Err(tampered("the head does not decode"));
            };
            let Head::V1 { writer, time, .. } = decode(&inner, "team head")?;
            Ok((writer, time))
        }
    }
}

pub fn rekeyed() -> VaultError {
    VaultError::team(
        "the team vault was rekeyed (a member was removed): run `tresor remote sync` to fetch the new keys",
    )
}

/// The environments whose key the head this replica last applied wraps for this
/// member and the replica does not hold (shared with it since it last fetched keys, or
/// made again): what `team_refresh` fetches. From the verified rows' hashes the
/// replica keeps (`Sidecar::small_seen`), so no server is asked.
fn keys_waiting(sc: &Sidecar) -> impl Iterator<Item = &[u8]> {
    sc.small_seen
        .iter()
        .filter(|(epoch, _)| *epoch == sc.epoch)
        .flat_map(|(_, places)| places.keys())
        .filter_map(|place| match place {
            Place::Wrap(member, scope)
                if *member == sc.member
                    && scope[..] != keys::VAULT_SCOPE[..]
                    && !sc.env_keys.iter().any(|(id, _)| id[..] == scope[..]) =>
            {
                Some(&scope[..])
            }
            _ => None,
        })
}

/// What a member an admin removed is told by its next sync. (The server's word alone,
/// unverified: it may also be a database admin's doing, and the message says so.)
pub fn removed() -> VaultError {
    VaultError::team(
        "you are no longer a member of this team vault: the server holds no key for you since its last rekey (an admin removed you, or someone changed the database); `--offline` still reads this machine's copy, and `tresor remote leave` makes it a local vault",
    )
}

/// What a reader is told when it tries to change the team vault.
pub(super) fn reader_refused() -> VaultError {
    VaultError::team("you are a reader of this team vault: only writers and admins can change it")
}

/// A format-1 head (the migration's tests make team vaults as the previous build did).
#[cfg(feature = "test-support")]
fn seal_head(vk: &VaultKey, head: &Head) -> Result<Vec<u8>> {
    let bytes = encode(head)?;
    let mac = crypto::keyed_hash(&vk.head, &[&bytes])?;
    encode(&HeadRecord::V1 { head: bytes, mac })
}

fn open_member(
    vk: &VaultKey,
    team: &TeamId,
    epoch: u64,
    id: &MemberId,
    sealed: &[u8],
) -> Result<MemberRecord> {
    let ad = keys::ad(b"member", team, epoch, &[id]);
    open_record(
        &vk.members,
        sealed,
        &ad,
        ("a member record", "member record"),
    )
}

fn open_env(
    vk: &VaultKey,
    team: &TeamId,
    epoch: u64,
    id: &EnvId,
    sealed: &[u8],
) -> Result<EnvMeta> {
    let ad = keys::ad(b"environment", team, epoch, &[id]);
    let meta: EnvMeta = open_record(
        &vk.catalog,
        sealed,
        &ad,
        ("an environment record", "environment record"),
    )?;
    // Its id is the keyed hash of its name: a record sealed again under another
    // environment's id (names swapped) does not pass.
    let (project, name, _, _) = meta.clone().into_parts();
    if vk.env_id(&project, &name)? != *id {
        return Err(tampered(
            "an environment record stored under another one's id",
        ));
    }
    Ok(meta)
}

/// A sealed server row: opened under its place (`ad`), then decoded. A row that does
/// not open was changed or moved on the server. `what`: the row named in a sentence,
/// and as the decoder names it.
fn open_record<T: serde::de::DeserializeOwned>(
    key: &[u8; crypto::KEY_LEN],
    sealed: &[u8],
    ad: &[u8],
    (in_sentence, name): (&str, &str),
) -> Result<T> {
    let plain = keys::open(key, sealed, ad).map_err(|_| tampered(in_sentence))?;
    decode(&plain, name)
}

fn seal_secret(
    ek: &EnvKey,
    team: &TeamId,
    epoch: u64,
    env: &EnvId,
    meta: &SecretMeta,
    value: &[u8],
) -> Result<(SecretId, SealedSecret)> {
    let SecretMeta::V1 { key, .. } = meta;
    let id = ek.secret_id(key)?;
    let plain = Zeroizing::new(encode(meta)?);
    let m = keys::seal(
        &ek.meta,
        &plain,
        &keys::ad(b"secret-meta", team, epoch, &[env, &id]),
    )?;
    let v = keys::seal(
        &ek.value,
        value,
        &keys::ad(b"secret-value", team, epoch, &[env, &id]),
    )?;
    Ok((id, (m, v)))
}

fn open_secret(
    ek: &EnvKey,
    team: &TeamId,
    epoch: u64,
    env: &EnvId,
    id: &SecretId,
    (meta, value): &SealedSecret,
) -> Result<(SecretMeta, SecretValue)> {
    let plain = keys::open(
        &ek.meta,
        meta,
        &keys::ad(b"secret-meta", team, epoch, &[env, id]),
    )
    .map_err(|_| tampered("a secret's metadata"))?;
    let meta: SecretMeta = decode(&plain, "secret metadata")?;
    let SecretMeta::V1 { key, .. } = &meta;
    if ek.secret_id(key)? != *id {
        return Err(tampered("a secret stored under another key's id"));
    }
    let value = keys::open(
        &ek.value,
        value,
        &keys::ad(b"secret-value", team, epoch, &[env, id]),
    )
    .map_err(|_| tampered("a secret's value"))?;
    Ok((meta, value))
}

fn wrap_to(
    identity: &Identity,
    to: &PublicKeyBytes,
    team: &TeamId,
    epoch: u64,
    member: &MemberId,
    scope: &[u8],
    key: &[u8; 32],
) -> Result<Wrap> {
    let (enc, ct) = keys::wrap(
        to,
        &identity.seed,
        key,
        &keys::ad(b"wrap", team, epoch, &[member, scope]),
    )?;
    Ok(Wrap {
        epoch,
        wrapper: identity.public,
        enc,
        ct,
    })
}

fn hex(bytes: &[u8]) -> String {
    super::audit::hex_string(bytes)
}

impl Vault {
    fn sidecar_key(&self) -> Result<Key32> {
        sidecar::key(self.keys.dek(), &self.keys.vault_id)
    }

    /// Whether this vault is the replica of a team vault.
    pub fn is_team(&self) -> bool {
        sidecar::exists(&self.path)
    }

    fn team_load(&self) -> Result<Option<Sidecar>> {
        sidecar::read(&self.path, &self.sidecar_key()?, &self.keys.vault_id)
    }

    fn team_save(&self, sc: &Sidecar) -> Result<()> {
        sidecar::write(&self.path, &self.sidecar_key()?, &self.keys.vault_id, sc)
    }

    fn team_required(&self) -> Result<Sidecar> {
        self.team_load()?.ok_or_else(|| {
            VaultError::team(
                "this vault is not a team vault: `tresor remote init URL` shares it, `tresor remote join URL --token T` joins one",
            )
        })
    }

    /// Brings the replica up to the server's head; `None` for a vault that is not a team
    /// vault. An unreachable server is not an error here: reads go on from the replica.
    pub fn team_sync(&self) -> Result<Option<SyncReport>> {
        if !self.is_team() {
            return Ok(None);
        }
        let _lock = sidecar::lock(&self.path)?;
        self.sync_locked()
    }

    /// [`Vault::team_sync`], with the replica's lock already held. The connection is
    /// kept for this command's audit entries (`audit.rs`).
    fn sync_locked(&self) -> Result<Option<SyncReport>> {
        let Some(mut sc) = self.team_load()? else {
            return Ok(None);
        };
        let mut client = match server::connect(&sc.url) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Some(SyncReport::Offline {
                    age: now() - sc.synced_at,
                    why: offline_reason(&e, sc.dirty),
                }));
            }
        };
        let report = self.sync_on(&mut sc, &mut client)?;
        if !matches!(report, SyncReport::Rekeyed | SyncReport::Removed) {
            self.team_audit_link(&sc, client);
        }
        Ok(Some(report))
    }

    /// A sync on this connection.
    fn sync_on(&self, sc: &mut Sidecar, client: &mut server::Conn) -> Result<SyncReport> {
        if !sc.dirty
            && let Some((version, head)) = server::head(&mut **client, &sc.team)?
            && version == sc.seen_version
            && crypto::same(&head_hash(&head)?, &sc.seen_hash)
        {
            // The replica file is rewritten at most every half minute for this: the
            // common read stays one query, without a file write.
            if now() - sc.synced_at >= SYNCED_AT_EVERY {
                sc.synced_at = now();
                let _ = self.team_save(sc);
            }
            return Ok(SyncReport::Current);
        }
        let held = Held::from_sidecar(sc)?;
        if !sc.dirty {
            let mut tx = server::snapshot_tx(client)?;
            let (version, head) = server::head(&mut tx, &sc.team)?
                .ok_or_else(|| VaultError::team("the team vault is no longer on the server"))?;
            match delta::fetch(&mut tx, sc, &held.vk, (version, head.clone()), None)? {
                Found::Rekeyed
                    if !server::holds_wrap(&mut tx, &sc.team, &sc.member, keys::VAULT_SCOPE)? =>
                {
                    return Ok(SyncReport::Removed);
                }
                Found::Rekeyed => return Ok(SyncReport::Rekeyed),
                Found::Same { small } => {
                    tx.commit().map_err(server::db_error)?;
                    signing::observe(sc, &held.vk, &head, &small)?;
                    sc.synced_at = now();
                    self.team_save(sc)?;
                    return Ok(SyncReport::Current);
                }
                Found::Delta(d) => {
                    tx.commit().map_err(server::db_error)?;
                    if self.apply_delta(sc, &held, &d)? {
                        sc.seen_version = d.version;
                        sc.seen_hash = head_hash(&d.head)?;
                        signing::observe(sc, &held.vk, &d.head, &d.small)?;
                        sc.synced_at = now();
                        self.team_save(sc)?;
                        return Ok(SyncReport::Updated { version: d.version });
                    }
                }
                Found::Whole => {}
            }
        }
        self.sync_whole(sc, &held, client)
    }

    /// Reads every row and the log, verifies the whole state and rewrites the replica
    /// from it (after a migration or rekey, or when a change never reached the server).
    fn sync_whole(
        &self,
        sc: &mut Sidecar,
        held: &Held,
        client: &mut postgres::Client,
    ) -> Result<SyncReport> {
        let snap = server::load_snapshot(client, &sc.team)?
            .ok_or_else(|| VaultError::team("the team vault is no longer on the server"))?;
        if claimed_epoch(&snap.head) > Some(sc.epoch) {
            if !snap
                .rows
                .wraps
                .contains_key(&(sc.member, keys::VAULT_SCOPE.to_vec()))
            {
                return Ok(SyncReport::Removed);
            }
            return Ok(SyncReport::Rekeyed);
        }
        delta::whole(
            &held.vk,
            &sc.team,
            &snap,
            Some((sc.seen_version, sc.seen_hash)),
            &Seen::of(sc),
        )?;
        // Keys whose wraps changed (an environment made again) go before the rebuild.
        signing::follow_wraps(sc, &log::small_hashes(&held.vk, &snap.rows)?);
        let held = Held::from_sidecar(sc)?;
        self.replace_from(sc, &held, &snap.rows)?;
        sc.seen_version = snap.version;
        sc.seen_hash = head_hash(&snap.head)?;
        signing::observe(sc, &held.vk, &snap.head, &snap.rows)?;
        sc.synced_at = now();
        sc.dirty = false;
        self.team_save(sc)?;
        Ok(SyncReport::Updated {
            version: snap.version,
        })
    }

    /// `remote sync --verify`: the whole state checked against the log, and the replica
    /// rewritten from it.
    pub fn team_verify(&self) -> Result<u64> {
        let _lock = sidecar::lock(&self.path)?;
        let mut sc = self.team_required()?;
        let held = Held::from_sidecar(&sc)?;
        let mut client = server::connect(&sc.url)?;
        match self.sync_whole(&mut sc, &held, &mut client)? {
            SyncReport::Rekeyed => Err(rekeyed()),
            SyncReport::Removed => Err(removed()),
            _ => Ok(sc.seen_version),
        }
    }

    /// Rewrites every environment this member can read from verified server rows, in one
    /// local transaction.
    fn replace_from(&self, sc: &Sidecar, held: &Held, rows: &Rows) -> Result<()> {
        let mut plan = Vec::new();
        for (env_id, sealed) in &rows.envs {
            let (project, name, created, rotate_days) =
                open_env(&held.vk, &sc.team, sc.epoch, env_id, sealed)?.into_parts();
            let Some(ek) = held.envs.get(env_id) else {
                continue;
            };
            let mut secrets = Vec::new();
            for ((e, id), row) in rows
                .secrets
                .range((*env_id, [0u8; 32])..=(*env_id, [0xff; 32]))
            {
                debug_assert_eq!(e, env_id);
                secrets.push(open_secret(ek, &sc.team, sc.epoch, env_id, id, row)?);
            }
            plan.push((project, name, created, rotate_days, secrets));
        }
        self.write(|txn, catalog| {
            self.drop_gone_envs(txn, catalog, held, rows)?;
            for (project, env, created, rotate_days, secrets) in &plan {
                let id = match self.find_env(catalog, project, env) {
                    Ok(entry) => entry.id,
                    Err(VaultError::EnvNotFound { .. } | VaultError::ProjectNotFound { .. }) => {
                        self.insert_env(txn, project, env, *created)?
                    }
                    Err(e) => return Err(e),
                };
                if let Some(days) = rotate_days {
                    self.set_env_rotation(txn, &id, project, env, *created, *days)?;
                }
                txn.delete_prefix(Table::Secrets, &id)?;
                integrity::remove_env_tree(txn, &id)?;
                integrity::create_env_tree(&self.keys, txn, &id)?;
                for (meta, value) in secrets {
                    let SecretMeta::V1 { key, .. } = meta;
                    let sid = self.secret_id(&id, project, env, key)?;
                    self.put_record(txn, &sid, meta, Some(value), None)?;
                }
                let leaves = integrity::all_leaves(&*txn, &id)?;
                integrity::rehash(&self.keys, txn, &id, leaves)?;
            }
            Ok(())
        })
    }

    /// Before a local change on a team replica: refuses a reader, and marks the replica
    /// as holding a change the server does not have yet (so a crash before the server
    /// write leaves a replica that the next sync rebuilds). `false`: not a team vault.
    pub(super) fn team_before_write(&self) -> Result<Option<TeamGuard<'_>>> {
        if !self.is_team() {
            return Ok(None);
        }
        let lock = sidecar::lock(&self.path)?;
        let Some(mut sc) = self.team_load()? else {
            return Ok(None);
        };
        if !sc.role.can_write() {
            return Err(reader_refused());
        }
        sc.dirty = true;
        self.team_save(&sc)?;
        Ok(Some(TeamGuard(self.one_mark(), lock)))
    }

    /// After a local change of these keys: writes them to the server. On failure the
    /// replica is rebuilt from the server, so it never shows a change the team lacks.
    pub(super) fn team_after_write(
        &self,
        guard: TeamGuard<'_>,
        project: &str,
        env: &str,
        changed: &[String],
    ) -> Result<()> {
        let result = (|| {
            let mut sc = self.team_required()?;
            let plan = self.local_secrets(project, env, changed)?;
            self.team_write(&mut sc, |sc, held, edit| {
                let env_id = held.vk.env_id(project, env)?;
                let ek = held
                    .envs
                    .get(&env_id)
                    .ok_or_else(|| no_access(project, env))?;
                for (key, local) in &plan {
                    match local {
                        Some((meta, value)) => {
                            let (id, row) =
                                seal_secret(ek, &sc.team, sc.epoch, &env_id, meta, value)?;
                            edit.put_secret((env_id, id), row);
                        }
                        None => {
                            edit.delete_secret((env_id, ek.secret_id(key)?));
                        }
                    }
                }
                Ok(())
            })
        })();
        if result.is_err() {
            let _ = self.sync_locked();
        }
        drop(guard);
        result
    }

    /// These secrets as the local replica holds them, with their full metadata, in one
    /// read (an import of 10,000 is one transaction, not 10,000).
    #[allow(clippy::type_complexity)]
    fn local_secrets(
        &self,
        project: &str,
        env: &str,
        keys: &[String],
    ) -> Result<Vec<(String, Option<(SecretMeta, SecretValue)>)>> {
        self.read(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            let mut out = Vec::with_capacity(keys.len());
            if keys.len() > SCAN_FROM {
                // Many keys (an import): one verified pass over the environment instead
                // of one verified lookup per key (each checks its path to the root).
                let mut wanted = std::collections::HashMap::with_capacity(keys.len());
                for key in keys {
                    wanted.insert(self.secret_id(&entry.id, project, env, key)?, key);
                }
                let mut found = std::collections::HashMap::with_capacity(keys.len());
                let place = integrity::Place { project, env };
                for (id, bytes) in
                    integrity::verified_env(&self.keys, txn, &entry.id, &entry.digest, &place)?
                {
                    if let Some(key) = wanted.get(&id) {
                        let record = decode(&bytes, "secret record")?;
                        let meta = self.open_meta(&id, &record, (project, env))?;
                        let value = self.open_value(&id, &record, (project, env), key)?;
                        found.insert(id, (meta, value));
                    }
                }
                for (id, key) in wanted {
                    out.push((key.clone(), found.remove(&id)));
                }
                return Ok(out);
            }
            for key in keys {
                let (id, record) = self.find_record(txn, entry, project, env, key)?;
                let local = match record {
                    None => None,
                    Some(r) => Some((
                        self.open_meta(&id, &r, (project, env))?,
                        self.open_value(&id, &r, (project, env), key)?,
                    )),
                };
                out.push((key.clone(), local));
            }
            Ok(out)
        })
    }

    /// One commit: verify what changed since this replica's version (and the small
    /// tables), let `f` record its changes, and write them with the next commit, signed,
    /// under a lock on the head row. What other members committed before the lock is
    /// fetched and verified first, outside it (`Verified`), so under the lock only the
    /// commits that came in meanwhile are (usually none); the write is one statement
    /// (`server::write_commit`). A commit by another member since this replica's
    /// version is applied to the replica first and the write goes on (rebase), unless
    /// it changed a secret this write changes. A format-1 server is migrated to the log
    /// first.
    fn team_write(
        &self,
        sc: &mut Sidecar,
        f: impl FnOnce(&Sidecar, &Held, &mut Edit) -> Result<()>,
    ) -> Result<()> {
        if !sc.role.can_write() {
            return Err(VaultError::team(
                "you are a reader of this team vault: only writers and admins can change it",
            ));
        }
        let held = Held::from_sidecar(sc)?;
        let vk = &held.vk;
        // The connection this command's sync opened, if any (not a second handshake);
        // given back after the write for the command's audit entry.
        let linked = self.team_linked();
        let (mut client, kept) = self.team_client(sc)?;
        let before = match self.verify_before_lock(&mut client, sc, &held) {
            // The server may have ended the kept session: once more on a new one (this
            // part only reads).
            Err(_) if kept => {
                std::mem::replace(&mut client, server::connect(&sc.url)?).discard();
                self.verify_before_lock(&mut client, sc, &held)?
            }
            other => other?,
        };
        #[cfg(feature = "test-support")]
        if let Some(hook) = BEFORE_LOCK.lock().ok().and_then(|mut h| h.take()) {
            hook();
        }
        let mut tx = client.transaction().map_err(server::db_error)?;
        let (mut version, mut head) = server::lock_head(&mut tx, &sc.team)?
            .ok_or_else(|| VaultError::team("the team vault is no longer on the server"))?;
        #[cfg(feature = "test-support")]
        if log::claimed(&head).is_none() && format1::wanted() {
            let (version, record) = format1::write(&mut tx, sc, &held, (version, &head), f)?;
            tx.commit().map_err(server::db_error)?;
            sc.seen_version = version;
            sc.seen_hash = head_hash(&record)?;
            sc.dirty = false;
            return self.team_save(sc);
        }
        if log::claimed(&head).is_none() && claimed_epoch(&head) == Some(sc.epoch) {
            if version != sc.seen_version {
                return Err(self.changed_by(&mut tx, sc, &held, &head)?);
            }
            // The migration is a base commit, which says what exists: an admin's alone.
            if sc.role != Role::Admin {
                return Err(VaultError::team(
                    "this team vault was made by an earlier tresor and moves to the new format with an admin's next change (any `tresor` change an admin makes); reads work meanwhile; nothing was written",
                ));
            }
            (version, head) = delta::migrate(&mut tx, sc, &held, (version, &head))?;
            sc.seen_version = version;
            sc.seen_hash = head_hash(&head)?;
        }
        let found = match before {
            // Nobody committed since: what was verified before the lock is the state.
            Some(b) if b.version == version && crypto::same(&b.head_hash, &head_hash(&head)?) => {
                Found::from(b)
            }
            // Commits came in meanwhile: only those are fetched and verified.
            Some(b) if b.version < version => {
                let later =
                    delta::fetch(&mut tx, &b.replica, vk, (version, head.clone()), b.small())?;
                b.then(later)
            }
            _ => delta::fetch(&mut tx, sc, vk, (version, head.clone()), None)?,
        };
        let (small, other) = match found {
            Found::Rekeyed => return Err(rekeyed()),
            Found::Whole => return Err(self.changed_by(&mut tx, sc, &held, &head)?),
            Found::Same { small, .. } => (small, None),
            Found::Delta(d) => (d.small.clone(), Some(d)),
        };
        // What the head this write follows says of signatures, before this write is
        // signed (or refused unsigned) as the other members will expect.
        signing::observe(sc, vk, &head, &small)?;
        // Without the keys `observe` dropped (their environments were made again).
        let held = Held::from_sidecar(sc)?;
        let mut edit = Edit::on(small.clone());
        f(sc, &held, &mut edit)?;
        for env in std::mem::take(&mut edit.cleared) {
            for id in server::secret_ids(&mut tx, &sc.team, &env)? {
                if !edit.puts.contains_key(&(env, id)) {
                    edit.deletes.insert((env, id));
                }
            }
        }
        // An environment removed by another member meanwhile: its secrets would be
        // written where nobody can see them.
        if edit
            .puts
            .keys()
            .chain(&edit.deletes)
            .any(|(env, _)| !small.envs.contains_key(env) && !edit.rows.envs.contains_key(env))
        {
            return Err(self.changed_by(&mut tx, sc, &held, &head)?);
        }
        let mut changes = log::small_changes(vk, &small, &edit.rows)?;
        // A place another member changed since this replica's version and this write
        // changes too: the write was computed from what this replica held, so it waits.
        // So is a write into an environment whose record or whose key for this member
        // changed meanwhile (removed and made again: a new key), sealed under the old one.
        if let Some(d) = &other
            && (d.places.keys().any(|p| edit.touches(p))
                || changes.iter().any(|(p, _)| d.places.contains_key(p))
                || edit.puts.keys().chain(&edit.deletes).any(|(env, _)| {
                    d.places.contains_key(&Place::Env(*env))
                        || d.places.contains_key(&Place::Wrap(sc.member, env.to_vec()))
                }))
        {
            return Err(self.changed_by(&mut tx, sc, &held, &head)?);
        }
        let next = version + 1;
        for (k, row) in &edit.puts {
            changes.push((
                Place::Secret(k.0, k.1),
                Some(log::secret_hash(vk, k, next, row)?),
            ));
        }
        for k in &edit.deletes {
            changes.push((Place::Secret(k.0, k.1), None));
        }
        let deletes: Vec<(EnvId, SecretId)> = edit.deletes.iter().copied().collect();
        let body = CommitBody {
            team: sc.team,
            epoch: sc.epoch,
            version: next,
            prev: head_hash(&head)?,
            time: now(),
            writer: sc.member,
            base: false,
            changes,
            small_root: edit.rows.small_root(&vk.root)?,
            secrets: server::count_after(
                &mut tx,
                &sc.team,
                log::open_commit(vk, &sc.team, &head, None)?.secrets,
                &edit.puts,
                &edit.deletes,
            )?,
        };
        let (record, changes) = log::seal_commit(vk, &body)?;
        let record = signing::sign(vk, sc, record, &body, &edit.rows, Some(&head))?;
        signing::check_own(&mut tx, vk, sc, (&record, &body), &mut edit.rows)?;
        // The head, the secret rows and the log in one statement; members, wraps and
        // environments (an admin's changes) after it, in the same transaction.
        if !server::write_commit(
            &mut tx,
            &sc.team,
            version,
            (&record, &changes),
            &deletes,
            &edit.puts,
        )? {
            return Err(VaultError::team(
                "the team vault changed during this write; nothing was written: try again",
            ));
        }
        server::apply(&mut tx, &sc.team, &small, &edit.rows, Some(next))?;
        tx.commit().map_err(server::db_error)?;
        if linked {
            self.team_audit_keep(client);
        }
        // The other members' commits reach the replica after the lock is released (it
        // serialises every writer of the team); if that fails, the next sync rebuilds.
        let applied = match &other {
            Some(d) => self.apply_delta(sc, &held, d).unwrap_or(false),
            None => true,
        };
        sc.seen_version = next;
        sc.seen_hash = head_hash(&record)?;
        signing::observe(sc, &held.vk, &record, &edit.rows)?;
        sc.synced_at = now();
        sc.dirty = !applied;
        self.team_save(sc)
    }

    /// Before a write locks the head row: the head as it is and what came after this
    /// replica's version, read in one snapshot and verified as a sync would, so the
    /// lock is held only for what other members commit meanwhile. `None`: nothing to
    /// carry (a format-1 head, a base commit since: the write decides under the lock).
    fn verify_before_lock(
        &self,
        client: &mut postgres::Client,
        sc: &Sidecar,
        held: &Held,
    ) -> Result<Option<Verified>> {
        let mut tx = server::snapshot_tx(client)?;
        let Some((version, head)) = server::head(&mut tx, &sc.team)? else {
            return Ok(None);
        };
        let found = delta::fetch(&mut tx, sc, &held.vk, (version, head.clone()), None)?;
        tx.commit().map_err(server::db_error)?;
        let small = match &found {
            Found::Same { small } => small,
            Found::Delta(d) => &d.small,
            Found::Rekeyed => return Err(rekeyed()),
            Found::Whole => return Ok(None),
        };
        // The replica's record as it will be once this is applied: what the commits
        // that come in meanwhile are checked against.
        // A copy through its encoding: every field, whatever fields it gains.
        let mut replica: Sidecar = decode(&Zeroizing::new(encode(sc)?), "replica record")?;
        replica.seen_version = version;
        replica.seen_hash = head_hash(&head)?;
        signing::observe(&mut replica, &held.vk, &head, small)?;
        Ok(Some(Verified {
            version,
            head_hash: replica.seen_hash,
            found,
            replica,
        }))
    }

    /// "Changed by bob 2 s ago; nothing was written": another member's commit touched
    /// what this write changes (or could not be applied beneath it).
    fn changed_by(
        &self,
        tx: &mut postgres::Transaction<'_>,
        sc: &Sidecar,
        held: &Held,
        head: &[u8],
    ) -> Result<VaultError> {
        let (writer, time) = head_writer(&held.vk, &sc.team, head)?;
        let small = server::small_rows(tx, &sc.team, false)?;
        let who = small
            .members
            .get(&writer)
            .and_then(|s| open_member(&held.vk, &sc.team, sc.epoch, &writer, s).ok())
            .map(|record| record.name().to_string())
            .unwrap_or_else(|| "another member".into());
        Ok(VaultError::team(format!(
            "the team vault was changed by {who} {} ago; nothing was written: run the command again",
            age_text(now() - time)
        )))
    }

    /// Puts this vault on the server as a new team vault, with `identity` as its first
    /// admin. Returns the team vault's fingerprint.
    pub fn team_init(&self, url: &str, identity: &Identity, name: &str) -> Result<String> {
        if self.is_team() {
            return Err(VaultError::team("this vault is already a team vault"));
        }
        super::validate::name("member", name)?;
        let team: TeamId = crypto::random_bytes()?;
        let epoch = 1;
        let vk_raw = crypto::random_key()?;
        let vk = VaultKey::derive(vk_raw.clone(), &team)?;
        let me: MemberId = crypto::random_bytes()?;
        let mut rows = Rows::default();
        let mut env_keys = Vec::new();
        for env in self.environments()? {
            let env_id = vk.env_id(&env.project, &env.name)?;
            let meta = EnvMeta::V1 {
                project: env.project.clone(),
                name: env.name.clone(),
                created: env.created,
            };
            rows.envs.insert(
                env_id,
                keys::seal(
                    &vk.catalog,
                    &encode(&meta)?,
                    &keys::ad(b"environment", &team, epoch, &[&env_id]),
                )?,
            );
            let ek_raw = crypto::random_key()?;
            let ek = EnvKey::derive(ek_raw.clone(), &team, &env_id)?;
            for (id, record) in self.env_records(&env.project, &env.name)? {
                let place = (env.project.as_str(), env.name.as_str());
                let meta = self.open_meta(&id, &record, place)?;
                let SecretMeta::V1 { key, .. } = &meta;
                let value = self.open_value(&id, &record, place, key)?;
                let (sid, row) = seal_secret(&ek, &team, epoch, &env_id, &meta, &value)?;
                rows.secrets.insert((env_id, sid), row);
            }
            rows.wraps.insert(
                (me, env_id.to_vec()),
                wrap_to(
                    identity,
                    &identity.public,
                    &team,
                    epoch,
                    &me,
                    &env_id,
                    &ek_raw,
                )?,
            );
            env_keys.push((env_id, *ek_raw));
        }
        let record = MemberRecord::V2 {
            name: name.into(),
            public: identity.public,
            signing: identity.signing,
            role: Role::Admin,
            envs: None,
            added: now(),
            added_by: me,
            grant: None,
        };
        #[cfg(feature = "test-support")]
        let record = format1::member_record(record);
        rows.members.insert(
            me,
            keys::seal(
                &vk.members,
                &encode(&record)?,
                &keys::ad(b"member", &team, epoch, &[&me]),
            )?,
        );
        rows.wraps.insert(
            (me, keys::VAULT_SCOPE.to_vec()),
            wrap_to(
                identity,
                &identity.public,
                &team,
                epoch,
                &me,
                keys::VAULT_SCOPE,
                &vk_raw,
            )?,
        );
        let mut sc = Sidecar {
            url: url.into(),
            team,
            member: me,
            role: Role::Admin,
            epoch,
            vault_key: *vk_raw,
            env_keys,
            seen_version: 1,
            seen_hash: [0; 32],
            synced_at: now(),
            dirty: false,
            signing_seed: Some(*identity.signing_seed()?),
            signed_seen: false,
            members_seen: 0,
            admins: Vec::new(),
            small_seen: None,
            key_wraps: Vec::new(),
        };
        let mut client = server::connect(url)?;
        let head_record = init_on_server(&mut client, &vk, &sc, &rows)?;
        sc.seen_hash = head_hash(&head_record)?;
        signing::observe(&mut sc, &vk, &head_record, &rows)?;
        self.team_save(&sc)?;
        self.audit("remote init", "", "", name);
        Ok(hex(&team))
    }

    /// Adds a member (admins only): the vault key and the keys of the environments they
    /// may read are wrapped to their public key by `identity`. Returns the join token.
    pub fn team_add_member(
        &self,
        identity: &Identity,
        name: &str,
        public: &(PublicKeyBytes, KeyHash),
        role: Role,
        envs: Option<Vec<(String, String)>>,
    ) -> Result<String> {
        let (public, signing) = (&public.0, &public.1);
        super::validate::name("member", name)?;
        let _lock = sidecar::lock(&self.path)?;
        let mut sc = self.team_required()?;
        if sc.role != Role::Admin {
            return Err(VaultError::team(
                "only an admin of the team vault can add members",
            ));
        }
        let member: MemberId = crypto::random_bytes()?;
        self.ensure_signing_key(&mut sc, identity)?;
        // The signing key this admin's record names, which the token pins.
        let mut my_signing: Option<KeyHash> = None;
        self.team_write(&mut sc, |sc, held, edit| {
            let rows = &mut edit.rows;
            let mut mine = None;
            for (id, sealed) in &rows.members {
                let record = open_member(&held.vk, &sc.team, sc.epoch, id, sealed)?;
                let (existing, pk) = (record.name(), *record.public());
                if existing == name {
                    return Err(VaultError::team(format!(
                        "a member named `{name}` already exists"
                    )));
                }
                if pk == *public {
                    return Err(VaultError::team(format!(
                        "this public key is already a member, as `{existing}`"
                    )));
                }
                if *id == sc.member {
                    mine = Some(pk);
                    my_signing = record.signing().copied();
                }
            }
            if mine != Some(identity.public) {
                return Err(VaultError::team(
                    "this identity is not the one that joined this vault as an admin",
                ));
            }
            let scope: Vec<EnvId> = match &envs {
                None => held.envs.keys().copied().collect(),
                Some(list) => {
                    let mut ids = Vec::new();
                    for (project, env) in list {
                        let id = held.vk.env_id(project, env)?;
                        if !held.envs.contains_key(&id) {
                            return Err(VaultError::EnvNotFound {
                                project: project.clone(),
                                env: env.clone(),
                            });
                        }
                        ids.push(id);
                    }
                    ids
                }
            };
            let mut record = MemberRecord::V2 {
                name: name.into(),
                public: *public,
                signing: *signing,
                role,
                envs: envs.clone(),
                added: now(),
                added_by: sc.member,
                grant: None,
            };
            signing::appoint(sc, &member, &mut record)?;
            #[cfg(feature = "test-support")]
            let record = format1::member_record(record);
            rows.members.insert(
                member,
                keys::seal(
                    &held.vk.members,
                    &encode(&record)?,
                    &keys::ad(b"member", &sc.team, sc.epoch, &[&member]),
                )?,
            );
            rows.wraps.insert(
                (member, keys::VAULT_SCOPE.to_vec()),
                wrap_to(
                    identity,
                    public,
                    &sc.team,
                    sc.epoch,
                    &member,
                    keys::VAULT_SCOPE,
                    &held.vk.raw,
                )?,
            );
            for id in scope {
                let ek = &held.envs[&id];
                rows.wraps.insert(
                    (member, id.to_vec()),
                    wrap_to(identity, public, &sc.team, sc.epoch, &member, &id, &ek.raw)?,
                );
            }
            Ok(())
        })?;
        self.audit("member add", "", "", name);
        JoinToken {
            team: sc.team,
            member,
            inviter: Inviter {
                public: identity.public,
                signing: my_signing,
            },
            invited_at: Some((sc.seen_version, sc.seen_hash)),
        }
        .text()
    }

    /// Makes this (empty) local vault the replica of a team vault, with the token an
    /// admin printed for this identity.
    pub fn team_join(&self, url: &str, token: &str, identity: &Identity) -> Result<()> {
        if self.is_team() {
            return Err(VaultError::team("this vault is already a team vault"));
        }
        if self.environments()?.iter().any(|e| e.secrets > 0) {
            return Err(VaultError::team(
                "this local vault holds secrets: join with a new, empty vault (`tresor --vault PATH init`, then `remote join`)",
            ));
        }
        let token = JoinToken::parse(token).ok_or_else(|| {
            VaultError::team("the join token is not valid: copy it whole from `tresor member add`")
        })?;
        let team = token.team;
        let mut client = server::connect(url)?;
        let snap = server::load_snapshot(&mut client, &team)?.ok_or_else(|| {
            VaultError::team("no such team vault on this server (check the URL and the token)")
        })?;
        // The head the inviter saw: the log must follow it, and what comes after it is
        // checked as any replica checks what it has not seen (signed, if the vault is).
        let invited_at = token.invited_at.map(|head| (head, Seen::default()));
        let member = token.member;
        let sc = adopt(
            url,
            team,
            member,
            &snap,
            identity,
            Some(token.inviter),
            invited_at,
        )?;
        signing::upload_key(&mut *client, &team, &member, &*identity.signing_seed()?)?;
        let held = Held::from_sidecar(&sc)?;
        self.replace_from(&sc, &held, &snap.rows)?;
        self.team_save(&sc)?;
        self.audit("remote join", "", "", "");
        Ok(())
    }

    /// Who has access, as the server's verified member list says.
    pub fn team_members(&self) -> Result<Vec<MemberInfo>> {
        let sc = self.team_required()?;
        let held = Held::from_sidecar(&sc)?;
        let mut client = server::connect(&sc.url)?;
        let rows = delta::verified_small(&mut client, &sc, &held.vk)?;
        let mut records = BTreeMap::new();
        for (id, sealed) in &rows.members {
            records.insert(*id, open_member(&held.vk, &sc.team, sc.epoch, id, sealed)?);
        }
        let seen = self.team_last_seen(&mut client, &sc)?;
        let name_of = |id: &MemberId| match records.get(id) {
            Some(record) => record.name().to_string(),
            None => "a removed member".into(),
        };
        let mut out: Vec<MemberInfo> = records
            .iter()
            .map(|(id, record)| MemberInfo {
                name: record.name().to_string(),
                public: keys::public_text(record.public(), record.signing()),
                role: record.role(),
                envs: record.envs().clone(),
                added: record.added().0,
                added_by: name_of(record.added().1),
                is_me: *id == sc.member,
                signs: record.signing().is_some(),
                last_seen: seen.get(id).copied(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Where this replica stands, without asking the server.
    pub fn team_status(&self) -> Result<TeamStatus> {
        let sc = self.team_required()?;
        Ok(TeamStatus {
            url: sc.url.clone(),
            role: sc.role,
            version: sc.seen_version,
            head: hex(&sc.seen_hash[..8]),
            synced_at: sc.synced_at,
        })
    }
}

/// Unwraps this member's keys from verified rows and makes the replica's record of them:
/// on join (the vault key must be wrapped by the token's inviter) and after a rekey.
/// Every wrap must be by an admin of the verified member list.
fn adopt(
    url: &str,
    team: TeamId,
    member: MemberId,
    snap: &Snapshot,
    identity: &Identity,
    inviter: Option<Inviter>,
    seen: Option<((u64, [u8; 32]), Seen)>,
) -> Result<Sidecar> {
    let (version, head, rows) = (snap.version, &snap.head, &snap.rows);
    let (seen, signed) = match seen {
        Some((head, signed)) => (Some(head), signed),
        None => (None, Seen::default()),
    };
    let not_for_you = || {
        VaultError::team(
            "the token's keys do not open with this identity, or were not made by the admin who issued the token",
        )
    };
    let vault_wrap = rows
        .wraps
        .get(&(member, keys::VAULT_SCOPE.to_vec()))
        .ok_or_else(not_for_you)?;
    if inviter
        .as_ref()
        .is_some_and(|i| i.public != vault_wrap.wrapper)
    {
        return Err(not_for_you());
    }
    let pinned = inviter;
    let inviter = vault_wrap.wrapper;
    let epoch = vault_wrap.epoch;
    let vk_raw = keys::unwrap(
        &identity.seed,
        &inviter,
        &vault_wrap.enc,
        &vault_wrap.ct,
        &keys::ad(b"wrap", &team, epoch, &[&member, keys::VAULT_SCOPE]),
    )
    .map_err(|_| not_for_you())?;
    let vk = VaultKey::derive(vk_raw.clone(), &team)?;
    let mut signed = signed;
    if let Some(pinned) = &pinned
        && signed.admins.is_empty()
    {
        // Joining: the admin the token names (and who appointed them) is trusted first.
        signed.admins = signing::join_anchors(&vk, &team, epoch, rows, pinned)?;
        // An inviter who signs: this vault's changes are signed, unsigned ones are forged.
        signed.signed = !signed.admins.is_empty();
    }
    let head_epoch = delta::whole(&vk, &team, snap, seen, &signed)?;
    if head_epoch != epoch {
        return Err(tampered("a key wrap of another epoch"));
    }
    let mut admins = Vec::new();
    let mut role = None;
    for (id, sealed) in &rows.members {
        let record = open_member(&vk, &team, epoch, id, sealed)?;
        let (public, r) = (*record.public(), record.role());
        if r == Role::Admin {
            admins.push(public);
        }
        if *id == member {
            if public != identity.public {
                return Err(not_for_you());
            }
            role = Some(r);
        }
    }
    let role = role.ok_or_else(not_for_you)?;
    if !admins.contains(&inviter) {
        return Err(tampered("the token's inviter is not an admin"));
    }
    let mut env_keys = Vec::new();
    for ((m, scope), w) in &rows.wraps {
        if *m != member || scope == keys::VAULT_SCOPE {
            continue;
        }
        let env_id: EnvId = scope
            .as_slice()
            .try_into()
            .map_err(|_| tampered("a key wrap"))?;
        if !admins.contains(&w.wrapper) || w.epoch != epoch {
            return Err(tampered("a key wrap not made by an admin"));
        }
        let raw = keys::unwrap(
            &identity.seed,
            &w.wrapper,
            &w.enc,
            &w.ct,
            &keys::ad(b"wrap", &team, epoch, &[&member, &env_id]),
        )
        .map_err(|_| tampered("a key wrap"))?;
        env_keys.push((env_id, *raw));
    }
    let mut sc = Sidecar {
        url: url.into(),
        team,
        member,
        role,
        epoch,
        vault_key: *vk_raw,
        env_keys,
        seen_version: version,
        seen_hash: head_hash(head)?,
        synced_at: now(),
        dirty: false,
        signing_seed: Some(*identity.signing_seed()?),
        signed_seen: signed.signed,
        members_seen: signed.members_version,
        admins: signed.admins,
        small_seen: None,
        key_wraps: Vec::new(),
    };
    signing::observe(&mut sc, &vk, head, rows)?;
    Ok(sc)
}

/// An environment of the team vault whose key this member does not hold, where whether
/// the key waits for it is not known here: both are said.
pub(in crate::vault) fn no_access(project: &str, env: &str) -> VaultError {
    VaultError::team(format!(
        "you have no access to {} in this team vault: your membership is limited to other environments, or its key waits (`tresor remote sync` fetches it)",
        env_name(project, env)
    ))
}

/// An environment of the team vault whose key this member does not hold and for which
/// none waits: its membership is limited to `readable` (of the project).
pub(in crate::vault) fn no_access_naming(
    project: &str,
    env: &str,
    readable: &[String],
) -> VaultError {
    let limited = match readable {
        [] => "other environments".to_string(),
        many => many
            .iter()
            .map(|e| super::validate::printable(e))
            .collect::<Vec<_>>()
            .join(", "),
    };
    VaultError::team(format!(
        "you have no access to {} in this team vault: your membership is limited to {limited}",
        env_name(project, env)
    ))
}

/// `project/env`, printable.
fn env_name(project: &str, env: &str) -> String {
    format!(
        "{}/{}",
        super::validate::printable(project),
        super::validate::printable(env)
    )
}

/// What a member is told of an environment whose key an admin wrapped for it since it
/// last fetched keys.
pub(in crate::vault) fn key_waits(project: &str, env: &str) -> VaultError {
    VaultError::team(format!(
        "{} was shared with you since your last `tresor remote sync`: run it to fetch its key",
        env_name(project, env)
    ))
}

/// Why a sync found the server away; a replica still holding a change whose server write
/// was cut off (the server died mid-write) says so: the next sync undoes that change.
fn offline_reason(e: &VaultError, dirty: bool) -> String {
    if dirty {
        format!(
            "{e}; this copy also holds your last change, which may not have reached the server (the next sync with the server keeps it only if it did)"
        )
    } else {
        e.to_string()
    }
}

/// "3 s", "5 min", "2 h", "4 days".
pub fn age_text(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86400),
    }
}

/// A new team vault on the server, in one transaction: the schema, every row, the base
/// commit (version 1) and the head. Returns the head's record. With
/// `TRESOR_TEST_TEAM_FORMAT=1` (test builds only), the server is made as the build
/// before the commit log made it, for the migration's tests.
fn init_on_server(
    client: &mut postgres::Client,
    vk: &VaultKey,
    sc: &Sidecar,
    rows: &Rows,
) -> Result<Vec<u8>> {
    let (team, epoch, me) = (&sc.team, sc.epoch, sc.member);
    let seed = sc
        .signing_seed
        .ok_or_else(|| VaultError::team("a new team vault needs its admin's signing key"))?;
    #[cfg(feature = "test-support")]
    if format1::wanted() {
        let head = Head::V1 {
            team: *team,
            epoch,
            version: 1,
            prev: [0; 32],
            root: rows.state_root(&vk.root)?,
            time: now(),
            writer: me,
        };
        let record = seal_head(vk, &head)?;
        format1::init(client, team, &record, rows)?;
        return Ok(record);
    }
    let body = CommitBody::base(vk, (*team, epoch, 1), [0; 32], me, rows)?;
    let (record, changes) = log::seal_commit(vk, &body)?;
    let record = signing::sign(vk, sc, record, &body, rows, None)?;
    server::create_schema(client)?;
    let mut tx = client.transaction().map_err(server::db_error)?;
    server::insert_vault(&mut tx, team, &record)?;
    server::apply(&mut tx, team, &Rows::default(), rows, Some(1))?;
    server::insert_commit(&mut tx, team, 1, true, (&record, &changes))?;
    signing::upload_key(&mut tx, team, &me, &seed)?;
    tx.commit().map_err(server::db_error)?;
    Ok(record)
}
