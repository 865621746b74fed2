//! Where the agent's socket lives and the checks on it: a 0700 folder owned by the
//! user in `$XDG_RUNTIME_DIR/tresor` (or `tresor-UID` in the temporary folder when that
//! is unset), a 0600 socket in it, and the peer's uid on every connection.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const SOCKET_NAME: &str = "agent.sock";

pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// The agent's folder for this user.
pub fn dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(runtime) => PathBuf::from(runtime).join("tresor"),
        None => std::env::temp_dir().join(format!("tresor-{}", uid())),
    }
}

/// Creates the folder 0700 if it is missing, then checks it as [`check_dir`] does.
pub fn make_dir() -> io::Result<PathBuf> {
    let dir = dir();
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_dir(&dir).map_err(io::Error::other)?;
    Ok(dir)
}

/// A folder that someone else owns or can enter could hold a socket planted to receive
/// keys: refused, with the reason.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.file_type().is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    check_owner_and_mode(dir, &meta)
}

/// The socket itself: a socket, ours, for us alone.
pub fn check_socket(path: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.file_type().is_socket() {
        return Err(format!("{} is not a socket", path.display()));
    }
    check_owner_and_mode(path, &meta)
}

fn check_owner_and_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.uid() != uid() {
        return Err(format!(
            "{} belongs to another user (uid {})",
            path.display(),
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{} can be reached by other users (mode {mode:o}; it must be {})",
            path.display(),
            if meta.is_dir() { "0700" } else { "0600" }
        ));
    }
    Ok(())
}

/// The uid of the process at the other end of a connected unix socket (`SO_PEERCRED`):
/// the kernel's word, not the peer's.
pub fn peer_uid(socket: &impl AsRawFd) -> io::Result<u32> {
    #[cfg(target_os = "linux")]
    {
        let mut cred = libc::ucred {
            pid: 0,
            uid: u32::MAX,
            gid: u32::MAX,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: `cred` and `len` are valid for writes of the sizes given.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&raw mut cred).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(cred.uid)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut uid = u32::MAX;
        let mut gid = u32::MAX;
        // SAFETY: both out-parameters are valid for writes.
        if unsafe { libc::getpeereid(socket.as_raw_fd(), &mut uid, &mut gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_others_can_enter_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tresor");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
        assert!(check_dir(&dir).unwrap_err().contains("mode 711"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check_dir(&dir).is_ok());
    }

    #[test]
    fn the_peer_of_a_socket_pair_is_this_user() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), uid());
    }
}
