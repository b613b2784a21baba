//! `NativeSink`: the sender behind the `StatsD` and `RealmMetrics` classes.
//!
//! Counters and gauges live in memory that JavaScript writes directly: chunks of 64-bit cells
//! handed to JavaScript as external `ArrayBuffer`s (a `Float64Array` over each). A client is
//! used by one JavaScript thread only (objects never cross threads), so every cell has a single
//! writer. A counter's cell holds the cumulative sum, which only JavaScript writes: the flusher
//! reads it, sends the difference from the value it saw last time and remembers the new one, so
//! a flush loses nothing without atomics on the JavaScript side. A gauge has four cells (see
//! [`Series::Gauge`]). The memory belongs to this module (an `Arc` shared by the flusher and
//! the `ArrayBuffer`s' finalizers): what a thread counted before it died is still sent.
//!
//! Lines that are not aggregated (timings, histograms, distributions, set members, events,
//! service checks, and every line in per-call mode) are formatted by JavaScript and queued here
//! (bounded). The flusher hands them to core's `LineSender`, which packs them into payloads of
//! at most `maxPayload` bytes (a longer line goes alone; `0` means one line per payload) and
//! sends them over UDP, a Unix datagram socket, TCP or a Unix stream socket (newline-framed,
//! written by a background thread that reconnects with backoff, behind a bounded backlog).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use realm_metrics::emitter::{EmitError, LineSender};

use crate::emitter::EmitErrorInfo;
use crate::error::{throw, throw_emit};

/// Cells per chunk (8 bytes each).
pub const CHUNK_CELLS: u32 = 1024;
/// The largest UDP payload.
const MAX_UDP: usize = 65_507;
/// Bound on the payloads waiting for JavaScript (`pull` protocol).
const MAX_PULLED: usize = 4096;
/// Bound on the bytes of queued lines between flushes.
const MAX_QUEUED_BYTES: usize = 16 << 20;
/// Stream transports: the bound on bytes waiting to be written (core's backlog).
const MAX_BUFFERED: usize = 1 << 20;

/// `host:port` for core's transports, with an IPv6 literal in brackets (shared with the
/// `NativeEmitter`).
pub(crate) fn socket_address(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Options of a `NativeSink` (normalised by the JavaScript layer).
#[napi(object)]
#[derive(Debug)]
pub struct NativeSinkOptions {
    /// `udp` (default), `uds` (Unix datagram), `tcp`, `stream` (Unix stream socket) or `pull`
    /// (payloads kept for `take()`).
    pub protocol: Option<String>,
    /// Host for `udp` / `tcp` (default `localhost`).
    pub host: Option<String>,
    /// Port for `udp` / `tcp` (default 8125).
    pub port: Option<u32>,
    /// Socket path for `uds` / `stream`.
    pub path: Option<String>,
    /// Milliseconds between flushes (default 1000; 0: only `flush()` / `close()` send).
    pub flush_interval_ms: Option<f64>,
    /// The largest payload: lines are packed up to it; 0 sends one line per payload.
    pub max_payload: Option<u32>,
    /// Send as soon as this many bytes of lines are queued (per-call mode); 0: at flushes only.
    pub send_threshold: Option<u32>,
    /// Bound on queued lines between flushes (default 65536); more are dropped and counted.
    pub max_lines: Option<u32>,
    /// Bound on registered counters and gauges (default 10000).
    pub max_series: Option<u32>,
    /// Keep a resolved address for this many milliseconds (default 0: resolve at every flush).
    pub dns_ttl_ms: Option<f64>,
}

/// The sink's counters (numbers; exact up to 2^53).
#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct SinkStats {
    /// Flushes run.
    pub flushes: f64,
    /// Payloads handed to the socket.
    pub packets_sent: f64,
    /// Bytes in those payloads.
    pub bytes_sent: f64,
    /// Lines in those payloads.
    pub lines_sent: f64,
    /// Payloads the socket refused (their lines are lost).
    pub send_errors: f64,
    /// Stream transports: connections made after the first one; UDP: socket reopened after
    /// repeated send errors.
    pub reconnects: f64,
    /// Stream transports: failed connection attempts.
    pub connect_errors: f64,
    /// Stream transports: lines dropped because the backlog was full (the server unreachable or
    /// not reading), or still unwritten at close.
    pub lines_dropped_backlog: f64,
    /// Stream transports: bytes waiting to be written, now.
    pub backlog_bytes: f64,
    /// Lines longer than a datagram can carry, dropped.
    pub lines_dropped_oversize: f64,
    /// Lines dropped because the queue was full.
    pub dropped_lines: f64,
    /// Counters and gauges refused because `maxSeries` were registered.
    pub dropped_cardinality: f64,
    /// Counters and gauges registered.
    pub registered: f64,
}

type ErrorCallback = ThreadsafeFunction<EmitErrorInfo, (), EmitErrorInfo, Status, false, true>;

/// A chunk of cells shared with JavaScript.
struct Chunk {
    cells: Box<[AtomicU64]>,
}

impl Chunk {
    fn new() -> Self {
        Chunk {
            cells: (0..CHUNK_CELLS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// A registered aggregated series: a line is `head + value + tail`.
enum Series {
    /// One cell: the cumulative sum (JavaScript adds to it).
    Counter {
        cell: u32,
        head: String,
        tail: String,
        last: f64,
    },
    /// Four cells from `cell`: `[sets, setValue, deltaAtSet, deltaSum]`. A set writes the value,
    /// copies `deltaSum` to `deltaAtSet`, then adds 1 to `sets`; a delta adds to `deltaSum`.
    /// Once set, the absolute value `setValue + deltaSum - deltaAtSet` goes out on every flush;
    /// never set, the summed delta since the last flush goes out as `+N` / `-N`.
    Gauge {
        cell: u32,
        head: String,
        tail: String,
        /// A negative absolute value goes out as `0` then `-N` (etsy and telegraf: a leading
        /// sign means "change by" there).
        neg_zero: bool,
        last_delta: f64,
    },
}

/// The registered series and their memory (locked briefly: by a registration, and by a flush
/// while it reads the cells).
struct Reg {
    chunks: Vec<Arc<Chunk>>,
    series: Vec<Series>,
    dropped_cardinality: f64,
}

/// The queued lines (locked briefly by `line()` and by a flush taking them).
#[derive(Default)]
struct Queue {
    lines: VecDeque<String>,
    queued_bytes: usize,
    dropped_lines: f64,
}

struct Shared {
    /// Core's sender: the transport, its packing and its counters.
    sender: LineSender,
    /// Protocol `pull`: the payloads waiting for JavaScript (filled by the sender).
    pulled: Option<Arc<Mutex<VecDeque<String>>>>,
    /// Held for a whole flush, so flushes keep their order (the JavaScript thread's metric
    /// calls never take it).
    flushing: Mutex<()>,
    flushes: AtomicU64,
    reg: Mutex<Reg>,
    queue: Mutex<Queue>,
    wake: Condvar,
    closed: AtomicBool,
    interval: Option<Duration>,
    send_threshold: usize,
    max_lines: usize,
    max_queued_bytes: usize,
    max_series: usize,
    on_error: Option<ErrorCallback>,
}

fn info(e: &EmitError) -> EmitErrorInfo {
    EmitErrorInfo {
        code: crate::error::js_code(e.code()),
        message: e.to_string(),
    }
}

/// JavaScript's shortest form for the values counters and gauges take.
fn fmt_num(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

fn load(chunks: &[Arc<Chunk>], cell: u32) -> f64 {
    let (c, i) = ((cell / CHUNK_CELLS) as usize, (cell % CHUNK_CELLS) as usize);
    chunks
        .get(c)
        .and_then(|ch| ch.cells.get(i))
        .map_or(0.0, |a| f64::from_bits(a.load(Ordering::Acquire)))
}

/// Retries of a gauge snapshot while its writer is inside a set.
const SNAPSHOT_TRIES: usize = 64;

impl Reg {
    /// The lines of the aggregated series, appended to `out`.
    fn collect(&mut self, out: &mut Vec<String>) {
        let chunks = &self.chunks;
        for s in &mut self.series {
            match s {
                Series::Counter {
                    cell,
                    head,
                    tail,
                    last,
                } => {
                    let cur = load(chunks, *cell);
                    let d = cur - *last;
                    if d != 0.0 && d.is_finite() {
                        let mut l = head.clone();
                        fmt_num(&mut l, d);
                        l.push_str(tail);
                        out.push(l);
                    }
                    *last = cur;
                }
                Series::Gauge {
                    cell,
                    head,
                    tail,
                    neg_zero,
                    last_delta,
                } => {
                    // A consistent snapshot: a set adds 1 to `sets` before it writes and 1
                    // after, so an odd count is a set in progress and an unchanged even count
                    // around the reads means none happened meanwhile. A writer that never lets
                    // go (a set in a tight loop) leaves this gauge for the next flush.
                    let mut snap = None;
                    for _ in 0..SNAPSHOT_TRIES {
                        let c1 = load(chunks, *cell);
                        if c1 % 2.0 != 0.0 {
                            std::hint::spin_loop();
                            continue;
                        }
                        let v = load(chunks, *cell + 1);
                        let das = load(chunks, *cell + 2);
                        let dc = load(chunks, *cell + 3);
                        if load(chunks, *cell) == c1 {
                            snap = Some((c1, v, das, dc));
                            break;
                        }
                    }
                    let Some(snap) = snap else { continue };
                    let (sets, v, das, dc) = snap;
                    if sets != 0.0 {
                        let abs = v + (dc - das);
                        if abs.is_finite() {
                            if abs < 0.0 && *neg_zero {
                                out.push(format!("{head}0{tail}"));
                            }
                            let mut l = head.clone();
                            fmt_num(&mut l, abs);
                            l.push_str(tail);
                            out.push(l);
                        }
                    } else {
                        let d = dc - *last_delta;
                        if d != 0.0 && d.is_finite() {
                            let mut l = head.clone();
                            l.push(if d > 0.0 { '+' } else { '-' });
                            fmt_num(&mut l, d.abs());
                            l.push_str(tail);
                            out.push(l);
                        }
                    }
                    *last_delta = dc;
                }
            }
        }
    }
}

impl Shared {
    fn reg(&self) -> MutexGuard<'_, Reg> {
        self.reg.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read the series, take the queued lines, pack and send. Returns the first error.
    fn flush(&self, notify: bool) -> Option<EmitErrorInfo> {
        let _order = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        self.flushes.fetch_add(1, Ordering::Relaxed);
        let mut lines = Vec::new();
        self.reg().collect(&mut lines);
        {
            let mut q = self.queue();
            lines.extend(q.lines.drain(..));
            q.queued_bytes = 0;
        }
        // Also the stream transport's connection errors since the last flush, with no lines.
        let err = self
            .sender
            .send_lines(lines.iter().map(|l| l.as_bytes()))
            .err()
            .map(|e| info(&e));
        if let (true, Some(e), Some(cb)) = (notify, &err, &self.on_error) {
            let _ = cb.call(
                EmitErrorInfo {
                    code: e.code.clone(),
                    message: e.message.clone(),
                },
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        }
        err
    }

    fn run(self: Arc<Self>) {
        let mut next = self.interval.map(|i| Instant::now() + i);
        loop {
            {
                let st = self.queue();
                if self.closed.load(Ordering::Acquire) {
                    break;
                }
                let due =
                    |st: &Queue| self.send_threshold > 0 && st.queued_bytes >= self.send_threshold;
                if !due(&st) {
                    let wait = next.map_or(Duration::from_secs(3600), |n| {
                        n.saturating_duration_since(Instant::now())
                    });
                    if !wait.is_zero() {
                        let (st, _) = self
                            .wake
                            .wait_timeout(st, wait)
                            .unwrap_or_else(|p| p.into_inner());
                        if self.closed.load(Ordering::Acquire) {
                            break;
                        }
                        let timer_due = next.is_some_and(|n| Instant::now() >= n);
                        if !due(&st) && !timer_due {
                            continue;
                        }
                    }
                }
            }
            let _ = self.flush(true);
            if let (Some(i), Some(n)) = (self.interval, next.as_mut()) {
                let now = Instant::now();
                while *n <= now {
                    *n += i;
                }
            }
        }
    }
}

/// The sender of one client (shared by its child clients).
#[napi]
pub struct NativeSink {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    resolve_error: Option<EmitErrorInfo>,
}

impl Drop for NativeSink {
    fn drop(&mut self) {
        let _ = self.stop(true);
    }
}

impl NativeSink {
    fn stop(&self, notify: bool) -> Option<EmitErrorInfo> {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return None;
        }
        self.shared.wake.notify_all();
        let t = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = t {
            let _ = t.join();
        }
        let err = self.shared.flush(notify);
        // A stream transport gets up to 1 s to write what it holds; what it could not (and its
        // connection errors since the flush) is this close's error when the flush had none.
        let late = match self.shared.sender.close() {
            Err(e) if err.is_none() => info(&e),
            _ => return err,
        };
        if let (true, Some(cb)) = (notify, &self.shared.on_error) {
            let _ = cb.call(
                EmitErrorInfo {
                    code: late.code.clone(),
                    message: late.message.clone(),
                },
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        }
        Some(late)
    }
}

impl std::fmt::Debug for NativeSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeSink")
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Free the `Arc<Chunk>` an external `ArrayBuffer` kept alive.
unsafe extern "C" fn drop_chunk(
    _env: sys::napi_env,
    _data: *mut std::ffi::c_void,
    hint: *mut std::ffi::c_void,
) {
    if !hint.is_null() {
        // SAFETY: made by Box::into_raw in `chunk`; finalizers run once.
        drop(unsafe { Box::from_raw(hint as *mut Arc<Chunk>) });
    }
}

#[napi]
impl NativeSink {
    /// Open the transport (core's `LineSender`: a stream transport connects in the background)
    /// and start the flusher thread. Never throws for an unresolvable host: see `resolveError`.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: &Env,
        options: NativeSinkOptions,
        #[napi(ts_arg_type = "((info: EmitErrorInfo) => void) | undefined | null")]
        on_error: Option<ErrorCallback>,
    ) -> Result<Self> {
        let protocol = options.protocol.as_deref().unwrap_or("udp");
        let host = options.host.clone().unwrap_or_else(|| "localhost".into());
        let port = options.port.unwrap_or(8125);
        let Ok(port) = u16::try_from(port) else {
            return Err(throw(env, "invalid_config", "port must be in 1..65535"));
        };
        let address = socket_address(&host, port);
        let path = options.path.clone();
        let need_path = || {
            path.clone().ok_or_else(|| {
                throw(
                    env,
                    "invalid_config",
                    &format!("protocol {protocol} needs a path"),
                )
            })
        };
        let max_payload = options.max_payload.unwrap_or(1432) as usize;
        let mut b = LineSender::builder().max_buffered(MAX_BUFFERED);
        let mut pulled = None;
        // A datagram carries at most MAX_UDP bytes, whatever the option says; a stream packet
        // at most what the backlog holds.
        let (b, max_payload) = match protocol {
            "udp" => {
                let ttl = options.dns_ttl_ms.unwrap_or(0.0);
                let ttl = if ttl.is_finite() && ttl > 0.0 {
                    Duration::from_micros((ttl * 1000.0) as u64)
                } else {
                    Duration::ZERO
                };
                (b.address(address).dns_ttl(ttl), max_payload.min(MAX_UDP))
            }
            "pull" => {
                let out = Arc::new(Mutex::new(VecDeque::new()));
                let o2 = Arc::clone(&out);
                pulled = Some(out);
                b = b.packets(move |p: &[u8]| {
                    let mut q = o2.lock().unwrap_or_else(|p| p.into_inner());
                    if q.len() >= MAX_PULLED {
                        return Err(std::io::Error::other(
                            "the stream is not being written (payloads waiting)",
                        ));
                    }
                    q.push_back(String::from_utf8_lossy(p).into_owned());
                    Ok(())
                });
                (b, max_payload.min(MAX_BUFFERED - 1))
            }
            "tcp" => (b.tcp(address), max_payload.min(MAX_BUFFERED - 1)),
            #[cfg(unix)]
            "uds" => (b.unix_socket(need_path()?), max_payload.min(MAX_UDP)),
            #[cfg(unix)]
            "stream" => (
                b.unix_stream(need_path()?),
                max_payload.min(MAX_BUFFERED - 1),
            ),
            other => {
                return Err(throw(
                    env,
                    "invalid_config",
                    &format!("protocol {other:?} is not supported"),
                ));
            }
        };
        let ms = options.flush_interval_ms.unwrap_or(1000.0);
        if !(ms.is_finite() && ms >= 0.0) {
            return Err(throw(
                env,
                "invalid_config",
                "the flush interval must be a finite number of milliseconds >= 0",
            ));
        }
        let interval = (ms > 0.0).then(|| Duration::from_micros((ms * 1000.0) as u64));
        let sender = b
            .max_payload(max_payload)
            .build()
            .map_err(|e| throw_emit(env, &e))?;
        let resolve_error = sender.resolve_error().map(info);
        let shared = Arc::new(Shared {
            sender,
            pulled,
            flushing: Mutex::new(()),
            flushes: AtomicU64::new(0),
            reg: Mutex::new(Reg {
                chunks: Vec::new(),
                series: Vec::new(),
                dropped_cardinality: 0.0,
            }),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            closed: AtomicBool::new(false),
            interval,
            send_threshold: options.send_threshold.unwrap_or(0) as usize,
            max_lines: options.max_lines.unwrap_or(65_536) as usize,
            max_queued_bytes: MAX_QUEUED_BYTES,
            max_series: options.max_series.unwrap_or(10_000) as usize,
            on_error,
        });
        let s2 = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("realm-metrics-sink".into())
            .spawn(move || s2.run())
            .map_err(|e| throw(env, "io", &format!("cannot start the flusher thread: {e}")))?;
        Ok(NativeSink {
            shared,
            thread: Mutex::new(Some(thread)),
            resolve_error,
        })
    }

    /// Cells per chunk.
    #[napi(getter)]
    pub fn chunk_cells(&self) -> u32 {
        CHUNK_CELLS
    }

    /// The error of resolving the host at construction (`null` when it resolved).
    #[napi(getter, catch_unwind)]
    pub fn resolve_error(&self) -> Option<EmitErrorInfo> {
        self.resolve_error.as_ref().map(|e| EmitErrorInfo {
            code: e.code.clone(),
            message: e.message.clone(),
        })
    }

    /// A new chunk of `chunkCells` zeroed 64-bit cells, as an `ArrayBuffer` over the sink's own
    /// memory: cell `k` of chunk `n` (in creation order) is cell number `n * chunkCells + k`.
    #[napi(catch_unwind, ts_return_type = "ArrayBuffer")]
    pub fn chunk(&self, env: &Env) -> Result<Unknown<'static>> {
        // Enough for `maxSeries` gauges (4 cells each) and the catalog's fixed cells.
        let max_chunks =
            (self.shared.max_series.saturating_mul(4) + 128) / CHUNK_CELLS as usize + 2;
        if self.shared.reg().chunks.len() >= max_chunks {
            return Err(throw(
                env,
                "invalid_config",
                &format!(
                    "at most {max_chunks} chunks of cells for maxSeries {}",
                    self.shared.max_series
                ),
            ));
        }
        let chunk = Arc::new(Chunk::new());
        let ptr = chunk.cells.as_ptr() as *mut std::ffi::c_void;
        let len = chunk.cells.len() * 8;
        let hint = Box::into_raw(Box::new(Arc::clone(&chunk)));
        let mut ab = std::ptr::null_mut();
        // SAFETY: `ptr` stays valid while `hint` (an Arc of the chunk) lives; the finalizer
        // frees `hint` once the ArrayBuffer is collected.
        let status = unsafe {
            sys::napi_create_external_arraybuffer(
                env.raw(),
                ptr,
                len,
                Some(drop_chunk),
                hint.cast(),
                &mut ab,
            )
        };
        if status != sys::Status::napi_ok {
            // SAFETY: not handed to a finalizer.
            drop(unsafe { Box::from_raw(hint) });
            return Err(throw(
                env,
                "io",
                "external ArrayBuffers are not available in this runtime",
            ));
        }
        self.shared.reg().chunks.push(chunk);
        // SAFETY: a valid value of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), ab) })
    }

    /// Register a counter on `cell`: `false` when `maxSeries` are registered (counted).
    #[napi(catch_unwind)]
    pub fn counter(&self, cell: u32, head: String, tail: String) -> bool {
        let mut st = self.shared.reg();
        if st.series.len() >= self.shared.max_series {
            st.dropped_cardinality += 1.0;
            return false;
        }
        st.series.push(Series::Counter {
            cell,
            head,
            tail,
            last: 0.0,
        });
        true
    }

    /// Register a gauge on the four cells from `cell`: `false` when `maxSeries` are registered.
    #[napi(catch_unwind)]
    pub fn gauge(&self, cell: u32, head: String, tail: String, neg_zero: bool) -> bool {
        let mut st = self.shared.reg();
        if st.series.len() >= self.shared.max_series {
            st.dropped_cardinality += 1.0;
            return false;
        }
        st.series.push(Series::Gauge {
            cell,
            head,
            tail,
            neg_zero,
            last_delta: 0.0,
        });
        true
    }

    /// Queue a line (sent at the next flush, or sooner past the send threshold). Returns its
    /// length in bytes, or 0 when the queue is full (the line is dropped and counted).
    #[napi(catch_unwind)]
    pub fn line(&self, line: String) -> u32 {
        let mut st = self.shared.queue();
        if self.shared.closed.load(Ordering::Acquire) {
            return 0;
        }
        let n = line.len();
        if st.lines.len() >= self.shared.max_lines
            || st.queued_bytes + n + 1 > self.shared.max_queued_bytes
        {
            st.dropped_lines += 1.0;
            return 0;
        }
        st.queued_bytes += n + 1;
        st.lines.push_back(line);
        let wake = self.shared.send_threshold > 0 && st.queued_bytes >= self.shared.send_threshold;
        drop(st);
        if wake {
            self.shared.wake.notify_all();
        }
        n as u32
    }

    /// Send now, on the calling thread; returns the first error of this flush, or `null`. With
    /// `notify` (default true), the error also goes to the error callback.
    #[napi(catch_unwind)]
    pub fn flush(&self, notify: Option<bool>) -> Option<EmitErrorInfo> {
        if self.shared.closed.load(Ordering::Acquire) {
            return None;
        }
        self.shared.flush(notify.unwrap_or(true))
    }

    /// Stop the flusher thread, then flush one last time; returns that flush's first error.
    /// Later calls do nothing.
    #[napi(catch_unwind)]
    pub fn close(&self, notify: Option<bool>) -> Option<EmitErrorInfo> {
        self.stop(notify.unwrap_or(true))
    }

    /// The machine's hostname, sanitized for a metric name.
    #[napi(catch_unwind)]
    pub fn hostname() -> String {
        realm_metrics::name::hostname()
    }

    /// The catalog's default prefix, `realm.<hostname>`.
    #[napi(catch_unwind)]
    pub fn default_prefix() -> String {
        realm_metrics::name::default_prefix()
    }

    /// Protocol `pull`: the payloads flushed since the last call, for JavaScript to write (each
    /// is lines joined by `\n`, without a final newline).
    #[napi(catch_unwind)]
    pub fn take(&self) -> Vec<String> {
        match &self.shared.pulled {
            Some(q) => q
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .drain(..)
                .collect(),
            None => Vec::new(),
        }
    }

    /// Whether `close()` was called.
    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// A snapshot of the counters.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> SinkStats {
        let l = self.shared.sender.stats();
        let mut s = SinkStats {
            flushes: self.shared.flushes.load(Ordering::Relaxed) as f64,
            packets_sent: l.packets_sent as f64,
            bytes_sent: l.bytes_sent as f64,
            lines_sent: l.lines_sent as f64,
            send_errors: l.send_errors as f64,
            reconnects: l.reconnects as f64,
            connect_errors: l.connect_errors as f64,
            lines_dropped_backlog: l.lines_dropped_backlog as f64,
            backlog_bytes: l.backlog_bytes as f64,
            lines_dropped_oversize: l.lines_dropped_oversize as f64,
            ..SinkStats::default()
        };
        {
            let r = self.shared.reg();
            s.dropped_cardinality = r.dropped_cardinality;
            s.registered = r.series.len() as f64;
        }
        s.dropped_lines = self.shared.queue().dropped_lines;
        s
    }
}
