//! # realm-metrics-server
//!
//! The service behind `realm-metrics dashboard`: the operator's embedded monitoring server for
//! ROS sync workers on one machine.
//!
//! ```text
//! UDP :8125 --> ingest thread --+--> --forward HOST:PORT (a real statsd daemon: the scale path)
//!                               +--> live WebSocket --> page (decodes with the wasm build)
//!                               +--> decode + aggregate (1 s buckets, Etsy semantics)
//!                                      --> writer thread --> SQLite (1 s / 1 min / 1 h rollups)
//! HTTP (axum): the page, /ws, /api/v1/{query,series,status}  <-- also `realm-metrics query`
//! ```
//!
//! - [`agg`]: per-second aggregation of decoded StatsD.
//! - [`store`]: the SQLite store: schema, migrations, rollups, retention, disk cap.
//! - [`query`]: the query API shared by HTTP and the command line.
//! - [`http`]: the HTTP server.
#![deny(missing_docs)]

pub mod agg;
pub mod alerts;
mod asset_files;
pub mod assets;
mod demo;
pub mod http;
pub mod ingest;
pub mod query;
pub mod sketch;
pub mod store;
#[cfg(test)]
mod testutil;

use std::fs::{self, File};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use tokio::sync::broadcast;

pub use agg::DEFAULT_MAX_SERIES;
pub use store::StoreOptions;

/// The default StatsD listener address (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8125";
/// The default HTTP address of the page (loopback only).
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";
/// The receive buffer asked for on the StatsD socket.
pub const RECV_BUFFER: usize = 16 * 1024 * 1024;

/// Options of the dashboard service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// UDP address to receive StatsD datagrams on.
    pub listen: SocketAddr,
    /// TCP address of the page, its WebSocket and the API.
    pub http: SocketAddr,
    /// Run simulated sync workers that send through the real emitter.
    pub demo: bool,
    /// Repeat every datagram to this statsd daemon.
    pub forward: Option<SocketAddr>,
    /// Serve the wasm web build (and uPlot, when the directory holds `uPlot.esm.js`) from this
    /// directory instead of the copies embedded in the binary.
    pub assets: Option<PathBuf>,
    /// The data directory (the store is `metrics.db` in it).
    pub data: PathBuf,
    /// Retention and disk cap.
    pub store: StoreOptions,
    /// The most series kept.
    pub max_series: usize,
    /// The alert rules file (`None`: the catalog's default rules, see [`alerts::DEFAULTS`]).
    pub alerts: Option<PathBuf>,
}

/// Read and check a rules file: errors read `FILE:LINE:COLUMN: message`.
pub fn load_rules(path: Option<&Path>) -> io::Result<alerts::Rules> {
    match path {
        None => alerts::Rules::parse(alerts::DEFAULTS)
            .map_err(|e| io::Error::other(format!("the default rules: {e}"))),
        Some(p) => {
            let text = fs::read_to_string(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
            alerts::Rules::parse(&text).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{}:{e}", p.display()))
            })
        }
    }
}

/// The default data directory: `$XDG_DATA_HOME/realm-metrics`, or
/// `~/.local/share/realm-metrics`, or `./realm-metrics-data` without a home.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("realm-metrics");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/share/realm-metrics"),
        None => PathBuf::from("realm-metrics-data"),
    }
}

/// Take the data directory's lock: one server per store. Held while the file is open.
fn lock_data_dir(dir: &Path) -> io::Result<File> {
    fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("--data {}: {e}", dir.display())))?;
    let f = File::create(dir.join("lock"))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function owns.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "--data {}: another realm-metrics dashboard is using this store",
                dir.display()
            ),
        ));
    }
    Ok(f)
}

/// Bind the StatsD socket with a large receive buffer (bursts wait in the kernel, not lost).
fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    let size = RECV_BUFFER as libc::c_int;
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt with a c_int option value on a socket this function owns. Root (or
    // CAP_NET_ADMIN) may go past net.core.rmem_max; otherwise the ordinary option, capped.
    let forced = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    } == 0;
    if !forced {
        let _ = s.set_recv_buffer_size(RECV_BUFFER);
    }
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// Run the service until SIGINT or SIGTERM. Prints `dashboard: http://…/`,
/// `statsd listener: udp://…` and `store: …` on stdout once everything is bound. On a stop, the
/// current second is written before the process exits.
pub fn run(opts: Options) -> io::Result<()> {
    let files = assets::load(opts.assets.as_deref())?;
    let rules = load_rules(opts.alerts.as_deref())?;
    let _lock = lock_data_dir(&opts.data)?;
    let db = opts.data.join(store::FILE_NAME);
    let store = store::Store::open(&db, opts.store)
        .map_err(|e| io::Error::other(format!("{}: {e}", db.display())))?;
    let (known, next_id) = store
        .load_series()
        .map_err(|e| io::Error::other(format!("{}: {e}", db.display())))?;
    let mut engine = alerts::Engine::new(&rules, known.iter().map(|(m, _)| m.clone()));
    // Hosts seen in the last day: one that stopped while the server was down is reported.
    engine.seed_last_seen(
        &store
            .seen_since(ingest::now_s() - 86_400)
            .map_err(|e| io::Error::other(format!("{}: {e}", db.display())))?,
    );
    let agg = agg::Aggregator::new(known, next_id, opts.max_series);

    let udp = bind_udp(opts.listen)
        .map_err(|e| io::Error::new(e.kind(), format!("--listen {}: {e}", opts.listen)))?;
    let tcp = TcpListener::bind(opts.http)
        .map_err(|e| io::Error::new(e.kind(), format!("--http {}: {e}", opts.http)))?;
    tcp.set_nonblocking(true)?;
    let listen = udp.local_addr()?;
    let http_addr = tcp.local_addr()?;

    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(io::Error::other)?;

    let forward = match opts.forward {
        Some(addr) => {
            let bind: SocketAddr = if addr.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let s = UdpSocket::bind(bind)?;
            s.connect(addr)?;
            Some(s)
        }
        None => None,
    };

    let stats = Arc::new(ingest::Stats::default());
    let (live, _) = broadcast::channel(ingest::LIVE_QUEUE);
    let (to_writer, from_ingest) = mpsc::sync_channel(ingest::WRITER_QUEUE);
    let (forgotten_tx, forgotten_rx) = mpsc::channel();
    let (alerts_tx, alerts_rx) = mpsc::sync_channel(ingest::WRITER_QUEUE);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stats = Arc::clone(&stats);
        thread::Builder::new()
            .name("dashboard-store".into())
            .spawn(move || ingest::write(store, from_ingest, forgotten_tx, alerts_tx, &stats))?
    };
    stats
        .alerts
        .rules
        .store(rules.rules.len() as u64, Ordering::Relaxed);
    let (notify_tx, notify_rx) = tokio::sync::mpsc::channel(alerts::notify::QUEUE);
    let targets = rules.notify.clone();
    let alert_thread = {
        let stats = Arc::clone(&stats);
        let db = db.clone();
        let out = (!targets.is_empty()).then_some(notify_tx);
        thread::Builder::new()
            .name("dashboard-alerts".into())
            .spawn(move || alerts::run(engine, alerts_rx, &db, out, &stats.alerts))?
    };
    let ingest = ingest::Ingest {
        udp,
        forward,
        agg,
        to_writer,
        forgotten: forgotten_rx,
        live: live.clone(),
        stats: Arc::clone(&stats),
        stop: Arc::clone(&stop),
    };
    let ingest = thread::Builder::new()
        .name("dashboard-ingest".into())
        .spawn(move || ingest.run())?;

    let site = Arc::new(http::Site::new(
        files,
        http_addr,
        db.clone(),
        opts.store.retention,
        Arc::clone(&stats),
        live,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dashboard-http")
        .enable_all()
        .build()?;
    {
        let _guard = runtime.enter();
        let listener = tokio::net::TcpListener::from_std(tcp)?;
        runtime.spawn(http::serve(listener, site));
        if !targets.is_empty() {
            runtime.spawn(alerts::notify::deliver(
                notify_rx,
                targets,
                format!("http://{http_addr}/"),
                Arc::clone(&stats.alerts.notify),
            ));
        }
    }
    if opts.demo {
        demo::start(demo::target(listen))?;
    }

    let mut banner = format!(
        "dashboard: http://{http_addr}/\nstatsd listener: udp://{listen}\nstore: {}\n",
        db.display()
    );
    if let Some(f) = opts.forward {
        banner.push_str(&format!("forwarding to: udp://{f}\n"));
    }
    banner.push_str(&format!(
        "alerts: {} rules ({}), {} notification targets\n",
        rules.rules.len(),
        opts.alerts
            .as_ref()
            .map_or("the defaults".to_owned(), |p| p.display().to_string()),
        rules.notify.len()
    ));
    if opts.demo {
        banner.push_str(&format!(
            "demo: simulated workers realm.demo-worker-1 and realm.demo-worker-2 sending to udp://{}\n",
            demo::target(listen)
        ));
    }
    // One write: whoever reads the addresses may close the pipe after them. A closed stdout is
    // no reason to stop serving.
    let mut out = io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    drop(out);

    let _ = stop_rx.recv();
    stop.store(true, Ordering::Relaxed);
    let _ = ingest.join();
    let _ = writer.join();
    let _ = alert_thread.join();
    runtime.shutdown_background();
    let c = stats.counts();
    let _ = writeln!(
        io::stderr(),
        "dashboard: stopped (received {} datagrams, {} values in {} series; {} seconds written; dropped {} for slow pages)",
        stats.datagrams.load(Ordering::Relaxed),
        c.values,
        stats.series.load(Ordering::Relaxed),
        stats.seconds_written.load(Ordering::Relaxed),
        stats.live_dropped.load(Ordering::Relaxed),
    );
    Ok(())
}
