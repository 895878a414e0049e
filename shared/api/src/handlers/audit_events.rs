//! `GET /v1/audit-events` (owners and admins): who did what to which object,
//! when, newest first; narrowed by any of `object_id`, `actor` and `action`,
//! and a time range `from`, `to`.

use std::sync::Arc;

use store::{AuditFilter, AuditLog, AuditQuery};

use super::views::{AuditEventView, PageView};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::AuditEventsQuery;
use crate::routes::Route;
use crate::state::AppState;

pub async fn handle<S: AuditLog>(
    state: Arc<AppState<S>>,
    _route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asked: AuditEventsQuery = request.query()?;
    let limit = asked.limit.unwrap_or_default();
    let cursor = asked.cursor.clone();
    let query = query(asked)?;
    let tenant = &request.identity.tenant;
    let page = if query == AuditQuery::default() {
        state
            .store
            .list_audit_events(tenant, limit, cursor.as_ref())
            .await?
    } else {
        state
            .store
            .list_audit_events_by(tenant, &query, limit, cursor.as_ref())
            .await?
    };
    Ok(ApiResponse::json(
        200,
        &PageView::of(&page, AuditEventView::from),
    ))
}

/// The filters given, most selective first (it picks the index read: an
/// object's events are few, an action's many), and the time range.
fn query(asked: AuditEventsQuery) -> Result<AuditQuery, ApiError> {
    let object = asked.object_id.map(AuditFilter::Object);
    let actor = asked
        .actor
        .map(|actor| AuditFilter::Actor(actor.to_string()));
    let action = asked.action.map(AuditFilter::Action);
    let (from, to) = (asked.from, asked.to);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::InvalidField {
            field: "to".into(),
            reason: "must not be before from".into(),
        });
    }
    Ok(AuditQuery {
        filters: [object, actor, action].into_iter().flatten().collect(),
        from,
        to,
    })
}
