//! Delivery: Alertmanager (`POST /api/v2/alerts`), webhooks (Alertmanager's webhook JSON) and
//! commands (argv, never a shell; the alert's JSON on stdin and `REALM_ALERT_*` variables).
//!
//! Each delivery is a task: retries with backoff ([`FIRST_BACKOFF`] doubling to
//! [`MAX_BACKOFF`]) until [`DEADLINE`], each attempt bounded by [`ATTEMPT_TIMEOUT`]. At most
//! [`IN_FLIGHT`] deliveries per target at once; past that a notification is dropped and counted,
//! so a dead or slow target costs bounded memory and never delays evaluation or ingest.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Semaphore};

use super::{Event, Notify};

/// One attempt's deadline.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Give up on a notification after this.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// The first retry waits this long.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Retries wait at most this long.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Deliveries in flight per target.
pub const IN_FLIGHT: usize = 16;
/// A command must finish within this; it is killed after.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(10);
/// Notifications queued between the alert thread and delivery.
pub const QUEUE: usize = 1024;

/// Delivery counters.
#[derive(Debug, Default)]
pub struct NotifyStats {
    /// Deliveries that succeeded.
    pub sent: AtomicU64,
    /// Attempts that failed and were retried.
    pub retries: AtomicU64,
    /// Notifications given up after the deadline.
    pub failed: AtomicU64,
    /// Notifications dropped: the queue was full or a target had too many in flight.
    pub dropped: AtomicU64,
    /// Commands run.
    pub exec_runs: AtomicU64,
    /// Commands that failed (exit status, timeout, could not start).
    pub exec_failed: AtomicU64,
}

struct Target {
    notify: Notify,
    slots: Arc<Semaphore>,
}

/// Deliver every event from `rx` to every target until `rx` closes. `page` is the dashboard URL
/// (the alerts' generatorURL and the webhook's externalURL).
pub async fn deliver(
    mut rx: mpsc::Receiver<Event>,
    targets: Vec<Notify>,
    page: String,
    stats: Arc<NotifyStats>,
) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(4)
        .build_http();
    let targets: Vec<Target> = targets
        .into_iter()
        .map(|notify| Target {
            notify,
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
        })
        .collect();
    while let Some(ev) = rx.recv().await {
        for t in &targets {
            if ev.resend && !matches!(t.notify, Notify::Alertmanager(_)) {
                continue;
            }
            let Ok(slot) = Arc::clone(&t.slots).try_acquire_owned() else {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let stats = Arc::clone(&stats);
            let alert = ev.to_json(&page);
            match &t.notify {
                Notify::Alertmanager(base) => {
                    let url = format!("{base}/api/v2/alerts");
                    let body = Value::Array(vec![alert]).to_string();
                    let client = client.clone();
                    tokio::spawn(async move {
                        post_with_retries(&client, &url, body, &stats).await;
                        drop(slot);
                    });
                }
                Notify::Webhook(url) => {
                    let body = webhook_body(&ev, alert, &page).to_string();
                    let (client, url) = (client.clone(), url.clone());
                    tokio::spawn(async move {
                        post_with_retries(&client, &url, body, &stats).await;
                        drop(slot);
                    });
                }
                Notify::Exec(argv) => {
                    let argv = argv.clone();
                    let ev = ev.clone();
                    tokio::spawn(async move {
                        run_command(&argv, &ev, alert.to_string(), &stats).await;
                        drop(slot);
                    });
                }
            }
        }
    }
}

/// Alertmanager's webhook JSON (version 4) for one alert.
pub fn webhook_body(ev: &Event, alert: Value, page: &str) -> Value {
    let labels = alert["labels"].clone();
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname={:?}}}", ev.name()),
        "truncatedAlerts": 0,
        "status": ev.status.as_str(),
        "receiver": "realm-metrics",
        "groupLabels": { "alertname": ev.name() },
        "commonLabels": labels,
        "commonAnnotations": alert["annotations"].clone(),
        "externalURL": page,
        "alerts": [alert],
    })
}

async fn post_once<C>(
    client: &Client<C, Full<Bytes>>,
    url: &str,
    body: &str,
    timeout: Duration,
) -> Result<(), String>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let req = hyper::Request::post(url)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("realm-metrics/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(timeout, client.request(req))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", resp.status()))
    }
}

async fn post_with_retries<C>(
    client: &Client<C, Full<Bytes>>,
    url: &str,
    body: String,
    stats: &NotifyStats,
) where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let start = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        // No attempt runs past the deadline.
        let left = DEADLINE.saturating_sub(start.elapsed());
        if post_once(client, url, &body, ATTEMPT_TIMEOUT.min(left))
            .await
            .is_ok()
        {
            stats.sent.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if start.elapsed() + backoff >= DEADLINE {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        stats.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Run `argv` once for `ev`: no shell, the alert's JSON on stdin, `REALM_ALERT_*` in the
/// environment, killed after [`EXEC_TIMEOUT`].
async fn run_command(argv: &[String], ev: &Event, stdin_json: String, stats: &NotifyStats) {
    stats.exec_runs.fetch_add(1, Ordering::Relaxed);
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .env("REALM_ALERT_NAME", ev.name())
        .env("REALM_ALERT_STATUS", ev.status.as_str())
        .env("REALM_ALERT_HOST", ev.host())
        .env("REALM_ALERT_METRIC", ev.metric())
        .env(
            "REALM_ALERT_VALUE",
            crate::query::number(ev.value).to_string(),
        )
        .env("REALM_ALERT_SEVERITY", ev.severity())
        .env("REALM_ALERT_SUMMARY", &ev.summary)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(mut child) = child else {
        stats.exec_failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    // One deadline for writing the input (a command may never read it) and for its exit.
    let deadline = tokio::time::Instant::now() + EXEC_TIMEOUT;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = tokio::time::timeout_at(deadline, stdin.write_all(stdin_json.as_bytes())).await;
    }
    match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) if status.success() => {}
        Ok(_) => {
            stats.exec_failed.fetch_add(1, Ordering::Relaxed);
        }
        Err(_) => {
            let _ = child.kill().await;
            stats.exec_failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
