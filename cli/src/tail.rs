//! `realm-metrics tail`: the dashboard's live view as a terminal table, for servers without a
//! browser. Per interval, each catalog metric per host: the rate per second of counters, the
//! value of gauges.
//!
//! On a terminal the table is redrawn in place; otherwise one plain line per metric and interval:
//! `<unix seconds> <host> <metric> <kind> <value>` (`protocol.<version>.used` with its version,
//! e.g. `protocol.24.used`; a counter that was seen before and is quiet now prints 0). The time is
//! the interval's scheduled end, so intervals keep their spacing when the machine runs them late.
//!
//! Host and metric come from the network, so both views escape them: every byte that is not
//! printable ASCII (control characters, space, non-ASCII) and the backslash itself is printed as
//! `\xNN` (two lowercase hex digits), e.g. host `a b` as `a\x20b`. A plain line therefore always
//! has exactly five space-separated fields, and no escape sequence reaches a terminal or log.
//!
//! Bounds, so that a flood of hosts cannot grow memory or output without end: at most
//! [`MAX_HOSTS`] hosts (names up to [`MAX_HOST_LEN`] bytes) and [`MAX_SERIES`] rows are tracked;
//! values beyond that are counted and reported as `dropped: N values of hosts over the limit`
//! (a table line, or on stderr next to plain lines). A host that sent nothing for
//! [`FORGET_AFTER`] intervals is forgotten, its counters and gauges with it.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, IsTerminal, Write};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use realm_metrics::wire::{flatten, CatalogMatch, Flat, SampleValue};
use realm_metrics::Kind;

use crate::command::socket_addr;

/// The default listen address (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8125";

/// Options of `realm-metrics tail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// UDP address to receive StatsD on.
    pub listen: SocketAddr,
    /// Length of one interval.
    pub interval: Duration,
    /// Stop after this many intervals.
    pub count: Option<u64>,
}

/// The command line of `realm-metrics tail`.
#[derive(Clone, Debug, clap::Args)]
pub struct TailArgs {
    /// UDP address to receive StatsD datagrams on
    #[arg(long, value_name = "HOST:PORT", env = "REALM_METRICS_LISTEN",
          default_value = DEFAULT_LISTEN, value_parser = socket_addr)]
    pub listen: SocketAddr,
    /// Length of one interval, in milliseconds (10 to 3600000)
    #[arg(long, value_name = "MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub interval_ms: u64,
    /// Stop after N intervals [default: run until interrupted]
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

impl From<TailArgs> for Options {
    fn from(a: TailArgs) -> Options {
        Options {
            listen: a.listen,
            interval: Duration::from_millis(a.interval_ms),
            count: a.count,
        }
    }
}

/// The most hosts tracked at once.
pub const MAX_HOSTS: usize = 1_000;
/// The longest host name tracked, in bytes.
pub const MAX_HOST_LEN: usize = 255;
/// The most rows (host, metric, kind) tracked at once.
pub const MAX_SERIES: usize = 20_000;
/// Intervals without a value after which a host is forgotten.
pub const FORGET_AFTER: u64 = 10;

/// Escape wire-derived text for output: bytes outside printable ASCII (`!`..=`~`) and the backslash
/// become `\xNN`.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_graphic() && b != b'\\' {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("\\x{b:02x}"));
        }
    }
    o
}

/// `(host, metric name with the protocol version filled in, kind)`.
type Key = (String, String, Kind);

/// What one interval saw, and the gauges' values so far.
#[derive(Debug, Default)]
pub struct Window {
    /// Counter sums of this interval (sample rates applied); counters seen before stay at 0.
    counters: BTreeMap<Key, f64>,
    /// Gauge values (kept across intervals, as statsd daemons do).
    gauges: BTreeMap<Key, f64>,
    /// Values that were not catalog metrics, this interval.
    pub other: u64,
    /// Malformed lines, this interval.
    pub malformed: u64,
    /// Values dropped because of [`MAX_HOSTS`], [`MAX_HOST_LEN`] or [`MAX_SERIES`], this
    /// interval.
    pub dropped: u64,
    /// Each tracked host and the interval it last sent a value in.
    hosts: HashMap<String, u64>,
    /// Intervals finished so far.
    intervals: u64,
}

impl Window {
    /// Add one datagram.
    pub fn add(&mut self, datagram: &[u8]) {
        for item in flatten(datagram, None) {
            let v = match item {
                Flat::Value(v) => v,
                Flat::Error(_) => {
                    self.malformed += 1;
                    continue;
                }
                Flat::Event(_) | Flat::ServiceCheck(_) => {
                    self.other += 1;
                    continue;
                }
            };
            let (CatalogMatch::Metric { host, recognized }, SampleValue::Number(n)) =
                (v.catalog, v.sample.value)
            else {
                self.other += 1;
                continue;
            };
            let m = recognized.metric;
            let name = match recognized.version {
                Some(ver) => format!("protocol.{ver}.used"),
                None => m.name().to_owned(),
            };
            let host = host.unwrap_or("-");
            if host.len() > MAX_HOST_LEN
                || (!self.hosts.contains_key(host) && self.hosts.len() >= MAX_HOSTS)
            {
                self.dropped += 1;
                continue;
            }
            let key = (host.to_owned(), name, m.kind());
            let known = match m.kind() {
                Kind::Counter => self.counters.contains_key(&key),
                Kind::Gauge => self.gauges.contains_key(&key),
            };
            if !known && self.counters.len() + self.gauges.len() >= MAX_SERIES {
                self.dropped += 1;
                continue;
            }
            match self.hosts.get_mut(host) {
                Some(last) => *last = self.intervals,
                None => {
                    self.hosts.insert(host.to_owned(), self.intervals);
                }
            }
            let x = n.as_f64();
            match m.kind() {
                Kind::Counter => {
                    let rate = v.sample.sample_rate.filter(|r| *r > 0.0).unwrap_or(1.0);
                    *self.counters.entry(key).or_insert(0.0) += x / rate;
                }
                Kind::Gauge => {
                    let g = self.gauges.entry(key).or_insert(0.0);
                    *g = if v.sample.delta { *g + x } else { x };
                }
            }
        }
    }

    /// The rows of the interval that just ended, sorted by host then metric: counters as a rate
    /// per second over `interval`, gauges as their value. Resets the counters for the next one,
    /// and forgets the hosts quiet for [`FORGET_AFTER`] intervals.
    pub fn finish(&mut self, interval: Duration) -> Vec<(String, String, Kind, f64)> {
        let now = self.intervals;
        self.intervals += 1;
        let before = self.hosts.len();
        self.hosts.retain(|_, last| now - *last < FORGET_AFTER);
        if self.hosts.len() != before {
            let hosts = &self.hosts;
            self.counters.retain(|k, _| hosts.contains_key(&k.0));
            self.gauges.retain(|k, _| hosts.contains_key(&k.0));
        }
        let secs = interval.as_secs_f64().max(1e-3);
        let mut rows: Vec<_> = self
            .counters
            .iter_mut()
            .map(|((h, m, k), v)| {
                let rate = *v / secs;
                *v = 0.0;
                (h.clone(), m.clone(), *k, rate)
            })
            .chain(
                self.gauges
                    .iter()
                    .map(|((h, m, k), v)| (h.clone(), m.clone(), *k, *v)),
            )
            .collect();
        rows.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
        self.other = 0;
        self.malformed = 0;
        self.dropped = 0;
        rows
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Run until `--count` intervals have passed (or forever).
pub fn run(opts: Options) -> io::Result<()> {
    let udp = UdpSocket::bind(opts.listen)
        .map_err(|e| io::Error::new(e.kind(), format!("--listen {}: {e}", opts.listen)))?;
    eprintln!("statsd listener: udp://{}", udp.local_addr()?);
    let tty = io::stdout().is_terminal();
    let mut window = Window::default();
    let mut buf = vec![0u8; 65_536];
    let mut done = 0u64;
    // Each interval is stamped with its scheduled end, so that intervals a busy machine runs late
    // (and then back to back) still get their own, evenly spaced timestamps.
    let start_wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut deadline = Instant::now() + opts.interval;
    while opts.count.is_none_or(|c| done < c) {
        let now = Instant::now();
        if now < deadline {
            udp.set_read_timeout(Some(deadline - now))?;
            match udp.recv_from(&mut buf) {
                Ok((n, _)) => window.add(buf.get(..n).unwrap_or_default()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => {}
            }
            continue;
        }
        let (other, malformed, dropped) = (window.other, window.malformed, window.dropped);
        let rows = window.finish(opts.interval);
        let ts = interval_end_secs(start_wall, opts.interval, done + 1);
        let mut out = io::stdout().lock();
        let r = if tty {
            draw_table(
                &mut out,
                &rows,
                ts,
                opts.interval,
                other,
                malformed,
                dropped,
            )
        } else {
            if dropped > 0 {
                eprintln!(
                    "realm-metrics tail: {ts} dropped: {dropped} values of hosts over the limit"
                );
            }
            rows.iter().try_for_each(|(h, m, k, v)| {
                writeln!(
                    out,
                    "{ts} {} {} {} {}",
                    escape(h),
                    escape(m),
                    k.as_str(),
                    fmt_value(*v)
                )
            })
        };
        match r.and_then(|()| out.flush()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            r => r?,
        }
        done += 1;
        deadline += opts.interval;
    }
    Ok(())
}

/// The Unix time in seconds at which interval `k` (1-based) ends when the first starts at
/// `start` (since the epoch).
fn interval_end_secs(start: Duration, interval: Duration, k: u64) -> u64 {
    let end_ms = start.as_millis() + interval.as_millis() * u128::from(k);
    u64::try_from(end_ms / 1000).unwrap_or(u64::MAX)
}

fn draw_table(
    out: &mut impl Write,
    rows: &[(String, String, Kind, f64)],
    ts: u64,
    interval: Duration,
    other: u64,
    malformed: u64,
    dropped: u64,
) -> io::Result<()> {
    // Home, clear screen.
    write!(out, "\x1b[H\x1b[2J")?;
    writeln!(
        out,
        "realm-metrics tail  {ts}  every {} ms  (counters: per second; gauges: value)",
        interval.as_millis()
    )?;
    writeln!(
        out,
        "{:<24} {:<28} {:<8} {:>14}",
        "host", "metric", "kind", "value"
    )?;
    for (h, m, k, v) in rows {
        // Hosts come from the network: never print their control characters.
        let (h, m) = (escape(h), escape(m));
        writeln!(
            out,
            "{h:<24} {m:<28} {:<8} {:>14}",
            k.as_str(),
            fmt_value(*v)
        )?;
    }
    if rows.is_empty() {
        writeln!(out, "(no catalog metrics yet)")?;
    }
    writeln!(
        out,
        "\nother values: {other}, malformed lines: {malformed} (this interval)"
    )?;
    if dropped > 0 {
        writeln!(out, "dropped: {dropped} values of hosts over the limit")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_values() {
        let mut w = Window::default();
        w.add(b"realm.h1.connection.started:3|c\nrealm.h1.connection.online:7|g\nrealm.h1.protocol.24.used:1|c|@0.5");
        w.add(b"realm.h1.connection.started:1|c\nrealm.h1.connection.online:+2|g\nx:1|c\nbad");
        assert_eq!((w.other, w.malformed), (1, 1));
        let rows = w.finish(Duration::from_millis(500));
        let find = |rows: &[(String, String, Kind, f64)], m: &str| {
            rows.iter().find(|r| r.1 == m).map(|r| r.3)
        };
        assert_eq!(find(&rows, "connection.started"), Some(8.0));
        assert_eq!(find(&rows, "connection.online"), Some(9.0));
        assert_eq!(find(&rows, "protocol.24.used"), Some(4.0));
        assert!(rows.iter().all(|r| r.0 == "h1"));
        let rows = w.finish(Duration::from_secs(1));
        assert_eq!(find(&rows, "connection.started"), Some(0.0));
        assert_eq!(find(&rows, "connection.online"), Some(9.0));
    }

    /// Interval timestamps follow the schedule, not the clock at printing time: distinct and
    /// evenly spaced however late the intervals run.
    #[test]
    fn intervals_are_stamped_with_their_scheduled_end() {
        let start = Duration::from_millis(1_795_865_407_600);
        let second = Duration::from_secs(1);
        let stamps: Vec<u64> = (1..=4)
            .map(|k| interval_end_secs(start, second, k))
            .collect();
        assert_eq!(
            stamps,
            [1_795_865_408, 1_795_865_409, 1_795_865_410, 1_795_865_411]
        );
        let quarter = Duration::from_millis(250);
        assert_eq!(interval_end_secs(start, quarter, 2), 1_795_865_408);
        assert_eq!(interval_end_secs(Duration::MAX, second, u64::MAX), u64::MAX);
    }

    #[test]
    fn item_10_escape_wire_text() {
        assert_eq!(escape("h-1.example"), "h-1.example");
        assert_eq!(escape("a b"), "a\\x20b");
        assert_eq!(escape("\x1b[2J\\\u{e9}\n"), "\\x1b[2J\\x5c\\xc3\\xa9\\x0a");
        let rows = vec![(
            "e\x1b]0;x\x07 v".to_owned(),
            "connection.online".to_owned(),
            Kind::Gauge,
            1.0,
        )];
        let mut out = Vec::new();
        draw_table(&mut out, &rows, 1, Duration::from_secs(1), 0, 0, 0).unwrap();
        // The only control characters are the table's own (home, clear) and newlines.
        let text = String::from_utf8(out).unwrap();
        let body = text.strip_prefix("\x1b[H\x1b[2J").unwrap();
        assert!(
            body.chars().all(|c| c == '\n' || !c.is_control()),
            "{body:?}"
        );
        assert!(body.contains("e\\x1b]0;x\\x07\\x20v"), "{body}");
    }

    #[test]
    fn item_3_hosts_are_bounded_and_quiet_ones_forgotten() {
        let mut w = Window::default();
        for i in 0..MAX_HOSTS + 500 {
            w.add(
                format!("realm.h{i}.connection.started:1|c\nrealm.h{i}.connection.online:1|g")
                    .as_bytes(),
            );
        }
        w.add(
            format!(
                "realm.{}.connection.started:1|c",
                "x".repeat(MAX_HOST_LEN + 1)
            )
            .as_bytes(),
        );
        assert_eq!(w.dropped, 1001);
        assert_eq!(w.finish(Duration::from_secs(1)).len(), 2 * MAX_HOSTS);
        assert_eq!(w.dropped, 0);
        for _ in 0..FORGET_AFTER + 1 {
            w.add(b"realm.keep.connection.started:1|c");
            w.finish(Duration::from_secs(1));
        }
        let rows = w.finish(Duration::from_secs(1));
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(w.hosts.len(), 1);
        w.add(b"realm.new.connection.started:1|c");
        assert_eq!(w.dropped, 0);
    }

    #[test]
    fn values_print_short() {
        assert_eq!(fmt_value(3.0), "3");
        assert_eq!(fmt_value(2.5), "2.5");
        assert_eq!(fmt_value(1.0 / 3.0), "0.333");
    }

    /// `realm-metrics tail <args>`.
    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        use clap::Parser;
        let argv = ["realm-metrics", "tail"].iter().chain(args);
        match crate::command::Cli::try_parse_from(argv)?.command {
            crate::command::Command::Tail(t) => Ok(t.into()),
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn default_is_loopback() {
        let o = parse(&[]).unwrap();
        assert!(o.listen.ip().is_loopback());
        assert_eq!(o.interval, Duration::from_secs(1));
        assert_eq!(o.count, None);
        let o = parse(&["--interval-ms=10", "--count", "3"]).unwrap();
        assert_eq!(o.interval, Duration::from_millis(10));
        assert_eq!(o.count, Some(3));
        for bad in [
            &["--interval-ms", "9"][..],
            &["--count", "x"],
            &["--listen", "nope"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
