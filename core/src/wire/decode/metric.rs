//! Metric lines: `name[,tags]:value[:value...]|type[|field...][:segment...]`.

use super::tags::{check_tags, Tags};
use super::value::{parse_rate, parse_u64, parse_value, Number, SampleValue};
use super::{DecodeError, DecodeErrorKind};
use crate::wire::MetricType;

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
    pub(super) tags: Tags<'a>,
    pub(super) fields: &'a str,
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
    pub(super) bucket_tags: &'a str,
    pub(super) body: &'a str,
    pub(super) first: Sample<'a>,
    pub(super) first_rest: &'a str,
    pub(super) first_end: usize,
    pub(super) has_more: bool,
}

impl<'a> MetricLine<'a> {
    /// The samples of the line, in order (several for multi-value and packed lines).
    #[inline]
    pub fn samples(&self) -> Samples<'a> {
        Samples {
            body: self.body,
            template: self.first,
            pending: self.first_rest,
            body_pos: self.first_end,
            started: false,
        }
    }

    /// Whether the line holds more than one sample.
    pub fn is_multi(&self) -> bool {
        self.has_more
    }

    /// The first sample (every line has at least one).
    #[inline]
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
    /// Whether the first sample (`template` itself) was returned: the iterator holds one copy of
    /// it, not two (the struct is copied for every line).
    started: bool,
}

impl<'a> Iterator for Samples<'a> {
    type Item = Sample<'a>;

    #[inline]
    fn next(&mut self) -> Option<Sample<'a>> {
        if !self.started {
            self.started = true;
            return Some(self.template);
        }
        // The line was validated: a ':' here starts another segment.
        if self.pending.is_empty() && self.body.as_bytes().get(self.body_pos) != Some(&b':') {
            return None;
        }
        self.next_value()
    }
}

impl<'a> Samples<'a> {
    /// The next value of a multi-value or packed line: kept out of [`Iterator::next`], which
    /// then stays small for the common single-value line.
    #[inline(never)]
    fn next_value(&mut self) -> Option<Sample<'a>> {
        if self.pending.is_empty() {
            let seg =
                parse_segment(self.body, self.body_pos + 1, self.template.tags.bucket).ok()?;
            self.body_pos = seg.end;
            self.template = seg.sample(SampleValue::Number(Number::UInt(0)), false);
            self.pending = seg.values;
        }
        let (v, rest) = split_value(self.pending, self.template.ty);
        self.pending = rest;
        let (value, delta) = parse_value(v.as_bytes(), self.template.ty).ok()?;
        Some(Sample {
            value,
            delta,
            ..self.template
        })
    }
}

/// Decode a metric line (valid UTF-8, without its line break).
pub(super) fn decode_metric(text: &str, line_no: usize) -> Result<MetricLine<'_>, DecodeError> {
    let bytes = text.as_bytes();
    let err = |column: usize, kind: DecodeErrorKind| DecodeError {
        line: line_no,
        column: column + 1,
        kind,
        byte: bytes.get(column).copied(),
    };
    // Name: up to ':' or ','.
    let mut i = 0;
    let name_end = loop {
        match bytes.get(i) {
            None => return Err(err(i, DecodeErrorKind::MissingColon)),
            Some(b':') | Some(b',') => break i,
            Some(&b) if b == b'|' || b == 0 => {
                return Err(err(i, DecodeErrorKind::InvalidNameByte(b)));
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
                    return Err(err(j, DecodeErrorKind::InvalidNameByte(b)));
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
    let (first_raw, first_rest) = split_value(seg.values, seg.ty);
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
    Ok(MetricLine {
        line: line_no,
        name,
        bucket_tags,
        body,
        first,
        first_rest,
        first_end: seg.end,
        has_more: seg.values.len() > first_raw.len() || end != seg.end,
    })
}

/// Check every value of a segment, except the first when `skip_first`.
fn validate_values(seg: &Segment<'_>, skip_first: bool) -> Result<(), SegError> {
    let mut off = 0;
    if seg.ty == MetricType::Set {
        // One member, validated with the first value.
        return Ok(());
    }
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

/// Split the first value off a `:`-separated list of packed values. A set member is one value
/// up to the `|`, `:` included (`daemon:abc:def|s` is the member `abc:def`): sets are never packed.
#[inline]
fn split_value(values: &str, ty: MetricType) -> (&str, &str) {
    if ty == MetricType::Set {
        return (values, "");
    }
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
    #[inline]
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

#[inline]
fn field_kind(f: &[u8]) -> FieldKind {
    match f {
        [b'@', ..] => FieldKind::Rate,
        [b'#', ..] => FieldKind::Tags,
        [b'c', b':', ..] => FieldKind::Container,
        // Every `T` field is a timestamp, whatever follows: a malformed one is an error.
        [b'T', ..] => FieldKind::Timestamp,
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
        // A rate, a timestamp and an empty field end at a `:`, which starts the next segment
        // (`a:0|ms|@0.1:0|ms|:1|ms` is three values). An unknown field runs to the next `|`.
        let empty = matches!(b.get(f_start), None | Some(b'|') | Some(b':'));
        let stops_at_colon = empty || matches!(kind, FieldKind::Rate | FieldKind::Timestamp);
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
