//! Multi-item changes as one `TransactWriteItems`: all of it or none of it.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use domain::CountsDelta;

use super::{DynamoStore, Item, table_key};
use crate::keys::{self, API_KEY_COUNTS_SK, ENTITY_TYPE, PK, tenant_pk};
use crate::{Conflict, StoreError, StoreResult};

/// Concurrent transactions on one item (the tenant's counts, say) make DynamoDB
/// cancel all but one with `TransactionConflict`; they are safe to try again.
pub(super) const MAX_ATTEMPTS: u32 = 8;

/// The condition every status-guarded item uses: `status = :status`.
const STATUS_IS: &str = "#status = :status";

fn status_names() -> HashMap<String, String> {
    HashMap::from([("#status".to_owned(), "status".to_owned())])
}

fn status_value(status: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(":status".to_owned(), AttributeValue::S(status.to_owned()))])
}

/// The items of one transaction, each with the conflict its condition means.
#[derive(Debug, Default)]
pub(super) struct Transaction {
    items: Vec<TransactWriteItem>,
    conflicts: Vec<Option<Conflict>>,
}

impl Transaction {
    /// Puts a new item, refused with `conflict` if one with its key exists.
    pub(super) fn put_new(
        &mut self,
        store: &DynamoStore,
        item: Item,
        conflict: Conflict,
    ) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&store.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(StoreError::backend)?;
        self.push(
            TransactWriteItem::builder().put(put).build(),
            Some(conflict),
        );
        Ok(())
    }

    /// Puts `item` unless a live one is there: none, or one whose TTL
    /// (`ttl`, Unix seconds) is before `now` (past it DynamoDB may not have
    /// deleted it yet).
    pub(super) fn put_unless_live(
        &mut self,
        store: &DynamoStore,
        item: Item,
        now: i64,
        conflict: Conflict,
    ) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&store.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ttl", crate::keys::TTL)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .build()
            .map_err(StoreError::backend)?;
        self.push(
            TransactWriteItem::builder().put(put).build(),
            Some(conflict),
        );
        Ok(())
    }

    /// Replaces an item whose `status` must still be `expected`.
    pub(super) fn put_if_status(
        &mut self,
        store: &DynamoStore,
        item: Item,
        expected: &str,
    ) -> StoreResult<()> {
        self.put_if(
            store,
            item,
            STATUS_IS.to_owned(),
            status_names(),
            status_value(expected),
        )
    }

    /// Replaces an API key item whose revision must still be `read` (an item
    /// written before revisions has none, which is revision 0).
    pub(super) fn put_if_revision(
        &mut self,
        store: &DynamoStore,
        item: Item,
        read: domain::Revision,
    ) -> StoreResult<()> {
        let (condition, names, values) = revision_is(read);
        self.put_if(store, item, condition, names, values)
    }

    /// Deletes the item at `pk`/`sk` if its revision is still `read`.
    pub(super) fn delete_if_revision(
        &mut self,
        store: &DynamoStore,
        (pk, sk): (String, String),
        read: domain::Revision,
    ) -> StoreResult<()> {
        let (condition, names, values) = revision_is(read);
        let delete = Delete::builder()
            .table_name(&store.table)
            .set_key(Some(table_key(pk, sk)))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(StoreError::backend)?;
        self.push(
            TransactWriteItem::builder().delete(delete).build(),
            Some(Conflict::Changed),
        );
        Ok(())
    }

    /// A replacement under `condition`; a failed condition means the item
    /// changed since it was read.
    fn put_if(
        &mut self,
        store: &DynamoStore,
        item: Item,
        condition: String,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
    ) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&store.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(StoreError::backend)?;
        self.push(
            TransactWriteItem::builder().put(put).build(),
            Some(Conflict::Changed),
        );
        Ok(())
    }

    /// Puts an item whatever is there (a new audit event, a lookup item kept in step).
    pub(super) fn put(&mut self, store: &DynamoStore, item: Item) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&store.table)
            .set_item(Some(item))
            .build()
            .map_err(StoreError::backend)?;
        self.push(TransactWriteItem::builder().put(put).build(), None);
        Ok(())
    }

    /// Sets `fields` on the item at `pk`/`sk` if its `status` is still
    /// `expected`; the item's other attributes stay as they are (a field
    /// written meanwhile, such as `last_used_at`, is kept).
    pub(super) fn set_if_status(
        &mut self,
        store: &DynamoStore,
        (pk, sk): (String, String),
        expected: &str,
        fields: Vec<(&'static str, AttributeValue)>,
    ) -> StoreResult<()> {
        let mut names = status_names();
        let mut values = status_value(expected);
        let mut sets = Vec::with_capacity(fields.len());
        for (n, (name, value)) in fields.into_iter().enumerate() {
            names.insert(format!("#f{n}"), name.to_owned());
            values.insert(format!(":f{n}"), value);
            sets.push(format!("#f{n} = :f{n}"));
        }
        let update = Update::builder()
            .table_name(&store.table)
            .set_key(Some(table_key(pk, sk)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(STATUS_IS)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(StoreError::backend)?;
        self.push(
            TransactWriteItem::builder().update(update).build(),
            Some(Conflict::Changed),
        );
        Ok(())
    }

    /// Deletes the item at `pk`/`sk` if its `status` is still `expected`.
    pub(super) fn delete_if_status(
        &mut self,
        store: &DynamoStore,
        (pk, sk): (String, String),
        expected: &str,
    ) -> StoreResult<()> {
        let delete = Delete::builder()
            .table_name(&store.table)
            .set_key(Some(table_key(pk, sk)))
            .condition_expression(STATUS_IS)
            .set_expression_attribute_names(Some(status_names()))
            .set_expression_attribute_values(Some(status_value(expected)))
            .build()
            .map_err(StoreError::backend)?;
        self.push(
            TransactWriteItem::builder().delete(delete).build(),
            Some(Conflict::Changed),
        );
        Ok(())
    }

    /// Deletes the item at `pk`/`sk`, if there is one.
    pub(super) fn delete(
        &mut self,
        store: &DynamoStore,
        (pk, sk): (String, String),
    ) -> StoreResult<()> {
        let delete = Delete::builder()
            .table_name(&store.table)
            .set_key(Some(table_key(pk, sk)))
            .build()
            .map_err(StoreError::backend)?;
        self.push(TransactWriteItem::builder().delete(delete).build(), None);
        Ok(())
    }

    /// Requires the item at `pk`/`sk` to exist with status `wanted`.
    pub(super) fn check_status(
        &mut self,
        store: &DynamoStore,
        (pk, sk): (String, String),
        wanted: &str,
        conflict: Conflict,
    ) -> StoreResult<()> {
        let check = ConditionCheck::builder()
            .table_name(&store.table)
            .set_key(Some(table_key(pk, sk)))
            .condition_expression(STATUS_IS)
            .set_expression_attribute_names(Some(status_names()))
            .set_expression_attribute_values(Some(status_value(wanted)))
            .build()
            .map_err(StoreError::backend)?;
        self.push(
            TransactWriteItem::builder().condition_check(check).build(),
            Some(conflict),
        );
        Ok(())
    }

    /// Adds `delta` to the tenant's API key counts (creating the item at zero).
    pub(super) fn add_counts(
        &mut self,
        store: &DynamoStore,
        tenant: &domain::TenantId,
        delta: CountsDelta,
    ) -> StoreResult<()> {
        let number = |n: i64| AttributeValue::N(n.to_string());
        let update = Update::builder()
            .table_name(&store.table)
            .set_key(Some(table_key(tenant_pk(tenant), API_KEY_COUNTS_SK.into())))
            .update_expression(
                "SET #type = :type ADD #total :total, #active :active, #deleted :deleted, \
                 #expired :expired, #disabled :disabled",
            )
            .expression_attribute_names("#type", ENTITY_TYPE)
            .expression_attribute_names("#total", "total")
            .expression_attribute_names("#active", "active")
            .expression_attribute_names("#deleted", "deleted")
            .expression_attribute_names("#expired", "expired")
            .expression_attribute_names("#disabled", "disabled")
            .expression_attribute_values(":type", AttributeValue::S("api_key_counts".into()))
            .expression_attribute_values(":total", number(delta.total))
            .expression_attribute_values(":active", number(delta.active))
            .expression_attribute_values(":deleted", number(delta.deleted))
            .expression_attribute_values(":expired", number(delta.expired))
            .expression_attribute_values(":disabled", number(delta.disabled))
            .build()
            .map_err(StoreError::backend)?;
        self.push(TransactWriteItem::builder().update(update).build(), None);
        Ok(())
    }

    fn push(&mut self, item: TransactWriteItem, conflict: Option<Conflict>) {
        self.items.push(item);
        self.conflicts.push(conflict);
    }

    pub(super) async fn commit(self, store: &DynamoStore) -> StoreResult<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = store
                .client
                .transact_write_items()
                .set_transact_items(Some(self.items.clone()))
                .send()
                .await;
            let error = match sent {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            if let Some(TransactWriteItemsError::TransactionCanceledException(canceled)) =
                error.as_service_error()
            {
                let codes: Vec<&str> = canceled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().unwrap_or("None"))
                    .collect();
                if let Some(index) = codes
                    .iter()
                    .position(|code| *code == "ConditionalCheckFailed")
                {
                    let conflict = self.conflicts.get(index).copied().flatten();
                    return Err(conflict.unwrap_or(Conflict::Changed).into());
                }
                if codes.contains(&"TransactionConflict") {
                    telemetry::metrics::STORE_RETRIES.inc("conflict");
                    if attempt == MAX_ATTEMPTS {
                        return Err(StoreError::Contended);
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            }
            return Err(StoreError::backend(error));
        }
    }
}

/// The condition that an item's revision is still `read` (an item written
/// before revisions has none, which is revision 0), with its names and values.
fn revision_is(
    read: domain::Revision,
) -> (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
) {
    let read = read.get();
    let mut names = HashMap::from([("#rev".to_owned(), keys::REVISION.to_owned())]);
    let values = HashMap::from([(":rev".to_owned(), AttributeValue::N(read.to_string()))]);
    // DynamoDB refuses a name the expression does not use.
    let condition = if read == 0 {
        names.insert("#pk".to_owned(), PK.to_owned());
        "attribute_exists(#pk) AND (attribute_not_exists(#rev) OR #rev = :rev)"
    } else {
        "#rev = :rev"
    };
    (condition.to_owned(), names, values)
}

/// Exponential backoff with full jitter: 0..(10 ms × 2^attempt).
fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = 10u64 << attempt.min(6);
    use rand::{Rng, TryRngCore, rngs::OsRng};
    Duration::from_millis(OsRng.unwrap_err().random_range(0..=ceiling_ms))
}
