//! Integrity: what proves that the records a read returns are the vault's current ones.
//!
//! Two levels of keyed BLAKE2b (the digest subkey), both covered by one MAC:
//!
//! - **Each environment is a 256-ary tree of fixed depth** over the blind index of its
//!   keys. A *leaf* is every record whose blind index starts with the same two bytes
//!   `(b0, b1)`; its digest is a MAC over those records' exact bytes (or all zeros when
//!   there are none). A *node* (one per `b0`) holds the 256 leaf digests; the *root*
//!   holds the 256 node digests. The environment's digest is a MAC over the root.
//!   Every MAC names its environment and position, so nothing can move between them.
//! - **The vault digest** is a MAC over the header, the write counter, every key slot,
//!   the sealed earlier audit keys, every environment record with its digest and, once
//!   set, the sealed settings (history depth).
//!
//! A secret's earlier values (`history`) live in their own table under the secret's id
//! and a version number, so they fall in the same leaf: a leaf whose secrets have history
//! has a digest over both (a MAC of the records' MAC and the history rows' MAC); a leaf
//! without keeps the digest it had before history existed, so older vaults verify as
//! they are. Dropping, replaying or moving a history row changes its leaf like a record.
//!
//! A node is stored with only its non-empty children, as (index, digest) pairs, and its
//! MAC is over that form, so a small environment's nodes stay small.
//!
//! A read of one secret verifies the vault digest (work that grows with the number of
//! environments and key slots, not secrets), the root (8 KiB), one node (at most 8.25 KiB)
//! and one leaf (a few records), so it costs the same at 1,000 and 100,000 secrets. Deleting,
//! adding or rolling back any record changes its leaf; rolling back a leaf's row with it
//! changes the node, and so on up to the vault digest, which only the data key can make.
//! Only a whole file replaced by an older copy stays consistent; the write counter and
//! the high-water mark outside the file (`high_water`) catch that.

mod leaves;

use std::collections::BTreeMap;

use super::crypto::{self, Keys, Mac};
use super::error::{Result, VaultError};
use super::storage::{ReadTxn, Table, WriteTxn};
use super::{EnvId, SecretId};

/// Above this many changed leaves, `rehash` reads the environment once instead of once
/// per leaf.
const BULK_LEAVES: usize = 64;

/// A node: 256 child digests of 32 bytes.
pub const NODE_LEN: usize = 256 * 32;
pub const ZERO: [u8; 32] = [0; 32];

/// Which leaf a secret's record belongs to (a table key shorter than a secret's is
/// never one: the callers check the length first).
pub fn leaf_of(id: &[u8]) -> (u8, u8) {
    match id {
        [_, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, b0, b1, ..] => (*b0, *b1),
        _ => (0, 0),
    }
}

fn root_key(env: &EnvId) -> Vec<u8> {
    let mut k = env.to_vec();
    k.push(0);
    k
}

fn node_key(env: &EnvId, b0: u8) -> Vec<u8> {
    let mut k = env.to_vec();
    k.extend_from_slice(&[1, b0]);
    k
}

fn leaf_prefix(env: &EnvId, b0: u8, b1: u8) -> Vec<u8> {
    let mut k = env.to_vec();
    k.extend_from_slice(&[b0, b1]);
    k
}

fn child(node: &[u8], i: u8) -> [u8; 32] {
    let at = usize::from(i) * 32;
    let mut out = [0u8; 32];
    out.copy_from_slice(&node[at..at + 32]);
    out
}

fn set_child(node: &mut [u8], i: u8, digest: &[u8; 32]) {
    let at = usize::from(i) * 32;
    node[at..at + 32].copy_from_slice(digest);
}

/// A MAC over one leaf's rows of one table, in key order, started at the first row (all
/// zeros when there are none): the records' MAC or the history rows' MAC of a leaf.
pub struct RowsMac {
    label: &'static [u8],
    key_len: usize,
    what: &'static str,
    mac: Option<Mac>,
}

impl RowsMac {
    /// A leaf's records, computed record by record in key order.
    pub fn records() -> RowsMac {
        RowsMac {
            label: b"leaf",
            key_len: 48,
            what: "a secret record",
            mac: None,
        }
    }

    /// A leaf's history rows.
    pub fn history() -> RowsMac {
        RowsMac {
            label: b"history",
            key_len: HISTORY_KEY_LEN,
            what: "a history row",
            mac: None,
        }
    }

    pub fn add(&mut self, keys: &Keys, row: &[u8], bytes: &[u8]) -> Result<()> {
        if row.len() != self.key_len {
            return Err(VaultError::Corrupt(format!(
                "{} is stored under a key of the wrong size",
                self.what
            )));
        }
        let mac = match &mut self.mac {
            Some(m) => m,
            None => {
                let mut m = Mac::new(&keys.digest, 32)?;
                m.field(self.label)?;
                // The row keys name the environment and the leaf's two bytes.
                m.field(&row[..18])?;
                self.mac.insert(m)
            }
        };
        mac.field(row)?;
        mac.field(bytes)
    }

    pub fn finish(self) -> Result<[u8; 32]> {
        match self.mac {
            Some(m) => m.finish(),
            None => Ok(ZERO),
        }
    }
}

/// A history row: (secret id ‖ version, sealed bytes).
pub type HistoryRow = (Vec<u8>, Vec<u8>);

/// A verified leaf: its records as (id, bytes), and its secrets' history rows.
pub type VerifiedLeaf = (Vec<(SecretId, Vec<u8>)>, Vec<HistoryRow>);

/// A history row's key: the secret's id and the version, big-endian.
pub const HISTORY_KEY_LEN: usize = 48 + 4;

/// A leaf's digest from its records' MAC and its history rows' MAC. Without history it
/// is the records' MAC alone: what every leaf was before history existed.
fn leaf_digest(
    keys: &Keys,
    env: &EnvId,
    (b0, b1): (u8, u8),
    records: [u8; 32],
    history: [u8; 32],
) -> Result<[u8; 32]> {
    if history == ZERO {
        return Ok(records);
    }
    crypto::keyed_hash(
        &keys.digest,
        &[b"leaf+history", env, &[b0, b1], &records, &history],
    )
}

/// The history rows of one leaf, with their MAC.
fn leaf_history(
    keys: &Keys,
    txn: &dyn ReadTxn,
    env: &EnvId,
    (b0, b1): (u8, u8),
) -> Result<(Vec<HistoryRow>, [u8; 32])> {
    let mut rows = Vec::new();
    let mut mac = RowsMac::history();
    txn.scan(Table::History, &leaf_prefix(env, b0, b1), &mut |k, v| {
        mac.add(keys, k, v)?;
        rows.push((k.to_vec(), v.to_vec()));
        Ok(())
    })?;
    Ok((rows, mac.finish()?))
}

/// A node as stored: only its non-empty children, as (index, digest) in index order.
/// A small environment's nodes hold a few children each, so reading and hashing them
/// costs little; a full node is 256 × 33 bytes.
fn encode_node(node: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..=255u8 {
        let d = child(node, i);
        if d != ZERO {
            out.push(i);
            out.extend_from_slice(&d);
        }
    }
    out
}

/// The stored form back into 256 children; anything but strictly increasing indices
/// with non-empty digests is not a node tresor wrote.
fn decode_node(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(33) {
        return None;
    }
    let mut node = vec![0u8; NODE_LEN];
    let mut last: Option<u8> = None;
    for entry in bytes.chunks(33) {
        let i = entry[0];
        if last.is_some_and(|l| i <= l) || entry[1..].iter().all(|&b| b == 0) {
            return None;
        }
        last = Some(i);
        node[usize::from(i) * 32..usize::from(i) * 32 + 32].copy_from_slice(&entry[1..]);
    }
    Some(node)
}

fn node_digest(keys: &Keys, env: &EnvId, b0: u8, node: &[u8]) -> Result<[u8; 32]> {
    if node.iter().all(|&b| b == 0) {
        return Ok(ZERO);
    }
    crypto::keyed_hash(&keys.digest, &[b"node", env, &[b0], &encode_node(node)])
}

fn root_digest(keys: &Keys, env: &EnvId, root: &[u8]) -> Result<[u8; 32]> {
    crypto::keyed_hash(&keys.digest, &[b"root", env, root])
}

/// Where a verification failed, for the error the user sees.
pub struct Place<'a> {
    pub project: &'a str,
    pub env: &'a str,
}

impl Place<'_> {
    fn mismatch(&self) -> VaultError {
        VaultError::DigestMismatch {
            project: self.project.into(),
            env: self.env.into(),
        }
    }
}

fn node_bytes(bytes: Option<Vec<u8>>, place: &Place) -> Result<Vec<u8>> {
    match bytes {
        Some(b) if b.len() == NODE_LEN => Ok(b),
        _ => Err(place.mismatch()),
    }
}

/// The environment's root node, checked against its digest from the verified catalog.
fn verified_root(
    keys: &Keys,
    txn: &dyn ReadTxn,
    env: &EnvId,
    digest: &[u8; 32],
    place: &Place,
) -> Result<Vec<u8>> {
    let root = node_bytes(txn.get(Table::Tree, &root_key(env))?, place)?;
    if !crypto::same(&root_digest(keys, env, &root)?, digest) {
        return Err(place.mismatch());
    }
    Ok(root)
}

/// The node under the root for `b0` (all zeros when the root says it is empty).
fn verified_node(
    keys: &Keys,
    txn: &dyn ReadTxn,
    env: &EnvId,
    root: &[u8],
    b0: u8,
    place: &Place,
) -> Result<Vec<u8>> {
    let want = child(root, b0);
    let stored = txn.get(Table::Tree, &node_key(env, b0))?;
    if want == ZERO {
        // An empty node has no row; a row where the root says "empty" was put there.
        return match stored {
            None => Ok(vec![0u8; NODE_LEN]),
            Some(_) => Err(place.mismatch()),
        };
    }
    let node = stored
        .as_deref()
        .and_then(decode_node)
        .ok_or_else(|| place.mismatch())?;
    if !crypto::same(&node_digest(keys, env, b0, &node)?, &want) {
        return Err(place.mismatch());
    }
    Ok(node)
}

/// The records of one leaf and the history rows of its secrets, verified together.
/// Work: two nodes and the leaf's few rows.
pub fn verified_leaf_with_history(
    keys: &Keys,
    txn: &dyn ReadTxn,
    env: &EnvId,
    digest: &[u8; 32],
    (b0, b1): (u8, u8),
    place: &Place,
) -> Result<VerifiedLeaf> {
    let root = verified_root(keys, txn, env, digest, place)?;
    let node = verified_node(keys, txn, env, &root, b0, place)?;
    let want = child(&node, b1);
    let mut records = Vec::new();
    let mut mac = RowsMac::records();
    txn.scan(Table::Secrets, &leaf_prefix(env, b0, b1), &mut |k, v| {
        mac.add(keys, k, v)?;
        records.push((secret_id(k, place)?, v.to_vec()));
        Ok(())
    })?;
    let (history, history_mac) = leaf_history(keys, txn, env, (b0, b1))?;
    let got = leaf_digest(keys, env, (b0, b1), mac.finish()?, history_mac)?;
    if !crypto::same(&got, &want) {
        return Err(place.mismatch());
    }
    Ok((records, history))
}

fn secret_id(key: &[u8], place: &Place) -> Result<SecretId> {
    key.try_into().map_err(|_| place.mismatch())
}

/// Every record of an environment, verified leaf by leaf, in key order.
pub fn verified_env(
    keys: &Keys,
    txn: &dyn ReadTxn,
    env: &EnvId,
    digest: &[u8; 32],
    place: &Place,
) -> Result<Vec<(SecretId, Vec<u8>)>> {
    verify_env_map(keys, txn, env, digest, place, &|id, bytes| {
        Ok((*id, bytes.to_vec()))
    })
}

/// `make` of every record of an environment, in key order, returned only when the whole
/// environment verified; a `make` error is returned after that (a tampered environment
/// is reported as tampered, not as whatever `make` met first). A large environment is
/// worked on by more than one thread (see `leaves`), so `make` must be `Sync`.
pub fn verify_env_map<T: Send>(
    keys: &Keys,
    txn: &dyn ReadTxn,
    env: &EnvId,
    digest: &[u8; 32],
    place: &Place,
    make: &(dyn Fn(&SecretId, &[u8]) -> Result<T> + Sync),
) -> Result<Vec<T>> {
    let root = verified_root(keys, txn, env, digest, place)?;
    // The tree's rows must be exactly the root and one node per non-empty root slot: a
    // node row where the root says "empty" was planted (and must never be re-sealed).
    let mut rows = Vec::new();
    txn.scan(Table::Tree, env, &mut |k, _| {
        rows.push(k[16..].to_vec());
        Ok(())
    })?;
    let expected_rows: Vec<Vec<u8>> = std::iter::once(vec![0])
        .chain(
            (0..=255u8)
                .filter(|b0| child(&root, *b0) != ZERO)
                .map(|b0| vec![1, b0]),
        )
        .collect();
    // Both lists are in key order: the root's key sorts before every node's.
    if rows != expected_rows {
        return Err(place.mismatch());
    }
    // Every non-empty leaf the tree expects, in leaf order; each must be met exactly
    // once below.
    let mut expected: Vec<((u8, u8), [u8; 32])> = Vec::new();
    for b0 in 0..=255u8 {
        if child(&root, b0) == ZERO {
            continue;
        }
        let node = verified_node(keys, txn, env, &root, b0, place)?;
        for b1 in 0..=255u8 {
            let d = child(&node, b1);
            if d != ZERO {
                expected.push(((b0, b1), d));
            }
        }
    }
    let records = leaves::Records::scan(txn, env, &|k| {
        if k.len() == 48 {
            Ok(())
        } else {
            Err(place.mismatch())
        }
    })?;
    let digested = leaves::digest(keys, &records, &|k, v| make(&secret_id(k, place)?, v))?;
    let found = with_history(keys, txn, env, digested.leaves)?;
    // Exactly the leaves the tree expects, each with its digest: a leaf missing here lost
    // all its records, an extra one gained some.
    let same = found.len() == expected.len()
        && found
            .iter()
            .zip(&expected)
            .all(|((l, d), (m, e))| l == m && crypto::same(d, e));
    if !same {
        return Err(place.mismatch());
    }
    digested.failed.map_or(Ok(digested.made), Err)
}

/// The digest of every non-empty leaf of an environment, in one pass over its records.
fn leaf_digests(
    keys: &Keys,
    txn: &dyn ReadTxn,
    env: &EnvId,
) -> Result<BTreeMap<(u8, u8), [u8; 32]>> {
    let records = leaves::Records::scan(txn, env, &|_| Ok(()))?;
    let digested = leaves::digest(keys, &records, &|_, _| Ok(()))?;
    with_history(keys, txn, env, digested.leaves)
}

/// The records' leaf digests with the history rows folded in, leaf by leaf.
fn with_history(
    keys: &Keys,
    txn: &dyn ReadTxn,
    env: &EnvId,
    records: Vec<((u8, u8), [u8; 32])>,
) -> Result<BTreeMap<(u8, u8), [u8; 32]>> {
    let mut digests: BTreeMap<(u8, u8), [u8; 32]> = records.into_iter().collect();
    // The history rows, in the same leaf order, folded into their leaves' digests.
    let mut history = BTreeMap::new();
    let mut current: Option<((u8, u8), RowsMac)> = None;
    txn.scan(Table::History, env, &mut |k, v| {
        let leaf = leaf_of(k);
        if let Some((l, _)) = &current
            && *l != leaf
            && let Some((l, mac)) = current.take()
        {
            history.insert(l, mac.finish()?);
        }
        current
            .get_or_insert_with(|| (leaf, RowsMac::history()))
            .1
            .add(keys, k, v)
    })?;
    if let Some((l, mac)) = current {
        history.insert(l, mac.finish()?);
    }
    for (leaf, h) in history {
        let records = digests.get(&leaf).copied().unwrap_or(ZERO);
        digests.insert(leaf, leaf_digest(keys, env, leaf, records, h)?);
    }
    Ok(digests)
}

/// Writes an empty tree for a new environment; returns its digest.
pub fn create_env_tree(keys: &Keys, txn: &mut dyn WriteTxn, env: &EnvId) -> Result<[u8; 32]> {
    let root = vec![0u8; NODE_LEN];
    txn.put(Table::Tree, &root_key(env), &root)?;
    let digest = root_digest(keys, env, &root)?;
    txn.put(Table::Digests, env, &digest)?;
    Ok(digest)
}

/// Removes an environment's tree and digest.
pub fn remove_env_tree(txn: &mut dyn WriteTxn, env: &EnvId) -> Result<()> {
    txn.delete_prefix(Table::Tree, env)?;
    txn.delete(Table::Digests, env)?;
    Ok(())
}

/// Recomputes the leaves that changed, their nodes and the root, from the records now
/// in the transaction. The caller verified the path it touched before changing it, so
/// only a state that was valid is ever re-sealed. Returns the environment's new digest.
pub fn rehash(
    keys: &Keys,
    txn: &mut dyn WriteTxn,
    env: &EnvId,
    changed: impl IntoIterator<Item = (u8, u8)>,
) -> Result<[u8; 32]> {
    let mut by_node: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
    let mut count = 0usize;
    for (b0, b1) in changed {
        by_node.entry(b0).or_default().push(b1);
        count += 1;
    }
    // Many changed leaves (an import, a rekey): one pass over the environment computes
    // them all, instead of one range scan per leaf.
    let precomputed = if count > BULK_LEAVES {
        Some(leaf_digests(keys, &*txn, env)?)
    } else {
        None
    };
    let corrupt = || VaultError::Corrupt("an integrity tree node is damaged".into());
    let mut root = match txn.get(Table::Tree, &root_key(env))? {
        Some(r) if r.len() == NODE_LEN => r,
        _ => return Err(corrupt()),
    };
    for (b0, leaves) in by_node {
        let mut node = match txn.get(Table::Tree, &node_key(env, b0))? {
            // A row where the root says "empty" was planted: never seal it in.
            Some(_) if child(&root, b0) == ZERO => {
                return Err(VaultError::Corrupt(
                    "an integrity tree node is where its environment has none".into(),
                ));
            }
            Some(n) => decode_node(&n).ok_or_else(corrupt)?,
            None => vec![0u8; NODE_LEN],
        };
        for b1 in leaves {
            let digest = match &precomputed {
                Some(all) => all.get(&(b0, b1)).copied().unwrap_or(ZERO),
                None => {
                    let mut mac = RowsMac::records();
                    txn.scan(Table::Secrets, &leaf_prefix(env, b0, b1), &mut |k, v| {
                        mac.add(keys, k, v)
                    })?;
                    let (_, history) = leaf_history(keys, &*txn, env, (b0, b1))?;
                    leaf_digest(keys, env, (b0, b1), mac.finish()?, history)?
                }
            };
            set_child(&mut node, b1, &digest);
        }
        let digest = node_digest(keys, env, b0, &node)?;
        if digest == ZERO {
            txn.delete(Table::Tree, &node_key(env, b0))?;
        } else {
            txn.put(Table::Tree, &node_key(env, b0), &encode_node(&node))?;
        }
        set_child(&mut root, b0, &digest);
    }
    txn.put(Table::Tree, &root_key(env), &root)?;
    let digest = root_digest(keys, env, &root)?;
    txn.put(Table::Digests, env, &digest)?;
    Ok(digest)
}

/// Every leaf of an environment that holds records or history (for a full rebuild).
pub fn all_leaves(txn: &dyn ReadTxn, env: &EnvId) -> Result<Vec<(u8, u8)>> {
    let mut leaves = std::collections::BTreeSet::new();
    for table in [Table::Secrets, Table::History] {
        txn.scan(table, env, &mut |k, _| {
            leaves.insert(leaf_of(k));
            Ok(())
        })?;
    }
    Ok(leaves.into_iter().collect())
}

/// An environment row as the vault digest covers it: id, sealed record, tree digest.
pub struct EnvRow {
    pub id: EnvId,
    pub record: Vec<u8>,
    pub digest: [u8; 32],
}

/// What the vault digest covers, read from one transaction, and the digest over it.
pub struct VaultState {
    pub version: u64,
    pub envs: Vec<EnvRow>,
    pub digest: [u8; 32],
}

pub const HEADER_KEY: &[u8] = b"header";
pub const VAULT_DIGEST_KEY: &[u8] = b"vault_digest";
pub const VERSION_KEY: &[u8] = b"version";
pub const AUDIT_KEYS_KEY: &[u8] = b"audit_keys";
pub const SETTINGS_KEY: &[u8] = b"settings";

/// Recomputes the vault digest from the tables (see the module docs for what it covers).
pub fn vault_state(keys: &Keys, txn: &dyn ReadTxn) -> Result<VaultState> {
    let missing = |what: &str| VaultError::Corrupt(format!("its {what} is missing"));
    let header = txn
        .get(Table::Meta, HEADER_KEY)?
        .ok_or_else(|| missing("header"))?;
    let version = match txn.get(Table::Meta, VERSION_KEY)? {
        Some(v) => u64::from_be_bytes(
            v.as_slice()
                .try_into()
                .map_err(|_| VaultError::Corrupt("its write counter is damaged".into()))?,
        ),
        None => return Err(missing("write counter")),
    };
    let mut mac = Mac::new(&keys.digest, 32)?;
    mac.field(b"tresor/v2/vault")?;
    mac.field(&header)?;
    mac.field(&version.to_be_bytes())?;
    let mut slots = 0u64;
    let mut slot_mac = Mac::new(&keys.digest, 32)?;
    txn.scan(Table::Slots, b"", &mut |k, v| {
        slots += 1;
        slot_mac.field(k)?;
        slot_mac.field(v)
    })?;
    mac.field(&slots.to_be_bytes())?;
    mac.field(&slot_mac.finish::<32>()?)?;
    match txn.get(Table::Meta, AUDIT_KEYS_KEY)? {
        Some(blob) => mac.field(&blob)?,
        None => mac.field(b"")?,
    }
    let mut envs = Vec::new();
    txn.scan(Table::Environments, b"", &mut |k, v| {
        let id: EnvId = k
            .try_into()
            .map_err(|_| VaultError::Corrupt("an environment id has the wrong size".into()))?;
        envs.push(EnvRow {
            id,
            record: v.to_vec(),
            digest: ZERO,
        });
        Ok(())
    })?;
    mac.field(&(envs.len() as u64).to_be_bytes())?;
    let settings = txn.get(Table::Meta, SETTINGS_KEY)?;
    for env in &mut envs {
        env.digest = match txn.get(Table::Digests, &env.id)? {
            Some(d) => d.as_slice().try_into().map_err(|_| {
                VaultError::Corrupt("an environment digest has the wrong size".into())
            })?,
            None => ZERO,
        };
        mac.field(&env.id)?;
        mac.field(&env.record)?;
        mac.field(&env.digest)?;
    }
    // The vault's settings came later: covered when present, so a vault without them
    // keeps its digest, and removing them once set is caught.
    if let Some(blob) = settings {
        mac.field(b"settings")?;
        mac.field(&blob)?;
    }
    Ok(VaultState {
        version,
        envs,
        digest: mac.finish()?,
    })
}

/// Whether the stored vault digest vouches for this state.
pub fn vouched(txn: &dyn ReadTxn, state: &VaultState) -> Result<bool> {
    Ok(txn
        .get(Table::Meta, VAULT_DIGEST_KEY)?
        .is_some_and(|stored| crypto::same(&stored, &state.digest)))
}

/// Ends every write: one more on the counter, and the vault digest over the result.
pub fn seal_vault(keys: &Keys, txn: &mut dyn WriteTxn) -> Result<VaultState> {
    let version = match txn.get(Table::Meta, VERSION_KEY)? {
        Some(v) => u64::from_be_bytes(v.as_slice().try_into().unwrap_or([0; 8])),
        None => 0,
    };
    txn.put(Table::Meta, VERSION_KEY, &(version + 1).to_be_bytes())?;
    let state = vault_state(keys, txn)?;
    txn.put(Table::Meta, VAULT_DIGEST_KEY, &state.digest)?;
    Ok(state)
}
