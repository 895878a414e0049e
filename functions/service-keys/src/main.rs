//! The `service-keys` Lambda: create, list and revoke the tenant's service
//! keys (owners and admins, never with a service key).

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::service_keys().await
}
