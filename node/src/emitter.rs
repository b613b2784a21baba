//! The emitter binding: a `NativeEmitter` class for set-up, registration, flush and close, and
//! plain functions for the hot path (`inc`, `add`, `gaugeSet`, `gaugeAdd`, `record`) that take a
//! numeric handle.
//!
//! Handles index a per-thread table (a JavaScript thread is the main thread or one worker; its
//! objects never cross threads), so the hot path is one table lookup and one relaxed atomic
//! add, with no `this` to unwrap and no string to convert. A `NativeEmitter`'s handles are freed
//! when it is garbage collected; a handle never outlives the JavaScript object that holds it.

use std::cell::RefCell;
use std::time::Duration;

use metrics::{Key, Label, Recorder as _};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use realm_metrics::emitter::{Counter, EmitError, Emitter, Recorder, Sampler};
use realm_metrics::wire::{Dialect, Encoder, LineOptions, MetricType, Tag, Value};
use realm_metrics::Metric;

use crate::codec::{parse_dialect, parse_type, TagPair};
use crate::error::{throw, throw_emit};

/// Options of a `NativeEmitter` (already normalised by the JavaScript layer).
#[napi(object)]
#[derive(Debug)]
pub struct NativeEmitterOptions {
    /// UDP host (default `localhost`).
    pub host: Option<String>,
    /// UDP port (default 8125): an integer in 1..=65535.
    pub port: Option<f64>,
    /// A Unix socket path: send there instead of UDP (a datagram socket, or a stream socket with
    /// `protocol: 'stream'`).
    pub path: Option<String>,
    /// `udp` (default), `uds` (with `path`), `tcp` (with `host` and `port`) or `stream` (a Unix
    /// stream socket at `path`): newline-framed and reconnecting for `tcp` and `stream`.
    pub protocol: Option<String>,
    /// The emitter's prefix, joined to names with a `.`; `undefined` for `realm.<hostname>`,
    /// `""` for none.
    pub prefix: Option<String>,
    /// `etsy` (default), `telegraf` or `dogstatsd`.
    pub dialect: Option<String>,
    /// Telegraf `hostname_as_tag` layout.
    pub hostname_as_tag: Option<bool>,
    /// Tags on every line.
    pub tags: Option<Vec<TagPair>>,
    /// Milliseconds between flushes (default 1000; 0: only `flush()`/`close()` send).
    pub flush_interval_ms: Option<f64>,
    /// The largest datagram payload (default 1432 for UDP, 8192 for a Unix socket).
    pub max_payload: Option<u32>,
    /// Bound on distinct custom names (default 10000).
    pub max_registered: Option<u32>,
    /// Bound on timing/histogram/distribution/set samples between flushes (default 65536).
    pub max_samples: Option<u32>,
}

/// What went wrong while flushing, as passed to the error callback.
#[napi(object)]
#[derive(Debug)]
pub struct EmitErrorInfo {
    /// `ERR_REALM_METRICS_SEND_FAILED`, `ERR_REALM_METRICS_LINE_TOO_LONG`, ...
    pub code: String,
    /// A description.
    pub message: String,
}

/// The emitter's counters (numbers; exact up to 2^53).
#[napi(object)]
#[derive(Debug)]
pub struct EmitterStats {
    /// Flushes run.
    pub flushes: f64,
    /// Datagrams handed to the socket.
    pub packets_sent: f64,
    /// Bytes in those datagrams.
    pub bytes_sent: f64,
    /// Lines packed into datagrams.
    pub lines_sent: f64,
    /// Datagrams the socket refused.
    pub send_errors: f64,
    /// Socket re-creations after repeated errors.
    pub reconnects: f64,
    /// Lines longer than the maximum payload, dropped.
    pub lines_dropped_oversize: f64,
    /// Lines the encoder rejected at flush.
    pub encode_errors: f64,
    /// New names refused because the registry was full.
    pub dropped_cardinality: f64,
    /// Samples refused because the sample buffer was full.
    pub dropped_samples: f64,
    /// Protocol-version uses refused (every version slot taken).
    pub dropped_protocol_versions: f64,
    /// Custom names registered.
    pub registered: f64,
    /// Panics of the error callback's native side, caught (counting and flushing go on).
    pub callback_panics: f64,
}

/// The error callback: called on the JavaScript thread, never keeps the event loop alive.
type ErrorCallback = ThreadsafeFunction<EmitErrorInfo, (), EmitErrorInfo, Status, false, true>;

/// One handle's target.
enum Slot {
    Free,
    Counter(Counter),
    Gauge(metrics::Gauge),
    Sampler(Sampler),
}

#[derive(Default)]
struct Local {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

fn insert(slot: Slot) -> u32 {
    LOCAL
        .try_with(|l| {
            let mut l = l.borrow_mut();
            match l.free.pop() {
                Some(h) => {
                    if let Some(s) = l.slots.get_mut(h as usize) {
                        *s = slot;
                    }
                    h
                }
                None => {
                    l.slots.push(slot);
                    (l.slots.len() - 1) as u32
                }
            }
        })
        .unwrap_or(u32::MAX)
}

#[inline(always)]
fn with_slot(handle: u32, f: impl FnOnce(&Slot)) {
    let _ = LOCAL.try_with(|l| {
        if let Ok(l) = l.try_borrow() {
            if let Some(s) = l.slots.get(handle as usize) {
                f(s);
            }
        }
    });
}

fn free(handles: &[u32]) {
    let _ = LOCAL.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            for &h in handles {
                if let Some(s) = l.slots.get_mut(h as usize) {
                    *s = Slot::Free;
                    l.free.push(h);
                }
            }
        }
    });
}

// The hot path: `inc(h)`, `add(h, n)`, `gaugeSet(h, v)`, `gaugeAdd(h, d)`, `record(h, v)`.
//
// These five are raw Node-API callbacks registered by `register_hot_path` rather than
// `#[napi]` functions: napi-rs 3's generated wrapper (argument scopes, native-borrow
// bookkeeping) costs about 10x the call itself (~290 ns against ~25 ns measured here). Each
// body runs inside `std::panic::catch_unwind`, as `#[napi(catch_unwind)]` would do, and
// ignores arguments that are not numbers (the JavaScript layer validates before calling).

/// What a hot-path call does with its handle and number.
#[derive(Clone, Copy)]
enum Op {
    Inc,
    Add,
    GaugeSet,
    GaugeAdd,
    Record,
}

#[inline(always)]
fn apply(op: Op, handle: u32, x: f64) {
    with_slot(handle, |s| match (op, s) {
        (Op::Inc, Slot::Counter(c)) => c.increment(1),
        (Op::Add, Slot::Counter(c)) if x.is_finite() => {
            let n = x.round();
            // A negative amount is a wrapping add: decrements cancel increments.
            let bits = if n < 0.0 { (n as i64) as u64 } else { n as u64 };
            c.increment(bits);
        }
        (Op::GaugeSet, Slot::Gauge(g)) if x.is_finite() => g.set(x),
        (Op::GaugeAdd, Slot::Gauge(g)) if x.is_finite() => g.increment(x),
        (Op::Record, Slot::Sampler(smp)) => {
            // A full buffer drops the sample and counts it in stats().
            let _ = smp.record(x);
        }
        _ => {}
    });
}

/// # Safety
/// Called by Node-API with a valid `env` and callback info.
unsafe fn hot_call(env: sys::napi_env, info: sys::napi_callback_info, op: Op) -> sys::napi_value {
    let _ = std::panic::catch_unwind(|| {
        let mut argc = 2usize;
        let mut argv = [std::ptr::null_mut(); 2];
        // SAFETY: argv has room for argc values; Node-API writes at most argc of them.
        let status = unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if status != sys::Status::napi_ok || argc < 1 {
            return;
        }
        let mut handle = 0u32;
        // SAFETY: argv[0] was filled by napi_get_cb_info.
        if unsafe { sys::napi_get_value_uint32(env, argv[0], &mut handle) } != sys::Status::napi_ok
        {
            return;
        }
        let mut x = 0f64;
        if !matches!(op, Op::Inc) {
            // SAFETY: as above; a missing argument reads as undefined and fails the check.
            if argc < 2
                || unsafe { sys::napi_get_value_double(env, argv[1], &mut x) }
                    != sys::Status::napi_ok
            {
                return;
            }
        }
        apply(op, handle, x);
    });
    // NULL is `undefined` to the caller.
    std::ptr::null_mut()
}

macro_rules! hot_fn {
    ($name:ident, $op:expr) => {
        unsafe extern "C" fn $name(
            env: sys::napi_env,
            info: sys::napi_callback_info,
        ) -> sys::napi_value {
            // SAFETY: forwarded from Node-API.
            unsafe { hot_call(env, info, $op) }
        }
    };
}

hot_fn!(hot_inc, Op::Inc);
hot_fn!(hot_add, Op::Add);
hot_fn!(hot_gauge_set, Op::GaugeSet);
hot_fn!(hot_gauge_add, Op::GaugeAdd);
hot_fn!(hot_record, Op::Record);

/// The function `bindInc(h)` returns: adds 1 to the counter it owns (its data pointer), so the
/// call converts no argument and looks nothing up.
unsafe extern "C" fn bound_inc(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let _ = std::panic::catch_unwind(|| {
        let mut argc = 0usize;
        let mut data = std::ptr::null_mut();
        // SAFETY: argc 0 with a null argv is allowed; data receives the creation data.
        let status = unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut data,
            )
        };
        if status == sys::Status::napi_ok && !data.is_null() {
            // SAFETY: data is the Box<Counter> made in hot_bind_inc, freed only by the
            // function's finalizer, after which the function can no longer be called.
            let c = unsafe { &*(data as *const Counter) };
            c.increment(1);
        }
    });
    std::ptr::null_mut()
}

unsafe extern "C" fn drop_bound_counter(
    _env: sys::napi_env,
    data: *mut std::ffi::c_void,
    _hint: *mut std::ffi::c_void,
) {
    if !data.is_null() {
        // SAFETY: made by Box::into_raw in hot_bind_inc; finalizers run once.
        drop(unsafe { Box::from_raw(data as *mut Counter) });
    }
}

/// `bindInc(h)`: a function of no arguments that adds 1 to the counter `h` (it keeps its own
/// reference to the counter; `undefined` when `h` is not a counter handle).
unsafe extern "C" fn hot_bind_inc(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    std::panic::catch_unwind(|| {
        let mut argc = 1usize;
        let mut argv = [std::ptr::null_mut(); 1];
        // SAFETY: as in hot_call.
        let status = unsafe {
            sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), std::ptr::null_mut(), std::ptr::null_mut())
        };
        let mut handle = 0u32;
        if status != sys::Status::napi_ok
            || argc < 1
            // SAFETY: argv[0] was filled by napi_get_cb_info.
            || unsafe { sys::napi_get_value_uint32(env, argv[0], &mut handle) } != sys::Status::napi_ok
        {
            return std::ptr::null_mut();
        }
        let mut counter = None;
        with_slot(handle, |s| {
            if let Slot::Counter(c) = s {
                counter = Some(c.clone());
            }
        });
        let Some(counter) = counter else {
            return std::ptr::null_mut();
        };
        let data = Box::into_raw(Box::new(counter));
        let mut f = std::ptr::null_mut();
        let name = "inc";
        // SAFETY: valid env; data stays valid until the finalizer below frees it.
        let ok = unsafe {
            sys::napi_create_function(env, name.as_ptr().cast(), name.len() as isize, Some(bound_inc), data.cast(), &mut f)
                == sys::Status::napi_ok
                && sys::napi_add_finalizer(env, f, data.cast(), Some(drop_bound_counter), std::ptr::null_mut(), std::ptr::null_mut())
                    == sys::Status::napi_ok
        };
        if ok {
            f
        } else {
            // SAFETY: not handed to a finalizer (or the function was not made): free it here.
            drop(unsafe { Box::from_raw(data) });
            std::ptr::null_mut()
        }
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Register the hot-path functions on the module's exports.
#[napi(module_exports)]
pub fn register_hot_path(exports: Object, env: Env) -> Result<()> {
    let fns: [(
        &str,
        unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value,
    ); 6] = [
        ("bindInc", hot_bind_inc),
        ("inc", hot_inc),
        ("add", hot_add),
        ("gaugeSet", hot_gauge_set),
        ("gaugeAdd", hot_gauge_add),
        ("record", hot_record),
    ];
    for (name, cb) in fns {
        let mut f = std::ptr::null_mut();
        // SAFETY: a valid env during module registration; the name is passed with its length.
        let status = unsafe {
            sys::napi_create_function(
                env.raw(),
                name.as_ptr().cast(),
                name.len() as isize,
                Some(cb),
                std::ptr::null_mut(),
                &mut f,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(Error::new(
                Status::GenericFailure,
                format!("creating {name}"),
            ));
        }
        // SAFETY: `f` is a function value created in this env just above.
        let status = unsafe {
            sys::napi_set_named_property(
                env.raw(),
                exports.raw(),
                format!("{name}\0").as_ptr().cast(),
                f,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(Error::new(
                Status::GenericFailure,
                format!("exporting {name}"),
            ));
        }
    }
    Ok(())
}

fn tag_refs(tags: &[TagPair]) -> std::result::Result<Vec<(&str, &str)>, String> {
    tags.iter()
        .map(|t| match &t.value {
            Some(v) => Ok((t.key.as_str(), v.as_str())),
            None => Err(format!(
                "bare tag {:?}: the emitter needs key:value tags",
                t.key
            )),
        })
        .collect()
}

/// The aggregating emitter: one per `StatsD` / `RealmMetrics` instance.
#[napi]
#[derive(Debug)]
pub struct NativeEmitter {
    emitter: Emitter,
    recorder: Recorder,
    dialect: Dialect,
    handles: Vec<u32>,
}

impl Drop for NativeEmitter {
    fn drop(&mut self) {
        free(&self.handles);
        // Dropping the emitter (the last clone is inside the recorder and here) flushes and
        // joins its flusher thread.
        self.emitter.close();
    }
}

impl NativeEmitter {
    fn keep(&mut self, slot: Slot) -> i64 {
        let h = insert(slot);
        if h == u32::MAX {
            return -1;
        }
        self.handles.push(h);
        i64::from(h)
    }

    /// Map a registration error: a full registry is a drop (counted, told to the error
    /// callback at the next flush): -1, no throw. Anything else throws.
    fn registered<T>(
        &mut self,
        env: &Env,
        r: std::result::Result<T, EmitError>,
        slot: impl FnOnce(T) -> Slot,
    ) -> Result<i64> {
        match r {
            Ok(x) => Ok(self.keep(slot(x))),
            Err(EmitError::CardinalityExceeded { .. })
            | Err(EmitError::ProtocolVersionsExceeded { .. }) => Ok(-1),
            Err(e) => Err(throw_emit(env, &e)),
        }
    }
}

#[napi]
impl NativeEmitter {
    /// Build the emitter and start its flusher thread.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: &Env,
        options: NativeEmitterOptions,
        #[napi(ts_arg_type = "((info: EmitErrorInfo) => void) | undefined | null")]
        on_error: Option<ErrorCallback>,
    ) -> Result<Self> {
        let dialect = parse_dialect(env, options.dialect.as_deref())?;
        let mut b = Emitter::builder().dialect(dialect);
        let protocol = options
            .protocol
            .as_deref()
            .unwrap_or(if options.path.is_some() { "uds" } else { "udp" });
        if protocol == "uds" || protocol == "stream" {
            let Some(path) = &options.path else {
                return Err(throw(
                    env,
                    "invalid_config",
                    &format!("protocol {protocol} needs a path"),
                ));
            };
            b = if protocol == "stream" {
                b.unix_stream(path)
            } else {
                b.unix_socket(path)
            };
        } else if protocol == "udp" || protocol == "tcp" {
            let host = options.host.as_deref().unwrap_or("localhost");
            let port = options.port.unwrap_or(8125.0);
            // 0 would send nowhere and a fraction would be truncated: both are refused.
            if !(port.is_finite() && port.fract() == 0.0 && (1.0..=65535.0).contains(&port)) {
                return Err(throw(
                    env,
                    "invalid_config",
                    &format!("port must be an integer in 1..65535, got {port}"),
                ));
            }
            let address = crate::sink::socket_address(host, port as u16);
            b = if protocol == "tcp" {
                b.tcp(address)
            } else {
                b.address(address)
            };
        } else {
            return Err(throw(
                env,
                "invalid_config",
                &format!("protocol {protocol:?} is not supported (udp, uds, tcp or stream)"),
            ));
        }
        if let Some(p) = options.prefix {
            b = b.prefix(p);
        }
        if options.hostname_as_tag.unwrap_or(false) {
            b = b.hostname_as_tag(true);
        }
        for t in options.tags.as_deref().unwrap_or(&[]) {
            match &t.value {
                Some(v) => b = b.tag(t.key.clone(), v.clone()),
                None => {
                    return Err(throw(
                        env,
                        "invalid_tag",
                        &format!("bare tag {:?}: global tags need key:value", t.key),
                    ));
                }
            }
        }
        if let Some(ms) = options.flush_interval_ms {
            if !(ms.is_finite() && ms >= 0.0) {
                return Err(throw(
                    env,
                    "invalid_config",
                    "the flush interval must be a finite number of milliseconds >= 0",
                ));
            }
            b = b.flush_interval(Duration::from_micros((ms * 1000.0) as u64));
        }
        if let Some(n) = options.max_payload {
            b = b.max_payload(n as usize);
        }
        if let Some(n) = options.max_registered {
            b = b.max_registered(n as usize);
        }
        if let Some(n) = options.max_samples {
            b = b.max_samples(n as usize);
        }
        if let Some(cb) = on_error {
            b = b.on_error(move |e: &EmitError| {
                let info = EmitErrorInfo {
                    code: crate::error::js_code(e.code()),
                    message: e.to_string(),
                };
                // Queued for the JavaScript thread; never blocks the flusher.
                let _ = cb.call(info, ThreadsafeFunctionCallMode::NonBlocking);
            });
        }
        let emitter = b.build().map_err(|e| throw_emit(env, &e))?;
        Ok(NativeEmitter {
            recorder: Recorder::new(emitter.clone()),
            emitter,
            dialect,
            handles: Vec::new(),
        })
    }

    /// The prefix joined to every name.
    #[napi(getter, catch_unwind)]
    pub fn prefix(&self) -> String {
        self.emitter.prefix().to_owned()
    }

    /// A counter handle for `name` (with `tags`), or -1 when the registry is full (the name is
    /// counted as dropped). Throws on an invalid name or tag.
    #[napi(catch_unwind)]
    pub fn counter(&mut self, env: &Env, name: String, tags: Option<Vec<TagPair>>) -> Result<i64> {
        let tags = tags.unwrap_or_default();
        let r = if tags.is_empty() {
            self.emitter.counter(&name)
        } else {
            let t = tag_refs(&tags).map_err(|m| throw(env, "invalid_tag", &m))?;
            self.emitter.counter_with_tags(&name, &t)
        };
        self.registered(env, r, Slot::Counter)
    }

    /// A gauge handle (float values) for `name` (with `tags`), or -1 when the registry is full.
    /// Catalog gauge names without tags share the catalog gauge (integer values).
    #[napi(catch_unwind)]
    pub fn gauge(&mut self, env: &Env, name: String, tags: Option<Vec<TagPair>>) -> Result<i64> {
        let tags = tags.unwrap_or_default();
        let t = tag_refs(&tags).map_err(|m| throw(env, "invalid_tag", &m))?;
        // The facade reports invalid names to the error callback; check them here first so the
        // caller gets the error.
        let tv: Vec<Tag<'_>> = t.iter().map(|(k, v)| Tag::new(k, Some(v))).collect();
        let check_tags: &[Tag<'_>] = if self.dialect == Dialect::Etsy {
            &[]
        } else {
            &tv
        };
        let enc = Encoder::new(self.dialect, "", &[])
            .map_err(|e| throw(env, e.code(), &e.to_string()))?;
        let opts = LineOptions {
            sample_rate: None,
            tags: check_tags,
        };
        match enc.encode(&mut [], &name, Value::Int(0), MetricType::Gauge, &opts) {
            Ok(_) | Err(realm_metrics::wire::EncodeError::BufferTooSmall) => {}
            Err(e) => return Err(crate::error::throw_encode(env, &e)),
        }
        let before = self.emitter.stats().dropped_cardinality;
        let labels: Vec<Label> = t
            .iter()
            .map(|(k, v)| Label::new((*k).to_owned(), (*v).to_owned()))
            .collect();
        let key = Key::from_parts(name, labels);
        let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);
        let g = self.recorder.register_gauge(&key, &meta);
        if self.emitter.stats().dropped_cardinality > before {
            return Ok(-1);
        }
        Ok(self.keep(Slot::Gauge(g)))
    }

    /// A sampler handle for `name` of type `ms`, `h` or `d` (with `tags`), or -1 when the
    /// registry is full. With `sample_rate` below 1, the caller records only the samples it
    /// keeps and each goes out with `|@rate`.
    #[napi(catch_unwind)]
    pub fn sampler(
        &mut self,
        env: &Env,
        name: String,
        metric_type: String,
        tags: Option<Vec<TagPair>>,
        sample_rate: Option<f64>,
    ) -> Result<i64> {
        let ty = parse_type(env, &metric_type)?;
        let tags = tags.unwrap_or_default();
        let t = tag_refs(&tags).map_err(|m| throw(env, "invalid_tag", &m))?;
        let r = self
            .emitter
            .sampler_with_rate(&name, ty, &t, sample_rate.unwrap_or(1.0));
        self.registered(env, r, Slot::Sampler)
    }

    /// Record a set member (`name:member|s`), sent at the next flush.
    #[napi(catch_unwind)]
    pub fn set(&self, env: &Env, name: String, member: String) -> Result<()> {
        match self.emitter.set(&name, &member) {
            Ok(()) => Ok(()),
            Err(EmitError::SampleBufferFull { .. })
            | Err(EmitError::CardinalityExceeded { .. }) => Ok(()),
            Err(e) => Err(throw_emit(env, &e)),
        }
    }

    /// Add `n` to the catalog counter with id `metric` (throws on a gauge id or an unknown id).
    #[napi(catch_unwind)]
    pub fn count(&self, env: &Env, metric: u32, n: f64) -> Result<()> {
        let m = metric_of(env, metric)?;
        let n = counter_amount(env, n)?;
        self.emitter.count(m, n).map_err(|e| throw_emit(env, &e))
    }

    /// Set the catalog gauge with id `metric` to `v` (an integer).
    #[napi(catch_unwind)]
    pub fn gauge_set(&self, env: &Env, metric: u32, v: f64) -> Result<()> {
        let m = metric_of(env, metric)?;
        let v = integer(env, v)?;
        self.emitter
            .gauge_set(m, v)
            .map_err(|e| throw_emit(env, &e))
    }

    /// Change the catalog gauge with id `metric` by `d` (an integer).
    #[napi(catch_unwind)]
    pub fn gauge_add(&self, env: &Env, metric: u32, d: f64) -> Result<()> {
        let m = metric_of(env, metric)?;
        let d = integer(env, d)?;
        self.emitter
            .gauge_add(m, d)
            .map_err(|e| throw_emit(env, &e))
    }

    /// A counter handle for `protocol.<version>.used`, or -1 when every version slot is taken.
    #[napi(catch_unwind)]
    pub fn protocol_counter(&mut self, env: &Env, version: f64) -> Result<i64> {
        if !(version.is_finite()
            && version >= 0.0
            && version.fract() == 0.0
            && version <= u32::MAX as f64)
        {
            return Err(throw(
                env,
                "invalid_value",
                "the protocol version must be an integer in 0..=4294967295",
            ));
        }
        let r = self
            .emitter
            .counter(&format!("protocol.{}.used", version as u32));
        self.registered(env, r, Slot::Counter)
    }

    /// Send now; returns once everything recorded before the call is in datagrams handed to
    /// the socket. Returns the first send error of this flush as `{code, message}`, or `null`.
    #[napi(catch_unwind)]
    pub fn flush(&self) -> Option<EmitErrorInfo> {
        self.emitter.flush().err().map(|e| EmitErrorInfo {
            code: crate::error::js_code(e.code()),
            message: e.to_string(),
        })
    }

    /// Stop the flusher thread, join it and flush one last time. Later calls do nothing.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.emitter.close();
    }

    /// Whether `close()` was called.
    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.emitter.is_closed()
    }

    /// A snapshot of the emitter's counters.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> EmitterStats {
        let s = self.emitter.stats();
        EmitterStats {
            flushes: s.flushes as f64,
            packets_sent: s.packets_sent as f64,
            bytes_sent: s.bytes_sent as f64,
            lines_sent: s.lines_sent as f64,
            send_errors: s.send_errors as f64,
            reconnects: s.reconnects as f64,
            lines_dropped_oversize: s.lines_dropped_oversize as f64,
            encode_errors: s.encode_errors as f64,
            dropped_cardinality: s.dropped_cardinality as f64,
            dropped_samples: s.dropped_samples as f64,
            dropped_protocol_versions: s.dropped_protocol_versions as f64,
            registered: s.registered as f64,
            callback_panics: s.callback_panics as f64,
        }
    }
}

fn metric_of(env: &Env, id: u32) -> Result<Metric> {
    Metric::from_id(id).ok_or_else(|| {
        throw(
            env,
            "unknown_metric",
            &format!("unknown metric id {id} (the catalog has ids 0..=17)"),
        )
    })
}

fn integer(env: &Env, v: f64) -> Result<i64> {
    if !v.is_finite() {
        return Err(throw(env, "non_finite_value", "value is NaN or infinite"));
    }
    if v.fract() != 0.0 || v.abs() > 9_007_199_254_740_991.0 {
        return Err(throw(
            env,
            "not_integer",
            "catalog gauges take integers (up to 2^53 in magnitude)",
        ));
    }
    Ok(v as i64)
}

fn counter_amount(env: &Env, n: f64) -> Result<u64> {
    let i = integer(env, n)?;
    u64::try_from(i).map_err(|_| {
        throw(
            env,
            "not_integer",
            "catalog counters take non-negative integers",
        )
    })
}
