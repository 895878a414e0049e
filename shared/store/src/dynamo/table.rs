//! The table's definition, for the dev server and tests (the SAM template
//! declares the same table for AWS).

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification,
};

use super::DynamoStore;
use crate::keys::{ApiKeyIndex, PK, SK, TTL};
use crate::{StoreError, StoreResult};

impl DynamoStore {
    /// Creates the table with its indexes, stream and TTL if it does not exist,
    /// and waits until it is active.
    pub async fn create_table_if_missing(&self) -> StoreResult<()> {
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(StoreError::backend)
        };
        let string_attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(StoreError::backend)
        };
        let mut attributes = vec![string_attribute(PK)?, string_attribute(SK)?];
        let mut indexes = Vec::new();
        for index in ApiKeyIndex::SECONDARY {
            let (pk, sk) = index.key_attributes();
            attributes.push(string_attribute(pk)?);
            attributes.push(string_attribute(sk)?);
            indexes.push(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name().unwrap_or_default())
                    .key_schema(key(pk, KeyType::Hash)?)
                    .key_schema(key(sk, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(if index.projects_items() {
                                ProjectionType::All
                            } else {
                                ProjectionType::KeysOnly
                            })
                            .build(),
                    )
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
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(StoreError::backend)?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(error) if error.code() == Some("ResourceInUseException") => return Ok(()),
            Err(error) => return Err(StoreError::backend(error)),
        }
        self.wait_until_active().await?;
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

    async fn wait_until_active(&self) -> StoreResult<()> {
        for _ in 0..120 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(StoreError::backend)?;
            let status = described.table.and_then(|table| table.table_status);
            if status == Some(TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::backend(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the table did not become active within a minute",
        )))
    }
}
