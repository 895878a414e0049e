use domain::{
    Actor, ApiKey, ApiKeyStatus, AuditAction, AuditEvent, PageLimit, TenantId, Timestamp,
};
use store::{
    ApiKeyDelete, ApiKeyFilter, ApiKeyQuery, ApiKeyRead, CascadeTarget, Conflict, PendingCascades,
    StoreError, StoreResult,
};

use crate::{CASCADE_ACTOR, Deadline};

/// The keys a cascade deletes: those of the archived application, or of the
/// deleted Arx.
fn scope(target: &CascadeTarget) -> (&TenantId, ApiKeyFilter) {
    match target {
        CascadeTarget::Application { tenant, id } => (
            tenant,
            ApiKeyFilter {
                application_id: Some(id.clone()),
                ..Default::default()
            },
        ),
        CascadeTarget::Arx { tenant, id } => (
            tenant,
            ApiKeyFilter {
                arx_id: Some(id.clone()),
                ..Default::default()
            },
        ),
    }
}

/// How a cascade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CascadeOutcome {
    /// Every key is deleted and the pending cascade is finished.
    Finished { deleted: usize },
    /// The deadline came first. What was done is consistent (each key is
    /// deleted in its own transaction) and the cascade stays pending, so it
    /// is run again (the stream's retry, or the sweep).
    CutShort { deleted: usize },
}

/// Deletes every key bound to `target` that is not deleted yet, page by page,
/// then records the cascade finished. It reads the table strongly, so a key
/// created a moment before the archive is not missed, and stops between pages
/// when `deadline` is near.
pub async fn cascade<S: ApiKeyRead + ApiKeyDelete + PendingCascades>(
    store: &S,
    target: &CascadeTarget,
    deadline: Deadline,
) -> StoreResult<CascadeOutcome> {
    let (tenant, filter) = scope(target);
    let mut cursor = None;
    let mut deleted = 0;
    loop {
        if deadline.is_near() {
            tracing::warn!(?target, deleted, "cascade cut short by the deadline");
            return Ok(CascadeOutcome::CutShort { deleted });
        }
        let query = ApiKeyQuery {
            filter: filter.clone(),
            limit: PageLimit::LARGEST,
            cursor: cursor.take(),
            consistent: true,
            ..Default::default()
        };
        let page = store.list_api_keys(tenant, &query).await?;
        for key in page
            .items
            .iter()
            .filter(|key| key.status != ApiKeyStatus::Deleted)
        {
            if delete(store, key).await? {
                deleted += 1;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    store.finish_cascade(target).await?;
    tracing::info!(?target, deleted, "cascade done");
    Ok(CascadeOutcome::Finished { deleted })
}

/// Deletes one key, reading it again if it changed meanwhile. `false` if
/// someone else deleted (or the sweep purged) it first.
async fn delete<S: ApiKeyRead + ApiKeyDelete>(store: &S, key: &ApiKey) -> StoreResult<bool> {
    let mut current = key.clone();
    for _ in 0..3 {
        let audit = AuditEvent::new(
            current.tenant_id.clone(),
            Actor::System(CASCADE_ACTOR.into()),
            AuditAction::ApiKeyDeleted,
            &current.id,
            Timestamp::now(),
        );
        match store.delete_api_key(&current, &audit).await {
            Ok(_) => return Ok(true),
            Err(StoreError::Conflict(Conflict::Changed)) => {
                match store.get_api_key(&current.tenant_id, &current.id).await? {
                    Some(fresh) if fresh.status != ApiKeyStatus::Deleted => current = fresh,
                    _ => return Ok(false),
                }
            }
            Err(error) => return Err(error),
        }
    }
    Err(Conflict::Changed.into())
}
