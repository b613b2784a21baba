//! The bounded buffer of timing, histogram, distribution and set samples, drained at flush.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::boxed::Box;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use super::registry::Meta;
use super::EmitError;
use crate::wire::MetricType;

/// A sample's value.
#[derive(Debug)]
pub(crate) enum SampleValue {
    Num(f64),
    Member(Box<str>),
}

/// A buffered sample.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) meta: Arc<Meta>,
    pub(crate) ty: MetricType,
    pub(crate) value: SampleValue,
    /// The sample rate the caller sampled at (written as `|@rate` when below 1).
    pub(crate) rate: Option<f64>,
}

/// At most `capacity` samples between two flushes; the excess is counted as dropped.
#[derive(Debug)]
pub(crate) struct SampleBuffer {
    buf: Mutex<Vec<Pending>>,
    capacity: usize,
    pub(crate) dropped: AtomicU64,
}

impl SampleBuffer {
    pub(crate) fn new(capacity: usize) -> Self {
        SampleBuffer {
            buf: Mutex::new(Vec::with_capacity(capacity.min(1024))),
            capacity,
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn push(&self, p: Pending) -> Result<(), EmitError> {
        let mut buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        if buf.len() >= self.capacity {
            drop(buf);
            self.dropped.fetch_add(1, Relaxed);
            return Err(EmitError::SampleBufferFull {
                capacity: self.capacity,
            });
        }
        buf.push(p);
        Ok(())
    }

    /// Swap the buffered samples into `spare` (which must be empty), keeping both allocations.
    pub(crate) fn drain_into(&self, spare: &mut Vec<Pending>) {
        let mut buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        core::mem::swap(&mut *buf, spare);
    }
}
