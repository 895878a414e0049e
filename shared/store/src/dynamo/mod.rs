//! The DynamoDB store: one table, generic `PK`/`SK`/`GSI…` attributes, an
//! `entity_type` on every item, key strings from [`crate::keys`]. Every access is
//! a GetItem, a Query or a transaction; there is no Scan.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use environment::aws::{AwsAccess, SdkTimeouts};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::{ENTITY_TYPE, PK, SK};
use crate::leases::{LeaseSettings, Leases};
use crate::{StoreError, StoreResult};

mod api_keys;
mod audit;
mod balance;
mod catalog;
mod identities;
mod leaks;
mod named;
mod rate_limits;
mod replays;
mod roles;
mod service_keys;
mod sweep;
mod table;
mod transaction;
mod usage;
mod xray;

pub use table::TableLack;

pub(crate) type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// What this process holds leased of hot keys' counters (`crate::leases`),
    /// shared by every clone of the store.
    leases: Arc<Leases>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            leases: Arc::default(),
        }
    }

    /// The same store leasing as `settings` say (5 s leases by default).
    pub fn with_leases(self, settings: LeaseSettings) -> Self {
        Self {
            leases: Arc::new(Leases::new(settings)),
            ..self
        }
    }

    /// How many times a transaction is sent while DynamoDB cancels it for
    /// conflicting with others (`TransactionConflict`), before
    /// [`StoreError::Contended`](crate::StoreError::Contended).
    pub const TRANSACTION_ATTEMPTS: u32 = transaction::MAX_ATTEMPTS;

    /// A store on a local DynamoDB-compatible server (tests, the dev server):
    /// fixed dummy credentials, since such servers accept any.
    pub fn local(endpoint: &str, table: impl Into<String>) -> Self {
        Self::local_with(endpoint, table, SdkTimeouts::LOCAL)
    }

    /// The same, waiting at most `timeouts` (a test of a server that hangs).
    pub fn local_with(endpoint: &str, table: impl Into<String>, timeouts: SdkTimeouts) -> Self {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        let table = table.into();
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("local", "local", None, None, "local"))
            .timeout_config(timeout_config(timeouts))
            .interceptor(xray::XrayCalls {
                table: table.clone(),
            })
            .build();
        Self::new(Client::from_conf(config), table)
    }

    /// The store of a Lambda function: a client with the function's region
    /// and role, or a local server when `endpoint` is given.
    pub fn on_aws(access: &AwsAccess, table: &str, endpoint: Option<&str>) -> Self {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
        if let Some(endpoint) = endpoint {
            return Self::local(endpoint, table);
        }
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(access.region.clone()))
            .credentials_provider(access.credentials())
            .timeout_config(timeout_config(SdkTimeouts::AWS))
            .interceptor(xray::XrayCalls {
                table: table.to_owned(),
            })
            .build();
        Self::new(Client::from_conf(config), table)
    }

    /// The SDK client, for what the store does not offer (a test's raw Scan).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Writes `item` whole, unconditionally (a record of the store's own:
    /// the sweep's progress, a leak report, the data version).
    async fn put(&self, item: Item) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn get_item<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> StoreResult<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        output.item.map(from_item).transpose()
    }

    /// Items of one partition whose sort key starts with `sk_prefix`, newest
    /// first (oldest first if the query says so), starting after `start`,
    /// until `limit + 1` of them pass `keep`.
    async fn query_in_order<T: DeserializeOwned>(
        &self,
        partition: PartitionQuery<'_>,
        mut start: Option<Item>,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> StoreResult<Vec<T>> {
        let (pk_attribute, sk_attribute) = partition.key_attributes;
        let mut found = Vec::with_capacity(limit + 1);
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(partition.index.map(str::to_owned))
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", pk_attribute)
                .expression_attribute_names("#sk", sk_attribute)
                .expression_attribute_values(":pk", AttributeValue::S(partition.partition.clone()))
                .expression_attribute_values(
                    ":prefix",
                    AttributeValue::S(partition.sk_prefix.into()),
                )
                .scan_index_forward(partition.oldest_first)
                .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
                // Strong reads on the table (a new key is listed at once); a GSI
                // cannot be read strongly, so its lists may lag by a moment.
                .consistent_read(partition.index.is_none())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::backend)?;
            for item in output.items.unwrap_or_default() {
                let value: T = from_item(item)?;
                if keep(&value) {
                    found.push(value);
                    if found.len() > limit {
                        return Ok(found);
                    }
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }
}

/// One partition of the table or of an index, and the sort key prefix to read.
#[derive(Debug)]
struct PartitionQuery<'a> {
    index: Option<&'static str>,
    key_attributes: (&'static str, &'static str),
    partition: String,
    sk_prefix: &'a str,
    oldest_first: bool,
}

impl<'a> PartitionQuery<'a> {
    fn table(partition: String, sk_prefix: &'a str) -> Self {
        Self {
            index: None,
            key_attributes: (PK, SK),
            partition,
            sk_prefix,
            oldest_first: false,
        }
    }
}

/// The item for an entity: its own fields, its keys and its `entity_type`.
fn entity_item<T: Serialize>(
    entity: &T,
    entity_type: &str,
    pk: String,
    sk: String,
) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(entity).map_err(StoreError::corrupt)?;
    item.insert(PK.into(), AttributeValue::S(pk));
    item.insert(SK.into(), AttributeValue::S(sk));
    item.insert(ENTITY_TYPE.into(), AttributeValue::S(entity_type.into()));
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(StoreError::corrupt)
}

/// The table key of an item, as `ExclusiveStartKey` wants it.
fn table_key(pk: String, sk: String) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
    ])
}

/// The SDK's form of `timeouts`.
fn timeout_config(timeouts: SdkTimeouts) -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.operation)
        .build()
}

impl crate::DataVersionStore for DynamoStore {
    async fn data_version(&self) -> StoreResult<Option<crate::StoredVersion>> {
        self.get_item(
            crate::keys::DATA_VERSION_PK.to_owned(),
            crate::keys::DATA_VERSION_SK.to_owned(),
        )
        .await
    }

    async fn set_data_version(&self, version: &crate::StoredVersion) -> StoreResult<()> {
        let item = entity_item(
            version,
            "data_version",
            crate::keys::DATA_VERSION_PK.into(),
            crate::keys::DATA_VERSION_SK.into(),
        )?;
        self.put(item).await
    }
}
