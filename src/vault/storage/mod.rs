//! The storage seam: what the vault needs from a place that keeps its sealed records.
//!
//! Everything above this interface (key slots, sealing, the integrity tree, secrets,
//! environments) works on opaque byte keys and byte values in a handful of named tables,
//! inside transactions. The embedded backend is a redb file ([`redb_file`]); a second
//! backend only has to keep the same bytes, atomically, with the same range order
//! (keys compare as byte strings).

pub mod redb_file;

use super::error::Result;

/// The tables of a vault. Keys are byte strings; a range is "every key with this prefix".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// `header`, `vault_digest`, `version`, `audit_keys`, `settings` (once set).
    Meta,
    /// Key slot id (u32, big-endian) → sealed slot.
    Slots,
    /// Environment id (16 bytes) → sealed (project, name, created).
    Environments,
    /// Environment id ‖ blind index of the key (32 bytes) → sealed record.
    Secrets,
    /// Environment id → the root digest of its integrity tree.
    Digests,
    /// Environment id ‖ level ‖ prefix byte → a node of 256 child digests.
    Tree,
    /// Secret id (48 bytes) ‖ version (u32, big-endian) → a sealed earlier value.
    /// Absent from vaults written before history: reads see it empty.
    History,
}

impl Table {
    pub const ALL: [Table; 7] = [
        Table::Meta,
        Table::Slots,
        Table::Environments,
        Table::Secrets,
        Table::Digests,
        Table::Tree,
        Table::History,
    ];

    /// Tables a vault of format 2 may lack because they came later: a read sees them
    /// empty, the first write creates them.
    pub fn is_optional(self) -> bool {
        matches!(self, Table::History)
    }
}

/// What a scan calls for each (key, value), in key order; an error stops the scan.
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// A consistent snapshot to read from.
pub trait ReadTxn {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Calls `f` for every entry whose key starts with `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &[u8], f: &mut Visit<'_>) -> Result<()>;
    /// The number of entries whose key starts with `prefix`.
    fn count(&self, table: Table, prefix: &[u8]) -> Result<u64> {
        let mut n = 0;
        self.scan(table, prefix, &mut |_, _| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }
}

/// One atomic change, inside [`Storage::write`]: nothing is visible to others until the
/// closure returns `Ok`, and an error or a crash before that leaves the previous state.
pub trait WriteTxn: ReadTxn {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()>;
    /// Returns whether the key was there.
    fn delete(&mut self, table: Table, key: &[u8]) -> Result<bool>;
    /// Removes every entry whose key starts with `prefix`; returns how many.
    fn delete_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64>;
}

/// A place that holds one vault. Each call is one transaction.
pub trait Storage {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTxn) -> Result<()>) -> Result<()>;
    /// Commits when `f` returns `Ok`, durably before returning; rolls back otherwise.
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTxn) -> Result<()>) -> Result<()>;
}

/// The smallest key greater than every key with this prefix, for range ends.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_ends_carry_over_ff() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
