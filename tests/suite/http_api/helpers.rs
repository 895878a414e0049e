//! `TestApp`: the dev server started in-process on a free port, an HTTP client,
//! and tokens of every kind (good, forged, expired, ...).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use api::ServiceConfig;
use auth::{AuthConfig, SigningKeys};
use base64::Engine;
use bytes::Bytes;
use dev_server::{
    Backend, ConsoleConfig, DemoCatalog, JobOptions, LeakConfig, Limits, Options, Running,
};
use domain::{KeyPrefix, Role};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Declares each named `async fn(&TestApp)` as a test on the embedded store
/// and one on the local DynamoDB server (`jobs = <JobOptions>;` first to set
/// the sweep's timer and policy).
macro_rules! on_both_stores {
    (jobs = $jobs:expr; $($test:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let app = $crate::http_api::helpers::TestApp::embedded_with($jobs).await;
                    super::$test(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let app = $crate::http_api::helpers::TestApp::dynamodb_with($jobs).await;
                    super::$test(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
    ($($test:ident),* $(,)?) => {
        $crate::http_api::helpers::on_both_stores!(
            jobs = dev_server::JobOptions::default(); $($test),*
        );
    };
}
pub(crate) use on_both_stores;

pub const SECRET: &str = "a-test-secret-that-is-at-least-32-bytes";
pub const ISSUER: &str = "test-issuer";
pub const AUDIENCE: &str = "test-audience";
/// The stand-in for `console/dist/index.html` each test server serves.
pub const CONSOLE_PAGE: &str = "<!doctype html><title>API Keys manager</title>";

pub struct TestApp {
    pub base: String,
    pub demo: DemoCatalog,
    backend: Backend,
    table: String,
    running: Option<Running>,
    _dir: tempfile::TempDir,
    client: Client<HttpConnector, Full<Bytes>>,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub text: String,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The problem's `field`, for 4xx answers about one field.
    pub fn field(&self) -> Option<String> {
        self.json()["field"].as_str().map(str::to_owned)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn auth_config() -> AuthConfig {
    AuthConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        keys: SigningKeys::Hs256 {
            secret: SECRET.to_owned().into(),
        },
        tenant_claim: "custom:tenant_id".into(),
        role_claim: "custom:role".into(),
        max_token_lifetime: AuthConfig::DEFAULT_MAX_TOKEN_LIFETIME,
    }
}

impl TestApp {
    /// On the embedded store, in a temporary folder.
    pub async fn embedded() -> Self {
        Self::embedded_with(JobOptions::default()).await
    }

    /// On the embedded store, with the sweep's timer and retention given.
    pub async fn embedded_with(jobs: JobOptions) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let backend = Backend::Embedded {
            data_dir: dir.path().to_owned(),
        };
        Self::start(backend, "unused", dir, jobs, "127.0.0.1:0").await
    }

    /// On the embedded store, listening on `addr` (`0.0.0.0:0`: every
    /// interface); the client still connects through 127.0.0.1.
    pub async fn embedded_listening_on(addr: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let backend = Backend::Embedded {
            data_dir: dir.path().to_owned(),
        };
        Self::start(backend, "unused", dir, JobOptions::default(), addr).await
    }

    /// On the local DynamoDB server that `tests/run.sh` starts, in a table of
    /// its own, with the sweep's timer and policy given.
    pub async fn dynamodb_with(jobs: JobOptions) -> Self {
        let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
            panic!(
                "DYNAMODB_ENDPOINT is not set: run `bash tests/run.sh`, which starts a local \
                 DynamoDB server, or start one (`moto_server -H 127.0.0.1 -p 8000`) and set it"
            )
        });
        let table = format!("api-{}", uuid::Uuid::now_v7().simple());
        let dir = tempfile::tempdir().expect("a temporary folder");
        Self::start(
            Backend::DynamoDb { endpoint },
            &table,
            dir,
            jobs,
            "127.0.0.1:0",
        )
        .await
    }

    /// On the embedded store whose data folder is `dir` (data made before,
    /// by this release or an earlier one), or the reason it would not start.
    pub async fn embedded_on(dir: tempfile::TempDir, jobs: JobOptions) -> Result<Self, String> {
        let backend = Backend::Embedded {
            data_dir: dir.path().to_owned(),
        };
        Self::try_start(backend, "unused", dir, jobs, "127.0.0.1:0").await
    }

    /// On the local DynamoDB server's table `table` (data made before), or
    /// the reason it would not start.
    pub async fn dynamodb_on(table: &str, jobs: JobOptions) -> Result<Self, String> {
        let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect(
            "DYNAMODB_ENDPOINT: run `bash tests/run.sh`, which starts the DynamoDB test server",
        );
        let dir = tempfile::tempdir().expect("a temporary folder");
        let backend = Backend::DynamoDb { endpoint };
        Self::try_start(backend, table, dir, jobs, "127.0.0.1:0").await
    }

    async fn start(
        backend: Backend,
        table: &str,
        dir: tempfile::TempDir,
        jobs: JobOptions,
        addr: &str,
    ) -> Self {
        Self::try_start(backend, table, dir, jobs, addr)
            .await
            .unwrap_or_else(|e| panic!("the dev server did not start: {e}"))
    }

    async fn try_start(
        backend: Backend,
        table: &str,
        dir: tempfile::TempDir,
        jobs: JobOptions,
        addr: &str,
    ) -> Result<Self, String> {
        capture_logs();
        let service = ServiceConfig {
            table_name: table.into(),
            dynamodb_endpoint: None,
            access_key_prefix: KeyPrefix::default(),
            feedback_topic_arn: None,
            arx_base_url: "https://arx.test".into(),
            verify_cache: ServiceConfig::DEFAULT_VERIFY_CACHE,
            expiry_notice: domain::NoticePeriod::default(),
            usage_flush: Some(verify::UsageCounter::DEFAULT_INTERVAL),
            leases: store::LeaseSettings::DEFAULT,
        };
        let console_dir = dir.path().join("console");
        std::fs::create_dir_all(console_dir.join("assets")).expect("a console folder");
        std::fs::write(console_dir.join("index.html"), CONSOLE_PAGE).expect("a console page");
        std::fs::write(console_dir.join("assets/app-0a1b2c.js"), "export {};\n").expect("a script");
        let options_backend = backend.clone();
        let options = Options {
            addr: addr.parse().expect("an address"),
            backend,
            auth: auth_config(),
            service,
            jobs,
            limits: Limits::default(),
            console_dir,
            console: ConsoleConfig {
                sign_in: None,
                api_url: None,
            },
            leaks: LeakConfig {
                keys_url: document_server(github_keys_document()).await.0,
                notifications_topic_arn: None,
            },
        };
        let running = dev_server::start(options)
            .await
            .map_err(|e| api::problem::chain(&e))?;
        let port = running.addr.port();
        Ok(Self {
            base: format!("http://127.0.0.1:{port}"),
            demo: running.demo.clone(),
            backend: options_backend,
            table: table.to_owned(),
            running: Some(running),
            _dir: dir,
            client: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
        })
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// Everything the store holds, as raw as it is kept: the embedded
    /// store's file byte for byte, or every item of the DynamoDB table (a
    /// Scan, as only a test may do), attribute by attribute.
    pub async fn raw_store(&self) -> String {
        match &self.backend {
            Backend::Embedded { data_dir } => {
                let bytes = std::fs::read(data_dir.join("api-keys.redb")).expect("the store file");
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Backend::DynamoDb { endpoint } => {
                let store = store::DynamoStore::local(endpoint, &self.table);
                let client = store.client();
                let mut dump = String::new();
                let mut start = None;
                loop {
                    let page = client
                        .scan()
                        .table_name(&self.table)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .expect("a scan of the test table");
                    for item in page.items() {
                        dump.push_str(&format!("{item:?}\n"));
                    }
                    match page.last_evaluated_key() {
                        Some(key) if !key.is_empty() => start = Some(key.clone()),
                        _ => return dump,
                    }
                }
            }
        }
    }

    /// A valid token of the demo tenant.
    pub fn token(&self, role: Role) -> String {
        token_with(claims(self.demo.tenant.as_str(), role.as_str()), SECRET)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> TestResponse {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
        self.send(request.body(body).expect("a request")).await
    }

    /// Sends a request built by the caller (its URI relative to [`Self::base`]
    /// or absolute) and reads the whole answer; a 5xx fails the test.
    pub async fn send(&self, mut request: hyper::Request<Full<Bytes>>) -> TestResponse {
        if request.uri().host().is_none() {
            let absolute = format!("{}{}", self.base, request.uri());
            *request.uri_mut() = absolute.parse().expect("an absolute URI");
        }
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let response = self
            .client
            .request(request)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
        if status >= 500 {
            // The server's own account of the failure (its log never holds a key).
            let logs = captured_logs();
            let failures: Vec<&str> = logs
                .lines()
                .filter(|line| line.contains("request failed"))
                .collect();
            let last = &failures[failures.len().saturating_sub(3)..];
            panic!("{method} {path} answered {status}: {text}\nserver log: {last:#?}");
        }
        TestResponse {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str, role: Role) -> TestResponse {
        self.call("GET", path, Some(&self.token(role)), None).await
    }

    pub async fn post(&self, path: &str, role: Role, body: &Value) -> TestResponse {
        self.call(
            "POST",
            path,
            Some(&self.token(role)),
            Some(&body.to_string()),
        )
        .await
    }

    /// `POST /v1/api-keys/{id}/<action>` with no body (`disable`, `enable`);
    /// the answer is the caller's to check.
    pub async fn key_action(&self, id: &str, action: &str, role: Role) -> TestResponse {
        self.post(&format!("/v1/api-keys/{id}/{action}"), role, &Value::Null)
            .await
    }

    /// Deletes a key the way a user does, typing its exact id; the answer is
    /// the caller's to check.
    pub async fn delete_key(&self, id: &str, role: Role) -> TestResponse {
        let confirm = json!({ "confirm": id }).to_string();
        let path = format!("/v1/api-keys/{id}");
        self.call("DELETE", &path, Some(&self.token(role)), Some(&confirm))
            .await
    }

    pub async fn create_key(&self, role: Role) -> Value {
        let body =
            json!({ "application_id": self.demo.application_id, "arx_id": self.demo.arx_id });
        let created = self.post("/v1/api-keys", role, &body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        created.json()
    }
}

/// Standard claims for the test issuer and audience, valid for an hour.
pub fn claims(tenant: &str, role: &str) -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": format!("user-of-{tenant}"),
        "iat": now, "nbf": now, "exp": now + 3600,
        "custom:tenant_id": tenant, "custom:role": role,
    })
}

pub fn token_with(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("a token")
}

/// A token with `alg: none` and no signature.
pub fn unsigned_token(claims: &Value) -> String {
    let b64 =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

/// Everything logged while the tests run (all tests share one process).
pub fn captured_logs() -> String {
    let buffer = capture_logs();
    let bytes = buffer.lock().unwrap_or_else(|e| e.into_inner()).clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = Arc::clone(&buffer);
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
                .with_ansi(false)
                .with_writer(move || CaptureWriter(Arc::clone(&writer)))
                .finish();
            let _ = tracing::subscriber::set_global_default(subscriber);
            buffer
        })
        .clone()
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The handlers' state on `store` with the demo catalog, as a Lambda function
/// would hold it (no HTTP server).
pub async fn state_on<S: api::handlers::ApiStore>(
    store: S,
) -> (std::sync::Arc<api::AppState<S>>, dev_server::DemoCatalog) {
    let demo = dev_server::seed::demo_tenant(&store, "https://arx.test")
        .await
        .expect("seeded");
    let config = api::ServiceConfig {
        table_name: "unused".into(),
        dynamodb_endpoint: None,
        access_key_prefix: KeyPrefix::default(),
        feedback_topic_arn: None,
        arx_base_url: "https://arx.test".into(),
        verify_cache: ServiceConfig::DEFAULT_VERIFY_CACHE,
        expiry_notice: domain::NoticePeriod::default(),
        usage_flush: Some(verify::UsageCounter::DEFAULT_INTERVAL),
        leases: store::LeaseSettings::DEFAULT,
    };
    (
        std::sync::Arc::new(api::AppState::new(store, &config)),
        demo,
    )
}

/// The same on a fresh embedded store (removed when the folder guard drops).
pub async fn embedded_state() -> (
    std::sync::Arc<api::AppState<store::EmbeddedStore>>,
    dev_server::DemoCatalog,
    tempfile::TempDir,
) {
    let (store, dir) = crate::store_contract::backends::embedded();
    let (state, demo) = state_on(store).await;
    (state, demo, dir)
}

/// Creates a key of the demo catalog through the handlers (as a developer)
/// and returns the create answer: `{api_key, access_key, arx_url}`.
pub async fn create_key_in<S: api::handlers::ApiStore>(
    state: &std::sync::Arc<api::AppState<S>>,
    demo: &dev_server::DemoCatalog,
) -> Value {
    create_key_in_with(state, demo, json!({})).await
}

/// The same, with more fields in the create body (`{"limits": …}`).
pub async fn create_key_in_with<S: api::handlers::ApiStore>(
    state: &std::sync::Arc<api::AppState<S>>,
    demo: &dev_server::DemoCatalog,
    more: Value,
) -> Value {
    let mut body = json!({"application_id": demo.application_id, "arx_id": demo.arx_id});
    if let (Some(body), Some(more)) = (body.as_object_mut(), more.as_object()) {
        body.extend(more.clone());
    }
    let created = api::dispatch(
        std::sync::Arc::clone(state),
        api::Route::CreateApiKey,
        api::ApiRequest {
            identity: api::Identity {
                tenant: demo.tenant.clone(),
                user: domain::UserId::parse("dev-1").expect("valid"),
                role: Role::Developer,
            },
            id: None,
            query: vec![],
            body: body.to_string().into(),
            idempotency_key: None,
            media: Default::default(),
        },
    )
    .await;
    assert_eq!(created.status, 201);
    serde_json::from_slice(&created.body).expect("JSON")
}

/// Serves `document` (replaceable) at a URL of a free port, counting fetches:
/// a stand-in for a published keys document (a JWKS, GitHub's keys).
pub(crate) async fn document_server(
    document: String,
) -> (
    String,
    Arc<std::sync::atomic::AtomicUsize>,
    Arc<std::sync::RwLock<String>>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!(
        "http://{}/keys.json",
        listener.local_addr().expect("an address")
    );
    let fetches = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(std::sync::RwLock::new(document));
    let (counter, document) = (Arc::clone(&fetches), Arc::clone(&served));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (counter, document) = (Arc::clone(&counter), Arc::clone(&document));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body = document.read().expect("not poisoned").clone();
                    async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from(body),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, fetches, served)
}

/// The P-256 key this test process signs secret scanning reports with, as
/// GitHub would: generated once, published by every `TestApp` as
/// [`GITHUB_KEY_ID`] in a keys document of GitHub's shape.
pub(crate) fn github_signing_key() -> &'static aws_lc_rs::signature::EcdsaKeyPair {
    static KEY: OnceLock<aws_lc_rs::signature::EcdsaKeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        )
        .expect("a P-256 key pair")
    })
}

pub(crate) const GITHUB_KEY_ID: &str = "test-secret-scanning-key";

/// GitHub's keys document, with the test key as PEM.
pub(crate) fn github_keys_document() -> String {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;
    let der = github_signing_key()
        .public_key()
        .as_der()
        .expect("a SubjectPublicKeyInfo");
    let base64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = base64
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    json!({"public_keys": [{"key_identifier": GITHUB_KEY_ID, "key": pem, "is_current": true}]})
        .to_string()
}

/// The `Github-Public-Key-Signature` of `body` by the test key.
pub(crate) fn github_signature(body: &[u8]) -> String {
    let signature = github_signing_key()
        .sign(&aws_lc_rs::rand::SystemRandom::new(), body)
        .expect("signed");
    base64::engine::general_purpose::STANDARD.encode(signature.as_ref())
}
