//! The demo tenant a first start creates, so the API has something to pick.

use domain::{
    Actor, Application, ApplicationId, ApplicationName, ApplicationStatus, Arx, ArxId, ArxName,
    ArxStatus, AuditAction, AuditEvent, CorsOrigin, InvalidValue, Label, PageLimit, Purpose,
    Technology, TenantId, Timestamp, UserId,
};
use store::{ApplicationStore, ArxStore, StoreError, StoreResult};

pub const DEMO_TENANT: &str = "demo";

/// The demo tenant's first application and Arx (what the README's walk-through uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCatalog {
    pub tenant: TenantId,
    pub application_id: ApplicationId,
    pub arx_id: ArxId,
}

/// Seeds tenant `demo` with two applications and two Arx unless it has some.
pub async fn demo_tenant(
    store: &(impl ApplicationStore + ArxStore),
    arx_base_url: &str,
) -> StoreResult<DemoCatalog> {
    let tenant = TenantId::parse(DEMO_TENANT).map_err(invalid)?;
    let applications = store
        .list_applications(&tenant, PageLimit::default(), None)
        .await?;
    let arx = store.list_arx(&tenant, PageLimit::default(), None).await?;
    if let (Some(application), Some(arx)) = (applications.items.last(), arx.items.last()) {
        return Ok(DemoCatalog {
            tenant,
            application_id: application.id.clone(),
            arx_id: arx.id.clone(),
        });
    }
    let payments = application(&tenant, "Payments API", Technology::Server, &[])?;
    let portal = application(
        &tenant,
        "Customer Portal",
        Technology::Client,
        &["http://localhost:5173"],
    )?;
    let sydney = arx_of(
        &tenant,
        arx_base_url,
        "Production Sydney",
        Purpose::Production,
        "ap-southeast-2",
        "90 days",
        "enterprise",
    )?;
    let frankfurt = arx_of(
        &tenant,
        arx_base_url,
        "Staging Frankfurt",
        Purpose::Staging,
        "eu-central-1",
        "30 days",
        "standard",
    )?;
    for application in [&payments, &portal] {
        let audit = seed_audit(&tenant, AuditAction::ApplicationCreated, &application.id);
        store.create_application(application, &audit).await?;
    }
    for arx in [&sydney, &frankfurt] {
        let audit = seed_audit(&tenant, AuditAction::ArxCreated, &arx.id);
        store.create_arx(arx, &audit).await?;
    }
    Ok(DemoCatalog {
        tenant,
        application_id: payments.id,
        arx_id: sydney.id,
    })
}

fn seed_user() -> Result<UserId, StoreError> {
    UserId::parse("system:seed").map_err(invalid)
}

fn seed_audit(
    tenant: &TenantId,
    action: AuditAction,
    target: impl std::fmt::Display,
) -> AuditEvent {
    AuditEvent::new(
        tenant.clone(),
        Actor::System("seed".into()),
        action,
        target,
        Timestamp::now(),
    )
}

fn application(
    tenant: &TenantId,
    name: &str,
    technology: Technology,
    origins: &[&str],
) -> StoreResult<Application> {
    let now = Timestamp::now();
    Ok(Application {
        id: ApplicationId::new(),
        tenant_id: tenant.clone(),
        name: ApplicationName::parse(name).map_err(invalid)?,
        technology,
        cors_origins: origins
            .iter()
            .map(|o| CorsOrigin::parse(o))
            .collect::<Result<_, _>>()
            .map_err(invalid)?,
        status: ApplicationStatus::Active,
        created_at: now,
        created_by: seed_user()?,
        updated_at: now,
    })
}

fn arx_of(
    tenant: &TenantId,
    arx_base_url: &str,
    name: &str,
    purpose: Purpose,
    region: &str,
    rotation: &str,
    plan: &str,
) -> StoreResult<Arx> {
    let now = Timestamp::now();
    let label = |text: &str| Label::parse(text).map_err(invalid);
    let id = ArxId::new();
    Ok(Arx {
        arx_url: format!("{arx_base_url}/{id}"),
        id,
        tenant_id: tenant.clone(),
        name: ArxName::parse(name).map_err(invalid)?,
        purpose,
        provider: label("aws")?,
        region: label(region)?,
        encryption_method: label("AES-GCM-256")?,
        rotation_cycle: label(rotation)?,
        plan: label(plan)?,
        status: ArxStatus::Active,
        created_at: now,
        created_by: seed_user()?,
        updated_at: now,
    })
}

/// The seed's constants are valid; this only carries the types.
fn invalid(error: InvalidValue) -> StoreError {
    StoreError::Corrupt(Box::new(error))
}

/// The demo user who signs in as `role`: a name a person reads in the
/// console's header and the audit log (`demo-owner`), not the role's wire
/// name (`platform_owner`).
pub fn demo_user(role: domain::Role) -> Result<domain::UserId, domain::InvalidValue> {
    let who = match role {
        domain::Role::PlatformOwner => "owner",
        domain::Role::PlatformAdmin => "admin",
        domain::Role::Developer => "developer",
        domain::Role::Verifier => "verifier",
    };
    domain::UserId::parse(&format!("demo-{who}"))
}
