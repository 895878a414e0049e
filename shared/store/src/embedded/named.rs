//! Records with a copy by name (roles, rate-limit namespaces): the record
//! and its copy written in one transaction with their audit event.

use domain::AuditEvent;

use super::audit::put_audit;
use super::{EmbeddedStore, ITEMS, Items, get, put};
use crate::keys::tenant_pk;
use crate::named::Named;
use crate::{Conflict, StoreError, StoreResult};

fn put_named<N: Named>(items: &mut Items<'_>, named: &N) -> StoreResult<()> {
    let pk = tenant_pk(named.tenant());
    put(items, &pk, &named.record_sk(), named)?;
    put(items, &pk, &named.name_sk(), named)
}

/// Refuses unless the stored record's revision is still `current`'s.
fn still<N: Named>(items: &Items<'_>, current: &N) -> StoreResult<()> {
    let pk = tenant_pk(current.tenant());
    match get::<N>(items, &pk, &current.record_sk())? {
        Some(stored) if stored.revision() == current.revision() => Ok(()),
        _ => Err(Conflict::Changed.into()),
    }
}

impl EmbeddedStore {
    /// The record and its copy, unless the tenant has one of that name
    /// ([`Conflict::AlreadyExists`]).
    pub(super) async fn create_named<N: Named>(
        &self,
        named: &N,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (named, audit) = (named.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let pk = tenant_pk(named.tenant());
            if get::<N>(&items, &pk, &named.name_sk())?.is_some() {
                return Err(Conflict::AlreadyExists.into());
            }
            put_named(&mut items, &named)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    /// `next` over `current`, if the stored revision is still `current`'s.
    pub(super) async fn update_named<N: Named>(
        &self,
        current: &N,
        next: &N,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (current, next, audit) = (current.clone(), next.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            still(&items, &current)?;
            put_named(&mut items, &next)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    /// The record and its copy gone, if the stored revision is still `current`'s.
    pub(super) async fn delete_named<N: Named>(
        &self,
        current: &N,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (current, audit) = (current.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            still(&items, &current)?;
            let pk = tenant_pk(current.tenant());
            for sk in [current.record_sk(), current.name_sk()] {
                items
                    .remove((pk.as_str(), sk.as_str()))
                    .map_err(StoreError::backend)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }
}
