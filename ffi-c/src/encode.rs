//! Encoding one StatsD line into a caller buffer (no emitter needed).

use std::ffi::c_char;

use ::realm_metrics::wire::{Encoder, LineOptions, MetricType, Tag, Value};

use crate::emitter::dialect;
use crate::status::realm_metrics_status::{self, *};
use crate::{guard, opt_str, req_str, tri};

/// StatsD metric types.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum realm_metrics_type {
    /// `c`
    REALM_METRICS_TYPE_COUNTER = 0,
    /// `g`
    REALM_METRICS_TYPE_GAUGE = 1,
    /// `ms`
    REALM_METRICS_TYPE_TIMER = 2,
    /// `h`
    REALM_METRICS_TYPE_HISTOGRAM = 3,
    /// `s`
    REALM_METRICS_TYPE_SET = 4,
    /// `d`
    REALM_METRICS_TYPE_DISTRIBUTION = 5,
}

pub(crate) fn metric_type(t: u32) -> Option<MetricType> {
    MetricType::ALL.get(t as usize).copied()
}

/// Which member of realm_metrics_value holds the value.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum realm_metrics_value_kind {
    /// `i`
    REALM_METRICS_VALUE_INT = 0,
    /// `u`
    REALM_METRICS_VALUE_UINT = 1,
    /// `f` (NaN and infinities are rejected)
    REALM_METRICS_VALUE_FLOAT = 2,
    /// `s` (set members only)
    REALM_METRICS_VALUE_STRING = 3,
}

/// A value to encode: set `kind` and the matching member.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct realm_metrics_value {
    /// A realm_metrics_value_kind.
    pub kind: u32,
    /// For REALM_METRICS_VALUE_INT.
    pub i: i64,
    /// For REALM_METRICS_VALUE_UINT.
    pub u: u64,
    /// For REALM_METRICS_VALUE_FLOAT.
    pub f: f64,
    /// For REALM_METRICS_VALUE_STRING: NUL-terminated UTF-8.
    pub s: *const c_char,
}

/// A tag: `value` NULL makes a bare tag (DogStatsD only).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct realm_metrics_tag {
    /// The key (NUL-terminated UTF-8, not empty).
    pub key: *const c_char,
    /// The value, or NULL.
    pub value: *const c_char,
}

/// How to encode: dialect, prefix and tags shared by the lines.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct realm_metrics_encoder {
    /// A realm_metrics_dialect.
    pub dialect: u32,
    /// The prefix ("" or NULL for none).
    pub prefix: *const c_char,
    /// Global tags, written before each line's tags (NULL when global_tag_count is 0).
    pub global_tags: *const realm_metrics_tag,
    /// Number of global tags.
    pub global_tag_count: usize,
    /// When not NULL, a `host` tag with this value (Telegraf's hostname_as_tag layout).
    pub host_tag: *const c_char,
}

/// One line to encode.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct realm_metrics_line {
    /// The name after the prefix.
    pub name: *const c_char,
    /// A realm_metrics_type.
    pub type_: u32,
    /// The value.
    pub value: realm_metrics_value,
    /// Gauges only: write a change (`+N|g` / `-N|g`) instead of an absolute value.
    pub delta: bool,
    /// Whether sample_rate is set.
    pub has_sample_rate: bool,
    /// In (0, 1]; written only when below 1.
    pub sample_rate: f64,
    /// The line's tags (NULL when tag_count is 0).
    pub tags: *const realm_metrics_tag,
    /// Number of tags.
    pub tag_count: usize,
}

/// # Safety
/// `p` is NULL with `n == 0`, or points to `n` valid tags.
unsafe fn tags<'a>(
    p: *const realm_metrics_tag,
    n: usize,
) -> Result<Vec<Tag<'a>>, realm_metrics_status> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(REALM_METRICS_NULL_ARGUMENT);
    }
    // SAFETY: p points to n tags (caller).
    let raw = unsafe { std::slice::from_raw_parts(p, n) };
    raw.iter()
        .map(|t| {
            // SAFETY: tag strings are NULL or NUL-terminated (caller).
            Ok(Tag::new(unsafe { req_str(t.key) }?, unsafe {
                opt_str(t.value)
            }?))
        })
        .collect()
}

/// Encode one line (two for a negative absolute gauge in the etsy and telegraf dialects,
/// joined by '\n') into `buf`, NUL-terminated. On success `*out_len` is the length without the
/// NUL. Fails with the encoder's statuses (REALM_METRICS_INVALID_NAME, ...,
/// REALM_METRICS_BUFFER_TOO_SMALL when `buf_len` cannot hold the line and its NUL); on failure
/// `buf` may have been written but `*out_len` is not.
///
/// # Safety
/// `enc` and `line` point to valid structs whose pointers are NULL or valid as documented;
/// `buf` points to `buf_len` writable bytes; `out_len` is writable.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_encode_line(
    enc: *const realm_metrics_encoder,
    line: *const realm_metrics_line,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> realm_metrics_status {
    guard(|| {
        // SAFETY: NULL or valid (caller).
        let (Some(enc), Some(line)) = (unsafe { enc.as_ref() }, unsafe { line.as_ref() }) else {
            return REALM_METRICS_NULL_ARGUMENT;
        };
        if buf.is_null() || out_len.is_null() {
            return REALM_METRICS_NULL_ARGUMENT;
        }
        let Some(d) = dialect(enc.dialect) else {
            return REALM_METRICS_INVALID_OPTION;
        };
        // SAFETY: strings and arrays as documented (caller).
        let prefix = tri!(unsafe { opt_str(enc.prefix) }).unwrap_or("");
        let global = tri!(unsafe { tags(enc.global_tags, enc.global_tag_count) });
        let line_tags = tri!(unsafe { tags(line.tags, line.tag_count) });
        let host = tri!(unsafe { opt_str(enc.host_tag) });
        let name = tri!(unsafe { req_str(line.name) });
        let Some(ty) = metric_type(line.type_) else {
            return REALM_METRICS_UNKNOWN_TYPE;
        };
        let value = match line.value.kind {
            0 => Value::Int(line.value.i),
            1 => Value::UInt(line.value.u),
            2 => Value::Float(line.value.f),
            3 => Value::Str(tri!(unsafe { req_str(line.value.s) })),
            _ => return REALM_METRICS_INVALID_VALUE,
        };
        let mut encoder =
            tri!(Encoder::new(d, prefix, &global).map_err(realm_metrics_status::from));
        if let Some(h) = host {
            encoder = tri!(encoder.with_host_tag(h).map_err(realm_metrics_status::from));
        }
        let opts = LineOptions {
            sample_rate: line.has_sample_rate.then_some(line.sample_rate),
            tags: &line_tags,
        };
        if buf_len == 0 {
            return REALM_METRICS_BUFFER_TOO_SMALL;
        }
        // SAFETY: buf points to buf_len writable bytes (caller).
        let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), buf_len) };
        let Some((_, room)) = out.split_last_mut() else {
            return REALM_METRICS_BUFFER_TOO_SMALL;
        };
        let r = if line.delta {
            if ty != MetricType::Gauge {
                return REALM_METRICS_DELTA_NOT_GAUGE;
            }
            encoder.encode_gauge_delta(room, name, value, &opts)
        } else {
            encoder.encode(room, name, value, ty, &opts)
        };
        let n = tri!(r.map_err(realm_metrics_status::from));
        if let Some(z) = out.get_mut(n) {
            *z = 0;
        }
        // SAFETY: out_len is non-NULL and writable (caller).
        unsafe { *out_len = n };
        REALM_METRICS_OK
    })
}

/// The library version, e.g. "0.1.0" (static; never free it).
#[no_mangle]
pub extern "C" fn realm_metrics_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[allow(dead_code)]
fn _unused(_: realm_metrics_type, _: realm_metrics_value_kind) {}
