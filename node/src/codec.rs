//! The catalog and the StatsD codec: `catalog()`, `Metric`, `encodeLine()`, `decode()`.

use napi::bindgen_prelude::{
    Array, BigInt, Buffer, Either, Either3, FromNapiValue, JsValue, Object, ToNapiValue,
};
use napi::{check_status, sys, Env, Result};
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

/// The property names of the decode result objects.
const KEY_NAMES: [&str; 18] = [
    "line",
    "name",
    "type",
    "tags",
    "timestamp",
    "kindMismatch",
    "container",
    "extensions",
    "title",
    "text",
    "hostname",
    "aggregationKey",
    "priority",
    "sourceTypeName",
    "alertType",
    "status",
    "message",
    "column",
];

/// One of [`KEY_NAMES`] (a property of the result objects).
#[derive(Clone, Copy)]
enum Prop {
    Line,
    Name,
    Type,
    Tags,
    Timestamp,
    KindMismatch,
    Container,
    Extensions,
    Title,
    Text,
    Hostname,
    AggregationKey,
    Priority,
    SourceTypeName,
    AlertType,
    Status,
    Message,
    Column,
}

/// The property names as JS strings, made once per call: setting a property by a string made
/// anew each time (what `Object::set(&str, _)` does) costs V8 a hash and a string-table lookup
/// per property, which was most of the time of `decode`.
struct Keys {
    env: sys::napi_env,
    keys: [sys::napi_value; KEY_NAMES.len()],
    /// A JS function that makes a value object from its eleven fields with one object literal:
    /// one call instead of eleven property sets, each of which V8 runs as a slow-path map
    /// transition when a native caller makes it.
    value_object: sys::napi_value,
    /// The wire types (`MetricType::ALL` order) as JS strings.
    types: [sys::napi_value; 6],
}

/// The source of [`Keys::value_object`] (V8 compiles it once and then finds it in its cache).
const VALUE_OBJECT_JS: &str = "(function (line, name, type, value, delta, sampleRate, tags, timestamp, metric, host, version) \
     { return { line, name, type, value, delta, sampleRate, tags: tags === undefined ? {} : tags, timestamp, metric, host, version }; })";

impl Keys {
    fn new(env: &Env) -> Result<Self> {
        let env = env.raw();
        let mut keys = [std::ptr::null_mut(); KEY_NAMES.len()];
        for (slot, name) in keys.iter_mut().zip(KEY_NAMES) {
            // SAFETY: a valid env of the current call and a valid UTF-8 buffer with its length.
            check_status!(unsafe {
                sys::napi_create_string_utf8(env, name.as_ptr().cast(), name.len() as isize, slot)
            })?;
        }
        let mut source = std::ptr::null_mut();
        let mut value_object = std::ptr::null_mut();
        // SAFETY: as above; the script is a constant function expression.
        check_status!(unsafe {
            sys::napi_create_string_utf8(
                env,
                VALUE_OBJECT_JS.as_ptr().cast(),
                VALUE_OBJECT_JS.len() as isize,
                &mut source,
            )
        })?;
        check_status!(unsafe { sys::napi_run_script(env, source, &mut value_object) })?;
        let mut types = [std::ptr::null_mut(); 6];
        for (slot, ty) in types.iter_mut().zip(MetricType::ALL) {
            // SAFETY: as above.
            *slot = unsafe { <&str as ToNapiValue>::to_napi_value(env, ty.as_str()) }?;
        }
        Ok(Keys {
            env,
            keys,
            value_object,
            types,
        })
    }

    /// `value_object(...args)`.
    fn make_value(&self, args: &[sys::napi_value; 11]) -> Result<sys::napi_value> {
        let mut out = std::ptr::null_mut();
        let mut recv = std::ptr::null_mut();
        // SAFETY: live handles of the current call; `args` holds `args.len()` values.
        unsafe {
            check_status!(sys::napi_get_undefined(self.env, &mut recv))?;
            check_status!(sys::napi_call_function(
                self.env,
                recv,
                self.value_object,
                args.len(),
                args.as_ptr(),
                &mut out
            ))?;
        }
        Ok(out)
    }

    /// `v` as a JS value.
    fn js<V: ToNapiValue>(&self, v: V) -> Result<sys::napi_value> {
        // SAFETY: the env of the current call.
        unsafe { V::to_napi_value(self.env, v) }
    }

    /// `o[key] = v`.
    fn set<V: ToNapiValue>(&self, o: &Object<'_>, key: Prop, v: V) -> Result<()> {
        // SAFETY: the env of the current call; `o` and the key are live handles of it.
        unsafe {
            let value = V::to_napi_value(self.env, v)?;
            check_status!(sys::napi_set_property(
                self.env,
                o.raw(),
                self.keys[key as usize],
                value
            ))
        }
    }
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
    /// `None` for no tags (each value then gets an empty object of its own).
    tags: Option<Object<'e>>,
    extensions: Option<Array<'e>>,
}

fn value_object<'a, 'e>(
    env: &'e Env,
    k: &Keys,
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
            let tags = s.tags();
            let tags = if tags.is_empty() {
                None
            } else {
                Some(tags_object(env, tags)?)
            };
            (tags, extensions)
        }
    };
    *shared = Some(Shared {
        line: v.line,
        sample: *s,
        tags,
        extensions,
    });
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
    let value = match s.value {
        SampleValue::Number(n) => k.js(js_number(n))?,
        SampleValue::Set(m) => k.js(m)?,
    };
    let raw = k.make_value(&[
        k.js(v.line as f64)?,
        k.js(v.name)?,
        k.types[MetricType::ALL.iter().position(|&t| t == s.ty).unwrap_or(0)],
        value,
        k.js(s.delta)?,
        k.js(s.sample_rate)?,
        match tags {
            Some(t) => k.js(t)?,
            None => k.js(())?,
        },
        k.js(js_u64(s.timestamp))?,
        k.js(metric)?,
        k.js(host)?,
        k.js(js_u64(version))?,
    ])?;
    // SAFETY: an object the function above returned, in the current call.
    let o: Object<'e> = unsafe { Object::from_napi_value(env.raw(), raw) }?;
    if mismatch {
        k.set(&o, Prop::KindMismatch, true)?;
    }
    if let Some(c) = s.container {
        k.set(&o, Prop::Container, c)?;
    }
    if let Some(a) = extensions {
        k.set(&o, Prop::Extensions, a)?;
    }
    Ok(o)
}

fn event_object<'e>(env: &'e Env, k: &Keys, e: &Event<'_>) -> Result<Object<'e>> {
    let o = Object::new(env)?;
    k.set(&o, Prop::Line, e.line as f64)?;
    k.set(&o, Prop::Type, "event")?;
    k.set(&o, Prop::Title, e.title)?;
    k.set(&o, Prop::Text, e.text)?;
    k.set(&o, Prop::Timestamp, js_u64(e.timestamp))?;
    k.set(&o, Prop::Hostname, e.hostname)?;
    k.set(&o, Prop::AggregationKey, e.aggregation_key)?;
    k.set(&o, Prop::Priority, e.priority)?;
    k.set(&o, Prop::SourceTypeName, e.source_type_name)?;
    k.set(&o, Prop::AlertType, e.alert_type)?;
    k.set(&o, Prop::Tags, tags_object(env, e.tags)?)?;
    Ok(o)
}

fn check_object<'e>(env: &'e Env, k: &Keys, s: &ServiceCheck<'_>) -> Result<Object<'e>> {
    let o = Object::new(env)?;
    k.set(&o, Prop::Line, s.line as f64)?;
    k.set(&o, Prop::Type, "service_check")?;
    k.set(&o, Prop::Name, s.name)?;
    k.set(&o, Prop::Status, u32::from(s.status))?;
    k.set(&o, Prop::Timestamp, js_u64(s.timestamp))?;
    k.set(&o, Prop::Hostname, s.hostname)?;
    k.set(&o, Prop::Tags, tags_object(env, s.tags)?)?;
    k.set(&o, Prop::Message, s.message)?;
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
    let k = Keys::new(env)?;
    let mut metrics: Vec<Object<'e>> = Vec::new();
    let mut errors: Vec<Object<'e>> = Vec::new();
    let mut shared = None;
    for item in flatten(bytes, prefix.as_deref()) {
        match item {
            Flat::Value(v) => metrics.push(value_object(env, &k, &v, &mut shared)?),
            Flat::Event(e) => metrics.push(event_object(env, &k, &e)?),
            Flat::ServiceCheck(s) => metrics.push(check_object(env, &k, &s)?),
            Flat::Error(e) => {
                let o = Object::new(env)?;
                k.set(&o, Prop::Line, e.line as f64)?;
                k.set(&o, Prop::Column, e.column as f64)?;
                k.set(&o, Prop::Message, e.detail().to_string())?;
                errors.push(o);
            }
        }
    }
    let mut out = Object::new(env)?;
    out.set("metrics", metrics)?;
    out.set("errors", errors)?;
    Ok(out)
}
