//! The store with an injected clock (each written second is "now"): rollups are exact (a 1 min
//! point is the sum of its 1 s points, a 1 h point of its 1 min points), data ages out at the
//! configured times, series with nothing left are forgotten, and the disk cap evicts the oldest
//! 1 s points first.

use std::path::PathBuf;

use realm_metrics_server::agg::{Aggregator, SecondBatch};
use realm_metrics_server::query::{self, Query};
use realm_metrics_server::store::{self, read_points, Store, StoreOptions, TABLES};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!(
            "realm-metrics-retention-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An hour boundary.
const T0: i64 = 1_699_999_200;
const H: i64 = 3600;

fn second(agg: &mut Aggregator, ts: i64, text: &str) -> SecondBatch {
    agg.add_datagram(text.as_bytes());
    agg.take_second(ts)
}

fn min_ts(store: &Store, table: &str) -> Option<i64> {
    store
        .connection()
        .query_row(&format!("SELECT min(ts) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn rollups_are_exact_and_data_ages_out() {
    let dir = TempDir::new("ages");
    let path = dir.0.join(store::FILE_NAME);
    let opts = StoreOptions {
        retention: [H, 3 * H, 24 * H],
        max_disk: None,
    };
    let mut store = Store::open(&path, opts).unwrap();
    let mut agg = Aggregator::new(Vec::new(), 1, 100);
    // Two hours of seconds: a counter, a gauge with deltas, a timer and a set, with values that
    // change every second (and a quiet second now and then).
    for ts in T0..T0 + 2 * H {
        if ts % 97 == 0 {
            store.write_second(&agg.take_second(ts)).unwrap();
            continue;
        }
        let text = format!(
            "realm.h1.connection.started:{}|c\nrealm.h1.connection.online:{}{}|g\n\
             req.ms:{}|ms\nreq.ms:{}|ms\nusers:u{}|s\n",
            ts % 7 + 1,
            if ts % 5 == 0 { "+" } else { "" },
            ts % 100,
            ts % 10,
            ts % 13 + 20,
            ts % 4
        );
        store.write_second(&second(&mut agg, ts, &text)).unwrap();
    }
    let conn = store.connection();
    let ids: Vec<(u32, String)> = conn
        .prepare("SELECT id, kind FROM series ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids.len(), 4);

    // Each complete minute of the second hour (the first hour of 1 s points aged out already):
    // the 1 min point against its 1 s points.
    let mut minutes_checked = 0;
    for m in (T0 + H + 60..T0 + 2 * H - 60).step_by(60) {
        for (id, kind) in &ids {
            let secs = read_points(conn, TABLES[0], Some(*id), m, m + 60).unwrap();
            let mins = read_points(conn, TABLES[1], Some(*id), m, m + 60).unwrap();
            assert_eq!(mins.len(), 1, "minute {m} of series {id}");
            let p = &mins[0].point;
            let sum = |f: fn(&realm_metrics_server::agg::Point) -> Option<f64>| {
                secs.iter().filter_map(|s| f(&s.point)).sum::<f64>()
            };
            match kind.as_str() {
                "counter" => {
                    assert_eq!(p.value, Some(sum(|p| p.value)));
                    assert_eq!(p.count, Some(sum(|p| p.count)));
                }
                "gauge" => assert_eq!(p.value, secs.last().unwrap().point.value),
                "timer" => {
                    assert_eq!(p.count, Some(sum(|p| p.count)));
                    assert_eq!(p.sum, Some(sum(|p| p.sum)));
                    let min = secs
                        .iter()
                        .filter_map(|s| s.point.min)
                        .fold(f64::INFINITY, f64::min);
                    let max = secs
                        .iter()
                        .filter_map(|s| s.point.max)
                        .fold(f64::NEG_INFINITY, f64::max);
                    assert_eq!((p.min, p.max), (Some(min), Some(max)));
                    // Percentiles come from the merged sketches: within 1% of the exact value.
                    let mut all: Vec<f64> = (m..m + 60)
                        .filter(|ts| ts % 97 != 0)
                        .flat_map(|ts| [(ts % 10) as f64, (ts % 13 + 20) as f64])
                        .collect();
                    all.sort_by(f64::total_cmp);
                    let exact =
                        realm_metrics_server::sketch::percentile_sorted(&all, 90.0).unwrap();
                    assert!((p.p90.unwrap() - exact).abs() <= exact * 0.01 + 1e-9);
                }
                "set" => assert_eq!(p.value, Some(4.0), "u0..u3 within a minute"),
                k => panic!("{k}"),
            }
        }
        minutes_checked += 1;
    }
    assert_eq!(minutes_checked, 58);

    // The first hour is complete: its 1 h point is the sum of its 1 min points.
    let (counter, _) = &ids[0];
    let hour = read_points(conn, TABLES[2], Some(*counter), T0, T0 + H).unwrap();
    let minutes = read_points(conn, TABLES[1], Some(*counter), T0, T0 + H).unwrap();
    assert_eq!(minutes.len(), 60);
    let expected: f64 = (T0..T0 + H)
        .filter(|ts| ts % 97 != 0)
        .map(|ts| (ts % 7 + 1) as f64)
        .sum();
    assert_eq!(hour[0].point.value, Some(expected));
    assert_eq!(
        minutes.iter().filter_map(|m| m.point.value).sum::<f64>(),
        expected
    );

    // The query API agrees: a 1 h step over the first hour reads the 1 h point, a 1 min step the
    // minutes, and the not yet rolled up rest of the current minute comes from the seconds.
    let now = T0 + 2 * H - 1;
    let q = Query::parse(
        &format!("metric=connection.started&from={T0}&to={}&step=1h", T0 + H),
        now,
    )
    .unwrap();
    let v = query::run(conn, &q, now).unwrap();
    assert_eq!(v["series"][0]["points"][0][1].as_f64(), Some(expected));
    let q = Query::parse(
        &format!(
            "metric=connection.started&from={}&to={}&step=1m",
            now - 600,
            now + 1
        ),
        now,
    )
    .unwrap();
    let v = query::run(conn, &q, now).unwrap();
    let pts = v["series"][0]["points"].as_array().unwrap();
    assert_eq!(pts.len(), 11);
    let last_minute: f64 = (now / 60 * 60..=now)
        .filter(|ts| ts % 97 != 0)
        .map(|ts| (ts % 7 + 1) as f64)
        .sum();
    assert_eq!(pts[10][1].as_f64(), Some(last_minute));

    // Ages: 1 s points older than an hour are gone (retention runs once a minute).
    let oldest = min_ts(&store, TABLES[0]).unwrap();
    assert!((T0 + H - 60..=T0 + H + 60).contains(&oldest), "{oldest}");
    assert_eq!(min_ts(&store, TABLES[1]), Some(T0));

    // Four hours on: no 1 s points, 1 min points from an hour on only.
    store.write_second(&agg.take_second(T0 + 4 * H)).unwrap();
    assert_eq!(min_ts(&store, TABLES[0]), None);
    assert_eq!(min_ts(&store, TABLES[1]), Some(T0 + H));
    assert_eq!(min_ts(&store, TABLES[2]), Some(T0));
    // A day and more on: nothing left, and the series are forgotten.
    let outcome = store.write_second(&agg.take_second(T0 + 28 * H)).unwrap();
    assert_eq!(min_ts(&store, TABLES[2]), None);
    assert_eq!(outcome.forgotten.len(), 4);
    let left: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM series", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_restart_continues_rollups_from_the_watermark() {
    let dir = TempDir::new("watermark");
    let path = dir.0.join(store::FILE_NAME);
    let mut store = Store::open(&path, StoreOptions::default()).unwrap();
    let mut agg = Aggregator::new(Vec::new(), 1, 10);
    for ts in T0..T0 + 90 {
        store
            .write_second(&second(&mut agg, ts, "c:1|c\n"))
            .unwrap();
    }
    drop(store);
    // Reopened (as after a crash): the second minute is rolled when it completes.
    let mut store = Store::open(&path, StoreOptions::default()).unwrap();
    let (known, next) = store.load_series().unwrap();
    let mut agg = Aggregator::new(known, next, 10);
    for ts in T0 + 90..T0 + 121 {
        store
            .write_second(&second(&mut agg, ts, "c:1|c\n"))
            .unwrap();
    }
    let pts = read_points(store.connection(), TABLES[1], None, T0, T0 + H).unwrap();
    let values: Vec<_> = pts.iter().map(|p| (p.point.ts, p.point.value)).collect();
    assert_eq!(values, vec![(T0, Some(60.0)), (T0 + 60, Some(60.0))]);
}

#[test]
fn the_disk_cap_evicts_the_oldest_seconds_first() {
    let dir = TempDir::new("disk");
    let path = dir.0.join(store::FILE_NAME);
    let cap = 3 << 20;
    let opts = StoreOptions {
        max_disk: Some(cap),
        ..StoreOptions::default()
    };
    let mut store = Store::open(&path, opts).unwrap();
    let mut agg = Aggregator::new(Vec::new(), 1, 1000);
    let text: String = (0..200).map(|i| format!("disk.c{i}:1|c\n")).collect();
    let mut peak = 0;
    for ts in T0..T0 + 1800 {
        let out = store.write_second(&second(&mut agg, ts, &text)).unwrap();
        if ts % 60 == 0 {
            let used = store::used_bytes(store.connection()).unwrap();
            peak = peak.max(used);
            // Right after maintenance the pages in use fit the cap.
            assert!(used <= cap, "{used} > {cap} at {}", ts - T0);
            let _ = out;
        }
    }
    assert!(peak > cap / 2, "the test must come near the cap: {peak}");
    // The oldest 1 s points went; the 1 min points of the same time are still there.
    let oldest_second = min_ts(&store, TABLES[0]).unwrap();
    assert!(oldest_second > T0 + 300, "{oldest_second}");
    assert_eq!(min_ts(&store, TABLES[1]), Some(T0));
    // The file gives pages back.
    let file = std::fs::metadata(&path).unwrap().len();
    assert!(file <= cap + (1 << 20), "file {file}");
}
