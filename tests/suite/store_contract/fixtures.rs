//! Building blocks: a tenant with an application and an Arx, and new keys.

use domain::{
    AccessKey, Actor, ApiKey, ApiKeyName, Application, ApplicationName, ApplicationStatus, Arx,
    ArxName, ArxStatus, AuditAction, AuditEvent, Author, Issue, KeyHasher, KeyPrefix, KeySettings,
    Label, Purpose, Role, Technology, TenantId, Timestamp, UserId,
};

use super::backends::Store;

pub fn user() -> UserId {
    UserId::parse("user-1").expect("valid")
}

pub fn new_tenant() -> TenantId {
    TenantId::parse(&format!("t-{}", uuid::Uuid::now_v7().simple())).expect("valid")
}

pub fn audit(tenant: &TenantId, action: AuditAction, target: impl std::fmt::Display) -> AuditEvent {
    AuditEvent::new(
        tenant.clone(),
        Actor::User(user()),
        action,
        target,
        Timestamp::now(),
    )
}

/// The tests' user as the author of a change made now.
pub fn author() -> Author {
    Author::person(user(), Role::PlatformOwner, Timestamp::now())
}

/// The tests' user as the author of a change made at `at`.
pub fn author_at(at: Timestamp) -> Author {
    Author::person(user(), Role::PlatformOwner, at)
}

pub async fn create_application(store: &impl Store, tenant: &TenantId, name: &str) -> Application {
    let now = Timestamp::now();
    let application = Application {
        id: domain::ApplicationId::new(),
        tenant_id: tenant.clone(),
        name: ApplicationName::parse(name).expect("valid"),
        technology: Technology::Server,
        cors_origins: vec![],
        status: ApplicationStatus::Active,
        created_at: now,
        created_by: user(),
        updated_at: now,
    };
    let event = audit(tenant, AuditAction::ApplicationCreated, &application.id);
    store
        .create_application(&application, &event)
        .await
        .expect("application stored");
    application
}

pub async fn create_arx(store: &impl Store, tenant: &TenantId, name: &str) -> Arx {
    let now = Timestamp::now();
    let label = |text: &str| Label::parse(text).expect("valid");
    let id = domain::ArxId::new();
    let arx = Arx {
        arx_url: format!("https://{id}.arx.test"),
        id,
        tenant_id: tenant.clone(),
        name: ArxName::parse(name).expect("valid"),
        purpose: Purpose::Production,
        provider: label("aws"),
        region: label("ap-southeast-2"),
        encryption_method: label("AES-GCM-256"),
        rotation_cycle: label("90 days"),
        plan: label("standard"),
        status: ArxStatus::Active,
        created_at: now,
        created_by: user(),
        updated_at: now,
    };
    let event = audit(tenant, AuditAction::ArxCreated, &arx.id);
    store.create_arx(&arx, &event).await.expect("arx stored");
    arx
}

/// A tenant with one active application and one active Arx.
pub struct Catalog {
    pub tenant: TenantId,
    pub application: Application,
    pub arx: Arx,
}

pub async fn catalog(store: &impl Store) -> Catalog {
    let tenant = new_tenant();
    let application = create_application(store, &tenant, "Payments").await;
    let arx = create_arx(store, &tenant, "Prod Sydney").await;
    Catalog {
        tenant,
        application,
        arx,
    }
}

/// A new key record, hashed cheaply (the store never looks inside the hash),
/// minted as the API mints one.
pub fn new_key(tenant: &TenantId, application: &Application, arx: &Arx) -> ApiKey {
    let (id, access_key) = AccessKey::generate(&KeyPrefix::default());
    let hasher = KeyHasher::new(64, 1, 1).expect("valid params");
    let settings = KeySettings {
        name: Some(ApiKeyName::parse(&format!("key {}", id.hex())).expect("valid")),
        ..KeySettings::default()
    };
    let issue = Issue {
        secret_hash: hasher.hash(&access_key).expect("hashed"),
        id,
        application,
        arx,
        created_by: user(),
    };
    ApiKey::mint(tenant, issue, settings, &author()).0
}

/// Creates a key and returns its record.
pub async fn create_key(
    store: &impl Store,
    tenant: &TenantId,
    application: &Application,
    arx: &Arx,
) -> ApiKey {
    let key = new_key(tenant, application, arx);
    let event = audit(tenant, AuditAction::ApiKeyCreated, &key.id);
    store
        .create_api_key(&key, &event)
        .await
        .expect("key created");
    key
}

pub async fn delete_key(store: &impl Store, key: &ApiKey) -> ApiKey {
    let change = key.delete(&author()).expect("deletable");
    store
        .write_api_key_change(key, &change)
        .await
        .expect("key deleted");
    change.next
}
