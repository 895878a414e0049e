//! The `audit-events` Lambda: GET /v1/audit-events (owners and admins).

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::audit_events().await
}
