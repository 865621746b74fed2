//! What importing a pasted `.env` block would do, before anything is written: each key
//! new, changed, unchanged, or invalid with the page's message. Used by the TUI's import
//! popup; the import itself is [`Vault::import`], one transaction, after confirmation.
//!
//! The block is read with the same parser and rules as `tresor import`. A preview holds
//! keys, line numbers and messages only, never a value; comparing with the stored values
//! happens inside the vault, in constant time, and reveals only equal or not.

use super::dotenv::{self, Entry};
use super::error::Result;
use super::records::FORMAT;
use super::{SecretValue, Vault, VaultError, validate};

/// What the import would do with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewStatus {
    /// No secret of this key: it would be created.
    New,
    /// A secret with another value: replaced only with overwrite on.
    Changed,
    /// Exactly this value already: left alone (its age stays).
    Unchanged,
    /// An empty value: skipped, as `import` does (a value is required).
    Empty,
    /// Cannot be imported; the message says why. Nothing is imported while one remains.
    Invalid(String),
}

/// One line of the preview: a key (or, for an unreadable line, what is there instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLine {
    /// 1-based line of the block where the key is (the last one, for a duplicate).
    pub line: usize,
    /// Made printable; empty for a line that is not `KEY=value`.
    pub key: String,
    pub status: PreviewStatus,
    /// The page's advice that does not stop the import (lowercase, a name `run` refuses).
    pub warning: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPreview {
    /// In the block's order.
    pub lines: Vec<PreviewLine>,
}

impl ImportPreview {
    pub fn count(&self, want: fn(&PreviewStatus) -> bool) -> usize {
        self.lines.iter().filter(|l| want(&l.status)).count()
    }

    pub fn invalid(&self) -> usize {
        self.count(|s| matches!(s, PreviewStatus::Invalid(_)))
    }
}

/// The entries of a pasted block that an import would write, keys and values, the last
/// duplicate winning; `None` when a line is invalid (the preview says which).
pub fn importable(text: &str) -> Option<Vec<(String, SecretValue)>> {
    let entries = dotenv::parse(text).ok()?;
    if entries.iter().any(|e| invalid_reason(e).is_some()) {
        return None;
    }
    Some(
        dotenv::dedup_last_wins(entries)
            .into_iter()
            .map(|mut e| {
                // Moves the bytes; the emptied string is wiped anyway.
                let value = std::mem::take(&mut *e.value).into_bytes();
                (e.key, SecretValue::new(value))
            })
            .collect(),
    )
}

/// Why an entry cannot be imported, in the page's words.
fn invalid_reason(entry: &Entry) -> Option<String> {
    if let Err(e) = validate::secret_key(&entry.key) {
        return Some(e.to_string());
    }
    if !entry.value.is_empty()
        && let Err(e) = validate::value(entry.value.as_bytes())
    {
        return Some(e.to_string());
    }
    None
}

impl Vault {
    /// Reads a pasted `.env` block and compares it with `project/env`. Reads only: the
    /// leaf of each key is verified, so a short block costs the same at any size.
    pub fn preview_import(&self, project: &str, env: &str, text: &str) -> Result<ImportPreview> {
        if self.format < FORMAT {
            return Err(VaultError::UpgradeRequired { ids: Vec::new() });
        }
        let (entries, bad) = dotenv::parse_keeping_entries(text);
        let mut lines = Vec::new();
        let mut valid: Vec<(usize, Entry)> = Vec::new();
        for entry in dotenv::dedup_last_wins(entries) {
            let key = validate::printable(&entry.key);
            match invalid_reason(&entry) {
                Some(why) => lines.push(PreviewLine {
                    line: entry.line,
                    key,
                    status: PreviewStatus::Invalid(validate::printable(&why)),
                    warning: None,
                }),
                None if entry.value.is_empty() => lines.push(PreviewLine {
                    line: entry.line,
                    key,
                    status: PreviewStatus::Empty,
                    warning: None,
                }),
                None => {
                    valid.push((lines.len(), entry));
                    lines.push(PreviewLine {
                        line: 0,
                        key,
                        status: PreviewStatus::New,
                        warning: None,
                    });
                }
            }
        }
        let statuses = self.read(|txn, catalog| {
            let entry = self.find_env(catalog, project, env)?;
            let mut out = Vec::with_capacity(valid.len());
            for (_, e) in &valid {
                let (id, record) = self.find_record(txn, entry, project, env, &e.key)?;
                out.push(match record {
                    None => PreviewStatus::New,
                    Some(r)
                        if self.same_value(
                            &id,
                            &r,
                            (project, env),
                            &e.key,
                            e.value.as_bytes(),
                        )? =>
                    {
                        PreviewStatus::Unchanged
                    }
                    Some(_) => PreviewStatus::Changed,
                });
            }
            Ok(out)
        })?;
        for ((at, entry), status) in valid.into_iter().zip(statuses) {
            let line = &mut lines[at];
            line.line = entry.line;
            line.status = status;
            line.warning = validate::lowercase_warning(&entry.key)
                .or_else(|| {
                    validate::dangerous_env_name(&entry.key)
                        .map(|_| format!("`tresor run` refuses {} without --allow-name", entry.key))
                })
                .map(|w| validate::printable(&w));
        }
        if let Some(dotenv::DotenvError::BadLine { line, reason }) = bad {
            lines.push(PreviewLine {
                line,
                key: String::new(),
                status: PreviewStatus::Invalid(validate::printable(&reason)),
                warning: None,
            });
        }
        lines.sort_by_key(|l| l.line);
        Ok(ImportPreview { lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{NewCredential, NewSecret};

    #[test]
    fn each_key_is_new_changed_unchanged_empty_or_invalid_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let v = Vault::create(
            &dir.path().join("v.tresor"),
            NewCredential::Keyfile(dir.path().join("k")),
        )
        .expect("create");
        for (key, value) in [("SAME", "1"), ("OTHER", "2")] {
            let secret = NewSecret {
                key: key.into(),
                value: SecretValue::new(value.as_bytes().to_vec()),
                description: String::new(),
                kind: None,
            };
            v.add("default", "development", secret).expect("add");
        }
        let text = "SAME=1\nOTHER=changed\nNEW=x\nNEW=y\nEMPTY=\nbad-key=1\nnot a line\n";
        let preview = v
            .preview_import("default", "development", text)
            .expect("preview");
        let got: Vec<(usize, &str, &PreviewStatus)> = preview
            .lines
            .iter()
            .map(|l| (l.line, l.key.as_str(), &l.status))
            .collect();
        assert_eq!(
            got[..4],
            [
                (1, "SAME", &PreviewStatus::Unchanged),
                (2, "OTHER", &PreviewStatus::Changed),
                (4, "NEW", &PreviewStatus::New),
                (5, "EMPTY", &PreviewStatus::Empty),
            ]
        );
        assert!(matches!(got[4], (6, "bad-key", PreviewStatus::Invalid(_))));
        assert!(matches!(got[5], (7, "", PreviewStatus::Invalid(_))));
        assert_eq!(preview.invalid(), 2);
        assert!(
            importable(text).is_none(),
            "an invalid line imports nothing"
        );
        let keys: Vec<String> = v
            .list("default", "development")
            .expect("list")
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(keys, ["OTHER", "SAME"], "a preview writes nothing");
        let ok = importable("A=1\nA=2\n").expect("importable");
        assert_eq!(ok.len(), 1);
        assert_eq!(&*ok[0].1, b"2", "the last duplicate wins");
    }
}
