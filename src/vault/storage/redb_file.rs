//! The embedded backend: one redb file, opened for one transaction at a time.
//!
//! Nothing keeps the file open longer than one operation: redb takes an exclusive lock
//! while a read-write `Database` is open, so the TUI and `tresor run` in another terminal
//! can only coexist if every handle is short-lived (see `store` for opening, busy
//! retries and the fence that turns a panic inside redb into an error).

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::time::Instant;

use redb::{ReadableTable, TableDefinition};

use super::{ReadTxn, Storage, Table, Visit, WriteTxn, prefix_end};
use crate::vault::error::{Result, VaultError};
use crate::vault::store;

type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;
type ByteTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

const META: Def = TableDefinition::new("meta_v2");
const SLOTS: Def = TableDefinition::new("keyslots_v2");
const ENVIRONMENTS: Def = TableDefinition::new("environments_v2");
const SECRETS: Def = TableDefinition::new("secrets_v2");
const DIGESTS: Def = TableDefinition::new("digests_v2");
const TREE: Def = TableDefinition::new("tree_v2");
const HISTORY: Def = TableDefinition::new("history_v2");

fn def(table: Table) -> Def {
    match table {
        Table::Meta => META,
        Table::Slots => SLOTS,
        Table::Environments => ENVIRONMENTS,
        Table::Secrets => SECRETS,
        Table::Digests => DIGESTS,
        Table::Tree => TREE,
        Table::History => HISTORY,
    }
}

/// Whether a redb file has this layout's tables (format 2) rather than format 1's.
fn has_v2_tables(txn: &redb::ReadTransaction) -> Result<bool> {
    match txn.open_table(META) {
        Ok(_) => Ok(true),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A vault file on disk.
pub struct RedbFile {
    path: PathBuf,
    /// The file as this handle's last write left it, and when (`store::open_write_after`).
    left: Cell<Option<(Instant, store::FileState)>>,
}

impl RedbFile {
    pub fn new(path: &Path) -> RedbFile {
        RedbFile {
            path: path.to_path_buf(),
            left: Cell::new(None),
        }
    }

    /// Creates the file (0600, in a 0700 folder) with every table, and fills it in one
    /// transaction.
    pub fn create(path: &Path, f: &mut dyn FnMut(&mut dyn WriteTxn) -> Result<()>) -> Result<()> {
        let db = store::create(path)?;
        store::fenced(|| {
            let txn = store::begin_write(&db)?;
            for table in Table::ALL {
                txn.open_table(def(table))?;
            }
            f(&mut RedbWrite::new(&txn))?;
            txn.commit()?;
            Ok(())
        })
    }

    /// One read, when the file has this layout's tables; `Ok(false)`, having run
    /// nothing, when it is a format-1 file. The file is opened once either way.
    pub fn read_current(&self, f: &mut dyn FnMut(&dyn ReadTxn) -> Result<()>) -> Result<bool> {
        let db = store::open_read(&self.path)?;
        let txn = store::read_txn(&db)?;
        store::fenced(|| {
            if !has_v2_tables(&txn)? {
                return Ok(false);
            }
            let mut tables = Vec::with_capacity(Table::ALL.len());
            for table in Table::ALL {
                match txn.open_table(def(table)) {
                    Ok(t) => tables.push((table, t)),
                    // A vault from before this table: read as empty.
                    Err(redb::TableError::TableDoesNotExist(_)) if table.is_optional() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let read = Read {
                tables,
                _txn: txn,
                _db: db,
            };
            f(&read)?;
            Ok(true)
        })
    }

    /// Moves a format-1 file to this layout in one transaction: `f` reads the old tables
    /// through the raw transaction and fills the new ones; then the old tables go.
    pub fn migrate<T>(
        &self,
        old_tables: &[&str],
        f: impl FnOnce(&redb::WriteTransaction, &mut dyn WriteTxn) -> Result<T>,
    ) -> Result<T> {
        let db = store::open_write(&self.path)?;
        store::fenced(|| {
            let txn = store::begin_write(&db)?;
            for table in Table::ALL {
                txn.open_table(def(table))?;
            }
            let out = f(&txn, &mut RedbWrite::new(&txn))?;
            for name in old_tables {
                // Deleting goes by name only; the key and value types do not matter.
                txn.delete_table(redb::TableDefinition::<&[u8], &[u8]>::new(name))?;
            }
            txn.commit()?;
            Ok(out)
        })
    }
}

struct Read {
    // Field order: the tables and the transaction go before the database closes.
    tables: Vec<(Table, ByteTable)>,
    _txn: redb::ReadTransaction,
    _db: redb::ReadOnlyDatabase,
}

impl Read {
    /// `None` for an optional table the file does not have yet.
    fn table(&self, table: Table) -> Result<Option<&ByteTable>> {
        match self.tables.iter().find(|(t, _)| *t == table) {
            Some((_, t)) => Ok(Some(t)),
            None if table.is_optional() => Ok(None),
            None => Err(VaultError::Corrupt(format!(
                "its {table:?} table is missing"
            ))),
        }
    }
}

fn scan_table(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
    f: &mut Visit<'_>,
) -> Result<()> {
    let end = prefix_end(prefix);
    let range = match &end {
        Some(end) => table.range::<&[u8]>(prefix..end.as_slice())?,
        None => table.range::<&[u8]>(prefix..)?,
    };
    for entry in range {
        let (k, v) = entry?;
        f(k.value(), v.value())?;
    }
    Ok(())
}

impl ReadTxn for Read {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.table(table)? {
            Some(t) => Ok(t.get(key)?.map(|v| v.value().to_vec())),
            None => Ok(None),
        }
    }

    fn scan(&self, table: Table, prefix: &[u8], f: &mut Visit<'_>) -> Result<()> {
        match self.table(table)? {
            Some(t) => scan_table(t, prefix, f),
            None => Ok(()),
        }
    }
}

type WriteTable<'a> = redb::Table<'a, &'static [u8], &'static [u8]>;

/// The write side, borrowed from a redb write transaction that its owner commits (after
/// this is dropped: the open tables close first).
struct RedbWrite<'a> {
    txn: &'a redb::WriteTransaction,
    /// Each table is opened once per transaction and kept, in `Table::ALL` order:
    /// opening one looks it up in redb's table tree and closing it writes its root back,
    /// which per put was a tenth of an import of 10,000 secrets.
    open: [RefCell<Option<WriteTable<'a>>>; 7],
}

impl<'a> RedbWrite<'a> {
    fn new(txn: &'a redb::WriteTransaction) -> RedbWrite<'a> {
        RedbWrite {
            txn,
            open: Default::default(),
        }
    }

    /// Runs `f` on the table, opening it on first use. A table already in use further up
    /// the call stack (a put inside a scan of the same table) is an error, as redb's own
    /// "already open" would be.
    fn with<T>(&self, table: Table, f: impl FnOnce(&mut WriteTable<'a>) -> Result<T>) -> Result<T> {
        let cell = Table::ALL
            .iter()
            .position(|t| *t == table)
            .and_then(|i| self.open.get(i))
            .ok_or_else(|| VaultError::Storage(format!("no {table:?} table")))?;
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| VaultError::Storage(format!("the {table:?} table is already in use")))?;
        if slot.is_none() {
            *slot = Some(self.txn.open_table(def(table))?);
        }
        match slot.as_mut() {
            Some(t) => f(t),
            None => Err(VaultError::Storage(format!("no {table:?} table"))),
        }
    }
}

impl ReadTxn for RedbWrite<'_> {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(table, |t| Ok(t.get(key)?.map(|v| v.value().to_vec())))
    }

    fn scan(&self, table: Table, prefix: &[u8], f: &mut Visit<'_>) -> Result<()> {
        self.with(table, |t| scan_table(t, prefix, f))
    }
}

impl WriteTxn for RedbWrite<'_> {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()> {
        self.with(table, |t| {
            t.insert(key, value)?;
            Ok(())
        })
    }

    fn delete(&mut self, table: Table, key: &[u8]) -> Result<bool> {
        self.with(table, |t| Ok(t.remove(key)?.is_some()))
    }

    fn delete_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        let n = self.count(table, prefix)?;
        self.with(table, |t| delete_range(t, prefix))?;
        Ok(n)
    }
}

fn delete_range(t: &mut WriteTable<'_>, prefix: &[u8]) -> Result<()> {
    match prefix_end(prefix) {
        Some(end) => t.retain_in::<&[u8], _>(prefix..end.as_slice(), |_, _| false)?,
        None => t.retain_in::<&[u8], _>(prefix.., |_, _| false)?,
    }
    Ok(())
}

impl Storage for RedbFile {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTxn) -> Result<()>) -> Result<()> {
        self.read_current(f).map(|_| ())
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTxn) -> Result<()>) -> Result<()> {
        let db = store::open_write_after(&self.path, self.left.take())?;
        store::fenced(|| {
            let txn = store::begin_write(&db)?;
            f(&mut RedbWrite::new(&txn))?;
            txn.commit()?;
            Ok(())
        })?;
        // Closed (redb writes its allocator state), then the file as it was left.
        store::fenced(|| {
            drop(db);
            Ok(())
        })?;
        if let Ok(meta) = std::fs::metadata(&self.path) {
            self.left
                .set(Some((Instant::now(), store::FileState::of(&meta))));
        }
        Ok(())
    }
}
