//! The UDP side and the writer:
//!
//! ```text
//! UDP --> ingest thread --+--> --forward (a real statsd daemon)
//!                         +--> live broadcast (pages' WebSockets; a slow page loses, counted)
//!                         +--> Aggregator (1 s buckets) --each second--> writer thread --> Store
//! ```
//!
//! The ingest thread never waits for the store: a second the writer cannot take (its queue of
//! [`WRITER_QUEUE`] seconds is full) is dropped and counted. Seconds are closed by the wall clock;
//! a clock that steps back keeps filling the current second until it passes it.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use tokio::sync::broadcast;

use crate::agg::{Aggregator, Counts, SecondBatch, SeriesMeta};
use crate::alerts::AlertInput;
use crate::store::Store;

/// Seconds of data queued for the writer before the ingest thread drops one.
pub const WRITER_QUEUE: usize = 30;
/// Datagrams queued per page before that page loses the oldest.
pub const LIVE_QUEUE: usize = 256;

/// The current unix second.
pub fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Counters shared by the threads, shown at `/api/v1/status` and on the page.
#[derive(Debug, Default)]
pub struct Stats {
    /// Datagrams received.
    pub datagrams: AtomicU64,
    /// Datagrams that could not be forwarded.
    pub forward_errors: AtomicU64,
    /// Datagrams not forwarded because `--forward` is the listener itself.
    pub forward_loops: AtomicU64,
    /// Datagrams dropped for slow pages (all pages).
    pub live_dropped: AtomicU64,
    /// Seconds written to the store.
    pub seconds_written: AtomicU64,
    /// Points written to the store.
    pub points_written: AtomicU64,
    /// Seconds dropped because the writer fell behind.
    pub seconds_dropped: AtomicU64,
    /// Store write failures.
    pub store_errors: AtomicU64,
    /// Points deleted by retention and the disk cap.
    pub points_deleted: AtomicU64,
    /// Series known.
    pub series: AtomicU64,
    /// HTTP connections refused at the connection cap.
    pub http_refused: AtomicU64,
    /// The aggregator's counts, published once a second.
    pub counts: Mutex<Counts>,
    /// The last store error.
    pub last_store_error: Mutex<Option<String>>,
    /// The alert thread's counters.
    pub alerts: crate::alerts::AlertStats,
}

impl Stats {
    /// The aggregator's counts as last published.
    pub fn counts(&self) -> Counts {
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Everything the ingest thread needs.
#[derive(Debug)]
pub struct Ingest {
    /// The StatsD socket.
    pub udp: UdpSocket,
    /// Where to repeat every datagram.
    pub forward: Option<UdpSocket>,
    /// The aggregator (with the store's series loaded).
    pub agg: Aggregator,
    /// Seconds to the writer.
    pub to_writer: SyncSender<SecondBatch>,
    /// Series the writer deleted.
    pub forgotten: Receiver<Vec<u32>>,
    /// Datagrams to the pages.
    pub live: broadcast::Sender<Bytes>,
    /// Shared counters.
    pub stats: Arc<Stats>,
    /// Set to stop: the current second is closed and handed to the writer.
    pub stop: Arc<AtomicBool>,
}

impl Ingest {
    /// Run until `stop` is set.
    pub fn run(mut self) {
        let _ = self.udp.set_read_timeout(Some(Duration::from_millis(100)));
        let local = self.udp.local_addr().ok();
        let forward_is_self = match (&self.forward, local) {
            (Some(f), Some(l)) => f.peer_addr().ok().is_some_and(|p| {
                p.port() == l.port() && (p.ip() == l.ip() || l.ip().is_unspecified())
            }),
            _ => false,
        };
        // The largest UDP payload: a datagram is never truncated.
        let mut buf = vec![0u8; 65_536];
        let mut second = now_s();
        loop {
            let stopping = self.stop.load(Ordering::Relaxed);
            let received = if stopping {
                None
            } else {
                self.udp.recv(&mut buf).ok()
            };
            // The clock is read after the datagram arrived and before it is counted: a datagram
            // received just after a second boundary belongs to the new second.
            let now = now_s();
            if now > second || stopping {
                let batch = self.agg.take_second(second);
                self.publish();
                match self.to_writer.try_send(batch) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        self.stats.seconds_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                }
                for ids in self.forgotten.try_iter() {
                    self.agg.forget(&ids);
                }
                second = now.max(second + 1);
                if stopping {
                    return;
                }
            }
            if let Some(d) = received.and_then(|n| buf.get(..n)) {
                self.handle(d, forward_is_self);
            }
        }
    }

    fn handle(&mut self, datagram: &[u8], forward_is_self: bool) {
        self.stats.datagrams.fetch_add(1, Ordering::Relaxed);
        if let Some(f) = &self.forward {
            if forward_is_self {
                self.stats.forward_loops.fetch_add(1, Ordering::Relaxed);
            } else if f.send(datagram).is_err() {
                self.stats.forward_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        if self.live.receiver_count() > 0 {
            let _ = self.live.send(Bytes::copy_from_slice(datagram));
        }
        self.agg.add_datagram(datagram);
    }

    fn publish(&self) {
        *self
            .stats
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.agg.counts();
        self.stats
            .series
            .store(self.agg.series() as u64, Ordering::Relaxed);
    }
}

/// The writer loop: one transaction per second, until the ingest side hangs up. A failed write
/// keeps its new series for the next one (their points are lost, and counted).
/// Each second then goes on to the alert thread (`alerts`), written or not.
pub fn write(
    mut store: Store,
    rx: Receiver<SecondBatch>,
    forgotten: mpsc::Sender<Vec<u32>>,
    alerts: SyncSender<AlertInput>,
    stats: &Stats,
) {
    let mut pending: Vec<SeriesMeta> = Vec::new();
    for mut batch in rx {
        if !pending.is_empty() {
            pending.append(&mut batch.new_series);
            batch.new_series = std::mem::take(&mut pending);
        }
        let mut gone = Vec::new();
        match store.write_second(&batch) {
            Ok(outcome) => {
                stats.seconds_written.fetch_add(1, Ordering::Relaxed);
                stats
                    .points_written
                    .fetch_add(batch.points.len() as u64, Ordering::Relaxed);
                stats
                    .points_deleted
                    .fetch_add(outcome.deleted, Ordering::Relaxed);
                if !outcome.forgotten.is_empty() {
                    gone.clone_from(&outcome.forgotten);
                    let _ = forgotten.send(outcome.forgotten);
                }
            }
            Err(e) => {
                stats.store_errors.fetch_add(1, Ordering::Relaxed);
                *stats
                    .last_store_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                pending = batch.new_series.clone();
            }
        }
        let input = AlertInput {
            batch,
            forgotten: gone,
        };
        if alerts.try_send(input).is_err() {
            stats.alerts.seconds_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}
