//! Stream transports (TCP, Unix stream sockets): newline-framed lines written by an I/O thread
//! of their own, with a bounded backlog, reconnection with exponential backoff, and whole lines
//! on every connection.
//!
//! The flush hands each packet (whole lines joined by `\n`) to [`StreamTransport::send`], which
//! appends it with a final `\n` to the backlog and returns: a memory copy under a short lock,
//! never network I/O. The I/O thread connects, writes and reconnects. What happens there is
//! counted in [`StatCells`] and its errors are passed to the error callback at the next flush.
//!
//! Lines are never split across connections: bytes are removed from the backlog only once the
//! line they end is completely written. When a connection fails in the middle of a line, the
//! line is written again whole on the next connection (counted in
//! [`Stats::partial_lines_resent`](super::Stats::partial_lines_resent)); the receiver saw only
//! an unterminated fragment on a connection that then broke.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
#[cfg(unix)]
use std::path::PathBuf;
use std::string::{String, ToString};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::flush::StatCells;
use super::EmitError;

/// The first wait before reconnecting after a failed attempt; doubled after each further
/// failure, up to [`BACKOFF_MAX`], and reset by a successful connection.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest wait between two connection attempts.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long one TCP connection attempt may take (on the I/O thread, never the caller's).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one write may block on a receiver that does not read before it is retried.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_millis(200);
/// At close, how long the I/O thread keeps trying to write what is still buffered.
pub(crate) const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// The default bound on bytes waiting to be written.
pub(crate) const DEFAULT_MAX_BUFFERED: usize = 1 << 20;
/// At most this many I/O-thread errors wait for the next flush; later ones are not kept.
const MAX_PENDING_ERRORS: usize = 16;

/// Where a stream transport connects.
#[derive(Clone, Debug)]
pub(crate) enum StreamTarget {
    /// `host:port`, resolved again at each connection attempt.
    Tcp(String),
    /// A Unix stream socket.
    #[cfg(unix)]
    Unix(PathBuf),
}

impl StreamTarget {
    /// Check the target's form at build (without touching the network): a TCP address needs a
    /// port.
    pub(crate) fn validate(&self) -> Result<(), EmitError> {
        match self {
            StreamTarget::Tcp(a) => {
                let port = a.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
                match port {
                    Some(Ok(_)) => Ok(()),
                    _ => Err(EmitError::Resolve {
                        address: a.clone(),
                        reason: "expected host:port".to_string(),
                    }),
                }
            }
            #[cfg(unix)]
            StreamTarget::Unix(_) => Ok(()),
        }
    }

    fn connect(&self, timeout: Duration) -> Result<Conn, EmitError> {
        match self {
            StreamTarget::Tcp(address) => {
                let addrs: Vec<_> = address
                    .to_socket_addrs()
                    .map_err(|e| EmitError::Resolve {
                        address: address.clone(),
                        reason: e.to_string(),
                    })?
                    .collect();
                // IPv4 first, as for UDP; then the others.
                let mut last = None;
                for addr in addrs
                    .iter()
                    .filter(|a| a.is_ipv4())
                    .chain(addrs.iter().filter(|a| !a.is_ipv4()))
                {
                    match TcpStream::connect_timeout(addr, timeout) {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            s.set_write_timeout(Some(WRITE_TIMEOUT))
                                .map_err(|e| EmitError::io("setting the TCP write timeout", &e))?;
                            return Ok(Conn::Tcp(s));
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(match last {
                    Some(e) => EmitError::io("connecting to the statsd TCP address", &e),
                    None => EmitError::Resolve {
                        address: address.clone(),
                        reason: "no addresses found".to_string(),
                    },
                })
            }
            #[cfg(unix)]
            StreamTarget::Unix(path) => {
                let s = UnixStream::connect(path).map_err(|e| {
                    EmitError::io("connecting to the statsd Unix stream socket", &e)
                })?;
                s.set_write_timeout(Some(WRITE_TIMEOUT))
                    .map_err(|e| EmitError::io("setting the Unix socket write timeout", &e))?;
                Ok(Conn::Unix(s))
            }
        }
    }
}

/// One open connection.
#[derive(Debug)]
enum Conn {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Conn {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(b),
            #[cfg(unix)]
            Conn::Unix(s) => s.write(b),
        }
    }

    fn set_nonblocking(&self, on: bool) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.set_nonblocking(on),
            #[cfg(unix)]
            Conn::Unix(s) => s.set_nonblocking(on),
        }
    }

    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(b),
            #[cfg(unix)]
            Conn::Unix(s) => s.read(b),
        }
    }

    /// Whether the peer closed (or reset) the connection. A StatsD server sends nothing, so a
    /// readable socket means end of stream or an error; anything it does send is discarded.
    /// Checked before writing, so that lines are not written into a connection already closed
    /// by the peer (where the kernel would accept and then lose them).
    fn peer_closed(&mut self) -> bool {
        if self.set_nonblocking(true).is_err() {
            return false;
        }
        let mut scratch = [0u8; 512];
        // Bounded: a server that keeps sending cannot hold the writer here.
        let mut reads = 0;
        let closed = loop {
            reads += 1;
            if reads > 64 {
                break false;
            }
            match self.read(&mut scratch) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => break e.kind() != ErrorKind::WouldBlock,
            }
        };
        closed || self.set_nonblocking(false).is_err()
    }
}

/// What the flush side and the I/O thread share, under one mutex.
#[derive(Debug)]
struct Backlog {
    /// Whole lines, each ending in `\n`, waiting for the I/O thread.
    buf: Vec<u8>,
    /// Bytes the I/O thread took from `buf` and has not written yet (counted against the bound).
    in_flight: usize,
    limit: usize,
    /// Errors of the I/O thread, for the next flush to report.
    errors: Vec<EmitError>,
    /// Set at close: write what is buffered until `deadline`, then stop.
    closing: Option<Instant>,
}

#[derive(Debug)]
struct Link {
    backlog: Mutex<Backlog>,
    wake: Condvar,
    stats: Arc<StatCells>,
}

impl Link {
    fn lock(&self) -> MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn error(&self, e: EmitError) {
        let mut b = self.lock();
        if b.errors.len() < MAX_PENDING_ERRORS {
            b.errors.push(e);
        }
    }

    fn set_backlog_bytes(&self, b: &Backlog) {
        self.stats
            .set_backlog_bytes((b.buf.len() + b.in_flight) as u64);
    }
}

/// A TCP or Unix stream transport: the flush side of it.
#[derive(Debug)]
pub(crate) struct StreamTransport {
    link: Arc<Link>,
    thread: Option<JoinHandle<()>>,
    /// The process that started the I/O thread (after `fork()` the child has none to join).
    pid: u32,
}

impl StreamTransport {
    /// Start the I/O thread; it connects in the background (an unreachable server is an error
    /// reported at the next flush, not a build failure).
    pub(crate) fn start(
        target: StreamTarget,
        max_buffered: usize,
        stats: Arc<StatCells>,
    ) -> Result<Self, EmitError> {
        target.validate()?;
        let link = Arc::new(Link {
            backlog: Mutex::new(Backlog {
                buf: Vec::new(),
                in_flight: 0,
                limit: max_buffered,
                errors: Vec::new(),
                closing: None,
            }),
            wake: Condvar::new(),
            stats,
        });
        let l = link.clone();
        let thread = std::thread::Builder::new()
            .name("realm-metrics-stream".to_string())
            .spawn(move || Writer::new(target, l).run())
            .map_err(|e| EmitError::io("starting the stream I/O thread", &e))?;
        Ok(StreamTransport {
            link,
            thread: Some(thread),
            pid: std::process::id(),
        })
    }

    /// Queue one packet (whole lines joined by `\n`) and its final `\n`. When the backlog has
    /// no room, the packet is dropped (the newest data goes: what is buffered may be half
    /// written), its lines are counted, and an error of kind `WouldBlock` is returned.
    pub(crate) fn send(&mut self, packet: &[u8]) -> std::io::Result<()> {
        let mut b = self.link.lock();
        if b.closing.is_some() {
            return Err(std::io::Error::new(
                ErrorKind::NotConnected,
                "the stream transport is closed",
            ));
        }
        let need = packet.len() + 1;
        if b.buf.len() + b.in_flight + need > b.limit {
            let lines = packet.split(|&c| c == b'\n').count() as u64;
            drop(b);
            self.link.stats.add_lines_dropped_backlog(lines);
            return Err(std::io::Error::new(
                ErrorKind::WouldBlock,
                "the stream backlog is full (the server is unreachable or not reading): lines dropped",
            ));
        }
        b.buf.extend_from_slice(packet);
        b.buf.push(b'\n');
        self.link.set_backlog_bytes(&b);
        drop(b);
        self.link.wake.notify_all();
        Ok(())
    }

    /// Move the I/O thread's errors into `out`.
    pub(crate) fn take_errors(&self, out: &mut Vec<EmitError>) {
        let mut b = self.link.lock();
        out.append(&mut b.errors);
    }

    /// Write what is buffered (for at most [`CLOSE_LINGER`]), then stop the I/O thread. What is
    /// still unwritten then is counted as dropped. Idempotent.
    pub(crate) fn close(&mut self) {
        if std::process::id() != self.pid {
            // A forked child: the I/O thread is the parent's, and the backlog's lock may have
            // been held by it at the fork. Touch neither.
            if let Some(h) = self.thread.take() {
                std::mem::forget(h);
            }
            return;
        }
        {
            let mut b = self.link.lock();
            if b.closing.is_none() {
                b.closing = Some(Instant::now() + CLOSE_LINGER);
            }
        }
        self.link.wake.notify_all();
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
    }
}

impl Drop for StreamTransport {
    fn drop(&mut self) {
        self.close();
    }
}

/// The I/O thread's state.
struct Writer {
    target: StreamTarget,
    link: Arc<Link>,
    conn: Option<Conn>,
    /// Taken from the backlog, being written. Starts at a line boundary.
    out: Vec<u8>,
    /// Bytes of `out` written on the current connection that belong to a line not yet
    /// completely written (they are kept until it is).
    written: usize,
    /// When the next connection attempt may be made, and the wait after it fails.
    next_attempt: Instant,
    backoff: Duration,
    connected_before: bool,
    /// A write timed out and has not succeeded since (reported once per stall).
    stalled: bool,
}

/// What the I/O thread does next.
enum Step {
    Stop,
    Work,
}

impl Writer {
    fn new(target: StreamTarget, link: Arc<Link>) -> Self {
        Writer {
            target,
            link,
            conn: None,
            out: Vec::new(),
            written: 0,
            next_attempt: Instant::now(),
            backoff: BACKOFF_MIN,
            connected_before: false,
            stalled: false,
        }
    }

    fn run(mut self) {
        // Connect eagerly, so that an unreachable server is reported at the first flush.
        self.connect_if_due(None);
        while let Step::Work = self.wait_for_work() {
            let closing = self.link.lock().closing;
            if self.conn.is_none() && !self.connect_if_due(closing) {
                continue;
            }
            self.write_some();
        }
        self.give_up();
    }

    /// Block until there is something to write and (when disconnected) a connection attempt
    /// is due, or until close. Moves the backlog into `out` when `out` is empty.
    fn wait_for_work(&mut self) -> Step {
        let mut b = self.link.lock();
        loop {
            if self.out.len() == self.written && self.written == 0 && !b.buf.is_empty() {
                core::mem::swap(&mut self.out, &mut b.buf);
                b.buf.clear();
                b.in_flight = self.out.len();
            }
            let has_work = !self.out.is_empty();
            let now = Instant::now();
            if let Some(deadline) = b.closing {
                if !has_work || now >= deadline {
                    return Step::Stop;
                }
                return Step::Work;
            }
            if has_work && (self.conn.is_some() || now >= self.next_attempt) {
                return Step::Work;
            }
            b = if has_work {
                let wait = self.next_attempt.saturating_duration_since(now);
                match self.link.wake.wait_timeout(b, wait) {
                    Ok((g, _)) => g,
                    Err(e) => e.into_inner().0,
                }
            } else {
                match self.link.wake.wait(b) {
                    Ok(g) => g,
                    Err(e) => e.into_inner(),
                }
            };
        }
    }

    /// Try to connect when an attempt is due. At close, wait for a due attempt (never past the
    /// deadline) and bound the attempt by the deadline. Returns whether a connection is open.
    fn connect_if_due(&mut self, closing: Option<Instant>) -> bool {
        let now = Instant::now();
        let mut timeout = CONNECT_TIMEOUT;
        if let Some(deadline) = closing {
            if now < self.next_attempt {
                std::thread::sleep(
                    self.next_attempt
                        .min(deadline)
                        .saturating_duration_since(now),
                );
                return false;
            }
            timeout = timeout.min(deadline.saturating_duration_since(now));
        } else if now < self.next_attempt {
            return false;
        }
        match self.target.connect(timeout.max(Duration::from_millis(1))) {
            Ok(c) => {
                self.conn = Some(c);
                if self.connected_before {
                    self.link.stats.add_reconnect();
                }
                self.connected_before = true;
                self.stalled = false;
                true
            }
            Err(e) => {
                self.link.stats.add_connect_error();
                self.link.error(e);
                self.back_off();
                false
            }
        }
    }

    /// Schedule the next connection attempt after the current wait, and double the wait (up to
    /// [`BACKOFF_MAX`]). A completely written line resets it to [`BACKOFF_MIN`]: a server that
    /// accepts and at once closes is not hammered.
    fn back_off(&mut self) {
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// One write of what is pending in `out`; on failure, drop the connection and rewind to
    /// the start of the partly written line.
    fn write_some(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if self.written == 0 && conn.peer_closed() {
            self.disconnect(EmitError::Send {
                kind: ErrorKind::ConnectionReset,
                message: "the statsd server closed the connection".to_string(),
            });
            return;
        }
        let pending = self.out.get(self.written..).unwrap_or(&[]);
        match conn.write(pending) {
            Ok(0) => self.disconnect(EmitError::Send {
                kind: ErrorKind::WriteZero,
                message: "the connection accepted no bytes".to_string(),
            }),
            Ok(n) => {
                self.stalled = false;
                self.link.stats.add_bytes_written(n as u64);
                self.written += n;
                self.release_written_lines();
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                // The server is connected but not reading: keep the connection and the data,
                // try again (each attempt waits the write timeout, on this thread only). The
                // backlog fills meanwhile and new packets are dropped and counted.
                if !self.stalled {
                    self.stalled = true;
                    self.link.error(EmitError::send(&e));
                }
            }
            Err(e) => self.disconnect(EmitError::send(&e)),
        }
    }

    /// Forget the bytes of `out` that end a completely written line.
    fn release_written_lines(&mut self) {
        let done = self
            .out
            .get(..self.written)
            .and_then(|w| w.iter().rposition(|&c| c == b'\n'))
            .map_or(0, |i| i + 1);
        if done > 0 {
            self.out.drain(..done);
            self.written -= done;
            self.backoff = BACKOFF_MIN;
        }
        let mut b = self.link.lock();
        b.in_flight = self.out.len();
        self.link.set_backlog_bytes(&b);
    }

    fn disconnect(&mut self, e: EmitError) {
        self.conn = None;
        if self.written > 0 {
            // The line's first bytes went out on the broken connection: write it whole on the
            // next one.
            self.written = 0;
            self.link.stats.add_partial_line_resent();
        }
        self.link.error(e);
        self.back_off();
    }

    /// At close: what could not be written is dropped and counted.
    fn give_up(&mut self) {
        let mut b = self.link.lock();
        let lines = count_lines(&self.out) + count_lines(&b.buf);
        self.out.clear();
        b.buf.clear();
        b.in_flight = 0;
        self.link.set_backlog_bytes(&b);
        if lines > 0 && b.errors.len() < MAX_PENDING_ERRORS {
            // Told to whoever takes the errors after close (a line sender's `close`).
            b.errors.push(EmitError::Send {
                kind: ErrorKind::TimedOut,
                message: std::format!(
                    "{lines} lines still unwritten at close were dropped (the server unreachable or not reading)"
                ),
            });
        }
        drop(b);
        if lines > 0 {
            self.link.stats.add_lines_dropped_backlog(lines);
        }
    }
}

fn count_lines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}
