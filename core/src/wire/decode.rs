//! The zero-copy StatsD decoder.
//!
//! [`decode`] walks a datagram line by line. Each non-empty line gives a [`Record`]: metric
//! values ([`MetricLine`], one or more [`Sample`]s), a DogStatsD [`Event`] or a
//! [`ServiceCheck`]; or a [`DecodeError`] with the line number and byte column, after which the
//! next line is decoded as usual.
//!
//! Accepted forms: Etsy (`k:1|c|@0.1`, multi-value `k:1|c:2|ms`), Telegraf bucket tags
//! (`k,host=a:1|c`), DogStatsD (`k:1:2:3|d|@0.5|#tag:v,bare|c:container|T1700000000`), unknown
//! `|x` fields after the type (kept as extensions), events `_e{..}` and service checks `_sc|`.
//!
//! ```
//! use realm_metrics::wire::{decode, MetricType, Number, Record, SampleValue};
//!
//! let mut lines = decode(b"realm.h.connection.online:-2|g\nbad line\nreq,host=a:1:2|d|#env:prod");
//! let Some(Ok(Record::Metric(line))) = lines.next() else { panic!() };
//! let s = line.samples().next().unwrap();
//! assert_eq!((s.ty, s.value, s.delta), (MetricType::Gauge, SampleValue::Number(Number::Int(-2)), true));
//!
//! let err = lines.next().unwrap().unwrap_err();
//! assert_eq!((err.line, err.column), (2, 9));
//!
//! let Some(Ok(Record::Metric(line))) = lines.next() else { panic!() };
//! assert_eq!(line.name, "req");
//! assert_eq!(line.samples().count(), 2);
//! let tags: Vec<_> = line.samples().next().unwrap().tags().iter().collect();
//! assert_eq!(tags, [("host", Some("a")), ("env", Some("prod"))]);
//! ```

use core::fmt;

use super::MetricType;
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

/// A number as written on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// A negative integer.
    Int(i64),
    /// A non-negative integer.
    UInt(u64),
    /// Anything else (fraction, exponent, or an integer too large for 64 bits); always finite.
    Float(f64),
}

impl Number {
    /// The value as `f64` (exact for integers up to 2^53).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::UInt(v) => v as f64,
            Number::Float(v) => v,
        }
    }
}

/// A decoded value: a number, or a set member.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SampleValue<'a> {
    /// Every type but sets.
    Number(Number),
    /// A set (`|s`) member, as written.
    Set(&'a str),
}

/// Tags of one sample: Telegraf bucket tags first, then DogStatsD `|#` tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Tags<'a> {
    bucket: &'a str,
    dog: &'a str,
}

impl<'a> Tags<'a> {
    /// Whether there are no tags.
    #[inline]
    pub fn is_empty(&self) -> bool {
        // Most lines have no tags at all: answer those without the iterator (a call in wasm).
        (self.bucket.is_empty() && self.dog.is_empty()) || self.iter().next().is_none()
    }

    /// Whether both are the same slices of one input, and so the same tags, in constant time
    /// (the values of one segment of a line, `a:1:2|c|#t`, share theirs).
    pub fn is_same(&self, other: &Tags<'_>) -> bool {
        core::ptr::eq(self.bucket, other.bucket) && core::ptr::eq(self.dog, other.dog)
    }

    /// The tags as `(key, value)`; a bare tag has no value. Later duplicates are not removed.
    pub fn iter(&self) -> TagIter<'a> {
        TagIter {
            bucket: self.bucket,
            dog: self.dog,
        }
    }
}

/// Iterator over [`Tags`].
#[derive(Clone, Debug)]
pub struct TagIter<'a> {
    bucket: &'a str,
    dog: &'a str,
}

// Tag lists are short: a byte loop beats `str::find`'s searcher, above all in wasm.
fn split_first_entry(s: &str) -> (&str, &str) {
    match s.bytes().position(|b| b == b',') {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")),
        None => (s, ""),
    }
}

fn split_kv(s: &str, sep: u8) -> (&str, Option<&str>) {
    match s.bytes().position(|b| b == sep) {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..)),
        None => (s, None),
    }
}

impl<'a> Iterator for TagIter<'a> {
    type Item = (&'a str, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.bucket.is_empty() {
            let (entry, rest) = split_first_entry(self.bucket);
            self.bucket = rest;
            if !entry.is_empty() {
                return Some(split_kv(entry, b'='));
            }
        }
        while !self.dog.is_empty() {
            let (entry, rest) = split_first_entry(self.dog);
            self.dog = rest;
            if !entry.is_empty() {
                return Some(split_kv(entry, b':'));
            }
        }
        None
    }
}

/// One decoded value with its type and fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample<'a> {
    /// The value.
    pub value: SampleValue<'a>,
    /// The wire type.
    pub ty: MetricType,
    /// A gauge value written with a leading sign (`+3`, `-3`): a change, not an absolute value.
    pub delta: bool,
    /// `|@rate`.
    pub sample_rate: Option<f64>,
    /// `|T<unix seconds>`.
    pub timestamp: Option<u64>,
    /// `|c:<container id>`.
    pub container: Option<&'a str>,
    tags: Tags<'a>,
    fields: &'a str,
}

impl<'a> Sample<'a> {
    /// The sample's tags (bucket tags of its line, then its `|#` tags).
    pub fn tags(&self) -> Tags<'a> {
        self.tags
    }

    /// Whether both samples are values of one segment of one line (`a:1:2|c|@0.5|#t` has one
    /// segment with two values), which share their type, rate, timestamp, container, tags and
    /// extensions. Constant time.
    pub fn same_segment(&self, other: &Sample<'_>) -> bool {
        core::ptr::eq(self.fields, other.fields) && self.tags.is_same(&other.tags)
    }

    /// Unknown `|x...` fields after the type, in order, without the leading `|`.
    pub fn extensions(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .split('|')
            .filter(|f| !f.is_empty() && field_kind(f.as_bytes()) == FieldKind::Unknown)
    }
}

/// A line of metric values: one name, one or more samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricLine<'a> {
    /// 1-based line number.
    pub line: usize,
    /// The metric name (before any `,` bucket tags).
    pub name: &'a str,
    bucket_tags: &'a str,
    body: &'a str,
    first: Sample<'a>,
    first_rest: &'a str,
    first_end: usize,
    has_more: bool,
}

impl<'a> MetricLine<'a> {
    /// The samples of the line, in order (several for multi-value and packed lines).
    pub fn samples(&self) -> Samples<'a> {
        Samples {
            body: self.body,
            template: self.first,
            pending: self.first_rest,
            body_pos: self.first_end,
            first: Some(self.first),
        }
    }

    /// Whether the line holds more than one sample.
    pub fn is_multi(&self) -> bool {
        self.has_more
    }

    /// The first sample (every line has at least one).
    pub fn first(&self) -> Sample<'a> {
        self.first
    }

    /// The raw Telegraf bucket tags (`k=v,k2=v2`), if any.
    pub fn bucket_tags(&self) -> &'a str {
        self.bucket_tags
    }
}

/// Iterator over the samples of a [`MetricLine`].
#[derive(Clone, Debug)]
pub struct Samples<'a> {
    body: &'a str,
    /// The current segment's fields (type, rate, tags...).
    template: Sample<'a>,
    /// Values of the current segment not yet returned.
    pending: &'a str,
    /// Offset just past the current segment in the body.
    body_pos: usize,
    first: Option<Sample<'a>>,
}

impl<'a> Iterator for Samples<'a> {
    type Item = Sample<'a>;

    fn next(&mut self) -> Option<Sample<'a>> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        if self.pending.is_empty() {
            // The line was validated: a ':' here starts another segment.
            if self.body.as_bytes().get(self.body_pos) != Some(&b':') {
                return None;
            }
            let seg =
                parse_segment(self.body, self.body_pos + 1, self.template.tags.bucket).ok()?;
            self.body_pos = seg.end;
            self.template = seg.sample(SampleValue::Number(Number::UInt(0)), false);
            self.pending = seg.values;
        }
        let (v, rest) = split_value(self.pending);
        self.pending = rest;
        let (value, delta) = parse_value(v.as_bytes(), self.template.ty).ok()?;
        Some(Sample {
            value,
            delta,
            ..self.template
        })
    }
}

/// A DogStatsD event (`_e{title_len,text_len}:title|text|...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event<'a> {
    /// 1-based line number.
    pub line: usize,
    /// The title.
    pub title: &'a str,
    /// The text (a `\n` escape stays as written).
    pub text: &'a str,
    /// `|d:` date.
    pub timestamp: Option<u64>,
    /// `|h:` hostname.
    pub hostname: Option<&'a str>,
    /// `|k:` aggregation key.
    pub aggregation_key: Option<&'a str>,
    /// `|p:` priority.
    pub priority: Option<&'a str>,
    /// `|s:` source type name.
    pub source_type_name: Option<&'a str>,
    /// `|t:` alert type.
    pub alert_type: Option<&'a str>,
    /// `|#` tags.
    pub tags: Tags<'a>,
}

/// A DogStatsD service check (`_sc|name|status|...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceCheck<'a> {
    /// 1-based line number.
    pub line: usize,
    /// The check's name.
    pub name: &'a str,
    /// 0 OK, 1 warning, 2 critical, 3 unknown.
    pub status: u8,
    /// `|d:` timestamp.
    pub timestamp: Option<u64>,
    /// `|h:` hostname.
    pub hostname: Option<&'a str>,
    /// `|#` tags.
    pub tags: Tags<'a>,
    /// `|m:` message (always last).
    pub message: Option<&'a str>,
}

/// One decoded line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Record<'a> {
    /// Metric values.
    Metric(MetricLine<'a>),
    /// An event.
    Event(Event<'a>),
    /// A service check.
    ServiceCheck(ServiceCheck<'a>),
}

/// Iterator over the lines of a datagram; see [`decode`].
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    input: &'a [u8],
    pos: usize,
    line_no: usize,
}

/// Decode StatsD text: one item per non-empty line, in order. Malformed lines give a
/// [`DecodeError`] and decoding goes on with the next line. Never panics.
pub fn decode(input: &[u8]) -> Lines<'_> {
    Lines {
        input,
        pos: 0,
        line_no: 0,
    }
}

impl<'a> Lines<'a> {
    /// The unread rest of the input.
    pub fn remainder(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or(&[])
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<Record<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.input.get(self.pos..)?;
            if rest.is_empty() {
                return None;
            }
            if let Some((line, advance)) = fast_line(rest, self.line_no + 1) {
                self.pos += advance;
                self.line_no += 1;
                return Some(Ok(Record::Metric(line)));
            }
            let (mut line, advance) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (rest.get(..i).unwrap_or(&[]), i + 1),
                None => (rest, rest.len()),
            };
            self.pos += advance;
            self.line_no += 1;
            if let Some((b'\r', l)) = line.split_last() {
                line = l;
            }
            if line.is_empty() {
                continue;
            }
            return Some(decode_line(line, self.line_no));
        }
    }
}

/// Powers of ten that are exact doubles.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A line of the common shape, decoded in one pass by [`decode_common`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CommonLine<'a> {
    /// The metric name (before any `,` bucket tags).
    pub name: &'a str,
    /// The value.
    pub value: Number,
    /// The wire type (never a set).
    pub ty: MetricType,
    /// A gauge value written with a leading sign: a change, not an absolute value.
    pub delta: bool,
    /// `|@rate`.
    pub sample_rate: Option<f64>,
    /// The raw Telegraf bucket tags (`k=v,k2=v2`), or `""`.
    pub bucket_tags: &'a str,
    /// The raw DogStatsD tags after `|#`, or `""`.
    pub dog_tags: &'a str,
    /// Length of the line, without its line break.
    pub len: usize,
    /// Bytes consumed: the line and its `\n` or `\r\n`, if any.
    pub advance: usize,
    body_start: usize,
    fields_start: usize,
}

impl<'a> CommonLine<'a> {
    /// The line's tags (bucket tags, then `|#` tags), as [`Sample::tags`] gives them.
    pub fn tags(&self) -> Tags<'a> {
        Tags {
            bucket: self.bucket_tags,
            dog: self.dog_tags,
        }
    }
}

/// Decode the line at the start of `input` if it has the common shape,
/// `name[,k=v...]:value|type[|@rate][|#tags]`, all printable ASCII, with one value: in one pass
/// over the bytes, without a separate search for the line break or a UTF-8 check. Returns `None`
/// for every other line (including every malformed one): [`decode_line`] decodes those, and it
/// gives the same result as this for every line this accepts.
#[inline(always)]
pub fn decode_common(input: &[u8]) -> Option<CommonLine<'_>> {
    // Name: printable ASCII up to ':' (or ',' for Telegraf bucket tags), eight bytes at a time
    // (sixteen with wasm SIMD).
    let mut i = scan(input, 0, name_stop_mask, is_name_stop);
    let name_end = i;
    if name_end == 0 {
        return None;
    }
    let mut bucket_tags = (0, 0);
    if input.get(i) == Some(&b',') {
        let start = i + 1;
        loop {
            // An entry starting with '=' has an empty key: the general path reports it.
            if input.get(i + 1) == Some(&b'=') {
                return None;
            }
            i = scan(input, i + 1, name_stop_mask, is_name_stop);
            if input.get(i) != Some(&b',') {
                break;
            }
        }
        bucket_tags = (start, i);
    }
    if input.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let body_start = i;
    // Value: an optional sign, then digits (integers are parsed here), '.', 'e', 'E', '+', '-'.
    let neg = match input.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    // Integer digits: 19 always fit a u64, so no overflow checks (a 64-bit multiply with an
    // overflow check is a library call in wasm).
    let (int, end) = digits(input, i, 0);
    let int_digits = end - i;
    i = end;
    let mut float = None;
    if let Some((v, end)) = plain_fraction(input, i, int, int_digits) {
        if input.get(end) == Some(&b'|') {
            float = Some(Number::Float(if neg { -v } else { v }));
            i = end;
        }
    }
    let mut general = float.is_none() && int_digits > 19;
    // Anything else up to the '|' (an exponent, more digits): the general number parser.
    loop {
        match *input.get(i)? {
            b'|' => break,
            b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-' => general = true,
            _ => return None,
        }
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    let value_end = i;
    i += 1;
    // Type.
    let (ty, ty_len) = match (input.get(i), input.get(i + 1)) {
        (Some(b'c'), _) => (MetricType::Counter, 1),
        (Some(b'g'), _) => (MetricType::Gauge, 1),
        (Some(b'm'), Some(b's')) => (MetricType::Timer, 2),
        (Some(b'h'), _) => (MetricType::Histogram, 1),
        (Some(b'd'), _) => (MetricType::Distribution, 1),
        _ => return None,
    };
    i += ty_len;
    // Optional sample rate.
    let mut sample_rate = None;
    let fields_start = i;
    if input.get(i) == Some(&b'|') && input.get(i + 1) == Some(&b'@') {
        let r_start = i + 2;
        let (m, end) = digits(input, r_start, 0);
        let r = match plain_fraction(input, end, m, end - r_start) {
            Some((r, end)) => {
                i = end;
                r
            }
            None => {
                i = r_start;
                while let Some(c) = input.get(i) {
                    if !(c.is_ascii_digit() || *c == b'.') {
                        break;
                    }
                    i += 1;
                }
                parse_rate(ascii_str(input.get(r_start..i)?))?
            }
        };
        if !(r > 0.0 && r <= 1.0) {
            return None;
        }
        sample_rate = Some(r);
    }
    // Optional DogStatsD tags, last.
    let mut dog_tags = (0, 0);
    if input.get(i) == Some(&b'|') && input.get(i + 1) == Some(&b'#') {
        let start = i + 2;
        i = scan(input, start, tag_stop_mask, is_tag_stop);
        check_tags(ascii_str(input.get(start..i)?), b':').ok()?;
        dog_tags = (start, i);
    }
    let line_end = i;
    let advance = match (input.get(i), input.get(i + 1)) {
        (None, _) => i,
        (Some(b'\n'), _) => i + 1,
        (Some(b'\r'), Some(b'\n')) => i + 2,
        (Some(b'\r'), None) => i + 1,
        _ => return None,
    };
    let value = if general {
        parse_number(input.get(body_start..value_end)?)?
    } else if let Some(f) = float {
        f
    } else {
        if neg {
            if int == 0 {
                Number::UInt(0)
            } else {
                Number::Int(0i64.checked_sub_unsigned(int)?)
            }
        } else {
            Number::UInt(int)
        }
    };
    let signed = neg || input.get(body_start) == Some(&b'+');
    Some(CommonLine {
        name: ascii_str(input.get(..name_end)?),
        value,
        ty,
        delta: signed && ty == MetricType::Gauge,
        sample_rate,
        bucket_tags: ascii_str(input.get(bucket_tags.0..bucket_tags.1)?),
        dog_tags: ascii_str(input.get(dog_tags.0..dog_tags.1)?),
        len: line_end,
        advance,
        body_start,
        fields_start,
    })
}

/// The decimal digits at `i` appended to `acc` (wrapping after 19 digits), and their end.
#[inline(always)]
fn digits(input: &[u8], mut i: usize, mut acc: u64) -> (u64, usize) {
    while let Some(&c) = input.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    (acc, i)
}

/// After `int_digits` (at least one) integer digits with value `int`, ending at `i`: the
/// number `D+.D+` when it has at most 15 digits, and its end. Both parts are then exact doubles
/// and their quotient is correctly rounded, so it equals what `str::parse::<f64>` returns
/// (Clinger's fast path).
#[inline(always)]
fn plain_fraction(input: &[u8], i: usize, int: u64, int_digits: usize) -> Option<(f64, usize)> {
    if int_digits == 0 || input.get(i) != Some(&b'.') {
        return None;
    }
    let (m, end) = digits(input, i + 1, int);
    let frac = end - i - 1;
    if frac == 0 || int_digits + frac > 15 {
        return None;
    }
    Some((m as f64 / POW10.get(frac)?, end))
}

/// [`decode_common`] as a [`MetricLine`] numbered `line_no`, and the bytes consumed.
#[inline]
fn fast_line(input: &[u8], line_no: usize) -> Option<(MetricLine<'_>, usize)> {
    let c = decode_common(input)?;
    let body = ascii_str(input.get(c.body_start..c.len)?);
    let fields = ascii_str(input.get(c.fields_start..c.len)?);
    let first = Sample {
        value: SampleValue::Number(c.value),
        ty: c.ty,
        delta: c.delta,
        sample_rate: c.sample_rate,
        timestamp: None,
        container: None,
        tags: c.tags(),
        fields,
    };
    Some((
        MetricLine {
            line: line_no,
            name: c.name,
            bucket_tags: c.bucket_tags,
            body,
            first,
            first_rest: "",
            first_end: body.len(),
            has_more: false,
        },
        c.advance,
    ))
}

/// The index of the first byte at or after `i` that `mask` flags (eight bytes at a time) or,
/// in the last few bytes, that `stop` accepts; the input's length when there is none. `mask` and
/// `stop` must agree.
#[inline(always)]
fn scan(input: &[u8], mut i: usize, mask: fn(u64) -> u64, stop: fn(u8) -> bool) -> usize {
    // wasm: sixteen bytes at a time with SIMD (eight-byte SWAR costs about four times as much
    // there), then the word loop below for the last few.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let name = stop(b',');
        while let Some(chunk) = input.get(i..i + 16) {
            let m = simd::stop_mask(chunk, name);
            if m != 0 {
                return i + m.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    while let Some(chunk) = input.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let m = mask(u64::from_le_bytes(w));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = input.get(i) {
        if stop(c) {
            return i;
        }
        i += 1;
    }
    i
}

/// The stop-byte tests of [`scan`] for sixteen bytes at a time with wasm SIMD.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::{
        i8x16_add, i8x16_gt, i8x16_splat, u8x16_bitmask, u8x16_eq, u8x16_splat, v128, v128_load,
        v128_or,
    };

    /// Bit `k` set when byte `k` of the sixteen in `chunk` is a stop byte: `|`, a control
    /// byte, DEL or non-ASCII, and for a name (`name`) also `:` and `,`.
    #[inline(always)]
    pub(super) fn stop_mask(chunk: &[u8], name: bool) -> u16 {
        debug_assert!(chunk.len() >= 16);
        if chunk.len() < 16 {
            return 1;
        }
        // SAFETY: `chunk` holds at least 16 bytes; v128_load has no alignment requirement.
        let v = unsafe { v128_load(chunk.as_ptr().cast::<v128>()) };
        // Outside 0x20..=0x7e: `v - 0x20` (unsigned) above 0x5e, that is `v - 0xa0` (signed)
        // above -0x80 + 0x5e; one add and one signed compare instead of two unsigned compares.
        let outside = i8x16_gt(i8x16_add(v, i8x16_splat(0x60)), i8x16_splat(-0x80 + 0x5e));
        let mut stop = v128_or(outside, u8x16_eq(v, u8x16_splat(b'|')));
        if name {
            stop = v128_or(
                stop,
                v128_or(
                    u8x16_eq(v, u8x16_splat(b':')),
                    u8x16_eq(v, u8x16_splat(b',')),
                ),
            );
        }
        u8x16_bitmask(stop)
    }
}

#[inline(always)]
fn is_name_stop(c: u8) -> bool {
    c == b':' || c == b',' || c == b'|' || !(0x20..0x7f).contains(&c)
}

#[inline(always)]
fn is_tag_stop(c: u8) -> bool {
    c == b'|' || !(0x20..0x7f).contains(&c)
}

/// Like [`name_stop_mask`] for DogStatsD tags: `|`, control bytes, DEL and non-ASCII.
#[inline(always)]
const fn tag_stop_mask(x: u64) -> u64 {
    zero_bytes(x ^ (LO * b'|' as u64))
        | zero_bytes(x ^ (LO * 0x7f))
        | (x.wrapping_sub(LO * 0x20) & !x & HI)
        | (x & HI)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` that is zero (exact for the lowest such byte; bytes above it
/// may be flagged too, which is fine for finding the first).
#[inline(always)]
const fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}

/// High bit set in the bytes of a little-endian word that end a fast-path name or need the
/// slow path: `:` `,` `|`, control bytes, DEL and non-ASCII. The lowest flagged byte is exact.
#[inline(always)]
const fn name_stop_mask(x: u64) -> u64 {
    zero_bytes(x ^ (LO * b':' as u64))
        | zero_bytes(x ^ (LO * b',' as u64))
        | zero_bytes(x ^ (LO * b'|' as u64))
        | zero_bytes(x ^ (LO * 0x7f))
        // bytes below 0x20
        | (x.wrapping_sub(LO * 0x20) & !x & HI)
        | (x & HI)
}

/// A `&str` of bytes already checked to be ASCII (printable, digits or separators).
#[inline(always)]
fn ascii_str(b: &[u8]) -> &str {
    debug_assert!(b.is_ascii());
    // SAFETY: every caller passes bytes it has checked to be ASCII, which is valid UTF-8.
    unsafe { core::str::from_utf8_unchecked(b) }
}

/// Decode one line (without its line break). `line_no` is reported in errors.
pub fn decode_line(line: &[u8], line_no: usize) -> Result<Record<'_>, DecodeError> {
    let err = |column: usize, kind: DecodeErrorKind| DecodeError {
        line: line_no,
        column: column + 1,
        kind,
        byte: line.get(column).copied(),
    };
    let text = match core::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => return Err(err(e.valid_up_to(), DecodeErrorKind::InvalidUtf8)),
    };
    let bytes = text.as_bytes();
    if bytes.starts_with(b"_e{") {
        return decode_event(text, line_no).map(Record::Event);
    }
    if bytes.starts_with(b"_sc|") {
        return decode_service_check(text, line_no).map(Record::ServiceCheck);
    }
    // Name: up to ':' or ','.
    let mut i = 0;
    let name_end = loop {
        match bytes.get(i) {
            None => return Err(err(i, DecodeErrorKind::MissingColon)),
            Some(b':') | Some(b',') => break i,
            Some(&b) if b == b'|' || b == 0 => {
                return Err(err(i, DecodeErrorKind::InvalidNameByte(b)))
            }
            Some(_) => i += 1,
        }
    };
    if name_end == 0 {
        return Err(err(0, DecodeErrorKind::EmptyName));
    }
    let name = text.get(..name_end).unwrap_or("");
    let mut bucket_tags = "";
    let mut colon = name_end;
    if bytes.get(name_end) == Some(&b',') {
        let start = name_end + 1;
        let mut j = start;
        loop {
            match bytes.get(j) {
                None => return Err(err(j, DecodeErrorKind::MissingColon)),
                Some(b':') => break,
                Some(&b) if b == b'|' || b == 0 => {
                    return Err(err(j, DecodeErrorKind::InvalidNameByte(b)))
                }
                Some(_) => j += 1,
            }
        }
        bucket_tags = text.get(start..j).unwrap_or("");
        check_tags(bucket_tags, b'=')
            .map_err(|off| err(start + off, DecodeErrorKind::InvalidTag))?;
        colon = j;
    }
    let body_start = colon + 1;
    let body = text.get(body_start..).unwrap_or("");
    // Validate every segment; keep the first sample.
    let shift = |e: SegError| err(body_start + e.at, e.kind);
    let seg = parse_segment(body, 0, bucket_tags).map_err(shift)?;
    let (first_raw, first_rest) = split_value(seg.values);
    let (v, delta) = parse_value(first_raw.as_bytes(), seg.ty)
        .map_err(|kind| err(body_start + seg.values_at, kind))?;
    let first = seg.sample(v, delta);
    if seg.values.len() > first_raw.len() {
        validate_values(&seg, true).map_err(shift)?;
    }
    let mut end = seg.end;
    while bytes.get(body_start + end) == Some(&b':') {
        let s = parse_segment(body, end + 1, bucket_tags).map_err(shift)?;
        validate_values(&s, false).map_err(shift)?;
        end = s.end;
    }
    Ok(Record::Metric(MetricLine {
        line: line_no,
        name,
        bucket_tags,
        body,
        first,
        first_rest,
        first_end: seg.end,
        has_more: seg.values.len() > first_raw.len() || end != seg.end,
    }))
}

/// Check every value of a segment, except the first when `skip_first`.
fn validate_values(seg: &Segment<'_>, skip_first: bool) -> Result<(), SegError> {
    let mut off = 0;
    for (idx, v) in seg.values.split(':').enumerate() {
        if !(skip_first && idx == 0) {
            parse_value(v.as_bytes(), seg.ty).map_err(|kind| SegError {
                at: seg.values_at + off,
                kind,
            })?;
        }
        off += v.len() + 1;
    }
    Ok(())
}

/// Split the first value off a `:`-separated list.
fn split_value(values: &str) -> (&str, &str) {
    match values.find(':') {
        Some(i) => (
            values.get(..i).unwrap_or(""),
            values.get(i + 1..).unwrap_or(""),
        ),
        None => (values, ""),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment<'a> {
    /// Raw values, `:`-separated (packed).
    values: &'a str,
    /// Offset of `values` in the body.
    values_at: usize,
    ty: MetricType,
    sample_rate: Option<f64>,
    timestamp: Option<u64>,
    container: Option<&'a str>,
    dog_tags: &'a str,
    bucket_tags: &'a str,
    /// Raw fields after the type, starting with '|' (or empty).
    fields: &'a str,
    /// Offset just past the segment in the body.
    end: usize,
}

impl<'a> Segment<'a> {
    fn sample(&self, value: SampleValue<'a>, delta: bool) -> Sample<'a> {
        Sample {
            value,
            ty: self.ty,
            delta,
            sample_rate: self.sample_rate,
            timestamp: self.timestamp,
            container: self.container,
            tags: Tags {
                bucket: self.bucket_tags,
                dog: self.dog_tags,
            },
            fields: self.fields,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct SegError {
    at: usize,
    kind: DecodeErrorKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldKind {
    Rate,
    Tags,
    Container,
    Timestamp,
    Unknown,
}

fn field_kind(f: &[u8]) -> FieldKind {
    match f {
        [b'@', ..] => FieldKind::Rate,
        [b'#', ..] => FieldKind::Tags,
        [b'c', b':', ..] => FieldKind::Container,
        [b'T', rest @ ..] if rest.first().is_some_and(u8::is_ascii_digit) || rest.is_empty() => {
            FieldKind::Timestamp
        }
        _ => FieldKind::Unknown,
    }
}

/// Parse one segment `values|type(|field)*` starting at `start` in `body`. Ends at the end of the
/// body or at a `:` that follows the type, a rate or a timestamp (Etsy multi-value lines).
fn parse_segment<'a>(
    body: &'a str,
    start: usize,
    bucket_tags: &'a str,
) -> Result<Segment<'a>, SegError> {
    let b = body.as_bytes();
    let e = |at: usize, kind| SegError { at, kind };
    // Values up to the first '|'.
    let mut i = start;
    while let Some(&c) = b.get(i) {
        if c == b'|' {
            break;
        }
        i += 1;
    }
    if i == start {
        return Err(e(start, DecodeErrorKind::EmptyValue));
    }
    if b.get(i).is_none() {
        return Err(e(i, DecodeErrorKind::MissingType));
    }
    let values = body.get(start..i).unwrap_or("");
    // Type up to '|' or ':' or end.
    let ty_start = i + 1;
    let mut j = ty_start;
    while let Some(&c) = b.get(j) {
        if c == b'|' || c == b':' {
            break;
        }
        j += 1;
    }
    let ty = match b.get(ty_start..j).and_then(MetricType::from_wire) {
        Some(t) => t,
        None if j == ty_start => return Err(e(ty_start, DecodeErrorKind::MissingType)),
        None => return Err(e(ty_start, DecodeErrorKind::UnknownType)),
    };
    let mut seg = Segment {
        values,
        values_at: start,
        ty,
        sample_rate: None,
        timestamp: None,
        container: None,
        dog_tags: "",
        bucket_tags,
        fields: "",
        end: j,
    };
    let fields_start = j;
    // Fields.
    while b.get(j) == Some(&b'|') {
        let f_start = j + 1;
        let kind = field_kind(b.get(f_start..).unwrap_or(&[]));
        let stops_at_colon = matches!(kind, FieldKind::Rate | FieldKind::Timestamp);
        let mut k = f_start;
        while let Some(&c) = b.get(k) {
            if c == b'|' || (stops_at_colon && c == b':') {
                break;
            }
            k += 1;
        }
        let f = body.get(f_start..k).unwrap_or("");
        match kind {
            FieldKind::Rate => {
                let r = f.get(1..).unwrap_or("");
                seg.sample_rate =
                    Some(parse_rate(r).ok_or(e(f_start + 1, DecodeErrorKind::InvalidSampleRate))?);
            }
            FieldKind::Tags => {
                let t = f.get(1..).unwrap_or("");
                check_tags(t, b':')
                    .map_err(|off| e(f_start + 1 + off, DecodeErrorKind::InvalidTag))?;
                seg.dog_tags = t;
            }
            FieldKind::Container => seg.container = f.get(2..),
            FieldKind::Timestamp => {
                let t = f.get(1..).unwrap_or("");
                seg.timestamp = Some(
                    parse_u64(t.as_bytes())
                        .ok_or(e(f_start + 1, DecodeErrorKind::InvalidTimestamp))?,
                );
            }
            FieldKind::Unknown => {}
        }
        j = k;
    }
    seg.fields = body.get(fields_start..j).unwrap_or("");
    seg.end = j;
    Ok(seg)
}

/// Check tags for empty keys; returns the offset of the bad entry. An entry has an empty key
/// when it starts with `sep`: `sep` first in the list or right after a `,` (one byte loop).
fn check_tags(tags: &str, sep: u8) -> Result<(), usize> {
    let mut prev = b',';
    for (i, &c) in tags.as_bytes().iter().enumerate() {
        if c == sep && prev == b',' {
            return Err(i);
        }
        prev = c;
    }
    Ok(())
}

fn parse_rate(s: &str) -> Option<f64> {
    if s.is_empty()
        || !s
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
    {
        return None;
    }
    let r: f64 = s.parse().ok()?;
    (r > 0.0 && r <= 1.0).then_some(r)
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

/// Parse one value for `ty`; the delta flag is set for signed gauge values.
fn parse_value(s: &[u8], ty: MetricType) -> Result<(SampleValue<'_>, bool), DecodeErrorKind> {
    if s.is_empty() {
        return Err(DecodeErrorKind::EmptyValue);
    }
    if ty == MetricType::Set {
        if s.contains(&0) {
            return Err(DecodeErrorKind::InvalidValue);
        }
        let v = core::str::from_utf8(s).map_err(|_| DecodeErrorKind::InvalidUtf8)?;
        return Ok((SampleValue::Set(v), false));
    }
    let n = parse_number(s).ok_or(DecodeErrorKind::InvalidValue)?;
    let signed = matches!(s.first(), Some(b'+') | Some(b'-'));
    Ok((SampleValue::Number(n), ty == MetricType::Gauge && signed))
}

/// Parse a finite decimal number: integers exactly, others as `f64`.
pub(crate) fn parse_number(s: &[u8]) -> Option<Number> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    if digits.len() <= 19 && digits.iter().all(u8::is_ascii_digit) {
        let mut v: u64 = 0;
        for &c in digits {
            v = v * 10 + u64::from(c - b'0');
        }
        if !neg {
            return Some(Number::UInt(v));
        }
        if v == 0 {
            return Some(Number::UInt(0));
        }
        if let Some(i) = 0i64.checked_sub_unsigned(v) {
            return Some(Number::Int(i));
        }
        // Below i64::MIN: a double, as every integer beyond 64 bits.
    }
    if !digits
        .iter()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
    {
        return None;
    }
    if !digits
        .first()
        .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
    {
        return None;
    }
    if digits.iter().all(u8::is_ascii_digit) {
        // 20 digits: may still fit u64.
        if !neg {
            if let Some(v) = parse_u64(digits) {
                return Some(Number::UInt(v));
            }
        } else if let Some(v) = parse_u64(digits) {
            if let Some(i) = 0i64.checked_sub_unsigned(v) {
                return Some(Number::Int(i));
            }
        }
    }
    let text = core::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    v.is_finite().then_some(Number::Float(v))
}

fn decode_event(text: &str, line_no: usize) -> Result<Event<'_>, DecodeError> {
    let b = text.as_bytes();
    let err = |column: usize| DecodeError {
        line: line_no,
        column: column + 1,
        kind: DecodeErrorKind::InvalidEvent,
        byte: b.get(column).copied(),
    };
    // _e{T,X}:
    let mut i = 3;
    let read_len = |i: &mut usize, stop: u8| -> Result<usize, DecodeError> {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        if *i == start || b.get(*i) != Some(&stop) {
            return Err(err(*i));
        }
        let n = parse_u64(b.get(start..*i).unwrap_or(&[])).ok_or(err(start))?;
        *i += 1;
        usize::try_from(n).map_err(|_| err(start))
    };
    let title_len = read_len(&mut i, b',')?;
    let text_len = read_len(&mut i, b'}')?;
    if b.get(i) != Some(&b':') {
        return Err(err(i));
    }
    i += 1;
    let title_end = i
        .checked_add(title_len)
        .filter(|&e| e <= b.len())
        .ok_or(err(b.len()))?;
    let title = text.get(i..title_end).ok_or(err(i))?;
    if b.get(title_end) != Some(&b'|') {
        return Err(err(title_end));
    }
    let text_start = title_end + 1;
    let text_end = text_start
        .checked_add(text_len)
        .filter(|&e| e <= b.len())
        .ok_or(err(b.len()))?;
    let body = text.get(text_start..text_end).ok_or(err(text_start))?;
    let mut ev = Event {
        line: line_no,
        title,
        text: body,
        timestamp: None,
        hostname: None,
        aggregation_key: None,
        priority: None,
        source_type_name: None,
        alert_type: None,
        tags: Tags::default(),
    };
    let mut j = text_end;
    while j < b.len() {
        if b.get(j) != Some(&b'|') {
            return Err(err(j));
        }
        let f_start = j + 1;
        let f_end = b
            .get(f_start..)
            .and_then(|r| r.iter().position(|&c| c == b'|'))
            .map_or(b.len(), |p| f_start + p);
        let f = text.get(f_start..f_end).unwrap_or("");
        let val = f.get(2..).unwrap_or("");
        match f.as_bytes() {
            [b'd', b':', ..] => {
                ev.timestamp = Some(parse_u64(val.as_bytes()).ok_or(err(f_start + 2))?)
            }
            [b'h', b':', ..] => ev.hostname = Some(val),
            [b'k', b':', ..] => ev.aggregation_key = Some(val),
            [b'p', b':', ..] => ev.priority = Some(val),
            [b's', b':', ..] => ev.source_type_name = Some(val),
            [b't', b':', ..] => ev.alert_type = Some(val),
            [b'#', ..] => {
                let t = f.get(1..).unwrap_or("");
                check_tags(t, b':').map_err(|off| err(f_start + 1 + off))?;
                ev.tags = Tags { bucket: "", dog: t };
            }
            _ => return Err(err(f_start)),
        }
        j = f_end;
    }
    Ok(ev)
}

fn decode_service_check(text: &str, line_no: usize) -> Result<ServiceCheck<'_>, DecodeError> {
    let b = text.as_bytes();
    let err = |column: usize| DecodeError {
        line: line_no,
        column: column + 1,
        kind: DecodeErrorKind::InvalidServiceCheck,
        byte: b.get(column).copied(),
    };
    let field_end = |from: usize| {
        b.get(from..)
            .and_then(|r| r.iter().position(|&c| c == b'|'))
            .map_or(b.len(), |p| from + p)
    };
    let name_start = 4;
    let name_end = field_end(name_start);
    if name_end == name_start {
        return Err(err(name_start));
    }
    let name = text.get(name_start..name_end).unwrap_or("");
    if b.get(name_end) != Some(&b'|') {
        return Err(err(name_end));
    }
    let st_start = name_end + 1;
    let st_end = field_end(st_start);
    let status = match b.get(st_start..st_end) {
        Some([d @ b'0'..=b'3']) => d - b'0',
        _ => return Err(err(st_start)),
    };
    let mut sc = ServiceCheck {
        line: line_no,
        name,
        status,
        timestamp: None,
        hostname: None,
        tags: Tags::default(),
        message: None,
    };
    let mut j = st_end;
    while j < b.len() {
        let f_start = j + 1;
        if b.get(f_start..f_start + 2) == Some(b"m:") {
            // The message is last and may contain '|'.
            sc.message = text.get(f_start + 2..);
            break;
        }
        let f_end = field_end(f_start);
        let f = text.get(f_start..f_end).unwrap_or("");
        let val = f.get(2..).unwrap_or("");
        match f.as_bytes() {
            [b'd', b':', ..] => {
                sc.timestamp = Some(parse_u64(val.as_bytes()).ok_or(err(f_start + 2))?)
            }
            [b'h', b':', ..] => sc.hostname = Some(val),
            [b'#', ..] => {
                let t = f.get(1..).unwrap_or("");
                check_tags(t, b':').map_err(|off| err(f_start + 1 + off))?;
                sc.tags = Tags { bucket: "", dog: t };
            }
            _ => return Err(err(f_start)),
        }
        j = f_end;
    }
    Ok(sc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_segment_follows_the_segments_of_a_line() {
        let Ok(Record::Metric(l)) = decode_line(b"k,a=b:1:2|c:3:4|ms|@0.5:5|g|#t", 1) else {
            panic!("not a metric line");
        };
        let s: Vec<Sample<'_>> = l.samples().collect();
        assert_eq!(s.len(), 5);
        let same = |i: usize, j: usize| s[i].same_segment(&s[j]);
        assert!(same(0, 1), "first segment: the first value and the next");
        assert!(same(2, 3));
        assert!(
            !same(1, 2),
            "segments with the same tags text are still different segments"
        );
        assert!(!same(3, 4));
        assert!(s[0].tags().is_same(&s[1].tags()));
        assert!(
            !s[3].tags().is_same(&s[4].tags()),
            "the last segment has its own |# tags"
        );
        // Equal text elsewhere is not the same slice.
        let other = decode_line(b"k,a=b:1:2|c", 1);
        let Ok(Record::Metric(o)) = other else {
            panic!("not a metric line");
        };
        assert!(!o.first().same_segment(&s[0]));
        assert_eq!(o.first().tags(), s[0].tags());
    }

    /// The fast path must agree with the general path on every line it accepts.
    fn check_fast_matches_general(line: &[u8]) {
        if let Some((fast, advance)) = fast_line(line, 1) {
            let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
            assert_eq!(
                advance,
                (end + 1).min(line.len()),
                "{:?}",
                String::from_utf8_lossy(line)
            );
            let mut l = &line[..end];
            if let Some((b'\r', rest)) = l.split_last() {
                l = rest;
            }
            let common = decode_common(line).unwrap();
            assert_eq!(common.len, l.len(), "{:?}", String::from_utf8_lossy(line));
            assert_eq!(common.advance, advance);
            assert_eq!(common.tags(), fast.first().tags());
            // Bit for bit: `==` takes -0.0 for 0.0.
            let bits = |n: Number| match n {
                Number::Float(v) => (2, v.to_bits()),
                Number::Int(v) => (1, v as u64),
                Number::UInt(v) => (0, v),
            };
            let Ok(Record::Metric(g)) = decode_line(l, 1) else {
                unreachable!()
            };
            let SampleValue::Number(gv) = g.first().value else {
                unreachable!()
            };
            assert_eq!(
                bits(common.value),
                bits(gv),
                "{:?}",
                String::from_utf8_lossy(line)
            );
            let general = decode_line(l, 1);
            assert_eq!(
                general,
                Ok(Record::Metric(fast)),
                "{:?}",
                String::from_utf8_lossy(line)
            );
            let a: std::vec::Vec<_> = fast.samples().collect();
            let Ok(Record::Metric(g)) = general else {
                unreachable!()
            };
            let b: std::vec::Vec<_> = g.samples().collect();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn fast_path_examples() {
        for l in [
            &b"a:1|c"[..],
            b"realm.h.connection.online:-3|g\n",
            b"x:+4|g\r\n",
            b"t:1.5|ms|@0.25\nnext",
            b"big:18446744073709551615|c",
            b"neg:-9223372036854775808|g",
            b"over:18446744073709551616|c",
            b"f:1e-7|h",
            b"z:-0|g",
            b"realm.worker-3.sync.example.com.connection.started:12|c",
        ] {
            assert!(
                fast_line(l, 1).is_some(),
                "{:?}",
                std::string::String::from_utf8_lossy(l)
            );
            check_fast_matches_general(l);
        }
        for l in [
            &b"a:1|c|#t"[..],
            b"a,k=v:1|c",
            b"a:1:2|d",
            b"s:x|s",
            b"a:1|cc",
            b"a:|c",
            b":1|c",
            b"a:1|@0.5",
        ] {
            check_fast_matches_general(l);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn swar_mask_finds_the_first_stop_byte(bytes in proptest::array::uniform8(prop_oneof![
            4 => 0x20u8..0x7f, 1 => Just(b':'), 1 => Just(b','), 1 => Just(b'|'), 1 => any::<u8>()])) {
            let scalar = bytes.iter().position(|&c| c == b':' || c == b',' || c == b'|' || !(0x20..0x7f).contains(&c));
            let m = name_stop_mask(u64::from_le_bytes(bytes));
            let swar = (m != 0).then(|| (m.trailing_zeros() / 8) as usize);
            prop_assert_eq!(swar, scalar);
        }

        #[test]
        fn fast_path_agrees_with_general_path(line in "[a-z.]{0,6}(,[a-z=,]{0,6})?[:,|]?[-+]?[0-9.eE+-]{0,8}[|]?(c|g|ms|h|d|s|x)?(\\|@[0-9.e-]{0,5})?(\\|#[a-z:,|]{0,6})?[\r]?[\n]?[a-z]{0,2}") {
            check_fast_matches_general(line.as_bytes());
        }

        #[test]
        fn fast_path_decimals_round_like_the_general_path(line in "x:[-+]?[0-9]{0,12}(\\.[0-9]{0,10})?\\|(g|ms)") {
            check_fast_matches_general(line.as_bytes());
        }

        #[test]
        fn fast_path_long_digit_runs_match_the_general_path(line in "x:[-+]?[0-9]{0,24}(\\.[0-9]{0,24})?\\|(c|g|ms)(\\|@0\\.[0-9]{1,20})?\n?[0-9a-z:|]{0,3}") {
            check_fast_matches_general(line.as_bytes());
        }
    }

    #[test]
    fn empty_tag_keys_are_found_at_their_entry() {
        assert_eq!(check_tags("a:b,,:v", b':'), Err(5));
        assert_eq!(check_tags(":x", b':'), Err(0));
        assert_eq!(check_tags("a,=b", b'='), Err(2));
        assert_eq!(check_tags("a:b,c,,x:=", b':'), Ok(()));
        assert_eq!(check_tags("", b':'), Ok(()));
        // A sep inside a value is not a key.
        assert_eq!(check_tags("k:v:w,k2::", b':'), Ok(()));
    }

    #[test]
    fn fast_path_takes_plain_decimals() {
        for (l, v) in [
            (&b"a:12.5|ms"[..], 12.5),
            (b"a:-0.0|g", -0.0),
            (b"a:0.1|h", 0.1),
            (b"a:00.10|g", 0.1),
            (b"a:123456789.012345|g", 123_456_789.012_345),
            (b"a:1234567890.123456|g", 1_234_567_890.123_456),
        ] {
            let c = decode_common(l).unwrap();
            assert_eq!(
                c.value.as_f64().to_bits(),
                f64::to_bits(v),
                "{:?}",
                String::from_utf8_lossy(l)
            );
            check_fast_matches_general(l);
        }
    }
}
