//! The alert rules file (TOML): `[[rule]]` and `[[notify]]` tables, checked with the line and
//! column of every mistake.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use realm_metrics::{Kind, Metric};
use serde::Deserialize;
use toml::Spanned;

use crate::agg::SeriesKind;

/// The longest window a rule may have.
pub const MAX_WINDOW: i64 = 3600;

/// A mistake in a rules file, with its position (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for RuleError {}

fn position(src: &str, offset: usize) -> (usize, usize) {
    let before = src.get(..offset.min(src.len())).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn error_at(src: &str, span: Range<usize>, message: impl Into<String>) -> RuleError {
    let (line, column) = position(src, span.start);
    RuleError {
        line,
        column,
        message: message.into(),
    }
}

/// What a rule computes over its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// Counters: the sum over the window.
    Increase,
    /// Counters: the sum over the window per second.
    Rate,
    /// Gauges: the current value.
    Value,
    /// Gauges and timers: the smallest value in the window.
    Min,
    /// Gauges and timers: the largest value in the window.
    Max,
    /// Timers: percentiles over the window.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
}

impl Func {
    fn parse(s: &str) -> Option<Func> {
        Some(match s {
            "increase" => Func::Increase,
            "rate" => Func::Rate,
            "value" => Func::Value,
            "min" => Func::Min,
            "max" => Func::Max,
            "p50" => Func::P50,
            "p90" => Func::P90,
            "p99" => Func::P99,
            _ => return None,
        })
    }

    /// The series kinds this function reads.
    pub fn kinds(self) -> &'static [SeriesKind] {
        use SeriesKind::*;
        match self {
            Func::Increase | Func::Rate => &[Counter],
            Func::Value => &[Gauge, Set],
            Func::Min | Func::Max => &[Gauge, Timer, Histogram, Distribution],
            Func::P50 | Func::P90 | Func::P99 => &[Timer, Histogram, Distribution],
        }
    }
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// Apply.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

/// When a rule's alert is active.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Condition {
    /// A host that reported the metric sent nothing for the window.
    Absent,
    /// `func op threshold`.
    Compare(Func, Op, f64),
}

/// Which series a rule watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A catalog metric (`connection.failed`), read as these kinds.
    Catalog(Metric),
    /// A full bucket name (`realm.h1.connection.failed` or any custom name).
    Bucket(String),
    /// Any metric of the host (`metric = "*"`; only with `absent`).
    AnyMetric,
}

/// A checked rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The alert name (the `alertname` label).
    pub name: String,
    /// What it watches.
    pub target: Target,
    /// The metric as written (the `metric` label).
    pub metric: String,
    /// Host glob (`*` and `?`).
    pub host: String,
    /// The condition.
    pub condition: Condition,
    /// Window, seconds.
    pub window: i64,
    /// How long the condition must hold before firing, seconds.
    pub for_: i64,
    /// The `severity` label.
    pub severity: String,
    /// Summary template: `{host}`, `{value}`, `{window}`, `{metric}`, `{name}`.
    pub summary: String,
    /// More labels.
    pub labels: BTreeMap<String, String>,
}

/// Where alerts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notify {
    /// Alertmanager API v2 at this base URL (`POST {url}/api/v2/alerts`).
    Alertmanager(String),
    /// A webhook receiving Alertmanager's webhook JSON.
    Webhook(String),
    /// A command (argv, never a shell).
    Exec(Vec<String>),
}

/// A checked rules file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// The notification targets.
    pub notify: Vec<Notify>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    notify: Vec<Spanned<RawNotify>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    metric: Option<Spanned<String>>,
    bucket: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    condition: Spanned<String>,
    window: Option<Spanned<String>>,
    #[serde(rename = "for")]
    for_: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    #[serde(rename = "type")]
    ty: Spanned<String>,
    url: Option<Spanned<String>>,
    command: Option<Spanned<Vec<String>>>,
}

/// Parse a duration with a unit: `0s`, `30s`, `5m`, `1h` (seconds, 0 to [`MAX_WINDOW`] * 24).
pub fn parse_duration(s: &str) -> Option<i64> {
    if s == "0" || s == "0s" {
        return Some(0);
    }
    crate::query::parse_duration(s)
}

/// Format seconds as the shortest of `90s`, `5m`, `2h`.
pub fn format_duration(s: i64) -> String {
    if s != 0 && s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s != 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn label_name_ok(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The catalog metric named `s` (`protocol.<version>.used` included).
fn catalog(s: &str) -> Option<Metric> {
    Metric::ALL.into_iter().find(|m| m.name() == s)
}

/// The closest catalog name, for a hint.
fn closest(s: &str) -> &'static str {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != *cb);
                cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    }
    Metric::ALL
        .iter()
        .map(|m| m.name())
        .min_by_key(|n| distance(s, n))
        .unwrap_or("")
}

/// Parse a condition: `absent`, or `<func> <op> <number>`; errors carry the offset in `s`.
fn parse_condition(s: &str) -> Result<Condition, (usize, String)> {
    let t = s.trim();
    let lead = s.len() - s.trim_start().len();
    if t == "absent" {
        return Ok(Condition::Absent);
    }
    let func_end = t
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(t.len());
    let func = Func::parse(&t[..func_end]).ok_or_else(|| {
        (
            lead,
            format!(
                "condition: {:?} is not one of increase, rate, value, min, max, p50, p90, p99 (or the whole condition \"absent\")",
                &t[..func_end]
            ),
        )
    })?;
    let rest = &t[func_end..];
    let op_start = lead + func_end + (rest.len() - rest.trim_start().len());
    let rest = rest.trim_start();
    let (op, len) = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
    ]
    .into_iter()
    .find(|(tok, _)| rest.starts_with(tok))
    .map(|(tok, op)| (op, tok.len()))
    .ok_or_else(|| {
        (
            op_start,
            format!(
                "condition: expected a comparator (> >= < <= == !=) after {:?}",
                &t[..func_end]
            ),
        )
    })?;
    let num = rest[len..].trim();
    let num_start = op_start + len + (rest[len..].len() - rest[len..].trim_start().len());
    let v: f64 = num
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| {
            (
                num_start,
                format!("condition: {num:?} is not a finite number"),
            )
        })?;
    Ok(Condition::Compare(func, op, v))
}

impl Rules {
    /// Parse and check a rules file.
    pub fn parse(src: &str) -> Result<Rules, RuleError> {
        let raw: RawFile = toml::from_str(src).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            error_at(src, span, e.message().trim().to_owned())
        })?;
        let mut rules = Vec::new();
        let mut names = std::collections::HashSet::new();
        for r in raw.rule {
            let rule_span = r.span();
            let r = r.into_inner();
            let err = |s: &Spanned<String>, m: String| error_at(src, s.span(), m);
            let name = r.name.get_ref().clone();
            if !label_name_ok(&name) {
                return Err(err(&r.name, format!("name: {name:?} must be letters, digits and _ (it becomes the alertname label)")));
            }
            if !names.insert(name.clone()) {
                return Err(err(&r.name, format!("name: a second rule named {name:?}")));
            }
            let condition = {
                let c = &r.condition;
                parse_condition(c.get_ref()).map_err(|(off, m)| {
                    // The value's span includes its opening quote.
                    let start = c.span().start + 1 + off;
                    error_at(src, start..start, m)
                })?
            };
            let (target, metric) = match (&r.metric, &r.bucket) {
                (Some(m), None) => {
                    let v = m.get_ref();
                    if v == "*" {
                        if condition != Condition::Absent {
                            return Err(err(
                                m,
                                "metric: \"*\" (any metric) goes only with condition = \"absent\""
                                    .into(),
                            ));
                        }
                        (Target::AnyMetric, "*".to_owned())
                    } else if let Some(c) = catalog(v) {
                        (Target::Catalog(c), v.clone())
                    } else if let Some((_, rec)) =
                        [Kind::Counter, Kind::Gauge].into_iter().find_map(|k| {
                            realm_metrics::catalog::recognize_full(v, None, Some(k))
                                .ok()
                                .flatten()
                        })
                    {
                        (Target::Bucket(v.clone()), rec.metric.name().to_owned())
                    } else {
                        return Err(err(
                            m,
                            format!(
                                "metric: {v:?} is not a catalog name (did you mean {:?}?) nor realm.<host>.<catalog name>; use bucket = \"...\" for other names",
                                closest(v)
                            ),
                        ));
                    }
                }
                (None, Some(b)) => {
                    let v = b.get_ref();
                    if realm_metrics::name::validate_name(v).is_err() || v.is_empty() {
                        return Err(err(b, format!("bucket: {v:?} is not a StatsD name")));
                    }
                    (Target::Bucket(v.clone()), v.clone())
                }
                (Some(m), Some(_)) => return Err(err(m, "give metric or bucket, not both".into())),
                (None, None) => {
                    return Err(error_at(
                        src,
                        rule_span,
                        "a rule needs metric = \"<catalog name>\" (or bucket = \"<name>\")",
                    ))
                }
            };
            // The kinds the condition reads must include the catalog metric's kind.
            if let (Target::Catalog(m), Condition::Compare(f, _, _)) = (&target, condition) {
                let kind = match m.kind() {
                    Kind::Counter => SeriesKind::Counter,
                    Kind::Gauge => SeriesKind::Gauge,
                };
                let twin = Metric::ALL.iter().any(|o| {
                    o != m
                        && o.name() == m.name()
                        && f.kinds().iter().any(|k| k.as_str() == o.kind().as_str())
                });
                if !f.kinds().contains(&kind) && !twin {
                    return Err(err(
                        &r.condition,
                        format!(
                            "condition: {} is a {}, which this function does not read",
                            m.name(),
                            m.kind().as_str()
                        ),
                    ));
                }
            }
            let duration = |d: &Option<Spanned<String>>, default: i64, key: &str, min: i64| match d
            {
                None => Ok(default),
                Some(s) => parse_duration(s.get_ref())
                    .filter(|v| *v >= min && *v <= 24 * MAX_WINDOW)
                    .ok_or_else(|| {
                        err(
                            s,
                            format!(
                                "{key}: {:?} is not a duration such as 30s, 5m or 1h",
                                s.get_ref()
                            ),
                        )
                    }),
            };
            let window = duration(&r.window, 60, "window", 1)?;
            if window > MAX_WINDOW {
                let s = r.window.as_ref().map_or(rule_span.clone(), |w| w.span());
                return Err(error_at(
                    src,
                    s,
                    format!("window: at most {}", format_duration(MAX_WINDOW)),
                ));
            }
            let for_ = duration(&r.for_, 0, "for", 0)?;
            let host = r
                .host
                .as_ref()
                .map_or("*".to_owned(), |h| h.get_ref().clone());
            if host.is_empty() {
                return Err(err(
                    r.host.as_ref().unwrap_or(&r.name),
                    "host: empty (use \"*\" for every host)".into(),
                ));
            }
            let severity = r
                .severity
                .as_ref()
                .map_or("warning".to_owned(), |s| s.get_ref().clone());
            let summary = r.summary.as_ref().map_or_else(
                || match condition {
                    Condition::Absent => "{host} has sent nothing for {window}".to_owned(),
                    Condition::Compare(..) => {
                        "{host}: {metric} is {value} over {window}".to_owned()
                    }
                },
                |s| s.get_ref().clone(),
            );
            let mut labels = BTreeMap::new();
            for (k, v) in r.labels {
                if !label_name_ok(&k)
                    || ["alertname", "host", "metric", "severity"].contains(&k.as_str())
                {
                    return Err(err(&v, format!("labels: {k:?} is not a label name of its own (letters, digits, _; not alertname, host, metric, severity)")));
                }
                labels.insert(k, v.into_inner());
            }
            rules.push(Rule {
                name,
                target,
                metric,
                host,
                condition,
                window,
                for_,
                severity,
                summary,
                labels,
            });
        }
        let mut notify = Vec::new();
        for n in raw.notify {
            let span = n.span();
            let n = n.into_inner();
            let url = |n: &RawNotify| -> Result<String, RuleError> {
                let u = n.url.as_ref().ok_or_else(|| {
                    error_at(
                        src,
                        span.clone(),
                        format!("notify type {:?} needs url", n.ty.get_ref()),
                    )
                })?;
                let v = u.get_ref();
                let ok = v
                    .strip_prefix("http://")
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
                if !ok {
                    return Err(error_at(
                        src,
                        u.span(),
                        format!("url: {v:?} is not an http:// URL"),
                    ));
                }
                Ok(v.trim_end_matches('/').to_owned())
            };
            notify.push(match n.ty.get_ref().as_str() {
                "alertmanager" => Notify::Alertmanager(url(&n)?),
                "webhook" => Notify::Webhook(url(&n)?),
                "exec" => {
                    let c = n.command.as_ref().ok_or_else(|| error_at(src, span.clone(), "notify type \"exec\" needs command = [\"/path/to/program\", \"arg\", ...]"))?;
                    if c.get_ref().first().is_none_or(|p| p.is_empty()) {
                        return Err(error_at(src, c.span(), "command: the program is missing"));
                    }
                    Notify::Exec(c.get_ref().clone())
                }
                t => {
                    return Err(error_at(src, n.ty.span(), format!("type: {t:?} is not alertmanager, webhook or exec")))
                }
            });
        }
        Ok(Rules { rules, notify })
    }
}

/// The default rules (`realm-metrics alerts defaults`), used when `--alerts` is not given.
pub const DEFAULTS: &str = r#"# realm-metrics default alert rules: `realm-metrics dashboard --alerts FILE` replaces them.
# Conditions: increase | rate | value | min | max | p50 | p90 | p99 with > >= < <= == !=, or "absent".

# The reference: "Should not normally happen."
[[rule]]
name = "AuthenticationFailed"
metric = "authentication.failed"
host = "*"
condition = "increase > 0"
window = "5m"
for = "0s"
severity = "warning"
summary = "{host}: {value} authentication failures in {window}"

[[rule]]
name = "PermissionDenied"
metric = "permission.denied"
condition = "increase > 0"
window = "5m"
severity = "warning"
summary = "{host}: {value} permission failures in {window}"

# Clients too old or badly written.
[[rule]]
name = "ProtocolViolated"
metric = "protocol.violated"
condition = "increase > 0"
window = "5m"
severity = "warning"
summary = "{host}: {value} sync protocol violations in {window}"

# A client whose realm must be deleted and recovered from the server.
[[rule]]
name = "ClientUnsyncable"
metric = "client.unsyncable"
condition = "increase > 0"
window = "5m"
severity = "critical"
summary = "{host}: {value} clients could not sync in {window} (history mismatch: restore from backup?)"

# Low-level accept()/read()/write() failures: more than one a second, sustained for a minute.
[[rule]]
name = "ConnectionFailures"
metric = "connection.failed"
condition = "rate > 1"
window = "1m"
for = "1m"
severity = "warning"
summary = "{host}: {value} connection failures per second over {window}"

# A sync worker that stopped reporting.
[[rule]]
name = "HostAbsent"
metric = "*"
condition = "absent"
window = "60s"
severity = "critical"
summary = "{host} has sent no metrics for {window}"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_parse() {
        let r = Rules::parse(DEFAULTS).unwrap();
        assert_eq!(r.rules.len(), 6);
        assert!(r.notify.is_empty());
        let a = &r.rules[0];
        assert_eq!(a.target, Target::Catalog(Metric::AuthenticationFailed));
        assert_eq!(a.condition, Condition::Compare(Func::Increase, Op::Gt, 0.0));
        assert_eq!((a.window, a.for_), (300, 0));
        assert_eq!(
            r.rules[4].condition,
            Condition::Compare(Func::Rate, Op::Gt, 1.0)
        );
        assert_eq!(r.rules[5].target, Target::AnyMetric);
        assert_eq!(r.rules[5].condition, Condition::Absent);
    }

    #[test]
    fn the_issue_example_parses() {
        let src = r#"
[[rule]]
name = "AuthenticationFailed"
metric = "authentication.failed"
host = "*"
condition = "increase > 0"
window = "1m"
for = "0s"
severity = "warning"
summary = "{host}: {value} authentication failures in {window}"
labels = { team = "sync" }

[[notify]]
type = "alertmanager"
url = "http://127.0.0.1:9093"

[[notify]]
type = "webhook"
url = "http://127.0.0.1:9000/hook"

[[notify]]
type = "exec"
command = ["/usr/local/bin/deploy-gate", "--pause"]
"#;
        let r = Rules::parse(src).unwrap();
        assert_eq!(
            r.rules[0].labels.get("team").map(String::as_str),
            Some("sync")
        );
        assert_eq!(
            r.notify,
            vec![
                Notify::Alertmanager("http://127.0.0.1:9093".into()),
                Notify::Webhook("http://127.0.0.1:9000/hook".into()),
                Notify::Exec(vec!["/usr/local/bin/deploy-gate".into(), "--pause".into()]),
            ]
        );
    }

    fn err(src: &str) -> RuleError {
        Rules::parse(src).unwrap_err()
    }

    #[test]
    fn mistakes_give_line_and_column() {
        let head = "[[rule]]\nname = \"A\"\n";
        let e = err(&format!(
            "{head}metric = \"authentication.faild\"\ncondition = \"increase > 0\"\n"
        ));
        assert_eq!((e.line, e.column), (3, 10), "{e}");
        assert!(e.message.contains("authentication.failed"), "{e}");
        let e = err(&format!("{head}metric = \"session.failed\"\ncondition = \"increase > 0\"\nwindow = \"5 minutes\"\n"));
        assert_eq!((e.line, e.column), (5, 10), "{e}");
        assert!(e.message.contains("window"), "{e}");
        let e = err(&format!(
            "{head}metric = \"session.failed\"\ncondition = \"increase => 0\"\n"
        ));
        assert_eq!((e.line, e.column), (4, 23), "{e}");
        assert!(e.message.contains("comparator"), "{e}");
        let e = err(&format!(
            "{head}metric = \"session.failed\"\ncondition = \"increase > 0\"\ncolour = \"red\"\n"
        ));
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("colour"), "{e}");
        let e = err(&format!(
            "{head}metric = \"session.failed\"\ncondition = \"average > 0\"\n"
        ));
        assert_eq!((e.line, e.column), (4, 14), "{e}");
        let e = err(&format!(
            "{head}metric = \"session.online\"\ncondition = \"increase > 0\"\n"
        ));
        assert!(e.message.contains("gauge"), "{e}");
        let e = err(&format!(
            "{head}metric = \"*\"\ncondition = \"increase > 0\"\n"
        ));
        assert!(e.message.contains("absent"), "{e}");
        let e = err("[[notify]]\ntype = \"pager\"\n");
        assert_eq!((e.line, e.column), (2, 8), "{e}");
        let e = err("[[notify]]\ntype = \"webhook\"\nurl = \"ftp://x\"\n");
        assert_eq!(e.line, 3, "{e}");
        let e = err("[[rule]\n");
        assert_eq!(e.line, 1, "{e}");
        let e = err(&format!(
            "{head}metric = \"session.failed\"\ncondition = \"rate > 1\"\nwindow = \"2h\"\n"
        ));
        assert!(e.message.contains("at most"), "{e}");
        // Twins: protocol.bytes.sent is a counter and a gauge.
        Rules::parse(&format!(
            "{head}metric = \"protocol.bytes.sent\"\ncondition = \"value > 1\"\n"
        ))
        .unwrap();
        Rules::parse(&format!(
            "{head}metric = \"realm.h1.session.failed\"\ncondition = \"rate > 1\"\n"
        ))
        .unwrap();
        Rules::parse(&format!(
            "{head}bucket = \"my.app.latency\"\ncondition = \"p99 > 250\"\n"
        ))
        .unwrap();
    }
}
