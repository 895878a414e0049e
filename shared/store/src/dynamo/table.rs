//! The table's definition, for the dev server and tests (the SAM template
//! declares the same table for AWS), and bringing a table made by an
//! earlier release up to it.

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TableDescription, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use super::DynamoStore;
use crate::keys::{ApiKeyIndex, PK, SK, TTL};
use crate::{StoreError, StoreResult};

/// Something this release needs of the table that it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableLack {
    /// A global secondary index (one per table update on DynamoDB).
    Index(ApiKeyIndex),
    /// The stream the cleanup function's cascade reads (new and old images).
    Stream,
    /// Time to live on the `ttl` attribute (ended keys, usage days, leak reports).
    TimeToLive,
}

impl std::fmt::Display for TableLack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Index(index) => {
                let (pk, sk) = index.key_attributes();
                write!(
                    f,
                    "the index {} (keys {pk} and {sk})",
                    index.name().unwrap_or_default()
                )
            }
            Self::Stream => f.write_str("the stream (new and old images)"),
            Self::TimeToLive => write!(f, "time to live on the attribute {TTL}"),
        }
    }
}

fn key(name: &str, key_type: KeyType) -> StoreResult<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(StoreError::backend)
}

fn string_attribute(name: &str) -> StoreResult<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(StoreError::backend)
}

/// An index's key schema and projection, as the template declares it.
fn index_parts(index: ApiKeyIndex) -> StoreResult<(String, Vec<KeySchemaElement>, Projection)> {
    let (pk, sk) = index.key_attributes();
    let projection = Projection::builder()
        .projection_type(if index.projects_items() {
            ProjectionType::All
        } else {
            ProjectionType::KeysOnly
        })
        .build();
    Ok((
        index.name().unwrap_or_default().to_owned(),
        vec![key(pk, KeyType::Hash)?, key(sk, KeyType::Range)?],
        projection,
    ))
}

fn stream() -> StoreResult<StreamSpecification> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .map_err(StoreError::backend)
}

impl DynamoStore {
    /// Creates the table with its indexes, stream and TTL if it does not
    /// exist, and waits until it is active; a table that exists (made by an
    /// earlier release) is brought up to date instead
    /// ([`DynamoStore::bring_up_to_date`]). For local servers: on AWS the
    /// template owns the table.
    pub async fn create_table_if_missing(&self) -> StoreResult<()> {
        let mut attributes = vec![string_attribute(PK)?, string_attribute(SK)?];
        let mut indexes = Vec::new();
        for index in ApiKeyIndex::SECONDARY {
            let (pk, sk) = index.key_attributes();
            attributes.push(string_attribute(pk)?);
            attributes.push(string_attribute(sk)?);
            let (name, schema, projection) = index_parts(index)?;
            indexes.push(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .set_key_schema(Some(schema))
                    .projection(projection)
                    .build()
                    .map_err(StoreError::backend)?,
            );
        }
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .set_attribute_definitions(Some(attributes))
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .set_global_secondary_indexes(Some(indexes))
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(stream()?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(error) if error.code() == Some("ResourceInUseException") => {
                self.bring_up_to_date().await?;
                return Ok(());
            }
            Err(error) => return Err(StoreError::backend(error)),
        }
        self.wait_until_active().await?;
        self.enable_ttl().await
    }

    /// What this release needs of the table and it lacks, read with two
    /// control-plane calls (DescribeTable, DescribeTimeToLive): each missing
    /// index, the stream, the TTL. Empty when the table is up to date.
    pub async fn missing_from_table(&self) -> StoreResult<Vec<TableLack>> {
        let table = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(StoreError::backend)?
            .table
            .ok_or_else(|| {
                StoreError::backend(std::io::Error::other("DescribeTable described no table"))
            })?;
        let present: Vec<&str> = table
            .global_secondary_indexes()
            .iter()
            .filter_map(|index| index.index_name())
            .collect();
        let mut lacks: Vec<TableLack> = ApiKeyIndex::SECONDARY
            .into_iter()
            .filter(|index| !present.contains(&index.name().unwrap_or_default()))
            .map(TableLack::Index)
            .collect();
        let streaming = table
            .stream_specification()
            .is_some_and(|stream| stream.stream_enabled());
        if !streaming {
            lacks.push(TableLack::Stream);
        }
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(StoreError::backend)?;
        let expiring = ttl
            .time_to_live_description()
            .and_then(|ttl| ttl.time_to_live_status())
            .is_some_and(|status| {
                matches!(
                    status,
                    TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling
                )
            });
        if !expiring {
            lacks.push(TableLack::TimeToLive);
        }
        Ok(lacks)
    }

    /// Adds to an existing table what this release needs and it lacks: each
    /// missing index, one at a time (DynamoDB creates one per update),
    /// waiting for each to be active, then the stream and the TTL. Logs
    /// what it added; returns the names of the indexes it added.
    pub async fn bring_up_to_date(&self) -> StoreResult<Vec<String>> {
        let mut added = Vec::new();
        for lack in self.missing_from_table().await? {
            tracing::info!(table = %self.table, %lack, "adding what this release needs");
            match lack {
                TableLack::Index(index) => {
                    let (name, schema, projection) = index_parts(index)?;
                    let (pk, sk) = index.key_attributes();
                    let create = CreateGlobalSecondaryIndexAction::builder()
                        .index_name(&name)
                        .set_key_schema(Some(schema))
                        .projection(projection)
                        .build()
                        .map_err(StoreError::backend)?;
                    self.client
                        .update_table()
                        .table_name(&self.table)
                        .attribute_definitions(string_attribute(pk)?)
                        .attribute_definitions(string_attribute(sk)?)
                        .global_secondary_index_updates(
                            GlobalSecondaryIndexUpdate::builder().create(create).build(),
                        )
                        .send()
                        .await
                        .map_err(StoreError::backend)?;
                    self.wait_until_index_active(&name).await?;
                    added.push(name);
                }
                TableLack::Stream => {
                    self.client
                        .update_table()
                        .table_name(&self.table)
                        .stream_specification(stream()?)
                        .send()
                        .await
                        .map_err(StoreError::backend)?;
                    self.wait_until_active().await?;
                }
                TableLack::TimeToLive => self.enable_ttl().await?,
            }
        }
        Ok(added)
    }

    async fn enable_ttl(&self) -> StoreResult<()> {
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL)
                    .build()
                    .map_err(StoreError::backend)?,
            )
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn wait_until_index_active(&self, name: &str) -> StoreResult<()> {
        self.wait_until("the new index", |table| {
            table.global_secondary_indexes().iter().any(|index| {
                index.index_name() == Some(name)
                    && index.index_status() == Some(&IndexStatus::Active)
            })
        })
        .await
    }

    async fn wait_until_active(&self) -> StoreResult<()> {
        self.wait_until("the table", |table| {
            table.table_status() == Some(&TableStatus::Active)
        })
        .await
    }

    /// Describes the table every half second until `ready` says so, for at
    /// most two minutes (`what` names what is awaited, in the error).
    async fn wait_until(
        &self,
        what: &str,
        ready: impl Fn(&TableDescription) -> bool,
    ) -> StoreResult<()> {
        for _ in 0..240 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(StoreError::backend)?;
            if described.table().is_some_and(&ready) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::backend(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("{what} did not become active within two minutes"),
        )))
    }
}
