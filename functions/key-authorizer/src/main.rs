//! The `key-authorizer` Lambda: an API Gateway authorizer that checks access
//! keys for a team's own API (see docs/protect-your-api.md).

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::key_authorizer().await
}
