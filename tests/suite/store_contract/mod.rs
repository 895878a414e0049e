//! One contract, two stores: every test here runs against the embedded store and
//! against DynamoDB (the local server `tests/run.sh` starts), and both must agree.

pub(crate) mod backends;
pub(crate) mod fixtures;

use std::collections::HashSet;

use domain::{
    ApiKey, ApiKeyCounts, ApiKeyId, ApiKeyStatus, ApplicationStatus, ArxStatus, AuditAction,
    Cursor, PageLimit, Timestamp,
};
use store::{ApiKeyFilter, ApiKeyQuery, Conflict, StoreError};

use backends::Store;
use fixtures::*;

/// Declares each contract test once per store.
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let (store, _dir) = $crate::store_contract::backends::embedded();
                    super::$test(store).await;
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::store_contract::backends::dynamodb().await).await;
                }
            )*
        }
    };
}

mod limits;
mod rate_limits;
mod upgrade;
mod usage;

contract!(
    a_created_key_is_in_the_next_list_and_get,
    pages_return_every_key_once_newest_first,
    each_filter_works_alone_and_combined,
    counts_add_up_after_creates_and_deletes,
    a_delete_whose_condition_no_longer_holds_changes_nothing,
    another_tenant_sees_none_of_it,
    concurrent_creates_all_persist,
    a_transaction_that_fails_one_condition_writes_nothing,
    archived_applications_and_inactive_arx_refuse_new_keys,
    catalog_and_audit_lists_are_newest_first_and_paged,
    the_sweep_finds_expires_and_purges_due_keys,
    a_key_past_its_expiry_counts_as_expired_before_the_sweep,
    a_key_is_suspended_and_resumed_with_its_lookup_counts_and_audit,
    a_key_is_rotated_once_in_one_transaction,
    audit_events_are_listed_by_object_actor_and_action,
    a_service_key_is_looked_up_until_revoked_in_one_transaction,
);

fn query(filter: ApiKeyFilter, limit: i64, cursor: Option<Cursor<ApiKeyId>>) -> ApiKeyQuery {
    ApiKeyQuery {
        filter,
        limit: PageLimit::parse(limit).expect("valid limit"),
        cursor,
        ..Default::default()
    }
}

/// Every key the filter lists, following cursors page by page.
async fn list_all(
    store: &impl Store,
    tenant: &domain::TenantId,
    filter: ApiKeyFilter,
    limit: i64,
) -> Vec<ApiKey> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_api_keys(tenant, &query(filter.clone(), limit, cursor))
            .await
            .expect("listed");
        assert!(page.items.len() <= limit as usize);
        all.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

fn ids(keys: &[ApiKey]) -> Vec<ApiKeyId> {
    keys.iter().map(|key| key.id.clone()).collect()
}

async fn a_created_key_is_in_the_next_list_and_get(store: impl Store) {
    let c = catalog(&store).await;
    let key = create_key(&store, &c.tenant, &c.application, &c.arx).await;

    let page = store
        .list_api_keys(&c.tenant, &ApiKeyQuery::default())
        .await
        .expect("listed");
    assert_eq!(page.items, vec![key.clone()]);
    assert_eq!(page.next, None);
    assert_eq!(
        store.get_api_key(&c.tenant, &key.id).await.expect("read"),
        Some(key.clone())
    );

    let lookup = store
        .lookup_api_key(&key.id)
        .await
        .expect("read")
        .expect("lookup item");
    assert_eq!(lookup.tenant_id, c.tenant);
    assert_eq!(lookup.secret_hash, key.secret_hash);
    assert_eq!(lookup.status, ApiKeyStatus::Active);
}

async fn pages_return_every_key_once_newest_first(store: impl Store) {
    let c = catalog(&store).await;
    let mut created = Vec::new();
    for _ in 0..60 {
        created.push(
            create_key(&store, &c.tenant, &c.application, &c.arx)
                .await
                .id,
        );
    }
    created.reverse();

    let first = store
        .list_api_keys(&c.tenant, &query(ApiKeyFilter::default(), 25, None))
        .await
        .expect("listed");
    assert_eq!(first.items.len(), 25);
    let listed = list_all(&store, &c.tenant, ApiKeyFilter::default(), 25).await;
    assert_eq!(ids(&listed), created, "every key once, newest first");
}

async fn each_filter_works_alone_and_combined(store: impl Store) {
    let c = catalog(&store).await;
    let other_application = create_application(&store, &c.tenant, "Billing").await;
    let other_arx = create_arx(&store, &c.tenant, "Staging").await;
    let mut keys = Vec::new();
    for application in [&c.application, &other_application] {
        for arx in [&c.arx, &other_arx] {
            for _ in 0..3 {
                keys.push(create_key(&store, &c.tenant, application, arx).await);
            }
        }
    }
    // Delete one key of each application/Arx pair.
    for index in [0, 3, 6, 9] {
        keys[index] = delete_key(&store, &keys[index]).await;
    }
    keys.reverse();

    let filters = [
        ApiKeyFilter {
            application_id: Some(other_application.id.clone()),
            ..Default::default()
        },
        ApiKeyFilter {
            arx_id: Some(c.arx.id.clone()),
            ..Default::default()
        },
        ApiKeyFilter {
            status: Some(ApiKeyStatus::Deleted),
            ..Default::default()
        },
        ApiKeyFilter {
            status: Some(ApiKeyStatus::Active),
            ..Default::default()
        },
        ApiKeyFilter {
            application_id: Some(c.application.id.clone()),
            arx_id: Some(other_arx.id.clone()),
            status: Some(ApiKeyStatus::Active),
            ..Default::default()
        },
        ApiKeyFilter {
            arx_id: Some(other_arx.id.clone()),
            hide_deleted: true,
            ..Default::default()
        },
        ApiKeyFilter {
            arx_id: Some(other_arx.id.clone()),
            status: Some(ApiKeyStatus::Deleted),
            ..Default::default()
        },
    ];
    for filter in filters {
        let expected: Vec<ApiKey> = keys
            .iter()
            .filter(|key| filter.matches(key, domain::Timestamp::now()))
            .cloned()
            .collect();
        assert!(!expected.is_empty(), "the fixture covers {filter:?}");
        // A page size of 2 makes every filter cross page boundaries.
        let listed = list_all(&store, &c.tenant, filter.clone(), 2).await;
        assert_eq!(ids(&listed), ids(&expected), "{filter:?}");
    }
}

async fn counts_add_up_after_creates_and_deletes(store: impl Store) {
    let c = catalog(&store).await;
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        ApiKeyCounts::default()
    );
    let mut keys = Vec::new();
    for _ in 0..5 {
        keys.push(create_key(&store, &c.tenant, &c.application, &c.arx).await);
    }
    delete_key(&store, &keys[1]).await;
    delete_key(&store, &keys[3]).await;

    let counts = store.api_key_counts(&c.tenant).await.expect("read");
    assert_eq!(
        counts,
        ApiKeyCounts {
            total: 5,
            active: 3,
            deleted: 2,
            expired: 0,
            disabled: 0,
        }
    );
    let listed = list_all(&store, &c.tenant, ApiKeyFilter::default(), 100).await;
    let active = listed
        .iter()
        .filter(|k| k.status == ApiKeyStatus::Active)
        .count();
    assert_eq!(
        (listed.len(), active),
        (5, 3),
        "the counts agree with the list"
    );
}

async fn a_delete_whose_condition_no_longer_holds_changes_nothing(store: impl Store) {
    let c = catalog(&store).await;
    let key = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    let deleted = delete_key(&store, &key).await;
    assert_eq!(deleted.status, ApiKeyStatus::Deleted);
    assert_eq!(
        store.get_api_key(&c.tenant, &key.id).await.expect("read"),
        Some(deleted.clone())
    );
    let counts = store.api_key_counts(&c.tenant).await.expect("read");
    let events = store
        .list_audit_events(&c.tenant, PageLimit::default(), None)
        .await
        .expect("read");

    // A second delete from the same stale read (the key was active then).
    let again = key.delete(&author()).expect("active when read");
    let refused = store.write_api_key_change(&key, &again).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(Conflict::Changed))),
        "{refused:?}"
    );

    assert_eq!(
        store.get_api_key(&c.tenant, &key.id).await.expect("read"),
        Some(deleted.clone())
    );
    assert_eq!(store.api_key_counts(&c.tenant).await.expect("read"), counts);
    // A purge from the same stale read (the sweep's view of an active key) is
    // refused too, and the counts do not move.
    let purge = audit(&c.tenant, AuditAction::ApiKeyPurged, &key.id);
    let refused = store.purge_api_key(&key, &purge).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(Conflict::Changed))),
        "{refused:?}"
    );
    assert_eq!(
        store.get_api_key(&c.tenant, &key.id).await.expect("read"),
        Some(deleted)
    );
    assert_eq!(store.api_key_counts(&c.tenant).await.expect("read"), counts);
    let events_after = store
        .list_audit_events(&c.tenant, PageLimit::default(), None)
        .await
        .expect("read");
    assert_eq!(
        events_after.items, events.items,
        "no audit event for a refused delete"
    );
    let lookup = store
        .lookup_api_key(&key.id)
        .await
        .expect("read")
        .expect("lookup item");
    assert_eq!(
        lookup.status,
        ApiKeyStatus::Deleted,
        "a deleted key stops verifying"
    );
}

async fn another_tenant_sees_none_of_it(store: impl Store) {
    let c = catalog(&store).await;
    let key = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    let stranger = new_tenant();

    assert_eq!(
        store.get_api_key(&stranger, &key.id).await.expect("read"),
        None
    );
    let page = store
        .list_api_keys(&stranger, &ApiKeyQuery::default())
        .await
        .expect("listed");
    assert!(page.items.is_empty());
    let by_application = ApiKeyFilter {
        application_id: Some(c.application.id.clone()),
        ..Default::default()
    };
    assert!(
        list_all(&store, &stranger, by_application, 10)
            .await
            .is_empty()
    );
    assert_eq!(
        store.api_key_counts(&stranger).await.expect("read"),
        ApiKeyCounts::default()
    );
    assert_eq!(
        store
            .get_application(&stranger, &c.application.id)
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        store.get_arx(&stranger, &c.arx.id).await.expect("read"),
        None
    );
    let lists = (
        store
            .list_applications(&stranger, PageLimit::default(), None)
            .await
            .expect("read"),
        store
            .list_arx(&stranger, PageLimit::default(), None)
            .await
            .expect("read"),
        store
            .list_audit_events(&stranger, PageLimit::default(), None)
            .await
            .expect("read"),
    );
    assert!(lists.0.items.is_empty() && lists.1.items.is_empty() && lists.2.items.is_empty());

    // A key made for the stranger on the first tenant's application is refused:
    // the application is looked up under the stranger's own partition.
    let forged = new_key(&stranger, &c.application, &c.arx);
    let event = audit(&stranger, AuditAction::ApiKeyCreated, &forged.id);
    let refused = store.create_api_key(&forged, &event).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(Conflict::ApplicationNotAcceptingKeys))
        ),
        "{refused:?}"
    );
}

async fn concurrent_creates_all_persist(store: impl Store) {
    let c = catalog(&store).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, key) = (store.clone(), new_key(&c.tenant, &c.application, &c.arx));
            tokio::spawn(async move {
                let event = audit(&key.tenant_id, AuditAction::ApiKeyCreated, &key.id);
                store.create_api_key(&key, &event).await.map(|()| key.id)
            })
        })
        .collect();
    let mut created = HashSet::new();
    for task in tasks {
        created.insert(task.await.expect("task ran").expect("created"));
    }
    assert_eq!(created.len(), 50);

    let listed: HashSet<ApiKeyId> =
        ids(&list_all(&store, &c.tenant, ApiKeyFilter::default(), 100).await)
            .into_iter()
            .collect();
    assert_eq!(listed, created);
    let counts = store.api_key_counts(&c.tenant).await.expect("read");
    assert_eq!(
        counts,
        ApiKeyCounts {
            total: 50,
            active: 50,
            deleted: 0,
            expired: 0,
            disabled: 0,
        }
    );
}

async fn a_transaction_that_fails_one_condition_writes_nothing(store: impl Store) {
    let c = catalog(&store).await;
    let existing = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    let counts = store.api_key_counts(&c.tenant).await.expect("read");
    let existing_lookup = store
        .lookup_api_key(&existing.id)
        .await
        .expect("read")
        .expect("present");

    // The same id again: the key's own condition fails.
    let mut duplicate = new_key(&c.tenant, &c.application, &c.arx);
    duplicate.id = existing.id.clone();
    let event = audit(&c.tenant, AuditAction::ApiKeyCreated, &duplicate.id);
    let refused = store.create_api_key(&duplicate, &event).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(Conflict::AlreadyExists))),
        "{refused:?}"
    );
    assert_eq!(
        store
            .get_api_key(&c.tenant, &existing.id)
            .await
            .expect("read"),
        Some(existing.clone())
    );
    // Its lookup item too, hash and all: a duplicate cannot take over the id.
    assert_ne!(duplicate.secret_hash, existing.secret_hash);
    assert_eq!(
        store.lookup_api_key(&existing.id).await.expect("read"),
        Some(existing_lookup)
    );

    // A new key on a disabled Arx: only the Arx check fails.
    let mut disabled = c.arx.clone();
    disabled.status = ArxStatus::Disabled;
    let event = audit(&c.tenant, AuditAction::ArxDisabled, &c.arx.id);
    store
        .replace_arx(&disabled, ArxStatus::Active, &event)
        .await
        .expect("disabled");
    let events = store
        .list_audit_events(&c.tenant, PageLimit::default(), None)
        .await
        .expect("read");
    let key = new_key(&c.tenant, &c.application, &c.arx);
    let event = audit(&c.tenant, AuditAction::ApiKeyCreated, &key.id);
    let refused = store.create_api_key(&key, &event).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(Conflict::ArxNotAcceptingKeys))
        ),
        "{refused:?}"
    );

    assert_eq!(
        store.get_api_key(&c.tenant, &key.id).await.expect("read"),
        None
    );
    assert_eq!(store.lookup_api_key(&key.id).await.expect("read"), None);
    assert_eq!(store.api_key_counts(&c.tenant).await.expect("read"), counts);
    let audit_now = store
        .list_audit_events(&c.tenant, PageLimit::default(), None)
        .await
        .expect("read");
    assert_eq!(
        audit_now.items, events.items,
        "neither refused create was audited"
    );
    assert_eq!(
        ids(&list_all(&store, &c.tenant, ApiKeyFilter::default(), 100).await),
        vec![existing.id]
    );
}

async fn archived_applications_and_inactive_arx_refuse_new_keys(store: impl Store) {
    let c = catalog(&store).await;
    async fn try_create(
        store: &impl Store,
        tenant: &domain::TenantId,
        application: &domain::Application,
        arx: &domain::Arx,
    ) -> Result<(), StoreError> {
        let key = new_key(tenant, application, arx);
        let event = audit(tenant, AuditAction::ApiKeyCreated, &key.id);
        store.create_api_key(&key, &event).await
    }

    let mut archived = c.application.clone();
    archived.status = ApplicationStatus::Archived;
    let event = audit(&c.tenant, AuditAction::ApplicationArchived, &archived.id);
    store
        .replace_application(&archived, ApplicationStatus::Active, &event)
        .await
        .expect("archived");
    let stored = store
        .get_application(&c.tenant, &archived.id)
        .await
        .expect("read")
        .expect("present");
    assert!(!stored.accepts_new_keys());
    let refused = try_create(&store, &c.tenant, &c.application, &c.arx).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(Conflict::ApplicationNotAcceptingKeys))
        ),
        "{refused:?}"
    );

    // Archiving twice is a stale change: refused.
    let again = store
        .replace_application(&archived, ApplicationStatus::Active, &event)
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict(Conflict::Changed))),
        "{again:?}"
    );

    let application = create_application(&store, &c.tenant, "Fresh").await;
    for status in [ArxStatus::Disabled, ArxStatus::Deleted] {
        let arx = create_arx(&store, &c.tenant, "Doomed").await;
        let mut changed = arx.clone();
        changed.status = status;
        let event = audit(&c.tenant, AuditAction::ArxDisabled, &arx.id);
        store
            .replace_arx(&changed, ArxStatus::Active, &event)
            .await
            .expect("changed");
        assert!(
            !store
                .get_arx(&c.tenant, &arx.id)
                .await
                .expect("read")
                .expect("present")
                .accepts_new_keys()
        );
        let refused = try_create(&store, &c.tenant, &application, &arx).await;
        assert!(
            matches!(
                refused,
                Err(StoreError::Conflict(Conflict::ArxNotAcceptingKeys))
            ),
            "{status:?}: {refused:?}"
        );
    }
    assert!(
        try_create(&store, &c.tenant, &application, &c.arx)
            .await
            .is_ok(),
        "an active pair still works"
    );
}

async fn catalog_and_audit_lists_are_newest_first_and_paged(store: impl Store) {
    let c = catalog(&store).await;
    let mut applications = vec![c.application.id.clone()];
    for name in ["B", "C", "D", "E"] {
        applications.push(create_application(&store, &c.tenant, name).await.id);
    }
    applications.reverse();
    let limit = PageLimit::parse(2).expect("valid");
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_applications(&c.tenant, limit, cursor.as_ref())
            .await
            .expect("read");
        listed.extend(page.items.into_iter().map(|a| a.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, applications);

    let arx = store
        .list_arx(&c.tenant, PageLimit::default(), None)
        .await
        .expect("read");
    assert_eq!(arx.items, vec![c.arx.clone()]);

    let feedback = domain::Feedback {
        id: domain::FeedbackId::new(),
        tenant_id: c.tenant.clone(),
        user_id: user(),
        role: domain::Role::Developer,
        page: None,
        message: domain::FeedbackMessage::parse("Love it").expect("valid"),
        rating: Some(domain::Rating::parse(5).expect("valid")),
        created_at: domain::Timestamp::now(),
    };
    store.put_feedback(&feedback).await.expect("stored");

    let events = store
        .list_audit_events(&c.tenant, PageLimit::default(), None)
        .await
        .expect("read");
    let actions: Vec<AuditAction> = events.items.iter().map(|e| e.action).collect();
    assert_eq!(actions.len(), 6, "one event per create: {actions:?}");
    assert_eq!(actions[0], AuditAction::ApplicationCreated);
    assert_eq!(
        events.items[0].target_id,
        applications[0].to_string(),
        "newest first"
    );
    assert_eq!(actions[5], AuditAction::ApplicationCreated);
    assert_eq!(events.items[4].action, AuditAction::ArxCreated);
}

/// A key of the catalog's application and Arx that expires `after` from now.
async fn create_expiring_key(store: &impl Store, c: &Catalog, after: time::Duration) -> ApiKey {
    use domain::{ExpiresAt, Timestamp};
    let now = Timestamp::now();
    let mut key = new_key(&c.tenant, &c.application, &c.arx);
    key.expires_at = Some(ExpiresAt::parse(&now.plus(after).to_string(), now).expect("future"));
    let event = audit(&c.tenant, AuditAction::ApiKeyCreated, &key.id);
    store.create_api_key(&key, &event).await.expect("created");
    key
}

async fn a_key_past_its_expiry_counts_as_expired_before_the_sweep(store: impl Store) {
    let c = catalog(&store).await;
    let expiring = create_expiring_key(&store, &c, time::Duration::milliseconds(1500)).await;
    let lasting = create_expiring_key(&store, &c, time::Duration::days(1)).await;
    let counts = |active, expired| ApiKeyCounts {
        total: 2,
        active,
        deleted: 0,
        expired,
        disabled: 0,
    };
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        counts(2, 0)
    );

    // Past its expiry (the key's second is over) and not yet swept.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        counts(1, 1),
        "expired as soon as it reads expired"
    );
    // The sweep records it: the counts do not change again.
    let expiry = expiring.expire(&author()).expect("past its expiry");
    store
        .write_api_key_change(&expiring, &expiry)
        .await
        .expect("expired");
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        counts(1, 1)
    );
    // A deleted key with an expiry leaves the expiring index too.
    delete_key(&store, &lasting).await;
    let after_delete = store.api_key_counts(&c.tenant).await.expect("read");
    assert_eq!(
        (
            after_delete.active,
            after_delete.deleted,
            after_delete.expired
        ),
        (0, 1, 1)
    );
}

async fn the_sweep_finds_expires_and_purges_due_keys(store: impl Store) {
    use domain::Timestamp;
    use store::DueWork;

    let c = catalog(&store).await;
    let now = Timestamp::now();
    let expiring = create_expiring_key(&store, &c, time::Duration::seconds(5)).await;
    let soon = expiring.expires_at.expect("an expiry").at();
    let lasting = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    let day = soon.date();
    let limit = PageLimit::parse(10).expect("valid");
    let due = |work, until| {
        let store = store.clone();
        async move {
            ids(&store
                .due_api_keys(work, day, until, limit)
                .await
                .expect("read"))
        }
    };

    assert_eq!(
        due(DueWork::Notice, now).await,
        vec![],
        "not due before its expiry"
    );
    assert_eq!(
        due(DueWork::Notice, soon).await,
        vec![expiring.id.clone()],
        "owed its expiry notice first"
    );
    assert_eq!(due(DueWork::Expire, soon).await, vec![]);
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read").active,
        2
    );

    // Claiming the notice moves the key to the expiry list, once, and keeps
    // what a verify wrote since the key was read.
    let used_at = Timestamp::now();
    store
        .record_use(&c.tenant, &expiring.id, used_at, time::Duration::ZERO)
        .await
        .expect("recorded");
    let told = store
        .set_expiry_notice_sent(&expiring, Some(now))
        .await
        .expect("claimed");
    assert_eq!(told.expiry_notice_sent_at, Some(now));
    let stored = store
        .get_api_key(&c.tenant, &expiring.id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(stored.expiry_notice_sent_at, Some(now));
    assert_eq!(
        stored.last_used_at,
        Some(used_at),
        "the verify's write is kept"
    );
    let twice = store.set_expiry_notice_sent(&expiring, Some(now)).await;
    assert!(
        matches!(twice, Err(StoreError::Conflict(Conflict::Changed))),
        "a notice is claimed once: {twice:?}"
    );
    assert_eq!(due(DueWork::Notice, soon).await, vec![]);
    assert_eq!(due(DueWork::Expire, soon).await, vec![expiring.id.clone()]);
    let expiring = told;

    let expiry = expiring
        .expire(&author_at(soon.plus(time::Duration::seconds(1))))
        .expect("past its expiry");
    store
        .write_api_key_change(&expiring, &expiry)
        .await
        .expect("expired");
    let expired = expiry.next.clone();
    assert_eq!(expired.status, ApiKeyStatus::Expired);
    // Expired once: the domain refuses a second expiry, and the store a
    // second write of the first from the same read.
    assert!(matches!(
        expired.expire(&author()),
        Err(domain::Refusal::Status { .. })
    ));
    let again = store.write_api_key_change(&expiring, &expiry).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(Conflict::Changed))),
        "{again:?}"
    );
    assert_eq!(
        due(DueWork::Expire, soon).await,
        vec![],
        "expired keys leave the expiry list"
    );
    assert_eq!(
        due(DueWork::Purge, soon).await,
        vec![expiring.id.clone()],
        "and wait for their purge"
    );
    let counts = store.api_key_counts(&c.tenant).await.expect("read");
    assert_eq!(
        counts,
        ApiKeyCounts {
            total: 2,
            active: 1,
            deleted: 0,
            expired: 1,
            disabled: 0,
        }
    );
    let lookup = store
        .lookup_api_key(&expiring.id)
        .await
        .expect("read")
        .expect("present");
    assert!(!lookup.usable_at(now), "an expired key stops working");

    let deleted = delete_key(&store, &lasting).await;
    let deleted_day = deleted.deleted_at.expect("deleted at").date();
    let purge_due = store
        .due_api_keys(
            DueWork::Purge,
            deleted_day,
            deleted.deleted_at.expect("set"),
            limit,
        )
        .await
        .expect("read");
    assert!(ids(&purge_due).contains(&deleted.id));

    for key in [&expired, &deleted] {
        let event = audit(&c.tenant, AuditAction::ApiKeyPurged, &key.id);
        store.purge_api_key(key, &event).await.expect("purged");
        assert_eq!(
            store.get_api_key(&c.tenant, &key.id).await.expect("read"),
            None
        );
        assert_eq!(store.lookup_api_key(&key.id).await.expect("read"), None);
    }
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        ApiKeyCounts::default()
    );
    assert!(
        list_all(&store, &c.tenant, ApiKeyFilter::default(), 10)
            .await
            .is_empty()
    );
    assert_eq!(due(DueWork::Purge, soon).await, vec![]);
    let events = store
        .list_audit_events(&c.tenant, PageLimit::parse(100).expect("valid"), None)
        .await
        .expect("read");
    let about_expiring = events
        .items
        .iter()
        .filter(|e| e.target_id == expiring.id.to_string())
        .count();
    assert_eq!(
        about_expiring, 3,
        "created, expired and purged stay in the audit log"
    );
}

/// Disable and enable (the suspend route): the key, its lookup item (what
/// verification reads), the counts and the audit log move together, and a
/// change from a stale read is refused and writes nothing.
async fn a_key_is_suspended_and_resumed_with_its_lookup_counts_and_audit(store: impl Store) {
    let c = catalog(&store).await;
    let key = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    let counts = |active, disabled| ApiKeyCounts {
        total: 1,
        active,
        deleted: 0,
        expired: 0,
        disabled,
    };

    let off = key.disable(&author()).expect("active");
    store
        .write_api_key_change(&key, &off)
        .await
        .expect("disabled");
    let disabled = off.next;
    assert_eq!(disabled.status, ApiKeyStatus::Disabled);
    assert_eq!(
        store.get_api_key(&c.tenant, &key.id).await.expect("read"),
        Some(disabled.clone())
    );
    assert_eq!(lookup_status(&store, &key.id).await, ApiKeyStatus::Disabled);
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        counts(0, 1)
    );
    let disabled_only = list_all(
        &store,
        &c.tenant,
        ApiKeyFilter {
            status: Some(ApiKeyStatus::Disabled),
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(
        disabled_only,
        std::slice::from_ref(&disabled),
        "the status filter follows"
    );

    // A second disable from the same stale (active) read changes nothing.
    let again = key.disable(&author()).expect("active when read");
    let refused = store.write_api_key_change(&key, &again).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(Conflict::Changed))),
        "{refused:?}"
    );
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        counts(0, 1)
    );

    let on = disabled.enable(&author()).expect("disabled");
    store
        .write_api_key_change(&disabled, &on)
        .await
        .expect("enabled");
    let enabled = on.next;
    assert_eq!(enabled.status, ApiKeyStatus::Active);
    assert_eq!(lookup_status(&store, &key.id).await, ApiKeyStatus::Active);
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        counts(1, 0)
    );
    let events = store
        .list_audit_events(&c.tenant, PageLimit::default(), None)
        .await
        .expect("read");
    let actions: Vec<AuditAction> = events
        .items
        .iter()
        .filter(|e| e.target_id == key.id.as_str())
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            AuditAction::ApiKeyEnabled,
            AuditAction::ApiKeyDisabled,
            AuditAction::ApiKeyCreated
        ],
        "newest first, and nothing for the refused change"
    );
}

/// The status verification reads for a key (its lookup item).
async fn lookup_status(store: &impl Store, id: &ApiKeyId) -> ApiKeyStatus {
    store
        .lookup_api_key(id)
        .await
        .expect("read")
        .expect("lookup item")
        .status
}

/// Rotation writes the replaced key (its new end and `rotated_to`), the new
/// key, both lookup items, the counts and one audit event together; a second
/// rotation from the same stale read, or onto an archived application, is
/// refused and writes nothing.
async fn a_key_is_rotated_once_in_one_transaction(store: impl Store) {
    let c = catalog(&store).await;
    let old = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    // A rotation as the domain decides one, written over `old`'s revision.
    let rotation = |old: &ApiKey| {
        let mut new = new_key(&c.tenant, &c.application, &c.arx);
        new.rotated_from = Some(old.id.clone());
        let rotated = ApiKey {
            expires_at: Some(domain::ExpiresAt::ending(
                Timestamp::now().plus(time::Duration::hours(1)),
            )),
            rotated_to: Some(new.id.clone()),
            revision: old.revision.next(),
            ..old.clone()
        };
        let audit = [
            audit(&c.tenant, AuditAction::ApiKeyRotated, &old.id),
            audit(&c.tenant, AuditAction::ApiKeyCreated, &new.id),
        ];
        domain::Rotation {
            rotated,
            replacement: new,
            audit,
        }
    };
    let written = rotation(&old);
    let new = written.replacement.clone();
    store.rotate_api_key(&old, &written).await.expect("rotated");
    assert_eq!(
        store.get_api_key(&c.tenant, &old.id).await.expect("read"),
        Some(written.rotated.clone()),
        "the rotated record, as the revision after the one read"
    );
    assert_eq!(
        store.get_api_key(&c.tenant, &new.id).await.expect("read"),
        Some(new.clone())
    );
    let old_lookup = store
        .lookup_api_key(&old.id)
        .await
        .expect("read")
        .expect("lookup");
    assert_eq!(
        old_lookup.expires_at, written.rotated.expires_at,
        "verification sees the grace period's end"
    );
    assert_eq!(lookup_status(&store, &new.id).await, ApiKeyStatus::Active);
    let counts = store.api_key_counts(&c.tenant).await.expect("read");
    assert_eq!((counts.total, counts.active), (2, 2));

    // The same stale read again: refused, nothing written.
    let stale = rotation(&old);
    let refused = store.rotate_api_key(&old, &stale).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(Conflict::Changed))),
        "{refused:?}"
    );
    let stale_new = &stale.replacement;
    assert_eq!(
        store
            .get_api_key(&c.tenant, &stale_new.id)
            .await
            .expect("read"),
        None
    );
    assert!(
        store
            .lookup_api_key(&stale_new.id)
            .await
            .expect("read")
            .is_none()
    );

    // Onto an archived application: refused, the key not marked rotated.
    let mut archived = c.application.clone();
    archived.status = ApplicationStatus::Archived;
    let archive = audit(&c.tenant, AuditAction::ApplicationArchived, &archived.id);
    store
        .replace_application(&archived, ApplicationStatus::Active, &archive)
        .await
        .expect("archived");
    let late = rotation(&new);
    let refused = store.rotate_api_key(&new, &late).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(Conflict::ApplicationNotAcceptingKeys))
        ),
        "{refused:?}"
    );
    assert_eq!(
        store.get_api_key(&c.tenant, &new.id).await.expect("read"),
        Some(new)
    );
    assert_eq!(store.api_key_counts(&c.tenant).await.expect("read"), counts);
}

/// Each audit filter reads its own index: a page holds only what it names,
/// newest first, paged by the cursor with nothing repeated or skipped, and
/// never another tenant's events; filters combine, and a time range bounds
/// the read.
async fn audit_events_are_listed_by_object_actor_and_action(store: impl Store) {
    use store::{AuditFilter, AuditQuery};
    let c = catalog(&store).await;
    let first = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    let second = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    delete_key(&store, &first).await;
    let other = catalog(&store).await;
    create_key(&store, &other.tenant, &other.application, &other.arx).await;

    let all_of = |query: AuditQuery| {
        let store = store.clone();
        let tenant = c.tenant.clone();
        async move {
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = store
                    .list_audit_events_by(
                        &tenant,
                        &query,
                        PageLimit::parse(1).expect("1"),
                        cursor.as_ref(),
                    )
                    .await
                    .expect("listed");
                seen.extend(page.items);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => return seen,
                }
            }
        }
    };
    let all_pages = |filter: AuditFilter| {
        all_of(AuditQuery {
            filters: vec![filter],
            ..Default::default()
        })
    };
    let about_first = all_pages(AuditFilter::Object(first.id.to_string())).await;
    let actions: Vec<AuditAction> = about_first.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [AuditAction::ApiKeyDeleted, AuditAction::ApiKeyCreated],
        "newest first, one page at a time"
    );
    assert!(about_first.iter().all(|e| e.target_id == first.id.as_str()));

    let created = all_pages(AuditFilter::Action(AuditAction::ApiKeyCreated)).await;
    let targets: Vec<&str> = created.iter().map(|e| e.target_id.as_str()).collect();
    assert_eq!(targets, [second.id.as_str(), first.id.as_str()]);

    let by_user = all_pages(AuditFilter::Actor(user().to_string())).await;
    assert_eq!(
        by_user.len(),
        5,
        "application, Arx, two creates and a delete: {by_user:?}"
    );
    assert!(
        by_user.iter().all(|e| e.tenant_id == c.tenant),
        "never another tenant's"
    );
    let ids: HashSet<_> = by_user.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), by_user.len(), "nothing repeated across pages");

    let nobody = all_pages(AuditFilter::Actor("someone-else".into())).await;
    assert!(nobody.is_empty());

    // Several at once: the first picks the index, the others are checked.
    let first_created = all_of(AuditQuery {
        filters: vec![
            AuditFilter::Object(first.id.to_string()),
            AuditFilter::Actor(user().to_string()),
            AuditFilter::Action(AuditAction::ApiKeyCreated),
        ],
        ..Default::default()
    })
    .await;
    assert_eq!(first_created.len(), 1);
    assert_eq!(first_created[0].target_id, first.id.as_str());
    assert_eq!(first_created[0].action, AuditAction::ApiKeyCreated);
    // A time range, alone and with a filter: now's events are in today's
    // range, none in a range that ended an hour ago.
    let now = Timestamp::now();
    let hour = time::Duration::hours(1);
    let today = all_of(AuditQuery {
        from: Some(now.plus(-hour)),
        to: Some(now.plus(hour)),
        ..Default::default()
    })
    .await;
    assert_eq!(
        today.len(),
        by_user.len(),
        "every event of the tenant: {today:?}"
    );
    let earlier = all_of(AuditQuery {
        filters: vec![AuditFilter::Actor(user().to_string())],
        to: Some(now.plus(-hour)),
        ..Default::default()
    })
    .await;
    assert!(earlier.is_empty(), "{earlier:?}");
    let later = all_of(AuditQuery {
        from: Some(now.plus(hour)),
        ..Default::default()
    })
    .await;
    assert!(later.is_empty(), "{later:?}");
}

async fn a_service_key_is_looked_up_until_revoked_in_one_transaction(store: impl Store) {
    use domain::{
        AccessKey, KeyHasher, KeyPrefix, Role, ServiceKey, ServiceKeyName, ServiceKeyStatus,
    };
    use store::AuditFilter;

    let tenant = new_tenant();
    let other = new_tenant();
    let hasher = KeyHasher::new(64, 1, 1).expect("valid params");
    let make = |name: &str| {
        let (id, secret) =
            AccessKey::generate_service_key(&KeyPrefix::default().for_service_keys());
        ServiceKey {
            id,
            tenant_id: tenant.clone(),
            name: ServiceKeyName::parse(name).expect("valid"),
            role: Role::Verifier,
            status: ServiceKeyStatus::Active,
            created_at: Timestamp::now(),
            created_by: user(),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
            secret_hash: hasher.hash(&secret).expect("hashed"),
        }
    };
    let first = make("first");
    let second = make("second");
    for key in [&first, &second] {
        let created = audit(&tenant, AuditAction::ServiceKeyCreated, &key.id);
        store
            .create_service_key(key, &created)
            .await
            .expect("created");
    }
    // The same id twice: refused, nothing written.
    let again = audit(&tenant, AuditAction::ServiceKeyCreated, &first.id);
    assert!(matches!(
        store.create_service_key(&first, &again).await,
        Err(StoreError::Conflict(Conflict::AlreadyExists))
    ));

    assert_eq!(
        store.lookup_service_key(&first.id).await.expect("read"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .get_service_key(&tenant, &first.id)
            .await
            .expect("read"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .get_service_key(&other, &first.id)
            .await
            .expect("read"),
        None
    );
    let limit = PageLimit::parse(1).expect("valid");
    let page = store
        .list_service_keys(&tenant, limit, None)
        .await
        .expect("listed");
    assert_eq!(page.items, vec![second.clone()], "newest first");
    let rest = store
        .list_service_keys(&tenant, limit, page.next.as_ref())
        .await
        .expect("listed");
    assert_eq!(rest.items, vec![first.clone()]);
    assert!(rest.next.is_none());
    let none = store
        .list_service_keys(&other, limit, None)
        .await
        .expect("listed");
    assert!(none.items.is_empty(), "another tenant sees none of it");

    let used_at = Timestamp::now();
    store
        .record_service_key_use(&tenant, &first.id, used_at)
        .await
        .expect("recorded");
    let used = store
        .get_service_key(&tenant, &first.id)
        .await
        .expect("read");
    assert_eq!(used.and_then(|key| key.last_used_at), Some(used_at));

    let (revoked, event) = first.revoke(&author()).expect("active");
    store
        .revoke_service_key(&revoked, &event)
        .await
        .expect("revoked");
    assert_eq!(
        store.lookup_service_key(&first.id).await.expect("read"),
        None
    );
    let stored = store
        .get_service_key(&tenant, &first.id)
        .await
        .expect("read")
        .expect("still listed");
    assert_eq!(stored.status, ServiceKeyStatus::Revoked);
    // Revoked from a copy read before its use was recorded: the use stays.
    assert_eq!(
        stored.last_used_at,
        Some(used_at),
        "a revocation undid a use"
    );
    // A second revocation fails its condition and writes nothing (no event).
    let twice = audit(&tenant, AuditAction::ServiceKeyRevoked, &first.id);
    assert!(matches!(
        store.revoke_service_key(&revoked, &twice).await,
        Err(StoreError::Conflict(Conflict::Changed))
    ));
    let events = store
        .list_audit_events_by(
            &tenant,
            &store::AuditQuery {
                filters: vec![AuditFilter::Object(first.id.to_string())],
                ..Default::default()
            },
            PageLimit::parse(10).expect("valid"),
            None,
        )
        .await
        .expect("listed");
    let actions: Vec<AuditAction> = events.items.iter().map(|event| event.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::ServiceKeyRevoked,
            AuditAction::ServiceKeyCreated
        ]
    );
    assert!(
        store
            .lookup_service_key(&second.id)
            .await
            .expect("read")
            .is_some()
    );
}
