//! `doctor` and `compact`: checking a vault file end to end, and giving back the space
//! copy-on-write leaves behind.

use std::path::Path;

use redb::ReadableTable;

use super::crypto::KdfParams;
use super::error::{Result, VaultError};
use super::records::{SecretRecord, Slot, SlotKind, decode};
use super::store::{self, DIGESTS, ENVIRONMENTS, KEYSLOTS, META, SECRETS, VAULT_DIGEST_KEY};
use super::{Vault, audit, env_range, env_rank, validate};

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
    /// Deep checks with the data key: key slots, digests, every record decrypts, the audit chain.
    pub fn doctor(&self) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        let (slots, catalog_ok, legacy, mut envs) = self.read(|txn| {
            let mut slots = Vec::new();
            for entry in txn.open_table(KEYSLOTS)?.iter()? {
                let (_, v) = entry?;
                let slot: Slot = decode(v.value(), "key slot")?;
                slots.push(slot);
            }
            let meta = txn.open_table(META)?;
            let secrets = txn.open_table(SECRETS)?;
            let digests = txn.open_table(DIGESTS)?;
            // Even when the vault digest fails, every environment is still checked:
            // the report should say what else is wrong.
            let catalog = self.catalog_entries(
                &txn.open_table(ENVIRONMENTS)?,
                &digests,
                &meta,
                &txn.open_table(KEYSLOTS)?,
            )?;
            let catalog_ok = self.catalog_verified(&catalog, &meta)?;
            let legacy = meta.get(VAULT_DIGEST_KEY)?.is_none();
            let mut envs = Vec::new();
            for super::EnvEntry {
                id,
                project,
                name: env,
                ..
            } in catalog.entries
            {
                let digest = self.verify_env(&secrets, &digests, &id, &project, &env);
                let mut count = 0;
                let mut broken = Vec::new();
                for entry in secrets.range(env_range(&id))? {
                    let (k, v) = entry?;
                    count += 1;
                    let opened = decode::<SecretRecord>(v.value(), "secret record").and_then(|r| {
                        let meta = self.open_meta(&k.value(), &r, (&project, &env))?;
                        let super::records::SecretMeta::V1 { key, .. } = &meta;
                        self.open_value(&k.value(), &r, (&project, &env), key)
                            .map(|_| ())
                    });
                    if let Err(e) = opened {
                        broken.push(e.to_string());
                    }
                }
                envs.push((project, env, count, digest.err(), broken));
            }
            Ok((slots, catalog_ok, legacy, envs))
        })?;

        let passphrases = slots
            .iter()
            .filter(|s| matches!(s.kind(), SlotKind::Passphrase { .. }))
            .count();
        let keyfiles = slots.len() - passphrases;
        out.push(Finding::Ok(format!(
            "{}: {passphrases} passphrase, {keyfiles} keyfile",
            validate::count(slots.len(), "key slot", "key slots")
        )));
        if self.format() < 2 {
            out.push(Finding::Warning(
                "this vault is in format 1: its key slots are outside the vault digest and a removed credential cannot be revoked; run `tresor upgrade` (it asks for each passphrase and keyfile once)".into(),
            ));
        }
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
        if catalog_ok && legacy {
            out.push(Finding::Warning(
                "this vault still has the older catalog digest, which does not cover each environment's digest; the next change (any add, edit or delete) upgrades it".into(),
            ));
        }
        if catalog_ok {
            out.push(Finding::Ok(format!(
                "{} the catalog digest",
                validate::count(envs.len(), "environment matches", "environments match")
            )));
        } else {
            out.push(Finding::Problem(VaultError::CatalogMismatch.to_string()));
        }
        // In the order of `env list`.
        envs.sort_by(|a, b| (&a.0, env_rank(&a.1)).cmp(&(&b.0, env_rank(&b.1))));
        for (project, env, count, digest_error, broken) in envs {
            match (digest_error, broken.is_empty()) {
                (None, true) => out.push(Finding::Ok(format!(
                    "{project}/{env}: {}",
                    validate::count(
                        count,
                        "secret decrypts and matches its digest",
                        "secrets decrypt and match their digest"
                    )
                ))),
                (digest_error, _) => {
                    if let Some(e) = digest_error {
                        out.push(Finding::Problem(e.to_string()));
                    }
                    for b in broken {
                        out.push(Finding::Problem(b));
                    }
                }
            }
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
                    super::validate::count(entries, "entry", "entries")
                )),
            );
        }
        out
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
