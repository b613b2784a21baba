//! Alerts over real sockets: `realm-metrics dashboard --alerts RULES` with Debian's Prometheus
//! Alertmanager (fire, resolve, absent, routed to a webhook this test runs), a direct webhook
//! (Alertmanager's webhook JSON), commands (environment, stdin, hostile host names never reach a
//! shell), a dead and a hanging target (retries, give-up, bounded memory, ingest and evaluation
//! at full rate), rules files with mistakes, and the history at `/api/v1/alerts`.
//!
//! Alertmanager must be installed (`bash scripts/setup.sh` installs Debian's
//! `prometheus-alertmanager`): without it the end-to-end test fails, it does not skip.

mod support;

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::{http_get, Dashboard as Server, TempDir, BIN};

/// A host name no other run uses.
fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}-{:x}{:x}", std::process::id(), nanos)
}

/// Poll `f` every 100 ms until it gives a value; panic with `what` and `context()` after
/// `timeout`.
fn wait_for<T>(
    what: &str,
    timeout: Duration,
    context: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}\n{}",
            context()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// The dashboard with the rules file `rules`.
fn start_with_rules(data: &Path, rules: &Path) -> Server {
    Server::start(data, &["--alerts", rules.to_str().unwrap()])
}

impl Server {
    fn status(&self) -> Value {
        self.json("/api/v1/status")
    }

    /// `alerts.<key>` of `/api/v1/status`.
    fn counter(&self, key: &str) -> u64 {
        let s = self.status();
        s["alerts"][key]
            .as_u64()
            .unwrap_or_else(|| panic!("no alerts.{key} in {s}"))
    }

    fn alerts(&self) -> Value {
        self.json("/api/v1/alerts")
    }

    /// The row of `/api/v1/alerts` (`list` is `firing` or `recent`) for `rule` and `host`.
    fn alert_row(&self, list: &str, rule: &str, host: &str) -> Option<Value> {
        self.alerts()[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == rule && r["host"] == host)
            .cloned()
    }
}

/// A webhook receiver: records every request's path and JSON body and answers 200 after
/// `delay` (a hanging target when long). Stops, closing every connection, when dropped.
struct Hook {
    addr: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hook {
    fn start(delay: Duration) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answered = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, answered, stop) = (
                Arc::clone(&requests),
                Arc::clone(&answered),
                Arc::clone(&stop),
            );
            thread::spawn(move || {
                let mut conns = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            let (requests, answered, stop) = (
                                Arc::clone(&requests),
                                Arc::clone(&answered),
                                Arc::clone(&stop),
                            );
                            conns.push(thread::spawn(move || {
                                serve_hook(s, delay, &requests, &answered, &stop);
                            }));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(10));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
                for c in conns {
                    let _ = c.join();
                }
            })
        };
        Hook {
            addr,
            requests,
            answered,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().unwrap().clone()
    }

    fn dump(&self) -> String {
        let r = self.requests();
        let mut s = format!("{} requests to the webhook:\n", r.len());
        for (path, body) in r {
            s.push_str(&format!("  {path} {body}\n"));
        }
        s
    }

    /// The first request body for which `pred` holds, waiting up to `timeout`.
    fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        wait_for(
            what,
            timeout,
            || self.dump(),
            || self.requests().into_iter().map(|r| r.1).find(|b| pred(b)),
        )
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One connection: requests (keep-alive) until EOF or stop.
fn serve_hook(
    mut s: TcpStream,
    delay: Duration,
    requests: &Mutex<Vec<(String, Value)>>,
    answered: &AtomicU64,
    stop: &AtomicBool,
) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // A whole request in `buf`?
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body: Vec<u8> = buf.drain(..end + 4 + len).skip(end + 4).collect();
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                let value = serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&body).into_owned()));
                requests.lock().unwrap().push((path, value));
                let until = Instant::now() + delay;
                while Instant::now() < until {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .is_err()
                {
                    return;
                }
                answered.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        match s.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// A port nothing listens on (bound, then closed).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn alertmanager_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for name in ["prometheus-alertmanager", "alertmanager"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "Prometheus Alertmanager is not installed (no prometheus-alertmanager or alertmanager \
         in PATH): run `bash scripts/setup.sh` (it installs Debian's prometheus-alertmanager)"
    );
}

/// Prometheus Alertmanager on a free loopback port, clustering off, routing every alert
/// (grouped by alertname and host, 1 s waits) to `webhook`, resolved ones too.
struct Alertmanager {
    child: Child,
    addr: String,
    dir: TempDir,
}

impl Alertmanager {
    fn start(webhook: &str) -> Alertmanager {
        let bin = alertmanager_binary();
        let dir = TempDir::new("alertmanager");
        let config = dir.write(
            "alertmanager.yml",
            &format!(
                "route:\n  receiver: hook\n  group_by: [alertname, host]\n  group_wait: 1s\n  \
                 group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    \
                 webhook_configs:\n      - url: {webhook}\n        send_resolved: true\n"
            ),
        );
        let mut last = String::new();
        for _ in 0..3 {
            let addr = format!("127.0.0.1:{}", free_port());
            let log = fs::File::create(dir.0.join("alertmanager.log")).unwrap();
            let mut child = Command::new(&bin)
                .arg("--config.file")
                .arg(&config)
                .arg("--storage.path")
                .arg(dir.0.join("data"))
                .arg("--web.listen-address")
                .arg(&addr)
                .arg("--cluster.listen-address=")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if http_get(&addr, "/-/ready").0 == 200 {
                    return Alertmanager { child, addr, dir };
                }
                thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            last = fs::read_to_string(dir.0.join("alertmanager.log")).unwrap_or_default();
        }
        panic!("Alertmanager did not become ready on three tries; its log:\n{last}");
    }

    /// What it holds now and its log, for failure messages.
    fn dump(&self) -> String {
        format!(
            "Alertmanager's alerts: {}\nits log:\n{}",
            http_get(&self.addr, "/api/v2/alerts").1,
            fs::read_to_string(self.dir.0.join("alertmanager.log")).unwrap_or_default()
        )
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Unix seconds of an RFC 3339 UTC time (`2024-01-02T03:04:05Z`, fractions ignored).
fn unix(t: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| -> i64 {
        t.get(r)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not RFC 3339: {t:?}"))
    };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

/// `n` failed authentications of `host` as one datagram.
fn auth_failures(host: &str, n: usize) -> String {
    (0..n)
        .map(|_| format!("realm.{host}.authentication.failed:1|c\n"))
        .collect()
}

/// Whether webhook JSON `b` is about `alertname` and `host` with `status`.
fn is(b: &Value, status: &str, alertname: &str, host: &str) -> bool {
    b["status"] == status
        && b["alerts"].as_array().is_some_and(|a| {
            a.iter()
                .any(|a| a["labels"]["alertname"] == alertname && a["labels"]["host"] == host)
        })
}

#[test]
fn rfc3339_parsing_of_these_tests() {
    assert_eq!(unix("1970-01-01T00:00:00Z"), 0);
    assert_eq!(unix("2023-11-14T22:13:20Z"), 1_700_000_000);
    assert_eq!(unix("2000-02-29T00:00:00.000Z"), 951_782_400);
}

#[test]
fn alertmanager_end_to_end_fires_resolves_and_reports_absent_hosts() {
    let hook = Hook::start(Duration::ZERO);
    let am = Alertmanager::start(&format!("http://{}/am", hook.addr));
    let dir = TempDir::new("am");
    let rules = dir.write(
        "rules.toml",
        &format!(
            r#"
[[rule]]
name = "AuthenticationFailed"
metric = "authentication.failed"
condition = "increase > 0"
window = "4s"
severity = "critical"
summary = "{{host}}: {{value}} authentication failures in {{window}}"

[[rule]]
name = "HostSilent"
metric = "*"
condition = "absent"
window = "3s"
severity = "warning"

[[notify]]
type = "alertmanager"
url = "http://{}"
"#,
            am.addr
        ),
    );
    let server = start_with_rules(&dir.0.join("data"), &rules);
    let failing = unique("am-auth");
    let quiet = unique("am-gone");
    let context = || format!("{}{}", hook.dump(), am.dump());

    let burst = Instant::now();
    server.send(&auth_failures(&failing, 5));
    // The second host reports for 2 s, then stops.
    while burst.elapsed() < Duration::from_secs(2) {
        server.send(&format!("realm.{quiet}.connection.online:1|g"));
        thread::sleep(Duration::from_millis(200));
    }

    let fired = wait_for(
        "Alertmanager's firing notification",
        Duration::from_secs(15),
        context,
        || {
            hook.requests()
                .into_iter()
                .map(|r| r.1)
                .find(|b| is(b, "firing", "AuthenticationFailed", &failing))
        },
    );
    assert_eq!(fired["version"], "4", "{fired}");
    assert_eq!(fired["receiver"], "hook", "{fired}");
    assert_eq!(fired["groupLabels"]["alertname"], "AuthenticationFailed");
    assert_eq!(fired["groupLabels"]["host"], failing.as_str());
    let alert = &fired["alerts"][0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["labels"]["severity"], "critical", "{fired}");
    assert_eq!(alert["labels"]["metric"], "authentication.failed");
    assert_eq!(
        alert["annotations"]["summary"],
        format!("{failing}: 5 authentication failures in 4s").as_str()
    );

    let resolved = wait_for(
        "Alertmanager's resolved notification",
        Duration::from_secs(15),
        context,
        || {
            hook.requests()
                .into_iter()
                .map(|r| r.1)
                .find(|b| is(b, "resolved", "AuthenticationFailed", &failing))
        },
    );
    let took = burst.elapsed();
    assert_eq!(resolved["alerts"][0]["status"], "resolved", "{resolved}");
    assert_eq!(resolved["alerts"][0]["labels"]["severity"], "critical");
    // Not before the 4 s window passed over the burst.
    assert!(took >= Duration::from_secs(3), "resolved after {took:?}");

    let absent = wait_for(
        "the absent host's notification",
        Duration::from_secs(15),
        context,
        || {
            hook.requests()
                .into_iter()
                .map(|r| r.1)
                .find(|b| is(b, "firing", "HostSilent", &quiet))
        },
    );
    assert_eq!(absent["groupLabels"]["host"], quiet.as_str(), "{absent}");
    assert_eq!(absent["alerts"][0]["labels"]["severity"], "warning");
    assert_eq!(absent["alerts"][0]["labels"]["metric"], "*");

    // While it fires, the dashboard sends it again every 10 s with endsAt moved on (60 s past
    // each send), so Alertmanager never times it out.
    let ends_at = || {
        let (st, body) = http_get(&am.addr, "/api/v2/alerts?active=true");
        assert_eq!(st, 200, "{body}");
        let all: Value = serde_json::from_str(&body).unwrap();
        all.as_array().unwrap().iter().find_map(|a| {
            (a["labels"]["alertname"] == "HostSilent" && a["labels"]["host"] == quiet.as_str())
                .then(|| {
                    let (s, e) = (
                        a["startsAt"].as_str().unwrap(),
                        a["endsAt"].as_str().unwrap(),
                    );
                    (s[..19].to_owned(), e[..19].to_owned())
                })
        })
    };
    let (starts, first_end) = ends_at().unwrap_or_else(|| panic!("{}", am.dump()));
    assert!(first_end > starts, "{starts} {first_end}");
    wait_for(
        "a resend to Alertmanager",
        Duration::from_secs(14),
        context,
        || ends_at().filter(|(_, e)| *e > first_end),
    );

    let s = server.status();
    assert!(
        s["alerts"]["notifications_sent"].as_u64().unwrap() >= 3,
        "{s}"
    );
    assert_eq!(s["alerts"]["notify_failed"], 0, "{s}");
    assert_eq!(s["alerts"]["rules"], 2, "{s}");
    server.stop();
}

#[test]
fn a_webhook_gets_alertmanagers_webhook_json_on_firing_and_on_resolve() {
    let hook = Hook::start(Duration::ZERO);
    let dir = TempDir::new("webhook");
    let rules = dir.write(
        "rules.toml",
        &format!(
            r#"
[[rule]]
name = "AuthenticationFailed"
metric = "authentication.failed"
condition = "increase > 0"
window = "3s"
severity = "critical"
summary = "{{host}}: {{value}} authentication failures in {{window}}"
labels = {{ team = "sync" }}

[[notify]]
type = "webhook"
url = "http://{}/hook"
"#,
            hook.addr
        ),
    );
    let server = start_with_rules(&dir.0.join("data"), &rules);
    let host = unique("wh");
    server.send(&auth_failures(&host, 3));

    let b = hook.wait("the firing webhook", Duration::from_secs(10), |b| {
        is(b, "firing", "AuthenticationFailed", &host)
    });
    assert_eq!(b["version"], "4", "{b}");
    assert_eq!(b["status"], "firing");
    assert!(b["receiver"].as_str().is_some_and(|r| !r.is_empty()), "{b}");
    assert_eq!(b["groupLabels"]["alertname"], "AuthenticationFailed");
    assert_eq!(b["commonLabels"]["host"], host.as_str(), "{b}");
    assert_eq!(
        b["externalURL"],
        format!("http://{}/", server.http).as_str()
    );
    assert_eq!(b["alerts"].as_array().unwrap().len(), 1, "{b}");
    let a = &b["alerts"][0];
    assert_eq!(a["status"], "firing");
    for (k, v) in [
        ("alertname", "AuthenticationFailed"),
        ("host", host.as_str()),
        ("metric", "authentication.failed"),
        ("severity", "critical"),
        ("team", "sync"),
    ] {
        assert_eq!(a["labels"][k], v, "label {k}: {b}");
    }
    assert_eq!(
        a["annotations"]["summary"],
        format!("{host}: 3 authentication failures in 3s").as_str()
    );
    let starts = a["startsAt"].as_str().unwrap().to_owned();
    assert!(
        starts.len() == 20 && starts.ends_with('Z') && starts.as_bytes()[10] == b'T',
        "{starts}"
    );
    // Firing: Alertmanager may consider it over 60 s after this send.
    assert_eq!(
        unix(a["endsAt"].as_str().unwrap()) - unix(&starts),
        60,
        "{b}"
    );
    assert!(a["generatorURL"]
        .as_str()
        .unwrap()
        .starts_with(&format!("http://{}/", server.http)));
    assert!(a["fingerprint"]
        .as_str()
        .is_some_and(|f| f.len() == 16 && f.bytes().all(|c| c.is_ascii_hexdigit())));

    let r = hook.wait("the resolved webhook", Duration::from_secs(10), |b| {
        is(b, "resolved", "AuthenticationFailed", &host)
    });
    assert_eq!(r["version"], "4");
    let a = &r["alerts"][0];
    assert_eq!(a["status"], "resolved", "{r}");
    assert_eq!(a["startsAt"], starts.as_str());
    // Resolved when the window (3 s) has passed over the burst: endsAt is that second.
    assert_eq!(
        unix(a["endsAt"].as_str().unwrap()) - unix(&starts),
        3,
        "{r}"
    );
    assert_eq!(a["fingerprint"], b["alerts"][0]["fingerprint"]);
    // Transitions only: one firing, one resolved, both to the configured path.
    thread::sleep(Duration::from_millis(1500));
    let all = hook.requests();
    assert_eq!(all.len(), 2, "{}", hook.dump());
    assert!(all.iter().all(|(p, _)| p == "/hook"), "{}", hook.dump());
    server.stop();
}

/// Records `REALM_ALERT_*` (with `env -0`, exact) and stdin of every run into `$1`.
const RECORD_SH: &str = r#"set -eu
out="$1/run.$$.$(date +%s%N)"
cat > "$out.stdin"
env -0 > "$out.tmp"
mv "$out.tmp" "$out.env"
"#;

/// Every run of the recording command: (variables, stdin).
fn exec_runs(dir: &Path) -> Vec<(Vec<(String, String)>, Value)> {
    let mut runs = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "env") {
            let env = fs::read(&p).unwrap();
            let vars = env
                .split(|b| *b == 0)
                .filter_map(|kv| {
                    let kv = String::from_utf8_lossy(kv).into_owned();
                    let (k, v) = kv.split_once('=')?;
                    k.starts_with("REALM_ALERT_")
                        .then(|| (k.to_owned(), v.to_owned()))
                })
                .collect();
            let stdin = fs::read(p.with_extension("stdin")).unwrap();
            runs.push((vars, serde_json::from_slice(&stdin).unwrap_or(Value::Null)));
        }
    }
    runs
}

fn var<'a>(vars: &'a [(String, String)], k: &str) -> &'a str {
    vars.iter()
        .find(|(n, _)| n == k)
        .map_or("<unset>", |(_, v)| v.as_str())
}

#[test]
fn exec_gets_the_alert_in_its_environment_and_hostile_hosts_never_reach_a_shell() {
    let dir = TempDir::new("exec");
    let runs = dir.0.join("runs");
    fs::create_dir_all(&runs).unwrap();
    let script = dir.write("record.sh", RECORD_SH);
    let rules = dir.write(
        "rules.toml",
        &format!(
            r#"
[[rule]]
name = "AuthenticationFailed"
metric = "authentication.failed"
condition = "increase > 0"
window = "3s"
severity = "critical"
summary = "{{host}}: {{value}} authentication failures in {{window}}"

[[notify]]
type = "exec"
command = ["/bin/sh", {:?}, {:?}]
"#,
            script.to_str().unwrap(),
            runs.to_str().unwrap()
        ),
    );
    let t = dir.0.to_str().unwrap();
    let hostile = [
        format!("x;touch {t}/pwned"),
        format!("$(touch {t}/pwned2)"),
        format!("`touch {t}/pwned3`"),
        format!("a'b\"c&&touch {t}/pwned4"),
        format!("x\" > {t}/pwned5 #"),
    ];
    // The decoder takes these names, and the host is exactly the hostile string.
    let lines: String = hostile
        .iter()
        .map(|h| format!("realm.{h}.authentication.failed:1|c\n"))
        .collect();
    let mut decode = Command::new(BIN)
        .arg("decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    decode
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = decode.wait_with_output().unwrap();
    let decoded: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decoded.len(), hostile.len());
    for (d, h) in decoded.iter().zip(&hostile) {
        assert_eq!(d["host"], h.as_str(), "{d}");
        assert_eq!(d["metric"], "authentication.failed", "{d}");
    }

    let server = start_with_rules(&dir.0.join("data"), &rules);
    let host = unique("exec");
    server.send(&auth_failures(&host, 2));
    server.send(&lines);

    let find = |status: &str, host: &str| {
        exec_runs(&runs).into_iter().find(|(v, _)| {
            var(v, "REALM_ALERT_HOST") == host && var(v, "REALM_ALERT_STATUS") == status
        })
    };
    let dump = || {
        let runs: Vec<(String, String)> = exec_runs(&runs)
            .into_iter()
            .map(|(v, _)| {
                (
                    var(&v, "REALM_ALERT_STATUS").to_owned(),
                    var(&v, "REALM_ALERT_HOST").to_owned(),
                )
            })
            .collect();
        format!("runs so far (status, host): {runs:?}")
    };
    let pwned = || {
        for f in ["pwned", "pwned2", "pwned3", "pwned4", "pwned5"] {
            assert!(
                !dir.0.join(f).exists(),
                "{f} exists: a host name was run by a shell"
            );
        }
    };
    let (vars, stdin) = wait_for("the firing run", Duration::from_secs(10), dump, || {
        find("firing", &host)
    });
    for (k, v) in [
        ("REALM_ALERT_NAME", "AuthenticationFailed"),
        ("REALM_ALERT_STATUS", "firing"),
        ("REALM_ALERT_HOST", host.as_str()),
        ("REALM_ALERT_METRIC", "authentication.failed"),
        ("REALM_ALERT_VALUE", "2"),
        ("REALM_ALERT_SEVERITY", "critical"),
        (
            "REALM_ALERT_SUMMARY",
            &format!("{host}: 2 authentication failures in 3s"),
        ),
    ] {
        assert_eq!(var(&vars, k), v, "{k}: {vars:?}");
    }
    assert_eq!(stdin["status"], "firing", "{stdin}");
    assert_eq!(stdin["labels"]["host"], host.as_str(), "{stdin}");
    assert_eq!(stdin["labels"]["alertname"], "AuthenticationFailed");

    let (vars, stdin) = wait_for("the resolved run", Duration::from_secs(10), dump, || {
        find("resolved", &host)
    });
    assert_eq!(var(&vars, "REALM_ALERT_NAME"), "AuthenticationFailed");
    assert_eq!(var(&vars, "REALM_ALERT_SEVERITY"), "critical");
    assert_eq!(var(&vars, "REALM_ALERT_METRIC"), "authentication.failed");
    assert_eq!(var(&vars, "REALM_ALERT_VALUE"), "0", "{vars:?}");
    assert_eq!(stdin["status"], "resolved", "{stdin}");

    // Each hostile host got its runs with the name as it came (in the same second as the host
    // above), and nothing was executed.
    pwned();
    for h in &hostile {
        for status in ["firing", "resolved"] {
            let (vars, stdin) = wait_for(
                &format!("the {status} run for {h:?}"),
                Duration::from_secs(10),
                dump,
                || find(status, h),
            );
            assert_eq!(var(&vars, "REALM_ALERT_HOST"), h.as_str());
            assert!(var(&vars, "REALM_ALERT_SUMMARY").starts_with(h.as_str()));
            assert_eq!(stdin["labels"]["host"], h.as_str(), "{stdin}");
        }
    }
    pwned();
    let s = server.status();
    assert_eq!(s["alerts"]["exec_runs"], 12, "{s}");
    assert_eq!(s["alerts"]["exec_failed"], 0, "{s}");
    server.stop();
}

#[test]
fn a_dead_webhook_is_retried_then_given_up_with_bounded_memory() {
    let dir = TempDir::new("dead");
    let port = free_port();
    let rules = dir.write(
        "rules.toml",
        &format!(
            r#"
[[rule]]
name = "AuthenticationFailed"
metric = "authentication.failed"
condition = "increase > 0"
window = "1s"

[[notify]]
type = "webhook"
url = "http://127.0.0.1:{port}/hook"
"#
        ),
    );
    let server = start_with_rules(&dir.0.join("data"), &rules);
    const HOSTS: usize = 2000;
    let prefix = unique("dead");
    // Every host fails once in a second and is quiet the next: HOSTS alerts fire, then resolve,
    // over and over, all to a target that refuses connections.
    let round = || {
        let mut text = String::new();
        for i in 0..HOSTS {
            text.push_str(&format!("realm.{prefix}-{i}.authentication.failed:1|c\n"));
            if text.len() > 8000 {
                server.send(&text);
                text.clear();
            }
        }
        server.send(&text);
    };
    let first = Instant::now();
    round();
    wait_for(
        "a retry",
        Duration::from_secs(5),
        || server.status().to_string(),
        || (server.counter("notify_retries") > 0).then_some(()),
    );
    // Warm up (one more round), then measure while 10 more rounds fire 20,000 alerts.
    thread::sleep(Duration::from_secs(2));
    round();
    thread::sleep(Duration::from_secs(2));
    let base = server.rss_kib();
    let mut peak = base;
    let mut gave_up = None;
    let mut sample = |peak: &mut u64| {
        thread::sleep(Duration::from_millis(1000));
        *peak = (*peak).max(server.rss_kib());
        if gave_up.is_none() && server.counter("notify_failed") > 0 {
            gave_up = Some(first.elapsed());
        }
    };
    for _ in 0..10 {
        round();
        sample(&mut peak);
        sample(&mut peak);
    }
    eprintln!("dead target: VmRSS {base} KiB after warm-up, peak {peak} KiB under load; given up after {gave_up:?}");
    let s = server.status();
    let a = &s["alerts"];
    assert_eq!(a["notifications_sent"], 0, "{s}");
    assert!(a["notify_retries"].as_u64().unwrap() >= 16, "{s}");
    // At most 16 deliveries wait on the dead target; the rest are dropped and counted.
    assert!(a["notify_dropped"].as_u64().unwrap() >= 20_000, "{s}");
    assert_eq!(a["seconds_dropped"], 0, "{s}");
    assert!(
        peak < base + 16 * 1024,
        "VmRSS grew from {base} KiB to {peak} KiB while alerts to a dead target piled up"
    );
    // The first 16 give up within the 30 s deadline: after 0.5 + 1 + 2 + 4 + 8 + 8 s of
    // backoff (about 23.5 s), since the next 8 s would pass it.
    let gave_up = gave_up.unwrap_or_else(|| {
        wait_for(
            "notify_failed",
            Duration::from_secs(35).saturating_sub(first.elapsed()),
            || server.status().to_string(),
            || (server.counter("notify_failed") > 0).then(|| first.elapsed()),
        )
    });
    assert!(
        gave_up >= Duration::from_secs(20) && gave_up <= Duration::from_secs(31),
        "the first deliveries were given up {gave_up:?} after they fired"
    );
    assert!(server.counter("notify_failed") <= 16 + 16);
    server.stop();
}

#[test]
fn a_hanging_webhook_does_not_slow_ingest_or_evaluation() {
    let hook = Hook::start(Duration::from_secs(30));
    let dir = TempDir::new("slow");
    let rules = dir.write(
        "rules.toml",
        &format!(
            r#"
[[rule]]
name = "AuthenticationFailed"
metric = "authentication.failed"
condition = "increase > 0"
window = "5s"

[[rule]]
name = "PermissionDenied"
metric = "permission.denied"
condition = "increase > 0"
window = "5s"

[[notify]]
type = "webhook"
url = "http://{}/hook"
"#,
            hook.addr
        ),
    );
    let server = start_with_rules(&dir.0.join("data"), &rules);
    let prefix = unique("slow");
    // 20 alerts: 16 deliveries hang, the rest are dropped.
    let text: String = (0..20)
        .map(|i| format!("realm.{prefix}-{i}.authentication.failed:1|c\n"))
        .collect();
    server.send(&text);
    wait_for(
        "16 hanging deliveries",
        Duration::from_secs(10),
        || hook.dump(),
        || (hook.requests().len() >= 16).then_some(()),
    );
    thread::sleep(Duration::from_millis(1200));
    let s0 = server.status();
    let start = Instant::now();
    let (v0, e0) = (
        s0["values"].as_u64().unwrap(),
        s0["alerts"]["evaluated_seconds"].as_u64().unwrap(),
    );
    // 5 s at 5,000 values a second; after 2 s another alert must fire as usual.
    let other = format!("{prefix}-other");
    let line: String = (0..50).map(|i| format!("load.c{i}:1|c\n")).collect();
    let (mut sent, mut denied_at, mut seen_after) = (0u64, None, None);
    let mut next_poll = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        server.send(&line);
        sent += 50;
        if denied_at.is_none() && start.elapsed() >= Duration::from_secs(2) {
            server.send(&format!("realm.{other}.permission.denied:1|c"));
            sent += 1;
            denied_at = Some(Instant::now());
        }
        if let (Some(t), None) = (denied_at, seen_after) {
            if Instant::now() >= next_poll {
                next_poll = Instant::now() + Duration::from_millis(200);
                if server
                    .alert_row("firing", "PermissionDenied", &other)
                    .is_some()
                {
                    seen_after = Some(t.elapsed());
                }
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
    let seen_after = seen_after.unwrap_or_else(|| {
        wait_for(
            "PermissionDenied to fire",
            Duration::from_secs(3),
            || server.alerts().to_string(),
            || {
                server
                    .alert_row("firing", "PermissionDenied", &other)
                    .map(|_| denied_at.unwrap().elapsed())
            },
        )
    });
    eprintln!("hanging target: PermissionDenied listed {seen_after:?} after its datagram");
    assert!(
        seen_after < Duration::from_millis(3000),
        "PermissionDenied fired {seen_after:?} after its datagram while the webhook hangs"
    );
    // The counts are published once a second.
    thread::sleep(Duration::from_millis(2200));
    let s1 = server.status();
    let secs = start.elapsed().as_secs();
    let values = s1["values"].as_u64().unwrap() - v0;
    let evaluated = s1["alerts"]["evaluated_seconds"].as_u64().unwrap() - e0;
    assert!(
        values >= sent,
        "{values} values counted of {sent} sent: {s1}"
    );
    assert!(
        evaluated + 2 >= secs,
        "{evaluated} seconds evaluated in {secs} s: {s1}"
    );
    assert_eq!(s1["seconds_dropped"], 0, "{s1}");
    assert_eq!(s1["alerts"]["seconds_dropped"], 0, "{s1}");
    // Still hanging: nothing was answered, the excess was dropped.
    assert_eq!(hook.answered.load(Ordering::Relaxed), 0);
    assert_eq!(s1["alerts"]["notifications_sent"], 0, "{s1}");
    assert!(
        s1["alerts"]["notify_dropped"].as_u64().unwrap() >= 4,
        "{s1}"
    );
    server.stop();
    drop(hook);
}

#[test]
fn bad_rules_files_are_reported_with_line_and_column() {
    let dir = TempDir::new("bad");
    let assets = support::stand_in_assets();
    let head = "[[rule]]\nname = \"A\"\n";
    let cases = [
        (
            "metric.toml",
            format!("{head}metric = \"authentication.faild\"\ncondition = \"increase > 0\"\n"),
            "3:10: ",
            "\"authentication.failed\"",
        ),
        (
            "window.toml",
            format!(
                "{head}metric = \"session.failed\"\ncondition = \"increase > 0\"\nwindow = \"5 minutes\"\n"
            ),
            "5:10: ",
            "window",
        ),
        (
            "comparator.toml",
            format!("{head}metric = \"session.failed\"\ncondition = \"increase => 0\"\n"),
            "4:23: ",
            "comparator",
        ),
        (
            "key.toml",
            format!(
                "{head}metric = \"session.failed\"\ncondition = \"increase > 0\"\ncolour = \"red\"\n"
            ),
            "5:1: ",
            "colour",
        ),
    ];
    for (name, text, at, hint) in &cases {
        let file = dir.write(name, text);
        let want = format!("{}:{at}", file.display());
        let out = Command::new(BIN)
            .args(["alerts", "check"])
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&want) && l.contains(hint)),
            "{name}: want {want}...{hint}, got {err}"
        );
        // The dashboard stops at start with the same message.
        let out = support::dashboard_command(
            assets.path(),
            &dir.path().join("data"),
            &["--alerts", file.to_str().unwrap()],
        )
        .output()
        .unwrap();
        let derr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: dashboard started");
        assert!(
            derr.lines().any(|l| l.contains(err.trim())),
            "{name}: dashboard said {derr}, check said {err}"
        );
    }
    let defaults = Command::new(BIN)
        .args(["alerts", "defaults"])
        .output()
        .unwrap();
    assert!(defaults.status.success());
    let file = dir.write(
        "defaults.toml",
        std::str::from_utf8(&defaults.stdout).unwrap(),
    );
    let out = Command::new(BIN)
        .args(["alerts", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("6 rules"));
}

#[test]
fn history_lists_a_fired_then_resolved_alert_across_a_restart() {
    let dir = TempDir::new("history");
    let rules = dir.write(
        "rules.toml",
        r#"
[[rule]]
name = "AuthenticationFailed"
metric = "authentication.failed"
condition = "increase > 0"
window = "3s"
for = "1s"
severity = "critical"
summary = "{host}: {value} in {window}"
"#,
    );
    let data = dir.0.join("data");
    let server = start_with_rules(&data, &rules);
    let host = unique("hist");
    server.send(&auth_failures(&host, 3));
    let firing = wait_for(
        "the alert in firing",
        Duration::from_secs(10),
        || server.alerts().to_string(),
        || server.alert_row("firing", "AuthenticationFailed", &host),
    );
    assert_eq!(firing["resolved_at"], Value::Null, "{firing}");
    assert_eq!(firing["metric"], "authentication.failed");
    assert_eq!(firing["severity"], "critical");
    assert_eq!(firing["summary"], format!("{host}: 3 in 3s").as_str());
    assert_eq!(firing["value"], 3);
    let done = wait_for(
        "the alert resolved",
        Duration::from_secs(10),
        || server.alerts().to_string(),
        || {
            server
                .alert_row("recent", "AuthenticationFailed", &host)
                .filter(|r| !r["resolved_at"].is_null())
        },
    );
    assert!(server
        .alert_row("firing", "AuthenticationFailed", &host)
        .is_none());
    let (started, fired, resolved) = (
        done["started_at"].as_i64().unwrap(),
        done["fired_at"].as_i64().unwrap(),
        done["resolved_at"].as_i64().unwrap(),
    );
    // Pending for `for` (1 s), resolved when the 3 s window has passed over the burst.
    assert_eq!((fired - started, resolved - started), (1, 3), "{done}");
    assert_eq!(done["fired_at"], firing["fired_at"]);
    server.stop();

    let server = start_with_rules(&data, &rules);
    let again = server
        .alert_row("recent", "AuthenticationFailed", &host)
        .unwrap_or_else(|| panic!("{}", server.alerts()));
    assert_eq!(again, done);
    assert_eq!(server.alerts()["firing"], Value::Array(Vec::new()));
    server.stop();
}
