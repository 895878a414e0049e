//! An axum service whose /documents route needs a good API key, and whose
//! /reports route a key with the `reports.read` permission: the layer
//! answers 401, 403 and 429 itself and hands the route the verdict.
//! `API_URL=… SERVICE_KEY=… cargo run -p api-keys-client --example protected_service`

use api_keys_client::{Client, Verdict, VerifyLayer};
use axum::{Extension, Json, Router, routing::get};

pub fn app(keys: Client) -> Router {
    let reports = Router::new()
        .route("/reports", get(reports))
        .layer(VerifyLayer::new(keys.clone()).requiring("reports.read"));
    Router::new()
        .route("/documents", get(documents))
        .layer(VerifyLayer::new(keys))
        .merge(reports)
}

async fn documents(Extension(verdict): Extension<Verdict>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "application": verdict.application_id }))
}

async fn reports(Extension(verdict): Extension<Verdict>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "owner": verdict.external_id, "permissions": verdict.permissions }))
}

#[allow(dead_code)] // the tests serve `app` themselves
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = Client::builder(std::env::var("API_URL")?, std::env::var("SERVICE_KEY")?).build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app(keys)).await?;
    Ok(())
}
