//! Values: numbers as written on the wire, set members, rates and timestamps.

use super::DecodeErrorKind;
use crate::wire::MetricType;

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

#[inline]
pub(super) fn parse_rate(s: &str) -> Option<f64> {
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

#[inline]
pub(super) fn parse_u64(s: &[u8]) -> Option<u64> {
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
#[inline]
pub(super) fn parse_value(
    s: &[u8],
    ty: MetricType,
) -> Result<(SampleValue<'_>, bool), DecodeErrorKind> {
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
#[inline]
pub(super) fn parse_number(s: &[u8]) -> Option<Number> {
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
