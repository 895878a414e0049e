//! What every function runs, whatever it serves: its JSON log, its settings
//! and the init error that names a bad one, its stop (SIGTERM), the HTTP
//! answer and its Lambda form, and the web console's files. A function that
//! is not the management API (the cleanup, the console) links this and not
//! the handlers.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use environment::error_chain as chain;
use lambda_http::{Body, service_fn};

pub mod config;
pub mod console;
mod response;
pub mod shutdown;

pub use response::{ApiResponse, Problem, problem};

/// The error type a function's `main` returns.
pub use lambda_http::Error;

/// Logs a panic by where it happened, never by its message: a message may
/// quote the request (an index into a client's text, say), and request text
/// must not reach the log. The dev server answers the request with a 500 and
/// serves the next; a Lambda reports an invocation error and stays warm.
pub fn log_panics_without_their_message() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|at| format!("{}:{}", at.file(), at.line()))
            .unwrap_or_default();
        tracing::error!(%location, "a request panicked (its message is not logged)");
    }));
}

/// JSON logs for CloudWatch, at Lambda's log level (`AWS_LAMBDA_LOG_LEVEL`,
/// set by the function's logging configuration) when it has one, else at
/// `RUST_LOG`'s (`debug`, or per target: `info,aws_smithy_runtime=debug`),
/// `info` when unset or unreadable.
///
/// `Targets`, not `EnvFilter`: the Lambdas never filter on spans or fields,
/// and `EnvFilter` brings a regex engine to every binary (17 s of each cold
/// build); the dev server keeps it.
pub fn init_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Lambda's own log level (the function's logging configuration) wins,
    // as it does over Powertools' setting; then `RUST_LOG`; then `info`.
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|level| match level.to_ascii_uppercase().as_str() {
            "TRACE" => Some(tracing::Level::TRACE),
            "DEBUG" => Some(tracing::Level::DEBUG),
            "INFO" => Some(tracing::Level::INFO),
            "WARN" => Some(tracing::Level::WARN),
            "ERROR" | "FATAL" => Some(tracing::Level::ERROR),
            _ => None,
        });
    let filter = match lambda_level {
        Some(level) => Targets::new().with_default(level),
        None => std::env::var("RUST_LOG")
            .ok()
            .and_then(|levels| levels.parse::<Targets>().ok())
            .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO)),
    };
    let lines = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line
        .with_target(false);
    tracing_subscriber::registry()
        .with(lines)
        .with(filter)
        .init();
    log_panics_without_their_message();
}

/// A step of a function's start (its configuration, a client), passed through.
/// A failure is reported to the Lambda Runtime API's init error endpoint
/// before `main` returns it: Lambda then logs and counts an init error with
/// its reason, where a process that only exits shows as "Runtime exited".
pub async fn configured<T, E>(step: Result<T, E>) -> Result<T, Error>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match step {
        Ok(value) => Ok(value),
        Err(error) => {
            let reason = chain(&error);
            tracing::error!(%reason, "the function cannot start");
            if let Some(runtime_api) = std::env::var("AWS_LAMBDA_RUNTIME_API")
                .ok()
                .filter(|api| !api.is_empty())
                && let Err(failed) = report_init_error(&runtime_api, &reason).await
            {
                tracing::error!(%failed, "the init error could not be reported");
            }
            Err(error.into())
        }
    }
}

/// `POST /2018-06-01/runtime/init/error` with Lambda's error document.
async fn report_init_error(runtime_api: &str, reason: &str) -> Result<(), String> {
    let body = serde_json::json!({
        "errorMessage": reason,
        "errorType": "Runtime.ConfigError",
        "stackTrace": [],
    });
    let request = http::Request::post(format!(
        "http://{runtime_api}/2018-06-01/runtime/init/error"
    ))
    .header("content-type", "application/json")
    .header("lambda-runtime-function-error-type", "Runtime.ConfigError")
    .body(http_body_util::Full::new(Bytes::from(body.to_string())))
    .map_err(|e| e.to_string())?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(2), client.request(request))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!("status {}", answer.status()));
    }
    Ok(())
}

pub fn to_lambda_response(response: ApiResponse) -> lambda_http::Response<Body> {
    let response = response.with_security_headers();
    let mut builder = lambda_http::Response::builder().status(response.status);
    if let Some(content_type) = response.content_type {
        builder = builder.header("content-type", content_type);
    }
    for (name, value) in &response.headers {
        builder = builder.header(*name, value);
    }
    let body = if response.body.is_empty() {
        Body::Empty
    } else {
        Body::Binary(response.body)
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = lambda_http::Response::new(Body::Empty);
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// Runs the console function: GET and HEAD of any path from `assets`.
pub async fn serve_console(assets: crate::console::ConsoleAssets) -> Result<(), Error> {
    let assets = Arc::new(assets);
    lambda_http::run(service_fn(move |request: lambda_http::Request| {
        let assets = Arc::clone(&assets);
        async move {
            let response = console_response(&assets, &request);
            telemetry::metrics::REQUESTS.inc("Console");
            let class = telemetry::metrics::status_class(response.status().as_u16());
            telemetry::metrics::RESPONSES.inc(class);
            telemetry::emf::write("console");
            Ok::<_, Infallible>(response)
        }
    }))
    .await
}

/// The console function's answer to one request (any path, `$default` route).
pub fn console_response(
    assets: &crate::console::ConsoleAssets,
    request: &lambda_http::Request,
) -> lambda_http::Response<Body> {
    let response = match *request.method() {
        http::Method::GET | http::Method::HEAD => assets.answer(request.uri().path()),
        _ => assets.secured(
            crate::problem(&crate::Problem {
                title: "Method not allowed",
                status: 405,
                detail: "this path does not take this method".into(),
                code: "method_not_allowed",
                field: None,
            })
            .with_header("allow", "GET, HEAD"),
        ),
    };
    to_lambda_response(response)
}

/// The console function's program: its settings, its files (embedded by its
/// build), and the loop serving them.
pub async fn console(files: &'static [(&'static str, &'static [u8])]) -> Result<(), Error> {
    init_tracing();
    let config = configured(console::ConsoleConfig::from_env(&environment::ProcessEnv)).await?;
    let files = files
        .iter()
        .map(|(url, body)| ((*url).to_owned(), body.to_vec()));
    let assets = configured(console::ConsoleAssets::new(files, &config)).await?;
    serve_console(assets).await
}
