//! Emitter over real sockets: a UDP (or Unix datagram) receiver parses what arrives with
//! `realm_metrics::wire::decode` and checks the totals.

mod emitter_support;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emitter_support::{temp_socket_path, Receiver};
use realm_metrics::emitter::Emitter;
use realm_metrics::wire::{Dialect, MetricType};
use realm_metrics::Metric;

const PER_THREAD: u64 = 5_000_000;

#[test]
fn two_threads_exact_totals() {
    let rx = Receiver::new();
    let emitter = Emitter::builder()
        .address(rx.address())
        .prefix("realm.test")
        // Flush often, so the increments are split over many flushes while they happen.
        .flush_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let custom = emitter.counter("sync.uploads").unwrap();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let e = emitter.clone();
            let c = custom.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    e.count(Metric::ConnectionStarted, 1).unwrap();
                    if i % 1000 == 0 {
                        c.increment(3);
                        e.gauge_add(Metric::ConnectionOnline, 1).unwrap();
                        e.count(Metric::ProtocolBytesSent, 100).unwrap();
                    }
                }
                e.gauge_set(Metric::RealmsOpen, 40 + t).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    emitter.gauge_set(Metric::SessionOnline, -7).unwrap();
    emitter.gauge("sync.queue").unwrap().set(12);
    let stats_before_close = emitter.stats();
    assert!(stats_before_close.flushes > 1);
    emitter.close();

    let events = 2 * PER_THREAD / 1000;
    assert!(
        rx.wait_for(Duration::from_secs(10), |t| {
            t.counter("realm.test.connection.started") == 2 * PER_THREAD
                && t.counter("realm.test.sync.uploads") == 3 * events
        }),
        "{:?}",
        rx.totals().counters
    );
    let t = rx.settle(Duration::from_millis(50));
    assert_eq!(t.counter("realm.test.connection.started"), 2 * PER_THREAD);
    assert_eq!(t.counter("realm.test.sync.uploads"), 3 * events);
    assert_eq!(t.counter("realm.test.protocol.bytes.sent"), 100 * events);
    assert_eq!(t.gauge("realm.test.connection.online"), Some(events as f64));
    assert_eq!(t.gauge("realm.test.session.online"), Some(-7.0));
    assert_eq!(t.gauge("realm.test.sync.queue"), Some(12.0));
    let realms = t.gauge("realm.test.realms.open").unwrap();
    assert!(realms == 40.0 || realms == 41.0);
    assert_eq!(t.decode_errors, 0);
    assert!(t.max_datagram <= emitter.max_payload());
    let s = emitter.stats();
    assert_eq!(s.send_errors, 0);
    assert_eq!(s.packets_sent as usize, t.datagrams);
    assert_eq!(s.bytes_sent as usize, t.bytes);
}

#[test]
fn flush_and_drop_deliver_everything() {
    let rx = Receiver::new();
    let emitter = Emitter::builder()
        .address(rx.address())
        .prefix("p")
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    emitter.count(Metric::SessionStarted, 5).unwrap();
    emitter.timing("sync.merge", 2.5).unwrap();
    emitter.set("sync.users", "u1").unwrap();
    emitter.flush().unwrap();
    // flush() returns once the datagrams are written: they are in the receiver's socket buffer.
    assert!(
        rx.wait_for(Duration::from_secs(5), |t| t.counter("p.session.started")
            == 5)
    );
    let t = rx.totals();
    assert_eq!(
        t.samples[&("p.sync.merge".to_string(), MetricType::Timer)],
        ["2.5"]
    );
    assert_eq!(
        t.samples[&("p.sync.users".to_string(), MetricType::Set)],
        ["u1"]
    );

    // Dropping the last clone flushes.
    let clone = emitter.clone();
    emitter.count(Metric::SessionStarted, 2).unwrap();
    drop(emitter);
    clone.count(Metric::SessionFailed, 1).unwrap();
    drop(clone);
    assert!(rx.wait_for(Duration::from_secs(5), |t| {
        t.counter("p.session.started") == 7 && t.counter("p.session.failed") == 1
    }));
}

#[test]
fn many_datagrams_stay_within_max_payload() {
    let rx = Receiver::new();
    let emitter = Emitter::builder()
        .address(rx.address())
        .prefix("p")
        .max_payload(200)
        .flush_interval(Duration::ZERO)
        .build()
        .unwrap();
    let counters: Vec<_> = (0..300)
        .map(|i| emitter.counter(&format!("c.n{i}")).unwrap())
        .collect();
    for (i, c) in counters.iter().enumerate() {
        c.increment(i as u64 + 1);
    }
    emitter.flush().unwrap();
    assert!(rx.wait_for(Duration::from_secs(5), |t| t.counters.len() == 300));
    let t = rx.settle(Duration::from_millis(30));
    for i in 0..300u64 {
        assert_eq!(t.counter(&format!("p.c.n{i}")), i + 1);
    }
    assert!(t.datagrams > 10);
    assert!(t.max_datagram <= 200);
}

#[test]
fn no_listener_then_listener() {
    // A port that was bound and closed: nothing listens there.
    let port = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let callback_errors = Arc::new(AtomicUsize::new(0));
    let ce = callback_errors.clone();
    let emitter = Emitter::builder()
        .address(format!("127.0.0.1:{port}"))
        .prefix("p")
        .flush_interval(Duration::ZERO)
        .on_error(move |e| {
            assert!(!e.code().is_empty());
            ce.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    // ICMP "port unreachable" comes back asynchronously and fails a later send.
    let end = Instant::now() + Duration::from_secs(5);
    while emitter.stats().send_errors == 0 && Instant::now() < end {
        emitter.count(Metric::PermissionDenied, 1).unwrap();
        let _ = emitter.flush();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(emitter.stats().send_errors > 0, "{:?}", emitter.stats());
    assert!(callback_errors.load(Ordering::Relaxed) > 0);

    // Now a listener appears on that port: delivery resumes, the caller never saw a failure
    // other than flush()'s own report.
    let socket = match UdpSocket::bind(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("port {port} was taken in the meantime ({e}); skipping the second half");
            return;
        }
    };
    let rx = Receiver::on(socket);
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        emitter.count(Metric::PermissionDenied, 1).unwrap();
        let _ = emitter.flush();
        if rx.wait_for(Duration::from_millis(20), |t| {
            t.counter("p.permission.denied") > 0
        }) {
            break;
        }
        assert!(
            Instant::now() < end,
            "delivery did not resume: {:?}",
            emitter.stats()
        );
    }
    // And from then on, every count arrives.
    let before = rx
        .settle(Duration::from_millis(30))
        .counter("p.permission.denied");
    emitter.count(Metric::PermissionDenied, 10).unwrap();
    emitter.flush().unwrap();
    assert!(rx.wait_for(Duration::from_secs(5), |t| {
        t.counter("p.permission.denied") == before + 10
    }));
}

#[test]
fn unresolvable_host_fails_at_build() {
    let e = Emitter::builder()
        .address("no-such-host.invalid:8125")
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "resolve_failed");
    assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
    let e = Emitter::builder()
        .address("missing-port")
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "resolve_failed");
    assert!(e.to_string().contains("missing-port"), "{e}");
}

#[cfg(unix)]
#[test]
fn unix_datagram_socket() {
    use std::os::unix::net::UnixDatagram;
    let path = temp_socket_path("uds");
    let rx = UnixDatagram::bind(&path).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let emitter = Emitter::builder()
        .unix_socket(&path)
        .prefix("realm.h")
        .dialect(Dialect::DogStatsd)
        .tag("env", "test")
        .flush_interval(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(emitter.max_payload(), 8192);
    // 500 distinct counters: ~20 KB of lines, more than one 8192-byte datagram.
    for i in 0..500u64 {
        emitter
            .counter(&format!("custom.metric.number{i}"))
            .unwrap()
            .increment(i + 1);
    }
    emitter.count(Metric::ConnectionFailed, 4).unwrap();
    emitter.flush().unwrap();
    let mut totals = emitter_support::Totals::default();
    let mut buf = vec![0u8; 65_536];
    while totals.counters.len() < 501 {
        let n = rx.recv(&mut buf).unwrap();
        totals.add_datagram(&buf[..n]);
    }
    assert_eq!(totals.counter("realm.h.connection.failed"), 4);
    assert_eq!(totals.counter("realm.h.custom.metric.number499"), 500);
    assert!(totals.datagrams >= 3);
    assert!(totals.max_datagram <= 8192);
    assert!(
        totals.lines.iter().all(|l| l.ends_with("|#env:test")),
        "{:?}",
        &totals.lines[..3]
    );
    drop(rx);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    // The receiver is gone: errors are counted, nothing panics.
    emitter.count(Metric::ConnectionFailed, 1).unwrap();
    assert_eq!(emitter.flush().unwrap_err().code(), "send_failed");
    assert_eq!(emitter.stats().send_errors, 1);
}
