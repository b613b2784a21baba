//! `realm-metrics tail` against real datagrams: plain lines when stdout is not a terminal,
//! counters as rates per second, gauges as values, per host.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Command, Stdio};

#[test]
fn tail_prints_rates_and_values_per_host() {
    let (child, _stderr, addr) = start_tail(
        &[
            "--listen",
            "127.0.0.1:0",
            "--interval-ms",
            "1000",
            "--count",
            "3",
        ],
        false,
    );

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(&addr).unwrap();
    tx.send(b"realm.h1.connection.started:3|c\nrealm.h1.connection.online:7|g")
        .unwrap();
    tx.send(b"realm.h1.connection.started:2|c\nrealm.h2.protocol.24.used:2|c|@0.5\nrealm.h2.session.online:4|g\nsome.custom:1|c\nnot statsd")
        .unwrap();
    tx.send(b"realm.h1.connection.online:-2|g").unwrap();

    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .collect();
    for l in &lines {
        assert_eq!(l.len(), 5, "{l:?}");
        assert!(l[0].parse::<u64>().unwrap() > 1_600_000_000, "{l:?}");
    }
    let intervals: Vec<&str> = {
        let mut ts: Vec<&str> = lines.iter().map(|l| l[0]).collect();
        ts.dedup();
        ts
    };
    assert_eq!(intervals.len(), 3, "{stdout}");
    // One second apart: each interval carries its scheduled end, also when a busy machine runs
    // intervals late and back to back.
    let secs: Vec<u64> = intervals.iter().map(|t| t.parse().unwrap()).collect();
    assert_eq!([secs[1] - secs[0], secs[2] - secs[1]], [1, 1], "{stdout}");
    let rows = |i: usize| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l[0] == intervals[i])
            .map(|l| l[1..].join(" "))
            .collect()
    };
    // The first interval: 5 connections per second, protocol 24 at 2 / 0.5 = 4 per second, and
    // a gauge delta applied (7 then -2 as a change: 5).
    assert_eq!(
        rows(0),
        [
            "h1 connection.online gauge 5",
            "h1 connection.started counter 5",
            "h2 protocol.24.used counter 4",
            "h2 session.online gauge 4",
        ],
        "{stdout}"
    );
    // Then quiet counters print 0, and gauges keep their value.
    for i in 1..3 {
        assert_eq!(
            rows(i),
            [
                "h1 connection.online gauge 5",
                "h1 connection.started counter 0",
                "h2 protocol.24.used counter 0",
                "h2 session.online gauge 4",
            ],
            "{stdout}"
        );
    }
}

#[test]
fn tail_rejects_bad_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_realm-metrics"))
        .args(["tail", "--interval-ms", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--interval-ms"));
}

/// Start `tail` (under `/usr/bin/time -v` when `measure`) and return it with its UDP address.
fn start_tail(
    args: &[&str],
    measure: bool,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    String,
) {
    let bin = env!("CARGO_BIN_EXE_realm-metrics");
    let mut cmd = if measure {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-v", bin]);
        c
    } else {
        Command::new(bin)
    };
    let mut child = cmd
        .arg("tail")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("statsd listener: udp://")
        .unwrap_or_else(|| panic!("unexpected first stderr line {first:?}"))
        .to_owned();
    (child, stderr, addr)
}

#[test]
fn item_10_tail_escapes_wire_text_in_plain_lines() {
    let (mut child, _stderr, addr) = start_tail(
        &[
            "--listen",
            "127.0.0.1:0",
            "--interval-ms",
            "300",
            "--count",
            "2",
        ],
        false,
    );
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(&addr).unwrap();
    tx.send("realm.a b.connection.online:1|g\nrealm.e\x1b[2J\x07.connection.online:2|g\nrealm.h\u{e9}\\.connection.online:3|g".as_bytes())
        .unwrap();
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(child.wait().unwrap().success());
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(
        stdout
            .chars()
            .all(|c| c == '\n' || c.is_ascii_graphic() || c == ' '),
        "{stdout:?}"
    );
    let hosts: Vec<&str> = stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 5, "{l:?}");
            f[1]
        })
        .take(3)
        .collect();
    assert_eq!(
        hosts,
        ["a\\x20b", "e\\x1b[2J\\x07", "h\\xc3\\xa9\\x5c"],
        "{stdout}"
    );
}

#[test]
fn item_3_tail_bounds_hosts_and_recovers_after_a_flood() {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    // 100 ms intervals: a 2 s flood, then quiet hosts are forgotten after 10 intervals.
    let (mut child, mut stderr, addr) = start_tail(
        &[
            "--listen",
            "127.0.0.1:0",
            "--interval-ms",
            "100",
            "--count",
            "55",
        ],
        true,
    );
    let start = Instant::now();
    let arrivals: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let reader = {
        let arrivals = arrivals.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while stdout.read_line(&mut line).unwrap_or(0) > 0 {
                arrivals.lock().unwrap().push(start.elapsed());
                line.clear();
            }
        })
    };
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(&addr).unwrap();
    let mut i = 0u64;
    let mut dgram = String::new();
    while start.elapsed() < Duration::from_secs(2) {
        dgram.clear();
        for _ in 0..20 {
            i += 1;
            dgram.push_str(&format!(
                "realm.flood-{i:0>200}.connection.started:1|c\nrealm.flood-{i:0>200}.connection.online:1|g\n"
            ));
        }
        let _ = tx.send(dgram.as_bytes());
    }
    let flood_end = start.elapsed();
    // A steady host keeps reporting after the flood.
    while start.elapsed() < Duration::from_millis(5_200) {
        tx.send(b"realm.steady.connection.started:1|c").unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(i > 10_000, "only {i} hosts sent");
    let kib: u64 = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(kib < 24 * 1024, "peak RSS {kib} KiB");
    let arrivals = arrivals.lock().unwrap();
    let during = arrivals.iter().filter(|t| **t < flood_end).count();
    // From 2 s after the flood (20 intervals, of which 10 to forget) to the end, only the steady
    // host's line per interval is left.
    let late = arrivals
        .iter()
        .filter(|t| **t > flood_end + Duration::from_millis(2_000))
        .count();
    eprintln!(
        "item 3: peak RSS {kib} KiB, {i} hosts sent, {during} lines during the flood, {late} after"
    );
    assert!(during > 0);
    assert!(
        late <= 2 * 20,
        "{late} lines after the flood ({during} during it)"
    );
}
