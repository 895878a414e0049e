use super::*;
use crate::{AccessKey, ApplicationId, ApplicationStatus, ArxId, ArxStatus, KeyPrefix};

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("valid")
}

fn person(when: &str) -> Author {
    Author::person(
        UserId::parse("ana").expect("valid"),
        Role::PlatformAdmin,
        at(when),
    )
}

fn catalog() -> (Application, Arx) {
    let json = serde_json::json!({
        "id": ApplicationId::new(), "tenant_id": "t", "name": "Payments",
        "technology": "server", "cors_origins": [], "status": ApplicationStatus::Active,
        "created_at": "2026-01-01T00:00:00Z", "created_by": "ana",
        "updated_at": "2026-01-01T00:00:00Z",
    });
    let application: Application = serde_json::from_value(json).expect("an application");
    let json = serde_json::json!({
        "id": ArxId::new(), "tenant_id": "t", "name": "Prod Sydney", "purpose": "production",
        "provider": "aws", "region": "ap-southeast-2", "encryption_method": "AES-GCM-256",
        "rotation_cycle": "90 days", "plan": "pro", "labels": [], "arx_url": "https://x",
        "status": ArxStatus::Active, "created_at": "2026-01-01T00:00:00Z",
        "created_by": "ana", "updated_at": "2026-01-01T00:00:00Z",
    });
    let arx: Arx = serde_json::from_value(json).expect("an Arx");
    (application, arx)
}

fn issue<'a>(application: &'a Application, arx: &'a Arx) -> Issue<'a> {
    let (id, key) = AccessKey::generate(&KeyPrefix::default());
    let secret_hash = crate::KeyHasher::new(64, 1, 1)
        .and_then(|hasher| hasher.hash(&key))
        .expect("hashed");
    Issue {
        id,
        secret_hash,
        application,
        arx,
        created_by: UserId::parse("ana").expect("valid"),
    }
}

fn minted(settings: KeySettings) -> ApiKey {
    let (application, arx) = catalog();
    let tenant = TenantId::parse("t").expect("valid");
    let by = person("2026-01-01T00:00:00Z");
    let (key, event) = ApiKey::mint(&tenant, issue(&application, &arx), settings, &by);
    assert_eq!(event.action, AuditAction::ApiKeyCreated);
    assert_eq!(event.target_id, key.id.to_string());
    key
}

#[test]
fn a_minted_key_is_active_named_after_its_catalog_and_of_revision_zero() {
    let key = minted(KeySettings::default());
    assert_eq!(key.status, ApiKeyStatus::Active);
    assert_eq!(key.name.as_str(), "Payments · Prod Sydney");
    assert_eq!(key.revision, Revision::default());
    assert!(key.starts_counters());
}

#[test]
fn each_change_is_the_next_revision_with_its_event() {
    let key = minted(KeySettings::default());
    let by = person("2026-01-02T00:00:00Z");
    let off = key.disable(&by).expect("active");
    assert_eq!(off.next.status, ApiKeyStatus::Disabled);
    assert_eq!(off.next.revision, key.revision.next());
    assert_eq!(off.audit[0].action, AuditAction::ApiKeyDisabled);
    assert_eq!(off.audit[0].role, Some(Role::PlatformAdmin));
    let again = off.next.disable(&by).expect_err("already disabled");
    assert_eq!(
        again.to_string(),
        "the API key is disabled and cannot become disabled"
    );
    assert_eq!(again.code(), "api_key_status");
    let on = off.next.enable(&by).expect("disabled");
    assert_eq!(on.next.status, ApiKeyStatus::Active);

    let leaked = key
        .mark_leaked("https://github.com/x", &by)
        .expect("active");
    assert_eq!(leaked.next.disabled_reason, Some(DisabledReason::Leaked));
    assert_eq!(
        leaked.audit[0].detail.as_deref(),
        Some("found in public code at https://github.com/x")
    );
    // Enabled again, it forgets why it was disabled.
    let resumed = leaked.next.enable(&by).expect("disabled");
    assert_eq!(resumed.next.disabled_reason, None);

    assert_eq!(
        key.confirms_deletion(Some(&key.id.as_str().to_uppercase())),
        Err(Refusal::ConfirmationMismatch)
    );
    key.confirms_deletion(Some(key.id.as_str()))
        .expect("the exact id");
    let deleted = key.delete(&by).expect("deletable");
    assert_eq!(deleted.next.deleted_at, Some(by.at()));
    assert_eq!(deleted.next.delete(&by), Err(Refusal::AlreadyDeleted));
    assert!(deleted.next.disable(&by).is_err(), "an ended key stays so");
    assert!(deleted.next.purge(&by).is_ok());
    assert!(key.purge(&by).is_err(), "a live key is never purged");
}

#[test]
fn a_key_expires_once_past_its_expiry() {
    let now = at("2026-01-01T00:00:00Z");
    let expiry = ExpiresAt::parse("2026-01-10T00:00:00Z", now).expect("ahead");
    let key = minted(KeySettings {
        expires_at: Some(expiry),
        ..KeySettings::default()
    });
    assert_eq!(
        key.expire(&person("2026-01-09T00:00:00Z")),
        Err(Refusal::NotDue)
    );
    let by = Author::job("sweep", at("2026-01-11T00:00:00Z"));
    let expired = key.expire(&by).expect("due");
    assert_eq!(expired.next.status, ApiKeyStatus::Expired);
    assert_eq!(expired.audit[0].actor, Actor::System("sweep".into()));
    assert!(expired.next.expire(&by).is_err());
    assert!(
        key.edit(&KeyEdit::default(), &by).is_err(),
        "past its expiry, it cannot change"
    );
}

#[test]
fn an_edit_says_what_changed_and_restarts_counters_only_for_limits() {
    let key = minted(KeySettings::default());
    let by = person("2026-01-02T00:00:00Z");
    assert_eq!(key.edit(&KeyEdit::default(), &by), Ok(None));
    let owner = KeyEdit {
        external_id: Some(Some(ExternalId::parse("acme").expect("valid"))),
        ..KeyEdit::default()
    };
    let change = key.edit(&owner, &by).expect("live").expect("a change");
    assert_eq!(change.counters, Counters::Kept);
    assert_eq!(change.audit[0].detail.as_deref(), Some("owner set to acme"));
    let unlimited = KeyEdit {
        limits: Some(None),
        ..KeyEdit::default()
    };
    let change = key.edit(&unlimited, &by).expect("live").expect("a change");
    assert_eq!(change.counters, Counters::Restarted);
    assert_eq!(change.audit[0].action, AuditAction::ApiKeyLimitsChanged);
}

#[test]
fn a_rotation_hands_over_to_a_replacement_that_shares_the_balance() {
    let key = minted(KeySettings::default());
    let (application, arx) = catalog();
    let by = person("2026-01-02T00:00:00Z");
    let grace = GracePeriod::seconds(3600).expect("in range");
    let rotation = key
        .rotate(issue(&application, &arx), grace, Default::default(), &by)
        .expect("active");
    let (old, new) = (&rotation.rotated, &rotation.replacement);
    assert_eq!(old.rotated_to.as_ref(), Some(&new.id));
    assert_eq!(new.rotated_from.as_ref(), Some(&key.id));
    assert_eq!(new.balance_key(), &key.id, "the chain's one balance");
    assert!(!new.starts_counters());
    assert_eq!(
        old.expires_at.map(ExpiresAt::at),
        Some(by.at().plus(time::Duration::hours(1)))
    );
    assert_eq!(old.revision, key.revision.next());
    assert_eq!(
        old.rotate(issue(&application, &arx), grace, Default::default(), &by),
        Err(Refusal::AlreadyRotated)
    );
    assert_eq!(
        old.edit(
            &KeyEdit {
                limits: Some(None),
                ..KeyEdit::default()
            },
            &by
        ),
        Err(Refusal::LimitsOfRotatedKey)
    );
}

#[test]
fn a_grace_period_is_zero_to_seven_days() {
    assert_eq!(GracePeriod::default().as_seconds(), 86_400);
    assert!(GracePeriod::seconds(0).is_ok());
    assert!(GracePeriod::seconds(604_800).is_ok());
    assert!(GracePeriod::seconds(604_801).is_err());
    assert!(GracePeriod::seconds(-1).is_err());
    assert!(GracePeriod::seconds(i128::MAX).is_err());
}

#[test]
fn an_imported_key_is_found_by_its_locator_and_rehashed_once() {
    let (application, arx) = catalog();
    let tenant = TenantId::parse("t").expect("valid");
    let by = person("2026-01-01T00:00:00Z");
    let old = crate::ImportedHash::parse(crate::ImportScheme::Sha256, &"ab".repeat(32), None)
        .expect("a digest");
    let mut issued = issue(&application, &arx);
    issued.secret_hash = old.hash.clone();
    let (key, event) = ApiKey::import(
        &tenant,
        issued,
        old.locator.clone(),
        KeySettings::default(),
        true,
        &by,
        "sha256",
    );
    assert_eq!(key.locator, Some(old.locator));
    assert_eq!(key.status, ApiKeyStatus::Disabled);
    assert_eq!(event.action, AuditAction::ApiKeyImported);
    assert_eq!(event.detail.as_deref(), Some("imported as sha256"));

    let hasher = crate::KeyHasher::default();
    let ours = hasher
        .hash(&crate::AccessKey::imported("sk_live_0123456789"))
        .expect("hashed");
    let change = key
        .rehash(ours.clone(), &by)
        .expect("a foreign hash is replaced");
    assert_eq!(change.next.secret_hash, ours);
    assert_eq!(change.next.revision, key.revision.next());
    assert_eq!(change.audit[0].action, AuditAction::ApiKeyRehashed);
    assert!(change.next.rehash(ours.clone(), &by).is_none(), "once");
    // An imported argon2 hash of other parameters is replaced too.
    let other = crate::KeyHasher::new(128, 2, 1)
        .and_then(|h| h.hash(&crate::AccessKey::imported("sk_live_0123456789")))
        .expect("hashed");
    let imported_argon2 = ApiKey {
        secret_hash: other,
        ..key.clone()
    };
    assert!(imported_argon2.rehash(ours, &by).is_some());
}
