//! One verified pass over environments: each secret's listing and a keyed fingerprint
//! of its value, for `health` and `compare`.
//!
//! Fingerprints are computed on the fly, never stored: keyed BLAKE2b-256 with a subkey
//! HKDF derives from the data key, so equal values give equal fingerprints across
//! environments and projects, nobody without the key can test a guess against one, and a
//! `rekey` changes them all with nothing to recompute. Decrypting every value costs
//! less than verifying and opening the records (see README, Performance), and storing
//! them would have meant a new record format. A value is in memory (zeroizing) only
//! while its fingerprint and strength are computed; neither leaves this module as bytes.

use super::rules;
use crate::vault::crypto::{self, Key32, Keys};
use crate::vault::error::{Result, VaultError};
use crate::vault::integrity::{self, Place};
use crate::vault::records::{FORMAT, SecretRecord, decode};
use crate::vault::secrets::{META_AD, VALUE_AD, info, tampered};
use crate::vault::{EnvEntry, SecretId, SecretInfo, Vault, env_rank, legacy};

/// A keyed fingerprint of a value. Compared, never shown: its `Debug` prints nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprint(..)")
    }
}

/// One secret as the scan saw it.
#[derive(Clone)]
pub struct Scanned {
    pub info: SecretInfo,
    pub fingerprint: Fingerprint,
    /// Why its value is weak, when the scan was asked to judge this environment.
    pub weak: Option<String>,
}

/// One environment as the scan saw it.
#[derive(Clone)]
pub struct ScannedEnv {
    pub project: String,
    pub env: String,
    /// Its own rotation period, when one is set.
    pub rotate_days: Option<u16>,
    pub secrets: Vec<Scanned>,
}

/// Which environments to read, and which of those to judge for strength (zxcvbn is
/// the costly part, so environments read only for reuse are not judged).
pub struct ScanPlan<'a> {
    pub read: &'a dyn Fn(&str, &str) -> bool,
    pub judge: &'a dyn Fn(&str, &str) -> bool,
}

/// An environment as the read transaction left it: scanned before and unchanged, or
/// its verified records (with whether to judge their strength).
enum Read {
    Cached(ScannedEnv),
    Fresh(EnvEntry, bool, Vec<(SecretId, Vec<u8>)>),
}

/// One sealed record, ready to open on any thread.
struct Job {
    env_index: usize,
    judged: bool,
    meta_ad: Vec<u8>,
    value_ad: Vec<u8>,
    record: SecretRecord,
}

/// Below this many records one thread is quicker than starting others.
const PARALLEL_FROM: usize = 2_000;

/// Opens every job, in order, on up to as many threads as there are cores.
fn open_all(
    keys: &Keys,
    fp: &Fingerprinter,
    jobs: &[Job],
    envs: &[ScannedEnv],
) -> Result<Vec<Scanned>> {
    let open = |job: &Job| -> Result<Scanned> {
        let e = &envs[job.env_index];
        let at = (e.project.as_str(), e.env.as_str());
        let SecretRecord::V1 {
            meta_nonce,
            meta,
            value_nonce,
            value,
        } = &job.record;
        let plain = crypto::open(&keys.meta, meta_nonce, meta, &job.meta_ad)
            .map_err(|_| tampered(at, "its metadata does not decrypt"))?;
        let info = info(decode(&plain, "secret metadata")?);
        let value = crypto::open(&keys.value, value_nonce, value, &job.value_ad)
            .map_err(|_| tampered(at, &format!("the value of `{}` does not decrypt", info.key)))?;
        Ok(Scanned {
            fingerprint: fp.of(&value)?,
            weak: judge(&info, &value, job.judged),
            info,
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || jobs.len() < PARALLEL_FROM {
        return jobs.iter().map(open).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(open).collect::<Result<Vec<_>>>()))
            .collect();
        let mut out = Vec::with_capacity(jobs.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| VaultError::Storage("a health worker thread failed".into()))??;
            out.extend(part);
        }
        Ok(out)
    })
}

/// Scans of unchanged environments, so that the TUI's reloads (every change, every tab)
/// only open the environments that changed. An entry is used only when the
/// environment's digest, which the vault digest vouches for in the reading
/// transaction, is the one it was scanned at. Holds key names, descriptions, keyed
/// fingerprints and reasons, never a value; the TUI empties it when it locks.
mod cache {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::ScannedEnv;

    use std::sync::atomic::{AtomicBool, Ordering};

    /// (environment digest, judged, scan), by (vault id, environment id).
    type Entry = ([u8; 32], bool, ScannedEnv);
    type Scans = HashMap<([u8; 16], [u8; 16]), Entry>;
    /// Off unless a long-lived caller (the TUI) asks: a one-shot command would only pay
    /// for the copies.
    pub static ENABLED: AtomicBool = AtomicBool::new(false);
    static SCANS: Mutex<Option<Scans>> = Mutex::new(None);
    /// More environments than anyone keeps open: past this the cache starts over.
    const MAX_ENTRIES: usize = 64;

    pub fn get(
        vault: &[u8; 16],
        env: &[u8; 16],
        digest: &[u8; 32],
        judged: bool,
    ) -> Option<ScannedEnv> {
        if !ENABLED.load(Ordering::Relaxed) {
            return None;
        }
        let guard = SCANS.lock().ok()?;
        let (d, j, scan) = guard.as_ref()?.get(&(*vault, *env))?;
        // Digests are not secret: a plain comparison is fine.
        (d == digest && (*j || !judged)).then(|| scan.clone())
    }

    pub fn put(
        vault: &[u8; 16],
        env: &[u8; 16],
        digest: &[u8; 32],
        judged: bool,
        scan: &ScannedEnv,
    ) {
        if !ENABLED.load(Ordering::Relaxed) {
            return;
        }
        let Ok(mut guard) = SCANS.lock() else { return };
        let map = guard.get_or_insert_with(HashMap::new);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert((*vault, *env), (*digest, judged, scan.clone()));
    }

    pub fn clear() {
        if let Ok(mut guard) = SCANS.lock() {
            *guard = None;
        }
    }
}

/// Keeps scans of unchanged environments between calls (the TUI, which reloads often).
pub fn keep_scans() {
    cache::ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Empties the cache of scans (the TUI does when it locks).
pub fn forget_scans() {
    cache::clear();
}

struct Fingerprinter(Key32);

impl Fingerprinter {
    fn new(vault: &Vault) -> Result<Fingerprinter> {
        let k = &vault.keys;
        Ok(Fingerprinter(crypto::hkdf(
            k.dek(),
            &k.vault_id,
            b"tresor/v2/value-fingerprint",
        )?))
    }

    fn of(&self, value: &[u8]) -> Result<Fingerprint> {
        Ok(Fingerprint(crypto::keyed_hash(&self.0, &[value])?))
    }
}

fn judge(info: &SecretInfo, value: &[u8], wanted: bool) -> Option<String> {
    if wanted {
        rules::weak(info.kind, value)
    } else {
        None
    }
}

impl Vault {
    /// Reads the planned environments in one verified read transaction. Nothing is
    /// audited here: no value leaves the process (the callers record a `check`).
    /// Environments come in display order: by project, then development, staging,
    /// production, then the others by name.
    pub(crate) fn scan(&self, plan: &ScanPlan) -> Result<Vec<ScannedEnv>> {
        let fp = Fingerprinter::new(self)?;
        let mut out = if self.format < FORMAT {
            self.scan_format1(plan, &fp)?
        } else {
            self.scan_format2(plan, &fp)?
        };
        out.sort_by(|a, b| (&a.project, env_rank(&a.env)).cmp(&(&b.project, env_rank(&b.env))));
        Ok(out)
    }

    fn scan_format2(&self, plan: &ScanPlan, fp: &Fingerprinter) -> Result<Vec<ScannedEnv>> {
        let vault_id = self.keys.vault_id;
        // Per environment: its scan from the cache when its digest (vouched for by the
        // vault digest in this very transaction) is unchanged, else its verified records.
        let read = self.read(|txn, catalog| {
            let mut out = Vec::new();
            for e in &catalog.entries {
                if !(plan.read)(&e.project, &e.name) {
                    continue;
                }
                let judged = (plan.judge)(&e.project, &e.name);
                if let Some(mut hit) = cache::get(&vault_id, &e.id, &e.digest, judged) {
                    hit.rotate_days = e.rotate_days;
                    out.push(Read::Cached(hit));
                    continue;
                }
                let place = Place {
                    project: &e.project,
                    env: &e.name,
                };
                let records = integrity::verified_env(&self.keys, txn, &e.id, &e.digest, &place)?;
                out.push(Read::Fresh(e.clone(), judged, records));
            }
            Ok(out)
        })?;
        // Everything that needs the handle happens here (associated data, which names
        // the vault, the record and the format); opening and fingerprinting are pure
        // work on verified bytes, shared out over the cores below.
        let mut jobs = Vec::new();
        let mut envs = Vec::with_capacity(read.len());
        let mut fresh = Vec::new();
        for (env_index, item) in read.into_iter().enumerate() {
            let (e, judged, records) = match item {
                Read::Cached(scan) => {
                    envs.push(scan);
                    continue;
                }
                Read::Fresh(e, judged, records) => (e, judged, records),
            };
            for (id, bytes) in records {
                let record: SecretRecord = decode(&bytes, "secret record")?;
                jobs.push(Job {
                    env_index,
                    judged,
                    meta_ad: self.ad(META_AD, &id),
                    value_ad: self.ad(VALUE_AD, &id),
                    record,
                });
            }
            fresh.push((env_index, e.id, e.digest, judged));
            envs.push(ScannedEnv {
                project: e.project,
                env: e.name,
                rotate_days: e.rotate_days,
                secrets: Vec::new(),
            });
        }
        let opened = open_all(&self.keys, fp, &jobs, &envs)?;
        for (job, scanned) in jobs.iter().zip(opened) {
            envs[job.env_index].secrets.push(scanned);
        }
        for (index, env_id, digest, judged) in fresh {
            let e = &mut envs[index];
            e.secrets.sort_by(|a, b| a.info.key.cmp(&b.info.key));
            cache::put(&vault_id, &env_id, &digest, judged, e);
        }
        Ok(envs)
    }

    fn scan_format1(&self, plan: &ScanPlan, fp: &Fingerprinter) -> Result<Vec<ScannedEnv>> {
        let mut out = Vec::new();
        for e in legacy::environments(self)? {
            if !(plan.read)(&e.project, &e.name) {
                continue;
            }
            let judged = (plan.judge)(&e.project, &e.name);
            let mut secrets = Vec::new();
            for (meta, value) in legacy::reveal_all(self, &e.project, &e.name)? {
                secrets.push(Scanned {
                    fingerprint: fp.of(&value)?,
                    weak: judge(&meta, &value, judged),
                    info: meta,
                });
            }
            secrets.sort_by(|a, b| a.info.key.cmp(&b.info.key));
            out.push(ScannedEnv {
                project: e.project,
                env: e.name,
                rotate_days: None,
                secrets,
            });
        }
        Ok(out)
    }
}
