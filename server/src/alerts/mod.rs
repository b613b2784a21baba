//! Alerts: rules from a TOML file (or the catalog's defaults), evaluated every second against
//! the server's per-second aggregates, with Prometheus' lifecycle (pending, firing, resolved),
//! delivered to Alertmanager (API v2), webhooks (Alertmanager's webhook JSON) and commands.
//!
//! ```text
//! writer thread --each second's batch--> alert thread: Engine::observe --> transitions
//!                                          +--> alerts table (history for the page)
//!                                          +--> notify queue --> tokio tasks: POST / exec
//! ```
//!
//! The engine is pure: its clock is the second of each batch, so tests drive it directly.
//! Delivery never blocks evaluation: a full queue or a busy target drops the notification and
//! counts it.

pub mod notify;
pub mod rules;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::agg::{Point, SecondBatch, SeriesKind, SeriesMeta};
use crate::sketch::Sketch;
pub use rules::{Condition, Func, Notify, Rule, RuleError, Rules, Target, DEFAULTS};

/// Hosts tracked per rule at most; more are counted, not evaluated.
pub const MAX_HOSTS_PER_RULE: usize = 10_000;
/// A firing alert is sent to Alertmanager again this often.
pub const RESEND_EVERY: i64 = 10;
/// The `endsAt` of a firing alert is this far ahead of its last send (Alertmanager resolves it
/// by itself if the server dies).
pub const ENDS_AFTER: i64 = 60;

/// An alert's status in a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Became firing (or is re-sent while firing, see [`Event::resend`]).
    Firing,
    /// Stopped firing.
    Resolved,
}

impl Status {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

/// One alert notification.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Firing or resolved.
    pub status: Status,
    /// Only a repeat of a firing alert for Alertmanager (webhooks and commands get transitions).
    pub resend: bool,
    /// Labels: alertname, host, metric, severity, and the rule's own.
    pub labels: Vec<(String, String)>,
    /// The summary, filled in.
    pub summary: String,
    /// The value that made the condition true (or false, when resolved).
    pub value: f64,
    /// When the condition began to hold (unix s).
    pub starts_at: i64,
    /// When it stopped (resolved) or when Alertmanager should consider it over (firing).
    pub ends_at: i64,
    /// The second of the evaluation.
    pub at: i64,
}

impl Event {
    fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The alert name.
    pub fn name(&self) -> &str {
        self.label("alertname")
    }
    /// The host.
    pub fn host(&self) -> &str {
        self.label("host")
    }
    /// The metric.
    pub fn metric(&self) -> &str {
        self.label("metric")
    }
    /// The severity.
    pub fn severity(&self) -> &str {
        self.label("severity")
    }

    /// A stable id of the label set (Alertmanager's idea of the same alert), 16 hex digits.
    pub fn fingerprint(&self) -> String {
        let mut text = Vec::new();
        for (k, v) in &self.labels {
            text.extend_from_slice(k.as_bytes());
            text.push(0xff);
            text.extend_from_slice(v.as_bytes());
            text.push(0xff);
        }
        format!("{:016x}", crate::sketch::member_hash(&text))
    }

    /// The alert as Alertmanager's API and webhook JSON carry it. `generator` is the page URL
    /// (host and metric are escaped into its query).
    pub fn to_json(&self, generator: &str) -> Value {
        let labels: Map<String, Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        let url = format!(
            "{generator}?host={}&metric={}",
            url_escape(self.host()),
            url_escape(self.metric())
        );
        json!({
            "status": self.status.as_str(),
            "labels": labels,
            "annotations": { "summary": self.summary, "value": crate::query::number(self.value).to_string() },
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "generatorURL": url,
            "fingerprint": self.fingerprint(),
        })
    }
}

/// Percent-encode everything but unreserved characters.
pub fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Unix seconds as RFC 3339 UTC (`2024-01-02T03:04:05Z`).
pub fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Whether `host` matches a glob of `*` (any run) and `?` (one character).
pub fn glob(pattern: &str, host: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let h: Vec<char> = host.chars().collect();
    let (mut pi, mut hi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while hi < h.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some(pi);
                mark = hi;
                pi += 1;
            }
            Some(c) if *c == '?' || *c == h[hi] => {
                pi += 1;
                hi += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    hi = mark;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[derive(Clone, Debug)]
struct Second {
    ts: i64,
    sum: f64,
    min: f64,
    max: f64,
    sketch: Option<Sketch>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Inactive,
    Pending { since: i64 },
    Firing { since: i64, sent: i64 },
}

#[derive(Debug)]
struct HostState {
    seconds: VecDeque<Second>,
    last_seen: i64,
    gauge: Option<f64>,
    state: State,
}

#[derive(Debug)]
struct RuleState {
    rule: Rule,
    hosts: HashMap<String, HostState>,
}

/// What the engine counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineCounts {
    /// Alerts firing now.
    pub firing: u64,
    /// Alerts pending now.
    pub pending: u64,
    /// Hosts not tracked because a rule had [`MAX_HOSTS_PER_RULE`].
    pub hosts_dropped: u64,
}

/// The rule evaluator.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<RuleState>,
    series: HashMap<u32, SeriesMeta>,
    hosts_dropped: u64,
}

impl Engine {
    /// An engine for `rules`, knowing the series already in the store.
    pub fn new(rules: &Rules, known: impl IntoIterator<Item = SeriesMeta>) -> Engine {
        Engine {
            rules: rules
                .rules
                .iter()
                .map(|r| RuleState {
                    rule: r.clone(),
                    hosts: HashMap::new(),
                })
                .collect(),
            series: known.into_iter().map(|m| (m.id, m)).collect(),
            hosts_dropped: 0,
        }
    }

    /// Seed `absent` rules with when each series was last seen (from the store at start): a host
    /// that stopped while the server was down is still reported.
    pub fn seed_last_seen(&mut self, seen: &[(SeriesMeta, i64)]) {
        for rs in &mut self.rules {
            if rs.rule.condition != Condition::Absent {
                continue;
            }
            for (meta, last) in seen {
                if !matches(&rs.rule, meta) || rs.hosts.len() >= MAX_HOSTS_PER_RULE {
                    continue;
                }
                let h = rs
                    .hosts
                    .entry(meta.host.clone().unwrap_or_default())
                    .or_insert(HostState {
                        seconds: VecDeque::new(),
                        last_seen: *last,
                        gauge: None,
                        state: State::Inactive,
                    });
                h.last_seen = h.last_seen.max(*last);
            }
        }
    }

    /// Counts now.
    pub fn counts(&self) -> EngineCounts {
        let mut c = EngineCounts {
            hosts_dropped: self.hosts_dropped,
            ..EngineCounts::default()
        };
        for r in &self.rules {
            for h in r.hosts.values() {
                match h.state {
                    State::Firing { .. } => c.firing += 1,
                    State::Pending { .. } => c.pending += 1,
                    State::Inactive => {}
                }
            }
        }
        c
    }

    /// Forget series the store deleted.
    pub fn forget(&mut self, ids: &[u32]) {
        for id in ids {
            self.series.remove(id);
        }
    }

    /// Take one second of data and evaluate every rule at its second.
    pub fn observe(&mut self, batch: &SecondBatch) -> Vec<Event> {
        for s in &batch.new_series {
            self.series.insert(s.id, s.clone());
        }
        let now = batch.ts;
        // This second's data per rule and host.
        for rs in &mut self.rules {
            let mut here: HashMap<&str, Second> = HashMap::new();
            for p in &batch.points {
                let Some(meta) = self.series.get(&p.series) else {
                    continue;
                };
                if !matches(&rs.rule, meta) {
                    continue;
                }
                let host = meta.host.as_deref().unwrap_or("");
                let e = here.entry(host).or_insert(Second {
                    ts: now,
                    sum: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    sketch: None,
                });
                add_point(e, meta.kind, p);
            }
            for (host, second) in here {
                let len = rs.hosts.len();
                let h = match rs.hosts.get_mut(host) {
                    Some(h) => h,
                    None if len >= MAX_HOSTS_PER_RULE => {
                        self.hosts_dropped += 1;
                        continue;
                    }
                    None => rs.hosts.entry(host.to_owned()).or_insert(HostState {
                        seconds: VecDeque::new(),
                        last_seen: now,
                        gauge: None,
                        state: State::Inactive,
                    }),
                };
                h.last_seen = now;
                if second.min.is_finite() {
                    // Gauges: the second's last value went into `sum` (one series) .
                    h.gauge = Some(second.sum);
                }
                if rs.rule.condition != Condition::Absent {
                    h.seconds.push_back(second);
                }
            }
        }
        let mut events = Vec::new();
        for rs in &mut self.rules {
            let rule = &rs.rule;
            rs.hosts.retain(|host, h| {
                while h.seconds.front().is_some_and(|s| s.ts <= now - rule.window) {
                    h.seconds.pop_front();
                }
                let value = evaluate(rule, h, now);
                let holds = match (rule.condition, value) {
                    (Condition::Absent, Some(v)) => v >= rule.window as f64,
                    (Condition::Compare(_, op, t), Some(v)) => op.holds(v, t),
                    (_, None) => false,
                };
                let v = value.unwrap_or(0.0);
                step(rule, host, h, holds, v, now, &mut events);
                // Forget a quiet host once nothing about it can matter any more.
                h.state != State::Inactive
                    || !h.seconds.is_empty()
                    || now - h.last_seen < rule.window + 3600
            });
        }
        events
    }
}

/// One second for the alert thread: the batch, and series the store forgot.
#[derive(Debug)]
pub struct AlertInput {
    /// The second's data.
    pub batch: SecondBatch,
    /// Series deleted by retention.
    pub forgotten: Vec<u32>,
}

/// The alert thread's counters (in `/api/v1/status`).
#[derive(Debug, Default)]
pub struct AlertStats {
    /// Rules loaded.
    pub rules: AtomicU64,
    /// Alerts firing now.
    pub firing: AtomicU64,
    /// Alerts pending now.
    pub pending: AtomicU64,
    /// Seconds evaluated.
    pub evaluated: AtomicU64,
    /// Seconds not evaluated because the alert thread fell behind.
    pub seconds_dropped: AtomicU64,
    /// Hosts not tracked (a rule's host limit).
    pub hosts_dropped: AtomicU64,
    /// Failed writes of the alert history.
    pub history_errors: AtomicU64,
    /// Delivery.
    pub notify: std::sync::Arc<notify::NotifyStats>,
}

/// The alert thread: evaluate each second, keep the history in the store at `db`, hand events
/// to delivery (`out`; `None` when there is no target). Runs until `rx` closes.
pub fn run(
    mut engine: Engine,
    rx: Receiver<AlertInput>,
    db: &Path,
    out: Option<tokio::sync::mpsc::Sender<Event>>,
    stats: &AlertStats,
) {
    let conn = rusqlite::Connection::open(db).ok();
    if let Some(c) = &conn {
        let _ = c.busy_timeout(Duration::from_secs(5));
        if crate::store::history::close_open(c, crate::ingest::now_s()).is_err() {
            stats.history_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let mut rows: HashMap<(String, String), i64> = HashMap::new();
    for input in rx {
        engine.forget(&input.forgotten);
        let now = input.batch.ts;
        for ev in engine.observe(&input.batch) {
            if !ev.resend {
                let key = (ev.name().to_owned(), ev.host().to_owned());
                let written = conn.as_ref().map(|c| match ev.status {
                    Status::Firing => crate::store::history::fired(c, &ev).map(|id| {
                        rows.insert(key, id);
                    }),
                    Status::Resolved => match rows.remove(&key) {
                        Some(id) => crate::store::history::resolved(c, id, ev.at),
                        None => Ok(()),
                    },
                });
                if !matches!(written, Some(Ok(()))) {
                    stats.history_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Some(out) = &out {
                if out.try_send(ev).is_err() {
                    stats.notify.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if now % 3600 == 0 {
            if let Some(c) = &conn {
                let _ = crate::store::history::prune(c, now - 365 * 86_400);
            }
        }
        let c = engine.counts();
        stats.firing.store(c.firing, Ordering::Relaxed);
        stats.pending.store(c.pending, Ordering::Relaxed);
        stats
            .hosts_dropped
            .store(c.hosts_dropped, Ordering::Relaxed);
        stats.evaluated.fetch_add(1, Ordering::Relaxed);
    }
}

fn matches(rule: &Rule, meta: &SeriesMeta) -> bool {
    let host = meta.host.as_deref().unwrap_or("");
    let kind_ok = |kind: SeriesKind| match rule.condition {
        Condition::Absent => true,
        Condition::Compare(f, _, _) => f.kinds().contains(&kind),
    };
    let what = match &rule.target {
        Target::Catalog(m) => meta.metric.as_deref() == Some(m.name()) && kind_ok(meta.kind),
        Target::Bucket(name) => meta.name == *name && kind_ok(meta.kind),
        Target::AnyMetric => meta.host.is_some(),
    };
    what && glob(&rule.host, host)
}

fn add_point(e: &mut Second, kind: SeriesKind, p: &Point) {
    match kind {
        SeriesKind::Counter => e.sum += p.value.unwrap_or(0.0),
        SeriesKind::Gauge | SeriesKind::Set => {
            let v = p.value.unwrap_or(0.0);
            e.sum += v;
            e.min = e.min.min(p.min.unwrap_or(v));
            e.max = e.max.max(p.max.unwrap_or(v));
        }
        _ => {
            e.min = e.min.min(p.min.unwrap_or(f64::INFINITY));
            e.max = e.max.max(p.max.unwrap_or(f64::NEG_INFINITY));
            if let Some(s) = p.blob.as_deref().and_then(Sketch::decode) {
                e.sketch.get_or_insert_with(Sketch::new).merge(&s);
            }
        }
    }
}

fn evaluate(rule: &Rule, h: &HostState, now: i64) -> Option<f64> {
    let Condition::Compare(f, _, _) = rule.condition else {
        return Some((now - h.last_seen) as f64);
    };
    let secs = &h.seconds;
    match f {
        Func::Increase => Some(secs.iter().map(|s| s.sum).sum()),
        Func::Rate => Some(secs.iter().map(|s| s.sum).sum::<f64>() / rule.window as f64),
        Func::Value => h.gauge,
        Func::Min => secs
            .iter()
            .map(|s| s.min)
            .reduce(f64::min)
            .filter(|v| v.is_finite()),
        Func::Max => secs
            .iter()
            .map(|s| s.max)
            .reduce(f64::max)
            .filter(|v| v.is_finite()),
        Func::P50 | Func::P90 | Func::P99 => {
            let mut all = Sketch::new();
            for s in secs.iter().filter_map(|s| s.sketch.as_ref()) {
                all.merge(s);
            }
            all.percentile(match f {
                Func::P50 => 50.0,
                Func::P90 => 90.0,
                _ => 99.0,
            })
        }
    }
}

fn event(
    rule: &Rule,
    host: &str,
    status: Status,
    value: f64,
    starts: i64,
    ends: i64,
    at: i64,
) -> Event {
    let mut labels = vec![
        ("alertname".to_owned(), rule.name.clone()),
        ("host".to_owned(), host.to_owned()),
        ("metric".to_owned(), rule.metric.clone()),
        ("severity".to_owned(), rule.severity.clone()),
    ];
    labels.extend(rule.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let shown = crate::query::number(value).to_string();
    let summary = rule
        .summary
        .replace("{host}", host)
        .replace("{value}", &shown)
        .replace("{window}", &rules::format_duration(rule.window))
        .replace("{metric}", &rule.metric)
        .replace("{name}", &rule.name);
    Event {
        status,
        resend: false,
        labels,
        summary,
        value,
        starts_at: starts,
        ends_at: ends,
        at,
    }
}

/// The lifecycle: inactive -> pending -> firing -> resolved (-> inactive).
fn step(
    rule: &Rule,
    host: &str,
    h: &mut HostState,
    holds: bool,
    v: f64,
    now: i64,
    out: &mut Vec<Event>,
) {
    h.state = match (h.state, holds) {
        (State::Inactive, true) if rule.for_ == 0 => {
            out.push(event(
                rule,
                host,
                Status::Firing,
                v,
                now,
                now + ENDS_AFTER,
                now,
            ));
            State::Firing {
                since: now,
                sent: now,
            }
        }
        (State::Inactive, true) => State::Pending { since: now },
        (State::Pending { since }, true) if now - since >= rule.for_ => {
            out.push(event(
                rule,
                host,
                Status::Firing,
                v,
                since,
                now + ENDS_AFTER,
                now,
            ));
            State::Firing { since, sent: now }
        }
        (State::Pending { since }, true) => State::Pending { since },
        (State::Firing { since, sent }, true) if now - sent >= RESEND_EVERY => {
            let mut e = event(rule, host, Status::Firing, v, since, now + ENDS_AFTER, now);
            e.resend = true;
            out.push(e);
            State::Firing { since, sent: now }
        }
        (s @ State::Firing { .. }, true) => s,
        (State::Firing { since, .. }, false) => {
            out.push(event(rule, host, Status::Resolved, v, since, now, now));
            State::Inactive
        }
        (_, false) => State::Inactive,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::Aggregator;

    const T: i64 = 1_700_000_000;

    fn engine(src: &str) -> (Engine, Aggregator) {
        let rules = Rules::parse(src).unwrap();
        (
            Engine::new(&rules, Vec::new()),
            Aggregator::new(Vec::new(), 1, 1000),
        )
    }

    fn tick(e: &mut Engine, a: &mut Aggregator, ts: i64, text: &str) -> Vec<Event> {
        a.add_datagram(text.as_bytes());
        e.observe(&a.take_second(ts))
    }

    #[test]
    fn a_burst_fires_at_once_and_resolves_after_the_window() {
        let (mut e, mut a) = engine(
            "[[rule]]\nname = \"AuthFailed\"\nmetric = \"authentication.failed\"\ncondition = \"increase > 0\"\nwindow = \"10s\"\nseverity = \"critical\"\nsummary = \"{host}: {value} in {window}\"\n",
        );
        assert!(tick(&mut e, &mut a, T, "realm.h1.connection.online:3|g").is_empty());
        let ev = tick(
            &mut e,
            &mut a,
            T + 1,
            "realm.h1.authentication.failed:4|c\nrealm.h2.authentication.failed:0|c",
        );
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (ev[0].name(), ev[0].host(), ev[0].severity()),
            ("AuthFailed", "h1", "critical")
        );
        assert_eq!(ev[0].status, Status::Firing);
        assert_eq!(ev[0].summary, "h1: 4 in 10s");
        assert_eq!(e.counts().firing, 1);
        // Still in the window: re-sent to Alertmanager every 10 s only.
        for ts in T + 2..T + 10 {
            assert!(tick(&mut e, &mut a, ts, "").is_empty(), "{ts}");
        }
        // The window [T+1, T+11) ends: resolved.
        let ev = tick(&mut e, &mut a, T + 11, "");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].status, Status::Resolved);
        assert_eq!((ev[0].starts_at, ev[0].ends_at), (T + 1, T + 11));
        assert_eq!(e.counts().firing, 0);
    }

    #[test]
    fn for_keeps_it_pending_and_firing_alerts_are_resent() {
        let (mut e, mut a) = engine(
            "[[rule]]\nname = \"Busy\"\nmetric = \"connection.online\"\ncondition = \"value >= 100\"\nfor = \"3s\"\n",
        );
        assert!(tick(&mut e, &mut a, T, "realm.h.connection.online:150|g").is_empty());
        assert_eq!(e.counts().pending, 1);
        assert!(tick(&mut e, &mut a, T + 1, "").is_empty());
        assert!(tick(&mut e, &mut a, T + 2, "").is_empty());
        let ev = tick(&mut e, &mut a, T + 3, "");
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].starts_at, ev[0].value), (T, 150.0));
        for ts in T + 4..T + 13 {
            assert!(tick(&mut e, &mut a, ts, "").is_empty());
        }
        let ev = tick(&mut e, &mut a, T + 13, "");
        assert!(ev[0].resend && ev[0].status == Status::Firing);
        let ev = tick(&mut e, &mut a, T + 14, "realm.h.connection.online:-60|g");
        assert_eq!(ev[0].status, Status::Resolved);
        // Dropping below before `for` passes never fires.
        tick(&mut e, &mut a, T + 20, "realm.h.connection.online:+100|g");
        let ev = tick(&mut e, &mut a, T + 21, "realm.h.connection.online:0|g");
        assert!(ev.is_empty());
    }

    #[test]
    fn absent_fires_for_a_silent_host_and_resolves_when_it_is_back() {
        let (mut e, mut a) = engine(
            "[[rule]]\nname = \"Gone\"\nmetric = \"*\"\ncondition = \"absent\"\nwindow = \"5s\"\n",
        );
        tick(
            &mut e,
            &mut a,
            T,
            "realm.w1.connection.online:1|g\nrealm.w2.connection.online:1|g\ncustom:1|c",
        );
        for ts in T + 1..T + 5 {
            assert!(tick(&mut e, &mut a, ts, "realm.w1.connection.online:1|g").is_empty());
        }
        let ev = tick(&mut e, &mut a, T + 5, "realm.w1.connection.online:1|g");
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].host(), ev[0].value), ("w2", 5.0));
        let ev = tick(&mut e, &mut a, T + 6, "realm.w2.session.started:1|c");
        assert_eq!((ev[0].host(), ev[0].status), ("w2", Status::Resolved));
    }

    #[test]
    fn absent_knows_hosts_from_before_a_restart() {
        let (mut e, mut a) = engine(
            "[[rule]]\nname = \"Gone\"\nmetric = \"*\"\ncondition = \"absent\"\nwindow = \"5s\"\n",
        );
        let meta = SeriesMeta {
            id: 1,
            name: "realm.old.connection.online".into(),
            tags: String::new(),
            kind: SeriesKind::Gauge,
            host: Some("old".into()),
            metric: Some("connection.online".into()),
            version: None,
        };
        e.seed_last_seen(&[(meta, T - 3)]);
        assert!(tick(&mut e, &mut a, T, "").is_empty());
        let ev = tick(&mut e, &mut a, T + 2, "");
        assert_eq!((ev[0].host(), ev[0].value), ("old", 5.0));
    }

    #[test]
    fn rates_percentiles_globs_and_buckets() {
        let (mut e, mut a) = engine(
            "[[rule]]\nname = \"Fails\"\nmetric = \"connection.failed\"\nhost = \"eu-*\"\ncondition = \"rate > 2\"\nwindow = \"2s\"\n\
             [[rule]]\nname = \"Slow\"\nbucket = \"api.ms\"\ncondition = \"p99 > 100\"\nwindow = \"5s\"\n",
        );
        let ev = tick(
            &mut e,
            &mut a,
            T,
            "realm.eu-1.connection.failed:5|c\nrealm.us-1.connection.failed:50|c",
        );
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].host(), ev[0].value), ("eu-1", 2.5));
        let text: String = (1..=100)
            .map(|i| format!("api.ms:{}|ms\n", i * 2))
            .collect();
        let ev = tick(&mut e, &mut a, T + 1, &text);
        let slow = ev.iter().find(|e| e.name() == "Slow").unwrap();
        assert!((slow.value - 198.0).abs() <= 2.0, "{}", slow.value);
        assert_eq!(slow.host(), "");
    }

    #[test]
    fn helpers() {
        assert!(glob("*", "anything"));
        assert!(glob("eu-*-db", "eu-west-db"));
        assert!(glob("w?", "w1"));
        assert!(!glob("w?", "w10"));
        assert!(!glob("eu-*", "us-1"));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            url_escape("x;touch /tmp/pwned"),
            "x%3Btouch%20%2Ftmp%2Fpwned"
        );
        let e = event(
            &Rules::parse(DEFAULTS).unwrap().rules[0],
            "$(id)\"<b>",
            Status::Firing,
            1.0,
            T,
            T + 60,
            T,
        );
        let j = e.to_json("http://127.0.0.1:1/");
        assert_eq!(j["labels"]["host"], "$(id)\"<b>");
        assert!(j["generatorURL"]
            .as_str()
            .unwrap()
            .contains("host=%24%28id%29%22%3Cb%3E"));
        let text = j.to_string();
        assert!(serde_json::from_str::<Value>(&text).is_ok());
    }
}
