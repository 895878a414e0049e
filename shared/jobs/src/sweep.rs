use domain::{Actor, ApiKey, ApiKeyStatus, AuditAction, AuditEvent, PageLimit, Timestamp};
use store::{ApiKeySweep, Conflict, DueWork, StoreError, StoreResult, SweepProgress};
use time::Duration;

use crate::SWEEP_ACTOR;

/// A first sweep (no progress stored yet) starts this many days back. Keys
/// expire in the future when they are made, so this only has to cover the
/// time between a deployment and its first sweep.
const FIRST_SWEEP_DAYS_BACK: i64 = 7;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub purged: usize,
}

/// Records the expiry of active keys past `expires_at`, then purges deleted
/// and expired keys that ended more than `retention` ago. It reads the due
/// index one day at a time from where the last sweep stopped: no Scan, and
/// nothing depends on DynamoDB's TTL timing.
pub async fn sweep<S: ApiKeySweep>(
    store: &S,
    now: Timestamp,
    retention: Duration,
) -> StoreResult<SweepReport> {
    let today = now.date();
    let purge_until = now.plus(-retention);
    let first = |day: time::Date| day - Duration::days(FIRST_SWEEP_DAYS_BACK);
    let progress = store.sweep_progress().await?.unwrap_or(SweepProgress {
        expire_from: first(today),
        purge_from: first(purge_until.date()),
    });
    let mut report = SweepReport::default();

    let mut day = progress.expire_from;
    while day <= today {
        report.expired += work_through(store, DueWork::Expire, day, now).await?;
        day += Duration::days(1);
    }
    // Keys expired just now ended on their expiry day, which may be older than
    // where purging stopped: start from whichever is earlier.
    let mut day = progress.purge_from.min(progress.expire_from);
    while day <= purge_until.date() {
        report.purged += work_through(store, DueWork::Purge, day, purge_until).await?;
        day += Duration::days(1);
    }

    // Today (and the purge cut-off's day) may get more due keys: resume there.
    let next = SweepProgress {
        expire_from: today,
        purge_from: purge_until.date(),
    };
    store.save_sweep_progress(&next).await?;
    if report != SweepReport::default() {
        tracing::info!(
            expired = report.expired,
            purged = report.purged,
            "sweep done"
        );
    }
    Ok(report)
}

/// Does `work` for every key due on `day` at or before `until`. Done keys leave
/// the due list, so it reads the first page again until nothing is left (or
/// only index entries that lag behind a change, which the next sweep sees).
async fn work_through<S: ApiKeySweep>(
    store: &S,
    work: DueWork,
    day: time::Date,
    until: Timestamp,
) -> StoreResult<usize> {
    let mut done = 0;
    loop {
        let due = store
            .due_api_keys(work, day, until, PageLimit::LARGEST)
            .await?;
        let mut changed = 0;
        for key in &due {
            let result = match work {
                DueWork::Expire => expire(store, key, until).await,
                DueWork::Purge => purge(store, key).await,
            };
            match result {
                Ok(true) => changed += 1,
                Ok(false) | Err(StoreError::Conflict(Conflict::Changed)) => {}
                Err(error) => return Err(error),
            }
        }
        done += changed;
        if changed == 0 {
            return Ok(done);
        }
    }
}

async fn expire<S: ApiKeySweep>(store: &S, key: &ApiKey, now: Timestamp) -> StoreResult<bool> {
    if key.status_at(now) != ApiKeyStatus::Expired || key.status != ApiKeyStatus::Active {
        return Ok(false);
    }
    store
        .expire_api_key(key, &audit(key, AuditAction::ApiKeyExpired))
        .await?;
    Ok(true)
}

async fn purge<S: ApiKeySweep>(store: &S, key: &ApiKey) -> StoreResult<bool> {
    if !matches!(key.status, ApiKeyStatus::Deleted | ApiKeyStatus::Expired) {
        return Ok(false);
    }
    store
        .purge_api_key(key, &audit(key, AuditAction::ApiKeyPurged))
        .await?;
    Ok(true)
}

fn audit(key: &ApiKey, action: AuditAction) -> AuditEvent {
    AuditEvent::new(
        key.tenant_id.clone(),
        Actor::System(SWEEP_ACTOR.into()),
        action,
        &key.id,
        Timestamp::now(),
    )
}
