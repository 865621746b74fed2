//! For tests only (feature `test-support`): team vaults as the build before the commit
//! log wrote them, so the migration can be tested with replicas and writes of that
//! format. With `TRESOR_TEST_TEAM_FORMAT=1`, `remote init` makes a format-1 server and
//! a write to one stays format 1: every row read and verified, the diff written, and a
//! head with a state root over every row.

use postgres::GenericClient;

use super::records::{Head, MemberRecord, Rows, head_hash};
use super::sidecar::Sidecar;
use super::{Edit, Held, seal_head, server, verify};
use crate::vault::error::{Result, VaultError};
use crate::vault::now;

/// Whether this process writes team vaults as the previous build did.
pub fn wanted() -> bool {
    std::env::var("TRESOR_TEST_TEAM_FORMAT").as_deref() == Ok("1")
}

/// One format-1 write in the caller's transaction (head row locked). Returns the new
/// head (version, record).
pub fn write(
    tx: &mut impl GenericClient,
    sc: &Sidecar,
    held: &Held,
    (version, head): (u64, &[u8]),
    f: impl FnOnce(&Sidecar, &Held, &mut Edit) -> Result<()>,
) -> Result<(u64, Vec<u8>)> {
    if version != sc.seen_version {
        return Err(VaultError::team(
            "the team vault was changed by another member; nothing was written",
        ));
    }
    let (_, _, rows) = server::load(tx, &sc.team, false)?
        .ok_or_else(|| VaultError::team("the team vault is no longer on the server"))?;
    verify(
        &held.vk,
        &sc.team,
        version,
        head,
        &rows,
        Some((sc.seen_version, sc.seen_hash)),
    )?;
    let mut edit = Edit::on(rows.small());
    f(sc, held, &mut edit)?;
    let mut new = edit.rows.clone();
    new.secrets = rows.secrets.clone();
    new.secrets.retain(|(e, _), _| !edit.cleared.contains(e));
    for k in &edit.deletes {
        new.secrets.remove(k);
    }
    new.secrets.extend(edit.puts.clone());
    let next = Head::V1 {
        team: sc.team,
        epoch: sc.epoch,
        version: version + 1,
        prev: head_hash(head)?,
        root: new.state_root(&held.vk.root)?,
        time: now(),
        writer: sc.member,
    };
    let record = seal_head(&held.vk, &next)?;
    server::apply(tx, &sc.team, &rows, &new, None)?;
    server::set_head(tx, &sc.team, version, &record)?;
    Ok((version + 1, record))
}

/// The rows of a new format-1 vault and its head, on a server without the log.
pub fn init(
    client: &mut postgres::Client,
    team: &super::keys::TeamId,
    record: &[u8],
    rows: &Rows,
) -> Result<()> {
    server::create_schema_v1(client)?;
    let mut tx = client.transaction().map_err(server::db_error)?;
    server::insert_vault(&mut tx, team, record)?;
    server::apply(&mut tx, team, &Rows::default(), rows, None)?;
    tx.commit().map_err(server::db_error)
}

/// A member record as the build before signatures wrote it (no verifying key), when
/// this process writes as that build did.
pub fn member_record(record: MemberRecord) -> MemberRecord {
    match record {
        MemberRecord::V2 {
            name,
            public,
            role,
            envs,
            added,
            added_by,
            ..
        } if wanted() => MemberRecord::V1 {
            name,
            public,
            role,
            envs,
            added,
            added_by,
        },
        record => record,
    }
}
