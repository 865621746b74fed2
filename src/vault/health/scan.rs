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
use crate::vault::crypto::{self, Key32};
use crate::vault::error::Result;
use crate::vault::integrity::{self, Place};
use crate::vault::records::{FORMAT, SecretRecord, decode};
use crate::vault::secrets::info;
use crate::vault::{EnvEntry, SecretInfo, Vault, env_rank, legacy};

/// A keyed fingerprint of a value. Compared, never shown: its `Debug` prints nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprint(..)")
    }
}

/// One secret as the scan saw it.
pub struct Scanned {
    pub info: SecretInfo,
    pub fingerprint: Fingerprint,
    /// Why its value is weak, when the scan was asked to judge this environment.
    pub weak: Option<String>,
}

/// One environment as the scan saw it.
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
        let sealed = self.read(|txn, catalog| {
            let mut out = Vec::new();
            for e in &catalog.entries {
                if !(plan.read)(&e.project, &e.name) {
                    continue;
                }
                let place = Place {
                    project: &e.project,
                    env: &e.name,
                };
                let records = integrity::verified_env(&self.keys, txn, &e.id, &e.digest, &place)?;
                out.push((e.clone(), records));
            }
            Ok(out)
        })?;
        let work = |(e, records): (EnvEntry, Vec<([u8; 48], Vec<u8>)>)| -> Result<ScannedEnv> {
            let judged = (plan.judge)(&e.project, &e.name);
            let at = (e.project.as_str(), e.name.as_str());
            let mut secrets = Vec::with_capacity(records.len());
            for (id, bytes) in records {
                let record: SecretRecord = decode(&bytes, "secret record")?;
                let meta = info(self.open_meta(&id, &record, at)?);
                let value = self.open_value(&id, &record, at, &meta.key)?;
                secrets.push(Scanned {
                    fingerprint: fp.of(&value)?,
                    weak: judge(&meta, &value, judged),
                    info: meta,
                });
            }
            secrets.sort_by(|a, b| a.info.key.cmp(&b.info.key));
            Ok(ScannedEnv {
                project: e.project,
                env: e.name,
                rotate_days: e.rotate_days,
                secrets,
            })
        };
        sealed.into_iter().map(work).collect()
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
