use domain::{ApiKey, ApiKeyStatus, Author, PageLimit, TenantId, Timestamp};
use store::{
    ApiKeyFilter, ApiKeyQuery, ApiKeyRead, ApiKeyWrite, CascadeTarget, PendingCascades,
    StoreResult, until_written,
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
pub async fn cascade<S: ApiKeyRead + ApiKeyWrite + PendingCascades>(
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
async fn delete<S: ApiKeyRead + ApiKeyWrite>(store: &S, key: &ApiKey) -> StoreResult<bool> {
    // The first try decides on the key as listed; a retry reads it again.
    let mut listed = Some(key.clone());
    until_written(|| {
        let listed = listed.take();
        async move {
            let current = match listed {
                Some(key) => key,
                None => match store.get_api_key(&key.tenant_id, &key.id).await? {
                    Some(fresh) => fresh,
                    None => return Ok(false),
                },
            };
            let by = Author::job(CASCADE_ACTOR, Timestamp::now());
            let Ok(change) = current.delete(&by) else {
                return Ok(false);
            };
            store.write_api_key_change(&current, &change).await?;
            Ok(true)
        }
    })
    .await
}
