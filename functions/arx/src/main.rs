//! The `arx` Lambda: the /v1/arx routes.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::arx().await
}
