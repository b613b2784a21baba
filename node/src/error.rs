//! Errors thrown into JavaScript: `TypeError` / `RangeError` / `Error` objects with a `code`
//! property `ERR_REALM_METRICS_<CODE>` (the core's snake_case code in upper case).

use napi::{Env, Error, Status};
use realm_metrics::emitter::EmitError;
use realm_metrics::wire::EncodeError;

/// Which JavaScript error class to throw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsKind {
    /// `TypeError`: the argument has the wrong shape (a bad name, tag, type, dialect...).
    Type,
    /// `RangeError`: a number out of range (NaN, Infinity, a sample rate outside (0, 1]...).
    Range,
    /// `Error`: the call was fine but the operation failed (socket, resolution, limits).
    Plain,
}

/// The JavaScript error class of a core error code.
pub(crate) fn kind_of(code: &str) -> JsKind {
    match code {
        "non_finite_value"
        | "invalid_sample_rate"
        | "unknown_metric"
        | "invalid_config"
        | "not_integer" => JsKind::Range,
        "invalid_name" | "invalid_tag" | "invalid_value" | "tags_unsupported"
        | "delta_not_gauge" | "wrong_kind" | "templated_metric" | "invalid_type"
        | "invalid_dialect" | "invalid_argument" => JsKind::Type,
        _ => JsKind::Plain,
    }
}

/// `ERR_REALM_METRICS_INVALID_NAME` for `invalid_name`.
pub(crate) fn js_code(code: &str) -> String {
    let mut s = String::with_capacity(18 + code.len());
    s.push_str("ERR_REALM_METRICS_");
    s.push_str(&code.to_ascii_uppercase());
    s
}

/// Throw an error with `code` (snake_case) and `message`; returns the "exception pending" error
/// for the binding to return, so napi-rs does not throw a second one.
pub(crate) fn throw(env: &Env, code: &str, message: &str) -> Error {
    let jcode = js_code(code);
    let _ = match kind_of(code) {
        JsKind::Type => env.throw_type_error(message, Some(&jcode)),
        JsKind::Range => env.throw_range_error(message, Some(&jcode)),
        JsKind::Plain => env.throw_error(message, Some(&jcode)),
    };
    Error::from_status(Status::PendingException)
}

/// Throw an encoder error.
pub(crate) fn throw_encode(env: &Env, e: &EncodeError) -> Error {
    throw(env, e.code(), &e.to_string())
}

/// Throw an emitter error.
pub(crate) fn throw_emit(env: &Env, e: &EmitError) -> Error {
    throw(env, e.code(), &e.to_string())
}
