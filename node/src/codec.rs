//! The catalog and the StatsD codec: `catalog()`, `Metric`, `encodeLine()`, `decode()`.

use napi::bindgen_prelude::{Array, BigInt, Buffer, Either, Either3, Object};
use napi::{Env, Result};
use napi_derive::napi;
use realm_metrics::wire::{
    flatten, CatalogMatch, Dialect, EncodeError, Encoder, Event, Flat, FlatValue, LineOptions,
    MetricType, Number, Sample, SampleValue, ServiceCheck, Tag, Tags, Value,
};

use crate::error::{throw, throw_encode};

/// One row of the ROS metric catalog.
#[napi(object)]
#[derive(Debug)]
pub struct CatalogEntry {
    /// The stable id (reference order, from 0); the value of `Metric.<Name>`.
    pub id: u32,
    /// The wire name after the prefix, e.g. `connection.online` (`protocol.<version>.used` for
    /// the templated row).
    pub name: String,
    /// `counter` or `gauge`.
    pub kind: String,
    /// `client`, `session`, `connection`, `realms`, `authentication`, `permission` or
    /// `protocol`.
    pub group: String,
    /// The reference's description.
    pub description: String,
}

/// The 18 catalog rows, in the reference's order (index = id).
#[napi(catch_unwind)]
pub fn catalog() -> Vec<CatalogEntry> {
    realm_metrics::Metric::ALL
        .iter()
        .map(|m| CatalogEntry {
            id: m.id(),
            name: m.name().to_owned(),
            kind: m.kind().as_str().to_owned(),
            group: m.group().as_str().to_owned(),
            description: m.description().to_owned(),
        })
        .collect()
}

/// Ids of the catalog metrics (`Metric.ConnectionStarted === 5`). The gauge twins of the
/// `protocol.bytes.*` counters carry a `Gauge` suffix.
#[napi]
#[derive(Debug)]
pub enum Metric {
    /// `client.unsyncable` (counter)
    ClientUnsyncable = 0,
    /// `session.started` (counter)
    SessionStarted = 1,
    /// `session.online` (gauge)
    SessionOnline = 2,
    /// `session.failed` (counter)
    SessionFailed = 3,
    /// `session.terminated` (counter)
    SessionTerminated = 4,
    /// `connection.started` (counter)
    ConnectionStarted = 5,
    /// `connection.online` (gauge)
    ConnectionOnline = 6,
    /// `connection.failed` (counter)
    ConnectionFailed = 7,
    /// `connection.terminated` (counter)
    ConnectionTerminated = 8,
    /// `realms.open` (gauge)
    RealmsOpen = 9,
    /// `authentication.failed` (counter)
    AuthenticationFailed = 10,
    /// `permission.denied` (counter)
    PermissionDenied = 11,
    /// `protocol.<version>.used` (counter; the version is part of the name)
    ProtocolVersionUsed = 12,
    /// `protocol.violated` (counter)
    ProtocolViolated = 13,
    /// `protocol.bytes.received` (counter: bytes of each upload message)
    ProtocolBytesReceived = 14,
    /// `protocol.bytes.sent` (counter: bytes of each download message)
    ProtocolBytesSent = 15,
    /// `protocol.bytes.received` (gauge: bytes received since the start)
    ProtocolBytesReceivedGauge = 16,
    /// `protocol.bytes.sent` (gauge: bytes sent since the start)
    ProtocolBytesSentGauge = 17,
}

/// A tag: a key and a value (`null` for a bare DogStatsD tag).
#[napi(object)]
#[derive(Debug)]
pub struct TagPair {
    /// The key.
    pub key: String,
    /// The value; `null`/absent for a bare tag.
    pub value: Option<String>,
}

/// Options of `encodeLine` (already normalised by the JavaScript layer).
#[napi(object)]
#[derive(Debug)]
pub struct EncodeLineOptions {
    /// `etsy` (default), `telegraf` or `dogstatsd`.
    pub dialect: Option<String>,
    /// The prefix (default none).
    pub prefix: Option<String>,
    /// Tags written first.
    pub global_tags: Option<Vec<TagPair>>,
    /// Tags of this line.
    pub tags: Option<Vec<TagPair>>,
    /// Written as `|@rate` when below 1.
    pub sample_rate: Option<f64>,
    /// A gauge change (`+N|g` / `-N|g`).
    pub delta: Option<bool>,
    /// Telegraf `hostname_as_tag`: a `host=<value>` tag after the global tags.
    pub hostname_as_tag: Option<String>,
}

pub(crate) fn parse_dialect(env: &Env, s: Option<&str>) -> Result<Dialect> {
    match s {
        None => Ok(Dialect::Etsy),
        Some(d) => Dialect::parse(d).ok_or_else(|| {
            throw(
                env,
                "invalid_dialect",
                &format!("unknown dialect {d:?} (expected etsy, telegraf or dogstatsd)"),
            )
        }),
    }
}

pub(crate) fn parse_type(env: &Env, s: &str) -> Result<MetricType> {
    MetricType::from_wire(s.as_bytes()).ok_or_else(|| {
        throw(
            env,
            "invalid_type",
            &format!("unknown metric type {s:?} (expected c, g, ms, h, s or d)"),
        )
    })
}

const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// A JavaScript number as an encoder value: integers exactly, others as floats.
pub(crate) fn number_value(v: f64) -> Value<'static> {
    if v.fract() == 0.0 && v.abs() <= MAX_SAFE {
        if v < 0.0 {
            Value::Int(v as i64)
        } else {
            Value::UInt(v as u64)
        }
    } else {
        Value::Float(v)
    }
}

fn bigint_value(env: &Env, b: &BigInt) -> Result<Value<'static>> {
    let out_of_range = || {
        throw(
            env,
            "invalid_value",
            "a BigInt value must fit in 64 bits (u64, or i64 when negative)",
        )
    };
    let w = match b.words.as_slice() {
        [] => 0,
        [w] => *w,
        _ => return Err(out_of_range()),
    };
    if !b.sign_bit {
        return Ok(Value::UInt(w));
    }
    if w <= 1u64 << 63 {
        Ok(Value::Int((w as i64).wrapping_neg()))
    } else {
        Err(out_of_range())
    }
}

fn pairs(tags: &[TagPair]) -> Vec<Tag<'_>> {
    tags.iter()
        .map(|t| Tag::new(&t.key, t.value.as_deref()))
        .collect()
}

/// Encode one line (two for a negative absolute gauge in etsy and telegraf). Throws
/// `TypeError`/`RangeError` with `code` `ERR_REALM_METRICS_<encoder code>`.
#[napi(catch_unwind)]
pub fn encode_line(
    env: &Env,
    name: String,
    value: Either3<f64, BigInt, String>,
    metric_type: String,
    options: Option<EncodeLineOptions>,
) -> Result<String> {
    let o = options.unwrap_or(EncodeLineOptions {
        dialect: None,
        prefix: None,
        global_tags: None,
        tags: None,
        sample_rate: None,
        delta: None,
        hostname_as_tag: None,
    });
    let dialect = parse_dialect(env, o.dialect.as_deref())?;
    let ty = parse_type(env, &metric_type)?;
    let value = match &value {
        Either3::A(n) => number_value(*n),
        Either3::B(b) => bigint_value(env, b)?,
        Either3::C(s) => Value::Str(s),
    };
    let global = pairs(o.global_tags.as_deref().unwrap_or(&[]));
    let tags = pairs(o.tags.as_deref().unwrap_or(&[]));
    let prefix = o.prefix.as_deref().unwrap_or("");
    let mut enc = Encoder::new(dialect, prefix, &global).map_err(|e| throw_encode(env, &e))?;
    if let Some(h) = o.hostname_as_tag.as_deref() {
        enc = enc.with_host_tag(h).map_err(|e| throw_encode(env, &e))?;
    }
    let opts = LineOptions {
        sample_rate: o.sample_rate,
        tags: &tags,
    };
    let delta = o.delta.unwrap_or(false);
    if delta && ty != MetricType::Gauge {
        return Err(throw_encode(env, &EncodeError::DeltaNotGauge));
    }
    let mut size = 256usize;
    loop {
        let mut buf = vec![0u8; size];
        let r = if delta {
            enc.encode_gauge_delta(&mut buf, &name, value, &opts)
        } else {
            enc.encode(&mut buf, &name, value, ty, &opts)
        };
        match r {
            Ok(n) => {
                buf.truncate(n);
                return String::from_utf8(buf)
                    .map_err(|_| throw(env, "invalid_value", "the line is not valid UTF-8"));
            }
            Err(EncodeError::BufferTooSmall) if size < (1 << 26) => size *= 4,
            Err(e) => return Err(throw_encode(env, &e)),
        }
    }
}

/// A number as JavaScript sees it: a `number` when exact, a `BigInt` beyond 2^53.
fn js_number(n: Number) -> Either<f64, BigInt> {
    match n {
        Number::Int(v) if (v as f64).abs() <= MAX_SAFE => Either::A(v as f64),
        Number::Int(v) => Either::B(BigInt::from(v)),
        Number::UInt(v) if v as f64 <= MAX_SAFE => Either::A(v as f64),
        Number::UInt(v) => Either::B(BigInt::from(v)),
        Number::Float(v) => Either::A(v),
    }
}

fn js_u64(v: Option<u64>) -> Option<Either<f64, BigInt>> {
    v.map(|v| js_number(Number::UInt(v)))
}

fn tags_object<'e>(env: &'e Env, t: Tags<'_>) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    for (k, v) in t.iter() {
        o.set(k, v)?;
    }
    Ok(o)
}

/// The tags object and unknown-fields array of the last value, which the next values of its
/// segment (`k:1:2:3|c|#t`) share: a line of many values and many tags then costs values + tags,
/// not values x tags.
struct Shared<'a, 'e> {
    line: usize,
    sample: Sample<'a>,
    tags: Object<'e>,
    extensions: Option<Array<'e>>,
}

fn value_object<'a, 'e>(
    env: &'e Env,
    v: &FlatValue<'a>,
    shared: &mut Option<Shared<'a, 'e>>,
) -> Result<Object<'e>> {
    let s = &v.sample;
    let reuse = shared
        .as_ref()
        .filter(|p| p.line == v.line && p.sample.same_segment(s));
    let (tags, extensions) = match reuse {
        Some(p) => (p.tags, p.extensions),
        None => {
            let ext: Vec<&str> = s.extensions().collect();
            let extensions = if ext.is_empty() {
                None
            } else {
                let mut a = env.create_array(ext.len() as u32)?;
                for (i, e) in ext.into_iter().enumerate() {
                    a.set(i as u32, e)?;
                }
                Some(a)
            };
            (tags_object(env, s.tags())?, extensions)
        }
    };
    *shared = Some(Shared {
        line: v.line,
        sample: *s,
        tags,
        extensions,
    });
    let mut o = Object::new(env)?;
    o.set("line", v.line as f64)?;
    o.set("name", v.name)?;
    o.set("type", s.ty.as_str())?;
    match s.value {
        SampleValue::Number(n) => o.set("value", js_number(n))?,
        SampleValue::Set(m) => o.set("value", m)?,
    }
    o.set("delta", s.delta)?;
    o.set("sampleRate", s.sample_rate)?;
    o.set("tags", tags)?;
    o.set("timestamp", js_u64(s.timestamp))?;
    let (metric, host, version, mismatch) = match v.catalog {
        CatalogMatch::Metric { host, recognized } => (
            Some(recognized.metric.name()),
            host,
            recognized.version,
            false,
        ),
        CatalogMatch::None => (None, None, None, false),
        CatalogMatch::KindMismatch => (None, None, None, true),
    };
    o.set("metric", metric)?;
    o.set("host", host)?;
    o.set("version", js_u64(version))?;
    if mismatch {
        o.set("kindMismatch", true)?;
    }
    if let Some(c) = s.container {
        o.set("container", c)?;
    }
    if let Some(a) = extensions {
        o.set("extensions", a)?;
    }
    Ok(o)
}

fn event_object<'e>(env: &'e Env, e: &Event<'_>) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("line", e.line as f64)?;
    o.set("type", "event")?;
    o.set("title", e.title)?;
    o.set("text", e.text)?;
    o.set("timestamp", js_u64(e.timestamp))?;
    o.set("hostname", e.hostname)?;
    o.set("aggregationKey", e.aggregation_key)?;
    o.set("priority", e.priority)?;
    o.set("sourceTypeName", e.source_type_name)?;
    o.set("alertType", e.alert_type)?;
    o.set("tags", tags_object(env, e.tags)?)?;
    Ok(o)
}

fn check_object<'e>(env: &'e Env, s: &ServiceCheck<'_>) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("line", s.line as f64)?;
    o.set("type", "service_check")?;
    o.set("name", s.name)?;
    o.set("status", u32::from(s.status))?;
    o.set("timestamp", js_u64(s.timestamp))?;
    o.set("hostname", s.hostname)?;
    o.set("tags", tags_object(env, s.tags)?)?;
    o.set("message", s.message)?;
    Ok(o)
}

/// Decode StatsD text or bytes into `{ metrics, errors }`: one object per value, event or
/// service check (the CLI decode's fields, camelCase), one `{ line, column, message }` per
/// malformed line. Never throws on malformed input.
#[napi(catch_unwind)]
pub fn decode_raw<'e>(
    env: &'e Env,
    #[napi(ts_arg_type = "string | Uint8Array")] input: Either<String, Buffer>,
    prefix: Option<String>,
) -> Result<Object<'e>> {
    let bytes: &[u8] = match &input {
        Either::A(s) => s.as_bytes(),
        Either::B(b) => b,
    };
    let mut metrics: Vec<Object<'e>> = Vec::new();
    let mut errors: Vec<Object<'e>> = Vec::new();
    let mut shared = None;
    for item in flatten(bytes, prefix.as_deref()) {
        match item {
            Flat::Value(v) => metrics.push(value_object(env, &v, &mut shared)?),
            Flat::Event(e) => metrics.push(event_object(env, &e)?),
            Flat::ServiceCheck(s) => metrics.push(check_object(env, &s)?),
            Flat::Error(e) => {
                let mut o = Object::new(env)?;
                o.set("line", e.line as f64)?;
                o.set("column", e.column as f64)?;
                o.set("message", e.detail().to_string())?;
                errors.push(o);
            }
        }
    }
    let mut out = Object::new(env)?;
    out.set("metrics", metrics)?;
    out.set("errors", errors)?;
    Ok(out)
}
