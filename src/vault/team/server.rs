//! The SQL of the team vault: the schema, one snapshot read, the commit log and the rows
//! written since a version (delta sync), and one change written under a row lock on the
//! vault's row. The server sees only blind ids, ciphertext and version numbers; nothing
//! it returns is trusted before it is checked against the log (`team::log`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use postgres::types::{ToSql, Type};
use postgres::{Client, GenericClient, Row};

use super::keys::{EnvId, MemberId, SecretId, TeamId};
use super::log::Logged;
use super::records::{Rows, SealedSecret, Wrap};
use crate::vault::error::{Result, VaultError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tresor_vaults (
    id bytea PRIMARY KEY, version bigint NOT NULL, head bytea NOT NULL);
CREATE TABLE IF NOT EXISTS tresor_members (
    vault bytea NOT NULL, member bytea NOT NULL, sealed bytea NOT NULL,
    PRIMARY KEY (vault, member));
CREATE TABLE IF NOT EXISTS tresor_wraps (
    vault bytea NOT NULL, member bytea NOT NULL, scope bytea NOT NULL, epoch bigint NOT NULL,
    wrapper bytea NOT NULL, enc bytea NOT NULL, ct bytea NOT NULL,
    PRIMARY KEY (vault, member, scope));
CREATE TABLE IF NOT EXISTS tresor_environments (
    vault bytea NOT NULL, env bytea NOT NULL, sealed bytea NOT NULL,
    PRIMARY KEY (vault, env));
CREATE TABLE IF NOT EXISTS tresor_secrets (
    vault bytea NOT NULL, env bytea NOT NULL, secret bytea NOT NULL,
    meta bytea NOT NULL, value bytea NOT NULL,
    PRIMARY KEY (vault, env, secret));
";

/// The commit log (format 2 of the server): added to a format-1 server by the first
/// write of a new build, in the same transaction as the migration commit.
const SCHEMA_LOG: &str = "
ALTER TABLE tresor_secrets ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS tresor_secrets_by_version ON tresor_secrets (vault, version);
CREATE TABLE IF NOT EXISTS tresor_commits (
    vault bytea NOT NULL, version bigint NOT NULL, base boolean NOT NULL, record bytea NOT NULL,
    changes bytea NOT NULL, PRIMARY KEY (vault, version));
";

/// Connects with libpq's settings and TLS (see `connection`). Gives up after 5 s
/// instead of hanging. A connection this process used in the last few seconds is used
/// again (a command syncs, then writes; a writer writes again): a new one costs the
/// server a process.
pub fn connect(url: &str) -> Result<Conn> {
    let idle = IDLE.lock().ok().and_then(|mut idle| {
        let i = idle.iter().rposition(|(u, at, client)| {
            u == url && at.elapsed() < REUSE_FOR && !client.is_closed()
        })?;
        Some(idle.swap_remove(i).2)
    });
    let client = match idle {
        Some(client) => client,
        None => super::connection::connect(url)?,
    };
    Ok(Conn {
        url: url.into(),
        client: Some(client),
    })
}

/// How long an idle connection is kept for the next `connect`.
pub const REUSE_FOR: Duration = Duration::from_secs(5);

/// How many idle connections are kept (threads of one process writing at once, as the
/// concurrent writers' benchmark does, each keep theirs).
const IDLE_MAX: usize = 4;

/// The idle connections, newest last. A static, never dropped: the OS closes them at
/// exit (dropping a client while a thread's locals are torn down would need tokio's,
/// already gone).
#[allow(clippy::type_complexity)]
static IDLE: std::sync::Mutex<Vec<(String, std::time::Instant, Client)>> =
    std::sync::Mutex::new(Vec::new());

/// A connection; handed back for reuse when dropped (an open transaction was rolled
/// back by then: `Transaction` borrows it).
pub struct Conn {
    url: String,
    client: Option<Client>,
}

impl Conn {
    /// Closes the connection instead of keeping it for reuse: after a failure that may
    /// have left a transaction open on it.
    pub fn discard(mut self) {
        self.client = None;
    }
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("a connection until dropped")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("a connection until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && !client.is_closed()
        {
            let url = std::mem::take(&mut self.url);
            if let Ok(mut idle) = IDLE.lock() {
                // Stale ones, and the oldest beyond the limit, are closed outside the
                // lock.
                let mut closed: Vec<_> = Vec::new();
                let mut i = 0;
                while i < idle.len() {
                    if idle[i].1.elapsed() >= REUSE_FOR || idle.len() >= IDLE_MAX {
                        closed.push(idle.remove(i));
                    } else {
                        i += 1;
                    }
                }
                idle.push((url, std::time::Instant::now(), client));
                drop(idle);
                drop(closed);
            }
        }
    }
}

/// One statement in one round trip: its parameters' types are given, so no statement
/// is prepared first (a prepared one costs a round trip to prepare and one to close).
/// The hot path of every read and write goes through here.
pub(super) fn typed(
    client: &mut impl GenericClient,
    sql: &str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> Result<Vec<Row>> {
    client.query_typed(sql, params).map_err(db_error)
}

pub fn db_error(e: postgres::Error) -> VaultError {
    // No tresor tables here: the URL names another database (or none was put there).
    if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) {
        return VaultError::team(format!(
            "this database holds no team vault ({}): check the URL's database name, or put a vault there with `tresor remote init`",
            error_text(&e)
        ));
    }
    VaultError::team(format!("the team server refused: {}", error_text(&e)))
}

/// The server's own message, or the client error with its causes; control characters
/// replaced (a server's text is not trusted on a terminal).
pub(super) fn error_text(e: &postgres::Error) -> String {
    crate::vault::validate::printable(&raw_error_text(e))
}

fn raw_error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

pub fn create_schema(client: &mut impl GenericClient) -> Result<()> {
    client.batch_execute(SCHEMA).map_err(db_error)?;
    client.batch_execute(SCHEMA_LOG).map_err(db_error)
}

/// The server as a build without the commit log made it (tests of the migration).
#[cfg(feature = "test-support")]
pub fn create_schema_v1(client: &mut impl GenericClient) -> Result<()> {
    client.batch_execute(SCHEMA).map_err(db_error)
}

/// The log's tables on a server made before it (inside the migrating transaction).
pub fn migrate_schema(client: &mut impl GenericClient) -> Result<()> {
    client.batch_execute(SCHEMA_LOG).map_err(db_error)
}

/// The head row alone: what a read checks before it trusts its replica.
pub fn head(client: &mut impl GenericClient, team: &TeamId) -> Result<Option<(u64, Vec<u8>)>> {
    head_row(
        client,
        team,
        "SELECT version, head FROM tresor_vaults WHERE id = $1",
    )
}

fn head_row(
    client: &mut impl GenericClient,
    team: &TeamId,
    sql: &str,
) -> Result<Option<(u64, Vec<u8>)>> {
    let rows = typed(client, sql, &[(&&team[..], Type::BYTEA)])?;
    rows.first()
        .map(|r| Ok((r.col::<i64>(0)? as u64, r.col(1)?)))
        .transpose()
}

/// The whole state of a team vault as one read returns it.
pub struct Snapshot {
    pub version: u64,
    pub head: Vec<u8>,
    pub rows: Rows,
    /// The log from its latest base commit to the head (empty for a format-1 head).
    pub commits: Vec<Logged>,
}

/// The head, every row and the log since the latest base, for a reader: one
/// repeatable-read snapshot, so a writer that commits between two of the SELECTs cannot
/// make a consistent state look tampered.
pub fn load_snapshot(client: &mut Client, team: &TeamId) -> Result<Option<Snapshot>> {
    let mut tx = snapshot_tx(client)?;
    let out = load_whole(&mut tx, team, false)?;
    tx.commit().map_err(db_error)?;
    Ok(out)
}

/// A read-only repeatable-read transaction: every SELECT in it sees one state.
pub fn snapshot_tx(client: &mut Client) -> Result<postgres::Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(db_error)
}

/// [`load`] and the log since its latest base commit, in the caller's transaction.
pub fn load_whole(
    client: &mut impl GenericClient,
    team: &TeamId,
    lock: bool,
) -> Result<Option<Snapshot>> {
    let Some((version, head, mut rows)) = load(client, team, lock)? else {
        return Ok(None);
    };
    let commits = if super::log::claimed(&head).is_some() {
        let base: Option<i64> = client
            .query_one(
                "SELECT max(version) FROM tresor_commits WHERE vault = $1 AND base",
                &[&&team[..]],
            )
            .map_err(db_error)?
            .col(0)?;
        commits_from(client, team, base.unwrap_or(0) as u64)?
    } else {
        Vec::new()
    };
    // Signed commits under an unsigned head: their signers' keys too.
    if rows.signing_keys.is_empty() && commits.iter().any(|c| super::signing::is_signed(&c.record))
    {
        super::signing::load_keys(client, team, &mut rows)?;
    }
    Ok(Some(Snapshot {
        version,
        head,
        rows,
        commits,
    }))
}

/// The sealed commits from `version` on, ascending.
pub fn commits_from(
    client: &mut impl GenericClient,
    team: &TeamId,
    version: u64,
) -> Result<Vec<Logged>> {
    typed(
        client,
        "SELECT version, record, changes FROM tresor_commits
         WHERE vault = $1 AND version >= $2 ORDER BY version",
        &[(&&team[..], Type::BYTEA), (&(version as i64), Type::INT8)],
    )?
    .iter()
    .map(|r| {
        Ok(Logged {
            version: r.col::<i64>(0)? as u64,
            record: r.col(1)?,
            changes: r.col(2)?,
        })
    })
    .collect()
}

/// The secret rows written by commits after `version`.
pub fn secrets_since(
    client: &mut impl GenericClient,
    team: &TeamId,
    version: u64,
) -> Result<BTreeMap<(EnvId, SecretId), (u64, SealedSecret)>> {
    let mut out = BTreeMap::new();
    for r in typed(
        client,
        "SELECT env, secret, version, meta, value FROM tresor_secrets
         WHERE vault = $1 AND version > $2",
        &[(&&team[..], Type::BYTEA), (&(version as i64), Type::INT8)],
    )? {
        let secret: Vec<u8> = r.col(1)?;
        out.insert(
            (
                id16(r.col(0)?)?,
                secret.try_into().map_err(|_| bad_row("a secret"))?,
            ),
            (r.col::<i64>(2)? as u64, (r.col(3)?, r.col(4)?)),
        );
    }
    Ok(out)
}

/// How many secret rows the vault holds.
pub fn secret_count(client: &mut impl GenericClient, team: &TeamId) -> Result<u64> {
    let rows = typed(
        client,
        "SELECT count(*) FROM tresor_secrets WHERE vault = $1",
        &[(&&team[..], Type::BYTEA)],
    )?;
    Ok(rows.first().map_or(Ok(0), |r| r.col::<i64>(0))? as u64)
}

/// The blind ids of an environment's secrets.
pub fn secret_ids(
    client: &mut impl GenericClient,
    team: &TeamId,
    env: &EnvId,
) -> Result<Vec<SecretId>> {
    let rows = client
        .query(
            "SELECT secret FROM tresor_secrets WHERE vault = $1 AND env = $2",
            &[&&team[..], &&env[..]],
        )
        .map_err(db_error)?;
    rows.into_iter()
        .map(|r| <[u8; 32]>::try_from(r.col::<Vec<u8>>(0)?).map_err(|_| bad_row("a secret id")))
        .collect()
}

/// How many of these secret places hold a row.
pub fn count_present(
    client: &mut impl GenericClient,
    team: &TeamId,
    places: &[(EnvId, SecretId)],
) -> Result<usize> {
    if places.is_empty() {
        return Ok(0);
    }
    let (envs, ids): (Vec<&[u8]>, Vec<&[u8]>) =
        places.iter().map(|(e, s)| (&e[..], &s[..])).unzip();
    let rows = typed(
        client,
        "SELECT count(*) FROM tresor_secrets WHERE vault = $1 AND (env, secret) IN
         (SELECT * FROM unnest($2::bytea[], $3::bytea[]))",
        &[
            (&&team[..], Type::BYTEA),
            (&envs, Type::BYTEA_ARRAY),
            (&ids, Type::BYTEA_ARRAY),
        ],
    )?;
    Ok(rows.first().map_or(Ok(0), |r| r.col::<i64>(0))? as usize)
}

/// The members, wraps and environments: small tables, read whole by every write; with
/// the members' verifying keys when the head is signed.
pub fn small_rows(
    client: &mut impl GenericClient,
    team: &TeamId,
    signing_keys: bool,
) -> Result<Rows> {
    // One round trip for the three tables (four with the verifying keys), each row
    // tagged with its table; the widest, a wrap's, sets the columns.
    const SMALL: &str = "SELECT 0::int4, member, sealed, NULL::bytea, NULL::int8, NULL::bytea, NULL::bytea
         FROM tresor_members WHERE vault = $1
         UNION ALL SELECT 1, member, scope, wrapper, epoch, enc, ct FROM tresor_wraps WHERE vault = $1
         UNION ALL SELECT 2, env, sealed, NULL, NULL, NULL, NULL FROM tresor_environments WHERE vault = $1";
    const WITH_KEYS: &str = "SELECT 0::int4, member, sealed, NULL::bytea, NULL::int8, NULL::bytea, NULL::bytea
         FROM tresor_members WHERE vault = $1
         UNION ALL SELECT 1, member, scope, wrapper, epoch, enc, ct FROM tresor_wraps WHERE vault = $1
         UNION ALL SELECT 2, env, sealed, NULL, NULL, NULL, NULL FROM tresor_environments WHERE vault = $1
         UNION ALL SELECT 3, member, key, NULL, NULL, NULL, NULL FROM tresor_signing_keys WHERE vault = $1";
    let sql = if signing_keys { WITH_KEYS } else { SMALL };
    let mut rows = Rows::default();
    for r in typed(client, sql, &[(&&team[..], Type::BYTEA)])? {
        match r.col::<i32>(0)? {
            0 => {
                rows.members.insert(id16(r.col(1)?)?, r.col(2)?);
            }
            1 => {
                let wrapper: Vec<u8> = r.col(3)?;
                rows.wraps.insert(
                    (id16(r.col(1)?)?, r.col(2)?),
                    Wrap {
                        epoch: r.col::<i64>(4)? as u64,
                        wrapper: wrapper.try_into().map_err(|_| bad_row("a key wrap"))?,
                        enc: r.col(5)?,
                        ct: r.col(6)?,
                    },
                );
            }
            2 => {
                rows.envs.insert(id16(r.col(1)?)?, r.col(2)?);
            }
            _ => {
                // A key under an id of another length names nobody (as `load_keys`).
                let id: Vec<u8> = r.col(1)?;
                if let Ok(id) = super::keys::MemberId::try_from(id.as_slice()) {
                    rows.signing_keys.insert(id, r.col(2)?);
                }
            }
        }
    }
    Ok(rows)
}

/// The head row, locked until the transaction ends: writers queue on it.
pub fn lock_head(client: &mut impl GenericClient, team: &TeamId) -> Result<Option<(u64, Vec<u8>)>> {
    head_row(
        client,
        team,
        "SELECT version, head FROM tresor_vaults WHERE id = $1 FOR UPDATE",
    )
}

/// Secret rows deleted and written (as of `version`): one statement each, however many
/// (the forged writes of the tests; a commit writes them in `write_commit`).
#[cfg(feature = "test-support")]
pub fn write_secrets(
    client: &mut impl GenericClient,
    team: &TeamId,
    version: u64,
    deletes: &[(EnvId, SecretId)],
    puts: &BTreeMap<(EnvId, SecretId), SealedSecret>,
) -> Result<()> {
    if !deletes.is_empty() {
        let (envs, ids): (Vec<&[u8]>, Vec<&[u8]>) =
            deletes.iter().map(|(e, s)| (&e[..], &s[..])).unzip();
        typed(
            client,
            "DELETE FROM tresor_secrets WHERE vault = $1 AND (env, secret) IN
             (SELECT * FROM unnest($2::bytea[], $3::bytea[]))",
            &[
                (&&team[..], Type::BYTEA),
                (&envs, Type::BYTEA_ARRAY),
                (&ids, Type::BYTEA_ARRAY),
            ],
        )?;
    }
    if !puts.is_empty() {
        insert_secrets(client, team, Some(version), puts.iter())?;
    }
    Ok(())
}

/// How many secret rows the vault will hold once these are deleted and written (the
/// count a commit states): the count the head it follows states (verified), less the
/// deleted rows there, plus the put rows not there yet. Not a count of every row: a row
/// planted beside the log is never counted in, so readers still see the mismatch.
pub fn count_after(
    client: &mut impl GenericClient,
    team: &TeamId,
    at_head: u64,
    puts: &BTreeMap<(EnvId, SecretId), SealedSecret>,
    deletes: &BTreeSet<(EnvId, SecretId)>,
) -> Result<u64> {
    let (put_envs, put_ids): (Vec<&[u8]>, Vec<&[u8]>) =
        puts.keys().map(|(e, s)| (&e[..], &s[..])).unzip();
    let (del_envs, del_ids): (Vec<&[u8]>, Vec<&[u8]>) =
        deletes.iter().map(|(e, s)| (&e[..], &s[..])).unzip();
    let rows = typed(
        client,
        "SELECT
         (SELECT count(*) FROM tresor_secrets WHERE vault = $1 AND (env, secret) IN
          (SELECT * FROM unnest($2::bytea[], $3::bytea[]))),
         (SELECT count(*) FROM tresor_secrets WHERE vault = $1 AND (env, secret) IN
          (SELECT * FROM unnest($4::bytea[], $5::bytea[])))",
        &[
            (&&team[..], Type::BYTEA),
            (&put_envs, Type::BYTEA_ARRAY),
            (&put_ids, Type::BYTEA_ARRAY),
            (&del_envs, Type::BYTEA_ARRAY),
            (&del_ids, Type::BYTEA_ARRAY),
        ],
    )?;
    let row = rows.first().ok_or_else(|| bad_row("a count"))?;
    let (put_there, del_there) = (row.col::<i64>(0)? as u64, row.col::<i64>(1)? as u64);
    Ok((at_head + puts.len() as u64).saturating_sub(put_there + del_there))
}

/// One commit in one statement, if the head is still at `version`: the head row moved
/// to `record` (locked from there until the transaction ends, so writers queue on it
/// only for this), then, only if it moved, the secret rows deleted and written (as of
/// `version + 1`), the commit logged and open clients told (`notify_changed`). `false`:
/// another commit moved the head first, and nothing was written.
pub fn write_commit(
    client: &mut impl GenericClient,
    team: &TeamId,
    version: u64,
    (record, changes): (&[u8], &[u8]),
    deletes: &[(EnvId, SecretId)],
    puts: &BTreeMap<(EnvId, SecretId), SealedSecret>,
) -> Result<bool> {
    let (del_envs, del_ids): (Vec<&[u8]>, Vec<&[u8]>) =
        deletes.iter().map(|(e, s)| (&e[..], &s[..])).unzip();
    let mut envs: Vec<&[u8]> = Vec::with_capacity(puts.len());
    let mut ids: Vec<&[u8]> = Vec::with_capacity(puts.len());
    let mut metas: Vec<&[u8]> = Vec::with_capacity(puts.len());
    let mut values: Vec<&[u8]> = Vec::with_capacity(puts.len());
    for ((e, s), (m, v)) in puts {
        envs.push(e);
        ids.push(s);
        metas.push(m);
        values.push(v);
    }
    let payload = super::hex(team);
    // Every change reads `moved`, the head's UPDATE, so it runs first and the rest
    // only when it matched: the UPDATE waits for a writer holding the row and then
    // sees the version that writer left, as an optimistic check must.
    let rows = typed(
        client,
        "WITH moved AS (
             UPDATE tresor_vaults SET version = $2 + 1, head = $3 WHERE id = $1 AND version = $2
             RETURNING id),
         gone AS (
             DELETE FROM tresor_secrets WHERE vault = $1 AND EXISTS (SELECT FROM moved)
             AND (env, secret) IN (SELECT * FROM unnest($5::bytea[], $6::bytea[]))),
         put AS (
             INSERT INTO tresor_secrets (vault, env, secret, meta, value, version)
             SELECT $1, e, s, m, v, $2 + 1
             FROM unnest($7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[]) AS u(e, s, m, v)
             WHERE EXISTS (SELECT FROM moved)
             ON CONFLICT (vault, env, secret) DO UPDATE SET meta = excluded.meta,
             value = excluded.value, version = excluded.version),
         logged AS (
             INSERT INTO tresor_commits SELECT $1, $2 + 1, false, $3, $4 FROM moved)
         SELECT pg_notify($11, $12) FROM moved",
        &[
            (&&team[..], Type::BYTEA),
            (&(version as i64), Type::INT8),
            (&record, Type::BYTEA),
            (&changes, Type::BYTEA),
            (&del_envs, Type::BYTEA_ARRAY),
            (&del_ids, Type::BYTEA_ARRAY),
            (&envs, Type::BYTEA_ARRAY),
            (&ids, Type::BYTEA_ARRAY),
            (&metas, Type::BYTEA_ARRAY),
            (&values, Type::BYTEA_ARRAY),
            (&CHANGED_CHANNEL, Type::TEXT),
            (&payload, Type::TEXT),
        ],
    )?;
    Ok(rows.len() == 1)
}

/// Every secret row of the vault marked as written at `version` (a base commit).
pub fn stamp_versions(client: &mut impl GenericClient, team: &TeamId, version: u64) -> Result<()> {
    client
        .execute(
            "UPDATE tresor_secrets SET version = $2 WHERE vault = $1",
            &[&&team[..], &(version as i64)],
        )
        .map_err(db_error)?;
    Ok(())
}

pub fn insert_commit(
    client: &mut impl GenericClient,
    team: &TeamId,
    version: u64,
    base: bool,
    (record, changes): (&[u8], &[u8]),
) -> Result<()> {
    typed(
        client,
        "INSERT INTO tresor_commits VALUES ($1, $2, $3, $4, $5)",
        &[
            (&&team[..], Type::BYTEA),
            (&(version as i64), Type::INT8),
            (&base, Type::BOOL),
            (&record, Type::BYTEA),
            (&changes, Type::BYTEA),
        ],
    )?;
    Ok(())
}

/// The head and every row, inside the caller's transaction; `lock` holds the vault row
/// until commit, so writers queue instead of losing updates (the row lock is taken by
/// the first SELECT, so in READ COMMITTED every later SELECT sees the state it guards).
pub fn load(
    client: &mut impl GenericClient,
    team: &TeamId,
    lock: bool,
) -> Result<Option<(u64, Vec<u8>, Rows)>> {
    let sql = if lock {
        "SELECT version, head FROM tresor_vaults WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT version, head FROM tresor_vaults WHERE id = $1"
    };
    let Some(row) = client.query_opt(sql, &[&&team[..]]).map_err(db_error)? else {
        return Ok(None);
    };
    let version = row.col::<i64>(0)? as u64;
    let head: Vec<u8> = row.col(1)?;
    let t = &&team[..];
    let mut rows = small_rows(client, team, super::signing::is_signed(&head))?;
    let logged = super::log::claimed(&head).is_some();
    let sql = if logged {
        "SELECT env, secret, meta, value, version FROM tresor_secrets WHERE vault = $1"
    } else {
        "SELECT env, secret, meta, value FROM tresor_secrets WHERE vault = $1"
    };
    for r in client.query(sql, &[t]).map_err(db_error)? {
        let secret: Vec<u8> = r.col(1)?;
        let key = (
            id16(r.col(0)?)?,
            secret.try_into().map_err(|_| bad_row("a secret"))?,
        );
        if logged {
            rows.versions.insert(key, r.col::<i64>(4)? as u64);
        }
        rows.secrets.insert(key, (r.col(2)?, r.col(3)?));
    }
    Ok(Some((version, head, rows)))
}

/// Whether the server holds a wrap for this member of the key of `scope` (the vault
/// key's: after a rekey the remaining members have one, a removed member none; an
/// environment's). Unverified, so only ever used to choose what to say: a database
/// admin can make a member look removed, as it can make the server unusable.
pub fn holds_wrap(
    client: &mut impl GenericClient,
    team: &TeamId,
    member: &super::keys::MemberId,
    scope: &[u8],
) -> Result<bool> {
    let rows = typed(
        client,
        "SELECT 1 FROM tresor_wraps WHERE vault = $1 AND member = $2 AND scope = $3",
        &[
            (&&team[..], Type::BYTEA),
            (&&member[..], Type::BYTEA),
            (&scope, Type::BYTEA),
        ],
    )?;
    Ok(!rows.is_empty())
}

/// A column of a row the database sent: a NULL, or a value of another type, where
/// tresor's schema has none is a database changed outside tresor, refused, never a
/// crash (`Row::get` panics).
pub(super) trait Column {
    fn col<'a, T: postgres::types::FromSql<'a>>(&'a self, i: usize) -> Result<T>;
}

impl Column for postgres::Row {
    fn col<'a, T: postgres::types::FromSql<'a>>(&'a self, i: usize) -> Result<T> {
        self.try_get(i).map_err(|_| bad_row("a"))
    }
}

fn bad_row(what: &str) -> VaultError {
    VaultError::team(format!(
        "the team server returned {what} row of the wrong shape: the database was changed outside tresor"
    ))
}

fn id16(bytes: Vec<u8>) -> Result<MemberId> {
    bytes.try_into().map_err(|_| bad_row("an id"))
}

/// Writes what changed from `old` to `new` (arrays in one statement per table, so an
/// import of 10,000 secrets is a handful of round trips); secret rows as of `version`
/// (`None`: a server without the commit log, for tests of the migration).
pub fn apply(
    client: &mut impl GenericClient,
    team: &TeamId,
    old: &Rows,
    new: &Rows,
    version: Option<u64>,
) -> Result<()> {
    let t = &&team[..];
    // Members.
    let gone: Vec<&[u8]> = old
        .members
        .keys()
        .filter(|k| !new.members.contains_key(*k))
        .map(|k| &k[..])
        .collect();
    if !gone.is_empty() {
        client
            .execute(
                "DELETE FROM tresor_members WHERE vault = $1 AND member = ANY($2)",
                &[t, &gone],
            )
            .map_err(db_error)?;
    }
    let (ids, vals): (Vec<&[u8]>, Vec<&[u8]>) = new
        .members
        .iter()
        .filter(|(k, v)| old.members.get(*k) != Some(*v))
        .map(|(k, v)| (&k[..], &v[..]))
        .unzip();
    if !ids.is_empty() {
        client
            .execute(
                "INSERT INTO tresor_members SELECT $1, * FROM unnest($2::bytea[], $3::bytea[])
                 ON CONFLICT (vault, member) DO UPDATE SET sealed = excluded.sealed",
                &[t, &ids, &vals],
            )
            .map_err(db_error)?;
    }
    // Wraps.
    for ((member, scope), _) in old
        .wraps
        .iter()
        .filter(|(k, _)| !new.wraps.contains_key(*k))
    {
        client
            .execute(
                "DELETE FROM tresor_wraps WHERE vault = $1 AND member = $2 AND scope = $3",
                &[t, &&member[..], &&scope[..]],
            )
            .map_err(db_error)?;
    }
    for ((member, scope), w) in new
        .wraps
        .iter()
        .filter(|(k, v)| old.wraps.get(*k) != Some(*v))
    {
        client
            .execute(
                "INSERT INTO tresor_wraps VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (vault, member, scope) DO UPDATE SET epoch = excluded.epoch,
                 wrapper = excluded.wrapper, enc = excluded.enc, ct = excluded.ct",
                &[
                    t,
                    &&member[..],
                    &&scope[..],
                    &(w.epoch as i64),
                    &&w.wrapper[..],
                    &w.enc,
                    &w.ct,
                ],
            )
            .map_err(db_error)?;
    }
    // Environments.
    for (id, sealed) in new
        .envs
        .iter()
        .filter(|(k, v)| old.envs.get(*k) != Some(*v))
    {
        client
            .execute(
                "INSERT INTO tresor_environments VALUES ($1, $2, $3)
                 ON CONFLICT (vault, env) DO UPDATE SET sealed = excluded.sealed",
                &[t, &&id[..], sealed],
            )
            .map_err(db_error)?;
    }
    for id in old.envs.keys().filter(|k| !new.envs.contains_key(*k)) {
        client
            .execute(
                "DELETE FROM tresor_environments WHERE vault = $1 AND env = $2",
                &[t, &&id[..]],
            )
            .map_err(db_error)?;
    }
    // Secrets.
    let (envs, ids): (Vec<&[u8]>, Vec<&[u8]>) = old
        .secrets
        .keys()
        .filter(|k| !new.secrets.contains_key(*k))
        .map(|(e, s)| (&e[..], &s[..]))
        .unzip();
    if !envs.is_empty() {
        client
            .execute(
                "DELETE FROM tresor_secrets WHERE vault = $1 AND (env, secret) IN
                 (SELECT * FROM unnest($2::bytea[], $3::bytea[]))",
                &[t, &envs, &ids],
            )
            .map_err(db_error)?;
    }
    let changed = new
        .secrets
        .iter()
        .filter(|(k, v)| old.secrets.get(*k) != Some(*v));
    insert_secrets(client, team, version, changed)?;
    Ok(())
}

fn insert_secrets<'a>(
    client: &mut impl GenericClient,
    team: &TeamId,
    version: Option<u64>,
    rows: impl Iterator<Item = (&'a (EnvId, SecretId), &'a SealedSecret)>,
) -> Result<()> {
    let mut envs: Vec<&[u8]> = Vec::new();
    let mut ids: Vec<&[u8]> = Vec::new();
    let mut metas: Vec<&[u8]> = Vec::new();
    let mut values: Vec<&[u8]> = Vec::new();
    for ((e, s), (m, v)) in rows {
        envs.push(e);
        ids.push(s);
        metas.push(m);
        values.push(v);
    }
    if envs.is_empty() {
        return Ok(());
    }
    let arrays: [(&(dyn ToSql + Sync), Type); 5] = [
        (&&team[..], Type::BYTEA),
        (&envs, Type::BYTEA_ARRAY),
        (&ids, Type::BYTEA_ARRAY),
        (&metas, Type::BYTEA_ARRAY),
        (&values, Type::BYTEA_ARRAY),
    ];
    match version {
        Some(version) => {
            let version = version as i64;
            let mut params = arrays.to_vec();
            params.push((&version, Type::INT8));
            typed(
                client,
                "INSERT INTO tresor_secrets (vault, env, secret, meta, value, version)
                 SELECT $1, e, s, m, v, $6 FROM unnest($2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[])
                 AS u(e, s, m, v)
                 ON CONFLICT (vault, env, secret) DO UPDATE SET meta = excluded.meta,
                 value = excluded.value, version = excluded.version",
                &params,
            )
        }
        None => typed(
            client,
            "INSERT INTO tresor_secrets
             SELECT $1, * FROM unnest($2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[])
             ON CONFLICT (vault, env, secret) DO UPDATE SET meta = excluded.meta,
             value = excluded.value",
            &arrays,
        ),
    }?;
    Ok(())
}

/// Moves the head from `version` to `version + 1`; exactly one row must match.
pub fn set_head(
    client: &mut impl GenericClient,
    team: &TeamId,
    version: u64,
    head: &[u8],
) -> Result<()> {
    let n = typed(
        client,
        "UPDATE tresor_vaults SET version = $2, head = $3 WHERE id = $1 AND version = $4
         RETURNING 1",
        &[
            (&&team[..], Type::BYTEA),
            (&((version + 1) as i64), Type::INT8),
            (&head, Type::BYTEA),
            (&(version as i64), Type::INT8),
        ],
    )?
    .len();
    if n != 1 {
        return Err(VaultError::team(
            "the team vault changed during this write; nothing was written: try again",
        ));
    }
    Ok(())
}

/// The channel every head move is announced on (`vault::team::watch` listens).
pub const CHANGED_CHANNEL: &str = "tresor_changed";

/// Tells open clients that this vault's head moved: a `NOTIFY` whose payload is the
/// vault's blind id alone (no name, no version). PostgreSQL delivers it at commit, and
/// not at all if the transaction rolls back.
pub fn notify_changed(client: &mut impl GenericClient, team: &TeamId) -> Result<()> {
    typed(
        client,
        "SELECT pg_notify($1, $2)",
        &[
            (&CHANGED_CHANNEL, Type::TEXT),
            (&super::hex(team), Type::TEXT),
        ],
    )?;
    Ok(())
}

pub fn insert_vault(client: &mut impl GenericClient, team: &TeamId, head: &[u8]) -> Result<()> {
    client
        .execute(
            "INSERT INTO tresor_vaults VALUES ($1, 1, $2)",
            &[&&team[..], &head],
        )
        .map_err(db_error)?;
    Ok(())
}
