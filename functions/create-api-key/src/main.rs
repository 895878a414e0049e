//! The `create-api-key` Lambda: POST /v1/api-keys.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::create_api_key().await
}
