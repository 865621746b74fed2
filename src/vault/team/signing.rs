//! Member signatures: every head is signed by the member who wrote it, with an ML-DSA-65
//! key (orion `signer`) derived from that member's identity seed. The vault key only
//! MACs the head, and every member holds it; a signature is what tells a writer's change
//! from a reader's, or from a removed member's.
//!
//! A member record holds the hash of the member's verifying key (the key itself is
//! ~1.9 KB, too long to paste): the member uploads the key at `remote init`/`remote join`
//! (`tresor_signing_keys`), and a client trusts it only if it hashes to what the admin
//! sealed. The member list and key wraps carry a second signature, an admin's
//! ([`MembersSeal`]), which writes that do not change them carry forward: a writer can
//! change secrets, only an admin can change who holds which key. Which admins count is
//! traced from the ones this replica already knew, through appointments an admin signed
//! (anyone holding the vault key can seal a record that says "admin").
//!
//! Heads of team vaults made before signatures (`HeadRecord::V1`) are accepted until
//! this replica has seen a signed one; after that an unsigned head is tampering.

use super::server::Column;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use orion::KP;
use orion::signer::{Seed, Signature, SigningKeyPair, VerifyingKey};
use postgres::GenericClient;
use zeroize::Zeroizing;

use super::keys::EnvId;
use super::keys::{MemberId, PublicKeyBytes, TeamId, VaultKey};
use super::log::{self, CommitBody, Logged, Place, RowHash};
use super::records::{HeadRecord, MemberRecord, MembersSeal, Role, Rows};
use super::server::db_error;
use super::sidecar::Sidecar;
use super::{open_member, tampered};
use crate::vault::crypto::{self, KEY_LEN, Key32};
use crate::vault::error::{Result, VaultError};
use crate::vault::records::{decode, encode};

/// BLAKE2b-256 of a verifying key: what a member record and the public text carry.
pub type KeyHash = [u8; 32];

const SEED_LABEL: &[u8] = b"tresor/identity/v1/ml-dsa-65";
const KEY_HASH_LABEL: &[u8] = b"tresor/team/v1/verifying-key\0";
pub(super) const HEAD_CONTEXT: &[u8] = b"tresor/team/v1/head";
pub(super) const MEMBERS_CONTEXT: &[u8] = b"tresor/team/v1/members";
const GRANT_CONTEXT: &[u8] = b"tresor/team/v1/admin-grant";

/// The signing seed of an identity: its own KDF label, so the identity file is unchanged.
pub fn seed_of(identity_seed: &[u8; KEY_LEN]) -> Result<Key32> {
    crypto::hkdf(&identity_seed[..], b"", SEED_LABEL)
}

/// A signing seed and its expanded key pair.
type Signer = (Zeroizing<[u8; KEY_LEN]>, Rc<SigningKeyPair>);

thread_local! {
    /// The last signing key pair expanded on this thread, by its seed: expanding one
    /// (ML-DSA key generation) costs about as much as a signature check, and a writer
    /// signs with the same key commit after commit. Per thread, like a replica handle.
    static SIGNER: RefCell<Option<Signer>> = const { RefCell::new(None) };
    /// Digests of (key, context, message, signature) checked valid on this thread: a
    /// replica meets the same signatures again (a commit in a delta, then as the head; an
    /// admin's member-list seal that every later head carries). Per thread, so each
    /// replica in one process (the writers' bench) checks what it meets itself.
    static VERIFIED: RefCell<Vec<[u8; 32]>> = const { RefCell::new(Vec::new()) };
}

/// How many checked signatures are remembered (the oldest goes first).
const VERIFIED_MAX: usize = 256;

/// Drops the key pair kept on this thread (`SIGNER`).
fn forget_signer() {
    SIGNER.set(None);
}

/// Held by a vault handle: when it goes (the TUI locking), so does the signing key
/// kept on its thread.
#[derive(Default)]
pub struct ForgetSigner;

impl Drop for ForgetSigner {
    fn drop(&mut self) {
        forget_signer();
    }
}

pub(super) fn pair(seed: &[u8; KEY_LEN]) -> Result<Rc<SigningKeyPair>> {
    let known = SIGNER.with_borrow(|s| {
        s.as_ref()
            .filter(|(known, _)| crypto::same(&known[..], &seed[..]))
            .map(|(_, kp)| kp.clone())
    });
    if let Some(kp) = known {
        return Ok(kp);
    }
    let kp = Rc::new(SigningKeyPair::try_from(&Seed::from(*seed))?);
    SIGNER.set(Some((Zeroizing::new(*seed), kp.clone())));
    Ok(kp)
}

/// The verifying key of a signing seed, as uploaded to the server.
pub fn verifying_key(seed: &[u8; KEY_LEN]) -> Result<Vec<u8>> {
    Ok(pair(seed)?.public().as_ref().to_vec())
}

pub fn key_hash(verifying_key: &[u8]) -> Result<KeyHash> {
    let mut input = KEY_HASH_LABEL.to_vec();
    input.extend_from_slice(verifying_key);
    let digest = orion::hash::digest(&input).map_err(|_| VaultError::Crypto)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    Ok(out)
}

/// What this replica has seen of signatures (kept in its sidecar).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// A signed head was applied: unsigned ones are refused from now on.
    pub signed: bool,
    /// The newest member-list seal applied: an older one is a replay.
    pub members_version: u64,
    /// The admins of the last signed member list applied (empty: trust the admins of
    /// the first signed list seen, as the unsigned era trusted every member).
    pub admins: Vec<(MemberId, KeyHash)>,
}

impl Seen {
    pub fn of(sc: &Sidecar) -> Seen {
        Seen {
            signed: sc.signed_seen,
            members_version: sc.members_seen,
            admins: sc.admins.clone(),
        }
    }
}

/// After a verified head and its rows were applied: remember its small tables' rows
/// (see `Sidecar::small_seen`) and that it was signed, its member list's seal and its
/// admins.
pub fn observe(sc: &mut Sidecar, vk: &VaultKey, head_record: &[u8], rows: &Rows) -> Result<()> {
    let now = log::small_hashes(vk, rows)?;
    follow_wraps(sc, &now);
    sc.small_seen = log::claimed(head_record).map(|(epoch, _)| (epoch, now));
    let Ok(HeadRecord::V3 { members, .. }) = decode::<HeadRecord>(head_record, "team head") else {
        return Ok(());
    };
    let body = log::open_commit(vk, &sc.team, head_record, None)?;
    sc.signed_seen = true;
    sc.members_seen = sc.members_seen.max(members.version);
    sc.admins = open_all(vk, &sc.team, body.epoch, rows)?
        .iter()
        .filter(|(_, r)| r.role() == Role::Admin)
        .filter_map(|(id, r)| r.signing().map(|h| (*id, *h)))
        .collect();
    Ok(())
}

/// Drops each environment key whose wrap for this member is no longer the one it was
/// taken from (the environment removed and made again, under a new key), so the
/// member is told a key waits (`r`, `remote sync`) instead of failing on rows sealed
/// under the new key or writing under the old one; records the wrap of the others.
/// `now`: the small tables' row hashes (`log::small_hashes`).
pub fn follow_wraps(sc: &mut Sidecar, now: &BTreeMap<Place, RowHash>) {
    let member = sc.member;
    let wrap_now = |env: &EnvId| now.get(&Place::Wrap(member, env.to_vec())).copied();
    let taken = std::mem::take(&mut sc.key_wraps);
    sc.env_keys.retain(|(env, _)| {
        taken
            .iter()
            .find(|(e, _)| e == env)
            .is_none_or(|(_, h)| wrap_now(env) == Some(*h))
    });
    sc.key_wraps = sc
        .env_keys
        .iter()
        .filter_map(|(env, _)| wrap_now(env).map(|h| (*env, h)))
        .collect();
}

/// Keeps the keys this member just made (`env add`) with the wrap of each from the
/// head it wrote (`observe` ran before they were kept): without that record the next
/// sync would trust whatever wrap is there then, and keep the old key of an environment
/// another admin made again meanwhile. A key wrapped to others only (an admin limited
/// with `--only-env` makes an environment; its key goes to the members who read every
/// environment) is not kept: this member is not granted it.
pub fn keep_made_keys(sc: &mut Sidecar, made: Vec<(EnvId, [u8; KEY_LEN])>) {
    let Some((_, seen)) = &sc.small_seen else {
        // A head of before the commit log (not one this build writes): kept unrecorded.
        sc.env_keys.extend(made);
        return;
    };
    let mut kept = Vec::new();
    let mut wraps = Vec::new();
    for (env, key) in made {
        if let Some(wrap) = seen.get(&Place::Wrap(sc.member, env.to_vec())) {
            wraps.push((env, *wrap));
            kept.push((env, key));
        }
    }
    sc.key_wraps.extend(wraps);
    sc.env_keys.extend(kept);
}

/// The admin a join token names: their X25519 key, and (tokens of this build) the hash
/// of the signing key their record named when they issued it.
#[derive(Debug, Clone)]
pub struct Inviter {
    pub public: PublicKeyBytes,
    pub signing: Option<KeyHash>,
}

/// The admins a joining replica trusts first: the admin whose X25519 key (and signing
/// key, when the token names it: a record of theirs sealed again by someone holding the
/// vault key with another signing key is refused) the token pins, and the admins who
/// appointed them, up to the first (each appointment checked against the appointer's
/// key). Admins they appointed are then trusted as usual.
pub fn join_anchors(
    vk: &VaultKey,
    team: &TeamId,
    epoch: u64,
    rows: &Rows,
    inviter: &Inviter,
) -> Result<Vec<(MemberId, KeyHash)>> {
    let records = open_all(vk, team, epoch, rows)?;
    let admin = |id: &MemberId| {
        records
            .get(id)
            .filter(|r| r.role() == Role::Admin)
            .and_then(|r| r.signing().map(|h| (*id, *h, r)))
    };
    let named = |r: &MemberRecord| {
        r.public() == &inviter.public
            && inviter
                .signing
                .as_ref()
                .is_none_or(|pinned| r.signing() == Some(pinned))
    };
    let mut next = records
        .iter()
        .find(|(_, r)| named(r))
        .and_then(|(id, _)| admin(id));
    if next.is_none() && inviter.signing.is_some() {
        return Err(tampered(
            "the admin who issued the token is not in the member list with the signing key the token names",
        ));
    }
    let mut out: Vec<(MemberId, KeyHash)> = Vec::new();
    while let Some((id, hash, record)) = next.take() {
        if out.iter().any(|(known, _)| *known == id) {
            break;
        }
        out.push((id, hash));
        let Some((by, grant)) = record.grant() else {
            break;
        };
        let Some((by_id, by_hash, by_record)) = admin(by) else {
            break;
        };
        if verify(
            &*key_of(&by_id, by_record, rows)?,
            &grant_message(team, &id, record)?,
            GRANT_CONTEXT,
            grant,
        )
        .is_ok()
        {
            next = Some((by_id, by_hash, by_record));
        }
    }
    Ok(out)
}

fn open_all(
    vk: &VaultKey,
    team: &TeamId,
    epoch: u64,
    rows: &Rows,
) -> Result<BTreeMap<MemberId, MemberRecord>> {
    rows.members
        .iter()
        .map(|(id, sealed)| Ok((*id, open_member(vk, team, epoch, id, sealed)?)))
        .collect()
}

/// Whether a head record claims to be signed (then the verifying keys are fetched).
pub fn is_signed(head_record: &[u8]) -> bool {
    matches!(
        decode::<HeadRecord>(head_record, "team head"),
        Ok(HeadRecord::V3 { .. })
    )
}

pub(super) fn head_message(commit: &[u8], members: &MembersSeal) -> Result<Vec<u8>> {
    encode(&(commit, members))
}

pub(super) fn members_message(
    vk: &VaultKey,
    team: &TeamId,
    epoch: u64,
    version: u64,
    rows: &Rows,
) -> Result<Vec<u8>> {
    let only = Rows {
        members: rows.members.clone(),
        wraps: rows.wraps.clone(),
        ..Rows::default()
    };
    encode(&(team, epoch, version, only.state_root(&vk.root)?))
}

/// The one call that checks a head's signatures (after its MAC and the rows were
/// checked against it): the writer is a member who may write and signed it; the member
/// list and wraps are as an admin signed them, no older than the ones this replica saw.
/// An unsigned head (a vault, or a head, from before signatures) passes until this
/// replica has seen a signed one.
pub fn check_head(
    vk: &VaultKey,
    team: &TeamId,
    head_record: &[u8],
    rows: &Rows,
    seen: &Seen,
) -> Result<()> {
    let Ok(HeadRecord::V3 {
        commit,
        members,
        signature,
        ..
    }) = decode::<HeadRecord>(head_record, "team head")
    else {
        if seen.signed {
            return Err(tampered(
                "an unsigned change to a vault whose changes are signed",
            ));
        }
        return Ok(());
    };
    let CommitBody {
        epoch,
        version,
        writer,
        ..
    } = log::open_commit(vk, team, head_record, None)?;
    let records = open_all(vk, team, epoch, rows)?;
    let record_of = |id: &MemberId| {
        records
            .get(id)
            .ok_or_else(|| tampered("a change signed by someone who is not a member"))
    };
    let writer_record = record_of(&writer)?;
    if !writer_record.role().can_write() {
        return Err(tampered("a change signed by a reader"));
    }
    verify(
        &*key_of(&writer, writer_record, rows)?,
        &head_message(&commit, &members)?,
        HEAD_CONTEXT,
        &signature,
    )
    .map_err(|_| tampered("the writer's signature"))?;
    if members.version > version || members.version < seen.members_version {
        return Err(tampered(
            "the member list is older than the one this machine saw",
        ));
    }
    let admins = valid_admins(team, &records, rows, &seen.admins)?;
    if !admins.contains(&members.by) {
        return Err(tampered("a member list not signed by an admin"));
    }
    verify(
        &*key_of(&members.by, record_of(&members.by)?, rows)?,
        &members_message(vk, team, epoch, members.version, rows)?,
        MEMBERS_CONTEXT,
        &members.signature,
    )
    .map_err(|_| tampered("a member list or key wrap not signed by an admin"))
}

/// The admins of a member list whose authority this replica can trace: those it knew
/// (`known`, or all of them the first time), and those appointed by one of those with a
/// valid grant, and so on. Any other admin with a signing key is tampering: anyone
/// holding the vault key can seal a record that says "admin".
fn valid_admins(
    team: &TeamId,
    records: &BTreeMap<MemberId, MemberRecord>,
    rows: &Rows,
    known: &[(MemberId, KeyHash)],
) -> Result<BTreeSet<MemberId>> {
    let admins: Vec<(&MemberId, &MemberRecord)> = records
        .iter()
        .filter(|(_, r)| r.role() == Role::Admin && r.signing().is_some())
        .collect();
    let mut valid: BTreeSet<MemberId> = admins
        .iter()
        .filter(|(id, r)| {
            known.is_empty() || r.signing().is_some_and(|h| known.contains(&(**id, *h)))
        })
        .map(|(id, _)| **id)
        .collect();
    loop {
        let before = valid.len();
        for (id, record) in &admins {
            let Some((by, grant)) = record.grant() else {
                continue;
            };
            if valid.contains(*id) || !valid.contains(by) {
                continue;
            }
            let Some(appointer) = records.get(by) else {
                continue;
            };
            if verify(
                &*key_of(by, appointer, rows)?,
                &grant_message(team, id, record)?,
                GRANT_CONTEXT,
                grant,
            )
            .is_ok()
            {
                valid.insert(**id);
            }
        }
        if valid.len() == before {
            break;
        }
    }
    if valid.len() != admins.len() {
        return Err(tampered("an admin not appointed by an admin"));
    }
    Ok(valid)
}

fn grant_message(team: &TeamId, id: &MemberId, record: &MemberRecord) -> Result<Vec<u8>> {
    encode(&(
        team,
        id,
        record.public(),
        record.signing(),
        record.role().label(),
    ))
}

/// Signs the appointment of an admin into their record (no-op for other roles).
pub fn appoint(sc: &Sidecar, id: &MemberId, record: &mut MemberRecord) -> Result<()> {
    if record.role() != Role::Admin {
        return Ok(());
    }
    let signed = grant(sc, id, record)?;
    if let MemberRecord::V2 { grant, .. } = record {
        *grant = signed;
    }
    Ok(())
}

/// An admin's appointment of a new admin (`MemberRecord::V2::grant`), signed with this
/// replica's key; `None` if it has none.
pub fn grant(
    sc: &Sidecar,
    id: &MemberId,
    record: &MemberRecord,
) -> Result<Option<(MemberId, Vec<u8>)>> {
    let Some(seed) = &sc.signing_seed else {
        return Ok(None);
    };
    let message = grant_message(&sc.team, id, record)?;
    let signature = pair(seed)?.sign(&message, GRANT_CONTEXT)?;
    Ok(Some((sc.member, signature.as_ref().to_vec())))
}

fn verify(key: &VerifyingKey, message: &[u8], context: &[u8], signature: &[u8]) -> Result<()> {
    let digest = checked_digest(key.as_ref(), message, context, signature)?;
    if VERIFIED.with_borrow(|v| v.contains(&digest)) {
        return Ok(());
    }
    let parsed = Signature::try_from(signature).map_err(|_| VaultError::Crypto)?;
    key.verify(message, context, &parsed)
        .map_err(|_| VaultError::Crypto)?;
    remember_checked(digest);
    Ok(())
}

/// What `VERIFIED` remembers of a valid signature: length-prefixed parts under a fixed
/// key, a plain hash of all four.
fn checked_digest(
    key: &[u8],
    message: &[u8],
    context: &[u8],
    signature: &[u8],
) -> Result<[u8; 32]> {
    crypto::keyed_hash(
        b"tresor/team/v1/checked-signature",
        &[key, context, message, signature],
    )
}

fn remember_checked(digest: [u8; 32]) {
    VERIFIED.with_borrow_mut(|v| {
        if v.len() >= VERIFIED_MAX {
            v.remove(0);
        }
        v.push(digest);
    });
}

/// A signature made here: valid by construction, so this replica's own check of the
/// head it writes (`check_own`) need not redo the arithmetic.
fn signed_here(kp: &SigningKeyPair, message: &[u8], context: &[u8]) -> Result<Vec<u8>> {
    let signature = kp.sign(message, context)?.as_ref().to_vec();
    remember_checked(checked_digest(
        kp.public().as_ref(),
        message,
        context,
        &signature,
    )?);
    Ok(signature)
}

/// A member's uploaded verifying key, if it is the one their record names.
fn key_of(id: &MemberId, record: &MemberRecord, rows: &Rows) -> Result<Arc<VerifyingKey>> {
    let hash = record
        .signing()
        .ok_or_else(|| tampered("a signature by a member who has no signing key"))?;
    let bytes = rows
        .signing_keys
        .get(id)
        .ok_or_else(|| tampered("a signer's verifying key is missing"))?;
    if !crypto::same(&key_hash(bytes)?, hash) {
        return Err(tampered(
            "a signer's verifying key is not the one an admin added",
        ));
    }
    parsed(hash, bytes)
}

/// Verifying keys parsed in this process, by the hash of their bytes: parsing one
/// expands its matrix (about as long as a check), and a replica checks the same few
/// members' signatures again and again (a sync's commits, the check before a write,
/// its own head). A parsed key is a function of its bytes alone.
static PARSED: Mutex<Vec<(KeyHash, Arc<VerifyingKey>)>> = Mutex::new(Vec::new());

/// How many parsed keys are kept (the oldest goes first).
const PARSED_MAX: usize = 64;

/// `bytes` parsed, or the key parsed before from bytes of this hash (`key_hash(bytes)`,
/// checked by the caller).
fn parsed(hash: &KeyHash, bytes: &[u8]) -> Result<Arc<VerifyingKey>> {
    let known = PARSED
        .lock()
        .ok()
        .and_then(|keys| keys.iter().find(|(h, _)| h == hash).map(|(_, k)| k.clone()));
    if let Some(key) = known {
        return Ok(key);
    }
    let key =
        Arc::new(VerifyingKey::try_from(bytes).map_err(|_| tampered("a signer's verifying key"))?);
    if let Ok(mut keys) = PARSED.lock() {
        if keys.len() >= PARSED_MAX {
            keys.remove(0);
        }
        keys.push((*hash, key.clone()));
    }
    Ok(key)
}

/// The one call that signs a sealed commit (`log::seal_commit`'s record), when this
/// replica can sign (it holds a signing seed and its member record in `rows` names that
/// key). An admin signs the member list afresh; a writer carries forward the seal of
/// `prev`, the head it follows. Refuses to write unsigned where this replica saw signed
/// heads; otherwise an unsigned commit is returned as it came.
pub fn sign(
    vk: &VaultKey,
    sc: &Sidecar,
    record: Vec<u8>,
    body: &CommitBody,
    rows: &Rows,
    prev: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let Ok(HeadRecord::V2 { commit, mac }) = decode::<HeadRecord>(&record, "team commit") else {
        return Err(VaultError::team("only an unsigned commit can be signed"));
    };
    let (team, epoch, version) = (&body.team, body.epoch, body.version);
    let signer = match (&sc.signing_seed, rows.members.get(&sc.member)) {
        (Some(seed), Some(sealed)) => {
            let kp = pair(seed)?;
            let mine = open_member(vk, team, epoch, &sc.member, sealed)?;
            (mine.signing() == Some(&key_hash(kp.public().as_ref())?)).then(|| (kp, mine.role()))
        }
        _ => None,
    };
    let members = match &signer {
        Some((kp, Role::Admin)) => {
            let message = members_message(vk, team, epoch, version, rows)?;
            Some(MembersSeal {
                version,
                by: sc.member,
                signature: signed_here(kp, &message, MEMBERS_CONTEXT)?,
            })
        }
        Some(_) => match prev.map(|p| decode::<HeadRecord>(p, "team head")) {
            Some(Ok(HeadRecord::V3 { members, .. })) => Some(members),
            _ => None,
        },
        None => None,
    };
    match (signer, members) {
        (Some((kp, _)), Some(members)) => signed_record(&kp, commit, mac, members),
        _ if sc.signed_seen => Err(VaultError::team(
            "the changes of this team vault are signed, and this replica has no signing key an admin added: run `tresor remote sync` once (it asks for your identity); if that is not enough, send an admin the key `tresor identity show` prints, for `tresor member add NAME KEY --role ROLE` again; nothing was written",
        )),
        _ => Ok(record),
    }
}

/// A sealed commit signed by `kp`, with the member list's seal it carries.
pub(super) fn signed_record(
    kp: &SigningKeyPair,
    commit: Vec<u8>,
    mac: [u8; 32],
    members: MembersSeal,
) -> Result<Vec<u8>> {
    let signature = signed_here(kp, &head_message(&commit, &members)?, HEAD_CONTEXT)?;
    encode(&HeadRecord::V3 {
        commit,
        mac,
        members,
        signature,
    })
}

/// Every commit of a verified stretch of the log (`records` and their opened `bodies`,
/// in order), not only the head: written by a member of `rows`' list (within an epoch
/// the list only grows), signed by them once the vault's changes are signed, and
/// within what their record grants (`check_scope`). Without this a writer could bury a
/// commit under its own signed head.
///
/// `envs` are the environments that exist before the first of them: a writer may change
/// an existing environment's record, never make one (or bring back one an admin
/// removed). `signed`: whether the first must already be signed (a replica that saw a
/// signed head); a stretch read from its base by a joining replica may start with the
/// unsigned commits of a vault made before signatures, never return to them.
pub fn check_commits(
    vk: &VaultKey,
    team: &TeamId,
    (records, bodies): (&[Logged], &[CommitBody]),
    rows: &Rows,
    mut envs: BTreeSet<EnvId>,
    mut signed: bool,
) -> Result<()> {
    let Some(first) = bodies.first() else {
        return Ok(());
    };
    let members = open_all(vk, team, first.epoch, rows)?;
    for (logged, body) in records.iter().zip(bodies) {
        let writer = members
            .get(&body.writer)
            .ok_or_else(|| tampered("a change by someone who is not a member"))?;
        match decode::<HeadRecord>(&logged.record, "team commit") {
            Ok(HeadRecord::V3 {
                commit,
                members: seal,
                signature,
                ..
            }) => {
                verify(
                    &*key_of(&body.writer, writer, rows)?,
                    &head_message(&commit, &seal)?,
                    HEAD_CONTEXT,
                    &signature,
                )
                .map_err(|_| tampered("a commit's signature"))?;
                signed = true;
            }
            _ if signed => {
                return Err(tampered(
                    "an unsigned change to a vault whose changes are signed",
                ));
            }
            _ => {}
        }
        check_scope(vk, writer, body)?;
        for (place, hash) in &body.changes {
            let Place::Env(env) = place else { continue };
            if hash.is_some() && !envs.contains(env) && writer.role() != Role::Admin {
                return Err(tampered(
                    "an environment made by a member who is not an admin",
                ));
            }
            if hash.is_some() {
                envs.insert(*env);
            } else {
                envs.remove(env);
            }
        }
    }
    Ok(())
}

/// The environments a replay names as existing.
pub fn envs_in(places: &BTreeMap<Place, (u64, Option<RowHash>)>) -> BTreeSet<EnvId> {
    places
        .iter()
        .filter_map(|(p, (_, h))| match (p, h) {
            (Place::Env(e), Some(_)) => Some(*e),
            _ => None,
        })
        .collect()
}

/// What a commit may change, by its writer's record: an admin anything; a writer the
/// secrets, and the records of existing environments (`env set`), of the environments
/// it is granted; a reader nothing. Base commits (init, migration, rekey) are an
/// admin's: a base says which rows exist, so it could drop any.
pub fn check_scope(vk: &VaultKey, writer: &MemberRecord, body: &CommitBody) -> Result<()> {
    match writer.role() {
        Role::Admin => return Ok(()),
        Role::Reader => return Err(tampered("a change by a reader")),
        Role::Writer if body.base => {
            return Err(tampered("a base commit by a member who is not an admin"));
        }
        Role::Writer => {}
    }
    let granted: Option<Vec<EnvId>> = writer
        .envs()
        .as_ref()
        .map(|list| list.iter().map(|(p, e)| vk.env_id(p, e)).collect())
        .transpose()?;
    let may = |env: &EnvId| granted.as_ref().is_none_or(|g| g.contains(env));
    for (place, hash) in &body.changes {
        let allowed = match place {
            Place::Secret(env, _) => may(env),
            Place::Env(env) => hash.is_some() && may(env),
            Place::Member(_) | Place::Wrap(..) => false,
        };
        if !allowed {
            return Err(tampered(
                "a change outside what its writer's role and environments allow",
            ));
        }
    }
    Ok(())
}

/// Before a write commits: the head this replica made passes the checks every other
/// replica will make (loading the verifying keys if the head it follows was unsigned),
/// so a change they would refuse is never written.
pub fn check_own(
    client: &mut impl GenericClient,
    vk: &VaultKey,
    sc: &Sidecar,
    (head_record, body): (&[u8], &CommitBody),
    rows: &mut Rows,
) -> Result<()> {
    let refused = |e: VaultError| {
        VaultError::team(format!(
            "the other members would refuse this change, so nothing was written: {e}"
        ))
    };
    let mine = rows
        .members
        .get(&sc.member)
        .map(|sealed| open_member(vk, &sc.team, body.epoch, &sc.member, sealed))
        .transpose()?
        .ok_or_else(|| VaultError::team("you are no longer a member of this team vault"))?;
    check_scope(vk, &mine, body).map_err(refused)?;
    if !is_signed(head_record) {
        return Ok(());
    }
    if rows.signing_keys.is_empty() {
        load_keys(client, &sc.team, rows)?;
    }
    check_head(vk, &sc.team, head_record, rows, &Seen::of(sc)).map_err(|e| {
        VaultError::team(format!(
            "the other members would refuse this change, so nothing was written: {e}"
        ))
    })
}

const KEYS_TABLE: &str = "CREATE TABLE IF NOT EXISTS tresor_signing_keys (
    vault bytea NOT NULL, member bytea NOT NULL, key bytea NOT NULL,
    PRIMARY KEY (vault, member))";

/// Puts this member's verifying key on the server (replacing what is there: a key is
/// only trusted if its hash is in the member's sealed record).
pub fn upload_key(
    client: &mut impl GenericClient,
    team: &TeamId,
    member: &MemberId,
    seed: &[u8; KEY_LEN],
) -> Result<()> {
    // Created by whoever uploads first into a vault made before signatures; a member
    // whose database role may not create tables finds it there (CREATE … IF NOT EXISTS
    // would still need that right).
    let exists: bool = client
        .query_one("SELECT to_regclass('tresor_signing_keys') IS NOT NULL", &[])
        .map_err(db_error)?
        .col(0)?;
    if !exists {
        client.batch_execute(KEYS_TABLE).map_err(db_error)?;
    }
    client
        .execute(
            "INSERT INTO tresor_signing_keys VALUES ($1, $2, $3)
             ON CONFLICT (vault, member) DO UPDATE SET key = excluded.key",
            &[&&team[..], &&member[..], &verifying_key(seed)?],
        )
        .map_err(db_error)?;
    Ok(())
}

/// Every member's uploaded verifying key.
pub fn load_keys(client: &mut impl GenericClient, team: &TeamId, rows: &mut Rows) -> Result<()> {
    for r in super::server::typed(
        client,
        "SELECT member, key FROM tresor_signing_keys WHERE vault = $1",
        &[(&&team[..], postgres::types::Type::BYTEA)],
    )? {
        let id: Vec<u8> = r.col(0)?;
        if let Ok(id) = MemberId::try_from(id.as_slice()) {
            rows.signing_keys.insert(id, r.col(1)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_key_is_derived_from_the_identity_and_only_from_it() {
        let a = seed_of(&[1; 32]).unwrap();
        assert_eq!(
            *a,
            *seed_of(&[1; 32]).unwrap(),
            "the same identity, the same key"
        );
        assert_ne!(*a, [1; 32], "its own label: not the identity's seed");
        assert_ne!(*a, *seed_of(&[2; 32]).unwrap());
        let vk = verifying_key(&a).unwrap();
        assert_eq!(vk.len(), 1952);
        assert_ne!(
            key_hash(&vk).unwrap(),
            key_hash(&verifying_key(&seed_of(&[2; 32]).unwrap()).unwrap()).unwrap()
        );
    }

    #[test]
    fn a_parsed_key_kept_for_later_checks_only_what_its_own_key_signed() {
        let (a, b) = (seed_of(&[3; 32]).unwrap(), seed_of(&[4; 32]).unwrap());
        let (a_bytes, b_bytes) = (verifying_key(&a).unwrap(), verifying_key(&b).unwrap());
        let (a_hash, b_hash) = (key_hash(&a_bytes).unwrap(), key_hash(&b_bytes).unwrap());
        let signed = pair(&a)
            .unwrap()
            .sign(b"a commit", HEAD_CONTEXT)
            .unwrap()
            .as_ref()
            .to_vec();
        for _ in 0..2 {
            // The second time from what the first kept.
            let a_key = parsed(&a_hash, &a_bytes).unwrap();
            assert!(verify(&a_key, b"a commit", HEAD_CONTEXT, &signed).is_ok());
            assert!(verify(&a_key, b"another commit", HEAD_CONTEXT, &signed).is_err());
            let b_key = parsed(&b_hash, &b_bytes).unwrap();
            assert!(verify(&b_key, b"a commit", HEAD_CONTEXT, &signed).is_err());
        }
    }

    #[test]
    fn a_remembered_check_vouches_only_for_that_key_message_context_and_signature() {
        let (a, b) = (seed_of(&[5; 32]).unwrap(), seed_of(&[6; 32]).unwrap());
        let a_key = VerifyingKey::try_from(verifying_key(&a).unwrap().as_slice()).unwrap();
        let b_key = VerifyingKey::try_from(verifying_key(&b).unwrap().as_slice()).unwrap();
        // Signed here: remembered as valid without a check.
        let signed = signed_here(&pair(&a).unwrap(), b"a commit", HEAD_CONTEXT).unwrap();
        // Checked once by arithmetic, then remembered: both times valid.
        let other = pair(&a)
            .unwrap()
            .sign(b"a second commit", HEAD_CONTEXT)
            .unwrap()
            .as_ref()
            .to_vec();
        for _ in 0..2 {
            assert!(verify(&a_key, b"a commit", HEAD_CONTEXT, &signed).is_ok());
            assert!(verify(&a_key, b"a second commit", HEAD_CONTEXT, &other).is_ok());
            // Anything else about them, after they were remembered, is checked and fails.
            assert!(verify(&a_key, b"a commit!", HEAD_CONTEXT, &signed).is_err());
            assert!(verify(&a_key, b"a commit", MEMBERS_CONTEXT, &signed).is_err());
            assert!(verify(&b_key, b"a commit", HEAD_CONTEXT, &signed).is_err());
            assert!(verify(&a_key, b"a commit", HEAD_CONTEXT, &other).is_err());
            let mut flipped = signed.clone();
            flipped[100] ^= 1;
            assert!(verify(&a_key, b"a commit", HEAD_CONTEXT, &flipped).is_err());
        }
        // A full memory forgets the oldest first; a forgotten one is checked again.
        let digest = checked_digest(a_key.as_ref(), b"a commit", HEAD_CONTEXT, &signed).unwrap();
        assert!(VERIFIED.with_borrow(|v| v.contains(&digest)));
        for i in 0..VERIFIED_MAX {
            remember_checked([i as u8; 32]);
        }
        assert!(!VERIFIED.with_borrow(|v| v.contains(&digest)));
        assert!(verify(&a_key, b"a commit", HEAD_CONTEXT, &signed).is_ok());
        assert!(VERIFIED.with_borrow(|v| v.contains(&digest)));
    }

    #[test]
    fn a_closed_vault_leaves_no_signing_key_on_its_thread() {
        let a = seed_of(&[9; 32]).unwrap();
        let first = pair(&a).unwrap();
        assert!(SIGNER.with_borrow(|s| s.is_some()));
        // What a vault handle holds, dropped with it.
        drop(ForgetSigner);
        assert!(SIGNER.with_borrow(|s| s.is_none()));
        assert!(!Rc::ptr_eq(&first, &pair(&a).unwrap()), "expanded again");
    }

    #[test]
    fn the_expanded_signing_key_is_the_seeds_own() {
        let (a, b) = (seed_of(&[7; 32]).unwrap(), seed_of(&[8; 32]).unwrap());
        let first = pair(&a).unwrap();
        assert!(
            Rc::ptr_eq(&first, &pair(&a).unwrap()),
            "kept for the same seed"
        );
        let other = pair(&b).unwrap();
        assert_eq!(
            other.public().as_ref(),
            verifying_key(&b).unwrap().as_slice(),
            "another seed, its own key"
        );
        assert_ne!(first.public().as_ref(), other.public().as_ref());
        assert_eq!(pair(&a).unwrap().public().as_ref(), first.public().as_ref());
    }
}
