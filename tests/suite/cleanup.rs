//! The cleanup jobs against both stores: the stream cascade (synthetic records,
//! and real ones read back from the DynamoDB server's stream), idempotency,
//! partial failure, and the sweep's expiry and purge.

use aws_lambda_events::event::dynamodb::Event;
use domain::{
    ApiKey, ApiKeyCounts, ApiKeyStatus, ApplicationStatus, ArxStatus, AuditAction, ExpiresAt,
    NoticePeriod, PageLimit, Timestamp,
};
use jobs::stream::{BatchItemFailure, BatchResponse};
use jobs::{CascadeOutcome, Deadline, SweepError, SweepPolicy};
use notify::{ExpiryNotice, LeakNotice, NoticeError, Notifier};
use serde_json::{Value, json};
use std::sync::Mutex;
use store::{ApiKeyFilter, ApiKeyQuery};

use time::Duration;

use crate::store_contract::backends::Store;
use crate::store_contract::fixtures::*;

macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let (store, _dir) = crate::store_contract::backends::embedded();
                    super::$test(store).await;
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(crate::store_contract::backends::dynamodb().await).await;
                }
            )*
        }
    };
}

on_both_stores!(
    an_archive_record_deletes_the_applications_keys_once,
    a_poisoned_record_is_reported_alone,
    keys_on_two_pages_are_all_cascaded,
    the_sweep_expires_then_purges_exactly_what_is_past_retention,
    the_sweep_sends_one_expiry_notice_per_key,
    two_sweeps_at_once_send_one_notice,
    a_notice_that_fails_to_publish_is_sent_by_the_next_sweep,
    an_archive_owes_a_cascade_until_it_has_run,
    the_sweep_runs_a_cascade_the_stream_dropped,
    near_the_deadline_the_jobs_stop_and_leave_the_rest_for_later,
);

/// A stream record as Lambda delivers it, for an item's new image.
fn record(sequence: &str, new_image: Value) -> Value {
    json!({
        "eventID": format!("event-{sequence}"), "eventName": "MODIFY", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-11-26T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795687200.0, "Keys": {}, "NewImage": new_image,
            "SequenceNumber": sequence, "SizeBytes": 512, "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    })
}

fn image(entity_type: &str, tenant: &str, id: &str, status: &str) -> Value {
    json!({
        "entity_type": {"S": entity_type}, "tenant_id": {"S": tenant},
        "id": {"S": id}, "status": {"S": status}
    })
}

fn batch(records: Vec<Value>) -> Event {
    serde_json::from_value(json!({ "Records": records })).expect("a stream event")
}

async fn statuses(
    store: &impl Store,
    tenant: &domain::TenantId,
    filter: ApiKeyFilter,
) -> Vec<ApiKeyStatus> {
    let query = ApiKeyQuery {
        filter,
        limit: PageLimit::LARGEST,
        ..Default::default()
    };
    let page = store.list_api_keys(tenant, &query).await.expect("listed");
    page.items.iter().map(|key| key.status).collect()
}

async fn audit_count(store: &impl Store, tenant: &domain::TenantId) -> usize {
    store
        .list_audit_events(tenant, PageLimit::LARGEST, None)
        .await
        .expect("read")
        .items
        .len()
}

async fn an_archive_record_deletes_the_applications_keys_once(store: impl Store) {
    let c = catalog(&store).await;
    let other = create_application(&store, &c.tenant, "Other").await;
    for _ in 0..3 {
        create_key(&store, &c.tenant, &c.application, &c.arx).await;
    }
    let kept = create_key(&store, &c.tenant, &other, &c.arx).await;
    archive(&store, &c.application).await;

    let records = batch(vec![
        record(
            "100",
            image("api_key", c.tenant.as_str(), kept.id.as_str(), "active"),
        ),
        record(
            "200",
            image(
                "application",
                c.tenant.as_str(),
                c.application.id.as_str(),
                "archived",
            ),
        ),
    ]);
    assert_eq!(
        jobs::stream::handle(&store, &records, Deadline::NONE).await,
        BatchResponse::default()
    );

    let of_archived = ApiKeyFilter {
        application_id: Some(c.application.id.clone()),
        ..Default::default()
    };
    assert_eq!(
        statuses(&store, &c.tenant, of_archived.clone()).await,
        vec![ApiKeyStatus::Deleted; 3]
    );
    let deleted = store
        .list_api_keys(
            &c.tenant,
            &ApiKeyQuery {
                filter: of_archived.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("listed");
    assert!(deleted.items.iter().all(|key| {
        key.deleted_by
            .as_ref()
            .is_some_and(|by| by.to_string() == "system:cascade")
    }));
    assert_eq!(
        store
            .get_api_key(&c.tenant, &kept.id)
            .await
            .expect("read")
            .map(|k| k.status),
        Some(ApiKeyStatus::Active)
    );
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        ApiKeyCounts {
            total: 4,
            active: 1,
            deleted: 3,
            expired: 0,
            disabled: 0,
        }
    );

    // The same batch again (Lambda delivers at least once): nothing changes.
    let events = audit_count(&store, &c.tenant).await;
    assert_eq!(
        jobs::stream::handle(&store, &records, Deadline::NONE).await,
        BatchResponse::default()
    );
    assert_eq!(audit_count(&store, &c.tenant).await, events);
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        ApiKeyCounts {
            total: 4,
            active: 1,
            deleted: 3,
            expired: 0,
            disabled: 0,
        }
    );
}

async fn a_poisoned_record_is_reported_alone(store: impl Store) {
    let c = catalog(&store).await;
    let key = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    delete_arx(&store, &c.arx).await;

    let records = batch(vec![
        record(
            "100",
            image(
                "application",
                "bad#tenant",
                c.application.id.as_str(),
                "archived",
            ),
        ),
        record(
            "200",
            image("arx", c.tenant.as_str(), c.arx.id.as_str(), "deleted"),
        ),
        record(
            "300",
            image("application", c.tenant.as_str(), "not-an-id", "archived"),
        ),
    ]);
    let response = jobs::stream::handle(&store, &records, Deadline::NONE).await;
    let failed: Vec<BatchItemFailure> = ["100", "300"]
        .into_iter()
        .map(|sequence| BatchItemFailure {
            item_identifier: sequence.into(),
        })
        .collect();
    assert_eq!(
        response.batch_item_failures, failed,
        "exactly the poisoned records"
    );
    let wire = serde_json::to_value(&response).expect("JSON");
    assert_eq!(
        wire["batchItemFailures"][0]["itemIdentifier"], "100",
        "the shape Lambda reads"
    );
    let status = store
        .get_api_key(&c.tenant, &key.id)
        .await
        .expect("read")
        .map(|k| k.status);
    assert_eq!(
        status,
        Some(ApiKeyStatus::Deleted),
        "the good record in between was processed"
    );
}

/// 300 keys on the embedded store. The DynamoDB test server slows down with
/// table size inside transactions (moto backs the table up for each one), so
/// there the same check runs on 120 keys: still two cascade pages of 100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_keys_are_all_cascaded() {
    let (store, _dir) = crate::store_contract::backends::embedded();
    every_key_is_cascaded(store, 300).await;
}

async fn keys_on_two_pages_are_all_cascaded(store: impl Store) {
    every_key_is_cascaded(store, 120).await;
}

async fn every_key_is_cascaded(store: impl Store, count: u64) {
    let c = catalog(&store).await;
    for _ in 0..count {
        create_key(&store, &c.tenant, &c.application, &c.arx).await;
    }
    let target = jobs::CascadeTarget::Arx {
        tenant: c.tenant.clone(),
        id: c.arx.id.clone(),
    };
    let deleted = usize::try_from(count).expect("fits");
    assert_eq!(
        jobs::cascade(&store, &target, Deadline::NONE)
            .await
            .expect("cascaded"),
        CascadeOutcome::Finished { deleted }
    );
    let counts = store.api_key_counts(&c.tenant).await.expect("read");
    assert_eq!(
        counts,
        ApiKeyCounts {
            total: count,
            active: 0,
            deleted: count,
            expired: 0,
            disabled: 0,
        }
    );
    assert_eq!(
        jobs::cascade(&store, &target, Deadline::NONE)
            .await
            .expect("cascaded"),
        CascadeOutcome::Finished { deleted: 0 },
        "a second run finds nothing"
    );
}

async fn the_sweep_expires_then_purges_exactly_what_is_past_retention(store: impl Store) {
    let c = catalog(&store).await;
    let t0 = Timestamp::now();
    let retention = Duration::days(30);
    let [early, late, active] = [(); 3].map(|_| new_key(&c.tenant, &c.application, &c.arx));
    let mut expiring = new_key(&c.tenant, &c.application, &c.arx);
    expiring.expires_at =
        Some(ExpiresAt::parse(&t0.plus(Duration::seconds(5)).to_string(), t0).expect("future"));
    for key in [&early, &late, &active, &expiring] {
        let event = audit(&c.tenant, AuditAction::ApiKeyCreated, &key.id);
        store.create_api_key(key, &event).await.expect("created");
    }
    // Deleted now, and (as the store sees it) ten days from now.
    let deletion = early.delete(&author()).expect("deletable");
    store
        .write_api_key_change(&early, &deletion)
        .await
        .expect("deleted");
    let deletion = late
        .delete(&author_at(t0.plus(Duration::days(10))))
        .expect("deletable");
    store
        .write_api_key_change(&late, &deletion)
        .await
        .expect("deleted");

    let policy = SweepPolicy {
        retention,
        notice: NoticePeriod::days(0).expect("off"),
    };
    let notices = Notices::default();
    let sweep = |at| jobs::sweep(&store, &notices, at, policy, Deadline::NONE);
    let first = sweep(t0).await.expect("swept");
    assert_eq!((first.expired, first.purged), (0, 0), "nothing due yet");

    let next_day = sweep(t0.plus(Duration::days(1))).await.expect("swept");
    assert_eq!((next_day.expired, next_day.purged), (1, 0));
    let swept = store
        .get_api_key(&c.tenant, &expiring.id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(swept.status, ApiKeyStatus::Expired);
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        ApiKeyCounts {
            total: 4,
            active: 1,
            deleted: 2,
            expired: 1,
            disabled: 0,
        }
    );

    let month_later = t0.plus(Duration::days(31));
    let purge = sweep(month_later).await.expect("swept");
    assert_eq!(
        (purge.expired, purge.purged),
        (0, 2),
        "the early delete and the expiry, not the late delete"
    );
    for gone in [&early, &expiring] {
        assert_eq!(
            store.get_api_key(&c.tenant, &gone.id).await.expect("read"),
            None
        );
        assert_eq!(store.lookup_api_key(&gone.id).await.expect("read"), None);
    }
    for kept in [&late, &active] {
        assert!(
            store
                .get_api_key(&c.tenant, &kept.id)
                .await
                .expect("read")
                .is_some()
        );
    }
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        ApiKeyCounts {
            total: 2,
            active: 1,
            deleted: 1,
            expired: 0,
            disabled: 0,
        }
    );
    let events = store
        .list_audit_events(&c.tenant, PageLimit::LARGEST, None)
        .await
        .expect("read")
        .items;
    assert!(
        events
            .iter()
            .any(|e| e.target_id == early.id.to_string() && e.action == AuditAction::ApiKeyCreated),
        "audit events stay"
    );

    let again = sweep(month_later).await.expect("swept");
    assert_eq!(
        (again.expired, again.purged),
        (0, 0),
        "a second sweep changes nothing"
    );
}

/// Records the notices it is given, or refuses them all (`failing`).
#[derive(Default)]
struct Notices {
    sent: Mutex<Vec<(String, Timestamp)>>,
    failing: bool,
}

impl Notices {
    fn failing() -> Self {
        Self {
            failing: true,
            ..Self::default()
        }
    }

    fn sent(&self) -> Vec<(String, Timestamp)> {
        self.sent.lock().expect("not poisoned").clone()
    }
}

impl Notifier for Notices {
    async fn expiry_notice(&self, notice: &ExpiryNotice<'_>) -> Result<(), NoticeError> {
        if self.failing {
            return Err("the topic refused the notice".into());
        }
        let sent = (notice.key.api_key_id.to_owned(), notice.expires_at);
        self.sent.lock().expect("not poisoned").push(sent);
        Ok(())
    }

    async fn leak_notice(&self, _notice: &LeakNotice<'_>) -> Result<(), NoticeError> {
        Err("the sweep sends no leak notices".into())
    }

    async fn service_key_leak_notice(
        &self,
        _notice: &notify::ServiceKeyLeakNotice<'_>,
    ) -> Result<(), NoticeError> {
        Err("the sweep sends no leak notices".into())
    }
}

const NOTICE_DAYS: u16 = 7;

pub(crate) fn notice_policy() -> SweepPolicy {
    SweepPolicy {
        retention: Duration::days(30),
        notice: NoticePeriod::days(NOTICE_DAYS).expect("in range"),
    }
}

/// A stored key of the catalog's that expires `days` after `now`.
pub(crate) async fn create_key_ending(
    store: &impl Store,
    c: &Catalog,
    now: Timestamp,
    days: i64,
) -> ApiKey {
    let mut key = new_key(&c.tenant, &c.application, &c.arx);
    key.expires_at = Some(ExpiresAt::ending(now.plus(Duration::days(days))));
    let event = audit(&c.tenant, AuditAction::ApiKeyCreated, &key.id);
    store.create_api_key(&key, &event).await.expect("created");
    key
}

async fn stored(store: &impl Store, key: &ApiKey) -> ApiKey {
    store
        .get_api_key(&key.tenant_id, &key.id)
        .await
        .expect("read")
        .expect("present")
}

async fn the_sweep_sends_one_expiry_notice_per_key(store: impl Store) {
    let c = catalog(&store).await;
    let t0 = Timestamp::now();
    let soon = create_key_ending(&store, &c, t0, 3).await;
    let later = create_key_ending(&store, &c, t0, 20).await;
    let paused = create_key_ending(&store, &c, t0, 2).await;
    let pause = paused.disable(&author()).expect("active");
    store
        .write_api_key_change(&paused, &pause)
        .await
        .expect("disabled");
    create_key(&store, &c.tenant, &c.application, &c.arx).await; // never expires
    let notices = Notices::default();

    let first = jobs::sweep(&store, &notices, t0, notice_policy(), Deadline::NONE)
        .await
        .expect("swept");
    assert_eq!(first.noticed, 1, "only the active key within 7 days");
    let expected = (soon.id.to_string(), soon.expires_at.expect("set").at());
    assert_eq!(notices.sent(), vec![expected.clone()]);
    let told = stored(&store, &soon).await;
    assert_eq!(told.expiry_notice_sent_at, Some(t0));
    assert_eq!(
        told.status,
        ApiKeyStatus::Active,
        "a notice changes nothing else"
    );

    let again = jobs::sweep(
        &store,
        &notices,
        t0.plus(Duration::hours(1)),
        notice_policy(),
        Deadline::NONE,
    )
    .await
    .expect("swept");
    assert_eq!(again.noticed, 0, "never twice");
    assert_eq!(notices.sent().len(), 1);

    // Two weeks on: `soon` has expired (expired from the expire partition, not
    // told again), `later` is now within the period.
    let two_weeks = t0.plus(Duration::days(14));
    let report = jobs::sweep(&store, &notices, two_weeks, notice_policy(), Deadline::NONE)
        .await
        .expect("swept");
    assert_eq!((report.expired, report.noticed), (1, 1));
    let later_notice = (later.id.to_string(), later.expires_at.expect("set").at());
    assert_eq!(notices.sent(), vec![expected, later_notice]);
    assert_eq!(stored(&store, &soon).await.status, ApiKeyStatus::Expired);
    assert_eq!(
        stored(&store, &paused).await.expiry_notice_sent_at,
        None,
        "a disabled key is not told it expires"
    );
}

async fn two_sweeps_at_once_send_one_notice(store: impl Store) {
    let c = catalog(&store).await;
    let t0 = Timestamp::now();
    let keys = [(); 5].map(|_| create_key_ending(&store, &c, t0, 1));
    let mut created = Vec::new();
    for key in keys {
        created.push(key.await);
    }
    let notices = Notices::default();
    let (a, b) = tokio::join!(
        jobs::sweep(&store, &notices, t0, notice_policy(), Deadline::NONE),
        jobs::sweep(&store, &notices, t0, notice_policy(), Deadline::NONE),
    );
    let (a, b) = (a.expect("swept"), b.expect("swept"));
    assert_eq!(a.noticed + b.noticed, created.len());
    let mut told: Vec<String> = notices.sent().into_iter().map(|(id, _)| id).collect();
    told.sort();
    let mut expected: Vec<String> = created.iter().map(|k| k.id.to_string()).collect();
    expected.sort();
    assert_eq!(told, expected, "each key told exactly once");
}

async fn a_notice_that_fails_to_publish_is_sent_by_the_next_sweep(store: impl Store) {
    let c = catalog(&store).await;
    let t0 = Timestamp::now();
    let key = create_key_ending(&store, &c, t0, 2).await;

    let refused = jobs::sweep(
        &store,
        &Notices::failing(),
        t0,
        notice_policy(),
        Deadline::NONE,
    )
    .await;
    assert!(
        matches!(refused, Err(SweepError::Notice(_))),
        "a failed publish fails the sweep: {refused:?}"
    );
    assert_eq!(
        stored(&store, &key).await.expiry_notice_sent_at,
        None,
        "the claim is given back"
    );

    let notices = Notices::default();
    let retried = jobs::sweep(&store, &notices, t0, notice_policy(), Deadline::NONE)
        .await
        .expect("swept");
    assert_eq!(retried.noticed, 1);
    assert_eq!(notices.sent().len(), 1);
}

async fn archive(store: &impl Store, application: &domain::Application) {
    let mut archived = application.clone();
    archived.status = ApplicationStatus::Archived;
    let event = audit(
        &archived.tenant_id,
        AuditAction::ApplicationArchived,
        &archived.id,
    );
    store
        .replace_application(&archived, ApplicationStatus::Active, &event)
        .await
        .expect("archived");
}

async fn delete_arx(store: &impl Store, arx: &domain::Arx) {
    let mut deleted = arx.clone();
    deleted.status = ArxStatus::Deleted;
    let event = audit(&deleted.tenant_id, AuditAction::ArxDeleted, &deleted.id);
    store
        .replace_arx(&deleted, ArxStatus::Active, &event)
        .await
        .expect("deleted");
}

/// The cascades still owed, in a stable order.
async fn owed(store: &impl Store) -> Vec<jobs::CascadeTarget> {
    let mut owed: Vec<_> = store
        .pending_cascades()
        .await
        .expect("read")
        .into_iter()
        .map(|pending| pending.target)
        .collect();
    owed.sort_by_key(|target| format!("{target:?}"));
    owed
}

async fn an_archive_owes_a_cascade_until_it_has_run(store: impl Store) {
    let c = catalog(&store).await;
    assert_eq!(store.pending_cascades().await.expect("read"), vec![]);
    let mut renamed = c.application.clone();
    renamed.name = domain::ApplicationName::parse("Renamed").expect("valid");
    let event = audit(&c.tenant, AuditAction::ApplicationUpdated, &renamed.id);
    store
        .replace_application(&renamed, ApplicationStatus::Active, &event)
        .await
        .expect("renamed");
    assert_eq!(
        store.pending_cascades().await.expect("read"),
        vec![],
        "an update owes nothing"
    );

    archive(&store, &c.application).await;
    delete_arx(&store, &c.arx).await;
    let application = jobs::CascadeTarget::Application {
        tenant: c.tenant.clone(),
        id: c.application.id.clone(),
    };
    let arx = jobs::CascadeTarget::Arx {
        tenant: c.tenant.clone(),
        id: c.arx.id.clone(),
    };
    assert_eq!(owed(&store).await, vec![application.clone(), arx.clone()]);

    jobs::cascade(&store, &application, Deadline::NONE)
        .await
        .expect("cascaded");
    assert_eq!(
        owed(&store).await,
        vec![arx],
        "a cascade that ran is owed no more"
    );
}

async fn the_sweep_runs_a_cascade_the_stream_dropped(store: impl Store) {
    let c = catalog(&store).await;
    let keys = [
        create_key(&store, &c.tenant, &c.application, &c.arx).await,
        create_key(&store, &c.tenant, &c.application, &c.arx).await,
    ];
    archive(&store, &c.application).await; // and no stream record ever comes
    let notices = Notices::default();
    let policy = notice_policy();

    let soon = Timestamp::now().plus(Duration::minutes(1));
    let early = jobs::sweep(&store, &notices, soon, policy, Deadline::NONE)
        .await
        .expect("swept");
    assert_eq!(early.cascaded, 0, "the stream gets its grace period");

    let later = Timestamp::now().plus(jobs::CASCADE_GRACE + Duration::minutes(1));
    let report = jobs::sweep(&store, &notices, later, policy, Deadline::NONE)
        .await
        .expect("swept");
    assert_eq!(report.cascaded, 1);
    for key in &keys {
        assert_eq!(stored(&store, key).await.status, ApiKeyStatus::Deleted);
    }
    assert_eq!(store.pending_cascades().await.expect("read"), vec![]);
}

async fn near_the_deadline_the_jobs_stop_and_leave_the_rest_for_later(store: impl Store) {
    let c = catalog(&store).await;
    let key = create_key(&store, &c.tenant, &c.application, &c.arx).await;
    archive(&store, &c.application).await;
    let target = jobs::CascadeTarget::Application {
        tenant: c.tenant.clone(),
        id: c.application.id.clone(),
    };
    let now = std::time::Instant::now;

    // The cascade stops before its first page and stays owed.
    assert_eq!(
        jobs::cascade(&store, &target, Deadline::at(now()))
            .await
            .expect("stopped"),
        CascadeOutcome::CutShort { deleted: 0 }
    );
    assert_eq!(stored(&store, &key).await.status, ApiKeyStatus::Active);
    assert_eq!(store.pending_cascades().await.expect("read").len(), 1);

    // The stream handler reports the record it was on, so Lambda delivers
    // the batch again from there.
    let image = image(
        "application",
        c.tenant.as_str(),
        c.application.id.as_str(),
        "archived",
    );
    let response = jobs::stream::handle(
        &store,
        &batch(vec![record("700", image)]),
        Deadline::at(now()),
    )
    .await;
    assert_eq!(
        response.batch_item_failures,
        vec![BatchItemFailure {
            item_identifier: "700".into()
        }]
    );

    // The sweep saves its progress and says it was cut short.
    let before = store.sweep_progress().await.expect("read");
    let report = jobs::sweep(
        &store,
        &Notices::default(),
        Timestamp::now().plus(jobs::CASCADE_GRACE * 2),
        notice_policy(),
        Deadline::at(now()),
    )
    .await
    .expect("stopped");
    assert!(report.cut_short, "{report:?}");
    assert_eq!(report.cascaded, 0);
    assert_eq!(store.sweep_progress().await.expect("read"), before);

    // With time, everything is done.
    let report = jobs::sweep(
        &store,
        &Notices::default(),
        Timestamp::now().plus(jobs::CASCADE_GRACE * 2),
        notice_policy(),
        Deadline::NONE,
    )
    .await
    .expect("swept");
    assert!(!report.cut_short && report.cascaded == 1, "{report:?}");
    assert_eq!(stored(&store, &key).await.status, ApiKeyStatus::Deleted);
}

/// Real stream records: archive an application on the DynamoDB test server,
/// read the table's stream back (ListStreams, DescribeStream, GetShardIterator,
/// GetRecords), and hand exactly those records to the cascade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_read_back_from_the_tables_stream_cascade() {
    let store = crate::store_contract::backends::dynamodb().await;
    let c = catalog(&store).await;
    for _ in 0..3 {
        create_key(&store, &c.tenant, &c.application, &c.arx).await;
    }
    archive(&store, &c.application).await;

    let records = stream_records(store.table_name()).await;
    let archive = records
        .iter()
        .filter(|r| r["dynamodb"]["NewImage"]["entity_type"]["S"] == "application")
        .filter(|r| r["dynamodb"]["NewImage"]["status"]["S"] == "archived")
        .count();
    assert_eq!(
        archive, 1,
        "the stream carries the archive with its new image"
    );
    let response = jobs::stream::handle(&store, &batch(records), Deadline::NONE).await;
    assert_eq!(response, BatchResponse::default());
    let of_archived = ApiKeyFilter {
        application_id: Some(c.application.id.clone()),
        ..Default::default()
    };
    assert_eq!(
        statuses(&store, &c.tenant, of_archived).await,
        vec![ApiKeyStatus::Deleted; 3]
    );
}

/// Every record of the table's stream so far, as the Streams API returns them.
async fn stream_records(table: &str) -> Vec<Value> {
    let first = streams_call("ListStreams", json!({ "TableName": table })).await;
    let stream = first["Streams"][0]["StreamArn"]
        .as_str()
        .expect("the table has a stream")
        .to_owned();
    let described = streams_call("DescribeStream", json!({ "StreamArn": stream })).await;
    let mut records = Vec::new();
    for shard in described["StreamDescription"]["Shards"]
        .as_array()
        .expect("shards")
    {
        let iterator = streams_call(
            "GetShardIterator",
            json!({ "StreamArn": stream, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON" }),
        )
        .await;
        let mut next = iterator["ShardIterator"].clone();
        while let Some(position) = next.as_str().map(str::to_owned) {
            let page = streams_call(
                "GetRecords",
                json!({ "ShardIterator": position, "Limit": 1000 }),
            )
            .await;
            let found = page["Records"].as_array().cloned().unwrap_or_default();
            if found.is_empty() {
                break;
            }
            records.extend(found);
            next = page["NextShardIterator"].clone();
        }
    }
    records
}

async fn streams_call(operation: &str, body: Value) -> Value {
    use http_body_util::{BodyExt, Full};
    let endpoint =
        std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT, set by tests/run.sh");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let request = hyper::Request::post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDBStreams_20120810.{operation}"))
        // The local server reads the region from the credential scope; it checks no signature.
        .header("authorization", "AWS4-HMAC-SHA256 Credential=local/20261126/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .expect("a request");
    let response = client
        .request(request)
        .await
        .expect("the Streams API answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let value: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert!(status.is_success(), "{operation}: {status} {value}");
    value
}
