//! Room for argon2id. Each hash or verify takes 19 MiB and ~20 ms of one
//! core, so a burst of creates (or verifies) must not run them all at once:
//! they run on one dedicated thread per core, a bounded queue waits, and
//! beyond that the request is answered 503 with `Retry-After`.
//!
//! Dedicated threads, not tokio's blocking pool: the allocator keeps a freed
//! 19 MiB block in the arena of the thread that used it, and the blocking pool
//! grows to many threads under a burst. Measured: 120 concurrent creates took
//! the dev server to 847 MB behind a semaphore on the blocking pool; on these
//! threads the peak stays near the one-per-core figure.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use crate::problem::ApiError;

type Job = Box<dyn FnOnce() + Send>;

pub struct HashingGate {
    queue: SyncSender<Job>,
    runs: Arc<AtomicU64>,
}

impl std::fmt::Debug for HashingGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingGate").finish_non_exhaustive()
    }
}

impl HashingGate {
    /// Requests that may wait per core before the next is turned away: at
    /// ~20 ms a hash, a full queue drains in well under a second.
    const WAITING_PER_CORE: usize = 32;

    /// One hashing thread per core of this machine.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, cores * Self::WAITING_PER_CORE)
    }

    /// `threads` hashing threads (they end when the gate is dropped) and room
    /// for `max_waiting` jobs in the queue.
    pub fn new(threads: usize, max_waiting: usize) -> Self {
        let (queue, jobs) = sync_channel::<Job>(max_waiting);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work_through(&jobs));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a hashing thread");
            }
        }
        Self {
            queue,
            runs: Arc::default(),
        }
    }

    /// How many jobs this gate has started (a measure, and what tests count).
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Runs `work` (argon2) on a hashing thread once one is free, or refuses at
    /// once with [`ApiError::Busy`] when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let runs = Arc::clone(&self.runs);
        let job: Job = Box::new(move || {
            runs.fetch_add(1, Ordering::Relaxed);
            let _ = done.send(work());
        });
        self.queue.try_send(job).map_err(|refused| match refused {
            TrySendError::Full(_) => ApiError::Busy {
                retry_after_seconds: 1,
            },
            TrySendError::Disconnected(_) => ApiError::Internal("no hashing thread runs".into()),
        })?;
        // The sender is dropped unanswered only if `work` panicked.
        result.await.map_err(|_| ApiError::panicked())
    }
}

/// A hashing thread: jobs one after another until the gate is dropped. A
/// panicking job ends itself, not the thread.
fn work_through(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let next = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
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
    }

    #[tokio::test]
    async fn a_panicking_job_answers_500_and_the_thread_goes_on() {
        let gate = HashingGate::new(1, 4);
        let failed = gate.run(|| -> u8 { panic!("boom") }).await;
        assert_eq!(failed.map_err(|e| e.status()), Err(500));
        assert_eq!(gate.run(|| 7).await.ok(), Some(7));
    }
}
