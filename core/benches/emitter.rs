//! Cost per event of the emitter against its peers, on 1 and 2 threads, and the share of events
//! each one delivers to a local UDP receiver.
//!
//! `cargo bench -p realm-metrics --bench emitter --features metrics`
//!
//! With 2 threads, each thread does N events of one metric and the reported time is the wall
//! time divided by N: what one event costs each caller while another thread counts the same
//! metric.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cadence::{BufferedUdpMetricSink, Counted, StatsdClient};
use criterion::{BenchmarkGroup, Criterion};
use realm_metrics::emitter::{Emitter, Recorder};
use realm_metrics::wire::{decode, MetricType, Number, Record, SampleValue};
use realm_metrics::Metric;

const NAME: &str = "connection.started";
const PREFIX: &str = "bench";

/// A UDP receiver on 127.0.0.1:0 that sums the counter values of every line it receives.
struct Receiver {
    port: u16,
    total: Arc<AtomicU64>,
    datagrams: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn set_rcvbuf(socket: &UdpSocket, bytes: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid fd and a pointer to an i32 of the given size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
    }
}

impl Receiver {
    fn new() -> Receiver {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        set_rcvbuf(&socket, 4 << 20);
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let total = Arc::new(AtomicU64::new(0));
        let datagrams = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, d, s) = (total.clone(), datagrams.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !s.load(Ordering::Relaxed) {
                let Ok(n) = socket.recv(&mut buf) else {
                    continue;
                };
                d.fetch_add(1, Ordering::Relaxed);
                let mut sum = 0;
                for rec in decode(&buf[..n]) {
                    if let Ok(Record::Metric(line)) = rec {
                        for smp in line.samples() {
                            if let (MetricType::Counter, SampleValue::Number(Number::UInt(v))) =
                                (smp.ty, smp.value)
                            {
                                sum += v;
                            }
                        }
                    }
                }
                t.fetch_add(sum, Ordering::Relaxed);
            }
        });
        Receiver {
            port,
            total,
            datagrams,
            stop,
            thread: Some(thread),
        }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The total once nothing new arrived for 100 ms.
    fn settled_total(&self) -> u64 {
        let mut last = u64::MAX;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let d = self.datagrams.load(Ordering::Relaxed);
            if d == last {
                return self.total.load(Ordering::Relaxed);
            }
            last = d;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The systems under test, each sending to its own receiver.
struct Subjects {
    emitter: Emitter,
    recorder: Recorder,
    cadence: Arc<StatsdClient>,
    exporter: metrics_exporter_statsd::StatsdRecorder,
    raw: AtomicU64,
    _rx: Vec<Receiver>,
}

fn emitter_to(rx: &Receiver) -> Emitter {
    Emitter::builder()
        .address(rx.address())
        .prefix(PREFIX)
        .build()
        .unwrap()
}

fn cadence_to(rx: &Receiver) -> StatsdClient {
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    let sink = BufferedUdpMetricSink::with_capacity(rx.address(), socket, 1432).unwrap();
    StatsdClient::from_sink(PREFIX, sink)
}

fn exporter_to(rx: &Receiver) -> metrics_exporter_statsd::StatsdRecorder {
    metrics_exporter_statsd::StatsdBuilder::from("127.0.0.1", rx.port)
        .build(Some(PREFIX))
        .unwrap()
}

impl Subjects {
    fn new() -> Subjects {
        let rx: Vec<Receiver> = (0..3).map(|_| Receiver::new()).collect();
        let emitter = emitter_to(&rx[0]);
        Subjects {
            recorder: Recorder::new(emitter.clone()),
            emitter,
            cadence: Arc::new(cadence_to(&rx[1])),
            exporter: exporter_to(&rx[2]),
            raw: AtomicU64::new(0),
            _rx: rx,
        }
    }
}

/// Run `f(iters)` on 2 threads at once; the wall time from their common start to the end of
/// both.
fn two_threads(iters: u64, f: &(dyn Fn(u64) + Sync)) -> Duration {
    let barrier = Barrier::new(3);
    let mut start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                barrier.wait();
                f(iters);
            });
        }
        barrier.wait();
        start = Instant::now();
    });
    start.elapsed()
}

type Case<'a> = (&'static str, Box<dyn Fn(u64) + Sync + 'a>);

fn cases(s: &Subjects) -> Vec<Case<'_>> {
    let handle = s.emitter.counter("sync.uploads").unwrap();
    vec![
        (
            "raw_atomic_fetch_add",
            Box::new(|n| {
                for _ in 0..n {
                    s.raw.fetch_add(1, Ordering::Relaxed);
                }
            }),
        ),
        (
            "realm_catalog_count",
            Box::new(|n| {
                for _ in 0..n {
                    let _ = s.emitter.count(Metric::ConnectionStarted, 1);
                }
            }),
        ),
        (
            "realm_handle_increment",
            Box::new(move |n| {
                for _ in 0..n {
                    handle.increment(1);
                }
            }),
        ),
        (
            "realm_metrics_counter_macro",
            Box::new(|n| {
                metrics::with_local_recorder(&s.recorder, || {
                    for _ in 0..n {
                        metrics::counter!(NAME).increment(1);
                    }
                })
            }),
        ),
        (
            "cadence_buffered_udp",
            Box::new(|n| {
                for _ in 0..n {
                    let _ = s.cadence.count(NAME, 1);
                }
            }),
        ),
        (
            "metrics_exporter_statsd",
            Box::new(|n| {
                metrics::with_local_recorder(&s.exporter, || {
                    for _ in 0..n {
                        metrics::counter!(NAME).increment(1);
                    }
                })
            }),
        ),
    ]
}

fn run_group(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    cases: &[Case<'_>],
    threads: usize,
) {
    for (name, f) in cases {
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                if threads == 1 {
                    let start = Instant::now();
                    f(iters);
                    start.elapsed()
                } else {
                    two_threads(iters, &**f)
                }
            })
        });
    }
}

/// Send `n` events through each system (on 1 thread, then closed/flushed) and report the share
/// that reached its receiver.
fn delivery() {
    const N: u64 = 1_000_000;
    eprintln!("\n== delivery: {N} increments of one counter, then flush/close ==");
    let report = |name: &str, rx: &Receiver, elapsed: Duration| {
        let got = rx.settled_total();
        eprintln!(
            "{name:<28} {:>7.1} ns/event   delivered {got:>8} / {N} = {:>6.2}%",
            elapsed.as_nanos() as f64 / N as f64,
            100.0 * got as f64 / N as f64
        );
    };

    let rx = Receiver::new();
    let e = emitter_to(&rx);
    let t = Instant::now();
    for _ in 0..N {
        let _ = e.count(Metric::ConnectionStarted, 1);
    }
    let el = t.elapsed();
    e.close();
    report("realm_catalog_count", &rx, el);

    let rx = Receiver::new();
    let e = emitter_to(&rx);
    let h = e.counter("sync.uploads").unwrap();
    let t = Instant::now();
    for _ in 0..N {
        h.increment(1);
    }
    let el = t.elapsed();
    e.close();
    report("realm_handle_increment", &rx, el);

    let rx = Receiver::new();
    let e = emitter_to(&rx);
    let r = Recorder::new(e.clone());
    let t = Instant::now();
    metrics::with_local_recorder(&r, || {
        for _ in 0..N {
            metrics::counter!(NAME).increment(1);
        }
    });
    let el = t.elapsed();
    drop(r);
    e.close();
    report("realm_metrics_counter_macro", &rx, el);

    let rx = Receiver::new();
    let c = cadence_to(&rx);
    let t = Instant::now();
    for _ in 0..N {
        let _ = c.count(NAME, 1);
    }
    let el = t.elapsed();
    let _ = c.flush();
    drop(c);
    report("cadence_buffered_udp", &rx, el);

    let rx = Receiver::new();
    let x = exporter_to(&rx);
    let t = Instant::now();
    metrics::with_local_recorder(&x, || {
        for _ in 0..N {
            metrics::counter!(NAME).increment(1);
        }
    });
    let el = t.elapsed();
    drop(x);
    std::thread::sleep(Duration::from_millis(200)); // its queue worker drains on its own
    report("metrics_exporter_statsd", &rx, el);
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let subjects = Subjects::new();
    let cases = cases(&subjects);
    {
        let mut g = c.benchmark_group("1_thread");
        run_group(&mut g, &cases, 1);
        g.finish();
    }
    {
        let mut g = c.benchmark_group("2_threads");
        run_group(&mut g, &cases, 2);
        g.finish();
    }
    let stats = subjects.emitter.stats();
    eprintln!("emitter during the benchmarks: {stats:?}");
    drop(cases);
    drop(subjects);
    delivery();
    c.final_summary();
}
