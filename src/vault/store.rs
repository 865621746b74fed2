//! The redb file: where it lives, how it is created and opened, and its tables.
//!
//! Nothing keeps the file open longer than one operation: redb takes an exclusive lock
//! while a read-write `Database` is open, so the TUI and `tresor run` in another terminal
//! can only coexist if every handle is short-lived. A busy vault is retried for about
//! 2 s. A plain redb open trusts the file and can panic on a damaged one, so writes open
//! with the integrity check (unless the file is exactly as the same handle's write left
//! it moments before: `open_write_after`) and every call into redb is fenced with
//! `catch_unwind`.

use std::cell::Cell;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redb::backends::FileBackend;
use redb::{Builder, Database, DatabaseError, ReadOnlyDatabase, ReadableDatabase};

use super::error::{Result, VaultError};

const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
const CACHE_BYTES: usize = 16 << 20;

thread_local! {
    /// Set while redb runs, so the process panic hook can stay quiet about panics that
    /// this module turns into a "vault file is damaged" error.
    static IN_STORAGE: Cell<bool> = const { Cell::new(false) };
}

/// True while a fenced storage call runs on this thread (see [`fenced`]).
pub fn in_storage() -> bool {
    IN_STORAGE.with(Cell::get)
}

/// Runs a redb call; a panic inside becomes `Corrupt` instead of killing the process.
pub fn fenced<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let was = IN_STORAGE.with(|c| c.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    IN_STORAGE.with(|c| c.set(was));
    match outcome {
        Ok(result) => result,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "internal panic".into());
            Err(VaultError::Corrupt(format!(
                "redb could not read it ({why})"
            )))
        }
    }
}

/// The default vault location: the platform data directory.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tresor").map(|d| d.data_dir().join("vault.tresor"))
}

/// Creates the vault file 0600 in a 0700 directory (redb alone would make it 0644).
pub fn create(path: &Path) -> Result<Database> {
    ensure_parent_dir(path)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => VaultError::VaultExists(path.to_path_buf()),
            _ => VaultError::io(path, e),
        })?;
    let backend = FileBackend::new(file).map_err(map_db_error)?;
    fenced(|| {
        Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(backend)
            .map_err(map_db_error)
    })
}

/// Creates the folder a new private file goes in, 0700, when it does not exist yet.
pub fn ensure_parent_dir(path: &Path) -> Result<()> {
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| VaultError::io(dir, e))?;
    }
    Ok(())
}

/// Refuses a file that is missing, empty, not a regular file, not yours, or that other
/// users can read.
pub fn check_file(path: &Path) -> Result<()> {
    open_checked(path, false).map(drop)
}

/// Opens the vault file once and checks that handle (fstat), so the file redb reads is
/// the one checked. A symlink to a vault is followed: keeping the vault in a synced
/// folder and linking it into place is a fair setup, and the target is what is checked.
fn open_checked(path: &Path, write: bool) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        // O_NONBLOCK: a named pipe at the vault path must not hang the open. It has no
        // effect on a regular file.
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => VaultError::NoVault(path.to_path_buf()),
            std::io::ErrorKind::IsADirectory => VaultError::NotAVault(path.to_path_buf()),
            _ => VaultError::io(path, e),
        })?;
    let meta = file.metadata().map_err(|e| VaultError::io(path, e))?;
    if !meta.is_file() {
        return Err(VaultError::NotAVault(path.to_path_buf()));
    }
    // An empty file would be initialised as a fresh database by redb: never do that to
    // something the user pointed at as their vault.
    if meta.len() == 0 {
        return Err(VaultError::NotAVault(path.to_path_buf()));
    }
    check_private(path, &meta)?;
    Ok(file)
}

/// Group or others having any access to a secret-bearing file is refused, and so is a
/// file of another user, for root too: root can open anything, so whoever can plant a
/// file where root's tresor looks would otherwise choose what it trusts.
pub fn check_private(path: &Path, meta: &fs::Metadata) -> Result<()> {
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(VaultError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid {
        return Err(VaultError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!(
                "belongs to uid {}, not to you (uid {uid}); if you trust it, `chown {uid} {}`",
                meta.uid(),
                path.display()
            )),
        });
    }
    Ok(())
}

/// Opens for reading, shared with other readers. Retries while a writer holds the lock.
pub fn open_read(path: &Path) -> Result<ReadOnlyDatabase> {
    let mut repaired = false;
    retry_busy(|| {
        let backend = FileBackend::new(open_checked(path, false)?).map_err(map_db_error)?;
        match fenced(|| {
            Builder::new()
                .set_cache_size(CACHE_BYTES)
                .open_read_only_with_backend(backend)
                .map_err(map_db_error)
        }) {
            // A crash left the file needing repair, which needs a read-write open once.
            Err(VaultError::Storage(msg)) if msg == REPAIR_NEEDED && !repaired => {
                repaired = true;
                drop(open_write(path)?);
                Err(VaultError::Busy)
            }
            other => other,
        }
    })
}

/// Opens for writing with redb's integrity check: a file altered since redb last wrote
/// it fails here instead of being trusted.
pub fn open_write(path: &Path) -> Result<Database> {
    open_write_after(path, None)
}

/// The vault file as a handle left it: a write since, by anyone, changes its change time
/// (which a user cannot set back), its modification time or its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileState {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileState {
    pub fn of(meta: &fs::Metadata) -> FileState {
        FileState {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// How long after a handle's own write its next one trusts the file it left: the
/// transactions of one operation (a team write's change, then the other members'
/// commits), not a screen left open for hours.
pub const TRUST_LEFT_FOR: Duration = Duration::from_secs(5);

/// `open_write`, without the integrity check when the file is still as `left` (this
/// handle's own last write, moments ago) says: the check read and verified every page
/// then, and nothing has written since.
pub fn open_write_after(path: &Path, left: Option<(Instant, FileState)>) -> Result<Database> {
    retry_busy(|| {
        let file = open_checked(path, true)?;
        let unchanged = left.is_some_and(|(at, state)| {
            at.elapsed() < TRUST_LEFT_FOR
                && file
                    .metadata()
                    .is_ok_and(|meta| FileState::of(&meta) == state)
        });
        let backend = FileBackend::new(file).map_err(map_db_error)?;
        fenced(|| {
            // `create_with_backend` opens an existing database like `open` does; it would
            // initialise an empty file, which `open_checked` refused on this handle.
            Builder::new()
                .set_cache_size(CACHE_BYTES)
                .set_check_integrity_on_open(!unchanged)
                .create_with_backend(backend)
                .map_err(map_db_error)
        })
    })
}

fn retry_busy<T>(mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match attempt() {
            Err(VaultError::Busy) if start.elapsed() < BUSY_TIMEOUT => {
                // Jitter so two waiting writers do not wake in lockstep.
                let jitter = u64::from(
                    super::crypto::random_bytes::<1>()
                        .map(|b| b[0])
                        .unwrap_or(0)
                        % 10,
                );
                std::thread::sleep(pause + Duration::from_millis(jitter));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

const REPAIR_NEEDED: &str = "repair needed";

pub fn map_db_error(e: DatabaseError) -> VaultError {
    match e {
        DatabaseError::DatabaseAlreadyOpen => VaultError::Busy,
        DatabaseError::RepairAborted => VaultError::Storage(REPAIR_NEEDED.into()),
        DatabaseError::UpgradeRequired(v) => {
            VaultError::Corrupt(format!("redb file format {v} needs an upgrade"))
        }
        DatabaseError::Storage(s) => map_storage(s),
        other => VaultError::Storage(other.to_string()),
    }
}

pub fn map_storage(e: redb::StorageError) -> VaultError {
    match e {
        redb::StorageError::Corrupted(msg) => VaultError::Corrupt(msg),
        redb::StorageError::Io(io) => io_error(io),
        other => VaultError::Storage(other.to_string()),
    }
}

/// An I/O error reading or writing the vault file: a short read (a page pointing past
/// the end of the file, as a bit flip can make) or invalid data is damage; a full disk
/// is said as such.
fn io_error(io: std::io::Error) -> VaultError {
    match io.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
            VaultError::Corrupt(io.to_string())
        }
        std::io::ErrorKind::StorageFull => VaultError::DiskFull,
        _ => VaultError::Storage(redb::StorageError::Io(io).to_string()),
    }
}

macro_rules! redb_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for VaultError {
            fn from(e: $t) -> Self {
                match redb::Error::from(e) {
                    redb::Error::Corrupted(msg) => VaultError::Corrupt(msg),
                    redb::Error::DatabaseAlreadyOpen => VaultError::Busy,
                    redb::Error::TableTypeMismatch { .. }
                    | redb::Error::TableIsMultimap(_)
                    | redb::Error::TableIsNotMultimap(_)
                    | redb::Error::TypeDefinitionChanged { .. } => {
                        VaultError::Corrupt("a table has an unexpected type".into())
                    }
                    // `init` creates every table, so a missing one means a damaged file.
                    redb::Error::TableDoesNotExist(table) => {
                        VaultError::Corrupt(format!("its {table} table is missing"))
                    }
                    redb::Error::Io(io) => io_error(io),
                    other => VaultError::Storage(other.to_string()),
                }
            }
        }
    )*};
}
redb_errors!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::CompactionError
);

/// Begins a read transaction, fenced like every other call into redb.
pub fn read_txn(db: &ReadOnlyDatabase) -> Result<redb::ReadTransaction> {
    fenced(|| Ok(db.begin_read()?))
}

/// Waits for an exclusive lock (`flock`) on an open file; it goes with the file.
pub fn lock_exclusive(file: &File) -> std::io::Result<()> {
    flock(file, libc::LOCK_EX)
}

/// Waits for a shared lock (`flock`) on an open file; it goes with the file.
pub fn lock_shared(file: &File) -> std::io::Result<()> {
    flock(file, libc::LOCK_SH)
}

fn flock(file: &File, operation: libc::c_int) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: flock on a descriptor this `File` owns.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Opens a file for secret-bearing output (keyfiles, audit log): 0600, never truncating
/// something that exists unless asked.
pub fn create_private_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| VaultError::io(path, e))
}

/// A write transaction with immediate durability and two-phase commit: a crash leaves
/// the old state or the new one, and a returned `Ok` from commit is on disk.
pub fn begin_write(db: &Database) -> Result<redb::WriteTransaction> {
    let mut txn = db.begin_write()?;
    txn.set_durability(redb::Durability::Immediate)
        .map_err(|e| VaultError::Storage(e.to_string()))?;
    txn.set_two_phase_commit(true);
    txn.set_quick_repair(true);
    Ok(txn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bit flip can make a page point past the end of the file: redb then reads
    /// short, which is damage to report as such (the bit-flip tests met it once).
    #[test]
    fn a_short_or_invalid_read_is_damage_and_a_full_disk_is_not() {
        let io = |kind| redb::StorageError::Io(std::io::Error::from(kind));
        for kind in [
            std::io::ErrorKind::UnexpectedEof,
            std::io::ErrorKind::InvalidData,
        ] {
            assert!(matches!(map_storage(io(kind)), VaultError::Corrupt(_)));
            // The same through a transaction's or table's error (the path the bit-flip
            // test met).
            let table = redb::TableError::Storage(io(kind));
            assert!(matches!(VaultError::from(table), VaultError::Corrupt(_)));
        }
        assert!(matches!(
            map_storage(io(std::io::ErrorKind::StorageFull)),
            VaultError::DiskFull
        ));
    }
}
