//! The verdict cache and the cost of a check, against an attacker: a
//! revocation wins over a check already in flight, a flood of made-up keys
//! cannot push known keys out, and an id that does not exist costs what a
//! wrong secret does. On the embedded store, through the data plane's
//! `Verifier` as the verify route and the key-authorizer call it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use domain::{
    AccessKey, Application, ApplicationId, Arx, ArxId, AuditEvent, Cost, Cursor, KeyLimits,
    KeyPrefix, Page, PageLimit, Role, TenantId, Timestamp,
};
use serde_json::{Value, json};
use store::{
    ApiKeyCharge, ApiKeyLastUse, ApiKeyLookup, ApiKeyQuery, ApiKeyRead, ApplicationStore, ArxStore,
    Charge, KeyLookup, StoreResult,
};
use tokio::sync::Notify;

use super::helpers::{create_key_in, embedded_state};

/// A store that, once armed, holds the next read of an application (which a
/// check makes after its lookup and hash, before it keeps its verdict) until
/// released: a check caught in flight.
struct Paused<S> {
    inner: S,
    armed: AtomicBool,
    reached: Notify,
    release: Notify,
}

impl<S: Send + Sync> ApplicationStore for Paused<S>
where
    S: ApplicationStore,
{
    async fn create_application(&self, a: &Application, e: &AuditEvent) -> StoreResult<()> {
        self.inner.create_application(a, e).await
    }
    async fn get_application(
        &self,
        tenant: &TenantId,
        id: &ApplicationId,
    ) -> StoreResult<Option<Application>> {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.reached.notify_one();
            self.release.notified().await;
        }
        self.inner.get_application(tenant, id).await
    }
    async fn list_applications(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ApplicationId>>,
    ) -> StoreResult<Page<Application, ApplicationId>> {
        self.inner.list_applications(tenant, limit, cursor).await
    }
    async fn replace_application(
        &self,
        a: &Application,
        expected: domain::ApplicationStatus,
        e: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.replace_application(a, expected, e).await
    }
}

impl<S: ArxStore> ArxStore for Paused<S> {
    async fn create_arx(&self, arx: &Arx, e: &AuditEvent) -> StoreResult<()> {
        self.inner.create_arx(arx, e).await
    }
    async fn get_arx(&self, tenant: &TenantId, id: &ArxId) -> StoreResult<Option<Arx>> {
        self.inner.get_arx(tenant, id).await
    }
    async fn list_arx(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ArxId>>,
    ) -> StoreResult<Page<Arx, ArxId>> {
        self.inner.list_arx(tenant, limit, cursor).await
    }
    async fn replace_arx(
        &self,
        arx: &Arx,
        expected: domain::ArxStatus,
        e: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.replace_arx(arx, expected, e).await
    }
}

impl<S: ApiKeyLookup> ApiKeyLookup for Paused<S> {
    async fn lookup_api_key(&self, id: &domain::ApiKeyId) -> StoreResult<Option<KeyLookup>> {
        self.inner.lookup_api_key(id).await
    }
}

impl<S: store::ApiKeyWrite> store::ApiKeyWrite for Paused<S> {
    async fn write_api_key_change(
        &self,
        current: &domain::ApiKey,
        change: &domain::KeyChange,
    ) -> StoreResult<()> {
        self.inner.write_api_key_change(current, change).await
    }
}

impl<S: store::ImportedKeyLookup> store::ImportedKeyLookup for Paused<S> {
    async fn imported_key(
        &self,
        locator: &domain::KeyLocator,
    ) -> StoreResult<Option<domain::ApiKeyId>> {
        self.inner.imported_key(locator).await
    }
    async fn imported_keys_exist(&self) -> StoreResult<bool> {
        self.inner.imported_keys_exist().await
    }
}

impl<S: ApiKeyRead> ApiKeyRead for Paused<S> {
    async fn get_api_key(
        &self,
        tenant: &TenantId,
        id: &domain::ApiKeyId,
    ) -> StoreResult<Option<domain::ApiKey>> {
        self.inner.get_api_key(tenant, id).await
    }
    async fn list_api_keys(
        &self,
        tenant: &TenantId,
        query: &ApiKeyQuery,
    ) -> StoreResult<Page<domain::ApiKey, domain::ApiKeyId>> {
        self.inner.list_api_keys(tenant, query).await
    }
    async fn api_key_counts(&self, tenant: &TenantId) -> StoreResult<domain::ApiKeyCounts> {
        self.inner.api_key_counts(tenant).await
    }
}

impl<S: ApiKeyLastUse> ApiKeyLastUse for Paused<S> {
    async fn record_use(
        &self,
        tenant: &TenantId,
        id: &domain::ApiKeyId,
        at: Timestamp,
        min_interval: time::Duration,
    ) -> StoreResult<bool> {
        self.inner.record_use(tenant, id, at, min_interval).await
    }
}

impl<S: store::IdentityLookup> store::IdentityLookup for Paused<S> {
    async fn identity_of(
        &self,
        tenant: &TenantId,
        external_id: &domain::ExternalId,
    ) -> StoreResult<Option<domain::Identity>> {
        self.inner.identity_of(tenant, external_id).await
    }
}

impl<S: store::RoleLookup> store::RoleLookup for Paused<S> {
    async fn role_named(
        &self,
        tenant: &TenantId,
        name: &domain::RoleName,
    ) -> StoreResult<Option<domain::KeyRole>> {
        self.inner.role_named(tenant, name).await
    }
}

impl<S: ApiKeyCharge> ApiKeyCharge for Paused<S> {
    async fn charge_together(
        &self,
        parts: &[store::ChargePart],
        now: Timestamp,
    ) -> StoreResult<store::Charges> {
        self.inner.charge_together(parts, now).await
    }
    async fn charge_api_key(
        &self,
        id: &domain::ApiKeyId,
        expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
    ) -> StoreResult<Charge> {
        self.inner.charge_api_key(id, expected, cost, now).await
    }
    async fn api_key_balance(&self, id: &domain::ApiKeyId) -> StoreResult<Option<domain::Balance>> {
        self.inner.api_key_balance(id).await
    }
}

fn developer_request(demo: &dev_server::DemoCatalog, id: &str, body: Value) -> api::ApiRequest {
    api::ApiRequest {
        identity: api::Identity {
            tenant: demo.tenant.clone(),
            user: domain::UserId::parse("dev-1").expect("valid"),
            role: Role::PlatformAdmin,
        },
        id: Some(id.to_owned()),
        query: vec![],
        body: body.to_string().into(),
        idempotency_key: None,
        media: Default::default(),
    }
}

/// A check that read the key as active and is still running when the key is
/// deleted (or disabled) in the same process: it answers its own caller, but
/// its verdict is not kept, and the next verify sees the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_wins_over_a_check_already_in_flight() {
    for route in [api::Route::DeleteApiKey, api::Route::DisableApiKey] {
        let (state, demo, _dir) = embedded_state().await;
        let created = create_key_in(&state, &demo).await;
        let key = created["access_key"].as_str().expect("a key").to_owned();
        let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
        let paused = Arc::new(Paused {
            inner: state.store.clone(),
            armed: AtomicBool::new(true),
            reached: Notify::new(),
            release: Notify::new(),
        });
        let in_flight = {
            let (state, paused, tenant, key) = (
                Arc::clone(&state),
                Arc::clone(&paused),
                demo.tenant.clone(),
                key.clone(),
            );
            tokio::spawn(async move {
                let verifier = &state.verifier;
                verifier
                    .verify(paused.as_ref(), Some(&tenant), &key, &verify::Ask::ONE)
                    .await
                    .expect("answered")
            })
        };
        paused.reached.notified().await;
        let body = match route {
            api::Route::DeleteApiKey => json!({ "confirm": id }),
            _ => Value::Null,
        };
        let revoked = api::dispatch(
            Arc::clone(&state),
            route,
            developer_request(&demo, &id, body),
        )
        .await;
        assert!(
            (200..300).contains(&revoked.status),
            "{route:?}: {}",
            revoked.status
        );
        paused.release.notify_one();
        let stale = in_flight.await.expect("joined");
        assert!(stale.valid, "the check in flight answers what it read");
        let next = state
            .verifier
            .verify(&state.store, Some(&demo.tenant), &key, &verify::Ask::ONE)
            .await
            .expect("answered");
        assert!(
            !next.valid,
            "{route:?}: the next verify sees the revocation, not the verdict in flight"
        );
    }
}

/// A flood of well-formed keys that do not exist (more than the cache holds)
/// pushes no known key out: its next verify is still a cache hit (no argon2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_keys_does_not_push_known_keys_out() {
    let (state, demo, _dir) = embedded_state().await;
    let created = create_key_in(&state, &demo).await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let verify = |raw: String| {
        let (state, tenant) = (Arc::clone(&state), demo.tenant.clone());
        async move {
            state
                .verifier
                .verify(&state.store, Some(&tenant), &raw, &verify::Ask::ONE)
                .await
                .expect("answered")
        }
    };
    assert!(verify(key.clone()).await.valid);
    // Read twice: a key in use, as an honest client's is.
    assert!(verify(key.clone()).await.valid);
    for _ in 0..12_000 {
        let (_, unknown) = AccessKey::generate(&KeyPrefix::default());
        let verdict = verify(unknown.expose_secret().to_owned()).await;
        assert!(!verdict.valid);
    }
    let before = state.verifier.hashing.runs();
    assert!(verify(key).await.valid);
    assert_eq!(
        state.verifier.hashing.runs(),
        before,
        "the known key's verdict was still cached"
    );
}

/// An id that does not exist and an existing id with a wrong secret cost the
/// same: a lookup and one argon2id each. Measured as distributions,
/// interleaved, with a generous bound (a benchmark-style check, not a timer):
/// before, the two differed 20-fold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_id_costs_what_a_wrong_secret_costs() {
    let (state, demo, _dir) = embedded_state().await;
    let created = create_key_in(&state, &demo).await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let wrong = super::verify::with_other_secret(&key);
    let mut unknown_times = Vec::new();
    let mut wrong_times = Vec::new();
    for round in 0..300 {
        // Each is new to the cache: the unknown id is fresh, and the wrong
        // secret's verdict is forgotten each round.
        state.verifier.verdicts.clear();
        let (_, unknown) = AccessKey::generate(&KeyPrefix::default());
        let unknown = unknown.expose_secret().to_owned();
        let pair = [(&unknown, &mut unknown_times), (&wrong, &mut wrong_times)];
        let order: Vec<_> = if round % 2 == 0 {
            pair.into_iter().collect()
        } else {
            pair.into_iter().rev().collect()
        };
        for (raw, times) in order {
            let started = Instant::now();
            let verdict = state
                .verifier
                .verify(&state.store, Some(&demo.tenant), raw, &verify::Ask::ONE)
                .await
                .expect("answered");
            times.push(started.elapsed());
            assert_eq!(verdict.code, verify::VerdictCode::NotFound);
        }
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (unknown, wrong) = (median(&mut unknown_times), median(&mut wrong_times));
    let ratio = wrong.as_secs_f64() / unknown.as_secs_f64();
    eprintln!("median: unknown id {unknown:?}, wrong secret {wrong:?} ({ratio:.2}x)");
    assert!(
        (1.0 / 3.0..=3.0).contains(&ratio),
        "an unknown id ({unknown:?}) and a wrong secret ({wrong:?}) can be told apart"
    );
}
