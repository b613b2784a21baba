//! `--demo`: simulated sync workers, in process, sending through the real emitter (1 s flushes)
//! to the dashboard's own listener.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use realm_metrics::emitter::Emitter;
use realm_metrics::Metric;

/// Where the workers send: the listener, through loopback when it is bound to all interfaces.
pub(crate) fn target(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Start two workers (`realm.demo-worker-1`, the busier, and `realm.demo-worker-2`).
pub(crate) fn start(target: SocketAddr) -> io::Result<()> {
    for (n, seed, scale) in [
        (1, 0x9E37_79B9_7F4A_7C15_u64, 1.0),
        (2, 0xD1B5_4A32_D192_ED03, 0.4),
    ] {
        let emitter = Emitter::builder()
            .address(target.to_string())
            .prefix(format!("realm.demo-worker-{n}"))
            .flush_interval(Duration::from_secs(1))
            .build()
            .map_err(|e| io::Error::other(format!("demo emitter: {e}")))?;
        thread::Builder::new()
            .name(format!("demo-worker-{n}"))
            .spawn(move || Worker::new(emitter, seed, scale).run())?;
    }
    Ok(())
}

/// xorshift64*: plenty for a simulation, and no dependency.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi].
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// A Poisson-ish count with mean `mean` (sum of Bernoulli trials).
    fn count(&mut self, mean: f64) -> u64 {
        let trials = (mean * 4.0).ceil().max(1.0) as u32;
        let p = (mean / f64::from(trials)).min(1.0);
        (0..trials).filter(|_| self.unit() < p).count() as u64
    }
}

#[derive(Debug)]
struct Worker {
    emitter: Emitter,
    rng: Rng,
    scale: f64,
    connections: i64,
    sessions: i64,
    bytes_in: i64,
    bytes_out: i64,
    /// Incidents: short bursts of the failures that "should not normally happen", so that the
    /// default alert rules fire and then resolve in a demo.
    incident_until: f64,
    next_incident: f64,
    incidents: u64,
}

/// The kinds of incident, in turn: expired tokens, then old or broken clients.
const INCIDENT_KINDS: u64 = 2;

impl Worker {
    fn new(emitter: Emitter, seed: u64, scale: f64) -> Worker {
        Worker {
            emitter,
            rng: Rng(seed | 1),
            scale,
            connections: 0,
            sessions: 0,
            bytes_in: 0,
            bytes_out: 0,
            incident_until: 0.0,
            // The first one soon after start (sooner on the busier worker).
            next_incident: 20.0 / scale,
            incidents: 0,
        }
    }

    fn run(mut self) {
        let start = Instant::now();
        let tick = Duration::from_millis(100);
        let mut next = Instant::now();
        loop {
            self.tick(start.elapsed().as_secs_f64());
            next += tick;
            thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }

    /// One tenth of a second of a sync worker's life. Rates are per second below.
    fn tick(&mut self, t: f64) {
        let e = &self.emitter;
        let r = &mut self.rng;
        if t >= self.next_incident {
            self.incident_until = t + 8.0;
            self.incidents += 1;
            // Every 6 to 12 minutes: long enough after a 5 minute window for its alert to resolve.
            self.next_incident = t + 360.0 + 360.0 * r.unit();
        }
        let incident = (t < self.incident_until).then_some(self.incidents % INCIDENT_KINDS);
        // The number of connected clients drifts around a slow wave.
        let target = self.scale * (60.0 + 35.0 * (t / 45.0).sin() + 10.0 * (t / 7.0).sin());
        let diff = target - self.connections as f64;
        let open = r.count((1.5 * self.scale + (diff * 0.05).max(0.0)).min(6.0));
        let close = r
            .count((1.5 * self.scale + (-diff * 0.05).max(0.0)).min(6.0))
            .min(self.connections.unsigned_abs() + open);
        for _ in 0..open {
            let _ = e.count(Metric::ConnectionStarted, 1);
            // Protocol versions in the field: mostly the newest.
            let v = match r.range(0, 9) {
                0 => 22,
                1..=3 => 23,
                _ => 24,
            };
            let _ = e.protocol_used(v);
            // Each connection opens one to three sessions (realms).
            let s = r.range(1, 3);
            let _ = e.count(Metric::SessionStarted, s);
            self.sessions += s as i64;
            // During an incident, clients present expired tokens.
            if incident == Some(1) && r.unit() < 0.5 {
                let _ = e.count(Metric::AuthenticationFailed, 1);
            }
        }
        for _ in 0..close {
            if r.unit() < 0.02 {
                let _ = e.count(Metric::ConnectionFailed, 1);
            }
            let _ = e.count(Metric::ConnectionTerminated, 1);
            let per = (self.sessions as f64 / self.connections.max(1) as f64).round() as u64;
            let s = per.min(self.sessions.unsigned_abs());
            let _ = e.count(Metric::SessionTerminated, s);
            self.sessions -= s as i64;
        }
        self.connections = (self.connections + open as i64 - close as i64).max(0);
        if self.connections == 0 && self.sessions > 0 {
            let _ = e.count(Metric::SessionTerminated, self.sessions.unsigned_abs());
            self.sessions = 0;
        }
        // During the other kind, old or broken clients violate the protocol and the permissions.
        if incident == Some(0) {
            if r.unit() < 0.3 {
                let _ = e.count(Metric::ProtocolViolated, 1);
            }
            if r.unit() < 0.1 {
                let _ = e.count(Metric::PermissionDenied, 1);
            }
        }
        if r.unit() < 0.004 {
            let _ = e.count(Metric::SessionFailed, 1);
        }
        if incident == Some(0) && r.unit() < 0.005 {
            let _ = e.count(Metric::ClientUnsyncable, 1);
        }
        // Uploads and downloads: a few messages per session per second, hundreds of bytes each.
        let uploads = r.count(self.sessions as f64 * 0.05);
        for _ in 0..uploads {
            let b = r.range(200, 4_000);
            let _ = e.count(Metric::ProtocolBytesReceived, b);
            self.bytes_in += b as i64;
        }
        let downloads = r.count(self.sessions as f64 * 0.08);
        for _ in 0..downloads {
            let b = r.range(400, 16_000);
            let _ = e.count(Metric::ProtocolBytesSent, b);
            self.bytes_out += b as i64;
        }
        let _ = e.gauge_set(Metric::ProtocolBytesReceivedGauge, self.bytes_in);
        let _ = e.gauge_set(Metric::ProtocolBytesSentGauge, self.bytes_out);
        let _ = e.gauge_set(Metric::ConnectionOnline, self.connections);
        let _ = e.gauge_set(Metric::SessionOnline, self.sessions);
        // Several sessions share a realm.
        let _ = e.gauge_set(Metric::RealmsOpen, (self.sessions * 2 + 2) / 3);
        // A custom (non-catalog) metric, as an application would add one.
        if uploads > 0 {
            let _ = e.timing("sync.upload.merge", 0.5 + r.unit() * 20.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realm_metrics::wire::{flatten, CatalogMatch, Flat};

    #[test]
    fn demo_traffic_covers_the_catalog_and_incidents_come_and_go() {
        let (emitter, spy) = Emitter::builder()
            .prefix("realm.demo-worker-1")
            .spy()
            .unwrap();
        let mut w = Worker::new(emitter.clone(), 42, 1.0);
        let mut seen = std::collections::HashSet::new();
        // Twenty simulated minutes: two incidents at least, one of each kind.
        for i in 0..12_000 {
            w.tick(f64::from(i) / 10.0);
            assert!(w.connections >= 0 && w.sessions >= 0);
        }
        assert!(w.incidents >= 2, "{} incidents", w.incidents);
        emitter.flush().unwrap();
        for line in spy.lines() {
            for f in flatten(line.as_bytes(), None) {
                if let Flat::Value(v) = f {
                    if let CatalogMatch::Metric { host, recognized } = v.catalog {
                        assert_eq!(host, Some("demo-worker-1"));
                        seen.insert(recognized.metric);
                    }
                }
            }
        }
        for m in [
            Metric::ConnectionStarted,
            Metric::ConnectionOnline,
            Metric::ConnectionTerminated,
            Metric::SessionStarted,
            Metric::SessionOnline,
            Metric::SessionTerminated,
            Metric::RealmsOpen,
            Metric::ProtocolVersionUsed,
            Metric::ProtocolBytesReceived,
            Metric::ProtocolBytesReceivedGauge,
            Metric::ProtocolBytesSent,
            Metric::ProtocolBytesSentGauge,
            Metric::AuthenticationFailed,
            Metric::ProtocolViolated,
            Metric::PermissionDenied,
        ] {
            assert!(seen.contains(&m), "{m:?} never sent");
        }
    }
}
