//! Reliability under faults, over real sockets on ephemeral ports: a daemon that is
//! absent, present, gone and back; a Unix socket deleted and recreated; a receiver that never
//! reads; a panicking error callback. Each test prints a `FIGURE` line used by RELIABILITY.md.

mod emitter_support;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emitter_support::{temp_socket_path, Receiver, Totals};
use realm_metrics::emitter::{EmitError, Emitter};
use realm_metrics::Metric;

const NAME: &str = "p.connection.started";

/// The slowest `count()` seen, in nanoseconds.
#[derive(Default)]
struct Latency(u64);

impl Latency {
    fn count(&mut self, e: &Emitter, n: u64) {
        let t = Instant::now();
        e.count(Metric::ConnectionStarted, n)
            .expect("count never errors");
        self.0 = self.0.max(t.elapsed().as_nanos() as u64);
    }
}

/// Count and flush until the socket reports errors (the daemon is gone). Returns what was
/// counted meanwhile.
fn until_send_errors(e: &Emitter, lat: &mut Latency) -> u64 {
    let before = e.stats().send_errors;
    let end = Instant::now() + Duration::from_secs(10);
    let mut counted = 0;
    // More than RECONNECT_AFTER (8) failed flushes, so the emitter also re-resolves and reopens.
    while e.stats().send_errors < before + 10 {
        assert!(Instant::now() < end, "no send error: {:?}", e.stats());
        lat.count(e, 1);
        counted += 1;
        let _ = e.flush();
        std::thread::sleep(Duration::from_millis(2));
    }
    counted
}

/// A receiver is bound again on `port`: flush until something arrives (delivery resumed), then
/// check that exactly what is counted from then on is received.
fn present_phase(e: &Emitter, rx: &Receiver, lat: &mut Latency, n: u64) -> (u64, u64) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        lat.count(e, 1);
        let _ = e.flush();
        if rx.wait_for(Duration::from_millis(20), |t| t.counter(NAME) > 0) {
            break;
        }
        assert!(
            Instant::now() < end,
            "delivery did not resume: {:?}",
            e.stats()
        );
    }
    // Whatever was sent before the receiver answered is now settled.
    let base = rx.settle(Duration::from_millis(50)).counter(NAME);
    let errors = e.stats().send_errors;
    for i in 0..n {
        lat.count(e, 1);
        if i % 1000 == 999 {
            e.flush()
                .expect("no send error while the daemon is present");
        }
    }
    e.flush()
        .expect("no send error while the daemon is present");
    assert!(
        rx.wait_for(Duration::from_secs(5), |t| t.counter(NAME) == base + n),
        "present phase: counted {n}, received {}; {:?}",
        rx.totals().counter(NAME) - base,
        e.stats()
    );
    let t = rx.settle(Duration::from_millis(50));
    assert_eq!(t.counter(NAME), base + n);
    assert_eq!(t.decode_errors, 0);
    // No loss without a counted loss: nothing failed while present.
    assert_eq!(e.stats().send_errors, errors);
    (n, t.counter(NAME) - base)
}

fn rebind(port: u16) -> Option<UdpSocket> {
    // The port was ours a moment ago; another process may take it in between (then skip).
    for _ in 0..50 {
        if let Ok(s) = UdpSocket::bind(("127.0.0.1", port)) {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn udp_daemon_absent_present_gone_present() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let callback_errors = Arc::new(AtomicU64::new(0));
    let ce = callback_errors.clone();
    let e = Emitter::builder()
        .address(format!("127.0.0.1:{port}"))
        .prefix("p")
        .flush_interval(Duration::ZERO)
        .on_error(move |_| {
            ce.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    let mut lat = Latency::default();

    // 1. Absent.
    let lost1 = until_send_errors(&e, &mut lat);
    // Against a closed UDP port every other send fails (the ICMP error of one datagram fails
    // the next send). Half of the datagrams sent meanwhile are lost and counted as sent: UDP
    // cannot tell; the loss shows as send_errors > 0. (The reconnect rule is tested below.)

    // 2. Present.
    let Some(s) = rebind(port) else {
        eprintln!("port {port} taken by someone else; skipping");
        return;
    };
    let rx = Receiver::on(s);
    let (sent2, got2) = present_phase(&e, &rx, &mut lat, 20_000);

    // 3. Gone again.
    drop(rx);
    let errors_before = e.stats().send_errors;
    let lost3 = until_send_errors(&e, &mut lat);
    assert!(e.stats().send_errors > errors_before);

    // 4. Back.
    let Some(s) = rebind(port) else {
        eprintln!("port {port} taken by someone else; skipping");
        return;
    };
    let rx = Receiver::on(s);
    let (sent4, got4) = present_phase(&e, &rx, &mut lat, 20_000);

    let st = e.stats();
    assert!(callback_errors.load(Ordering::Relaxed) > 0);
    assert!(lat.0 < 50_000_000, "count() took {} ns at worst", lat.0);
    println!(
        "FIGURE udp_restart: absent counted {lost1}, present sent {sent2} received {got2}, \
         gone counted {lost3}, back sent {sent4} received {got4}; send_errors {} reconnects {} \
         callback errors {}; max count() {} ns",
        st.send_errors,
        st.reconnects,
        callback_errors.load(Ordering::Relaxed),
        lat.0
    );
}

#[cfg(unix)]
fn uds_recv_until(rx: &std::os::unix::net::UnixDatagram, want: u64) -> Totals {
    let mut t = Totals::default();
    let mut buf = vec![0u8; 65_536];
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    while t.counter(NAME) < want {
        let n = rx.recv(&mut buf).expect("datagram within 5 s");
        t.add_datagram(&buf[..n]);
    }
    t
}

#[cfg(unix)]
#[test]
fn unix_socket_deleted_and_recreated() {
    use std::os::unix::net::UnixDatagram;
    let path = temp_socket_path("restart");
    let rx = UnixDatagram::bind(&path).unwrap();
    let e = Emitter::builder()
        .unix_socket(&path)
        .prefix("p")
        .flush_interval(Duration::ZERO)
        .build()
        .unwrap();
    let mut lat = Latency::default();
    for _ in 0..5_000 {
        lat.count(&e, 1);
    }
    e.flush().unwrap();
    assert_eq!(uds_recv_until(&rx, 5_000).counter(NAME), 5_000);

    // The daemon stops: its socket file is gone.
    drop(rx);
    std::fs::remove_file(&path).unwrap();
    let lost = until_send_errors(&e, &mut lat);

    // The daemon restarts on the same path: same emitter, delivery resumes at once.
    let rx = UnixDatagram::bind(&path).unwrap();
    let errors = e.stats().send_errors;
    for _ in 0..7_000 {
        lat.count(&e, 1);
    }
    e.flush().unwrap();
    let t = uds_recv_until(&rx, 7_000);
    assert_eq!(t.counter(NAME), 7_000);
    assert_eq!(e.stats().send_errors, errors);
    assert!(lat.0 < 50_000_000, "count() took {} ns at worst", lat.0);
    println!(
        "FIGURE uds_restart: before sent 5000 received 5000; deleted counted {lost} \
         (send_errors {errors}); recreated sent 7000 received {}; max count() {} ns",
        t.counter(NAME),
        lat.0
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[cfg(unix)]
#[test]
fn receiver_never_reads_caller_never_blocks() {
    let (path, rx) = unix_receiver_that_never_reads("full");
    let e = Emitter::builder()
        .unix_socket(&path)
        .prefix("p")
        .max_payload(1024)
        .flush_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    // Many distinct names: several datagrams per flush.
    let counters: Vec<_> = (0..200)
        .map(|i| e.counter(&format!("load.c{i}")).unwrap())
        .collect();
    let mut lat = Latency::default();
    let mut counted = 0u64;
    let end = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < end {
        for c in &counters {
            let t = Instant::now();
            c.increment(1);
            lat.0 = lat.0.max(t.elapsed().as_nanos() as u64);
        }
        lat.count(&e, 1);
        counted += 1;
        std::thread::sleep(Duration::from_micros(200));
    }
    let st = e.stats();
    assert!(st.send_errors > 0, "the full queue refused nothing? {st:?}");
    assert!(st.packets_sent > 0, "{st:?}");
    assert!(lat.0 < 50_000_000, "an increment took {} ns", lat.0);
    // close() is bounded too: the socket's write timeout, not forever.
    let t = Instant::now();
    e.close();
    let close_ms = t.elapsed().as_millis();
    assert!(close_ms < 5_000, "close took {close_ms} ms");
    println!(
        "FIGURE uds_full: {counted} rounds of 201 increments in 1.5 s, packets sent {} \
         (queued, never read), send_errors {} (datagrams dropped, counted), flushes {}; \
         max increment {} ns; close {close_ms} ms",
        st.packets_sent, st.send_errors, st.flushes, lat.0
    );
    drop(rx);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn item_15_a_panicking_error_callback_is_counted_and_does_not_stop_counting_or_flushing() {
    // Nothing listens on this port: every flush reports errors to a callback that panics.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Keep the deliberate panics out of the output; any other panic prints as usual.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.to_string().contains("on purpose") {
            hook(info);
        }
    }));
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    let e = Emitter::builder()
        .address(format!("127.0.0.1:{port}"))
        .prefix("p")
        .flush_interval(Duration::from_millis(2))
        .on_error(move |err| {
            c.fetch_add(1, Ordering::Relaxed);
            panic!("callback panics on purpose: {err}");
        })
        .build()
        .unwrap();
    let mut lat = Latency::default();
    let end = Instant::now() + Duration::from_secs(10);
    // Counting goes on while the flusher thread reports (and the callback panics).
    while calls.load(Ordering::Relaxed) < 5 {
        assert!(
            Instant::now() < end,
            "callback never called: {:?}",
            e.stats()
        );
        lat.count(&e, 1);
        std::thread::sleep(Duration::from_millis(1));
    }
    // The flusher thread survived the panics: it keeps flushing on its own.
    let flushes = e.stats().flushes;
    let calls_then = calls.load(Ordering::Relaxed);
    while e.stats().flushes < flushes + 10 {
        assert!(Instant::now() < end, "flusher thread died: {:?}", e.stats());
        lat.count(&e, 1);
        std::thread::sleep(Duration::from_millis(1));
    }
    // A caller's flush() returns its error (the panic in the callback does not reach it).
    lat.count(&e, 1);
    let mut flush_errors = 0;
    for _ in 0..5 {
        lat.count(&e, 1);
        if e.flush().is_err() {
            flush_errors += 1;
        }
    }
    // Attack finding 15: every caught panic is counted (each call of the callback panicked).
    // The flusher may be inside a call right now: read the count, then the calls.
    let panics = e.stats().callback_panics;
    assert!(panics >= 5, "{:?}", e.stats());
    assert!(panics <= calls.load(Ordering::Relaxed), "{:?}", e.stats());
    // Delivery still works once a daemon appears.
    let Some(s) = rebind(port) else {
        eprintln!("port {port} taken by someone else; skipping the delivery half");
        return;
    };
    let rx = Receiver::on(s);
    let end = Instant::now() + Duration::from_secs(10);
    while !rx.wait_for(Duration::from_millis(20), |t| t.counter(NAME) > 0) {
        assert!(
            Instant::now() < end,
            "delivery did not resume: {:?}",
            e.stats()
        );
        lat.count(&e, 1);
    }
    let st = e.stats();
    assert!(lat.0 < 50_000_000, "count() took {} ns at worst", lat.0);
    println!(
        "FIGURE callback_panic: callback panicked {} times ({} before the 10 checked flushes), \
         flushes {}, send_errors {}, caller flush() errors {flush_errors}/5, delivery resumed; \
         max count() {} ns",
        calls.load(Ordering::Relaxed),
        calls_then,
        st.flushes,
        st.send_errors,
        lat.0
    );
    e.close();
}

/// After 8 send errors with no error-free flush in between, the emitter resolves the address
/// again and reopens its socket, even though against a closed UDP port every other send
/// succeeds; a flush that sends cleanly resets the count.
#[test]
fn udp_reconnects_after_repeated_errors_to_a_dead_port() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = Emitter::builder()
        .address(format!("127.0.0.1:{port}"))
        .prefix("p")
        .flush_interval(Duration::ZERO)
        .build()
        .unwrap();
    let mut flushes = 0;
    while e.stats().reconnects == 0 && flushes < 200 {
        e.count(Metric::ConnectionStarted, 1).unwrap();
        let _ = e.flush();
        flushes += 1;
    }
    let st = e.stats();
    assert!(
        st.reconnects >= 1,
        "no reconnect after {flushes} flushes: {st:?}"
    );
    assert!(st.send_errors >= 8, "{st:?}");
    // The reopened socket delivers once a daemon listens again.
    let Some(s) = rebind(port) else {
        eprintln!("port {port} taken by someone else; skipping the delivery check");
        return;
    };
    let rx = Receiver::on(s);
    let mut lat = Latency::default();
    let (sent, got) = present_phase(&e, &rx, &mut lat, 1_000);
    assert_eq!(sent, got);
}

/// Attack findings 13 and 14: a Unix receiver that never reads. Each blocked send waited the
/// 200 ms write timeout, once per datagram of a flush, and the flusher held the registry lock
/// meanwhile, so the first use of a new name waited too.
#[test]
#[cfg(unix)]
fn items_13_14_a_receiver_that_never_reads_delays_neither_flush_nor_new_names() {
    let (path, rx) = unix_receiver_that_never_reads("never-reads");
    let e = Emitter::builder()
        .unix_socket(&path)
        .prefix("p")
        .max_payload(512)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let counters: Vec<_> = (0..300)
        .map(|i| e.counter(&format!("never.reads.c{i}")).unwrap())
        .collect();
    // Fill the receiver's queue, then time flushes of about 20 datagrams each.
    let mut worst_flush = Duration::ZERO;
    for _ in 0..4 {
        for c in &counters {
            c.increment(1);
        }
        let t = Instant::now();
        let _ = e.flush();
        worst_flush = worst_flush.max(t.elapsed());
    }
    // New names while another thread flushes into the full queue.
    let flusher = {
        let e = e.clone();
        let counters = counters.clone();
        std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_millis(1500);
            while Instant::now() < end {
                for c in &counters {
                    c.increment(1);
                }
                let _ = e.flush();
            }
        })
    };
    let mut worst_name = Duration::ZERO;
    for i in 0..60 {
        let t = Instant::now();
        let c = e.counter(&format!("never.reads.new{i}")).unwrap();
        c.increment(1);
        worst_name = worst_name.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    flusher.join().unwrap();
    let st = e.stats();
    println!(
        "FIGURE never_reads: worst flush of ~20 datagrams {worst_flush:?}, worst first use of a \
         name during flushes {worst_name:?}; send_errors {}",
        st.send_errors
    );
    assert!(st.send_errors > 0, "{st:?}");
    assert!(
        worst_flush < Duration::from_millis(800),
        "a flush took {worst_flush:?}"
    );
    assert!(
        worst_name < Duration::from_millis(100),
        "a new name took {worst_name:?}"
    );
    e.close();
    drop(rx);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// Attack finding 12: `fork()` after the emitter was built. The child has a copy of the counts
/// but no flusher thread: before, its flush sent the parent's counts a second time and its drop
/// panicked joining a thread it does not have. Now the child is told (`Forked`) and sends
/// nothing; the parent's counts arrive once.
#[test]
#[cfg(unix)]
fn item_12_fork_after_build_sends_once_and_tells_the_child() {
    let rx = Receiver::new();
    let e = Emitter::builder()
        .address(rx.address())
        .prefix("forked")
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    e.count(Metric::ConnectionStarted, 5).unwrap();
    // SAFETY: the child only runs the emitter calls below (which return before taking any lock
    // once forked) inside catch_unwind, then _exit: it never returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut code = 0;
            if e.count(Metric::ConnectionStarted, 7).is_err() {
                code |= 1;
            }
            if !matches!(e.flush(), Err(EmitError::Forked)) {
                code |= 2;
            }
            e.close();
            drop(e);
            code
        }))
        .unwrap_or(99);
        // SAFETY: ends the child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child ended with status {status:#x} (exit {})",
        libc::WEXITSTATUS(status)
    );
    e.flush().unwrap();
    assert!(rx.wait_for(Duration::from_secs(5), |t| t
        .counter("forked.connection.started")
        >= 5));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        rx.totals().counter("forked.connection.started"),
        5,
        "sent once, by the parent"
    );
}

/// A Unix datagram socket bound at a new temporary path, with a small receive buffer (so its
/// queue fills fast; the kernel may round it up), that the test never reads.
#[cfg(unix)]
fn unix_receiver_that_never_reads(
    tag: &str,
) -> (std::path::PathBuf, std::os::unix::net::UnixDatagram) {
    use std::os::unix::io::AsRawFd;
    let path = temp_socket_path(tag);
    let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    let size: libc::c_int = 4096;
    // SAFETY: a valid socket and a c_int option value of the size given.
    let rc = unsafe {
        libc::setsockopt(
            rx.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    (path, rx)
}
