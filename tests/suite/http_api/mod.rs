//! The API over real HTTP: the dev server, started in-process per test.

mod authorization;
mod bad_input;
mod console;
mod flows;
mod helpers;
mod jwks;
mod lambda_events;
mod leaks;
mod lifecycle;
mod openapi;
mod sweep;
mod verify;
