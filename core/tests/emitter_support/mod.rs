//! Test support for the emitter tests: a real UDP (or Unix datagram) receiver that parses what
//! arrives with `realm_metrics::wire::decode` and keeps totals per (name, type).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use realm_metrics::wire::{decode, MetricType, Number, Record, SampleValue};

/// What a receiver has seen.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    /// Counter sums by name.
    pub counters: HashMap<String, u64>,
    /// Gauge values by name (absolute values replace, signed values add, as in Etsy statsd).
    pub gauges: HashMap<String, f64>,
    /// How many times each gauge name arrived.
    pub gauge_updates: HashMap<String, usize>,
    /// Other samples by (name, type).
    pub samples: HashMap<(String, MetricType), Vec<String>>,
    pub datagrams: usize,
    pub max_datagram: usize,
    pub bytes: usize,
    pub lines: Vec<String>,
    pub decode_errors: usize,
}

impl Totals {
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    pub fn gauge(&self, name: &str) -> Option<f64> {
        self.gauges.get(name).copied()
    }

    pub fn add_datagram(&mut self, d: &[u8]) {
        self.datagrams += 1;
        self.bytes += d.len();
        self.max_datagram = self.max_datagram.max(d.len());
        for l in d.split(|&b| b == b'\n') {
            self.lines.push(String::from_utf8_lossy(l).into_owned());
        }
        for rec in decode(d) {
            let Ok(Record::Metric(line)) = rec else {
                self.decode_errors += 1;
                continue;
            };
            for s in line.samples() {
                let name = line.name.to_string();
                match (s.ty, s.value) {
                    (MetricType::Counter, SampleValue::Number(n)) => {
                        let v = match n {
                            Number::UInt(v) => v,
                            Number::Int(v) => v as u64,
                            Number::Float(f) => f as u64,
                        };
                        *self.counters.entry(name).or_default() += v;
                    }
                    (MetricType::Gauge, SampleValue::Number(n)) => {
                        *self.gauge_updates.entry(name.clone()).or_default() += 1;
                        let g = self.gauges.entry(name).or_default();
                        if s.delta {
                            *g += n.as_f64();
                        } else {
                            *g = n.as_f64();
                        }
                    }
                    (ty, v) => {
                        let text = match v {
                            SampleValue::Number(n) => n.as_f64().to_string(),
                            SampleValue::Set(m) => m.to_string(),
                        };
                        self.samples.entry((name, ty)).or_default().push(text);
                    }
                }
            }
        }
    }
}

/// A receiver thread on 127.0.0.1:0 (or on a given address).
pub struct Receiver {
    pub addr: SocketAddr,
    totals: Arc<Mutex<Totals>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn new() -> Receiver {
        Receiver::on(UdpSocket::bind("127.0.0.1:0").unwrap())
    }

    pub fn on(socket: UdpSocket) -> Receiver {
        let addr = socket.local_addr().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let totals = Arc::new(Mutex::new(Totals::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (totals.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !s.load(Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    t.lock().unwrap().add_datagram(&buf[..n]);
                }
            }
        });
        Receiver {
            addr,
            totals,
            stop,
            thread: Some(thread),
        }
    }

    /// `host:port` for the emitter builder.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    pub fn totals(&self) -> Totals {
        self.totals.lock().unwrap().clone()
    }

    /// Wait until `cond` holds (true) or `timeout` passes (false).
    pub fn wait_for(&self, timeout: Duration, cond: impl Fn(&Totals) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if cond(&self.totals.lock().unwrap()) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Wait until nothing new arrived for `quiet`.
    pub fn settle(&self, quiet: Duration) -> Totals {
        let mut last = usize::MAX;
        loop {
            let n = self.totals.lock().unwrap().datagrams;
            if n == last {
                return self.totals();
            }
            last = n;
            std::thread::sleep(quiet);
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

/// A unique path in the temp dir for a Unix socket.
pub fn temp_socket_path(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "realm-metrics-test-{}-{}-{}",
        std::process::id(),
        tag,
        n
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("statsd.sock")
}
