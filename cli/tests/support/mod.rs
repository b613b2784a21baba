//! Shared by the tests that run `realm-metrics dashboard` over real sockets: temporary folders,
//! stand-in page assets (no wasm build needed), raw HTTP, and the dashboard process itself.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_realm-metrics");

/// A temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty folder named after `tag`, this process and a counter.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "realm-metrics-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Write `text` to `name` in the folder.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Stand-in page assets: the wasm build's files (and a snippet), uPlot's, and a file that must
/// never be served.
pub fn stand_in_assets() -> TempDir {
    let dir = TempDir::new("assets");
    for (f, body) in [
        ("realm_metrics_wasm.js", "export default 1;\n"),
        ("realm_metrics_wasm_bg.wasm", "\0asm\x01\0\0\0"),
        ("snippets/x/js/build.js", "export function f() {}\n"),
        ("uPlot.esm.js", "export default class uPlot {}\n"),
        ("uPlot.min.css", ".uplot{}\n"),
        ("secret.txt", "no\n"),
    ] {
        dir.write(f, body);
    }
    dir
}

/// Send `raw` to `addr` and read the whole answer (empty when the connection fails).
pub fn request(addr: &str, raw: &str) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    if s.write_all(raw.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw HTTP answer (0 when there is none).
pub fn status(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// GET `path` from `addr` with `Host: addr`: (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let text = request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status(&text), body)
}

/// `realm-metrics dashboard` on free loopback ports (unless `extra` gives `--listen` or `--http`)
/// with the page assets in `assets` and the store in `data`.
pub fn dashboard_command(assets: &Path, data: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("dashboard");
    // Free ports, unless `extra` names its own.
    for opt in ["--listen", "--http"] {
        if !extra.contains(&opt) {
            c.args([opt, "127.0.0.1:0"]);
        }
    }
    c.arg("--assets")
        .arg(assets)
        .arg("--data")
        .arg(data)
        .args(extra)
        .stdin(Stdio::null());
    c
}

/// `realm-metrics dashboard` on free loopback ports with stand-in assets.
pub struct Dashboard {
    child: Child,
    /// `host:port` of the page and the API.
    pub http: String,
    /// `host:port` of the StatsD listener.
    pub udp: String,
    tx: UdpSocket,
    stderr: Arc<Mutex<String>>,
    _assets: TempDir,
}

impl Dashboard {
    /// Start on the store in `data` with `extra` options; returns once the banner is printed.
    pub fn start(data: &Path, extra: &[&str]) -> Dashboard {
        let assets = stand_in_assets();
        let mut child = dashboard_command(assets.path(), data, extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let mut pipe = child.stderr.take().unwrap();
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]);
                    eprint!("{text}");
                    stderr.lock().unwrap().push_str(&text);
                }
            });
        }
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (mut http, mut udp, mut alerts) = (None, None, false);
        while http.is_none() || udp.is_none() || !alerts {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!("dashboard exited early: {}", stderr.lock().unwrap());
            }
            let line = line.trim();
            if let Some(u) = line.strip_prefix("dashboard: http://") {
                http = Some(u.trim_end_matches('/').to_owned());
            }
            if let Some(u) = line.strip_prefix("statsd listener: udp://") {
                udp = Some(u.to_owned());
            }
            alerts |= line.starts_with("alerts: ");
        }
        Dashboard {
            child,
            http: http.unwrap(),
            udp: udp.unwrap(),
            tx: UdpSocket::bind("127.0.0.1:0").unwrap(),
            stderr,
            _assets: assets,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send one datagram to the StatsD listener.
    pub fn send(&self, text: &str) {
        self.tx.send_to(text.as_bytes(), &self.udp).unwrap();
    }

    /// GET `path`: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.http, path)
    }

    /// GET `path`, which must answer 200 with JSON.
    pub fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        let s = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }

    /// SIGINT; the exit status must be 0. Returns what it printed on stderr.
    pub fn stop(self) -> String {
        self.stop_with("-INT")
    }

    /// Send `signal` (`-INT`, `-TERM`); the exit status must be 0. Returns its stderr.
    pub fn stop_with(mut self, signal: &str) -> String {
        self.signal(signal);
        let status = self.child.wait().unwrap();
        // Let the reader thread take the last words.
        std::thread::sleep(Duration::from_millis(100));
        let err = self.stderr.lock().unwrap().clone();
        assert!(status.success(), "exit {status:?}: {err}");
        err
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        // Only reached when a test failed before stopping: never leave our child behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
