//! The `authorizer` Lambda: verifies the bearer JWT and decides per route
//! (HTTP API Lambda authorizer, payload 2.0, simple responses).

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::authorizer().await
}
