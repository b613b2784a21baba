//! The command line of `realm-metrics` (clap): every subcommand and its options.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::dashboard::{DashboardArgs, QueryCommand};
use crate::ops::{GrafanaDashboardArgs, TelegrafConfigArgs};
use crate::tail::TailArgs;

/// `realm-metrics`: Realm Object Server metrics over StatsD.
#[derive(Debug, Parser)]
#[command(
    name = "realm-metrics",
    version,
    subcommand_required = true,
    arg_required_else_help = true,
    about = "Realm Object Server metrics over StatsD: the metric catalog, a decoder, a terminal live \
             view, Telegraf and Grafana configuration, and a local dashboard",
    after_help = "Environment: REALM_METRICS_LISTEN, REALM_METRICS_HTTP and REALM_METRICS_DATA give \
                  the defaults of --listen, --http and --data (an option on the command line wins).\n\
                  Run `realm-metrics <COMMAND> --help` for a command's options."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the ROS metric catalog (reference order)
    Catalog {
        /// Output format
        #[arg(long, value_enum, default_value_t = CatalogFormat::Json)]
        format: CatalogFormat,
    },
    /// Decode StatsD text from stdin to JSON Lines, one object per value
    #[command(
        long_about = "Read StatsD text (Etsy, Telegraf or DogStatsD) on stdin and write one \
        JSON object per decoded value (JSON Lines), or one per malformed line with its line, \
        column and error.\n\nExit status: 0 every line decoded, 1 some line malformed, 2 usage \
        error."
    )]
    Decode {
        /// Only names under this prefix are recognised as catalog metrics (e.g. `svc.a`)
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
    },
    /// Receive StatsD, keep its history, and show it live in the browser
    #[command(
        long_about = "Receive StatsD on UDP, aggregate it per second into an SQLite store \
        under --data, and serve a page with live charts, history, alerts and an HTTP query API. \
        The page, its wasm decoder and uPlot are built into this binary."
    )]
    Dashboard(DashboardArgs),
    /// Print or check alert rules
    Alerts {
        /// What to do with alert rules.
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Query the dashboard's store from the command line (JSON)
    #[command(
        long_about = "Print what GET /api/v1/query (or /api/v1/series with --series) \
        answers, from the store file under --data. Read only: works while the dashboard runs.\n\n\
        Exit status: 0 answered, 1 bad query or no store, 2 usage error."
    )]
    Query(QueryCommand),
    /// The dashboard's live view as a terminal table
    #[command(
        long_about = "Receive StatsD on UDP and print, per interval and host, counters per \
        second and gauge values: a table redrawn in place on a terminal, otherwise plain \
        `<unix_ts> <host> <metric> <kind> <value>` lines."
    )]
    Tail(TailArgs),
    /// Print a Telegraf configuration (statsd input, InfluxDB output)
    TelegrafConfig(TelegrafConfigArgs),
    /// Print a Grafana dashboard (JSON) over the InfluxDB that Telegraf writes to
    GrafanaDashboard(GrafanaDashboardArgs),
    /// Print a shell completion script
    #[command(
        long_about = "Print a completion script for SHELL on stdout. For example:\n\n  \
        realm-metrics completions bash > ~/.local/share/bash-completion/completions/realm-metrics\n  \
        realm-metrics completions zsh > ~/.zfunc/_realm-metrics   # with fpath+=(~/.zfunc)\n  \
        realm-metrics completions fish > ~/.config/fish/completions/realm-metrics.fish"
    )]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `realm-metrics alerts …`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Print the default alert rules (TOML), a starting point for `dashboard --alerts`
    Defaults,
    /// Check a rules file: exit 0, or print FILE:LINE:COLUMN: message and exit 2
    Check {
        /// The rules file (TOML)
        file: PathBuf,
    },
}

/// `catalog --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    /// A JSON array of {name, kind, group, description}
    Json,
    /// A Markdown table
    #[value(alias = "md")]
    Markdown,
}

/// Resolve `HOST:PORT` (the first address wins): a value parser.
pub fn socket_addr(value: &str) -> Result<SocketAddr, String> {
    value
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| "not a HOST:PORT address".to_owned())
}

/// A value parser for a non-empty string.
pub fn non_empty(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
