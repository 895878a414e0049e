//! Every function's real binary, booted the way Lambda boots it: an emulated
//! Runtime API (`/2018-06-01/runtime/...`) serves the sample events in
//! `infra/events/` and takes the answers, and the process gets exactly the
//! environment `infra/template.yaml` gives that function (read from the
//! template, so the two cannot drift), plus what Lambda itself sets and the
//! local stand-ins for AWS (DynamoDB, SNS, the issuer's JWKS). It also
//! measures init time (process start to the first poll for an invocation)
//! and the peak memory once the events are answered (what `MemorySize`
//! in the template is sized from).
//!
//! The binaries are the debug builds `tests/run.sh` makes (`cargo build
//! --workspace --bins`); `LAMBDA_BIN_DIR=target/release` measures release ones
//! (`docs/benchmarks.md`).

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::Route;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use serde_norway::Value as Yaml;

/// What the emulated Runtime API has seen.
#[derive(Default)]
struct Runtime {
    events: VecDeque<(String, Value)>,
    answers: BTreeMap<String, Value>,
    errors: BTreeMap<String, Value>,
    init_error: Option<Value>,
    first_poll: Option<Instant>,
}

type Shared = Arc<Mutex<Runtime>>;

/// Serves the Runtime API on a free port. `next` hands out the queued events
/// one by one, then holds the poll open (as Lambda does between invocations).
/// The trace header each invocation gets: sampled, as with `Tracing: Active`.
const TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

async fn runtime_api(events: Vec<Value>) -> (String, Shared) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address").to_string();
    let runtime = Shared::default();
    runtime.lock().expect("not poisoned").events = events
        .into_iter()
        .enumerate()
        .map(|(n, event)| (format!("request-{n}"), event))
        .collect();
    let shared = Arc::clone(&runtime);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let shared = Arc::clone(&shared);
                    async move { Ok::<_, Infallible>(serve(request, &shared).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (address, runtime)
}

async fn serve(
    request: hyper::Request<hyper::body::Incoming>,
    runtime: &Shared,
) -> hyper::Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let json = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let ok = |status: u16| {
        hyper::Response::builder()
            .status(status)
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("a response")
    };
    let rest = path
        .strip_prefix("/2018-06-01/runtime/")
        .unwrap_or_default();
    // Lambda's Extensions API: an internal extension registers, then waits
    // on its next event (none: it subscribed to nothing).
    if path == "/2020-01-01/extension/register" {
        return hyper::Response::builder()
            .status(200)
            .header("lambda-extension-identifier", "boot-test-extension")
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("a response");
    }
    if path == "/2020-01-01/extension/event/next" {
        std::future::pending::<()>().await;
        unreachable!("a pending future never ends");
    }
    if rest == "invocation/next" {
        runtime
            .lock()
            .expect("not poisoned")
            .first_poll
            .get_or_insert_with(Instant::now);
        // Held open until an event is queued, as Lambda holds it between
        // invocations (a test may queue the next one later).
        let (id, event) = loop {
            if let Some(next) = runtime.lock().expect("not poisoned").events.pop_front() {
                break next;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis()
            + 30_000;
        return hyper::Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:boot-test",
            )
            .header("lambda-runtime-trace-id", TRACE_HEADER)
            .body(Full::new(Bytes::from(event.to_string())))
            .expect("a response");
    }
    let mut runtime = runtime.lock().expect("not poisoned");
    if rest == "init/error" {
        runtime.init_error = Some(json());
        return ok(202);
    }
    if let Some(id) = rest
        .strip_prefix("invocation/")
        .and_then(|rest| rest.strip_suffix("/response"))
    {
        runtime.answers.insert(id.to_owned(), json());
        return ok(202);
    }
    if let Some(id) = rest
        .strip_prefix("invocation/")
        .and_then(|rest| rest.strip_suffix("/error"))
    {
        runtime.errors.insert(id.to_owned(), json());
        return ok(202);
    }
    ok(404)
}

/// Starts `binary` with `environment` alone, its Runtime API at `address`.
fn spawn(
    binary: &str,
    mut environment: BTreeMap<String, String>,
    address: String,
    stdout: Stdio,
) -> tokio::process::Child {
    environment.insert("AWS_LAMBDA_RUNTIME_API".into(), address);
    tokio::process::Command::new(binary_path(binary))
        .env_clear()
        .envs(&environment)
        .stdout(stdout)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{binary} did not start: {e}"))
}

/// Sends `signal` (`STOP`, `CONT`, `TERM`) to a process.
fn signal(pid: u32, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -{signal} {pid} failed");
}

/// Boots `binary` as Lambda runs an instance: each event is handed out only
/// after the previous answer, and between invocations the process is frozen
/// (SIGSTOP) for `frozen`, then thawed (SIGCONT); at the end it gets the
/// SIGTERM Lambda sends before retiring an instance. Returns the answers,
/// in order, and whether the process ended cleanly within 2 s of it.
pub(crate) async fn boot_frozen(
    binary: &str,
    environment: BTreeMap<String, String>,
    events: Vec<Value>,
    frozen: Duration,
) -> (Vec<Option<Value>>, bool) {
    let (address, runtime) = runtime_api(vec![]).await;
    let mut child = spawn(binary, environment, address, Stdio::null());
    let pid = child.id().expect("a running process");
    let count = events.len();
    for (n, event) in events.into_iter().enumerate() {
        runtime
            .lock()
            .expect("not poisoned")
            .events
            .push_back((format!("request-{n}"), event));
        let until = Instant::now() + Duration::from_secs(30);
        while runtime.lock().expect("not poisoned").answers.len() <= n {
            assert!(Instant::now() < until, "{binary} never answered event {n}");
            assert!(
                !matches!(child.try_wait(), Ok(Some(_))),
                "{binary} ended before answering event {n}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Lambda freezes the instance once the answer is in.
        signal(pid, "STOP");
        tokio::time::sleep(frozen).await;
        signal(pid, "CONT");
    }
    signal(pid, "TERM");
    let ended = tokio::time::timeout(Duration::from_secs(2), child.wait())
        .await
        .ok()
        .and_then(Result::ok)
        .is_some_and(|status| status.success());
    let runtime = runtime.lock().expect("not poisoned");
    let answers = (0..count)
        .map(|n| runtime.answers.get(&format!("request-{n}")).cloned())
        .collect();
    (answers, ended)
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn template() -> Yaml {
    let text = std::fs::read_to_string(workspace().join("infra/template.yaml")).expect("template");
    serde_norway::from_str(&text).expect("YAML")
}

/// A template value as the deployed function would see it: parameters at
/// their defaults, this stack's resources with values of their real shape, and
/// the Cognito branch of each `!If`.
fn resolve(template: &Yaml, value: &Yaml) -> String {
    match value {
        Yaml::String(text) => text.clone(),
        Yaml::Number(number) => number.to_string(),
        Yaml::Bool(flag) => flag.to_string(),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let inner = &tagged.value;
            match tag.trim_start_matches('!') {
                "Ref" => reference(template, inner.as_str().expect("a name")),
                "Sub" => {
                    let mut text = inner.as_str().expect("a string").to_owned();
                    while let Some(start) = text.find("${") {
                        let end = start + text[start..].find('}').expect("a closing brace");
                        let name = text[start + 2..end].to_owned();
                        text.replace_range(start..=end, &reference(template, &name));
                    }
                    text
                }
                "If" => {
                    let branches = inner.as_sequence().expect("[condition, then, else]");
                    resolve(template, &branches[1])
                }
                other => panic!("the harness does not resolve !{other}"),
            }
        }
        other => panic!("unexpected template value {other:?}"),
    }
}

fn reference(template: &Yaml, name: &str) -> String {
    let value = match name {
        "AWS::Region" => "us-east-1",
        "AWS::URLSuffix" => "amazonaws.com",
        "AWS::AccountId" => "123456789012",
        "Table" => "api-keys-manager-Table-1ABCDEFGHIJK",
        "UserPool" => "us-east-1_AbCdEfGhI",
        "UserPoolClient" => "1example23456789abcdefghij",
        "UserPoolDomain" => "akm-0123abcd",
        "HttpApi" => "a1b2c3d4e5",
        "FeedbackTopic" => "arn:aws:sns:us-east-1:123456789012:api-keys-manager-FeedbackTopic",
        "NotificationsTopic" => {
            "arn:aws:sns:us-east-1:123456789012:api-keys-manager-NotificationsTopic"
        }
        _ => {
            let default = &template["Parameters"][name]["Default"];
            assert!(!default.is_null(), "the harness has no value for {name}");
            return resolve(template, default);
        }
    };
    value.to_owned()
}

/// The template's function that builds `binary`.
pub(crate) fn function_resource<'a>(template: &'a Yaml, binary: &str) -> &'a Yaml {
    let resources = template["Resources"].as_mapping().expect("Resources");
    resources
        .values()
        .find(|resource| resource["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("no function builds {binary}"))
}

/// The environment the template gives a function, by its binary's name.
fn template_environment(template: &Yaml, binary: &str) -> BTreeMap<String, String> {
    let function = function_resource(template, binary);
    // SAM gives every function the Globals' variables, its own winning.
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    let own = &function["Properties"]["Environment"]["Variables"];
    [globals, own]
        .into_iter()
        .filter_map(Yaml::as_mapping)
        .flat_map(|mapping| {
            mapping.iter().map(|(name, value)| {
                (
                    name.as_str().expect("a name").to_owned(),
                    resolve(template, value),
                )
            })
        })
        .collect()
}

/// The local stand-ins every run shares.
pub(crate) struct StandIns {
    pub(crate) dynamodb: String,
    pub(crate) table: String,
    sns: String,
    jwks: String,
    github_keys: String,
}

impl StandIns {
    pub(crate) async fn start() -> Self {
        let dynamodb = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
            panic!("DYNAMODB_ENDPOINT is not set: run `bash tests/run.sh`, which starts the DynamoDB test server")
        });
        let table = format!("boot-{}", uuid::Uuid::now_v7().simple());
        store::DynamoStore::local(&dynamodb, table.clone())
            .create_table_if_missing()
            .await
            .expect("a table");
        let (sns, _) = crate::notifications::sns_stand_in(false).await;
        let (jwks, _, _) = crate::http_api::jwks::switchable_jwks_server().await;
        let document = crate::http_api::helpers::github_keys_document();
        let (github_keys, _, _) = crate::http_api::helpers::document_server(document).await;
        Self {
            dynamodb,
            table,
            sns,
            jwks,
            github_keys,
        }
    }

    /// Everything a function's process gets: what Lambda sets, the template's
    /// variables for it, and the stand-ins where the stack's resources are.
    pub(crate) fn function_environment(
        &self,
        template: &Yaml,
        binary: &str,
    ) -> BTreeMap<String, String> {
        let mut environment = self.lambda_environment("", binary);
        environment.extend(template_environment(template, binary));
        environment.insert("TABLE_NAME".into(), self.table.clone());
        if environment.contains_key("JWKS_URL") {
            environment.insert("JWKS_URL".into(), self.jwks.clone());
        }
        if environment.contains_key("SECRET_SCANNING_KEYS_URL") {
            environment.insert("SECRET_SCANNING_KEYS_URL".into(), self.github_keys.clone());
        }
        environment
    }

    /// What Lambda sets for every function, the credentials of its role, and
    /// the stand-ins in place of AWS's endpoints.
    fn lambda_environment(&self, runtime_api: &str, binary: &str) -> BTreeMap<String, String> {
        [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api),
            ("AWS_LAMBDA_FUNCTION_NAME", binary),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/boot-test"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "boot-test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "boot-test"),
            ("AWS_SECRET_ACCESS_KEY", "boot-test"),
            ("AWS_SESSION_TOKEN", "boot-test"),
            ("DYNAMODB_ENDPOINT", self.dynamodb.as_str()),
            ("AWS_ENDPOINT_URL_SNS", self.sns.as_str()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }
}

/// One boot of a function: its init time, its answers in event order, and
/// what it reported as errors.
pub(crate) struct Boot {
    /// What the function wrote to stdout, line by line.
    pub(crate) stdout: Vec<String>,
    init: Option<Duration>,
    /// The process's peak resident memory (`VmHWM`) once it answered, in kB.
    peak_kb: Option<u64>,
    pub(crate) answers: Vec<Option<Value>>,
    pub(crate) errors: usize,
    pub(crate) init_error: Option<Value>,
}

fn binary_path(binary: &str) -> PathBuf {
    let folder = std::env::var("LAMBDA_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("target/debug"));
    let path = folder.join(binary);
    assert!(
        path.exists(),
        "no {} binary at {}: build the functions with `cargo build --workspace --bins` \
         (tests/run.sh does)",
        binary,
        path.display()
    );
    path
}

pub(crate) async fn boot(
    binary: &str,
    environment: BTreeMap<String, String>,
    events: Vec<Value>,
) -> Boot {
    let count = events.len();
    let (address, runtime) = runtime_api(events).await;
    let started = Instant::now();
    // What the function writes to stdout: its EMF lines, for CloudWatch.
    let stdout = tempfile::NamedTempFile::new().expect("a file for stdout");
    let to_file = stdout.reopen().expect("the file, again");
    let mut child = spawn(binary, environment, address, Stdio::from(to_file));
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let done = {
            let runtime = runtime.lock().expect("not poisoned");
            runtime.init_error.is_some() || runtime.answers.len() + runtime.errors.len() == count
        };
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if done || exited || Instant::now() > until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let peak_kb = child.id().and_then(peak_memory_kb);
    let _ = child.kill().await;
    let runtime = runtime.lock().expect("not poisoned");
    let stdout = std::fs::read_to_string(stdout.path()).unwrap_or_default();
    Boot {
        stdout: stdout.lines().map(str::to_owned).collect(),
        init: runtime.first_poll.map(|at| at.duration_since(started)),
        peak_kb,
        answers: (0..count)
            .map(|n| runtime.answers.get(&format!("request-{n}")).cloned())
            .collect(),
        errors: runtime.errors.len(),
        init_error: runtime.init_error.clone(),
    }
}

/// A running process's peak resident memory, from `/proc` (Linux).
fn peak_memory_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Which function takes a sample event, by its file name and route.
fn function_of(name: &str, event: &Value) -> String {
    match name {
        "authorizer.json" => "authorizer".into(),
        "console.json" => "console".into(),
        "schedule.json" => "cleanup".into(),
        "leak-report.json" => api::leak_reports::FUNCTION.into(),
        _ if name.starts_with("stream-") => "cleanup".into(),
        _ if name.starts_with("key-authorizer-") => "key-authorizer".into(),
        _ => {
            let route_key = event["routeKey"].as_str().expect("a routeKey");
            Route::from_route_key(route_key)
                .unwrap_or_else(|| panic!("{name}: no route {route_key}"))
                .function()
                .to_owned()
        }
    }
}

/// The sample events by function, in file order; the authorizer's carries a
/// real token for the stack's issuer, signed with the stand-in JWKS's key.
pub(crate) fn sample_events(template: &Yaml) -> BTreeMap<String, Vec<(String, Value)>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(workspace().join("infra/events"))
        .expect("infra/events")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    names.sort();
    let mut by_function: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for path in names {
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("an event")).expect("JSON");
        if name == "authorizer.json" {
            let issuer = template_environment(template, "authorizer");
            let mut claims = crate::http_api::helpers::claims("demo", "developer");
            claims["iss"] = json!(issuer["JWT_ISSUER"]);
            claims["aud"] = json!(issuer["JWT_AUDIENCE"]);
            let token = crate::http_api::jwks::rs256_token("test-key-1", &claims);
            let bearer = format!("Bearer {token}");
            event["headers"]["authorization"] = json!(bearer);
            event["identitySource"][0] = json!(bearer);
        }
        by_function
            .entry(function_of(&name, &event))
            .or_default()
            .push((name, event));
    }
    by_function
}

/// What a correct answer to each sample event looks like: an API Gateway
/// status, or the authorizers' decision, or the cleanup jobs' report.
fn check(name: &str, answer: &Value) {
    let status = answer["statusCode"].as_u64();
    let expected_status = match name {
        "create-application.json"
        | "create-arx.json"
        | "create-service-key.json"
        | "create-identity.json"
        | "create-role.json"
        | "create-ratelimit-namespace.json"
        | "submit-feedback.json" => Some(201),
        "list-api-keys.json"
        | "list-applications.json"
        | "list-arx.json"
        | "list-audit-events.json"
        | "list-service-keys.json"
        | "list-identities.json"
        | "list-roles.json"
        | "list-ratelimit-namespaces.json"
        | "get-tenant-usage.json"
        | "console.json"
        | "verify-key.json" => Some(200),
        // The events name objects of a demo tenant this fresh table lacks.
        "get-api-key.json"
        | "get-api-key-usage.json"
        | "get-application.json"
        | "get-arx.json"
        | "delete-api-key.json"
        | "disable-api-key.json"
        | "enable-api-key.json"
        | "update-api-key.json"
        | "rotate-api-key.json"
        | "archive-application.json"
        | "update-application.json"
        | "update-arx.json"
        | "disable-arx.json"
        | "enable-arx.json"
        | "delete-arx.json"
        | "revoke-service-key.json"
        | "get-identity.json"
        | "get-identity-usage.json"
        | "update-identity.json"
        | "delete-identity.json"
        | "get-role.json"
        | "update-role.json"
        | "delete-role.json"
        | "get-ratelimit-namespace.json"
        | "update-ratelimit-namespace.json"
        | "delete-ratelimit-namespace.json"
        | "list-ratelimit-overrides.json"
        | "set-ratelimit-override.json"
        | "remove-ratelimit-override.json"
        | "get-ratelimit-namespace-usage.json" => Some(404),
        // The events' namespace is not there yet: create-ratelimit-namespace.json
        // makes it, and functions boot in the order of their names.
        "create-api-key.json"
        | "import-api-keys.json"
        | "ratelimit.json"
        | "ratelimit-many.json" => Some(422),
        // Signed by a key GitHub publishes, not the stand-in's (fetched, unknown).
        "leak-report.json" => Some(401),
        _ => None,
    };
    if let Some(expected) = expected_status {
        assert_eq!(status, Some(expected), "{name}: {answer}");
        return;
    }
    match name {
        "authorizer.json" => assert_eq!(answer["isAuthorized"], true, "{name}: {answer}"),
        "key-authorizer-http.json" => {
            assert_eq!(
                answer["isAuthorized"], false,
                "{name}: a made-up key: {answer}"
            );
        }
        "key-authorizer-rest.json" => {
            let effect = &answer["policyDocument"]["Statement"][0]["Effect"];
            assert_eq!(effect, "Deny", "{name}: a made-up key: {answer}");
        }
        "schedule.json" => assert_eq!(answer["cut_short"], false, "{name}: {answer}"),
        "stream-application-archived.json" => {
            assert_eq!(answer, &json!({"batchItemFailures": []}), "{name}");
        }
        other => panic!("no expectation for the sample event {other}"),
    }
}

/// The metrics each function's sample events must give (at least).
fn expected_metrics(binary: &str) -> &'static [&'static str] {
    match binary {
        "authorizer" => &["Authorizations"],
        // Their sample keys are made up: refused on shape, no lookup timed.
        "key-authorizer" => &["Verifies"],
        "cleanup" => &["JobRuns"],
        "verify-key" => &["Requests", "Responses", "Verifies"],
        _ => &["Requests", "Responses"],
    }
}

/// Every line of `stdout` that is JSON is an EMF document as the
/// specification requires (`_aws.Timestamp` a number; `CloudWatchMetrics`
/// directives, each with a `Namespace`, `Dimensions` as arrays of names each
/// at the root as a string, and `Metrics` whose names are at the root as a
/// number or an array of numbers), and together they carry `binary`'s
/// expected metrics under our namespace with its `Function` dimension.
fn check_emf(binary: &str, stdout: &[String]) {
    let mut seen = std::collections::BTreeSet::new();
    for line in stdout {
        // The log's own JSON lines are on stdout too: EMF's have `_aws`.
        let Some(document) = serde_json::from_str::<Value>(line)
            .ok()
            .filter(|document| document.get("_aws").is_some())
        else {
            continue;
        };
        let aws = &document["_aws"];
        assert!(aws["Timestamp"].is_u64(), "{binary}: no Timestamp: {line}");
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .expect("CloudWatchMetrics");
        assert!(!directives.is_empty(), "{binary}: {line}");
        assert_eq!(document["Function"], binary, "{binary}: {line}");
        for directive in directives {
            assert_eq!(directive["Namespace"], "ApiKeysManager", "{line}");
            for set in directive["Dimensions"].as_array().expect("Dimensions") {
                let set = set.as_array().expect("a dimension set");
                assert!(set.len() <= 30, "{line}");
                for name in set {
                    let name = name.as_str().expect("a dimension name");
                    assert!(
                        document[name].is_string(),
                        "{binary}: {name} not at the root: {line}"
                    );
                }
            }
            for metric in directive["Metrics"].as_array().expect("Metrics") {
                let name = metric["Name"].as_str().expect("a metric name");
                let value = &document[name];
                let numeric = value.is_number()
                    || value.as_array().is_some_and(|values| {
                        !values.is_empty()
                            && values.len() <= 100
                            && values.iter().all(Value::is_number)
                    });
                assert!(numeric, "{binary}: {name} has no value: {line}");
                let unit = metric["Unit"].as_str().unwrap_or("None");
                assert!(
                    ["Count", "Milliseconds", "Seconds", "None"].contains(&unit),
                    "{line}"
                );
                seen.insert(name.to_owned());
            }
        }
    }
    for expected in expected_metrics(binary) {
        assert!(
            seen.contains(*expected),
            "{binary} wrote no {expected} (it wrote {seen:?})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_boots_from_the_templates_environment_and_answers_its_events() {
    let template = template();
    let stand_ins = StandIns::start().await;
    let events = sample_events(&template);
    let mut init_times = Vec::new();
    for (binary, events) in &events {
        let environment = stand_ins.function_environment(&template, binary);
        let payloads = events.iter().map(|(_, event)| event.clone()).collect();
        let run = boot(binary, environment, payloads).await;
        assert_eq!(run.init_error, None, "{binary} failed to start");
        assert_eq!(run.errors, 0, "{binary} reported invocation errors");
        for ((name, _), answer) in events.iter().zip(&run.answers) {
            let answer = answer
                .as_ref()
                .unwrap_or_else(|| panic!("{binary} never answered {name}"));
            check(name, answer);
        }
        check_emf(binary, &run.stdout);
        init_times.push((binary.clone(), run.init.expect("it polled"), run.peak_kb));
    }
    let functions: Vec<&String> = events.keys().collect();
    assert_eq!(
        functions.len(),
        18,
        "every function has a sample event: {functions:?}"
    );
    // Init times and peak memory go to the test's output; docs/benchmarks.md
    // keeps release figures (LAMBDA_BIN_DIR=target/release).
    for (binary, init, peak_kb) in &init_times {
        let peak = peak_kb.map_or("?".to_owned(), |kb| format!("{:.1} MB", kb as f64 / 1024.0));
        println!(
            "init {binary}: {:.1} ms, peak memory {peak}",
            init.as_secs_f64() * 1000.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_missing_a_variable_reports_an_init_error() {
    let template = template();
    let stand_ins = StandIns::start().await;
    for binary in ["list-api-keys", "authorizer", "cleanup"] {
        let mut environment = stand_ins.lambda_environment("", binary);
        environment.extend(template_environment(&template, binary));
        let missing = if binary == "authorizer" {
            "JWT_ISSUER"
        } else {
            "TABLE_NAME"
        };
        environment.remove(missing);
        let run = boot(binary, environment, vec![json!({})]).await;
        let error = run
            .init_error
            .unwrap_or_else(|| panic!("{binary} without {missing} reported no init error"));
        assert_eq!(error["errorType"], "Runtime.ConfigError");
        let message = error["errorMessage"].as_str().expect("a message");
        assert!(message.contains(missing), "{binary}: {message}");
        assert_eq!(run.init, None, "{binary} never asked for an invocation");
    }
}

/// On AWS the cleanup function brings the data up to date and records its
/// version at start; every other function only reads it, and refuses, with
/// an init error naming both versions, data that a later release wrote (a
/// rollback past a data change), rather than half-read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_refuse_data_a_later_release_wrote_and_cleanup_records_the_version() {
    use store::{DATA_VERSION, DataVersionStore, StoredVersion};
    let template = template();
    let stand_ins = StandIns::start().await;
    let store = store::DynamoStore::local(&stand_ins.dynamodb, stand_ins.table.clone());
    let environment = |binary: &str| stand_ins.function_environment(&template, binary);

    assert_eq!(store.data_version().await.expect("read"), None);
    let schedule: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("infra/events/schedule.json"))
            .expect("the event"),
    )
    .expect("JSON");
    let run = boot("cleanup", environment("cleanup"), vec![schedule]).await;
    assert_eq!(run.init_error, None, "cleanup starts on older data");
    assert!(run.answers[0].is_some(), "cleanup swept: {:?}", run.answers);
    let recorded = store.data_version().await.expect("read").expect("recorded");
    assert_eq!(recorded.version, DATA_VERSION);

    store
        .set_data_version(&StoredVersion {
            version: DATA_VERSION + 1,
            written_by: "9.9.9".into(),
        })
        .await
        .expect("a later release's version");
    for binary in [
        "verify-key",
        "list-api-keys",
        "authorizer",
        "leak-report",
        "cleanup",
    ] {
        let run = boot(binary, environment(binary), vec![json!({})]).await;
        let error = run
            .init_error
            .unwrap_or_else(|| panic!("{binary} started on data a later release wrote"));
        let message = error["errorMessage"].as_str().expect("a message");
        let found = format!(
            "data version {} (written by release 9.9.9)",
            DATA_VERSION + 1
        );
        assert!(message.contains(&found), "{binary}: {message}");
        assert!(
            message.contains(&format!("data version {DATA_VERSION} that this release")),
            "{binary}: {message}"
        );
        assert_eq!(run.answers, vec![None], "{binary} answered nothing");
    }
}

/// Lambda freezes an instance between invocations and sends SIGTERM before
/// it retires one: the usage counts written add up to the verifies it
/// answered, for both functions that count (verify-key and the
/// key-authorizer). Counts due are written at the end of an invocation
/// (before its answer, so never cut by the freeze); the last ones at SIGTERM.
/// The timer this replaced never ran while frozen, and nothing was written at
/// SIGTERM, so every count of the instance's last interval was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_instance_counts_every_verify_it_answered() {
    use store::UsageLog;
    let template = template();
    let stand_ins = StandIns::start().await;
    let store = store::DynamoStore::local(&stand_ins.dynamodb, stand_ins.table.clone());
    let (state, demo) = crate::http_api::helpers::state_on(store.clone()).await;
    let events = sample_events(&template);
    for binary in ["verify-key", "key-authorizer"] {
        let created = crate::http_api::helpers::create_key_in(&state, &demo).await;
        let key = created["access_key"].as_str().expect("a key");
        let id: domain::ApiKeyId =
            serde_json::from_value(created["api_key"]["id"].clone()).expect("an id");
        let (_, sample) = events[binary]
            .iter()
            .find(|(name, _)| name == "verify-key.json" || name == "key-authorizer-http.json")
            .expect("a sample event");
        let event = serde_json::from_str::<Value>(&sample.to_string().replace(
            "akm_01a21762051c77b49ff756e5dfbff46f_ExampleNotARealKeyExampleNotARea000000",
            key,
        ))
        .expect("JSON");
        let mut environment = stand_ins.function_environment(&template, binary);
        // A short interval, so that some counts are due at the end of an
        // invocation (the freeze outlasts it) and the rest wait for SIGTERM.
        environment.insert("USAGE_FLUSH_SECONDS".into(), "1".into());
        let frozen = [300, 1100, 100, 100, 1100, 50];
        let mut answered = 0;
        for pause in frozen {
            let (answers, ended) = boot_frozen(
                binary,
                environment.clone(),
                vec![event.clone(), event.clone()],
                Duration::from_millis(pause),
            )
            .await;
            assert!(ended, "{binary} ended cleanly on SIGTERM");
            for answer in answers {
                let answer = answer.unwrap_or_else(|| panic!("{binary} answered"));
                let allowed = answer["isAuthorized"] == true
                    || answer["statusCode"] == 200
                        && answer["body"]
                            .as_str()
                            .is_some_and(|b| b.contains("\"VALID\""));
                assert!(allowed, "{binary}: {answer}");
                answered += 1;
            }
        }
        let now = domain::Timestamp::now().unix_seconds();
        let this_hour = now - now.rem_euclid(3600);
        let counted: u64 = store
            .key_usage(
                &demo.tenant,
                &id,
                domain::Granularity::Hour,
                this_hour - 3600,
                this_hour,
            )
            .await
            .expect("the key's hours")
            .iter()
            .map(|(_, counts)| counts.get("VALID"))
            .sum();
        assert_eq!(
            counted, answered,
            "{binary}: every verify answered is counted once"
        );
    }
}

/// With tracing on (Lambda then sets `AWS_XRAY_DAEMON_ADDRESS` and a sampled
/// trace header), each DynamoDB call a function makes reaches the X-Ray
/// daemon as a subsegment of the invocation's segment; without the daemon's
/// address nothing is sent (the other boot tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_function_sends_each_dynamodb_call_to_the_xray_daemon() {
    let template = template();
    let stand_ins = StandIns::start().await;
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP port");
    daemon
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("a timeout");
    let mut environment = stand_ins.function_environment(&template, "list-api-keys");
    environment.insert(
        "AWS_XRAY_DAEMON_ADDRESS".into(),
        daemon.local_addr().expect("its address").to_string(),
    );
    let events = sample_events(&template);
    let (_, list) = events["list-api-keys"]
        .iter()
        .find(|(name, _)| name == "list-api-keys.json")
        .expect("the list event");
    let run = boot("list-api-keys", environment, vec![list.clone()]).await;
    assert_eq!(run.errors, 0);
    let mut subsegments = Vec::new();
    let mut buffer = [0u8; 65_536];
    while let Ok(size) = daemon.recv(&mut buffer) {
        let text = String::from_utf8_lossy(&buffer[..size]).into_owned();
        let (header, document) = text
            .split_once('\n')
            .expect("a header line, then the document");
        assert_eq!(header, "{\"format\": \"json\", \"version\": 1}");
        subsegments.push(serde_json::from_str::<Value>(document).expect("JSON"));
    }
    let query = subsegments
        .iter()
        .find(|s| s["aws"]["operation"] == "Query")
        .unwrap_or_else(|| panic!("no Query subsegment among {subsegments:?}"));
    assert_eq!(query["name"], "DynamoDB");
    assert_eq!(query["type"], "subsegment");
    assert_eq!(query["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
    assert_eq!(query["parent_id"], "53995c3f42cd8ad8");
    assert!(query["aws"]["table_name"].is_string());
    assert!(query["end_time"].as_f64() >= query["start_time"].as_f64());
}
