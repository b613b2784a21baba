//! The [`metrics`] facade: a [`metrics::Recorder`] backed by the emitter.

use std::sync::Arc;
use std::vec::Vec;

use metrics::{CounterFn, GaugeFn, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};

use super::registry::Meta;
use super::samples::{Pending, SampleBuffer, SampleValue};
use super::slots::{stripe, CounterSlot, GaugeCell, STRIPES};
use super::{EmitError, Emitter};
use crate::catalog::{parse_protocol_used, Kind, Metric};
use crate::wire::MetricType;

/// A [`metrics::Recorder`] that records into an [`Emitter`].
///
/// - `counter!("connection.started")` (a catalog counter name, no labels) lands in the same
///   slot as [`Emitter::count`]`(Metric::ConnectionStarted, n)`, and its handle increments that
///   slot directly; `protocol.<version>.used` lands in the version's slot.
/// - `gauge!` with a catalog gauge name lands in the catalog gauge (values rounded to integers);
///   other gauges are float gauges in the registry. Gauges are sent as absolute values on every
///   flush, so `increment`/`decrement` work as expected.
/// - Other names go to the bounded registry; labels become tags (dropped in the Etsy dialect).
///   A name the registry refuses (invalid, or past the bound) gives a no-op handle; an invalid
///   name is passed to the error callback, a full registry is counted as dropped.
/// - `histogram!` samples go to the sample buffer as `h` (default), `d`, or `ms` (see
///   [`Recorder::histograms_as`]).
/// - `Counter::absolute` is ignored: StatsD counters carry changes, not totals.
///
/// ```
/// use realm_metrics::emitter::{Emitter, Recorder};
/// use realm_metrics::Metric;
///
/// let (emitter, spy) = Emitter::builder().prefix("app").spy().unwrap();
/// let recorder = Recorder::new(emitter.clone());
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("connection.started").increment(2);
///     metrics::gauge!("connection.online").set(4.0);
///     metrics::counter!("jobs.done").increment(1);
/// });
/// emitter.count(Metric::ConnectionStarted, 1).unwrap();
/// emitter.flush().unwrap();
/// assert_eq!(
///     spy.lines(),
///     ["app.connection.started:3|c", "app.connection.online:4|g", "app.jobs.done:1|c"]
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Recorder {
    emitter: Emitter,
    /// The catalog counters, found by the key's precomputed hash.
    catalog: Vec<CatalogCounter>,
    histogram_type: MetricType,
}

/// A catalog counter slot on its own cache lines, so that the `Arc` reference count that
/// `metrics::Counter` handles bump is not shared between threads.
#[repr(align(128))]
#[derive(Debug)]
struct PaddedSlot(CounterSlot);

/// A catalog counter for the facade: one `Arc` per stripe (a thread clones and drops the one of
/// its own stripe, so two threads registering the same counter do not contend).
#[derive(Debug, Clone)]
struct CatalogCounter {
    hash: u64,
    metric: Metric,
    handles: [Arc<PaddedSlot>; STRIPES],
}

impl Recorder {
    /// A recorder for `emitter`. Use it with [`metrics::with_local_recorder`], or make it the
    /// global recorder with [`Recorder::install`].
    pub fn new(emitter: Emitter) -> Self {
        let catalog = Metric::ALL
            .into_iter()
            .filter(|m| m.kind() == Kind::Counter && !m.is_templated())
            .map(|metric| CatalogCounter {
                hash: Key::from_static_name(metric.name()).get_hash(),
                metric,
                handles: core::array::from_fn(|_| {
                    Arc::new(PaddedSlot(CounterSlot::new(
                        emitter.shared.catalog.clone(),
                        metric as usize,
                    )))
                }),
            })
            .collect();
        Recorder {
            emitter,
            catalog,
            histogram_type: MetricType::Histogram,
        }
    }

    /// Send histogram samples as `h` (the default), `d` (distribution) or `ms` (timer; the
    /// `metrics` convention records seconds, so values are multiplied by 1000). Other types are
    /// an error.
    pub fn histograms_as(mut self, ty: MetricType) -> Result<Self, EmitError> {
        if !matches!(
            ty,
            MetricType::Timer | MetricType::Histogram | MetricType::Distribution
        ) {
            return Err(EmitError::InvalidConfig(
                "histograms can be sent as ms, h or d",
            ));
        }
        self.histogram_type = ty;
        Ok(self)
    }

    /// The emitter.
    pub fn emitter(&self) -> &Emitter {
        &self.emitter
    }

    /// Make this the global `metrics` recorder and describe the catalog metrics to it. Fails
    /// when a global recorder is already installed. The global recorder is never dropped, so
    /// call [`Emitter::close`] at shutdown to send what was recorded since the last flush.
    pub fn install(self) -> Result<(), EmitError> {
        metrics::set_global_recorder(self).map_err(|_| {
            EmitError::InvalidConfig("a global metrics recorder is already installed")
        })?;
        metrics::with_recorder(describe_catalog);
        Ok(())
    }

    fn report(&self, e: EmitError) {
        self.emitter.shared.report_all(&[e]);
    }

    fn labels(key: &Key) -> Vec<(&str, &str)> {
        key.labels().map(|l| (l.key(), l.value())).collect()
    }
}

/// Describe every catalog metric (its reference description) to `recorder`, with
/// `describe_counter` / `describe_gauge`. The templated `protocol.<version>.used` row is
/// skipped.
pub fn describe_catalog(recorder: &dyn metrics::Recorder) {
    for m in Metric::ALL {
        if m.is_templated() {
            continue;
        }
        let name = KeyName::from_const_str(m.name());
        let desc = SharedString::const_str(m.description());
        match m.kind() {
            Kind::Counter => recorder.describe_counter(name, None, desc),
            Kind::Gauge => recorder.describe_gauge(name, None, desc),
        }
    }
}

impl CounterFn for PaddedSlot {
    #[inline]
    fn increment(&self, value: u64) {
        self.0.add(value);
    }

    fn absolute(&self, _value: u64) {}
}

impl CounterFn for CounterSlot {
    #[inline]
    fn increment(&self, value: u64) {
        self.add(value);
    }

    fn absolute(&self, _value: u64) {}
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.add_f64(value);
    }

    fn decrement(&self, value: f64) {
        self.add_f64(-value);
    }

    fn set(&self, value: f64) {
        self.set_f64(value);
    }
}

/// A histogram registered through the facade.
#[derive(Debug)]
struct FacadeHistogram {
    meta: Arc<Meta>,
    ty: MetricType,
    scale: f64,
    buffer: Arc<SampleBuffer>,
}

impl HistogramFn for FacadeHistogram {
    fn record(&self, value: f64) {
        let v = value * self.scale;
        if v.is_finite() {
            // A full buffer is counted as dropped.
            let _ = self.buffer.push(Pending {
                meta: self.meta.clone(),
                ty: self.ty,
                value: SampleValue::Num(v),
                rate: None,
            });
        }
    }
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {
        // StatsD has no descriptions.
    }

    fn describe_gauge(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn describe_histogram(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Counter {
        let name = key.name();
        let unlabelled = key.labels().len() == 0;
        if unlabelled {
            let hash = key.get_hash();
            for c in &self.catalog {
                if c.hash == hash && c.metric.name() == name {
                    if let Some(h) = c.handles.get(stripe()) {
                        return metrics::Counter::from_arc(h.clone());
                    }
                }
            }
            if parse_protocol_used(name).is_some() {
                return match self.emitter.counter(name) {
                    Ok(c) => metrics::Counter::from_arc(Arc::new(c.slot)),
                    Err(_) => metrics::Counter::noop(),
                };
            }
        }
        match self
            .emitter
            .shared
            .registry
            .counter(name, &Self::labels(key))
        {
            Ok(slot) => metrics::Counter::from_arc(slot),
            Err(e) => {
                if !matches!(e, EmitError::CardinalityExceeded { .. }) {
                    self.report(e);
                }
                metrics::Counter::noop()
            }
        }
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Gauge {
        let name = key.name();
        if key.labels().next().is_none() {
            if let Some(m) = Metric::lookup(name, Kind::Gauge) {
                if let Some(cell) = self.emitter.shared.gauges.get(m as usize) {
                    return metrics::Gauge::from_arc(cell.clone());
                }
            }
        }
        match self
            .emitter
            .shared
            .registry
            .gauge(name, &Self::labels(key), true)
        {
            Ok(cell) => metrics::Gauge::from_arc(cell),
            Err(e) => {
                if !matches!(e, EmitError::CardinalityExceeded { .. }) {
                    self.report(e);
                }
                metrics::Gauge::noop()
            }
        }
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Histogram {
        match self
            .emitter
            .shared
            .registry
            .sample_name(key.name(), &Self::labels(key))
        {
            Ok(meta) => metrics::Histogram::from_arc(Arc::new(FacadeHistogram {
                meta,
                ty: self.histogram_type,
                scale: if self.histogram_type == MetricType::Timer {
                    1000.0
                } else {
                    1.0
                },
                buffer: self.emitter.shared.samples.clone(),
            })),
            Err(e) => {
                if !matches!(e, EmitError::CardinalityExceeded { .. }) {
                    self.report(e);
                }
                metrics::Histogram::noop()
            }
        }
    }
}
