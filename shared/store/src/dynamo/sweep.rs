//! The sweep's due keys and progress, and pending cascades.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use domain::{ApiKey, ApiKeyCounts, ApiKeyStatus, AuditEvent, PageLimit, Timestamp};

use super::transaction::Transaction;
use super::{DynamoStore, Item, entity_item, from_item, table_key};
use crate::keys::{
    self, ApiKeyIndex, PENDING_CASCADES_PK, SWEEP_PROGRESS_PK, SWEEP_PROGRESS_SK,
    api_key_balance_pk, api_key_lookup_pk, api_key_sk, due_pk, pending_cascade_sk, tenant_pk,
};
use crate::{
    ApiKeySweep, CascadeTarget, Conflict, DueWork, PendingCascade, PendingCascades, StoreError,
    StoreResult, SweepProgress, counters_removed_at_purge,
};

impl ApiKeySweep for DynamoStore {
    async fn due_api_keys(
        &self,
        work: DueWork,
        day: time::Date,
        until: domain::Timestamp,
        limit: PageLimit,
    ) -> StoreResult<Vec<ApiKey>> {
        let output = self
            .due_by(ApiKeyIndex::Due, due_pk(work, day), until)
            .scan_index_forward(true)
            .limit(i32::try_from(limit.get()).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(StoreError::backend)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(super::from_item)
            .collect()
    }

    async fn set_expiry_notice_sent(
        &self,
        current: &ApiKey,
        sent_at: Option<Timestamp>,
    ) -> StoreResult<ApiKey> {
        let next = ApiKey {
            expiry_notice_sent_at: sent_at,
            ..current.clone()
        };
        // Only the notice's attribute and the key's place in GSI4 change: an
        // update, not a Put, so a `last_used_at` a verify wrote meanwhile
        // stays. It is a write of the item all the same: its revision moves,
        // so a change computed before it reads again.
        let (Some((due_pk, due_sk)), ApiKeyStatus::Active) =
            (ApiKeyIndex::Due.entry_of(&next), current.status)
        else {
            return Err(Conflict::Changed.into());
        };
        let (due_pk_attribute, due_sk_attribute) = ApiKeyIndex::Due.key_attributes();
        let text = |value: String| AttributeValue::S(value);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, text(tenant_pk(&current.tenant_id)))
            .key(keys::SK, text(api_key_sk(&current.id)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#sent", "expiry_notice_sent_at")
            .expression_attribute_names("#due_pk", due_pk_attribute)
            .expression_attribute_names("#due_sk", due_sk_attribute)
            .expression_attribute_names("#rev", keys::REVISION)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew)
            .expression_attribute_values(":active", text(ApiKeyStatus::Active.as_str().into()))
            .expression_attribute_values(":due_pk", text(due_pk))
            .expression_attribute_values(":due_sk", text(due_sk));
        update = match sent_at {
            Some(at) => update
                .update_expression(
                    "SET #sent = :sent, #due_pk = :due_pk, #due_sk = :due_sk ADD #rev :one",
                )
                .expression_attribute_values(":sent", text(at.to_string())),
            None => update.update_expression(
                "REMOVE #sent SET #due_pk = :due_pk, #due_sk = :due_sk ADD #rev :one",
            ),
        };
        update = match current.expiry_notice_sent_at {
            None => {
                update.condition_expression("#status = :active AND attribute_not_exists(#sent)")
            }
            Some(was) => update
                .condition_expression("#status = :active AND #sent = :was")
                .expression_attribute_values(":was", text(was.to_string())),
        };
        match update.send().await {
            Ok(output) => match output.attributes {
                Some(item) => from_item(item),
                None => Ok(next),
            },
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(Conflict::Changed.into())
            }
            Err(error) => Err(StoreError::backend(error)),
        }
    }

    async fn purge_api_key(&self, current: &ApiKey, audit: &AuditEvent) -> StoreResult<()> {
        let lookup = api_key_lookup_pk(&current.id);
        let mut transaction = Transaction::default();
        let key = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
        transaction.delete_if_status(self, key, current.status.as_str())?;
        transaction.delete(self, (lookup.clone(), lookup))?;
        if let Some(locator) = &current.locator {
            let pointer = keys::imported_key_pk(locator);
            transaction.delete(self, (pointer.clone(), pointer))?;
        }
        if let Some(owner) = counters_removed_at_purge(current) {
            let balance = api_key_balance_pk(owner);
            transaction.delete(self, (balance.clone(), balance))?;
        }
        transaction.add_counts(
            self,
            &current.tenant_id,
            ApiKeyCounts::delta(Some(current.status), None),
        )?;
        transaction.put(self, super::audit::audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn sweep_progress(&self) -> StoreResult<Option<SweepProgress>> {
        self.get_item(SWEEP_PROGRESS_PK.into(), SWEEP_PROGRESS_SK.into())
            .await
    }

    async fn save_sweep_progress(&self, progress: &SweepProgress) -> StoreResult<()> {
        let item = entity_item(
            progress,
            "sweep_progress",
            SWEEP_PROGRESS_PK.into(),
            SWEEP_PROGRESS_SK.into(),
        )?;
        self.put(item).await
    }
}

pub(super) fn pending_cascade_item(pending: &PendingCascade) -> StoreResult<Item> {
    entity_item(
        pending,
        "pending_cascade",
        PENDING_CASCADES_PK.into(),
        pending_cascade_sk(&pending.target),
    )
}

impl PendingCascades for DynamoStore {
    async fn pending_cascades(&self) -> StoreResult<Vec<PendingCascade>> {
        let mut pending = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", crate::keys::PK)
                .expression_attribute_values(":pk", AttributeValue::S(PENDING_CASCADES_PK.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::backend)?;
            for item in output.items.unwrap_or_default() {
                pending.push(super::from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(pending),
            }
        }
    }

    async fn finish_cascade(&self, target: &CascadeTarget) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(table_key(
                PENDING_CASCADES_PK.into(),
                pending_cascade_sk(target),
            )))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
