//! `realm-metrics telegraf-config` and `grafana-dashboard`, run as a user would: the TOML parses
//! with the keys Telegraf reads, the dashboard has Grafana's fields and a panel per catalog
//! metric, and every panel queries exactly the measurement that Telegraf's statsd input makes of
//! the emitter's real wire names under the printed configuration.
//!
//! The derivation below re-implements Telegraf's rules (plugins/inputs/statsd `parseName`, and
//! internal/templating: `node.go` filter tree, `template.go` Apply, `engine.go` spec parsing):
//! - the bucket is split at `,`: the name, then `k=v` tags;
//! - the templates' filters form a tree of `.`-separated parts, children sorted with `*` last;
//!   the search takes an exact child first, then the `*` child, and a node whose filter ends
//!   there matches any longer name (a filter matches the start of a name);
//! - no match: the default template `measurement*`;
//! - Apply: `measurement` parts and the rest after `measurement*` joined with the
//!   metric_separator `_`, any other word is a tag (several parts joined with `_`), empty
//!   template parts are skipped; then the bucket's tags fill in tags the template did not set;
//! - the statsd input adds `metric_type` (`counter` for `c`, `gauge` for `g`).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use realm_metrics::emitter::Emitter;
use realm_metrics::wire::Dialect;
use realm_metrics::{Group, Kind, Metric};
use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_realm-metrics"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

// ---- Telegraf's template engine -----------------------------------------------------------

#[derive(Debug)]
struct Template {
    parts: Vec<String>,
    tags: BTreeMap<String, String>,
}

impl Template {
    fn new(pattern: &str, tagstring: Option<&str>) -> Template {
        let mut tags = BTreeMap::new();
        for kv in tagstring.into_iter().flat_map(|t| t.split(',')) {
            let (k, v) = kv.split_once('=').unwrap();
            tags.insert(k.to_owned(), v.to_owned());
        }
        let parts: Vec<String> = pattern.split('.').map(str::to_owned).collect();
        assert!(
            parts.iter().any(|p| p.starts_with("measurement")),
            "Telegraf refuses a template without measurement: {pattern:?}"
        );
        assert!(
            !(parts.iter().any(|p| p == "measurement*") && parts.iter().any(|p| p == "field*")),
            "measurement* and field* together: {pattern:?}"
        );
        Template { parts, tags }
    }

    /// (measurement, tags, field)
    fn apply(&self, name: &str) -> (String, BTreeMap<String, String>, String) {
        let fields: Vec<&str> = name.split('.').collect();
        let mut measurement: Vec<&str> = Vec::new();
        let mut field: Vec<&str> = Vec::new();
        let mut tags: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (k, v) in &self.tags {
            tags.entry(k.clone()).or_default().push(v);
        }
        for (i, part) in self.parts.iter().enumerate() {
            if i >= fields.len() || part.is_empty() {
                continue;
            }
            match part.as_str() {
                "measurement" => measurement.push(fields[i]),
                "field" => field.push(fields[i]),
                "measurement*" => measurement.extend(&fields[i..]),
                "field*" => field.extend(&fields[i..]),
                tag => tags.entry(tag.to_owned()).or_default().push(fields[i]),
            }
        }
        let tags = tags.into_iter().map(|(k, v)| (k, v.join("_"))).collect();
        (measurement.join("_"), tags, field.join("_"))
    }
}

#[derive(Debug, Default)]
struct Node {
    value: String,
    children: Vec<Node>,
    template: Option<usize>,
}

impl Node {
    fn insert(&mut self, values: &[&str], template: usize) {
        let Some((first, rest)) = values.split_first() else {
            self.template = Some(template);
            return;
        };
        if let Some(child) = self.children.iter_mut().find(|c| c.value == *first) {
            child.insert(rest, template);
            return;
        }
        let mut child = Node {
            value: (*first).to_owned(),
            ..Node::default()
        };
        child.insert(rest, template);
        self.children.push(child);
        // Sorted by value, "*" always last.
        self.children
            .sort_by(|a, b| (a.value == "*", &a.value).cmp(&(b.value == "*", &b.value)));
    }

    fn search(&self, parts: &[&str]) -> Option<usize> {
        if parts.is_empty() || self.children.is_empty() {
            return self.template;
        }
        let wildcard = self.children.last().filter(|c| c.value == "*");
        let exact = self
            .children
            .iter()
            .find(|c| c.value != "*" && c.value == parts[0]);
        if let Some(found) = exact.and_then(|c| c.search(&parts[1..])) {
            return Some(found);
        }
        if let Some(w) = wildcard {
            return w.search(&parts[1..]);
        }
        self.template
    }
}

struct Telegraf {
    templates: Vec<Template>,
    root: Node,
    default: Template,
}

impl Telegraf {
    /// The statsd input's template engine for a `templates = [...]` list.
    fn new(specs: &[String]) -> Telegraf {
        let mut t = Telegraf {
            templates: Vec::new(),
            root: Node::default(),
            default: Template::new("measurement*", None),
        };
        for spec in specs {
            let parts: Vec<&str> = spec.split_whitespace().collect();
            let has_tags = parts.len() > 1 && parts[parts.len() - 1].contains('=');
            let (filter, pattern, tagstring) = match (parts.len(), has_tags) {
                (1, _) => (None, parts[0], None),
                (2, false) => (Some(parts[0]), parts[1], None),
                (2, true) => (None, parts[0], Some(parts[1])),
                (3, true) => (Some(parts[0]), parts[1], Some(parts[2])),
                _ => panic!("template spec our configs do not use: {spec:?}"),
            };
            let template = Template::new(pattern, tagstring);
            match filter {
                None => t.default = template,
                Some(f) => {
                    t.templates.push(template);
                    let filter: Vec<&str> = f.split('.').collect();
                    t.root.insert(&filter, t.templates.len() - 1);
                }
            }
        }
        t
    }

    /// (measurement, tags) of one StatsD line.
    fn derive(&self, line: &str) -> (String, BTreeMap<String, String>) {
        let (bucket, rest) = line.split_once(':').unwrap();
        let ty = rest.split('|').nth(1).unwrap();
        let mut bucket_parts = bucket.split(',');
        let name = bucket_parts.next().unwrap();
        let name_parts: Vec<&str> = name.split('.').collect();
        let template = match self.root.search(&name_parts) {
            Some(i) => &self.templates[i],
            None => &self.default,
        };
        let (measurement, mut tags, field) = template.apply(name);
        assert_eq!(field, "", "our templates never name a field");
        for kv in bucket_parts {
            let (k, v) = kv.split_once('=').unwrap();
            tags.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
        let metric_type = match ty {
            "c" => "counter",
            "g" => "gauge",
            t => panic!("type {t}"),
        };
        tags.insert("metric_type".into(), metric_type.into());
        (measurement, tags)
    }
}

#[test]
fn the_engine_follows_telegrafs_documented_examples() {
    // docs/TEMPLATE_PATTERN.md and the statsd README.
    let t = Telegraf::new(&[
        "cpu.* measurement.measurement.region".into(),
        "mem.* measurement.measurement.host".into(),
    ]);
    let (m, tags) = t.derive("cpu.load.us-west:100|g");
    assert_eq!(m, "cpu_load");
    assert_eq!(tags["region"], "us-west");
    let (m, tags) = t.derive("mem.cached.localhost:256|g");
    assert_eq!(m, "mem_cached");
    assert_eq!(tags["host"], "localhost");
    // No template: the default joins every part with the separator.
    let (m, _) = t.derive("realm.example.com.connection.online:1|g");
    assert_eq!(m, "realm_example_com_connection_online");
    // Bucket tags (Telegraf's influx statsd).
    let (m, tags) = t.derive("users.current,service=payroll,region=us-west:32|g");
    assert_eq!(m, "users_current");
    assert_eq!(tags["service"], "payroll");
    assert_eq!(tags["metric_type"], "gauge");
    // Wildcards: an exact part first, then `*`.
    let t = Telegraf::new(&[
        "servers.localhost measurement.host".into(),
        "servers.* measurement.tag".into(),
    ]);
    assert_eq!(t.derive("servers.localhost:1|c").1["host"], "localhost");
    assert_eq!(t.derive("servers.other:1|c").1["tag"], "other");
}

// ---- telegraf-config ------------------------------------------------------------------------

fn telegraf_config(dialect: &str) -> (String, toml::Table) {
    let text = ok(&["telegraf-config", "--dialect", dialect]);
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{dialect}: {e}\n{text}"));
    (text, table)
}

fn statsd_input(table: &toml::Table) -> &toml::Table {
    let inputs = table["inputs"]["statsd"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    inputs[0].as_table().unwrap()
}

fn templates(table: &toml::Table) -> Vec<String> {
    statsd_input(table)["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn telegraf_config_is_toml_with_the_keys_telegraf_reads() {
    for dialect in ["etsy", "telegraf"] {
        let (text, table) = telegraf_config(dialect);
        let statsd = statsd_input(&table);
        assert_eq!(statsd["service_address"].as_str(), Some(":8125"));
        assert_eq!(statsd["protocol"].as_str(), Some("udp"));
        assert_eq!(statsd["metric_separator"].as_str(), Some("_"));
        assert_eq!(statsd["float_counters"].as_bool(), Some(true));
        assert_eq!(statsd["delete_gauges"].as_bool(), Some(true));
        assert_eq!(statsd["delete_counters"].as_bool(), Some(true));
        assert!(!templates(&table).is_empty());
        let out = table["outputs"]["influxdb"].as_array().unwrap()[0]
            .as_table()
            .unwrap();
        assert_eq!(
            out["urls"].as_array().unwrap()[0].as_str(),
            Some("http://127.0.0.1:8086")
        );
        assert_eq!(out["database"].as_str(), Some("realm"));
        // The two settings that need a reason say why, right above them.
        let before = |key: &str| -> String {
            let at = text.find(&format!("\n  {key} = ")).unwrap();
            text[..at].rsplit("\n\n").next().unwrap().to_owned()
        };
        let why_float = before("float_counters");
        assert!(
            why_float.contains("conflict") && why_float.contains("protocol.bytes"),
            "{why_float}"
        );
        let why_gauges = before("delete_gauges");
        assert!(why_gauges.contains("again on every flush"), "{why_gauges}");
    }
}

#[test]
fn telegraf_config_takes_the_output_and_escapes_it() {
    let text = ok(&[
        "telegraf-config",
        "--influx-url=http://influx.example:8086",
        "--database",
        "ros \"prod\"",
        "--dialect=telegraf",
    ]);
    let table: toml::Table = text.parse().unwrap();
    let out = table["outputs"]["influxdb"].as_array().unwrap()[0]
        .as_table()
        .unwrap();
    assert_eq!(
        out["urls"].as_array().unwrap()[0].as_str(),
        Some("http://influx.example:8086")
    );
    assert_eq!(out["database"].as_str(), Some("ros \"prod\""));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["telegraf-config", "--dialect", "dogstatsd"][..],
        &["telegraf-config", "--dialect", "nope"],
        &["telegraf-config", "--database"],
        &["telegraf-config", "extra"],
        &["grafana-dashboard", "--datasource", "graphite"],
        &["grafana-dashboard", "--dialect"],
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}");
        // clap's message, which points to --help.
        assert!(
            out.is_empty() && err.starts_with("error: ") && err.contains("--help"),
            "{args:?}: {err}"
        );
    }
}

// ---- grafana-dashboard ----------------------------------------------------------------------

fn dashboard(dialect: &str) -> Value {
    let text = ok(&[
        "grafana-dashboard",
        "--datasource",
        "influxdb",
        "--dialect",
        dialect,
    ]);
    serde_json::from_str(&text).unwrap()
}

/// (measurement, metric_type, query) of each metric panel, in order, with the row it is under.
fn panel_queries(d: &Value) -> Vec<(String, String, String, String)> {
    let mut row = String::new();
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        if p["type"] == "row" {
            row = p["title"].as_str().unwrap().to_owned();
            continue;
        }
        let targets = p["targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1);
        let q = targets[0]["query"].as_str().unwrap().to_owned();
        let from = q
            .split("FROM \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let ty = q
            .split("\"metric_type\" = '")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        out.push((row.clone(), from.to_owned(), ty.to_owned(), q.clone()));
    }
    out
}

#[test]
fn dashboard_has_grafanas_fields() {
    for dialect in ["etsy", "telegraf"] {
        let d = dashboard(dialect);
        assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(d["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty() && u.len() <= 40));
        assert!(d["schemaVersion"].as_u64().is_some_and(|v| v >= 30));
        assert!(d["time"]["from"].is_string() && d["time"]["to"].is_string());
        let vars = d["templating"]["list"].as_array().unwrap();
        let host = vars.iter().find(|v| v["name"] == "host").unwrap();
        assert_eq!(host["type"], "query");
        assert!(host["query"].as_str().unwrap().contains("KEY = \"host\""));
        let ds = vars.iter().find(|v| v["type"] == "datasource").unwrap();
        assert_eq!(ds["query"], "influxdb");
        // Unique panel ids, every panel placed on the 24-column grid.
        let panels = d["panels"].as_array().unwrap();
        let mut ids: Vec<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), panels.len());
        for p in panels {
            let g = &p["gridPos"];
            assert!(g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24);
        }
    }
}

#[test]
fn dashboard_has_a_panel_per_catalog_metric_under_its_group_row() {
    let d = dashboard("etsy");
    let rows: Vec<&str> = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "row")
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    let groups: Vec<&str> = Group::ALL.iter().map(|g| g.as_str()).collect();
    assert_eq!(rows, groups);
    let panels = panel_queries(&d);
    assert_eq!(panels.len(), Metric::ALL.len());
    // In catalog order (grouped), each under its group's row, with the kind's aggregation.
    for (m, (row, _, ty, q)) in Metric::ALL.iter().zip(&panels) {
        assert_eq!(row, m.group().as_str(), "{m:?}");
        assert_eq!(ty, m.kind().as_str(), "{m:?}");
        match m.kind() {
            Kind::Counter => assert!(
                q.starts_with("SELECT sum(\"value\")")
                    || q.starts_with("SELECT non_negative_derivative("),
                "{q}"
            ),
            Kind::Gauge => assert!(q.starts_with("SELECT last(\"value\")"), "{q}"),
        }
        assert!(q.contains("\"host\" =~ /^$host$/"), "{q}");
        assert!(q.contains("$timeFilter") && q.contains("GROUP BY time($__interval)"));
    }
}

/// One flush of `m` recorded once, as the emitter writes it.
fn wire_lines(m: Metric, dialect: Dialect, prefix: Option<&str>) -> Vec<String> {
    let mut b = Emitter::builder()
        .dialect(dialect)
        .flush_interval(Duration::ZERO);
    b = match prefix {
        Some(p) => b.prefix(p),
        None => b.hostname_as_tag(true),
    };
    let (e, spy) = b.spy().unwrap();
    match (m, m.kind()) {
        (Metric::ProtocolVersionUsed, _) => e.protocol_used(24).unwrap(),
        (_, Kind::Counter) => e.count(m, 3).unwrap(),
        (_, Kind::Gauge) => e.gauge_set(m, -2).unwrap(),
    }
    e.flush().unwrap();
    spy.lines()
}

/// Checks every catalog metric's wire lines against the dashboard under the dialect's config.
fn check_names(dialect: Dialect, prefix: Option<&str>, host_tag: &str) {
    let (_, table) = telegraf_config(dialect.as_str());
    let telegraf = Telegraf::new(&templates(&table));
    let panels = panel_queries(&dashboard(dialect.as_str()));
    for (m, (_, measurement, ty, q)) in Metric::ALL.iter().zip(&panels) {
        let lines = wire_lines(*m, dialect, prefix);
        assert!(!lines.is_empty());
        for line in &lines {
            let (derived, tags) = telegraf.derive(line);
            assert_eq!(&derived, measurement, "{dialect} {line:?} -> {derived}");
            assert_eq!(&tags["metric_type"], ty, "{line:?}");
            assert_eq!(tags["host"], host_tag, "{line:?}");
            if *m == Metric::ProtocolVersionUsed {
                assert_eq!(tags["version"], "24", "{line:?}");
                assert!(q.contains("\"version\""), "grouped by version: {q}");
            } else {
                assert!(!tags.contains_key("version"), "{line:?}");
            }
        }
    }
}

#[test]
fn dashboard_measurements_are_what_telegraf_derives_from_etsy_wire_names() {
    for (host, tag) in [
        ("web-1", "web-1"),
        ("ros_2", "ros_2"),
        ("example.com", "example_com"),
        ("sync.eu.example.com", "sync_eu_example_com"),
        (
            "ip-10-0-0-1.eu-west-1.compute.internal",
            "ip-10-0-0-1_eu-west-1_compute_internal",
        ),
        // A first label equal to a group name or to `realm` is fine.
        ("session", "session"),
        ("realm.a.b.c.d", "realm_a_b_c_d"),
    ] {
        check_names(Dialect::Etsy, Some(&format!("realm.{host}")), tag);
    }
}

#[test]
fn dashboard_measurements_are_what_telegraf_derives_from_telegraf_wire_names() {
    // hostname_as_tag: prefix `realm`, the hostname in a `host` tag that Telegraf keeps.
    check_names(Dialect::Telegraf, None, &realm_metrics::name::hostname());
}

#[test]
fn etsy_hosts_beyond_the_template_limit_keep_the_default_name() {
    // Documented limit: more labels than MAX_HOST_LABELS fall through to the default template.
    let (_, table) = telegraf_config("etsy");
    let telegraf = Telegraf::new(&templates(&table));
    let (m, tags) = telegraf.derive("realm.a.b.c.d.e.f.connection.online:1|g");
    assert_eq!(m, "realm_a_b_c_d_e_f_connection_online");
    assert!(!tags.contains_key("host"));
}
