//! The one definition of the buffers the Rust side fills and the JS side reads: the record tape
//! of `decode()` and the column layout of `decodeColumns()` / `ColumnDecoder`.
//!
//! The JS side never writes these numbers itself: `js_module` renders them as an ES module,
//! `wasm/js/layout.js` (committed; the unit test `layout_js_is_current` fails when it is stale and
//! rewrites it with `REALM_METRICS_BLESS=1`). `js/build.js`, which wasm-bindgen copies on its own
//! into the package, carries the same text between two marker lines, checked by the same test.

use realm_metrics::wire::MetricType;

/// Record kinds in the low 4 bits of a tape header word.
pub mod kind {
    /// A metric value.
    pub const VALUE: u32 = 0;
    /// A DogStatsD event.
    pub const EVENT: u32 = 1;
    /// A DogStatsD service check.
    pub const SERVICE_CHECK: u32 = 2;
    /// A malformed line.
    pub const ERROR: u32 = 3;
}

/// Flags in the tape header word (shifted left by 4); each says an optional part follows.
pub mod flag {
    /// A signed gauge value (a change).
    pub const DELTA: u32 = 1;
    /// `|@rate`: one f64.
    pub const RATE: u32 = 2;
    /// A timestamp: one u64 item.
    pub const TIMESTAMP: u32 = 4;
    /// A catalog match: the id, then the host as an optional string.
    pub const METRIC: u32 = 8;
    /// A protocol version: one u64 item.
    pub const VERSION: u32 = 16;
    /// A catalog name with the wrong type.
    pub const KIND_MISMATCH: u32 = 32;
    /// Tags: a count, then (key, optional value) string pairs.
    pub const TAGS: u32 = 64;
    /// `|c:` container id: a string.
    pub const CONTAINER: u32 = 128;
    /// Unknown fields: a count, then strings.
    pub const EXTENSIONS: u32 = 256;
    /// The tags of the previous value, which is of the same segment of the same line: nothing
    /// on the tape (the reader gives both values one tags object, so that a line of many values
    /// and many tags costs values + tags, not values x tags).
    pub const TAGS_PREV: u32 = 512;
    /// The unknown fields of the previous value, likewise.
    pub const EXTENSIONS_PREV: u32 = 1024;
}

/// How a value is stored on the tape.
pub mod value_kind {
    /// A number in the f64 stream.
    pub const NUMBER: u32 = 0;
    /// A non-negative integer beyond 2^53: two words (high, low).
    pub const BIG: u32 = 1;
    /// A negative integer below -(2^53): two words (high, low) of its magnitude.
    pub const NEG_BIG: u32 = 2;
    /// A set member: a string.
    pub const SET: u32 = 3;
}

/// Column type codes of `decodeColumns()` (metric types first, in `MetricType::ALL` order).
pub fn type_code(ty: MetricType) -> u8 {
    match ty {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Timer => 2,
        MetricType::Histogram => 3,
        MetricType::Set => 4,
        MetricType::Distribution => 5,
    }
}

/// Column type code of an event row.
pub const TYPE_EVENT: u8 = 6;
/// Column type code of a service check row.
pub const TYPE_SERVICE_CHECK: u8 = 7;

/// Column flag: a signed gauge value (a change).
pub const COL_DELTA: u8 = 1;
/// Column flag: a catalog name with the wrong type.
pub const COL_KIND_MISMATCH: u8 = 2;

/// Bytes per row of the columns.
pub const ROW_BYTES: usize = 34;

/// The columns in buffer order: JS name, typed-array type, byte offset as a multiple of the
/// capacity (or row count) and bytes per row. Each column stays aligned for its type.
pub const COLUMNS: [(&str, &str, usize, usize); 8] = [
    ("values", "Float64Array", 0, 8),
    ("sampleRates", "Float64Array", 8, 8),
    ("catalogIds", "Int32Array", 16, 4),
    ("lines", "Uint32Array", 20, 4),
    ("nameOffsets", "Uint32Array", 24, 4),
    ("nameLengths", "Uint32Array", 28, 4),
    ("types", "Uint8Array", 32, 1),
    ("flags", "Uint8Array", 33, 1),
];

/// [`COLUMNS`] as (offset factor, size) pairs, for the arena.
// Evaluated at compile time: an index out of bounds would stop the build, not panic.
#[allow(clippy::indexing_slicing)]
pub const ARENA_COLUMNS: [(usize, usize); 8] = {
    let mut out = [(0, 0); 8];
    let mut i = 0;
    while i < 8 {
        out[i] = (COLUMNS[i].2, COLUMNS[i].3);
        i += 1;
    }
    out
};

/// Words per error of the columns: line, column, message start, message end.
pub const ERROR_WORDS: usize = 4;

/// The first line of the generated text in `js/build.js`.
pub const BEGIN_MARK: &str =
    "// ---- generated from wasm/src/layout.rs (cargo test -p realm-metrics-wasm layout) ----";
/// The line after the generated text in `js/build.js`.
pub const END_MARK: &str = "// ---- end of generated layout ----";

/// The layout as an ES module (`wasm/js/layout.js`).
#[cfg(test)]
pub fn js_module() -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let obj = |s: &mut String, name: &str, doc: &str, items: &[(&str, u32)]| {
        let _ = writeln!(s, "/** {doc} */");
        let _ = writeln!(s, "export const {name} = Object.freeze({{");
        for (k, v) in items {
            let _ = writeln!(s, "  {k}: {v},");
        }
        let _ = writeln!(s, "}});");
    };
    s.push_str(BEGIN_MARK);
    s.push('\n');
    obj(
        &mut s,
        "KIND",
        "Record kinds: the low 4 bits of a tape header word.",
        &[
            ("VALUE", kind::VALUE),
            ("EVENT", kind::EVENT),
            ("SERVICE_CHECK", kind::SERVICE_CHECK),
            ("ERROR", kind::ERROR),
        ],
    );
    obj(
        &mut s,
        "FLAG",
        "Tape header flags (above the kind): which optional parts follow.",
        &[
            ("DELTA", flag::DELTA),
            ("RATE", flag::RATE),
            ("TIMESTAMP", flag::TIMESTAMP),
            ("METRIC", flag::METRIC),
            ("VERSION", flag::VERSION),
            ("KIND_MISMATCH", flag::KIND_MISMATCH),
            ("TAGS", flag::TAGS),
            ("CONTAINER", flag::CONTAINER),
            ("EXTENSIONS", flag::EXTENSIONS),
            ("TAGS_PREV", flag::TAGS_PREV),
            ("EXTENSIONS_PREV", flag::EXTENSIONS_PREV),
        ],
    );
    obj(
        &mut s,
        "VALUE_KIND",
        "How a value is stored on the tape.",
        &[
            ("NUMBER", value_kind::NUMBER),
            ("BIG", value_kind::BIG),
            ("NEG_BIG", value_kind::NEG_BIG),
            ("SET", value_kind::SET),
        ],
    );
    let types: Vec<(&str, u32)> = MetricType::ALL
        .iter()
        .map(|&t| (t.as_str(), u32::from(type_code(t))))
        .collect();
    let _ = writeln!(
        s,
        "/** Wire metric types by column type code (`types`); 6 is an event, 7 a service check. */"
    );
    let names: Vec<String> = {
        let mut v = types.clone();
        v.sort_by_key(|&(_, c)| c);
        v.iter().map(|(t, _)| format!("'{t}'")).collect()
    };
    let _ = writeln!(
        s,
        "export const TYPE_NAMES = Object.freeze([{}]);",
        names.join(", ")
    );
    obj(
        &mut s,
        "TYPE_CODE",
        "Column type codes (`types`).",
        &[
            ("c", u32::from(type_code(MetricType::Counter))),
            ("g", u32::from(type_code(MetricType::Gauge))),
            ("ms", u32::from(type_code(MetricType::Timer))),
            ("h", u32::from(type_code(MetricType::Histogram))),
            ("s", u32::from(type_code(MetricType::Set))),
            ("d", u32::from(type_code(MetricType::Distribution))),
            ("event", u32::from(TYPE_EVENT)),
            ("serviceCheck", u32::from(TYPE_SERVICE_CHECK)),
        ],
    );
    obj(
        &mut s,
        "COLUMN_FLAG",
        "Column flags (`flags`).",
        &[
            ("DELTA", u32::from(COL_DELTA)),
            ("KIND_MISMATCH", u32::from(COL_KIND_MISMATCH)),
        ],
    );
    let _ = writeln!(s, "/** Bytes per row of the columns. */");
    let _ = writeln!(s, "export const ROW_BYTES = {ROW_BYTES};");
    let _ = writeln!(
        s,
        "/** Words per column error: line, column, message start, end. */"
    );
    let _ = writeln!(s, "export const ERROR_WORDS = {ERROR_WORDS};");
    let _ = writeln!(
        s,
        "/** The columns in buffer order: [name, typed array, offset (x rows), bytes per row]. */"
    );
    let _ = writeln!(s, "export const COLUMNS = Object.freeze([");
    for (name, ty, off, size) in COLUMNS {
        let _ = writeln!(s, "  ['{name}', {ty}, {off}, {size}],");
    }
    let _ = writeln!(s, "]);");
    s.push_str(END_MARK);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// `js/layout.js` and the generated block of `js/build.js` are this module's text; with
    /// `REALM_METRICS_BLESS=1` they are rewritten instead.
    #[test]
    fn layout_js_is_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
        let want = js_module();
        let bless = std::env::var_os("REALM_METRICS_BLESS").is_some();
        let module = format!(
            "// The record tape and column layout of realm-metrics-wasm, generated from\n\
             // wasm/src/layout.rs: do not edit (REALM_METRICS_BLESS=1 cargo test -p \
             realm-metrics-wasm layout).\n{want}"
        );
        let layout = dir.join("layout.js");
        let build = dir.join("build.js");
        let build_text = std::fs::read_to_string(&build).unwrap();
        let (a, b) = (
            build_text.find(BEGIN_MARK).expect("begin mark in build.js"),
            build_text.find(END_MARK).expect("end mark in build.js") + END_MARK.len() + 1,
        );
        let new_build = format!("{}{want}{}", &build_text[..a], &build_text[b..]);
        if bless {
            std::fs::write(&layout, &module).unwrap();
            std::fs::write(&build, &new_build).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&layout).unwrap_or_default(),
            module,
            "wasm/js/layout.js is stale: REALM_METRICS_BLESS=1 cargo test -p realm-metrics-wasm layout"
        );
        assert_eq!(
            build_text, new_build,
            "the layout block of wasm/js/build.js is stale: REALM_METRICS_BLESS=1 cargo test -p realm-metrics-wasm layout"
        );
    }

    #[test]
    fn columns_tile_a_row() {
        let mut end = 0;
        for (_, _, off, size) in COLUMNS {
            assert_eq!(off, end, "columns are back to back");
            assert_eq!(off % size, 0, "each column is aligned for its type");
            end = off + size;
        }
        assert_eq!(end, ROW_BYTES);
    }
}
