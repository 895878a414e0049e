use domain::{ApiKey, ApiKeyStatus, Author, NoticePeriod, PageLimit, Timestamp};
use store::{
    ApiKeyRead, ApiKeySweep, ApiKeyWrite, Conflict, DueWork, PendingCascades, StoreError,
    SweepProgress,
};
use time::Duration;

use crate::{CascadeOutcome, Deadline, SWEEP_ACTOR, cascade};
use notify::{ExpiryNotice, NoticeError, Notifier};

/// A first sweep (no progress stored yet) starts this many days back. Keys
/// expire in the future when they are made, so this only has to cover the
/// time between a deployment and its first sweep.
const FIRST_SWEEP_DAYS_BACK: i64 = 7;

/// How long ended keys are kept, and when keys get their expiry notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPolicy {
    pub retention: Duration,
    pub notice: NoticePeriod,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Cascades the stream had not finished, run here.
    pub cascaded: usize,
    pub expired: usize,
    pub purged: usize,
    pub noticed: usize,
    /// The deadline came before the end: progress is saved, and the next
    /// sweep goes on from there.
    pub cut_short: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A notice could not be published. Its claim was given back, so the next
    /// sweep tries again.
    #[error("publishing an expiry notice failed")]
    Notice(#[source] NoticeError),
}

/// A cascade still pending this long after its archive is taken to have been
/// dropped by the stream (which runs it within seconds), and the sweep runs it.
pub const CASCADE_GRACE: Duration = Duration::minutes(10);

/// Runs cascades the stream left unfinished, records the expiry of active
/// keys past `expires_at`, purges deleted and expired keys that ended more
/// than `retention` ago, then sends one notice for each key that will expire
/// within the notice period. It reads the due index one day at a time (no
/// Scan, and nothing depends on DynamoDB's TTL timing), and near `deadline`
/// saves how far it got and stops.
pub async fn sweep<S, N>(
    store: &S,
    notifier: &N,
    now: Timestamp,
    policy: SweepPolicy,
    deadline: Deadline,
) -> Result<SweepReport, SweepError>
where
    S: ApiKeySweep + ApiKeyRead + ApiKeyWrite + PendingCascades,
    N: Notifier,
{
    let today = now.date();
    let purge_until = now.plus(-policy.retention);
    let first = |day: time::Date| day - Duration::days(FIRST_SWEEP_DAYS_BACK);
    let progress = store.sweep_progress().await?.unwrap_or(SweepProgress {
        expire_from: first(today),
        purge_from: first(purge_until.date()),
    });
    let sweeper = Sweeper {
        store,
        notifier,
        now,
        deadline,
    };
    let mut report = SweepReport::default();

    for pending in store.pending_cascades().await? {
        if pending.since > now.plus(-CASCADE_GRACE) {
            continue;
        }
        match cascade(store, &pending.target, deadline).await? {
            CascadeOutcome::Finished { .. } => report.cascaded += 1,
            CascadeOutcome::CutShort { .. } => return Ok(cut_short(report)),
        }
    }

    // A key not yet noticed expires from the notice partition (it may have
    // been made with an expiry shorter than an hour, or notices may be off).
    // Progress is the first day not fully done.
    let mut next = progress;
    for day in days(progress.expire_from, today) {
        for partition in [DueWork::Notice, DueWork::Expire] {
            let Some(done) = sweeper
                .work_through(Step::Expire, partition, day, now)
                .await?
            else {
                next.expire_from = day;
                store.save_sweep_progress(&next).await?;
                return Ok(cut_short(report));
            };
            report.expired += done;
        }
    }
    // Today may get more due keys: resume there.
    next.expire_from = today;
    // Keys expired just now ended on their expiry day, which may be older than
    // where purging stopped: start from whichever is earlier.
    let purge_from = progress.purge_from.min(progress.expire_from);
    for day in days(purge_from, purge_until.date()) {
        let Some(done) = sweeper
            .work_through(Step::Purge, DueWork::Purge, day, purge_until)
            .await?
        else {
            next.purge_from = day;
            store.save_sweep_progress(&next).await?;
            return Ok(cut_short(report));
        };
        report.purged += done;
    }
    next.purge_from = purge_until.date();
    store.save_sweep_progress(&next).await?;

    // Last, so a failing topic delays no expiry or purge. New keys may expire
    // on any day of the period, so it is read whole each time (a Query per
    // day, and only keys not yet noticed are in it).
    if !policy.notice.is_off() {
        let horizon = policy.notice.horizon(now);
        for day in days(today, horizon.date()) {
            let Some(done) = sweeper
                .work_through(Step::Notice, DueWork::Notice, day, horizon)
                .await?
            else {
                return Ok(cut_short(report));
            };
            report.noticed += done;
        }
    }

    if report != SweepReport::default() {
        tracing::info!(
            cascaded = report.cascaded,
            expired = report.expired,
            purged = report.purged,
            noticed = report.noticed,
            "sweep done"
        );
    }
    Ok(report)
}

fn cut_short(report: SweepReport) -> SweepReport {
    tracing::warn!(
        cascaded = report.cascaded,
        expired = report.expired,
        purged = report.purged,
        noticed = report.noticed,
        "sweep cut short by the deadline; the next one goes on from here"
    );
    SweepReport {
        cut_short: true,
        ..report
    }
}

/// `from` to `through`, both included.
fn days(from: time::Date, through: time::Date) -> impl Iterator<Item = time::Date> {
    std::iter::successors(Some(from), |day| day.next_day()).take_while(move |day| *day <= through)
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Expire,
    Purge,
    Notice,
}

struct Sweeper<'a, S, N> {
    store: &'a S,
    notifier: &'a N,
    now: Timestamp,
    deadline: Deadline,
}

impl<S: ApiKeySweep + ApiKeyWrite, N: Notifier> Sweeper<'_, S, N> {
    /// Does `step` for every key in `partition` due on `day` at or before
    /// `until`, and says how many it changed (`None`: the deadline came
    /// first). Done keys leave the partition, so it reads the first page
    /// again until nothing is left (or only index entries that lag behind a
    /// change, which the next sweep sees).
    async fn work_through(
        &self,
        step: Step,
        partition: DueWork,
        day: time::Date,
        until: Timestamp,
    ) -> Result<Option<usize>, SweepError> {
        let mut done = 0;
        loop {
            if self.deadline.is_near() {
                return Ok(None);
            }
            let due = self
                .store
                .due_api_keys(partition, day, until, PageLimit::LARGEST)
                .await?;
            let mut changed = 0;
            for key in &due {
                let result = match step {
                    Step::Expire => self.expire(key).await,
                    Step::Purge => self.purge(key).await,
                    Step::Notice => self.notice(key).await,
                };
                match result {
                    Ok(true) => changed += 1,
                    Ok(false) | Err(SweepError::Store(StoreError::Conflict(Conflict::Changed))) => {
                    }
                    Err(error) => return Err(error),
                }
            }
            done += changed;
            if changed == 0 {
                return Ok(Some(done));
            }
        }
    }

    async fn expire(&self, key: &ApiKey) -> Result<bool, SweepError> {
        // Not active, or not past its expiry yet: nothing to record.
        let Ok(change) = key.expire(&self.author()) else {
            return Ok(false);
        };
        self.store.write_api_key_change(key, &change).await?;
        Ok(true)
    }

    async fn purge(&self, key: &ApiKey) -> Result<bool, SweepError> {
        // Not ended (deleted or expired): nothing to remove.
        let Ok(audit) = key.purge(&self.author()) else {
            return Ok(false);
        };
        self.store.purge_api_key(key, &audit).await?;
        Ok(true)
    }

    /// The sweep, as the author of what it changes: as of the run's `now`,
    /// which judges what is due (and dates its audit events).
    fn author(&self) -> Author {
        Author::job(SWEEP_ACTOR, self.now)
    }

    /// One notice per key, never two: the key is claimed first (a conditional
    /// write only one sweep can win), then the notice published. A failed
    /// publish gives the claim back for the next sweep; a crash between the
    /// two loses that key's notice rather than sending it twice.
    async fn notice(&self, key: &ApiKey) -> Result<bool, SweepError> {
        if !key.awaits_expiry_notice() || key.status_at(self.now) != ApiKeyStatus::Active {
            return Ok(false);
        }
        let claimed = self
            .store
            .set_expiry_notice_sent(key, Some(self.now))
            .await?;
        let Some(notice) = ExpiryNotice::of(&claimed) else {
            return Ok(false);
        };
        if let Err(error) = self.notifier.expiry_notice(&notice).await {
            if let Err(release) = self.store.set_expiry_notice_sent(&claimed, None).await {
                tracing::error!(
                    api_key_id = claimed.id.as_str(),
                    error = %store::error_chain(&release),
                    "an unsent expiry notice could not be given back: it is lost"
                );
            }
            return Err(SweepError::Notice(error));
        }
        telemetry::metrics::EXPIRY_NOTICES.inc("");
        Ok(true)
    }
}
