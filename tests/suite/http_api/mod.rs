//! The API over real HTTP: the dev server, started in-process per test.

mod allowlists;
mod authorization;
mod bad_input;
mod console;
mod flows;
mod hardening;
pub(crate) mod helpers;
mod idempotency;
mod identities;
mod import;
pub(crate) mod jwks;
mod lambda_events;
mod leak_reports;
mod leaks;
mod lifecycle;
mod limits;
mod openapi;
mod permissions;
mod races;
mod rate_limits;
mod roles;
mod service_keys;
mod sweep;
mod usage;
mod verdicts;
mod verify;
