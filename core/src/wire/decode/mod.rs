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
//! Where the wire contract (`tests/vectors/README.md`) leaves a construct open, the decoder does
//! what most of Telegraf, the Datadog agent, Etsy statsd and statsd_exporter do (the table there):
//! a set member keeps its `:` (sets are never packed); an empty field is ignored and a `:` after
//! it starts the next segment; every `|T` field is a timestamp, and a malformed one is an error;
//! a bucket tag without `=` is dropped; unknown and malformed fields of events and service checks
//! are ignored, as unknown metric fields are; an event needs a title.
//!
//! The parts: [`error`](DecodeError) (what is wrong, where), `value` (numbers, set members,
//! rates), `tags` (bucket and `|#` tags), `metric` (metric lines and their segments), `fast` (the
//! one-pass path for the common line shape, [`decode_common`]), `event`, `service_check`.
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

mod error;
mod event;
mod fast;
mod metric;
mod service_check;
mod tags;
#[cfg(test)]
mod tests;
mod value;

pub use error::{DecodeError, DecodeErrorKind};
pub use event::Event;
pub use fast::{decode_common, CommonLine};
pub use metric::{MetricLine, Sample, Samples};
pub use service_check::ServiceCheck;
pub use tags::{TagIter, Tags};
pub use value::{Number, SampleValue};

use event::decode_event;
use fast::fast_line;
use metric::decode_metric;
use service_check::decode_service_check;

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

    /// The common line in one pass ([`decode_common`]), inlined into the caller so that the
    /// record is built where the caller takes it (not copied out of a call); every other line,
    /// and the end of the input, out of line.
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.input.get(self.pos..)?;
        if let Some((line, advance)) = fast_line(rest, self.line_no + 1) {
            self.pos += advance;
            self.line_no += 1;
            return Some(Ok(Record::Metric(line)));
        }
        self.next_general()
    }
}

impl<'a> Lines<'a> {
    /// [`Iterator::next`] for a line that is not of the common shape, an empty line or the end
    /// of the input (the line at `self.pos` is known not to be a common line).
    #[inline(never)]
    fn next_general(&mut self) -> Option<Result<Record<'a>, DecodeError>> {
        let mut try_fast = false;
        loop {
            let rest = self.input.get(self.pos..)?;
            if rest.is_empty() {
                return None;
            }
            if try_fast {
                if let Some((line, advance)) = fast_line(rest, self.line_no + 1) {
                    self.pos += advance;
                    self.line_no += 1;
                    return Some(Ok(Record::Metric(line)));
                }
            }
            try_fast = true;
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

/// Decode one line (without its line break). `line_no` is reported in errors.
pub fn decode_line(line: &[u8], line_no: usize) -> Result<Record<'_>, DecodeError> {
    let text = match core::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            return Err(DecodeError {
                line: line_no,
                column: at + 1,
                kind: DecodeErrorKind::InvalidUtf8,
                byte: line.get(at).copied(),
            });
        }
    };
    let bytes = text.as_bytes();
    if bytes.starts_with(b"_e{") {
        return decode_event(text, line_no).map(Record::Event);
    }
    if bytes.starts_with(b"_sc|") {
        return decode_service_check(text, line_no).map(Record::ServiceCheck);
    }
    decode_metric(text, line_no).map(Record::Metric)
}
