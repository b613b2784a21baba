//! Ingest throughput benchmark helper (run by `scripts/bench-ingest.sh`).
//!
//! ```text
//! ingest-bench blast --to ADDR --rate LINES_PER_S [--seconds 3] [--lines N]
//!                    [--names catalog|flat] [--hosts 10] [--series 10000] [--host host]
//!                    [--payload 1432] [--slice-ms 1] [--batch 1]
//! ingest-bench etsy-counters --mgmt PORT [--prefix realm.bench-] [--timeout-ms 5000]
//! ```
//!
//! `blast` sends StatsD counter lines `NAME:1|c` over a connected UDP socket, as many whole
//! lines per datagram as fit in `--payload` bytes (joined by `\n`), cycling through the series
//! in order, paced to `--rate` lines per second (checked against the clock in slices of
//! `--slice-ms`), for `--seconds` (or until `--lines` were sent). `--batch K` hands up to K
//! datagrams to the kernel per `sendmmsg` call (Linux). Series names:
//!
//! - `catalog` (default): `realm.bench-<h>.<counter>` for `h < --hosts` and the first ten
//!   counters of the ROS catalog: 100 series by default, all queryable by catalog name;
//! - `flat`: `realm.bench-<--host>.m<i>` for `i < --series`.
//!
//! It prints one JSON object: what it sent (`lines`, `datagrams`, `bytes`, `send_errors`), the
//! time it took and the rate it achieved. Only successful sends count as sent.
//!
//! `etsy-counters` asks an Etsy statsd daemon's management port for `counters` and prints
//! `{"metrics_received", "packets_received", "bad_lines_seen", "prefix_sum", "prefix_keys"}`:
//! statsd's own totals and the sum of the counters whose names start with `--prefix` (with a
//! flush interval longer than the run and no backend, these are totals since start).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use realm_metrics::{Kind, Metric};

/// The largest payload that fits an Ethernet MTU without fragmentation (README: wire rules).
const DEFAULT_PAYLOAD: usize = 1432;
/// Hard bound on a blast's length.
const MAX_SECONDS: f64 = 3600.0;
/// Hard bound on the number of series.
const MAX_SERIES: usize = 1_000_000;

const USAGE: &str = "usage:
  ingest-bench blast --to ADDR --rate LINES_PER_S [--seconds 3] [--lines N]
                     [--names catalog|flat] [--hosts 10] [--series 10000] [--host host]
                     [--payload 1432] [--slice-ms 1] [--batch 1]
  ingest-bench etsy-counters --mgmt PORT [--prefix realm.bench-] [--timeout-ms 5000]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("blast") => parse_blast(&args[1..]).and_then(|b| blast(&b).map_err(|e| e.to_string())),
        Some("etsy-counters") => etsy_counters(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(format!("expected a command\n{USAGE}")),
    };
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ingest-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--key value` pairs; every key must be one of `known`.
fn options<'a>(args: &'a [String], known: &[&str]) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(k) = it.next() {
        if !known.contains(&k.as_str()) {
            return Err(format!("unknown option {k}\n{USAGE}"));
        }
        let v = it.next().ok_or_else(|| format!("{k} needs a value"))?;
        out.push((k.as_str(), v.as_str()));
    }
    Ok(out)
}

fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{key}: not a valid number: {v:?}"))
}

/// How series are named.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Names {
    /// `realm.bench-<h>.<catalog counter>` for `h < hosts`.
    Catalog { hosts: usize },
    /// `realm.bench-<host>.m<i>` for `i < series`.
    Flat { series: usize, host: String },
}

/// A blast's parameters.
#[derive(Clone, Debug)]
struct Blast {
    to: SocketAddr,
    rate: f64,
    seconds: f64,
    lines: Option<u64>,
    names: Names,
    payload: usize,
    slice: Duration,
    batch: usize,
}

fn parse_blast(args: &[String]) -> Result<Blast, String> {
    let known = [
        "--to",
        "--rate",
        "--seconds",
        "--lines",
        "--names",
        "--hosts",
        "--series",
        "--host",
        "--payload",
        "--slice-ms",
        "--batch",
    ];
    let mut to = None;
    let mut rate = None;
    let mut seconds = 3.0f64;
    let mut lines = None;
    let mut names = "catalog".to_owned();
    let mut hosts = 10usize;
    let mut series = 10_000usize;
    let mut host = "host".to_owned();
    let mut payload = DEFAULT_PAYLOAD;
    let mut slice_ms = 1.0f64;
    let mut batch = 1usize;
    for (k, v) in options(args, &known)? {
        match k {
            "--to" => to = Some(num::<SocketAddr>(k, v)?),
            "--rate" => rate = Some(num::<f64>(k, v)?),
            "--seconds" => seconds = num(k, v)?,
            "--lines" => lines = Some(num(k, v)?),
            "--names" => names = v.to_owned(),
            "--hosts" => hosts = num(k, v)?,
            "--series" => series = num(k, v)?,
            "--host" => host = v.to_owned(),
            "--payload" => payload = num(k, v)?,
            "--slice-ms" => slice_ms = num(k, v)?,
            "--batch" => batch = num(k, v)?,
            _ => unreachable!("checked by options()"),
        }
    }
    let to = to.ok_or("--to ADDR is required")?;
    let rate = rate.ok_or("--rate LINES_PER_S is required")?;
    if !(rate.is_finite() && rate > 0.0) {
        return Err("--rate must be a positive number".into());
    }
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SECONDS) {
        return Err(format!("--seconds must be in (0, {MAX_SECONDS}]"));
    }
    if !(slice_ms.is_finite() && (0.05..=1000.0).contains(&slice_ms)) {
        return Err("--slice-ms must be in [0.05, 1000]".into());
    }
    if !(64..=65_507).contains(&payload) {
        return Err("--payload must be in [64, 65507]".into());
    }
    if !(1..=1024).contains(&batch) {
        return Err("--batch must be in [1, 1024]".into());
    }
    let names = match names.as_str() {
        "catalog" if (1..=MAX_SERIES / 10).contains(&hosts) => Names::Catalog { hosts },
        "flat" if (1..=MAX_SERIES).contains(&series) => {
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err("--host: letters, digits, '-' and '_' only".into());
            }
            Names::Flat { series, host }
        }
        "catalog" | "flat" => return Err(format!("--hosts / --series: 1 to {MAX_SERIES} series")),
        _ => return Err("--names: catalog or flat".into()),
    };
    Ok(Blast {
        to,
        rate,
        seconds,
        lines,
        names,
        payload,
        slice: Duration::from_secs_f64(slice_ms / 1000.0),
        batch,
    })
}

/// The first ten counters of the catalog with a fixed name (no `<version>`).
fn catalog_counters() -> Vec<&'static str> {
    Metric::ALL
        .iter()
        .filter(|m| m.kind() == Kind::Counter && !m.name().contains('<'))
        .map(|m| m.name())
        .take(10)
        .collect()
}

/// The series' lines (`NAME:1|c`), in sending order.
fn series_lines(names: &Names) -> Vec<Vec<u8>> {
    match names {
        Names::Catalog { hosts } => {
            let counters = catalog_counters();
            let mut out = Vec::with_capacity(hosts * counters.len());
            for c in &counters {
                for h in 0..*hosts {
                    out.push(format!("realm.bench-{h}.{c}:1|c").into_bytes());
                }
            }
            out
        }
        Names::Flat { series, host } => (0..*series)
            .map(|i| format!("realm.bench-{host}.m{i}:1|c").into_bytes())
            .collect(),
    }
}

/// One prepared datagram.
#[derive(Debug)]
struct Datagram {
    bytes: Vec<u8>,
    lines: u64,
}

/// The datagrams that the lines, cycled in order and packed greedily, make: `(all, cycle_start)`;
/// after the last one, sending goes on from `all[cycle_start]`.
fn pack(lines: &[Vec<u8>], payload: usize) -> Result<(Vec<Datagram>, usize), String> {
    if let Some(l) = lines.iter().find(|l| l.len() > payload) {
        return Err(format!(
            "a line of {} bytes does not fit --payload {payload}",
            l.len()
        ));
    }
    // The index of the first line of each datagram built so far, by line index.
    let mut started: Vec<Option<usize>> = vec![None; lines.len()];
    let mut out = Vec::new();
    let mut next = 0usize;
    loop {
        if let Some(i) = started[next] {
            return Ok((out, i));
        }
        started[next] = Some(out.len());
        let mut d = Datagram {
            bytes: Vec::with_capacity(payload),
            lines: 0,
        };
        loop {
            let line = &lines[next];
            let extra = usize::from(!d.bytes.is_empty()) + line.len();
            if d.bytes.len() + extra > payload {
                break;
            }
            if !d.bytes.is_empty() {
                d.bytes.push(b'\n');
            }
            d.bytes.extend_from_slice(line);
            d.lines += 1;
            next = (next + 1) % lines.len();
        }
        out.push(d);
    }
}

/// The first `n` lines of a datagram.
fn first_lines(d: &[u8], n: u64) -> &[u8] {
    let mut seen = 0;
    for (i, b) in d.iter().enumerate() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &d[..i];
            }
        }
    }
    d
}

/// What a blast did.
#[derive(Debug, Default)]
struct Sent {
    lines: u64,
    datagrams: u64,
    bytes: u64,
    send_errors: u64,
    last_error: Option<String>,
}

impl Sent {
    fn ok(&mut self, d: &[u8], lines: u64) {
        self.lines += lines;
        self.datagrams += 1;
        self.bytes += d.len() as u64;
    }

    fn err(&mut self, e: &io::Error) {
        self.send_errors += 1;
        self.last_error = Some(e.to_string());
    }
}

#[cfg(target_os = "linux")]
fn send_many(sock: &UdpSocket, ds: &[&[u8]]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut iov: Vec<libc::iovec> = ds
        .iter()
        .map(|d| libc::iovec {
            iov_base: d.as_ptr() as *mut libc::c_void,
            iov_len: d.len(),
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iov
        .iter_mut()
        .map(|v| {
            // SAFETY: mmsghdr is plain old data; all-zero is a valid (empty) value.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    // SAFETY: msgs points to msgs.len() initialised headers whose iovecs point into `ds`, which
    // outlive the call; the socket is connected, so no addresses are needed.
    let n = unsafe {
        libc::sendmmsg(
            sock.as_raw_fd(),
            msgs.as_mut_ptr(),
            msgs.len() as libc::c_uint,
            0,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn send_many(sock: &UdpSocket, ds: &[&[u8]]) -> io::Result<usize> {
    match ds.first() {
        Some(d) => sock.send(d).map(|_| 1),
        None => Ok(0),
    }
}

fn blast(b: &Blast) -> io::Result<String> {
    let lines = series_lines(&b.names);
    let (datagrams, cycle_start) = pack(&lines, b.payload).map_err(io::Error::other)?;
    let bind: SocketAddr = if b.to.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind)?;
    sock.connect(b.to)?;

    let cap = b.lines.unwrap_or(u64::MAX);
    let mut sent = Sent::default();
    let mut next = 0usize;
    let advance = |i: usize| {
        if i + 1 == datagrams.len() {
            cycle_start
        } else {
            i + 1
        }
    };
    let start = Instant::now();
    let deadline = b.seconds;
    let mut slices = 0u32;
    let mut batch: Vec<&[u8]> = Vec::with_capacity(b.batch);
    let mut batch_lines: Vec<u64> = Vec::with_capacity(b.batch);
    'run: loop {
        let t = start.elapsed().as_secs_f64();
        if t >= deadline || sent.lines >= cap {
            break;
        }
        // Send what is due now, rechecking the clock as we go.
        loop {
            let t = start.elapsed().as_secs_f64();
            if t >= deadline {
                break 'run;
            }
            let due = ((b.rate * t) as u64).min(cap);
            // Whole datagrams while a whole one is due; the last one may be cut to --lines.
            batch.clear();
            batch_lines.clear();
            let mut pending = sent.lines;
            let mut i = next;
            while batch.len() < b.batch {
                let d = &datagrams[i];
                if pending + d.lines <= due {
                    batch.push(&d.bytes);
                    batch_lines.push(d.lines);
                    pending += d.lines;
                    i = advance(i);
                } else if due == cap && pending < cap {
                    let n = cap - pending;
                    batch.push(first_lines(&d.bytes, n));
                    batch_lines.push(n);
                    pending += n;
                    i = advance(i);
                } else {
                    break;
                }
            }
            if batch.is_empty() {
                break;
            }
            if batch.len() == 1 {
                match sock.send(batch[0]) {
                    Ok(_) => sent.ok(batch[0], batch_lines[0]),
                    Err(e) => sent.err(&e),
                }
                next = advance(next);
            } else {
                match send_many(&sock, &batch) {
                    Ok(n) => {
                        for (d, l) in batch.iter().zip(&batch_lines).take(n) {
                            sent.ok(d, *l);
                            next = advance(next);
                        }
                    }
                    Err(e) => {
                        // The first one failed: count it and go on with the next.
                        sent.err(&e);
                        next = advance(next);
                    }
                }
            }
            if sent.lines >= cap {
                break 'run;
            }
        }
        // Sleep to the next slice boundary.
        slices += 1;
        let wake = b.slice * slices;
        let now = start.elapsed();
        if wake > now {
            std::thread::sleep(wake - now);
        } else {
            // Behind: skip the slices already past.
            slices = (now.as_nanos() / b.slice.as_nanos().max(1)) as u32;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = sent.lines as f64 / secs;
    let per_datagram = lines_per_datagram(&datagrams);
    let target = b.rate.min(cap as f64 / b.seconds);
    Ok(format!(
        "{{\"to\":\"{}\",\"target_rate\":{},\"lines\":{},\"datagrams\":{},\"bytes\":{},\"send_errors\":{},\"last_error\":{},\"seconds\":{:.3},\"rate\":{:.0},\"kept_up\":{},\"series\":{},\"lines_per_datagram\":{:.1},\"payload\":{},\"batch\":{}}}",
        b.to,
        b.rate,
        sent.lines,
        sent.datagrams,
        sent.bytes,
        sent.send_errors,
        sent.last_error
            .as_deref()
            .map_or("null".to_owned(), |e| format!("{:?}", e.replace('"', "'"))),
        secs,
        rate,
        rate >= 0.98 * target,
        lines.len(),
        per_datagram,
        b.payload,
        b.batch,
    ))
}

fn lines_per_datagram(ds: &[Datagram]) -> f64 {
    let lines: u64 = ds.iter().map(|d| d.lines).sum();
    lines as f64 / ds.len().max(1) as f64
}

/// `etsy-counters`: statsd's `counters` management command, summarised.
fn etsy_counters(args: &[String]) -> Result<String, String> {
    let mut port = None;
    let mut prefix = "realm.bench-".to_owned();
    let mut timeout_ms = 5000u64;
    for (k, v) in options(args, &["--mgmt", "--prefix", "--timeout-ms"])? {
        match k {
            "--mgmt" => port = Some(num::<u16>(k, v)?),
            "--prefix" => prefix = v.to_owned(),
            "--timeout-ms" => timeout_ms = num(k, v)?,
            _ => unreachable!("checked by options()"),
        }
    }
    let port = port.ok_or("--mgmt PORT is required")?;
    let text = mgmt_command(port, "counters", Duration::from_millis(timeout_ms.max(1)))
        .map_err(|e| format!("statsd management port {port}: {e}"))?;
    let c = parse_counters(&text, &prefix)?;
    Ok(format!(
        "{{\"metrics_received\":{},\"packets_received\":{},\"bad_lines_seen\":{},\"prefix_sum\":{},\"prefix_keys\":{}}}",
        c.metrics_received, c.packets_received, c.bad_lines_seen, c.prefix_sum, c.prefix_keys
    ))
}

/// Send one management command and read its answer up to `END`, within `timeout` overall.
fn mgmt_command(port: u16, cmd: &str, timeout: Duration) -> io::Result<String> {
    let start = Instant::now();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(format!("{cmd}\n").as_bytes())?;
    let mut out = Vec::new();
    let mut buf = [0u8; 65_536];
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no END in time"));
        }
        s.set_read_timeout(Some(left))?;
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before END",
            ));
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(5).any(|w| w == b"\nEND\n") {
            let _ = s.write_all(b"quit\n");
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
    }
}

#[derive(Debug, Default, PartialEq)]
struct Counters {
    metrics_received: f64,
    packets_received: f64,
    bad_lines_seen: f64,
    prefix_sum: f64,
    prefix_keys: u64,
}

/// Parse Node's `util.inspect` of statsd's counters object: `{ 'a.b': 1, c: 2, ... }`, on one
/// line or one key a line.
fn parse_counters(text: &str, prefix: &str) -> Result<Counters, String> {
    let body = text.split("\nEND").next().unwrap_or("");
    let body = body.trim().trim_start_matches('{').trim_end_matches('}');
    let mut c = Counters::default();
    let mut found = false;
    for entry in body.split(",\n").flat_map(|l| l.split(", ")) {
        let entry = entry.trim().trim_end_matches(',');
        if entry.is_empty() {
            continue;
        }
        let Some((k, v)) = entry.rsplit_once(": ") else {
            return Err(format!("unexpected counters entry {entry:?}"));
        };
        let k = k.trim().trim_matches('\'').trim_matches('"');
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("unexpected counter value in {entry:?}"))?;
        match k {
            "statsd.metrics_received" => {
                c.metrics_received = v;
                found = true;
            }
            "statsd.packets_received" => c.packets_received = v,
            "statsd.bad_lines_seen" => c.bad_lines_seen = v,
            _ if k.starts_with(prefix) => {
                c.prefix_sum += v;
                c.prefix_keys += 1;
            }
            _ => {}
        }
    }
    if !found {
        return Err(format!(
            "no statsd.metrics_received in the answer: {:?}",
            text.chars().take(200).collect::<String>()
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_series_are_100_counters() {
        let lines = series_lines(&Names::Catalog { hosts: 10 });
        assert_eq!(lines.len(), 100);
        let mut unique = lines.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 100);
        assert!(lines
            .iter()
            .all(|l| l.starts_with(b"realm.bench-") && l.ends_with(b":1|c")));
        assert_eq!(lines[0], b"realm.bench-0.client.unsyncable:1|c");
    }

    #[test]
    fn packing_fills_datagrams_and_cycles() {
        for names in [
            Names::Catalog { hosts: 10 },
            Names::Flat {
                series: 10_000,
                host: "host".into(),
            },
        ] {
            let lines = series_lines(&names);
            let (ds, start) = pack(&lines, DEFAULT_PAYLOAD).unwrap();
            let longest = lines.iter().map(Vec::len).max().unwrap();
            assert!(start < ds.len());
            for d in &ds {
                assert!(d.bytes.len() <= DEFAULT_PAYLOAD);
                assert_eq!(d.bytes.split(|b| *b == b'\n').count() as u64, d.lines);
                // Greedy: the next line (at most the longest) did not fit.
                assert!(d.bytes.len() + 1 + longest > DEFAULT_PAYLOAD);
            }
        }
    }

    #[test]
    fn first_lines_cuts_at_a_line_break() {
        assert_eq!(first_lines(b"a:1|c\nb:1|c\nc:1|c", 2), b"a:1|c\nb:1|c");
        assert_eq!(first_lines(b"a:1|c", 1), b"a:1|c");
    }

    #[test]
    fn counters_parse_both_layouts() {
        let one = "{ 'statsd.bad_lines_seen': 0, 'statsd.packets_received': 3, 'statsd.metrics_received': 7, 'realm.bench-0.x': 5 }\nEND\n\n";
        let many = "{\n  'statsd.bad_lines_seen': 0,\n  'statsd.packets_received': 3,\n  'statsd.metrics_received': 7,\n  'realm.bench-0.x': 2,\n  'realm.bench-1.x': 3,\n  other: 9\n}\nEND\n\n";
        let a = parse_counters(one, "realm.bench-").unwrap();
        let b = parse_counters(many, "realm.bench-").unwrap();
        assert_eq!(
            (a.metrics_received, a.prefix_sum, a.prefix_keys),
            (7.0, 5.0, 1)
        );
        assert_eq!(
            (b.packets_received, b.prefix_sum, b.prefix_keys),
            (3.0, 5.0, 2)
        );
        assert!(parse_counters("{}\nEND\n", "x").is_err());
    }

    #[test]
    fn blast_sends_exactly_the_lines_asked() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        for batch in [1, 8] {
            let b = Blast {
                to: rx.local_addr().unwrap(),
                rate: 50_000.0,
                seconds: 5.0,
                lines: Some(1000),
                names: Names::Catalog { hosts: 10 },
                payload: DEFAULT_PAYLOAD,
                slice: Duration::from_millis(1),
                batch,
            };
            let out = blast(&b).unwrap();
            assert!(out.contains("\"lines\":1000,"), "{out}");
            let mut got = 0;
            let mut buf = [0u8; 2048];
            while got < 1000 {
                let n = rx.recv(&mut buf).unwrap();
                assert!(n <= DEFAULT_PAYLOAD);
                got += buf[..n].split(|b| *b == b'\n').count();
            }
            assert_eq!(got, 1000);
        }
    }
}
