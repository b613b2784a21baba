//! HTTP on axum (hyper, tokio): the page and its files (from memory: no path reaches the file
//! system), the live WebSocket, and the JSON API.
//!
//! Every request must name this server in `Host` (no DNS rebinding), the WebSocket must come from
//! the page's own `Origin`, and the page gets a strict CSP. Slow and idle clients cannot hold the
//! server: a connection must send a complete request head within [`HEADER_TIMEOUT`] (the same
//! deadline applies while it idles between requests), every request has [`REQUEST_TIMEOUT`],
//! there are at most [`MAX_CONNECTIONS`] connections ([`CONNECTIONS_PER_ADDRESS`] per client
//! address) and [`MAX_PAGES`] WebSockets ([`PAGES_PER_ADDRESS`] per address), and a page that
//! stops reading loses datagrams (counted) instead of growing a buffer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rusqlite::Connection;
use serde_json::{json, Value};
use tokio::sync::{broadcast, Semaphore};
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;

use crate::assets::Files;
use crate::ingest::{now_s, Stats};
use crate::query::{self, Query, QueryError};
use crate::store;

/// Connections served at once; more are closed at once (and counted).
pub const MAX_CONNECTIONS: usize = 1024;
/// WebSockets (open pages) at once.
pub const MAX_PAGES: usize = 64;
/// WebSockets from one client address at once (an address cannot take every page slot).
pub const PAGES_PER_ADDRESS: usize = 16;
/// Connections from one client address at once (an address cannot take every connection).
pub const CONNECTIONS_PER_ADDRESS: usize = 256;
/// A page is pinged this often...
const PING_EVERY: Duration = Duration::from_secs(15);
/// ...and closed when nothing (a pong, a close) came from it for this long.
const PAGE_IDLE: Duration = Duration::from_secs(45);
/// A request head must arrive within this, and an idle connection closes after it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// A request must be answered within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// A page's socket must take a message within this.
const WS_SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Queries run at once (each on its own read connection); more wait their turn within the
/// request deadline.
const POOL: usize = 4;

/// What the handlers share.
#[derive(Debug)]
pub struct Site {
    files: Files,
    addr: SocketAddr,
    csp: HeaderValue,
    db: PathBuf,
    retention: [i64; 3],
    pool: Mutex<Vec<Connection>>,
    queries: Arc<Semaphore>,
    pages: Arc<Semaphore>,
    pages_by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// Shared counters.
    pub stats: Arc<Stats>,
    live: broadcast::Sender<Bytes>,
    started: i64,
}

impl Site {
    /// A site for `addr`, serving `files`, reading `db`.
    pub fn new(
        files: Files,
        addr: SocketAddr,
        db: PathBuf,
        retention: [i64; 3],
        stats: Arc<Stats>,
        live: broadcast::Sender<Bytes>,
    ) -> Site {
        // Defence in depth: the page never turns data into markup, and even if it did, no inline
        // script or handler would run.
        let csp = format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self' ws://{addr}; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        );
        Site {
            files,
            addr,
            csp: HeaderValue::from_str(&csp)
                .unwrap_or(HeaderValue::from_static("default-src 'none'")),
            db,
            retention,
            pool: Mutex::new(Vec::new()),
            queries: Arc::new(Semaphore::new(POOL)),
            pages: Arc::new(Semaphore::new(MAX_PAGES)),
            pages_by_address: Arc::default(),
            stats,
            live,
            started: now_s(),
        }
    }

    /// Whether a `Host` header value (`host:port`) names this server: its own address, or
    /// `localhost`, or (when bound to all interfaces) any IP literal, with its port. Names other
    /// than `localhost` are refused, so that a DNS-rebinding page cannot talk to the dashboard.
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some((h, port)) = host.rsplit_once(':') else {
            return false;
        };
        if port.parse::<u16>().ok() != Some(self.addr.port()) {
            return false;
        }
        let h = h.trim_start_matches('[').trim_end_matches(']');
        if h.eq_ignore_ascii_case("localhost") {
            return self.addr.ip().is_loopback() || self.addr.ip().is_unspecified();
        }
        match h.parse::<IpAddr>() {
            Ok(ip) => ip == self.addr.ip() || self.addr.ip().is_unspecified(),
            Err(_) => false,
        }
    }

    /// Whether an `Origin` header is the page's own origin (`http://` + an allowed host).
    pub fn origin_allowed(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .is_some_and(|h| self.host_allowed(h))
    }

    /// Run `f` on a read connection from the pool (opened on first use).
    fn with_db<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let pooled = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => store::open_read_only(&self.db)?,
        };
        let r = f(&conn);
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < POOL {
            pool.push(conn);
        }
        r
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn json_response(status: u16, v: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// Host check and the headers every response carries.
async fn guard(State(site): State<Arc<Site>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| site.host_allowed(h)) {
        return text(StatusCode::FORBIDDEN, "unknown Host\n");
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(site.csp.clone());
    resp
}

async fn file(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    match site.files.get(uri.path()) {
        Some(asset) => (
            [(header::CONTENT_TYPE, asset.content_type)],
            Body::from(asset.body.clone()),
        )
            .into_response(),
        None => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

async fn api<T: Send + 'static>(
    site: Arc<Site>,
    f: impl FnOnce(&Site) -> Result<T, QueryError> + Send + 'static,
) -> Result<T, QueryError> {
    let Ok(turn) = Arc::clone(&site.queries).acquire_owned().await else {
        return Err(QueryError {
            status: 503,
            message: "the server is stopping".into(),
        });
    };
    // The turn goes with the work: a request that times out does not free it early.
    tokio::task::spawn_blocking(move || {
        let r = f(&site);
        drop(turn);
        r
    })
    .await
    .unwrap_or_else(|_| {
        Err(QueryError {
            status: 500,
            message: "the query failed".into(),
        })
    })
}

fn answer(r: Result<Value, QueryError>) -> Response {
    match r {
        Ok(v) => json_response(200, &v),
        Err(e) => json_response(e.status, &e.to_json()),
    }
}

async fn api_query(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    let qs = uri.query().unwrap_or("").to_owned();
    let q = match Query::parse(&qs, now_s()) {
        Ok(q) => q,
        Err(e) => return json_response(e.status, &e.to_json()),
    };
    answer(api(site, move |s| s.with_db(|c| query::run(c, &q, now_s()))).await)
}

async fn api_series(State(site): State<Arc<Site>>) -> Response {
    answer(api(site, |s| s.with_db(query::series)).await)
}

async fn api_alerts(State(site): State<Arc<Site>>) -> Response {
    answer(api(site, |s| s.with_db(|c| Ok(store::history::list(c)?))).await)
}

async fn api_status(State(site): State<Arc<Site>>) -> Response {
    let s = &site.stats;
    let c = s.counts();
    let r = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let last_error = s
        .last_store_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    json_response(
        200,
        &json!({
            "now": now_s(),
            "started": site.started,
            "datagrams": r(&s.datagrams),
            "bytes": c.bytes,
            "values": c.values,
            "malformed_lines": c.malformed,
            "events": c.events,
            "series": r(&s.series),
            "series_dropped": c.series_dropped,
            "key_too_long": c.key_too_long,
            "samples_dropped": c.samples_dropped,
            "set_members_dropped": c.set_members_dropped,
            "seconds_written": r(&s.seconds_written),
            "points_written": r(&s.points_written),
            "seconds_dropped": r(&s.seconds_dropped),
            "points_deleted": r(&s.points_deleted),
            "store_errors": r(&s.store_errors),
            "last_store_error": last_error,
            "live_dropped": r(&s.live_dropped),
            "forward_errors": r(&s.forward_errors),
            "forward_loops": r(&s.forward_loops),
            "http_refused": r(&s.http_refused),
            "alerts": {
                "rules": r(&s.alerts.rules),
                "firing": r(&s.alerts.firing),
                "pending": r(&s.alerts.pending),
                "evaluated_seconds": r(&s.alerts.evaluated),
                "seconds_dropped": r(&s.alerts.seconds_dropped),
                "hosts_dropped": r(&s.alerts.hosts_dropped),
                "history_errors": r(&s.alerts.history_errors),
                "notifications_sent": r(&s.alerts.notify.sent),
                "notify_retries": r(&s.alerts.notify.retries),
                "notify_failed": r(&s.alerts.notify.failed),
                "notify_dropped": r(&s.alerts.notify.dropped),
                "exec_runs": r(&s.alerts.notify.exec_runs),
                "exec_failed": r(&s.alerts.notify.exec_failed),
            },
            "retention": { "1s": site.retention[0], "1m": site.retention[1], "1h": site.retention[2] },
        }),
    )
}

/// The client address of a request (set by [`serve`] for each connection).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub IpAddr);

/// One page of an address, counted while it lives.
struct AddressSlot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl AddressSlot {
    fn take(
        map: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        ip: IpAddr,
        limit: usize,
    ) -> Option<AddressSlot> {
        let mut m = map.lock().unwrap_or_else(PoisonError::into_inner);
        let n = m.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            map: Arc::clone(map),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

async fn ws(State(site): State<Arc<Site>>, upgrade: WebSocketUpgrade, req: Request) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    match origin {
        None => return text(StatusCode::FORBIDDEN, "the Origin header is required\n"),
        Some(o) if !site.origin_allowed(o) => {
            return text(StatusCode::FORBIDDEN, "foreign origin\n")
        }
        Some(_) => {}
    }
    let ip = req
        .extensions()
        .get::<Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0);
    let Some(mine) = AddressSlot::take(&site.pages_by_address, ip, PAGES_PER_ADDRESS) else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many pages open from this address\n",
        );
    };
    let Ok(permit) = Arc::clone(&site.pages).try_acquire_owned() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "too many pages open\n");
    };
    // Pages send nothing but control frames: keep what a peer can make us buffer small.
    upgrade
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .on_upgrade(move |socket| async move {
            page(socket, &site).await;
            drop(permit);
            drop(mine);
        })
}

/// One page: a binary message per datagram, and once a second `{"dropped": N, "received": M}`
/// (datagrams dropped for this page because it did not keep up, and offered to it). Pinged
/// every [`PING_EVERY`]; closed after [`PAGE_IDLE`] without a word from it, or when a send
/// (pongs to its pings included, in a bounded write buffer) cannot go out.
async fn page(mut socket: WebSocket, site: &Site) {
    let mut rx = site.live.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let (mut offered, mut dropped) = (0u64, 0u64);
    let mut heard = tokio::time::Instant::now();
    let mut pinged = tokio::time::Instant::now();
    loop {
        let now = tokio::time::Instant::now();
        if now.duration_since(heard) > PAGE_IDLE {
            return;
        }
        let out = tokio::select! {
            m = rx.recv() => match m {
                Ok(d) => {
                    offered += 1;
                    Message::Binary(d)
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    offered += n;
                    dropped += n;
                    site.stats.live_dropped.fetch_add(n, Ordering::Relaxed);
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if now.duration_since(pinged) >= PING_EVERY {
                    pinged = now;
                    Message::Ping(Bytes::from_static(b"realm-metrics"))
                } else {
                    Message::text(format!("{{\"dropped\":{dropped},\"received\":{offered}}}"))
                }
            }
            m = socket.recv() => match m {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {
                    heard = tokio::time::Instant::now();
                    continue;
                }
            },
        };
        match tokio::time::timeout(WS_SEND_TIMEOUT, socket.send(out)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

/// The application (routes and middleware), for [`serve`] and for tests.
pub fn app(site: Arc<Site>) -> Router {
    Router::new()
        .route("/api/v1/query", get(api_query))
        .route("/api/v1/series", get(api_series))
        .route("/api/v1/status", get(api_status))
        .route("/api/v1/alerts", get(api_alerts))
        .route("/ws", get(ws))
        .fallback(get(file))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(Arc::clone(&site), guard))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(site)
}

/// Accept connections until the runtime stops.
pub async fn serve(listener: tokio::net::TcpListener, site: Arc<Site>) {
    let app = app(Arc::clone(&site));
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let by_address: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => {
                // E.g. EMFILE: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(mine) = AddressSlot::take(&by_address, peer.ip(), CONNECTIONS_PER_ADDRESS) else {
            site.stats.http_refused.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            site.stats.http_refused.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let ip = peer.ip();
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(Peer(ip));
                req
            },
        ));
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024);
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let _ = conn.await;
            drop(slot);
            drop(mine);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(addr: &str) -> Site {
        let (tx, _) = broadcast::channel(1);
        Site::new(
            Files::new(),
            addr.parse().unwrap(),
            PathBuf::from("/nonexistent"),
            [1, 2, 3],
            Arc::default(),
            tx,
        )
    }

    #[test]
    fn origins() {
        let s = site("127.0.0.1:8080");
        assert!(s.origin_allowed("http://127.0.0.1:8080"));
        assert!(s.origin_allowed("http://localhost:8080"));
        assert!(!s.origin_allowed("http://127.0.0.1:8081"));
        assert!(!s.origin_allowed("https://127.0.0.1:8080"));
        assert!(!s.origin_allowed("http://evil.example:8080"));
        assert!(!s.origin_allowed("null"));
        assert!(!s.origin_allowed(""));
        let any = site("0.0.0.0:8080");
        assert!(any.origin_allowed("http://192.168.1.5:8080"));
        assert!(!any.origin_allowed("http://rebind.example:8080"));
    }
}
