//! The exported functions, called from Rust inside a real JS engine (Node.js, through
//! `wasm-bindgen-test-runner`): `cargo test --target wasm32-unknown-unknown -p realm-metrics-wasm`
//! with `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner` (see wasm/test.sh).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use js_sys::{Array, Float64Array, Int32Array, Object, Reflect, Uint32Array, Uint8Array, JSON};
use realm_metrics_wasm::{catalog, decode, decode_columns, Decoder};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap()
}

fn arr(o: &JsValue, key: &str) -> Array {
    get(o, key).dyn_into::<Array>().unwrap()
}

fn json(v: &JsValue) -> String {
    JSON::stringify(v).unwrap().as_string().unwrap()
}

fn options(prefix: &str) -> Option<Object> {
    let o = Object::new();
    Reflect::set(&o, &"prefix".into(), &prefix.into()).unwrap();
    Some(o)
}

#[wasm_bindgen_test]
fn decode_gives_objects_with_the_cli_fields() {
    let r = decode(
        "realm.worker-3.connection.online:42|g\nbad line".into(),
        None,
    )
    .unwrap();
    let metrics = arr(&r, "metrics");
    assert_eq!(metrics.length(), 1);
    assert_eq!(
        json(&metrics.get(0)),
        r#"{"line":1,"name":"realm.worker-3.connection.online","type":"g","value":42,"delta":false,"sampleRate":null,"tags":{},"timestamp":null,"metric":"connection.online","host":"worker-3","version":null}"#
    );
    let errors = arr(&r, "errors");
    assert_eq!(
        json(&errors.get(0)),
        r#"{"line":2,"column":9,"message":"expected ':' after the metric name at end of line"}"#
    );
}

#[wasm_bindgen_test]
fn decode_general_lines_prefix_events_and_big_integers() {
    let input = "my.app.protocol.7.used:1|c|T5|c:box|xx\nk,a=b:1:2|d|#c:d\n_sc|db|2|m:down\nn:18446744073709551615|c";
    let r = decode(input.into(), options("my.app")).unwrap();
    let m = arr(&r, "metrics");
    assert_eq!(m.length(), 5);
    assert_eq!(
        json(&m.get(0)),
        r#"{"line":1,"name":"my.app.protocol.7.used","type":"c","value":1,"delta":false,"sampleRate":null,"tags":{},"timestamp":5,"metric":"protocol.<version>.used","host":null,"version":7,"container":"box","extensions":["xx"]}"#
    );
    assert_eq!(json(&get(&m.get(2), "tags")), r#"{"a":"b","c":"d"}"#);
    assert_eq!(
        json(&m.get(3)),
        r#"{"line":3,"type":"service_check","name":"db","status":2,"timestamp":null,"hostname":null,"tags":{},"message":"down"}"#
    );
    let big = get(&m.get(4), "value");
    assert!(big.is_bigint());
    assert_eq!(
        js_sys::BigInt::unchecked_from_js(big)
            .to_string(10)
            .unwrap(),
        "18446744073709551615"
    );
}

#[wasm_bindgen_test]
fn bytes_and_strings_agree() {
    let text = "café:1|c\n\u{1F600}x:2|g|#é:ü\nbad";
    let bytes = Uint8Array::from(text.as_bytes());
    let a = decode(text.into(), None).unwrap();
    let b = decode(bytes.into(), None).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_eq!(json(&get(&arr(&a, "metrics").get(1), "name")), "\"😀x\"");
}

#[wasm_bindgen_test]
fn wrong_argument_types_are_errors() {
    assert!(decode(JsValue::from_f64(42.0), None).is_err());
    assert!(decode(JsValue::NULL, None).is_err());
    assert!(decode_columns(Object::new().into(), None).is_err());
    let bad = Object::new();
    Reflect::set(&bad, &"prefix".into(), &JsValue::from_f64(1.0)).unwrap();
    assert!(decode("a:1|c".into(), Some(bad)).is_err());
    assert!(decode("a:1|c".into(), None).is_ok());
}

#[wasm_bindgen_test]
fn columns_are_typed_arrays() {
    let c = decode_columns(
        "realm.h.connection.online:3|g\nbad\nx:0.5|ms|@0.5".into(),
        None,
    )
    .unwrap();
    assert_eq!(get(&c, "count").as_f64(), Some(2.0));
    let values = get(&c, "values").dyn_into::<Float64Array>().unwrap();
    assert_eq!(values.to_vec(), [3.0, 0.5]);
    let ids = get(&c, "catalogIds").dyn_into::<Int32Array>().unwrap();
    assert_eq!(ids.to_vec(), [6, -1]);
    let lines = get(&c, "lines").dyn_into::<Uint32Array>().unwrap();
    assert_eq!(lines.to_vec(), [1, 3]);
    let types = get(&c, "types").dyn_into::<Uint8Array>().unwrap();
    assert_eq!(types.to_vec(), [1, 2]);
    let offsets = get(&c, "nameOffsets").dyn_into::<Uint32Array>().unwrap();
    assert_eq!(offsets.to_vec(), [0, 34]);
    assert_eq!(get(&c, "errorCount").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
fn decoder_streams_across_chunks() {
    let mut d = Decoder::new(None).unwrap();
    let r1 = d.push("a:1|".into()).unwrap();
    assert_eq!(arr(&r1, "metrics").length(), 0);
    let r2 = d
        .push(Uint8Array::from(&b"c\nb:2|c\nc:"[..]).into())
        .unwrap();
    let m = arr(&r2, "metrics");
    assert_eq!(m.length(), 2);
    assert_eq!(get(&m.get(1), "line").as_f64(), Some(2.0));
    assert_eq!(d.buffered_bytes(), 2);
    let r3 = d.flush().unwrap();
    assert_eq!(
        json(&arr(&r3, "errors").get(0)),
        r#"{"line":3,"column":3,"message":"empty value at end of line"}"#
    );
    assert_eq!(d.lines_read(), 3);
    assert!(d.push(JsValue::from_f64(1.0)).is_err());
}

#[wasm_bindgen_test]
fn catalog_has_18_rows() {
    let rows = catalog();
    assert_eq!(rows.length(), 18);
    assert_eq!(
        get(&rows.get(6), "name").as_string().unwrap(),
        "connection.online"
    );
    assert_eq!(get(&rows.get(6), "kind").as_string().unwrap(), "gauge");
    assert_eq!(get(&rows.get(17), "id").as_f64(), Some(17.0));
}

#[wasm_bindgen_test]
fn garbage_gives_errors_not_traps() {
    let mut bytes = Vec::with_capacity(1 << 20);
    let mut x = 0x1234_5678u32;
    for _ in 0..(1 << 20) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    let r = decode(Uint8Array::from(&bytes[..]).into(), None).unwrap();
    assert!(arr(&r, "errors").length() > 100);
    let c = decode_columns(Uint8Array::from(&bytes[..]).into(), None).unwrap();
    assert_eq!(
        get(&c, "errorCount").as_f64().unwrap() as u32,
        arr(&r, "errors").length()
    );
}

/// The shared vectors: the same number of records and errors as the CLI, the same error
/// positions and names (the node:test suite compares every field).
#[wasm_bindgen_test]
fn decode_vectors_counts_and_positions() {
    let cases = JSON::parse(include_str!("../../tests/vectors/decode.json")).unwrap();
    let cases = cases.dyn_into::<Array>().unwrap();
    assert!(cases.length() > 50);
    for case in cases.iter() {
        let name = get(&case, "name").as_string().unwrap();
        let prefix = get(&case, "prefix").as_string();
        let r = decode(get(&case, "input"), prefix.as_deref().and_then(options)).unwrap();
        let (mut want_records, mut want_errors) = (Vec::new(), Vec::new());
        for e in arr(&case, "expect").iter() {
            if Reflect::has(&e, &"error".into()).unwrap() {
                want_errors.push((get(&e, "line").as_f64(), get(&e, "column").as_f64()));
            } else {
                want_records.push((get(&e, "line").as_f64(), get(&e, "name").as_string()));
            }
        }
        let got_records: Vec<_> = arr(&r, "metrics")
            .iter()
            .map(|m| (get(&m, "line").as_f64(), get(&m, "name").as_string()))
            .collect();
        let got_errors: Vec<_> = arr(&r, "errors")
            .iter()
            .map(|e| (get(&e, "line").as_f64(), get(&e, "column").as_f64()))
            .collect();
        assert_eq!(got_records, want_records, "{name}");
        assert_eq!(got_errors, want_errors, "{name}");
    }
}

/// The SIMD scans of `realm_metrics::wire::decode_common` (compiled in only for wasm with
/// simd128, as this test is) stop at every stop byte, at every position of a 16-byte block.
#[wasm_bindgen_test]
fn simd_scan_stops_at_every_stop_byte() {
    use realm_metrics::wire::decode_common;
    for b in 0..=255u8 {
        let name_byte = (0x20..0x7f).contains(&b) && !matches!(b, b':' | b',' | b'|');
        let tag_byte = (0x20..0x7f).contains(&b) && b != b'|';
        for at in 0..40 {
            let mut line = vec![b'a'; 40];
            line[at] = b;
            line.extend_from_slice(b":1|c");
            match decode_common(&line) {
                Some(c) => assert!(
                    c.name.len() == 40 && name_byte || c.name.len() == at && b == b',',
                    "byte {b:#x} at {at}: name {:?}",
                    c.name
                ),
                None => assert!(!name_byte, "byte {b:#x} at {at}: not decoded"),
            }
            // The same in DogStatsD tags, which stop at '|' only.
            let mut line = b"n:1|c|#".to_vec();
            let mut tags = vec![b'k'; 40];
            tags[at] = b;
            line.extend_from_slice(&tags);
            match decode_common(&line) {
                Some(c) => assert!(
                    tag_byte && c.dog_tags.len() == 40
                        || (b == b'\n' || b == b'\r' && at == 39) && c.dog_tags.len() == at,
                    "tag byte {b:#x} at {at}"
                ),
                None => assert!(
                    !tag_byte || b == b',' || b == b':',
                    "tag byte {b:#x} at {at}"
                ),
            }
        }
    }
}

/// Under SIMD, `decode_common` agrees with the general decoder on generated and mutated lines.
#[wasm_bindgen_test]
fn simd_fast_path_agrees_with_the_general_decoder() {
    use realm_metrics::wire::{decode_common, decode_line, Record, SampleValue};
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let parts: [&[&str]; 6] = [
        &[
            "realm.worker-3.example.com.connection.online",
            "a",
            "x-y_z.w",
            "realm.w-1.protocol.7.used",
            "realm.host,env=prod,shard=7",
            "",
        ],
        &[":"],
        &[
            "1",
            "-1",
            "+1",
            "0",
            "-0",
            "12.5",
            "-0.0",
            "0.1",
            "999999999999999",
            "1e2",
            "00.10",
        ],
        &["|c", "|g", "|ms", "|h", "|d", "|s", "|x", "|"],
        &["", "|@0.5", "|@1", "|@0", "|@0.000001", "|@2"],
        &[
            "",
            "|#a:b",
            "|#env:production,region:eu-west-1,,",
            "|#:x",
            "|#a|T1",
        ],
    ];
    let alphabet = b"a:|#@,.-+019cgmsdhT\r\n\xc3\xa9 \x7f\x00";
    let mut accepted = 0;
    for _ in 0..100_000 {
        let mut line = Vec::new();
        for p in parts {
            line.extend_from_slice(p[rand(p.len())].as_bytes());
        }
        for _ in 0..rand(3) {
            let at = rand(line.len() + 1);
            match rand(3) {
                0 => line.insert(at, alphabet[rand(alphabet.len())]),
                1 if at < line.len() => {
                    line.remove(at);
                }
                _ if at < line.len() => line[at] = alphabet[rand(alphabet.len())],
                _ => {}
            }
        }
        let Some(c) = decode_common(&line) else {
            continue;
        };
        accepted += 1;
        let text = String::from_utf8_lossy(&line);
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
        let l = line[..end].strip_suffix(b"\r").unwrap_or(&line[..end]);
        assert_eq!(c.len, l.len(), "{text:?}");
        let Ok(Record::Metric(g)) = decode_line(l, 1) else {
            panic!("fast path accepted {text:?}, the decoder did not")
        };
        assert!(!g.is_multi(), "{text:?}");
        let s = g.first();
        let SampleValue::Number(v) = s.value else {
            panic!("{text:?}")
        };
        assert_eq!(g.name, c.name, "{text:?}");
        assert_eq!(s.ty, c.ty, "{text:?}");
        assert_eq!(v.as_f64().to_bits(), c.value.as_f64().to_bits(), "{text:?}");
        assert_eq!(s.delta, c.delta, "{text:?}");
        assert_eq!(s.sample_rate, c.sample_rate, "{text:?}");
        assert_eq!(s.tags(), c.tags(), "{text:?}");
    }
    assert!(
        accepted > 10_000,
        "only {accepted} lines took the fast path"
    );
}
