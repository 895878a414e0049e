//! Room for argon2id. Each hash or verify takes 19 MiB and ~20 ms of one
//! core, so a burst of creates (or verifies) must not run them all at once:
//! at most one per core runs, a bounded queue waits, and beyond that the
//! request is answered 503 with `Retry-After` rather than held in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::problem::ApiError;

#[derive(Debug)]
pub struct HashingGate {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl HashingGate {
    /// Requests that may wait per core before the next is turned away: at
    /// ~20 ms a hash, a full queue drains in about a second.
    const WAITING_PER_CORE: usize = 32;

    /// One hash at a time per core of this machine.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, cores * Self::WAITING_PER_CORE)
    }

    pub fn new(at_once: usize, max_waiting: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(at_once.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Runs `work` (argon2) on the blocking pool once there is room, or
    /// refuses at once with [`ApiError::Busy`] when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = {
            let _queued = Queued::join(&self.waiting, self.max_waiting).ok_or(ApiError::Busy {
                retry_after_seconds: 1,
            })?;
            Arc::clone(&self.running)
                .acquire_owned()
                .await
                .map_err(ApiError::internal)?
        };
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(ApiError::internal)
    }
}

/// A place in the queue, given back when dropped (also when the client goes
/// away while waiting).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(waiting: &'a AtomicUsize, max: usize) -> Option<Self> {
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| Self(waiting))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_one_per_permit_and_turns_away_beyond_the_queue() {
        let gate = Arc::new(HashingGate::new(1, 2));
        let busy = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (gate, busy, most) = (Arc::clone(&gate), Arc::clone(&busy), Arc::clone(&most));
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        busy.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        let mut done = 0;
        let mut refused = 0;
        for task in tasks {
            match task.await.expect("joined") {
                Ok(()) => done += 1,
                Err(ApiError::Busy { .. }) => refused += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two at once");
        assert_eq!(done + refused, 6);
        assert!(refused >= 1, "a queue of 2 cannot hold 6");
        assert!(done >= 2);
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
    }
}
