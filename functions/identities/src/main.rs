//! The `identities` Lambda: a tenant's customers (identities) and the limits
//! their keys share (read by everyone who reads keys; changed by owners and
//! admins).

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::identities().await
}
