//! `realm-metrics dashboard` and `realm-metrics query`: options for the service of
//! `realm-metrics-server`, and the command-line side of its query API.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use realm_metrics_server::{query, store, Options, StoreOptions, DEFAULT_HTTP, DEFAULT_LISTEN};

use crate::command::socket_addr;

/// Parse a size: `500M`, `2G`, `1048576` (powers of 1024; a trailing `B` or `iB` is allowed).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim_end_matches("iB").trim_end_matches('B');
    let (num, scale) = match t.char_indices().last()? {
        (i, 'K' | 'k') => (&t[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&t[..i], 1 << 20),
        (i, 'G' | 'g') => (&t[..i], 1 << 30),
        (i, 'T' | 't') => (&t[..i], 1 << 40),
        _ => (t, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || num.len() > 15 {
        return None;
    }
    num.parse::<u64>()
        .ok()?
        .checked_mul(scale)
        .filter(|&v| v > 0)
}

/// Parse `1s=24h,1m=30d,1h=365d` (any subset) over the defaults.
pub fn parse_retention(s: &str) -> Result<[i64; 3], String> {
    let mut r = StoreOptions::default().retention;
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (res, dur) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not RESOLUTION=DURATION"))?;
        let i = ["1s", "1m", "1h"]
            .iter()
            .position(|x| *x == res)
            .ok_or_else(|| format!("resolution {res:?} is not 1s, 1m or 1h"))?;
        r[i] = query::parse_duration(dur)
            .ok_or_else(|| format!("{dur:?} is not a duration such as 24h or 30d"))?;
    }
    Ok(r)
}

/// A value parser for `--max-disk`.
fn size_arg(s: &str) -> Result<u64, String> {
    parse_size(s).ok_or_else(|| "not a size such as 500M or 2G".to_owned())
}

/// A value parser for a positive integer.
fn positive(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| "not a positive integer".to_owned())
}

/// The help text of `--data`.
const DATA_HELP: &str = "The data directory; the store is metrics.db in it \
    [default: $XDG_DATA_HOME/realm-metrics, else ~/.local/share/realm-metrics]";

/// Options of `realm-metrics dashboard`.
#[derive(Clone, Debug, Args)]
pub struct DashboardArgs {
    /// UDP address to receive StatsD datagrams on
    #[arg(long, value_name = "HOST:PORT", env = "REALM_METRICS_LISTEN",
          default_value = DEFAULT_LISTEN, value_parser = socket_addr)]
    pub listen: SocketAddr,
    /// TCP address of the page, its WebSocket and the HTTP API
    #[arg(long, value_name = "HOST:PORT", env = "REALM_METRICS_HTTP",
          default_value = DEFAULT_HTTP, value_parser = socket_addr)]
    pub http: SocketAddr,
    #[arg(long, value_name = "DIR", env = "REALM_METRICS_DATA", help = DATA_HELP)]
    /// The data directory (see the help text).
    pub data: Option<PathBuf>,
    /// Run two simulated sync workers that send through the real emitter
    #[arg(long)]
    pub demo: bool,
    /// How long each resolution is kept (any subset) [default: 1s=24h,1m=30d,1h=365d]
    #[arg(long, value_name = "1s=24h,1m=30d,1h=365d", value_parser = parse_retention)]
    pub retention: Option<[i64; 3]>,
    /// Evict the oldest points when the store grows over SIZE (e.g. 500M, 2G)
    #[arg(long, value_name = "SIZE", value_parser = size_arg)]
    pub max_disk: Option<u64>,
    /// The most series kept; values of further series are dropped and counted
    #[arg(long, value_name = "N", default_value_t = realm_metrics_server::DEFAULT_MAX_SERIES,
          value_parser = positive)]
    pub max_series: usize,
    /// Alert rules (TOML) [default: the rules `realm-metrics alerts defaults` prints]
    #[arg(long, value_name = "FILE")]
    pub alerts: Option<PathBuf>,
    /// Repeat every datagram to this statsd daemon
    #[arg(long, value_name = "HOST:PORT", value_parser = socket_addr)]
    pub forward: Option<SocketAddr>,
    /// Serve the wasm web build (and uPlot, when it holds uPlot.esm.js) from DIR instead of the
    /// copy built into this binary
    #[arg(long, value_name = "DIR")]
    pub assets: Option<PathBuf>,
}

impl DashboardArgs {
    /// The service's options.
    pub fn into_options(self) -> Options {
        Options {
            listen: self.listen,
            http: self.http,
            demo: self.demo,
            forward: self.forward,
            assets: self.assets,
            data: self
                .data
                .unwrap_or_else(realm_metrics_server::default_data_dir),
            store: StoreOptions {
                retention: self.retention.unwrap_or(StoreOptions::default().retention),
                max_disk: self.max_disk,
            },
            max_series: self.max_series,
            alerts: self.alerts,
        }
    }
}

/// Options of `realm-metrics query`.
#[derive(Clone, Debug, Args)]
pub struct QueryCommand {
    #[arg(long, value_name = "DIR", env = "REALM_METRICS_DATA", help = DATA_HELP)]
    /// The data directory (see the help text).
    pub data: Option<PathBuf>,
    /// List the series (GET /api/v1/series) instead of querying points
    #[arg(long)]
    pub series: bool,
    /// A full bucket name (realm.h1.connection.online)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A catalog name (`connection.online`, `protocol.<version>.used`).
    #[arg(
        long,
        value_name = "METRIC",
        help = "A catalog name (connection.online, protocol.<version>.used)"
    )]
    pub metric: Option<String>,
    /// Only this host's series
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only series of this kind: counter, gauge, timer, histogram, distribution, set
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Only this protocol version (`protocol.<version>.used`).
    #[arg(
        long,
        value_name = "VERSION",
        help = "Only this protocol version (protocol.<version>.used)"
    )]
    pub version: Option<String>,
    /// Start: unix seconds, `now` or `now-<duration>` (`now-15m`).
    #[arg(
        long,
        value_name = "TIME",
        help = "Start: unix seconds, now or now-<duration> (now-15m) [default: 15 minutes before --to]"
    )]
    pub from: Option<String>,
    /// End: unix seconds, `now` or `now-<duration>`.
    #[arg(
        long,
        value_name = "TIME",
        help = "End: unix seconds, now or now-<duration> [default: now]"
    )]
    pub to: Option<String>,
    /// Step: seconds or a duration (1m) [default: the finest kept resolution, at most 10,000
    /// points]
    #[arg(long, value_name = "STEP")]
    pub step: Option<String>,
    /// Timers: count sum min max mean p50 p90 p99 (default p90); gauges: value min max
    #[arg(long, value_name = "STAT")]
    pub stat: Option<String>,
}

impl QueryCommand {
    /// The query: the data directory and the API's parameters.
    pub fn to_query(&self) -> QueryArgs {
        let pairs = [
            ("name", &self.name),
            ("metric", &self.metric),
            ("host", &self.host),
            ("kind", &self.kind),
            ("version", &self.version),
            ("from", &self.from),
            ("to", &self.to),
            ("step", &self.step),
            ("stat", &self.stat),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v.clone()?)))
        .collect();
        QueryArgs {
            data: self
                .data
                .clone()
                .unwrap_or_else(realm_metrics_server::default_data_dir),
            series: self.series,
            pairs,
        }
    }
}

/// What `realm-metrics query` was asked.
#[derive(Debug)]
pub struct QueryArgs {
    /// The data directory.
    pub data: PathBuf,
    /// List the series instead of querying points.
    pub series: bool,
    /// The API's parameters (`name`, `metric`, `host`, ...), from `--name` and the like.
    pub pairs: Vec<(String, String)>,
}

/// Run a query against the store file (read only; works while a server writes it). `Err` holds
/// the API's error (status and message).
pub fn run_query(q: &QueryArgs) -> Result<serde_json::Value, query::QueryError> {
    let conn = store::open_read_only(&q.data.join(store::FILE_NAME))?;
    let now = realm_metrics_server::ingest::now_s();
    if q.series {
        return query::series(&conn);
    }
    let parsed = query::Query::from_pairs(&q.pairs, now)?;
    query::run(&conn, &parsed, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Cli, Command};
    use clap::Parser;

    /// `realm-metrics dashboard <args>`.
    fn parse(args: Vec<String>) -> Result<Options, clap::Error> {
        let argv = ["realm-metrics", "dashboard"]
            .into_iter()
            .map(String::from)
            .chain(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Dashboard(d) => Ok(d.into_options()),
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn defaults_are_loopback() {
        let o = parse(vec![]).unwrap();
        assert_eq!(o.listen, "127.0.0.1:8125".parse().unwrap());
        assert_eq!(o.http, "127.0.0.1:8080".parse().unwrap());
        assert!(o.listen.ip().is_loopback() && o.http.ip().is_loopback());
        assert!(!o.demo);
        assert_eq!(o.forward, None);
        assert_eq!(o.max_series, 10_000);
        assert_eq!(o.store, StoreOptions::default());
    }

    #[test]
    fn parses_everything() {
        let o = parse(
            [
                "--demo",
                "--listen=127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--forward",
                "127.0.0.1:9125",
                "--assets",
                "/tmp/x",
                "--data",
                "/tmp/d",
                "--retention",
                "1s=2h,1h=10d",
                "--max-disk",
                "2G",
                "--max-series",
                "50",
            ]
            .map(String::from)
            .to_vec(),
        )
        .unwrap();
        assert!(o.demo);
        assert_eq!(o.listen.port(), 0);
        assert_eq!(o.forward, Some("127.0.0.1:9125".parse().unwrap()));
        assert_eq!(o.assets, Some(PathBuf::from("/tmp/x")));
        assert_eq!(o.data, PathBuf::from("/tmp/d"));
        assert_eq!(o.store.retention, [7200, 30 * 86_400, 10 * 86_400]);
        assert_eq!(o.store.max_disk, Some(2 << 30));
        assert_eq!(o.max_series, 50);
        for bad in [
            &["--bogus"][..],
            &["--listen", "nope"],
            &["--max-disk", "lots"],
            &["--max-series", "0"],
            &["--retention", "1d=5h"],
            &["--retention", "1s=forever"],
        ] {
            assert!(
                parse(bad.iter().map(|s| s.to_string()).collect()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("1kB"), Some(1024));
        for bad in ["", "M", "0", "-1", "1.5G", "99999999999999999T"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
