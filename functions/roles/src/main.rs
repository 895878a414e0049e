//! The `roles` Lambda: a tenant's roles for keys (read by everyone who reads
//! keys; made, changed and deleted by owners and admins).

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::roles().await
}
