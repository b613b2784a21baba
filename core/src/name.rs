//! Metric names and prefixes: validation and explicit sanitizing.
//!
//! A name is dot-separated segments of `[A-Za-z0-9_-]`, none empty. Anything else is rejected
//! with a [`NameError`] naming the offending byte: a `\n`, `:`, `|`, `@` or `#` in a name would
//! corrupt or inject StatsD lines.
//!
//! ```
//! use realm_metrics::name::{validate_name, NameErrorKind};
//!
//! assert!(validate_name("connection.online").is_ok());
//! let err = validate_name("evil\nname").unwrap_err();
//! assert_eq!(err.kind, NameErrorKind::InvalidByte(b'\n'));
//! assert_eq!(err.position, 4);
//! ```

use core::fmt;

/// Why a name was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameErrorKind {
    /// The name is empty.
    Empty,
    /// A byte outside `[A-Za-z0-9_-]` and `.`.
    InvalidByte(u8),
    /// Two dots in a row, or a leading or trailing dot.
    EmptySegment,
}

/// A rejected metric name or prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameError {
    /// What is wrong.
    pub kind: NameErrorKind,
    /// Byte offset of the problem in the name.
    pub position: usize,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            NameErrorKind::Empty => f.write_str("metric name is empty"),
            NameErrorKind::EmptySegment => write!(
                f,
                "metric name has an empty segment at byte {} (names are dot-separated [A-Za-z0-9_-] segments)",
                self.position
            ),
            NameErrorKind::InvalidByte(b) => write!(
                f,
                "metric name has invalid character {} at byte {} (allowed: A-Z a-z 0-9 _ - and . between segments)",
                DisplayByte(b),
                self.position
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NameError {}

/// Shows a byte readably: printable ASCII quoted, others escaped (`'\n'`, `0xff`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DisplayByte(pub u8);

impl fmt::Display for DisplayByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            b'\n' => f.write_str("'\\n'"),
            b'\r' => f.write_str("'\\r'"),
            b'\t' => f.write_str("'\\t'"),
            0 => f.write_str("NUL"),
            b if b.is_ascii_graphic() || b == b' ' => write!(f, "'{}'", b as char),
            b => write!(f, "0x{b:02x}"),
        }
    }
}

/// Whether `b` may appear inside a name segment.
#[inline]
pub const fn is_segment_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Check a metric name (or a prefix): non-empty dot-separated segments of `[A-Za-z0-9_-]`.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err(NameError {
            kind: NameErrorKind::Empty,
            position: 0,
        });
    }
    let mut prev_dot = true; // a leading dot is an empty segment
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.' {
            if prev_dot {
                return Err(NameError {
                    kind: NameErrorKind::EmptySegment,
                    position: i,
                });
            }
            prev_dot = true;
        } else if is_segment_byte(b) {
            prev_dot = false;
        } else {
            return Err(NameError {
                kind: NameErrorKind::InvalidByte(b),
                position: i,
            });
        }
    }
    if prev_dot {
        return Err(NameError {
            kind: NameErrorKind::EmptySegment,
            position: bytes.len() - 1,
        });
    }
    Ok(())
}

/// Check a prefix. The empty prefix is allowed (names are then used as they are).
pub fn validate_prefix(prefix: &str) -> Result<(), NameError> {
    if prefix.is_empty() {
        Ok(())
    } else {
        validate_name(prefix)
    }
}

/// Sanitize a hostname (or any text) for use as one or more name segments: every byte outside
/// `[A-Za-z0-9_.-]` becomes `_` (a multi-byte character becomes one `_` per byte), and empty
/// segments are removed. Returns the number of bytes written to `out` (which must be at least
/// `input.len()` long; longer input is truncated).
pub fn sanitize_into(input: &str, out: &mut [u8]) -> usize {
    let mut n = 0;
    for &b in input.as_bytes() {
        if n >= out.len() {
            break;
        }
        let c = if is_segment_byte(b) || b == b'.' {
            b
        } else {
            b'_'
        };
        if c == b'.' && (n == 0 || out.get(n - 1) == Some(&b'.')) {
            continue;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = c;
            n += 1;
        }
    }
    while n > 0 && out.get(n - 1) == Some(&b'.') {
        n -= 1;
    }
    n
}

/// Owned sanitizing: see [`sanitize_into`]. An input with nothing left becomes `"unknown"`.
#[cfg(feature = "alloc")]
pub fn sanitize(input: &str) -> alloc::string::String {
    let mut buf = alloc::vec![0u8; input.len()];
    let n = sanitize_into(input, &mut buf);
    buf.truncate(n);
    if buf.is_empty() {
        return alloc::string::String::from("unknown");
    }
    // Only ASCII bytes were written.
    alloc::string::String::from_utf8(buf).unwrap_or_else(|_| alloc::string::String::from("unknown"))
}

/// The machine's hostname as the OS reports it, sanitized for a name (see [`sanitize`]).
#[cfg(feature = "std")]
pub fn hostname() -> alloc::string::String {
    let raw = os_hostname().unwrap_or_default();
    sanitize(raw.trim())
}

#[cfg(all(feature = "std", unix))]
fn os_hostname() -> Option<std::string::String> {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return std::env::var("HOSTNAME").ok();
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let bytes = buf.get(..len)?;
    Some(std::string::String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(all(feature = "std", not(unix)))]
fn os_hostname() -> Option<std::string::String> {
    std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
}

/// The default prefix, `realm.<hostname>`.
#[cfg(feature = "std")]
pub fn default_prefix() -> alloc::string::String {
    let mut p = alloc::string::String::from("realm.");
    p.push_str(&hostname());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_catalog_names() {
        for m in crate::Metric::ALL {
            if !m.is_templated() {
                validate_name(m.name()).unwrap();
            }
        }
        validate_name("realm.example-host_1.protocol.7.used").unwrap();
    }

    #[test]
    fn rejects_injection_bytes() {
        for (name, bad, pos) in [
            ("a\nb", b'\n', 1),
            ("a:b", b':', 1),
            ("ab|", b'|', 2),
            ("@", b'@', 0),
            ("x#y", b'#', 1),
            ("a b", b' ', 1),
            ("a,b", b',', 1),
            ("a=b", b'=', 1),
        ] {
            let e = validate_name(name).unwrap_err();
            assert_eq!(e.kind, NameErrorKind::InvalidByte(bad), "{name:?}");
            assert_eq!(e.position, pos);
        }
        assert_eq!(validate_name("").unwrap_err().kind, NameErrorKind::Empty);
        for (name, pos) in [("a..b", 2), (".a", 0), ("a.", 1)] {
            let e = validate_name(name).unwrap_err();
            assert_eq!(e.kind, NameErrorKind::EmptySegment, "{name:?}");
            assert_eq!(e.position, pos, "{name:?}");
        }
        let msg = std::format!("{}", validate_name("a\nb").unwrap_err());
        assert!(msg.contains("'\\n'"), "{msg}");
    }

    #[test]
    fn sanitizes_hostnames() {
        assert_eq!(sanitize("my host:1"), "my_host_1");
        assert_eq!(sanitize("a..b."), "a.b");
        assert_eq!(sanitize("é"), "__");
        assert_eq!(sanitize(""), "unknown");
        validate_name(&sanitize("weird|host\nname")).unwrap();
        let h = hostname();
        validate_name(&h).unwrap();
        assert_eq!(default_prefix(), std::format!("realm.{h}"));
    }
}
