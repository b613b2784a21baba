//! The dashboard's history over real sockets: a known sequence from the Rust emitter and as raw
//! lines, SIGKILL, a restart on the same data, and the API (and `realm-metrics query`) must give
//! exactly the expected per-second values and totals; kills at random moments never corrupt the
//! store; hostile query parameters get a 4xx.

mod support;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use realm_metrics::emitter::Emitter;
use realm_metrics::Metric;
use serde_json::{json, Value};
use support::{Dashboard as Server, TempDir, BIN};

fn now_f() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Sleep until 150 ms into the next wall-clock second; returns that second.
fn next_second() -> i64 {
    let t = now_f();
    let s = t.floor() as i64 + 1;
    std::thread::sleep(Duration::from_secs_f64(s as f64 + 0.15 - t));
    s
}

/// `[[ts, value], ...]` of the one series a query returns.
fn points(v: &Value) -> Vec<(i64, f64)> {
    let series = v["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{v}");
    series[0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

#[test]
fn a_known_sequence_survives_sigkill_exactly() {
    let data = TempDir::new("restart");
    let server = Server::start(data.path(), &[]);
    let emitter = Emitter::builder()
        .address(server.udp.clone())
        .prefix("realm.restart-host")
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let host = "realm.restart-host";

    // Second A.
    let a = next_second();
    emitter.count(Metric::ConnectionStarted, 3).unwrap();
    emitter.gauge_set(Metric::ConnectionOnline, 10).unwrap();
    emitter.timing("api.latency", 40.0).unwrap();
    emitter.flush().unwrap();
    server.send(&format!(
        "{host}.session.started:1|c|@0.5\n{host}.realms.open:5|g\n{host}.realms.open:+2|g\n\
         {host}.api.latency:10|ms\n{host}.api.latency:20|ms|@0.5\n{host}.api.latency:30|ms\n\
         users:alice|s\nusers:bob|s\nusers:alice|s"
    ));
    // Second B: a negative absolute gauge from the emitter (0 then -5 on the wire), a delta below
    // zero, a second counter value.
    let b = next_second();
    emitter.count(Metric::ConnectionStarted, 4).unwrap();
    emitter.gauge_add(Metric::ConnectionOnline, -15).unwrap();
    emitter.flush().unwrap();
    server.send(&format!(
        "{host}.realms.open:-10|g\n{host}.session.started:3|c\nusers:carol|s\n{host}.protocol.24.used:2|c"
    ));
    // At most 2 s may be lost to a kill: B's second is closed within 1 s and written at once.
    std::thread::sleep(Duration::from_millis(2500));
    server.kill9();

    // Restart on the same data: everything is there; a delta goes on from the stored gauge.
    let server = Server::start(data.path(), &[]);
    let c = next_second();
    server.send(&format!(
        "{host}.realms.open:+4|g\n{host}.session.started:5|c"
    ));
    std::thread::sleep(Duration::from_millis(2500));

    let q = |sel: &str, extra: &str| {
        server.json(&format!(
            "/api/v1/query?{sel}&from={a}&to={}&step=1{extra}",
            c + 1
        ))
    };
    assert_eq!(
        points(&q("metric=connection.started&host=restart-host", "")),
        vec![(a, 3.0), (b, 4.0)]
    );
    assert_eq!(
        points(&q("name=realm.restart-host.session.started", "")),
        vec![(a, 2.0), (b, 3.0), (c, 5.0)]
    );
    assert_eq!(
        points(&q("metric=connection.online&host=restart-host", "")),
        vec![(a, 10.0), (b, -5.0)]
    );
    assert_eq!(
        points(&q("metric=realms.open&host=restart-host", "")),
        vec![(a, 7.0), (b, -3.0), (c, 1.0)]
    );
    assert_eq!(
        points(&q("name=realm.restart-host.api.latency", "&stat=count")),
        vec![(a, 5.0)]
    );
    assert_eq!(
        points(&q("name=realm.restart-host.api.latency", "&stat=sum")),
        vec![(a, 100.0)]
    );
    assert_eq!(
        points(&q("name=realm.restart-host.api.latency", "&stat=max")),
        vec![(a, 40.0)]
    );
    assert_eq!(
        points(&q("name=realm.restart-host.api.latency", "&stat=p50")),
        vec![(a, 20.0)]
    );
    assert_eq!(
        points(&q("name=realm.restart-host.api.latency", "")),
        vec![(a, 40.0)]
    );
    assert_eq!(points(&q("name=users", "")), vec![(a, 2.0), (b, 1.0)]);
    let used = q("metric=protocol.%3Cversion%3E.used", "");
    assert_eq!(points(&used), vec![(b, 2.0)]);
    assert_eq!(used["series"][0]["version"], json!(24));
    assert_eq!(used["series"][0]["host"], json!("restart-host"));

    // Totals: one step over the whole range (steps are aligned to multiples of the step).
    let mut span = c + 1 - a;
    while a / span != c / span {
        span *= 2;
    }
    let start = a / span * span;
    let total = |sel: &str| {
        server.json(&format!(
            "/api/v1/query?{sel}&from={a}&to={}&step={span}",
            c + 1
        ))
    };
    assert_eq!(
        points(&total("name=realm.restart-host.session.started")),
        vec![(start, 10.0)]
    );
    assert_eq!(
        points(&total("metric=connection.started&host=restart-host")),
        vec![(start, 7.0)]
    );
    assert_eq!(
        points(&total("metric=realms.open&host=restart-host")),
        vec![(start, 1.0)]
    );
    assert_eq!(points(&total("name=users")), vec![(start, 3.0)]);
    assert_eq!(
        points(&total("name=realm.restart-host.api.latency&stat=count")),
        vec![(start, 5.0)]
    );

    // The series list, and the same answer from the file while the server runs.
    let list = server.json("/api/v1/series");
    let online = list["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metric"] == "connection.online")
        .unwrap();
    assert_eq!(online["host"], "restart-host");
    assert_eq!(online["kind"], "gauge");
    assert_eq!(online["first_seen"], json!(a));
    assert!(online["last_seen"].as_i64().unwrap() >= b);
    let out = Command::new(BIN)
        .args(["query", "--data"])
        .arg(data.path())
        .args([
            "--metric",
            "realms.open",
            "--host",
            "restart-host",
            "--step",
            "1",
        ])
        .args(["--from", &a.to_string(), "--to", &(c + 1).to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_file: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_file, q("metric=realms.open&host=restart-host", ""));
    let bad = Command::new(BIN)
        .args(["query", "--data"])
        .arg(data.path())
        .args(["--metric", "nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a catalog name"));
    server.stop();
}

#[test]
fn kills_at_random_moments_never_corrupt_the_store() {
    let data = TempDir::new("kills");
    let mut sent_before_kill = 0u64;
    let mut seed = 0x1234_5678_9abc_def0u64;
    for round in 0..4 {
        let server = Server::start(data.path(), &[]);
        let start = Instant::now();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(2600 + seed % 1500);
        let mut sent = 0u64;
        let mut sent_at: Vec<(Instant, u64)> = Vec::new();
        while start.elapsed() < run_for {
            // 20 series, each +1, in one datagram, every 5 ms.
            let text: String = (0..20).map(|i| format!("kill.c{i}:1|c\n")).collect();
            server.send(&text);
            sent += 1;
            sent_at.push((Instant::now(), sent));
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill9();
        // What was sent more than 2 s before the kill must be stored.
        let cutoff = Instant::now() - Duration::from_secs(2);
        sent_before_kill += sent_at
            .iter()
            .rev()
            .find(|(t, _)| *t <= cutoff)
            .map_or(0, |(_, n)| *n);
        let check = rusqlite::Connection::open(data.path().join("metrics.db")).unwrap();
        let ok: String = check
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "round {round}");
    }
    let server = Server::start(data.path(), &[]);
    for i in 0..20 {
        let v = server.json(&format!(
            "/api/v1/query?name=kill.c{i}&from=now-1h&step=3600"
        ));
        let total: f64 = points(&v).iter().map(|p| p.1).sum();
        assert!(
            total >= sent_before_kill as f64,
            "kill.c{i}: stored {total}, sent {sent_before_kill} more than 2 s before the kills"
        );
    }
    server.stop();
}

#[test]
fn hostile_query_parameters_get_a_4xx() {
    let data = TempDir::new("hostile");
    let server = Server::start(data.path(), &[]);
    let long = format!("/api/v1/query?name={}", "a".repeat(1 << 20));
    let (st, _) = server.get(&long);
    assert!((400..500).contains(&st), "1 MB query string: {st}");
    for (path, want) in [
        ("/api/v1/query?name=x&from=NaN", 400),
        ("/api/v1/query?name=x&from=0&to=99999999999", 400),
        ("/api/v1/query?name=x&step=0.5", 400),
        ("/api/v1/query?name=x&from=now-100000d", 400),
        ("/api/v1/query?metric=../../etc/passwd", 400),
        ("/api/v1/query?name=%3Cscript%3E", 404),
        ("/api/v1/query?name=never.seen", 404),
        ("/api/v1/query", 400),
        ("/api/v1/query?name=a&name=b", 400),
    ] {
        let (st, body) = server.get(path);
        assert_eq!(st, want, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {body}"
        );
    }
    // Still answering.
    assert_eq!(server.get("/api/v1/status").0, 200);
    server.stop();
}
