//! The version of what a store holds, so that a release opening data knows
//! what wrote it: it brings older data up to date (each change since, in
//! order; a change that needs no rewrite is only recorded), and refuses data
//! a later release wrote, naming both, rather than half-read it.
//!
//! Kept as one item (`META` / `DATA_VERSION`) in either store. Data written
//! before versions existed has none, and is version 1.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::StoreResult;

/// The version of the data this release writes.
pub const DATA_VERSION: u32 = 2;

/// What each version changed, in order, and what opening older data does
/// about it.
pub const CHANGES: &[(u32, &str)] = &[(
    2,
    "a tenant's usage day keeps its per-key counts in 16 shard items; days written \
     before keep them in the day's own item and are read as they are: nothing to rewrite",
)];

/// The data version item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVersion {
    pub version: u32,
    /// The release that wrote it (its crate version).
    pub written_by: String,
}

/// Reading and writing the data version item.
pub trait DataVersionStore: Send + Sync {
    fn data_version(&self) -> impl Future<Output = StoreResult<Option<StoredVersion>>> + Send;
    fn set_data_version(
        &self,
        version: &StoredVersion,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Why data could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenRefused {
    #[error(
        "this data is at data version {found} (written by release {written_by}), past the \
         data version {current} that this release ({release}) reads: run that release or a \
         later one on it, or restore a backup made before it"
    )]
    TooNew {
        found: u32,
        written_by: String,
        current: u32,
        release: String,
    },
    #[error("could not read or write the data version")]
    Store(#[source] crate::StoreError),
}

/// Opens the store's data for `release`: refuses data newer than
/// [`DATA_VERSION`]; brings older data up to it (logging each change) and
/// records it. Returns the version found (1 for data without one).
pub async fn open_data(store: &impl DataVersionStore, release: &str) -> Result<u32, OpenRefused> {
    let stored = refuse_newer(store, release).await?;
    let found = stored.as_ref().map_or(1, |stored| stored.version);
    if found < DATA_VERSION || stored.is_none() {
        for (version, change) in CHANGES.iter().filter(|(v, _)| *v > found) {
            tracing::info!(version, change, "bringing the data up to date");
        }
        store
            .set_data_version(&StoredVersion {
                version: DATA_VERSION,
                written_by: release.to_owned(),
            })
            .await
            .map_err(OpenRefused::Store)?;
        tracing::info!(from = found, to = DATA_VERSION, "data version recorded");
    }
    Ok(found)
}

/// Refuses data newer than [`DATA_VERSION`], and only reads: what every
/// Lambda function does at start (one GetItem), where bringing the data up
/// to date is the cleanup function's (one writer, see `docs/operations.md`).
/// Returns the version item, if there is one.
pub async fn refuse_newer(
    store: &impl DataVersionStore,
    release: &str,
) -> Result<Option<StoredVersion>, OpenRefused> {
    let stored = store.data_version().await.map_err(OpenRefused::Store)?;
    match stored {
        Some(stored) if stored.version > DATA_VERSION => Err(OpenRefused::TooNew {
            found: stored.version,
            written_by: stored.written_by,
            current: DATA_VERSION,
            release: release.to_owned(),
        }),
        stored => Ok(stored),
    }
}
