//! The audit log.

use std::future::Future;

use domain::{AuditEvent, AuditEventId, Cursor, Page, PageLimit, TenantId, Timestamp};

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

impl AuditFilter {
    pub fn matches(&self, event: &AuditEvent) -> bool {
        match self {
            Self::Object(id) => event.target_id == *id,
            Self::Actor(actor) => event.actor.to_string() == *actor,
            Self::Action(action) => event.action == *action,
        }
    }
}

/// A narrowed audit list: every filter must hold, and the event's time be
/// within `from..=to`. The first filter picks the index read (see
/// [`AuditFilter`]); the others are checked on the events read, reading on
/// until the page is full. The time range bounds the read itself (event ids
/// are time-ordered), so it costs nothing beyond the events in range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub filters: Vec<AuditFilter>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl AuditQuery {
    pub fn matches(&self, event: &AuditEvent) -> bool {
        self.filters.iter().all(|filter| filter.matches(event))
            && self.from.is_none_or(|from| event.at >= from)
            && self.to.is_none_or(|to| event.at <= to)
    }
}

pub trait AuditLog: Send + Sync {
    /// A page of the tenant's audit events, newest first.
    fn list_audit_events(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> impl Future<Output = StoreResult<Page<AuditEvent, AuditEventId>>> + Send;

    /// A page of the tenant's audit events that `query` narrows to, newest
    /// first. Events written before the filters existed are only in the full
    /// list.
    fn list_audit_events_by(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> impl Future<Output = StoreResult<Page<AuditEvent, AuditEventId>>> + Send;
}
