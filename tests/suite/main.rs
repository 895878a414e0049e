//! The cross-crate suites, in one test binary (one link instead of many).
//!
//! DynamoDB tests need the local server that `tests/run.sh` starts; without
//! `DYNAMODB_ENDPOINT` they fail and say how to start it. They are never skipped.

mod cleanup;
mod code_layout;
mod deployment;
mod dev_server_process;
mod dynamodb_proxy;
mod hostile_client;
mod http_api;
mod iam;
mod lambda_boot;
mod limits_at_speed;
mod notifications;
mod request_bodies;
mod sdk_timeouts;
mod store_contract;
mod transaction_conflicts;
mod upgrade;
