//! The emitter handle: count from any thread, flushed to StatsD by a background thread.

use std::ffi::{c_char, c_void, CString};
use std::time::Duration;

use ::realm_metrics::emitter::{Counter, EmitError, Emitter, Gauge};
use ::realm_metrics::wire::{Dialect, MetricType};

use crate::catalog::metric;
use crate::status::realm_metrics_status::{self, *};
use crate::{guard, opt_str, req_str, tri};

/// An emitter: aggregates counts in process and sends them to StatsD every flush interval.
/// Create with realm_metrics_new, free with realm_metrics_free (never free()). Thread-safe:
/// every function may be called from any thread, concurrently, until realm_metrics_free.
#[derive(Debug)]
pub struct realm_metrics {
    emitter: Emitter,
}

/// A registered custom counter (see realm_metrics_register_counter). Free with
/// realm_metrics_counter_free; it may outlive its realm_metrics (counts after that are dropped).
#[derive(Debug)]
pub struct realm_metrics_counter {
    counter: Counter,
}

/// A registered custom gauge (see realm_metrics_register_gauge). Free with
/// realm_metrics_gauge_free.
#[derive(Debug)]
pub struct realm_metrics_gauge {
    gauge: Gauge,
}

/// StatsD flavours.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum realm_metrics_dialect {
    /// Plain Etsy statsd: no tags (the default).
    REALM_METRICS_DIALECT_ETSY = 0,
    /// Telegraf: tags in the bucket, `name,k=v:1|c`.
    REALM_METRICS_DIALECT_TELEGRAF = 1,
    /// DogStatsD: tags after the type, `name:1|c|#k:v`.
    REALM_METRICS_DIALECT_DOGSTATSD = 2,
}

pub(crate) fn dialect(d: u32) -> Option<Dialect> {
    Some(match d {
        0 => Dialect::Etsy,
        1 => Dialect::Telegraf,
        2 => Dialect::DogStatsd,
        _ => return None,
    })
}

/// Called from the flusher thread when sending fails, a line is dropped, or values were
/// dropped since the last flush. `message` is valid only during the call. Must not block for
/// long and must not call realm_metrics_free on the emitter that calls it.
pub type realm_metrics_error_callback = Option<
    extern "C" fn(userdata: *mut c_void, status: realm_metrics_status, message: *const c_char),
>;

/// Options for realm_metrics_new. Initialise with realm_metrics_options_init, then change
/// fields. Strings are copied by realm_metrics_new; they need not outlive the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct realm_metrics_options {
    /// StatsD host name or address (default "localhost"; resolved once, IPv4 first).
    pub host: *const c_char,
    /// StatsD UDP port (default 8125).
    pub port: u16,
    /// Prefix of every name; NULL means `realm.<hostname>`, "" means none.
    pub prefix: *const c_char,
    /// Milliseconds between flushes (default 1000; at least 1).
    pub flush_interval_ms: u32,
    /// Largest datagram payload in bytes (default 1432 for UDP; use 8192 for a Unix socket).
    pub max_payload: u32,
    /// When not NULL, send to this Unix datagram socket instead of host:port.
    pub unix_socket_path: *const c_char,
    /// A realm_metrics_dialect (default REALM_METRICS_DIALECT_ETSY).
    pub dialect: u32,
    /// Telegraf/DogStatsD: put the hostname in a `host` tag under the prefix `realm` instead
    /// of in the name.
    pub hostname_as_tag: bool,
    /// Global tags as "key:value,key2:value2" (telegraf and dogstatsd dialects), or NULL.
    pub tags: *const c_char,
    /// Bound on distinct custom names (0: the default, 10000).
    pub max_registered: u32,
    /// Optional error callback (see realm_metrics_error_callback), or NULL.
    pub on_error: realm_metrics_error_callback,
    /// Passed to on_error as is.
    pub on_error_userdata: *mut c_void,
}

/// Fill `opts` with the defaults: host "localhost", port 8125, prefix NULL (`realm.<hostname>`),
/// flush every 1000 ms, max payload 1432, UDP, etsy dialect, no tags, no callback. NULL is
/// ignored.
///
/// # Safety
/// `opts` is NULL or points to writable storage for the options.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_options_init(opts: *mut realm_metrics_options) {
    // SAFETY: the caller passes NULL or a pointer to writable options.
    if let Some(o) = unsafe { opts.as_mut() } {
        *o = realm_metrics_options {
            host: c"localhost".as_ptr(),
            port: 8125,
            prefix: std::ptr::null(),
            flush_interval_ms: 1000,
            max_payload: 1432,
            unix_socket_path: std::ptr::null(),
            dialect: realm_metrics_dialect::REALM_METRICS_DIALECT_ETSY as u32,
            hostname_as_tag: false,
            tags: std::ptr::null(),
            max_registered: 0,
            on_error: None,
            on_error_userdata: std::ptr::null_mut(),
        };
    }
}

struct Callback {
    f: extern "C" fn(*mut c_void, realm_metrics_status, *const c_char),
    userdata: *mut c_void,
}

// SAFETY: the C caller promises (documented on realm_metrics_error_callback) that the callback
// and its userdata may be used from the flusher thread.
unsafe impl Send for Callback {}
// SAFETY: as above; the callback is only called, never mutated.
unsafe impl Sync for Callback {}

impl Callback {
    fn call(&self, e: &EmitError) {
        let msg = CString::new(e.to_string().replace('\0', " ")).unwrap_or_default();
        (self.f)(
            self.userdata,
            realm_metrics_status::from(e.clone()),
            msg.as_ptr(),
        );
    }
}

/// Create an emitter and start its flusher thread. `opts` may be NULL for the defaults.
/// On success `*out` holds the new emitter (free it with realm_metrics_free); on failure `*out`
/// is not written. Fails with REALM_METRICS_RESOLVE_FAILED for an unresolvable host,
/// REALM_METRICS_INVALID_NAME for a bad prefix, REALM_METRICS_INVALID_TAG,
/// REALM_METRICS_INVALID_OPTION or REALM_METRICS_IO_ERROR.
///
/// # Safety
/// `opts` is NULL or points to initialised options whose strings are NULL or NUL-terminated;
/// `out` points to writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_new(
    opts: *const realm_metrics_options,
    out: *mut *mut realm_metrics,
) -> realm_metrics_status {
    guard(|| {
        if out.is_null() {
            return REALM_METRICS_NULL_ARGUMENT;
        }
        let mut defaults = std::mem::MaybeUninit::<realm_metrics_options>::uninit();
        // SAFETY: a pointer to local storage.
        unsafe { realm_metrics_options_init(defaults.as_mut_ptr()) };
        // SAFETY: opts is NULL or valid (caller); the defaults were just initialised.
        let o = match unsafe { opts.as_ref() } {
            Some(o) => *o,
            None => unsafe { defaults.assume_init() },
        };
        let mut b = Emitter::builder();
        // SAFETY: strings are NULL or NUL-terminated (caller).
        let host = tri!(unsafe { opt_str(o.host) }).unwrap_or("localhost");
        b = match tri!(unsafe { opt_str(o.unix_socket_path) }) {
            Some(path) => b.unix_socket(path),
            None if host.contains(':') && !host.starts_with('[') => {
                b.address(format!("[{host}]:{}", o.port))
            }
            None => b.address(format!("{host}:{}", o.port)),
        };
        if let Some(p) = tri!(unsafe { opt_str(o.prefix) }) {
            b = b.prefix(p);
        }
        let Some(d) = dialect(o.dialect) else {
            return REALM_METRICS_INVALID_OPTION;
        };
        b = b.dialect(d).hostname_as_tag(o.hostname_as_tag);
        if o.flush_interval_ms == 0 || o.max_payload == 0 {
            return REALM_METRICS_INVALID_OPTION;
        }
        b = b
            .flush_interval(Duration::from_millis(u64::from(o.flush_interval_ms)))
            .max_payload(o.max_payload as usize);
        if let Some(tags) = tri!(unsafe { opt_str(o.tags) }) {
            for t in tags.split(',').filter(|t| !t.is_empty()) {
                match t.split_once(':') {
                    Some((k, v)) => b = b.tag(k, v),
                    None => return REALM_METRICS_INVALID_TAG,
                }
            }
        }
        if o.max_registered > 0 {
            b = b.max_registered(o.max_registered as usize);
        }
        if let Some(f) = o.on_error {
            let cb = Callback {
                f,
                userdata: o.on_error_userdata,
            };
            b = b.on_error(move |e| cb.call(e));
        }
        match b.build() {
            Ok(emitter) => {
                // SAFETY: out is non-NULL and writable (caller).
                unsafe { *out = Box::into_raw(Box::new(realm_metrics { emitter })) };
                REALM_METRICS_OK
            }
            Err(e) => e.into(),
        }
    })
}

/// Flush what was counted, stop the flusher thread and free the emitter. NULL is fine. The
/// pointer must not be used again (by any thread) after this call.
///
/// # Safety
/// `m` is NULL or was returned by realm_metrics_new and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_free(m: *mut realm_metrics) {
    // SAFETY: forwarded from the caller.
    unsafe { free_box(m) }
}

/// Borrow the emitter behind a C pointer.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new.
#[inline(always)]
unsafe fn em<'a>(m: *const realm_metrics) -> Result<&'a Emitter, realm_metrics_status> {
    // SAFETY: forwarded from the caller.
    match unsafe { m.as_ref() } {
        Some(m) => Ok(&m.emitter),
        None => Err(REALM_METRICS_NULL_ARGUMENT),
    }
}

/// Free a handle made by `Box::into_raw`; NULL is fine, and a panic in a destructor stops here.
///
/// # Safety
/// `p` is NULL or from `Box::into_raw` and not freed yet.
unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: from Box::into_raw (caller).
            drop(unsafe { Box::from_raw(p) })
        }));
    }
}

/// Run `f` on the handle behind a C pointer (NULL: REALM_METRICS_NULL_ARGUMENT).
///
/// # Safety
/// `p` is NULL or a live handle.
#[inline(always)]
unsafe fn with_handle<T>(p: *const T, f: impl FnOnce(&T)) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        match unsafe { p.as_ref() } {
            Some(h) => {
                f(h);
                REALM_METRICS_OK
            }
            None => REALM_METRICS_NULL_ARGUMENT,
        }
    })
}

/// Register `name` with `f` and hand C a boxed handle made by `wrap`; `*out` is written only on
/// success.
///
/// # Safety
/// `m` is NULL or live; `name` NULL or NUL-terminated; `out` NULL or writable.
unsafe fn register<T, H>(
    m: *mut realm_metrics,
    name: *const c_char,
    out: *mut *mut H,
    f: impl FnOnce(&Emitter, &str) -> Result<T, EmitError>,
    wrap: impl FnOnce(T) -> H,
) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let e = tri!(unsafe { em(m) });
        let name = tri!(unsafe { req_str(name) });
        if out.is_null() {
            return REALM_METRICS_NULL_ARGUMENT;
        }
        match f(e, name) {
            Ok(h) => {
                // SAFETY: out is non-NULL and writable (caller).
                unsafe { *out = Box::into_raw(Box::new(wrap(h))) };
                REALM_METRICS_OK
            }
            Err(err) => err.into(),
        }
    })
}

/// The shared body of the catalog entry points: check the handle and the metric id, run `f`,
/// and turn its result (or a panic) into a status.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new.
#[inline(always)]
unsafe fn on_metric(
    m: *const realm_metrics,
    metric_id: u32,
    f: impl FnOnce(&Emitter, ::realm_metrics::Metric) -> Result<(), EmitError>,
) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let e = tri!(unsafe { em(m) });
        let Some(metric) = metric(metric_id) else {
            return REALM_METRICS_UNKNOWN_METRIC;
        };
        done(f(e, metric))
    })
}

#[inline(always)]
fn done(r: Result<(), EmitError>) -> realm_metrics_status {
    match r {
        Ok(()) => REALM_METRICS_OK,
        Err(e) => e.into(),
    }
}

/// Add `n` to the catalog counter `metric` (a REALM_METRIC_* id): one atomic add, no lock,
/// no allocation, no system call. A gauge id gives REALM_METRICS_WRONG_KIND, an id out of range
/// REALM_METRICS_UNKNOWN_METRIC.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_increment(
    m: *mut realm_metrics,
    metric_id: u32,
    n: u64,
) -> realm_metrics_status {
    // SAFETY: forwarded from the caller.
    unsafe { on_metric(m, metric_id, |e, metric| e.count(metric, n)) }
}

/// Set the catalog gauge `metric` to `value` (negative values are fine; the wire stays
/// absolute). A counter id gives REALM_METRICS_WRONG_KIND.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_gauge_set(
    m: *mut realm_metrics,
    metric_id: u32,
    value: i64,
) -> realm_metrics_status {
    // SAFETY: forwarded from the caller.
    unsafe { on_metric(m, metric_id, |e, metric| e.gauge_set(metric, value)) }
}

/// Change the catalog gauge `metric` by `delta` in process (the wire carries the new absolute
/// value). A counter id gives REALM_METRICS_WRONG_KIND.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_gauge_add(
    m: *mut realm_metrics,
    metric_id: u32,
    delta: i64,
) -> realm_metrics_status {
    // SAFETY: forwarded from the caller.
    unsafe { on_metric(m, metric_id, |e, metric| e.gauge_add(metric, delta)) }
}

/// Count one connection over sync protocol `version` (`protocol.<version>.used`). Past 64
/// distinct versions the use is dropped (counted in the stats) and
/// REALM_METRICS_PROTOCOL_VERSIONS_EXCEEDED returned.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_protocol_used(
    m: *mut realm_metrics,
    version: u32,
) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let e = tri!(unsafe { em(m) });
        done(e.protocol_used(version))
    })
}

/// Send everything counted so far now; returns once the datagrams are written.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_flush(m: *mut realm_metrics) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let e = tri!(unsafe { em(m) });
        done(e.flush())
    })
}

/// Flush and stop the flusher thread; later calls on `m` are harmless no-ops. The handle must
/// still be freed with realm_metrics_free.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_close(m: *mut realm_metrics) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let e = tri!(unsafe { em(m) });
        e.close();
        REALM_METRICS_OK
    })
}

/// What an emitter did so far (see realm_metrics_get_stats).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct realm_metrics_stats {
    /// Flushes run.
    pub flushes: u64,
    /// Datagrams sent.
    pub packets_sent: u64,
    /// Bytes in those datagrams.
    pub bytes_sent: u64,
    /// Lines sent.
    pub lines_sent: u64,
    /// Datagrams the socket refused (their lines are lost, and counted here).
    pub send_errors: u64,
    /// Times the socket was reopened after repeated errors.
    pub reconnects: u64,
    /// Lines longer than the maximum payload, dropped.
    pub lines_dropped_oversize: u64,
    /// Lines the encoder rejected at flush.
    pub encode_errors: u64,
    /// New custom names refused because the registry was full.
    pub dropped_cardinality: u64,
    /// Samples refused because the sample buffer was full.
    pub dropped_samples: u64,
    /// Protocol-version uses refused because every version slot was taken.
    pub dropped_protocol_versions: u64,
    /// Custom names registered.
    pub registered: u64,
    /// Panics of the error callback, caught (counting and flushing go on).
    pub callback_panics: u64,
}

/// Write the emitter's counters into `*out`.
///
/// # Safety
/// `m` is NULL or a live pointer from realm_metrics_new; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_get_stats(
    m: *mut realm_metrics,
    out: *mut realm_metrics_stats,
) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let e = tri!(unsafe { em(m) });
        if out.is_null() {
            return REALM_METRICS_NULL_ARGUMENT;
        }
        let s = e.stats();
        // SAFETY: out is non-NULL and writable (caller).
        unsafe {
            *out = realm_metrics_stats {
                flushes: s.flushes,
                packets_sent: s.packets_sent,
                bytes_sent: s.bytes_sent,
                lines_sent: s.lines_sent,
                send_errors: s.send_errors,
                reconnects: s.reconnects,
                lines_dropped_oversize: s.lines_dropped_oversize,
                encode_errors: s.encode_errors,
                dropped_cardinality: s.dropped_cardinality,
                dropped_samples: s.dropped_samples,
                dropped_protocol_versions: s.dropped_protocol_versions,
                registered: s.registered,
                callback_panics: s.callback_panics,
            }
        };
        REALM_METRICS_OK
    })
}

/// Register (once) the custom counter `name` (after the prefix) and return a handle whose
/// realm_metrics_counter_add is as cheap as realm_metrics_increment. Catalog counter names
/// give a handle to the catalog slot. Free the handle with realm_metrics_counter_free.
///
/// # Safety
/// `m` is NULL or live; `name` NULL or NUL-terminated; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_register_counter(
    m: *mut realm_metrics,
    name: *const c_char,
    out: *mut *mut realm_metrics_counter,
) -> realm_metrics_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        register(m, name, out, Emitter::counter, |counter| {
            realm_metrics_counter { counter }
        })
    }
}

/// Add `n` to a registered counter.
///
/// # Safety
/// `c` is NULL or a live pointer from realm_metrics_register_counter.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_counter_add(
    c: *const realm_metrics_counter,
    n: u64,
) -> realm_metrics_status {
    // SAFETY: forwarded from the caller.
    unsafe { with_handle(c, |c| c.counter.increment(n)) }
}

/// Free a counter handle (the metric stays registered). NULL is fine.
///
/// # Safety
/// `c` is NULL or from realm_metrics_register_counter and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_counter_free(c: *mut realm_metrics_counter) {
    // SAFETY: forwarded from the caller.
    unsafe { free_box(c) }
}

/// Register (once) the custom gauge `name` and return a handle. Free it with
/// realm_metrics_gauge_free.
///
/// # Safety
/// `m` is NULL or live; `name` NULL or NUL-terminated; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_register_gauge(
    m: *mut realm_metrics,
    name: *const c_char,
    out: *mut *mut realm_metrics_gauge,
) -> realm_metrics_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        register(m, name, out, Emitter::gauge, |gauge| realm_metrics_gauge {
            gauge,
        })
    }
}

/// Set a registered gauge.
///
/// # Safety
/// `g` is NULL or a live pointer from realm_metrics_register_gauge.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_gauge_handle_set(
    g: *const realm_metrics_gauge,
    value: i64,
) -> realm_metrics_status {
    // SAFETY: forwarded from the caller.
    unsafe { with_handle(g, |g| g.gauge.set(value)) }
}

/// Change a registered gauge by `delta` in process.
///
/// # Safety
/// `g` is NULL or a live pointer from realm_metrics_register_gauge.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_gauge_handle_add(
    g: *const realm_metrics_gauge,
    delta: i64,
) -> realm_metrics_status {
    // SAFETY: forwarded from the caller.
    unsafe { with_handle(g, |g| g.gauge.add(delta)) }
}

/// Free a gauge handle (the gauge keeps being sent). NULL is fine.
///
/// # Safety
/// `g` is NULL or from realm_metrics_register_gauge and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_gauge_free(g: *mut realm_metrics_gauge) {
    // SAFETY: forwarded from the caller.
    unsafe { free_box(g) }
}

/// Record one sample of a timer (`ms`), histogram (`h`) or distribution (`d`) named `name`:
/// buffered (bounded) and sent at the next flush.
///
/// # Safety
/// `m` is NULL or live; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_record(
    m: *mut realm_metrics,
    type_: u32,
    name: *const c_char,
    value: f64,
) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let e = tri!(unsafe { em(m) });
        let name = tri!(unsafe { req_str(name) });
        let r = match crate::encode::metric_type(type_) {
            Some(MetricType::Timer) => e.timing(name, value),
            Some(MetricType::Histogram) => e.histogram(name, value),
            Some(MetricType::Distribution) => e.distribution(name, value),
            Some(_) => return REALM_METRICS_WRONG_KIND,
            None => return REALM_METRICS_UNKNOWN_TYPE,
        };
        done(r)
    })
}

/// Add `member` to the set `name` (`|s`), sent at the next flush.
///
/// # Safety
/// `m` is NULL or live; `name` and `member` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn realm_metrics_set_add(
    m: *mut realm_metrics,
    name: *const c_char,
    member: *const c_char,
) -> realm_metrics_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let e = tri!(unsafe { em(m) });
        let name = tri!(unsafe { req_str(name) });
        let member = tri!(unsafe { req_str(member) });
        done(e.set(name, member))
    })
}
