//! Any body, on any route, through the very handlers the Lambdas run (on an
//! embedded store): never a panic, never a 5xx.
#![no_main]

use std::sync::{Arc, OnceLock};

use api::{ApiRequest, AppState, Identity, Route, ServiceConfig};
use domain::{KeyPrefix, Role, TenantId, UserId};
use libfuzzer_sys::fuzz_target;
use store::EmbeddedStore;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    state: Arc<AppState<EmbeddedStore>>,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a folder");
        let store = EmbeddedStore::open(dir.path().join("fuzz.redb")).expect("a store");
        let config = ServiceConfig {
            table_name: "fuzz".into(),
            dynamodb_endpoint: None,
            access_key_prefix: KeyPrefix::default(),
            feedback_topic_arn: None,
            arx_base_url: "https://arx.example.com".into(),
            verify_cache: ServiceConfig::DEFAULT_VERIFY_CACHE,
            expiry_notice: domain::NoticePeriod::default(),
            // No timer runs here to write usage counts: count nothing.
            usage_flush: None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        Fixture { runtime, state: Arc::new(AppState::new(store, &config)), _dir: dir }
    })
}

fuzz_target!(|input: (u8, &[u8])| {
    let (which, body) = input;
    let route = Route::ALL[usize::from(which) % Route::ALL.len()];
    let fixture = fixture();
    let request = ApiRequest {
        identity: Identity {
            tenant: TenantId::parse("fuzz").expect("valid"),
            user: UserId::parse("fuzzer").expect("valid"),
            role: Role::PlatformOwner,
        },
        id: Some("apikey--0123456789abcdef0123456789abcdef".into()),
        query: vec![],
        body: bytes::Bytes::copy_from_slice(body),
    };
    let response = fixture.runtime.block_on(api::dispatch(Arc::clone(&fixture.state), route, request));
    assert!(response.status < 500, "{} answered {}", route.route_key(), response.status);
});
