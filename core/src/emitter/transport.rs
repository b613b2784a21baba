//! Where packets go: UDP, a Unix datagram socket, a TCP or Unix stream connection (newline
//! framed, see [`stream`](super::stream)), or an in-memory spy.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::string::{String, ToString};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::flush::StatCells;
use super::stream::{StreamTarget, StreamTransport};
use super::EmitError;

/// How long a send may block (a full socket buffer) before it counts as an error.
const WRITE_TIMEOUT: Duration = Duration::from_millis(200);

/// Resolve `address` (`host:port`), preferring the first IPv4 address.
pub(crate) fn resolve(address: &str) -> Result<SocketAddr, EmitError> {
    let err = |reason: String| EmitError::Resolve {
        address: address.to_string(),
        reason,
    };
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| err(e.to_string()))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| err("no addresses found".to_string()))
}

fn connect_udp(addr: SocketAddr) -> Result<UdpSocket, EmitError> {
    let local: SocketAddr = if addr.is_ipv4() {
        SocketAddr::from(([0u8; 4], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(local).map_err(|e| EmitError::io("binding a UDP socket", &e))?;
    // Connected, so that ICMP "port unreachable" is reported as a send error.
    socket
        .connect(addr)
        .map_err(|e| EmitError::io("connecting the UDP socket", &e))?;
    socket
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(|e| EmitError::io("setting the UDP write timeout", &e))?;
    Ok(socket)
}

/// The datagrams a [`Spy`] captured.
#[derive(Debug, Default)]
pub(crate) struct SpyInner {
    datagrams: Mutex<Vec<Vec<u8>>>,
}

/// An in-memory sink that captures the emitter's datagrams, for tests (yours and ours): build an
/// emitter with [`EmitterBuilder::spy`](super::EmitterBuilder::spy).
///
/// ```
/// use realm_metrics::emitter::Emitter;
/// use realm_metrics::Metric;
///
/// let (emitter, spy) = Emitter::builder().prefix("app").spy().unwrap();
/// emitter.count(Metric::SessionStarted, 2).unwrap();
/// emitter.flush().unwrap();
/// assert_eq!(spy.lines(), ["app.session.started:2|c"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Spy {
    inner: Arc<SpyInner>,
}

impl Spy {
    pub(crate) fn new() -> Self {
        Spy::default()
    }

    fn push(&self, datagram: &[u8]) {
        let mut d = self
            .inner
            .datagrams
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        d.push(datagram.to_vec());
    }

    /// Every datagram captured so far, in order.
    pub fn datagrams(&self) -> Vec<Vec<u8>> {
        self.inner
            .datagrams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every line captured so far, in order (datagrams split at `\n`).
    pub fn lines(&self) -> Vec<String> {
        let d = self
            .inner
            .datagrams
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        d.iter()
            .flat_map(|dg| dg.split(|&b| b == b'\n'))
            .filter(|l| !l.is_empty())
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    /// Take the captured datagrams, leaving the spy empty.
    pub fn take(&self) -> Vec<Vec<u8>> {
        core::mem::take(
            &mut *self
                .inner
                .datagrams
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Forget the captured datagrams.
    pub fn clear(&self) {
        drop(self.take());
    }
}

/// A function that takes each packet (a [`LineSender`](super::LineSender) built with
/// [`LineSenderBuilder::packets`](super::LineSenderBuilder::packets)).
pub(crate) struct PacketFn(pub(crate) PacketCallback);

/// The function of [`PacketFn`].
pub(crate) type PacketCallback = Arc<dyn Fn(&[u8]) -> std::io::Result<()> + Send + Sync>;

impl core::fmt::Debug for PacketFn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PacketFn")
    }
}

/// When a UDP transport resolves its address again (besides after repeated send errors).
#[derive(Debug)]
pub(crate) struct Refresh {
    /// Resolve again at a batch once the last resolution is older than this.
    ttl: Duration,
    /// The last successful resolution.
    at: Instant,
}

/// The transport of one emitter or line sender. The flush is the same code for all of them.
#[derive(Debug)]
pub(crate) enum Transport {
    Udp {
        /// The address as given, for re-resolving.
        address: String,
        /// `None` until the address resolves (a line sender is built without it).
        socket: Option<(UdpSocket, SocketAddr)>,
        /// A line sender's periodic re-resolution; `None` for the emitter.
        refresh: Option<Refresh>,
    },
    #[cfg(unix)]
    Unix {
        path: PathBuf,
        socket: UnixDatagram,
    },
    Spy(Spy),
    /// TCP or a Unix stream socket: packets are queued for the transport's I/O thread.
    Stream(StreamTransport),
    /// Each packet handed to a function.
    Packets(PacketFn),
}

impl Transport {
    pub(crate) fn udp(address: String, resolved: SocketAddr) -> Result<Self, EmitError> {
        let socket = connect_udp(resolved)?;
        Ok(Transport::Udp {
            address,
            socket: Some((socket, resolved)),
            refresh: None,
        })
    }

    /// A UDP transport that is built even when `address` does not resolve (the error is
    /// returned beside it), and resolves again at a batch once the last resolution is older
    /// than `ttl` (see [`refresh`](Self::refresh)).
    pub(crate) fn udp_lenient(address: String, ttl: Duration) -> (Self, Option<EmitError>) {
        let (socket, error) = match resolve(&address).and_then(|a| Ok((connect_udp(a)?, a))) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        let t = Transport::Udp {
            address,
            socket,
            refresh: Some(Refresh {
                ttl,
                at: Instant::now(),
            }),
        };
        (t, error)
    }

    /// At the start of a line sender's batch: a UDP transport with a re-resolution period
    /// resolves its address again when the last resolution is older than the period (or
    /// never succeeded), and reopens its socket when the address changed. A failure with a
    /// socket open keeps it, silently (the last address that resolved still serves); with none,
    /// the error is returned and this batch's packets fail.
    pub(crate) fn refresh(&mut self) -> Result<(), EmitError> {
        let Transport::Udp {
            address,
            socket,
            refresh: Some(r),
        } = self
        else {
            return Ok(());
        };
        if socket.is_some() && r.at.elapsed() < r.ttl {
            return Ok(());
        }
        let addr = match resolve(address) {
            Ok(a) => a,
            Err(_) if socket.is_some() => return Ok(()),
            Err(e) => return Err(e),
        };
        r.at = Instant::now();
        if !matches!(socket, Some((_, to)) if *to == addr) {
            *socket = Some((connect_udp(addr)?, addr));
        }
        Ok(())
    }

    /// The largest packet the transport can carry, when it has a fixed one (UDP).
    pub(crate) fn max_datagram(&self) -> Option<usize> {
        matches!(self, Transport::Udp { .. }).then_some(super::MAX_UDP_PAYLOAD)
    }

    #[cfg(unix)]
    pub(crate) fn unix(path: PathBuf) -> Result<Self, EmitError> {
        let socket =
            UnixDatagram::unbound().map_err(|e| EmitError::io("creating a Unix socket", &e))?;
        socket
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(|e| EmitError::io("setting the Unix socket write timeout", &e))?;
        Ok(Transport::Unix { path, socket })
    }

    #[cfg(not(unix))]
    pub(crate) fn unix(_path: PathBuf) -> Result<Self, EmitError> {
        Err(EmitError::InvalidConfig(
            "Unix datagram sockets need a Unix system",
        ))
    }

    /// A TCP (`host:port`) stream transport; connects in the background.
    pub(crate) fn tcp(
        address: String,
        max_buffered: usize,
        stats: Arc<StatCells>,
    ) -> Result<Self, EmitError> {
        StreamTransport::start(StreamTarget::Tcp(address), max_buffered, stats)
            .map(Transport::Stream)
    }

    /// A Unix stream socket transport; connects in the background.
    #[cfg(unix)]
    pub(crate) fn unix_stream(
        path: PathBuf,
        max_buffered: usize,
        stats: Arc<StatCells>,
    ) -> Result<Self, EmitError> {
        StreamTransport::start(StreamTarget::Unix(path), max_buffered, stats).map(Transport::Stream)
    }

    #[cfg(not(unix))]
    pub(crate) fn unix_stream(
        _path: PathBuf,
        _max_buffered: usize,
        _stats: Arc<StatCells>,
    ) -> Result<Self, EmitError> {
        Err(EmitError::InvalidConfig(
            "Unix stream sockets need a Unix system",
        ))
    }

    /// Whether a send can block on the socket (datagram transports, up to the write timeout).
    /// A stream transport only queues.
    pub(crate) fn may_block(&self) -> bool {
        !matches!(
            self,
            Transport::Stream(_) | Transport::Spy(_) | Transport::Packets(_)
        )
    }

    /// Move errors found in the background (a stream transport's I/O thread) into `out`.
    pub(crate) fn take_errors(&self, out: &mut Vec<EmitError>) {
        if let Transport::Stream(s) = self {
            s.take_errors(out);
        }
    }

    /// After the last flush: a stream transport writes what it still holds (bounded) and stops
    /// its I/O thread.
    pub(crate) fn close(&mut self) {
        if let Transport::Stream(s) = self {
            s.close();
        }
    }

    /// Send one packet (a stream transport queues it, with its final `\n`).
    pub(crate) fn send(&mut self, datagram: &[u8]) -> std::io::Result<()> {
        match self {
            Transport::Udp {
                socket: Some((socket, _)),
                ..
            } => socket.send(datagram).map(drop),
            Transport::Udp { socket: None, .. } => Err(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "the statsd address did not resolve",
            )),
            #[cfg(unix)]
            Transport::Unix { path, socket } => socket.send_to(datagram, &*path).map(drop),
            Transport::Spy(spy) => {
                spy.push(datagram);
                Ok(())
            }
            Transport::Stream(s) => s.send(datagram),
            Transport::Packets(f) => (f.0)(datagram),
        }
    }

    /// After repeated send errors: resolve the address again and open a new socket. Returns
    /// whether to count a reconnect, or an error when that fails (the old socket is kept).
    /// Stream transports reconnect on their own I/O thread: nothing to do here.
    pub(crate) fn reconnect(&mut self) -> Result<bool, EmitError> {
        if let Transport::Udp {
            address,
            socket,
            refresh,
        } = self
        {
            let addr = resolve(address)?;
            *socket = Some((connect_udp(addr)?, addr));
            if let Some(r) = refresh {
                r.at = Instant::now();
            }
        }
        // Counted as a reconnect for the datagram transports and the spy, as before.
        Ok(!matches!(
            self,
            Transport::Stream(_) | Transport::Packets(_)
        ))
    }
}
