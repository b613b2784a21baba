//! Number formatting for the wire: integers exact, floats in shortest round-trip form without an
//! exponent (every StatsD daemon parses plain decimals; not all parse `1e-7`).

/// Longest text [`write_f64`] can produce for a finite `f64` (sign, 309 integer digits or
/// `0.` plus 323 zeros and 17 digits).
pub const F64_MAX_LEN: usize = 345;

/// Write `v` in decimal into `out`, returning the length, or `None` when `out` is too short.
#[inline]
pub fn write_u64(v: u64, out: &mut [u8]) -> Option<usize> {
    let mut b = itoa::Buffer::new();
    copy(b.format(v).as_bytes(), out)
}

/// Write `v` in decimal into `out`, returning the length, or `None` when `out` is too short.
#[inline]
pub fn write_i64(v: i64, out: &mut [u8]) -> Option<usize> {
    let mut b = itoa::Buffer::new();
    copy(b.format(v).as_bytes(), out)
}

#[inline]
fn copy(s: &[u8], out: &mut [u8]) -> Option<usize> {
    out.get_mut(..s.len())?.copy_from_slice(s);
    Some(s.len())
}

/// Write a finite float in the shortest form that parses back to the same value, without an
/// exponent; whole numbers have no `.0`, and `-0` is written `0`. Returns `None` for NaN and
/// infinities or when `out` is too short.
pub fn write_f64(v: f64, out: &mut [u8]) -> Option<usize> {
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return copy(b"0", out);
    }
    let mut b = ryu::Buffer::new();
    let s = b.format_finite(v).as_bytes();
    let Some(e_at) = s.iter().position(|&c| c == b'e') else {
        let s = s.strip_suffix(b".0").unwrap_or(s);
        return copy(s, out);
    };
    // ryu's exponent form: [-]D[.DDD]e[-]X
    let (mant, exp) = (s.get(..e_at)?, s.get(e_at + 1..)?);
    let exp = parse_exp(exp)?;
    let (neg, mant) = match mant.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, mant),
    };
    let (int, frac) = match mant.iter().position(|&c| c == b'.') {
        Some(p) => (mant.get(..p)?, mant.get(p + 1..)?),
        None => (mant, &b""[..]),
    };
    let mut w = Out { out, n: 0 };
    if neg {
        w.put(b"-")?;
    }
    // digits = int ++ frac; decimal point after `point` digits.
    let point = int.len() as i64 + exp;
    let ndigits = (int.len() + frac.len()) as i64;
    let digit = |i: i64| -> u8 {
        let i = i as usize;
        if i < int.len() {
            int.get(i).copied().unwrap_or(b'0')
        } else {
            frac.get(i - int.len()).copied().unwrap_or(b'0')
        }
    };
    if point <= 0 {
        w.put(b"0.")?;
        for _ in 0..(-point) {
            w.put(b"0")?;
        }
        for i in 0..ndigits {
            w.put(&[digit(i)])?;
        }
    } else if point >= ndigits {
        for i in 0..ndigits {
            w.put(&[digit(i)])?;
        }
        for _ in 0..(point - ndigits) {
            w.put(b"0")?;
        }
    } else {
        for i in 0..point {
            w.put(&[digit(i)])?;
        }
        w.put(b".")?;
        for i in point..ndigits {
            w.put(&[digit(i)])?;
        }
    }
    Some(w.n)
}

fn parse_exp(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Some(if neg { -v } else { v })
}

struct Out<'a> {
    out: &'a mut [u8],
    n: usize,
}

impl Out<'_> {
    #[inline]
    fn put(&mut self, s: &[u8]) -> Option<()> {
        let end = self.n + s.len();
        self.out.get_mut(self.n..end)?.copy_from_slice(s);
        self.n = end;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> std::string::String {
        let mut b = [0u8; F64_MAX_LEN];
        let n = write_f64(v, &mut b).unwrap();
        std::string::String::from_utf8(b[..n].to_vec()).unwrap()
    }

    #[test]
    fn floats_are_plain_and_shortest() {
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(3.0), "3");
        assert_eq!(f(-0.0), "0");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(1e-7), "0.0000001");
        assert_eq!(f(-1.25e-7), "-0.000000125");
        assert_eq!(f(1e20), "100000000000000000000");
        assert_eq!(f(1.5e17), "150000000000000000");
        assert_eq!(f(123.456), "123.456");
        assert_eq!(f(f64::MAX).len(), 309);
        assert!(f(f64::MIN_POSITIVE).len() < F64_MAX_LEN);
        assert!(f(-5e-324).len() < F64_MAX_LEN);
        let mut b = [0u8; 8];
        assert_eq!(write_f64(f64::NAN, &mut b), None);
        assert_eq!(write_f64(f64::INFINITY, &mut b), None);
        assert_eq!(write_f64(1e20, &mut b), None);
    }

    proptest::proptest! {
        #[test]
        fn floats_round_trip(v in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let s = f(v);
            proptest::prop_assert!(!s.contains('e'));
            let back: f64 = s.parse().unwrap();
            proptest::prop_assert_eq!(back, if v == 0.0 { 0.0 } else { v });
        }
    }
}
