//! The UDP side: receive datagrams, forward them, and offer each to every page's bounded queue.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use tungstenite::Bytes;

use super::QUEUE_LEN;

/// One page's side of the relay.
#[derive(Debug)]
pub(crate) struct Client {
    tx: SyncSender<Bytes>,
    /// Datagrams offered to this page since it connected.
    pub(crate) offered: AtomicU64,
    /// Of those, dropped because its queue was full.
    pub(crate) dropped: AtomicU64,
}

/// The pages connected now, and totals.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    clients: Mutex<Vec<Arc<Client>>>,
    /// Datagrams received.
    pub(crate) received: AtomicU64,
    /// Datagrams dropped for slow pages (all pages).
    pub(crate) dropped: AtomicU64,
    /// Datagrams that could not be forwarded.
    pub(crate) forward_errors: AtomicU64,
}

impl Hub {
    /// Register a page; it gets datagrams from now on, until its receiver is dropped.
    pub(crate) fn subscribe(&self) -> (Arc<Client>, Receiver<Bytes>) {
        let (tx, rx) = mpsc::sync_channel(QUEUE_LEN);
        let client = Arc::new(Client {
            tx,
            offered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        self.lock().push(Arc::clone(&client));
        (client, rx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Client>>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offer one datagram to every page: never blocks; a full queue drops it for that page.
    pub(crate) fn publish(&self, datagram: &[u8]) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let mut clients = self.lock();
        if clients.is_empty() {
            return;
        }
        let msg = Bytes::copy_from_slice(datagram);
        clients.retain(|c| {
            c.offered.fetch_add(1, Ordering::Relaxed);
            match c.tx.try_send(msg.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }
}

/// The relay loop: runs for the life of the process.
pub(crate) fn receive(udp: UdpSocket, forward: Option<UdpSocket>, hub: &Hub) {
    // The largest UDP payload: a datagram is never truncated.
    let mut buf = vec![0u8; 65_536];
    loop {
        let n = match udp.recv_from(&mut buf) {
            Ok((n, _)) => n,
            // ICMP errors and interrupted calls: keep receiving.
            Err(_) => continue,
        };
        let Some(datagram) = buf.get(..n) else {
            continue;
        };
        if let Some(f) = &forward {
            if f.send(datagram).is_err() {
                hub.forward_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        hub.publish(datagram);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_page_drops_instead_of_queueing() {
        let hub = Hub::default();
        let (client, rx) = hub.subscribe();
        for _ in 0..(QUEUE_LEN + 10) {
            hub.publish(b"a:1|c");
        }
        assert_eq!(
            client.offered.load(Ordering::Relaxed),
            QUEUE_LEN as u64 + 10
        );
        assert_eq!(client.dropped.load(Ordering::Relaxed), 10);
        assert_eq!(rx.try_iter().count(), QUEUE_LEN);
        drop(rx);
        hub.publish(b"a:1|c");
        assert!(hub.lock().is_empty(), "a closed page is forgotten");
        assert_eq!(hub.received.load(Ordering::Relaxed), QUEUE_LEN as u64 + 11);
    }
}
