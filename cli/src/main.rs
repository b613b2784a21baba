//! `realm-metrics`: the Realm Object Server metric catalog, a StatsD decoder, and a local
//! dashboard.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::ExitCode;

use realm_metrics_cli::args::{no_more_args, take_opt};
use realm_metrics_cli::{json, markdown};

const USAGE: &str = "\
realm-metrics: Realm Object Server metrics over StatsD

Usage:
  realm-metrics catalog [--format json|markdown]
      Print the ROS metric catalog (reference order).
  realm-metrics decode [--prefix P]
      Read StatsD text on stdin, write one JSON object per decoded value (JSON Lines).
      Exit status: 0 every line decoded, 1 some line malformed, 2 usage error.
  realm-metrics dashboard [--listen 127.0.0.1:8125] [--http 127.0.0.1:8080] [--demo]
                          [--data DIR] [--retention 1s=24h,1m=30d,1h=365d] [--max-disk SIZE]
                          [--max-series 10000] [--alerts FILE] [--forward HOST:PORT]
                          [--assets DIR]
      Receive StatsD on UDP, aggregate it per second into an SQLite store under --data
      (default ~/.local/share/realm-metrics), and show history and live data in the browser.
      --demo runs simulated sync workers; --forward repeats every datagram to a statsd daemon;
      --max-disk evicts the oldest points (e.g. 2G); --alerts is a rules file (default: the
      rules of `realm-metrics alerts defaults`); --assets is the wasm web build (default:
      wasm/pkg/web, made by `bash wasm/build.sh`).
  realm-metrics alerts defaults
      Print the default alert rules (TOML), a starting point for --alerts.
  realm-metrics alerts check FILE
      Check a rules file: exit 0, or print FILE:LINE:COLUMN: message and exit 2.
  realm-metrics query [--data DIR] (--series | --name N | --metric M) [--host H] [--kind K]
                      [--version V] [--from T] [--to T] [--step S] [--stat S]
      Print what GET /api/v1/query (or /api/v1/series) answers, from the store file (read only;
      works while the dashboard runs). Times: unix seconds, now, now-15m. Exit 1 on a bad query.
  realm-metrics tail [--listen 127.0.0.1:8125] [--interval-ms 1000] [--count N]
      The same live view as a terminal table: per interval and host, counters per second and
      gauge values (plain `<unix_ts> <host> <metric> <kind> <value>` lines when not a terminal).
  realm-metrics telegraf-config [--dialect etsy|telegraf] [--influx-url URL] [--database NAME]
      Print a Telegraf configuration (statsd input on :8125, InfluxDB output) for the dialect.
  realm-metrics grafana-dashboard [--datasource influxdb] [--dialect etsy|telegraf]
      Print a Grafana dashboard (JSON) over the InfluxDB that Telegraf config writes to.
  realm-metrics help
";

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("realm-metrics: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        return usage_error("missing command");
    }
    let cmd = args.remove(0);
    let result = match cmd.as_str() {
        "catalog" => catalog(args),
        "decode" => decode(args),
        "dashboard" => dashboard(args),
        "tail" => tail(args),
        "query" => query(args),
        "alerts" => alerts(args),
        "telegraf-config" => print_ops(realm_metrics_cli::ops::telegraf_config_command(args)),
        "grafana-dashboard" => print_ops(realm_metrics_cli::ops::grafana_dashboard_command(args)),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "--version" | "-V" => {
            println!("realm-metrics {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        other => return usage_error(&format!("unknown command {other:?}")),
    };
    match result {
        Ok(code) => code,
        Err(CliError::Usage(m)) => usage_error(&m),
        Err(CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(CliError::Io(e)) => {
            eprintln!("realm-metrics: {e}");
            ExitCode::from(1)
        }
    }
}

enum CliError {
    Usage(String),
    Io(io::Error),
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Io(e)
    }
}

impl From<String> for CliError {
    fn from(e: String) -> Self {
        CliError::Usage(e)
    }
}

fn catalog(mut args: Vec<String>) -> Result<ExitCode, CliError> {
    let format = take_opt(&mut args, "--format")?.unwrap_or_else(|| "json".into());
    no_more_args(&args)?;
    let out = match format.as_str() {
        "json" => {
            let mut s = serde_json::to_string_pretty(&json::catalog()).map_err(io::Error::other)?;
            s.push('\n');
            s
        }
        "markdown" | "md" => markdown::catalog_table(),
        f => {
            return Err(CliError::Usage(format!(
                "unknown format {f:?} (json or markdown)"
            )))
        }
    };
    io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn dashboard(args: Vec<String>) -> Result<ExitCode, CliError> {
    let opts = realm_metrics_cli::dashboard::parse(args)?;
    realm_metrics_server::run(opts)?;
    Ok(ExitCode::SUCCESS)
}

fn alerts(mut args: Vec<String>) -> Result<ExitCode, CliError> {
    if args.is_empty() {
        return Err(CliError::Usage("alerts: defaults or check FILE".into()));
    }
    match args.remove(0).as_str() {
        "defaults" => {
            realm_metrics_cli::args::no_more_args(&args)?;
            io::stdout()
                .lock()
                .write_all(realm_metrics_server::alerts::DEFAULTS.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        "check" => {
            let [file] = args.as_slice() else {
                return Err(CliError::Usage("alerts check needs one FILE".into()));
            };
            match realm_metrics_server::load_rules(Some(std::path::Path::new(file))) {
                Ok(r) => {
                    println!(
                        "{file}: {} rules, {} notification targets",
                        r.rules.len(),
                        r.notify.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        other => Err(CliError::Usage(format!(
            "alerts: unknown subcommand {other:?} (defaults or check FILE)"
        ))),
    }
}

fn query(args: Vec<String>) -> Result<ExitCode, CliError> {
    let q = realm_metrics_cli::dashboard::parse_query(args)?;
    match realm_metrics_cli::dashboard::run_query(&q) {
        Ok(v) => {
            let mut out = io::stdout().lock();
            serde_json::to_writer(&mut out, &v).map_err(io::Error::other)?;
            out.write_all(b"\n")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("realm-metrics query: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn tail(args: Vec<String>) -> Result<ExitCode, CliError> {
    let opts = realm_metrics_cli::tail::Options::parse(args)?;
    realm_metrics_cli::tail::run(opts)?;
    Ok(ExitCode::SUCCESS)
}

/// Print the output of an `ops` command (telegraf-config, grafana-dashboard).
fn print_ops(out: Result<String, String>) -> Result<ExitCode, CliError> {
    io::stdout().lock().write_all(out?.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The longest line `decode` reads, in bytes without the `\n`.
const MAX_LINE: usize = 16 * 1024 * 1024;

fn decode(mut args: Vec<String>) -> Result<ExitCode, CliError> {
    let prefix = take_opt(&mut args, "--prefix")?;
    no_more_args(&args)?;
    let stdin = io::stdin();
    let mut input = BufReader::with_capacity(64 * 1024, stdin.lock());
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut line = Vec::new();
    let mut line_no = 0usize;
    let mut malformed = false;
    loop {
        line.clear();
        // A line is at most MAX_LINE bytes (without its `\n`), so that endless input without
        // newlines cannot exhaust memory. A longer one is one error for that line: its rest is
        // skipped up to the next `\n` (never decoded as lines of its own) without buffering it.
        // (A CR before the LF, or at the very end, is not counted, as in the wasm decoder.)
        let n = (&mut input)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let content = match line.as_slice() {
            [l @ .., b'\r', b'\n'] | [l @ .., b'\n'] | [l @ .., b'\r'] => l.len(),
            l => l.len(),
        };
        if content > MAX_LINE {
            while line.last() != Some(&b'\n') {
                let buf = input.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|&c| c == b'\n') {
                    Some(i) => {
                        input.consume(i + 1);
                        line.push(b'\n');
                    }
                    None => {
                        let k = buf.len();
                        input.consume(k);
                    }
                }
            }
            malformed = true;
            json::write_too_long(&mut out, line_no, MAX_LINE)?;
        } else {
            malformed |= json::write_decoded(&mut out, &line, prefix.as_deref(), line_no - 1)?;
        }
        if input.buffer().is_empty() {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(if malformed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
