//! The dev server: the whole API on one machine. It resolves routes exactly as
//! the HTTP API does, runs the authorizer's logic in front of every route, and
//! calls the very handlers the Lambdas run ([`api::dispatch`]). The cleanup
//! jobs run in-process: a cascade right after an archive or an Arx deletion
//! (where AWS has the table's stream), and the sweep on a timer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use api::{ApiStore, AppState, ServiceConfig};
use auth::{AuthConfig, Authenticator, SigningKeys};
pub use runtime::console::ConsoleConfig;
use store::{ApiKeySweep, DynamoStore, EmbeddedStore, PendingCascades, StoreError};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use verify::leaks::GithubKeys;
pub use verify::leaks::LeakConfig;

mod connections;
mod console;
mod jobs;
pub mod seed;
mod server;

pub use seed::DemoCatalog;

/// Where the dev server keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A redb file in this folder (created if missing): survives restarts.
    Embedded { data_dir: PathBuf },
    /// A DynamoDB-compatible server; the table (`ServiceConfig::table_name`) is
    /// created if missing.
    DynamoDb { endpoint: String },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub auth: AuthConfig,
    pub service: ServiceConfig,
    pub jobs: JobOptions,
    pub limits: Limits,
    /// The console's built files (`console/dist`).
    pub console_dir: PathBuf,
    /// How the console signs in (`ConsoleConfig::from_env`): without Cognito
    /// settings and with the dev server's own secret, the local sign-in.
    pub console: ConsoleConfig,
    /// Where GitHub's secret scanning keys are (`POST /v1/leaks/github`);
    /// leak notices go to the log here, whatever the topic says.
    pub leaks: LeakConfig,
}

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To send a request's headers, and the longest a kept-alive connection
    /// may sit idle between requests.
    pub header_timeout: std::time::Duration,
    /// To send a request's body once its headers are in.
    pub body_timeout: std::time::Duration,
    /// Open connections at once; one more closes the connection idle the
    /// longest, or, if every one is in a request, is answered 503 and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
            max_connections: connections::cap_from_descriptor_limit(),
        }
    }
}

/// When the sweep runs, how long ended keys are kept, and when keys get their
/// expiry notice (written to the log: the dev server has no topic).
#[derive(Debug, Clone, Copy)]
pub struct JobOptions {
    pub sweep_every: std::time::Duration,
    pub sweep: ::jobs::SweepPolicy,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            sweep_every: std::time::Duration::from_secs(60),
            sweep: ::jobs::SweepPolicy {
                retention: time::Duration::days(30),
                notice: domain::NoticePeriod::default(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not prepare the data folder")]
    DataDir(#[source] std::io::Error),
    #[error("could not open the store")]
    Store(#[source] StoreError),
    #[error("could not open the data")]
    Data(#[source] store::OpenRefused),
    #[error("could not seed the demo tenant")]
    Seed(#[source] StoreError),
    #[error("could not set up token verification")]
    Authenticator(#[source] std::io::Error),
    #[error("could not set up the secret scanning keys")]
    LeakKeys(#[source] std::io::Error),
    #[error("could not listen on the address")]
    Listen(#[source] std::io::Error),
}

/// A started server: where it listens and what it seeded.
pub struct Running {
    pub addr: SocketAddr,
    pub demo: DemoCatalog,
    /// Whether the console's build was found and is served at `/`.
    pub console: bool,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    jobs: JoinHandle<()>,
    /// Writes the usage counts every interval (`verify::usage`), and gives
    /// back the leases of hot keys' limits that ended (`store::leases`).
    counting: JoinHandle<()>,
    /// Writes what is counted and not yet written, at stop.
    last_counts: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("console", &self.console)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Stops accepting connections, waits for the accept loop to end, and
    /// writes the usage counts not written yet.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
        self.jobs.abort();
        self.counting.abort();
        self.last_counts.await;
    }
}

pub async fn start(options: Options) -> Result<Running, StartError> {
    match &options.backend {
        Backend::Embedded { data_dir } => {
            std::fs::create_dir_all(data_dir).map_err(StartError::DataDir)?;
            let store = EmbeddedStore::open(data_dir.join("api-keys.redb"))
                .map_err(StartError::Store)?
                .with_leases(options.service.leases);
            serve(store, options).await
        }
        Backend::DynamoDb { endpoint } => {
            let store = DynamoStore::local(endpoint, &options.service.table_name)
                .with_leases(options.service.leases);
            store
                .create_table_if_missing()
                .await
                .map_err(StartError::Store)?;
            serve(store, options).await
        }
    }
}

async fn serve<S: ApiStore + ApiKeySweep + PendingCascades + store::DataVersionStore>(
    store: S,
    options: Options,
) -> Result<Running, StartError> {
    // What wrote this data: older data is brought up to date, newer refused.
    store::open_data(&store, env!("CARGO_PKG_VERSION"))
        .await
        .map_err(StartError::Data)?;
    let demo = seed::demo_tenant(&store, &options.service.arx_base_url)
        .await
        .map_err(StartError::Seed)?;
    let authenticator =
        Authenticator::new(options.auth.clone()).map_err(StartError::Authenticator)?;
    let github_keys =
        GithubKeys::new(options.leaks.keys_url.clone()).map_err(StartError::LeakKeys)?;
    let state = Arc::new(AppState::new(store, &options.service));
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(StartError::Listen)?;
    let addr = listener.local_addr().map_err(StartError::Listen)?;
    let (cascades, queued) = mpsc::unbounded_channel();
    let jobs = tokio::spawn(jobs::run(Arc::clone(&state), queued, options.jobs));
    let counted = Arc::clone(&state);
    let counting = tokio::spawn(async move {
        let store = &counted.store;
        let returning = async {
            let mut every_second = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                every_second.tick().await;
                // Failures are logged where they happen; the rest stays spent.
                let _ = store.return_leases(false).await;
            }
        };
        tokio::join!(counted.verifier.usage.run(store), returning);
    });
    let counted = Arc::clone(&state);
    let last_counts = Box::pin(async move {
        counted.verifier.usage.flush(&counted.store).await;
        // What this process holds leased goes back before it stops.
        if let Err(error) = counted.store.return_leases(true).await {
            let reason = store::error_chain(&error);
            tracing::warn!(%reason, "leases could not go back at shutdown");
        }
    });
    let (shutdown, stopped) = oneshot::channel();
    let sign_in = match (&options.console.sign_in, &options.auth.keys) {
        (None, SigningKeys::Hs256 { secret }) => Some(console::LocalSignIn {
            auth: options.auth.clone(),
            secret: secret.clone(),
            tenant: demo.tenant.clone(),
        }),
        // Tokens come from a real issuer: the console signs in there.
        _ => None,
    };
    let console = console::Console::new(&options.console_dir, options.console.clone(), sign_in);
    let console_served = console.is_built();
    let server = server::Server {
        state,
        authenticator: Arc::new(authenticator),
        cascades,
        limits: options.limits,
        console,
        github_keys,
        local_addr: addr,
        // Who may read `/metrics` from beyond this machine (loopback always may).
        metrics_token: std::env::var("METRICS_TOKEN")
            .ok()
            .filter(|token| !token.is_empty()),
    };
    let task = tokio::spawn(server::accept(listener, Arc::new(server), stopped));
    Ok(Running {
        addr,
        demo,
        console: console_served,
        shutdown: Some(shutdown),
        task,
        jobs,
        counting,
        last_counts,
    })
}
