//! A byte buffer for plaintext that never leaves an unwiped copy behind.
//!
//! A `Vec` that outgrows its capacity copies its bytes to a new allocation and frees the
//! old one as it is, so a value read or written through a growing `Vec` can survive in
//! freed memory even when the final `Vec` is a `Zeroizing` one. [`WipeBuf`] is sized up
//! front by its callers, and when it must grow anyway it wipes the old allocation.

use std::io::{self, Read};

use zeroize::Zeroizing;

/// Bytes that are wiped when dropped and whenever they move to a larger allocation.
pub struct WipeBuf {
    buf: Zeroizing<Vec<u8>>,
}

impl WipeBuf {
    pub fn with_capacity(capacity: usize) -> WipeBuf {
        WipeBuf {
            buf: Zeroizing::new(Vec::with_capacity(capacity)),
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }

    /// Makes room for `extra` more bytes: a new allocation (at least double), the bytes
    /// copied over, the old allocation wiped as it drops.
    pub fn reserve(&mut self, extra: usize) {
        let needed = self.buf.len().saturating_add(extra);
        if needed <= self.buf.capacity() {
            return;
        }
        let mut bigger = Zeroizing::new(Vec::with_capacity(
            needed.max(self.buf.capacity().saturating_mul(2)),
        ));
        bigger.extend_from_slice(&self.buf);
        self.buf = bigger;
    }

    pub fn extend(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    pub fn push_str(&mut self, text: &str) {
        self.extend(text.as_bytes());
    }

    pub fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }

    /// Reads `reader` to its end, or to `limit` bytes. Reads go straight into the spare
    /// capacity; past it the buffer grows by [`WipeBuf::reserve`], `chunk` bytes at least.
    pub fn read_from(&mut self, reader: impl Read, limit: u64, chunk: usize) -> io::Result<()> {
        let mut reader = reader.take(limit);
        loop {
            if self.buf.len() == self.buf.capacity() {
                self.reserve(chunk.max(1));
            }
            let filled = self.buf.len();
            let room = self.buf.capacity();
            // Zeros within the capacity: no reallocation, and `read` needs initialised bytes.
            self.buf.resize(room, 0);
            let read = reader.read(&mut self.buf[filled..]);
            let n = match read {
                Ok(0) => {
                    self.buf.truncate(filled);
                    return Ok(());
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(e);
                }
            };
            self.buf.truncate(filled + n);
        }
    }
}

impl std::fmt::Write for WipeBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_up_front_it_never_reallocates() {
        let mut buf = WipeBuf::with_capacity(10);
        let at = buf.as_bytes().as_ptr();
        buf.push_str("0123456789");
        assert_eq!(buf.capacity(), 10);
        assert_eq!(buf.as_bytes().as_ptr(), at);
        buf.push('x');
        assert_eq!(buf.as_bytes(), b"0123456789x");
        assert!(buf.capacity() >= 20);
    }

    #[test]
    fn reads_whole_inputs_up_to_the_limit() {
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut buf = WipeBuf::with_capacity(data.len() + 1);
        buf.read_from(&data[..], u64::MAX, 4096).unwrap();
        assert_eq!(buf.as_bytes(), &data[..]);
        // The file's size plus one byte to see its end: read in place.
        assert_eq!(buf.capacity(), data.len() + 1);

        let mut small = WipeBuf::with_capacity(0);
        small.read_from(&data[..], 5000, 1024).unwrap();
        assert_eq!(small.as_bytes(), &data[..5000]);
    }
}
