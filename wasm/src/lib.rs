//! # realm-metrics-wasm
//!
//! The `realm-metrics` StatsD decoder for browsers and Node.js, built with `wasm-bindgen`. The
//! JS package (`wasm/pkg/` after `wasm/build.sh`) exports:
//!
//! - `decode(input, options?)`: `{ metrics, errors }` with one object per value, event and
//!   service check (the fields of `realm-metrics decode`, in camelCase) and one per malformed line.
//! - `decodeColumns(input, options?)`: the same values as typed arrays, for high rates.
//! - `Decoder`: a streaming decoder that joins lines split across chunks.
//! - `catalog()`: the 18 rows of the Realm Object Server metric catalog.
//!
//! Malformed StatsD never throws: it lands in `errors`. Only arguments of the wrong type throw an
//! `Error`. See `wasm/README.md` for the JS documentation.
//!
//! The decoding itself is core's: `realm_metrics::wire::decode`, `catalog_match`, the error texts
//! and the line splitting of `realm_metrics::wire::stream`, the same code as the CLI's `decode`. [`emit`] turns its output into flat buffers; a small JS module
//! (`js/build.js`) makes the JS objects or typed arrays from them in one call, which is much
//! faster than setting properties from Rust one by one.
#![deny(missing_docs)]
// Outside tests: no panicking shortcuts (the module must never trap on input).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::panic, clippy::indexing_slicing))]

pub mod emit;
pub mod layout;

use std::cell::RefCell;

use js_sys::{Array, Object, Reflect};
use realm_metrics::Metric;
use wasm_bindgen::prelude::*;

use emit::{ArenaColumns, ColumnArena, Tape};
use realm_metrics::wire::stream::{LineStream, DEFAULT_MAX_LINE};

// The types the generated declarations name are those of the package's entry (js/index.d.ts,
// which takes the decode result from the shared types/decoded.d.ts).
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
export type {
  DecodeOptions, ColumnsOptions, DecoderOptions, DecodeResult, ColumnsResult, CatalogEntry,
} from "../index";
"#;

#[wasm_bindgen(module = "/js/build.js")]
extern "C" {
    #[wasm_bindgen(js_name = buildDecodeResult)]
    #[allow(clippy::too_many_arguments)]
    fn build_decode_result(
        text: &JsValue,
        memory: &JsValue,
        text_ptr: u32,
        text_len: u32,
        u_ptr: u32,
        u_len: u32,
        f_ptr: u32,
        f_len: u32,
        msg_ptr: u32,
        msg_len: u32,
        names: &JsValue,
    ) -> JsValue;

    #[wasm_bindgen(js_name = encodeInput)]
    fn encode_input(memory: &JsValue, input: &JsValue, ptr: u32, cap: u32) -> f64;

    /// `chunk` with the high surrogate the last string chunk ended with in front (as U+FFFD
    /// before bytes), and without a high surrogate at its end, which `state` keeps.
    #[wasm_bindgen(js_name = joinSurrogates)]
    fn join_surrogates(state: &JsValue, chunk: &JsValue) -> JsValue;

    /// Whether `state` kept a high surrogate (which is then forgotten).
    #[wasm_bindgen(js_name = takeHigh)]
    fn take_high(state: &JsValue) -> bool;

    /// The message of the exception a function of this block caught (it then returned -3 or
    /// `undefined` instead of throwing through wasm).
    #[wasm_bindgen(js_name = takeFailure)]
    fn take_failure() -> String;

    #[wasm_bindgen(js_name = columnViews)]
    #[allow(clippy::too_many_arguments)]
    fn column_views(
        cache: &JsValue,
        memory: &JsValue,
        count: u32,
        arena: u32,
        cap: u32,
        errors: u32,
        error_words: u32,
        msg: u32,
        msg_len: u32,
        ascii: bool,
    ) -> JsValue;

    #[wasm_bindgen(js_name = buildColumns)]
    #[allow(clippy::too_many_arguments)]
    fn build_columns(
        memory: &JsValue,
        count: u32,
        arena: u32,
        errors: u32,
        error_words: u32,
        msg: u32,
        msg_len: u32,
        ascii: bool,
        transferable: bool,
    ) -> JsValue;
}

/// Buffers reused across calls (wasm is single-threaded; a re-entrant call gets fresh ones).
#[derive(Default)]
struct Scratch {
    input: Vec<u8>,
    u: Vec<u32>,
    f: Vec<f64>,
    msg: Vec<u8>,
    columns: ColumnArena,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    /// The module's memory, fetched once (each `wasm_bindgen::memory()` makes a new handle).
    static MEMORY: JsValue = wasm_bindgen::memory();
    static NAMES: JsValue = Metric::ALL
        .iter()
        .map(|m| JsValue::from_str(m.name()))
        .collect::<Array>()
        .into();
}

/// Call `f` with the module's memory and the catalog names array.
fn with_js<R>(f: impl FnOnce(&JsValue, &JsValue) -> R) -> R {
    MEMORY.with(|memory| NAMES.with(|names| f(memory, names)))
}

fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => {
            let r = f(&mut s);
            s.trim();
            r
        }
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Scratch buffers bigger than this after a call are let go (see [`Scratch::trim`]).
const SCRATCH_KEEP_BYTES: usize = 1 << 20;

impl Scratch {
    /// Let go of the buffers a large input grew, so that one 10 MB packet does not keep tens of
    /// megabytes reserved for scratch until the page closes. (Wasm memory does not shrink, but
    /// the allocator can give that room to anything else.)
    fn trim(&mut self) {
        fn trim_vec<T>(v: &mut Vec<T>) {
            if v.capacity() * std::mem::size_of::<T>() > SCRATCH_KEEP_BYTES {
                *v = Vec::new();
            }
        }
        trim_vec(&mut self.input);
        trim_vec(&mut self.u);
        trim_vec(&mut self.f);
        trim_vec(&mut self.msg);
        if self.columns.bytes() > SCRATCH_KEEP_BYTES {
            self.columns = ColumnArena::default();
        }
    }
}

/// Call `f` with the scratch input buffer taken out of `s`, and put it back afterwards (also on
/// an error), so that `f` can use the rest of `s` while it reads the bytes.
fn with_input<R>(
    s: &mut Scratch,
    f: impl FnOnce(&mut Scratch, &mut Vec<u8>) -> Result<R, JsError>,
) -> Result<R, JsError> {
    let mut buf = std::mem::take(&mut s.input);
    let r = f(s, &mut buf);
    s.input = buf;
    r
}

fn ptr<T>(v: &[T]) -> u32 {
    v.as_ptr() as usize as u32
}

/// Put the input's bytes at the start of `buf`: a string's UTF-8 (as `TextEncoder` makes it: a
/// lone surrogate becomes U+FFFD), or a copy of a `Uint8Array` / `ArrayBuffer`. Returns whether
/// the input is a string, and the length.
fn read_input(what: &str, input: &JsValue, buf: &mut Vec<u8>) -> Result<(bool, usize), JsError> {
    // One call: `encode_input` writes the bytes into the buffer if they fit, else says how much
    // room it needs. `buf` keeps its length between calls, so that nothing is zero-filled
    // again; the caller truncates.
    if buf.len() < 4096 {
        buf.resize(4096, 0);
    }
    loop {
        let r = with_js(|memory, _| encode_input(memory, input, ptr(buf), buf.len() as u32));
        if r >= 0.0 {
            // 2 * length, + 1 for a string (exact: at most 2^53).
            let r = r as u64;
            return Ok((r & 1 == 1, (r >> 1) as usize));
        }
        if r == -3.0 {
            return Err(JsError::new(
                &[what, ": cannot read the input: ", &take_failure()].concat(),
            ));
        }
        if r == -1.0 {
            return Err(JsError::new(
                &[
                    what,
                    ": input must be a string, a Uint8Array or an ArrayBuffer",
                ]
                .concat(),
            ));
        }
        // -2 - bytes needed.
        let need = (-r - 2.0) as usize;
        if need <= buf.len() {
            // Cannot happen (what fits is written); never loop.
            return Err(JsError::new(&[what, ": could not read the input"].concat()));
        }
        if buf.try_reserve_exact(need - buf.len()).is_err() {
            return Err(JsError::new(
                &[what, ": the input does not fit in the module's memory"].concat(),
            ));
        }
        buf.resize(need, 0);
    }
}

/// `options.prefix`, validated.
fn read_prefix(what: &str, options: Option<&JsValue>) -> Result<Option<String>, JsError> {
    read_option(what, options, "prefix")?
        .map(|p| {
            p.as_string()
                .ok_or_else(|| JsError::new(&[what, ": options.prefix must be a string"].concat()))
        })
        .transpose()
}

/// `options.<key>` as a boolean (false when absent), validated.
fn read_flag(what: &str, options: Option<&JsValue>, key: &str) -> Result<bool, JsError> {
    match read_option(what, options, key)? {
        None => Ok(false),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| JsError::new(&[what, ": options.", key, " must be a boolean"].concat())),
    }
}

fn read_option(
    what: &str,
    options: Option<&JsValue>,
    key: &str,
) -> Result<Option<JsValue>, JsError> {
    let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(None);
    };
    if !options.is_object() {
        return Err(JsError::new(
            &[what, ": options must be an object"].concat(),
        ));
    }
    let v = Reflect::get(options, &JsValue::from_str(key))
        .map_err(|_| JsError::new(&[what, ": cannot read options.", key].concat()))?;
    Ok((!v.is_undefined() && !v.is_null()).then_some(v))
}

/// A result made by js/build.js, or the `Error` for the exception it caught there (it returns
/// `undefined` then).
fn built(what: &str, v: JsValue) -> Result<JsValue, JsError> {
    if v.is_undefined() {
        Err(JsError::new(&[what, ": ", &take_failure()].concat()))
    } else {
        Ok(v)
    }
}

/// Decode `bytes` into a `DecodeResult`. `text` is the input string when the bytes are its UTF-8
/// (offsets are then taken in it); otherwise JS decodes the bytes itself.
fn decode_to_result(
    what: &str,
    s: &mut Scratch,
    text: &JsValue,
    bytes: &[u8],
    prefix: Option<&str>,
    first_line: usize,
    max_line: usize,
) -> Result<JsValue, JsError> {
    let mut tape = Tape::new(bytes, &mut s.u, &mut s.f, &mut s.msg);
    emit::run(bytes, prefix, first_line, max_line, &mut tape);
    let result = with_js(|memory, names| {
        build_decode_result(
            text,
            memory,
            ptr(bytes),
            bytes.len() as u32,
            ptr(&s.u),
            s.u.len() as u32,
            ptr(&s.f),
            s.f.len() as u32,
            ptr(&s.msg),
            s.msg.len() as u32,
            names,
        )
    });
    built(what, result)
}

/// Decode StatsD text (a string, or its UTF-8 bytes as a `Uint8Array` or `ArrayBuffer`) into
/// `{ metrics, errors }`: one object per value, event and service check, one per malformed line.
/// Malformed input never throws; an argument of the wrong type throws an `Error`.
#[wasm_bindgen(js_name = decode, unchecked_return_type = "DecodeResult")]
pub fn decode(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] input: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "DecodeOptions")] options: Option<Object>,
) -> Result<JsValue, JsError> {
    let prefix = read_prefix("decode", options.as_deref())?;
    with_scratch(|s| {
        with_input(s, |s, buf| {
            let (is_text, len) = read_input("decode", &input, buf)?;
            let text = if is_text { &input } else { &JsValue::UNDEFINED };
            let bytes = buf.get(..len).unwrap_or(&[]);
            decode_to_result("decode", s, text, bytes, prefix.as_deref(), 1, usize::MAX)
        })
    })
}

/// Copy `input` into `buf` and decode it into `arena` (the shared body of `decodeColumns()` and
/// `ColumnDecoder.decode()`); returns whether the input was all ASCII.
fn fill_arena(
    what: &str,
    input: &JsValue,
    buf: &mut Vec<u8>,
    prefix: Option<&str>,
    arena: &mut ColumnArena,
) -> Result<bool, JsError> {
    let (_, len) = read_input(what, input, buf)?;
    let bytes = buf.get(..len).unwrap_or(&[]);
    let mut cols = ArenaColumns::new(bytes, arena);
    Ok(emit::run(bytes, prefix, 1, usize::MAX, &mut cols))
}

/// Decode StatsD text into typed arrays (one row per value, event and service check): the fast
/// path for dashboards. See `ColumnsResult` for the columns and the type-code table, and
/// `ColumnsOptions.transferable` for results to post to a worker.
#[wasm_bindgen(js_name = decodeColumns, unchecked_return_type = "ColumnsResult")]
pub fn decode_columns(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] input: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "ColumnsOptions")] options: Option<Object>,
) -> Result<JsValue, JsError> {
    let prefix = read_prefix("decodeColumns", options.as_deref())?;
    let transferable = read_flag("decodeColumns", options.as_deref(), "transferable")?;
    with_scratch(|s| {
        with_input(s, |s, buf| {
            let ascii = fill_arena(
                "decodeColumns",
                &input,
                buf,
                prefix.as_deref(),
                &mut s.columns,
            )?;
            s.columns.compact();
            let c = &s.columns;
            built(
                "decodeColumns",
                with_js(|memory, _| {
                    build_columns(
                        memory,
                        c.rows as u32,
                        c.ptr() as usize as u32,
                        ptr(&c.errors),
                        c.errors.len() as u32,
                        ptr(&c.msg),
                        c.msg.len() as u32,
                        ascii,
                        transferable,
                    )
                }),
            )
        })
    })
}

/// A reusable `decodeColumns()`: each `decode()` writes the columns into buffers in wasm memory
/// that this decoder keeps, and returns typed-array views on them. The views are reused by the
/// next `decode()` (they are valid until then, or until any call of this module grows its
/// memory), and their length is the capacity: read rows `0..count`. No allocation per call in
/// the common case, so it is the fastest way to decode many small packets.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ColumnDecoder {
    arena: ColumnArena,
    prefix: Option<String>,
    views: JsValue,
}

#[wasm_bindgen]
impl ColumnDecoder {
    /// A decoder; `options.prefix` as for `decodeColumns()`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "DecodeOptions")] options: Option<Object>,
    ) -> Result<ColumnDecoder, JsError> {
        let prefix = read_prefix("ColumnDecoder", options.as_deref())?;
        Ok(ColumnDecoder {
            arena: ColumnArena::default(),
            prefix,
            views: Object::new().into(),
        })
    }

    /// Decode `input` as `decodeColumns()` does, into this decoder's reused columns.
    #[wasm_bindgen(unchecked_return_type = "ColumnsResult")]
    pub fn decode(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] input: JsValue,
    ) -> Result<JsValue, JsError> {
        with_scratch(|s| {
            with_input(s, |_, buf| {
                let ascii = fill_arena(
                    "ColumnDecoder.decode",
                    &input,
                    buf,
                    self.prefix.as_deref(),
                    &mut self.arena,
                )?;
                let c = &self.arena;
                built(
                    "ColumnDecoder.decode",
                    with_js(|memory, _| {
                        column_views(
                            &self.views,
                            memory,
                            c.rows as u32,
                            c.ptr() as usize as u32,
                            c.cap as u32,
                            ptr(&c.errors),
                            c.errors.len() as u32,
                            ptr(&c.msg),
                            c.msg.len() as u32,
                            ascii,
                        )
                    }),
                )
            })
        })
    }
}

/// The Realm Object Server metric catalog: 18 rows `{ id, name, kind, group, description }` in
/// the reference's order (index = id).
#[wasm_bindgen(js_name = catalog, unchecked_return_type = "CatalogEntry[]")]
pub fn catalog() -> Array {
    Metric::ALL
        .iter()
        .map(|m| {
            let o = Object::new();
            let set = |k: &str, v: JsValue| {
                // Setting a property on a fresh plain object cannot fail.
                let _ = Reflect::set(&o, &JsValue::from_str(k), &v);
            };
            set("id", JsValue::from(m.id()));
            set("name", JsValue::from_str(m.name()));
            set("kind", JsValue::from_str(m.kind().as_str()));
            set("group", JsValue::from_str(m.group().as_str()));
            set("description", JsValue::from_str(m.description()));
            JsValue::from(o)
        })
        .collect()
}

/// A streaming decoder: `push()` chunks of a byte or text stream (lines may be split anywhere,
/// even inside a UTF-8 sequence) and get the decoded complete lines back; `flush()` or `end()`
/// decodes the unterminated tail. Line numbers continue across chunks.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Decoder {
    buf: LineStream,
    prefix: Option<String>,
    /// JS-side state: a string chunk's trailing high surrogate, kept for the next chunk (see
    /// `joinSurrogates` in js/build.js).
    js: JsValue,
}

/// UTF-8 of U+FFFD, what a surrogate without its other half becomes.
const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

#[wasm_bindgen]
impl Decoder {
    /// A decoder; `options.prefix` as for `decode()`, `options.maxLineBytes` bounds the buffer.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "DecoderOptions")] options: Option<Object>,
    ) -> Result<Decoder, JsError> {
        let prefix = read_prefix("Decoder", options.as_deref())?;
        let max_line = match read_option("Decoder", options.as_deref(), "maxLineBytes")? {
            None => DEFAULT_MAX_LINE,
            Some(v) => match v.as_f64() {
                Some(n) if n >= 1.0 && n <= u32::MAX as f64 && n.fract() == 0.0 => n as usize,
                _ => {
                    return Err(JsError::new(
                        "Decoder: options.maxLineBytes must be an integer from 1 to 2^32 - 1",
                    ));
                }
            },
        };
        Ok(Decoder {
            buf: LineStream::new(max_line),
            prefix,
            js: Object::new().into(),
        })
    }

    /// Add a chunk (a string, `Uint8Array` or `ArrayBuffer`); returns the decoded complete lines.
    #[wasm_bindgen(unchecked_return_type = "DecodeResult")]
    pub fn push(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] chunk: JsValue,
    ) -> Result<JsValue, JsError> {
        // A surrogate pair split between two string chunks is one character.
        let chunk = join_surrogates(&self.js, &chunk);
        with_scratch(|s| {
            let ready = with_input(s, |_, buf| {
                let (_, len) = read_input("Decoder.push", &chunk, buf)?;
                Ok(self.buf.push(buf.get(..len).unwrap_or(&[])))
            })?;
            self.decode_ready("Decoder.push", s, ready)
        })
    }

    /// Decode whatever is buffered (an unterminated last line) as complete lines. Numbering goes
    /// on: the next `push()` starts a new line.
    #[wasm_bindgen(unchecked_return_type = "DecodeResult")]
    pub fn flush(&mut self) -> Result<JsValue, JsError> {
        if take_high(&self.js) {
            self.buf.push(REPLACEMENT);
        }
        let n = self.buf.finish();
        with_scratch(|s| self.decode_ready("Decoder.flush", s, n))
    }

    /// `flush()`, then start over: the next `push()` is line 1 of a new stream.
    #[wasm_bindgen(unchecked_return_type = "DecodeResult")]
    pub fn end(&mut self) -> Result<JsValue, JsError> {
        let result = self.flush()?;
        self.buf.reset();
        Ok(result)
    }

    /// Bytes buffered (the unterminated tail).
    #[wasm_bindgen(getter, js_name = bufferedBytes)]
    pub fn buffered_bytes(&self) -> usize {
        self.buf.pending().len()
    }

    /// Lines decoded so far (empty lines included).
    #[wasm_bindgen(getter, js_name = linesRead)]
    pub fn lines_read(&self) -> usize {
        self.buf.lines()
    }
}

impl Decoder {
    /// Decode the first `ready` buffered bytes and drop them; on an error they stay.
    fn decode_ready(
        &mut self,
        what: &str,
        s: &mut Scratch,
        ready: usize,
    ) -> Result<JsValue, JsError> {
        let bytes = self.buf.pending().get(..ready).unwrap_or(&[]);
        let lines = realm_metrics::wire::stream::count_lines(bytes);
        let result = decode_to_result(
            what,
            s,
            &JsValue::UNDEFINED,
            bytes,
            self.prefix.as_deref(),
            self.buf.lines() + 1,
            self.buf.max_line(),
        )?;
        self.buf.consume(ready, lines);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_lets_go_of_big_scratch_buffers_only() {
        let mut s = Scratch::default();
        s.input.resize(4096, 0);
        s.u.resize(1000, 0);
        s.columns.reset(100);
        s.trim();
        assert_eq!((s.input.len(), s.u.len()), (4096, 1000), "small ones stay");
        assert!(s.columns.bytes() > 0);
        s.input.resize(SCRATCH_KEEP_BYTES + 1, 0);
        s.f.resize(SCRATCH_KEEP_BYTES / 8 + 1, 0.0);
        s.columns.reset(SCRATCH_KEEP_BYTES / 34 + 1);
        s.trim();
        assert_eq!(s.input.capacity(), 0);
        assert_eq!(s.f.capacity(), 0);
        assert_eq!(s.u.len(), 1000);
        assert_eq!(s.columns.bytes(), 0);
    }
}
