//! Decode errors: what is wrong with a malformed line, and where.

use core::fmt;

use crate::name::DisplayByte;

/// What is wrong with a malformed line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// No `:` after the name.
    MissingColon,
    /// The name is empty.
    EmptyName,
    /// A byte that may not appear in a name (`|`, NUL).
    InvalidNameByte(u8),
    /// A value is empty.
    EmptyValue,
    /// A value is not a (finite) number where the type needs one.
    InvalidValue,
    /// No `|type` after the value.
    MissingType,
    /// A type other than `c g ms h s d`.
    UnknownType,
    /// A sample rate that is not a number in (0, 1].
    InvalidSampleRate,
    /// A `|T` timestamp that is not an unsigned integer.
    InvalidTimestamp,
    /// A tag with an empty key.
    InvalidTag,
    /// A malformed `_e{..}` event.
    InvalidEvent,
    /// A malformed `_sc|` service check.
    InvalidServiceCheck,
}

/// A malformed line: where and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// 1-based line number in the input (empty lines count).
    pub line: usize,
    /// 1-based byte column within the line; one past the end for a missing part.
    pub column: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
    /// The byte at `column`, if any.
    pub byte: Option<u8>,
}

impl DecodeErrorKind {
    /// What is wrong, in words.
    pub const fn as_str(&self) -> &'static str {
        match self {
            DecodeErrorKind::InvalidUtf8 => "invalid UTF-8",
            DecodeErrorKind::MissingColon => "expected ':' after the metric name",
            DecodeErrorKind::EmptyName => "empty metric name",
            DecodeErrorKind::InvalidNameByte(_) => "invalid character in metric name",
            DecodeErrorKind::EmptyValue => "empty value",
            DecodeErrorKind::InvalidValue => "value is not a finite number",
            DecodeErrorKind::MissingType => "expected '|' and a metric type after the value",
            DecodeErrorKind::UnknownType => "unknown metric type (expected c, g, ms, h, s or d)",
            DecodeErrorKind::InvalidSampleRate => "sample rate must be a number > 0 and <= 1",
            DecodeErrorKind::InvalidTimestamp => "timestamp must be an unsigned integer",
            DecodeErrorKind::InvalidTag => "tag with an empty key",
            DecodeErrorKind::InvalidEvent => "malformed event (_e{title_len,text_len}:title|text)",
            DecodeErrorKind::InvalidServiceCheck => {
                "malformed service check (_sc|name|status with status 0-3)"
            }
        }
    }
}

impl DecodeError {
    /// The reason without the position: `"unknown metric type (...) at 'z'"`.
    pub fn detail(&self) -> impl fmt::Display + '_ {
        Detail(self)
    }
}

struct Detail<'e>(&'e DecodeError);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.kind.as_str())?;
        match self.0.byte {
            Some(b) => write!(f, " at {}", DisplayByte(b)),
            None => f.write_str(" at end of line"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line,
            self.column,
            self.detail()
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}
