//! `doctor` and `compact`: checking a vault file end to end, and giving back the space
//! copy-on-write leaves behind.

use std::path::Path;

use super::crypto::KdfParams;
use super::error::{Result, VaultError};
use super::integrity::{self, Place};
use super::records::{FORMAT, SecretMeta, SecretRecord, Slot, SlotKind, decode};
use super::{Vault, audit, high_water, legacy, slots, store, validate};

/// One line of a doctor report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Ok(String),
    Warning(String),
    Problem(String),
}

impl Finding {
    pub fn is_problem(&self) -> bool {
        matches!(self, Finding::Problem(_))
    }
}

/// The audit log file beside the vault: what `audit::check_file` finds, as a finding.
pub fn check_audit_file(vault: &Path) -> Finding {
    match audit::check_file(vault) {
        Ok(true) => Finding::Ok(format!(
            "{} is a private regular file",
            audit::log_path(vault).display()
        )),
        Ok(false) => Finding::Ok("no audit log yet".into()),
        Err(why) => Finding::Problem(why),
    }
}

/// Checks that need no credential: permissions and redb's own integrity check.
pub fn check_file(path: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    match store::check_file(path) {
        Ok(()) => out.push(Finding::Ok(format!(
            "{} is private to you (0600)",
            path.display()
        ))),
        Err(e) => {
            out.push(Finding::Problem(e.to_string()));
            if !matches!(e, VaultError::Permissions { .. }) {
                return out;
            }
        }
    }
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push(Finding::Warning(format!(
                    "folder {} is open to other users (mode {mode:04o}); `chmod 700` it",
                    dir.display()
                )));
            }
        }
    }
    // The read-write open runs redb's full checksum walk.
    match store::open_write(path)
        .and_then(|mut db| store::fenced(|| db.check_integrity().map_err(store::map_db_error)))
    {
        Ok(true) => out.push(Finding::Ok(
            "storage checksums verify (redb integrity check)".into(),
        )),
        Ok(false) => out.push(Finding::Warning(
            "redb repaired its allocator state; the data itself verified".into(),
        )),
        Err(VaultError::Busy) => out.push(Finding::Warning(
            "another tresor is writing; the storage check was skipped (run doctor again)".into(),
        )),
        Err(e) => out.push(Finding::Problem(format!(
            "{e}; restore the vault from a backup"
        ))),
    }
    out
}

impl Vault {
    /// Deep checks with the data key: key slots, digests, every record decrypts, what
    /// this machine has seen of the vault, the audit chain.
    pub fn doctor(&self) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        if self.format < FORMAT {
            self.doctor_format_1(&mut out)?;
        } else {
            self.doctor_format_2(&mut out)?;
        }
        out.extend(self.audit_findings());
        Ok(out)
    }

    /// The audit chain, line by line: damage and oversized lines are problems, an entry
    /// interrupted by a crash is a warning (see `audit`'s module notes for the rule).
    fn audit_findings(&self) -> Vec<Finding> {
        let lines = match audit::read(&self.path, &self.keys) {
            Ok(lines) => lines,
            // The file checks already said why (symlink, owner, mode).
            Err(e) => {
                return vec![Finding::Problem(format!("audit log: not read ({e})"))];
            }
        };
        let mut out = Vec::new();
        let mut bad = Vec::new();
        let mut entries = 0;
        for line in &lines {
            match line {
                audit::AuditLine::Ok(_) => entries += 1,
                audit::AuditLine::Broken { line } => bad.push(*line),
                audit::AuditLine::Oversized { line, len } => out.push(Finding::Problem(format!(
                    "audit log: line {line} is {} MiB long, longer than any entry can be (planted or damaged); move the log aside to start a new one",
                    len >> 20
                ))),
                audit::AuditLine::Interrupted { line } => out.push(Finding::Warning(format!(
                    "audit log: line {line} is an entry interrupted while being written (a crash or a full disk); only that entry is lost"
                ))),
            }
        }
        if !bad.is_empty() {
            out.push(Finding::Problem(format!(
                "audit log: entries on lines {bad:?} fail verification (edited, reordered or damaged)"
            )));
        }
        if out.iter().all(|f| !f.is_problem()) {
            out.insert(
                0,
                Finding::Ok(format!(
                    "audit log: {}, chain intact",
                    validate::count(entries, "entry", "entries")
                )),
            );
        }
        out
    }

    fn report_slots(&self, slots: &[Slot], out: &mut Vec<Finding>) {
        let passphrases = slots
            .iter()
            .filter(|s| matches!(s.kind(), SlotKind::Passphrase { .. }))
            .count();
        let keyfiles = slots.len() - passphrases;
        out.push(Finding::Ok(format!(
            "{}: {passphrases} passphrase, {keyfiles} keyfile",
            validate::count(slots.len(), "key slot", "key slots")
        )));
        for kind in slots.iter().map(Slot::kind) {
            if let SlotKind::Passphrase { kdf, .. } = kind
                && (kdf.passes < KdfParams::DEFAULT.passes
                    || kdf.memory_kib < KdfParams::DEFAULT.memory_kib)
            {
                out.push(Finding::Warning(format!(
                    "the passphrase uses a cheap Argon2id setting ({}, {} MiB); `tresor passwd` with the defaults (3 passes, 64 MiB) makes guessing it harder",
                    validate::count(kdf.passes as usize, "pass", "passes"),
                    kdf.memory_kib / 1024
                )));
            }
        }
    }

    fn doctor_format_1(&self, out: &mut Vec<Finding>) -> Result<()> {
        out.push(Finding::Warning(
            "this vault is in format 1: its key slots are outside the vault digest and a removed credential cannot be revoked; run `tresor upgrade` (it asks for each passphrase and keyfile once)".into(),
        ));
        let slots: Vec<Slot> = legacy::read_header_and_slots(&self.path)?
            .1
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        self.report_slots(&slots, out);
        let health = legacy::health(self)?;
        if health.catalog_ok && health.legacy_digest {
            out.push(Finding::Warning(
                "this vault still has the older catalog digest, which does not cover each environment's digest; `tresor upgrade` replaces it for good".into(),
            ));
        }
        self.report_catalog(health.catalog_ok, health.envs.len(), out);
        for (project, env, count, problems) in health.envs {
            report_env(&project, &env, count, problems, out);
        }
        Ok(())
    }

    fn doctor_format_2(&self, out: &mut Vec<Finding>) -> Result<()> {
        let mark = high_water::read(&self.keys);
        let mut report = None;
        self.storage.read(&mut |txn| {
            let slots: Vec<Slot> = slots::read_slots(txn)?
                .into_iter()
                .map(|(_, s)| s)
                .collect();
            let catalog = self.catalog_unverified(txn)?;
            let catalog_ok = integrity::vouched(txn, &catalog.state)?;
            let mut envs = Vec::new();
            for env in &catalog.entries {
                let place = Place {
                    project: &env.project,
                    env: &env.name,
                };
                let at = (env.project.as_str(), env.name.as_str());
                let mut problems = Vec::new();
                let mut count = 0;
                match integrity::verified_env(&self.keys, txn, &env.id, &env.digest, &place) {
                    Ok(records) => {
                        count = records.len();
                        for (id, bytes) in records {
                            let opened =
                                decode::<SecretRecord>(&bytes, "secret record").and_then(|r| {
                                    let meta = self.open_meta(&id, &r, at)?;
                                    let SecretMeta::V1 { key, .. } = &meta;
                                    self.open_value(&id, &r, at, key).map(|_| ())
                                });
                            if let Err(e) = opened {
                                problems.push(e.to_string());
                            }
                        }
                    }
                    Err(e) => problems.push(e.to_string()),
                }
                envs.push((env.project.clone(), env.name.clone(), count, problems));
            }
            let seen = high_water::check(&mark, catalog.state.version, &catalog.state.digest);
            report = Some((slots, catalog_ok, envs, catalog.state.version, seen));
            Ok(())
        })?;
        let (slots, catalog_ok, mut envs, version, seen) =
            report.ok_or_else(|| VaultError::Storage("the read did not run".into()))?;
        self.report_slots(&slots, out);
        self.report_catalog(catalog_ok, envs.len(), out);
        envs.sort_by(|a, b| (&a.0, super::env_rank(&a.1)).cmp(&(&b.0, super::env_rank(&b.1))));
        for (project, env, count, problems) in envs {
            report_env(&project, &env, count, problems, out);
        }
        match (seen, &mark) {
            (Err(e), _) => out.push(Finding::Problem(e.to_string())),
            (Ok(()), high_water::Mark::Seen(s)) => out.push(Finding::Ok(format!(
                "not older than what this machine has seen (write {version}; last seen write {})",
                s.version
            ))),
            (Ok(()), _) => out.push(Finding::Warning(format!(
                "this machine has no record of this vault yet (write {version}); from now on an older copy of the file is refused"
            ))),
        }
        Ok(())
    }

    fn report_catalog(&self, ok: bool, envs: usize, out: &mut Vec<Finding>) {
        if ok {
            out.push(Finding::Ok(format!(
                "{} and the key slots match the vault digest",
                validate::count(envs, "environment", "environments")
            )));
        } else {
            out.push(Finding::Problem(VaultError::CatalogMismatch.to_string()));
        }
    }

    /// Rewrites the file without the pages that old versions of records left behind.
    /// Returns the file size before and after.
    pub fn compact(&self) -> Result<(u64, u64)> {
        let size = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|e| VaultError::io(p, e))
        };
        let before = size(&self.path)?;
        let mut db = store::open_write(&self.path)?;
        store::fenced(|| {
            while db.compact()? {}
            Ok(())
        })?;
        drop(db);
        self.audit("compact", "", "", "");
        Ok((before, size(&self.path)?))
    }
}

fn report_env(
    project: &str,
    env: &str,
    count: usize,
    problems: Vec<String>,
    out: &mut Vec<Finding>,
) {
    if problems.is_empty() {
        out.push(Finding::Ok(format!(
            "{project}/{env}: {}",
            validate::count(
                count,
                "secret decrypts and matches its digest",
                "secrets decrypt and match their digest"
            )
        )));
    } else {
        out.extend(problems.into_iter().map(Finding::Problem));
    }
}
