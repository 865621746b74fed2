//! Keyfiles: 32 random bytes in a 0600 file, for servers and CI where nobody types a
//! passphrase. Unlocking with one costs microseconds (HKDF, no Argon2).
//!
//! The file is one text line, `tresor-keyfile-v1:<64 hex digits>`, so it survives being
//! pasted into a CI secret store; raw 32-byte files are read too.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use zeroize::Zeroizing;

use super::audit::{hex_string, unhex};
use super::crypto::{self, KEY_LEN};
use super::error::{Result, VaultError};
use super::store;

const PREFIX: &str = "tresor-keyfile-v1:";

pub type KeyfileSecret = Zeroizing<[u8; KEY_LEN]>;

/// Writes a new random keyfile; refuses to overwrite an existing file.
pub fn generate(path: &Path) -> Result<KeyfileSecret> {
    // `--keyfile ~/.config/tresor/ci.key` on a fresh machine: make the folder, private.
    store::ensure_parent_dir(path)?;
    let secret = crypto::random_key()?;
    let mut file = store::create_private_file(path).map_err(|e| match e {
        VaultError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
            VaultError::BadKeyfile {
                path: path.to_path_buf(),
                reason: "the file already exists; choose a new path".into(),
            }
        }
        other => other,
    })?;
    let line = Zeroizing::new(format!("{PREFIX}{}\n", hex_string(&secret[..])));
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| VaultError::io(path, e))?;
    Ok(secret)
}

/// Reads a keyfile from one open handle, checked with fstat: a regular file of yours
/// that no one else can read. A symlink is followed (secret mounts such as Kubernetes'
/// are symlinks); what it points at is what gets checked.
pub fn read(path: &Path) -> Result<KeyfileSecret> {
    const MAX_LEN: u64 = 4096;
    let bad = |reason: &str| VaultError::BadKeyfile {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let file = OpenOptions::new()
        .read(true)
        // O_NONBLOCK: opening a named pipe must not wait for a writer.
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => VaultError::KeyfileNotFound(path.to_path_buf()),
            _ => VaultError::io(path, e),
        })?;
    let meta = file.metadata().map_err(|e| VaultError::io(path, e))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        return Err(bad(if kind.is_dir() {
            "not a regular file (a folder)"
        } else if kind.is_fifo() {
            "not a regular file (a named pipe)"
        } else if kind.is_socket() {
            "not a regular file (a socket)"
        } else {
            "not a regular file (a device)"
        }));
    }
    store::check_private(path, &meta)?;
    if meta.len() > MAX_LEN {
        return Err(bad("too large to be a tresor keyfile"));
    }
    let mut raw = Zeroizing::new(Vec::with_capacity(MAX_LEN as usize + 1));
    file.take(MAX_LEN + 1)
        .read_to_end(&mut raw)
        .map_err(|e| VaultError::io(path, e))?;
    if raw.len() as u64 > MAX_LEN {
        return Err(bad("too large to be a tresor keyfile"));
    }
    let mut secret = Zeroizing::new([0u8; KEY_LEN]);
    if raw.len() == KEY_LEN && !raw.starts_with(PREFIX.as_bytes()) {
        secret.copy_from_slice(&raw);
        return Ok(secret);
    }
    let text = raw.trim_ascii();
    let hex = text
        .strip_prefix(PREFIX.as_bytes())
        .ok_or_else(|| bad("not a tresor keyfile (it should start with `tresor-keyfile-v1:`)"))?;
    let bytes = Zeroizing::new(unhex(hex).ok_or_else(|| bad("the key is not valid hex"))?);
    if bytes.len() != KEY_LEN {
        return Err(bad("the key must be 32 bytes"));
    }
    secret.copy_from_slice(&bytes);
    Ok(secret)
}
