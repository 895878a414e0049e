//! Items that end: a rate limit's window counters. The dev server has no
//! TTL, so each new one removes up to two that ended: the count of such
//! items stays near what is live, without a job or a scan.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::Items;
use crate::{StoreError, StoreResult};

/// `(when it may go, its PK)` → `()`; the item's sort key is its PK.
pub(super) const EXPIRING: TableDefinition<(i64, &str), ()> = TableDefinition::new("expiring");

/// How many ended items each new one removes: more than one, so the ended
/// ones never pile up behind the new.
const REMOVED_PER_MADE: usize = 2;

/// Records that the item at `pk` (made in this transaction) may go after
/// `expires`, and removes a few that already may.
pub(super) fn made(
    txn: &WriteTransaction,
    items: &mut Items<'_>,
    pk: &str,
    expires: i64,
    now: domain::Timestamp,
) -> StoreResult<()> {
    let mut expiring = txn.open_table(EXPIRING).map_err(StoreError::backend)?;
    expiring
        .insert((expires, pk), ())
        .map_err(StoreError::backend)?;
    let ended: Vec<(i64, String)> = expiring
        .range(..(now.unix_seconds(), ""))
        .map_err(StoreError::backend)?
        .take(REMOVED_PER_MADE)
        .map(|entry| {
            let (key, _) = entry.map_err(StoreError::backend)?;
            let (at, pk) = key.value();
            Ok((at, pk.to_owned()))
        })
        .collect::<StoreResult<_>>()?;
    for (at, pk) in ended {
        expiring
            .remove((at, pk.as_str()))
            .map_err(StoreError::backend)?;
        items
            .remove((pk.as_str(), pk.as_str()))
            .map_err(StoreError::backend)?;
    }
    Ok(())
}
