//! Records with a copy by name (roles, rate-limit namespaces): the record
//! and its copy written in one transaction with their audit event.

use domain::AuditEvent;

use super::audit::audit_item;
use super::transaction::Transaction;
use super::{DynamoStore, Item, entity_item};
use crate::keys::tenant_pk;
use crate::named::Named;
use crate::{Conflict, StoreResult};

fn record_item<N: Named>(named: &N) -> StoreResult<Item> {
    let (pk, sk) = (tenant_pk(named.tenant()), named.record_sk());
    entity_item(named, N::ENTITY, pk, sk)
}

fn name_item<N: Named>(named: &N) -> StoreResult<Item> {
    let (pk, sk) = (tenant_pk(named.tenant()), named.name_sk());
    entity_item(named, &format!("{}_name", N::ENTITY), pk, sk)
}

impl DynamoStore {
    /// The record and its copy, each only if new
    /// ([`Conflict::AlreadyExists`]: the tenant has one of that name).
    pub(super) async fn create_named<N: Named>(
        &self,
        named: &N,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        transaction.put_new(self, record_item(named)?, Conflict::AlreadyExists)?;
        transaction.put_new(self, name_item(named)?, Conflict::AlreadyExists)?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    /// `next` over `current`, if the stored revision is still `current`'s.
    pub(super) async fn update_named<N: Named>(
        &self,
        current: &N,
        next: &N,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        transaction.put_if_revision(self, record_item(next)?, current.revision())?;
        transaction.put(self, name_item(next)?)?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }

    /// The record and its copy gone, if the stored revision is still `current`'s.
    pub(super) async fn delete_named<N: Named>(
        &self,
        current: &N,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let pk = tenant_pk(current.tenant());
        let mut transaction = Transaction::default();
        let record = (pk.clone(), current.record_sk());
        transaction.delete_if_revision(self, record, current.revision())?;
        transaction.delete(self, (pk, current.name_sk()))?;
        transaction.put(self, audit_item(audit)?)?;
        transaction.commit(self).await
    }
}
