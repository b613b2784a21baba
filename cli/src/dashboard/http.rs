//! A tiny HTTP/1.1 server: the whitelisted files of [`super::assets`], and `GET /ws` handed to
//! the WebSocket side. One request per connection (`Connection: close`).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::assets::Files;
use super::relay::Hub;
use super::ws;

/// At most this many connections are served at once (pages' WebSockets included).
const MAX_CONNECTIONS: usize = 64;
const MAX_HEAD: usize = 16 * 1024;

/// What the server serves, and where.
#[derive(Debug)]
pub(crate) struct Site {
    files: Files,
    addr: SocketAddr,
    csp: String,
}

impl Site {
    pub(crate) fn new(files: Files, addr: SocketAddr) -> Site {
        // Defence in depth: the page never turns data into markup, and even if it did, no inline
        // script or handler would run.
        let csp = format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self' ws://{addr}; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        );
        Site { files, addr, csp }
    }

    /// Whether a `Host` header value (`host:port`) names this server: its own address, or
    /// `localhost`, or (when bound to all interfaces) any IP literal, with its port. Names other
    /// than `localhost` are refused, so that a DNS-rebinding page cannot talk to the dashboard.
    pub(crate) fn host_allowed(&self, host: &str) -> bool {
        let Some((h, port)) = host.rsplit_once(':') else {
            return false;
        };
        if port.parse::<u16>().ok() != Some(self.addr.port()) {
            return false;
        }
        let h = h.trim_start_matches('[').trim_end_matches(']');
        if h.eq_ignore_ascii_case("localhost") {
            return self.addr.ip().is_loopback() || self.addr.ip().is_unspecified();
        }
        match h.parse::<IpAddr>() {
            Ok(ip) => ip == self.addr.ip() || self.addr.ip().is_unspecified(),
            Err(_) => false,
        }
    }

    /// Whether an `Origin` header is the page's own origin (`http://` + an allowed host).
    pub(crate) fn origin_allowed(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .is_some_and(|h| self.host_allowed(h))
    }
}

/// The accept loop: runs for the life of the process.
pub(crate) fn accept(listener: TcpListener, site: Arc<Site>, hub: Arc<Hub>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else {
            // E.g. EMFILE: back off instead of spinning.
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::AcqRel);
            let _ = respond(
                &mut stream,
                503,
                "text/plain",
                b"too many connections\n",
                None,
                false,
            );
            continue;
        }
        let (site, hub, active) = (Arc::clone(&site), Arc::clone(&hub), Arc::clone(&active));
        let spawned = thread::Builder::new()
            .name("dashboard-conn".into())
            .spawn(move || {
                let _ = serve(stream, &site, &hub);
                active.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            // The closure (and its count) was dropped without running.
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Peek until the request line is complete, without consuming it (tungstenite reads the whole
/// request itself).
fn peek_request_line(stream: &TcpStream) -> io::Result<Option<String>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    let mut last = 0;
    loop {
        let n = stream.peek(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(end) = buf[..n].windows(2).position(|w| w == b"\r\n") {
            return Ok(Some(String::from_utf8_lossy(&buf[..end]).into_owned()));
        }
        if n == buf.len() || Instant::now() > deadline {
            return Ok(None);
        }
        if n == last {
            thread::sleep(Duration::from_millis(5));
        }
        last = n;
    }
}

fn serve(mut stream: TcpStream, site: &Site, hub: &Hub) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let Some(line) = peek_request_line(&stream)? else {
        return respond(
            &mut stream,
            400,
            "text/plain",
            b"bad request\n",
            None,
            false,
        );
    };
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return respond(
            &mut stream,
            400,
            "text/plain",
            b"bad request\n",
            None,
            false,
        );
    };
    if !version.starts_with("HTTP/1.") {
        return respond(
            &mut stream,
            505,
            "text/plain",
            b"HTTP/1.x only\n",
            None,
            false,
        );
    }
    let path = target.split(['?', '#']).next().unwrap_or("");
    if path == "/ws" {
        return ws::serve(stream, site, hub);
    }

    let head = read_head(&mut stream)?;
    let host = header(&head, "host");
    if !host.is_some_and(|h| site.host_allowed(h)) {
        return respond(
            &mut stream,
            403,
            "text/plain",
            b"unknown Host\n",
            None,
            false,
        );
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            return respond(
                &mut stream,
                405,
                "text/plain",
                b"GET or HEAD only\n",
                None,
                false,
            )
        }
    };
    match site.files.get(path) {
        Some(asset) => respond(
            &mut stream,
            200,
            asset.content_type,
            &asset.body,
            Some(&site.csp),
            head_only,
        ),
        None => respond(
            &mut stream,
            404,
            "text/plain",
            b"not found\n",
            None,
            head_only,
        ),
    }
}

/// Read (and discard) the request head, up to the blank line.
fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    csp: Option<&str>,
    head_only: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
         Connection: close\r\n",
        reason(status),
        body.len()
    );
    if let Some(csp) = csp {
        head.push_str("Content-Security-Policy: ");
        head.push_str(csp);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Let the client read the response before the socket closes (avoids a reset).
    let mut sink = [0u8; 512];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(addr: &str) -> Site {
        Site::new(Files::new(), addr.parse().unwrap())
    }

    #[test]
    fn origins() {
        let s = site("127.0.0.1:8080");
        assert!(s.origin_allowed("http://127.0.0.1:8080"));
        assert!(s.origin_allowed("http://localhost:8080"));
        assert!(!s.origin_allowed("http://127.0.0.1:8081"));
        assert!(!s.origin_allowed("https://127.0.0.1:8080"));
        assert!(!s.origin_allowed("http://evil.example:8080"));
        assert!(!s.origin_allowed("null"));
        assert!(!s.origin_allowed(""));
        let any = site("0.0.0.0:8080");
        assert!(any.origin_allowed("http://192.168.1.5:8080"));
        assert!(!any.origin_allowed("http://rebind.example:8080"));
    }

    #[test]
    fn headers() {
        let head = "GET / HTTP/1.1\r\nHost: a:1\r\nX: y\r\n\r\n";
        assert_eq!(header(head, "host"), Some("a:1"));
        assert_eq!(header(head, "origin"), None);
    }
}
