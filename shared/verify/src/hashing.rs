//! Hashing and checking access keys with argon2id. A hash at today's
//! parameters takes ~40 µs and 64 KiB: it runs where it is asked for, on the
//! request's own task, because handing it to another thread and back costs
//! more (40 to 80 µs of wake-ups measured on a 2-core VM). One made before
//! (password-grade, still verified with its own parameters) takes ~20 ms and
//! 19 MiB: that runs on one dedicated thread per core, off the async workers,
//! and requests wait in a queue for them. Such a request is turned away (503
//! with `Retry-After`) only when its wait would exceed
//! [`HashingGate::MAX_WAIT`]: the queue is bounded by time, not by a count,
//! so a burst the machine can serve in a moment is served.
//!
//! Dedicated threads, not tokio's blocking pool: the allocator keeps a freed
//! 19 MiB block in the arena of the thread that used it, and the blocking pool
//! grows to many threads under a burst. Measured: 120 concurrent creates with
//! password-grade hashes took the dev server to 847 MB behind a semaphore on
//! the blocking pool; on these threads the peak stays near the one-per-core
//! figure.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::{AccessKey, ForeignKey, KeyHasher, PresentedKey, SecretHash};

use crate::error::CheckError;

type Job = Box<dyn FnOnce() + Send>;

/// A presented key, ours or one a team imported: what the gate hashes.
pub trait KeyText: Send + 'static {
    fn key_text(&self) -> &str;
}

impl<Id: Send + 'static> KeyText for PresentedKey<Id> {
    fn key_text(&self) -> &str {
        self.expose_secret()
    }
}

impl KeyText for ForeignKey {
    fn key_text(&self) -> &str {
        self.expose_secret()
    }
}

pub struct HashingGate {
    hasher: KeyHasher,
    /// A hash of a key no one holds, made at start with today's parameters:
    /// what a presented key whose id does not exist is checked against, so
    /// that answer costs what a wrong secret does (no timing tells them apart).
    decoy: Option<SecretHash>,
    queue: Sender<Job>,
    threads: usize,
    max_wait: Duration,
    shared: Arc<Shared>,
}

/// What the gate and its threads both see.
struct Shared {
    /// Jobs queued and not yet started.
    waiting: AtomicUsize,
    /// A moving average of how long a job takes, in nanoseconds.
    typical_nanos: AtomicU64,
    runs: AtomicU64,
}

impl std::fmt::Debug for HashingGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingGate")
            .field("threads", &self.threads)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl HashingGate {
    /// The longest a request waits for a hashing thread before it is told to
    /// come back later: past this a client is better served by a quick 503.
    pub const MAX_WAIT: Duration = Duration::from_secs(2);

    /// What a job is assumed to take until the first ones are timed: a
    /// password-grade verify's order of magnitude, so a cold process under a
    /// burst of those does not queue far past [`Self::MAX_WAIT`].
    const FIRST_GUESS: Duration = Duration::from_millis(1);

    /// The most work (KiB filled, memory × passes) a hash may take to run
    /// in place: 1 MiB is about half a millisecond. Today's 64 KiB is far
    /// inside; the 19 MiB × 2 of before is far outside.
    pub const IN_PLACE_MAX_WORK_KIB: u64 = 1024;

    /// One hashing thread per core of this machine, new hashes at today's
    /// parameters.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(KeyHasher::default(), cores, Self::MAX_WAIT)
    }

    /// New hashes by `hasher`; `threads` hashing threads for heavy hashes
    /// (they end when the gate is dropped); a job whose expected wait exceeds
    /// `max_wait` is refused.
    pub fn new(hasher: KeyHasher, threads: usize, max_wait: Duration) -> Self {
        let threads = threads.max(1);
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads {
            let jobs = Arc::clone(&jobs);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work_through(&jobs));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a hashing thread");
            }
        }
        let (_, decoy_key) = AccessKey::generate(&domain::KeyPrefix::default());
        let decoy = hasher.hash(&decoy_key).ok();
        Self {
            hasher,
            decoy,
            queue,
            threads,
            max_wait,
            shared: Arc::new(Shared {
                waiting: AtomicUsize::new(0),
                typical_nanos: AtomicU64::new(nanos(Self::FIRST_GUESS)),
                runs: AtomicU64::new(0),
            }),
        }
    }

    /// How many hashes and checks this gate has run, in place or on its
    /// threads (a measure, and what tests count).
    pub fn runs(&self) -> u64 {
        self.shared.runs.load(Ordering::Relaxed)
    }

    /// Whether `stored` is a hash this gate makes (argon2id at today's
    /// parameters): an imported key's that is not is replaced at its first match.
    pub fn made(&self, stored: &SecretHash) -> bool {
        stored.is_argon2id() && stored.params() == Some(self.hasher.params())
    }

    /// The argon2id hash of a new access key (and the key, handed back).
    pub async fn hash(&self, key: AccessKey) -> Result<(AccessKey, SecretHash), CheckError> {
        let hasher = self.hasher.clone();
        let heavy = self.hasher.params().work_kib() > Self::IN_PLACE_MAX_WORK_KIB;
        let hashed = self
            .light_or_queued(heavy, move || {
                let hashed = hasher.hash(&key);
                (key, hashed)
            })
            .await?;
        let (key, hash) = hashed;
        Ok((key, hash.map_err(CheckError::Hash)?))
    }

    /// Whether `presented` is the key `stored` was made from, judged with
    /// the parameters inside `stored` (or, for a hash a team imported in
    /// another form, by that form: [`crate::foreign`]).
    pub async fn verify<K: KeyText>(
        &self,
        presented: K,
        stored: SecretHash,
    ) -> Result<bool, CheckError> {
        // A hash we cannot read never verifies; checking it costs nothing.
        let heavy = stored.is_heavy(Self::IN_PLACE_MAX_WORK_KIB);
        let hasher = self.hasher.clone();
        self.light_or_queued(heavy, move || {
            let key = presented.key_text();
            if stored.is_argon2() {
                hasher.verify_text(key, &stored)
            } else {
                crate::foreign::matches(key, stored.as_str())
            }
        })
        .await
    }

    /// A check of `presented` that costs what a wrong secret's does, for a key
    /// id that does not exist: its answer is always no.
    pub async fn verify_decoy<K: KeyText>(&self, presented: K) -> Result<(), CheckError> {
        if let Some(decoy) = &self.decoy {
            self.verify(presented, decoy.clone()).await?;
        }
        Ok(())
    }

    /// Runs `work` in place when it is light, else on a hashing thread.
    async fn light_or_queued<T: Send + 'static>(
        &self,
        heavy: bool,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CheckError> {
        if !heavy {
            self.shared.runs.fetch_add(1, Ordering::Relaxed);
            Ok(work())
        } else {
            self.run(work).await
        }
    }

    /// Runs `work` (a heavy argon2) on a hashing thread once one is free, or
    /// refuses at once with [`CheckError::Busy`] when the wait for one would be
    /// too long.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CheckError> {
        let shared = &self.shared;
        let ahead = shared.waiting.fetch_add(1, Ordering::AcqRel);
        let typical = shared.typical_nanos.load(Ordering::Relaxed);
        // The jobs ahead of this one and itself, shared by the threads.
        let ahead = u64::try_from(ahead).unwrap_or(u64::MAX);
        let threads = u64::try_from(self.threads).unwrap_or(1);
        let wait = Duration::from_nanos(typical.saturating_mul(ahead.saturating_add(1)) / threads);
        if wait > self.max_wait {
            shared.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(CheckError::Busy {
                retry_after_seconds: retry_after(wait),
            });
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let shared = Arc::clone(shared);
        let job: Job = Box::new(move || {
            shared.waiting.fetch_sub(1, Ordering::AcqRel);
            shared.runs.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let answer = work();
            shared.learn(started.elapsed());
            let _ = done.send(answer);
        });
        if self.queue.send(job).is_err() {
            self.shared.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(CheckError::NoHashingThread);
        }
        // The sender is dropped unanswered only if `work` panicked.
        result.await.map_err(|_| CheckError::Panicked)
    }
}

impl Shared {
    /// Folds one job's time into the average (an eighth of the way), so a
    /// change of parameters is learnt within a few dozen jobs.
    fn learn(&self, took: Duration) {
        let sample = nanos(took);
        let _ = self
            .typical_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |typical| {
                let next = if sample >= typical {
                    typical + (sample - typical) / 8
                } else {
                    typical - (typical - sample) / 8
                };
                Some(next)
            });
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Whole seconds to come back after, for a wait of `wait`: at least one.
fn retry_after(wait: Duration) -> u32 {
    u32::try_from(wait.as_secs().saturating_add(1)).unwrap_or(u32::MAX)
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
    use std::time::Duration;

    use super::*;

    async fn burst(gate: &Arc<HashingGate>, jobs: usize, each: Duration) -> (usize, Vec<u32>) {
        let tasks: Vec<_> = (0..jobs)
            .map(|_| {
                let gate = Arc::clone(gate);
                tokio::spawn(async move { gate.run(move || std::thread::sleep(each)).await })
            })
            .collect();
        let mut done = 0;
        let mut refused = Vec::new();
        for task in tasks {
            match task.await.expect("joined") {
                Ok(()) => done += 1,
                Err(CheckError::Busy {
                    retry_after_seconds,
                }) => refused.push(retry_after_seconds),
                Err(other) => panic!("{other}"),
            }
        }
        (done, refused)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_it_can_serve_in_time_is_served_whole() {
        // 500 jobs of 50 µs on one thread: 25 ms of work, far inside the wait.
        let gate = Arc::new(HashingGate::new(
            KeyHasher::default(),
            1,
            HashingGate::MAX_WAIT,
        ));
        let (done, refused) = burst(&gate, 500, Duration::from_micros(50)).await;
        assert_eq!((done, refused.len()), (500, 0));
        assert_eq!(gate.runs(), 500);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_only_what_would_wait_too_long_and_says_when_to_return() {
        // Jobs of 100 ms on one thread, at most 1 s of waiting: about ten fit.
        let gate = Arc::new(HashingGate::new(
            KeyHasher::default(),
            1,
            Duration::from_secs(1),
        ));
        let each = Duration::from_millis(100);
        // The gate learns what a job takes from the ones it runs.
        for _ in 0..24 {
            gate.run(move || std::thread::sleep(each))
                .await
                .expect("one at a time");
        }
        let (done, refused) = burst(&gate, 40, each).await;
        assert_eq!(done + refused.len(), 40);
        assert!((8..=13).contains(&done), "{done} served");
        assert!(
            refused.iter().all(|seconds| (1..=5).contains(seconds)),
            "{refused:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_runs_more_at_once_than_it_has_threads() {
        use std::sync::atomic::AtomicUsize;
        let gate = Arc::new(HashingGate::new(
            KeyHasher::default(),
            1,
            HashingGate::MAX_WAIT,
        ));
        let busy = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (gate, busy, most) = (Arc::clone(&gate), Arc::clone(&busy), Arc::clone(&most));
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(2));
                        busy.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("joined").expect("served");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two at once");
    }

    #[tokio::test]
    async fn light_hashes_run_in_place_and_heavy_ones_of_before_still_verify() {
        use domain::{KeyPrefix, PASSWORD_GRADE_PARAMS};
        let gate = HashingGate::new(KeyHasher::default(), 1, HashingGate::MAX_WAIT);
        let prefix = KeyPrefix::default();
        let (_, key) = AccessKey::generate(&prefix);
        let text = key.expose_secret().to_owned();
        let presented = || PresentedKey::parse(&text, &prefix).expect("ours");
        let before = KeyHasher::with(PASSWORD_GRADE_PARAMS).expect("params");
        let old = before.hash(&key).expect("hashed");
        assert!(
            gate.verify(presented(), old.clone())
                .await
                .expect("checked")
        );
        let (key, new) = gate.hash(key).await.expect("hashed");
        assert!(gate.verify(presented(), new).await.expect("checked"));
        let (_, other) = AccessKey::generate(&prefix);
        let other = PresentedKey::parse(other.expose_secret(), &prefix).expect("ours");
        assert!(!gate.verify(other, old).await.expect("checked"));
        // Four checks and one hash; the one heavy check ran on the thread,
        // which learnt what it takes (far above the first guess).
        assert_eq!(gate.runs(), 4);
        let typical = Duration::from_nanos(gate.shared.typical_nanos.load(Ordering::SeqCst));
        assert!(typical > Duration::from_millis(1), "{typical:?}");
        drop(key);
    }

    #[tokio::test]
    async fn a_panicking_job_answers_500_and_the_thread_goes_on() {
        let gate = HashingGate::new(KeyHasher::default(), 1, HashingGate::MAX_WAIT);
        let failed = gate.run(|| -> u8 { panic!("boom") }).await;
        assert!(matches!(failed, Err(CheckError::Panicked)), "{failed:?}");
        assert_eq!(gate.run(|| 7).await.ok(), Some(7));
        assert_eq!(gate.shared.waiting.load(Ordering::SeqCst), 0);
    }
}
