//! The bounded registry of custom metric names, and the protocol-version slots.

use core::sync::atomic::{AtomicU64, Ordering::*};
use std::boxed::Box;
use std::collections::HashMap;
use std::string::String;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use super::slots::{Chunk, CounterSlot, GaugeCell, CHUNK};
use super::EmitError;
use crate::wire::{Dialect, Encoder, LineOptions, MetricType, Tag, Value};

/// A registered name and its tags (empty in the Etsy dialect).
#[derive(Debug)]
pub(crate) struct Meta {
    pub(crate) name: Box<str>,
    pub(crate) tags: Box<[(Box<str>, Box<str>)]>,
}

impl Meta {
    /// Fill `out` with the tags, borrowing from `self`.
    pub(crate) fn tags_into<'a>(&'a self, out: &mut Vec<Tag<'a>>) {
        out.clear();
        out.extend(self.tags.iter().map(|(k, v)| Tag::new(k, Some(v))));
    }
}

/// What a registry entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum EntryKind {
    Counter = 0,
    Gauge = 1,
    Sample = 2,
}

/// Check a name and tags with the encoder's own rules (an empty output buffer: everything is
/// validated before the first byte is written, so "buffer too small" means "valid").
pub(crate) fn validate(
    dialect: Dialect,
    name: &str,
    tags: &[(&str, &str)],
    value: Value<'_>,
    ty: MetricType,
) -> Result<(), EmitError> {
    let enc = Encoder::new(dialect, "", &[])?;
    let mut tv: Vec<Tag<'_>> = Vec::new();
    tv.extend(tags.iter().map(|(k, v)| Tag::new(k, Some(v))));
    let opts = LineOptions {
        sample_rate: None,
        tags: &tv,
    };
    match enc.encode(&mut [], name, value, ty, &opts) {
        Ok(_) | Err(crate::wire::EncodeError::BufferTooSmall) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn key(name: &str, tags: &[(&str, &str)]) -> String {
    let mut k = String::with_capacity(name.len() + 1);
    k.push_str(name);
    for (tk, tv) in tags {
        k.push('\0');
        k.push_str(tk);
        k.push('=');
        k.push_str(tv);
    }
    k
}

fn meta(name: &str, tags: &[(&str, &str)]) -> Arc<Meta> {
    Arc::new(Meta {
        name: name.into(),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    })
}

/// The registry's contents, behind one mutex.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    /// Per [`EntryKind`]: name (and tags) to index in its list.
    index: [HashMap<Box<str>, usize>; 3],
    pub(crate) counters: Vec<(Arc<Meta>, Arc<CounterSlot>)>,
    pub(crate) gauges: Vec<(Arc<Meta>, Arc<GaugeCell>)>,
    samples: Vec<Arc<Meta>>,
    chunks: Vec<Arc<Chunk>>,
    /// Counters in the last chunk.
    last_used: usize,
}

impl Inner {
    fn len(&self) -> usize {
        self.counters.len() + self.gauges.len() + self.samples.len()
    }

    fn next_counter_slot(&mut self) -> CounterSlot {
        match self.chunks.last() {
            Some(c) if self.last_used < CHUNK => {
                let slot = CounterSlot::new(c.clone(), self.last_used);
                self.last_used += 1;
                slot
            }
            _ => {
                let c = Chunk::new();
                self.chunks.push(c.clone());
                self.last_used = 1;
                CounterSlot::new(c, 0)
            }
        }
    }
}

/// Custom counters, gauges and sample names, up to a bound. Names are validated once, here.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) inner: Mutex<Inner>,
    limit: usize,
    dialect: Dialect,
    pub(crate) dropped: AtomicU64,
}

impl Registry {
    pub(crate) fn new(limit: usize, dialect: Dialect) -> Self {
        Registry {
            inner: Mutex::new(Inner::default()),
            limit,
            dialect,
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Tags kept for a registration: none in the Etsy dialect (it has no tags; values with the
    /// same name are merged).
    fn effective<'t>(&self, tags: &'t [(&'t str, &'t str)]) -> &'t [(&'t str, &'t str)] {
        if self.dialect == Dialect::Etsy {
            &[]
        } else {
            tags
        }
    }

    fn full(&self) -> EmitError {
        self.dropped.fetch_add(1, Relaxed);
        EmitError::CardinalityExceeded { limit: self.limit }
    }

    fn lookup(inner: &Inner, kind: EntryKind, name: &str, tags: &[(&str, &str)]) -> Option<usize> {
        let map = inner.index.get(kind as usize)?;
        if tags.is_empty() {
            // No allocation for the common case: look the name up as it is.
            map.get(name).copied()
        } else {
            map.get(key(name, tags).as_str()).copied()
        }
    }

    fn insert(inner: &mut Inner, kind: EntryKind, name: &str, tags: &[(&str, &str)], i: usize) {
        if let Some(map) = inner.index.get_mut(kind as usize) {
            map.insert(key(name, tags).into(), i);
        }
    }

    pub(crate) fn counter(
        &self,
        name: &str,
        tags: &[(&str, &str)],
    ) -> Result<Arc<CounterSlot>, EmitError> {
        let tags = self.effective(tags);
        validate(
            self.dialect,
            name,
            tags,
            Value::UInt(0),
            MetricType::Counter,
        )?;
        let mut inner = self.lock();
        if let Some(i) = Self::lookup(&inner, EntryKind::Counter, name, tags) {
            if let Some((_, c)) = inner.counters.get(i) {
                return Ok(c.clone());
            }
        }
        if inner.len() >= self.limit {
            return Err(self.full());
        }
        let slot = Arc::new(inner.next_counter_slot());
        let i = inner.counters.len();
        inner.counters.push((meta(name, tags), slot.clone()));
        Self::insert(&mut inner, EntryKind::Counter, name, tags, i);
        Ok(slot)
    }

    pub(crate) fn gauge(
        &self,
        name: &str,
        tags: &[(&str, &str)],
        float: bool,
    ) -> Result<Arc<GaugeCell>, EmitError> {
        let tags = self.effective(tags);
        validate(self.dialect, name, tags, Value::Int(0), MetricType::Gauge)?;
        let mut inner = self.lock();
        if let Some(i) = Self::lookup(&inner, EntryKind::Gauge, name, tags) {
            if let Some((_, g)) = inner.gauges.get(i) {
                return Ok(g.clone());
            }
        }
        if inner.len() >= self.limit {
            return Err(self.full());
        }
        let cell = Arc::new(GaugeCell::new(float));
        let i = inner.gauges.len();
        inner.gauges.push((meta(name, tags), cell.clone()));
        Self::insert(&mut inner, EntryKind::Gauge, name, tags, i);
        Ok(cell)
    }

    /// The interned name of timing/histogram/distribution/set samples.
    pub(crate) fn sample_name(
        &self,
        name: &str,
        tags: &[(&str, &str)],
    ) -> Result<Arc<Meta>, EmitError> {
        let tags = self.effective(tags);
        validate(self.dialect, name, tags, Value::Int(0), MetricType::Timer)?;
        let mut inner = self.lock();
        if let Some(i) = Self::lookup(&inner, EntryKind::Sample, name, tags) {
            if let Some(m) = inner.samples.get(i) {
                return Ok(m.clone());
            }
        }
        if inner.len() >= self.limit {
            return Err(self.full());
        }
        let m = meta(name, tags);
        let i = inner.samples.len();
        inner.samples.push(m.clone());
        Self::insert(&mut inner, EntryKind::Sample, name, tags, i);
        Ok(m)
    }
}

/// Bounded slots for `protocol.<version>.used`: versions get a slot on first use.
#[derive(Debug)]
pub(crate) struct Versions {
    /// `version + 1`, or 0 for a free slot; slots are filled in order and never freed.
    keys: [AtomicU64; MAX_PROTOCOL_VERSIONS],
    chunks: [Arc<Chunk>; MAX_PROTOCOL_VERSIONS / CHUNK],
    insert: Mutex<()>,
    pub(crate) dropped: AtomicU64,
}

/// How many distinct protocol versions get a slot.
pub const MAX_PROTOCOL_VERSIONS: usize = 64;

impl Versions {
    pub(crate) fn new() -> Self {
        Versions {
            keys: core::array::from_fn(|_| AtomicU64::new(0)),
            chunks: core::array::from_fn(|_| Chunk::new()),
            insert: Mutex::new(()),
            dropped: AtomicU64::new(0),
        }
    }

    fn find(&self, key: u64) -> Result<usize, usize> {
        for (i, k) in self.keys.iter().enumerate() {
            match k.load(Acquire) {
                0 => return Err(i),
                v if v == key => return Ok(i),
                _ => {}
            }
        }
        Err(MAX_PROTOCOL_VERSIONS)
    }

    /// The slot of `version`, assigning one on first use; `None` when all are taken.
    pub(crate) fn slot(&self, version: u32) -> Option<CounterSlot> {
        let key = u64::from(version) + 1;
        let i = match self.find(key) {
            Ok(i) => i,
            Err(_) => {
                let _g = self.insert.lock().unwrap_or_else(|e| e.into_inner());
                match self.find(key) {
                    Ok(i) => i,
                    Err(free) => {
                        let k = self.keys.get(free)?;
                        k.store(key, Release);
                        free
                    }
                }
            }
        };
        let chunk = self.chunks.get(i / CHUNK)?;
        Some(CounterSlot::new(chunk.clone(), i % CHUNK))
    }

    /// Count one use of `version`; `false` when it has no slot.
    #[inline]
    pub(crate) fn add(&self, version: u32, n: u64) -> bool {
        let key = u64::from(version) + 1;
        let i = match self.find(key) {
            Ok(i) => i,
            Err(_) => match self.slot(version) {
                Some(s) => {
                    s.add(n);
                    return true;
                }
                None => {
                    self.dropped.fetch_add(1, Relaxed);
                    return false;
                }
            },
        };
        if let Some(c) = self.chunks.get(i / CHUNK) {
            c.add(i % CHUNK, n);
        }
        true
    }

    /// `(version, count since last take)` for every used slot with a non-zero count.
    pub(crate) fn take_each(&self, mut f: impl FnMut(u32, u64)) {
        for (i, k) in self.keys.iter().enumerate() {
            let key = k.load(Acquire);
            if key == 0 {
                break;
            }
            let n = self.chunks.get(i / CHUNK).map_or(0, |c| c.take(i % CHUNK));
            if n != 0 {
                f((key - 1) as u32, n);
            }
        }
    }
}
