//! The audit log: an append-only file beside the vault, one sealed, hash-chained entry
//! per line.
//!
//! Kept out of the redb file on purpose: `get` and `run` must stay read-only and fast, and
//! a read must never need the vault's write lock. Each line is sealed with the audit
//! subkey and its associated data holds the hash of the line before it, so editing,
//! removing or reordering an entry breaks the chain from there on. Lines are written with
//! `O_APPEND` in one `write` under an exclusive lock. Cutting entries off the end is not
//! detectable without outside state.
//!
//! The file is opened without following a symlink, and the open handle must be a regular
//! file of the effective user (root included) that no one else can read or write;
//! otherwise nothing is written and the caller shows why.
//!
//! Crashes. The file is not fsynced per entry, so a power loss can cost entries the OS had
//! not flushed; a crash (or a full disk) during a write can leave a torn last line without
//! its '\n'. The next entry then starts with '\n', so it is its own line, and chains to the
//! last complete line before the fragment and to the fragment's bytes. The reader's rule:
//! a line that does not verify but is followed by an entry chained past it that way, or
//! that is the file's unterminated last line, is an *interrupted entry* (a warning: only
//! tresor, holding the key, can write an entry that chains past a line). Any other line that does not verify is damage or
//! tampering, as is a line longer than any entry can be ([`MAX_LINE`]); the entry after
//! such a long line chains to a marker instead of to its bytes, so finding the last entry
//! never reads more than about two lines' worth from the end.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::crypto::{self, Key32, Keys, NONCE_LEN};
use super::error::{Result, VaultError};
use super::model::Via;
use super::records::{decode, encode};

/// The longest line an entry can make: its key list is capped at [`MAX_KEYS_TEXT`] and
/// every other field is short, so a sealed, hex-encoded entry stays well under this.
pub const MAX_LINE: usize = 1 << 20;
/// `run`, `export` and `import` list the keys they touched; past this the list is cut.
const MAX_KEYS_TEXT: usize = 256 * 1024;
/// User and host names are short; a longer one is cut.
const MAX_NAME_TEXT: usize = 1024;

/// postcard is not self-describing: a new field means a new variant, never a changed one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum AuditRecord {
    V1(AuditEventV1),
    V2(AuditEvent),
}

/// An entry as written before entries recorded the key slot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEventV1 {
    pub time: i64,
    pub user: String,
    pub host: String,
    pub via: Via,
    pub action: String,
    pub project: String,
    pub env: String,
    pub key: String,
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
    /// The key slot that unlocked the vault; `None` in entries from before it was recorded.
    pub slot: Option<u32>,
}

impl From<AuditEventV1> for AuditEvent {
    fn from(e: AuditEventV1) -> Self {
        AuditEvent {
            time: e.time,
            user: e.user,
            host: e.host,
            via: e.via,
            action: e.action,
            project: e.project,
            env: e.env,
            key: e.key,
            slot: None,
        }
    }
}

/// A line of the log as the reader judged it. Lines are numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditLine {
    Ok(AuditEvent),
    /// Does not verify: edited, reordered, removed around, or from another vault.
    Broken {
        line: usize,
    },
    /// An entry cut off while being written (see the module notes): at most it is lost.
    Interrupted {
        line: usize,
    },
    /// Longer than any entry can be: planted or damaged; not decrypted.
    Oversized {
        line: usize,
        len: usize,
    },
}

pub fn log_path(vault: &Path) -> PathBuf {
    let mut name = vault.as_os_str().to_owned();
    name.push(".audit");
    PathBuf::from(name)
}

/// What an entry's chain hash covers: the line before it, the start of the file, or the
/// marker that stands in for a line too long to read.
#[derive(Clone, Copy)]
enum Prev<'a> {
    Start,
    Line(&'a [u8]),
    Oversized,
}

/// What an entry is chained to: the line before it, or, for the first entry after a torn
/// line, the complete line before the fragment *and* the fragment's bytes. Binding the
/// fragment means only tresor, after a real crash, can chain past a line: a moved or
/// swapped entry never reads as interrupted.
#[derive(Clone, Copy)]
struct Chain<'a> {
    prev: Prev<'a>,
    torn: Option<&'a [u8]>,
}

impl<'a> Chain<'a> {
    fn after(prev: Prev<'a>) -> Chain<'a> {
        Chain { prev, torn: None }
    }

    fn hash(self, key: &Key32) -> Result<[u8; 32]> {
        let base = match self.prev {
            Prev::Start => [0u8; 32],
            Prev::Line(line) => crypto::keyed_hash(key, &[b"chain", line])?,
            Prev::Oversized => crypto::keyed_hash(key, &[b"chain-oversized"])?,
        };
        match self.torn {
            None => Ok(base),
            Some(fragment) => crypto::keyed_hash(key, &[b"chain-after-torn", &base, fragment]),
        }
    }
}

fn chain_ad(vault_id: &[u8; 16], prev: &[u8; 32]) -> Vec<u8> {
    let mut ad = b"tresor/v1/audit\0".to_vec();
    ad.extend_from_slice(vault_id);
    ad.extend_from_slice(prev);
    ad
}

/// Why a file at the audit path must not be used, from its metadata (fstat of the open
/// handle when writing, lstat for `doctor`).
pub fn unsafe_reason(path: &Path, meta: &Metadata) -> Option<String> {
    let kind = meta.file_type();
    let shown = path.display();
    if kind.is_symlink() {
        return Some(format!(
            "the audit log is a symbolic link, which tresor does not follow; remove the link (`rm {shown}`) and the next entry starts a new log there"
        ));
    }
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a folder"
        } else if kind.is_fifo() {
            "a named pipe"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Some(format!(
            "the audit log is not a regular file ({what}); move it away and the next entry starts a new log"
        ));
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Some(format!(
            "the audit log belongs to uid {}, not to you (uid {me}): someone else made or replaced it; check it, then move it aside (`mv {shown} {shown}.suspect`) or `chown` it to yourself",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Some(format!(
            "the audit log is open to other users (mode {mode:04o}); run `chmod 600 {shown}`"
        ));
    }
    None
}

/// Opens the log without following a symlink, then checks the open handle. `None` when
/// reading and there is no log yet.
fn open_log(path: &Path, write: bool) -> Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true);
    if write {
        options.append(true).create(true).mode(0o600);
    }
    // O_NONBLOCK: a named pipe planted at the path must not hang the open.
    options.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK);
    let refuse = |why: String| VaultError::io(path, std::io::Error::other(why));
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !write => return Ok(None),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::EISDIR)) => {
            let why = std::fs::symlink_metadata(path)
                .ok()
                .and_then(|m| unsafe_reason(path, &m));
            return Err(why.map_or_else(|| VaultError::io(path, e), refuse));
        }
        Err(e) => return Err(VaultError::io(path, e)),
    };
    let meta = file.metadata().map_err(|e| VaultError::io(path, e))?;
    if let Some(why) = unsafe_reason(path, &meta) {
        return Err(refuse(why));
    }
    Ok(Some(file))
}

pub fn append(vault: &Path, keys: &Keys, mut event: AuditEvent) -> Result<()> {
    let path = log_path(vault);
    let Some(mut file) = open_log(&path, true)? else {
        return Ok(());
    };
    file.lock().map_err(|e| VaultError::io(&path, e))?;
    let io = |e| VaultError::io(&path, e);
    let len = file.metadata().map_err(io)?.len();
    let tail = read_tail(&mut file, len).map_err(io)?;
    // `read_tail` stops only once the answer is known, or at a length only an oversized
    // line can explain.
    let chain = last_entry(&tail.bytes, tail.at_start).unwrap_or(Chain::after(Prev::Oversized));
    let torn = tail.bytes.last().is_some_and(|&b| b != b'\n');
    cap_fields(&mut event);
    let plain = encode(&AuditRecord::V2(event))?;
    let ad = chain_ad(&keys.vault_id, &chain.hash(&keys.audit)?);
    let (nonce, sealed) = crypto::seal(&keys.audit, &plain, &ad)?;
    let mut line = String::with_capacity(2 * (NONCE_LEN + sealed.len()) + 2);
    if torn {
        line.push('\n');
    }
    line.push_str(&hex(&nonce));
    line.push_str(&hex(&sealed));
    line.push('\n');
    file.write_all(line.as_bytes()).map_err(io)
}

/// Keeps every entry under [`MAX_LINE`]: a huge import lists its first keys and a count.
pub(crate) fn cap_fields(event: &mut AuditEvent) {
    if event.key.len() > MAX_KEYS_TEXT {
        let total = event.key.split(',').count();
        let mut cut = MAX_KEYS_TEXT;
        while !event.key.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = event.key[..cut].rfind(',').unwrap_or(0);
        event.key.truncate(cut);
        event.key.push_str(&format!(",…({total} keys in all)"));
    }
    for name in [&mut event.user, &mut event.host] {
        if name.len() > MAX_NAME_TEXT {
            let mut cut = MAX_NAME_TEXT;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            name.truncate(cut);
        }
    }
}

/// The end of the file, enough of it to hold the last two lines when they are of a size
/// an entry can have.
struct Tail {
    bytes: Vec<u8>,
    /// The bytes start at offset 0.
    at_start: bool,
}

/// Reads the end of the file backwards: a window that grows 4× until it holds what
/// [`last_entry`] needs, so the bytes read stay proportional to the lines found (never
/// more than about 2 × [`MAX_LINE`]), however long the file or its last line.
fn read_tail(file: &mut File, len: u64) -> std::io::Result<Tail> {
    const FIRST: u64 = 4096;
    // Two lines of at most MAX_LINE, their '\n's, and a byte more.
    let limit = 2 * MAX_LINE as u64 + 4;
    let mut window = FIRST.min(len);
    loop {
        let start = len - window;
        let mut bytes = vec![0u8; window as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut bytes)?;
        let tail = Tail {
            bytes,
            at_start: start == 0,
        };
        if tail.at_start || window >= limit || last_entry(&tail.bytes, false).is_some() {
            return Ok(tail);
        }
        window = (window * 4).min(limit).min(len);
    }
}

/// What the next entry chains to. `None` when `bytes` does not reach far enough back.
fn last_entry(bytes: &[u8], at_start: bool) -> Option<Chain<'_>> {
    if bytes.is_empty() {
        return Some(Chain::after(Prev::Start));
    }
    let terminated = bytes.last() == Some(&b'\n');
    let body = if terminated {
        &bytes[..bytes.len() - 1]
    } else {
        bytes
    };
    // The last line (complete or torn): after the last '\n' in `body`.
    let (last, before) = match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => (&body[i + 1..], Some(&body[..i])),
        None if at_start => (body, None),
        None if body.len() > MAX_LINE => return Some(Chain::after(Prev::Oversized)),
        None => return None,
    };
    if last.len() > MAX_LINE {
        return Some(Chain::after(Prev::Oversized));
    }
    if terminated {
        return Some(Chain::after(Prev::Line(last)));
    }
    let torn = |prev| {
        Some(Chain {
            prev,
            torn: Some(last),
        })
    };
    // Torn: chain past the fragment, to the complete line before it.
    let Some(before) = before else {
        return torn(Prev::Start);
    };
    match before.iter().rposition(|&b| b == b'\n') {
        Some(i) if before.len() - i - 1 > MAX_LINE => torn(Prev::Oversized),
        Some(i) => torn(Prev::Line(&before[i + 1..])),
        None if at_start => torn(Prev::Line(before)),
        None if before.len() > MAX_LINE => torn(Prev::Oversized),
        None => None,
    }
}

/// The keys that may have sealed an entry: the current one, then each earlier one (an
/// entry from before a `rekey`), newest first.
fn audit_keys(keys: &Keys) -> impl Iterator<Item = &Key32> {
    std::iter::once(&keys.audit).chain(keys.audit_history.iter().rev())
}

fn verify(keys: &Keys, line: &[u8], chain: Chain<'_>) -> Result<Option<AuditEvent>> {
    let Some(raw) = unhex(line).filter(|raw| raw.len() > NONCE_LEN) else {
        return Ok(None);
    };
    let Ok(nonce) = <[u8; NONCE_LEN]>::try_from(&raw[..NONCE_LEN]) else {
        return Ok(None);
    };
    for key in audit_keys(keys) {
        let ad = chain_ad(&keys.vault_id, &chain.hash(key)?);
        if let Ok(plain) = crypto::open(key, &nonce, &raw[NONCE_LEN..], &ad) {
            return Ok(match decode::<AuditRecord>(&plain, "audit entry").ok() {
                Some(AuditRecord::V1(e)) => Some(e.into()),
                Some(AuditRecord::V2(e)) => Some(e),
                None => None,
            });
        }
    }
    Ok(None)
}

/// Every line of the log, judged (see the module notes). Reads the file once.
pub fn read(vault: &Path, keys: &Keys) -> Result<Vec<AuditLine>> {
    let path = log_path(vault);
    let Some(mut file) = open_log(&path, false)? else {
        return Ok(Vec::new());
    };
    let mut text = Vec::new();
    file.read_to_end(&mut text)
        .map_err(|e| VaultError::io(&path, e))?;
    let terminated = text.last() == Some(&b'\n');
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if terminated || text.is_empty() {
        lines.pop();
    }
    let count = lines.len();
    let mut out: Vec<AuditLine> = Vec::with_capacity(count);
    let mut prev = Prev::Start;
    // What the line before `prev`'s line chained to, and that line: the first entry after
    // a torn line chains to both.
    let mut skipped: Option<(Prev<'_>, &[u8])> = None;
    for (i, &line) in lines.iter().enumerate() {
        let number = i + 1;
        if line.len() > MAX_LINE {
            out.push(AuditLine::Oversized {
                line: number,
                len: line.len(),
            });
            skipped = None;
            prev = Prev::Oversized;
            continue;
        }
        let mut event = verify(keys, line, Chain::after(prev))?;
        if event.is_none()
            && let Some((before, fragment)) = skipped
        {
            event = verify(
                keys,
                line,
                Chain {
                    prev: before,
                    torn: Some(fragment),
                },
            )?;
            if event.is_some()
                && let Some(last) = out.last_mut()
                && let AuditLine::Broken { line } = *last
            {
                *last = AuditLine::Interrupted { line };
            }
        }
        out.push(match event {
            Some(e) => AuditLine::Ok(e),
            None if number == count && !terminated => AuditLine::Interrupted { line: number },
            None => AuditLine::Broken { line: number },
        });
        skipped = Some((prev, line));
        prev = Prev::Line(line);
    }
    Ok(out)
}

/// `doctor`'s look at the log file without opening it: `Ok(false)` when there is none yet.
pub fn check_file(vault: &Path) -> std::result::Result<bool, String> {
    let path = log_path(vault);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) => match unsafe_reason(&path, &meta) {
            Some(why) => Err(format!("{}: {why}", path.display())),
            None => Ok(true),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
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

/// The effective user (from the password database) and host, recorded with every event.
/// Looked up once per process: an import that keeps 10,000 earlier values names who
/// replaced each, and each password-database lookup reads /etc/passwd again.
pub fn who() -> (String, String) {
    static WHO: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    WHO.get_or_init(look_up_who).clone()
}

fn look_up_who() -> (String, String) {
    // Never $USER or $LOGNAME: anyone can set them to anything.
    let user = passwd_name().unwrap_or_else(|| format!("uid {}", unsafe { libc::geteuid() }));
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

/// When each key slot last appears in a verified entry.
pub fn slot_last_used(lines: &[AuditLine]) -> std::collections::BTreeMap<u32, i64> {
    let mut out = std::collections::BTreeMap::new();
    for line in lines {
        if let AuditLine::Ok(AuditEvent {
            slot: Some(id),
            time,
            ..
        }) = line
        {
            let last = out.entry(*id).or_insert(*time);
            *last = (*last).max(*time);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::derive(crypto::random_key().unwrap(), [7u8; 16]).unwrap()
    }

    fn event(action: &str) -> AuditEvent {
        AuditEvent {
            time: 1,
            user: "u".into(),
            host: "h".into(),
            via: Via::Cli,
            action: action.into(),
            project: "p".into(),
            env: "e".into(),
            key: String::new(),
            slot: Some(0),
        }
    }

    /// One letter per line: o ok, b broken, i interrupted, x oversized.
    fn judged(vault: &Path, keys: &Keys) -> String {
        read(vault, keys)
            .unwrap()
            .iter()
            .map(|l| match l {
                AuditLine::Ok(_) => 'o',
                AuditLine::Broken { .. } => 'b',
                AuditLine::Interrupted { .. } => 'i',
                AuditLine::Oversized { .. } => 'x',
            })
            .collect()
    }

    fn setup(n: usize) -> (tempfile::TempDir, PathBuf, Keys) {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v.tresor");
        let keys = keys();
        for i in 0..n {
            append(&vault, &keys, event(&format!("a{i}"))).unwrap();
        }
        (dir, vault, keys)
    }

    fn cut(vault: &Path, by: usize) {
        let path = log_path(vault);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - by]).unwrap();
    }

    #[test]
    fn a_torn_line_anywhere_costs_only_itself() {
        let (_d, vault, keys) = setup(3);
        cut(&vault, 30);
        assert_eq!(judged(&vault, &keys), "ooi");
        append(&vault, &keys, event("after")).unwrap();
        append(&vault, &keys, event("after")).unwrap();
        assert_eq!(judged(&vault, &keys), "ooioo");
        // Torn again right after the recovery, and as the very first line.
        cut(&vault, 10);
        append(&vault, &keys, event("again")).unwrap();
        assert_eq!(judged(&vault, &keys), "ooioio");

        let (_d, vault, keys) = setup(1);
        cut(&vault, 5);
        append(&vault, &keys, event("first")).unwrap();
        assert_eq!(judged(&vault, &keys), "io");
    }

    /// Chaining past a line binds that line's bytes: swapping entries, or replacing the
    /// torn fragment, never reads as an interruption.
    #[test]
    fn moved_entries_are_broken_not_interrupted() {
        let (_d, vault, keys) = setup(4);
        let path = log_path(&vault);
        let text = std::fs::read_to_string(&path).unwrap();
        let l: Vec<&str> = text.lines().collect();
        std::fs::write(&path, [l[0], l[2], l[1], l[3], ""].join("\n")).unwrap();
        assert!(!judged(&vault, &keys).contains('i'));

        let (_d, vault, keys) = setup(2);
        cut(&vault, 30);
        append(&vault, &keys, event("after")).unwrap();
        let path = log_path(&vault);
        let text = std::fs::read_to_string(&path).unwrap();
        let replaced = text.replacen(text.lines().nth(1).unwrap(), "00ff", 1);
        std::fs::write(&path, replaced).unwrap();
        assert_eq!(judged(&vault, &keys), "obb");
    }

    #[test]
    fn oversized_lines_are_skipped_without_reading_them_back() {
        let (_d, vault, keys) = setup(1);
        let path = log_path(&vault);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::iter::repeat_n(b'a', MAX_LINE + 1));
        std::fs::write(&path, &bytes).unwrap();
        append(&vault, &keys, event("after")).unwrap();
        assert_eq!(judged(&vault, &keys), "oxo");
        // A torn line after a complete oversized one.
        append(&vault, &keys, event("x")).unwrap();
        cut(&vault, 20);
        append(&vault, &keys, event("y")).unwrap();
        assert_eq!(judged(&vault, &keys), "oxoio");
    }

    #[test]
    fn a_huge_key_list_is_cut_to_fit_a_line() {
        let (_d, vault, keys) = setup(0);
        let mut e = event("import");
        e.key = (0..40_000)
            .map(|i| format!("KEY_NUMBER_{i:08}"))
            .collect::<Vec<_>>()
            .join(",");
        append(&vault, &keys, e).unwrap();
        let text = std::fs::read(log_path(&vault)).unwrap();
        assert!(text.len() < MAX_LINE, "{}", text.len());
        let lines = read(&vault, &keys).unwrap();
        let AuditLine::Ok(e) = &lines[0] else {
            panic!("{lines:?}")
        };
        assert!(
            e.key.ends_with(",…(40000 keys in all)"),
            "{}",
            &e.key[e.key.len() - 40..]
        );
    }

    /// postcard is positional: a V1 entry must decode as V1 forever.
    #[test]
    fn v1_entries_still_decode() {
        let old = AuditEventV1 {
            time: 5,
            user: "u".into(),
            host: "h".into(),
            via: Via::Tui,
            action: "get".into(),
            project: "p".into(),
            env: "e".into(),
            key: "K".into(),
        };
        let bytes = encode(&AuditRecord::V1(old.clone())).unwrap();
        assert_eq!(bytes[0], 0, "V1 is variant 0");
        let AuditRecord::V1(back) = decode::<AuditRecord>(&bytes, "t").unwrap() else {
            panic!()
        };
        let event: AuditEvent = back.into();
        assert_eq!(event.slot, None);
        assert_eq!(event.via, Via::Tui);
    }
}
