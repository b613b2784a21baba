//! A single-pass parser for the common StatsD line shapes, tried before the general decoder.
//!
//! It accepts only `name:value|type[|@rate][|#tags]` where the name is `[A-Za-z0-9_.-]+`, the
//! value a plain decimal of at most 15 digits (`-3`, `+4`, `12.5`), the type `c g ms h d`, the
//! rate a plain decimal in (0, 1], and the tags printable ASCII without `|`. Every such line
//! decodes exactly as `realm_metrics::wire::decode_line` decodes it (the tests compare the two on
//! generated and mutated lines); anything else, including every malformed line, returns `None`
//! and goes to the general decoder, which also produces the error.
//!
//! Numbers: integers of at most 15 digits are exact in an `f64`; a decimal `m / 10^k` with
//! `m < 2^53` and `k <= 22` is the correctly rounded quotient of two exact doubles, so it equals
//! what `str::parse::<f64>` returns (Clinger's fast path).

use realm_metrics::wire::{MetricType, Number};

/// A line the fast path decoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FastLine<'a> {
    /// The name (ASCII).
    pub name: &'a str,
    /// The type (never a set).
    pub ty: MetricType,
    /// The value, as the general decoder represents it.
    pub value: Number,
    /// A signed gauge value.
    pub delta: bool,
    /// `|@rate`.
    pub sample_rate: Option<f64>,
    /// The raw DogStatsD tags after `|#` (empty when none).
    pub tags: &'a str,
}

/// Powers of ten that are exact doubles.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Which bytes may appear in a fast-path name: `[A-Za-z0-9_.-]` (a table: one load per byte).
static NAME_BYTES: [bool; 256] = name_bytes();

// Evaluated at compile time: an out-of-range index would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const fn name_bytes() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-';
        i += 1;
    }
    t
}

#[inline]
fn is_name_byte(b: u8) -> bool {
    // `get` of a u8 index in a 256-entry table: the bounds check folds away.
    NAME_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// Length of the run of name bytes at the start of `b`.
#[inline]
pub fn name_len(b: &[u8]) -> usize {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd_name_len(b)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        scalar_name_len(b)
    }
}

/// [`name_len`], one byte at a time.
#[inline]
pub fn scalar_name_len(b: &[u8]) -> usize {
    b.iter().position(|&c| !is_name_byte(c)).unwrap_or(b.len())
}

/// [`name_len`], 16 bytes at a time with wasm SIMD.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn simd_name_len(b: &[u8]) -> usize {
    use core::arch::wasm32::{
        u8x16_bitmask, u8x16_eq, u8x16_lt, u8x16_splat, u8x16_sub, v128, v128_load, v128_not,
        v128_or,
    };
    let mut i = 0;
    while i + 16 <= b.len() {
        // SAFETY: bytes i..i + 16 are within `b`; v128_load has no alignment requirement.
        let v = unsafe { v128_load(b.as_ptr().add(i).cast::<v128>()) };
        // Letters: (v | 0x20) - 'a' < 26 (unsigned); digits: v - '0' < 10; then . _ -
        let lower = v128_or(v, u8x16_splat(0x20));
        let alpha = u8x16_lt(u8x16_sub(lower, u8x16_splat(b'a')), u8x16_splat(26));
        let digit = u8x16_lt(u8x16_sub(v, u8x16_splat(b'0')), u8x16_splat(10));
        let punct = v128_or(
            v128_or(
                u8x16_eq(v, u8x16_splat(b'.')),
                u8x16_eq(v, u8x16_splat(b'_')),
            ),
            u8x16_eq(v, u8x16_splat(b'-')),
        );
        let bad = u8x16_bitmask(v128_not(v128_or(v128_or(alpha, digit), punct)));
        if bad != 0 {
            return i + bad.trailing_zeros() as usize;
        }
        i += 16;
    }
    i + scalar_name_len(b.get(i..).unwrap_or(&[]))
}

/// A plain decimal `D+` or `D+.D+` with at most 15 digits in all, starting at `at`. Returns the
/// mantissa, the number of fraction digits and the end.
#[inline]
fn decimal(b: &[u8], mut at: usize) -> Option<(u64, usize, usize)> {
    let mut m: u64 = 0;
    let mut int_digits = 0;
    for &c in b.get(at..)?.iter().take(16) {
        if !c.is_ascii_digit() {
            break;
        }
        m = m * 10 + u64::from(c - b'0');
        int_digits += 1;
    }
    if int_digits == 0 || int_digits > 15 {
        return None;
    }
    at += int_digits;
    if b.get(at) != Some(&b'.') {
        return Some((m, 0, at));
    }
    at += 1;
    let mut frac = 0;
    for &c in b.get(at..)?.iter().take(16 - int_digits) {
        if !c.is_ascii_digit() {
            break;
        }
        m = m * 10 + u64::from(c - b'0');
        frac += 1;
    }
    if frac == 0 || int_digits + frac > 15 {
        return None;
    }
    Some((m, frac, at + frac))
}

#[inline]
fn to_f64(m: u64, frac: usize) -> f64 {
    (m as f64) / POW10.get(frac).copied().unwrap_or(1.0)
}

/// Decode `line` (without its line break) if it has one of the common shapes.
#[inline]
pub fn parse_line(line: &[u8]) -> Option<FastLine<'_>> {
    match parse_at(line) {
        Some((f, n)) if n == line.len() => Some(f),
        _ => None,
    }
}

/// Decode the line at the start of `rest` if it has one of the common shapes. Returns it and the
/// length of the line proper: the line ends there, at a `\n`, a `\r\n` or the end of `rest` (the
/// caller skips the break). Never looks past the first `\n`.
#[inline]
pub fn parse_at(rest: &[u8]) -> Option<(FastLine<'_>, usize)> {
    let b = rest;
    // Name.
    let mut i = name_len(b);
    if i == 0 || b.get(i) != Some(&b':') {
        return None;
    }
    let name = ascii_str(b.get(..i)?)?;
    i += 1;
    // Value.
    let sign = match b.get(i) {
        Some(b'-') => Some(true),
        Some(b'+') => Some(false),
        _ => None,
    };
    if sign.is_some() {
        i += 1;
    }
    let (m, frac, end) = decimal(b, i)?;
    i = end;
    let neg = sign == Some(true);
    let value = if frac == 0 {
        if neg && m != 0 {
            Number::Int(-(m as i64))
        } else {
            Number::UInt(m)
        }
    } else {
        let v = to_f64(m, frac);
        Number::Float(if neg { -v } else { v })
    };
    if b.get(i) != Some(&b'|') {
        return None;
    }
    i += 1;
    // Type.
    let (ty, len) = match (b.get(i), b.get(i + 1)) {
        (Some(b'c'), _) => (MetricType::Counter, 1),
        (Some(b'g'), _) => (MetricType::Gauge, 1),
        (Some(b'h'), _) => (MetricType::Histogram, 1),
        (Some(b'd'), _) => (MetricType::Distribution, 1),
        (Some(b'm'), Some(b's')) => (MetricType::Timer, 2),
        _ => return None,
    };
    i += len;
    let mut line = FastLine {
        name,
        ty,
        value,
        delta: ty == MetricType::Gauge && sign.is_some(),
        sample_rate: None,
        tags: "",
    };
    // `|@rate`.
    if b.get(i) == Some(&b'|') && b.get(i + 1) == Some(&b'@') {
        let (m, frac, end) = decimal(b, i + 2)?;
        let r = to_f64(m, frac);
        if !(r > 0.0 && r <= 1.0) {
            return None;
        }
        line.sample_rate = Some(r);
        i = end;
    }
    // `|#tags` to the end of the line.
    if b.get(i) == Some(&b'|') && b.get(i + 1) == Some(&b'#') {
        let start = i + 2;
        let after = b.get(start..)?;
        let n = after
            .iter()
            .position(|&c| !(0x20..0x7f).contains(&c) || c == b'|')
            .unwrap_or(after.len());
        let tags = after.get(..n)?;
        i = start + n;
        if !tags_ok(tags) {
            return None;
        }
        line.tags = ascii_str(tags)?;
    }
    // The line must end here.
    match (b.get(i), b.get(i + 1)) {
        (None, _) | (Some(b'\n'), _) | (Some(b'\r'), None) | (Some(b'\r'), Some(b'\n')) => {
            Some((line, i))
        }
        _ => None,
    }
}

/// Bytes known to be ASCII as a `str`.
#[inline]
fn ascii_str(b: &[u8]) -> Option<&str> {
    if b.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        Some(unsafe { core::str::from_utf8_unchecked(b) })
    } else {
        None
    }
}

/// No entry with an empty key (an empty entry is fine), as the general decoder requires.
fn tags_ok(tags: &[u8]) -> bool {
    tags.split(|&c| c == b',')
        .all(|e| e.is_empty() || e.first().is_some_and(|&c| c != b':'))
}

/// The tags of a fast line as `(key, value)`, as `Tags::iter` yields DogStatsD tags: empty
/// entries skipped, split at the first `:`, a bare tag has no value.
pub fn tag_iter(tags: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    tags.split(',')
        .filter(|e| !e.is_empty())
        .map(|e| match e.split_once(':') {
            Some((k, v)) => (k, Some(v)),
            None => (e, None),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use realm_metrics::wire::{decode_line, Record, SampleValue};

    /// The general decoder's view of a line the fast path accepted.
    fn general(line: &[u8]) -> FastLine<'_> {
        let Ok(Record::Metric(l)) = decode_line(line, 1) else {
            panic!(
                "fast path accepted {:?}, the decoder did not",
                String::from_utf8_lossy(line)
            )
        };
        assert!(!l.is_multi());
        let s = l.first();
        assert_eq!(s.timestamp, None);
        assert_eq!(s.container, None);
        assert_eq!(s.extensions().count(), 0);
        let SampleValue::Number(value) = s.value else {
            panic!("set")
        };
        let tags: Vec<_> = s.tags().iter().collect();
        let dog = line
            .windows(2)
            .position(|w| w == b"|#")
            .map_or("", |p| core::str::from_utf8(&line[p + 2..]).unwrap());
        assert_eq!(tags, tag_iter(dog).collect::<Vec<_>>());
        FastLine {
            name: l.name,
            ty: s.ty,
            value,
            delta: s.delta,
            sample_rate: s.sample_rate,
            tags: dog,
        }
    }

    fn same_bits(a: &FastLine<'_>, b: &FastLine<'_>) -> bool {
        let num = |n: Number| match n {
            Number::Int(v) => (0, v as u64),
            Number::UInt(v) => (1, v),
            Number::Float(v) => (2, v.to_bits()),
        };
        a.name == b.name
            && a.ty == b.ty
            && num(a.value) == num(b.value)
            && a.delta == b.delta
            && a.sample_rate.map(f64::to_bits) == b.sample_rate.map(f64::to_bits)
            && a.tags == b.tags
    }

    fn check(line: &[u8]) -> bool {
        match parse_line(line) {
            Some(f) => {
                let g = general(line);
                assert!(
                    same_bits(&f, &g),
                    "{:?}: fast {f:?} general {g:?}",
                    String::from_utf8_lossy(line)
                );
                true
            }
            None => false,
        }
    }

    #[test]
    fn common_shapes_take_the_fast_path() {
        for line in [
            &b"realm.worker-3.connection.online:42|g"[..],
            b"a:1|c",
            b"a:-1|g",
            b"a:+1|g",
            b"a:-0|g",
            b"a:-0.0|g",
            b"a:0.1|ms|@0.1",
            b"a:12.5|h|@1",
            b"a:123456789012345|d",
            b"a:1|c|#env:prod,region:eu,bare",
            b"a:1|c|@0.5|#a:b:c,,x",
            b"a:007|c|#",
        ] {
            assert!(check(line), "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn other_shapes_fall_back() {
        for line in [
            &b"a:1|s"[..],
            b"a:1|c:2|c",
            b"a:1:2|d",
            b"a,host=x:1|c",
            b"a:1|c|T123",
            b"a:1|c|c:abc",
            b"a:1|c|xfoo",
            b"a:1|c|#env:prod|T1",
            b"a:1|c|@0",
            b"a:1|c|@1.5",
            b"a:1|c|@0.5:2|c",
            b"a:1|c|#:v",
            b"a:1e3|c",
            b"a:.5|c",
            b"a:5.|c",
            b"a:1234567890123456|c",
            b"a:1|zz",
            b"a:1|cc",
            b"a:1",
            b":1|c",
            b"a b:1|c",
            b"caf\xc3\xa9:1|c",
            b"a:1|c|#t\xc3\xa9",
        ] {
            assert!(
                parse_line(line).is_none(),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    /// Generated lines and byte-level mutations of them: whenever the fast path accepts a line,
    /// the general decoder gives the same result.
    #[test]
    fn agrees_with_the_general_decoder() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let parts: [&[&str]; 6] = [
            &[
                "realm.h.connection.online",
                "a",
                "x-y_z.w",
                "realm.w-1.protocol.7.used",
                "",
            ],
            &[":"],
            &[
                "1",
                "-1",
                "+1",
                "0",
                "-0",
                "12.5",
                "-0.0",
                "0.1",
                "999999999999999",
                "9007199254740993",
                "1.",
                ".5",
                "1e2",
                "00.10",
            ],
            &["|c", "|g", "|ms", "|h", "|d", "|s", "|x", "|"],
            &[
                "",
                "|@0.5",
                "|@1",
                "|@0",
                "|@1.0",
                "|@0.000001",
                "|@2",
                "|@.5",
            ],
            &["", "|#a:b", "|#a,b:c,,", "|#:x", "|#a|T1", "|#a:b:c"],
        ];
        let alphabet = b"a:|#@,.-+019cgmsdhT\r\xc3\xa9 ";
        let mut accepted = 0;
        for _ in 0..200_000 {
            let mut line = Vec::new();
            for p in parts {
                line.extend_from_slice(p[rand(p.len())].as_bytes());
            }
            for _ in 0..rand(3) {
                let at = rand(line.len() + 1);
                match rand(3) {
                    0 => line.insert(at, alphabet[rand(alphabet.len())]),
                    1 if at < line.len() => {
                        line.remove(at);
                    }
                    _ if at < line.len() => line[at] = alphabet[rand(alphabet.len())],
                    _ => {}
                }
            }
            if line.is_empty() || line.contains(&b'\n') {
                continue;
            }
            accepted += usize::from(check(&line));
        }
        assert!(
            accepted > 10_000,
            "only {accepted} lines took the fast path"
        );
    }

    #[test]
    fn decimals_round_like_parse() {
        let mut seed = 7u64;
        for _ in 0..100_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let m = (seed >> 14) % 1_000_000_000_000_000;
            let frac = ((seed >> 3) % 15) as usize;
            let digits = m.to_string();
            if digits.len() <= frac {
                continue;
            }
            let (int, fr) = digits.split_at(digits.len() - frac);
            let text = if frac == 0 {
                int.to_string()
            } else {
                format!("{int}.{fr}")
            };
            let (mm, f, end) = decimal(text.as_bytes(), 0).unwrap();
            assert_eq!(end, text.len());
            assert_eq!(
                to_f64(mm, f).to_bits(),
                text.parse::<f64>().unwrap().to_bits(),
                "{text}"
            );
        }
    }
}
