//! The Realm Object Server metric catalog: the 18 rows of the ROS monitoring reference, in its
//! order.
//!
//! ```
//! use realm_metrics::{Kind, Metric};
//!
//! assert_eq!(Metric::ALL.len(), 18);
//! assert_eq!(Metric::ConnectionOnline.name(), "connection.online");
//! assert_eq!(Metric::ConnectionOnline.kind(), Kind::Gauge);
//! // `protocol.bytes.received` is both a counter and a gauge; they share the wire name.
//! assert_eq!(Metric::lookup("protocol.bytes.received", Kind::Counter), Some(Metric::ProtocolBytesReceived));
//! assert_eq!(Metric::lookup("protocol.bytes.received", Kind::Gauge), Some(Metric::ProtocolBytesReceivedGauge));
//! ```

use core::fmt;

/// Whether a catalog metric is a StatsD counter (`|c`) or gauge (`|g`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Summed; sent as the change since the last flush.
    Counter,
    /// Absolute value; re-sent on every flush.
    Gauge,
}

impl Kind {
    /// `"counter"` or `"gauge"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }

    /// The StatsD wire type of this kind (`c` or `g`).
    pub const fn wire_type(self) -> crate::wire::MetricType {
        match self {
            Kind::Counter => crate::wire::MetricType::Counter,
            Kind::Gauge => crate::wire::MetricType::Gauge,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of the server a metric describes (the first segment of its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// `client.*`
    Client,
    /// `session.*`
    Session,
    /// `connection.*`
    Connection,
    /// `realms.*`
    Realms,
    /// `authentication.*`
    Authentication,
    /// `permission.*`
    Permission,
    /// `protocol.*`
    Protocol,
}

impl Group {
    /// Every group, in the reference's order.
    pub const ALL: [Group; 7] = [
        Group::Client,
        Group::Session,
        Group::Connection,
        Group::Realms,
        Group::Authentication,
        Group::Permission,
        Group::Protocol,
    ];

    /// The group's name, as in the metric names (`"connection"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Group::Client => "client",
            Group::Session => "session",
            Group::Connection => "connection",
            Group::Realms => "realms",
            Group::Authentication => "authentication",
            Group::Permission => "permission",
            Group::Protocol => "protocol",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! catalog {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $name:literal, $kind:ident, $group:ident, $desc:literal; )*) => {
        /// A metric of the Realm Object Server catalog. The discriminant is the stable id
        /// (reference order, starting at 0); ids are never reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        pub enum Metric {
            $( $(#[$doc])* $variant = $id, )*
        }

        impl Metric {
            /// Every catalog metric, in the reference's order (index = id).
            pub const ALL: [Metric; 18] = [ $( Metric::$variant, )* ];

            /// The wire name after the prefix (`"connection.online"`); for
            /// [`Metric::ProtocolVersionUsed`] the template `"protocol.<version>.used"`.
            pub const fn name(self) -> &'static str {
                match self { $( Metric::$variant => $name, )* }
            }

            /// Counter or gauge.
            pub const fn kind(self) -> Kind {
                match self { $( Metric::$variant => Kind::$kind, )* }
            }

            /// The group (first name segment).
            pub const fn group(self) -> Group {
                match self { $( Metric::$variant => Group::$group, )* }
            }

            /// The reference's description of the metric.
            pub const fn description(self) -> &'static str {
                match self { $( Metric::$variant => $desc, )* }
            }

            /// The Rust variant name, e.g. `"ProtocolBytesReceivedGauge"` (used by generators of
            /// binding code and docs).
            pub const fn ident(self) -> &'static str {
                match self { $( Metric::$variant => stringify!($variant), )* }
            }
        }
    };
}

catalog! {
    /// `client.unsyncable` (counter)
    ClientUnsyncable = 0, "client.unsyncable", Counter, Client,
        "Triggered every time a client fails to initiate synchronization of a realm because of messed up history. Such clients need their realm file deleted and then recovered from the server. This might happen if the server crashes and is recovered from a backup.";
    /// `session.started` (counter)
    SessionStarted = 1, "session.started", Counter, Session,
        "Triggered every time a session is started. A session is considered started even before the authentication.";
    /// `session.online` (gauge)
    SessionOnline = 2, "session.online", Gauge, Session,
        "The total number of sessions currently being served.";
    /// `session.failed` (counter)
    SessionFailed = 3, "session.failed", Counter, Session,
        "Triggered every time there is a session-level error.";
    /// `session.terminated` (counter)
    SessionTerminated = 4, "session.terminated", Counter, Session,
        "Triggered every time a session terminates.";
    /// `connection.started` (counter)
    ConnectionStarted = 5, "connection.started", Counter, Connection,
        "Triggered every time a client opens a connection.";
    /// `connection.online` (gauge)
    ConnectionOnline = 6, "connection.online", Gauge, Connection,
        "The total number of connections currently open. Multiple sessions may be served through a connection.";
    /// `connection.failed` (counter)
    ConnectionFailed = 7, "connection.failed", Counter, Connection,
        "Low-level errors on connections. Triggered every time a failure happens during `accept()`, `read()` or `write()`.";
    /// `connection.terminated` (counter)
    ConnectionTerminated = 8, "connection.terminated", Counter, Connection,
        "Triggered every time a connection terminates. This includes the failed ones.";
    /// `realms.open` (gauge)
    RealmsOpen = 9, "realms.open", Gauge, Realms,
        "The number of currently open realms.";
    /// `authentication.failed` (counter)
    AuthenticationFailed = 10, "authentication.failed", Counter, Authentication,
        "Triggered on authentication failures, e.g. token invalid or expired. Should not normally happen.";
    /// `permission.denied` (counter)
    PermissionDenied = 11, "permission.denied", Counter, Permission,
        "Triggered on permission failures, e.g. trying to access a realm with a token for another realm or trying to upload with a download-only token. Should not normally happen.";
    /// `protocol.<version>.used` (counter): the version is part of the name.
    ProtocolVersionUsed = 12, "protocol.<version>.used", Counter, Protocol,
        "Triggered every time a connection over protocol version `<version>` is established. Use this to track how many connections of each protocol version are initiated, and choose a better time to update the server and app.";
    /// `protocol.violated` (counter)
    ProtocolViolated = 13, "protocol.violated", Counter, Protocol,
        "Triggered every time the sync protocol is violated. May mean that the application is too old or badly written.";
    /// `protocol.bytes.received` (counter): bytes of each upload message.
    ProtocolBytesReceived = 14, "protocol.bytes.received", Counter, Protocol,
        "Triggered every time an upload message is received by the server.";
    /// `protocol.bytes.sent` (counter): bytes of each download message.
    ProtocolBytesSent = 15, "protocol.bytes.sent", Counter, Protocol,
        "Triggered every time a download message is sent by the server.";
    /// `protocol.bytes.received` (gauge): bytes received since the start.
    ProtocolBytesReceivedGauge = 16, "protocol.bytes.received", Gauge, Protocol,
        "The number of bytes received since the start.";
    /// `protocol.bytes.sent` (gauge): bytes sent since the start.
    ProtocolBytesSentGauge = 17, "protocol.bytes.sent", Gauge, Protocol,
        "The number of bytes sent since the start.";
}

/// The number of catalog rows.
pub const METRIC_COUNT: usize = Metric::ALL.len();

impl Metric {
    /// The stable id (reference order, from 0).
    pub const fn id(self) -> u32 {
        self as u32
    }

    /// The metric with this id, or `None` when out of range.
    pub fn from_id(id: u32) -> Option<Metric> {
        Metric::ALL.get(usize::try_from(id).ok()?).copied()
    }

    /// Whether the name is a template that needs a protocol version.
    pub const fn is_templated(self) -> bool {
        matches!(self, Metric::ProtocolVersionUsed)
    }

    /// Look a metric up by its wire name and kind. The templated row matches its template
    /// string `"protocol.<version>.used"`; use [`recognize`] for concrete names like
    /// `protocol.7.used`.
    pub fn lookup(name: &str, kind: Kind) -> Option<Metric> {
        Metric::ALL
            .iter()
            .copied()
            .find(|m| m.kind() == kind && m.name() == name)
    }

    /// Whether any catalog row (of either kind) has this wire name.
    pub fn any_named(name: &str) -> bool {
        Metric::ALL.iter().any(|m| m.name() == name)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of matching a concrete wire name (after the prefix) against the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recognized {
    /// The catalog row.
    pub metric: Metric,
    /// The protocol version, for `protocol.<version>.used`.
    pub version: Option<u64>,
}

/// Parse a `protocol.<version>.used` name, returning the version.
pub fn parse_protocol_used(name: &str) -> Option<u64> {
    let v = name.strip_prefix("protocol.")?.strip_suffix(".used")?;
    parse_version(v)
}

fn parse_version(v: &str) -> Option<u64> {
    if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// The last eight bytes of `b` as a little-endian word (0 when shorter).
#[inline(always)]
fn tail8(b: &[u8]) -> u64 {
    b.len().checked_sub(8).map_or(0, |at| word(b, at))
}

/// [`tail8`] at compile time.
const fn const_tail8(b: &[u8]) -> u64 {
    if b.len() < 8 {
        return 0;
    }
    const_word(b, b.len() - 8)
}

/// `.used` in the top five bytes of a tail word.
const USED_TAIL: u64 = const_tail8(b"\0\0\0.used");
const USED_MASK: u64 = 0xffff_ffff_ff00_0000;

/// Bytes `at..at + 8` of `b` as a little-endian word (0 past the end).
#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|w| w.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// What ends a name: the row and its name's length, and for the templated row the version.
#[derive(Clone, Copy)]
struct Suffix {
    metric: Metric,
    len: usize,
    version: Option<u64>,
}

/// The row whose name `name` ends with (for the templated row, a `protocol.<digits>.used`
/// ending with a version that fits a `u64`). No row's name is a `.`-suffix of another's, so at
/// most one name can end `name` after a `.`: the twins share theirs, and the first is returned.
#[inline(always)]
fn catalog_suffix(name: &[u8]) -> Option<Suffix> {
    let tail = tail8(name);
    if tail & USED_MASK == USED_TAIL {
        let digits_end = name.len() - 5;
        let mut d = digits_end;
        while d > 0 && name.get(d - 1).is_some_and(u8::is_ascii_digit) {
            d -= 1;
        }
        if d == digits_end || d < 9 || name.get(d - 9..d) != Some(b"protocol.") {
            return None;
        }
        // Up to 19 digits always fit a u64 (no overflow checks: a library call in wasm).
        let version = if digits_end - d <= 19 {
            name.get(d..digits_end)?
                .iter()
                .fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'))
        } else {
            parse_version(core::str::from_utf8(name.get(d..digits_end)?).ok()?)?
        };
        return Some(Suffix {
            metric: Metric::ProtocolVersionUsed,
            len: name.len() - (d - 9),
            version: Some(version),
        });
    }
    let mut slot = tail_slot(tail);
    let entry = loop {
        let entry = TAIL_TABLE.get(slot)?;
        if entry.rows[0] == NO_ROW {
            return None;
        }
        if entry.tail == tail {
            break entry;
        }
        slot = (slot + 1) % TAIL_SLOTS;
    };
    // The tail matched; compare the first one or two words of each candidate's name (every
    // name is 8 to 24 bytes long, so those and the tail cover all of it).
    let n = name.len();
    for ((&row, &len), head) in entry.rows.iter().zip(&entry.lens).zip(&entry.heads) {
        if row == NO_ROW {
            break;
        }
        let len = usize::from(len);
        let Some(at) = n.checked_sub(len) else {
            continue;
        };
        if word(name, at) == head[0] && (len <= 16 || word(name, at + 8) == head[1]) {
            return Some(Suffix {
                metric: *Metric::ALL.get(usize::from(row))?,
                len,
                version: None,
            });
        }
    }
    None
}

/// Slots of [`TAIL_TABLE`]: a power of two, well over the rows (short probes, and always an
/// empty slot to end one).
const TAIL_SLOTS: usize = 64;
const NO_ROW: u8 = u8::MAX;

/// The rows (up to three, [`NO_ROW`] after them) whose names end with one tail word, with their
/// names' lengths and first two words.
#[derive(Clone, Copy)]
struct TailEntry {
    tail: u64,
    rows: [u8; 3],
    lens: [u8; 3],
    heads: [[u64; 2]; 3],
}

/// Bytes `at..at + 8` of `b` as a little-endian word, at compile time.
#[allow(clippy::indexing_slicing)]
const fn const_word(b: &[u8], at: usize) -> u64 {
    let mut w = 0u64;
    let mut k = 0;
    while k < 8 {
        w |= (b[at + k] as u64) << (8 * k);
        k += 1;
    }
    w
}

#[inline(always)]
const fn tail_slot(tail: u64) -> usize {
    (tail.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % TAIL_SLOTS
}

/// Open addressing from tail words to rows, built at compile time (more than three rows on one
/// tail fails the build).
#[allow(clippy::indexing_slicing)]
const TAIL_TABLE: [TailEntry; TAIL_SLOTS] = {
    let mut t = [TailEntry {
        tail: 0,
        rows: [NO_ROW; 3],
        lens: [0; 3],
        heads: [[0; 2]; 3],
    }; TAIL_SLOTS];
    let mut i = 0;
    while i < METRIC_COUNT {
        let name = Metric::ALL[i].name().as_bytes();
        assert!(
            name.len() >= 8 && name.len() <= 24,
            "tail dispatch needs 8 to 24-byte names"
        );
        let tail = const_tail8(name);
        let mut slot = tail_slot(tail);
        while t[slot].rows[0] != NO_ROW && t[slot].tail != tail {
            slot = (slot + 1) % TAIL_SLOTS;
        }
        t[slot].tail = tail;
        let mut k = 0;
        while t[slot].rows[k] != NO_ROW {
            k += 1;
        }
        t[slot].rows[k] = i as u8;
        t[slot].lens[k] = name.len() as u8;
        t[slot].heads[k][0] = const_word(name, 0);
        if name.len() > 16 {
            t[slot].heads[k][1] = const_word(name, 8);
        }
        i += 1;
    }
    t
};

/// The row of `suffix` for `kind`: the row itself, or its twin of the other kind; `Err` for a
/// kind mismatch.
#[inline]
fn resolve(suffix: Suffix, kind: Option<Kind>) -> Result<Recognized, ()> {
    let m = suffix.metric;
    let metric = if Some(m.kind()) == kind {
        m
    } else {
        match (m, kind) {
            (Metric::ProtocolBytesReceived, Some(Kind::Gauge)) => {
                Metric::ProtocolBytesReceivedGauge
            }
            (Metric::ProtocolBytesSent, Some(Kind::Gauge)) => Metric::ProtocolBytesSentGauge,
            _ => return Err(()),
        }
    };
    Ok(Recognized {
        metric,
        version: suffix.version,
    })
}

/// Match a concrete wire name (the part after the prefix) of the given kind against the catalog.
/// Returns `Err(())` when the name is a catalog name but the kind is wrong (a kind mismatch) and
/// `Ok(None)` when the name is not in the catalog at all.
#[allow(clippy::result_unit_err)]
pub fn recognize(name: &str, kind: Option<Kind>) -> Result<Option<Recognized>, ()> {
    match catalog_suffix(name.as_bytes()) {
        Some(suffix) if suffix.len == name.len() => resolve(suffix, kind).map(Some),
        _ => Ok(None),
    }
}

/// Split a full metric name `realm.<host>.<catalog name>` into host and catalog match. The longest
/// catalog suffix wins. `Ok(None)`: not a catalog name; `Err(())`: a catalog name with the wrong
/// kind.
#[allow(clippy::result_unit_err)]
#[inline(always)]
pub fn recognize_full<'a>(
    full: &'a str,
    prefix: Option<&str>,
    kind: Option<Kind>,
) -> Result<Option<(Option<&'a str>, Recognized)>, ()> {
    if let Some(p) = prefix {
        let rest = match full.strip_prefix(p).and_then(|r| r.strip_prefix('.')) {
            Some(r) if !p.is_empty() => r,
            _ if p.is_empty() => full,
            _ => return Ok(None),
        };
        return recognize(rest, kind).map(|o| o.map(|r| (None, r)));
    }
    // `realm.`, compared as one word (a `memcmp` call is a byte loop in wasm).
    if word(full.as_bytes(), 0) & 0xffff_ffff_ffff != const_tail8(b"realm.\0\0") {
        return Ok(None);
    }
    let Some(after) = full.get(6..) else {
        return Ok(None);
    };
    // The one catalog name that can end `after` decides: it needs a host before it, a
    // non-empty one that does not end with '.'.
    let Some(suffix) = catalog_suffix(after.as_bytes()) else {
        return Ok(None);
    };
    let Some(dot) = after.len().checked_sub(suffix.len + 1) else {
        return Ok(None);
    };
    let b = after.as_bytes();
    if dot == 0 || b.get(dot) != Some(&b'.') || b.get(dot - 1) == Some(&b'.') {
        return Ok(None);
    }
    let Some(host) = after.get(..dot) else {
        return Ok(None);
    };
    resolve(suffix, kind).map(|r| Some((Some(host), r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_reference_order() {
        for (i, m) in Metric::ALL.iter().enumerate() {
            assert_eq!(m.id() as usize, i);
            assert_eq!(Metric::from_id(i as u32), Some(*m));
        }
        assert_eq!(Metric::from_id(18), None);
        assert_eq!(Metric::from_id(u32::MAX), None);
    }

    #[test]
    fn twins_share_a_name() {
        assert_eq!(
            Metric::ProtocolBytesSent.name(),
            Metric::ProtocolBytesSentGauge.name()
        );
        assert_eq!(
            Metric::lookup("protocol.bytes.sent", Kind::Gauge),
            Some(Metric::ProtocolBytesSentGauge)
        );
    }

    #[test]
    fn group_is_first_segment() {
        for m in Metric::ALL {
            assert!(m.name().starts_with(m.group().as_str()));
            assert_eq!(m.name().as_bytes()[m.group().as_str().len()], b'.');
        }
    }

    #[test]
    fn recognize_full_names() {
        let r = recognize_full(
            "realm.example.com.connection.online",
            None,
            Some(Kind::Gauge),
        );
        assert_eq!(
            r,
            Ok(Some((
                Some("example.com"),
                Recognized {
                    metric: Metric::ConnectionOnline,
                    version: None
                }
            )))
        );
        let r = recognize_full("realm.h.protocol.42.used", None, Some(Kind::Counter));
        assert_eq!(
            r,
            Ok(Some((
                Some("h"),
                Recognized {
                    metric: Metric::ProtocolVersionUsed,
                    version: Some(42)
                }
            )))
        );
        assert_eq!(
            recognize_full("realm.h.connection.online", None, Some(Kind::Counter)),
            Err(())
        );
        assert_eq!(
            recognize_full("realm.h.connection.online", None, None),
            Err(())
        );
        assert_eq!(
            recognize_full("realm.connection.online", None, Some(Kind::Gauge)),
            Ok(None)
        );
        assert_eq!(
            recognize_full("other.h.connection.online", None, Some(Kind::Gauge)),
            Ok(None)
        );
        let r = recognize_full("svc.a.realms.open", Some("svc.a"), Some(Kind::Gauge));
        assert_eq!(
            r,
            Ok(Some((
                None,
                Recognized {
                    metric: Metric::RealmsOpen,
                    version: None
                }
            )))
        );
    }

    /// The definition: try each catalog row by name (the implementation before the tail
    /// dispatch), as the oracle for the fast one.
    fn recognize_by_definition(name: &str, kind: Option<Kind>) -> Result<Option<Recognized>, ()> {
        if let Some(v) = parse_protocol_used(name) {
            return if kind == Some(Kind::Counter) {
                Ok(Some(Recognized {
                    metric: Metric::ProtocolVersionUsed,
                    version: Some(v),
                }))
            } else {
                Err(())
            };
        }
        if name == Metric::ProtocolVersionUsed.name() {
            return Ok(None);
        }
        match kind.and_then(|k| Metric::lookup(name, k)) {
            Some(metric) => Ok(Some(Recognized {
                metric,
                version: None,
            })),
            None if Metric::any_named(name) => Err(()),
            None => Ok(None),
        }
    }

    /// The definition of `recognize_full` without a prefix: every '.' after a non-empty host
    /// not ending in '.', longest suffix first.
    fn recognize_full_by_definition(
        full: &str,
        kind: Option<Kind>,
    ) -> Result<Option<(Option<&str>, Recognized)>, ()> {
        let Some(after) = full.strip_prefix("realm.") else {
            return Ok(None);
        };
        for (i, b) in after.bytes().enumerate() {
            if b != b'.' || i == 0 {
                continue;
            }
            let (host, rest) = (&after[..i], &after[i + 1..]);
            if host.ends_with('.') || rest.is_empty() {
                continue;
            }
            match recognize_by_definition(rest, kind) {
                Ok(Some(r)) => return Ok(Some((Some(host), r))),
                Ok(None) => {}
                Err(()) => return Err(()),
            }
        }
        Ok(None)
    }

    const KINDS: [Option<Kind>; 3] = [None, Some(Kind::Counter), Some(Kind::Gauge)];

    #[test]
    fn tail_dispatch_agrees_with_the_definition_on_every_row() {
        let mut names = std::vec::Vec::new();
        for m in Metric::ALL {
            let n = m.name().replace("<version>", "7");
            for host in [
                "h",
                "w-1.example.com",
                "a..b",
                "",
                ".",
                "x.",
                "session",
                "protocol",
            ] {
                names.push(std::format!("realm.{host}.{n}"));
                names.push(std::format!("realm.{host}{n}"));
                names.push(std::format!("realm.{host}.x{n}"));
                names.push(std::format!("realm.{host}.{n}.{n}"));
                names.push(std::format!("{host}.{n}"));
            }
            names.push(n.clone());
            names.push(m.name().into());
            names.push(std::format!("realm.h.{}", m.name()));
        }
        for extra in [
            "realm.h.protocol.18446744073709551615.used",
            "realm.h.protocol.18446744073709551616.used",
            "realm.h.protocol..used",
            "realm.h.protocol.1.2.used",
            "realm.h.protocol.007.used",
            "realm..protocol.7.used",
            "realm.protocol.7.used",
            "realm.h.used",
            ".used",
            "realm.h.online",
        ] {
            names.push(extra.into());
        }
        for name in &names {
            for kind in KINDS {
                assert_eq!(
                    recognize_full(name, None, kind),
                    recognize_full_by_definition(name, kind),
                    "{name} {kind:?}"
                );
                let rest = name.strip_prefix("realm.").unwrap_or(name);
                assert_eq!(
                    recognize(rest, kind),
                    recognize_by_definition(rest, kind),
                    "{rest} {kind:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5_000))]
        #[test]
        fn tail_dispatch_agrees_with_the_definition(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::Just("realm"), proptest::prelude::Just("."),
                proptest::prelude::Just("session"), proptest::prelude::Just("connection"),
                proptest::prelude::Just("online"), proptest::prelude::Just("started"),
                proptest::prelude::Just("failed"), proptest::prelude::Just("authentication"),
                proptest::prelude::Just("protocol"), proptest::prelude::Just("bytes"),
                proptest::prelude::Just("sent"), proptest::prelude::Just("used"),
                proptest::prelude::Just("24"), proptest::prelude::Just("x"),
                proptest::prelude::Just("realms.open"), proptest::prelude::Just("n"),
            ], 0..12),
            kind in 0..3usize,
        ) {
            let name: std::string::String = parts.concat();
            let kind = KINDS[kind];
            proptest::prop_assert_eq!(
                recognize_full(&name, None, kind),
                recognize_full_by_definition(&name, kind),
                "{}", name
            );
            proptest::prop_assert_eq!(recognize(&name, kind), recognize_by_definition(&name, kind));
        }
    }
}
