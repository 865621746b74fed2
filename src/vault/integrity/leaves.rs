//! Every leaf digest of an environment in one pass, on more than one thread when the
//! environment is large: the keyed BLAKE2b over every record (and, for `list`, opening
//! each record's metadata) is most of the cost of reading 10,000 secrets, and redb lends
//! a record only for the length of a scan's callback. So the records are copied out of
//! one scan into one buffer, split at leaf boundaries (a leaf's MAC runs over its records
//! in key order) and worked on in parts; the parts' results join in key order.

use std::ops::Range;

use super::{RowsMac, leaf_of};
use crate::vault::EnvId;
use crate::vault::crypto::Keys;
use crate::vault::error::{Result, VaultError};
use crate::vault::storage::{ReadTxn, Table};

/// Below this many records one thread is quicker than starting another.
const PARALLEL_FROM: usize = 2048;
/// More threads than this gain little: the scan before and the join after are serial.
const MAX_THREADS: usize = 4;

/// What is made of each record, on whichever thread works on its part.
pub type Make<'a, T> = dyn Fn(&[u8], &[u8]) -> Result<T> + Sync + 'a;

/// Records are copied into blocks of this size: a growing single buffer would copy
/// itself (and touch twice the memory) each time it doubled.
const BLOCK: usize = 1 << 20;

/// An environment's records, copied out of one scan, in key order.
pub struct Records {
    blocks: Vec<Vec<u8>>,
    /// (block, start, end of the key, end of the value) in `blocks`.
    rows: Vec<(usize, usize, usize, usize)>,
}

impl Records {
    /// Every record of `env`; `check` sees each table key first (and can refuse it).
    pub fn scan(
        txn: &dyn ReadTxn,
        env: &EnvId,
        check: &dyn Fn(&[u8]) -> Result<()>,
    ) -> Result<Records> {
        let mut out = Records {
            blocks: Vec::new(),
            rows: Vec::new(),
        };
        txn.scan(Table::Secrets, env, &mut |k, v| {
            check(k)?;
            let len = k.len() + v.len();
            if out
                .blocks
                .last()
                .is_none_or(|b| b.capacity() - b.len() < len)
            {
                out.blocks.push(Vec::with_capacity(BLOCK.max(len)));
            }
            let at = out.blocks.len() - 1;
            let block = &mut out.blocks[at];
            let start = block.len();
            block.extend_from_slice(k);
            block.extend_from_slice(v);
            out.rows.push((at, start, start + k.len(), start + len));
            Ok(())
        })?;
        Ok(out)
    }

    fn key(&self, i: usize) -> &[u8] {
        let (block, start, key_end, _) = self.rows[i];
        &self.blocks[block][start..key_end]
    }

    fn value(&self, i: usize) -> &[u8] {
        let (block, _, key_end, end) = self.rows[i];
        &self.blocks[block][key_end..end]
    }

    /// The rows cut into up to `parts` ranges, each ending at a leaf boundary.
    fn parts(&self, parts: usize) -> Vec<Range<usize>> {
        let n = self.rows.len();
        let mut out = Vec::with_capacity(parts);
        let mut start = 0;
        for p in 1..parts {
            let mut cut = (n * p / parts).max(start);
            while cut > 0 && cut < n && leaf_of(self.key(cut)) == leaf_of(self.key(cut - 1)) {
                cut += 1;
            }
            if cut > start && cut < n {
                out.push(start..cut);
                start = cut;
            }
        }
        out.push(start..n);
        out
    }
}

/// Leaf digests over the records alone, in leaf order, and `make` of every record in key
/// order. A `make` error does not stop the digests: the first one (in key order) comes
/// back beside them, for the caller to report only once the environment verified.
pub struct Digested<T> {
    pub leaves: Vec<((u8, u8), [u8; 32])>,
    pub made: Vec<T>,
    pub failed: Option<VaultError>,
}

pub fn digest<T: Send>(keys: &Keys, records: &Records, make: &Make<'_, T>) -> Result<Digested<T>> {
    let threads = if records.rows.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    };
    let parts = records.parts(threads);
    if parts.len() == 1 {
        return digest_part(keys, records, 0..records.rows.len(), make);
    }
    let results: Vec<Result<Digested<T>>> = std::thread::scope(|s| {
        let mut parts = parts.into_iter();
        let first = parts.next().unwrap_or(0..0);
        let handles: Vec<_> = parts
            .map(|range| s.spawn(move || digest_part(keys, records, range, make)))
            .collect();
        let mut results = vec![digest_part(keys, records, first, make)];
        for h in handles {
            // A panic on a worker is a bug: raised here as it would have been serially.
            results.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        results
    });
    let mut all = Digested {
        leaves: Vec::new(),
        made: Vec::with_capacity(records.rows.len()),
        failed: None,
    };
    for part in results {
        let part = part?;
        all.leaves.extend(part.leaves);
        all.made.extend(part.made);
        if all.failed.is_none() {
            all.failed = part.failed;
        }
    }
    Ok(all)
}

fn digest_part<T>(
    keys: &Keys,
    records: &Records,
    range: Range<usize>,
    make: &Make<'_, T>,
) -> Result<Digested<T>> {
    let mut out = Digested {
        leaves: Vec::new(),
        made: Vec::with_capacity(range.len()),
        failed: None,
    };
    let mut current: Option<((u8, u8), RowsMac)> = None;
    for i in range {
        let (k, v) = (records.key(i), records.value(i));
        if out.failed.is_none() {
            match make(k, v) {
                Ok(t) => out.made.push(t),
                Err(e) => out.failed = Some(e),
            }
        }
        let leaf = leaf_of(k);
        if let Some((l, _)) = &current
            && *l != leaf
            && let Some((l, mac)) = current.take()
        {
            out.leaves.push((l, mac.finish()?));
        }
        current
            .get_or_insert_with(|| (leaf, RowsMac::records()))
            .1
            .add(keys, k, v)?;
    }
    if let Some((l, mac)) = current {
        out.leaves.push((l, mac.finish()?));
    }
    Ok(out)
}
