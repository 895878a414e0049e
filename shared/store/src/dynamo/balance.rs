//! Charging a limited key's counters (its balance item) exactly, whatever the
//! number of Lambda instances verifying it at once.
//!
//! The common case is one UpdateItem that subtracts the cost under a
//! condition that the window and the refill are current and enough is left:
//! DynamoDB applies concurrent ones one at a time, so they can never together
//! overspend, and none of them has to read first. When that condition fails,
//! DynamoDB returns the item as it stood (`ReturnValuesOnConditionCheckFailure`),
//! and [`Balance::charge`] on that snapshot decides: a refusal (the snapshot is
//! the truth at that instant), or a new window or refill to write, which is
//! an update of the whole item conditional on the snapshot's revision, so of many
//! instances crossing a boundary at once exactly one rolls it over.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use domain::{ApiKeyId, Balance, Cost, KeyLimits, Timestamp};

use super::{DynamoStore, Item, from_item};
use crate::keys::{self, api_key_balance_pk};
use crate::leases::{self, Lease, LeaseWrites, Start};
use crate::{ApiKeyCharge, Charge, ChargePart, Charges, StoreError, StoreResult};

/// Tries per charge before [`StoreError::Contended`]: a boundary crossed under
/// contention costs a failed subtract, one rollover race, and a subtract again.
const MAX_ATTEMPTS: u32 = 8;

/// The write a charge tries next.
enum Attempt {
    /// Make counters that are not there yet, as `with` (a window's first
    /// charge), to be forgotten after `expires`.
    Create { with: Balance, expires: i64 },
    /// Subtract from counters of this shape that are current.
    Subtract { rate: bool, credits: bool },
    /// Write these counters over those of revision `over` (a rollover).
    Replace { over: u64, with: Balance },
}

/// A conditional write's failure: the item as it stood (`None`: there is none).
struct Refused(Option<Balance>);

impl DynamoStore {
    pub(super) async fn charge_balance(
        &self,
        id: &ApiKeyId,
        expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
    ) -> StoreResult<Charge> {
        let pk = api_key_balance_pk(id);
        leases::charge(self, &self.leases, &pk, expected, cost, now).await
    }

    /// One charge, one conditional write (or a few, across a boundary).
    async fn charge_each(
        &self,
        pk: &str,
        expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
        start: Option<&Start>,
    ) -> StoreResult<Charge> {
        // Counters made by their first charge: what that charge leaves.
        let create = |start: &Start| match start.fresh.charge(cost, now) {
            Ok(with) => Ok(Attempt::Create {
                with,
                expires: start.expires,
            }),
            Err(hit) => Err(Charge::Refused(start.fresh, hit)),
        };
        let mut attempt = match start {
            Some(start) if !start.known => match create(start) {
                Ok(attempt) => attempt,
                Err(refused) => return Ok(refused),
            },
            _ => Attempt::Subtract {
                rate: expected.rate.is_some(),
                credits: expected.credits.is_some(),
            },
        };
        for _ in 0..MAX_ATTEMPTS {
            let written = match &attempt {
                Attempt::Create { with, expires } => self.create(pk, with, *expires).await?,
                Attempt::Subtract { rate, credits } => {
                    self.subtract(pk, *rate, *credits, cost.get(), now).await?
                }
                Attempt::Replace { over, with } => self.replace(pk, *over, with).await?,
            };
            let stood = match written {
                Ok(balance) => return Ok(Charge::Charged(balance)),
                Err(Refused(None)) => match start.map(create) {
                    None => return Ok(Charge::Unlimited),
                    Some(Ok(create)) => {
                        attempt = create;
                        continue;
                    }
                    Some(Err(refused)) => return Ok(refused),
                },
                Err(Refused(Some(stood))) => stood,
            };
            attempt = match stood.charge(cost, now) {
                Err(hit) => return Ok(Charge::Refused(stood, hit)),
                Ok(with) if stood.rolls_over(now) => Attempt::Replace {
                    over: stood.rev,
                    with,
                },
                // Current and enough left: the shape we assumed was wrong
                // (the limits changed), or another charge won a rollover.
                Ok(_) => Attempt::Subtract {
                    rate: stood.rate.is_some(),
                    credits: stood.credits.is_some(),
                },
            };
        }
        Err(StoreError::Contended)
    }

    /// `units` off each counter the shape names, if each is current and
    /// holds at least `units`, and the counters have exactly that shape: a
    /// charge's cost, or a lease.
    async fn subtract(
        &self,
        pk: &str,
        rate: bool,
        credits: bool,
        units: u64,
        now: Timestamp,
    ) -> StoreResult<Result<Balance, Refused>> {
        let mut set = vec!["#rev = #rev + :one"];
        let mut conditions = vec!["attribute_exists(#pk)"];
        let mut names = vec![("#pk", keys::PK), ("#rev", "rev"), ("#rate", "rate")];
        names.push(("#credits", "credits"));
        if rate {
            set.push("#rate.#left = #rate.#left - :cost");
            conditions.push("#rate.#left >= :cost AND #rate.#resets_at > :now");
            names.push(("#resets_at", "resets_at"));
        } else {
            conditions.push("attribute_not_exists(#rate)");
        }
        if credits {
            set.push("#credits.#left = #credits.#left - :cost");
            conditions.push(
                "#credits.#left >= :cost AND \
                 (attribute_not_exists(#credits.#refill_at) OR #credits.#refill_at > :now)",
            );
            names.push(("#refill_at", "refill_at"));
        } else {
            conditions.push("attribute_not_exists(#credits)");
        }
        let number = |n: String| AttributeValue::N(n);
        let mut values = vec![(":one", number("1".into()))];
        // DynamoDB refuses a name or value the expressions do not use.
        if rate || credits {
            names.push(("#left", "left"));
            values.push((":cost", number(units.to_string())));
            values.push((":now", number(now.unix_seconds().to_string())));
        }
        let sent = self
            .counters_update(pk, &set, &conditions, names, values)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(output) => from_item(output.attributes.unwrap_or_default()).map(Ok),
            Err(error) => refused(error),
        }
    }

    /// An update of the counters at `pk`: `SET` these parts if all the
    /// conditions hold, with the expressions' names and values.
    fn counters_update(
        &self,
        pk: &str,
        set: &[&str],
        conditions: &[&str],
        names: Vec<(&str, &str)>,
        values: Vec<(&str, AttributeValue)>,
    ) -> UpdateItemFluentBuilder {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(pk.into()))
            .key(keys::SK, AttributeValue::S(pk.into()))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression(conditions.join(" AND "));
        for (name, attribute) in names {
            update = update.expression_attribute_names(name, attribute);
        }
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        update
    }

    /// `with` as new counters if there are none, forgotten after `expires`
    /// (DynamoDB's TTL): an update, as [`DynamoStore::replace`] is.
    async fn create(
        &self,
        pk: &str,
        with: &Balance,
        expires: i64,
    ) -> StoreResult<Result<Balance, Refused>> {
        let mut attributes: Item = serde_dynamo::to_item(with).map_err(StoreError::corrupt)?;
        attributes.insert(keys::TTL.into(), AttributeValue::N(expires.to_string()));
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(pk.into()))
            .key(keys::SK, AttributeValue::S(pk.into()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK);
        self.set_all(update, attributes, with).await
    }

    /// `SET` every attribute of `attributes` in `update`, sent: `with` if
    /// its condition held, else the item as it stood.
    async fn set_all(
        &self,
        mut update: UpdateItemFluentBuilder,
        attributes: Item,
        with: &Balance,
    ) -> StoreResult<Result<Balance, Refused>> {
        let mut set = Vec::with_capacity(attributes.len());
        for (index, (name, value)) in attributes.into_iter().enumerate() {
            set.push(format!("#a{index} = :a{index}"));
            update = update
                .expression_attribute_names(format!("#a{index}"), name)
                .expression_attribute_values(format!(":a{index}"), value);
        }
        let sent = update
            .update_expression(format!("SET {}", set.join(", ")))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Ok(*with)),
            Err(error) => refused(error),
        }
    }

    /// `with` over the counters, if their revision is still `over`: an
    /// update of every attribute rather than a Put, so the verifying
    /// functions need no right to create items.
    async fn replace(
        &self,
        pk: &str,
        over: u64,
        with: &Balance,
    ) -> StoreResult<Result<Balance, Refused>> {
        let attributes: Item = serde_dynamo::to_item(with).map_err(StoreError::corrupt)?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(pk.into()))
            .key(keys::SK, AttributeValue::S(pk.into()))
            .condition_expression("#rev = :over")
            .expression_attribute_names("#rev", "rev")
            .expression_attribute_values(":over", AttributeValue::N(over.to_string()));
        self.set_all(update, attributes, with).await
    }
}

impl LeaseWrites for DynamoStore {
    /// A peek spends nothing, so it needs no write: a strong read.
    async fn peek(&self, pk: &str, now: Timestamp) -> StoreResult<Charge> {
        let Some(balance) = self
            .get_item::<Balance>(pk.to_owned(), pk.to_owned())
            .await?
        else {
            return Ok(Charge::Unlimited);
        };
        Ok(match balance.charge(Cost::ZERO, now) {
            Ok(_) => Charge::Charged(balance.at(now)),
            Err(hit) => Charge::Refused(balance, hit),
        })
    }

    async fn charge_once(
        &self,
        pk: &str,
        expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
        start: Option<&Start>,
    ) -> StoreResult<Charge> {
        self.charge_each(pk, expected, cost, now, start).await
    }

    async fn take_lease(
        &self,
        pk: &str,
        (rate, credits): (bool, bool),
        units: u64,
        now: Timestamp,
    ) -> StoreResult<Option<Balance>> {
        Ok(self.subtract(pk, rate, credits, units, now).await?.ok())
    }

    /// An `ADD` conditional on the same series, rate window and refill
    /// period: otherwise a new window or refill, or new limits, made it moot.
    async fn give_back(&self, pk: &str, lease: &Lease) -> StoreResult<bool> {
        let taken = &lease.taken;
        let mut set = vec!["#rev = #rev + :one"];
        let mut conditions = vec!["attribute_exists(#pk)"];
        let mut names = vec![("#pk", keys::PK), ("#rev", "rev"), ("#series", "series")];
        let number = |n: String| AttributeValue::N(n);
        let mut values = vec![
            (":one", number("1".into())),
            (":units", number(lease.units.to_string())),
        ];
        if taken.series == 0 {
            conditions.push("attribute_not_exists(#series)");
        } else {
            conditions.push("#series = :series");
            values.push((":series", number(taken.series.to_string())));
        }
        if let Some(rate) = taken.rate {
            set.push("#rate.#left = #rate.#left + :units");
            conditions.push("#rate.#resets_at = :resets_at");
            names.extend([("#rate", "rate"), ("#resets_at", "resets_at")]);
            values.push((":resets_at", number(rate.resets_at.to_string())));
        }
        if let Some(credits) = taken.credits {
            set.push("#credits.#left = #credits.#left + :units");
            names.push(("#credits", "credits"));
            match credits.refill_at {
                Some(at) => {
                    conditions.push("#credits.#refill_at = :refill_at");
                    values.push((":refill_at", number(at.to_string())));
                }
                None => conditions.push("attribute_not_exists(#credits.#refill_at)"),
            }
            names.push(("#refill_at", "refill_at"));
        }
        names.push(("#left", "left"));
        let update = self.counters_update(pk, &set, &conditions, names, values);
        match update.send().await {
            Ok(_) => Ok(true),
            Err(error) => refused(error).map(|_| false),
        }
    }
}

/// A failed condition as the item it saw; any other failure as an error.
fn refused<E>(error: SdkError<E>) -> StoreResult<Result<Balance, Refused>>
where
    E: ConditionFailure + std::error::Error + Send + Sync + 'static,
    SdkError<E>: std::error::Error + Send + Sync + 'static,
{
    match error.as_service_error().and_then(ConditionFailure::stood) {
        Some(stood) => Ok(Err(Refused(
            stood
                .filter(|item| !item.is_empty())
                .map(from_item)
                .transpose()?,
        ))),
        None => Err(StoreError::backend(error)),
    }
}

/// A charge's write error, as far as a failed condition goes.
trait ConditionFailure {
    /// `Some` if the condition failed, with the item as it stood, if any.
    fn stood(&self) -> Option<Option<Item>>;
}

impl ConditionFailure for aws_sdk_dynamodb::operation::update_item::UpdateItemError {
    fn stood(&self) -> Option<Option<Item>> {
        match self {
            Self::ConditionalCheckFailedException(failed) => Some(failed.item().cloned()),
            _ => None,
        }
    }
}

impl ApiKeyCharge for DynamoStore {
    async fn charge_together(&self, parts: &[ChargePart], now: Timestamp) -> StoreResult<Charges> {
        leases::charge_together(self, &self.leases, parts, now).await
    }

    async fn charge_api_key(
        &self,
        id: &ApiKeyId,
        expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
    ) -> StoreResult<Charge> {
        self.charge_balance(id, expected, cost, now).await
    }

    async fn api_key_balance(&self, id: &ApiKeyId) -> StoreResult<Option<Balance>> {
        let pk = api_key_balance_pk(id);
        self.get_item(pk.clone(), pk).await
    }

    async fn return_leases(&self, everything: bool) -> StoreResult<usize> {
        Ok(leases::return_leases(self, &self.leases, everything).await)
    }
}
