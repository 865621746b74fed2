//! The audit log: an append-only file beside the vault, one sealed, hash-chained entry
//! per line.
//!
//! Kept out of the redb file on purpose: `get` and `run` must stay read-only and fast, and
//! a read must never need the vault's write lock. Each line is sealed with the audit
//! subkey and its associated data holds the hash of the line before it, so editing,
//! removing or reordering an entry breaks the chain from there on. Lines are written with
//! `O_APPEND` in one `write` under an exclusive lock. A process crash can cost at most
//! the entry being written; the file is not fsynced per entry, so a power loss can also
//! cost entries the OS had not yet flushed. Cutting entries off the end is not detectable
//! without outside state.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::crypto::{self, Keys, NONCE_LEN};
use super::error::{Result, VaultError};
use super::model::Via;
use super::records::{decode, encode};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum AuditRecord {
    V1(AuditEvent),
}

/// One thing that happened. Never holds a value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEvent {
    pub time: i64,
    pub user: String,
    pub host: String,
    pub via: Via,
    pub action: String,
    pub project: String,
    pub env: String,
    pub key: String,
}

/// A line that failed to verify is reported, not skipped silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditLine {
    Ok(AuditEvent),
    Broken { line: usize },
}

pub fn log_path(vault: &Path) -> PathBuf {
    let mut name = vault.as_os_str().to_owned();
    name.push(".audit");
    PathBuf::from(name)
}

fn chain_ad(keys: &Keys, prev: &[u8; 32]) -> Vec<u8> {
    let mut ad = b"tresor/v1/audit\0".to_vec();
    ad.extend_from_slice(&keys.vault_id);
    ad.extend_from_slice(prev);
    ad
}

fn line_hash(keys: &Keys, line: &[u8]) -> Result<[u8; 32]> {
    line_hash_with(&keys.audit, line)
}

/// The chain hash of a line, under the audit key the next entry was sealed with.
fn line_hash_with(key: &crypto::Key32, line: &[u8]) -> Result<[u8; 32]> {
    crypto::keyed_hash(key, &[b"chain", line])
}

pub fn append(vault: &Path, keys: &Keys, event: AuditEvent) -> Result<()> {
    let path = log_path(vault);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| VaultError::io(&path, e))?;
    file.lock().map_err(|e| VaultError::io(&path, e))?;
    let prev = match last_line(&mut file).map_err(|e| VaultError::io(&path, e))? {
        Some(line) => line_hash(keys, &line)?,
        None => [0u8; 32],
    };
    let plain = encode(&AuditRecord::V1(event))?;
    let (nonce, sealed) = crypto::seal(&keys.audit, &plain, &chain_ad(keys, &prev))?;
    let mut line = hex(&nonce);
    line.push_str(&hex(&sealed));
    line.push('\n');
    file.write_all(line.as_bytes())
        .map_err(|e| VaultError::io(&path, e))
}

/// The last complete line, read backwards from the end in chunks: entries are usually
/// small, but an import can list thousands of keys in one.
fn last_line(file: &mut File) -> std::io::Result<Option<Vec<u8>>> {
    const CHUNK: u64 = 16 * 1024;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    // Every line ends with '\n'; skip the final one.
    let end = len - 1;
    let mut start = end;
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let from = start.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        start = from;
        let body = &tail[..(end - start) as usize];
        if let Some(i) = body.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(body[i + 1..].to_vec()));
        }
        if start == 0 {
            return Ok(Some(body.to_vec()));
        }
    }
}

pub fn read(vault: &Path, keys: &Keys) -> Result<Vec<AuditLine>> {
    let path = log_path(vault);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(VaultError::io(&path, e)),
    };
    // Entries written before a rekey are sealed with an earlier audit key: newest first.
    let candidates: Vec<&crypto::Key32> = std::iter::once(&keys.audit)
        .chain(keys.audit_history.iter().rev())
        .collect();
    let mut prev_line: Option<&[u8]> = None;
    let mut out = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let entry = unhex(line)
            .filter(|raw| raw.len() > NONCE_LEN)
            .and_then(|raw| {
                let nonce: [u8; NONCE_LEN] = raw[..NONCE_LEN].try_into().ok()?;
                candidates.iter().find_map(|key| {
                    let prev = match prev_line {
                        Some(p) => line_hash_with(key, p).ok()?,
                        None => [0u8; 32],
                    };
                    let plain =
                        crypto::open(key, &nonce, &raw[NONCE_LEN..], &chain_ad(keys, &prev))
                            .ok()?;
                    match decode::<AuditRecord>(&plain, "audit entry").ok()? {
                        AuditRecord::V1(event) => Some(event),
                    }
                })
            });
        out.push(match entry {
            Some(event) => AuditLine::Ok(event),
            None => AuditLine::Broken { line: i + 1 },
        });
        prev_line = Some(line);
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub(crate) fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

pub(crate) fn hex_string(bytes: &[u8]) -> String {
    hex(bytes)
}

/// The OS user and host, recorded with every event.
pub fn who() -> (String, String) {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(passwd_name)
        .unwrap_or_else(|| format!("uid {}", unsafe { libc::geteuid() }));
    let mut buf = [0u8; 256];
    let host = if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown".into()
    };
    (user, host)
}

/// The login name of the effective user, from the password database.
fn passwd_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into the buffers we own and sets `result` to `&pwd` or null.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into `buf`, NUL-terminated by getpwuid_r.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}
