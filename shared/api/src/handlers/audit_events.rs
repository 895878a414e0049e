//! `GET /v1/audit-events` (owners and admins): who did what to which object,
//! when, newest first; narrowed by one of `object_id`, `actor` or `action`.

use std::collections::HashMap;
use std::sync::Arc;

use domain::{
    ApiKeyId, ApplicationId, ArxId, AuditAction, AuditEventId, InvalidValue, PrefixedId,
    ServiceKeyId, UserId,
};
use store::{AuditFilter, AuditLog};

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
    let params = request.query_params(Route::ListAuditEvents.query_parameters())?;
    let filter = filter(&params)?;
    let limit = params::limit(&params)?;
    let cursor = params::cursor::<AuditEventId>(&params)?;
    let tenant = &request.identity.tenant;
    let page = match &filter {
        None => {
            state
                .store
                .list_audit_events(tenant, limit, cursor.as_ref())
                .await?
        }
        Some(filter) => {
            state
                .store
                .list_audit_events_by(tenant, filter, limit, cursor.as_ref())
                .await?
        }
    };
    Ok(ApiResponse::json(
        200,
        &PageView::of(&page, AuditEventView::from),
    ))
}

/// At most one filter: each has an index of its own, and combining two
/// would mean reading one index and dropping most of what it holds.
fn filter(params: &HashMap<&str, &str>) -> Result<Option<AuditFilter>, ApiError> {
    let object = params::optional(params, "object_id", object_id)?.map(AuditFilter::Object);
    let actor = params::optional(params, "actor", UserId::parse)?
        .map(|actor| AuditFilter::Actor(actor.to_string()));
    let action = params::optional(params, "action", AuditAction::parse)?.map(AuditFilter::Action);
    let mut given = [object, actor, action].into_iter().flatten();
    let first = given.next();
    if given.next().is_some() {
        return Err(ApiError::InvalidField {
            field: "object_id".into(),
            reason: "filter by one of object_id, actor and action at a time".into(),
        });
    }
    Ok(first)
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
