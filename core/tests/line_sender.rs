//! `LineSender` over real sockets: UDP (packing, a long line alone, never a datagram over the
//! maximum payload, one line per datagram with `max_payload(0)`), TCP (exact lines, a
//! reconnection after the server drops the connection), a Unix stream socket, a Unix datagram
//! socket, an unresolvable UDP host, and the packet function. Waits have generous deadlines;
//! nothing asserts speed.

mod emitter_support;

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emitter_support::temp_socket_path;
use realm_metrics::emitter::{EmitError, LineSender};

const DELIVERY: Duration = Duration::from_secs(30);

fn udp_daemon() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    s
}

/// Datagrams until `n` lines arrived (or the deadline passed).
fn recv_lines(s: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let end = Instant::now() + DELIVERY;
    let mut buf = vec![0u8; 70_000];
    while out
        .iter()
        .map(|d| d.split(|&c| c == b'\n').count())
        .sum::<usize>()
        < n
        && Instant::now() < end
    {
        if let Ok(k) = s.recv(&mut buf) {
            out.push(buf[..k].to_vec());
        }
    }
    out
}

fn lines_of(datagrams: &[Vec<u8>]) -> Vec<String> {
    datagrams
        .iter()
        .flat_map(|d| d.split(|&c| c == b'\n'))
        .map(|l| String::from_utf8(l.to_vec()).unwrap())
        .collect()
}

fn sample_lines() -> Vec<String> {
    let mut v: Vec<String> = (0..40)
        .map(|i| format!("page.views.{i}:1|c|#env:prod"))
        .collect();
    v.push("_e{5,4}:title|text|#a".into());
    v.push("_sc|check|0|m:ok".into());
    v.push("bare.tag:3|g|#novalue".into());
    v
}

#[test]
fn udp_packs_whole_lines_and_never_exceeds_max_payload() {
    let d = udp_daemon();
    let sender = LineSender::builder()
        .address(d.local_addr().unwrap().to_string())
        .max_payload(100)
        .build()
        .unwrap();
    let want = sample_lines();
    sender
        .send_lines(want.iter().map(|l| l.as_bytes()))
        .unwrap();
    let got = recv_lines(&d, want.len());
    assert_eq!(lines_of(&got), want);
    assert!(got.len() > 1, "packed into several datagrams");
    for dg in &got {
        assert!(dg.len() <= 100, "datagram of {} bytes", dg.len());
        assert!(!dg.starts_with(b"\n") && !dg.ends_with(b"\n"));
    }
    let s = sender.stats();
    assert_eq!(s.lines_sent, want.len() as u64);
    assert_eq!(s.packets_sent, got.len() as u64);
    assert_eq!(s.batches, 1);
    assert_eq!(s.long_lines_sent, 0);
    assert_eq!(s.send_errors, 0);
}

#[test]
fn udp_long_line_goes_alone_and_is_counted() {
    let d = udp_daemon();
    let sender = LineSender::builder()
        .address(d.local_addr().unwrap().to_string())
        .max_payload(40)
        .build()
        .unwrap();
    let long = format!("{}:1|c", "x".repeat(100));
    let lines = ["a:1|c", "b:2|c", long.as_str(), "c:3|c", "d:4|c"];
    sender
        .send_lines(lines.iter().map(|l| l.as_bytes()))
        .unwrap();
    let got = recv_lines(&d, lines.len());
    assert_eq!(lines_of(&got), lines);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[1], long.as_bytes(), "the long line alone");
    assert!(got[0].len() <= 40 && got[2].len() <= 40);
    let s = sender.stats();
    assert_eq!(s.long_lines_sent, 1);
    assert_eq!(s.lines_sent, 5);
    assert_eq!(s.lines_dropped_oversize, 0);
}

#[test]
fn udp_max_payload_zero_is_one_line_per_datagram_and_send_splits_a_batch() {
    let d = udp_daemon();
    let sender = LineSender::builder()
        .address(d.local_addr().unwrap().to_string())
        .max_payload(0)
        .build()
        .unwrap();
    sender.send(b"a:1|c\nb:2|c\n\nc:3|c\n").unwrap();
    let got = recv_lines(&d, 3);
    assert_eq!(
        got,
        [b"a:1|c".to_vec(), b"b:2|c".to_vec(), b"c:3|c".to_vec()]
    );
    assert_eq!(sender.stats().packets_sent, 3);
}

#[test]
fn udp_line_longer_than_a_datagram_is_dropped_and_counted() {
    let d = udp_daemon();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let sender = LineSender::builder()
        .address(d.local_addr().unwrap().to_string())
        .on_error(move |e| s2.lock().unwrap().push(e.code()))
        .build()
        .unwrap();
    let huge = vec![b'x'; 70_000];
    let err = sender.send_lines([&b"ok:1|c"[..], &huge[..]]).unwrap_err();
    assert_eq!(err.code(), "line_too_long");
    assert_eq!(*seen.lock().unwrap(), ["line_too_long"]);
    assert_eq!(recv_lines(&d, 1), [b"ok:1|c".to_vec()]);
    assert_eq!(sender.stats().lines_dropped_oversize, 1);
}

#[test]
fn udp_unresolvable_host_is_not_a_build_error_and_every_batch_fails() {
    let sender = LineSender::builder()
        .address("no-such-host.invalid:8125")
        .dns_ttl(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(sender.resolve_error().unwrap().code(), "resolve_failed");
    let e = sender.send_lines([&b"a:1|c"[..]]).unwrap_err();
    assert_eq!(e.code(), "resolve_failed");
    let s = sender.stats();
    assert_eq!(s.send_errors, 1);
    assert_eq!(s.lines_sent, 0);
    assert!(matches!(
        LineSender::builder().tcp("no-port").build(),
        Err(EmitError::Resolve { .. })
    ));
}

#[test]
fn unix_datagram_lines_arrive() {
    let path = temp_socket_path("line-dgram");
    let d = UnixDatagram::bind(&path).unwrap();
    d.set_read_timeout(Some(DELIVERY)).unwrap();
    let sender = LineSender::builder()
        .unix_socket(&path)
        .max_payload(12)
        .build()
        .unwrap();
    sender
        .send_lines([&b"a:1|c"[..], b"b:2|c", b"c:3|c"])
        .unwrap();
    let mut buf = [0u8; 64];
    let n = d.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"a:1|c\nb:2|c");
    let n = d.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"c:3|c");
}

/// A newline-framed stream server: every connection's bytes, kept apart.
struct StreamServer {
    conns: Arc<Mutex<Vec<Vec<u8>>>>,
    /// TCP: the accepted connections, to close them.
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl StreamServer {
    fn tcp(l: TcpListener) -> StreamServer {
        let s = StreamServer::empty();
        let (conns, live) = (s.conns.clone(), s.live.clone());
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(c) = c else { return };
                live.lock().unwrap().push(c.try_clone().unwrap());
                read_into(c, &conns);
            }
        });
        s
    }

    fn unix(l: UnixListener) -> StreamServer {
        let s = StreamServer::empty();
        let conns = s.conns.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(c) = c else { return };
                read_into(c, &conns);
            }
        });
        s
    }

    fn empty() -> StreamServer {
        StreamServer {
            conns: Arc::default(),
            live: Arc::default(),
        }
    }

    /// Close every connection accepted so far.
    fn drop_all(&self) {
        for c in self.live.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    fn bytes(&self) -> Vec<Vec<u8>> {
        self.conns.lock().unwrap().clone()
    }

    fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.bytes() {
            for l in c.split(|&b| b == b'\n') {
                if !l.is_empty() {
                    out.push(String::from_utf8(l.to_vec()).unwrap());
                }
            }
        }
        out
    }

    fn wait(&self, cond: impl Fn(&StreamServer) -> bool) {
        let end = Instant::now() + DELIVERY;
        while !cond(self) {
            assert!(Instant::now() < end, "timed out; got {:?}", self.lines());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Read a connection to its end on a thread of its own, into a new slot of `conns`.
fn read_into<S: Read + Send + 'static>(mut c: S, conns: &Arc<Mutex<Vec<Vec<u8>>>>) {
    let i = {
        let mut v = conns.lock().unwrap();
        v.push(Vec::new());
        v.len() - 1
    };
    let conns = conns.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = c.read(&mut buf) {
            if n == 0 {
                break;
            }
            conns.lock().unwrap()[i].extend_from_slice(&buf[..n]);
        }
    });
}

#[test]
fn tcp_exact_lines_framed_and_long_line_alone() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let server = StreamServer::tcp(l);
    let sender = LineSender::builder()
        .tcp(&addr)
        .max_payload(64)
        .build()
        .unwrap();
    let mut want = sample_lines();
    want.push(format!("{}:1|c", "y".repeat(200)));
    sender
        .send_lines(want.iter().map(|l| l.as_bytes()))
        .unwrap();
    server.wait(|s| s.lines().len() >= want.len());
    assert_eq!(server.lines(), want);
    let bytes = server.bytes().concat();
    assert!(bytes.ends_with(b"\n"));
    let s = sender.stats();
    assert_eq!(s.long_lines_sent, 1);
    assert_eq!(s.lines_sent, want.len() as u64);
    // Each packet (at most 64 bytes, or the long line alone) and its `\n`.
    assert_eq!(s.bytes_written, s.bytes_sent + s.packets_sent);
    assert_eq!(s.bytes_written, bytes.len() as u64);
    sender.close().unwrap();
    assert!(sender.send_lines([&b"late:1|c"[..]]).is_err());
    assert!(sender.close().is_ok(), "a second close does nothing");
}

#[test]
fn tcp_reconnects_after_the_server_drops_the_connection() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let server = StreamServer::tcp(l);
    let sender = LineSender::builder().tcp(&addr).build().unwrap();
    sender.send_lines([&b"before:1|c"[..]]).unwrap();
    server.wait(|s| s.lines().contains(&"before:1|c".to_string()));
    server.drop_all();
    let end = Instant::now() + DELIVERY;
    let mut i = 0;
    while !server.lines().iter().any(|l| l.starts_with("after")) {
        assert!(
            Instant::now() < end,
            "never reconnected: {:?}",
            sender.stats()
        );
        let line = format!("after{i}:1|c");
        let _ = sender.send_lines([line.as_bytes()]);
        i += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.bytes().len() >= 2, "a second connection");
    assert!(sender.stats().reconnects >= 1);
    // Whole lines only, on every connection.
    for c in server.bytes() {
        assert!(c.is_empty() || c.ends_with(b"\n"), "{c:?}");
    }
    drop(sender);
}

#[test]
fn unix_stream_lines_arrive() {
    let path = temp_socket_path("line-stream");
    let server = StreamServer::unix(UnixListener::bind(&path).unwrap());
    let sender = LineSender::builder()
        .unix_stream(&path)
        .max_payload(30)
        .build()
        .unwrap();
    let want = sample_lines();
    sender
        .send_lines(want.iter().map(|l| l.as_bytes()))
        .unwrap();
    sender.close().unwrap();
    server.wait(|s| s.lines().len() >= want.len());
    assert_eq!(server.lines(), want);
    assert_eq!(sender.stats().lines_dropped_backlog, 0);
    // Not a stream server: the stream transport reports the connection error at a batch.
    let missing = temp_socket_path("line-missing");
    let told = Arc::new(Mutex::new(Vec::new()));
    let t2 = told.clone();
    let s2 = LineSender::builder()
        .unix_stream(&missing)
        .on_error(move |e| t2.lock().unwrap().push(e.to_string()))
        .build()
        .unwrap();
    let end = Instant::now() + DELIVERY;
    while s2.stats().connect_errors == 0 {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        s2.send_lines([&b"x:1|c"[..]]).unwrap_err().code(),
        "io_error"
    );
    // Never written: dropped at close, counted, and told (after the connection errors of the
    // attempts made while closing).
    let e = s2.close().unwrap_err();
    assert!(matches!(e.code(), "io_error" | "send_failed"), "{e}");
    assert_eq!(s2.stats().lines_dropped_backlog, 1);
    let told = told.lock().unwrap();
    assert!(
        told.last()
            .unwrap()
            .contains("1 lines still unwritten at close"),
        "{told:?}"
    );
}

#[test]
fn packet_function_gets_packets_and_its_errors_count() {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g2 = got.clone();
    let sender = LineSender::builder()
        .packets(move |p: &[u8]| {
            let mut g = g2.lock().unwrap();
            if g.len() >= 2 {
                return Err(std::io::Error::other("full"));
            }
            g.push(p.to_vec());
            Ok(())
        })
        .max_payload(10)
        .build()
        .unwrap();
    let e = sender
        .send_lines([&b"a:1|c"[..], b"b:2|c", b"c:3|c", b"d:4|c", b"e:5|c"])
        .unwrap_err();
    assert_eq!(e.code(), "send_failed");
    assert_eq!(
        *got.lock().unwrap(),
        [b"a:1|c".to_vec(), b"b:2|c".to_vec()],
        "10 bytes hold one line, not two"
    );
    let s = sender.stats();
    assert_eq!((s.packets_sent, s.send_errors, s.lines_sent), (2, 3, 2));
}
