//! Emitter errors.

use core::fmt;
use std::string::String;

use crate::catalog::{Kind, Metric};
use crate::name::NameError;
use crate::wire::{EncodeError, LineTooLong};

/// Why an emitter call failed, or (through the error callback) what went wrong while flushing.
///
/// Recording calls never panic and never block on the network: a wrong call is a typed error
/// here, and failures while sending are counted in [`Stats`](super::Stats) and passed to the
/// error callback.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EmitError {
    /// The metric has the other kind: counting a gauge, or setting a counter.
    WrongKind {
        /// The metric.
        metric: Metric,
        /// The kind the call needs.
        expected: Kind,
    },
    /// [`Metric::ProtocolVersionUsed`] has the version in its name: use
    /// [`Emitter::protocol_used`](super::Emitter::protocol_used).
    Templated(Metric),
    /// A metric name (or the prefix) is not dot-separated `[A-Za-z0-9_-]` segments.
    InvalidName(NameError),
    /// A tag, value or set member the encoder rejects (see [`EncodeError`]).
    Encode(EncodeError),
    /// The registry of custom names is full; the name was not registered (counted in
    /// [`Stats::dropped_cardinality`](super::Stats::dropped_cardinality)).
    CardinalityExceeded {
        /// The configured bound.
        limit: usize,
    },
    /// Every protocol-version slot is taken; the use was not counted (counted in
    /// [`Stats::dropped_protocol_versions`](super::Stats::dropped_protocol_versions)).
    ProtocolVersionsExceeded {
        /// The number of slots.
        limit: usize,
    },
    /// The sample buffer is full until the next flush; the sample was dropped (counted in
    /// [`Stats::dropped_samples`](super::Stats::dropped_samples)).
    SampleBufferFull {
        /// The buffer's capacity.
        capacity: usize,
    },
    /// A builder setting is out of range.
    InvalidConfig(&'static str),
    /// The address could not be resolved (at build, when re-resolving, or at a TCP stream
    /// transport's connection attempt), or a TCP address has no port.
    Resolve {
        /// The address as given.
        address: String,
        /// Why.
        reason: String,
    },
    /// Creating, configuring or connecting the socket failed (for a stream transport, a failed
    /// connection attempt, counted in [`Stats::connect_errors`](super::Stats::connect_errors)).
    Io {
        /// What was being done.
        op: &'static str,
        /// The OS error kind.
        kind: std::io::ErrorKind,
        /// The OS error text.
        message: String,
    },
    /// Sending failed: a datagram the socket refused, or a packet a stream transport's full
    /// backlog refused (both counted in [`Stats::send_errors`](super::Stats::send_errors)); or,
    /// told by a stream transport's I/O thread, a write that failed or timed out, or a close by
    /// the server.
    Send {
        /// The OS error kind.
        kind: std::io::ErrorKind,
        /// The OS error text.
        message: String,
    },
    /// A line longer than the maximum payload was dropped (counted in
    /// [`Stats::lines_dropped_oversize`](super::Stats::lines_dropped_oversize)).
    LineTooLong(LineTooLong),
    /// The emitter was built before `fork()` and used in the child: it sends nothing there
    /// (its flusher thread and what was counted before the fork are the parent's). Build a new
    /// emitter in the child.
    Forked,
    /// Values were dropped since the last flush (told to the error callback once per flush).
    Dropped {
        /// What was dropped: `"cardinality"`, `"samples"` or `"protocol_versions"`.
        what: &'static str,
        /// How many since the last report.
        count: u64,
    },
}

impl EmitError {
    /// A stable snake_case code, as the bindings report it. Encoder errors keep the encoder's
    /// code (`invalid_tag`, `invalid_value`, ...).
    pub const fn code(&self) -> &'static str {
        match self {
            EmitError::WrongKind { .. } => "wrong_kind",
            EmitError::Templated(_) => "templated_metric",
            EmitError::InvalidName(_) => "invalid_name",
            EmitError::Encode(e) => e.code(),
            EmitError::CardinalityExceeded { .. } => "cardinality_exceeded",
            EmitError::ProtocolVersionsExceeded { .. } => "protocol_versions_exceeded",
            EmitError::SampleBufferFull { .. } => "sample_buffer_full",
            EmitError::InvalidConfig(_) => "invalid_config",
            EmitError::Resolve { .. } => "resolve_failed",
            EmitError::Io { .. } => "io_error",
            EmitError::Send { .. } => "send_failed",
            EmitError::LineTooLong(_) => "line_too_long",
            EmitError::Forked => "forked",
            EmitError::Dropped { .. } => "dropped",
        }
    }

    pub(crate) fn io(op: &'static str, e: &std::io::Error) -> Self {
        EmitError::Io {
            op,
            kind: e.kind(),
            message: std::format!("{e}"),
        }
    }

    pub(crate) fn send(e: &std::io::Error) -> Self {
        EmitError::Send {
            kind: e.kind(),
            message: std::format!("{e}"),
        }
    }
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::WrongKind { metric, expected } => write!(
                f,
                "{} is a {}, not a {expected}",
                metric.name(),
                metric.kind()
            ),
            EmitError::Templated(m) => write!(
                f,
                "{} has the protocol version in its name: use protocol_used(version)",
                m.name()
            ),
            EmitError::InvalidName(e) => e.fmt(f),
            EmitError::Encode(e) => e.fmt(f),
            EmitError::CardinalityExceeded { limit } => write!(
                f,
                "too many distinct metric names (limit {limit}); the name was not registered"
            ),
            EmitError::ProtocolVersionsExceeded { limit } => write!(
                f,
                "too many distinct protocol versions (limit {limit}); the use was not counted"
            ),
            EmitError::SampleBufferFull { capacity } => write!(
                f,
                "sample buffer full ({capacity} samples per flush); the sample was dropped"
            ),
            EmitError::InvalidConfig(what) => write!(f, "invalid emitter configuration: {what}"),
            EmitError::Resolve { address, reason } => {
                write!(f, "cannot resolve statsd address {address:?}: {reason}")
            }
            EmitError::Io { op, message, .. } => write!(f, "{op}: {message}"),
            EmitError::Send { message, .. } => write!(f, "sending failed: {message}"),
            EmitError::LineTooLong(e) => write!(f, "{e}; the line was dropped"),
            EmitError::Forked => f.write_str(
                "the emitter was built before fork() and sends nothing in the child: build a new one there",
            ),
            EmitError::Dropped { what, count } => {
                write!(f, "{count} dropped since the last flush ({what})")
            }
        }
    }
}

impl std::error::Error for EmitError {}

impl From<NameError> for EmitError {
    fn from(e: NameError) -> Self {
        EmitError::InvalidName(e)
    }
}

impl From<EncodeError> for EmitError {
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::InvalidName(n) => EmitError::InvalidName(n),
            e => EmitError::Encode(e),
        }
    }
}
