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

fn value(v: &FlatValue<'_>, line: usize) -> Value {
    let s = &v.sample;
    let mut m = Map::new();
    m.insert("line".into(), line.into());
    m.insert("name".into(), v.name.into());
    m.insert("type".into(), s.ty.as_str().into());
    m.insert(
        "value".into(),
        match s.value {
            SampleValue::Number(n) => number(n),
            SampleValue::Set(x) => x.into(),
        },
    );
    m.insert("delta".into(), s.delta.into());
    m.insert(
        "sample_rate".into(),
        s.sample_rate.map_or(Value::Null, Value::from),
    );
    m.insert("tags".into(), tags(s.tags()));
    m.insert(
        "timestamp".into(),
        s.timestamp.map_or(Value::Null, Value::from),
    );
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
    m.insert("metric".into(), metric);
    m.insert("host".into(), host);
    m.insert("version".into(), version);
    if mismatch {
        m.insert("kind_mismatch".into(), true.into());
    }
    if let Some(c) = s.container {
        m.insert("container".into(), c.into());
    }
    let ext: Vec<Value> = s.extensions().map(Value::from).collect();
    if !ext.is_empty() {
        m.insert("extensions".into(), ext.into());
    }
    Value::Object(m)
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

/// Decode StatsD text into the JSON objects `realm-metrics decode` prints, in order. Line numbers
/// are shifted by `line_offset` (for callers that decode a stream line by line). The second value
/// is whether any line was malformed.
pub fn decode(input: &[u8], prefix: Option<&str>, line_offset: usize) -> (Vec<Value>, bool) {
    let mut out = Vec::new();
    let mut malformed = false;
    for item in flatten(input, prefix) {
        out.push(match item {
            Flat::Value(v) => value(&v, v.line + line_offset),
            Flat::Event(e) => event(&e, e.line + line_offset),
            Flat::ServiceCheck(s) => service_check(&s, s.line + line_offset),
            Flat::Error(e) => {
                malformed = true;
                json!({
                    "line": e.line + line_offset,
                    "column": e.column,
                    "error": e.detail().to_string(),
                })
            }
        });
    }
    (out, malformed)
}
