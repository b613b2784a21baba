//! The allocation-free StatsD encoder.
//!
//! ```
//! use realm_metrics::wire::{Dialect, Encoder, LineOptions, MetricType, Tag, Value};
//! use realm_metrics::Metric;
//!
//! let enc = Encoder::new(Dialect::Etsy, "realm.example.com", &[]).unwrap();
//! let mut buf = [0u8; 128];
//! let n = enc.encode_metric(&mut buf, Metric::ConnectionOnline, Value::Int(3)).unwrap();
//! assert_eq!(&buf[..n], b"realm.example.com.connection.online:3|g");
//!
//! // A negative absolute gauge needs a reset first: a leading '-' means "decrease by".
//! let n = enc.encode_metric(&mut buf, Metric::RealmsOpen, Value::Int(-2)).unwrap();
//! assert_eq!(&buf[..n], b"realm.example.com.realms.open:0|g\nrealm.example.com.realms.open:-2|g");
//!
//! let tags = [Tag::new("env", Some("prod"))];
//! let dog = Encoder::new(Dialect::DogStatsd, "app", &tags).unwrap();
//! let opts = LineOptions { sample_rate: Some(0.5), tags: &[Tag::new("route", Some("sync"))] };
//! let n = dog.encode(&mut buf, "req", Value::Float(1.5), MetricType::Timer, &opts).unwrap();
//! assert_eq!(&buf[..n], b"app.req:1.5|ms|@0.5|#env:prod,route:sync");
//! ```

use core::fmt;

use super::number::{write_f64, F64_MAX_LEN};
use super::{Dialect, MetricType};
use crate::catalog::Metric;
use crate::name::{validate_name, validate_prefix, DisplayByte, NameError};

/// A value to encode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float; NaN and infinities are rejected.
    Float(f64),
    /// A set member (type `s` only).
    Str(&'a str),
}

impl Value<'_> {
    fn is_negative(&self) -> bool {
        match *self {
            Value::Int(v) => v < 0,
            Value::Float(v) => v < 0.0,
            Value::UInt(_) | Value::Str(_) => false,
        }
    }
}

/// A tag: `key` with an optional value (a bare tag has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag<'a> {
    /// The key; never empty.
    pub key: &'a str,
    /// The value, or `None` for a bare tag (DogStatsD only).
    pub value: Option<&'a str>,
}

impl<'a> Tag<'a> {
    /// A tag.
    pub const fn new(key: &'a str, value: Option<&'a str>) -> Self {
        Tag { key, value }
    }
}

/// Per-line options.
#[derive(Clone, Copy, Debug, Default)]
pub struct LineOptions<'a> {
    /// Sample rate in (0, 1]; written only when below 1.
    pub sample_rate: Option<f64>,
    /// Tags of this line, written after the encoder's global tags.
    pub tags: &'a [Tag<'a>],
}

/// Why a line could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EncodeError {
    /// The metric name or the prefix is not valid.
    InvalidName(NameError),
    /// A tag key or value holds a forbidden byte, the key is empty, or a bare tag was given where
    /// the dialect needs values.
    InvalidTag {
        /// Index of the tag (global tags first, then the line's).
        index: usize,
        /// The offending byte, if that is the reason.
        byte: Option<u8>,
    },
    /// NaN or an infinity.
    NonFiniteValue,
    /// A sample rate outside (0, 1].
    InvalidSampleRate,
    /// The dialect (Etsy) cannot carry tags.
    TagsUnsupported,
    /// A delta was asked for a type other than a gauge.
    DeltaNotGauge,
    /// A set member that is empty or holds `|`, `:`, `\n` or `\r`; or a string for a numeric type.
    InvalidValue,
    /// The output buffer is too small for the line.
    BufferTooSmall,
}

impl EncodeError {
    /// A stable snake_case code, as used by the shared test vectors and the bindings.
    pub const fn code(&self) -> &'static str {
        match self {
            EncodeError::InvalidName(_) => "invalid_name",
            EncodeError::InvalidTag { .. } => "invalid_tag",
            EncodeError::NonFiniteValue => "non_finite_value",
            EncodeError::InvalidSampleRate => "invalid_sample_rate",
            EncodeError::TagsUnsupported => "tags_unsupported",
            EncodeError::DeltaNotGauge => "delta_not_gauge",
            EncodeError::InvalidValue => "invalid_value",
            EncodeError::BufferTooSmall => "buffer_too_small",
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::InvalidName(e) => e.fmt(f),
            EncodeError::InvalidTag {
                index,
                byte: Some(b),
            } => write!(f, "tag {index} has invalid character {}", DisplayByte(*b)),
            EncodeError::InvalidTag { index, byte: None } => write!(
                f,
                "tag {index} is invalid (empty key, or a bare tag where the dialect needs key=value)"
            ),
            EncodeError::NonFiniteValue => f.write_str("value is NaN or infinite"),
            EncodeError::InvalidSampleRate => f.write_str("sample rate must be > 0 and <= 1"),
            EncodeError::TagsUnsupported => {
                f.write_str("the etsy dialect has no tags: use telegraf or dogstatsd")
            }
            EncodeError::DeltaNotGauge => f.write_str("only gauges take a delta"),
            EncodeError::InvalidValue => f.write_str(
                "invalid value: a set member must be non-empty without '|', ':' or line breaks, and numeric types need a number",
            ),
            EncodeError::BufferTooSmall => f.write_str("output buffer too small for the line"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

impl From<NameError> for EncodeError {
    fn from(e: NameError) -> Self {
        EncodeError::InvalidName(e)
    }
}

/// Bytes a tag key or value may not contain.
#[inline]
fn is_tag_forbidden(b: u8) -> bool {
    matches!(
        b,
        b'\n' | b'\r' | b':' | b'|' | b'@' | b'#' | b',' | b'=' | 0
    )
}

fn check_tag(tag: &Tag<'_>, index: usize, dialect: Dialect) -> Result<(), EncodeError> {
    if tag.key.is_empty() || (tag.value.is_none() && dialect == Dialect::Telegraf) {
        return Err(EncodeError::InvalidTag { index, byte: None });
    }
    if tag.value == Some("") && dialect == Dialect::Telegraf {
        return Err(EncodeError::InvalidTag { index, byte: None });
    }
    let bad = tag
        .key
        .bytes()
        .chain(tag.value.unwrap_or("").bytes())
        .find(|&b| is_tag_forbidden(b));
    match bad {
        Some(b) => Err(EncodeError::InvalidTag {
            index,
            byte: Some(b),
        }),
        None => Ok(()),
    }
}

/// How the name after the prefix is spelled.
#[derive(Clone, Copy)]
enum NamePart<'a> {
    Plain(&'a str),
    ProtocolUsed(u64),
}

struct W<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl W<'_> {
    #[inline(always)]
    fn put(&mut self, s: &[u8]) -> Result<(), EncodeError> {
        let end = self.pos + s.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(s);
                self.pos = end;
                Ok(())
            }
            None => Err(EncodeError::BufferTooSmall),
        }
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) -> Result<(), EncodeError> {
        match self.buf.get_mut(self.pos) {
            Some(dst) => {
                *dst = b;
                self.pos += 1;
                Ok(())
            }
            None => Err(EncodeError::BufferTooSmall),
        }
    }

    #[inline]
    fn u64(&mut self, v: u64) -> Result<(), EncodeError> {
        let mut b = itoa::Buffer::new();
        self.put(b.format(v).as_bytes())
    }

    #[inline]
    fn i64(&mut self, v: i64) -> Result<(), EncodeError> {
        let mut b = itoa::Buffer::new();
        self.put(b.format(v).as_bytes())
    }

    fn f64(&mut self, v: f64) -> Result<(), EncodeError> {
        let mut tmp = [0u8; F64_MAX_LEN];
        let n = write_f64(v, &mut tmp).ok_or(EncodeError::NonFiniteValue)?;
        self.put(tmp.get(..n).unwrap_or(&[]))
    }
}

/// Encodes StatsD lines for one prefix, dialect and set of global tags, validated once at
/// construction.
#[derive(Clone, Copy, Debug)]
pub struct Encoder<'a> {
    dialect: Dialect,
    prefix: &'a str,
    global_tags: &'a [Tag<'a>],
    host_tag: Option<&'a str>,
}

impl<'a> Encoder<'a> {
    /// An encoder. The prefix (may be empty) and the global tags are validated here.
    pub fn new(
        dialect: Dialect,
        prefix: &'a str,
        global_tags: &'a [Tag<'a>],
    ) -> Result<Self, EncodeError> {
        validate_prefix(prefix)?;
        if dialect == Dialect::Etsy && !global_tags.is_empty() {
            return Err(EncodeError::TagsUnsupported);
        }
        for (i, t) in global_tags.iter().enumerate() {
            check_tag(t, i, dialect)?;
        }
        Ok(Encoder {
            dialect,
            prefix,
            global_tags,
            host_tag: None,
        })
    }

    /// Carry the hostname as a `host` tag (written after the global tags) instead of in the name:
    /// Telegraf's `hostname_as_tag` layout, where the prefix is plain `realm`.
    pub fn with_host_tag(mut self, host: &'a str) -> Result<Self, EncodeError> {
        if self.dialect == Dialect::Etsy {
            return Err(EncodeError::TagsUnsupported);
        }
        check_tag(
            &Tag::new("host", Some(host)),
            self.global_tags.len(),
            self.dialect,
        )?;
        self.host_tag = Some(host);
        Ok(self)
    }

    /// The dialect.
    pub const fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The prefix.
    pub const fn prefix(&self) -> &'a str {
        self.prefix
    }

    /// Encode one metric line (two for a negative absolute gauge in the Etsy and Telegraf
    /// dialects, joined by `\n`; keep them in one datagram). Gauges are absolute values.
    /// Returns the number of bytes written.
    pub fn encode(
        &self,
        buf: &mut [u8],
        name: &str,
        value: Value<'_>,
        ty: MetricType,
        opts: &LineOptions<'_>,
    ) -> Result<usize, EncodeError> {
        validate_name(name)?;
        self.check_line(value, ty, opts)?;
        self.write(buf, NamePart::Plain(name), value, ty, opts, false)
    }

    /// Encode a gauge change: `+N|g` or `-N|g` (`+0|g` for zero), in every dialect.
    pub fn encode_gauge_delta(
        &self,
        buf: &mut [u8],
        name: &str,
        delta: Value<'_>,
        opts: &LineOptions<'_>,
    ) -> Result<usize, EncodeError> {
        validate_name(name)?;
        if let Value::Str(_) = delta {
            return Err(EncodeError::InvalidValue);
        }
        self.check_line(delta, MetricType::Gauge, opts)?;
        self.write(
            buf,
            NamePart::Plain(name),
            delta,
            MetricType::Gauge,
            opts,
            true,
        )
    }

    /// Encode a catalog metric with its kind's type (no validation needed: catalog names are
    /// valid). For [`Metric::ProtocolVersionUsed`] use [`Encoder::encode_protocol_used`]; this
    /// returns [`EncodeError::InvalidName`] for it.
    #[inline]
    pub fn encode_metric(
        &self,
        buf: &mut [u8],
        metric: Metric,
        value: Value<'_>,
    ) -> Result<usize, EncodeError> {
        if metric.is_templated() {
            return Err(EncodeError::InvalidName(NameError {
                kind: crate::name::NameErrorKind::InvalidByte(b'<'),
                position: "protocol.".len(),
            }));
        }
        let ty = metric.kind().wire_type();
        if self.global_tags.is_empty() && self.host_tag.is_none() {
            let mut digits = itoa::Buffer::new();
            let text = match value {
                Value::UInt(n) => Some(digits.format(n)),
                // A negative absolute gauge needs the reset pair (general path).
                Value::Int(n) if n >= 0 || ty != MetricType::Gauge => Some(digits.format(n)),
                _ => None,
            };
            if let Some(text) = text {
                return self.write_simple(buf, metric.name().as_bytes(), text.as_bytes(), ty);
            }
        }
        self.encode_trusted(buf, metric.name(), value, ty)
    }

    /// `prefix.name:digits|ty` with a single bounds check (no tags, no rate).
    #[inline(always)]
    fn write_simple(
        &self,
        buf: &mut [u8],
        name: &[u8],
        digits: &[u8],
        ty: MetricType,
    ) -> Result<usize, EncodeError> {
        let prefix = self.prefix.as_bytes();
        let ty = ty.as_str().as_bytes();
        let dot = usize::from(!prefix.is_empty());
        let total = prefix.len() + dot + name.len() + 1 + digits.len() + 1 + ty.len();
        let out = buf.get_mut(..total).ok_or(EncodeError::BufferTooSmall)?;
        // Single bytes are stored directly: `fill` on a 1-byte slice becomes a memset call.
        let (a, rest) = out.split_at_mut(prefix.len());
        a.copy_from_slice(prefix);
        let rest = match rest.split_first_mut() {
            Some((d, r)) if dot == 1 => {
                *d = b'.';
                r
            }
            _ => rest,
        };
        let (a, rest) = rest.split_at_mut(name.len());
        a.copy_from_slice(name);
        let Some((colon, rest)) = rest.split_first_mut() else {
            return Err(EncodeError::BufferTooSmall);
        };
        *colon = b':';
        let (a, rest) = rest.split_at_mut(digits.len());
        a.copy_from_slice(digits);
        let Some((bar, rest)) = rest.split_first_mut() else {
            return Err(EncodeError::BufferTooSmall);
        };
        *bar = b'|';
        for (d, s) in rest.iter_mut().zip(ty) {
            *d = *s;
        }
        Ok(total)
    }

    /// Encode `protocol.<version>.used:<n>|c`.
    pub fn encode_protocol_used(
        &self,
        buf: &mut [u8],
        version: u64,
        n: u64,
    ) -> Result<usize, EncodeError> {
        self.write(
            buf,
            NamePart::ProtocolUsed(version),
            Value::UInt(n),
            MetricType::Counter,
            &LineOptions::default(),
            false,
        )
    }

    /// Encode a line whose name the caller has already validated (for example a registered
    /// name); the value is still checked.
    #[inline]
    pub fn encode_trusted(
        &self,
        buf: &mut [u8],
        name: &str,
        value: Value<'_>,
        ty: MetricType,
    ) -> Result<usize, EncodeError> {
        check_value(value, ty)?;
        self.write(
            buf,
            NamePart::Plain(name),
            value,
            ty,
            &LineOptions::default(),
            false,
        )
    }

    fn check_line(
        &self,
        value: Value<'_>,
        ty: MetricType,
        opts: &LineOptions<'_>,
    ) -> Result<(), EncodeError> {
        check_value(value, ty)?;
        if let Some(r) = opts.sample_rate {
            // NaN fails both comparisons.
            if !(r > 0.0 && r <= 1.0) {
                return Err(EncodeError::InvalidSampleRate);
            }
        }
        if !opts.tags.is_empty() {
            if self.dialect == Dialect::Etsy {
                return Err(EncodeError::TagsUnsupported);
            }
            let base = self.global_tags.len() + usize::from(self.host_tag.is_some());
            for (i, t) in opts.tags.iter().enumerate() {
                check_tag(t, base + i, self.dialect)?;
            }
        }
        Ok(())
    }

    #[inline]
    fn write(
        &self,
        buf: &mut [u8],
        name: NamePart<'_>,
        value: Value<'_>,
        ty: MetricType,
        opts: &LineOptions<'_>,
        delta: bool,
    ) -> Result<usize, EncodeError> {
        let mut w = W { buf, pos: 0 };
        if !delta
            && ty == MetricType::Gauge
            && value.is_negative()
            && self.dialect.signed_gauge_is_delta()
        {
            // A leading '-' would be read as "decrease by": reset to 0 first.
            self.write_one(&mut w, name, Value::UInt(0), ty, opts, false)?;
            w.byte(b'\n')?;
        }
        self.write_one(&mut w, name, value, ty, opts, delta)?;
        Ok(w.pos)
    }

    #[inline(always)]
    fn write_one(
        &self,
        w: &mut W<'_>,
        name: NamePart<'_>,
        value: Value<'_>,
        ty: MetricType,
        opts: &LineOptions<'_>,
        delta: bool,
    ) -> Result<(), EncodeError> {
        if !self.prefix.is_empty() {
            w.put(self.prefix.as_bytes())?;
            w.byte(b'.')?;
        }
        match name {
            NamePart::Plain(n) => w.put(n.as_bytes())?,
            NamePart::ProtocolUsed(v) => {
                w.put(b"protocol.")?;
                w.u64(v)?;
                w.put(b".used")?;
            }
        }
        let has_tags =
            !self.global_tags.is_empty() || self.host_tag.is_some() || !opts.tags.is_empty();
        if has_tags && self.dialect == Dialect::Telegraf {
            for t in self.all_tags(opts) {
                w.byte(b',')?;
                w.put(t.key.as_bytes())?;
                w.byte(b'=')?;
                w.put(t.value.unwrap_or("").as_bytes())?;
            }
        }
        w.byte(b':')?;
        if delta && !value.is_negative() {
            w.byte(b'+')?;
        }
        match value {
            Value::Int(v) => w.i64(v)?,
            Value::UInt(v) => w.u64(v)?,
            Value::Float(v) => w.f64(v)?,
            Value::Str(s) => w.put(s.as_bytes())?,
        }
        w.byte(b'|')?;
        w.put(ty.as_str().as_bytes())?;
        if let Some(r) = opts.sample_rate {
            if r < 1.0 {
                w.put(b"|@")?;
                w.f64(r)?;
            }
        }
        if has_tags && self.dialect == Dialect::DogStatsd {
            w.put(b"|#")?;
            for (i, t) in self.all_tags(opts).enumerate() {
                if i > 0 {
                    w.byte(b',')?;
                }
                w.put(t.key.as_bytes())?;
                if let Some(v) = t.value {
                    w.byte(b':')?;
                    w.put(v.as_bytes())?;
                }
            }
        }
        Ok(())
    }

    fn all_tags<'s>(&'s self, opts: &'s LineOptions<'s>) -> impl Iterator<Item = Tag<'s>> + 's {
        self.global_tags
            .iter()
            .copied()
            .chain(self.host_tag.map(|h| Tag::new("host", Some(h))))
            .chain(opts.tags.iter().copied())
    }
}

fn check_value(value: Value<'_>, ty: MetricType) -> Result<(), EncodeError> {
    match value {
        Value::Float(v) if !v.is_finite() => Err(EncodeError::NonFiniteValue),
        Value::Str(s) => {
            if ty != MetricType::Set
                || s.is_empty()
                || s.bytes()
                    .any(|b| matches!(b, b'|' | b':' | b'\n' | b'\r' | 0))
            {
                Err(EncodeError::InvalidValue)
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn enc(
        e: &Encoder<'_>,
        name: &str,
        v: Value<'_>,
        ty: MetricType,
        o: &LineOptions<'_>,
    ) -> Result<String, EncodeError> {
        let mut buf = [0u8; 512];
        let n = e.encode(&mut buf, name, v, ty, o)?;
        Ok(String::from_utf8(buf[..n].to_vec()).unwrap())
    }

    #[test]
    fn every_type_etsy() {
        let e = Encoder::new(Dialect::Etsy, "realm.h", &[]).unwrap();
        let o = LineOptions::default();
        for (ty, want) in [
            (MetricType::Counter, "realm.h.x:5|c"),
            (MetricType::Gauge, "realm.h.x:5|g"),
            (MetricType::Timer, "realm.h.x:5|ms"),
            (MetricType::Histogram, "realm.h.x:5|h"),
            (MetricType::Set, "realm.h.x:5|s"),
            (MetricType::Distribution, "realm.h.x:5|d"),
        ] {
            assert_eq!(enc(&e, "x", Value::Int(5), ty, &o).unwrap(), want);
        }
        assert_eq!(
            enc(&e, "x", Value::Str("u1"), MetricType::Set, &o).unwrap(),
            "realm.h.x:u1|s"
        );
        assert_eq!(
            enc(&e, "x", Value::UInt(u64::MAX), MetricType::Counter, &o).unwrap(),
            "realm.h.x:18446744073709551615|c"
        );
        assert_eq!(
            enc(&e, "x", Value::Int(-1), MetricType::Counter, &o).unwrap(),
            "realm.h.x:-1|c"
        );
    }

    #[test]
    fn gauge_rules_per_dialect() {
        let o = LineOptions::default();
        let e = Encoder::new(Dialect::Etsy, "p", &[]).unwrap();
        assert_eq!(
            enc(&e, "g", Value::Int(-5), MetricType::Gauge, &o).unwrap(),
            "p.g:0|g\np.g:-5|g"
        );
        assert_eq!(
            enc(&e, "g", Value::Float(-0.5), MetricType::Gauge, &o).unwrap(),
            "p.g:0|g\np.g:-0.5|g"
        );
        assert_eq!(
            enc(&e, "g", Value::Float(-0.0), MetricType::Gauge, &o).unwrap(),
            "p.g:0|g"
        );
        let t = [Tag::new("k", Some("v"))];
        let e = Encoder::new(Dialect::Telegraf, "p", &t).unwrap();
        assert_eq!(
            enc(&e, "g", Value::Int(-5), MetricType::Gauge, &o).unwrap(),
            "p.g,k=v:0|g\np.g,k=v:-5|g"
        );
        let e = Encoder::new(Dialect::DogStatsd, "p", &[]).unwrap();
        assert_eq!(
            enc(&e, "g", Value::Int(-5), MetricType::Gauge, &o).unwrap(),
            "p.g:-5|g"
        );
        let mut buf = [0u8; 64];
        for (v, want) in [
            (Value::Int(5), "p.g:+5|g"),
            (Value::Int(-5), "p.g:-5|g"),
            (Value::Int(0), "p.g:+0|g"),
            (Value::Float(0.25), "p.g:+0.25|g"),
        ] {
            let n = e.encode_gauge_delta(&mut buf, "g", v, &o).unwrap();
            assert_eq!(&buf[..n], want.as_bytes());
        }
    }

    #[test]
    fn tags_and_rates() {
        let g = [Tag::new("env", Some("prod")), Tag::new("bare", None)];
        let e = Encoder::new(Dialect::DogStatsd, "", &g).unwrap();
        let lt = [Tag::new("a", Some("b"))];
        let o = LineOptions {
            sample_rate: Some(0.1),
            tags: &lt,
        };
        assert_eq!(
            enc(&e, "n", Value::Int(1), MetricType::Counter, &o).unwrap(),
            "n:1|c|@0.1|#env:prod,bare,a:b"
        );
        let o1 = LineOptions {
            sample_rate: Some(1.0),
            tags: &[],
        };
        assert_eq!(
            enc(&e, "n", Value::Int(1), MetricType::Counter, &o1).unwrap(),
            "n:1|c|#env:prod,bare"
        );
        assert_eq!(
            Encoder::new(Dialect::Telegraf, "", &g).unwrap_err().code(),
            "invalid_tag"
        );
        let tg = [Tag::new("env", Some("prod"))];
        let e = Encoder::new(Dialect::Telegraf, "realm", &tg)
            .unwrap()
            .with_host_tag("example.com")
            .unwrap();
        let o = LineOptions {
            sample_rate: Some(0.5),
            tags: &lt,
        };
        assert_eq!(
            enc(
                &e,
                "connection.online",
                Value::Int(3),
                MetricType::Gauge,
                &o
            )
            .unwrap(),
            "realm.connection.online,env=prod,host=example.com,a=b:3|g|@0.5"
        );
        let e = Encoder::new(Dialect::Etsy, "", &[]).unwrap();
        assert_eq!(
            enc(
                &e,
                "n",
                Value::Int(1),
                MetricType::Counter,
                &LineOptions {
                    sample_rate: None,
                    tags: &lt
                }
            )
            .unwrap_err(),
            EncodeError::TagsUnsupported
        );
        assert_eq!(
            Encoder::new(Dialect::Etsy, "", &tg).unwrap_err(),
            EncodeError::TagsUnsupported
        );
    }

    #[test]
    fn rejects_bad_input() {
        let e = Encoder::new(Dialect::DogStatsd, "p", &[]).unwrap();
        let o = LineOptions::default();
        for bad in ["a\nb", "a:b", "a|b", "a@b", "a#b", "", "a..b", "a,b"] {
            assert_eq!(
                enc(&e, bad, Value::Int(1), MetricType::Counter, &o)
                    .unwrap_err()
                    .code(),
                "invalid_name",
                "{bad:?}"
            );
        }
        assert_eq!(
            enc(&e, "a", Value::Float(f64::NAN), MetricType::Gauge, &o).unwrap_err(),
            EncodeError::NonFiniteValue
        );
        assert_eq!(
            enc(
                &e,
                "a",
                Value::Float(f64::NEG_INFINITY),
                MetricType::Counter,
                &o
            )
            .unwrap_err(),
            EncodeError::NonFiniteValue
        );
        for r in [0.0, -1.0, 1.5, f64::NAN] {
            let o = LineOptions {
                sample_rate: Some(r),
                tags: &[],
            };
            assert_eq!(
                enc(&e, "a", Value::Int(1), MetricType::Counter, &o).unwrap_err(),
                EncodeError::InvalidSampleRate
            );
        }
        for bad in ["", "a|b", "a:b", "a\nb"] {
            assert_eq!(
                enc(&e, "a", Value::Str(bad), MetricType::Set, &o).unwrap_err(),
                EncodeError::InvalidValue
            );
        }
        assert_eq!(
            enc(&e, "a", Value::Str("x"), MetricType::Counter, &o).unwrap_err(),
            EncodeError::InvalidValue
        );
        let bt = [Tag::new("k", Some("a\nb"))];
        assert_eq!(
            enc(
                &e,
                "a",
                Value::Int(1),
                MetricType::Counter,
                &LineOptions {
                    sample_rate: None,
                    tags: &bt
                }
            )
            .unwrap_err(),
            EncodeError::InvalidTag {
                index: 0,
                byte: Some(b'\n')
            }
        );
        assert_eq!(
            Encoder::new(Dialect::Etsy, "bad prefix", &[])
                .unwrap_err()
                .code(),
            "invalid_name"
        );
        let mut small = [0u8; 4];
        assert_eq!(
            e.encode(&mut small, "abc", Value::Int(1), MetricType::Counter, &o)
                .unwrap_err(),
            EncodeError::BufferTooSmall
        );
    }

    #[test]
    fn templates_match_the_encoder() {
        let tags = [Tag::new("env", Some("prod"))];
        for (d, t) in [
            (Dialect::Etsy, &[][..]),
            (Dialect::Telegraf, &tags[..]),
            (Dialect::DogStatsd, &[][..]),
        ] {
            let e = Encoder::new(d, "realm.h", t).unwrap();
            for m in Metric::ALL {
                if m.is_templated() {
                    assert!(e.template(m).is_err());
                    continue;
                }
                let tpl = e.template(m).unwrap();
                for n in [0u64, 7, 1234567, u64::MAX] {
                    let mut a = [0u8; 300];
                    let mut b = [0u8; 300];
                    let na = tpl.write_u64(&mut a, n).unwrap();
                    let nb = e
                        .encode_trusted(&mut b, m.name(), Value::UInt(n), m.kind().wire_type())
                        .unwrap();
                    assert_eq!(&a[..na], &b[..nb]);
                }
                let mut small = [0u8; 8];
                assert_eq!(
                    tpl.write_u64(&mut small, 1).unwrap_err(),
                    EncodeError::BufferTooSmall
                );
            }
        }
        let e = Encoder::new(Dialect::DogStatsd, "p", &tags).unwrap();
        assert_eq!(
            e.template(Metric::SessionStarted).unwrap_err(),
            EncodeError::TagsUnsupported
        );
        let long = "a".repeat(300);
        let e = Encoder::new(Dialect::Etsy, &long, &[]).unwrap();
        assert_eq!(
            e.template(Metric::SessionStarted).unwrap_err(),
            EncodeError::BufferTooSmall
        );
    }

    #[test]
    fn catalog_and_protocol_used() {
        let e = Encoder::new(Dialect::Etsy, "realm.h", &[]).unwrap();
        let mut buf = [0u8; 128];
        for m in Metric::ALL {
            if m.is_templated() {
                assert!(e.encode_metric(&mut buf, m, Value::UInt(1)).is_err());
                continue;
            }
            let n = e.encode_metric(&mut buf, m, Value::UInt(7)).unwrap();
            let want = std::format!("realm.h.{}:7|{}", m.name(), m.kind().wire_type());
            assert_eq!(&buf[..n], want.as_bytes());
        }
        let n = e.encode_protocol_used(&mut buf, 42, 3).unwrap();
        assert_eq!(&buf[..n], b"realm.h.protocol.42.used:3|c");
    }
}

/// A catalog line's fixed part, `prefix.name:` ... `|type`, rendered once: writing a line is then
/// one copy, the digits and the type. For callers that encode the same metrics every flush (an
/// emitter); no allocation, at most [`LineTemplate::CAPACITY`] bytes of name.
///
/// ```
/// use realm_metrics::wire::{Dialect, Encoder};
/// use realm_metrics::Metric;
///
/// let enc = Encoder::new(Dialect::Etsy, "realm.example.com", &[]).unwrap();
/// let t = enc.template(Metric::ConnectionStarted).unwrap();
/// let mut buf = [0u8; 64];
/// let n = t.write_u64(&mut buf, 42).unwrap();
/// assert_eq!(&buf[..n], b"realm.example.com.connection.started:42|c");
/// ```
#[derive(Clone, Copy)]
pub struct LineTemplate {
    head: [u8; LineTemplate::CAPACITY],
    head_len: usize,
    ty: MetricType,
}

impl core::fmt::Debug for LineTemplate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LineTemplate")
            .field("head", &self.head.get(..self.head_len))
            .field("ty", &self.ty)
            .finish()
    }
}

impl LineTemplate {
    /// The longest `prefix.name:` (with Telegraf bucket tags) a template holds.
    pub const CAPACITY: usize = 240;

    /// Write `<head><n>|<type>` into `buf`, returning the length.
    #[inline]
    pub fn write_u64(&self, buf: &mut [u8], n: u64) -> Result<usize, EncodeError> {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(n).as_bytes();
        let head = self.head.get(..self.head_len).unwrap_or(&[]);
        let ty = self.ty.as_str().as_bytes();
        let total = head.len() + digits.len() + 1 + ty.len();
        let out = buf.get_mut(..total).ok_or(EncodeError::BufferTooSmall)?;
        let (a, rest) = out.split_at_mut(head.len());
        a.copy_from_slice(head);
        let (a, rest) = rest.split_at_mut(digits.len());
        a.copy_from_slice(digits);
        if let Some((bar, rest)) = rest.split_first_mut() {
            *bar = b'|';
            for (d, s) in rest.iter_mut().zip(ty) {
                *d = *s;
            }
        }
        Ok(total)
    }
}

impl Encoder<'_> {
    /// The [`LineTemplate`] of a catalog metric (not the templated `protocol.<version>.used`),
    /// for the etsy and telegraf dialects (DogStatsD tags follow the value, so they have no
    /// fixed head: [`EncodeError::TagsUnsupported`] when this encoder has tags there).
    pub fn template(&self, metric: Metric) -> Result<LineTemplate, EncodeError> {
        if metric.is_templated() {
            return Err(EncodeError::InvalidName(NameError {
                kind: crate::name::NameErrorKind::InvalidByte(b'<'),
                position: "protocol.".len(),
            }));
        }
        let has_tags = !self.global_tags.is_empty() || self.host_tag.is_some();
        if has_tags && self.dialect == Dialect::DogStatsd {
            return Err(EncodeError::TagsUnsupported);
        }
        // Render a line with a one-digit value and keep everything before the value.
        let mut tmp = [0u8; LineTemplate::CAPACITY + 8];
        let n = self.write(
            &mut tmp,
            NamePart::Plain(metric.name()),
            Value::UInt(0),
            metric.kind().wire_type(),
            &LineOptions::default(),
            false,
        )?;
        let ty = metric.kind().wire_type();
        let head_len = n - 2 - ty.as_str().len();
        let mut head = [0u8; LineTemplate::CAPACITY];
        let src = tmp.get(..head_len).ok_or(EncodeError::BufferTooSmall)?;
        head.get_mut(..head_len)
            .ok_or(EncodeError::BufferTooSmall)?
            .copy_from_slice(src);
        Ok(LineTemplate { head, head_len, ty })
    }
}
