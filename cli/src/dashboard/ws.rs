//! The WebSocket side: `GET /ws` from the page's own origin; then one binary message per
//! datagram, and once a second a text message `{"dropped": N, "received": M}` (datagrams
//! dropped for this page because it did not keep up, and datagrams offered to it, since it
//! connected).

// tungstenite's own types (its handshake callback's `ErrorResponse`, its `Error`) are large.
#![allow(clippy::result_large_err)]

use std::io;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error, Message, WebSocket};

use super::http::Site;
use super::relay::Hub;

/// Datagrams written before each flush, at most.
const BATCH: usize = 64;

fn forbidden(why: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(format!("{why}\n")));
    *r.status_mut() = tungstenite::http::StatusCode::FORBIDDEN;
    r
}

pub(crate) fn serve(stream: TcpStream, site: &Site, hub: &Hub) -> io::Result<()> {
    let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let origin = req
            .headers()
            .get("origin")
            .and_then(|o| o.to_str().ok())
            .ok_or_else(|| forbidden("the Origin header is required"))?;
        if !site.origin_allowed(origin) {
            return Err(forbidden("foreign origin"));
        }
        Ok(resp)
    };
    // Pages send nothing but control frames: keep what a peer can make us buffer small.
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024));
    let mut ws = match tungstenite::accept_hdr_with_config(stream, check, Some(config)) {
        Ok(ws) => ws,
        // The handshake wrote its error response (403 for a foreign origin) already.
        Err(_) => return Ok(()),
    };
    ws.get_ref().set_read_timeout(None)?;
    // A page that reads nothing for a minute is gone.
    ws.get_ref()
        .set_write_timeout(Some(Duration::from_secs(60)))?;
    let (client, rx) = hub.subscribe();
    let mut last_stats = Instant::now();
    let result = (|| -> Result<(), Error> {
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(first) => {
                    ws.write(Message::Binary(first))?;
                    for msg in rx.try_iter().take(BATCH - 1) {
                        ws.write(Message::Binary(msg))?;
                    }
                    ws.flush()?;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            if last_stats.elapsed() >= Duration::from_secs(1) {
                last_stats = Instant::now();
                let stats = format!(
                    "{{\"dropped\":{},\"received\":{}}}",
                    client.dropped.load(Ordering::Relaxed),
                    client.offered.load(Ordering::Relaxed)
                );
                ws.send(Message::text(stats))?;
            }
            if !poll_incoming(&mut ws)? {
                return Ok(());
            }
        }
    })();
    // Dropping `rx` unsubscribes the page.
    drop(rx);
    match result {
        Ok(()) | Err(Error::ConnectionClosed | Error::AlreadyClosed) => Ok(()),
        Err(Error::Io(e)) => Err(e),
        Err(e) => Err(io::Error::other(e)),
    }
}

/// Read whatever the page sent (pings, close) without blocking. `false` once it closed.
fn poll_incoming(ws: &mut WebSocket<TcpStream>) -> Result<bool, Error> {
    ws.get_ref().set_nonblocking(true)?;
    let r = loop {
        match ws.read() {
            Ok(Message::Close(_)) => break Ok(false),
            Ok(_) => {}
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break Ok(true),
            Err(e) => break Err(e),
        }
    };
    ws.get_ref().set_nonblocking(false)?;
    r
}
