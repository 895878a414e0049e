//! The dev server's open connections, bounded. When the bound is reached,
//! the connection idle the longest (kept alive between requests, or never
//! finishing a request's head) is closed for the newcomer; only when every
//! connection is in the middle of a request is the newcomer turned away
//! (503). A cap that only refused was itself the denial of service: 512
//! idle sockets, renewed every 10 s, kept every new client out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

pub(crate) struct Connections {
    cap: usize,
    started: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
}

struct Connection {
    in_request: AtomicBool,
    /// Milliseconds from the server's start to when the connection last
    /// became idle (its accept, or the end of its last request).
    idle_since_ms: AtomicU64,
    close: Notify,
}

/// One admitted connection: it leaves the count when this is dropped.
pub(crate) struct Admitted {
    id: u64,
    connection: Arc<Connection>,
    connections: Arc<Connections>,
}

impl Connections {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            started: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::default(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Room for a new connection, made by closing the longest-idle one when
    /// the bound is reached; `None` when every connection is in a request.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= self.cap {
            let idlest = open
                .iter()
                .filter(|(_, c)| !c.in_request.load(Ordering::SeqCst))
                .min_by_key(|(_, c)| c.idle_since_ms.load(Ordering::SeqCst))
                .map(|(id, _)| *id)?;
            if let Some(evicted) = open.remove(&idlest) {
                // Its task drops the connection (no request is under way).
                evicted.close.notify_one();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let connection = Arc::new(Connection {
            in_request: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
        });
        open.insert(id, Arc::clone(&connection));
        Some(Admitted {
            id,
            connection,
            connections: Arc::clone(self),
        })
    }
}

impl Admitted {
    /// Resolves when the connection should close to make room for another.
    pub(crate) async fn closed_for_another(&self) {
        self.connection.close.notified().await;
    }

    /// A request's head is in: the connection is not idle until it is answered.
    pub(crate) fn request_started(&self) {
        self.connection.in_request.store(true, Ordering::SeqCst);
    }

    pub(crate) fn request_answered(&self) {
        let now = self.connections.now_ms();
        self.connection.idle_since_ms.store(now, Ordering::SeqCst);
        self.connection.in_request.store(false, Ordering::SeqCst);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if open
            .get(&self.id)
            .is_some_and(|c| Arc::ptr_eq(c, &self.connection))
        {
            open.remove(&self.id);
        }
    }
}

/// The most connections the process's file descriptors allow (its soft
/// `RLIMIT_NOFILE`), less those it needs for everything else (the store,
/// the log, the listener, outgoing calls).
pub(crate) fn cap_from_descriptor_limit() -> usize {
    const KEPT_FOR_THE_REST: u64 = 64;
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let descriptors = limit.current.unwrap_or(65_536);
    usize::try_from(descriptors.saturating_sub(KEPT_FOR_THE_REST))
        .unwrap_or(usize::MAX)
        .max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_house_closes_its_longest_idle_connection_and_refuses_only_when_all_are_busy() {
        let connections = Connections::new(2);
        let first = connections.admit().expect("room");
        std::thread::sleep(std::time::Duration::from_millis(5));
        let second = connections.admit().expect("room");
        // Full: the first (idle longest) makes room.
        let third = connections.admit().expect("room made");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        let asked = runtime.block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_millis(100),
                first.closed_for_another(),
            )
            .await
            .is_ok()
        });
        assert!(asked, "the longest-idle connection is asked to close");
        drop(first);
        // Both left busy: a newcomer is refused.
        second.request_started();
        third.request_started();
        assert!(connections.admit().is_none());
        // One answers: it is idle again, and makes room.
        second.request_answered();
        assert!(connections.admit().is_some());
    }
}
