//! The `verify-key` Lambda: POST /v1/verify.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::verify_key().await
}
