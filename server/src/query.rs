//! The query API, shared by `GET /api/v1/query`, `GET /api/v1/series` and `realm-metrics query`.
//!
//! Parameters (a URL query string, or the same keys from the command line):
//!
//! | key | meaning |
//! | --- | --- |
//! | `name` | a full bucket name (`realm.h1.connection.online`) |
//! | `metric` | a catalog name (`connection.online`, `protocol.<version>.used`) |
//! | `host`, `kind`, `version` | narrow the series (`kind`: counter, gauge, timer, histogram, distribution, set) |
//! | `from`, `to` | unix seconds, `now` or `now-<duration>` (`now-15m`); default the last 15 minutes |
//! | `step` | seconds or a duration (`1m`); default the finest kept resolution, at most 10,000 points |
//! | `stat` | timers: `count sum min max mean p50 p90 p99` (default `p90`); gauges: `value min max` |
//!
//! Counters give the sum per step, gauges the last value, sets the distinct count. A step with no
//! data is absent. Errors are [`QueryError`]s with an HTTP status (400, 404, 414).

use rusqlite::Connection;
use serde_json::{json, Map, Value};

use crate::agg::{Point, SeriesKind, SeriesMeta};
use crate::store::{self, StoreError, StoredPoint, RESOLUTIONS, TABLES};
use realm_metrics::Metric;

/// The longest query string accepted.
pub const MAX_QUERY_LEN: usize = 4096;
/// Points per series at most.
pub const MAX_POINTS: i64 = 100_000;
/// Points per series when no step is given.
pub const DEFAULT_POINTS: i64 = 10_000;
/// Series per answer at most.
pub const MAX_SERIES: usize = 1000;
/// Points per answer at most (series times steps).
pub const MAX_TOTAL_POINTS: i64 = 2_000_000;
/// The widest range: 400 days.
pub const MAX_RANGE: i64 = 400 * 86_400;
/// The default range: 15 minutes.
pub const DEFAULT_RANGE: i64 = 15 * 60;

/// A bad query or a failed read, with its HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// 400 bad parameter, 404 unknown name, 414 too long, 500 store failure.
    pub status: u16,
    /// What is wrong.
    pub message: String,
}

impl QueryError {
    fn bad(message: impl Into<String>) -> QueryError {
        QueryError {
            status: 400,
            message: message.into(),
        }
    }

    /// The JSON body: `{"error": "..."}`.
    pub fn to_json(&self) -> Value {
        json!({ "error": self.message })
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

impl From<StoreError> for QueryError {
    fn from(e: StoreError) -> Self {
        QueryError {
            status: 500,
            message: e.0,
        }
    }
}

impl From<rusqlite::Error> for QueryError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// Which statistic of a point to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// The kind's own value: counter sum, gauge last, set distinct count, timer p90.
    Default,
    /// Number of values.
    Count,
    /// Sum of values.
    Sum,
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Sum / count.
    Mean,
    /// 50th percentile.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
    /// A gauge's last value.
    Value,
}

impl Stat {
    fn parse(s: &str) -> Option<Stat> {
        Some(match s {
            "count" => Stat::Count,
            "sum" => Stat::Sum,
            "min" => Stat::Min,
            "max" => Stat::Max,
            "mean" => Stat::Mean,
            "p50" => Stat::P50,
            "p90" => Stat::P90,
            "p99" => Stat::P99,
            "value" => Stat::Value,
            _ => return None,
        })
    }

    /// The value of `p` for a series of `kind`. Statistics that a kind does not have give its
    /// default.
    fn of(self, kind: SeriesKind, p: &Point) -> Option<f64> {
        if kind.is_summary() {
            return match self {
                Stat::Count => p.count,
                Stat::Sum => p.sum,
                Stat::Min => p.min,
                Stat::Max => p.max,
                Stat::Mean => match (p.sum, p.count) {
                    (Some(s), Some(c)) if c > 0.0 => Some(s / c),
                    _ => None,
                },
                Stat::P50 => p.p50,
                Stat::P99 => p.p99,
                _ => p.p90,
            };
        }
        match (kind, self) {
            (SeriesKind::Gauge, Stat::Min) => p.min,
            (SeriesKind::Gauge, Stat::Max) => p.max,
            _ => p.value,
        }
    }
}

/// Which series: by full name or by catalog name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// A full bucket name.
    Name(String),
    /// A catalog name.
    Metric(String),
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Which series.
    pub selector: Selector,
    /// Only this host.
    pub host: Option<String>,
    /// Only this kind.
    pub kind: Option<SeriesKind>,
    /// Only this protocol version.
    pub version: Option<u64>,
    /// Range start (inclusive), unix seconds.
    pub from: i64,
    /// Range end (exclusive), unix seconds.
    pub to: i64,
    /// Step, seconds; `None` picks one.
    pub step: Option<i64>,
    /// The statistic.
    pub stat: Stat,
}

/// Parse a duration: `15`, `15s`, `15m`, `2h`, `7d` (seconds; 1 to 400 days).
pub fn parse_duration(s: &str) -> Option<i64> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    let v = n.checked_mul(scale)?;
    (1..=MAX_RANGE).contains(&v).then_some(v)
}

/// Parse a time: unix seconds, `now`, or `now-<duration>`.
pub fn parse_time(s: &str, now: i64) -> Option<i64> {
    if s == "now" {
        return Some(now);
    }
    if let Some(d) = s.strip_prefix("now-") {
        return Some(now - parse_duration(d)?);
    }
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decode `%XX` and `+` in a query string component; `None` when it is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Split a URL query string into decoded `(key, value)` pairs.
pub fn parse_pairs(qs: &str) -> Result<Vec<(String, String)>, QueryError> {
    if qs.len() > MAX_QUERY_LEN {
        return Err(QueryError {
            status: 414,
            message: format!("the query string is longer than {MAX_QUERY_LEN} bytes"),
        });
    }
    qs.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            match (percent_decode(k), percent_decode(v)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(QueryError::bad(
                    "a parameter is not valid percent-encoded UTF-8",
                )),
            }
        })
        .collect()
}

fn catalog_names() -> impl Iterator<Item = &'static str> {
    Metric::ALL.iter().map(|m| m.name())
}

impl Query {
    /// Parse `(key, value)` pairs (from [`parse_pairs`] or the command line) at time `now`.
    pub fn from_pairs(pairs: &[(String, String)], now: i64) -> Result<Query, QueryError> {
        const KEYS: [&str; 9] = [
            "name", "metric", "host", "kind", "version", "from", "to", "step", "stat",
        ];
        let mut vals: [Option<&str>; 9] = [None; 9];
        for (k, v) in pairs {
            let Some(i) = KEYS.iter().position(|x| x == k) else {
                let shown: String = k.chars().take(40).collect();
                return Err(QueryError::bad(format!(
                    "unknown parameter {shown:?} (one of {})",
                    KEYS.join(", ")
                )));
            };
            if vals[i].replace(v.as_str()).is_some() {
                return Err(QueryError::bad(format!("{k} is given twice")));
            }
        }
        let [name, metric, host, kind, version, from, to, step, stat] = vals;
        let text = |key: &str, v: &str| -> Result<String, QueryError> {
            if v.is_empty() || v.len() > 1024 {
                return Err(QueryError::bad(format!("{key} must be 1 to 1024 bytes")));
            }
            Ok(v.to_owned())
        };
        let selector = match (name, metric) {
            (Some(n), None) => Selector::Name(text("name", n)?),
            (None, Some(m)) => {
                if !catalog_names().any(|c| c == m) {
                    return Err(QueryError::bad(format!(
                        "metric: {:?} is not a catalog name (see realm-metrics catalog)",
                        m.chars().take(80).collect::<String>()
                    )));
                }
                Selector::Metric(m.to_owned())
            }
            (Some(_), Some(_)) => return Err(QueryError::bad("give name or metric, not both")),
            (None, None) => return Err(QueryError::bad("name or metric is required")),
        };
        let host = host.map(|h| text("host", h)).transpose()?;
        let kind = kind
            .map(|k| {
                SeriesKind::parse(k).ok_or_else(|| {
                    QueryError::bad(
                        "kind: one of counter, gauge, timer, histogram, distribution, set",
                    )
                })
            })
            .transpose()?;
        let version = version
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| QueryError::bad("version: an unsigned integer"))
            })
            .transpose()?;
        let time = |key: &str, v: &str| {
            parse_time(v, now).ok_or_else(|| {
                QueryError::bad(format!(
                    "{key}: unix seconds, now, or now-<duration> such as now-15m"
                ))
            })
        };
        let to = to.map(|t| time("to", t)).transpose()?.unwrap_or(now);
        let from = from
            .map(|f| time("from", f))
            .transpose()?
            .unwrap_or(to - DEFAULT_RANGE);
        if from >= to {
            return Err(QueryError::bad("from must be before to"));
        }
        if to - from > MAX_RANGE {
            return Err(QueryError::bad("the range is longer than 400 days"));
        }
        let step = step
            .map(|s| {
                parse_duration(s).ok_or_else(|| {
                    QueryError::bad("step: seconds or a duration such as 1m, from 1 s to 400 days")
                })
            })
            .transpose()?;
        if let Some(s) = step {
            if (to - from) / s > MAX_POINTS {
                return Err(QueryError::bad(format!(
                    "step: more than {MAX_POINTS} points; use a larger step"
                )));
            }
        }
        let stat = stat
            .map(|s| {
                Stat::parse(s).ok_or_else(|| {
                    QueryError::bad("stat: one of count, sum, min, max, mean, p50, p90, p99, value")
                })
            })
            .transpose()?
            .unwrap_or(Stat::Default);
        Ok(Query {
            selector,
            host,
            kind,
            version,
            from,
            to,
            step,
            stat,
        })
    }

    /// Parse a URL query string at time `now`.
    pub fn parse(qs: &str, now: i64) -> Result<Query, QueryError> {
        Query::from_pairs(&parse_pairs(qs)?, now)
    }
}

/// The JSON value of a number: an integer when it is one exactly.
pub fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

/// A series row as listed.
struct SeriesRow {
    meta: SeriesMeta,
    first_seen: i64,
    last_seen: i64,
}

impl SeriesRow {
    fn json(&self) -> Map<String, Value> {
        let m = &self.meta;
        let mut o = Map::new();
        o.insert("name".into(), m.name.clone().into());
        o.insert("tags".into(), m.tags.clone().into());
        o.insert("kind".into(), m.kind.as_str().into());
        o.insert("host".into(), m.host.clone().into());
        o.insert("metric".into(), m.metric.clone().into());
        o.insert("version".into(), m.version.into());
        o.insert("first_seen".into(), self.first_seen.into());
        o.insert("last_seen".into(), self.last_seen.into());
        o
    }
}

fn select_series(conn: &Connection, q: Option<&Query>) -> Result<Vec<SeriesRow>, QueryError> {
    let (name, metric) = match q.map(|q| &q.selector) {
        Some(Selector::Name(n)) => (Some(n.as_str()), None),
        Some(Selector::Metric(m)) => (None, Some(m.as_str())),
        None => (None, None),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, tags, kind, host, metric, version, first_seen, last_seen FROM series
         WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR metric = ?2)
           AND (?3 IS NULL OR host = ?3) AND (?4 IS NULL OR kind = ?4)
           AND (?5 IS NULL OR version = ?5)
         ORDER BY name, tags, kind LIMIT ?6",
    )?;
    let limit = if q.is_some() {
        MAX_SERIES + 1
    } else {
        usize::MAX >> 1
    };
    let rows = stmt.query_map(
        rusqlite::params![
            name,
            metric,
            q.and_then(|q| q.host.as_deref()),
            q.and_then(|q| q.kind.map(SeriesKind::as_str)),
            q.and_then(|q| q.version.map(|v| v as i64)),
            limit as i64
        ],
        |r| {
            Ok(SeriesRow {
                meta: store::series_meta(r)?,
                first_seen: r.get(7)?,
                last_seen: r.get(8)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// `GET /api/v1/series`: every series with name, tags, kind, host, metric, version, first and
/// last seen.
pub fn series(conn: &Connection) -> Result<Value, QueryError> {
    let rows = select_series(conn, None)?;
    Ok(json!({ "series": rows.iter().map(|r| Value::Object(r.json())).collect::<Vec<_>>() }))
}

/// The resolution (index into [`RESOLUTIONS`]) and step for a query: the finest resolution
/// whose retention reaches back to `from` and that divides the step.
fn plan(q: &Query, now: i64, retention: [i64; 3]) -> (usize, i64) {
    let covers = |i: usize| q.from >= now - retention[i];
    match q.step {
        Some(step) => {
            let fits = |i: &usize| step % RESOLUTIONS[*i] == 0;
            let level = (0..3)
                .filter(fits)
                .find(|&i| covers(i))
                .or_else(|| (0..3).rev().find(fits))
                .unwrap_or(0);
            (level, step)
        }
        None => {
            let level = (0..3).find(|&i| covers(i)).unwrap_or(2);
            let r = RESOLUTIONS[level];
            let span = q.to - q.from;
            let want = (span + DEFAULT_POINTS - 1) / DEFAULT_POINTS;
            let step = ((want + r - 1) / r).max(1) * r;
            (level, step)
        }
    }
}

/// Run a query against the store at time `now` (the server's clock), with the retention the
/// server recorded in the store.
pub fn run(conn: &Connection, q: &Query, now: i64) -> Result<Value, QueryError> {
    let mut retention = store::StoreOptions::default().retention;
    for (i, key) in ["retention_1s", "retention_1m", "retention_1h"]
        .iter()
        .enumerate()
    {
        if let Some(v) = store::get_meta(conn, key)? {
            retention[i] = v;
        }
    }
    let rows = select_series(conn, Some(q))?;
    if rows.len() > MAX_SERIES {
        return Err(QueryError::bad(format!(
            "more than {MAX_SERIES} series match: narrow with host, kind or version"
        )));
    }
    if rows.is_empty() {
        if let Selector::Name(n) = &q.selector {
            return Err(QueryError {
                status: 404,
                message: format!(
                    "no series named {:?}",
                    n.chars().take(200).collect::<String>()
                ),
            });
        }
    }
    let (level, step) = plan(q, now, retention);
    if rows.len() as i64 * ((q.to - q.from) / step + 1) > MAX_TOTAL_POINTS {
        return Err(QueryError::bad(format!(
            "{} series at this step would be more than {MAX_TOTAL_POINTS} points: use a larger step or narrow with host",
            rows.len()
        )));
    }
    // Read the chosen resolution up to its rollup watermark, then the finer ones (a minute or
    // an hour not rolled up yet is read from the seconds it is made of).
    let from = q.from.div_euclid(step) * step;
    let to = q.to;
    let rolled = [
        None,
        store::get_meta(conn, "rolled_1m")?,
        store::get_meta(conn, "rolled_1h")?,
    ];
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut points: Vec<StoredPoint> = Vec::new();
        let mut start = from;
        for l in (0..=level).rev() {
            let end = match (l, rolled[l]) {
                (0, _) => to,
                (_, Some(w)) => w.clamp(start, to),
                (_, None) => start,
            };
            if end > start {
                points.extend(store::read_points(
                    conn,
                    TABLES[l],
                    Some(row.meta.id),
                    start,
                    end,
                )?);
                start = end;
            }
        }
        let mut series_points = Vec::new();
        for run in
            points.chunk_by(|a, b| a.point.ts.div_euclid(step) == b.point.ts.div_euclid(step))
        {
            let Some(first) = run.first() else { continue };
            let bucket = first.point.ts.div_euclid(step) * step;
            let merged = if run.len() == 1 {
                first.point.clone()
            } else {
                store::merge(row.meta.kind, run.iter().map(|p| &p.point))
            };
            if let Some(v) = q.stat.of(row.meta.kind, &merged).filter(|v| v.is_finite()) {
                series_points.push(json!([bucket, number(v)]));
            }
        }
        let mut m = row.json();
        m.remove("first_seen");
        m.remove("last_seen");
        m.insert("points".into(), Value::Array(series_points));
        out.push(Value::Object(m));
    }
    Ok(json!({ "from": from, "to": to, "step": step, "series": out }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn parse(qs: &str) -> Result<Query, QueryError> {
        Query::parse(qs, NOW)
    }

    #[test]
    fn defaults_and_forms() {
        let q = parse("metric=connection.online").unwrap();
        assert_eq!(q.selector, Selector::Metric("connection.online".into()));
        assert_eq!((q.from, q.to, q.step), (NOW - 900, NOW, None));
        let q =
            parse("name=realm.h%2E1.x&from=now-1h&to=now-30m&step=1m&stat=p99&host=a+b").unwrap();
        assert_eq!(q.selector, Selector::Name("realm.h.1.x".into()));
        assert_eq!((q.from, q.to, q.step), (NOW - 3600, NOW - 1800, Some(60)));
        assert_eq!(q.stat, Stat::P99);
        assert_eq!(q.host.as_deref(), Some("a b"));
        let q = parse("metric=protocol.<version>.used&version=24&from=1000&to=2000&kind=counter")
            .unwrap();
        assert_eq!((q.from, q.to, q.version), (1000, 2000, Some(24)));
    }

    #[test]
    fn bad_parameters_are_400_with_a_message() {
        for qs in [
            "",
            "name=a&metric=connection.online",
            "metric=nope",
            "name=a&from=NaN",
            "name=a&from=now-1y",
            "name=a&to=1&from=2",
            "name=a&from=0&to=99999999999",
            "name=a&step=0",
            "name=a&step=1&from=now-30d",
            "name=a&stat=p42",
            "name=a&kind=bogus",
            "name=a&version=-1",
            "name=a&name=b",
            "name=a&evil=1",
            "name=%ff",
            "name=%zz",
            "name=",
        ] {
            let e = parse(qs).unwrap_err();
            assert_eq!(e.status, 400, "{qs}: {e:?}");
            assert!(!e.message.is_empty());
        }
        let long = format!("name={}", "a".repeat(1 << 20));
        assert_eq!(parse(&long).unwrap_err().status, 414);
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("7d"), Some(7 * 86_400));
        for bad in [
            "",
            "0",
            "m",
            "1.5m",
            "-1",
            "401d",
            "99999999999999999999",
            "1w",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(parse_time("now-1m", 100), Some(40));
        assert_eq!(parse_time("12", 100), Some(12));
        assert_eq!(parse_time("-12", 100), None);
        assert_eq!(parse_time("1e9", 100), None);
    }

    #[test]
    fn the_plan_uses_what_retention_still_has() {
        let ret = [86_400, 30 * 86_400, 365 * 86_400];
        let q = |from: i64, step: Option<i64>| Query {
            selector: Selector::Name("a".into()),
            host: None,
            kind: None,
            version: None,
            from: NOW - from,
            to: NOW,
            step,
            stat: Stat::Default,
        };
        assert_eq!(plan(&q(900, None), NOW, ret), (0, 1));
        assert_eq!(plan(&q(86_400 * 7, None), NOW, ret), (1, 120));
        assert_eq!(plan(&q(3600, Some(10)), NOW, ret), (0, 10));
        assert_eq!(plan(&q(86_400 * 2, Some(60)), NOW, ret), (1, 60));
        assert_eq!(plan(&q(86_400 * 60, Some(3600)), NOW, ret), (2, 3600));
        // 1 s data is gone two days back; a 1 s step still reads the 1 s table (and finds
        // nothing) rather than inventing points.
        assert_eq!(plan(&q(86_400 * 2, Some(1)), NOW, ret), (0, 1));
    }

    proptest::proptest! {
        #[test]
        fn the_parser_never_panics(qs in ".{0,300}") {
            let _ = Query::parse(&qs, NOW);
        }

        #[test]
        fn structured_queries_never_panic(
            keys in proptest::collection::vec(
                proptest::sample::select(vec!["name", "metric", "host", "kind", "version", "from", "to", "step", "stat", "x"]),
                0..6),
            vals in proptest::collection::vec("(now-)?[0-9a-z%.+-]{0,12}", 6)
        ) {
            let qs: Vec<String> = keys.iter().zip(&vals).map(|(k, v)| format!("{k}={v}")).collect();
            if let Ok(q) = Query::parse(&qs.join("&"), NOW) {
                proptest::prop_assert!(q.from < q.to);
                proptest::prop_assert!(q.to - q.from <= MAX_RANGE);
                if let Some(s) = q.step {
                    proptest::prop_assert!(s >= 1 && (q.to - q.from) / s <= MAX_POINTS);
                }
            }
        }
    }
}
