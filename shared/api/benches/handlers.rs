//! Handler-level costs on the embedded store: create (argon2id dominates),
//! a dashboard page of 25, and delete; and the dashboard page with 100 and with
//! 10,000 keys in the tenant (`BENCH_LARGE_TENANT` to change), whose ratio
//! should stay near 1.
//!
//! `cargo bench -p api` (figures in docs/benchmarks.md).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use api::handlers::{change_keys, issue_keys, read_keys};
use api::{ApiRequest, ApiStore, AppState, Identity, Route, ServiceConfig};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use domain::{
    AccessKey, Actor, ApiKey, ApiKeyName, Application, ApplicationId, ApplicationName,
    ApplicationStatus, Arx, ArxId, ArxName, ArxStatus, AuditAction, AuditEvent, Issue, KeyHasher,
    KeyPrefix, KeySettings, Label, Purpose, Role, Technology, TenantId, Timestamp, UserId,
};
use store::{ApiKeyCreate, ApiKeyLookup, DynamoStore, EmbeddedStore};

struct Tenant<S = EmbeddedStore> {
    state: Arc<AppState<S>>,
    identity: Identity,
    application: Application,
    arx: Arx,
    _dir: tempfile::TempDir,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A tenant with one application, one Arx and `keys` keys (hashed cheaply:
/// the hash's cost is not what these benches are about, except for create's).
async fn tenant(keys: usize) -> Tenant {
    let dir = tempfile::tempdir().expect("a folder");
    let store = EmbeddedStore::open(dir.path().join("bench.redb")).expect("a store");
    tenant_on(store, keys, dir).await
}

async fn tenant_on<S: ApiStore>(store: S, keys: usize, dir: tempfile::TempDir) -> Tenant<S> {
    let identity = Identity {
        tenant: TenantId::parse("bench").expect("valid"),
        user: UserId::parse("bench-user").expect("valid"),
        role: Role::Developer,
    };
    let now = Timestamp::now();
    let label = |text: &str| Label::parse(text).expect("valid");
    let application = Application {
        id: ApplicationId::new(),
        tenant_id: identity.tenant.clone(),
        name: ApplicationName::parse("Bench app").expect("valid"),
        technology: Technology::Server,
        cors_origins: vec![],
        status: ApplicationStatus::Active,
        created_at: now,
        created_by: identity.user.clone(),
        updated_at: now,
    };
    let arx = Arx {
        id: ArxId::new(),
        tenant_id: identity.tenant.clone(),
        name: ArxName::parse("Bench Arx").expect("valid"),
        purpose: Purpose::Testing,
        provider: label("aws"),
        region: label("us-east-1"),
        encryption_method: label("AES-GCM-256"),
        rotation_cycle: label("30 days"),
        plan: label("standard"),
        arx_url: "https://arx.example.com/bench".into(),
        status: ArxStatus::Active,
        created_at: now,
        created_by: identity.user.clone(),
        updated_at: now,
    };
    let audit = |action, target: &str| {
        AuditEvent::new(
            identity.tenant.clone(),
            Actor::User(identity.user.clone()),
            action,
            target,
            now,
        )
    };
    store
        .create_application(
            &application,
            &audit(AuditAction::ApplicationCreated, application.id.as_str()),
        )
        .await
        .expect("stored");
    store
        .create_arx(&arx, &audit(AuditAction::ArxCreated, arx.id.as_str()))
        .await
        .expect("stored");
    let cheap = KeyHasher::new(64, 1, 1).expect("valid");
    for _ in 0..keys {
        let key = key_record(&identity, &application, &arx, &cheap);
        store
            .create_api_key(&key, &audit(AuditAction::ApiKeyCreated, key.id.as_str()))
            .await
            .expect("created");
    }
    let config = ServiceConfig {
        table_name: "bench".into(),
        dynamodb_endpoint: None,
        access_key_prefix: KeyPrefix::default(),
        feedback_topic_arn: None,
        arx_base_url: "https://arx.example.com".into(),
        verify_cache: ServiceConfig::DEFAULT_VERIFY_CACHE,
        expiry_notice: domain::NoticePeriod::default(),
        usage_flush: Some(verify::UsageCounter::DEFAULT_INTERVAL),
        leases: store::LeaseSettings::DEFAULT,
    };
    Tenant {
        state: Arc::new(AppState::new(store, &config)),
        identity,
        application,
        arx,
        _dir: dir,
    }
}

fn key_record(
    identity: &Identity,
    application: &Application,
    arx: &Arx,
    hasher: &KeyHasher,
) -> ApiKey {
    let (id, access_key) = AccessKey::generate(&KeyPrefix::default());
    let settings = KeySettings {
        name: Some(ApiKeyName::parse("bench key").expect("valid")),
        ..KeySettings::default()
    };
    let issue = Issue {
        secret_hash: hasher.hash(&access_key).expect("hashed"),
        id,
        application,
        arx,
        created_by: identity.user.clone(),
    };
    ApiKey::mint(
        &identity.tenant,
        issue,
        settings,
        &identity.author(Timestamp::now()),
    )
    .0
}

fn request(identity: &Identity, id: Option<String>, body: String) -> ApiRequest {
    ApiRequest {
        identity: identity.clone(),
        id,
        query: vec![],
        body: Bytes::from(body),
        idempotency_key: None,
        media: Default::default(),
    }
}

fn handlers(c: &mut Criterion) {
    let rt = runtime();
    let t = rt.block_on(tenant(100));
    let create_body = format!(
        r#"{{"application_id":"{}","arx_id":"{}"}}"#,
        t.application.id, t.arx.id
    );

    let mut group = c.benchmark_group("handlers, embedded store");
    group.sample_size(20);
    group.bench_function("create (argon2id included)", |b| {
        b.to_async(&rt).iter(|| async {
            let request = request(&t.identity, None, create_body.clone());
            let response =
                issue_keys::handle(Arc::clone(&t.state), Route::CreateApiKey, request).await;
            assert_eq!(response.map(|r| r.status).ok(), Some(201));
        })
    });
    group.bench_function("list a page of 25", |b| {
        b.to_async(&rt).iter(|| async {
            let request = request(&t.identity, None, String::new());
            black_box(
                read_keys::handle(Arc::clone(&t.state), Route::ListApiKeys, request)
                    .await
                    .map(|r| r.status)
                    .ok(),
            )
        })
    });
    let cheap = KeyHasher::new(64, 1, 1).expect("valid");
    group.bench_function("delete", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (state, identity) = (Arc::clone(&t.state), t.identity.clone());
            let (application, arx, cheap) = (t.application.clone(), t.arx.clone(), cheap.clone());
            async move {
                // Make the keys to delete first, untimed.
                let mut ids = Vec::new();
                for _ in 0..iters {
                    let key = key_record(&identity, &application, &arx, &cheap);
                    let audit = AuditEvent::new(
                        identity.tenant.clone(),
                        Actor::User(identity.user.clone()),
                        AuditAction::ApiKeyCreated,
                        key.id.as_str(),
                        Timestamp::now(),
                    );
                    state
                        .store
                        .create_api_key(&key, &audit)
                        .await
                        .expect("created");
                    ids.push(key.id);
                }
                let started = Instant::now();
                for id in ids {
                    let body = format!(r#"{{"confirm":"{id}"}}"#);
                    let request = request(&identity, Some(id.to_string()), body);
                    let response =
                        change_keys::handle(Arc::clone(&state), Route::DeleteApiKey, request).await;
                    assert_eq!(response.map(|r| r.status).ok(), Some(204));
                }
                started.elapsed()
            }
        })
    });
    group.finish();
}

/// Verify on the embedded store: garbage (no read, no hash), a warm verify
/// (the cached verdict), a warm verify of a limited key (its charge is a
/// write transaction every time), a cold one (lookup, argon2id beside the catalog
/// reads), and argon2id alone, which a cold verify should barely exceed.
fn verification(c: &mut Criterion) {
    let rt = runtime();
    let t = rt.block_on(tenant(100));
    let body = format!(
        r#"{{"application_id":"{}","arx_id":"{}"}}"#,
        t.application.id, t.arx.id
    );
    let created = rt
        .block_on(issue_keys::handle(
            Arc::clone(&t.state),
            Route::CreateApiKey,
            request(&t.identity, None, body),
        ))
        .expect("created");
    let created: serde_json::Value = serde_json::from_slice(&created.body).expect("JSON");
    let key = created["access_key"].as_str().expect("a key").to_owned();
    // A key with credits enough for any run: every verify is one charge.
    let body = format!(
        r#"{{"application_id":"{}","arx_id":"{}","limits":{{"credits":{{"remaining":1000000000}}}}}}"#,
        t.application.id, t.arx.id
    );
    let limited = rt
        .block_on(issue_keys::handle(
            Arc::clone(&t.state),
            Route::CreateApiKey,
            request(&t.identity, None, body),
        ))
        .expect("created");
    let limited: serde_json::Value = serde_json::from_slice(&limited.body).expect("JSON");
    let limited = limited["access_key"].as_str().expect("a key").to_owned();
    let tenant = t.identity.tenant.clone();
    let check = |raw: &str| {
        let (state, tenant, raw) = (Arc::clone(&t.state), tenant.clone(), raw.to_owned());
        async move {
            let verdict = state
                .verifier
                .verify(&state.store, Some(&tenant), &raw, &verify::Ask::ONE)
                .await
                .expect("answered");
            black_box(verdict.valid)
        }
    };

    let mut group = c.benchmark_group("verify, embedded store");
    group.bench_function("garbage (refused unread)", |b| {
        b.to_async(&rt).iter(|| check("akm_0123_not-a-key"))
    });
    group.bench_function("warm (cached verdict)", |b| {
        rt.block_on(check(&key));
        b.to_async(&rt).iter(|| check(&key))
    });
    group.bench_function(
        "warm, a key with credits (the verdict cached, a charge written)",
        |b| {
            rt.block_on(check(&limited));
            b.to_async(&rt).iter(|| check(&limited))
        },
    );
    group.sample_size(20);
    group.bench_function("cold (lookup, argon2id, catalog reads)", |b| {
        b.to_async(&rt).iter(|| {
            t.state.verifier.verdicts.clear();
            check(&key)
        })
    });
    let presented = domain::PresentedKey::parse(&key, &KeyPrefix::default()).expect("ours");
    let hash = rt
        .block_on(t.state.store.lookup_api_key(presented.id()))
        .expect("read")
        .expect("present")
        .secret_hash;
    group.bench_function("argon2id verify alone", |b| {
        let hasher = domain::KeyHasher::default();
        b.iter(|| black_box(hasher.verify(&presented, &hash)))
    });
    group.finish();
}

/// The same comparison on the DynamoDB test server, when `DYNAMODB_ENDPOINT`
/// names one (`BENCH_DYNAMODB_LARGE_TENANT`, default 400: moto slows down as a
/// table grows, so this stays small).
fn scale_dynamodb(c: &mut Criterion) {
    let Ok(endpoint) = std::env::var("DYNAMODB_ENDPOINT") else {
        eprintln!("DYNAMODB_ENDPOINT is not set: the DynamoDB scale bench does not run");
        return;
    };
    let rt = runtime();
    let large = std::env::var("BENCH_DYNAMODB_LARGE_TENANT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let mut group = c.benchmark_group("dashboard page of 25 on the DynamoDB test server");
    group.sample_size(20);
    for keys in [25, large] {
        let table = format!("bench-{keys}-{}", std::process::id());
        let store = DynamoStore::local(&endpoint, table);
        rt.block_on(store.create_table_if_missing())
            .expect("a table");
        let t = rt.block_on(tenant_on(
            store,
            keys,
            tempfile::tempdir().expect("a folder"),
        ));
        group.bench_function(format!("{keys} keys"), |b| {
            b.to_async(&rt).iter(|| async {
                let request = request(&t.identity, None, String::new());
                black_box(
                    read_keys::handle(Arc::clone(&t.state), Route::ListApiKeys, request)
                        .await
                        .map(|r| r.status)
                        .ok(),
                )
            })
        });
    }
    group.finish();
}

fn scale(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("dashboard page of 25 by keys in the tenant");
    // BENCH_LARGE_TENANT=100000 for the larger comparison (seeding takes minutes).
    let large = std::env::var("BENCH_LARGE_TENANT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    for keys in [100, large] {
        let t = rt.block_on(tenant(keys));
        group.bench_function(format!("{keys} keys"), |b| {
            b.to_async(&rt).iter(|| async {
                let request = request(&t.identity, None, String::new());
                black_box(
                    read_keys::handle(Arc::clone(&t.state), Route::ListApiKeys, request)
                        .await
                        .map(|r| r.status)
                        .ok(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, handlers, verification, scale, scale_dynamodb);
criterion_main!(benches);
