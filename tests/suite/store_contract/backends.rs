//! The two stores the contract runs against.

use store::{
    ApiKeyCharge, ApiKeyCreate, ApiKeyLastUse, ApiKeyLookup, ApiKeyRead, ApiKeyRotate, ApiKeySweep,
    ApiKeyWrite, ApplicationStore, ArxStore, AuditLog, DynamoStore, EmbeddedStore, FeedbackStore,
    PendingCascades, ServiceKeyStore, UsageLog,
};

/// Every capability, so one contract test can use them all.
pub trait Store:
    ApiKeyRead
    + ApiKeyCreate
    + ApiKeyWrite
    + ApiKeyRotate
    + ApiKeyLookup
    + ApiKeySweep
    + ApiKeyLastUse
    + ApiKeyCharge
    + PendingCascades
    + ApplicationStore
    + ArxStore
    + FeedbackStore
    + AuditLog
    + ServiceKeyStore
    + UsageLog
    + Clone
    + 'static
{
}

impl<S> Store for S where
    S: ApiKeyRead
        + ApiKeyCreate
        + ApiKeyWrite
        + ApiKeyRotate
        + ApiKeyLookup
        + ApiKeySweep
        + ApiKeyLastUse
        + ApiKeyCharge
        + PendingCascades
        + ApplicationStore
        + ArxStore
        + FeedbackStore
        + AuditLog
        + ServiceKeyStore
        + UsageLog
        + Clone
        + 'static
{
}

/// A fresh embedded store in a temporary folder (removed when the guard drops).
pub fn embedded() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store =
        EmbeddedStore::open(dir.path().join("store.redb")).expect("the embedded store opens");
    (store, dir)
}

/// A fresh table of its own on the local DynamoDB server that `tests/run.sh` starts.
pub async fn dynamodb() -> DynamoStore {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMODB_ENDPOINT is not set, so the DynamoDB tests have no server. Run the \
             whole suite with `bash tests/run.sh` (it installs and starts a local DynamoDB \
             server), or start one yourself (`moto_server -H 127.0.0.1 -p 8000`) and set \
             DYNAMODB_ENDPOINT=http://127.0.0.1:8000"
        )
    });
    let table = format!("contract-{}", uuid::Uuid::now_v7().simple());
    let store = DynamoStore::local(&endpoint, table);
    if let Err(error) = store.create_table_if_missing().await {
        panic!(
            "the DynamoDB server at {endpoint} did not create a table (is it running? \
             `bash tests/run.sh` starts one): {}",
            store::error_chain(&error)
        );
    }
    store
}
