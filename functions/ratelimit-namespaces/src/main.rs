//! The `ratelimit-namespaces` Lambda: the routes whose row in `api::routes::TABLE` names it.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::ratelimit_namespaces().await
}
