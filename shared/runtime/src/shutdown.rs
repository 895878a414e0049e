//! Lambda's shutdown notice: the SIGTERM it sends before it retires an
//! instance, so that what the instance holds (its usage counts) is written.
//!
//! Lambda sends that signal only to a function with an extension
//! registered. An internal one (in this process, subscribed to no events)
//! is enough, and costs one request at start: it then waits on its next
//! event, which never comes. The runtime then gets about 500 ms before the
//! instance is killed, of which the last write takes [`SHUTDOWN_BUDGET`].

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;

/// What the last write may take of the ~500 ms Lambda leaves after SIGTERM.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_millis(400);

/// The internal extension's name (unique within a function).
const EXTENSION_NAME: &str = "api-keys-manager-usage-flush";

/// Runs `last_write` on SIGTERM (within its own budget), then exits. In
/// Lambda (`AWS_LAMBDA_RUNTIME_API` set) it first registers the internal
/// extension that makes Lambda send the signal; if that fails, the instance
/// still works, and only its last interval's counts may be lost.
pub async fn on_sigterm<F, Fut>(last_write: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    if let Ok(runtime_api) = std::env::var("AWS_LAMBDA_RUNTIME_API")
        && let Err(error) = register_extension(&runtime_api).await
    {
        tracing::warn!(%error, "no shutdown notice from Lambda: the last interval's usage counts may be lost");
    }
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(terminate) => terminate,
            Err(error) => {
                tracing::warn!(%error, "cannot wait for SIGTERM");
                return;
            }
        };
    tokio::spawn(async move {
        terminate.recv().await;
        last_write().await;
        std::process::exit(0);
    });
}

/// Registers the internal extension, then waits on its next event in a task
/// of its own (Lambda ends the instance's start once every extension asks).
async fn register_extension(runtime_api: &str) -> Result<(), String> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let register = http::Request::post(format!(
        "http://{runtime_api}/2020-01-01/extension/register"
    ))
    .header("lambda-extension-name", EXTENSION_NAME)
    .header("content-type", "application/json")
    .body(Full::new(Bytes::from_static(br#"{"events":[]}"#)))
    .map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(Duration::from_secs(2), client.request(register))
        .await
        .map_err(|_| "the Extensions API did not answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!("the Extensions API answered {}", answer.status()));
    }
    let identifier = answer
        .headers()
        .get("lambda-extension-identifier")
        .cloned()
        .ok_or("the Extensions API gave no identifier")?;
    let next = http::Request::get(format!(
        "http://{runtime_api}/2020-01-01/extension/event/next"
    ))
    .header("lambda-extension-identifier", identifier)
    .body(Full::new(Bytes::new()))
    .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        // Subscribed to nothing: this waits until the instance ends.
        let _ = client.request(next).await;
    });
    Ok(())
}
