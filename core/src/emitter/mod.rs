//! The emitter: in-process aggregation, and a flusher thread sending StatsD packets over UDP, a
//! Unix datagram socket, or a TCP or Unix stream connection (newline-framed, written by a
//! background thread that reconnects: see [`EmitterBuilder::tcp`]).
//!
//! # Why aggregate
//!
//! A StatsD client that formats and sends one line per event spends a syscall (or a queue hop)
//! per event, and drops events when its queue is full. The emitter instead keeps one
//! pre-allocated slot per metric: recording a catalog counter is one relaxed atomic add on the
//! calling thread's own stripe of that slot: no lock, no allocation, no syscall, no formatting.
//! A flusher thread wakes every [`flush_interval`](EmitterBuilder::flush_interval) (1 s by
//! default), sums the slots, and sends one line per metric, packed into datagrams of at most
//! [`max_payload`](EmitterBuilder::max_payload) bytes.
//!
//! # What goes on the wire (DESIGN §4.3)
//!
//! - Counters: the sum since the last flush (`name:N|c`); a counter that did not change is not
//!   sent.
//! - Gauges: the absolute value, sent again on every flush once it has been set (Telegraf forgets
//!   gauges that are not re-sent). [`Emitter::gauge_add`] changes the value in process; the wire
//!   still carries the absolute value. A negative value goes out as `name:0|g` then `name:-N|g` in
//!   the `etsy` and `telegraf` dialects (a leading sign means "change by" there).
//! - Timings, histograms, distributions and sets: each sample is buffered (bounded, see
//!   [`max_samples`](EmitterBuilder::max_samples)) and sent as its own line at the next flush.
//! - A line longer than the maximum payload is dropped and counted; lines are never split.
//!
//! # Failures never reach the hot path
//!
//! Send errors, oversize lines and drops are counted in [`Emitter::stats`] and passed to the
//! optional [`on_error`](EmitterBuilder::on_error) callback. Recording calls return a typed
//! [`EmitError`] only for mistakes in the call itself (counting a gauge, a bad name, a full
//! registry), never for the network, and never panic.
//!
//! # Lifetime
//!
//! [`Emitter`] is cheap to clone (an `Arc` inside) and `Send + Sync`. [`Emitter::flush`] returns
//! once everything counted before it is in datagrams handed to the socket. [`Emitter::close`],
//! or dropping the last clone, stops the flusher thread, joins it and flushes one last time.
//! After `close`, recording calls are silently ignored (their values are never sent), and
//! `flush`/`close` do nothing.
//!
//! # Example
//!
//! The [`Spy`] transport captures datagrams in memory, for tests:
//!
//! ```
//! use realm_metrics::emitter::Emitter;
//! use realm_metrics::wire::Dialect;
//! use realm_metrics::Metric;
//!
//! let (emitter, spy) = Emitter::builder()
//!     .prefix("realm.example.com")
//!     .dialect(Dialect::Etsy)
//!     .spy()
//!     .unwrap();
//!
//! // Catalog metrics: the hot path.
//! emitter.count(Metric::ConnectionStarted, 1).unwrap();
//! emitter.count(Metric::ConnectionStarted, 2).unwrap();
//! emitter.gauge_add(Metric::ConnectionOnline, 3).unwrap();
//! emitter.gauge_add(Metric::ConnectionOnline, -1).unwrap();
//! emitter.protocol_used(7).unwrap();
//! // The wrong kind is an error, not a panic.
//! assert_eq!(emitter.count(Metric::ConnectionOnline, 1).unwrap_err().code(), "wrong_kind");
//!
//! // Custom metrics: register once, then a handle with the same hot path.
//! let uploads = emitter.counter("sync.uploads").unwrap();
//! uploads.increment(5);
//! assert_eq!(emitter.counter("bad:name").unwrap_err().code(), "invalid_name");
//! emitter.timing("sync.merge", 1.5).unwrap();
//!
//! emitter.flush().unwrap();
//! assert_eq!(
//!     spy.lines(),
//!     [
//!         "realm.example.com.connection.started:3|c",
//!         "realm.example.com.protocol.7.used:1|c",
//!         "realm.example.com.connection.online:2|g",
//!         "realm.example.com.sync.uploads:5|c",
//!         "realm.example.com.sync.merge:1.5|ms",
//!     ]
//! );
//!
//! // Next flush: counters did not change, so only the gauge is sent again.
//! spy.clear();
//! emitter.flush().unwrap();
//! assert_eq!(spy.lines(), ["realm.example.com.connection.online:2|g"]);
//! assert_eq!(emitter.stats().packets_sent, 2);
//! ```
//!
//! To send to a daemon, use [`EmitterBuilder::build`] (UDP, default `localhost:8125`) or set
//! [`EmitterBuilder::unix_socket`], [`EmitterBuilder::tcp`] or [`EmitterBuilder::unix_stream`]. With the `metrics` feature, [`Recorder`] plugs the emitter
//! into the [`metrics`](https://docs.rs/metrics) facade.

use core::sync::atomic::{AtomicBool, Ordering::*};
use std::path::PathBuf;
use std::string::{String, ToString};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use std::vec::Vec;

mod error;
mod flush;
mod line;
#[cfg(feature = "metrics")]
mod recorder;
mod registry;
mod samples;
mod slots;
mod stream;
mod transport;

pub use error::EmitError;
pub use line::{LineSender, LineSenderBuilder, LineStats};
#[cfg(feature = "metrics")]
pub use recorder::{describe_catalog, Recorder};
pub use registry::MAX_PROTOCOL_VERSIONS;
pub use transport::Spy;

use crate::catalog::{parse_protocol_used, Kind, Metric, METRIC_COUNT};
use crate::name;
use crate::wire::{
    Dialect, Encoder, MetricType, Tag, Value, DEFAULT_MAX_PAYLOAD_UDP, DEFAULT_MAX_PAYLOAD_UDS,
};
use flush::{FlushState, StatCells};
use registry::{Meta, Registry, Versions};
use samples::{Pending, SampleBuffer, SampleValue};
use slots::{Chunk, CounterSlot, GaugeCell};
use stream::DEFAULT_MAX_BUFFERED;
use transport::Transport;

/// The default address: `localhost:8125`.
pub const DEFAULT_ADDRESS: &str = "localhost:8125";
/// The default flush interval: 1 s.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// The default bound on distinct custom names (counters, gauges and sample names together).
pub const DEFAULT_MAX_REGISTERED: usize = 10_000;
/// The default bound on buffered samples between two flushes.
pub const DEFAULT_MAX_SAMPLES: usize = 65_536;
/// The largest payload a UDP datagram can carry.
const MAX_UDP_PAYLOAD: usize = 65_507;

type ErrorCallback = Arc<dyn Fn(&EmitError) + Send + Sync>;

/// What the emitter did so far: a snapshot from [`Emitter::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Flushes run (by the flusher thread, `flush()` and `close()`).
    pub flushes: u64,
    /// Datagrams handed to the socket.
    pub packets_sent: u64,
    /// Bytes in those datagrams.
    pub bytes_sent: u64,
    /// Lines packed into datagrams (a negative-gauge pair counts once).
    pub lines_sent: u64,
    /// Datagrams the socket refused (their lines are lost).
    pub send_errors: u64,
    /// Times the address was resolved again and the socket reopened after repeated errors; for
    /// a stream transport, connections made after the first one.
    pub reconnects: u64,
    /// Lines longer than the maximum payload, dropped.
    pub lines_dropped_oversize: u64,
    /// Lines the encoder rejected at flush (for example a non-finite float gauge).
    pub encode_errors: u64,
    /// Registrations of new custom names refused because the registry was full.
    pub dropped_cardinality: u64,
    /// Samples refused because the sample buffer was full.
    pub dropped_samples: u64,
    /// Protocol-version uses refused because every version slot was taken.
    pub dropped_protocol_versions: u64,
    /// Custom names registered (at most the bound).
    pub registered: u64,
    /// Panics of the error callback, caught (counting and flushing go on).
    pub callback_panics: u64,
    /// Stream transports: failed connection attempts (each is also passed to the error
    /// callback, at the next flush).
    pub connect_errors: u64,
    /// Stream transports: bytes written to the connection (`packets_sent` and `bytes_sent`
    /// count what the flush handed to the transport's backlog).
    pub bytes_written: u64,
    /// Stream transports: lines dropped because the backlog was full (the server unreachable
    /// or not reading), or still unwritten when the emitter closed.
    pub lines_dropped_backlog: u64,
    /// Stream transports: lines whose first bytes went out on a connection that then failed,
    /// written again whole on the next connection.
    pub partial_lines_resent: u64,
    /// Stream transports: bytes waiting to be written, now (bounded by
    /// [`EmitterBuilder::max_buffered`]).
    pub backlog_bytes: u64,
}

/// The emitter's fixed configuration.
#[derive(Debug)]
struct Config {
    dialect: Dialect,
    prefix: String,
    host_tag: Option<String>,
    tags: Vec<(String, String)>,
    max_payload: usize,
}

/// Everything the handles, the flusher thread and the owner share.
pub(crate) struct Shared {
    catalog: Arc<Chunk>,
    gauges: [Arc<GaugeCell>; METRIC_COUNT],
    versions: Versions,
    registry: Registry,
    samples: Arc<SampleBuffer>,
    config: Config,
    flush: Mutex<FlushState>,
    stats: Arc<StatCells>,
    closed: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
    on_error: Option<ErrorCallback>,
    /// The process that built the emitter: after `fork()`, the child has a copy of the state
    /// but no flusher thread.
    pid: u32,
}

impl Shared {
    /// Whether this is a child process forked after the emitter was built.
    fn forked(&self) -> bool {
        std::process::id() != self.pid
    }
}

impl core::fmt::Debug for Shared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Owns the flusher thread; dropped with the last [`Emitter`] clone.
#[derive(Debug)]
struct Owner {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Owner {
    fn close(&self) {
        if self.shared.closed.swap(true, AcqRel) {
            return;
        }
        if self.shared.forked() {
            // A forked child: the flusher thread is the parent's (its handle is forgotten, not
            // joined or detached), and what was counted before the fork is the parent's to
            // send. Sending it here would deliver it twice.
            std::mem::forget(self.thread.lock().unwrap_or_else(|e| e.into_inner()).take());
            return;
        }
        {
            let mut stop = self.shared.stop.lock().unwrap_or_else(|e| e.into_inner());
            *stop = true;
            self.shared.wake.notify_all();
        }
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            // close() from the error callback runs on the flusher thread: it cannot join itself.
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
        let _ = self.shared.flush_now();
        // A stream transport writes what it still holds (bounded) and stops its I/O thread.
        self.shared
            .flush
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transport
            .close();
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.close();
    }
}

fn run_flusher(shared: Arc<Shared>, interval: Duration) {
    let mut next = Instant::now() + interval;
    loop {
        {
            let mut stop = shared.stop.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if *stop {
                    return;
                }
                let now = Instant::now();
                if now >= next {
                    break;
                }
                stop = match shared.wake.wait_timeout(stop, next - now) {
                    Ok((g, _)) => g,
                    Err(e) => e.into_inner().0,
                };
            }
        }
        let _ = shared.flush_now();
        next += interval;
        let now = Instant::now();
        if next <= now {
            next = now + interval;
        }
    }
}

/// Where the emitter (or a line sender) sends.
#[derive(Debug, Clone)]
enum Target {
    Address(String),
    Unix(PathBuf),
    Tcp(String),
    UnixStream(PathBuf),
}

impl Target {
    /// The default maximum payload: 1432 for UDP, 8192 for the others.
    fn default_payload(&self) -> usize {
        match self {
            Target::Address(_) => DEFAULT_MAX_PAYLOAD_UDP,
            _ => DEFAULT_MAX_PAYLOAD_UDS,
        }
    }
}

/// Check the sizes and open the transport of `target`: the one way the emitter and the line
/// sender make their transports. With `udp_ttl` `None` a UDP address must resolve now (the
/// emitter); with `Some(ttl)` the transport is made anyway, the resolution error returned beside
/// it, and the address resolved again at batches once the last resolution is older than `ttl`.
fn open_transport(
    target: &Target,
    max_payload: usize,
    max_buffered: usize,
    stats: &Arc<StatCells>,
    udp_ttl: Option<Duration>,
) -> Result<(Transport, Option<EmitError>), EmitError> {
    match target {
        Target::Tcp(_) | Target::UnixStream(_) if max_buffered <= max_payload => {
            Err(EmitError::InvalidConfig(
                "max_buffered must hold at least one packet (max_payload + 1 bytes)",
            ))
        }
        Target::Address(_) if max_payload > MAX_UDP_PAYLOAD => Err(EmitError::InvalidConfig(
            "max_payload exceeds the largest UDP payload (65507)",
        )),
        Target::Address(a) => match udp_ttl {
            None => Ok((Transport::udp(a.clone(), transport::resolve(a)?)?, None)),
            Some(ttl) => Ok(Transport::udp_lenient(a.clone(), ttl)),
        },
        Target::Unix(p) => Ok((Transport::unix(p.clone())?, None)),
        Target::Tcp(a) => Ok((
            Transport::tcp(a.clone(), max_buffered, stats.clone())?,
            None,
        )),
        Target::UnixStream(p) => Ok((
            Transport::unix_stream(p.clone(), max_buffered, stats.clone())?,
            None,
        )),
    }
}

/// Configures and builds an [`Emitter`]. Start with [`Emitter::builder`].
#[derive(Clone)]
pub struct EmitterBuilder {
    target: Target,
    prefix: Option<String>,
    dialect: Dialect,
    hostname_as_tag: bool,
    flush_interval: Duration,
    max_payload: Option<usize>,
    tags: Vec<(String, String)>,
    max_registered: usize,
    max_samples: usize,
    max_buffered: usize,
    on_error: Option<ErrorCallback>,
}

impl core::fmt::Debug for EmitterBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EmitterBuilder")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .field("dialect", &self.dialect)
            .field("hostname_as_tag", &self.hostname_as_tag)
            .field("flush_interval", &self.flush_interval)
            .field("max_payload", &self.max_payload)
            .field("tags", &self.tags)
            .field("max_registered", &self.max_registered)
            .field("max_samples", &self.max_samples)
            .field("max_buffered", &self.max_buffered)
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

impl Default for EmitterBuilder {
    fn default() -> Self {
        EmitterBuilder {
            target: Target::Address(DEFAULT_ADDRESS.to_string()),
            prefix: None,
            dialect: Dialect::Etsy,
            hostname_as_tag: false,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_payload: None,
            tags: Vec::new(),
            max_registered: DEFAULT_MAX_REGISTERED,
            max_samples: DEFAULT_MAX_SAMPLES,
            max_buffered: DEFAULT_MAX_BUFFERED,
            on_error: None,
        }
    }
}

impl EmitterBuilder {
    /// Send over UDP to `host:port` (default `localhost:8125`). The address is resolved once, at
    /// [`build`](Self::build) (the first IPv4 address wins), and again only after repeated send
    /// errors.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.target = Target::Address(address.into());
        self
    }

    /// Send to a Unix datagram socket at `path` (the default maximum payload becomes 8192).
    pub fn unix_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.target = Target::Unix(path.into());
        self
    }

    /// Send over TCP to `host:port`: newline-framed lines (every line ends with `\n`, a write
    /// never ends inside a line on a new connection), as hot-shots' `tcp` protocol and
    /// Telegraf's statsd TCP listener expect. The default maximum payload (the size of one
    /// packed write) becomes 8192.
    ///
    /// The connection is made by a background I/O thread, not by [`build`](Self::build): an
    /// unreachable or unresolvable server does not fail the build. Connection errors are
    /// counted in [`Stats::connect_errors`] and passed to [`on_error`](Self::on_error) at the
    /// next flush; the address is resolved again at each attempt. After a failed attempt, a
    /// write error or a close by the server, the thread reconnects with exponential backoff
    /// (100 ms, doubling to at most 5 s; reset once a line is written). Each attempt has a
    /// 2 s connect timeout, each write a 200 ms write timeout, both on the I/O thread: flushing
    /// only appends to a backlog bounded by [`max_buffered`](Self::max_buffered) (1 MiB by
    /// default). When it is full the newest lines are dropped and counted in
    /// [`Stats::lines_dropped_backlog`]. A line cut by a broken connection is written again
    /// whole on the next one ([`Stats::partial_lines_resent`]). At [`Emitter::close`], what is
    /// buffered gets up to 1 s to go out; the rest is counted as dropped.
    ///
    /// ```no_run
    /// use realm_metrics::emitter::Emitter;
    /// use realm_metrics::Metric;
    ///
    /// let emitter = Emitter::builder()
    ///     .tcp("127.0.0.1:8125")
    ///     .on_error(|e| eprintln!("statsd: {e}"))
    ///     .build()
    ///     .unwrap();
    /// emitter.count(Metric::ConnectionStarted, 1).unwrap();
    /// ```
    pub fn tcp(mut self, address: impl Into<String>) -> Self {
        self.target = Target::Tcp(address.into());
        self
    }

    /// Send over a Unix stream socket at `path` (for example DogStatsD's `unixstream://`
    /// socket): newline-framed lines, with the same background connection, reconnection,
    /// backlog and counting as [`tcp`](Self::tcp). A socket that does not exist yet at build is
    /// not an error: it is reported to [`on_error`](Self::on_error) and retried. The default
    /// maximum payload becomes 8192.
    pub fn unix_stream(mut self, path: impl Into<PathBuf>) -> Self {
        self.target = Target::UnixStream(path.into());
        self
    }

    /// Stream transports ([`tcp`](Self::tcp), [`unix_stream`](Self::unix_stream)): the bound
    /// on bytes waiting to be written (default 1 MiB). It must hold at least one packet
    /// (`max_payload + 1` bytes). Ignored by the datagram transports.
    pub fn max_buffered(mut self, bytes: usize) -> Self {
        self.max_buffered = bytes;
        self
    }

    /// The prefix of every name (default `realm.<hostname>`, or `realm` with
    /// [`hostname_as_tag`](Self::hostname_as_tag)). May be empty.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The StatsD dialect (default [`Dialect::Etsy`]).
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// Carry the hostname as a `host=<hostname>` tag instead of in the prefix (which then
    /// defaults to `realm`): Telegraf's `hostname_as_tag` layout. Needs a dialect with tags.
    pub fn hostname_as_tag(mut self, on: bool) -> Self {
        self.hostname_as_tag = on;
        self
    }

    /// How often the flusher thread sends (default 1 s). `Duration::ZERO` starts no thread:
    /// only [`Emitter::flush`] and [`Emitter::close`] send.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// The largest datagram payload (default 1432 for UDP, 8192 for a Unix socket).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = Some(bytes);
        self
    }

    /// A tag on every line (Telegraf and DogStatsD dialects only).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// The bound on distinct custom names: counters, gauges and sample names together (default
    /// 10 000). Past it, new names are refused and counted as dropped; memory stays bounded.
    pub fn max_registered(mut self, n: usize) -> Self {
        self.max_registered = n;
        self
    }

    /// The bound on samples buffered between two flushes (default 65 536); the excess is
    /// dropped and counted.
    pub fn max_samples(mut self, n: usize) -> Self {
        self.max_samples = n;
        self
    }

    /// Called with each failure while flushing (send errors, oversize lines, drops), from the
    /// thread that flushes, after the flush. It must not block for long; a panic in it is caught.
    /// Holding an [`Emitter`] clone in the callback keeps the emitter alive until
    /// [`Emitter::close`] is called explicitly.
    pub fn on_error(mut self, f: impl Fn(&EmitError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }

    /// Build the emitter and start its flusher thread. Fails on an unresolvable UDP address,
    /// a TCP address without a port, an invalid prefix or tag, or a setting out of range (a
    /// stream server that cannot be reached is not a build error: see [`tcp`](Self::tcp)).
    pub fn build(self) -> Result<Emitter, EmitError> {
        let stats = Arc::new(StatCells::default());
        let max_payload = self.max_payload.unwrap_or(self.target.default_payload());
        let (transport, _) =
            open_transport(&self.target, max_payload, self.max_buffered, &stats, None)?;
        self.finish(transport, max_payload, stats)
    }

    /// Build an emitter that captures its datagrams in memory instead of sending them, and the
    /// [`Spy`] that reads them (the address setting is ignored; the maximum payload defaults to
    /// 1432).
    pub fn spy(self) -> Result<(Emitter, Spy), EmitError> {
        let spy = Spy::new();
        let max_payload = self.max_payload.unwrap_or(DEFAULT_MAX_PAYLOAD_UDP);
        let e = self.finish(
            Transport::Spy(spy.clone()),
            max_payload,
            Arc::new(StatCells::default()),
        )?;
        Ok((e, spy))
    }

    fn finish(
        self,
        transport: Transport,
        max_payload: usize,
        stats: Arc<StatCells>,
    ) -> Result<Emitter, EmitError> {
        if max_payload == 0 {
            return Err(EmitError::InvalidConfig("max_payload must be at least 1"));
        }
        if max_payload > 1 << 24 {
            return Err(EmitError::InvalidConfig(
                "max_payload must be at most 16 MiB",
            ));
        }
        let host_tag = self.hostname_as_tag.then(name::hostname);
        let prefix = match self.prefix {
            Some(p) => p,
            None if self.hostname_as_tag => "realm".to_string(),
            None => name::default_prefix(),
        };
        {
            // Validate the prefix, tags and host tag once, with the encoder's rules.
            let tags: Vec<Tag<'_>> = self
                .tags
                .iter()
                .map(|(k, v)| Tag::new(k, Some(v)))
                .collect();
            let enc = Encoder::new(self.dialect, &prefix, &tags)?;
            if let Some(h) = &host_tag {
                enc.with_host_tag(h)?;
            }
        }
        let shared = Arc::new(Shared {
            catalog: Chunk::new(),
            gauges: core::array::from_fn(|_| Arc::new(GaugeCell::new(false))),
            versions: Versions::new(),
            registry: Registry::new(self.max_registered, self.dialect),
            samples: Arc::new(SampleBuffer::new(self.max_samples)),
            config: Config {
                dialect: self.dialect,
                prefix,
                host_tag,
                tags: self.tags,
                max_payload,
            },
            flush: Mutex::new(FlushState::new(transport, max_payload)),
            stats,
            closed: AtomicBool::new(false),
            pid: std::process::id(),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            on_error: self.on_error,
        });
        let thread = if self.flush_interval.is_zero() {
            None
        } else {
            let s = shared.clone();
            let interval = self.flush_interval;
            Some(
                std::thread::Builder::new()
                    .name("realm-metrics-flush".to_string())
                    .spawn(move || run_flusher(s, interval))
                    .map_err(|e| EmitError::io("starting the flusher thread", &e))?,
            )
        };
        Ok(Emitter {
            owner: Arc::new(Owner {
                shared: shared.clone(),
                thread: Mutex::new(thread),
            }),
            shared,
        })
    }
}

/// An aggregating StatsD emitter. See the [module docs](self) for a guide.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`. Dropping the last clone flushes and joins
/// the flusher thread.
#[derive(Clone, Debug)]
pub struct Emitter {
    shared: Arc<Shared>,
    owner: Arc<Owner>,
}

impl Emitter {
    /// A builder with the defaults: UDP to `localhost:8125`, prefix `realm.<hostname>`, Etsy
    /// dialect, 1 s flushes.
    pub fn builder() -> EmitterBuilder {
        EmitterBuilder::default()
    }

    /// Add `n` to a catalog counter: one relaxed atomic add. A gauge, or
    /// [`Metric::ProtocolVersionUsed`], is an error.
    #[inline]
    pub fn count(&self, metric: Metric, n: u64) -> Result<(), EmitError> {
        if metric.kind() != Kind::Counter {
            return Err(EmitError::WrongKind {
                metric,
                expected: Kind::Counter,
            });
        }
        if metric.is_templated() {
            return Err(EmitError::Templated(metric));
        }
        self.shared.catalog.add(metric as usize, n);
        Ok(())
    }

    #[inline]
    fn gauge_cell(&self, metric: Metric) -> Result<&GaugeCell, EmitError> {
        match self.shared.gauges.get(metric as usize) {
            Some(g) if metric.kind() == Kind::Gauge => Ok(g),
            _ => Err(EmitError::WrongKind {
                metric,
                expected: Kind::Gauge,
            }),
        }
    }

    /// Set a catalog gauge to `value` (sent as an absolute value on every flush from now on).
    #[inline]
    pub fn gauge_set(&self, metric: Metric, value: i64) -> Result<(), EmitError> {
        self.gauge_cell(metric)?.set_i64(value);
        Ok(())
    }

    /// Change a catalog gauge by `delta` in process (the wire still carries the absolute value).
    #[inline]
    pub fn gauge_add(&self, metric: Metric, delta: i64) -> Result<(), EmitError> {
        self.gauge_cell(metric)?.add_i64(delta);
        Ok(())
    }

    /// Count one connection over sync protocol `version` (`protocol.<version>.used`). Versions
    /// get a slot on first use, up to [`MAX_PROTOCOL_VERSIONS`]; past that the use is counted
    /// as dropped and an error returned.
    #[inline]
    pub fn protocol_used(&self, version: u32) -> Result<(), EmitError> {
        if self.shared.versions.add(version, 1) {
            Ok(())
        } else {
            Err(EmitError::ProtocolVersionsExceeded {
                limit: MAX_PROTOCOL_VERSIONS,
            })
        }
    }

    /// A handle to the counter `name` (after the prefix), registered on first use. Catalog
    /// counter names (and `protocol.<version>.used`) give a handle to the catalog slot. Fails
    /// on an invalid name, or when the registry is full (counted as dropped).
    pub fn counter(&self, name: &str) -> Result<Counter, EmitError> {
        if let Some(m) = Metric::lookup(name, Kind::Counter) {
            if !m.is_templated() {
                return Ok(Counter {
                    slot: CounterSlot::new(self.shared.catalog.clone(), m as usize),
                });
            }
        }
        if let Some(v) = parse_protocol_used(name) {
            let slot = u32::try_from(v)
                .ok()
                .and_then(|v| self.shared.versions.slot(v));
            return match slot {
                Some(slot) => Ok(Counter { slot }),
                None => {
                    self.shared.versions.dropped.fetch_add(1, Relaxed);
                    Err(EmitError::ProtocolVersionsExceeded {
                        limit: MAX_PROTOCOL_VERSIONS,
                    })
                }
            };
        }
        self.counter_with_tags(name, &[])
    }

    /// A handle to the counter `name` with `tags` (dropped in the Etsy dialect, which has none).
    /// Always a custom registry entry, even for a catalog name.
    pub fn counter_with_tags(
        &self,
        name: &str,
        tags: &[(&str, &str)],
    ) -> Result<Counter, EmitError> {
        let slot = self.shared.registry.counter(name, tags)?;
        Ok(Counter {
            slot: (*slot).clone(),
        })
    }

    /// A handle to the gauge `name`, registered on first use. Catalog gauge names give a handle
    /// to the catalog gauge.
    pub fn gauge(&self, name: &str) -> Result<Gauge, EmitError> {
        if let Some(m) = Metric::lookup(name, Kind::Gauge) {
            if let Some(cell) = self.shared.gauges.get(m as usize) {
                return Ok(Gauge { cell: cell.clone() });
            }
        }
        self.gauge_with_tags(name, &[])
    }

    /// A handle to the gauge `name` with `tags` (dropped in the Etsy dialect).
    pub fn gauge_with_tags(&self, name: &str, tags: &[(&str, &str)]) -> Result<Gauge, EmitError> {
        let cell = self.shared.registry.gauge(name, tags, false)?;
        Ok(Gauge { cell })
    }

    /// A handle that records timing (`ms`), histogram (`h`) or distribution (`d`) samples of
    /// `name`; other types are an [`EmitError::InvalidConfig`].
    pub fn sampler(&self, name: &str, ty: MetricType) -> Result<Sampler, EmitError> {
        self.sampler_with_tags(name, ty, &[])
    }

    /// [`sampler`](Self::sampler) with tags (dropped in the Etsy dialect).
    pub fn sampler_with_tags(
        &self,
        name: &str,
        ty: MetricType,
        tags: &[(&str, &str)],
    ) -> Result<Sampler, EmitError> {
        if !matches!(
            ty,
            MetricType::Timer | MetricType::Histogram | MetricType::Distribution
        ) {
            return Err(EmitError::InvalidConfig(
                "a sampler records ms, h or d samples",
            ));
        }
        let meta = self.shared.registry.sample_name(name, tags)?;
        Ok(Sampler {
            meta,
            ty,
            rate: None,
            buffer: self.shared.samples.clone(),
        })
    }

    /// [`sampler_with_tags`](Self::sampler_with_tags) for a caller that samples at `rate`
    /// (0 < rate <= 1): it records only the kept samples, and each goes out with `|@rate` so
    /// the daemon scales its counts (as hot-shots and the StatsD spec do).
    pub fn sampler_with_rate(
        &self,
        name: &str,
        ty: MetricType,
        tags: &[(&str, &str)],
        rate: f64,
    ) -> Result<Sampler, EmitError> {
        if !(rate > 0.0 && rate <= 1.0) {
            return Err(EmitError::Encode(
                crate::wire::EncodeError::InvalidSampleRate,
            ));
        }
        let mut s = self.sampler_with_tags(name, ty, tags)?;
        s.rate = (rate < 1.0).then_some(rate);
        Ok(s)
    }

    fn sample(&self, name: &str, ty: MetricType, value: SampleValue) -> Result<(), EmitError> {
        let meta = self.shared.registry.sample_name(name, &[])?;
        self.shared.samples.push(Pending {
            meta,
            ty,
            value,
            rate: None,
        })
    }

    /// Record a timing of `ms` milliseconds (`name:ms|ms`), sent at the next flush.
    pub fn timing(&self, name: &str, ms: f64) -> Result<(), EmitError> {
        check_finite(ms)?;
        self.sample(name, MetricType::Timer, SampleValue::Num(ms))
    }

    /// Record a histogram sample (`name:v|h`), sent at the next flush.
    pub fn histogram(&self, name: &str, value: f64) -> Result<(), EmitError> {
        check_finite(value)?;
        self.sample(name, MetricType::Histogram, SampleValue::Num(value))
    }

    /// Record a distribution sample (`name:v|d`), sent at the next flush.
    pub fn distribution(&self, name: &str, value: f64) -> Result<(), EmitError> {
        check_finite(value)?;
        self.sample(name, MetricType::Distribution, SampleValue::Num(value))
    }

    /// Record a set member (`name:member|s`), sent at the next flush. The member must be
    /// non-empty, without `|`, `:` or line breaks.
    pub fn set(&self, name: &str, member: &str) -> Result<(), EmitError> {
        registry::validate(
            self.shared.config.dialect,
            "x",
            &[],
            Value::Str(member),
            MetricType::Set,
        )?;
        self.sample(name, MetricType::Set, SampleValue::Member(member.into()))
    }

    /// Send now: returns once everything recorded before the call is in datagrams handed to
    /// the socket. Errors are counted and passed to the callback as usual; the first send error
    /// or oversize line of this flush is also returned. After [`close`](Self::close), does
    /// nothing.
    pub fn flush(&self) -> Result<(), EmitError> {
        if self.shared.closed.load(Acquire) {
            return Ok(());
        }
        if self.shared.forked() {
            return Err(EmitError::Forked);
        }
        self.shared.flush_now()
    }

    /// Stop the flusher thread, join it and flush one last time. Later calls (and later
    /// recording) do nothing. Dropping the last clone does the same.
    pub fn close(&self) {
        self.owner.close();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Acquire)
    }

    /// A snapshot of the emitter's counters.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        self.shared.stats.snapshot(&mut s);
        s.dropped_cardinality = self.shared.registry.dropped.load(Relaxed);
        s.dropped_samples = self.shared.samples.dropped.load(Relaxed);
        s.dropped_protocol_versions = self.shared.versions.dropped.load(Relaxed);
        s.registered = self.shared.registry.len() as u64;
        s
    }

    /// The prefix of every name.
    pub fn prefix(&self) -> &str {
        &self.shared.config.prefix
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.shared.config.dialect
    }

    /// The maximum datagram payload.
    pub fn max_payload(&self) -> usize {
        self.shared.config.max_payload
    }
}

fn check_finite(v: f64) -> Result<(), EmitError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(EmitError::Encode(crate::wire::EncodeError::NonFiniteValue))
    }
}

/// A handle to one counter: [`increment`](Counter::increment) is one relaxed atomic add.
/// Cheap to clone; it stays valid after the emitter is closed (increments are then ignored).
#[derive(Clone, Debug)]
pub struct Counter {
    slot: CounterSlot,
}

impl Counter {
    /// Add `n`.
    #[inline(always)]
    pub fn increment(&self, n: u64) {
        self.slot.add(n);
    }

    /// The sum since the last flush (not yet sent).
    pub fn pending(&self) -> u64 {
        self.slot.peek()
    }
}

/// A handle to one gauge. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Gauge {
    cell: Arc<GaugeCell>,
}

impl Gauge {
    /// Set the absolute value.
    #[inline]
    pub fn set(&self, value: i64) {
        self.cell.set_i64(value);
    }

    /// Change the value by `delta` in process (the wire carries the absolute value).
    #[inline]
    pub fn add(&self, delta: i64) {
        self.cell.add_i64(delta);
    }

    /// The current value (0 when never set; a float gauge from the `metrics` facade is
    /// rounded).
    pub fn value(&self) -> i64 {
        match self.cell.value() {
            slots::GaugeValue::Int(v) => v,
            slots::GaugeValue::Float(v) => v.round() as i64,
        }
    }
}

/// A handle that records samples of one name and type into the bounded sample buffer.
#[derive(Clone, Debug)]
pub struct Sampler {
    meta: Arc<Meta>,
    ty: MetricType,
    rate: Option<f64>,
    buffer: Arc<SampleBuffer>,
}

impl Sampler {
    /// Record a sample; a non-finite value or a full buffer is an error (the latter counted as
    /// dropped).
    pub fn record(&self, value: f64) -> Result<(), EmitError> {
        check_finite(value)?;
        self.buffer.push(Pending {
            meta: self.meta.clone(),
            ty: self.ty,
            value: SampleValue::Num(value),
            rate: self.rate,
        })
    }

    /// The wire type (`ms`, `h` or `d`).
    pub fn metric_type(&self) -> MetricType {
        self.ty
    }
}

// Every public handle is Send + Sync.
const _: () = {
    const fn check<T: Send + Sync>() {}
    check::<Emitter>();
    check::<Counter>();
    check::<Gauge>();
    check::<Sampler>();
    check::<Spy>();
    check::<LineSender>();
};
