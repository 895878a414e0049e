//! The cascade's trigger in AWS: records of the table's DynamoDB Stream.
//! The template's filter lets through only applications that became archived
//! and Arx that became deleted; anything else that arrives is ignored.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use domain::{ApplicationId, ArxId, PrefixedId, TenantId};
use serde::{Deserialize, Serialize};
use store::{ApiKeyRead, ApiKeyWrite, PendingCascades};

use crate::{CascadeOutcome, CascadeTarget, Deadline, cascade};

/// The answer for `ReportBatchItemFailures`: the records to deliver again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The record's sequence number.
    pub item_identifier: String,
}

/// A record that cannot be turned into a cascade, whatever the retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable stream record: {0}")]
pub struct PoisonRecord(String);

/// What a record asks for: `None` if it is not an archive or an Arx deletion.
pub fn cascade_target(record: &EventRecord) -> Result<Option<CascadeTarget>, PoisonRecord> {
    #[derive(Deserialize)]
    struct Image {
        entity_type: Option<String>,
        status: Option<String>,
        tenant_id: Option<String>,
        id: Option<String>,
    }
    let image: Image = serde_dynamo::from_item(record.change.new_image.clone())
        .map_err(|error| PoisonRecord(format!("its new image does not read: {error}")))?;
    let kind = match (image.entity_type.as_deref(), image.status.as_deref()) {
        (Some("application"), Some("archived")) => "application",
        (Some("arx"), Some("deleted")) => "arx",
        _ => return Ok(None),
    };
    let tenant = image
        .tenant_id
        .as_deref()
        .and_then(|tenant| TenantId::parse(tenant).ok())
        .ok_or_else(|| PoisonRecord(format!("the {kind} has no valid tenant_id")))?;
    let id = image.id.unwrap_or_default();
    let bad_id = |_| PoisonRecord(format!("the {kind} has no valid id"));
    Ok(Some(match kind {
        "application" => CascadeTarget::Application {
            tenant,
            id: ApplicationId::parse(&id).map_err(bad_id)?,
        },
        _ => CascadeTarget::Arx {
            tenant,
            id: ArxId::parse(&id).map_err(bad_id)?,
        },
    }))
}

/// Runs the cascade of every record, and reports the records that failed
/// (a poisoned record, or a store error) so only they are delivered again.
/// Near the deadline it stops and reports the record it was on: Lambda
/// delivers the batch again from there.
pub async fn handle<S: ApiKeyRead + ApiKeyWrite + PendingCascades>(
    store: &S,
    event: &Event,
    deadline: Deadline,
) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in &event.records {
        let outcome = match cascade_target(record) {
            Ok(None) => Ok(CascadeOutcome::Finished { deleted: 0 }),
            Ok(Some(target)) => cascade(store, &target, deadline)
                .await
                .map_err(|e| store::error_chain(&e)),
            Err(poison) => Err(poison.to_string()),
        };
        let sequence = || record.change.sequence_number.clone().unwrap_or_default();
        match outcome {
            Ok(CascadeOutcome::Finished { .. }) => {}
            Ok(CascadeOutcome::CutShort { .. }) => {
                response.batch_item_failures.push(BatchItemFailure {
                    item_identifier: sequence(),
                });
                break;
            }
            Err(reason) => {
                tracing::error!(event_id = %record.event_id, sequence = %sequence(), %reason, "stream record failed");
                response.batch_item_failures.push(BatchItemFailure {
                    item_identifier: sequence(),
                });
            }
        }
    }
    response
}
