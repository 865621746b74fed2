//! The SQL of the team vault: the schema, one snapshot read, and one change written as a
//! diff under a row lock on the vault's row. The server sees only blind ids, ciphertext
//! and version numbers; nothing it returns is trusted before the head's MAC and state
//! root are checked (`team::verify`).

use std::time::Duration;

use postgres::{Client, GenericClient, NoTls};

use super::keys::{MemberId, TeamId};
use super::records::{Rows, Wrap};
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

/// Connects with libpq-style settings (URL or `key=value`; `PGPASSWORD` is honoured by
/// the URL's password only). Gives up after 5 s instead of hanging.
pub fn connect(url: &str) -> Result<Client> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| VaultError::team(format!("the server address is not valid: {e}")))?;
    if config.get_password().is_none()
        && let Ok(pw) = std::env::var("PGPASSWORD")
    {
        config.password(pw);
    }
    config.connect_timeout(Duration::from_secs(5));
    config.connect(NoTls).map_err(unreachable)
}

pub fn unreachable(e: postgres::Error) -> VaultError {
    VaultError::team(format!(
        "the team server cannot be reached: {}",
        db_text(&e)
    ))
}

pub fn db_error(e: postgres::Error) -> VaultError {
    VaultError::team(format!("the team server refused: {}", db_text(&e)))
}

fn db_text(e: &postgres::Error) -> String {
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

pub fn create_schema(client: &mut Client) -> Result<()> {
    client.batch_execute(SCHEMA).map_err(db_error)
}

/// The head row alone: what a read checks before it trusts its replica.
pub fn head(client: &mut impl GenericClient, team: &TeamId) -> Result<Option<(u64, Vec<u8>)>> {
    let row = client
        .query_opt(
            "SELECT version, head FROM tresor_vaults WHERE id = $1",
            &[&&team[..]],
        )
        .map_err(db_error)?;
    Ok(row.map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
}

/// The head and every row, for a reader: one repeatable-read snapshot, so a writer that
/// commits between two of the SELECTs cannot make a consistent state look tampered.
pub fn load_snapshot(client: &mut Client, team: &TeamId) -> Result<Option<(u64, Vec<u8>, Rows)>> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(db_error)?;
    let out = load(&mut tx, team, false)?;
    tx.commit().map_err(db_error)?;
    Ok(out)
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
    let version = row.get::<_, i64>(0) as u64;
    let head: Vec<u8> = row.get(1);
    let t = &&team[..];
    let mut rows = Rows::default();
    for r in client
        .query(
            "SELECT member, sealed FROM tresor_members WHERE vault = $1",
            &[t],
        )
        .map_err(db_error)?
    {
        rows.members.insert(id16(r.get(0))?, r.get(1));
    }
    for r in client
        .query(
            "SELECT member, scope, epoch, wrapper, enc, ct FROM tresor_wraps WHERE vault = $1",
            &[t],
        )
        .map_err(db_error)?
    {
        let wrapper: Vec<u8> = r.get(3);
        rows.wraps.insert(
            (id16(r.get(0))?, r.get(1)),
            Wrap {
                epoch: r.get::<_, i64>(2) as u64,
                wrapper: wrapper.try_into().map_err(|_| bad_row("a key wrap"))?,
                enc: r.get(4),
                ct: r.get(5),
            },
        );
    }
    for r in client
        .query(
            "SELECT env, sealed FROM tresor_environments WHERE vault = $1",
            &[t],
        )
        .map_err(db_error)?
    {
        rows.envs.insert(id16(r.get(0))?, r.get(1));
    }
    for r in client
        .query(
            "SELECT env, secret, meta, value FROM tresor_secrets WHERE vault = $1",
            &[t],
        )
        .map_err(db_error)?
    {
        let secret: Vec<u8> = r.get(1);
        rows.secrets.insert(
            (
                id16(r.get(0))?,
                secret.try_into().map_err(|_| bad_row("a secret"))?,
            ),
            (r.get(2), r.get(3)),
        );
    }
    if super::signing::is_signed(&head) {
        super::signing::load_keys(client, team, &mut rows)?;
    }
    Ok(Some((version, head, rows)))
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
/// import of 10,000 secrets is a handful of round trips).
pub fn apply(client: &mut impl GenericClient, team: &TeamId, old: &Rows, new: &Rows) -> Result<()> {
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
    let mut envs: Vec<&[u8]> = Vec::new();
    let mut ids: Vec<&[u8]> = Vec::new();
    let mut metas: Vec<&[u8]> = Vec::new();
    let mut values: Vec<&[u8]> = Vec::new();
    for ((e, s), (m, v)) in new
        .secrets
        .iter()
        .filter(|(k, v)| old.secrets.get(*k) != Some(*v))
    {
        envs.push(e);
        ids.push(s);
        metas.push(m);
        values.push(v);
    }
    if !envs.is_empty() {
        client
            .execute(
                "INSERT INTO tresor_secrets
                 SELECT $1, * FROM unnest($2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[])
                 ON CONFLICT (vault, env, secret) DO UPDATE SET meta = excluded.meta,
                 value = excluded.value",
                &[t, &envs, &ids, &metas, &values],
            )
            .map_err(db_error)?;
    }
    Ok(())
}

/// Moves the head from `version` to `version + 1`; exactly one row must match.
pub fn set_head(
    client: &mut impl GenericClient,
    team: &TeamId,
    version: u64,
    head: &[u8],
) -> Result<()> {
    let n = client
        .execute(
            "UPDATE tresor_vaults SET version = $2, head = $3 WHERE id = $1 AND version = $4",
            &[
                &&team[..],
                &((version + 1) as i64),
                &head,
                &(version as i64),
            ],
        )
        .map_err(db_error)?;
    if n != 1 {
        return Err(VaultError::team(
            "the team vault changed during this write; nothing was written: try again",
        ));
    }
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
