//! The StatsD wire format: types, dialects, the encoder, the packet builder and the decoder.
//!
//! Everything here works without `std` and without allocation: encode into `&mut [u8]` returning
//! the length, decode borrowing the input.

mod decode;
mod encode;
mod number;
mod packet;
pub mod stream;

pub use decode::{
    decode, decode_common, decode_line, CommonLine, DecodeError, DecodeErrorKind, Event, Lines,
    MetricLine, Number, Record, Sample, SampleValue, Samples, ServiceCheck, TagIter, Tags,
};
pub use encode::{EncodeError, Encoder, LineOptions, LineTemplate, Tag, Value};
pub use number::{write_f64, write_i64, write_u64, F64_MAX_LEN};
pub use packet::{LineTooLong, Packer};
pub use stream::{next_line, split_lines, Line, OverlongLine};

#[cfg(feature = "alloc")]
pub use packet::pack;

use core::fmt;

/// A StatsD metric type, as on the wire after the `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricType {
    /// `c`
    Counter,
    /// `g`
    Gauge,
    /// `ms`
    Timer,
    /// `h`
    Histogram,
    /// `s`
    Set,
    /// `d`
    Distribution,
}

impl MetricType {
    /// Every type.
    pub const ALL: [MetricType; 6] = [
        MetricType::Counter,
        MetricType::Gauge,
        MetricType::Timer,
        MetricType::Histogram,
        MetricType::Set,
        MetricType::Distribution,
    ];

    /// The wire token: `c g ms h s d`.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "c",
            MetricType::Gauge => "g",
            MetricType::Timer => "ms",
            MetricType::Histogram => "h",
            MetricType::Set => "s",
            MetricType::Distribution => "d",
        }
    }

    /// Parse a wire token.
    pub fn from_wire(token: &[u8]) -> Option<MetricType> {
        Some(match token {
            b"c" => MetricType::Counter,
            b"g" => MetricType::Gauge,
            b"ms" => MetricType::Timer,
            b"h" => MetricType::Histogram,
            b"s" => MetricType::Set,
            b"d" => MetricType::Distribution,
            _ => return None,
        })
    }

    /// The catalog kind this type corresponds to (`c` and `g` only).
    pub const fn kind(self) -> Option<crate::Kind> {
        match self {
            MetricType::Counter => Some(crate::Kind::Counter),
            MetricType::Gauge => Some(crate::Kind::Gauge),
            _ => None,
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which StatsD flavour to write. See DESIGN §4.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// Plain Etsy statsd: no tags; names exactly as in the catalog.
    #[default]
    Etsy,
    /// Telegraf `inputs.statsd`: tags in the bucket, `name,k=v:1|c`.
    Telegraf,
    /// DogStatsD: tags after the type, `name:1|c|#k:v`.
    DogStatsd,
}

impl Dialect {
    /// `"etsy"`, `"telegraf"` or `"dogstatsd"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dialect::Etsy => "etsy",
            Dialect::Telegraf => "telegraf",
            Dialect::DogStatsd => "dogstatsd",
        }
    }

    /// Parse `"etsy"`, `"telegraf"` or `"dogstatsd"` (also `"datadog"`).
    pub fn parse(s: &str) -> Option<Dialect> {
        Some(match s {
            "etsy" | "statsd" => Dialect::Etsy,
            "telegraf" | "influx" => Dialect::Telegraf,
            "dogstatsd" | "datadog" => Dialect::DogStatsd,
            _ => return None,
        })
    }

    /// Whether a leading sign on a gauge value means "change by" in this dialect's daemons.
    pub const fn signed_gauge_is_delta(self) -> bool {
        !matches!(self, Dialect::DogStatsd)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default maximum datagram payload for UDP: fits a 1500-byte Ethernet MTU without fragmenting.
pub const DEFAULT_MAX_PAYLOAD_UDP: usize = 1432;
/// Default maximum datagram payload for Unix datagram sockets (the Datadog agent's limit).
pub const DEFAULT_MAX_PAYLOAD_UDS: usize = 8192;

mod flat;
pub use flat::{catalog_match, flatten, CatalogMatch, Flat, FlatValue, Flatten};
