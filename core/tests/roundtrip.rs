//! Property tests: whatever the encoder writes, the decoder reads back as the same metric, and no
//! input makes the decoder panic.

use proptest::prelude::*;
use realm_metrics::wire::{
    decode, Dialect, Encoder, LineOptions, MetricType, Number, Record, SampleValue, Tag, Value,
};

fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,12}"
}

fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..5).prop_map(|s| s.join("."))
}

fn tag_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./-]{1,10}"
}

#[derive(Debug, Clone)]
enum V {
    Int(i64),
    UInt(u64),
    Float(f64),
    Set(String),
}

fn value_for(ty: MetricType) -> BoxedStrategy<V> {
    match ty {
        MetricType::Set => "[A-Za-z0-9_.-]{1,16}".prop_map(V::Set).boxed(),
        _ => prop_oneof![
            any::<i64>().prop_map(V::Int),
            any::<u64>().prop_map(V::UInt),
            (-1e12f64..1e12).prop_map(V::Float),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(V::Float),
        ]
        .boxed(),
    }
}

fn metric_type() -> impl Strategy<Value = MetricType> {
    prop::sample::select(MetricType::ALL.to_vec())
}

fn dialect() -> impl Strategy<Value = Dialect> {
    prop::sample::select(vec![Dialect::Etsy, Dialect::Telegraf, Dialect::DogStatsd])
}

fn number_eq(n: Number, v: &V) -> bool {
    match (n, v) {
        (Number::Int(a), V::Int(b)) => a == *b,
        (Number::UInt(a), V::Int(b)) => i64::try_from(a).ok() == Some(*b),
        (Number::UInt(a), V::UInt(b)) => a == *b,
        (n, V::Float(b)) => n.as_f64() == *b || (n.as_f64() == 0.0 && *b == 0.0),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_then_decode_gives_the_metric_back(
        dialect in dialect(),
        prefix in prop::option::of(name()),
        name in name(),
        ty in metric_type(),
        v in metric_type().prop_flat_map(value_for),
        rate in prop::option::of(0.001f64..=1.0),
        tags in prop::collection::vec((tag_text(), tag_text()), 0..4),
    ) {
        // Re-draw the value for the chosen type when the generated one does not fit it.
        let v = match (&v, ty) {
            (V::Set(_), t) if t != MetricType::Set => V::Int(7),
            (V::Set(_), _) => v,
            (_, MetricType::Set) => V::Set("member".into()),
            _ => v,
        };
        let tags: Vec<Tag<'_>> = if dialect == Dialect::Etsy {
            Vec::new()
        } else {
            tags.iter().map(|(k, v)| Tag::new(k, Some(v))).collect()
        };
        let prefix = prefix.unwrap_or_default();
        let enc = Encoder::new(dialect, &prefix, &[]).unwrap();
        let value = match &v {
            V::Int(i) => Value::Int(*i),
            V::UInt(u) => Value::UInt(*u),
            V::Float(f) => Value::Float(*f),
            V::Set(s) => Value::Str(s),
        };
        let opts = LineOptions { sample_rate: rate, tags: &tags };
        let mut buf = vec![0u8; 2048];
        let n = enc.encode(&mut buf, &name, value, ty, &opts).unwrap();
        let out = &buf[..n];
        let records: Vec<_> = decode(out).collect();
        let signed_gauge = ty == MetricType::Gauge
            && match &v { V::Int(i) => *i < 0, V::Float(f) => *f < 0.0, _ => false };
        // In etsy and telegraf a negative absolute gauge is a reset to 0 and then a change.
        let negative_gauge = signed_gauge && dialect != Dialect::DogStatsd;
        prop_assert_eq!(records.len(), if negative_gauge { 2 } else { 1 }, "{}", String::from_utf8_lossy(out));
        let full = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        for (i, r) in records.iter().enumerate() {
            let Ok(Record::Metric(line)) = r else { panic!("{r:?} from {}", String::from_utf8_lossy(out)) };
            prop_assert_eq!(line.name, full.as_str());
            let samples: Vec<_> = line.samples().collect();
            prop_assert_eq!(samples.len(), 1);
            let s = samples[0];
            prop_assert_eq!(s.ty, ty);
            let want_rate = rate.filter(|r| *r < 1.0);
            prop_assert_eq!(s.sample_rate, want_rate);
            let got_tags: Vec<(&str, Option<&str>)> = s.tags().iter().collect();
            let want_tags: Vec<(&str, Option<&str>)> = tags.iter().map(|t| (t.key, t.value)).collect();
            prop_assert_eq!(got_tags, want_tags);
            if negative_gauge && i == 0 {
                prop_assert_eq!(s.value, SampleValue::Number(Number::UInt(0)));
                prop_assert!(!s.delta);
                continue;
            }
            // A negative gauge value carries a sign, which the decoder reports as `delta`
            // (in DogStatsD the daemon reads it as absolute; after the reset, so do the others).
            prop_assert_eq!(s.delta, signed_gauge);
            match (&s.value, &v) {
                (SampleValue::Set(a), V::Set(b)) => prop_assert_eq!(*a, b.as_str()),
                (SampleValue::Number(n), v) => prop_assert!(number_eq(*n, v), "{:?} vs {:?}", n, v),
                (a, b) => prop_assert!(false, "{:?} vs {:?}", a, b),
            }
        }
    }

    #[test]
    fn decoder_never_panics(input in prop::collection::vec(any::<u8>(), 0..512)) {
        for r in decode(&input) {
            if let Ok(Record::Metric(line)) = r {
                for s in line.samples() {
                    let _ = s.tags().iter().count();
                    let _ = s.extensions().count();
                }
            }
        }
    }

    #[test]
    fn decoder_never_panics_on_statsd_like_input(input in "[a-z0-9.:|@#,=_{}Tce+-]{0,80}(\n[a-z0-9.:|@#,=_{}Tce+-]{0,80}){0,4}") {
        let mut lines = 0;
        for r in decode(input.as_bytes()) {
            lines += 1;
            match r {
                Ok(Record::Metric(line)) => {
                    prop_assert!(line.samples().count() >= 1);
                }
                Ok(_) => {}
                Err(e) => {
                    prop_assert!(e.column >= 1);
                    prop_assert!(e.line >= 1);
                }
            }
        }
        prop_assert!(lines <= input.split('\n').count());
    }
}
