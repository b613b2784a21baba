//! `realm-metrics tail` against real datagrams: plain lines when stdout is not a terminal,
//! counters as rates per second, gauges as values, per host.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Command, Stdio};

#[test]
fn tail_prints_rates_and_values_per_host() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_realm-metrics"))
        .args([
            "tail",
            "--listen",
            "127.0.0.1:0",
            "--interval-ms",
            "1000",
            "--count",
            "3",
        ])
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
