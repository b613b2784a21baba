//! Decoding into flat buffers that the JS side turns into objects or typed arrays.
//!
//! Everything here is plain Rust (no JS types), so it is unit-tested on the host. [`run`] walks
//! the input with core's decoder (`realm_metrics::wire::decode`, line splitting from
//! `realm_metrics::wire::stream`) and core's catalog match, and hands every value, event, service
//! check and error to a [`Sink`]:
//!
//! - [`Tape`] writes a compact record stream (`u32` words plus `f64`s) from which
//!   `js/build.js` creates the `decode()` objects. String fields are `(start, end)` offsets in
//!   UTF-16 code units into the input text, so JS makes them with `String.prototype.slice`
//!   instead of one UTF-8 decode per string.
//! - [`ArenaColumns`] fills the typed-array columns of `decodeColumns()`, with byte offsets.
//!
//! The record kinds, flags and column layout are in [`crate::layout`].

use core::fmt::Write as _;

use realm_metrics::wire::stream::{next_line, Line};
use realm_metrics::wire::{
    catalog_match, decode_common, decode_line, CatalogMatch, CommonLine, DecodeError, Event,
    Number, OverlongLine, Record, Sample, SampleValue, ServiceCheck, Tags,
};

use crate::layout::{
    flag, kind, type_code, value_kind, ARENA_COLUMNS, COL_DELTA, COL_KIND_MISMATCH, ROW_BYTES,
    TYPE_EVENT, TYPE_SERVICE_CHECK,
};

/// "No value" in a `u32` slot (a null string, a non-catalog id).
pub const NONE: u32 = u32::MAX;

/// Largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Receives what [`run`] decodes.
pub trait Sink<'a> {
    /// A non-empty line starts at byte `start` of the input and is `len` bytes long.
    fn begin_line(&mut self, start: usize, len: usize);
    /// One metric value of the line.
    fn value(&mut self, line: usize, name: &'a str, s: &Sample<'a>, cat: CatalogMatch<'a>);
    /// A line of the common shape (core's one-pass `decode_common`), at byte `start` of the
    /// input, and its catalog match: what [`Sink::begin_line`] and
    /// [`Sink::value`] would be given for it, taken directly.
    fn common(&mut self, line: usize, start: usize, f: &CommonLine<'a>, cat: CatalogMatch<'a>);
    /// The catalog match of a common line: core's `catalog_match` of its sample (out of line:
    /// one copy, shared with the general path). A sink whose loop is the hot one inlines core's
    /// [`CommonLine::catalog_match`], which gives the same without the sample.
    #[inline(always)]
    fn common_match(f: &CommonLine<'a>, prefix: Option<&str>) -> CatalogMatch<'a> {
        catalog_match(f.name, &f.sample(), prefix)
    }
    /// An event.
    fn event(&mut self, e: &Event<'a>);
    /// A service check.
    fn service_check(&mut self, s: &ServiceCheck<'a>);
    /// A malformed line.
    fn error(&mut self, e: &DecodeError);
    /// Line `line` is longer than the bound (see [`run`]).
    fn too_long(&mut self, line: usize, e: OverlongLine);
}

/// Core's `catalog_match`.
#[inline]
fn matched<'a>(name: &'a str, sample: &Sample<'a>, prefix: Option<&str>) -> CatalogMatch<'a> {
    catalog_match(name, sample, prefix)
}

/// Decode `input`, numbering its first line `first_line`. A line longer than `max_line` bytes (not
/// counting a CR before its LF, or at the end) is one error for that line (core's
/// [`OverlongLine`], at column 1), as `realm_metrics::wire::stream` defines lines. (The number of
/// lines read is `realm_metrics::wire::stream::count_lines(input)`.) Returns whether the input
/// is all ASCII (then byte offsets are UTF-16 offsets too).
///
/// Everything is core's: a line of the common shape is read by core's one-pass `decode_common`
/// and handed to [`Sink::common`] with its catalog match (core's `CommonLine::catalog_match`,
/// which is `catalog_match` without making a sample; `run_matches_flatten*` check it); any other
/// line by core's decoder, with core's `catalog_match`.
pub fn run<'a, S: Sink<'a>>(
    input: &'a [u8],
    prefix: Option<&str>,
    first_line: usize,
    max_line: usize,
    sink: &mut S,
) -> bool {
    let max_line = max_line.max(1);
    let mut ascii = true;
    let mut pos = 0;
    let mut no = first_line;
    while let Some(rest) = input.get(pos..).filter(|r| !r.is_empty()) {
        if let Some(f) = decode_common(rest).filter(|f| f.len <= max_line) {
            // Core's catalog_match, from the line's name, type and tags.
            sink.common(no, pos, &f, S::common_match(&f, prefix));
            no += 1;
            pos += f.advance;
            continue;
        }
        let (advance, line_ascii) = general_line(rest, pos, no, prefix, max_line, sink);
        ascii = ascii && line_ascii;
        pos += advance;
        no += 1;
    }
    ascii
}

/// One line of `rest` (at byte `pos` of the input, numbered `no`) that is not of the common
/// shape, read by core's decoder: how many bytes it takes, and whether they are ASCII. Out of
/// line: a small loop in [`run`] is what the engine optimises best.
#[inline(never)]
fn general_line<'a, S: Sink<'a>>(
    rest: &'a [u8],
    pos: usize,
    no: usize,
    prefix: Option<&str>,
    max_line: usize,
    sink: &mut S,
) -> (usize, bool) {
    // The line as core's stream splitter defines it, then core's decoder.
    let (line, advance) = next_line(rest, max_line);
    let ascii = rest.get(..advance).is_some_and(<[u8]>::is_ascii);
    match line {
        Line::TooLong(e) => sink.too_long(no, e),
        Line::Text([]) => {}
        Line::Text(text) => {
            sink.begin_line(pos, text.len());
            match decode_line(text, no) {
                Ok(Record::Metric(l)) if l.is_multi() => {
                    for s in l.samples() {
                        let cat = matched(l.name, &s, prefix);
                        sink.value(no, l.name, &s, cat);
                    }
                }
                Ok(Record::Metric(l)) => {
                    let s = l.first();
                    let cat = matched(l.name, &s, prefix);
                    sink.value(no, l.name, &s, cat);
                }
                Ok(Record::Event(e)) => sink.event(&e),
                Ok(Record::ServiceCheck(s)) => sink.service_check(&s),
                Err(e) => sink.error(&e),
            }
        }
    }
    (advance.max(1), ascii)
}

/// Byte offset of `s` in `input` (`s` always borrows from it; anything else maps to 0).
#[inline]
fn byte_offset(input: &[u8], s: &str) -> usize {
    let off = (s.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
    if off <= input.len() {
        off
    } else {
        0
    }
}

/// Appends formatted text to a byte vector.
struct Bytes<'v>(&'v mut Vec<u8>);

impl core::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Append the error text of `e`: core's `DecodeError::detail()`.
pub fn write_detail(e: &DecodeError, out: &mut Vec<u8>) {
    // Writing to a vector cannot fail.
    let _ = write!(Bytes(out), "{}", e.detail());
}

/// Append the error text of an over-long line: core's `OverlongLine` text.
pub fn write_too_long(e: OverlongLine, out: &mut Vec<u8>) {
    let _ = write!(Bytes(out), "{e}");
}

/// Append an error of the columns: `(line, column, message start, message end)` to `errors`,
/// its text to `msg`.
pub fn push_error(errors: &mut Vec<u32>, msg: &mut Vec<u8>, e: &DecodeError) {
    errors.extend_from_slice(&[e.line as u32, e.column as u32, msg.len() as u32]);
    write_detail(e, msg);
    errors.push(msg.len() as u32);
}

/// Append the error of an over-long line to `errors` and `msg`, as [`push_error`] does.
pub fn push_too_long(errors: &mut Vec<u32>, msg: &mut Vec<u8>, line: usize, e: OverlongLine) {
    errors.extend_from_slice(&[line as u32, OverlongLine::COLUMN as u32, msg.len() as u32]);
    write_too_long(e, msg);
    errors.push(msg.len() as u32);
}

/// UTF-16 length of valid UTF-8.
#[inline]
fn utf16_len(valid: &[u8]) -> usize {
    valid
        .iter()
        .map(|&b| match b {
            0x80..=0xbf => 0,
            0xf0..=0xff => 2,
            _ => 1,
        })
        .sum()
}

/// UTF-16 length of what a WHATWG `TextDecoder` (or `String::from_utf8_lossy`) makes of these
/// bytes: each maximal invalid subpart becomes one U+FFFD.
fn lossy_utf16_len(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|c| utf16_len(c.valid().as_bytes()) + usize::from(!c.invalid().is_empty()))
        .sum()
}

/// Maps byte offsets of the input to UTF-16 offsets in its decoded text, in linear time: a
/// cursor over line starts (lines never share an invalid sequence, so counting line by line
/// equals decoding the whole input) plus, for a non-ASCII line, a per-byte table.
#[derive(Debug)]
pub struct Utf16Map<'a> {
    input: &'a [u8],
    cursor_byte: usize,
    cursor_16: usize,
    line_start: usize,
    line_len: usize,
    line_16: usize,
    state: LineState,
    table: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineState {
    Unknown,
    Ascii,
    Table,
}

impl<'a> Utf16Map<'a> {
    /// A map for `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Utf16Map {
            input,
            cursor_byte: 0,
            cursor_16: 0,
            line_start: 0,
            line_len: 0,
            line_16: 0,
            state: LineState::Unknown,
            table: Vec::new(),
        }
    }

    /// The next offsets are within this line (lines come in input order).
    pub fn begin_line(&mut self, start: usize, len: usize) {
        self.line_start = start;
        self.line_len = len;
        self.state = LineState::Unknown;
    }

    /// The UTF-16 offset of byte `pos` (within the current line).
    #[inline]
    pub fn map(&mut self, pos: usize) -> u32 {
        if self.state == LineState::Unknown {
            self.prepare_line();
        }
        let rel = pos.saturating_sub(self.line_start);
        let units = match self.state {
            LineState::Table => self
                .table
                .get(rel)
                .or(self.table.last())
                .map_or(0, |&u| u as usize),
            _ => rel,
        };
        (self.line_16 + units) as u32
    }

    /// Begin a line known to be ASCII (its offsets are its start's plus the byte offset), and
    /// return the UTF-16 offset of its start.
    #[inline]
    pub fn begin_ascii_line(&mut self, start: usize, len: usize) -> u32 {
        self.line_start = start;
        self.line_len = len;
        self.skip_to_line();
        self.state = LineState::Ascii;
        // Past the line, which holds one UTF-16 unit per byte.
        self.cursor_byte = start + len;
        self.cursor_16 = self.line_16 + len;
        self.line_16 as u32
    }

    /// Move the cursor to the line's start (counting the bytes in between) and take its offset.
    #[inline]
    fn skip_to_line(&mut self) {
        if self.line_start >= self.cursor_byte {
            let skipped = self
                .input
                .get(self.cursor_byte..self.line_start)
                .unwrap_or(&[]);
            // Mostly one line break: no call for it (`is_ascii` is one in wasm).
            self.cursor_16 += match skipped {
                [b] if b.is_ascii() => 1,
                s if s.is_ascii() => s.len(),
                s => lossy_utf16_len(s),
            };
            self.cursor_byte = self.line_start;
        }
        self.line_16 = self.cursor_16;
    }

    fn prepare_line(&mut self) {
        self.skip_to_line();
        let line = self
            .input
            .get(self.line_start..self.line_start + self.line_len)
            .unwrap_or(&[]);
        if line.is_ascii() {
            self.state = LineState::Ascii;
            return;
        }
        self.table.clear();
        self.table.reserve(line.len() + 1);
        let mut units = 0u32;
        for &b in line {
            self.table.push(units);
            units += match b {
                0x80..=0xbf => 0,
                0xf0..=0xff => 2,
                _ => 1,
            };
        }
        self.table.push(units);
        self.state = LineState::Table;
    }
}

/// Items written straight into the spare room of a tape vector (reserved first), so that a
/// record costs neither a capacity check per item nor a copy. [`extend_written`] keeps them.
struct Spare<'v, T> {
    slots: &'v mut [core::mem::MaybeUninit<T>],
    n: usize,
}

impl<'v, T: Copy> Spare<'v, T> {
    /// Room for at least `max` items at the end of `v` (a push past the room is dropped).
    #[inline(always)]
    fn new(v: &'v mut Vec<T>, max: usize) -> Self {
        v.reserve(max);
        Spare {
            slots: v.spare_capacity_mut(),
            n: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, x: T) {
        if let Some(slot) = self.slots.get_mut(self.n) {
            slot.write(x);
            self.n += 1;
        }
    }

    #[inline(always)]
    fn extend(&mut self, xs: &[T]) {
        for &x in xs {
            self.push(x);
        }
    }

    /// Overwrite item `k` (one already pushed).
    #[inline(always)]
    fn set(&mut self, k: usize, x: T) {
        if k < self.n {
            if let Some(slot) = self.slots.get_mut(k) {
                slot.write(x);
            }
        }
    }

    /// How many items were written: pass it to [`extend_written`].
    #[inline(always)]
    fn finish(self) -> usize {
        self.n
    }
}

/// Keep the `n` items a [`Spare`] over `v` wrote.
#[inline(always)]
fn extend_written<T>(v: &mut Vec<T>, n: usize) {
    let len = v.len() + n;
    assert!(len <= v.capacity());
    // SAFETY: the `Spare` initialised the first `n` spare slots (it counts only the ones it
    // wrote), and they lie within the capacity (checked above).
    unsafe { v.set_len(len) }
}

/// A u64 or number item of the tape: its words (`len` of them) and, for `NUMBER`, the value
/// for the f64 stream.
struct Item {
    words: [u32; 3],
    len: usize,
    num: Option<f64>,
}

impl Item {
    #[inline(always)]
    fn words(&self) -> &[u32] {
        self.words.get(..self.len).unwrap_or(&[])
    }
}

/// A u64 item: `NUMBER` with the value as an f64, or `BIG` and its high and low words.
#[inline(always)]
fn u64_item(v: u64) -> Item {
    if v <= MAX_SAFE_INTEGER {
        Item {
            words: [value_kind::NUMBER, 0, 0],
            len: 1,
            num: Some(v as f64),
        }
    } else {
        Item {
            words: [value_kind::BIG, (v >> 32) as u32, v as u32],
            len: 3,
            num: None,
        }
    }
}

/// A number value: `NUMBER` with the value as an f64, or `BIG` / `NEG_BIG` and the high and
/// low words of the magnitude for an integer JS numbers do not hold exactly.
#[inline(always)]
fn number_item(n: Number) -> Item {
    match n {
        Number::UInt(v) => u64_item(v),
        Number::Int(v) if v.unsigned_abs() > MAX_SAFE_INTEGER => {
            let m = v.unsigned_abs();
            Item {
                words: [value_kind::NEG_BIG, (m >> 32) as u32, m as u32],
                len: 3,
                num: None,
            }
        }
        n => Item {
            words: [value_kind::NUMBER, 0, 0],
            len: 1,
            num: Some(n.as_f64()),
        },
    }
}

/// The record stream behind `decode()`; see `js/build.js` for the reader.
#[derive(Debug)]
pub struct Tape<'a, 'b> {
    input: &'a [u8],
    map: Utf16Map<'a>,
    /// Words.
    pub u: &'b mut Vec<u32>,
    /// Numbers.
    pub f: &'b mut Vec<f64>,
    /// Error texts (ASCII), referred to by byte offsets.
    pub msg: &'b mut Vec<u8>,
    /// Values, events and service checks written.
    pub records: usize,
    /// Errors written.
    pub errors: usize,
    /// The last value written from the general decoder: its line, the sample, and whether it
    /// has tags and unknown fields (for [`flag::TAGS_PREV`] and [`flag::EXTENSIONS_PREV`]).
    prev: Option<(usize, Sample<'a>, bool, bool)>,
}

impl<'a, 'b> Tape<'a, 'b> {
    /// A tape over `input`, writing into the (cleared) buffers.
    pub fn new(
        input: &'a [u8],
        u: &'b mut Vec<u32>,
        f: &'b mut Vec<f64>,
        msg: &'b mut Vec<u8>,
    ) -> Self {
        u.clear();
        f.clear();
        msg.clear();
        Tape {
            input,
            map: Utf16Map::new(input),
            u,
            f,
            msg,
            records: 0,
            errors: 0,
            prev: None,
        }
    }

    #[inline]
    fn str(&mut self, s: &str) {
        let a = byte_offset(self.input, s);
        let start = self.map.map(a);
        let end = self.map.map(a + s.len());
        self.u.push(start);
        self.u.push(end);
    }

    #[inline]
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => {
                self.u.push(NONE);
                self.u.push(NONE);
            }
        }
    }

    /// Write a number or u64 item.
    fn item(&mut self, item: Item) {
        self.u.extend_from_slice(item.words());
        if let Some(x) = item.num {
            self.f.push(x);
        }
    }

    fn tags(&mut self, tags: Tags<'_>) {
        let at = self.u.len();
        self.u.push(0);
        let mut n = 0u32;
        for (k, v) in tags.iter() {
            self.str(k);
            self.opt_str(v);
            n += 1;
        }
        if let Some(slot) = self.u.get_mut(at) {
            *slot = n;
        }
    }

    fn header(&mut self, kind: u32, flags: u32, line: usize) {
        self.u.push(kind | flags << 4);
        self.u.push(line as u32);
    }
}

impl<'a> Sink<'a> for Tape<'a, '_> {
    #[inline]
    fn begin_line(&mut self, start: usize, len: usize) {
        self.map.begin_line(start, len);
    }

    /// The record straight from the line (what [`Sink::value`] writes for it). The line is
    /// printable ASCII, so its UTF-16 offsets are its byte offsets plus that of its start.
    #[inline(always)]
    fn common(&mut self, line: usize, start: usize, f: &CommonLine<'a>, cat: CatalogMatch<'a>) {
        let base = self
            .map
            .begin_ascii_line(start, f.len)
            .wrapping_sub(start as u32);
        let input = self.input;
        let at = |s: &str| base.wrapping_add(byte_offset(input, s) as u32);
        let mut flags = 0;
        if f.delta {
            flags |= flag::DELTA;
        }
        if f.sample_rate.is_some() {
            flags |= flag::RATE;
        }
        let tags = f.tags();
        if !tags.is_empty() {
            flags |= flag::TAGS;
        }
        // At most 14 words before the tags: header 2, name 2, type 1, value 3, id 1, host 2,
        // version 3; and at most 3 numbers: value, rate, version.
        let mut w = Spare::new(&mut *self.u, 14);
        let mut nums = Spare::new(&mut *self.f, 3);
        w.push(0); // the header, below
        w.push(line as u32);
        let name = at(f.name);
        w.extend(&[
            name,
            name.wrapping_add(f.name.len() as u32),
            u32::from(type_code(f.ty)),
        ]);
        let value = number_item(f.value);
        w.extend(value.words());
        if let Some(x) = value.num {
            nums.push(x);
        }
        if let Some(r) = f.sample_rate {
            nums.push(r);
        }
        match cat {
            CatalogMatch::Metric { host, recognized } => {
                flags |= flag::METRIC;
                let (a, b) = host.map_or((NONE, NONE), |h| (at(h), at(h) + h.len() as u32));
                w.extend(&[recognized.metric.id(), a, b]);
                if let Some(v) = recognized.version {
                    flags |= flag::VERSION;
                    let version = u64_item(v);
                    w.extend(version.words());
                    if let Some(x) = version.num {
                        nums.push(x);
                    }
                }
            }
            CatalogMatch::KindMismatch => flags |= flag::KIND_MISMATCH,
            CatalogMatch::None => {}
        }
        w.set(0, kind::VALUE | flags << 4);
        let (words, numbers) = (w.finish(), nums.finish());
        extend_written(&mut *self.u, words);
        extend_written(&mut *self.f, numbers);
        if !tags.is_empty() {
            self.tags(tags);
        }
        self.records += 1;
    }

    fn value(&mut self, line: usize, name: &'a str, s: &Sample<'a>, cat: CatalogMatch<'a>) {
        let mut flags = 0;
        if s.delta {
            flags |= flag::DELTA;
        }
        let rate = s.sample_rate;
        if rate.is_some() {
            flags |= flag::RATE;
        }
        let timestamp = s.timestamp;
        if timestamp.is_some() {
            flags |= flag::TIMESTAMP;
        }
        let version = match cat {
            CatalogMatch::Metric { recognized, .. } => {
                flags |= flag::METRIC;
                recognized.version
            }
            CatalogMatch::KindMismatch => {
                flags |= flag::KIND_MISMATCH;
                None
            }
            CatalogMatch::None => None,
        };
        if version.is_some() {
            flags |= flag::VERSION;
        }
        let container = s.container;
        if container.is_some() {
            flags |= flag::CONTAINER;
        }
        // The values of one segment share its tags and unknown fields: look at them once.
        let same = match &self.prev {
            Some((l, p, ..)) => *l == line && s.same_segment(p),
            None => false,
        };
        let mut ext = None;
        let (has_tags, has_ext) = match self.prev {
            Some((_, _, tags, ext)) if same => (tags, ext),
            _ => {
                let mut e = s.extensions().peekable();
                let has = e.peek().is_some();
                ext = Some(e);
                (!s.tags().is_empty(), has)
            }
        };
        if has_tags {
            flags |= if same { flag::TAGS_PREV } else { flag::TAGS };
        }
        if has_ext {
            flags |= if same {
                flag::EXTENSIONS_PREV
            } else {
                flag::EXTENSIONS
            };
        }
        self.prev = Some((line, *s, has_tags, has_ext));
        self.header(kind::VALUE, flags, line);
        self.str(name);
        self.u.push(u32::from(type_code(s.ty)));
        match s.value {
            SampleValue::Number(n) => {
                self.item(number_item(n));
            }
            SampleValue::Set(m) => {
                self.u.push(value_kind::SET);
                self.str(m);
            }
        }
        if let Some(r) = rate {
            self.f.push(r);
        }
        if let Some(t) = timestamp {
            self.item(u64_item(t));
        }
        if let CatalogMatch::Metric { host, recognized } = cat {
            self.u.push(recognized.metric.id());
            self.opt_str(host);
        }
        if let Some(v) = version {
            self.item(u64_item(v));
        }
        if flags & flag::TAGS != 0 {
            self.tags(s.tags());
        }
        if let Some(c) = container {
            self.str(c);
        }
        if let Some(ext) = ext.filter(|_| flags & flag::EXTENSIONS != 0) {
            let at = self.u.len();
            self.u.push(0);
            let mut n = 0u32;
            for e in ext {
                self.str(e);
                n += 1;
            }
            if let Some(slot) = self.u.get_mut(at) {
                *slot = n;
            }
        }
        self.records += 1;
    }

    fn event(&mut self, e: &Event<'a>) {
        let mut flags = 0;
        if e.timestamp.is_some() {
            flags |= flag::TIMESTAMP;
        }
        if !e.tags.is_empty() {
            flags |= flag::TAGS;
        }
        self.header(kind::EVENT, flags, e.line);
        self.str(e.title);
        self.str(e.text);
        if let Some(t) = e.timestamp {
            self.item(u64_item(t));
        }
        self.opt_str(e.hostname);
        self.opt_str(e.aggregation_key);
        self.opt_str(e.priority);
        self.opt_str(e.source_type_name);
        self.opt_str(e.alert_type);
        if flags & flag::TAGS != 0 {
            self.tags(e.tags);
        }
        self.records += 1;
    }

    fn service_check(&mut self, s: &ServiceCheck<'a>) {
        let mut flags = 0;
        if s.timestamp.is_some() {
            flags |= flag::TIMESTAMP;
        }
        if !s.tags.is_empty() {
            flags |= flag::TAGS;
        }
        self.header(kind::SERVICE_CHECK, flags, s.line);
        self.str(s.name);
        self.u.push(u32::from(s.status));
        if let Some(t) = s.timestamp {
            self.item(u64_item(t));
        }
        self.opt_str(s.hostname);
        if flags & flag::TAGS != 0 {
            self.tags(s.tags);
        }
        self.opt_str(s.message);
        self.records += 1;
    }

    fn error(&mut self, e: &DecodeError) {
        self.header(kind::ERROR, 0, e.line);
        self.u.push(e.column as u32);
        self.u.push(self.msg.len() as u32);
        write_detail(e, self.msg);
        self.u.push(self.msg.len() as u32);
        self.errors += 1;
    }

    fn too_long(&mut self, line: usize, e: OverlongLine) {
        self.header(kind::ERROR, 0, line);
        self.u.push(OverlongLine::COLUMN as u32);
        self.u.push(self.msg.len() as u32);
        write_too_long(e, self.msg);
        self.u.push(self.msg.len() as u32);
        self.errors += 1;
    }
}

#[cfg(test)] // the reference the arena is tested against
/// The column vectors behind `decodeColumns()`, as little-endian bytes so that
/// `ColumnBufs::pack` only concatenates them.
#[derive(Debug, Default)]
pub struct ColumnBufs {
    /// Rows written.
    pub rows: usize,
    /// Value (f64; `NaN` for set members and events).
    pub values: Vec<u8>,
    /// Sample rate (f64; `NaN` when absent).
    pub rates: Vec<u8>,
    /// Catalog id or -1 (i32).
    pub catalog: Vec<u8>,
    /// Line number (u32).
    pub lines: Vec<u8>,
    /// Byte offset of the name, the title for events (u32).
    pub name_offsets: Vec<u8>,
    /// Byte length of the name (u32).
    pub name_lengths: Vec<u8>,
    /// Type code (u8).
    pub types: Vec<u8>,
    /// Bit 0 delta, bit 1 kind mismatch (u8).
    pub flags: Vec<u8>,
    /// Errors: (line, column, message start, message end) each.
    pub errors: Vec<u32>,
    /// Error texts (ASCII).
    pub msg: Vec<u8>,
    /// The columns back to back (see `ColumnBufs::pack`).
    pub arena: Vec<u8>,
}

#[cfg(test)] // the reference the arena is tested against
impl ColumnBufs {
    /// Empty every column, making room for about `rows` rows.
    pub fn clear(&mut self, rows: usize) {
        for (v, size) in [
            (&mut self.values, 8),
            (&mut self.rates, 8),
            (&mut self.catalog, 4),
            (&mut self.lines, 4),
            (&mut self.name_offsets, 4),
            (&mut self.name_lengths, 4),
            (&mut self.types, 1),
            (&mut self.flags, 1),
        ] {
            v.clear();
            v.reserve(rows * size);
        }
        self.rows = 0;
        self.errors.clear();
        self.msg.clear();
    }

    /// Rows written.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was written.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Lay the columns out back to back in `arena`, so that JS copies them with one
    /// `ArrayBuffer` (typed-array allocations dominate the cost of small results). With `n`
    /// rows: values at 0, rates at 8n (f64), catalog ids at 16n (i32), lines at 20n, name
    /// offsets at 24n, name lengths at 28n (u32), types at 32n, flags at 33n (u8); little-endian,
    /// each column aligned for its type.
    pub fn pack(&mut self) {
        let a = &mut self.arena;
        a.clear();
        a.reserve(self.rows * ROW_BYTES);
        for v in [
            &self.values,
            &self.rates,
            &self.catalog,
            &self.lines,
            &self.name_offsets,
            &self.name_lengths,
            &self.types,
            &self.flags,
        ] {
            a.extend_from_slice(v);
        }
    }
}

#[cfg(test)] // the reference the arena is tested against
/// A [`Sink`] filling `ColumnBufs`.
#[derive(Debug)]
pub struct Columns<'a, 'b> {
    input: &'a [u8],
    /// The columns.
    pub bufs: &'b mut ColumnBufs,
}

#[cfg(test)] // the reference the arena is tested against
impl<'a, 'b> Columns<'a, 'b> {
    /// Columns over `input`, writing into the (cleared) buffers.
    pub fn new(input: &'a [u8], bufs: &'b mut ColumnBufs) -> Self {
        // Room for short lines; the vectors grow if need be.
        bufs.clear(input.len() / 24 + 1);
        Columns { input, bufs }
    }

    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn row(&mut self, line: usize, name: &str, ty: u8, value: f64, rate: f64, flags: u8, id: i32) {
        let b = &mut *self.bufs;
        b.values.extend_from_slice(&value.to_le_bytes());
        b.rates.extend_from_slice(&rate.to_le_bytes());
        b.catalog.extend_from_slice(&id.to_le_bytes());
        b.lines.extend_from_slice(&(line as u32).to_le_bytes());
        let off = byte_offset(self.input, name) as u32;
        b.name_offsets.extend_from_slice(&off.to_le_bytes());
        b.name_lengths
            .extend_from_slice(&(name.len() as u32).to_le_bytes());
        b.types.push(ty);
        b.flags.push(flags);
        b.rows += 1;
    }
}

#[cfg(test)] // the reference the arena is tested against
impl<'a> Sink<'a> for Columns<'a, '_> {
    #[inline]
    fn begin_line(&mut self, _start: usize, _len: usize) {}

    fn common(&mut self, line: usize, start: usize, f: &CommonLine<'a>, cat: CatalogMatch<'a>) {
        let (id, mismatch) = catalog_column(cat);
        let flags = if f.delta { COL_DELTA } else { 0 } | mismatch;
        let rate = f.sample_rate.unwrap_or(f64::NAN);
        let _ = start;
        self.row(
            line,
            f.name,
            type_code(f.ty),
            f.value.as_f64(),
            rate,
            flags,
            id,
        );
    }

    #[inline]
    fn value(&mut self, line: usize, name: &'a str, s: &Sample<'a>, cat: CatalogMatch<'a>) {
        let value = match s.value {
            SampleValue::Number(n) => n.as_f64(),
            SampleValue::Set(_) => f64::NAN,
        };
        let mut flags = if s.delta { COL_DELTA } else { 0 };
        let id = match cat {
            CatalogMatch::Metric { recognized, .. } => recognized.metric.id() as i32,
            CatalogMatch::KindMismatch => {
                flags |= COL_KIND_MISMATCH;
                -1
            }
            CatalogMatch::None => -1,
        };
        let rate = s.sample_rate.unwrap_or(f64::NAN);
        self.row(line, name, type_code(s.ty), value, rate, flags, id);
    }

    fn event(&mut self, e: &Event<'a>) {
        self.row(e.line, e.title, TYPE_EVENT, f64::NAN, f64::NAN, 0, -1);
    }

    fn service_check(&mut self, s: &ServiceCheck<'a>) {
        let status = f64::from(s.status);
        self.row(s.line, s.name, TYPE_SERVICE_CHECK, status, f64::NAN, 0, -1);
    }

    fn error(&mut self, e: &DecodeError) {
        let b = &mut *self.bufs;
        push_error(&mut b.errors, &mut b.msg, e);
    }

    fn too_long(&mut self, line: usize, e: OverlongLine) {
        let b = &mut *self.bufs;
        push_too_long(&mut b.errors, &mut b.msg, line, e);
    }
}

/// All columns of `decodeColumns()` in one buffer with a stride of `cap` rows, written in place
/// (no per-column vectors, no packing): with capacity `C`, values at 0, rates at 8C, catalog ids
/// at 16C, lines at 20C, name offsets at 24C, name lengths at 28C, types at 32C, flags at 33C;
/// little-endian. It is reused across calls and only grows, so JS can keep typed-array views on
/// it (`ColumnDecoder`); [`ColumnArena::compact`] packs it to a stride of `rows` for a copy.
#[derive(Debug, Default)]
pub struct ColumnArena {
    /// Rows the buffer holds.
    pub cap: usize,
    /// Rows written.
    pub rows: usize,
    /// The columns (u64 words: 8-byte alignment).
    words: Vec<u64>,
    /// Errors: (line, column, message start, message end) each.
    pub errors: Vec<u32>,
    /// Error texts (ASCII).
    pub msg: Vec<u8>,
}

impl ColumnArena {
    /// Start over, with room for at least `rows` rows.
    pub fn reset(&mut self, rows: usize) {
        self.rows = 0;
        self.errors.clear();
        self.msg.clear();
        if self.cap < rows {
            self.set_cap(rows, false);
        }
    }

    /// Bytes the buffer holds.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    /// Address of the buffer.
    pub fn ptr(&self) -> *const u8 {
        self.words.as_ptr().cast()
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.words.len() * 8;
        // SAFETY: the u64 words are `len` initialised bytes, borrowed mutably for the result.
        unsafe { core::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), len) }
    }

    /// The packed bytes after [`ColumnArena::compact`] (`ROW_BYTES * rows`).
    pub fn packed(&self) -> &[u8] {
        let len = (self.rows * ROW_BYTES).min(self.words.len() * 8);
        // SAFETY: `len` is within the initialised words.
        unsafe { core::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), len) }
    }

    fn set_cap(&mut self, cap: usize, keep: bool) {
        let old_cap = self.cap;
        let old = std::mem::take(&mut self.words);
        self.words = vec![0u64; (cap * ROW_BYTES).div_ceil(8)];
        self.cap = cap;
        if keep {
            // SAFETY: initialised u64 words viewed as bytes.
            let src =
                unsafe { core::slice::from_raw_parts(old.as_ptr().cast::<u8>(), old.len() * 8) };
            let rows = self.rows;
            let dst = self.bytes_mut();
            for (off, size) in ARENA_COLUMNS {
                let n = rows * size;
                if let (Some(d), Some(s)) = (
                    dst.get_mut(off * cap..off * cap + n),
                    src.get(off * old_cap..off * old_cap + n),
                ) {
                    d.copy_from_slice(s);
                }
            }
        }
    }

    /// Move the columns to a stride of `rows` (values at 0, rates at 8 rows, ...), the layout
    /// `ColumnBufs::pack` makes.
    pub fn compact(&mut self) {
        let (cap, rows) = (self.cap, self.rows);
        let bytes = self.bytes_mut();
        // Each column moves left, and never onto a column not moved yet (off_k+1 * rows <= off_k+1 * cap).
        for (off, size) in ARENA_COLUMNS {
            let from = off * cap;
            if from + rows * size <= bytes.len() {
                bytes.copy_within(from..from + rows * size, off * rows);
            }
        }
    }

    /// Append a row.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn row(
        &mut self,
        line: u32,
        off: u32,
        len: u32,
        ty: u8,
        value: f64,
        rate: f64,
        flags: u8,
        id: i32,
    ) {
        if self.rows >= self.cap {
            self.set_cap((self.cap * 2).max(64), true);
        }
        let (r, c) = (self.rows, self.cap);
        debug_assert!(r < c && ROW_BYTES * c <= self.words.len() * 8);
        let base = self.words.as_mut_ptr().cast::<u8>();
        // SAFETY: row `r < cap` of each column lies inside the `ROW_BYTES * cap` bytes of
        // `words` (see the layout above); unaligned writes. One base pointer for the eight
        // writes, so that none of them reloads the vector's fields.
        unsafe {
            put(base, 8 * r, value.to_le_bytes());
            put(base, 8 * c + 8 * r, rate.to_le_bytes());
            put(base, 16 * c + 4 * r, id.to_le_bytes());
            put(base, 20 * c + 4 * r, line.to_le_bytes());
            put(base, 24 * c + 4 * r, off.to_le_bytes());
            put(base, 28 * c + 4 * r, len.to_le_bytes());
            put(base, 32 * c + r, [ty]);
            put(base, 33 * c + r, [flags]);
        }
        self.rows = r + 1;
    }
}

/// Write `v` at byte `at` of `base`.
///
/// # Safety
/// `base + at .. base + at + N` must be inside one allocation the caller may write.
#[inline(always)]
unsafe fn put<const N: usize>(base: *mut u8, at: usize, v: [u8; N]) {
    // SAFETY: in bounds by the caller's contract; no alignment needed.
    unsafe { base.add(at).cast::<[u8; N]>().write_unaligned(v) }
}

/// The catalog id column (-1 for none) and the kind-mismatch flag of a match.
#[inline(always)]
fn catalog_column(cat: CatalogMatch<'_>) -> (i32, u8) {
    match cat {
        CatalogMatch::Metric { recognized, .. } => (recognized.metric.id() as i32, 0),
        CatalogMatch::KindMismatch => (-1, COL_KIND_MISMATCH),
        CatalogMatch::None => (-1, 0),
    }
}

/// A [`Sink`] filling a [`ColumnArena`].
#[derive(Debug)]
pub struct ArenaColumns<'a, 'b> {
    input: &'a [u8],
    /// The columns.
    pub arena: &'b mut ColumnArena,
}

impl<'a, 'b> ArenaColumns<'a, 'b> {
    /// Columns over `input`, writing into the arena (emptied; room for short lines).
    pub fn new(input: &'a [u8], arena: &'b mut ColumnArena) -> Self {
        arena.reset(input.len() / 24 + 1);
        ArenaColumns { input, arena }
    }

    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn row(&mut self, line: usize, name: &str, ty: u8, value: f64, rate: f64, flags: u8, id: i32) {
        let off = byte_offset(self.input, name) as u32;
        self.arena.row(
            line as u32,
            off,
            name.len() as u32,
            ty,
            value,
            rate,
            flags,
            id,
        );
    }
}

impl<'a> Sink<'a> for ArenaColumns<'a, '_> {
    #[inline]
    fn begin_line(&mut self, _start: usize, _len: usize) {}

    /// Inlined: this loop (`decodeColumns()`, `ColumnDecoder`) is the one whose speed counts.
    #[inline(always)]
    fn common_match(f: &CommonLine<'a>, prefix: Option<&str>) -> CatalogMatch<'a> {
        f.catalog_match(prefix)
    }

    /// The row straight from the line (what [`Sink::value`] writes for it, without building a
    /// [`CatalogMatch`]); the name starts the line.
    #[inline(always)]
    fn common(&mut self, line: usize, start: usize, f: &CommonLine<'a>, cat: CatalogMatch<'a>) {
        let (id, mismatch) = catalog_column(cat);
        let flags = if f.delta { COL_DELTA } else { 0 } | mismatch;
        self.arena.row(
            line as u32,
            start as u32,
            f.name.len() as u32,
            type_code(f.ty),
            f.value.as_f64(),
            f.sample_rate.unwrap_or(f64::NAN),
            flags,
            id,
        );
    }

    #[inline]
    fn value(&mut self, line: usize, name: &'a str, s: &Sample<'a>, cat: CatalogMatch<'a>) {
        let value = match s.value {
            SampleValue::Number(n) => n.as_f64(),
            SampleValue::Set(_) => f64::NAN,
        };
        let (id, mismatch) = catalog_column(cat);
        let flags = if s.delta { COL_DELTA } else { 0 } | mismatch;
        let rate = s.sample_rate.unwrap_or(f64::NAN);
        self.row(line, name, type_code(s.ty), value, rate, flags, id);
    }

    fn event(&mut self, e: &Event<'a>) {
        self.row(e.line, e.title, TYPE_EVENT, f64::NAN, f64::NAN, 0, -1);
    }

    fn service_check(&mut self, s: &ServiceCheck<'a>) {
        let status = f64::from(s.status);
        self.row(s.line, s.name, TYPE_SERVICE_CHECK, status, f64::NAN, 0, -1);
    }

    fn error(&mut self, e: &DecodeError) {
        let b = &mut *self.arena;
        push_error(&mut b.errors, &mut b.msg, e);
    }

    fn too_long(&mut self, line: usize, e: OverlongLine) {
        let b = &mut *self.arena;
        push_too_long(&mut b.errors, &mut b.msg, line, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realm_metrics::wire::{flatten, Flat};

    #[derive(Default)]
    struct Log(Vec<String>);

    impl<'a> Sink<'a> for Log {
        fn begin_line(&mut self, _: usize, _: usize) {}
        fn value(&mut self, line: usize, name: &'a str, s: &Sample<'a>, c: CatalogMatch<'a>) {
            let tags: Vec<_> = s.tags().iter().collect();
            let ext: Vec<&str> = s.extensions().collect();
            self.0.push(format!(
                "{line} {name} {:?} {:?} {} {:?} {:?} {:?} {tags:?} {ext:?} {c:?}",
                s.value, s.ty, s.delta, s.sample_rate, s.timestamp, s.container,
            ));
        }
        fn common(&mut self, line: usize, _: usize, f: &CommonLine<'a>, c: CatalogMatch<'a>) {
            let tags: Vec<_> = f.tags().iter().collect();
            let ext: Vec<&str> = Vec::new();
            let (timestamp, container): (Option<u64>, Option<&str>) = (None, None);
            self.0.push(format!(
                "{line} {} {:?} {:?} {} {:?} {timestamp:?} {container:?} {tags:?} {ext:?} {c:?}",
                f.name,
                SampleValue::Number(f.value),
                f.ty,
                f.delta,
                f.sample_rate,
            ));
        }
        fn event(&mut self, e: &Event<'a>) {
            self.0.push(format!("{e:?}"));
        }
        fn service_check(&mut self, s: &ServiceCheck<'a>) {
            self.0.push(format!("{s:?}"));
        }
        fn error(&mut self, e: &DecodeError) {
            self.0.push(format!("{e:?}"));
        }
        fn too_long(&mut self, line: usize, e: OverlongLine) {
            self.0.push(format!("too long: line {line}, max {}", e.max));
        }
    }

    fn via_flatten(input: &[u8], prefix: Option<&str>) -> Vec<String> {
        flatten(input, prefix)
            .map(|f| match f {
                Flat::Value(v) => {
                    let s = v.sample;
                    let tags: Vec<_> = s.tags().iter().collect();
                    let ext: Vec<&str> = s.extensions().collect();
                    format!(
                        "{} {} {:?} {:?} {} {:?} {:?} {:?} {tags:?} {ext:?} {:?}",
                        v.line,
                        v.name,
                        s.value,
                        s.ty,
                        s.delta,
                        s.sample_rate,
                        s.timestamp,
                        s.container,
                        v.catalog
                    )
                }
                Flat::Event(e) => format!("{e:?}"),
                Flat::ServiceCheck(s) => format!("{s:?}"),
                Flat::Error(e) => format!("{e:?}"),
            })
            .collect()
    }

    #[test]
    fn run_matches_flatten() {
        let inputs: &[&[u8]] = &[
            b"",
            b"\n\n",
            b"a:1|c",
            b"realm.h.connection.online:3|g\r\nbad\n\n_e{1,1}:a|b\n_sc|x|1\nk:1:2|d|#a:b,c\r",
            b"realm.h.protocol.7.used:1|c\nrealm.h.connection.online:1|c\nx:\xff|s\n\xfe\xfe\n",
            b"p.connection.online:2|g|T12|c:abc|xy\n",
            b"a:1|c\r\nb:2|g\r",
            b"a:1|c\r",
            b"a:1|c\rx\nb:1|c|#x\ry\r\n\r\n\r",
            b"realm.h.connection.online:1|c\nrealm.h.connection.online:1|g\nrealm.h.connection.online:1|ms",
        ];
        for input in inputs {
            for prefix in [None, Some("p")] {
                let mut log = Log::default();
                run(input, prefix, 1, usize::MAX, &mut log);
                assert_eq!(log.0, via_flatten(input, prefix), "{input:?}");
            }
        }
    }

    /// `n` inputs of a few typical lines (common-shape and others, ASCII and not), each mutated
    /// by up to three byte edits, with a prefix or none; the same sequence on every call.
    fn mutated_inputs(n: usize) -> Vec<(Vec<u8>, Option<&'static str>)> {
        let mut out = Vec::with_capacity(n);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let lines: &[&[u8]] = &[
            b"realm.h.connection.online:3|g",
            b"realm.h.connection.online:3|c",
            b"my.app.session.started:1|c|@0.5|#a:b",
            b"realm.w.protocol.7.used:1|c",
            b"a:1|c\r",
            b"a:-2.5|ms|#x,,y:z",
            b"k,t=v:1:2|d",
            b"u:x|s",
            b"_e{1,1}:a|b",
            b"_sc|n|0",
            b"",
            b"\xff\xfe",
            b"caf\xc3\xa9:1|c",
            b"realm.w.session.online,env=prod,k=:+2|g|#a:b,c",
            b"realm.w.protocol.99999999999999999999.used:1|c",
            b"realm.w.protocol.9007199254740993.used:1|c",
            b"n:18446744073709551615|c",
            b"n:-9007199254740993|g",
            b"n:9007199254740992|ms|@0.25",
            b"realm.connection.online,host=h1:3|g",
            b"realm.session.started:1|c|#host:h2,env:prod",
            b"realm.h.realms.open,host=h3:2|g|#host:h4",
            b"my.app.connection.online:1|g|#host:h5",
        ];
        let alphabet = b"a:|#@,.-+019cgmsdhT\r\n\xc3\xa9 ";
        for _ in 0..n {
            let mut input = Vec::new();
            for _ in 0..rand(6) {
                input.extend_from_slice(lines[rand(lines.len())]);
                input.push(b'\n');
            }
            if rand(2) == 0 {
                input.pop();
            }
            for _ in 0..rand(3) {
                let at = rand(input.len() + 1);
                match rand(3) {
                    0 => input.insert(at, alphabet[rand(alphabet.len())]),
                    1 if at < input.len() => {
                        input.remove(at);
                    }
                    _ if at < input.len() => input[at] = alphabet[rand(alphabet.len())],
                    _ => {}
                }
            }
            out.push((input, [None, Some("my.app")][rand(2)]));
        }
        out
    }

    /// Random multi-line inputs built from common and unusual lines, mutated byte by byte: the
    /// fast path and the line splitting of `run` agree with `flatten`.
    #[test]
    fn run_matches_flatten_on_mutated_inputs() {
        for (input, prefix) in mutated_inputs(20_000) {
            let mut log = Log::default();
            assert_eq!(
                run(&input, prefix, 1, usize::MAX, &mut log),
                input.is_ascii()
            );
            assert_eq!(
                log.0,
                via_flatten(&input, prefix),
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    /// A sink that hands common lines to the tape as [`Sink::value`] calls with the sample core's
    /// general decoder gives, and counts them.
    struct General<'t, 'a, 'b>(Tape<'a, 'b>, &'t mut usize);

    impl<'a> Sink<'a> for General<'_, 'a, '_> {
        fn begin_line(&mut self, start: usize, len: usize) {
            self.0.begin_line(start, len);
        }
        fn value(&mut self, line: usize, name: &'a str, s: &Sample<'a>, cat: CatalogMatch<'a>) {
            self.0.value(line, name, s, cat);
        }
        fn common(&mut self, line: usize, start: usize, f: &CommonLine<'a>, cat: CatalogMatch<'a>) {
            let input = self.0.input;
            let text = &input[start..start + f.len];
            let Ok(Record::Metric(l)) = decode_line(text, line) else {
                panic!("{text:?} is a metric line")
            };
            assert!(!l.is_multi());
            self.0.begin_line(start, f.len);
            self.0.value(line, l.name, &l.first(), cat);
            *self.1 += 1;
        }
        fn event(&mut self, e: &Event<'a>) {
            self.0.event(e);
        }
        fn service_check(&mut self, s: &ServiceCheck<'a>) {
            self.0.service_check(s);
        }
        fn error(&mut self, e: &DecodeError) {
            self.0.error(e);
        }
        fn too_long(&mut self, line: usize, e: OverlongLine) {
            self.0.too_long(line, e);
        }
    }

    /// The tape's direct path for common lines writes exactly the words and numbers its general
    /// path writes: catalog names with and without a prefix, big integers, protocol versions
    /// beyond 2^53, and offsets after non-ASCII lines.
    #[test]
    fn tape_common_path_matches_the_general_path() {
        let (mut u1, mut f1, mut m1) = (Vec::new(), Vec::new(), Vec::new());
        let (mut u2, mut f2, mut m2) = (Vec::new(), Vec::new(), Vec::new());
        let mut common_lines = 0;
        for (input, prefix) in mutated_inputs(20_000) {
            let mut direct = Tape::new(&input, &mut u1, &mut f1, &mut m1);
            run(&input, prefix, 1, usize::MAX, &mut direct);
            let records = (direct.records, direct.errors);
            let mut general = General(
                Tape::new(&input, &mut u2, &mut f2, &mut m2),
                &mut common_lines,
            );
            run(&input, prefix, 1, usize::MAX, &mut general);
            assert_eq!(records, (general.0.records, general.0.errors));
            let text = String::from_utf8_lossy(&input);
            assert_eq!(u1, u2, "{text:?}");
            assert_eq!(
                f1.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                f2.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{text:?}"
            );
            assert_eq!(m1, m2);
        }
        // The inputs exercise the direct path.
        assert!(common_lines > 10_000, "{common_lines}");
    }

    #[test]
    fn utf16_map_follows_lossy_decoding() {
        let input: &[u8] =
            b"ab\xff\xfe\n\xe2\x82\n\xc3\xa9t\xf0\x9f\x98\x80x:1|c\n\xed\xa0\x80z\nq";
        let text = String::from_utf8_lossy(input);
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut map = Utf16Map::new(input);
        // Line 3 is bytes 8..20: "ét😀x:1|c".
        map.begin_line(8, 12);
        let start = map.map(8) as usize;
        let end = map.map(20) as usize;
        assert_eq!(String::from_utf16(&units[start..end]).unwrap(), "ét😀x:1|c");
        assert_eq!(map.map(10), start as u32 + 1);
        assert_eq!(map.map(11), start as u32 + 2);
        assert_eq!(map.map(15), start as u32 + 4);
        map.begin_line(26, 1);
        let q = map.map(26) as usize;
        assert_eq!(String::from_utf16(&units[q..q + 1]).unwrap(), "q");
        // The same offset for a line begun as ASCII, with or without the lines before it seen.
        let mut lazy = Utf16Map::new(input);
        assert_eq!(lazy.begin_ascii_line(26, 1), q as u32);
        let mut seen = Utf16Map::new(input);
        seen.begin_line(8, 12);
        seen.map(8);
        assert_eq!(seen.begin_ascii_line(26, 1), q as u32);
    }

    #[test]
    fn an_over_long_line_is_one_error_and_the_next_line_decodes() {
        // A line longer than the bound is one error, and the next line is decoded; numbering
        // starts at `first_line` and counts empty lines.
        let mut log = Log::default();
        let input = b"\n\r\nabcdefgh\na:1|c\nabcde\r\nabcdef\r\nabcde\r";
        run(input, None, 10, 5, &mut log);
        assert_eq!(log.0.len(), 5, "{:?}", log.0);
        assert_eq!(log.0[0], "too long: line 12, max 5");
        assert!(log.0[1].starts_with("13 a "), "{:?}", log.0);
        assert!(
            log.0[2].starts_with("DecodeError { line: 14,"),
            "{:?}",
            log.0
        );
        assert_eq!(log.0[3], "too long: line 15, max 5");
        assert!(
            log.0[4].starts_with("DecodeError { line: 16,"),
            "{:?}",
            log.0
        );
        assert_eq!(realm_metrics::wire::stream::count_lines(input), 7);
        let mut msg = Vec::new();
        write_too_long(OverlongLine { max: 16 << 20 }, &mut msg);
        assert_eq!(msg, b"line longer than 16777216 bytes");
    }

    /// The in-place arena (also after growing, and after compaction) holds exactly what the
    /// per-column buffers hold.
    #[test]
    fn arena_matches_column_buffers() {
        let mut arena = ColumnArena::default();
        let many = "a:1|c\nk:1:2:3:4:5:6:7:8|d\n".repeat(300);
        // Common-shape lines (the arena's direct path): catalog names, a kind mismatch, deltas,
        // rates, both kinds of tags, a prefix.
        let common = "realm.w-1.connection.online:-3|g\nrealm.w-1.connection.online:3|c\n\
            realm.w.protocol.bytes.sent:5|g\r\nrealm.w.protocol.24.used:1|c|@0.5|#a:b\n\
            realm.w.session.online,env=prod:+2|g\nmy.app.realms.open:7|g\nx:1.25|ms|@0.1\n\
            realm.w.realms.open:1|ms\n"
            .repeat(20);
        for (input, prefix) in [
            (
                &b"realm.h.connection.online:3|g\nbad\nk:1:2|d\n_sc|x|1\n_e{1,1}:t|x\nu:a|s"[..],
                None,
            ),
            (b"", None),
            (many.as_bytes(), None),
            (b"x:1|c", None),
            (common.as_bytes(), None),
            (common.as_bytes(), Some("my.app")),
        ] {
            let mut cols = ColumnBufs::default();
            let mut c = Columns::new(input, &mut cols);
            run(input, prefix, 1, usize::MAX, &mut c);
            cols.pack();
            let mut a = ArenaColumns::new(input, &mut arena);
            run(input, prefix, 1, usize::MAX, &mut a);
            assert_eq!(arena.rows, cols.len());
            assert!(arena.cap >= arena.rows);
            assert_eq!(arena.errors, cols.errors);
            assert_eq!(arena.msg, cols.msg);
            arena.compact();
            assert_eq!(arena.packed(), &cols.arena[..]);
        }
    }

    #[test]
    fn columns_and_tape_count_records() {
        let input = b"realm.h.connection.online:3|g\nbad\nk:1:2|d\n_sc|x|1";
        let mut cols = ColumnBufs::default();
        let mut c = Columns::new(input, &mut cols);
        run(input, None, 1, usize::MAX, &mut c);
        assert_eq!(cols.len(), 4);
        let words = |v: &[u8]| -> Vec<i32> {
            v.chunks(4)
                .map(|w| i32::from_le_bytes(w.try_into().unwrap()))
                .collect()
        };
        assert_eq!(words(&cols.catalog), [6, -1, -1, -1]);
        assert_eq!(cols.types, [1, 5, 5, TYPE_SERVICE_CHECK]);
        assert_eq!(words(&cols.lines), [1, 3, 3, 4]);
        assert_eq!(cols.errors.len(), 4);
        assert_eq!(words(&cols.name_offsets)[1], 34);
        assert_eq!(words(&cols.name_lengths)[1], 1);
        cols.pack();
        assert_eq!(cols.arena.len(), 4 * ROW_BYTES);
        assert_eq!(&cols.arena[32 * 4..33 * 4], &cols.types[..]);
        let (mut u, mut f, mut m) = (Vec::new(), Vec::new(), Vec::new());
        let mut t = Tape::new(input, &mut u, &mut f, &mut m);
        run(input, None, 1, usize::MAX, &mut t);
        assert_eq!((t.records, t.errors), (4, 1));
    }
}
