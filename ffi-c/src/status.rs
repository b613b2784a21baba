//! Status codes.

use std::ffi::c_char;

use ::realm_metrics::emitter::EmitError;
use ::realm_metrics::wire::EncodeError;

/// The result of a fallible call. Values are explicit and never reused; new ones are only added.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum realm_metrics_status {
    /// Success.
    REALM_METRICS_OK = 0,
    /// A required pointer argument was NULL.
    REALM_METRICS_NULL_ARGUMENT = 1,
    /// A string argument is not valid UTF-8.
    REALM_METRICS_INVALID_UTF8 = 2,
    /// The metric id is not in the catalog (>= realm_metric_count()).
    REALM_METRICS_UNKNOWN_METRIC = 3,
    /// The metric has the other kind: counting a gauge, setting a counter, or
    /// `protocol.<version>.used` through realm_metrics_increment (use realm_metrics_protocol_used).
    REALM_METRICS_WRONG_KIND = 4,
    /// A metric name or prefix is not dot-separated `[A-Za-z0-9_-]` segments.
    REALM_METRICS_INVALID_NAME = 5,
    /// A tag key or value holds a forbidden character (or a bare tag where values are needed).
    REALM_METRICS_INVALID_TAG = 6,
    /// NaN or an infinity.
    REALM_METRICS_NON_FINITE_VALUE = 7,
    /// A sample rate outside (0, 1].
    REALM_METRICS_INVALID_SAMPLE_RATE = 8,
    /// The etsy dialect has no tags.
    REALM_METRICS_TAGS_UNSUPPORTED = 9,
    /// A delta for a type other than a gauge.
    REALM_METRICS_DELTA_NOT_GAUGE = 10,
    /// A value that does not fit the type (a set member with `|`, `:` or a line break, ...).
    REALM_METRICS_INVALID_VALUE = 11,
    /// The output buffer is too small.
    REALM_METRICS_BUFFER_TOO_SMALL = 12,
    /// An option is out of range (unknown dialect, payload too large, ...).
    REALM_METRICS_INVALID_OPTION = 13,
    /// The host could not be resolved.
    REALM_METRICS_RESOLVE_FAILED = 14,
    /// The socket could not be created or a send failed.
    REALM_METRICS_IO_ERROR = 15,
    /// The registry of custom names is full; the name was not registered.
    REALM_METRICS_CARDINALITY_EXCEEDED = 16,
    /// Too many distinct protocol versions; the use was counted as dropped.
    REALM_METRICS_PROTOCOL_VERSIONS_EXCEEDED = 17,
    /// The sample buffer is full until the next flush; the sample was counted as dropped.
    REALM_METRICS_SAMPLE_BUFFER_FULL = 18,
    /// A panic inside the library was caught; the call had no effect.
    REALM_METRICS_PANIC = 19,
    /// The emitter was closed; the call had no effect.
    REALM_METRICS_CLOSED = 20,
    /// The message type is not a known realm_metrics_type.
    REALM_METRICS_UNKNOWN_TYPE = 21,
    /// The handle was created before fork() and used in the child, where it sends nothing:
    /// create a new one in the child (realm_metrics_free of the old one is safe there).
    REALM_METRICS_FORKED = 22,
}

use realm_metrics_status::*;

impl realm_metrics_status {
    const ALL: [realm_metrics_status; 23] = [
        REALM_METRICS_OK,
        REALM_METRICS_NULL_ARGUMENT,
        REALM_METRICS_INVALID_UTF8,
        REALM_METRICS_UNKNOWN_METRIC,
        REALM_METRICS_WRONG_KIND,
        REALM_METRICS_INVALID_NAME,
        REALM_METRICS_INVALID_TAG,
        REALM_METRICS_NON_FINITE_VALUE,
        REALM_METRICS_INVALID_SAMPLE_RATE,
        REALM_METRICS_TAGS_UNSUPPORTED,
        REALM_METRICS_DELTA_NOT_GAUGE,
        REALM_METRICS_INVALID_VALUE,
        REALM_METRICS_BUFFER_TOO_SMALL,
        REALM_METRICS_INVALID_OPTION,
        REALM_METRICS_RESOLVE_FAILED,
        REALM_METRICS_IO_ERROR,
        REALM_METRICS_CARDINALITY_EXCEEDED,
        REALM_METRICS_PROTOCOL_VERSIONS_EXCEEDED,
        REALM_METRICS_SAMPLE_BUFFER_FULL,
        REALM_METRICS_PANIC,
        REALM_METRICS_CLOSED,
        REALM_METRICS_UNKNOWN_TYPE,
        REALM_METRICS_FORKED,
    ];

    /// A sentence for humans, NUL-terminated.
    const fn message(self) -> &'static [u8] {
        match self {
            REALM_METRICS_OK => b"ok\0",
            REALM_METRICS_NULL_ARGUMENT => b"a required pointer argument was NULL\0",
            REALM_METRICS_INVALID_UTF8 => b"a string argument is not valid UTF-8\0",
            REALM_METRICS_UNKNOWN_METRIC => b"the metric id is not in the catalog\0",
            REALM_METRICS_WRONG_KIND => b"the metric has the other kind (counter vs gauge), or protocol.<version>.used needs realm_metrics_protocol_used\0",
            REALM_METRICS_INVALID_NAME => b"invalid metric name: use dot-separated segments of A-Z a-z 0-9 _ -\0",
            REALM_METRICS_INVALID_TAG => b"invalid tag: empty key, a forbidden character (newline : | @ # , =), or a bare tag where the dialect needs key=value\0",
            REALM_METRICS_NON_FINITE_VALUE => b"the value is NaN or infinite\0",
            REALM_METRICS_INVALID_SAMPLE_RATE => b"the sample rate must be > 0 and <= 1\0",
            REALM_METRICS_TAGS_UNSUPPORTED => b"the etsy dialect has no tags: use telegraf or dogstatsd\0",
            REALM_METRICS_DELTA_NOT_GAUGE => b"only gauges take a delta\0",
            REALM_METRICS_INVALID_VALUE => b"the value does not fit the type (set members must be non-empty without | : or line breaks)\0",
            REALM_METRICS_BUFFER_TOO_SMALL => b"the output buffer is too small\0",
            REALM_METRICS_INVALID_OPTION => b"an option is out of range\0",
            REALM_METRICS_RESOLVE_FAILED => b"the host could not be resolved\0",
            REALM_METRICS_IO_ERROR => b"the socket could not be created or written\0",
            REALM_METRICS_CARDINALITY_EXCEEDED => b"the registry of custom metric names is full\0",
            REALM_METRICS_PROTOCOL_VERSIONS_EXCEEDED => b"too many distinct protocol versions\0",
            REALM_METRICS_SAMPLE_BUFFER_FULL => b"the sample buffer is full until the next flush\0",
            REALM_METRICS_PANIC => b"an internal panic was caught; the call had no effect\0",
            REALM_METRICS_CLOSED => b"the emitter is closed\0",
            REALM_METRICS_UNKNOWN_TYPE => b"unknown metric type\0",
            REALM_METRICS_FORKED => b"the handle was created before fork(): create a new one in the child\0",
        }
    }
}

impl From<EncodeError> for realm_metrics_status {
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::InvalidName(_) => REALM_METRICS_INVALID_NAME,
            EncodeError::InvalidTag { .. } => REALM_METRICS_INVALID_TAG,
            EncodeError::NonFiniteValue => REALM_METRICS_NON_FINITE_VALUE,
            EncodeError::InvalidSampleRate => REALM_METRICS_INVALID_SAMPLE_RATE,
            EncodeError::TagsUnsupported => REALM_METRICS_TAGS_UNSUPPORTED,
            EncodeError::DeltaNotGauge => REALM_METRICS_DELTA_NOT_GAUGE,
            EncodeError::InvalidValue => REALM_METRICS_INVALID_VALUE,
            EncodeError::BufferTooSmall => REALM_METRICS_BUFFER_TOO_SMALL,
        }
    }
}

impl From<EmitError> for realm_metrics_status {
    fn from(e: EmitError) -> Self {
        match e {
            EmitError::WrongKind { .. } | EmitError::Templated(_) => REALM_METRICS_WRONG_KIND,
            EmitError::InvalidName(_) => REALM_METRICS_INVALID_NAME,
            EmitError::Encode(e) => e.into(),
            EmitError::CardinalityExceeded { .. } => REALM_METRICS_CARDINALITY_EXCEEDED,
            EmitError::ProtocolVersionsExceeded { .. } => REALM_METRICS_PROTOCOL_VERSIONS_EXCEEDED,
            EmitError::SampleBufferFull { .. } => REALM_METRICS_SAMPLE_BUFFER_FULL,
            EmitError::InvalidConfig(_) => REALM_METRICS_INVALID_OPTION,
            EmitError::Resolve { .. } => REALM_METRICS_RESOLVE_FAILED,
            EmitError::Forked => REALM_METRICS_FORKED,
            _ => REALM_METRICS_IO_ERROR,
        }
    }
}

/// A human-readable message for `status` (a static NUL-terminated string; never free it).
/// Unknown values give "unknown status".
#[no_mangle]
pub extern "C" fn realm_metrics_status_message(status: u32) -> *const c_char {
    match realm_metrics_status::ALL.get(status as usize) {
        Some(s) => s.message().as_ptr().cast(),
        None => c"unknown status".as_ptr(),
    }
}

/// The stable snake_case name of `status` (`"invalid_name"`, ...; a static NUL-terminated string;
/// never free it), or NULL for an unknown value.
#[no_mangle]
pub extern "C" fn realm_metrics_status_code(status: u32) -> *const c_char {
    match realm_metrics_status::ALL.get(status as usize) {
        Some(s) => code_z(*s).as_ptr().cast(),
        None => std::ptr::null(),
    }
}

const fn code_z(s: realm_metrics_status) -> &'static [u8] {
    match s {
        REALM_METRICS_OK => b"ok\0",
        REALM_METRICS_NULL_ARGUMENT => b"null_argument\0",
        REALM_METRICS_INVALID_UTF8 => b"invalid_utf8\0",
        REALM_METRICS_UNKNOWN_METRIC => b"unknown_metric\0",
        REALM_METRICS_WRONG_KIND => b"wrong_kind\0",
        REALM_METRICS_INVALID_NAME => b"invalid_name\0",
        REALM_METRICS_INVALID_TAG => b"invalid_tag\0",
        REALM_METRICS_NON_FINITE_VALUE => b"non_finite_value\0",
        REALM_METRICS_INVALID_SAMPLE_RATE => b"invalid_sample_rate\0",
        REALM_METRICS_TAGS_UNSUPPORTED => b"tags_unsupported\0",
        REALM_METRICS_DELTA_NOT_GAUGE => b"delta_not_gauge\0",
        REALM_METRICS_INVALID_VALUE => b"invalid_value\0",
        REALM_METRICS_BUFFER_TOO_SMALL => b"buffer_too_small\0",
        REALM_METRICS_INVALID_OPTION => b"invalid_option\0",
        REALM_METRICS_RESOLVE_FAILED => b"resolve_failed\0",
        REALM_METRICS_IO_ERROR => b"io_error\0",
        REALM_METRICS_CARDINALITY_EXCEEDED => b"cardinality_exceeded\0",
        REALM_METRICS_PROTOCOL_VERSIONS_EXCEEDED => b"protocol_versions_exceeded\0",
        REALM_METRICS_SAMPLE_BUFFER_FULL => b"sample_buffer_full\0",
        REALM_METRICS_PANIC => b"panic\0",
        REALM_METRICS_CLOSED => b"closed\0",
        REALM_METRICS_UNKNOWN_TYPE => b"unknown_type\0",
        REALM_METRICS_FORKED => b"forked\0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_values_are_consistent() {
        for (i, s) in realm_metrics_status::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i, "explicit values in order");
            assert_eq!(*code_z(*s).last().unwrap(), 0);
            assert_eq!(*s.message().last().unwrap(), 0);
        }
        assert!(realm_metrics_status_code(99).is_null());
    }
}
