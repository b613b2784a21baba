//! Load and soak: 4 threads count flat out for N seconds against a real UDP receiver
//! on 127.0.0.1:0; the totals received must equal the totals counted exactly, the resident set
//! (VmRSS from /proc/self/status, sampled every second) must stay flat after warm-up, and the
//! hot-path cost per event is reported. Run by `scripts/soak.sh [SECONDS]` in release.
//!
//! ```text
//! cargo run --release -p realm-metrics-soak -- [SECONDS] [THREADS]
//! ```
//!
//! Exits with status 1 (after printing why) when a check fails.

#[path = "../../../core/tests/emitter_support/mod.rs"]
mod emitter_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emitter_support::Receiver;
use realm_metrics::emitter::Emitter;
use realm_metrics::Metric;

/// Resident set size in kB, from /proc/self/status (0 where there is no /proc).
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn fail(msg: String) -> ! {
    println!("SOAK FAILED: {msg}");
    std::process::exit(1);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let warmup = (secs / 5).clamp(1, 30);

    let rx = Receiver::new();
    let emitter = Emitter::builder()
        .address(rx.address())
        .prefix("soak")
        .flush_interval(Duration::from_millis(100))
        .build()
        .unwrap_or_else(|e| fail(format!("build: {e}")));
    let custom = emitter
        .counter("soak.custom")
        .unwrap_or_else(|e| fail(format!("counter: {e}")));

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (e, c, stop) = (emitter.clone(), custom.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let start = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..1024 {
                        if e.count(Metric::ConnectionStarted, 1).is_err() {
                            fail("count() failed".into());
                        }
                        c.increment(2);
                    }
                    n += 1024;
                }
                (n, start.elapsed())
            })
        })
        .collect();

    // RSS every second while the workers run.
    let mut rss = Vec::new();
    let start = Instant::now();
    for i in 1..=secs {
        let next = start + Duration::from_secs(i);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        rss.push(rss_kb());
    }
    stop.store(true, Ordering::Relaxed);
    let mut events = 0u64;
    let mut thread_ns = 0f64;
    for w in workers {
        let (n, d) = w
            .join()
            .unwrap_or_else(|_| fail("a worker panicked".into()));
        events += n;
        thread_ns += d.as_nanos() as f64;
    }
    let wall = start.elapsed();
    let stats_before_close = emitter.stats();
    emitter.close();

    // Each loop iteration is two events: a catalog count and a custom-counter increment.
    let want_catalog = events;
    let want_custom = 2 * events;
    let ok = rx.wait_for(Duration::from_secs(10), |t| {
        t.counter("soak.connection.started") == want_catalog
            && t.counter("soak.soak.custom") == want_custom
    });
    let t = rx.settle(Duration::from_millis(100));
    let st = emitter.stats();
    let ns_per_event = thread_ns / (2 * events) as f64;
    let per_sec = (2 * events) as f64 / wall.as_secs_f64();
    let base = rss.get(warmup as usize - 1).copied().unwrap_or(0);
    let last = rss.last().copied().unwrap_or(0);
    println!(
        "FIGURE soak: {secs} s, {threads} threads, {} events ({} count(1) + as many \
         increment(2)): sums counted {} / {}, received {} / {} in {} datagrams; {:.1} M events/s, {:.2} ns/event per \
         thread; flushes {} send_errors {}; RSS kB per second {:?}; after warm-up ({warmup} s) \
         {base} kB, last {last} kB",
        2 * events,
        events,
        want_catalog,
        want_custom,
        t.counter("soak.connection.started"),
        t.counter("soak.soak.custom"),
        t.datagrams,
        per_sec / 1e6,
        ns_per_event,
        st.flushes,
        st.send_errors,
        rss
    );
    if !ok {
        fail(format!(
            "totals differ: counted {want_catalog}/{want_custom}, received {}/{}; {:?}",
            t.counter("soak.connection.started"),
            t.counter("soak.soak.custom"),
            st
        ));
    }
    if t.decode_errors != 0 || st.send_errors != 0 || stats_before_close.flushes < secs {
        fail(format!("{} decode errors; {st:?}", t.decode_errors));
    }
    if last > base + 8 * 1024 {
        fail(format!(
            "RSS grew from {base} kB to {last} kB after warm-up"
        ));
    }
    println!("soak passed");
}
