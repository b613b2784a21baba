//! The `metrics` facade: our recorder lands in the catalog slots, and an interop run against
//! `metrics-exporter-statsd` gives the same totals per (name, type) at a real UDP receiver.
#![cfg(feature = "metrics")]

mod emitter_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use emitter_support::Receiver;
use metrics::{Key, KeyName, Metadata, SharedString, Unit};
use realm_metrics::emitter::{describe_catalog, Emitter, Recorder};
use realm_metrics::wire::{Dialect, MetricType};
use realm_metrics::Metric;

#[test]
fn facade_lands_in_catalog_slots() {
    let (e, spy) = Emitter::builder()
        .prefix("p")
        .flush_interval(Duration::ZERO)
        .spy()
        .unwrap();
    let rec = Recorder::new(e.clone());
    let handle = metrics::with_local_recorder(&rec, || {
        metrics::counter!("connection.started").increment(2);
        metrics::counter!("protocol.7.used").increment(1);
        metrics::gauge!("connection.online").set(3.0);
        metrics::gauge!("connection.online").increment(2.0);
        metrics::gauge!("queue.depth").set(1.5);
        metrics::histogram!("merge.seconds").record(0.25);
        metrics::counter!("connection.started")
    });
    // The handle increments the catalog slot directly.
    handle.increment(1);
    e.count(Metric::ConnectionStarted, 1).unwrap();
    e.protocol_used(7).unwrap();
    assert_eq!(e.counter("connection.started").unwrap().pending(), 4);
    e.flush().unwrap();
    assert_eq!(
        spy.lines(),
        [
            "p.connection.started:4|c",
            "p.protocol.7.used:2|c",
            "p.connection.online:5|g",
            "p.queue.depth:1.5|g",
            "p.merge.seconds:0.25|h",
        ]
    );
    // Nothing new registered for the catalog names.
    assert_eq!(e.stats().registered, 2);
}

#[test]
fn facade_labels_histogram_types_and_bad_names() {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let errs = errors.clone();
    let (e, spy) = Emitter::builder()
        .prefix("p")
        .dialect(Dialect::DogStatsd)
        .max_registered(2)
        .flush_interval(Duration::ZERO)
        .on_error(move |e| errs.lock().unwrap().push(e.code()))
        .spy()
        .unwrap();
    let rec = Recorder::new(e.clone())
        .histograms_as(MetricType::Timer)
        .unwrap();
    assert!(Recorder::new(e.clone())
        .histograms_as(MetricType::Counter)
        .is_err());
    metrics::with_local_recorder(&rec, || {
        metrics::counter!("jobs", "queue" => "a").increment(1);
        metrics::histogram!("merge").record(0.0125);
        // Invalid: a no-op handle, reported to the callback; never a panic.
        metrics::counter!("bad name").increment(1);
        // Past the bound: a no-op handle, counted as dropped.
        metrics::counter!("third").increment(1);
    });
    e.flush().unwrap();
    assert_eq!(spy.lines(), ["p.jobs:1|c|#queue:a", "p.merge:12.5|ms"]);
    assert_eq!(e.stats().dropped_cardinality, 1);
    assert_eq!(*errors.lock().unwrap(), ["invalid_name", "dropped"]);
}

#[derive(Default)]
struct Descriptions(Mutex<Vec<(String, &'static str, String)>>);

impl metrics::Recorder for Descriptions {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, d: SharedString) {
        let mut v = self.0.lock().unwrap();
        v.push((key.as_str().to_string(), "counter", d.to_string()));
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, d: SharedString) {
        let mut v = self.0.lock().unwrap();
        v.push((key.as_str().to_string(), "gauge", d.to_string()));
    }
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

#[test]
fn catalog_descriptions() {
    let d = Descriptions::default();
    describe_catalog(&d);
    let got = d.0.into_inner().unwrap();
    assert_eq!(got.len(), 17);
    for (name, kind, desc) in got {
        let m = Metric::ALL
            .into_iter()
            .find(|m| m.name() == name && m.kind().as_str() == kind)
            .unwrap();
        assert_eq!(desc, m.description());
    }
}

#[test]
fn global_install() {
    let (e, spy) = Emitter::builder()
        .prefix("p")
        .flush_interval(Duration::ZERO)
        .spy()
        .unwrap();
    Recorder::new(e.clone()).install().unwrap();
    metrics::counter!("session.failed").increment(3);
    assert_eq!(
        Recorder::new(e.clone()).install().unwrap_err().code(),
        "invalid_config"
    );
    e.flush().unwrap();
    assert_eq!(spy.lines(), ["p.session.failed:3|c"]);
}

/// One event sequence, run through a `metrics` recorder.
fn events() {
    for i in 0..300u64 {
        metrics::counter!("connection.started").increment(1);
        metrics::counter!("jobs.done").increment(i % 3 + 1);
        if i % 10 == 0 {
            metrics::gauge!("connection.online").set((i / 10) as f64);
            metrics::histogram!("merge.size").record(i as f64 / 4.0);
        }
        if i % 50 == 49 {
            // metrics-exporter-statsd's queue holds 256 events by default: let it drain.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn interop_with_metrics_exporter_statsd() {
    let ours_rx = Receiver::new();
    let theirs_rx = Receiver::new();

    let emitter = Emitter::builder()
        .address(ours_rx.address())
        .prefix("realm.test")
        .flush_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let ours = Recorder::new(emitter.clone());
    metrics::with_local_recorder(&ours, events);
    drop(ours);
    emitter.close();

    let theirs = metrics_exporter_statsd::StatsdBuilder::from("127.0.0.1", theirs_rx.addr.port())
        .build(Some("realm.test"))
        .unwrap();
    metrics::with_local_recorder(&theirs, events);
    drop(theirs); // its queue worker drains, then its buffered sink flushes

    let want_counter = |t: &emitter_support::Totals| {
        t.counter("realm.test.connection.started") == 300
            && t.counter("realm.test.jobs.done") == 600
            && t.gauge("realm.test.connection.online") == Some(29.0)
            && t.samples
                .get(&("realm.test.merge.size".to_string(), MetricType::Histogram))
                .map_or(0, Vec::len)
                == 30
    };
    assert!(
        ours_rx.wait_for(Duration::from_secs(10), want_counter),
        "ours: {:?}",
        ours_rx.totals()
    );
    assert!(
        theirs_rx.wait_for(Duration::from_secs(10), want_counter),
        "theirs: {:?}",
        theirs_rx.totals()
    );
    let a = ours_rx.settle(Duration::from_millis(50));
    let b = theirs_rx.settle(Duration::from_millis(50));
    assert_eq!(a.counters, b.counters);
    assert_eq!(a.gauges, b.gauges);
    assert_eq!(a.samples, b.samples);
    // Aggregation: a handful of datagrams instead of hundreds of lines.
    assert!(
        a.lines.len() < b.lines.len() / 5,
        "{} vs {}",
        a.lines.len(),
        b.lines.len()
    );
}
