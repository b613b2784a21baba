//! Production configuration generated from the catalog: a Telegraf configuration
//! (`realm-metrics telegraf-config`) and a Grafana dashboard over InfluxDB
//! (`realm-metrics grafana-dashboard`).
//!
//! The two agree on names: the dashboard queries exactly the measurements that Telegraf's statsd
//! input makes of the emitter's wire names under the printed configuration.
//!
//! | dialect | wire name | Telegraf measurement | tags |
//! | --- | --- | --- | --- |
//! | `etsy` | `realm.web-1.connection.online` | `realm_connection_online` | `host=web-1` |
//! | `telegraf` (`hostname_as_tag`) | `realm.connection.online,host=web-1` | `realm_connection_online` | `host=web-1` |
//! | either | `…protocol.24.used` | `realm_protocol_used` | `version=24` |
//!
//! Every measurement also carries Telegraf's `metric_type` tag (`counter` or `gauge`), which
//! keeps the counter and gauge twins of `protocol.bytes.*` apart.

use crate::command::non_empty;
use realm_metrics::wire::Dialect;
use realm_metrics::{Group, Kind, Metric};
use serde_json::{json, Value};

/// The most dot-separated labels a host name may have for the `etsy` templates to move it into
/// the `host` tag (`ip-10-0-0-1.eu-west-1.compute.internal` has 4). Longer host names fall
/// through to Telegraf's default template (the host stays in the measurement name).
pub const MAX_HOST_LABELS: usize = 5;

/// The Telegraf statsd input's defaults that the measurement names depend on.
const METRIC_SEPARATOR: &str = "_";

/// Parse a `--dialect` value for the Telegraf/InfluxDB path: `etsy` or `telegraf`.
pub fn parse_dialect(s: &str) -> Result<Dialect, String> {
    match Dialect::parse(s) {
        Some(d @ (Dialect::Etsy | Dialect::Telegraf)) => Ok(d),
        Some(Dialect::DogStatsd) => Err(
            "the dogstatsd dialect is for the Datadog agent, which needs no Telegraf \
             configuration (see docs/operations.md); use etsy or telegraf"
                .into(),
        ),
        None => Err(format!("unknown dialect {s:?} (etsy or telegraf)")),
    }
}

/// The InfluxDB measurement of a catalog metric under [`telegraf_config`] (either dialect):
/// `realm_` and the catalog name with `.` as `_`; `protocol.<version>.used` becomes
/// `realm_protocol_used` with the version in a `version` tag.
pub fn measurement(metric: Metric) -> String {
    match metric {
        Metric::ProtocolVersionUsed => "realm_protocol_used".into(),
        m => format!("realm_{}", m.name().replace('.', METRIC_SEPARATOR)),
    }
}

/// The `templates` of the statsd input for `dialect` (Telegraf's graphite template syntax:
/// `"filter template"`; filters match `.`-separated parts, `*` one part, a filter matches
/// the start of a name).
///
/// - `telegraf` (`hostname_as_tag`): `realm.connection.online,host=h` needs no template (the
///   default joins the parts with `_`); one template puts the protocol version in a tag.
/// - `etsy`: `realm.<host>.<group>.…` for hosts of 1 to [`MAX_HOST_LABELS`] labels: the
///   catalog group after the host anchors where the host ends.
pub fn telegraf_templates(dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    if dialect != Dialect::Etsy {
        out.push("realm.protocol.*.used measurement.measurement.version.measurement".into());
        return out;
    }
    for labels in 1..=MAX_HOST_LABELS {
        let host_filter = ".*".repeat(labels);
        let host_parts = ".host".repeat(labels);
        for g in Group::ALL {
            out.push(format!(
                "realm{host_filter}.{g}.* measurement{host_parts}.measurement*",
                g = g.as_str()
            ));
        }
        out.push(format!(
            "realm{host_filter}.protocol.*.used measurement{host_parts}.measurement.version.measurement"
        ));
    }
    out
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Telegraf configuration: the statsd input on `:8125` set up for the emitter's `dialect`,
/// writing to InfluxDB at `influx_url`, database `database`.
pub fn telegraf_config(dialect: Dialect, influx_url: &str, database: &str) -> String {
    let (sender, templates_note) = match dialect {
        Dialect::Etsy => (
            "\
# Senders: the etsy dialect (the default), names realm.<host>.<metric>:
#   realm.web-1.connection.online:42|g
# The templates move <host> into a `host` tag: measurement realm_connection_online, tag
# host=web-1. A host name of several labels becomes one tag joined with `_`
# (web-1.example.com -> host=web-1_example_com). A host label after the first must not be a
# catalog group name (client, session, connection, realms, authentication, permission,
# protocol).",
            format!(
                "## One filter per catalog group and host length (1 to {MAX_HOST_LABELS} labels): the\n  \
                 ## group after the host shows where the host ends. Longer host names keep the\n  \
                 ## default name (realm_<host parts>_<metric>): use a shorter prefix for them."
            ),
        ),
        _ => (
            "\
# Senders: the telegraf dialect with hostname_as_tag, names realm.<metric> and a host tag:
#   realm.connection.online,host=web-1:42|g
# Telegraf joins the name's parts with `_`: measurement realm_connection_online, tag
# host=web-1 (a host tag in the name wins over the agent's own).",
            "## The default template (parts joined with `_`) fits every name but one.".to_owned(),
        ),
    };
    let templates: Vec<String> = telegraf_templates(dialect)
        .iter()
        .map(|t| format!("    {},", toml_string(t)))
        .collect();
    format!(
        "\
# Telegraf configuration for Realm Object Server metrics, printed by
#   realm-metrics telegraf-config --dialect {dialect}
#
{sender}
# protocol.<version>.used becomes measurement realm_protocol_used with a `version` tag.
# `realm-metrics grafana-dashboard --datasource influxdb --dialect {dialect}` queries exactly
# these measurements.

[agent]
  interval = \"10s\"
  flush_interval = \"10s\"

[[inputs.statsd]]
  protocol = \"udp\"
  ## Where the emitters send (their default address is localhost:8125).
  service_address = \":8125\"
  metric_separator = \"{METRIC_SEPARATOR}\"

  ## The emitter sends every gauge that has a value again on every flush (every second by
  ## default), so forgetting gauges after each collection is safe: a gauge whose sender stopped
  ## stops being reported instead of repeating its last value forever.
  delete_gauges = true
  ## The emitter sends counters as the change since its last flush; Telegraf sums them over
  ## its interval and reports the sum, then starts again from zero (graph them as sums).
  delete_counters = true
  delete_sets = true
  delete_timings = true

  ## protocol.bytes.received and protocol.bytes.sent are both a counter (bytes per message) and
  ## a gauge (bytes since start) under one name, so both land in one measurement, kept apart by
  ## the metric_type tag. Counters are integers and gauges floats by default, and InfluxDB
  ## refuses a field whose type differs from the one already in the shard (\"field type
  ## conflict\"): write counters as floats too.
  float_counters = true

  ## protocol.<version>.used: measurement realm_protocol_used, tag version=<version>.
  {templates_note}
  templates = [
{templates}
  ]

  allowed_pending_messages = 10000

[[outputs.influxdb]]
  urls = [{url}]
  database = {database}
",
        dialect = dialect.as_str(),
        templates = templates.join("\n"),
        url = toml_string(influx_url),
        database = toml_string(database),
    )
}

/// The command line of `realm-metrics telegraf-config`.
#[derive(Clone, Debug, clap::Args)]
pub struct TelegrafConfigArgs {
    /// The emitters' dialect: etsy (host in the name) or telegraf (host as a tag)
    #[arg(long, value_name = "DIALECT", default_value = "etsy", value_parser = parse_dialect)]
    pub dialect: Dialect,
    /// The InfluxDB to write to
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8086", value_parser = non_empty)]
    pub influx_url: String,
    /// The InfluxDB database
    #[arg(long, value_name = "NAME", default_value = "realm", value_parser = non_empty)]
    pub database: String,
}

/// The command line of `realm-metrics grafana-dashboard`.
#[derive(Clone, Debug, clap::Args)]
pub struct GrafanaDashboardArgs {
    /// The Grafana data source type
    #[arg(long, value_enum, default_value_t = Datasource::Influxdb)]
    pub datasource: Datasource,
    /// The dialect the Telegraf configuration was printed for: etsy or telegraf
    #[arg(long, value_name = "DIALECT", default_value = "etsy", value_parser = parse_dialect)]
    pub dialect: Dialect,
}

/// `grafana-dashboard --datasource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Datasource {
    /// InfluxDB (InfluxQL), fed by `realm-metrics telegraf-config`
    Influxdb,
}

/// `realm-metrics telegraf-config`: the configuration to print.
pub fn telegraf_config_command(args: &TelegrafConfigArgs) -> String {
    telegraf_config(args.dialect, &args.influx_url, &args.database)
}

/// `realm-metrics grafana-dashboard`: the dashboard JSON to print (pretty, with a final newline).
pub fn grafana_dashboard_command(args: &GrafanaDashboardArgs) -> Result<String, String> {
    let dashboard = match args.datasource {
        Datasource::Influxdb => grafana_dashboard(args.dialect),
    };
    let mut s =
        serde_json::to_string_pretty(&dashboard).map_err(|e| format!("cannot write JSON: {e}"))?;
    s.push('\n');
    Ok(s)
}

/// The panel title of a catalog metric (the twins say which one they are).
fn panel_title(m: Metric) -> String {
    match m {
        Metric::ProtocolBytesReceived | Metric::ProtocolBytesSent => {
            format!("{} (counter: bytes per message)", m.name())
        }
        Metric::ProtocolBytesReceivedGauge | Metric::ProtocolBytesSentGauge => {
            format!("{} (gauge: bytes since start)", m.name())
        }
        m => m.name().to_owned(),
    }
}

/// The InfluxQL query of a catalog metric's panel.
pub fn influxql(m: Metric) -> String {
    let (select, kind, fill) = match m.kind() {
        Kind::Counter => ("sum(\"value\")", "counter", "fill(0)"),
        Kind::Gauge => ("last(\"value\")", "gauge", "fill(previous)"),
    };
    let group = if m == Metric::ProtocolVersionUsed {
        "\"host\", \"version\""
    } else {
        "\"host\""
    };
    format!(
        "SELECT {select} FROM \"{}\" WHERE \"metric_type\" = '{kind}' AND \"host\" =~ /^$host$/ \
         AND $timeFilter GROUP BY time($__interval), {group} {fill}",
        measurement(m)
    )
}

/// A Grafana dashboard (JSON model, schema version 39) over an InfluxDB (InfluxQL) data source
/// fed by Telegraf with [`telegraf_config`] for `dialect`: one row per catalog group, one panel
/// per catalog metric; counters as the sum per interval, gauges as the last value; a `host`
/// variable (multi-value, "All" included) and a data source variable.
pub fn grafana_dashboard(dialect: Dialect) -> Value {
    let ds = json!({ "type": "influxdb", "uid": "${datasource}" });
    let mut panels = Vec::new();
    let mut id = 0u32;
    let mut y = 0u32;
    for g in Group::ALL {
        id += 1;
        panels.push(json!({
            "type": "row",
            "id": id,
            "title": g.as_str(),
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": y },
            "panels": [],
        }));
        y += 1;
        let metrics: Vec<Metric> = Metric::ALL
            .iter()
            .copied()
            .filter(|m| m.group() == g)
            .collect();
        for (i, m) in metrics.iter().enumerate() {
            id += 1;
            let col = u32::try_from(i % 3).unwrap_or(0);
            let row = u32::try_from(i / 3).unwrap_or(0);
            let bytes = matches!(
                m,
                Metric::ProtocolBytesReceived
                    | Metric::ProtocolBytesSent
                    | Metric::ProtocolBytesReceivedGauge
                    | Metric::ProtocolBytesSentGauge
            );
            let alias = if *m == Metric::ProtocolVersionUsed {
                "$tag_host v$tag_version"
            } else {
                "$tag_host"
            };
            let draw = match m.kind() {
                Kind::Counter => "bars",
                Kind::Gauge => "line",
            };
            panels.push(json!({
                "type": "timeseries",
                "id": id,
                "title": panel_title(*m),
                "description": format!("{} ({}) {}", m.name(), m.kind(), m.description()),
                "datasource": ds,
                "gridPos": { "h": 8, "w": 8, "x": col * 8, "y": y + row * 8 },
                "fieldConfig": {
                    "defaults": {
                        "unit": if bytes { "decbytes" } else { "short" },
                        "custom": { "drawStyle": draw, "fillOpacity": 20, "spanNulls": false },
                    },
                    "overrides": [],
                },
                "options": {
                    "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
                    "tooltip": { "mode": "multi", "sort": "desc" },
                },
                "targets": [{
                    "refId": "A",
                    "datasource": ds,
                    "rawQuery": true,
                    "query": influxql(*m),
                    "resultFormat": "time_series",
                    "alias": alias,
                }],
            }));
        }
        let rows = u32::try_from(metrics.len().div_ceil(3)).unwrap_or(0);
        y += rows * 8;
    }
    let host_query = "SHOW TAG VALUES FROM /^realm_/ WITH KEY = \"host\"";
    json!({
        "title": "Realm Object Server",
        "uid": format!("realm-metrics-{}", dialect.as_str()),
        "description": format!(
            "ROS metrics from Telegraf's statsd input (realm-metrics telegraf-config --dialect {}) in InfluxDB. Generated by realm-metrics grafana-dashboard.",
            dialect.as_str()
        ),
        "tags": ["realm", "statsd", "telegraf"],
        "editable": true,
        "graphTooltip": 1,
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": { "from": "now-6h", "to": "now" },
        "timepicker": {},
        "annotations": { "list": [] },
        "links": [],
        "templating": {
            "list": [
                {
                    "type": "datasource",
                    "name": "datasource",
                    "label": "InfluxDB",
                    "query": "influxdb",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                },
                {
                    "type": "query",
                    "name": "host",
                    "label": "host",
                    "datasource": ds,
                    "query": host_query,
                    "definition": host_query,
                    "current": {},
                    "hide": 0,
                    "includeAll": true,
                    "multi": true,
                    "refresh": 2,
                    "regex": "",
                    "sort": 1,
                    "options": [],
                },
            ],
        },
        "panels": panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_escape() {
        assert_eq!(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(toml_string("\u{1}"), "\"\\u0001\"");
    }

    #[test]
    fn measurements() {
        assert_eq!(
            measurement(Metric::ConnectionOnline),
            "realm_connection_online"
        );
        assert_eq!(
            measurement(Metric::ProtocolBytesReceivedGauge),
            "realm_protocol_bytes_received"
        );
        assert_eq!(
            measurement(Metric::ProtocolVersionUsed),
            "realm_protocol_used"
        );
    }

    /// `realm-metrics <args>` parsed.
    fn parse(args: &[&str]) -> Result<crate::command::Command, clap::Error> {
        use clap::Parser;
        let argv = std::iter::once(&"realm-metrics").chain(args);
        Ok(crate::command::Cli::try_parse_from(argv)?.command)
    }

    #[test]
    fn command_options() {
        use crate::command::Command;
        let Ok(Command::TelegrafConfig(t)) = parse(&["telegraf-config"]) else {
            panic!("telegraf-config")
        };
        assert_eq!(
            (t.dialect, t.influx_url.as_str(), t.database.as_str()),
            (Dialect::Etsy, "http://127.0.0.1:8086", "realm")
        );
        assert!(telegraf_config_command(&t).contains("database = \"realm\""));
        let Ok(Command::TelegrafConfig(t)) = parse(&["telegraf-config", "--dialect=telegraf"])
        else {
            panic!("--dialect=telegraf")
        };
        assert_eq!(t.dialect, Dialect::Telegraf);
        assert!(parse(&["telegraf-config", "--dialect"]).is_err());
        assert!(parse(&["telegraf-config", "--database", ""]).is_err());
        assert!(parse(&["telegraf-config", "--nope", "x"]).is_err());
        assert!(parse(&["grafana-dashboard", "--dialect=etsy", "--dialect=etsy"]).is_err());
        assert!(parse(&["grafana-dashboard", "--datasource=graphite"]).is_err());
        let e = parse(&["grafana-dashboard", "--dialect=dogstatsd"]).unwrap_err();
        assert!(e.to_string().contains("Datadog agent"), "{e}");
    }

    #[test]
    fn dialects() {
        assert_eq!(parse_dialect("etsy"), Ok(Dialect::Etsy));
        assert_eq!(parse_dialect("telegraf"), Ok(Dialect::Telegraf));
        assert!(parse_dialect("dogstatsd").is_err());
        assert!(parse_dialect("x").is_err());
    }
}
