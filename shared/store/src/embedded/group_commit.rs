//! Group commit: writes that arrive together share one transaction and one
//! fsync.
//!
//! A write queues its work and waits. One writer thread, the store's own,
//! takes every queued work, runs them in order in one write transaction,
//! commits it durably, and answers each; whatever queued meanwhile is the
//! next batch. So the 16 charges that 16 connections send at once cost one
//! commit, not 16 (redb here: a commit of 8 writes takes about 1.1 times one
//! of 1), and no caller hears of its write (no VALID for a charge, no key for
//! a create) before it is on disk.
//!
//! Each work sees the writes of those before it in its batch, as if they had
//! run one after another. A work that fails must write nothing, but some fail
//! after writing (a rotation refused by the application's state): so when one
//! fails, the batch is dropped (redb aborts it: nothing written) and each of
//! its works runs again in a transaction of its own. A work therefore runs
//! more than once only when it shared a batch with a failure, which is why it
//! must be `Fn`: every run starts from what is stored.

use std::any::Any;
use std::sync::mpsc;
use std::sync::{Arc, Weak};

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use crate::{StoreError, StoreResult};

type Answer = StoreResult<Box<dyn Any + Send>>;
type Work = Box<dyn Fn(&WriteTransaction) -> Answer + Send + Sync>;

/// A queued write and where its answer goes.
struct Queued {
    work: Work,
    answer: oneshot::Sender<Answer>,
}

/// The way to the store's writer thread, which ends when the store (every
/// clone of it) is dropped.
pub(super) struct GroupCommit {
    queue: mpsc::Sender<Queued>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Starts the writer of `db`. It holds the database only while it
    /// commits, so the file closes when the store is dropped.
    pub(super) fn start(db: &Arc<Database>) -> std::io::Result<Self> {
        let (queue, queued) = mpsc::channel();
        let db = Arc::downgrade(db);
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_batches(&db, &queued))?;
        Ok(Self { queue })
    }

    /// Runs `work` in a write transaction, with whatever other writes queued
    /// meanwhile, and answers once that transaction is on disk. An error
    /// from `work` writes nothing of it.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        work: impl Fn(&WriteTransaction) -> StoreResult<T> + Send + Sync + 'static,
    ) -> StoreResult<T> {
        let (answer, answered) = oneshot::channel();
        let work: Work = Box::new(move |txn| work(txn).map(|value| Box::new(value) as Box<_>));
        self.queue
            .send(Queued { work, answer })
            .map_err(|_| StoreError::backend(WriterGone))?;
        let value = answered.await.map_err(StoreError::backend)??;
        value
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| StoreError::backend(WrongAnswer))
    }
}

/// The writer: waits for a write, takes every one queued with it, commits
/// them; until the store is gone.
fn write_batches(db: &Weak<Database>, queued: &mpsc::Receiver<Queued>) {
    while let Ok(first) = queued.recv() {
        let mut batch = vec![first];
        batch.extend(queued.try_iter());
        let Some(db) = db.upgrade() else {
            return;
        };
        // A work that panics answers its batch with an error (their answer
        // channels drop), and the writer goes on with the next.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            commit_batch(&db, batch);
        }));
    }
}

/// One transaction for the whole batch; if a work in it fails, one for each.
fn commit_batch(db: &Database, batch: Vec<Queued>) {
    telemetry::metrics::GROUP_COMMITS.inc("");
    let writes = u64::try_from(batch.len()).unwrap_or(u64::MAX);
    telemetry::metrics::GROUP_COMMITTED_WRITES.add("", writes);
    if batch.len() > 1 {
        match run_together(db, &batch) {
            Ok(answers) => {
                for (queued, answer) in batch.into_iter().zip(answers) {
                    let _ = queued.answer.send(Ok(answer));
                }
                return;
            }
            Err(Together::CommitFailed(reason)) => {
                for queued in batch {
                    let _ = queued
                        .answer
                        .send(Err(StoreError::backend(CommitFailed(reason.clone()))));
                }
                return;
            }
            // Dropped, nothing written: each runs again on its own.
            Err(Together::WorkFailed) => {}
        }
    }
    for queued in batch {
        let answer = run_alone(db, &queued.work);
        let _ = queued.answer.send(answer);
    }
}

enum Together {
    WorkFailed,
    CommitFailed(String),
}

fn run_together(db: &Database, batch: &[Queued]) -> Result<Vec<Box<dyn Any + Send>>, Together> {
    let txn = db
        .begin_write()
        .map_err(|error| Together::CommitFailed(error.to_string()))?;
    let mut answers = Vec::with_capacity(batch.len());
    for queued in batch {
        // Dropping `txn` on the way out aborts it.
        answers.push((queued.work)(&txn).map_err(|_| Together::WorkFailed)?);
    }
    txn.commit()
        .map_err(|error| Together::CommitFailed(error.to_string()))?;
    Ok(answers)
}

fn run_alone(db: &Database, work: &Work) -> Answer {
    let txn = db.begin_write().map_err(StoreError::backend)?;
    let answer = work(&txn)?;
    txn.commit().map_err(StoreError::backend)?;
    Ok(answer)
}

/// A batch's commit failed: none of its writes happened.
#[derive(Debug, thiserror::Error)]
#[error("the store could not commit a batch of writes: {0}")]
struct CommitFailed(String);

/// The writer thread ended: the store is being dropped.
#[derive(Debug, thiserror::Error)]
#[error("the store's writer has stopped")]
struct WriterGone;

/// An answer of another type than its write's: a bug of this file.
#[derive(Debug, thiserror::Error)]
#[error("a write's answer came back as another type")]
struct WrongAnswer;
