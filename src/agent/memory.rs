//! The agent's key store: one page of memory that is locked (never swapped out),
//! excluded from core dumps, and wiped when a key is forgotten and when the store is
//! dropped. The process itself is non-dumpable (`PR_SET_DUMPABLE` 0, set in `main`).
//!
//! Keys are copied in and out of the page; the copies live in wiping `Key32` buffers.
//! When a time each key was last used is kept beside the page: it is no secret.

use std::io;
use std::time::{Duration, Instant};

use zeroize::Zeroize;

use crate::vault::HeldKey;
use crate::vault::crypto::Key32;

/// Vault id (16), slot (4), key (32), rounded up.
const ENTRY: usize = 64;
const PAGE: usize = 4096;
/// How many vaults one agent holds at once.
pub const CAPACITY: usize = PAGE / ENTRY;

pub struct LockedKeys {
    page: *mut u8,
    /// When each entry was last used; `None` for a free entry.
    used: [Option<Instant>; CAPACITY],
}

impl LockedKeys {
    /// Maps and locks the page. Fails when the memory cannot be locked (a `ulimit -l`
    /// of less than a page): a key that could be swapped to disk is not held at all.
    pub fn new() -> io::Result<LockedKeys> {
        // SAFETY: an anonymous private mapping of one page; the result is checked.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `page` is the mapping made above, PAGE bytes long.
        if unsafe { libc::mlock(page, PAGE) } != 0 {
            let e = io::Error::last_os_error();
            // SAFETY: unmapping the page mapped above, never used again.
            unsafe { libc::munmap(page, PAGE) };
            return Err(e);
        }
        #[cfg(target_os = "linux")]
        // SAFETY: advice on the page mapped above; failure only loses the advice.
        unsafe {
            libc::madvise(page, PAGE, libc::MADV_DONTDUMP);
        }
        Ok(LockedKeys {
            page: page.cast(),
            used: [None; CAPACITY],
        })
    }

    fn entry(&mut self, i: usize) -> &mut [u8] {
        debug_assert!(i < CAPACITY);
        // SAFETY: entry `i` lies inside the page, which lives as long as `self`, and the
        // `&mut self` borrow makes this the only reference to it.
        unsafe { std::slice::from_raw_parts_mut(self.page.add(i * ENTRY), ENTRY) }
    }

    fn find(&mut self, vault_id: &[u8; 16]) -> Option<usize> {
        (0..CAPACITY).find(|&i| self.used[i].is_some() && self.entry(i)[..16] == vault_id[..])
    }

    /// The key of a vault; using it restarts its timer.
    pub fn get(&mut self, vault_id: &[u8; 16], now: Instant) -> Option<HeldKey> {
        let i = self.find(vault_id)?;
        self.used[i] = Some(now);
        let entry = self.entry(i);
        let mut slot = [0u8; 4];
        slot.copy_from_slice(&entry[16..20]);
        let mut dek = Key32::new([0u8; 32]);
        dek.copy_from_slice(&entry[20..52]);
        Some(HeldKey {
            vault_id: *vault_id,
            slot: u32::from_be_bytes(slot),
            dek,
        })
    }

    /// Holds a key (replacing this vault's previous one). `false` when every entry is taken.
    pub fn hold(&mut self, held: &HeldKey, now: Instant) -> bool {
        let Some(i) = self
            .find(&held.vault_id)
            .or_else(|| (0..CAPACITY).find(|&i| self.used[i].is_none()))
        else {
            return false;
        };
        let entry = self.entry(i);
        entry[..16].copy_from_slice(&held.vault_id);
        entry[16..20].copy_from_slice(&held.slot.to_be_bytes());
        entry[20..52].copy_from_slice(&held.dek[..]);
        self.used[i] = Some(now);
        true
    }

    /// Forgets a vault's key at once. `false` when it was not held.
    pub fn forget(&mut self, vault_id: &[u8; 16]) -> bool {
        match self.find(vault_id) {
            Some(i) => {
                self.wipe(i);
                true
            }
            None => false,
        }
    }

    fn wipe(&mut self, i: usize) {
        self.entry(i).zeroize();
        self.used[i] = None;
    }

    /// Forgets every key unused for `timeout`.
    pub fn expire(&mut self, now: Instant, timeout: Duration) {
        for i in 0..CAPACITY {
            if self.used[i].is_some_and(|t| now.saturating_duration_since(t) >= timeout) {
                self.wipe(i);
            }
        }
    }

    /// When the next key runs out, if any is held.
    pub fn next_expiry(&self, timeout: Duration) -> Option<Instant> {
        self.used.iter().flatten().min().map(|t| *t + timeout)
    }

    pub fn len(&self) -> usize {
        self.used.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for LockedKeys {
    fn drop(&mut self) {
        for i in 0..CAPACITY {
            self.wipe(i);
        }
        // SAFETY: the page mapped and locked in `new`, unused from here on.
        unsafe {
            libc::munlock(self.page.cast(), PAGE);
            libc::munmap(self.page.cast(), PAGE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: u8, key: u8) -> HeldKey {
        HeldKey {
            vault_id: [id; 16],
            slot: u32::from(id),
            dek: Key32::new([key; 32]),
        }
    }

    #[test]
    fn keys_are_held_by_vault_replaced_and_forgotten() {
        let mut keys = LockedKeys::new().expect("one locked page");
        let t = Instant::now();
        assert!(keys.hold(&held(1, 10), t));
        assert!(keys.hold(&held(2, 20), t));
        assert!(keys.hold(&held(1, 11), t));
        assert_eq!(keys.len(), 2);
        assert_eq!(*keys.get(&[1; 16], t).unwrap().dek, [11; 32]);
        assert!(keys.forget(&[1; 16]));
        assert!(keys.get(&[1; 16], t).is_none());
        assert!(!keys.forget(&[1; 16]));
        assert_eq!(keys.get(&[2; 16], t).unwrap().slot, 2);
    }

    #[test]
    fn an_unused_key_expires_and_a_used_one_stays() {
        let mut keys = LockedKeys::new().expect("one locked page");
        let t = Instant::now();
        keys.hold(&held(1, 1), t);
        keys.hold(&held(2, 2), t);
        let later = t + Duration::from_secs(60);
        keys.get(&[2; 16], later);
        keys.expire(t + Duration::from_secs(100), Duration::from_secs(90));
        assert!(keys.get(&[1; 16], later).is_none());
        assert!(keys.get(&[2; 16], later).is_some());
        assert_eq!(
            keys.next_expiry(Duration::from_secs(90)),
            Some(later + Duration::from_secs(90))
        );
    }

    #[test]
    fn a_full_store_refuses_a_new_vault_but_replaces_a_held_one() {
        let mut keys = LockedKeys::new().expect("one locked page");
        let t = Instant::now();
        for i in 0..CAPACITY {
            let mut h = held(0, 1);
            h.vault_id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            assert!(keys.hold(&h, t));
        }
        assert!(!keys.hold(&held(255, 1), t));
        let mut again = held(0, 2);
        again.vault_id[..8].copy_from_slice(&3u64.to_be_bytes());
        assert!(keys.hold(&again, t));
    }
}
