//! The catalog: metric ids and introspection.

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use ::realm_metrics::Metric;

/// Catalog metric ids, in the ROS reference's order. Functions take them as `uint32_t`, so an
/// out-of-range id is an error status, never undefined behaviour.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum realm_metric {
    /// `client.unsyncable` (counter): Triggered every time a client fails to initiate synchronization of a realm because of messed up history.
    REALM_METRIC_CLIENT_UNSYNCABLE = 0,
    /// `session.started` (counter): Triggered every time a session is started.
    REALM_METRIC_SESSION_STARTED = 1,
    /// `session.online` (gauge): The total number of sessions currently being served.
    REALM_METRIC_SESSION_ONLINE = 2,
    /// `session.failed` (counter): Triggered every time there is a session-level error.
    REALM_METRIC_SESSION_FAILED = 3,
    /// `session.terminated` (counter): Triggered every time a session terminates.
    REALM_METRIC_SESSION_TERMINATED = 4,
    /// `connection.started` (counter): Triggered every time a client opens a connection.
    REALM_METRIC_CONNECTION_STARTED = 5,
    /// `connection.online` (gauge): The total number of connections currently open.
    REALM_METRIC_CONNECTION_ONLINE = 6,
    /// `connection.failed` (counter): Low-level errors on connections.
    REALM_METRIC_CONNECTION_FAILED = 7,
    /// `connection.terminated` (counter): Triggered every time a connection terminates.
    REALM_METRIC_CONNECTION_TERMINATED = 8,
    /// `realms.open` (gauge): The number of currently open realms.
    REALM_METRIC_REALMS_OPEN = 9,
    /// `authentication.failed` (counter): Triggered on authentication failures, e.g.
    REALM_METRIC_AUTHENTICATION_FAILED = 10,
    /// `permission.denied` (counter): Triggered on permission failures, e.g.
    REALM_METRIC_PERMISSION_DENIED = 11,
    /// `protocol.<version>.used` (counter): Triggered every time a connection over protocol version <version> is established.
    REALM_METRIC_PROTOCOL_VERSION_USED = 12,
    /// `protocol.violated` (counter): Triggered every time the sync protocol is violated.
    REALM_METRIC_PROTOCOL_VIOLATED = 13,
    /// `protocol.bytes.received` (counter): Triggered every time an upload message is received by the server.
    REALM_METRIC_PROTOCOL_BYTES_RECEIVED = 14,
    /// `protocol.bytes.sent` (counter): Triggered every time a download message is sent by the server.
    REALM_METRIC_PROTOCOL_BYTES_SENT = 15,
    /// `protocol.bytes.received` (gauge): The number of bytes received since the start.
    REALM_METRIC_PROTOCOL_BYTES_RECEIVED_GAUGE = 16,
    /// `protocol.bytes.sent` (gauge): The number of bytes sent since the start.
    REALM_METRIC_PROTOCOL_BYTES_SENT_GAUGE = 17,
}

/// NUL-terminated copies of the core catalog's strings, made once and kept for the process's
/// life (so the pointers handed to C stay valid).
struct Strings {
    names: Vec<CString>,
    kinds: Vec<CString>,
    groups: Vec<CString>,
    descriptions: Vec<CString>,
}

fn strings() -> &'static Strings {
    static S: OnceLock<Strings> = OnceLock::new();
    S.get_or_init(|| {
        let c = |s: &str| CString::new(s).unwrap_or_default();
        Strings {
            names: Metric::ALL.iter().map(|m| c(m.name())).collect(),
            kinds: Metric::ALL.iter().map(|m| c(m.kind().as_str())).collect(),
            groups: Metric::ALL.iter().map(|m| c(m.group().as_str())).collect(),
            descriptions: Metric::ALL.iter().map(|m| c(m.description())).collect(),
        }
    })
}

/// The metric for a C id, or `None` when out of range.
#[inline(always)]
pub(crate) fn metric(id: u32) -> Option<Metric> {
    Metric::from_id(id)
}

fn lookup(pick: fn(&'static Strings) -> &'static [CString], id: u32) -> *const c_char {
    let Ok(r) = std::panic::catch_unwind(|| match pick(strings()).get(id as usize) {
        Some(s) => s.as_ptr(),
        None => std::ptr::null(),
    }) else {
        return std::ptr::null();
    };
    r
}

/// The number of catalog metrics (18); ids are 0 to realm_metric_count() - 1.
#[no_mangle]
pub extern "C" fn realm_metric_count() -> u32 {
    Metric::ALL.len() as u32
}

/// The wire name after the prefix (`"connection.online"`; `"protocol.<version>.used"` for the
/// templated row): a static NUL-terminated string, never free it. NULL if `metric` is out of
/// range.
#[no_mangle]
pub extern "C" fn realm_metric_name(metric: u32) -> *const c_char {
    lookup(|s| &s.names, metric)
}

/// `"counter"` or `"gauge"` (static; never free it). NULL if `metric` is out of range.
#[no_mangle]
pub extern "C" fn realm_metric_kind(metric: u32) -> *const c_char {
    lookup(|s| &s.kinds, metric)
}

/// The group, the name's first segment (`"connection"`; static). NULL if out of range.
#[no_mangle]
pub extern "C" fn realm_metric_group(metric: u32) -> *const c_char {
    lookup(|s| &s.groups, metric)
}

/// The reference's description of the metric (static; never free it). NULL if out of range.
#[no_mangle]
pub extern "C" fn realm_metric_description(metric: u32) -> *const c_char {
    lookup(|s| &s.descriptions, metric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn s(p: *const c_char) -> &'static str {
        unsafe { CStr::from_ptr(p) }.to_str().unwrap()
    }

    #[test]
    fn tables_match_the_core_catalog() {
        assert_eq!(realm_metric_count(), 18);
        for m in Metric::ALL {
            assert_eq!(s(realm_metric_name(m.id())), m.name());
            assert_eq!(s(realm_metric_kind(m.id())), m.kind().as_str());
            assert_eq!(s(realm_metric_group(m.id())), m.group().as_str());
            assert_eq!(s(realm_metric_description(m.id())), m.description());
        }
        assert!(realm_metric_name(18).is_null());
        assert!(realm_metric_kind(u32::MAX).is_null());
    }

    #[test]
    fn enum_ids_match_the_core_catalog() {
        let ids = [
            realm_metric::REALM_METRIC_CLIENT_UNSYNCABLE,
            realm_metric::REALM_METRIC_SESSION_STARTED,
            realm_metric::REALM_METRIC_SESSION_ONLINE,
            realm_metric::REALM_METRIC_SESSION_FAILED,
            realm_metric::REALM_METRIC_SESSION_TERMINATED,
            realm_metric::REALM_METRIC_CONNECTION_STARTED,
            realm_metric::REALM_METRIC_CONNECTION_ONLINE,
            realm_metric::REALM_METRIC_CONNECTION_FAILED,
            realm_metric::REALM_METRIC_CONNECTION_TERMINATED,
            realm_metric::REALM_METRIC_REALMS_OPEN,
            realm_metric::REALM_METRIC_AUTHENTICATION_FAILED,
            realm_metric::REALM_METRIC_PERMISSION_DENIED,
            realm_metric::REALM_METRIC_PROTOCOL_VERSION_USED,
            realm_metric::REALM_METRIC_PROTOCOL_VIOLATED,
            realm_metric::REALM_METRIC_PROTOCOL_BYTES_RECEIVED,
            realm_metric::REALM_METRIC_PROTOCOL_BYTES_SENT,
            realm_metric::REALM_METRIC_PROTOCOL_BYTES_RECEIVED_GAUGE,
            realm_metric::REALM_METRIC_PROTOCOL_BYTES_SENT_GAUGE,
        ];
        for (m, id) in Metric::ALL.iter().zip(ids) {
            assert_eq!(m.id(), id as u32, "{}", m.ident());
        }
    }
}
