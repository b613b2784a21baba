//! Packing whole lines into datagrams of at most a maximum payload.
//!
//! ```
//! use realm_metrics::wire::Packer;
//!
//! let mut buf = [0u8; 16];
//! let mut out: Vec<Vec<u8>> = Vec::new();
//! let mut p = Packer::new(&mut buf, 12);
//! for line in [&b"a:1|c"[..], b"b:2|c", b"c:3|c"] {
//!     p.push(line, |d| out.push(d.to_vec())).unwrap();
//! }
//! p.finish(|d| out.push(d.to_vec()));
//! assert_eq!(out, vec![b"a:1|c\nb:2|c".to_vec(), b"c:3|c".to_vec()]);
//! ```

use core::fmt;

/// A line longer than the maximum payload: it is never split, so it cannot be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong {
    /// The line's length.
    pub len: usize,
    /// The maximum payload.
    pub max: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line of {} bytes exceeds the maximum datagram payload of {} bytes",
            self.len, self.max
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LineTooLong {}

/// Greedily packs lines, joined by `\n`, into datagrams of at most `max` bytes, in order.
#[derive(Debug)]
pub struct Packer<'b> {
    buf: &'b mut [u8],
    len: usize,
    max: usize,
}

impl<'b> Packer<'b> {
    /// A packer writing datagrams into `buf`; the maximum payload is `max_payload` or the
    /// buffer's length, whichever is smaller.
    pub fn new(buf: &'b mut [u8], max_payload: usize) -> Self {
        let max = max_payload.min(buf.len());
        Packer { buf, len: 0, max }
    }

    /// The effective maximum payload.
    pub fn max_payload(&self) -> usize {
        self.max
    }

    /// The bytes pending in the current datagram.
    pub fn pending(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Add a line (or a group of lines that must share a datagram, joined by `\n`). When it
    /// does not fit in the current datagram, the current one is passed to `emit` first. A line
    /// longer than the maximum payload is rejected and the packer is unchanged.
    pub fn push(&mut self, line: &[u8], mut emit: impl FnMut(&[u8])) -> Result<(), LineTooLong> {
        if line.len() > self.max {
            return Err(LineTooLong {
                len: line.len(),
                max: self.max,
            });
        }
        let sep = usize::from(self.len > 0);
        if self.len + sep + line.len() > self.max {
            self.finish(&mut emit);
        }
        let sep = usize::from(self.len > 0);
        if sep == 1 {
            if let Some(b) = self.buf.get_mut(self.len) {
                *b = b'\n';
            }
        }
        let start = self.len + sep;
        if let Some(dst) = self.buf.get_mut(start..start + line.len()) {
            dst.copy_from_slice(line);
            self.len = start + line.len();
        }
        Ok(())
    }

    /// Pass the pending datagram (if any) to `emit` and start a new one.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if self.len > 0 {
            emit(self.buf.get(..self.len).unwrap_or(&[]));
            self.len = 0;
        }
    }
}

/// Pack `lines` into datagrams of at most `max_payload` bytes. Returns the datagrams and the
/// number of lines dropped for being too long.
#[cfg(feature = "alloc")]
pub fn pack<'l>(
    lines: impl IntoIterator<Item = &'l [u8]>,
    max_payload: usize,
) -> (alloc::vec::Vec<alloc::vec::Vec<u8>>, usize) {
    let mut buf = alloc::vec![0u8; max_payload];
    let mut out = alloc::vec::Vec::new();
    let mut dropped = 0;
    let mut p = Packer::new(&mut buf, max_payload);
    for l in lines {
        if p.push(l, |d| out.push(d.to_vec())).is_err() {
            dropped += 1;
        }
    }
    p.finish(|d| out.push(d.to_vec()));
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_fit_and_overflow() {
        let (d, dropped) = pack([&b"aaaa"[..], b"bbbb"], 9);
        assert_eq!(d, [b"aaaa\nbbbb".to_vec()]);
        assert_eq!(dropped, 0);
        let (d, _) = pack([&b"aaaa"[..], b"bbbb"], 8);
        assert_eq!(d, [b"aaaa".to_vec(), b"bbbb".to_vec()]);
        let (d, dropped) = pack([&b"a"[..], b"0123456789", b"b"], 5);
        assert_eq!(d, [b"a\nb".to_vec()]);
        assert_eq!(dropped, 1);
        let (d, dropped) = pack([&b"01234"[..]], 5);
        assert_eq!(d, [b"01234".to_vec()]);
        assert_eq!(dropped, 0);
        let (d, _) = pack(core::iter::empty(), 5);
        assert!(d.is_empty());
    }
}
