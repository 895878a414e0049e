//! `GET /v1/audit-events` (owners and admins): who did what to which object,
//! when, newest first; narrowed by any of `object_id`, `actor` and `action`,
//! and a time range `from`, `to`.

use std::collections::HashMap;
use std::sync::Arc;

use domain::{
    ApiKeyId, ApplicationId, ArxId, AuditAction, AuditEventId, InvalidValue, PrefixedId,
    ServiceKeyId, Timestamp, UserId,
};
use store::{AuditFilter, AuditLog, AuditQuery};

use super::params;
use super::views::{AuditEventView, PageView};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::routes::Route;
use crate::state::AppState;

pub async fn handle<S: AuditLog>(
    state: Arc<AppState<S>>,
    _route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let params = request.params();
    let query = query(&params)?;
    let limit = params::limit(&params)?;
    let cursor = params::cursor::<AuditEventId>(&params)?;
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
fn query(params: &HashMap<&str, &str>) -> Result<AuditQuery, ApiError> {
    let object = params::optional(params, "object_id", object_id)?.map(AuditFilter::Object);
    let actor = params::optional(params, "actor", UserId::parse)?
        .map(|actor| AuditFilter::Actor(actor.to_string()));
    let action = params::optional(params, "action", AuditAction::parse)?.map(AuditFilter::Action);
    let from = params::optional(params, "from", Timestamp::parse)?;
    let to = params::optional(params, "to", Timestamp::parse)?;
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

/// An API key, service key, application or Arx id.
fn object_id(raw: &str) -> Result<String, InvalidValue> {
    let known = <ApiKeyId as PrefixedId>::parse(raw).is_ok()
        || <ServiceKeyId as PrefixedId>::parse(raw).is_ok()
        || <ApplicationId as PrefixedId>::parse(raw).is_ok()
        || <ArxId as PrefixedId>::parse(raw).is_ok();
    if known {
        Ok(raw.to_owned())
    } else {
        Err(InvalidValue::Malformed(
            "must be an API key, service key, application or Arx id",
        ))
    }
}
