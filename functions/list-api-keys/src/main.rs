//! The `list-api-keys` Lambda: GET /v1/api-keys and GET /v1/api-keys/{id}.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::list_api_keys().await
}
