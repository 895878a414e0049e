//! The `console` Lambda: the web console's files (embedded by build.rs) and
//! its `/config.json`, on the console's own HTTP API. Answers GET and HEAD on
//! any path; the API itself is elsewhere (`API_URL`).

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::console(FILES).await
}
