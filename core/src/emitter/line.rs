//! [`LineSender`]: pre-formatted StatsD lines over the emitter's transports.
//!
//! The emitter formats its own lines from what it aggregated. A binding or a proxy that already
//! has lines in its client's exact format (events, service checks, bare tags, one line per call)
//! sends them with a `LineSender` instead: the same transports (UDP, Unix datagram, TCP and Unix
//! stream with their I/O thread, backlog and reconnection), the same send accounting, and no
//! aggregation, prefix or validation of the lines.

use core::time::Duration;
use std::path::PathBuf;
use std::string::String;
use std::sync::{Arc, Mutex, MutexGuard};
use std::vec::Vec;

use super::flush::{report_to, Sender, StatCells};
use super::stream::DEFAULT_MAX_BUFFERED;
use super::transport::{PacketCallback, PacketFn, Transport};
use super::{open_transport, EmitError, ErrorCallback, Stats, Target, DEFAULT_ADDRESS};
use crate::wire::LineTooLong;

/// The largest `max_payload` a line sender accepts (as the emitter).
const MAX_PAYLOAD_LIMIT: usize = 1 << 24;

/// What a [`LineSender`] did so far: a snapshot from [`LineSender::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LineStats {
    /// Calls of [`LineSender::send_lines`] / [`LineSender::send`].
    pub batches: u64,
    /// Packets the transport took (datagrams sent, or packets queued on a stream transport).
    pub packets_sent: u64,
    /// Bytes in those packets (without a stream transport's final `\n`).
    pub bytes_sent: u64,
    /// Lines in those packets.
    pub lines_sent: u64,
    /// Lines longer than the maximum payload, each sent alone in a packet of its own (also in
    /// `lines_sent` when the transport took it).
    pub long_lines_sent: u64,
    /// Lines longer than a UDP datagram can carry (65 507 bytes), dropped.
    pub lines_dropped_oversize: u64,
    /// Packets the transport refused (their lines are lost): a datagram the socket refused, or a
    /// packet a stream transport's full backlog refused.
    pub send_errors: u64,
    /// UDP: times the socket was reopened after repeated send errors. Stream transports:
    /// connections made after the first one.
    pub reconnects: u64,
    /// Stream transports: failed connection attempts.
    pub connect_errors: u64,
    /// Stream transports: bytes written to the connection (with the `\n` after every packet).
    pub bytes_written: u64,
    /// Stream transports: lines dropped because the backlog was full, or still unwritten at
    /// [`LineSender::close`].
    pub lines_dropped_backlog: u64,
    /// Stream transports: lines whose first bytes went out on a connection that then failed,
    /// written again whole on the next one.
    pub partial_lines_resent: u64,
    /// Stream transports: bytes waiting to be written, now.
    pub backlog_bytes: u64,
    /// Panics of the error callback, caught.
    pub callback_panics: u64,
}

/// Configures and builds a [`LineSender`]. Start with [`LineSender::builder`].
#[derive(Clone)]
pub struct LineSenderBuilder {
    target: Target,
    packets: Option<PacketCallback>,
    max_payload: Option<usize>,
    max_buffered: usize,
    dns_ttl: Option<Duration>,
    on_error: Option<ErrorCallback>,
}

impl core::fmt::Debug for LineSenderBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LineSenderBuilder")
            .field("target", &self.target)
            .field("packets", &self.packets.is_some())
            .field("max_payload", &self.max_payload)
            .field("max_buffered", &self.max_buffered)
            .field("dns_ttl", &self.dns_ttl)
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

impl Default for LineSenderBuilder {
    fn default() -> Self {
        LineSenderBuilder {
            target: Target::Address(DEFAULT_ADDRESS.into()),
            packets: None,
            max_payload: None,
            max_buffered: DEFAULT_MAX_BUFFERED,
            dns_ttl: None,
            on_error: None,
        }
    }
}

impl LineSenderBuilder {
    /// Send over UDP to `host:port` (default `localhost:8125`), as
    /// [`EmitterBuilder::address`](super::EmitterBuilder::address). Unlike the emitter, an
    /// address that does not resolve at [`build`](Self::build) is not a build error: see
    /// [`LineSender::resolve_error`].
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.target = Target::Address(address.into());
        self.packets = None;
        self
    }

    /// Send to a Unix datagram socket at `path`, as
    /// [`EmitterBuilder::unix_socket`](super::EmitterBuilder::unix_socket).
    pub fn unix_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.target = Target::Unix(path.into());
        self.packets = None;
        self
    }

    /// Send over TCP, newline-framed, with the background connection, reconnection with
    /// backoff, bounded backlog and counting of
    /// [`EmitterBuilder::tcp`](super::EmitterBuilder::tcp).
    pub fn tcp(mut self, address: impl Into<String>) -> Self {
        self.target = Target::Tcp(address.into());
        self.packets = None;
        self
    }

    /// Send over a Unix stream socket, as
    /// [`EmitterBuilder::unix_stream`](super::EmitterBuilder::unix_stream).
    pub fn unix_stream(mut self, path: impl Into<PathBuf>) -> Self {
        self.target = Target::UnixStream(path.into());
        self.packets = None;
        self
    }

    /// Hand each packet (whole lines joined by `\n`, without a final newline) to `f` instead of
    /// a socket: for a caller that writes them somewhere of its own. An error from `f` counts
    /// as a send error. The maximum payload defaults to 8192.
    pub fn packets(
        mut self,
        f: impl Fn(&[u8]) -> std::io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.packets = Some(Arc::new(f));
        self
    }

    /// The largest packet: lines are packed into packets of at most this many bytes (default
    /// 1432 for UDP, 8192 otherwise; at most 65 507 for UDP). A longer line is still sent, alone
    /// (counted in [`LineStats::long_lines_sent`]). `0` sends every line in a packet of its own.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = Some(bytes);
        self
    }

    /// Stream transports: the bound on bytes waiting to be written (default 1 MiB), as
    /// [`EmitterBuilder::max_buffered`](super::EmitterBuilder::max_buffered).
    pub fn max_buffered(mut self, bytes: usize) -> Self {
        self.max_buffered = bytes;
        self
    }

    /// UDP: resolve the address again at a batch once the last resolution is older than `ttl`
    /// (`Duration::ZERO`: at every batch, as a client that looks the host up at each send). By
    /// default the address is resolved again only at a batch while it never resolved, and after
    /// repeated send errors (as the emitter does). When a later resolution fails, the last
    /// address that resolved is kept, silently.
    pub fn dns_ttl(mut self, ttl: Duration) -> Self {
        self.dns_ttl = Some(ttl);
        self
    }

    /// Called with each failure of a batch (send errors, dropped lines, and the stream
    /// transport's connection errors since the last batch), from the thread that sends, after
    /// the batch. It must not block for long; a panic in it is caught and counted.
    pub fn on_error(mut self, f: impl Fn(&EmitError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }

    /// Build the sender (a stream transport starts its I/O thread and connects in the
    /// background). Fails on a setting out of range or a TCP address without a port; an
    /// unresolvable UDP address or an unreachable server is not a build error.
    pub fn build(self) -> Result<LineSender, EmitError> {
        let default_payload = match self.packets {
            Some(_) => super::DEFAULT_MAX_PAYLOAD_UDS,
            None => self.target.default_payload(),
        };
        let max_payload = self.max_payload.unwrap_or(default_payload);
        if max_payload > MAX_PAYLOAD_LIMIT {
            return Err(EmitError::InvalidConfig(
                "max_payload must be at most 16 MiB",
            ));
        }
        let stats = Arc::new(StatCells::default());
        let (transport, resolve_error) = match self.packets {
            Some(f) => (Transport::Packets(PacketFn(f)), None),
            None => open_transport(
                &self.target,
                max_payload,
                self.max_buffered,
                &stats,
                // "Never" for a UDP address that resolved: re-resolved after repeated errors.
                Some(self.dns_ttl.unwrap_or(Duration::MAX)),
            )?,
        };
        Ok(LineSender {
            state: Mutex::new(LineState {
                transport,
                recent: 0,
                packet: Vec::new(),
                closed: false,
            }),
            stats,
            max_payload,
            resolve_error,
            on_error: self.on_error,
        })
    }
}

/// What a batch needs, behind one mutex (batches keep their order).
#[derive(Debug)]
struct LineState {
    transport: Transport,
    /// The outcome of the last sends (see the flush's `Sender`).
    recent: u32,
    /// The packet being packed (reused).
    packet: Vec<u8>,
    closed: bool,
}

/// Sends pre-formatted StatsD lines over UDP, a Unix datagram socket, TCP or a Unix stream
/// socket: the emitter's transports, without its aggregation.
///
/// Each [`send_lines`](Self::send_lines) packs whole lines, joined by `\n`, into packets of at
/// most the maximum payload, and hands each to the transport (a stream transport appends a `\n`
/// to every packet and writes from its own thread). A line longer than the maximum payload is
/// sent alone. The lines are not checked: each must be one StatsD line, without a line break.
///
/// ```
/// use std::net::UdpSocket;
/// use realm_metrics::emitter::LineSender;
///
/// let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
/// let sender = LineSender::builder()
///     .address(daemon.local_addr().unwrap().to_string())
///     .build()
///     .unwrap();
/// sender.send_lines([&b"page.views:1|c"[..], b"_e{2,2}:up|ok"]).unwrap();
/// let mut buf = [0u8; 64];
/// let n = daemon.recv(&mut buf).unwrap();
/// assert_eq!(&buf[..n], b"page.views:1|c\n_e{2,2}:up|ok");
/// assert_eq!(sender.stats().lines_sent, 2);
/// ```
pub struct LineSender {
    state: Mutex<LineState>,
    stats: Arc<StatCells>,
    max_payload: usize,
    resolve_error: Option<EmitError>,
    on_error: Option<ErrorCallback>,
}

impl core::fmt::Debug for LineSender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LineSender")
            .field("max_payload", &self.max_payload)
            .field("resolve_error", &self.resolve_error)
            .finish_non_exhaustive()
    }
}

impl LineSender {
    /// A builder with the defaults: UDP to `localhost:8125`, maximum payload 1432.
    pub fn builder() -> LineSenderBuilder {
        LineSenderBuilder::default()
    }

    fn lock(&self) -> MutexGuard<'_, LineState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pack `lines` into packets and send them (a stream transport queues them). Empty lines
    /// are skipped. Errors are counted and passed to the error callback; the first of this
    /// batch (including the stream transport's errors since the last batch) is also returned.
    /// After [`close`](Self::close), sends nothing and returns an error of kind `NotConnected`.
    pub fn send_lines<'a>(
        &self,
        lines: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), EmitError> {
        let mut errors = Vec::new();
        {
            let mut st = self.lock();
            if st.closed {
                return Err(EmitError::Send {
                    kind: std::io::ErrorKind::NotConnected,
                    message: "the line sender is closed".into(),
                });
            }
            self.stats.add_flush();
            let LineState {
                transport,
                recent,
                packet,
                ..
            } = &mut *st;
            let mut sender = Sender::new(transport, &self.stats, &mut errors, recent);
            if let Err(e) = sender.transport.refresh() {
                sender.report(e);
            }
            let mut pack = Pack {
                sender,
                stats: &self.stats,
                packet,
                lines: 0,
            };
            let limit = pack.sender.transport.max_datagram();
            for line in lines {
                pack.push(line, self.max_payload, limit);
            }
            pack.finish();
            pack.sender.transport.take_errors(pack.sender.errors);
            // A long line grew the buffer: do not keep that much memory between batches.
            let keep = self.max_payload.clamp(1 << 12, 1 << 16);
            if packet.capacity() > keep {
                packet.shrink_to(keep);
            }
        }
        report_to(self.on_error.as_ref(), &self.stats, &errors);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Send `batch`: lines separated by `\n` (a final `\n` is optional). See
    /// [`send_lines`](Self::send_lines).
    pub fn send(&self, batch: &[u8]) -> Result<(), EmitError> {
        self.send_lines(batch.split(|&c| c == b'\n'))
    }

    /// UDP: the error of resolving the address at build, when it failed. The sender was built
    /// anyway; its batches fail (counted as send errors) until the address resolves, which is
    /// tried again at each batch.
    pub fn resolve_error(&self) -> Option<&EmitError> {
        self.resolve_error.as_ref()
    }

    /// The maximum payload.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> LineStats {
        let mut s = Stats::default();
        self.stats.snapshot(&mut s);
        LineStats {
            batches: s.flushes,
            packets_sent: s.packets_sent,
            bytes_sent: s.bytes_sent,
            lines_sent: s.lines_sent,
            long_lines_sent: self.stats.long_lines_sent(),
            lines_dropped_oversize: s.lines_dropped_oversize,
            send_errors: s.send_errors,
            reconnects: s.reconnects,
            connect_errors: s.connect_errors,
            bytes_written: s.bytes_written,
            lines_dropped_backlog: s.lines_dropped_backlog,
            partial_lines_resent: s.partial_lines_resent,
            backlog_bytes: s.backlog_bytes,
            callback_panics: s.callback_panics,
        }
    }

    /// Stop: a stream transport gets up to 1 s to write what it holds (the rest is counted as
    /// dropped) and its I/O thread is joined. Its errors since the last batch (connection
    /// errors, lines dropped at close) go to the error callback, and the first is returned.
    /// Later batches send nothing. Idempotent (later calls return `Ok`); dropping the sender
    /// does the same.
    pub fn close(&self) -> Result<(), EmitError> {
        let mut errors = Vec::new();
        {
            let mut st = self.lock();
            if st.closed {
                return Ok(());
            }
            st.closed = true;
            st.transport.close();
            st.transport.take_errors(&mut errors);
        }
        report_to(self.on_error.as_ref(), &self.stats, &errors);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

impl Drop for LineSender {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Packs the lines of one batch.
struct Pack<'a> {
    sender: Sender<'a>,
    stats: &'a StatCells,
    packet: &'a mut Vec<u8>,
    /// Lines in `packet`.
    lines: u64,
}

impl Pack<'_> {
    /// Add one line: the pending packet goes first when the line would make it longer than
    /// `max` (`0`: every line alone). A line longer than `limit` (what a datagram carries) is
    /// dropped and counted.
    fn push(&mut self, line: &[u8], max: usize, limit: Option<usize>) {
        if line.is_empty() {
            return;
        }
        if let Some(limit) = limit.filter(|&l| line.len() > l) {
            self.stats.add_line_dropped_oversize();
            self.sender.report(EmitError::LineTooLong(LineTooLong {
                len: line.len(),
                max: limit,
            }));
            return;
        }
        if self.lines > 0 && (max == 0 || self.packet.len() + 1 + line.len() > max) {
            self.finish();
        }
        if self.lines > 0 {
            self.packet.push(b'\n');
        }
        if max > 0 && line.len() > max {
            self.stats.add_long_line_sent();
        }
        self.packet.extend_from_slice(line);
        self.lines += 1;
    }

    /// Send the pending packet, if any.
    fn finish(&mut self) {
        if self.lines > 0 {
            if self.sender.send(self.packet) {
                self.stats.add_lines_sent(self.lines);
            }
            self.packet.clear();
            self.lines = 0;
        }
    }
}
