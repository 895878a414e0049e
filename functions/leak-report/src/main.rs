//! The `leak-report` Lambda: POST /v1/leaks/github, the GitHub secret scanning
//! partner endpoint (docs/leak-response.md). Behind no JWT authorizer: each
//! report is authenticated by GitHub's signature over its body.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::leak_report().await
}
