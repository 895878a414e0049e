//! The `change-api-key` Lambda: ends or suspends one key.
//! DELETE /v1/api-keys/{id}, POST /v1/api-keys/{id}/disable and /enable.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::change_api_key().await
}
