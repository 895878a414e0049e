use domain::{
    Actor, ApiKey, ApiKeyStatus, ApplicationId, ArxId, AuditAction, AuditEvent, PageLimit,
    TenantId, Timestamp,
};
use store::{
    ApiKeyDelete, ApiKeyFilter, ApiKeyQuery, ApiKeyRead, Conflict, StoreError, StoreResult,
};

use crate::CASCADE_ACTOR;

/// What a cascade deletes the keys of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CascadeTarget {
    /// An application that was archived.
    Application { tenant: TenantId, id: ApplicationId },
    /// An Arx that was deleted.
    Arx { tenant: TenantId, id: ArxId },
}

impl CascadeTarget {
    fn scope(&self) -> (&TenantId, ApiKeyFilter) {
        match self {
            Self::Application { tenant, id } => (
                tenant,
                ApiKeyFilter {
                    application_id: Some(id.clone()),
                    ..Default::default()
                },
            ),
            Self::Arx { tenant, id } => (
                tenant,
                ApiKeyFilter {
                    arx_id: Some(id.clone()),
                    ..Default::default()
                },
            ),
        }
    }
}

/// Deletes every key bound to `target` that is not deleted yet, page by page,
/// and returns how many it deleted. It reads the table strongly, so a key
/// created a moment before the archive is not missed.
pub async fn cascade<S: ApiKeyRead + ApiKeyDelete>(
    store: &S,
    target: &CascadeTarget,
) -> StoreResult<usize> {
    let (tenant, filter) = target.scope();
    let mut cursor = None;
    let mut deleted = 0;
    loop {
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
    tracing::info!(?target, deleted, "cascade done");
    Ok(deleted)
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
