//! `realm-metrics`: the Realm Object Server metric catalog, a StatsD decoder, and a local
//! dashboard.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use realm_metrics_cli::command::{AlertsCommand, CatalogFormat, Cli, Command};
use realm_metrics_cli::{json, markdown};

fn main() -> ExitCode {
    // Usage errors: clap's message (with suggestions) and exit status 2.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Catalog { format } => catalog(format),
        Command::Decode { prefix } => decode(prefix.as_deref()),
        Command::Dashboard(args) => {
            realm_metrics_server::run(args.into_options()).map(|()| ExitCode::SUCCESS)
        }
        Command::Tail(args) => {
            realm_metrics_cli::tail::run(args.into()).map(|()| ExitCode::SUCCESS)
        }
        Command::Query(q) => query(&q.to_query()),
        Command::Alerts { command } => alerts(command),
        Command::TelegrafConfig(args) => {
            print(&realm_metrics_cli::ops::telegraf_config_command(&args))
        }
        Command::GrafanaDashboard(args) => realm_metrics_cli::ops::grafana_dashboard_command(&args)
            .map_err(io::Error::other)
            .and_then(|s| print(&s)),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "realm-metrics", &mut out);
            io::stdout()
                .lock()
                .write_all(&out)
                .map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("realm-metrics: {e}");
            ExitCode::from(1)
        }
    }
}

fn print(s: &str) -> io::Result<ExitCode> {
    io::stdout().lock().write_all(s.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn catalog(format: CatalogFormat) -> io::Result<ExitCode> {
    let out = match format {
        CatalogFormat::Json => {
            let mut s = serde_json::to_string_pretty(&json::catalog()).map_err(io::Error::other)?;
            s.push('\n');
            s
        }
        CatalogFormat::Markdown => markdown::catalog_table(),
    };
    print(&out)
}

fn alerts(command: AlertsCommand) -> io::Result<ExitCode> {
    match command {
        AlertsCommand::Defaults => print(realm_metrics_server::alerts::DEFAULTS),
        AlertsCommand::Check { file } => {
            match realm_metrics_server::load_rules(Some(Path::new(&file))) {
                Ok(r) => {
                    println!(
                        "{}: {} rules, {} notification targets",
                        file.display(),
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
    }
}

fn query(q: &realm_metrics_cli::dashboard::QueryArgs) -> io::Result<ExitCode> {
    match realm_metrics_cli::dashboard::run_query(q) {
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

/// The longest line `decode` reads, in bytes without the `\n`.
const MAX_LINE: usize = 16 * 1024 * 1024;

fn decode(prefix: Option<&str>) -> io::Result<ExitCode> {
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
            malformed |= json::write_decoded(&mut out, &line, prefix, line_no - 1)?;
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
