//! `realm-metrics dashboard`: a local live view of ROS metrics.
//!
//! ```text
//! UDP (StatsD) --> relay thread --+--> per-page bounded queue --> WebSocket (binary, one
//!                                 |     message per datagram)     --> browser: wasm decode
//!                                 +--> --forward HOST:PORT (a real statsd daemon)
//! HTTP: the page (compiled in), the wasm web build and uPlot (read at start, served from memory)
//! ```
//!
//! Each page has a queue of [`QUEUE_LEN`] datagrams; when a page does not keep up, datagrams are
//! dropped for that page (never queued without bound), counted, and the count is sent to the
//! page once a second as a JSON text message `{"dropped": N, "received": M}`.

use crate::args;
mod assets;
mod demo;
mod http;
mod relay;
mod ws;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread;

pub use assets::{default_uplot_dir, default_wasm_dir};

/// Datagrams queued per page before the relay drops data for that page.
pub const QUEUE_LEN: usize = 256;

/// The default StatsD listener address (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8125";
/// The default HTTP address of the page (loopback only).
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";

/// Options of `realm-metrics dashboard`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// UDP address to receive StatsD datagrams on.
    pub listen: SocketAddr,
    /// TCP address of the page and its WebSocket.
    pub http: SocketAddr,
    /// Run simulated sync workers that send through the real emitter.
    pub demo: bool,
    /// Repeat every datagram to this statsd daemon.
    pub forward: Option<SocketAddr>,
    /// The wasm web build directory (default: `wasm/pkg/web` of the repository).
    pub assets: Option<PathBuf>,
}

impl Options {
    /// Parse the arguments after `dashboard`.
    pub fn parse(mut args: Vec<String>) -> Result<Options, String> {
        let listen = args::take_opt(&mut args, "--listen")?;
        let http = args::take_opt(&mut args, "--http")?;
        let forward = args::take_opt(&mut args, "--forward")?;
        let assets = args::take_opt(&mut args, "--assets")?;
        let demo = args::take_flag(&mut args, "--demo");
        args::no_more_args(&args)?;
        Ok(Options {
            listen: args::socket_addr("--listen", listen.as_deref().unwrap_or(DEFAULT_LISTEN))?,
            http: args::socket_addr("--http", http.as_deref().unwrap_or(DEFAULT_HTTP))?,
            demo,
            forward: forward
                .map(|f| args::socket_addr("--forward", &f))
                .transpose()?,
            assets: assets.map(PathBuf::from),
        })
    }
}

/// Run the dashboard until SIGINT or SIGTERM. Prints `dashboard: http://…/` and
/// `statsd listener: udp://…` on stdout once both listeners are bound.
pub fn run(opts: Options) -> io::Result<()> {
    let files = assets::load(opts.assets.as_deref())?;
    let udp = UdpSocket::bind(opts.listen)
        .map_err(|e| io::Error::new(e.kind(), format!("--listen {}: {e}", opts.listen)))?;
    let tcp = TcpListener::bind(opts.http)
        .map_err(|e| io::Error::new(e.kind(), format!("--http {}: {e}", opts.http)))?;
    let listen = udp.local_addr()?;
    let http_addr = tcp.local_addr()?;

    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(io::Error::other)?;

    let hub = Arc::new(relay::Hub::default());
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
    {
        let hub = Arc::clone(&hub);
        thread::Builder::new()
            .name("dashboard-relay".into())
            .spawn(move || relay::receive(udp, forward, &hub))?;
    }
    let site = Arc::new(http::Site::new(files, http_addr));
    {
        let hub = Arc::clone(&hub);
        thread::Builder::new()
            .name("dashboard-http".into())
            .spawn(move || http::accept(tcp, site, hub))?;
    }
    if opts.demo {
        demo::start(demo::target(listen))?;
    }

    let mut banner = format!("dashboard: http://{http_addr}/\nstatsd listener: udp://{listen}\n");
    if let Some(f) = opts.forward {
        banner.push_str(&format!("forwarding to: udp://{f}\n"));
    }
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
    let _ = writeln!(
        io::stderr(),
        "dashboard: stopped (received {} datagrams, dropped {} for slow pages)",
        hub.received.load(Ordering::Relaxed),
        hub.dropped.load(Ordering::Relaxed)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback() {
        let o = Options::parse(vec![]).unwrap();
        assert_eq!(o.listen, "127.0.0.1:8125".parse().unwrap());
        assert_eq!(o.http, "127.0.0.1:8080".parse().unwrap());
        assert!(o.listen.ip().is_loopback() && o.http.ip().is_loopback());
        assert!(!o.demo);
        assert_eq!(o.forward, None);
    }

    #[test]
    fn parses_everything() {
        let o = Options::parse(
            [
                "--demo",
                "--listen=127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--forward",
                "127.0.0.1:9125",
                "--assets",
                "/tmp/x",
            ]
            .map(String::from)
            .to_vec(),
        )
        .unwrap();
        assert!(o.demo);
        assert_eq!(o.listen.port(), 0);
        assert_eq!(o.forward, Some("127.0.0.1:9125".parse().unwrap()));
        assert_eq!(o.assets, Some(PathBuf::from("/tmp/x")));
        assert!(Options::parse(vec!["--bogus".into()]).is_err());
        assert!(Options::parse(vec!["--listen".into(), "nope".into()]).is_err());
    }
}
