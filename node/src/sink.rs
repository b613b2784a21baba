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
//! (bounded). The flusher packs lines into payloads of at most `maxPayload` bytes (a longer line
//! goes alone; `0` means one line per payload) and sends them over UDP, a Unix datagram socket,
//! TCP or a Unix stream socket (newline-framed, reconnected when a write fails).

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::emitter::EmitErrorInfo;
use crate::error::throw;

/// Cells per chunk (8 bytes each).
pub const CHUNK_CELLS: u32 = 1024;
/// The largest UDP payload.
const MAX_UDP: usize = 65_507;
/// Bound on the payloads waiting for JavaScript (`pull` protocol).
const MAX_PULLED: usize = 4096;
/// Bound on the bytes of queued lines between flushes.
const MAX_QUEUED_BYTES: usize = 16 << 20;
/// How long a stream write or connect may block the flusher.
const STREAM_TIMEOUT: Duration = Duration::from_millis(500);

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
    /// Stream reconnections.
    pub reconnects: f64,
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

enum Target {
    Udp {
        host: String,
        port: u16,
        addr: Option<(SocketAddr, Instant)>,
        sock: Option<(UdpSocket, SocketAddr)>,
    },
    #[cfg(unix)]
    UnixDgram {
        path: String,
        sock: Option<UnixDatagram>,
    },
    Tcp {
        host: String,
        port: u16,
        conn: Option<TcpStream>,
    },
    /// Payloads kept for JavaScript to take (`take()`) and write to a stream of its own.
    Pull { out: VecDeque<String> },
    #[cfg(unix)]
    UnixStream {
        path: String,
        conn: Option<UnixStream>,
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

/// The socket and the send counters (locked for a whole flush, so flushes keep their order;
/// the JavaScript thread's metric calls never take it).
struct State {
    target: Target,
    /// The next UDP send may resolve the host again (set at the start of each flush).
    resolve_due: bool,
    stats: SinkStats,
    /// The first error of the flush in progress.
    error: Option<EmitErrorInfo>,
}

struct Shared {
    state: Mutex<State>,
    reg: Mutex<Reg>,
    queue: Mutex<Queue>,
    wake: Condvar,
    closed: AtomicBool,
    interval: Option<Duration>,
    max_payload: usize,
    send_threshold: usize,
    max_lines: usize,
    max_queued_bytes: usize,
    max_series: usize,
    dns_ttl: Duration,
    on_error: Option<ErrorCallback>,
}

fn info(code: &str, message: String) -> EmitErrorInfo {
    EmitErrorInfo {
        code: crate::error::js_code(code),
        message,
    }
}

fn resolve(host: &str, port: u16) -> std::result::Result<SocketAddr, EmitErrorInfo> {
    let found = (host, port).to_socket_addrs().map_err(|e| {
        info(
            "resolve_failed",
            format!("cannot resolve {host}:{port}: {e}"),
        )
    })?;
    let mut first = None;
    for a in found {
        if a.is_ipv4() {
            return Ok(a);
        }
        first.get_or_insert(a);
    }
    first.ok_or_else(|| info("resolve_failed", format!("{host}:{port} has no address")))
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

impl State {
    fn record_error(&mut self, e: EmitErrorInfo) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }
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

impl State {
    fn send_payload(&mut self, payload: &[u8], lines: usize, dns_ttl: Duration) {
        // A host name is resolved at most once per flush.
        let due = std::mem::replace(&mut self.resolve_due, false);
        let r = match &mut self.target {
            Target::Udp {
                host,
                port,
                addr,
                sock,
            } => {
                let fresh = match addr {
                    Some((_, at)) => due && at.elapsed() > dns_ttl,
                    None => due,
                };
                if addr.is_none() && !fresh {
                    // Resolution failed earlier in this flush (the error is recorded).
                    self.stats.send_errors += 1.0;
                    return;
                }
                if fresh {
                    match resolve(host, *port) {
                        Ok(a) => *addr = Some((a, Instant::now())),
                        Err(e) => {
                            if addr.is_none() {
                                self.stats.send_errors += 1.0;
                                self.record_error(e);
                                return;
                            }
                        }
                    }
                }
                let Some((a, _)) = *addr else { return };
                // A connected socket: the kernel reports ICMP errors (nothing listening) on
                // later sends.
                if sock.as_ref().is_none_or(|(_, to)| *to != a) {
                    let bind: SocketAddr = if a.is_ipv4() {
                        SocketAddr::from(([0, 0, 0, 0], 0))
                    } else {
                        SocketAddr::from(([0u16; 8], 0))
                    };
                    *sock = UdpSocket::bind(bind)
                        .and_then(|s| s.connect(a).map(|_| s))
                        .ok()
                        .map(|s| (s, a));
                }
                match sock {
                    Some((s, _)) => s.send(payload).map(|_| ()),
                    None => Err(std::io::Error::other("cannot open a UDP socket")),
                }
            }
            #[cfg(unix)]
            Target::UnixDgram { path, sock } => {
                if sock.is_none() {
                    *sock = UnixDatagram::unbound().ok();
                    if let Some(s) = sock {
                        let _ = s.set_write_timeout(Some(STREAM_TIMEOUT));
                    }
                }
                match sock {
                    Some(s) => s.send_to(payload, &*path).map(|_| ()),
                    None => Err(std::io::Error::other("cannot open a Unix datagram socket")),
                }
            }
            Target::Pull { out } => {
                if out.len() >= MAX_PULLED {
                    Err(std::io::Error::other(
                        "the stream is not being written (payloads waiting)",
                    ))
                } else {
                    out.push_back(String::from_utf8_lossy(payload).into_owned());
                    Ok(())
                }
            }
            Target::Tcp { host, port, conn } => {
                let mut reconnected = false;
                if conn.is_none() {
                    *conn = match resolve(host, *port) {
                        Ok(a) => TcpStream::connect_timeout(&a, STREAM_TIMEOUT).ok(),
                        Err(e) => {
                            self.stats.send_errors += 1.0;
                            self.record_error(e);
                            return;
                        }
                    };
                    if let Some(c) = conn {
                        let _ = c.set_write_timeout(Some(STREAM_TIMEOUT));
                        let _ = c.set_nodelay(true);
                        reconnected = true;
                    }
                }
                let r = match conn {
                    Some(c) => c.write_all(payload).and_then(|_| c.write_all(b"\n")),
                    None => Err(std::io::Error::other(format!(
                        "cannot connect to {host}:{port}"
                    ))),
                };
                if r.is_err() {
                    *conn = None;
                } else if reconnected {
                    self.stats.reconnects += 1.0;
                }
                r
            }
            #[cfg(unix)]
            Target::UnixStream { path, conn } => {
                let mut reconnected = false;
                if conn.is_none() {
                    *conn = UnixStream::connect(&*path).ok();
                    if let Some(c) = conn {
                        let _ = c.set_write_timeout(Some(STREAM_TIMEOUT));
                        reconnected = true;
                    }
                }
                let r = match conn {
                    Some(c) => c.write_all(payload).and_then(|_| c.write_all(b"\n")),
                    None => Err(std::io::Error::other(format!("cannot connect to {path}"))),
                };
                if r.is_err() {
                    *conn = None;
                } else if reconnected {
                    self.stats.reconnects += 1.0;
                }
                r
            }
        };
        match r {
            Ok(()) => {
                self.stats.packets_sent += 1.0;
                self.stats.bytes_sent += payload.len() as f64;
                self.stats.lines_sent += lines as f64;
            }
            Err(e) => {
                self.stats.send_errors += 1.0;
                self.record_error(info("send_failed", format!("send failed: {e}")));
            }
        }
    }

    fn is_datagram(&self) -> bool {
        match &self.target {
            Target::Udp { .. } => true,
            #[cfg(unix)]
            Target::UnixDgram { .. } => true,
            _ => false,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reg(&self) -> MutexGuard<'_, Reg> {
        self.reg.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read the series, take the queued lines, pack and send. Returns the first error.
    fn flush(&self, notify: bool) -> Option<EmitErrorInfo> {
        let mut st = self.lock();
        st.stats.flushes += 1.0;
        st.error = None;
        st.resolve_due = true;
        let mut lines = Vec::new();
        self.reg().collect(&mut lines);
        {
            let mut q = self.queue();
            lines.extend(q.lines.drain(..));
            q.queued_bytes = 0;
        }
        let limit = if st.is_datagram() {
            MAX_UDP
        } else {
            usize::MAX
        };
        // A datagram carries at most MAX_UDP bytes, whatever the option says.
        let max_payload = if limit == MAX_UDP {
            self.max_payload.min(MAX_UDP)
        } else {
            self.max_payload
        };
        let mut payload = Vec::with_capacity(max_payload.clamp(64, MAX_UDP));
        let mut n = 0usize;
        for l in &lines {
            let b = l.as_bytes();
            if b.len() > limit {
                st.stats.lines_dropped_oversize += 1.0;
                st.record_error(info(
                    "line_too_long",
                    format!("a line of {} bytes does not fit in a datagram", b.len()),
                ));
                continue;
            }
            if n > 0 && (max_payload == 0 || payload.len() + 1 + b.len() > max_payload) {
                st.send_payload(&payload, n, self.dns_ttl);
                payload.clear();
                n = 0;
            }
            if n > 0 {
                payload.push(b'\n');
            }
            payload.extend_from_slice(b);
            n += 1;
        }
        if n > 0 {
            st.send_payload(&payload, n, self.dns_ttl);
        }
        let err = st.error.take();
        drop(st);
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
        self.shared.flush(notify)
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
    /// Open the socket (UDP and Unix datagrams: lazily; streams: at the first flush) and start
    /// the flusher thread. Never throws for an unresolvable host: see `resolveError`.
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
        let mut resolve_error = None;
        let target = match protocol {
            "udp" => {
                let addr = match resolve(&host, port) {
                    Ok(a) => Some((a, Instant::now())),
                    Err(e) => {
                        resolve_error = Some(e);
                        None
                    }
                };
                Target::Udp {
                    host,
                    port,
                    addr,
                    sock: None,
                }
            }
            "pull" => Target::Pull {
                out: VecDeque::new(),
            },
            "tcp" => Target::Tcp {
                host,
                port,
                conn: None,
            },
            #[cfg(unix)]
            "uds" => Target::UnixDgram {
                path: need_path()?,
                sock: None,
            },
            #[cfg(unix)]
            "stream" => Target::UnixStream {
                path: need_path()?,
                conn: None,
            },
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
        let ttl = options.dns_ttl_ms.unwrap_or(0.0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                target,
                resolve_due: true,
                stats: SinkStats::default(),
                error: None,
            }),
            reg: Mutex::new(Reg {
                chunks: Vec::new(),
                series: Vec::new(),
                dropped_cardinality: 0.0,
            }),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            closed: AtomicBool::new(false),
            interval,
            max_payload: options.max_payload.unwrap_or(1432) as usize,
            send_threshold: options.send_threshold.unwrap_or(0) as usize,
            max_lines: options.max_lines.unwrap_or(65_536) as usize,
            max_queued_bytes: MAX_QUEUED_BYTES,
            max_series: options.max_series.unwrap_or(10_000) as usize,
            dns_ttl: if ttl.is_finite() && ttl > 0.0 {
                Duration::from_micros((ttl * 1000.0) as u64)
            } else {
                Duration::ZERO
            },
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
        match &mut self.shared.lock().target {
            Target::Pull { out } => out.drain(..).collect(),
            _ => Vec::new(),
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
        let mut s = self.shared.lock().stats.clone();
        {
            let r = self.shared.reg();
            s.dropped_cardinality = r.dropped_cardinality;
            s.registered = r.series.len() as f64;
        }
        s.dropped_lines = self.shared.queue().dropped_lines;
        s
    }
}
