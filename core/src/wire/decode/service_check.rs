//! DogStatsD service checks: `_sc|name|status|...`.

use super::tags::{check_tags, Tags};
use super::value::parse_u64;
use super::{DecodeError, DecodeErrorKind};

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
    /// The raw fields after the status, each with its leading `|`, up to the message.
    pub(super) fields: &'a str,
}

impl<'a> ServiceCheck<'a> {
    /// Unknown fields after the status, in order, without the leading `|`. They are ignored, as
    /// unknown fields of metric lines are (see [`Sample::extensions`](super::Sample::extensions)).
    pub fn extensions(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .split('|')
            .filter(|f| !f.is_empty() && check_field(f) == CheckField::Unknown)
    }
}

/// What a service check field after the status is, by its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CheckField {
    Date,
    Hostname,
    Tags,
    Message,
    Unknown,
}

fn check_field(f: &str) -> CheckField {
    match f.as_bytes() {
        [b'd', b':', ..] => CheckField::Date,
        [b'h', b':', ..] => CheckField::Hostname,
        [b'#', ..] => CheckField::Tags,
        [b'm', b':', ..] => CheckField::Message,
        _ => CheckField::Unknown,
    }
}

/// Decode `_sc|<name>|<status 0-3>[|field...]`.
pub(super) fn decode_service_check(
    text: &str,
    line_no: usize,
) -> Result<ServiceCheck<'_>, DecodeError> {
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
        fields: "",
    };
    // Fields up to the message, which is last and may contain '|'. Unknown fields and a
    // malformed `|d:` are ignored; a tag with an empty key is an error, as in metric lines.
    let mut j = st_end;
    while j < b.len() {
        let f_start = j + 1;
        let f_end = field_end(f_start);
        let f = text.get(f_start..f_end).unwrap_or("");
        let val = f.get(2..).unwrap_or("");
        match check_field(f) {
            CheckField::Message => {
                sc.message = text.get(f_start + 2..);
                break;
            }
            CheckField::Date => {
                if let Some(t) = parse_u64(val.as_bytes()) {
                    sc.timestamp = Some(t);
                }
            }
            CheckField::Hostname => sc.hostname = Some(val),
            CheckField::Tags => {
                let t = f.get(1..).unwrap_or("");
                check_tags(t, b':').map_err(|off| err(f_start + 1 + off))?;
                sc.tags = Tags { bucket: "", dog: t };
            }
            CheckField::Unknown => {}
        }
        j = f_end;
    }
    sc.fields = text.get(st_end..j).unwrap_or("");
    Ok(sc)
}
