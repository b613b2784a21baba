//! The shared wire vectors (`tests/vectors/`) for the encoder and the packet builder.

use realm_metrics::wire::{pack, Dialect, Encoder, LineOptions, MetricType, Tag, Value};
use serde_json::Value as J;

fn load(file: &str) -> Vec<J> {
    let path = format!("{}/../tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match serde_json::from_str(&text).unwrap() {
        J::Array(a) => a,
        _ => panic!("{path}: not an array"),
    }
}

fn tags(v: &J) -> Vec<(String, Option<String>)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        t[0].as_str().unwrap().to_owned(),
                        t[1].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn value<'a>(v: &'a J, ty: MetricType) -> Value<'a> {
    match v {
        J::Number(n) => {
            if let Some(i) = n.as_u64() {
                Value::UInt(i)
            } else if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else {
                Value::Float(n.as_f64().unwrap())
            }
        }
        J::String(s) if ty == MetricType::Set => Value::Str(s),
        J::String(s) => match s.as_str() {
            "NaN" => Value::Float(f64::NAN),
            "Infinity" => Value::Float(f64::INFINITY),
            "-Infinity" => Value::Float(f64::NEG_INFINITY),
            s => s
                .parse::<u64>()
                .map(Value::UInt)
                .or_else(|_| s.parse::<i64>().map(Value::Int))
                .unwrap_or_else(|_| panic!("bad value {s}")),
        },
        other => panic!("bad value {other}"),
    }
}

fn encode_case(c: &J) -> Result<String, &'static str> {
    let dialect = Dialect::parse(c["dialect"].as_str().unwrap()).unwrap();
    let global = tags(&c["global_tags"]);
    let global: Vec<Tag<'_>> = global
        .iter()
        .map(|(k, v)| Tag::new(k, v.as_deref()))
        .collect();
    let line_tags = tags(&c["tags"]);
    let line_tags: Vec<Tag<'_>> = line_tags
        .iter()
        .map(|(k, v)| Tag::new(k, v.as_deref()))
        .collect();
    let mut enc =
        Encoder::new(dialect, c["prefix"].as_str().unwrap(), &global).map_err(|e| e.code())?;
    if let Some(h) = c.get("hostname_as_tag").and_then(J::as_str) {
        enc = enc.with_host_tag(h).map_err(|e| e.code())?;
    }
    let ty = MetricType::from_wire(c["type"].as_str().unwrap().as_bytes()).unwrap();
    let opts = LineOptions {
        sample_rate: c["sample_rate"].as_f64(),
        tags: &line_tags,
    };
    let v = value(&c["value"], ty);
    let name = c["metric"].as_str().unwrap();
    let mut buf = vec![0u8; 4096];
    let n = if c["delta"].as_bool().unwrap_or(false) {
        if ty != MetricType::Gauge {
            return Err("delta_not_gauge");
        }
        enc.encode_gauge_delta(&mut buf, name, v, &opts)
    } else {
        enc.encode(&mut buf, name, v, ty, &opts)
    }
    .map_err(|e| e.code())?;
    Ok(String::from_utf8(buf[..n].to_vec()).unwrap())
}

#[test]
fn encode_vectors() {
    let cases = load("encode.json");
    assert!(cases.len() >= 60);
    let mut failures = Vec::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let got = encode_case(c);
        let ok = match (c.get("expect"), c.get("error")) {
            (Some(J::String(want)), _) => got.as_deref() == Ok(want.as_str()),
            (_, Some(J::String(code))) => got == Err(code.as_str()),
            _ => panic!("{name}: neither expect nor error"),
        };
        if !ok {
            failures.push(format!(
                "{name}: got {got:?}, want {}",
                c.get("expect").or(c.get("error")).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn packet_vectors() {
    let cases = load("packet.json");
    assert!(cases.len() >= 10);
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let lines: Vec<&str> = c["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let max = c["max_payload"].as_u64().unwrap() as usize;
        let (datagrams, dropped) = pack(lines.iter().map(|l| l.as_bytes()), max);
        let want: Vec<&str> = c["expect_datagrams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let got: Vec<String> = datagrams
            .iter()
            .map(|d| String::from_utf8(d.clone()).unwrap())
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(
            dropped as u64,
            c["expect_dropped"].as_u64().unwrap(),
            "{name}"
        );
        assert!(datagrams.iter().all(|d| d.len() <= max), "{name}");
    }
}
