//! The team's audit log on the server: every member's entries (readers' too), sealed so
//! the server sees no key name, action or machine, and chained per member.
//!
//! A row is `tresor_audit(vault, member, seq, epoch, entry)`. The entry is sealed under
//! an audit subkey of the epoch's vault key, with associated data binding the vault,
//! the member's id, the sequence number and the epoch: a row edited, moved to another
//! member or place, or replayed does not open. Inside, each entry holds the hash of the
//! member's entry before it, and sequence numbers run 1, 2, 3…: a dropped entry leaves a
//! gap, a swapped one breaks the chain. The key names of an entry about an environment
//! are sealed once more, under a subkey of that environment's key: a member granted only
//! `production` sees that someone read a development secret, not which one.
//!
//! Upload. `Vault::audit` on a team replica queues the entry in an outbox beside the
//! vault (`vault.tresor.team-audit`, sealed under the local vault's key), then, when
//! this command already talked to the server (its sync kept the connection), sends the
//! whole queue in one INSERT. Offline, entries wait and go with the next command that
//! reaches the server; nothing waits for the server. The outbox also keeps this
//! member's chain position and the audit keys of every epoch it held, so entries from
//! before a member's removal stay readable to those who saw them.
//!
//! What this cannot detect: entries cut off the end of another member's chain (this
//! member's own are checked against its outbox); a current member forging entries in
//! another's chain (the audit key is shared, entries are not signed), or a removed one
//! appending to its own chain under an epoch's key it held; entries of an
//! epoch before this member joined are unreadable to it, and are counted, not checked.
//! A crash between the INSERT and the outbox write can upload entries twice.

mod outbox;

use crate::vault::team::server::Column;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use postgres::error::SqlState;
use postgres::{Client, GenericClient};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::keys::{self, EnvId, MemberId, TeamId};
use super::records::head_hash;
use super::server::{self, db_error};
use super::sidecar::Sidecar;
use super::{Held, open_member};
use crate::vault::Vault;
use crate::vault::audit::{AuditEvent, cap_fields};
use crate::vault::crypto::{self, Key32};
use crate::vault::error::{Result, VaultError};
use crate::vault::model::Via;
use crate::vault::records::{decode, encode};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS tresor_audit (
    vault bytea NOT NULL, member bytea NOT NULL, seq bigint NOT NULL, epoch bigint NOT NULL,
    entry bytea NOT NULL, PRIMARY KEY (vault, member, seq))";

/// The connection a sync kept for this command's audit entries (see the module notes),
/// and when it was kept.
#[derive(Default)]
pub struct Link(RefCell<Option<(Instant, server::Conn)>>);

/// One entry as stored on the server, sealed. postcard is positional: a new field means
/// a new variant.
#[derive(Serialize, Deserialize)]
enum EntryRecord {
    V1(Entry),
}

#[derive(Serialize, Deserialize)]
struct Entry {
    /// The hash of this member's entry before this one (zeros for the first).
    prev: [u8; 32],
    /// Unix milliseconds: entries of several members made in the same second still sort.
    time_ms: i64,
    user: String,
    host: String,
    via: Via,
    action: String,
    project: String,
    env: String,
    keys: KeyList,
}

/// The key names an entry touched.
#[derive(Serialize, Deserialize)]
enum KeyList {
    /// Not about one environment's secrets (e.g. `member add bob`): every member reads it.
    Plain(String),
    /// Sealed under the audit key of this environment (its id in the entry's epoch):
    /// only its members read it.
    Sealed { env: EnvId, sealed: Vec<u8> },
}

/// What this replica keeps between commands (see the module notes).
#[derive(Serialize, Deserialize, Default)]
struct Outbox {
    team: TeamId,
    member: MemberId,
    /// The sequence number of the next entry; 0 when unknown (ask the server).
    next_seq: u64,
    last_hash: [u8; 32],
    /// Audit keys by epoch, and environment audit keys by (epoch, environment).
    keys: Vec<(u64, [u8; 32])>,
    env_keys: Vec<(u64, EnvId, [u8; 32])>,
    /// Entries not sent yet, with when they were made (Unix milliseconds).
    pending: Vec<(i64, AuditEvent)>,
    /// Every member name this replica has seen, so entries of a removed member keep it.
    names: Vec<(MemberId, String)>,
}

impl Drop for Outbox {
    fn drop(&mut self) {
        for (_, k) in &mut self.keys {
            k.zeroize();
        }
        for (_, _, k) in &mut self.env_keys {
            k.zeroize();
        }
    }
}

/// A line of the team's log as `tresor audit` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamAuditLine {
    Ok(TeamAuditEntry),
    /// Does not open, or does not follow the member's entry before it: edited, moved,
    /// reordered or replayed on the server.
    Broken {
        member: String,
        seq: u64,
    },
    /// Sequence numbers `from..=to` of this member are missing: dropped on the server.
    Missing {
        member: String,
        from: u64,
        to: u64,
    },
    /// This member's own entries `from..=to`, sent from here, are gone from the end.
    CutOff {
        from: u64,
        to: u64,
    },
    /// Entries of an epoch whose keys this member never held (from before it joined).
    Unreadable {
        member: String,
        count: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamAuditEntry {
    pub member: String,
    /// Unix milliseconds.
    pub time_ms: i64,
    pub user: String,
    pub host: String,
    pub via: Via,
    pub action: String,
    pub project: String,
    pub env: String,
    /// `None`: about an environment this member cannot read.
    pub keys: Option<String>,
}

fn audit_key(vault_key: &[u8; 32], team: &TeamId) -> Result<Key32> {
    crypto::hkdf(vault_key, team, b"tresor/team/v1/audit")
}

fn env_audit_key(env_key: &[u8; 32], team: &TeamId, env: &EnvId) -> Result<Key32> {
    let mut salt = [0u8; 32];
    salt[..16].copy_from_slice(team);
    salt[16..].copy_from_slice(env);
    crypto::hkdf(env_key, &salt, b"tresor/team/v1/audit-keys")
}

fn entry_ad(team: &TeamId, epoch: u64, member: &MemberId, seq: u64) -> Vec<u8> {
    keys::ad(b"audit", team, epoch, &[member, &seq.to_be_bytes()])
}

fn keys_ad(team: &TeamId, epoch: u64, member: &MemberId, seq: u64, env: &EnvId) -> Vec<u8> {
    keys::ad(
        b"audit-keys",
        team,
        epoch,
        &[member, &seq.to_be_bytes(), env],
    )
}

impl Outbox {
    /// Adds the keys this replica holds now, so entries of this epoch stay readable after
    /// a rekey.
    fn remember_keys(&mut self, sc: &Sidecar) -> Result<()> {
        if !self.keys.iter().any(|(e, _)| *e == sc.epoch) {
            self.keys
                .push((sc.epoch, *audit_key(&sc.vault_key, &sc.team)?));
        }
        for (env, raw) in &sc.env_keys {
            if !self
                .env_keys
                .iter()
                .any(|(e, id, _)| *e == sc.epoch && id == env)
            {
                self.env_keys
                    .push((sc.epoch, *env, *env_audit_key(raw, &sc.team, env)?));
            }
        }
        Ok(())
    }

    fn key(&self, epoch: u64) -> Option<&[u8; 32]> {
        self.keys.iter().find(|(e, _)| *e == epoch).map(|(_, k)| k)
    }

    fn env_key(&self, epoch: u64, env: &EnvId) -> Option<&[u8; 32]> {
        self.env_keys
            .iter()
            .find(|(e, id, _)| *e == epoch && id == env)
            .map(|(_, _, k)| k)
    }
}

/// The rows of `pending` as sealed for the server, from `next_seq` on.
fn seal_pending(sc: &Sidecar, ob: &Outbox) -> Result<Vec<(u64, Vec<u8>)>> {
    let key = ob
        .key(sc.epoch)
        .ok_or_else(|| VaultError::team("no audit key for this epoch"))?;
    let vk = super::keys::VaultKey::derive(zeroize::Zeroizing::new(sc.vault_key), &sc.team)?;
    let mut prev = ob.last_hash;
    let mut out = Vec::with_capacity(ob.pending.len());
    for (i, (time_ms, e)) in ob.pending.iter().enumerate() {
        let seq = ob.next_seq + i as u64;
        let keys = if e.env.is_empty() || e.key.is_empty() {
            KeyList::Plain(e.key.clone())
        } else {
            let env = vk.env_id(&e.project, &e.env)?;
            match ob.env_key(sc.epoch, &env) {
                Some(k) => KeyList::Sealed {
                    env,
                    sealed: keys::seal(
                        k,
                        e.key.as_bytes(),
                        &keys_ad(&sc.team, sc.epoch, &sc.member, seq, &env),
                    )?,
                },
                // An environment this member holds no key for: name no secret.
                None => KeyList::Plain(String::new()),
            }
        };
        let entry = EntryRecord::V1(Entry {
            prev,
            time_ms: *time_ms,
            user: e.user.clone(),
            host: e.host.clone(),
            via: e.via,
            action: e.action.clone(),
            project: e.project.clone(),
            env: e.env.clone(),
            keys,
        });
        let sealed = keys::seal(
            key,
            &encode(&entry)?,
            &entry_ad(&sc.team, sc.epoch, &sc.member, seq),
        )?;
        prev = head_hash(&sealed)?;
        out.push((seq, sealed));
    }
    Ok(out)
}

/// This member's last entry on the server: (its seq, its hash), or (0, zeros).
fn tail(client: &mut impl GenericClient, sc: &Sidecar) -> Result<(u64, [u8; 32])> {
    let row = client
        .query_opt(
            "SELECT seq, entry FROM tresor_audit WHERE vault = $1 AND member = $2
             ORDER BY seq DESC LIMIT 1",
            &[&&sc.team[..], &&sc.member[..]],
        )
        .map_err(db_error)?;
    match row {
        Some(r) => Ok((r.col::<i64>(0)? as u64, head_hash(&r.col::<Vec<u8>>(1)?)?)),
        None => Ok((0, [0; 32])),
    }
}

/// The INSERT of `rows`, as one simple query: one round trip (a statement with
/// parameters costs a second one to prepare it). Every value is a number or hex of
/// bytes made here, so nothing can break out of its literal. The commit does not wait
/// for the server's disk (`SET LOCAL synchronous_commit = off`: this transaction only,
/// never a write of secrets on the same connection): a read does not wait ~10 ms for a
/// WAL flush; a server crash within a second of it can lose the entry, which this
/// member's next `tresor audit` then reports as cut off.
fn insert_sql(sc: &Sidecar, rows: &[(u64, Vec<u8>)]) -> String {
    use crate::vault::audit::hex_string as hex;
    let mut sql =
        String::from("BEGIN; SET LOCAL synchronous_commit = off; INSERT INTO tresor_audit VALUES ");
    for (i, (seq, entry)) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "('\\x{}', '\\x{}', {seq}, {}, '\\x{}')",
            hex(&sc.team),
            hex(&sc.member),
            sc.epoch,
            hex(entry)
        ));
    }
    sql.push_str("; COMMIT");
    sql
}

/// Sends the outbox's pending entries in one INSERT. On success the outbox moves on.
fn upload(client: &mut Client, sc: &Sidecar, ob: &mut Outbox) -> Result<()> {
    ob.remember_keys(sc)?;
    if ob.next_seq == 0 {
        // No table yet (an error here) means nobody has written an entry.
        let (seq, hash) = tail(client, sc).unwrap_or_default();
        ob.next_seq = seq + 1;
        ob.last_hash = hash;
    }
    for attempt in 0..3 {
        let rows = seal_pending(sc, ob)?;
        let result = client.batch_execute(&insert_sql(sc, &rows));
        if result.is_err() {
            // A failed statement leaves the BEGIN open and aborted.
            client.batch_execute("ROLLBACK").map_err(db_error)?;
        }
        match result {
            Ok(_) => {
                if let Some((seq, last)) = rows.last() {
                    ob.next_seq = seq + 1;
                    ob.last_hash = head_hash(last)?;
                }
                ob.pending.clear();
                return Ok(());
            }
            Err(e) if attempt < 2 && e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                client.batch_execute(TABLE).map_err(db_error)?;
            }
            // This replica's idea of its chain is behind the server's (a lost outbox):
            // continue after what is there.
            Err(e) if attempt < 2 && e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                let (seq, hash) = tail(client, sc)?;
                ob.next_seq = seq + 1;
                ob.last_hash = hash;
            }
            Err(e) => return Err(db_error(e)),
        }
    }
    Err(VaultError::team("the team's audit log refused the entries"))
}

/// The outbox file beside a replica, and its lock file (`remote leave` deletes them).
pub(super) fn outbox_path(vault: &std::path::Path) -> std::path::PathBuf {
    outbox::path(vault)
}

pub(super) fn outbox_lock_path(vault: &std::path::Path) -> std::path::PathBuf {
    outbox::lock_path(vault)
}

impl Vault {
    /// Called by `Vault::audit`: on a team replica, queues the entry and sends the queue
    /// if this command holds a connection. An unreachable server is not an error here.
    pub(in crate::vault) fn team_audit(&self, event: &AuditEvent) -> Result<()> {
        if !self.is_team() {
            return Ok(());
        }
        let Some(sc) = self.team_load()? else {
            return Ok(());
        };
        let mut event = event.clone();
        cap_fields(&mut event);
        event.slot = None;
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(event.time * 1000, |d| d.as_millis() as i64);
        let _lock = outbox::lock(&self.path)?;
        if self.team_link.0.borrow().is_none() {
            // No connection in this command (offline, or `--offline`): the entry waits,
            // appended to the outbox without rewriting it.
            return self.outbox_append(&sc, &(time_ms, event));
        }
        let mut ob = self.outbox_load(&sc)?;
        ob.pending.push((time_ms, event));
        self.send_pending(&sc, &mut ob);
        self.outbox_save(&ob)
    }

    fn send_pending(&self, sc: &Sidecar, ob: &mut Outbox) {
        let mut link = self.team_link.0.borrow_mut();
        let Some((_, client)) = link.as_mut() else {
            return;
        };
        if upload(client, sc, ob).is_err() {
            // A dead connection, or one a failed upload may have left inside its
            // transaction: closed, never reused; the entries wait for the next command.
            if let Some((_, conn)) = link.take() {
                conn.discard();
            }
        }
    }

    /// After a sync: keeps its connection for this command's entries, and sends what
    /// was recorded while the server could not be reached.
    pub(super) fn team_audit_link(&self, sc: &Sidecar, client: server::Conn) {
        self.team_audit_keep(client);
        let Ok(_lock) = outbox::lock(&self.path) else {
            return;
        };
        let Ok(mut ob) = self.outbox_load(sc) else {
            return;
        };
        let known = ob.keys.iter().any(|(e, _)| *e == sc.epoch);
        if ob.pending.is_empty() && known {
            return;
        }
        if ob.pending.is_empty() {
            let _ = ob.remember_keys(sc);
        } else {
            self.send_pending(sc, &mut ob);
        }
        let _ = self.outbox_save(&ob);
    }

    /// `remote leave`: a last try to send the entries waiting in the outbox; how many
    /// could not be sent (they stay in this machine's log).
    pub(in crate::vault::team) fn team_audit_last_send(&self, sc: &Sidecar) -> usize {
        let Ok(_lock) = outbox::lock(&self.path) else {
            return 0;
        };
        let Ok(mut ob) = self.outbox_load(sc) else {
            return 0;
        };
        if !ob.pending.is_empty()
            && !self.team_linked()
            && let Ok(client) = server::connect(&sc.url)
        {
            self.team_audit_keep(client);
        }
        if !ob.pending.is_empty() {
            self.send_pending(sc, &mut ob);
        }
        ob.pending.len()
    }

    /// The kept connection back, after a write took it.
    pub(in crate::vault::team) fn team_audit_keep(&self, client: server::Conn) {
        *self.team_link.0.borrow_mut() = Some((Instant::now(), client));
    }

    /// Whether this command keeps a connection for its entries (it reached the server).
    pub(in crate::vault::team) fn team_linked(&self) -> bool {
        self.team_link.0.borrow().is_some()
    }

    /// The kept connection while it is fresh (kept as long as an idle one, and not seen
    /// closed: a long-lived handle, the TUI's, may hold one the server ended since), or
    /// a new one. `true` with the kept one: a failure on it may be the server having
    /// ended the session, worth one retry on a new connection.
    pub(in crate::vault::team) fn team_client(&self, sc: &Sidecar) -> Result<(server::Conn, bool)> {
        match self.team_link.0.borrow_mut().take() {
            Some((at, c)) if at.elapsed() < server::REUSE_FOR && !c.is_closed() => Ok((c, true)),
            Some((_, stale)) => {
                stale.discard();
                Ok((server::connect(&sc.url)?, false))
            }
            None => Ok((server::connect(&sc.url)?, false)),
        }
    }

    /// Every member's entries on the server, verified, oldest first; then what failed.
    pub fn team_audit_log(&self) -> Result<Vec<TeamAuditLine>> {
        let sc = self.team_required()?;
        let (mut client, _) = self.team_client(&sc)?;
        let names = member_names(&mut client, &sc)?;
        let ob = {
            let _lock = outbox::lock(&self.path)?;
            let mut ob = self.outbox_load(&sc)?;
            ob.remember_keys(&sc)?;
            for (id, name) in &names {
                match ob.names.iter_mut().find(|(known, _)| known == id) {
                    Some(entry) => entry.1 = name.clone(),
                    None => ob.names.push((*id, name.clone())),
                }
            }
            self.outbox_save(&ob)?;
            ob
        };
        let rows = match client.query(
            "SELECT member, seq, epoch, entry FROM tresor_audit WHERE vault = $1
             ORDER BY member, seq",
            &[&&sc.team[..]],
        ) {
            Ok(rows) => rows,
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Vec::new(),
            Err(e) => return Err(db_error(e)),
        };
        let mut chains: BTreeMap<Vec<u8>, Vec<Row>> = BTreeMap::new();
        for r in &rows {
            chains.entry(r.col(0)?).or_default().push((
                r.col::<i64>(1)? as u64,
                r.col::<i64>(2)? as u64,
                r.col(3)?,
            ));
        }
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        let mut mine_last = 0;
        for (member, chain) in &chains {
            let Ok(id) = MemberId::try_from(&member[..]) else {
                problems.push(TeamAuditLine::Broken {
                    member: "an unknown member".into(),
                    seq: 0,
                });
                continue;
            };
            let name = name_of(&names, &ob, &id);
            if id == sc.member {
                mine_last = chain.last().map_or(0, |(s, _, _)| *s);
            }
            check_chain(&sc, &ob, &id, &name, chain, &mut entries, &mut problems)?;
        }
        // This member's own chain: everything sent from here must still be there.
        let sent = ob.next_seq.saturating_sub(1);
        if ob.next_seq > 0 && mine_last < sent {
            problems.push(TeamAuditLine::CutOff {
                from: mine_last + 1,
                to: sent,
            });
        }
        entries.sort_by_key(|e: &TeamAuditEntry| e.time_ms);
        let mut out: Vec<TeamAuditLine> = entries.into_iter().map(TeamAuditLine::Ok).collect();
        out.extend(problems);
        self.team_audit_keep(client);
        Ok(out)
    }

    /// When each member was last seen: the time of its latest entry that verifies.
    pub(super) fn team_last_seen(
        &self,
        client: &mut Client,
        sc: &Sidecar,
    ) -> Result<BTreeMap<MemberId, i64>> {
        let ob = {
            let _lock = outbox::lock(&self.path)?;
            let mut ob = self.outbox_load(sc)?;
            ob.remember_keys(sc)?;
            ob
        };
        let rows = match client.query(
            "SELECT DISTINCT ON (member) member, seq, epoch, entry FROM tresor_audit
             WHERE vault = $1 ORDER BY member, seq DESC",
            &[&&sc.team[..]],
        ) {
            Ok(rows) => rows,
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Vec::new(),
            Err(e) => return Err(db_error(e)),
        };
        let mut out = BTreeMap::new();
        for r in rows {
            let Ok(id) = MemberId::try_from(&r.col::<Vec<u8>>(0)?[..]) else {
                continue;
            };
            let (seq, epoch) = (r.col::<i64>(1)? as u64, r.col::<i64>(2)? as u64);
            if let Some(Ok(entry)) =
                open_entry(&sc.team, &ob, &id, seq, epoch, &r.col::<Vec<u8>>(3)?)
            {
                out.insert(id, entry.time_ms.div_euclid(1000));
            }
        }
        Ok(out)
    }
}

/// One row of a member's chain: (seq, epoch, sealed entry).
type Row = (u64, u64, Vec<u8>);

/// Opens one row: `None` when this member holds no key of its epoch.
fn open_entry(
    team: &TeamId,
    ob: &Outbox,
    member: &MemberId,
    seq: u64,
    epoch: u64,
    sealed: &[u8],
) -> Option<Result<Entry>> {
    let key = ob.key(epoch)?;
    let opened = keys::open(key, sealed, &entry_ad(team, epoch, member, seq))
        .map_err(|_| VaultError::Crypto)
        .and_then(|plain| decode::<EntryRecord>(&plain, "team audit entry"))
        .map(|EntryRecord::V1(e)| e);
    Some(opened)
}

/// Walks one member's chain: entries that verify go to `entries`, the rest to `problems`.
fn check_chain(
    sc: &Sidecar,
    ob: &Outbox,
    member: &MemberId,
    name: &str,
    chain: &[Row],
    entries: &mut Vec<TeamAuditEntry>,
    problems: &mut Vec<TeamAuditLine>,
) -> Result<()> {
    let mut expected_seq = 1;
    // The hash of the entry before, when it is the one right before.
    let mut prev: Option<[u8; 32]> = Some([0; 32]);
    let mut last_epoch = 0;
    let mut unreadable = 0;
    for (seq, epoch, sealed) in chain {
        let (seq, epoch) = (*seq, *epoch);
        if seq > expected_seq {
            problems.push(TeamAuditLine::Missing {
                member: name.into(),
                from: expected_seq,
                to: seq - 1,
            });
            prev = None;
        }
        // The next entry's link is checked against this one only if this one verifies
        // (a broken entry is reported once, not again through its successor).
        let mut this_hash = None;
        let broken = || TeamAuditLine::Broken {
            member: name.into(),
            seq,
        };
        match open_entry(&sc.team, ob, member, seq, epoch, sealed) {
            None if epoch < last_epoch => problems.push(broken()),
            None => {
                unreadable += 1;
                this_hash = Some(head_hash(sealed)?);
            }
            Some(Err(_)) => problems.push(broken()),
            Some(Ok(e)) => {
                // After a gap the link cannot be checked; the gap is reported.
                if epoch < last_epoch || prev.is_some_and(|p| !crypto::same(&p, &e.prev)) {
                    problems.push(broken());
                } else {
                    this_hash = Some(head_hash(sealed)?);
                    let keys = match &e.keys {
                        KeyList::Plain(k) => Some(k.clone()),
                        KeyList::Sealed { env, sealed } => ob
                            .env_key(epoch, env)
                            .and_then(|key| {
                                let ad = keys_ad(&sc.team, epoch, member, seq, env);
                                keys::open(key, sealed, &ad).ok()
                            })
                            .map(|plain| String::from_utf8_lossy(&plain).into_owned()),
                    };
                    entries.push(TeamAuditEntry {
                        member: name.into(),
                        time_ms: e.time_ms,
                        user: e.user,
                        host: e.host,
                        via: e.via,
                        action: e.action,
                        project: e.project,
                        env: e.env,
                        keys,
                    });
                }
            }
        }
        last_epoch = last_epoch.max(epoch);
        prev = this_hash;
        expected_seq = seq + 1;
    }
    if unreadable > 0 {
        problems.push(TeamAuditLine::Unreadable {
            member: name.into(),
            count: unreadable,
        });
    }
    Ok(())
}

fn name_of(names: &BTreeMap<MemberId, String>, ob: &Outbox, id: &MemberId) -> String {
    if let Some(name) = names.get(id) {
        return name.clone();
    }
    match ob.names.iter().find(|(known, _)| known == id) {
        Some((_, name)) => format!("{name} (removed)"),
        None => format!(
            "a removed member ({})",
            crate::vault::audit::hex_string(&id[..4])
        ),
    }
}

/// The members' names from the verified member list.
fn member_names(client: &mut Client, sc: &Sidecar) -> Result<BTreeMap<MemberId, String>> {
    let held = Held::from_sidecar(sc)?;
    let rows = super::delta::verified_small(client, sc, &held.vk)?;
    let mut out = BTreeMap::new();
    for (id, sealed) in &rows.members {
        let record = open_member(&held.vk, &sc.team, sc.epoch, id, sealed)?;
        out.insert(*id, record.name().to_string());
    }
    Ok(out)
}
