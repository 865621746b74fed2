//! The team vault's commit log: every server write is one commit naming the places it
//! changed (a member, wrap, environment or secret row) with the hash of each new row, or
//! `None` for a row it deleted. Commits are chained (each holds the hash of the one
//! before), authenticated under the vault key (`seal_commit`/`open_commit`, the one pair
//! that seals and checks a commit), and the head row holds the latest one. The list of
//! changes is stored beside the sealed record (which holds its hash), so the head row
//! that every read fetches stays small after an import of 10,000 secrets.
//!
//! A replica that saw version N checks only what came after: the commits N+1.., the
//! secret rows written since (each carries the version of the commit that last wrote
//! it, bound into its hash), the deleted ones gone, the small tables (members, wraps,
//! environments, read whole) against the head's `small_root`, and the number of secret
//! rows against the head's count, so no unnamed row can come back unnoticed. A
//! whole-state check replays the log from its latest base commit (init, migration,
//! rekey: a base lists every live place) and compares every row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::{EnvId, MemberId, SecretId, TeamId, VaultKey};
use super::records::{HeadRecord, Rows, SealedSecret, Wrap, head_hash};
use super::tampered;
use crate::vault::crypto;
use crate::vault::error::{Result, VaultError};
use crate::vault::records::{decode, encode};

/// One row of the team vault, by its ids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Place {
    Member(MemberId),
    /// (member, scope): the scope is `keys::VAULT_SCOPE` or an environment id.
    Wrap(MemberId, Vec<u8>),
    Env(EnvId),
    Secret(EnvId, SecretId),
}

pub type RowHash = [u8; 32];

/// What one commit says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitBody {
    pub team: TeamId,
    pub epoch: u64,
    pub version: u64,
    /// The hash of the previous commit's record (or of the format-1 head it migrated).
    pub prev: [u8; 32],
    pub time: i64,
    pub writer: MemberId,
    /// A base lists every live place (init, migration, rekey): replay starts there.
    pub base: bool,
    pub changes: Vec<(Place, Option<RowHash>)>,
    /// `Rows::small_root` of the members, wraps and environments after this commit.
    pub small_root: [u8; 32],
    /// How many secret rows the vault holds after this commit.
    pub secrets: u64,
}

impl CommitBody {
    /// A base commit at `version`: it names every live place of `rows` (init, the
    /// migration of a format-1 server, a rekey), written now by `writer`.
    pub fn base(
        vk: &VaultKey,
        (team, epoch, version): (TeamId, u64, u64),
        prev: [u8; 32],
        writer: MemberId,
        rows: &Rows,
    ) -> Result<CommitBody> {
        Ok(CommitBody {
            team,
            epoch,
            version,
            prev,
            time: crate::vault::now(),
            writer,
            base: true,
            changes: all_places(vk, rows, version)?,
            small_root: rows.small_root(&vk.root)?,
            secrets: rows.secrets.len() as u64,
        })
    }
}

/// What the sealed record holds: the commit with its changes replaced by their hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Commit {
    V1 {
        team: TeamId,
        epoch: u64,
        version: u64,
        prev: [u8; 32],
        time: i64,
        writer: MemberId,
        base: bool,
        changes: [u8; 32],
        small_root: [u8; 32],
        secrets: u64,
    },
}

/// One commit as the log table stores it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub version: u64,
    /// The sealed record (`seal_commit`): also the head row's bytes for the latest.
    pub record: Vec<u8>,
    /// The encoded list of changes, whose hash the record holds.
    pub changes: Vec<u8>,
}

/// A commit, sealed: (the record stored in the log and in the head row, the encoded
/// changes stored beside it).
pub fn seal_commit(vk: &VaultKey, body: &CommitBody) -> Result<(Vec<u8>, Vec<u8>)> {
    let changes = encode(&body.changes)?;
    let commit = encode(&Commit::V1 {
        team: body.team,
        epoch: body.epoch,
        version: body.version,
        prev: body.prev,
        time: body.time,
        writer: body.writer,
        base: body.base,
        changes: head_hash(&changes)?,
        small_root: body.small_root,
        secrets: body.secrets,
    })?;
    let mac = crypto::keyed_hash(&vk.head, &[b"commit", &commit])?;
    Ok((encode(&HeadRecord::V2 { commit, mac })?, changes))
}

/// A sealed commit, checked: its MAC under this epoch's vault key, its vault, and its
/// changes when given (`None`: the head alone, whose `changes` stay empty).
pub fn open_commit(
    vk: &VaultKey,
    team: &TeamId,
    record: &[u8],
    changes: Option<&[u8]>,
) -> Result<CommitBody> {
    let record: HeadRecord = match decode(record, "team commit") {
        Ok(r @ (HeadRecord::V2 { .. } | HeadRecord::V3 { .. })) => r,
        _ => return Err(tampered("a commit does not decode")),
    };
    let (commit, mac) = record.parts();
    let expected: [u8; 32] = crypto::keyed_hash(&vk.head, &[b"commit", commit])?;
    if !crypto::same(&expected, mac) {
        return Err(tampered("a commit's MAC"));
    }
    let Commit::V1 {
        team: commit_team,
        epoch,
        version,
        prev,
        time,
        writer,
        base,
        changes: changes_hash,
        small_root,
        secrets,
    } = decode(commit, "team commit").map_err(|_| tampered("a commit"))?;
    if commit_team != *team {
        return Err(tampered("a commit of another vault"));
    }
    let changes = match changes {
        None => Vec::new(),
        Some(bytes) => {
            if !crypto::same(&head_hash(bytes)?, &changes_hash) {
                return Err(tampered("a commit's list of changes"));
            }
            decode(bytes, "team commit").map_err(|_| tampered("a commit's list of changes"))?
        }
    };
    Ok(CommitBody {
        team: commit_team,
        epoch,
        version,
        prev,
        time,
        writer,
        base,
        changes,
        small_root,
        secrets,
    })
}

/// The epoch and version a sealed commit claims, before anything is verified.
pub fn claimed(record: &[u8]) -> Option<(u64, u64)> {
    let record: HeadRecord = decode(record, "team commit").ok()?;
    if matches!(record, HeadRecord::V1 { .. }) {
        return None;
    }
    let Commit::V1 { epoch, version, .. } = decode(record.parts().0, "team commit").ok()?;
    Some((epoch, version))
}

pub fn secret_hash(
    vk: &VaultKey,
    (env, id): &(EnvId, SecretId),
    version: u64,
    (meta, value): &SealedSecret,
) -> Result<RowHash> {
    crypto::keyed_hash(
        &vk.root,
        &[b"secret", env, id, &version.to_be_bytes(), meta, value],
    )
}

fn wrap_hash(vk: &VaultKey, (member, scope): &(MemberId, Vec<u8>), w: &Wrap) -> Result<RowHash> {
    crypto::keyed_hash(
        &vk.root,
        &[
            b"wrap",
            member,
            scope,
            &w.epoch.to_be_bytes(),
            &w.wrapper,
            &w.enc,
            &w.ct,
        ],
    )
}

/// The places of the small tables that differ between `old` and `new`.
pub fn small_changes(
    vk: &VaultKey,
    old: &Rows,
    new: &Rows,
) -> Result<Vec<(Place, Option<RowHash>)>> {
    let mut out = Vec::new();
    for (id, sealed) in &new.members {
        if old.members.get(id) != Some(sealed) {
            let h = crypto::keyed_hash(&vk.root, &[b"member", id, sealed])?;
            out.push((Place::Member(*id), Some(h)));
        }
    }
    for id in old.members.keys().filter(|k| !new.members.contains_key(*k)) {
        out.push((Place::Member(*id), None));
    }
    for (k, w) in &new.wraps {
        if old.wraps.get(k) != Some(w) {
            out.push((Place::Wrap(k.0, k.1.clone()), Some(wrap_hash(vk, k, w)?)));
        }
    }
    for k in old.wraps.keys().filter(|k| !new.wraps.contains_key(*k)) {
        out.push((Place::Wrap(k.0, k.1.clone()), None));
    }
    for (id, sealed) in &new.envs {
        if old.envs.get(id) != Some(sealed) {
            let h = crypto::keyed_hash(&vk.root, &[b"environment", id, sealed])?;
            out.push((Place::Env(*id), Some(h)));
        }
    }
    for id in old.envs.keys().filter(|k| !new.envs.contains_key(*k)) {
        out.push((Place::Env(*id), None));
    }
    Ok(out)
}

/// The hash of every member, wrap and environment row of `rows`, by place.
pub fn small_hashes(vk: &VaultKey, rows: &Rows) -> Result<BTreeMap<Place, RowHash>> {
    Ok(small_changes(vk, &Rows::default(), rows)?
        .into_iter()
        .filter_map(|(place, hash)| hash.map(|h| (place, h)))
        .collect())
}

/// The small tables at the head against the log: every member, wrap or environment
/// row that differs from `before` (what the replica saw, or nothing for a replay from a
/// base) is named by a commit, and every row named holds the hash its last commit
/// gave (or is gone, if deleted). The head's `small_root` alone says only that the rows
/// are the ones its writer saw: a change no commit names would escape the check of who
/// may change what.
pub fn check_small(
    vk: &VaultKey,
    places: &BTreeMap<Place, (u64, Option<RowHash>)>,
    before: &BTreeMap<Place, RowHash>,
    small: &Rows,
) -> Result<()> {
    let now = small_hashes(vk, small)?;
    let unnamed =
        || tampered("a member, key wrap or environment row that no commit names was changed");
    for (place, (_, hash)) in places {
        if matches!(place, Place::Secret(..)) {
            continue;
        }
        if now.get(place) != hash.as_ref() {
            return Err(unnamed());
        }
    }
    for place in now.keys().chain(before.keys()) {
        if now.get(place) != before.get(place) && !places.contains_key(place) {
            return Err(unnamed());
        }
    }
    Ok(())
}

/// Every live place of `rows`, its secrets as written at `version` (a base commit).
pub fn all_places(
    vk: &VaultKey,
    rows: &Rows,
    version: u64,
) -> Result<Vec<(Place, Option<RowHash>)>> {
    let mut out = small_changes(vk, &Rows::default(), rows)?;
    for (k, row) in &rows.secrets {
        out.push((
            Place::Secret(k.0, k.1),
            Some(secret_hash(vk, k, version, row)?),
        ));
    }
    Ok(out)
}

/// Opens and chains commits read from the server, ascending: each follows the one
/// before (version + 1, `prev` = hash of its record), the first follows `after` when
/// given, and the last is the head row. Every commit must be of the head's epoch.
pub fn verify_chain(
    vk: &VaultKey,
    team: &TeamId,
    after: Option<(u64, [u8; 32])>,
    records: &[Logged],
    (head_version, head): (u64, &[u8]),
) -> Result<Vec<CommitBody>> {
    let Some(last) = records.last() else {
        return Err(tampered("the head's commit is missing from the log"));
    };
    if last.record.as_slice() != head {
        return Err(tampered("the head is not the log's last commit"));
    }
    let mut out: Vec<CommitBody> = Vec::with_capacity(records.len());
    let mut prev = after;
    for Logged {
        version,
        record,
        changes,
    } in records
    {
        let body = open_commit(vk, team, record, Some(changes))?;
        if body.version != *version {
            return Err(tampered("a commit stored under another version"));
        }
        if let Some((v, hash)) = prev
            && (body.version != v + 1 || !crypto::same(&body.prev, &hash))
        {
            return Err(tampered(
                "a commit missing, replayed or out of order in the log",
            ));
        }
        if out.first().is_some_and(|f| f.epoch != body.epoch) {
            return Err(tampered("commits of two epochs in one log"));
        }
        prev = Some((body.version, head_hash(record)?));
        out.push(body);
    }
    if out.last().map(|b| b.version) != Some(head_version) {
        return Err(tampered("the head names another version"));
    }
    Ok(out)
}

/// Where each place stands after these commits: (version that last named it, hash or
/// `None` for deleted). A base commit starts again from what it lists.
pub fn replay(commits: &[CommitBody]) -> BTreeMap<Place, (u64, Option<RowHash>)> {
    let mut out = BTreeMap::new();
    for c in commits {
        if c.base {
            out.clear();
        }
        for (place, hash) in &c.changes {
            out.insert(place.clone(), (c.version, *hash));
        }
    }
    out
}

/// The refusal of a head older than the one this replica saw.
pub fn rolled_back(version: u64, seen: u64) -> VaultError {
    VaultError::team(format!(
        "the team server holds version {version} of the vault, older than version {seen} that this machine already saw: the database was restored from a backup or rolled back; refusing it"
    ))
}

/// A whole snapshot checked against its log: `commits` run from the latest base to the
/// head; every secret row is the one the log names last, none is missing or extra, the
/// small tables match the head's root, and the head never goes behind `seen`.
pub fn verify_whole(
    vk: &VaultKey,
    team: &TeamId,
    (version, head): (u64, &[u8]),
    rows: &Rows,
    records: &[Logged],
    seen: Option<(u64, [u8; 32])>,
) -> Result<Vec<CommitBody>> {
    if let Some((seen_version, _)) = seen
        && version < seen_version
    {
        return Err(rolled_back(version, seen_version));
    }
    let commits = verify_chain(vk, team, None, records, (version, head))?;
    if !commits[0].base {
        return Err(tampered("the log does not start at a base commit"));
    }
    if let Some((seen_version, seen_hash)) = seen {
        let first = &commits[0];
        let at_seen = records.iter().find(|l| l.version == seen_version);
        let follows = match at_seen {
            Some(l) => crypto::same(&head_hash(&l.record)?, &seen_hash),
            None if seen_version + 1 == first.version => crypto::same(&first.prev, &seen_hash),
            // Seen before the latest base (another epoch): only the version is checked.
            None => true,
        };
        if !follows {
            return Err(tampered(
                "the log does not follow the head this machine saw",
            ));
        }
    }
    let places = replay(&commits);
    let mut live = 0usize;
    for (place, (v, hash)) in &places {
        let Place::Secret(env, id) = place else {
            continue;
        };
        let Some(hash) = hash else { continue };
        live += 1;
        let key = (*env, *id);
        let row = rows
            .secrets
            .get(&key)
            .ok_or_else(|| tampered("a secret row was dropped"))?;
        let row_version = rows.versions.get(&key).copied().unwrap_or(0);
        if row_version != *v || !crypto::same(&secret_hash(vk, &key, *v, row)?, hash) {
            return Err(tampered("a secret row was changed, moved or replayed"));
        }
    }
    if live != rows.secrets.len() {
        return Err(tampered("a secret row the log does not name"));
    }
    check_small(vk, &places, &BTreeMap::new(), rows)?;
    check_head(
        vk,
        commits.last().ok_or_else(|| tampered("an empty log"))?,
        rows,
        live as u64,
    )?;
    Ok(commits)
}

/// The head commit against the small tables read whole and the number of secret rows.
pub fn check_head(
    vk: &VaultKey,
    head: &CommitBody,
    small: &Rows,
    secrets: u64,
) -> Result<CommitBody> {
    if !crypto::same(&small.small_root(&vk.root)?, &head.small_root) {
        return Err(tampered(
            "a member, key wrap or environment row was added, removed, changed or moved",
        ));
    }
    if head.secrets != secrets {
        return Err(tampered("a secret row was added or dropped"));
    }
    Ok(head.clone())
}

/// The secret rows a delta must find, checked against what the server returned: every
/// row written since `seen` is the one the log names last, none is missing, and no
/// place the log deleted is still there. Returns the places changed, by env.
pub fn check_delta_rows(
    vk: &VaultKey,
    places: &BTreeMap<Place, (u64, Option<RowHash>)>,
    since: &BTreeMap<(EnvId, SecretId), (u64, SealedSecret)>,
    deleted_still_there: usize,
) -> Result<()> {
    let mut named = 0usize;
    for (place, (v, hash)) in places {
        let (Place::Secret(env, id), Some(hash)) = (place, hash) else {
            continue;
        };
        named += 1;
        let key = (*env, *id);
        let (row_version, row) = since
            .get(&key)
            .ok_or_else(|| tampered("a secret row the log names was dropped or rolled back"))?;
        if row_version != v || !crypto::same(&secret_hash(vk, &key, *v, row)?, hash) {
            return Err(tampered("a secret row was changed, moved or replayed"));
        }
    }
    if named != since.len() {
        return Err(tampered("a secret row the log does not name"));
    }
    if deleted_still_there > 0 {
        return Err(tampered("a deleted secret row came back"));
    }
    Ok(())
}
