//! Pre-allocated counter and gauge slots: the hot path.
//!
//! Counters are striped: a [`Chunk`] holds [`CHUNK`] counters in each of [`STRIPES`] cache-line
//! aligned blocks. A thread picks its stripe once (round-robin, on first use) and always adds to
//! its own block, so two threads counting the same metric do not fight over one cache line. The
//! flusher sums a counter's stripes with `swap(0)`: exact, since every add lands in exactly one
//! stripe and every swap takes exactly what was there.

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;

/// Stripes per counter (a power of two).
pub(crate) const STRIPES: usize = 8;
/// Counters per chunk (a power of two).
pub(crate) const CHUNK: usize = 32;

/// One stripe of a chunk: 32 counters, 256 bytes, on its own pair of cache lines (128-byte
/// alignment also keeps the adjacent-line prefetcher from pairing two stripes).
#[repr(align(128))]
struct Block {
    c: [AtomicU64; CHUNK],
}

/// [`CHUNK`] striped counters.
pub(crate) struct Chunk {
    blocks: [Block; STRIPES],
}

impl core::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Chunk").finish_non_exhaustive()
    }
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

std::thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[cold]
#[inline(never)]
fn assign_stripe(cell: &Cell<usize>) -> usize {
    let s = NEXT_STRIPE.fetch_add(1, Relaxed) & (STRIPES - 1);
    cell.set(s);
    s
}

/// The calling thread's stripe, in `0..STRIPES`.
#[inline(always)]
pub(crate) fn stripe() -> usize {
    STRIPE
        .try_with(|c| {
            let s = c.get();
            if s < STRIPES {
                s
            } else {
                assign_stripe(c)
            }
        })
        .unwrap_or(0)
        & (STRIPES - 1)
}

impl Chunk {
    pub(crate) fn new() -> Arc<Chunk> {
        Arc::new(Chunk {
            blocks: core::array::from_fn(|_| Block {
                c: core::array::from_fn(|_| AtomicU64::new(0)),
            }),
        })
    }

    /// Add `n` to counter `idx` (taken modulo [`CHUNK`]): one relaxed atomic add.
    #[inline(always)]
    pub(crate) fn add(&self, idx: usize, n: u64) {
        if let Some(block) = self.blocks.get(stripe()) {
            if let Some(c) = block.c.get(idx & (CHUNK - 1)) {
                c.fetch_add(n, Relaxed);
            }
        }
    }

    /// The sum of counter `idx` since the last take, resetting it to zero.
    pub(crate) fn take(&self, idx: usize) -> u64 {
        self.blocks
            .iter()
            .filter_map(|b| b.c.get(idx))
            .fold(0u64, |acc, c| acc.wrapping_add(c.swap(0, Relaxed)))
    }

    /// The sum of counter `idx` since the last take, without resetting it.
    pub(crate) fn peek(&self, idx: usize) -> u64 {
        self.blocks
            .iter()
            .filter_map(|b| b.c.get(idx))
            .fold(0u64, |acc, c| acc.wrapping_add(c.load(Relaxed)))
    }
}

/// A counter slot: a chunk and an index in it.
#[derive(Clone, Debug)]
pub(crate) struct CounterSlot {
    chunk: Arc<Chunk>,
    idx: usize,
}

impl CounterSlot {
    pub(crate) fn new(chunk: Arc<Chunk>, idx: usize) -> Self {
        CounterSlot {
            chunk,
            idx: idx & (CHUNK - 1),
        }
    }

    #[inline(always)]
    pub(crate) fn add(&self, n: u64) {
        self.chunk.add(self.idx, n);
    }

    pub(crate) fn take(&self) -> u64 {
        self.chunk.take(self.idx)
    }

    pub(crate) fn peek(&self) -> u64 {
        self.chunk.peek(self.idx)
    }
}

/// A gauge's current value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum GaugeValue {
    Int(i64),
    Float(f64),
}

/// One gauge: an absolute value (integer, or float for gauges registered through the `metrics`
/// facade) and whether it has ever been set.
#[derive(Debug)]
pub(crate) struct GaugeCell {
    bits: AtomicU64,
    set: AtomicBool,
    float: bool,
}

impl GaugeCell {
    pub(crate) fn new(float: bool) -> Self {
        GaugeCell {
            bits: AtomicU64::new(if float { 0f64.to_bits() } else { 0 }),
            set: AtomicBool::new(false),
            float,
        }
    }

    #[inline(always)]
    fn mark(&self) {
        if !self.set.load(Relaxed) {
            self.set.store(true, Release);
        }
    }

    #[inline]
    pub(crate) fn set_i64(&self, v: i64) {
        let bits = if self.float {
            (v as f64).to_bits()
        } else {
            v as u64
        };
        self.bits.store(bits, Relaxed);
        self.mark();
    }

    #[inline]
    pub(crate) fn add_i64(&self, d: i64) {
        if self.float {
            self.add_float(d as f64);
        } else {
            // Two's complement: adding the bit pattern is a wrapping signed add.
            self.bits.fetch_add(d as u64, Relaxed);
        }
        self.mark();
    }

    /// Set from a float; an integer gauge rounds. Non-finite values are ignored.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn set_f64(&self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if self.float {
            self.bits.store(v.to_bits(), Relaxed);
            self.mark();
        } else {
            self.set_i64(v.round() as i64);
        }
    }

    /// Add a float; an integer gauge rounds the change. Non-finite changes are ignored.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn add_f64(&self, d: f64) {
        if !d.is_finite() {
            return;
        }
        if self.float {
            self.add_float(d);
            self.mark();
        } else {
            self.add_i64(d.round() as i64);
        }
    }

    fn add_float(&self, d: f64) {
        let mut cur = self.bits.load(Relaxed);
        loop {
            let next = f64::from_bits(cur) + d;
            let next = if next.is_finite() { next } else { 0.0 };
            match self
                .bits
                .compare_exchange_weak(cur, next.to_bits(), Relaxed, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The value, or `None` when the gauge was never set.
    pub(crate) fn get(&self) -> Option<GaugeValue> {
        if !self.set.load(Acquire) {
            return None;
        }
        Some(self.value())
    }

    /// The value (0 when never set).
    pub(crate) fn value(&self) -> GaugeValue {
        let bits = self.bits.load(Relaxed);
        if self.float {
            GaugeValue::Float(f64::from_bits(bits))
        } else {
            GaugeValue::Int(bits as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn striped_sum_is_exact() {
        let chunk = Chunk::new();
        let threads: std::vec::Vec<_> = (0..4)
            .map(|_| {
                let c = chunk.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        c.add(3, 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(chunk.peek(3), 40_000);
        assert_eq!(chunk.take(3), 40_000);
        assert_eq!(chunk.take(3), 0);
        assert_eq!(chunk.take(4), 0);
    }

    #[test]
    fn gauges() {
        let g = GaugeCell::new(false);
        assert_eq!(g.get(), None);
        g.add_i64(-3);
        assert_eq!(g.get(), Some(GaugeValue::Int(-3)));
        g.set_f64(2.6);
        assert_eq!(g.get(), Some(GaugeValue::Int(3)));
        let f = GaugeCell::new(true);
        f.add_f64(0.5);
        f.add_i64(1);
        assert_eq!(f.get(), Some(GaugeValue::Float(1.5)));
        f.set_f64(f64::NAN);
        assert_eq!(f.get(), Some(GaugeValue::Float(1.5)));
    }
}
