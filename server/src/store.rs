//! The history store: one SQLite file (`metrics.db` under `--data`), WAL, one transaction per
//! second of data.
//!
//! Schema (version 2, in `PRAGMA user_version`; plain so that operators can read it with
//! `sqlite3`):
//!
//! ```sql
//! series(id INTEGER PRIMARY KEY, name, tags, kind, host, metric, version, first_seen, last_seen)
//! points_1s / points_1m / points_1h(series, ts, value, count, sum, min, max, p50, p90, p99, blob,
//!                                   PRIMARY KEY (series, ts)) WITHOUT ROWID
//! meta(key TEXT PRIMARY KEY, value INTEGER)   -- rollup watermarks, eviction cut-offs
//! alerts(id, rule, host, metric, severity, summary, value, started_at, fired_at, resolved_at)
//! ```
//!
//! Rollups: when a minute (an hour) is complete, its 1 s (1 min) points are merged into one point
//! per series, in the same transaction as the second that completed it, with a watermark in
//! `meta`; a restart goes on from the watermark. Retention deletes points older than each
//! resolution's horizon once a minute, and `max_disk` evicts the oldest points of the finest
//! resolution first (the coarser ones still summarise them), then the next.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use crate::agg::{Known, Point, SecondBatch, SeriesKind, SeriesMeta};
use crate::sketch::{MemberSet, Sketch};

/// The resolutions kept, in seconds.
pub const RESOLUTIONS: [i64; 3] = [1, 60, 3600];
/// Their tables.
pub const TABLES: [&str; 3] = ["points_1s", "points_1m", "points_1h"];
/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;
/// The file name under the data directory.
pub const FILE_NAME: &str = "metrics.db";

/// A store error: SQLite's, with what was being done.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(format!("store: {e}"))
    }
}

/// How long each resolution is kept, and the disk cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Seconds kept at 1 s, 1 min and 1 h resolution.
    pub retention: [i64; 3],
    /// Bytes of database pages at most (the write-ahead log comes on top, a few MB).
    pub max_disk: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            retention: [24 * 3600, 30 * 24 * 3600, 365 * 24 * 3600],
            max_disk: None,
        }
    }
}

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    "CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        tags TEXT NOT NULL,
        kind TEXT NOT NULL,
        host TEXT,
        metric TEXT,
        version INTEGER,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        UNIQUE (name, tags, kind)
    );
    CREATE INDEX series_host ON series (host);
    CREATE INDEX series_metric ON series (metric);
    CREATE TABLE points_1s (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, count REAL,
        sum REAL, min REAL, max REAL, p50 REAL, p90 REAL, p99 REAL, blob BLOB,
        PRIMARY KEY (series, ts)) WITHOUT ROWID;
    CREATE TABLE points_1m (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, count REAL,
        sum REAL, min REAL, max REAL, p50 REAL, p90 REAL, p99 REAL, blob BLOB,
        PRIMARY KEY (series, ts)) WITHOUT ROWID;
    CREATE TABLE points_1h (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, count REAL,
        sum REAL, min REAL, max REAL, p50 REAL, p90 REAL, p99 REAL, blob BLOB,
        PRIMARY KEY (series, ts)) WITHOUT ROWID;
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    // 1 -> 2: alert history.
    "CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        host TEXT NOT NULL,
        metric TEXT NOT NULL,
        severity TEXT NOT NULL,
        summary TEXT NOT NULL,
        value REAL,
        started_at INTEGER NOT NULL,
        fired_at INTEGER NOT NULL,
        resolved_at INTEGER
    );
    CREATE INDEX alerts_fired ON alerts (fired_at);",
];

/// Set the pragmas every connection needs.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(())
}

/// Open the data file read-only (for queries: works while a server writes it).
pub fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError(format!("no store at {}", path.display())));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v != SCHEMA_VERSION {
        return Err(StoreError(format!(
            "{}: schema version {v}, this build reads {SCHEMA_VERSION}",
            path.display()
        )));
    }
    Ok(conn)
}

/// The writer's side of the store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    marks: Marks,
}

/// The writer's bookkeeping (mirrored in `meta`).
#[derive(Clone, Debug)]
struct Marks {
    opts: StoreOptions,
    /// Per rollup level (1 min, 1 h): the start of the next bucket to roll.
    rolled: [i64; 2],
    /// Per table: the newest ts written (`i64::MIN` when none).
    newest: [i64; 3],
    last_maintenance: i64,
}

/// What a write did beyond writing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Series deleted because all their points aged out.
    pub forgotten: Vec<u32>,
    /// Points deleted by retention or the disk cap.
    pub deleted: u64,
}

impl Store {
    /// Open (or create) the store at `path`, migrating an older schema.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        configure(&conn)?;
        // auto_vacuum applies only before the first table: then the disk cap can give pages
        // back to the file system.
        conn.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             PRAGMA journal_size_limit = 16777216;",
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError(format!(
                "{}: schema version {version} is newer than this build's {SCHEMA_VERSION}",
                path.display()
            )));
        }
        for (v, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", v + 1))?;
            tx.commit()?;
        }
        let mut store = Store {
            conn,
            marks: Marks {
                opts,
                rolled: [i64::MIN; 2],
                newest: [i64::MIN; 3],
                last_maintenance: i64::MIN,
            },
        };
        for (i, key) in ["rolled_1m", "rolled_1h"].iter().enumerate() {
            if let Some(v) = get_meta(&store.conn, key)? {
                store.marks.rolled[i] = v;
            }
        }
        for (i, key) in ["newest_1s", "newest_1m", "newest_1h"].iter().enumerate() {
            if let Some(v) = get_meta(&store.conn, key)? {
                store.marks.newest[i] = v;
            }
        }
        for (i, key) in ["retention_1s", "retention_1m", "retention_1h"]
            .iter()
            .enumerate()
        {
            store.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, opts.retention[i]],
            )?;
        }
        // A crash loses the in-memory last_seen of at most a second; points know better.
        store.conn.execute(
            "UPDATE series SET last_seen = max(last_seen,
                 coalesce((SELECT max(ts) FROM points_1s WHERE series = series.id), last_seen))",
            [],
        )?;
        Ok(store)
    }

    /// The series seen since `since`, with when they were last seen.
    pub fn seen_since(&self, since: i64) -> Result<Vec<(SeriesMeta, i64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, tags, kind, host, metric, version, last_seen FROM series
             WHERE last_seen >= ?1",
        )?;
        let rows = stmt.query_map([since], |r| Ok((series_meta(r)?, r.get(7)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The series in the store, each with a gauge's last value, and the next free id.
    pub fn load_series(&self) -> Result<(Vec<Known>, u32), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, tags, kind, host, metric, version,
               CASE kind WHEN 'gauge' THEN coalesce(
                 (SELECT value FROM points_1s p WHERE p.series = s.id ORDER BY ts DESC LIMIT 1),
                 (SELECT value FROM points_1m p WHERE p.series = s.id ORDER BY ts DESC LIMIT 1),
                 (SELECT value FROM points_1h p WHERE p.series = s.id ORDER BY ts DESC LIMIT 1)) END
             FROM series s ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| Ok((series_meta(r)?, r.get::<_, Option<f64>>(7)?)))?;
        let known = rows.collect::<Result<Vec<_>, _>>()?;
        let next = known.iter().map(|(m, _)| m.id + 1).max().unwrap_or(1);
        Ok((known, next))
    }

    /// Write one second (and, when it completes a minute or an hour, the rollups; once a minute,
    /// retention and the disk cap), in one transaction. `batch.ts` is the clock: the store never
    /// reads the system time.
    pub fn write_second(&mut self, batch: &SecondBatch) -> Result<WriteOutcome, StoreError> {
        // A failed transaction rolls back: so do the marks it moved.
        let saved = self.marks.clone();
        let r = self.write_second_tx(batch);
        if r.is_err() {
            self.marks = saved;
        }
        r
    }

    fn write_second_tx(&mut self, batch: &SecondBatch) -> Result<WriteOutcome, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let marks = &mut self.marks;
        {
            let mut add = tx.prepare_cached(
                "INSERT OR IGNORE INTO series (id, name, tags, kind, host, metric, version, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )?;
            for s in &batch.new_series {
                add.execute(params![
                    s.id,
                    s.name,
                    s.tags,
                    s.kind.as_str(),
                    s.host,
                    s.metric,
                    s.version.map(|v| v as i64),
                    batch.ts
                ])?;
            }
            let mut seen = tx.prepare_cached("UPDATE series SET last_seen = ?2 WHERE id = ?1")?;
            for p in &batch.points {
                seen.execute(params![p.series, batch.ts])?;
            }
        }
        insert_points(&tx, TABLES[0], &batch.points)?;
        if !batch.points.is_empty() {
            marks.newest[0] = marks.newest[0].max(batch.ts);
            set_meta(&tx, "newest_1s", marks.newest[0])?;
        }
        // Everything before ts + 1 is written: buckets that end by then are complete.
        let complete = batch.ts + 1;
        for level in 1..=2 {
            marks.roll_up(&tx, level, complete)?;
        }
        let mut outcome = WriteOutcome::default();
        if marks.last_maintenance == i64::MIN || batch.ts >= marks.last_maintenance + 60 {
            marks.last_maintenance = batch.ts;
            outcome = marks.maintain(&tx, batch.ts)?;
        }
        tx.commit()?;
        if outcome.deleted > 0 {
            // Give freed pages back to the file system (auto_vacuum = INCREMENTAL).
            self.conn.execute_batch("PRAGMA incremental_vacuum")?;
        }
        Ok(outcome)
    }

    /// The connection (for tests and the status page).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl Marks {
    /// Roll every complete bucket of `level` (1: 1 min from 1 s, 2: 1 h from 1 min).
    fn roll_up(
        &mut self,
        tx: &Transaction<'_>,
        level: usize,
        complete: i64,
    ) -> Result<(), StoreError> {
        let r = RESOLUTIONS[level];
        let slot = level - 1;
        let src_newest = self.newest[level - 1];
        if src_newest == i64::MIN {
            return Ok(());
        }
        if self.rolled[slot] == i64::MIN {
            self.rolled[slot] = src_newest.div_euclid(r) * r;
        }
        let mut changed = false;
        while self.rolled[slot] + r <= complete {
            let bucket = self.rolled[slot];
            if src_newest < bucket {
                // Nothing written since: skip to the current bucket without visiting each.
                self.rolled[slot] = complete.div_euclid(r) * r;
                changed = true;
                break;
            }
            let points = read_points(tx, TABLES[level - 1], None, bucket, bucket + r)?;
            let merged = merge_by_series(&points, bucket);
            if !merged.is_empty() {
                insert_points(tx, TABLES[level], &merged)?;
                self.newest[level] = self.newest[level].max(bucket);
                set_meta(
                    tx,
                    ["newest_1s", "newest_1m", "newest_1h"][level],
                    self.newest[level],
                )?;
            }
            self.rolled[slot] = bucket + r;
            changed = true;
        }
        if changed {
            set_meta(tx, ["rolled_1m", "rolled_1h"][slot], self.rolled[slot])?;
        }
        Ok(())
    }

    /// Retention, the disk cap, and series with nothing left.
    fn maintain(&mut self, tx: &Transaction<'_>, now: i64) -> Result<WriteOutcome, StoreError> {
        let mut out = WriteOutcome::default();
        for (i, table) in TABLES.iter().enumerate() {
            let cutoff = now - self.opts.retention[i];
            out.deleted += delete_before(tx, table, cutoff)?;
        }
        if let Some(max) = self.opts.max_disk {
            out.deleted += self.evict(tx, max, now)?;
        }
        let horizon = now - self.opts.retention.iter().max().copied().unwrap_or(0) - 3600;
        let mut stmt = tx.prepare_cached("SELECT id FROM series WHERE last_seen < ?1")?;
        let old: Vec<u32> = stmt
            .query_map([horizon], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &old {
            let mut left = 0i64;
            for table in TABLES {
                left += tx.query_row(
                    &format!("SELECT count(*) FROM {table} WHERE series = ?1"),
                    [id],
                    |r| r.get::<_, i64>(0),
                )?;
            }
            if left == 0 {
                tx.execute("DELETE FROM series WHERE id = ?1", [id])?;
                out.forgotten.push(*id);
            }
        }
        Ok(out)
    }

    /// Evict the oldest points, finest resolution first, until the pages in use fit `max`.
    fn evict(&mut self, tx: &Transaction<'_>, max: u64, now: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for (i, table) in TABLES.iter().enumerate() {
            let key = ["evicted_1s", "evicted_1m", "evicted_1h"][i];
            loop {
                if used_bytes(tx)? <= max {
                    return Ok(deleted);
                }
                let oldest = get_meta(tx, key)?
                    .unwrap_or(i64::MIN)
                    .max(now - self.opts.retention[i]);
                let newest = self.newest[i];
                if newest == i64::MIN || oldest > newest {
                    break;
                }
                // A tenth of what is left, at least one bucket of this resolution.
                let step = ((newest - oldest) / 10).max(RESOLUTIONS[i]);
                let cutoff = oldest.saturating_add(step);
                deleted += delete_before(tx, table, cutoff)?;
                set_meta(tx, key, cutoff)?;
            }
        }
        Ok(deleted)
    }
}

/// A series from the first seven columns of a row: id, name, tags, kind, host, metric, version.
pub fn series_meta(r: &rusqlite::Row<'_>) -> rusqlite::Result<SeriesMeta> {
    let kind: String = r.get(3)?;
    Ok(SeriesMeta {
        id: r.get(0)?,
        name: r.get(1)?,
        tags: r.get(2)?,
        kind: SeriesKind::parse(&kind).unwrap_or(SeriesKind::Counter),
        host: r.get(4)?,
        metric: r.get(5)?,
        version: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
    })
}

/// A value of the `meta` table (watermarks, retention, cut-offs).
pub fn get_meta(conn: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(tx: &Transaction<'_>, key: &str, value: i64) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

/// Bytes of database pages in use (free pages excluded).
pub fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(((pages - free).max(0) * size) as u64)
}

fn delete_before(tx: &Transaction<'_>, table: &str, cutoff: i64) -> Result<u64, StoreError> {
    // `series IN (...)` lets SQLite use the (series, ts) key for each series.
    let n = tx
        .prepare_cached(&format!(
            "DELETE FROM {table} WHERE series IN (SELECT id FROM series) AND ts < ?1"
        ))?
        .execute([cutoff])?;
    Ok(n as u64)
}

fn insert_points(tx: &Transaction<'_>, table: &str, points: &[Point]) -> Result<(), StoreError> {
    if points.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {table} (series, ts, value, count, sum, min, max, p50, p90, p99, blob)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?;
    for p in points {
        stmt.execute(params![
            p.series, p.ts, p.value, p.count, p.sum, p.min, p.max, p.p50, p.p90, p.p99, p.blob
        ])?;
    }
    Ok(())
}

/// A point with its series' kind, as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPoint {
    /// The series' type.
    pub kind: SeriesKind,
    /// The point.
    pub point: Point,
}

/// Points of `table` with `from <= ts < to`, of one series or all, ordered by series then ts.
pub fn read_points(
    conn: &Connection,
    table: &str,
    series: Option<u32>,
    from: i64,
    to: i64,
) -> Result<Vec<StoredPoint>, StoreError> {
    let sql = format!(
        "SELECT p.series, s.kind, p.ts, p.value, p.count, p.sum, p.min, p.max, p.p50, p.p90, p.p99, p.blob
         FROM {table} p JOIN series s ON s.id = p.series
         WHERE p.series IN (SELECT id FROM series WHERE ?1 IS NULL OR id = ?1)
           AND p.ts >= ?2 AND p.ts < ?3
         ORDER BY p.series, p.ts"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![series, from, to], |r| {
        let kind: String = r.get(1)?;
        Ok(StoredPoint {
            kind: SeriesKind::parse(&kind).unwrap_or(SeriesKind::Counter),
            point: Point {
                series: r.get(0)?,
                ts: r.get(2)?,
                value: r.get(3)?,
                count: r.get(4)?,
                sum: r.get(5)?,
                min: r.get(6)?,
                max: r.get(7)?,
                p50: r.get(8)?,
                p90: r.get(9)?,
                p99: r.get(10)?,
                blob: r.get(11)?,
            },
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Merge points (ordered by series, then ts) into one point per series at `ts`.
fn merge_by_series(points: &[StoredPoint], ts: i64) -> Vec<Point> {
    points
        .chunk_by(|a, b| a.point.series == b.point.series)
        .filter_map(|run| {
            let kind = run.first()?.kind;
            let mut p = merge(kind, run.iter().map(|s| &s.point));
            p.ts = ts;
            Some(p)
        })
        .collect()
}

fn opt_sum(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

fn opt_fold(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// Merge the points of one series (in time order) into one: counters sum, gauges keep the last
/// value (and the extremes), summaries add counts and sums and merge sketches, sets unite their
/// members. `series` and `ts` come from the first point.
pub fn merge<'a>(kind: SeriesKind, points: impl Iterator<Item = &'a Point>) -> Point {
    let mut out: Option<Point> = None;
    let mut sketch: Option<Sketch> = None;
    let mut members: Option<MemberSet> = None;
    for p in points {
        if kind.is_summary() {
            if let Some(s) = p.blob.as_deref().and_then(Sketch::decode) {
                sketch.get_or_insert_with(Sketch::new).merge(&s);
            }
        } else if kind == SeriesKind::Set {
            if let Some(s) = p.blob.as_deref().and_then(MemberSet::decode) {
                members.get_or_insert_with(MemberSet::default).merge(&s);
            }
        }
        let Some(o) = &mut out else {
            out = Some(Point {
                blob: None,
                ..p.clone()
            });
            continue;
        };
        o.count = opt_sum(o.count, p.count);
        o.sum = opt_sum(o.sum, p.sum);
        o.min = opt_fold(o.min, p.min, f64::min);
        o.max = opt_fold(o.max, p.max, f64::max);
        o.value = match kind {
            SeriesKind::Counter => opt_sum(o.value, p.value),
            _ => p.value.or(o.value),
        };
    }
    let mut out = out.unwrap_or_default();
    if let Some(s) = sketch {
        out.p50 = s.percentile(50.0);
        out.p90 = s.percentile(90.0);
        out.p99 = s.percentile(99.0);
        out.blob = Some(s.encode());
    }
    if let Some(m) = members {
        out.value = Some(m.len() as f64);
        out.blob = Some(m.encode());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_used_for_deletes_and_reads() {
        let dir = crate::testutil::TempDir::new("plan");
        let store = Store::open(&dir.path().join(FILE_NAME), StoreOptions::default()).unwrap();
        for sql in [
            "EXPLAIN QUERY PLAN DELETE FROM points_1s WHERE series IN (SELECT id FROM series) AND ts < 5",
            "EXPLAIN QUERY PLAN SELECT * FROM points_1s p WHERE p.series IN (SELECT id FROM series WHERE NULL IS NULL OR id = NULL) AND p.ts >= 1 AND p.ts < 2",
        ] {
            let plan: Vec<String> = store
                .connection()
                .prepare(sql)
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let plan = plan.join("; ");
            assert!(
                plan.contains("SEARCH") && plan.contains("series=? AND ts"),
                "{sql}: {plan}"
            );
        }
    }
}

/// Alert history: the writes of the alert thread (its own connection) and the API's read.
pub mod history {
    use rusqlite::{params, Connection};
    use serde_json::{json, Value};

    use super::StoreError;
    use crate::alerts::Event;

    /// Alerts listed as recent.
    pub const RECENT: i64 = 100;

    /// Close alerts a previous run left firing (their state is gone with it).
    pub fn close_open(conn: &Connection, at: i64) -> Result<usize, StoreError> {
        Ok(conn.execute(
            "UPDATE alerts SET resolved_at = ?1 WHERE resolved_at IS NULL",
            [at],
        )?)
    }

    /// Record a firing alert; returns its row id.
    pub fn fired(conn: &Connection, ev: &Event) -> Result<i64, StoreError> {
        conn.execute(
            "INSERT INTO alerts (rule, host, metric, severity, summary, value, started_at, fired_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                ev.name(),
                ev.host(),
                ev.metric(),
                ev.severity(),
                ev.summary,
                ev.value,
                ev.starts_at,
                ev.at
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Record that the alert of row `id` resolved.
    pub fn resolved(conn: &Connection, id: i64, at: i64) -> Result<(), StoreError> {
        conn.execute(
            "UPDATE alerts SET resolved_at = ?2 WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    /// Delete alerts resolved before `cutoff`.
    pub fn prune(conn: &Connection, cutoff: i64) -> Result<usize, StoreError> {
        Ok(conn.execute(
            "DELETE FROM alerts WHERE resolved_at IS NOT NULL AND resolved_at < ?1",
            [cutoff],
        )?)
    }

    /// `GET /api/v1/alerts`: `{"firing": [...], "recent": [...]}`, newest first.
    pub fn list(conn: &Connection) -> Result<Value, StoreError> {
        let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Value> {
            Ok(json!({
                "rule": r.get::<_, String>(0)?,
                "host": r.get::<_, String>(1)?,
                "metric": r.get::<_, String>(2)?,
                "severity": r.get::<_, String>(3)?,
                "summary": r.get::<_, String>(4)?,
                "value": r.get::<_, Option<f64>>(5)?.map(crate::query::number),
                "started_at": r.get::<_, i64>(6)?,
                "fired_at": r.get::<_, i64>(7)?,
                "resolved_at": r.get::<_, Option<i64>>(8)?,
            }))
        };
        let cols =
            "rule, host, metric, severity, summary, value, started_at, fired_at, resolved_at";
        let firing = conn
            .prepare_cached(&format!(
                "SELECT {cols} FROM alerts WHERE resolved_at IS NULL ORDER BY fired_at DESC, id DESC LIMIT 1000"
            ))?
            .query_map([], row)?
            .collect::<Result<Vec<_>, _>>()?;
        let recent = conn
            .prepare_cached(&format!(
                "SELECT {cols} FROM alerts ORDER BY fired_at DESC, id DESC LIMIT {RECENT}"
            ))?
            .query_map([], row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({ "firing": firing, "recent": recent }))
    }
}
