//! The one-pass fast path for the common line shape.

use super::metric::{MetricLine, Sample};
use super::tags::{check_tags, Tags};
use super::value::{parse_number, parse_rate, Number, SampleValue};
use crate::wire::flat::catalog_match_parts;
use crate::wire::{CatalogMatch, MetricType};

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
    /// The fields after the value (type, rate, tags), as in [`Sample`].
    fields: &'a str,
}

impl<'a> CommonLine<'a> {
    /// The line's tags (bucket tags, then `|#` tags), as [`Sample::tags`] gives them.
    pub fn tags(&self) -> Tags<'a> {
        Tags {
            bucket: self.bucket_tags,
            dog: self.dog_tags,
        }
    }

    /// The line's one sample, as core's decoder gives it.
    #[inline]
    pub fn sample(&self) -> Sample<'a> {
        Sample {
            value: SampleValue::Number(self.value),
            ty: self.ty,
            delta: self.delta,
            sample_rate: self.sample_rate,
            timestamp: None,
            container: None,
            tags: self.tags(),
            fields: self.fields,
        }
    }

    /// The catalog match of the line's value: what
    /// [`catalog_match`](crate::wire::catalog_match) gives for its name and sample, without
    /// making the sample.
    #[inline(always)]
    pub fn catalog_match(&self, prefix: Option<&str>) -> CatalogMatch<'a> {
        catalog_match_parts(self.name, self.ty.kind(), self.tags(), prefix)
    }
}

/// Decode the line at the start of `input` if it has the common shape,
/// `name[,k=v...]:value|type[|@rate][|#tags]`, all printable ASCII, with one value: in one pass
/// over the bytes, without a separate search for the line break or a UTF-8 check. Returns `None`
/// for every other line (including every malformed one): [`decode_line`](super::decode_line)
/// decodes those, and it gives the same result as this for every line this accepts.
#[inline(always)]
pub fn decode_common(input: &[u8]) -> Option<CommonLine<'_>> {
    let (name_end, bucket_tags, colon) = fast_name(input)?;
    let body_start = colon + 1;
    let value = fast_value(input, body_start)?;
    let (ty, fields_start) = fast_type(input, value.end + 1)?;
    let (sample_rate, i) = fast_rate(input, fields_start)?;
    let (dog_tags, line_end) = fast_dog_tags(input, i)?;
    let advance = fast_line_break(input, line_end)?;
    Some(CommonLine {
        name: ascii_str(input.get(..name_end)?),
        value: value.number(input)?,
        ty,
        delta: value.signed && ty == MetricType::Gauge,
        sample_rate,
        bucket_tags: ascii_str(input.get(bucket_tags.0..bucket_tags.1)?),
        dog_tags: ascii_str(input.get(dog_tags.0..dog_tags.1)?),
        len: line_end,
        advance,
        body_start,
        fields: ascii_str(input.get(fields_start..line_end)?),
    })
}

/// Step 1: the name, printable ASCII up to `:` (or `,` for Telegraf bucket tags), eight bytes at
/// a time (sixteen with wasm SIMD), then the bucket tags. Returns the end of the name, the
/// bucket tags' range and the offset of the `:`.
#[inline(always)]
fn fast_name(input: &[u8]) -> Option<(usize, (usize, usize), usize)> {
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
    Some((name_end, bucket_tags, i))
}

/// The value text of a fast line, scanned by [`fast_value`].
#[derive(Clone, Copy)]
struct FastValue {
    /// Where the value starts (its sign, if any).
    start: usize,
    /// The `|` after it.
    end: usize,
    neg: bool,
    signed: bool,
    /// The integer digits' value (wrapped past 19 digits; then `general` is set).
    int: u64,
    /// A plain decimal already converted.
    float: Option<f64>,
    /// The value needs the general number parser.
    general: bool,
}

impl FastValue {
    /// Step 7: the number, from the digits already read or by the general parser.
    #[inline(always)]
    fn number(&self, input: &[u8]) -> Option<Number> {
        if self.general {
            return parse_number(input.get(self.start..self.end)?);
        }
        if let Some(f) = self.float {
            return Some(Number::Float(f));
        }
        Some(if !self.neg {
            Number::UInt(self.int)
        } else if self.int == 0 {
            Number::UInt(0)
        } else {
            Number::Int(0i64.checked_sub_unsigned(self.int)?)
        })
    }
}

/// Step 2: the value at `start`, up to its `|`: an optional sign, then digits (integers are
/// parsed here), `.`, `e`, `E`, `+`, `-`.
#[inline(always)]
fn fast_value(input: &[u8], start: usize) -> Option<FastValue> {
    let mut i = start;
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
            float = Some(if neg { -v } else { v });
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
    Some(FastValue {
        start,
        end: i,
        neg,
        signed: neg || input.get(start) == Some(&b'+'),
        int,
        float,
        general,
    })
}

/// Step 3: the type at `i` (never a set), and the offset just past it.
#[inline(always)]
fn fast_type(input: &[u8], i: usize) -> Option<(MetricType, usize)> {
    let (ty, len) = match (input.get(i), input.get(i + 1)) {
        (Some(b'c'), _) => (MetricType::Counter, 1),
        (Some(b'g'), _) => (MetricType::Gauge, 1),
        (Some(b'm'), Some(b's')) => (MetricType::Timer, 2),
        (Some(b'h'), _) => (MetricType::Histogram, 1),
        (Some(b'd'), _) => (MetricType::Distribution, 1),
        _ => return None,
    };
    Some((ty, i + len))
}

/// Step 4: an optional `|@rate` at `i`, and the offset just past it.
#[inline(always)]
fn fast_rate(input: &[u8], mut i: usize) -> Option<(Option<f64>, usize)> {
    if input.get(i) != Some(&b'|') || input.get(i + 1) != Some(&b'@') {
        return Some((None, i));
    }
    let r_start = i + 2;
    let (m, end) = digits(input, r_start, 0);
    let r = match plain_fraction(input, end, m, end - r_start) {
        Some((r, end)) => {
            i = end;
            r
        }
        None => {
            let (r, end) = general_rate(input, r_start)?;
            i = end;
            r
        }
    };
    if !(r > 0.0 && r <= 1.0) {
        return None;
    }
    Some((Some(r), i))
}

/// A rate at `r_start` that is not a plain `D+.D+` (say `1`, `.5` or `0.000001234`): the general
/// parser, and the rate's end. Out of line: rare.
#[cold]
#[inline(never)]
fn general_rate(input: &[u8], r_start: usize) -> Option<(f64, usize)> {
    let mut i = r_start;
    while let Some(c) = input.get(i) {
        if !(c.is_ascii_digit() || *c == b'.') {
            break;
        }
        i += 1;
    }
    Some((parse_rate(ascii_str(input.get(r_start..i)?))?, i))
}

/// Step 5: optional DogStatsD tags at `i`, last on the line: their range and the end of the
/// line.
#[inline(always)]
fn fast_dog_tags(input: &[u8], i: usize) -> Option<((usize, usize), usize)> {
    if input.get(i) != Some(&b'|') || input.get(i + 1) != Some(&b'#') {
        return Some(((0, 0), i));
    }
    let start = i + 2;
    let end = scan(input, start, tag_stop_mask, is_tag_stop);
    check_tags(ascii_str(input.get(start..end)?), b':').ok()?;
    Some(((start, end), end))
}

/// Step 6: the line must end at `i`: the bytes consumed with the line break, if any.
#[inline(always)]
fn fast_line_break(input: &[u8], i: usize) -> Option<usize> {
    match (input.get(i), input.get(i + 1)) {
        (None, _) => Some(i),
        (Some(b'\n'), _) => Some(i + 1),
        (Some(b'\r'), Some(b'\n')) => Some(i + 2),
        (Some(b'\r'), None) => Some(i + 1),
        _ => None,
    }
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
pub(super) fn fast_line(input: &[u8], line_no: usize) -> Option<(MetricLine<'_>, usize)> {
    let c = decode_common(input)?;
    let body = ascii_str(input.get(c.body_start..c.len)?);
    let first = c.sample();
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
    // x86_64: sixteen bytes at a time with SSE2 (always there on x86_64), as with wasm SIMD.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        let name = stop(b',');
        while let Some(chunk) = input.get(i..i + 16) {
            let m = sse2::stop_mask(chunk, name);
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

/// The stop-byte tests of [`scan`] for sixteen bytes at a time with SSE2 (the same tests as
/// `simd::stop_mask`).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };

    /// Bit `k` set when byte `k` of the sixteen in `chunk` is a stop byte: `|`, a control
    /// byte, DEL or non-ASCII, and for a name (`name`) also `:` and `,`.
    #[inline(always)]
    pub(super) fn stop_mask(chunk: &[u8], name: bool) -> u32 {
        debug_assert!(chunk.len() >= 16);
        if chunk.len() < 16 {
            return 1;
        }
        // SAFETY: `chunk` holds at least 16 bytes and `_mm_loadu_si128` has no alignment
        // requirement; SSE2, which these intrinsics need, is enabled (the `cfg` on this module).
        unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            // Outside 0x20..=0x7e: `v + 0x60` (wrapping) above -0x80 + 0x5e as a signed byte.
            let outside = _mm_cmpgt_epi8(
                _mm_add_epi8(v, _mm_set1_epi8(0x60)),
                _mm_set1_epi8(-0x80 + 0x5e),
            );
            let mut stop = _mm_or_si128(outside, _mm_cmpeq_epi8(v, _mm_set1_epi8(b'|' as i8)));
            if name {
                stop = _mm_or_si128(
                    stop,
                    _mm_or_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8)),
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b',' as i8)),
                    ),
                );
            }
            _mm_movemask_epi8(stop) as u32
        }
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
pub(super) const fn name_stop_mask(x: u64) -> u64 {
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
