//! What the cleanup jobs read and write: the sweep's due keys and progress,
//! and the cascades owed by archives and Arx deletions.

use std::future::Future;

use domain::{
    ApiKey, Application, ApplicationId, ApplicationStatus, Arx, ArxId, ArxStatus, AuditEvent,
    PageLimit, TenantId, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;

/// What the sweep does to a key on the day it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueWork {
    /// Tell whoever watches the notifications topic that an active key will
    /// expire soon. Its partition is the expiry day; a key leaves it once
    /// told (or rotated) for [`DueWork::Expire`]'s.
    Notice,
    /// Record that an active key passed its expiry.
    Expire,
    /// Remove a deleted or expired key past retention.
    Purge,
}

/// How far the sweep has got: the first day of each kind of work that is not
/// yet fully done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepProgress {
    pub expire_from: time::Date,
    pub purge_from: time::Date,
}

pub trait ApiKeySweep: Send + Sync {
    /// Up to `limit` keys with `work` due on `day` at or before `until`,
    /// across tenants, the earliest due first. Keys leave this list as they
    /// are expired or purged, so a sweep reads it again until it is empty.
    fn due_api_keys(
        &self,
        work: DueWork,
        day: time::Date,
        until: Timestamp,
        limit: PageLimit,
    ) -> impl Future<Output = StoreResult<Vec<ApiKey>>> + Send;

    /// Sets when `current`'s expiry notice was sent (`None` gives a notice
    /// back after a failed publish), if the stored key is still active with
    /// `current`'s `expiry_notice_sent_at` ([`Conflict::Changed`](crate::Conflict::Changed) otherwise):
    /// of two sweeps racing for one key's notice, one wins. Returns the new
    /// record.
    fn set_expiry_notice_sent(
        &self,
        current: &ApiKey,
        sent_at: Option<Timestamp>,
    ) -> impl Future<Output = StoreResult<ApiKey>> + Send;

    /// Removes `current` and its lookup item and writes `audit`, if its status
    /// is still `current.status`. Its earlier audit events stay.
    fn purge_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn sweep_progress(&self) -> impl Future<Output = StoreResult<Option<SweepProgress>>> + Send;

    fn save_sweep_progress(
        &self,
        progress: &SweepProgress,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What a cascade deletes the keys of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CascadeTarget {
    /// An application that was archived.
    Application { tenant: TenantId, id: ApplicationId },
    /// An Arx that was deleted.
    Arx { tenant: TenantId, id: ArxId },
}

impl CascadeTarget {
    pub fn tenant(&self) -> &TenantId {
        match self {
            Self::Application { tenant, .. } | Self::Arx { tenant, .. } => tenant,
        }
    }
}

/// A cascade the jobs owe. It is written in the same transaction as the
/// archive (or Arx deletion) that calls for it and removed once the cascade
/// has run, so a stream batch that is dropped, or a cascade cut short by its
/// deadline, never leaves keys alive: the sweep runs what is still here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCascade {
    pub target: CascadeTarget,
    pub since: Timestamp,
}

impl PendingCascade {
    /// The cascade an application change calls for: its archive.
    pub(crate) fn owed_by_application(
        updated: &Application,
        expected: ApplicationStatus,
        audit: &AuditEvent,
    ) -> Option<Self> {
        (updated.status == ApplicationStatus::Archived && expected != ApplicationStatus::Archived)
            .then(|| Self {
                target: CascadeTarget::Application {
                    tenant: updated.tenant_id.clone(),
                    id: updated.id.clone(),
                },
                since: audit.at,
            })
    }

    /// The cascade an Arx change calls for: its deletion.
    pub(crate) fn owed_by_arx(
        updated: &Arx,
        expected: ArxStatus,
        audit: &AuditEvent,
    ) -> Option<Self> {
        (updated.status == ArxStatus::Deleted && expected != ArxStatus::Deleted).then(|| Self {
            target: CascadeTarget::Arx {
                tenant: updated.tenant_id.clone(),
                id: updated.id.clone(),
            },
            since: audit.at,
        })
    }
}

pub trait PendingCascades: Send + Sync {
    /// Every cascade not yet finished, across tenants (a handful at most:
    /// each leaves as soon as its cascade has run).
    fn pending_cascades(&self) -> impl Future<Output = StoreResult<Vec<PendingCascade>>> + Send;

    /// Records that `target`'s cascade has run (nothing if it was not pending).
    fn finish_cascade(
        &self,
        target: &CascadeTarget,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
