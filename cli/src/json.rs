//! JSON forms of the catalog and of decoded StatsD, as printed by `realm-metrics catalog` and
//! `realm-metrics decode` (a contract other tools rely on; see the README).

use realm_metrics::wire::{
    flatten, CatalogMatch, Event, Flat, FlatValue, Number, SampleValue, ServiceCheck, Tags,
};
use realm_metrics::Metric;
use serde_json::{json, Map, Value};

/// The catalog as a JSON array, reference order.
pub fn catalog() -> Value {
    Value::Array(
        Metric::ALL
            .iter()
            .map(|m| {
                json!({
                    "name": m.name(),
                    "kind": m.kind().as_str(),
                    "description": m.description(),
                    "group": m.group().as_str(),
                })
            })
            .collect(),
    )
}

fn number(n: Number) -> Value {
    match n {
        Number::Int(v) => Value::from(v),
        Number::UInt(v) => Value::from(v),
        Number::Float(v) => Value::from(v),
    }
}

fn tags(t: Tags<'_>) -> Value {
    let mut m = Map::new();
    for (k, v) in t.iter() {
        m.insert(k.to_owned(), v.map_or(Value::Null, Value::from));
    }
    Value::Object(m)
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

fn event(e: &Event<'_>, line: usize) -> Value {
    json!({
        "line": line,
        "type": "event",
        "title": e.title,
        "text": e.text,
        "timestamp": e.timestamp,
        "hostname": e.hostname,
        "aggregation_key": e.aggregation_key,
        "priority": e.priority,
        "source_type_name": e.source_type_name,
        "alert_type": e.alert_type,
        "tags": tags(e.tags),
    })
}

fn service_check(s: &ServiceCheck<'_>, line: usize) -> Value {
    json!({
        "line": line,
        "type": "service_check",
        "name": s.name,
        "status": s.status,
        "timestamp": s.timestamp,
        "hostname": s.hostname,
        "tags": tags(s.tags),
        "message": s.message,
    })
}

fn put<W: std::io::Write>(out: &mut W, v: &Value) -> std::io::Result<()> {
    serde_json::to_writer(out, v).map_err(std::io::Error::other)
}

fn put_str<W: std::io::Write>(out: &mut W, v: &str) -> std::io::Result<()> {
    serde_json::to_writer(out, v).map_err(std::io::Error::other)
}

/// One `"key":` of an object (the key is a constant, no escaping needed), preceded by `,` unless
/// it is the first.
fn key<W: std::io::Write>(out: &mut W, k: &str, first: bool) -> std::io::Result<()> {
    if !first {
        out.write_all(b",")?;
    }
    out.write_all(b"\"")?;
    out.write_all(k.as_bytes())?;
    out.write_all(b"\":")
}

/// Tags as a JSON object, written straight from the borrowed iterator. A repeated key keeps its
/// first position and its last value, as a `serde_json::Map` (preserve_order) would.
fn write_tags<W: std::io::Write>(out: &mut W, t: Tags<'_>) -> std::io::Result<()> {
    let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (k, v) in t.iter() {
        match index.get(k) {
            Some(&i) => seen[i].1 = v,
            None => {
                index.insert(k, seen.len());
                seen.push((k, v));
            }
        }
    }
    out.write_all(b"{")?;
    for (i, (k, v)) in seen.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        put_str(out, k)?;
        out.write_all(b":")?;
        match v {
            Some(v) => put_str(out, v)?,
            None => out.write_all(b"null")?,
        }
    }
    out.write_all(b"}")
}

/// Write one value's JSON object (without the newline): the same bytes as serialising
/// `value(v, line)`, without building it.
fn write_value<W: std::io::Write>(
    out: &mut W,
    v: &FlatValue<'_>,
    line: usize,
) -> std::io::Result<()> {
    let s = &v.sample;
    out.write_all(b"{")?;
    key(out, "line", true)?;
    put(out, &line.into())?;
    key(out, "name", false)?;
    put_str(out, v.name)?;
    key(out, "type", false)?;
    put_str(out, s.ty.as_str())?;
    key(out, "value", false)?;
    match s.value {
        SampleValue::Number(n) => put(out, &number(n))?,
        SampleValue::Set(x) => put_str(out, x)?,
    }
    key(out, "delta", false)?;
    put(out, &s.delta.into())?;
    key(out, "sample_rate", false)?;
    put(out, &s.sample_rate.map_or(Value::Null, Value::from))?;
    key(out, "tags", false)?;
    write_tags(out, s.tags())?;
    key(out, "timestamp", false)?;
    put(out, &s.timestamp.map_or(Value::Null, Value::from))?;
    let (metric, host, version, mismatch) = match v.catalog {
        CatalogMatch::Metric { host, recognized } => (
            Value::from(recognized.metric.name()),
            opt_str(host),
            recognized.version.map_or(Value::Null, Value::from),
            false,
        ),
        CatalogMatch::None => (Value::Null, Value::Null, Value::Null, false),
        CatalogMatch::KindMismatch => (Value::Null, Value::Null, Value::Null, true),
    };
    key(out, "metric", false)?;
    put(out, &metric)?;
    key(out, "host", false)?;
    put(out, &host)?;
    key(out, "version", false)?;
    put(out, &version)?;
    if mismatch {
        key(out, "kind_mismatch", false)?;
        put(out, &true.into())?;
    }
    if let Some(c) = s.container {
        key(out, "container", false)?;
        put(out, &c.into())?;
    }
    let mut ext = s.extensions().peekable();
    if ext.peek().is_some() {
        key(out, "extensions", false)?;
        out.write_all(b"[")?;
        for (i, e) in ext.enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            put_str(out, e)?;
        }
        out.write_all(b"]")?;
    }
    out.write_all(b"}")
}

/// Decode StatsD text and write the JSON Lines `realm-metrics decode` prints, one value at a time
/// as the decoder yields it (memory: the input and one value's output, however many values and
/// tags a line has).
/// Returns whether any line was malformed.
pub fn write_decoded<W: std::io::Write>(
    out: &mut W,
    input: &[u8],
    prefix: Option<&str>,
    line_offset: usize,
) -> std::io::Result<bool> {
    let mut malformed = false;
    for item in flatten(input, prefix) {
        match item {
            Flat::Value(v) => write_value(out, &v, v.line + line_offset)?,
            Flat::Event(e) => put(out, &event(&e, e.line + line_offset))?,
            Flat::ServiceCheck(s) => put(out, &service_check(&s, s.line + line_offset))?,
            Flat::Error(e) => {
                malformed = true;
                put(
                    out,
                    &json!({
                        "line": e.line + line_offset,
                        "column": e.column,
                        "error": e.detail().to_string(),
                    }),
                )?;
            }
        }
        out.write_all(b"\n")?;
    }
    Ok(malformed)
}

/// The error object `realm-metrics decode` prints for a line longer than `max` bytes.
pub fn write_too_long<W: std::io::Write>(
    out: &mut W,
    line: usize,
    max: usize,
) -> std::io::Result<()> {
    put(
        out,
        &json!({"line": line, "column": 1, "error": format!("line longer than {max} bytes")}),
    )?;
    out.write_all(b"\n")
}
