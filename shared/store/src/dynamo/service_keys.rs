//! Service keys: the record under the tenant and the lookup item by id,
//! written in one transaction with their audit event.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{
    AuditEvent, Cursor, Page, PageLimit, ServiceKey, ServiceKeyId, ServiceKeyStatus, TenantId,
    Timestamp,
};

use super::audit::audit_item;
use super::transaction::Transaction;
use super::{DynamoStore, Item, entity_item};
use crate::keys::{self, SERVICE_KEY_SK_PREFIX, service_key_lookup_pk, service_key_sk, tenant_pk};
use crate::{Conflict, ServiceKeyLookup, ServiceKeyStore, StoreError, StoreResult};

fn record_item(key: &ServiceKey) -> StoreResult<Item> {
    let (pk, sk) = (tenant_pk(&key.tenant_id), service_key_sk(&key.id));
    entity_item(key, "service_key", pk, sk)
}

fn attribute<T: serde::Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value).map_err(StoreError::corrupt)
}

fn lookup_item(key: &ServiceKey) -> StoreResult<Item> {
    let pk = service_key_lookup_pk(&key.id);
    entity_item(key, "service_key_lookup", pk.clone(), pk)
}

impl ServiceKeyLookup for DynamoStore {
    async fn lookup_service_key(&self, id: &ServiceKeyId) -> StoreResult<Option<ServiceKey>> {
        let pk = service_key_lookup_pk(id);
        self.get_item(pk.clone(), pk).await
    }

    async fn record_service_key_use(
        &self,
        tenant: &TenantId,
        id: &ServiceKeyId,
        at: Timestamp,
    ) -> StoreResult<()> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(tenant_pk(tenant)))
            .key(keys::SK, AttributeValue::S(service_key_sk(id)))
            .update_expression("SET #at = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#at", keys::LAST_USED_AT)
            .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            // Gone (never stored here, or a test's table emptied): nothing to record.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(StoreError::backend(error)),
        }
    }
}

impl ServiceKeyStore for DynamoStore {
    async fn create_service_key(&self, key: &ServiceKey, audit: &AuditEvent) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        transaction.put_new(self, record_item(key)?, Conflict::AlreadyExists)?;
        transaction.put_new(self, lookup_item(key)?, Conflict::AlreadyExists)?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn get_service_key(
        &self,
        tenant: &TenantId,
        id: &ServiceKeyId,
    ) -> StoreResult<Option<ServiceKey>> {
        self.get_item(tenant_pk(tenant), service_key_sk(id)).await
    }

    async fn list_service_keys(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ServiceKeyId>>,
    ) -> StoreResult<Page<ServiceKey, ServiceKeyId>> {
        self.list_tenant_items(
            tenant,
            SERVICE_KEY_SK_PREFIX,
            limit,
            cursor,
            |key: &ServiceKey| &key.id,
        )
        .await
    }

    async fn revoke_service_key(
        &self,
        revoked: &ServiceKey,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let active = ServiceKeyStatus::Active.as_str();
        // The revocation's own fields only: the record's other attributes
        // (a `last_used_at` written since it was read) stay as stored.
        let fields = vec![
            ("status", attribute(&revoked.status)?),
            ("revoked_at", attribute(&revoked.revoked_at)?),
            ("revoked_by", attribute(&revoked.revoked_by)?),
        ];
        let record = (tenant_pk(&revoked.tenant_id), service_key_sk(&revoked.id));
        let mut transaction = Transaction::default();
        transaction.set_if_status(self, record, active, fields)?;
        let lookup = service_key_lookup_pk(&revoked.id);
        transaction.delete_if_status(self, (lookup.clone(), lookup), active)?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }
}
