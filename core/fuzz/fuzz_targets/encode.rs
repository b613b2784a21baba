//! Fuzz the encoder with arbitrary names, prefixes, values, types, sample rates, tags, dialects,
//! host tags and buffer sizes (the input bytes are split with `arbitrary::Unstructured`).
//!
//! Asserts: nothing panics; an error is one of the typed `EncodeError`s with a stable code and a
//! message; an `Ok(n)` output fits the buffer and decodes back with the core decoder, every line
//! valid, to the same name, type, value (integers exactly), sample rate, delta flag and tags.
#![no_main]

use libfuzzer_sys::arbitrary::{Result as AResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use realm_metrics::wire::{
    decode, Dialect, EncodeError, Encoder, LineOptions, MetricType, Number, Record, SampleValue,
    Tag, Value,
};
use realm_metrics::Metric;

/// Bytes the generator favours: valid name bytes, separators and every byte with a meaning on
/// the wire, so that both valid and hostile strings are frequent.
const ALPHABET: &[u8] = b"ab_-09.Z:|@#,=\n\r \0\t\\/";

/// A string: usually built from `ALPHABET`, sometimes raw UTF-8 from the input.
fn text<'s>(u: &mut Unstructured<'_>, out: &'s mut String) -> AResult<&'s str> {
    out.clear();
    if u.ratio(1u8, 8u8)? {
        let s: &str = u.arbitrary()?;
        out.push_str(s);
    } else {
        let len = u.int_in_range(0u8..=24)?;
        for _ in 0..len {
            let i = u.choose_index(ALPHABET.len())?;
            out.push(ALPHABET[i] as char);
        }
        if u.ratio(1u8, 16u8)? {
            out.push('é');
        }
    }
    Ok(out.as_str())
}

fn check_error(e: &EncodeError) {
    assert!(!e.code().is_empty());
    assert!(!e.to_string().is_empty());
}

/// Decode `out` and check it against what was asked.
#[allow(clippy::too_many_arguments)]
fn check_output(
    out: &[u8],
    enc: &Encoder<'_>,
    name: &str,
    value: Value<'_>,
    ty: MetricType,
    rate: Option<f64>,
    tags: &[Tag<'_>],
    delta: bool,
) {
    let full = if enc.prefix().is_empty() {
        name.to_string()
    } else {
        format!("{}.{}", enc.prefix(), name)
    };
    let newlines = out.iter().filter(|&&b| b == b'\n').count();
    let mut lines = 0;
    for rec in decode(out) {
        lines += 1;
        let line = match rec {
            Ok(Record::Metric(l)) => l,
            other => panic!(
                "encoded {:?} decodes as {other:?}",
                String::from_utf8_lossy(out)
            ),
        };
        assert_eq!(
            line.name,
            full,
            "name of {:?}",
            String::from_utf8_lossy(out)
        );
        let s = line.first();
        assert!(!line.is_multi(), "{:?}", String::from_utf8_lossy(out));
        assert_eq!(s.ty, ty, "type of {:?}", String::from_utf8_lossy(out));
        // Sample tags are the Telegraf bucket tags, then the DogStatsD `|#` tags.
        let got: Vec<(&str, Option<&str>)> = s.tags().iter().collect();
        let want: Vec<(&str, Option<&str>)> = tags.iter().map(|t| (t.key, t.value)).collect();
        assert_eq!(got, want, "tags of {:?}", String::from_utf8_lossy(out));
        match enc.dialect() {
            Dialect::Etsy => assert!(line.bucket_tags().is_empty()),
            Dialect::Telegraf => {}
            Dialect::DogStatsd => assert!(line.bucket_tags().is_empty()),
        }
        let written_rate = rate.filter(|r| *r < 1.0);
        match (s.sample_rate, written_rate) {
            (None, None) => {}
            (Some(a), Some(b)) => assert_eq!(a, b),
            (a, b) => panic!("rate {a:?} != {b:?} in {:?}", String::from_utf8_lossy(out)),
        }
        if lines == newlines + 1 {
            // The (last) line carrying the value; the decoder reads a signed gauge as a change.
            let signed = delta || is_negative(value);
            assert_eq!(
                s.delta,
                ty == MetricType::Gauge && signed,
                "{:?}",
                String::from_utf8_lossy(out)
            );
            match (value, s.value) {
                (Value::UInt(v), SampleValue::Number(Number::UInt(d))) => assert_eq!(v, d),
                (Value::Int(v), SampleValue::Number(Number::UInt(d))) => {
                    assert_eq!(Some(v), i64::try_from(d).ok())
                }
                (Value::Int(v), SampleValue::Number(Number::Int(d))) => assert_eq!(v, d),
                (Value::Float(v), SampleValue::Number(n)) => {
                    assert_eq!(v, n.as_f64(), "{:?}", String::from_utf8_lossy(out))
                }
                (Value::Str(m), SampleValue::Set(d)) => assert_eq!(m, d),
                // A number is a valid set member: it comes back as its text.
                (Value::Int(v), SampleValue::Set(d)) => assert_eq!(d.parse::<i64>(), Ok(v)),
                (Value::UInt(v), SampleValue::Set(d)) => assert_eq!(d.parse::<u64>(), Ok(v)),
                (Value::Float(v), SampleValue::Set(d)) => assert_eq!(d.parse::<f64>(), Ok(v)),
                (v, d) => panic!(
                    "value {v:?} decoded as {d:?}: {:?}",
                    String::from_utf8_lossy(out)
                ),
            }
        } else {
            // The reset line of a negative absolute gauge.
            assert_eq!(s.value, SampleValue::Number(Number::UInt(0)));
            assert!(!s.delta);
        }
    }
    assert!(
        (1..=2).contains(&lines),
        "{lines} lines in {:?}",
        String::from_utf8_lossy(out)
    );
}

/// Whether the value is written with a leading `-`.
fn is_negative(value: Value<'_>) -> bool {
    match value {
        Value::Int(v) => v < 0,
        Value::Float(v) => v < 0.0,
        _ => false,
    }
}

fn run(u: &mut Unstructured<'_>) -> AResult<()> {
    let dialect = *u.choose(&[Dialect::Etsy, Dialect::Telegraf, Dialect::DogStatsd])?;
    let mut sbuf: [String; 12] = Default::default();
    let [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11] = &mut sbuf;
    let prefix = if u.ratio(1u8, 4u8)? { "" } else { text(u, s0)? };
    let name = text(u, s1)?;
    let mut pool = [s2, s3, s4, s5, s6, s7, s8, s9].into_iter();
    let mut global = Vec::new();
    for _ in 0..u.int_in_range(0u8..=2)? {
        let (Some(k), Some(v)) = (pool.next(), pool.next()) else {
            break;
        };
        let key = text(u, k)?;
        let value = if u.ratio(1u8, 5u8)? {
            None
        } else {
            Some(text(u, v)?)
        };
        global.push(Tag::new(key, value));
    }
    let mut line_tags = Vec::new();
    for _ in 0..u.int_in_range(0u8..=2)? {
        let (Some(k), Some(v)) = (pool.next(), pool.next()) else {
            break;
        };
        let key = text(u, k)?;
        let value = if u.ratio(1u8, 5u8)? {
            None
        } else {
            Some(text(u, v)?)
        };
        line_tags.push(Tag::new(key, value));
    }
    let host = if u.ratio(1u8, 6u8)? {
        Some(text(u, s10)?)
    } else {
        None
    };
    let ty = *u.choose(&MetricType::ALL)?;
    let value = match u.int_in_range(0u8..=4)? {
        0 => Value::Int(u.arbitrary()?),
        1 => Value::UInt(u.arbitrary()?),
        2 => Value::Float(u.arbitrary()?),
        3 => Value::Float(f64::from(u.int_in_range(-1000i32..=1000)?) / 8.0),
        _ => Value::Str(text(u, s11)?),
    };
    let sample_rate = match u.int_in_range(0u8..=3)? {
        0 => None,
        1 => Some(u.arbitrary::<f64>()?),
        2 => Some(f64::from(u.int_in_range(0u8..=20)?) / 16.0),
        _ => Some(1.0),
    };
    let delta = u.ratio(1u8, 5u8)?;
    let buf_len = if u.ratio(1u8, 4u8)? {
        usize::from(u.int_in_range(0u8..=80)?)
    } else {
        512
    };
    let mut buf = vec![0u8; buf_len];

    let enc = match Encoder::new(dialect, prefix, &global) {
        Ok(e) => e,
        Err(e) => return Ok(check_error(&e)),
    };
    let enc = match host {
        Some(h) => match enc.with_host_tag(h) {
            Ok(e) => e,
            Err(e) => return Ok(check_error(&e)),
        },
        None => enc,
    };
    let opts = LineOptions {
        sample_rate,
        tags: &line_tags,
    };
    let host_tag = host.map(|h| Tag::new("host", Some(h)));
    let all_tags: Vec<Tag<'_>> = global.iter().copied().chain(host_tag).collect();
    let mut with_line = all_tags.clone();
    with_line.extend(line_tags.iter().copied());
    let r = if delta {
        enc.encode_gauge_delta(&mut buf, name, value, &opts)
    } else {
        enc.encode(&mut buf, name, value, ty, &opts)
    };
    match r {
        Ok(n) => {
            assert!(n <= buf.len());
            let ty = if delta { MetricType::Gauge } else { ty };
            check_output(
                &buf[..n],
                &enc,
                name,
                value,
                ty,
                sample_rate,
                &with_line,
                delta,
            );
        }
        Err(e) => check_error(&e),
    }

    // The catalog and protocol paths with the same encoder and buffer.
    let metric = *u.choose(&Metric::ALL)?;
    let v = match value {
        Value::Str(_) => Value::UInt(1),
        v => v,
    };
    match enc.encode_metric(&mut buf, metric, v) {
        Ok(n) => {
            let ty = metric.kind().wire_type();
            check_output(
                &buf[..n],
                &enc,
                metric.name(),
                v,
                ty,
                None,
                &all_tags,
                false,
            );
        }
        Err(e) => check_error(&e),
    }
    let version: u64 = u.arbitrary()?;
    let count: u64 = u.arbitrary()?;
    match enc.encode_protocol_used(&mut buf, version, count) {
        Ok(n) => {
            let name = format!("protocol.{version}.used");
            let v = Value::UInt(count);
            check_output(
                &buf[..n],
                &enc,
                &name,
                v,
                MetricType::Counter,
                None,
                &all_tags,
                false,
            );
        }
        Err(e) => check_error(&e),
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});
