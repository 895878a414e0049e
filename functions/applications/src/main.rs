//! The `applications` Lambda: the /v1/applications routes.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::applications().await
}
