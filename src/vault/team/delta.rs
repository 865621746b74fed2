//! Delta sync: what changed on the server since the version this replica saw, fetched
//! and verified against the commit log (`log`), and applied to the local replica one
//! secret at a time (the environment's integrity tree updated for the touched leaves
//! only). Also the whole-state check of a snapshot, for either server format, and the
//! migration of a format-1 server (no log) to the log, in the writer's transaction.

use std::collections::{BTreeMap, BTreeSet};

use postgres::GenericClient;

use super::keys::{EnvId, SecretId, TeamId, VaultKey};
use super::log::{self, CommitBody, Place, RowHash};
use super::records::{Head, Rows, SealedSecret, head_hash};
use super::server::{self, Snapshot};
use super::sidecar::Sidecar;
use super::signing::{self, Seen};
use super::{Held, claimed_epoch, open_env, open_secret, tampered, verify};
use crate::vault::error::{Result, VaultError};
use crate::vault::records::SecretMeta;
use crate::vault::storage::Table;
use crate::vault::{Vault, integrity};

/// The verified changes from the replica's version to the head.
pub(super) struct Delta {
    pub version: u64,
    pub head: Vec<u8>,
    /// Each place the commits named, with the version that last named it.
    pub places: BTreeMap<Place, (u64, Option<RowHash>)>,
    /// The secret rows written since, as the server returned (and `places` vouched).
    pub since: BTreeMap<(EnvId, SecretId), (u64, SealedSecret)>,
    /// The members, wraps and environments at the head.
    pub small: Rows,
}

impl Delta {
    /// This delta followed by `later`, fetched from this one's head on: one delta from
    /// this one's start to `later`'s head (what a later commit rewrote or deleted is
    /// taken from it).
    pub fn then(mut self, later: Delta) -> Delta {
        for (place, (version, hash)) in later.places {
            if let (Place::Secret(env, id), None) = (&place, hash) {
                self.since.remove(&(*env, *id));
            }
            self.places.insert(place, (version, hash));
        }
        self.since.extend(later.since);
        Delta {
            version: later.version,
            head: later.head,
            places: self.places,
            since: self.since,
            small: later.small,
        }
    }
}

/// What the server holds beside this replica.
pub(super) enum Found {
    /// The head this replica saw; the small tables and count checked against it.
    Same {
        small: Rows,
    },
    Delta(Delta),
    /// A base commit (migration, rekey) or a format-1 head: only a whole read will do.
    Whole,
    /// A newer epoch: this member must fetch its new keys.
    Rekeyed,
}

/// Reads and verifies what came after this replica's version, inside the caller's
/// transaction (repeatable read for a reader, the head row locked for a writer), given
/// the head row read in it.
pub(super) fn fetch(
    client: &mut impl GenericClient,
    sc: &Sidecar,
    vk: &VaultKey,
    (version, head): (u64, Vec<u8>),
    known: Option<&Rows>,
) -> Result<Found> {
    let team = &sc.team;
    if version < sc.seen_version {
        return Err(log::rolled_back(version, sc.seen_version));
    }
    if claimed_epoch(&head) > Some(sc.epoch) {
        return Ok(Found::Rekeyed);
    }
    if log::claimed(&head).is_none() {
        return Ok(Found::Whole);
    }
    if version == sc.seen_version {
        if head_hash(&head)? != sc.seen_hash {
            return Err(tampered("the same version with another content"));
        }
        let body = log::open_commit(vk, team, &head, None)?;
        let small = server::small_rows(client, team, signing::is_signed(&head))?;
        let count = server::secret_count(client, team)?;
        log::check_head(vk, &body, &small, count)?;
        // The signatures of this very record were checked when the replica first
        // applied it; the small tables they cover are checked against it just above.
        return Ok(Found::Same { small });
    }
    let records = server::commits_from(client, team, sc.seen_version + 1)?;
    let commits = log::verify_chain(
        vk,
        team,
        Some((sc.seen_version, sc.seen_hash)),
        &records,
        (version, &head),
    )?;
    if commits.iter().any(|c| c.base) {
        return Ok(Found::Whole);
    }
    let places = log::replay(&commits);
    let since = server::secrets_since(client, team, sc.seen_version)?;
    let deleted: Vec<(EnvId, SecretId)> = places
        .iter()
        .filter_map(|(p, (_, h))| match (p, h) {
            (Place::Secret(e, s), None) => Some((*e, *s)),
            _ => None,
        })
        .collect();
    let present = server::count_present(client, team, &deleted)?;
    log::check_delta_rows(vk, &places, &since, present)?;
    // The verifying keys when any commit of the stretch is signed (the head may not be).
    let signed = records.iter().any(|l| signing::is_signed(&l.record));
    let small = match known {
        // The rows verified at `sc`'s head, when no commit since changed one and every
        // writer's verifying key is among them: not read again (the head's root is
        // checked against them below all the same).
        Some(rows)
            if !places.keys().any(|p| !matches!(p, Place::Secret(..)))
                && (!signed
                    || commits
                        .iter()
                        .all(|c| rows.signing_keys.contains_key(&c.writer))) =>
        {
            rows.clone()
        }
        _ => server::small_rows(client, team, signed)?,
    };
    // Each member, wrap and environment row that changed must be named by a commit, so
    // that the signatures and scopes checked next are those of the real changes. A
    // replica that does not know the rows it saw reads the whole state instead.
    let Some((_, before)) = sc.small_seen.as_ref().filter(|(e, _)| *e == sc.epoch) else {
        return Ok(Found::Whole);
    };
    log::check_small(vk, &places, before, &small)?;
    let envs = before
        .keys()
        .filter_map(|p| match p {
            Place::Env(e) => Some(*e),
            _ => None,
        })
        .collect();
    signing::check_commits(vk, team, (&records, &commits), &small, envs, sc.signed_seen)?;
    let count = server::secret_count(client, team)?;
    let last = commits.last().ok_or_else(|| tampered("an empty log"))?;
    log::check_head(vk, last, &small, count)?;
    // The member list's seal is no older than the last commit that changed members or
    // wraps: an older list with its older seal put back is refused.
    let mut seen = Seen::of(sc);
    seen.members_version = places
        .iter()
        .filter(|(p, _)| matches!(p, Place::Member(_) | Place::Wrap(..)))
        .map(|(_, (v, _))| *v)
        .fold(seen.members_version, u64::max);
    signing::check_head(vk, team, &head, &small, &seen)?;
    Ok(Found::Delta(Delta {
        version,
        head,
        places,
        since,
        small,
    }))
}

/// The members, wraps and environments at the server's head, verified: from a delta
/// or the head this replica saw when it can (no secret row read), from a whole read
/// otherwise (a format-1 head, a base commit since).
pub(super) fn verified_small(
    client: &mut postgres::Client,
    sc: &Sidecar,
    vk: &VaultKey,
) -> Result<Rows> {
    let gone = || VaultError::team("the team vault is no longer on the server");
    {
        let mut tx = server::snapshot_tx(client)?;
        let (version, head) = server::head(&mut tx, &sc.team)?.ok_or_else(gone)?;
        match fetch(&mut tx, sc, vk, (version, head), None)? {
            Found::Same { small } => return Ok(small),
            Found::Delta(d) => return Ok(d.small),
            Found::Rekeyed => return Err(super::rekeyed()),
            Found::Whole => {}
        }
    }
    let snap = server::load_snapshot(client, &sc.team)?.ok_or_else(gone)?;
    if claimed_epoch(&snap.head) > Some(sc.epoch) {
        return Err(super::rekeyed());
    }
    let seen = Some((sc.seen_version, sc.seen_hash));
    whole(vk, &sc.team, &snap, seen, &Seen::of(sc))?;
    Ok(snap.rows)
}

/// A whole snapshot verified: against its log (format 2), or against the head's state
/// root (format 1, before the first write of this build migrated it), and the head's
/// signatures. Returns the head's epoch.
pub(super) fn whole(
    vk: &VaultKey,
    team: &TeamId,
    snap: &Snapshot,
    seen: Option<(u64, [u8; 32])>,
    signed: &Seen,
) -> Result<u64> {
    let (epoch, signed) = if log::claimed(&snap.head).is_some() {
        let bodies = log::verify_whole(
            vk,
            team,
            (snap.version, &snap.head),
            &snap.rows,
            &snap.commits,
            seen,
        )?;
        // The commits this replica has not seen (all of them, joining): who wrote each,
        // signed by whom, within what.
        let after = seen.map_or(0, |(v, _)| v);
        let from = bodies
            .iter()
            .position(|b| b.version > after)
            .unwrap_or(bodies.len());
        // Joining (nothing seen): the stretch starts at the base, and may start unsigned.
        signing::check_commits(
            vk,
            team,
            (&snap.commits[from..], &bodies[from..]),
            &snap.rows,
            signing::envs_in(&log::replay(&bodies[..from])),
            seen.is_some() && signed.signed,
        )?;
        // As for a delta: the member list's seal is no older than the last commit that
        // changed members or wraps.
        let members_version = log::replay(&bodies)
            .iter()
            .filter(|(p, _)| matches!(p, Place::Member(_) | Place::Wrap(..)))
            .map(|(_, (v, _))| *v)
            .fold(signed.members_version, u64::max);
        let signed = Seen {
            members_version,
            ..signed.clone()
        };
        (bodies.last().map_or(0, |b| b.epoch), signed)
    } else {
        let Head::V1 { epoch, .. } = verify(vk, team, snap.version, &snap.head, &snap.rows, seen)?;
        (epoch, signed.clone())
    };
    signing::check_head(vk, team, &snap.head, &snap.rows, &signed)?;
    Ok(epoch)
}

/// Moves a format-1 team vault to the commit log, in the writer's transaction with its
/// head row locked: the old head and every row verified the old way, the log's tables
/// added, every secret row stamped with the migration's version, and a base commit
/// naming every row. Returns the new head (version, record).
pub(super) fn migrate(
    tx: &mut impl GenericClient,
    sc: &Sidecar,
    held: &Held,
    (version, head): (u64, &[u8]),
) -> Result<(u64, Vec<u8>)> {
    let team = &sc.team;
    let (_, _, rows) = server::load(tx, team, false)?
        .ok_or_else(|| VaultError::team("the team vault is no longer on the server"))?;
    let Head::V1 { epoch, .. } = verify(
        &held.vk,
        team,
        version,
        head,
        &rows,
        Some((sc.seen_version, sc.seen_hash)),
    )?;
    server::migrate_schema(tx)?;
    let next = version + 1;
    server::stamp_versions(tx, team, next)?;
    let body = CommitBody::base(
        &held.vk,
        (*team, epoch, next),
        head_hash(head)?,
        sc.member,
        &rows,
    )?;
    let (record, changes) = log::seal_commit(&held.vk, &body)?;
    let mut small = rows.small();
    let record = signing::sign(&held.vk, sc, record, &body, &small, Some(head))?;
    signing::check_own(tx, &held.vk, sc, (&record, &body), &mut small)?;
    server::insert_commit(tx, team, next, true, (&record, &changes))?;
    server::set_head(tx, team, version, &record)?;
    Ok((next, record))
}

impl Vault {
    /// Applies a verified delta to the replica: per secret, puts and deletes in the
    /// environments this member holds a key for, in one local transaction. `false`: the
    /// delta changed environments or this member's keys, for a whole sync to follow.
    pub(super) fn apply_delta(&self, sc: &Sidecar, held: &Held, delta: &Delta) -> Result<bool> {
        let mut by_env: BTreeMap<EnvId, (Vec<SecretId>, BTreeSet<SecretId>)> = BTreeMap::new();
        for place in delta.places.keys() {
            match place {
                Place::Secret(env, id) => {
                    let entry = by_env.entry(*env).or_default();
                    if delta.since.contains_key(&(*env, *id)) {
                        entry.0.push(*id);
                    } else {
                        entry.1.insert(*id);
                    }
                }
                Place::Env(_) => return Ok(false),
                Place::Wrap(m, _) if *m == sc.member => return Ok(false),
                Place::Member(_) | Place::Wrap(..) => {}
            }
        }
        let mut plan = Vec::new();
        for (env_id, (puts, deletes)) in by_env {
            let Some(ek) = held.envs.get(&env_id) else {
                continue;
            };
            let sealed = delta
                .small
                .envs
                .get(&env_id)
                .ok_or_else(|| tampered("a secret of an environment that is not there"))?;
            let (project, env, _, _) =
                open_env(&held.vk, &sc.team, sc.epoch, &env_id, sealed)?.into_parts();
            let mut secrets = Vec::new();
            for id in &puts {
                let (_, row) = &delta.since[&(env_id, *id)];
                secrets.push(open_secret(ek, &sc.team, sc.epoch, &env_id, id, row)?);
            }
            // A deleted row names no key: find it among the replica's keys of this env.
            let mut gone = Vec::new();
            if !deletes.is_empty() {
                let records = match self.env_records(&project, &env) {
                    Ok(r) => r,
                    Err(VaultError::EnvNotFound { .. } | VaultError::ProjectNotFound { .. }) => {
                        Vec::new()
                    }
                    Err(e) => return Err(e),
                };
                for (lid, record) in records {
                    let meta = self.open_meta(&lid, &record, (&project, &env))?;
                    let SecretMeta::V1 { key, .. } = meta;
                    if deletes.contains(&ek.secret_id(&key)?) {
                        gone.push(key);
                    }
                }
            }
            plan.push((project, env, secrets, gone));
        }
        self.write(|txn, catalog| {
            for (project, env, secrets, gone) in &plan {
                let entry = match self.find_env(catalog, project, env) {
                    Ok(entry) => entry,
                    Err(VaultError::EnvNotFound { .. } | VaultError::ProjectNotFound { .. }) => {
                        return Err(VaultError::team(format!(
                            "{project}/{env} is not in this replica: run `tresor remote sync`"
                        )));
                    }
                    Err(e) => return Err(e),
                };
                // Every touched leaf's path is verified before anything changes (two
                // secrets can share a leaf: a put would fail the other's check).
                let mut puts = Vec::with_capacity(secrets.len());
                for (meta, value) in secrets {
                    let SecretMeta::V1 { key, .. } = meta;
                    puts.push((
                        self.find_record(&*txn, entry, project, env, key)?.0,
                        meta,
                        value,
                    ));
                }
                let mut deletes = Vec::with_capacity(gone.len());
                for key in gone {
                    deletes.push(self.find_record(&*txn, entry, project, env, key)?.0);
                }
                let mut leaves = Vec::with_capacity(puts.len() + deletes.len());
                for (sid, meta, value) in puts {
                    self.put_record(txn, &sid, meta, Some(value), None)?;
                    leaves.push(integrity::leaf_of(&sid));
                }
                for sid in deletes {
                    txn.delete(Table::Secrets, &sid)?;
                    txn.delete_prefix(Table::History, &sid)?;
                    leaves.push(integrity::leaf_of(&sid));
                }
                integrity::rehash(&self.keys, txn, &entry.id, leaves)?;
            }
            Ok(())
        })?;
        Ok(true)
    }
}
