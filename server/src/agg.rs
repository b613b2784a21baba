//! Server-side aggregation: every datagram decoded with core's decoder, every value added to its
//! series' bucket for the current second, Etsy statsd's way:
//!
//! - counters: the sum of `value / rate`;
//! - gauges: the last absolute value; a signed value (`+N`, `-N`) changes the stored value;
//! - timers, histograms and distributions: count (`1 / rate` per value), sum, min, max and the
//!   50th, 90th and 99th percentiles (nearest rank, as Etsy's `upper_<p>`);
//! - sets: the number of distinct members.
//!
//! A series is a bucket name with its tags (sorted, `k=v,k2`) and its type. Catalog recognition
//! (host, catalog metric, protocol version) happens once, when a series is first seen. Memory is
//! bounded: at most `max_series` series, [`MAX_SAMPLES`] timer values per series and second
//! (a uniform reservoir beyond), [`MAX_SET_MEMBERS`] set members, [`MAX_KEY`] bytes of name and
//! tags. What does not fit is counted in [`Counts`].

use std::collections::HashMap;

use realm_metrics::wire::{catalog_match, decode, CatalogMatch, MetricType, Record, SampleValue};

use crate::sketch::{member_hash, percentile_sorted, MemberSet, Sketch, MAX_SET_MEMBERS};

/// Timer values kept per series and second for exact percentiles; past it, a uniform sample.
pub const MAX_SAMPLES: usize = 4096;
/// Timer values and set members held per second across all series (8 bytes each): the bound on
/// what one second can hold whatever the series count.
pub const HELD_BUDGET: usize = 2_000_000;
/// The longest series key (name and tags) accepted.
pub const MAX_KEY: usize = 1024;
/// The default bound on the number of series.
pub const DEFAULT_MAX_SERIES: usize = 10_000;

/// The type of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeriesKind {
    /// `|c`
    Counter,
    /// `|g`
    Gauge,
    /// `|ms`
    Timer,
    /// `|h`
    Histogram,
    /// `|d`
    Distribution,
    /// `|s`
    Set,
}

impl SeriesKind {
    /// Every kind.
    pub const ALL: [SeriesKind; 6] = [
        SeriesKind::Counter,
        SeriesKind::Gauge,
        SeriesKind::Timer,
        SeriesKind::Histogram,
        SeriesKind::Distribution,
        SeriesKind::Set,
    ];

    /// The kind of a wire type.
    pub fn of(ty: MetricType) -> SeriesKind {
        match ty {
            MetricType::Counter => SeriesKind::Counter,
            MetricType::Gauge => SeriesKind::Gauge,
            MetricType::Timer => SeriesKind::Timer,
            MetricType::Histogram => SeriesKind::Histogram,
            MetricType::Distribution => SeriesKind::Distribution,
            MetricType::Set => SeriesKind::Set,
        }
    }

    /// `counter`, `gauge`, `timer`, `histogram`, `distribution` or `set`.
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesKind::Counter => "counter",
            SeriesKind::Gauge => "gauge",
            SeriesKind::Timer => "timer",
            SeriesKind::Histogram => "histogram",
            SeriesKind::Distribution => "distribution",
            SeriesKind::Set => "set",
        }
    }

    /// The inverse of [`SeriesKind::as_str`].
    pub fn parse(s: &str) -> Option<SeriesKind> {
        SeriesKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Timers, histograms and distributions: summarised by count, sum, min, max, percentiles.
    pub fn is_summary(self) -> bool {
        matches!(
            self,
            SeriesKind::Timer | SeriesKind::Histogram | SeriesKind::Distribution
        )
    }
}

/// What identifies a series, and what the catalog says of it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesMeta {
    /// Store id.
    pub id: u32,
    /// Bucket name as on the wire.
    pub name: String,
    /// Tags, sorted, as `k=v,k2=v2` (a bare tag is `k`); `""` for none.
    pub tags: String,
    /// Type.
    pub kind: SeriesKind,
    /// The host part of a catalog name (`realm.<host>.<metric>`).
    pub host: Option<String>,
    /// The catalog name (`connection.online`, `protocol.<version>.used`).
    pub metric: Option<String>,
    /// The protocol version of `protocol.<version>.used`.
    pub version: Option<u64>,
}

/// One bucket of one series, as stored. Which fields are set depends on the kind: counters
/// `value` (the sum) and `count`; gauges `value` (the last), `min`, `max`, `count`; summaries
/// everything but `value`, with a [`Sketch`] blob; sets `value` (distinct count) with a
/// [`MemberSet`] blob.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Point {
    /// Series id.
    pub series: u32,
    /// Bucket start, unix seconds.
    pub ts: i64,
    /// See the type's documentation.
    pub value: Option<f64>,
    /// Number of values (timers: scaled by `1 / rate`).
    pub count: Option<f64>,
    /// Sum of the values.
    pub sum: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// 50th percentile.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Mergeable summary ([`Sketch`] or [`MemberSet`]).
    pub blob: Option<Vec<u8>>,
}

/// Everything one second produced.
#[derive(Clone, Debug, Default)]
pub struct SecondBatch {
    /// The second, unix seconds.
    pub ts: i64,
    /// Series seen for the first time in it.
    pub new_series: Vec<SeriesMeta>,
    /// One point per series that had data.
    pub points: Vec<Point>,
}

/// What the aggregator counted (totals since start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Datagrams decoded.
    pub datagrams: u64,
    /// Bytes decoded.
    pub bytes: u64,
    /// Metric values aggregated.
    pub values: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Events and service checks (not stored).
    pub events: u64,
    /// Values not stored because the series limit was reached.
    pub series_dropped: u64,
    /// Values not stored because name and tags were longer than [`MAX_KEY`].
    pub key_too_long: u64,
    /// Timer values left out of exact percentiles (they still count in count, sum, min, max).
    pub samples_dropped: u64,
    /// Set members past [`MAX_SET_MEMBERS`] in one bucket.
    pub set_members_dropped: u64,
}

#[derive(Debug)]
enum Cur {
    Counter {
        sum: f64,
        count: u64,
    },
    Gauge {
        min: f64,
        max: f64,
        count: u64,
    },
    Summary {
        count: f64,
        sum: f64,
        min: f64,
        max: f64,
        seen: u64,
        samples: Vec<f64>,
    },
    Set {
        members: Vec<u64>,
        saturated: bool,
    },
}

#[derive(Debug)]
struct Slot {
    id: u32,
    /// A gauge's current value (kept across seconds: deltas apply to it).
    gauge: Option<f64>,
    active: bool,
    cur: Cur,
}

impl Slot {
    fn new(id: u32, kind: SeriesKind, gauge: Option<f64>) -> Slot {
        let cur = match kind {
            SeriesKind::Counter => Cur::Counter { sum: 0.0, count: 0 },
            SeriesKind::Gauge => Cur::Gauge {
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                count: 0,
            },
            SeriesKind::Set => Cur::Set {
                members: Vec::new(),
                saturated: false,
            },
            _ => Cur::Summary {
                count: 0.0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                seen: 0,
                samples: Vec::new(),
            },
        };
        Slot {
            id,
            gauge,
            active: false,
            cur,
        }
    }

    /// Write this second's point and reset for the next.
    fn take_point(&mut self, ts: i64) -> Point {
        self.active = false;
        let mut p = Point {
            series: self.id,
            ts,
            ..Point::default()
        };
        match &mut self.cur {
            Cur::Counter { sum, count } => {
                p.value = Some(*sum);
                p.count = Some(*count as f64);
                (*sum, *count) = (0.0, 0);
            }
            Cur::Gauge { min, max, count } => {
                p.value = self.gauge;
                p.min = Some(*min);
                p.max = Some(*max);
                p.count = Some(*count as f64);
                (*min, *max, *count) = (f64::INFINITY, f64::NEG_INFINITY, 0);
            }
            Cur::Summary {
                count,
                sum,
                min,
                max,
                seen,
                samples,
            } => {
                samples.sort_by(f64::total_cmp);
                p.count = Some(*count);
                p.sum = Some(*sum);
                p.min = Some(*min);
                p.max = Some(*max);
                p.p50 = percentile_sorted(samples, 50.0);
                p.p90 = percentile_sorted(samples, 90.0);
                p.p99 = percentile_sorted(samples, 99.0);
                let mut sketch = Sketch::new();
                for v in samples.iter() {
                    sketch.add(*v);
                }
                p.blob = Some(sketch.encode());
                (*count, *sum, *min, *max, *seen) = (0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, 0);
                samples.clear();
                samples.shrink_to(64);
            }
            Cur::Set { members, saturated } => {
                let mut set = MemberSet::from_hashes(std::mem::take(members));
                set.saturated |= *saturated;
                *saturated = false;
                p.value = Some(set.len() as f64);
                p.blob = Some(set.encode());
            }
        }
        p
    }
}

/// The per-second aggregator: owned by the ingest thread.
#[derive(Debug)]
pub struct Aggregator {
    index: HashMap<Box<[u8]>, usize>,
    slots: Vec<Slot>,
    /// Slot indexes free for reuse (series forgotten by retention).
    free: Vec<usize>,
    touched: Vec<usize>,
    new_series: Vec<SeriesMeta>,
    next_id: u32,
    max_series: usize,
    counts: Counts,
    key: Vec<u8>,
    rng: u64,
    /// Timer values and set members held this second (bounded by [`HELD_BUDGET`]).
    held: usize,
}

/// A series as loaded from the store at start, with a gauge's last value.
pub type Known = (SeriesMeta, Option<f64>);

impl Aggregator {
    /// An aggregator that knows the series already in the store (their ids are kept, gauges go
    /// on from their last stored value) and gives new series ids from `next_id` on.
    pub fn new(known: Vec<Known>, next_id: u32, max_series: usize) -> Aggregator {
        let mut a = Aggregator {
            index: HashMap::with_capacity(known.len()),
            slots: Vec::with_capacity(known.len()),
            free: Vec::new(),
            touched: Vec::new(),
            new_series: Vec::new(),
            next_id,
            max_series,
            counts: Counts::default(),
            key: Vec::with_capacity(256),
            rng: 0x2545_f491_4f6c_dd1d,
            held: 0,
        };
        for (meta, gauge) in known {
            let key = series_key(&meta.name, &meta.tags, meta.kind);
            a.index.insert(key.into_boxed_slice(), a.slots.len());
            a.slots.push(Slot::new(meta.id, meta.kind, gauge));
            a.next_id = a.next_id.max(meta.id + 1);
        }
        a
    }

    /// Totals so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Number of series known.
    pub fn series(&self) -> usize {
        self.index.len()
    }

    /// Forget series that the store deleted (all their points aged out).
    pub fn forget(&mut self, ids: &[u32]) {
        if ids.is_empty() {
            return;
        }
        let ids: std::collections::HashSet<u32> = ids.iter().copied().collect();
        let slots = &self.slots;
        let free = &mut self.free;
        self.index.retain(|_, &mut i| {
            let keep = slots.get(i).is_none_or(|s| !ids.contains(&s.id));
            if !keep {
                free.push(i);
            }
            keep
        });
    }

    /// Decode one datagram and add its values to the current second.
    pub fn add_datagram(&mut self, datagram: &[u8]) {
        self.counts.datagrams += 1;
        self.counts.bytes += datagram.len() as u64;
        for record in decode(datagram) {
            let line = match record {
                Ok(Record::Metric(line)) => line,
                Ok(Record::Event(_) | Record::ServiceCheck(_)) => {
                    self.counts.events += 1;
                    continue;
                }
                Err(_) => {
                    self.counts.malformed += 1;
                    continue;
                }
            };
            for sample in line.samples() {
                let kind = SeriesKind::of(sample.ty);
                let Some(slot) = self.slot_for(line.name, &sample, kind) else {
                    continue;
                };
                self.counts.values += 1;
                self.add_value(slot, &sample);
            }
        }
    }

    fn add_value(&mut self, i: usize, sample: &realm_metrics::wire::Sample<'_>) {
        let rate = match sample.sample_rate {
            Some(r) if r > 0.0 && r <= 1.0 => r,
            _ => 1.0,
        };
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if !slot.active {
            slot.active = true;
            self.touched.push(i);
        }
        let num = match sample.value {
            SampleValue::Number(n) => Some(n.as_f64()),
            SampleValue::Set(_) => None,
        };
        match (&mut slot.cur, num) {
            (Cur::Counter { sum, count }, Some(v)) => {
                *sum += v / rate;
                *count += 1;
            }
            (Cur::Gauge { min, max, count }, Some(v)) => {
                let g = if sample.delta {
                    slot.gauge.unwrap_or(0.0) + v
                } else {
                    v
                };
                slot.gauge = Some(g);
                *min = min.min(g);
                *max = max.max(g);
                *count += 1;
            }
            (
                Cur::Summary {
                    count,
                    sum,
                    min,
                    max,
                    seen,
                    samples,
                },
                Some(v),
            ) => {
                *count += 1.0 / rate;
                *sum += v;
                *min = min.min(v);
                *max = max.max(v);
                *seen += 1;
                if samples.len() < MAX_SAMPLES && self.held < HELD_BUDGET {
                    samples.push(v);
                    self.held += 1;
                } else {
                    // Reservoir sampling (algorithm R): each value stays with probability
                    // MAX_SAMPLES / seen.
                    self.counts.samples_dropped += 1;
                    self.rng ^= self.rng << 13;
                    self.rng ^= self.rng >> 7;
                    self.rng ^= self.rng << 17;
                    let j = self.rng % *seen;
                    if let Some(s) = usize::try_from(j).ok().and_then(|j| samples.get_mut(j)) {
                        *s = v;
                    }
                }
            }
            (Cur::Set { members, saturated }, _) => {
                let h = match sample.value {
                    SampleValue::Set(m) => member_hash(m.as_bytes()),
                    SampleValue::Number(_) => return,
                };
                if members.len() >= MAX_SET_MEMBERS * 4 {
                    members.sort_unstable();
                    members.dedup();
                }
                if members.len() < MAX_SET_MEMBERS * 4 && self.held < HELD_BUDGET {
                    members.push(h);
                    self.held += 1;
                } else if !members.contains(&h) {
                    *saturated = true;
                    self.counts.set_members_dropped += 1;
                }
            }
            _ => {}
        }
    }

    /// The slot of a series, creating it (within the limits) on first sight.
    fn slot_for(
        &mut self,
        name: &str,
        sample: &realm_metrics::wire::Sample<'_>,
        kind: SeriesKind,
    ) -> Option<usize> {
        let tags = sample.tags();
        self.key.clear();
        self.key.extend_from_slice(name.as_bytes());
        self.key.push(0);
        if !tags.is_empty() {
            let mut list: Vec<(&str, Option<&str>)> = tags.iter().collect();
            list.sort_unstable();
            list.dedup();
            for (n, (k, v)) in list.into_iter().enumerate() {
                if n > 0 {
                    self.key.push(b',');
                }
                self.key.extend_from_slice(k.as_bytes());
                if let Some(v) = v {
                    self.key.push(b'=');
                    self.key.extend_from_slice(v.as_bytes());
                }
                if self.key.len() > MAX_KEY {
                    break;
                }
            }
        }
        self.key.push(0);
        self.key.push(kind as u8);
        if self.key.len() > MAX_KEY {
            self.counts.key_too_long += 1;
            return None;
        }
        if let Some(&i) = self.index.get(self.key.as_slice()) {
            return Some(i);
        }
        if self.index.len() >= self.max_series {
            self.counts.series_dropped += 1;
            return None;
        }
        let tags_text = self
            .key
            .get(name.len() + 1..self.key.len() - 2)
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .unwrap_or_default();
        let (host, metric, version) = match catalog_match(name, sample, None) {
            CatalogMatch::Metric { host, recognized } => (
                host.map(str::to_owned),
                Some(recognized.metric.name().to_owned()),
                recognized.version,
            ),
            _ => (None, None, None),
        };
        let id = self.next_id;
        self.next_id += 1;
        let slot = Slot::new(id, kind, None);
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i) {
                    *s = slot;
                }
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.index.insert(self.key.clone().into_boxed_slice(), i);
        self.new_series.push(SeriesMeta {
            id,
            name: name.to_owned(),
            tags: tags_text,
            kind,
            host,
            metric,
            version,
        });
        Some(i)
    }

    /// Close second `ts`: one point per series that had data, and the series first seen in it.
    pub fn take_second(&mut self, ts: i64) -> SecondBatch {
        self.held = 0;
        let mut points = Vec::with_capacity(self.touched.len());
        for i in self.touched.drain(..) {
            if let Some(slot) = self.slots.get_mut(i) {
                points.push(slot.take_point(ts));
            }
        }
        SecondBatch {
            ts,
            new_series: std::mem::take(&mut self.new_series),
            points,
        }
    }
}

/// The identity of a series in the aggregator's index.
fn series_key(name: &str, tags: &str, kind: SeriesKind) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + tags.len() + 3);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(tags.as_bytes());
    k.push(0);
    k.push(kind as u8);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &str) -> (Aggregator, SecondBatch) {
        let mut a = Aggregator::new(Vec::new(), 1, 100);
        a.add_datagram(lines.as_bytes());
        let b = a.take_second(1000);
        (a, b)
    }

    fn point<'a>(b: &'a SecondBatch, name: &str, kind: SeriesKind) -> &'a Point {
        let id = b
            .new_series
            .iter()
            .find(|s| s.name == name && s.kind == kind)
            .unwrap_or_else(|| panic!("no series {name}"))
            .id;
        b.points.iter().find(|p| p.series == id).unwrap()
    }

    #[test]
    fn counters_sum_with_rates() {
        let (_, b) = run("a:1|c\na:2|c|@0.5\na:3|c:1|c\n");
        assert_eq!(
            point(&b, "a", SeriesKind::Counter).value,
            Some(1.0 + 4.0 + 3.0 + 1.0)
        );
        assert_eq!(point(&b, "a", SeriesKind::Counter).count, Some(4.0));
    }

    #[test]
    fn gauges_follow_etsys_delta_rule() {
        let mut a = Aggregator::new(Vec::new(), 1, 100);
        a.add_datagram(b"g:5|g\ng:+3|g\ng:-10|g\n");
        let b = a.take_second(1);
        let p = point(&b, "g", SeriesKind::Gauge);
        assert_eq!(p.value, Some(-2.0));
        assert_eq!((p.min, p.max), (Some(-2.0), Some(8.0)));
        // The value carries over to the next second: a delta applies to it.
        a.add_datagram(b"g:+2|g\n");
        let b2 = a.take_second(2);
        assert_eq!(b2.points[0].value, Some(0.0));
        // Our encoder's negative absolute value: 0 then -N.
        a.add_datagram(b"g:0|g\ng:-7|g\n");
        assert_eq!(a.take_second(3).points[0].value, Some(-7.0));
        // A second without data has no point.
        assert!(a.take_second(4).points.is_empty());
    }

    #[test]
    fn timers_summarise() {
        let text: String = (1..=100).map(|i| format!("t:{i}|ms\n")).collect();
        let (_, b) = run(&format!("{text}t:1000|ms|@0.5\n"));
        let p = point(&b, "t", SeriesKind::Timer);
        assert_eq!(p.count, Some(102.0));
        assert_eq!(p.sum, Some(5050.0 + 1000.0));
        assert_eq!((p.min, p.max), (Some(1.0), Some(1000.0)));
        // 101 values: ranks round(50.5) = 51, round(90.9) = 91, round(99.99) = 100.
        assert_eq!((p.p50, p.p90, p.p99), (Some(51.0), Some(91.0), Some(100.0)));
        let sketch = Sketch::decode(p.blob.as_deref().unwrap()).unwrap();
        assert_eq!(sketch.count(), 101);
    }

    #[test]
    fn sets_count_distinct_members() {
        let (_, b) = run("s:u1|s\ns:u2|s\ns:u1|s\ns:3|s\n");
        assert_eq!(point(&b, "s", SeriesKind::Set).value, Some(3.0));
    }

    #[test]
    fn series_are_name_tags_and_type() {
        let (a, b) = run("x,b=2,a=1:1|c\nx:1|c|#a:1,b:2\nx:1|g\nx:1|c\n");
        assert_eq!(a.series(), 3);
        let tagged = b.new_series.iter().find(|s| !s.tags.is_empty()).unwrap();
        assert_eq!(tagged.tags, "a=1,b=2");
        assert_eq!(point(&b, "x", SeriesKind::Gauge).value, Some(1.0));
    }

    #[test]
    fn catalog_recognition_on_first_sight() {
        let (_, b) = run("realm.h1.protocol.24.used:1|c\nrealm.h2.connection.online:3|g\n");
        let used = &b.new_series[0];
        assert_eq!(used.host.as_deref(), Some("h1"));
        assert_eq!(used.metric.as_deref(), Some("protocol.<version>.used"));
        assert_eq!(used.version, Some(24));
        assert_eq!(b.new_series[1].metric.as_deref(), Some("connection.online"));
    }

    #[test]
    fn catalog_recognition_with_the_host_as_a_tag() {
        // What the emitter sends with hostname_as_tag: telegraf bucket tags and DogStatsD tags.
        let (_, b) =
            run("realm.connection.online,host=h1:3|g\nrealm.session.failed:1|c|#host:h2\n");
        assert_eq!(b.new_series.len(), 2);
        let (online, failed) = (&b.new_series[0], &b.new_series[1]);
        assert_eq!(online.host.as_deref(), Some("h1"));
        assert_eq!(online.metric.as_deref(), Some("connection.online"));
        assert_eq!(failed.host.as_deref(), Some("h2"));
        assert_eq!(failed.metric.as_deref(), Some("session.failed"));
    }

    #[test]
    fn limits_are_counted() {
        let mut a = Aggregator::new(Vec::new(), 1, 2);
        a.add_datagram(b"a:1|c\nb:1|c\nc:1|c\nc:1|c\nbad\n_e{1,1}:a|b\n");
        let long = format!("{}:1|c", "n".repeat(MAX_KEY + 1));
        a.add_datagram(long.as_bytes());
        let c = a.counts();
        assert_eq!(a.series(), 2);
        assert_eq!(c.series_dropped, 2);
        assert_eq!(c.key_too_long, 1);
        assert_eq!(c.malformed, 1);
        assert_eq!(c.events, 1);
        assert_eq!(c.values, 2);
    }

    #[test]
    fn known_series_keep_ids_and_gauges() {
        let meta = SeriesMeta {
            id: 7,
            name: "g".into(),
            tags: String::new(),
            kind: SeriesKind::Gauge,
            host: None,
            metric: None,
            version: None,
        };
        let mut a = Aggregator::new(vec![(meta, Some(10.0))], 1, 100);
        a.add_datagram(b"g:+5|g\nnew:1|c\n");
        let b = a.take_second(5);
        assert_eq!(b.new_series.len(), 1);
        assert_eq!(b.new_series[0].id, 8);
        let g = b.points.iter().find(|p| p.series == 7).unwrap();
        assert_eq!(g.value, Some(15.0));
        a.forget(&[7]);
        assert_eq!(a.series(), 1);
    }

    #[test]
    fn many_timer_values_stay_bounded() {
        let mut a = Aggregator::new(Vec::new(), 1, 10);
        let text: String = (0..MAX_SAMPLES + 500)
            .map(|i| format!("t:{i}|ms\n"))
            .collect();
        a.add_datagram(text.as_bytes());
        let b = a.take_second(1);
        assert_eq!(b.points[0].count, Some((MAX_SAMPLES + 500) as f64));
        assert_eq!(b.points[0].max, Some((MAX_SAMPLES + 499) as f64));
        assert_eq!(a.counts().samples_dropped, 500);
    }
}
