//! The `create-api-key` Lambda: the routes whose row in `api::routes::TABLE` names it.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::create_api_key().await
}
