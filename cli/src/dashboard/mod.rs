//! `realm-metrics dashboard` and `realm-metrics query`: options for the service of
//! `realm-metrics-server`, and the command-line side of its query API.

use std::path::PathBuf;

use realm_metrics_server::{query, store, Options, StoreOptions, DEFAULT_HTTP, DEFAULT_LISTEN};

use crate::args;

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
            .ok_or_else(|| format!("--retention: {part:?} is not RESOLUTION=DURATION"))?;
        let i = ["1s", "1m", "1h"]
            .iter()
            .position(|x| *x == res)
            .ok_or_else(|| format!("--retention: resolution {res:?} is not 1s, 1m or 1h"))?;
        r[i] = query::parse_duration(dur)
            .ok_or_else(|| format!("--retention: {dur:?} is not a duration such as 24h or 30d"))?;
    }
    Ok(r)
}

/// Parse the arguments after `dashboard`.
pub fn parse(mut a: Vec<String>) -> Result<Options, String> {
    let listen = args::take_opt(&mut a, "--listen")?;
    let http = args::take_opt(&mut a, "--http")?;
    let forward = args::take_opt(&mut a, "--forward")?;
    let assets = args::take_opt(&mut a, "--assets")?;
    let data = args::take_opt(&mut a, "--data")?;
    let retention = args::take_opt(&mut a, "--retention")?;
    let max_disk = args::take_opt(&mut a, "--max-disk")?;
    let max_series = args::take_opt(&mut a, "--max-series")?;
    let alerts = args::take_opt(&mut a, "--alerts")?;
    let demo = args::take_flag(&mut a, "--demo");
    args::no_more_args(&a)?;
    let store = StoreOptions {
        retention: retention
            .as_deref()
            .map(parse_retention)
            .transpose()?
            .unwrap_or(StoreOptions::default().retention),
        max_disk: max_disk
            .map(|m| {
                parse_size(&m)
                    .ok_or_else(|| format!("--max-disk: {m:?} is not a size such as 500M or 2G"))
            })
            .transpose()?,
    };
    let max_series = match max_series {
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--max-series: {m:?} is not a positive integer"))?,
        None => realm_metrics_server::DEFAULT_MAX_SERIES,
    };
    Ok(Options {
        listen: args::socket_addr("--listen", listen.as_deref().unwrap_or(DEFAULT_LISTEN))?,
        http: args::socket_addr("--http", http.as_deref().unwrap_or(DEFAULT_HTTP))?,
        demo,
        forward: forward
            .map(|f| args::socket_addr("--forward", &f))
            .transpose()?,
        assets: assets.map(PathBuf::from),
        data: data.map_or_else(realm_metrics_server::default_data_dir, PathBuf::from),
        store,
        max_series,
        alerts: alerts.map(PathBuf::from),
    })
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

/// Parse the arguments after `query`.
pub fn parse_query(mut a: Vec<String>) -> Result<QueryArgs, String> {
    let data = args::take_opt(&mut a, "--data")?;
    let series = args::take_flag(&mut a, "--series");
    let mut pairs = Vec::new();
    for key in [
        "name", "metric", "host", "kind", "version", "from", "to", "step", "stat",
    ] {
        if let Some(v) = args::take_opt(&mut a, &format!("--{key}"))? {
            pairs.push((key.to_owned(), v));
        }
    }
    args::no_more_args(&a)?;
    Ok(QueryArgs {
        data: data.map_or_else(realm_metrics_server::default_data_dir, PathBuf::from),
        series,
        pairs,
    })
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
