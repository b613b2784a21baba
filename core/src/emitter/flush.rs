//! The flush: sum the slots, encode, pack into datagrams, send. One code path for every
//! transport, run by the flusher thread every interval and by `flush()` / `close()`.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::io::ErrorKind;
use std::sync::Arc;
use std::vec::Vec;

use super::registry::Meta;
use super::samples::{Pending, SampleValue};
use super::slots::GaugeValue;
use super::transport::Transport;
use super::{EmitError, ErrorCallback, Shared, Stats};
use crate::catalog::{Kind, Metric};
use crate::wire::{EncodeError, Encoder, LineOptions, LineTooLong, Packer, Tag, Value};

/// Failed sends, out of the last 16, after which the address is resolved again and the socket
/// reopened.
const RECONNECT_AFTER: u32 = 8;
/// At most this many errors per flush are passed to the error callback.
const MAX_REPORTED: usize = 16;
/// The longest line we try to measure (to report its length) before giving up.
const MEASURE_LIMIT: usize = 1 << 20;

/// Counters of what the flusher did; read by [`Emitter::stats`](super::Emitter::stats).
#[derive(Debug, Default)]
pub(crate) struct StatCells {
    flushes: AtomicU64,
    packets_sent: AtomicU64,
    bytes_sent: AtomicU64,
    lines_sent: AtomicU64,
    send_errors: AtomicU64,
    reconnects: AtomicU64,
    lines_dropped_oversize: AtomicU64,
    encode_errors: AtomicU64,
    callback_panics: AtomicU64,
    connect_errors: AtomicU64,
    bytes_written: AtomicU64,
    lines_dropped_backlog: AtomicU64,
    partial_lines_resent: AtomicU64,
    backlog_bytes: AtomicU64,
    long_lines_sent: AtomicU64,
}

impl StatCells {
    pub(crate) fn snapshot(&self, s: &mut Stats) {
        s.flushes = self.flushes.load(Relaxed);
        s.packets_sent = self.packets_sent.load(Relaxed);
        s.bytes_sent = self.bytes_sent.load(Relaxed);
        s.lines_sent = self.lines_sent.load(Relaxed);
        s.send_errors = self.send_errors.load(Relaxed);
        s.reconnects = self.reconnects.load(Relaxed);
        s.lines_dropped_oversize = self.lines_dropped_oversize.load(Relaxed);
        s.encode_errors = self.encode_errors.load(Relaxed);
        s.callback_panics = self.callback_panics.load(Relaxed);
        s.connect_errors = self.connect_errors.load(Relaxed);
        s.bytes_written = self.bytes_written.load(Relaxed);
        s.lines_dropped_backlog = self.lines_dropped_backlog.load(Relaxed);
        s.partial_lines_resent = self.partial_lines_resent.load(Relaxed);
        s.backlog_bytes = self.backlog_bytes.load(Relaxed);
    }

    /// Lines longer than the maximum payload sent alone (a line sender's).
    pub(crate) fn long_lines_sent(&self) -> u64 {
        self.long_lines_sent.load(Relaxed)
    }

    // Counted by a line sender.
    pub(crate) fn add_flush(&self) {
        self.flushes.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_lines_sent(&self, n: u64) {
        self.lines_sent.fetch_add(n, Relaxed);
    }

    pub(crate) fn add_long_line_sent(&self) {
        self.long_lines_sent.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_line_dropped_oversize(&self) {
        self.lines_dropped_oversize.fetch_add(1, Relaxed);
    }

    // Counted by a stream transport's I/O thread.
    pub(crate) fn add_reconnect(&self) {
        self.reconnects.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_connect_error(&self) {
        self.connect_errors.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_bytes_written(&self, n: u64) {
        self.bytes_written.fetch_add(n, Relaxed);
    }

    pub(crate) fn add_lines_dropped_backlog(&self, n: u64) {
        self.lines_dropped_backlog.fetch_add(n, Relaxed);
    }

    pub(crate) fn add_partial_line_resent(&self) {
        self.partial_lines_resent.fetch_add(1, Relaxed);
    }

    pub(crate) fn set_backlog_bytes(&self, n: u64) {
        self.backlog_bytes.store(n, Relaxed);
    }
}

/// State owned by whoever flushes (behind the flush mutex): the transport and reused buffers.
#[derive(Debug)]
pub(crate) struct FlushState {
    pub(crate) transport: Transport,
    /// One encoded line (or negative-gauge pair); `max_payload` bytes.
    line: Vec<u8>,
    /// The datagram being packed; `max_payload` bytes.
    packet: Vec<u8>,
    /// The sample buffer's twin, swapped in at each flush.
    spare: Vec<Pending>,
    recent_sends: u32,
    /// Drop totals already reported: cardinality, samples, protocol versions.
    reported: [u64; 3],
}

impl FlushState {
    pub(crate) fn new(transport: Transport, max_payload: usize) -> Self {
        FlushState {
            transport,
            line: std::vec![0; max_payload],
            packet: std::vec![0; max_payload],
            spare: Vec::new(),
            recent_sends: 0,
            reported: [0; 3],
        }
    }
}

/// Sends datagrams and counts what happens (for the emitter's flush and a line sender's batch).
pub(crate) struct Sender<'a> {
    pub(crate) transport: &'a mut Transport,
    stats: &'a StatCells,
    pub(crate) errors: &'a mut Vec<EmitError>,
    /// The outcome of the last 32 sends, one bit each (1 = refused), newest lowest. The socket
    /// is reopened when [`RECONNECT_AFTER`] of the last 16 sends failed: counting only
    /// consecutive errors would never fire against a closed UDP port, where sends alternate
    /// between failing and succeeding (each ICMP error fails the next send).
    recent: &'a mut u32,
    pub(crate) first: Option<EmitError>,
    /// A send of this flush timed out (a receiver that does not read): the rest of the flush's
    /// datagrams are dropped and counted instead of each waiting the write timeout.
    blocked: bool,
}

impl<'a> Sender<'a> {
    pub(crate) fn new(
        transport: &'a mut Transport,
        stats: &'a StatCells,
        errors: &'a mut Vec<EmitError>,
        recent: &'a mut u32,
    ) -> Self {
        Sender {
            transport,
            stats,
            errors,
            recent,
            first: None,
            blocked: false,
        }
    }

    pub(crate) fn report(&mut self, e: EmitError) {
        if self.first.is_none() && !matches!(e, EmitError::Dropped { .. }) {
            self.first = Some(e.clone());
        }
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(e);
        }
    }

    /// Send one datagram (or queue one packet); returns whether the transport took it.
    pub(crate) fn send(&mut self, datagram: &[u8]) -> bool {
        if self.blocked {
            self.stats.send_errors.fetch_add(1, Relaxed);
            return false;
        }
        match self.transport.send(datagram) {
            Ok(()) => {
                self.stats.packets_sent.fetch_add(1, Relaxed);
                self.stats
                    .bytes_sent
                    .fetch_add(datagram.len() as u64, Relaxed);
                *self.recent <<= 1;
                true
            }
            Err(e) => {
                self.stats.send_errors.fetch_add(1, Relaxed);
                // A stream transport only queues (a full backlog refuses one packet at a time);
                // a datagram socket that timed out would make every later send wait again.
                self.blocked = self.transport.may_block()
                    && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
                self.report(EmitError::send(&e));
                *self.recent = (*self.recent << 1) | 1;
                if (*self.recent & 0xffff).count_ones() >= RECONNECT_AFTER {
                    *self.recent = 0;
                    match self.transport.reconnect() {
                        Ok(true) => {
                            self.stats.reconnects.fetch_add(1, Relaxed);
                        }
                        Ok(false) => {}
                        Err(e) => self.report(e),
                    }
                }
                false
            }
        }
    }
}

/// Encodes lines into the line buffer and packs them.
struct Out<'a> {
    packer: Packer<'a>,
    sender: Sender<'a>,
    line: &'a mut [u8],
    max: usize,
}

impl Out<'_> {
    /// Encode one line with `f` and pack it; an oversize line is dropped and counted.
    fn line(&mut self, f: impl Fn(&mut [u8]) -> Result<usize, EncodeError>) {
        match f(self.line) {
            Ok(n) => {
                let line = self.line.get(..n).unwrap_or(&[]);
                let sender = &mut self.sender;
                match self.packer.push(line, |d| {
                    sender.send(d);
                }) {
                    Ok(()) => {
                        sender.stats.lines_sent.fetch_add(1, Relaxed);
                    }
                    Err(e) => self.oversize(e),
                }
            }
            Err(EncodeError::BufferTooSmall) => {
                let len = measure(&f, self.max);
                self.oversize(LineTooLong { len, max: self.max });
            }
            Err(e) => {
                self.sender.stats.encode_errors.fetch_add(1, Relaxed);
                self.sender.report(e.into());
            }
        }
    }

    fn oversize(&mut self, e: LineTooLong) {
        self.sender
            .stats
            .lines_dropped_oversize
            .fetch_add(1, Relaxed);
        self.sender.report(EmitError::LineTooLong(e));
    }

    fn finish(&mut self) {
        let sender = &mut self.sender;
        self.packer.finish(|d| {
            sender.send(d);
        });
    }
}

/// The length of a line that did not fit in `max` bytes (rare path: allocates). Lines longer
/// than [`MEASURE_LIMIT`] are reported as that limit.
fn measure(f: &impl Fn(&mut [u8]) -> Result<usize, EncodeError>, max: usize) -> usize {
    let mut size = (max.max(64)).saturating_mul(2);
    while size <= MEASURE_LIMIT {
        let mut tmp = std::vec![0u8; size];
        if let Ok(n) = f(&mut tmp) {
            return n;
        }
        size = size.saturating_mul(2);
    }
    MEASURE_LIMIT
}

fn tagged<'a>(tags: &'a [Tag<'a>]) -> LineOptions<'a> {
    LineOptions {
        sample_rate: None,
        tags,
    }
}

fn gauge_value(v: GaugeValue) -> Value<'static> {
    match v {
        GaugeValue::Int(i) => Value::Int(i),
        GaugeValue::Float(f) => Value::Float(f),
    }
}

impl Shared {
    /// Flush now: everything counted before this call is in datagrams handed to the transport
    /// when it returns. Errors go to the callback (after the flush lock is released) and the
    /// first send or oversize error is returned.
    pub(crate) fn flush_now(&self) -> Result<(), EmitError> {
        let mut errors = Vec::new();
        let first = {
            let mut st = self.flush.lock().unwrap_or_else(|e| e.into_inner());
            self.flush_locked(&mut st, &mut errors)
        };
        self.report_all(&errors);
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    pub(crate) fn report_all(&self, errors: &[EmitError]) {
        report_to(self.on_error.as_ref(), &self.stats, errors);
    }

    /// One flush, in named steps: build the encoder, send the catalog counters, protocol
    /// versions and catalog gauges, then the custom counters and gauges, then the samples; pass
    /// on the transport's background errors and the drops since the last flush. Returns the
    /// first send or oversize error.
    fn flush_locked(&self, st: &mut FlushState, errors: &mut Vec<EmitError>) -> Option<EmitError> {
        self.stats.flushes.fetch_add(1, Relaxed);
        let cfg = &self.config;
        let FlushState {
            transport,
            line,
            packet,
            spare,
            recent_sends,
            reported,
        } = st;
        let global: Vec<Tag<'_>> = cfg.tags.iter().map(|(k, v)| Tag::new(k, Some(v))).collect();
        let sender = Sender::new(transport, &self.stats, errors, recent_sends);
        // Validated at build; should this ever fail, report it and send nothing.
        let enc = match self.encoder(&global) {
            Ok(e) => e,
            Err(e) => {
                let e = EmitError::from(e);
                sender.errors.push(e.clone());
                return Some(e);
            }
        };
        let mut out = Out {
            packer: Packer::new(packet, cfg.max_payload),
            sender,
            line,
            max: cfg.max_payload,
        };
        self.send_catalog_counters(&enc, &mut out);
        self.send_protocol_versions(&enc, &mut out);
        self.send_catalog_gauges(&enc, &mut out);
        let (counters, gauges) = self.take_custom();
        send_custom(&enc, &mut out, &counters, &gauges);
        self.send_samples(&enc, &mut out, spare);
        out.finish();
        out.sender.transport.take_errors(out.sender.errors);
        self.report_drops(reported, &mut out.sender);
        out.sender.first
    }

    /// The encoder for this emitter's dialect, prefix, global tags and host tag.
    fn encoder<'a>(&'a self, global: &'a [Tag<'a>]) -> Result<Encoder<'a>, EncodeError> {
        let cfg = &self.config;
        let enc = Encoder::new(cfg.dialect, &cfg.prefix, global)?;
        match &cfg.host_tag {
            Some(h) => enc.with_host_tag(h),
            None => Ok(enc),
        }
    }

    /// Catalog counters: the sum since the last flush; zeros are not sent.
    fn send_catalog_counters(&self, enc: &Encoder<'_>, out: &mut Out<'_>) {
        for m in Metric::ALL {
            if m.kind() == Kind::Counter && !m.is_templated() {
                let n = self.catalog.take(m as usize);
                if n != 0 {
                    out.line(|b| enc.encode_metric(b, m, Value::UInt(n)));
                }
            }
        }
    }

    /// `protocol.<version>.used`: the uses of each version since the last flush.
    fn send_protocol_versions(&self, enc: &Encoder<'_>, out: &mut Out<'_>) {
        self.versions.take_each(|version, n| {
            out.line(|b| enc.encode_protocol_used(b, u64::from(version), n));
        });
    }

    /// Catalog gauges: every gauge ever set, every flush, absolute.
    fn send_catalog_gauges(&self, enc: &Encoder<'_>, out: &mut Out<'_>) {
        for m in Metric::ALL {
            if m.kind() == Kind::Gauge {
                if let Some(v) = self.gauges.get(m as usize).and_then(|g| g.get()) {
                    out.line(|b| enc.encode_metric(b, m, gauge_value(v)));
                }
            }
        }
    }

    /// Custom counters (their sums since the last flush, zeros left out) and gauges, taken
    /// under the registry lock; they are encoded and sent after it is released (a send may wait
    /// on a slow socket; the first use of a new name must not).
    fn take_custom(&self) -> (CustomCounters, CustomGauges) {
        let reg = self.registry.lock();
        let counters = reg
            .counters
            .iter()
            .filter_map(|(meta, slot)| {
                let n = slot.take();
                (n != 0).then(|| (Arc::clone(meta), n))
            })
            .collect();
        let gauges = reg
            .gauges
            .iter()
            .filter_map(|(meta, cell)| cell.get().map(|v| (Arc::clone(meta), v)))
            .collect();
        (counters, gauges)
    }

    /// Samples, one line each, in the order they were recorded. `spare` is the buffer swapped
    /// with the sample buffer; it is left empty (its capacity kept).
    fn send_samples(&self, enc: &Encoder<'_>, out: &mut Out<'_>, spare: &mut Vec<Pending>) {
        self.samples.drain_into(spare);
        let mut tags: Vec<Tag<'_>> = Vec::new();
        for p in spare.iter() {
            let meta: &Meta = &p.meta;
            meta.tags_into(&mut tags);
            let value = match &p.value {
                SampleValue::Num(v) => Value::Float(*v),
                SampleValue::Member(s) => Value::Str(s),
            };
            let opts = LineOptions {
                sample_rate: p.rate,
                tags: &tags,
            };
            out.line(|b| enc.encode(b, &meta.name, value, p.ty, &opts));
        }
        drop(tags);
        spare.clear();
    }

    /// Drops since the last flush (cardinality, samples, protocol versions), told once per
    /// flush; `reported` holds the totals already told.
    fn report_drops(&self, reported: &mut [u64; 3], sender: &mut Sender<'_>) {
        let totals = [
            self.registry.dropped.load(Relaxed),
            self.samples.dropped.load(Relaxed),
            self.versions.dropped.load(Relaxed),
        ];
        for ((what, total), seen) in ["cardinality", "samples", "protocol_versions"]
            .into_iter()
            .zip(totals)
            .zip(reported.iter_mut())
        {
            if total > *seen {
                sender.report(EmitError::Dropped {
                    what,
                    count: total - *seen,
                });
                *seen = total;
            }
        }
    }
}

/// Pass `errors` to the callback, if any. A panicking callback must not take the flusher (or
/// the caller) down; the panic is counted.
pub(crate) fn report_to(cb: Option<&ErrorCallback>, stats: &StatCells, errors: &[EmitError]) {
    if let Some(cb) = cb {
        for e in errors {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(e))).is_err() {
                stats.callback_panics.fetch_add(1, Relaxed);
            }
        }
    }
}

type CustomCounters = Vec<(Arc<Meta>, u64)>;
type CustomGauges = Vec<(Arc<Meta>, GaugeValue)>;

/// Custom counters and gauges taken by [`Shared::take_custom`].
fn send_custom(
    enc: &Encoder<'_>,
    out: &mut Out<'_>,
    counters: &CustomCounters,
    gauges: &CustomGauges,
) {
    let mut tags: Vec<Tag<'_>> = Vec::new();
    for (meta, n) in counters {
        meta.tags_into(&mut tags);
        out.line(|b| {
            enc.encode(
                b,
                &meta.name,
                Value::Int(*n as i64),
                crate::wire::MetricType::Counter,
                &tagged(&tags),
            )
        });
    }
    for (meta, v) in gauges {
        meta.tags_into(&mut tags);
        out.line(|b| {
            enc.encode(
                b,
                &meta.name,
                gauge_value(*v),
                crate::wire::MetricType::Gauge,
                &tagged(&tags),
            )
        });
    }
}
