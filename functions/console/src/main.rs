//! The `console` Lambda: the web console's files (embedded by build.rs) and
//! its `/config.json`, on the console's own HTTP API. Answers GET and HEAD on
//! any path; the API itself is elsewhere (`API_URL`).

use api::console::{ConsoleAssets, ConsoleConfig};
use api::lambda;
use environment::ProcessEnv;

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ConsoleConfig::from_env(&ProcessEnv)).await?;
    let files = FILES
        .iter()
        .map(|(url, body)| ((*url).to_owned(), body.to_vec()));
    let assets = lambda::configured(ConsoleAssets::new(files, &config)).await?;
    lambda::serve_console(assets).await
}
