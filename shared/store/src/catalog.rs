//! Applications, Arx and feedback.

use std::future::Future;

use domain::{
    Application, ApplicationId, ApplicationStatus, Arx, ArxId, ArxStatus, AuditEvent, Cursor,
    Feedback, Page, PageLimit, TenantId,
};

use crate::error::StoreResult;

pub trait ApplicationStore: Send + Sync {
    /// Stores a new application with `audit`.
    fn create_application(
        &self,
        application: &Application,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_application(
        &self,
        tenant: &TenantId,
        id: &ApplicationId,
    ) -> impl Future<Output = StoreResult<Option<Application>>> + Send;

    fn list_applications(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ApplicationId>>,
    ) -> impl Future<Output = StoreResult<Page<Application, ApplicationId>>> + Send;

    /// Replaces the application with `updated` (an update or an archive) and
    /// writes `audit`, only if its stored status is still `expected`.
    fn replace_application(
        &self,
        updated: &Application,
        expected: ApplicationStatus,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait ArxStore: Send + Sync {
    fn create_arx(
        &self,
        arx: &Arx,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_arx(
        &self,
        tenant: &TenantId,
        id: &ArxId,
    ) -> impl Future<Output = StoreResult<Option<Arx>>> + Send;

    fn list_arx(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ArxId>>,
    ) -> impl Future<Output = StoreResult<Page<Arx, ArxId>>> + Send;

    /// Replaces the Arx with `updated` (an update, disable, enable or delete) and
    /// writes `audit`, only if its stored status is still `expected`.
    fn replace_arx(
        &self,
        updated: &Arx,
        expected: ArxStatus,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait FeedbackStore: Send + Sync {
    fn put_feedback(&self, feedback: &Feedback) -> impl Future<Output = StoreResult<()>> + Send;
}
