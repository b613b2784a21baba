//! DogStatsD events: `_e{title_len,text_len}:title|text|...`.

use super::tags::{check_tags, Tags};
use super::value::parse_u64;
use super::{DecodeError, DecodeErrorKind};

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
    /// The raw fields after the text, each with its leading `|`.
    pub(super) fields: &'a str,
}

impl<'a> Event<'a> {
    /// Unknown fields after the text, in order, without the leading `|`. They are ignored, as
    /// unknown fields of metric lines are (see [`Sample::extensions`](super::Sample::extensions)).
    pub fn extensions(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .split('|')
            .filter(|f| !f.is_empty() && event_field(f) == EventField::Unknown)
    }
}

/// What an event field after the text is, by its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventField {
    Date,
    Hostname,
    AggregationKey,
    Priority,
    SourceType,
    AlertType,
    Tags,
    Unknown,
}

fn event_field(f: &str) -> EventField {
    match f.as_bytes() {
        [b'd', b':', ..] => EventField::Date,
        [b'h', b':', ..] => EventField::Hostname,
        [b'k', b':', ..] => EventField::AggregationKey,
        [b'p', b':', ..] => EventField::Priority,
        [b's', b':', ..] => EventField::SourceType,
        [b't', b':', ..] => EventField::AlertType,
        [b'#', ..] => EventField::Tags,
        _ => EventField::Unknown,
    }
}

/// Decode `_e{<title bytes>,<text bytes>}:<title>|<text>[|field...]`. The title may not be
/// empty. Unknown fields and known fields with a malformed value (`|d:abc`) are ignored; a tag
/// with an empty key is an error, as in metric lines.
pub(super) fn decode_event(text: &str, line_no: usize) -> Result<Event<'_>, DecodeError> {
    let b = text.as_bytes();
    let err = |column: usize| DecodeError {
        line: line_no,
        column: column + 1,
        kind: DecodeErrorKind::InvalidEvent,
        byte: b.get(column).copied(),
    };
    let (title_len, text_len, colon) = event_header(b).map_err(err)?;
    if title_len == 0 {
        // An empty title: point at its length.
        return Err(err(3));
    }
    let (title, body, text_end) =
        event_title_text(text, colon + 1, title_len, text_len).map_err(err)?;
    let fields = text.get(text_end..).unwrap_or("");
    if !fields.is_empty() && !fields.starts_with('|') {
        return Err(err(text_end));
    }
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
        fields,
    };
    // Each field with its offset in the line.
    let mut at = text_end;
    for f in fields.split('|').skip(1) {
        let f_start = at + 1;
        at = f_start + f.len();
        let val = f.get(2..).unwrap_or("");
        match event_field(f) {
            EventField::Date => {
                if let Some(t) = parse_u64(val.as_bytes()) {
                    ev.timestamp = Some(t);
                }
            }
            EventField::Hostname => ev.hostname = Some(val),
            EventField::AggregationKey => ev.aggregation_key = Some(val),
            EventField::Priority => ev.priority = Some(val),
            EventField::SourceType => ev.source_type_name = Some(val),
            EventField::AlertType => ev.alert_type = Some(val),
            EventField::Tags => {
                let t = f.get(1..).unwrap_or("");
                check_tags(t, b':').map_err(|off| err(f_start + 1 + off))?;
                ev.tags = Tags { bucket: "", dog: t };
            }
            EventField::Unknown => {}
        }
    }
    Ok(ev)
}

/// The header `_e{T,X}:`: the title and text lengths and the offset of the `:`, or the offset
/// of the bad byte.
fn event_header(b: &[u8]) -> Result<(usize, usize, usize), usize> {
    let mut i = 3;
    let title_len = read_len(b, &mut i, b',')?;
    let text_len = read_len(b, &mut i, b'}')?;
    if b.get(i) != Some(&b':') {
        return Err(i);
    }
    Ok((title_len, text_len, i))
}

/// A decimal length at `*i` ended by `stop`; `*i` moves past the `stop`.
fn read_len(b: &[u8], i: &mut usize, stop: u8) -> Result<usize, usize> {
    let start = *i;
    while b.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    if *i == start || b.get(*i) != Some(&stop) {
        return Err(*i);
    }
    let n = parse_u64(b.get(start..*i).unwrap_or(&[])).ok_or(start)?;
    *i += 1;
    usize::try_from(n).map_err(|_| start)
}

/// The title and text at `start` with the given byte lengths, separated by `|`, and the offset
/// just past the text; or the offset of the problem.
fn event_title_text(
    text: &str,
    start: usize,
    title_len: usize,
    text_len: usize,
) -> Result<(&str, &str, usize), usize> {
    let b = text.as_bytes();
    let title_end = start
        .checked_add(title_len)
        .filter(|&e| e <= b.len())
        .ok_or(b.len())?;
    let title = text.get(start..title_end).ok_or(start)?;
    if b.get(title_end) != Some(&b'|') {
        return Err(title_end);
    }
    let text_start = title_end + 1;
    let text_end = text_start
        .checked_add(text_len)
        .filter(|&e| e <= b.len())
        .ok_or(b.len())?;
    let body = text.get(text_start..text_end).ok_or(text_start)?;
    Ok((title, body, text_end))
}
