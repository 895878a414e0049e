//! The `cleanup` Lambda's two event sources: DynamoDB Stream batches (the
//! cascade) and EventBridge schedules (the sweep).

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event;
use domain::Timestamp;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use store::{ApiKeyDelete, ApiKeyRead, ApiKeySweep};

pub use lambda_runtime::Error;

use crate::notify::Notifier;
use crate::{SweepPolicy, stream, sweep};

pub async fn serve<S, N>(store: S, notifier: N, policy: SweepPolicy) -> Result<(), Error>
where
    S: ApiKeyRead + ApiKeyDelete + ApiKeySweep + 'static,
    N: Notifier + 'static,
{
    let jobs = Arc::new((store, notifier));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let jobs = Arc::clone(&jobs);
        async move {
            let (store, notifier) = jobs.as_ref();
            handle(store, notifier, event.payload, policy).await
        }
    }))
    .await
}

/// One invocation. A stream batch answers with its failed records; a schedule
/// runs the sweep, and an error makes EventBridge try again.
pub async fn handle<S, N>(
    store: &S,
    notifier: &N,
    payload: Value,
    policy: SweepPolicy,
) -> Result<Value, Error>
where
    S: ApiKeyRead + ApiKeyDelete + ApiKeySweep,
    N: Notifier,
{
    if payload.get("Records").is_some() {
        let event: Event = serde_json::from_value(payload)?;
        return Ok(serde_json::to_value(stream::handle(store, &event).await)?);
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let report = sweep(store, notifier, Timestamp::now(), policy).await?;
        return Ok(json!({
            "expired": report.expired,
            "purged": report.purged,
            "noticed": report.noticed,
        }));
    }
    Err("the cleanup function takes DynamoDB Stream batches and scheduled events only".into())
}
