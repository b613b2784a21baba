//! Stream transports (TCP and Unix stream sockets) over real sockets: newline framing, exact
//! totals, reconnection after the server goes away, a server that never reads, and a server
//! that is not there yet at build. Every line a server receives is parsed with
//! `realm_metrics::wire::decode`; a fragment (bytes after the last `\n` of a connection) fails
//! the tests. Delivery waits have generous deadlines; nothing asserts speed.

mod emitter_support;

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use emitter_support::{temp_socket_path, Totals};
use realm_metrics::emitter::{EmitError, Emitter, EmitterBuilder};
use realm_metrics::Metric;

/// Deadline for anything to arrive.
const DELIVERY: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
enum Where {
    Tcp(u16),
    Unix(PathBuf),
}

impl Where {
    fn tcp_free_port() -> Where {
        // Bind to learn a free port, then release it: nothing listens there now.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        Where::Tcp(l.local_addr().unwrap().port())
    }

    fn unix(tag: &str) -> Where {
        Where::Unix(temp_socket_path(tag))
    }

    fn builder(&self) -> EmitterBuilder {
        let b = Emitter::builder()
            .prefix("t")
            .flush_interval(Duration::ZERO);
        match self {
            Where::Tcp(port) => b.tcp(format!("127.0.0.1:{port}")),
            Where::Unix(path) => b.unix_stream(path.clone()),
        }
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(b),
            Conn::Unix(s) => s.read(b),
        }
    }
}

impl Listener {
    fn bind(w: &Where) -> Listener {
        let l = match w {
            Where::Tcp(port) => {
                // The port may linger for a moment after the previous listener closed.
                let end = Instant::now() + Duration::from_secs(10);
                loop {
                    match TcpListener::bind(("127.0.0.1", *port)) {
                        Ok(l) => break Listener::Tcp(l),
                        Err(e) if Instant::now() < end => {
                            eprintln!("bind {port}: {e}; retrying");
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        Err(e) => panic!("bind {port}: {e}"),
                    }
                }
            }
            Where::Unix(path) => {
                let _ = std::fs::remove_file(path);
                Listener::Unix(UnixListener::bind(path).unwrap())
            }
        };
        match &l {
            Listener::Tcp(t) => t.set_nonblocking(true).unwrap(),
            Listener::Unix(u) => u.set_nonblocking(true).unwrap(),
        }
        l
    }

    fn accept(&self) -> std::io::Result<Conn> {
        let c = match self {
            Listener::Tcp(t) => Conn::Tcp(t.accept()?.0),
            Listener::Unix(u) => Conn::Unix(u.accept()?.0),
        };
        let timeout = Some(Duration::from_millis(20));
        match &c {
            Conn::Tcp(s) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(timeout).unwrap();
            }
            Conn::Unix(s) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(timeout).unwrap();
            }
        }
        Ok(c)
    }
}

/// What a line server saw.
#[derive(Debug, Default)]
struct Seen {
    totals: Totals,
    connections: usize,
    /// Bytes after the last `\n` of a connection when it ended: a line cut in two.
    fragments: Vec<String>,
}

/// A StatsD stream server: accepts connections, splits each at `\n`, parses every line.
/// `shutdown` closes the listener and every connection.
struct LineServer {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LineServer {
    fn start(w: &Where) -> LineServer {
        let listener = Listener::bind(w);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, st2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut readers = Vec::new();
            while !st2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok(conn) => {
                        s2.lock().unwrap().connections += 1;
                        let (s3, st3) = (s2.clone(), st2.clone());
                        readers.push(std::thread::spawn(move || read_lines(conn, &s3, &st3)));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
            drop(listener);
            for r in readers {
                r.join().unwrap();
            }
        });
        LineServer {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn counter(&self, name: &str) -> u64 {
        self.seen.lock().unwrap().totals.counter(name)
    }

    fn wait_counter(&self, name: &str, want: u64) -> bool {
        let end = Instant::now() + DELIVERY;
        while Instant::now() < end {
            if self.counter(name) >= want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Close the listener and every connection; what was seen.
    fn shutdown(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Drop for LineServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_lines(mut conn: Conn, seen: &Mutex<Seen>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 65_536];
    let mut partial: Vec<u8> = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                partial.extend_from_slice(&buf[..n]);
                if let Some(end) = partial.iter().rposition(|&c| c == b'\n') {
                    let mut s = seen.lock().unwrap();
                    for line in partial[..end].split(|&c| c == b'\n') {
                        s.totals.add_datagram(line);
                    }
                    partial.drain(..=end);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    if !partial.is_empty() {
        seen.lock()
            .unwrap()
            .fragments
            .push(String::from_utf8_lossy(&partial).into_owned());
    }
}

/// Collects what the error callback is told.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<EmitError>>>);

impl Errors {
    fn hook(&self, b: EmitterBuilder) -> EmitterBuilder {
        let e = self.0.clone();
        b.on_error(move |err| e.lock().unwrap().push(err.clone()))
    }

    fn codes(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().iter().map(|e| e.code()).collect()
    }
}

fn assert_clean(seen: &Seen) {
    assert!(seen.fragments.is_empty(), "cut lines: {:?}", seen.fragments);
    assert_eq!(
        seen.totals.decode_errors, 0,
        "lines: {:?}",
        seen.totals.lines
    );
    // The tail of a cut line can parse (`yyy:1.5|ms`): every name has the prefix.
    let foreign: Vec<_> = seen
        .totals
        .lines
        .iter()
        .filter(|l| !l.starts_with("t."))
        .take(5)
        .collect();
    assert!(
        foreign.is_empty(),
        "lines that start inside a line: {foreign:?}"
    );
}

fn exact_totals(w: Where) {
    let server = LineServer::start(&w);
    let errors = Errors::default();
    let emitter = errors.hook(w.builder()).build().unwrap();
    let custom = emitter.counter("sync.uploads").unwrap();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (e, c) = (emitter.clone(), custom.clone());
            std::thread::spawn(move || {
                for i in 0..20_000u64 {
                    e.count(Metric::ConnectionStarted, 1).unwrap();
                    c.increment(2);
                    if i % 500 == 0 {
                        e.flush().unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    emitter.timing("merge", 1.5).unwrap();
    emitter.close();
    assert!(server.wait_counter("t.connection.started", 60_000));
    assert!(server.wait_counter("t.sync.uploads", 120_000));
    std::thread::sleep(Duration::from_millis(100));
    let seen = server.shutdown();
    assert_clean(&seen);
    assert_eq!(seen.totals.counter("t.connection.started"), 60_000);
    assert_eq!(seen.totals.counter("t.sync.uploads"), 120_000);
    assert!(seen.totals.lines.iter().any(|l| l == "t.merge:1.5|ms"));
    assert_eq!(seen.connections, 1);
    let s = emitter.stats();
    assert_eq!(s.lines_dropped_backlog, 0);
    assert_eq!(s.connect_errors, 0);
    assert_eq!(s.backlog_bytes, 0);
    assert_eq!(
        s.bytes_written,
        s.bytes_sent + s.packets_sent,
        "a \\n per packet"
    );
    assert!(errors.codes().is_empty(), "{:?}", errors.codes());
}

#[test]
fn tcp_exact_totals_newline_framed() {
    exact_totals(Where::tcp_free_port());
}

#[test]
fn unix_stream_exact_totals_newline_framed() {
    exact_totals(Where::unix("stream-totals"));
}

/// Count `n`, flush, and wait until the server has `want` in total.
fn deliver(e: &Emitter, server: &LineServer, n: u64, want: u64) {
    e.count(Metric::ConnectionStarted, n).unwrap();
    e.flush().unwrap();
    assert!(
        server.wait_counter("t.connection.started", want),
        "got {} of {want}",
        server.counter("t.connection.started")
    );
}

fn server_restarts(w: Where) {
    let errors = Errors::default();
    let first = LineServer::start(&w);
    let emitter = errors.hook(w.builder()).build().unwrap();
    deliver(&emitter, &first, 100, 100);
    let seen = first.shutdown();
    assert_clean(&seen);
    assert_eq!(seen.totals.counter("t.connection.started"), 100);

    // The server is gone: these wait in the backlog (the I/O thread notices the close before
    // writing, and backs off while nothing listens).
    emitter.count(Metric::ConnectionStarted, 50).unwrap();
    emitter.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let second = LineServer::start(&w);
    deliver(&emitter, &second, 25, 75);
    deliver(&emitter, &second, 5, 80);
    emitter.close();
    std::thread::sleep(Duration::from_millis(100));
    let seen = second.shutdown();
    assert_clean(&seen);
    assert_eq!(seen.totals.counter("t.connection.started"), 80);
    let s = emitter.stats();
    assert!(s.reconnects >= 1, "{s:?}");
    assert_eq!(s.lines_dropped_backlog, 0, "{s:?}");
    // The close, and the failed attempts while nothing listened, went to the callback.
    let codes = errors.codes();
    assert!(
        codes
            .iter()
            .any(|c| *c == "send_failed" || *c == "io_error"),
        "{codes:?}"
    );
}

#[test]
fn tcp_reconnects_to_a_new_listener_on_the_same_port() {
    server_restarts(Where::tcp_free_port());
}

#[test]
fn unix_stream_reconnects_to_a_new_listener_on_the_same_path() {
    server_restarts(Where::unix("stream-restart"));
}

fn absent_at_start(w: Where) {
    let errors = Errors::default();
    // Nothing listens: build succeeds, the failure goes to the callback.
    let emitter = errors.hook(w.builder()).build().unwrap();
    emitter.count(Metric::ConnectionStarted, 7).unwrap();
    let end = Instant::now() + DELIVERY;
    while !errors.codes().contains(&"io_error") {
        assert!(Instant::now() < end, "no connect error reported");
        emitter.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(emitter.stats().connect_errors >= 1);
    let server = LineServer::start(&w);
    emitter.count(Metric::ConnectionStarted, 5).unwrap();
    emitter.flush().unwrap();
    assert!(server.wait_counter("t.connection.started", 12));
    emitter.close();
    std::thread::sleep(Duration::from_millis(100));
    let seen = server.shutdown();
    assert_clean(&seen);
    assert_eq!(seen.totals.counter("t.connection.started"), 12);
    let s = emitter.stats();
    assert_eq!(s.reconnects, 0, "the first connection is not a reconnect");
    assert_eq!(s.lines_dropped_backlog, 0);
}

#[test]
fn tcp_server_absent_at_start_is_reported_then_delivered() {
    absent_at_start(Where::tcp_free_port());
}

#[test]
fn unix_stream_socket_absent_at_start_is_reported_then_delivered() {
    absent_at_start(Where::unix("stream-absent"));
}

/// A server that accepts and never reads: the backlog stays bounded, the excess is dropped and
/// counted, and neither flush nor close waits on the network.
fn never_reads(w: Where) {
    let listener = Listener::bind(&w);
    let held: Arc<Mutex<Vec<Conn>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (h2, s2) = (held.clone(), stop.clone());
    let acceptor = std::thread::spawn(move || {
        while !s2.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok(c) => h2.lock().unwrap().push(c),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    const MAX_BUFFERED: usize = 64 * 1024;
    let errors = Errors::default();
    let emitter = errors
        .hook(w.builder().max_buffered(MAX_BUFFERED))
        .build()
        .unwrap();
    let name = format!(
        "a.sample.name.long.enough.to.fill.buffers.quickly.{}",
        "x".repeat(40)
    );
    let mut slowest = Duration::ZERO;
    let end = Instant::now() + Duration::from_secs(60);
    let mut flushes = 0;
    while emitter.stats().lines_dropped_backlog == 0 {
        assert!(Instant::now() < end, "never dropped: {:?}", emitter.stats());
        for i in 0..5_000 {
            emitter.timing(&name, f64::from(i)).unwrap();
        }
        let t = Instant::now();
        let _ = emitter.flush();
        slowest = slowest.max(t.elapsed());
        flushes += 1;
        let s = emitter.stats();
        assert!(s.backlog_bytes <= MAX_BUFFERED as u64, "{s:?}");
    }
    // Flushing only queues: never anything like the I/O thread's write timeout per packet.
    assert!(slowest < Duration::from_secs(5), "a flush took {slowest:?}");
    // Full: later flushes are refused quickly too, and reported.
    for _ in 0..3 {
        emitter.timing(&name, 1.0).unwrap();
        let t = Instant::now();
        let r = emitter.flush();
        assert!(t.elapsed() < Duration::from_secs(5));
        if let Err(e) = r {
            assert_eq!(e.code(), "send_failed");
        }
    }
    let t = Instant::now();
    emitter.close();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "close took {:?}",
        t.elapsed()
    );
    let s = emitter.stats();
    assert!(s.lines_dropped_backlog > 0, "{s:?}");
    assert!(s.send_errors > 0, "{s:?}");
    assert_eq!(
        s.backlog_bytes, 0,
        "the backlog is released at close: {s:?}"
    );
    assert!(
        errors.codes().contains(&"send_failed"),
        "{:?}",
        errors.codes()
    );
    eprintln!("never-reading server: {flushes} flushes, slowest {slowest:?}, {s:?}");
    stop.store(true, Ordering::Relaxed);
    acceptor.join().unwrap();
}

#[test]
fn tcp_server_that_never_reads_bounds_memory_and_counts_drops() {
    never_reads(Where::tcp_free_port());
}

#[test]
fn unix_stream_server_that_never_reads_bounds_memory_and_counts_drops() {
    never_reads(Where::unix("stream-stuck"));
}

#[test]
fn tcp_address_without_port_is_a_build_error() {
    let err = Emitter::builder().tcp("localhost").build().unwrap_err();
    assert_eq!(err.code(), "resolve_failed");
    let err = Emitter::builder()
        .tcp("127.0.0.1:1")
        .max_payload(4096)
        .max_buffered(4096)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), "invalid_config");
}

#[test]
fn unresolvable_tcp_host_is_reported_not_a_build_error() {
    let errors = Errors::default();
    let emitter = errors
        .hook(
            Emitter::builder()
                .prefix("t")
                .flush_interval(Duration::ZERO)
                .tcp("no-such-host.invalid:8125"),
        )
        .build()
        .unwrap();
    emitter.count(Metric::ConnectionStarted, 1).unwrap();
    let end = Instant::now() + DELIVERY;
    while !errors.codes().contains(&"resolve_failed") {
        assert!(Instant::now() < end, "{:?}", errors.codes());
        emitter.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    emitter.close();
}

/// A server that stops reading with lines half written into its socket, then closes: the next
/// connection starts at a line boundary (the cut line is written again whole), so the new
/// server parses every line.
fn no_line_split_across_reconnect(w: Where) {
    let listener = Listener::bind(&w);
    let held: Arc<Mutex<Vec<Conn>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (h2, s2) = (held.clone(), stop.clone());
    let acceptor = std::thread::spawn(move || {
        while !s2.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok(c) => h2.lock().unwrap().push(c),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        drop(listener);
    });
    // Large packets: a write that fills the socket buffer returns short, inside a line.
    let emitter = w
        .builder()
        .max_payload(400_000)
        .max_buffered(1 << 20)
        .build()
        .unwrap();
    // Lines of varied lengths, so that a full socket buffer cuts one somewhere inside.
    let end = Instant::now() + Duration::from_secs(60);
    let mut i = 0u32;
    while emitter.stats().lines_dropped_backlog == 0 {
        assert!(Instant::now() < end, "never dropped: {:?}", emitter.stats());
        for _ in 0..20_000 {
            i += 1;
            let name = format!("fill.{}", "y".repeat(1 + (i % 37) as usize));
            emitter.timing(&name, f64::from(i) / 7.0).unwrap();
        }
        let _ = emitter.flush();
    }
    // Let the I/O thread stall on the full socket, then close the server with data unread.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    acceptor.join().unwrap();
    held.lock().unwrap().clear();

    let server = LineServer::start(&w);
    emitter.count(Metric::ConnectionStarted, 3).unwrap();
    emitter.flush().unwrap();
    assert!(server.wait_counter("t.connection.started", 3));
    emitter.close();
    std::thread::sleep(Duration::from_millis(100));
    let seen = server.shutdown();
    assert_clean(&seen);
    // (What the kernel had accepted for the old connection is lost with it; what the emitter
    // still held goes to the new one.)
    let s = emitter.stats();
    assert!(s.reconnects >= 1, "{s:?}");
    assert!(s.partial_lines_resent >= 1, "no line was cut: {s:?}");
    eprintln!(
        "cut-line reconnect: {} lines on the new connection, {s:?}",
        seen.totals.lines.len()
    );
}

#[test]
fn tcp_line_cut_by_a_broken_connection_is_resent_whole() {
    no_line_split_across_reconnect(Where::tcp_free_port());
}

#[test]
fn unix_stream_line_cut_by_a_broken_connection_is_resent_whole() {
    no_line_split_across_reconnect(Where::unix("stream-cut"));
}
