//! The audit log.

use std::future::Future;

use domain::{AuditEvent, AuditEventId, Cursor, Page, PageLimit, TenantId};

use crate::error::StoreResult;

/// What an audit list is narrowed to: one of these at a time, each served by
/// an index of its own (`keys::AuditIndex`), so a page costs the same
/// however large the tenant's log is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFilter {
    /// Events about one object (an API key, application or Arx id).
    Object(String),
    /// Events by one actor, as `Actor`'s display shows it (`user-1`, `system:sweep`).
    Actor(String),
    Action(domain::AuditAction),
}

pub trait AuditLog: Send + Sync {
    /// A page of the tenant's audit events, newest first.
    fn list_audit_events(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> impl Future<Output = StoreResult<Page<AuditEvent, AuditEventId>>> + Send;

    /// A page of the tenant's audit events that `filter` names, newest first.
    /// Events written before the filters existed are only in the full list.
    fn list_audit_events_by(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> impl Future<Output = StoreResult<Page<AuditEvent, AuditEventId>>> + Send;
}
