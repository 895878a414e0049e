//! The `submit-feedback` Lambda: POST /v1/feedback.

#[tokio::main]
async fn main() -> Result<(), api::lambda::Error> {
    api::functions::submit_feedback().await
}
