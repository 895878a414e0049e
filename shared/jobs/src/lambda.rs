//! The `cleanup` Lambda's two event sources: DynamoDB Stream batches (the
//! cascade) and EventBridge schedules (the sweep).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event;
use domain::Timestamp;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use store::{ApiKeyRead, ApiKeySweep, ApiKeyWrite, DynamoStore, PendingCascades};

pub use lambda_runtime::Error;

use crate::{Deadline, SweepPolicy, stream, sweep};
use notify::{Notifications, Notifier};

pub async fn serve<S, N>(store: S, notifier: N, policy: SweepPolicy) -> Result<(), Error>
where
    S: ApiKeyRead + ApiKeyWrite + ApiKeySweep + PendingCascades + 'static,
    N: Notifier + 'static,
{
    let jobs = Arc::new((store, notifier));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let jobs = Arc::clone(&jobs);
        async move {
            let (store, notifier) = jobs.as_ref();
            let deadline = Deadline::from_epoch_millis(event.context.deadline);
            let handled = handle(store, notifier, event.payload, policy, deadline).await;
            telemetry::emf::write("cleanup");
            handled
        }
    }))
    .await
}

/// [`serve`] on the DynamoDB store and the SNS topic (or the log): the
/// cleanup function's loop, boxed so that its code is compiled once, here,
/// and not again inside the binary that polls it (release builds share no
/// generic code between crates; see `api::functions`).
pub fn serve_on_aws(
    store: DynamoStore,
    notifier: Notifications,
    policy: SweepPolicy,
) -> Pin<Box<dyn Future<Output = Result<(), Error>>>> {
    Box::pin(serve(store, notifier, policy))
}

/// One invocation. A stream batch answers with its failed records; a schedule
/// runs the sweep, and an error sends the event to the on-failure queue after
/// Lambda's retries (the next scheduled sweep redoes the work anyway). Both
/// stop before `deadline`, leaving a consistent state to go on from.
pub async fn handle<S, N>(
    store: &S,
    notifier: &N,
    payload: Value,
    policy: SweepPolicy,
    deadline: Deadline,
) -> Result<Value, Error>
where
    S: ApiKeyRead + ApiKeyWrite + ApiKeySweep + PendingCascades,
    N: Notifier,
{
    if payload.get("Records").is_some() {
        telemetry::metrics::JOB_RUNS.inc("stream");
        let event: Event = serde_json::from_value(payload)?;
        let failures = stream::handle(store, &event, deadline).await;
        return Ok(serde_json::to_value(failures)?);
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        telemetry::metrics::JOB_RUNS.inc("schedule");
        let report = sweep(store, notifier, Timestamp::now(), policy, deadline).await?;
        return Ok(json!({
            "cascaded": report.cascaded,
            "expired": report.expired,
            "purged": report.purged,
            "noticed": report.noticed,
            "cut_short": report.cut_short,
        }));
    }
    Err("the cleanup function takes DynamoDB Stream batches and scheduled events only".into())
}
