//! Emitter semantics through the in-memory spy transport: wire rules per dialect, kinds, names,
//! bounds, lifetime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use realm_metrics::emitter::{EmitError, Emitter, MAX_PROTOCOL_VERSIONS};
use realm_metrics::name::NameErrorKind;
use realm_metrics::wire::{Dialect, MetricType};
use realm_metrics::{Kind, Metric};

fn spy(dialect: Dialect) -> (Emitter, realm_metrics::emitter::Spy) {
    Emitter::builder()
        .prefix("realm.h")
        .dialect(dialect)
        .flush_interval(Duration::ZERO)
        .spy()
        .unwrap()
}

#[test]
fn gauges_resent_every_flush_counters_only_when_changed() {
    for (dialect, negative) in [
        (
            Dialect::Etsy,
            vec!["realm.h.realms.open:0|g", "realm.h.realms.open:-2|g"],
        ),
        (
            Dialect::Telegraf,
            vec!["realm.h.realms.open:0|g", "realm.h.realms.open:-2|g"],
        ),
        (Dialect::DogStatsd, vec!["realm.h.realms.open:-2|g"]),
    ] {
        let (e, spy) = spy(dialect);
        e.flush().unwrap();
        assert!(spy.datagrams().is_empty(), "nothing recorded, nothing sent");

        e.count(Metric::SessionStarted, 2).unwrap();
        e.gauge_set(Metric::ConnectionOnline, 5).unwrap();
        e.gauge_add(Metric::ConnectionOnline, -1).unwrap();
        e.flush().unwrap();
        assert_eq!(
            spy.lines(),
            [
                "realm.h.session.started:2|c",
                "realm.h.connection.online:4|g"
            ],
            "{dialect}"
        );

        // No change: the counter is not sent, the gauge is.
        spy.clear();
        e.flush().unwrap();
        assert_eq!(spy.lines(), ["realm.h.connection.online:4|g"], "{dialect}");

        // A negative absolute gauge: reset-then-delta where a sign means "change by", and the
        // pair stays in one datagram.
        spy.clear();
        e.gauge_add(Metric::RealmsOpen, -2).unwrap();
        e.flush().unwrap();
        let mut want = vec!["realm.h.connection.online:4|g"];
        want.extend(negative.iter().copied());
        assert_eq!(spy.lines(), want, "{dialect}");
        assert_eq!(spy.datagrams().len(), 1);

        // Zero is a value too (sent, since the gauge has been set).
        spy.clear();
        e.gauge_set(Metric::ConnectionOnline, 0).unwrap();
        e.gauge_set(Metric::RealmsOpen, 1).unwrap();
        e.flush().unwrap();
        assert_eq!(
            spy.lines(),
            ["realm.h.connection.online:0|g", "realm.h.realms.open:1|g"]
        );
    }
}

#[test]
fn counter_and_gauge_twins_share_a_name() {
    let (e, spy) = spy(Dialect::Etsy);
    e.count(Metric::ProtocolBytesReceived, 300).unwrap();
    e.gauge_set(Metric::ProtocolBytesReceivedGauge, 9000)
        .unwrap();
    e.flush().unwrap();
    assert_eq!(
        spy.lines(),
        [
            "realm.h.protocol.bytes.received:300|c",
            "realm.h.protocol.bytes.received:9000|g"
        ]
    );
}

#[test]
fn wrong_kinds_are_typed_errors() {
    let (e, _spy) = spy(Dialect::Etsy);
    let err = e.count(Metric::ConnectionOnline, 1).unwrap_err();
    assert_eq!(
        err,
        EmitError::WrongKind {
            metric: Metric::ConnectionOnline,
            expected: Kind::Counter
        }
    );
    assert_eq!(err.code(), "wrong_kind");
    assert!(
        err.to_string().contains("connection.online is a gauge"),
        "{err}"
    );
    assert_eq!(
        e.gauge_set(Metric::ConnectionStarted, 1)
            .unwrap_err()
            .code(),
        "wrong_kind"
    );
    assert_eq!(
        e.gauge_add(Metric::ProtocolBytesSent, 1)
            .unwrap_err()
            .code(),
        "wrong_kind"
    );
    assert_eq!(
        e.count(Metric::ProtocolVersionUsed, 1).unwrap_err().code(),
        "templated_metric"
    );
    for m in Metric::ALL {
        let counted = e.count(m, 1).is_ok();
        assert_eq!(counted, m.kind() == Kind::Counter && !m.is_templated());
        assert_eq!(e.gauge_set(m, 1).is_ok(), m.kind() == Kind::Gauge);
    }
}

#[test]
fn protocol_versions_bounded() {
    let (e, spy) = spy(Dialect::Etsy);
    e.protocol_used(7).unwrap();
    e.protocol_used(7).unwrap();
    e.protocol_used(u32::MAX).unwrap();
    e.counter("protocol.7.used").unwrap().increment(3);
    e.flush().unwrap();
    assert_eq!(
        spy.lines(),
        [
            "realm.h.protocol.7.used:5|c",
            "realm.h.protocol.4294967295.used:1|c"
        ]
    );
    for v in 0..MAX_PROTOCOL_VERSIONS as u32 + 10 {
        let _ = e.protocol_used(v);
    }
    assert_eq!(
        e.protocol_used(1_000).unwrap_err().code(),
        "protocol_versions_exceeded"
    );
    // 7 and MAX were already there: 62 of the 73 new versions fit, 11 drop, plus the last one.
    assert_eq!(e.stats().dropped_protocol_versions, 12);
}

#[test]
fn custom_names_validated() {
    let (e, _spy) = spy(Dialect::Etsy);
    for (name, bad) in [
        ("a\nb", Some(b'\n')),
        ("a:b", Some(b':')),
        ("a|b", Some(b'|')),
        ("a@b", Some(b'@')),
        ("a#b", Some(b'#')),
        ("a..b", None),
        (".a", None),
        ("a.", None),
        ("", None),
    ] {
        for err in [
            e.counter(name).unwrap_err(),
            e.gauge(name).unwrap_err(),
            e.timing(name, 1.0).unwrap_err(),
            e.sampler(name, MetricType::Histogram).unwrap_err(),
        ] {
            assert_eq!(err.code(), "invalid_name", "{name:?}");
            let EmitError::InvalidName(n) = &err else {
                panic!("{err:?}")
            };
            match bad {
                Some(b) => {
                    assert_eq!(n.kind, NameErrorKind::InvalidByte(b));
                    assert!(err.to_string().contains("invalid character"), "{err}");
                }
                None => assert!(matches!(
                    n.kind,
                    NameErrorKind::EmptySegment | NameErrorKind::Empty
                )),
            }
        }
    }
    assert_eq!(e.set("s", "a|b").unwrap_err().code(), "invalid_value");
    assert_eq!(
        e.timing("t", f64::NAN).unwrap_err().code(),
        "non_finite_value"
    );
    assert_eq!(e.stats().registered, 0);
    // A bad prefix or tag fails at build.
    let err = Emitter::builder().prefix("a b").spy().unwrap_err();
    assert_eq!(err.code(), "invalid_name");
    let err = Emitter::builder().tag("k", "v").spy().unwrap_err();
    assert_eq!(err.code(), "tags_unsupported");
    let err = Emitter::builder()
        .dialect(Dialect::Telegraf)
        .tag("k", "a,b")
        .spy()
        .unwrap_err();
    assert_eq!(err.code(), "invalid_tag");
    let err = Emitter::builder().hostname_as_tag(true).spy().unwrap_err();
    assert_eq!(err.code(), "tags_unsupported");
}

#[test]
fn registry_is_bounded_under_a_million_names() {
    let (e, spy) = spy(Dialect::Etsy);
    let first = e.counter("n.0").unwrap();
    let mut refused = 0u64;
    for i in 0..1_000_000u32 {
        let name = format!("n.{i}");
        let r = if i % 2 == 0 {
            e.counter(&name).map(|c| c.increment(1))
        } else {
            e.gauge(&name).map(|g| g.set(1))
        };
        match r {
            Ok(()) => {}
            Err(err) => {
                assert_eq!(err.code(), "cardinality_exceeded");
                refused += 1;
            }
        }
    }
    let s = e.stats();
    assert_eq!(s.registered, 10_000);
    // "n.0" was registered before the loop, and found again in it.
    assert_eq!(refused, 1_000_000 - 10_000);
    assert_eq!(s.dropped_cardinality, refused);
    // Registered names still work, and still resolve to the same slot.
    first.increment(1);
    assert_eq!(e.counter("n.0").unwrap().pending(), 2);
    e.flush().unwrap();
    assert_eq!(spy.lines().len(), 10_000);
    assert!(spy.datagrams().iter().all(|d| d.len() <= 1432));
}

#[test]
fn cardinality_bound_configurable_and_dropped_reported() {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let errs = errors.clone();
    let (e, _spy) = Emitter::builder()
        .prefix("p")
        .max_registered(3)
        .max_samples(2)
        .flush_interval(Duration::ZERO)
        .on_error(move |e| errs.lock().unwrap().push(e.clone()))
        .spy()
        .unwrap();
    e.counter("a").unwrap();
    e.gauge("b").unwrap();
    e.timing("c", 1.0).unwrap();
    assert_eq!(
        e.counter("d").unwrap_err(),
        EmitError::CardinalityExceeded { limit: 3 }
    );
    // Catalog names never use the registry.
    e.counter("connection.started").unwrap().increment(1);
    e.gauge("connection.online").unwrap().set(1);
    e.timing("c", 2.0).unwrap();
    assert_eq!(e.timing("c", 3.0).unwrap_err().code(), "sample_buffer_full");
    let s = e.stats();
    assert_eq!(
        (s.registered, s.dropped_cardinality, s.dropped_samples),
        (3, 1, 1)
    );
    e.flush().unwrap();
    let got = errors.lock().unwrap().clone();
    assert_eq!(
        got,
        [
            EmitError::Dropped {
                what: "cardinality",
                count: 1
            },
            EmitError::Dropped {
                what: "samples",
                count: 1
            }
        ]
    );
    // Reported once.
    e.flush().unwrap();
    assert_eq!(errors.lock().unwrap().len(), 2);
}

#[test]
fn samples_and_tags() {
    let (e, spy) = Emitter::builder()
        .prefix("realm")
        .dialect(Dialect::Telegraf)
        .hostname_as_tag(true)
        .tag("env", "prod")
        .flush_interval(Duration::ZERO)
        .spy()
        .unwrap();
    let host = realm_metrics::name::hostname();
    e.count(Metric::ConnectionStarted, 1).unwrap();
    e.timing("t", 1.5).unwrap();
    e.histogram("h", 2.0).unwrap();
    e.distribution("d", -0.25).unwrap();
    e.set("s", "user-1").unwrap();
    e.counter_with_tags("jobs", &[("queue", "a")])
        .unwrap()
        .increment(2);
    let s = e.sampler("lat", MetricType::Distribution).unwrap();
    s.record(7.0).unwrap();
    assert_eq!(
        e.sampler("x", MetricType::Set).unwrap_err().code(),
        "invalid_config"
    );
    e.flush().unwrap();
    let t = format!("env=prod,host={host}");
    assert_eq!(
        spy.lines(),
        [
            format!("realm.connection.started,{t}:1|c"),
            format!("realm.jobs,{t},queue=a:2|c"),
            format!("realm.t,{t}:1.5|ms"),
            format!("realm.h,{t}:2|h"),
            format!("realm.d,{t}:-0.25|d"),
            format!("realm.s,{t}:user-1|s"),
            format!("realm.lat,{t}:7|d"),
        ]
    );
    // The default prefix is realm.<hostname>.
    let (e, _) = Emitter::builder().spy().unwrap();
    assert_eq!(e.prefix(), format!("realm.{host}"));
    let (e, _) = Emitter::builder()
        .dialect(Dialect::DogStatsd)
        .hostname_as_tag(true)
        .spy()
        .unwrap();
    assert_eq!(e.prefix(), "realm");
}

#[test]
fn tags_dropped_in_etsy_and_merged() {
    let (e, spy) = spy(Dialect::Etsy);
    let a = e.counter_with_tags("jobs", &[("q", "a")]).unwrap();
    let b = e.counter_with_tags("jobs", &[("q", "b")]).unwrap();
    a.increment(1);
    b.increment(2);
    e.flush().unwrap();
    assert_eq!(spy.lines(), ["realm.h.jobs:3|c"]);
}

#[test]
fn oversize_lines_dropped_and_counted() {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let errs = errors.clone();
    let (e, spy) = Emitter::builder()
        .prefix("p")
        .max_payload(64)
        .flush_interval(Duration::ZERO)
        .on_error(move |e| errs.lock().unwrap().push(e.clone()))
        .spy()
        .unwrap();
    let long = "x".repeat(100);
    e.counter(&long).unwrap().increment(1);
    e.count(Metric::SessionFailed, 1).unwrap();
    let err = e.flush().unwrap_err();
    assert_eq!(err.code(), "line_too_long");
    let EmitError::LineTooLong(l) = err else {
        panic!()
    };
    assert_eq!((l.len, l.max), ("p.".len() + 100 + ":1|c".len(), 64));
    assert_eq!(spy.lines(), ["p.session.failed:1|c"]);
    assert_eq!(e.stats().lines_dropped_oversize, 1);
    assert_eq!(errors.lock().unwrap().len(), 1);
}

#[test]
fn close_flushes_and_later_calls_are_no_ops() {
    let (e, spy) = Emitter::builder()
        .prefix("p")
        .flush_interval(Duration::from_secs(3600))
        .spy()
        .unwrap();
    let c = e.counter("c").unwrap();
    c.increment(1);
    let e2 = e.clone();
    e.close();
    assert!(e2.is_closed());
    assert_eq!(spy.lines(), ["p.c:1|c"]);
    // After close: recording is ignored, flush and close do nothing.
    c.increment(1);
    e2.count(Metric::SessionStarted, 1).unwrap();
    e2.flush().unwrap();
    e2.close();
    drop(e);
    drop(e2);
    assert_eq!(spy.lines(), ["p.c:1|c"]);
}

#[test]
fn flusher_thread_sends_on_its_own() {
    let (e, spy) = Emitter::builder()
        .prefix("p")
        .flush_interval(Duration::from_millis(10))
        .spy()
        .unwrap();
    e.count(Metric::SessionStarted, 1).unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while spy.lines().is_empty() {
        assert!(std::time::Instant::now() < end);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(spy.lines(), ["p.session.started:1|c"]);
    assert!(e.stats().flushes >= 1);
}

#[test]
fn callback_panics_and_close_from_callback_are_harmless() {
    let slot: Arc<Mutex<Option<Emitter>>> = Arc::new(Mutex::new(None));
    let s2 = slot.clone();
    let (e, _spy) = Emitter::builder()
        .prefix("p")
        .max_payload(16)
        .flush_interval(Duration::from_millis(5))
        .on_error(move |_| {
            if let Some(e) = s2.lock().unwrap().take() {
                e.close(); // on the flusher thread: must not deadlock
            }
            panic!("callback panics are caught");
        })
        .spy()
        .unwrap();
    *slot.lock().unwrap() = Some(e.clone());
    e.counter("a.long.name.that.does.not.fit")
        .unwrap()
        .increment(1);
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while !e.is_closed() {
        assert!(std::time::Instant::now() < end);
        std::thread::sleep(Duration::from_millis(5));
    }
    e.close();
}

#[test]
fn sampled_samplers_carry_their_rate_on_the_wire() {
    let (e, spy) = spy(Dialect::DogStatsd);
    let sampled = e
        .sampler_with_rate("req.latency", MetricType::Timer, &[("route", "sync")], 0.25)
        .unwrap();
    let full = e
        .sampler_with_rate("req.latency", MetricType::Timer, &[], 1.0)
        .unwrap();
    sampled.record(12.5).unwrap();
    full.record(3.0).unwrap();
    e.flush().unwrap();
    let lines = spy.lines();
    assert!(
        lines.contains(&"realm.h.req.latency:12.5|ms|@0.25|#route:sync".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"realm.h.req.latency:3|ms".to_string()),
        "{lines:?}"
    );
    for bad in [0.0, -0.5, 1.5, f64::NAN] {
        let err = e
            .sampler_with_rate("x", MetricType::Histogram, &[], bad)
            .unwrap_err();
        assert_eq!(err.code(), "invalid_sample_rate", "{bad}");
    }
}
