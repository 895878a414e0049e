//! `dev-server`: the whole API on 127.0.0.1 with an embedded store.
//!
//! ```text
//! dev-server [--addr 127.0.0.1:3000] [--data-dir ./.data] [--dynamodb-endpoint URL]
//!            [--sweep-every SECONDS] [--header-timeout SECONDS] [--body-timeout SECONDS]
//!            [--max-connections N] [--console-dir ./console/dist]
//! ```
//!
//! Configuration is the Lambdas' (see `api::config`), with local defaults:
//! `JWT_ISSUER=api-keys-manager-dev`, `JWT_AUDIENCE=api-keys-manager`, and a
//! generated `JWT_HS256_SECRET` unless one (or `JWKS_URL`) is set.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use api::config::{CleanupConfig, Env, ProcessEnv};
use api::{Identity, ServiceConfig};
use auth::{AuthConfig, SigningKeys, issue_hs256_token};
use dev_server::{Backend, ConsoleConfig, JobOptions, LeakConfig, Limits, Options, Running};
use domain::Role;

const USAGE: &str = "usage: dev-server [--addr 127.0.0.1:3000] [--data-dir ./.data] \
    [--dynamodb-endpoint URL] [--sweep-every SECONDS] [--header-timeout SECONDS] \
    [--body-timeout SECONDS] [--max-connections N] [--console-dir ./console/dist]";
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: escape codes in a log file are
    // noise at best, and a way to forge what a reader sees at worst.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A thread of its own writes the lines, buffered and flushed whenever it
    // has caught up; requests never wait on stderr. Not lossy: under a flood
    // of lines a request waits for room rather than a line being dropped.
    let (writer, _flushed_at_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer)
        .init();
    runtime::log_panics_without_their_message();
    // What counting costs is measured by running without it (tests/load).
    if std::env::var("TELEMETRY").is_ok_and(|value| value == "off") {
        telemetry::metrics::switch_off();
    }
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dev-server: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

struct Args {
    addr: SocketAddr,
    data_dir: PathBuf,
    dynamodb_endpoint: Option<String>,
    sweep_every: Duration,
    limits: Limits,
    console_dir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        data_dir: PathBuf::from("./.data"),
        dynamodb_endpoint: ProcessEnv.optional("DYNAMODB_ENDPOINT"),
        sweep_every: JobOptions::default().sweep_every,
        limits: Limits::default(),
        console_dir: PathBuf::from("./console/dist"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = given
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--addr" => args.addr = value.parse().map_err(|e| format!("--addr {value}: {e}"))?,
            "--data-dir" => args.data_dir = PathBuf::from(value),
            "--console-dir" => args.console_dir = PathBuf::from(value),
            "--dynamodb-endpoint" => args.dynamodb_endpoint = Some(value),
            "--sweep-every" => {
                let seconds: u64 = value
                    .parse()
                    .map_err(|e| format!("--sweep-every {value}: {e}"))?;
                args.sweep_every = Duration::from_secs(seconds.max(1));
            }
            "--header-timeout" => args.limits.header_timeout = seconds(&flag, &value)?,
            "--body-timeout" => args.limits.body_timeout = seconds(&flag, &value)?,
            "--max-connections" => {
                args.limits.max_connections = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("{flag} {value}: must be a whole number from 1"))?;
            }
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|s| *s >= 1)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{flag} {value}: must be a whole number of seconds from 1"))
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let generated_secret = (ProcessEnv.optional("JWT_HS256_SECRET").is_none()
        && ProcessEnv.optional("JWKS_URL").is_none())
    .then(|| kept_secret(&args.data_dir.join(SECRET_FILE)))
    .transpose()?;
    let env = |name: &str| {
        ProcessEnv.optional(name).or_else(|| match name {
            "JWT_ISSUER" => Some("api-keys-manager-dev".into()),
            "JWT_AUDIENCE" => Some("api-keys-manager".into()),
            "JWT_HS256_SECRET" => generated_secret.clone(),
            "TABLE_NAME" => Some("api-keys-dev".into()),
            _ => None,
        })
    };
    let auth = AuthConfig::from_env(&env).map_err(|e| e.to_string())?;
    let service = ServiceConfig::from_env(&env).map_err(|e| e.to_string())?;
    let backend = match &args.dynamodb_endpoint {
        Some(endpoint) => Backend::DynamoDb {
            endpoint: endpoint.clone(),
        },
        None => Backend::Embedded {
            data_dir: args.data_dir.clone(),
        },
    };
    let cleanup = CleanupConfig::from_env(&env).map_err(|e| e.to_string())?;
    let jobs = JobOptions {
        sweep_every: args.sweep_every,
        sweep: ::jobs::SweepPolicy {
            retention: cleanup.retention(),
            notice: cleanup.expiry_notice,
        },
    };
    let options = Options {
        addr: args.addr,
        backend: backend.clone(),
        auth: auth.clone(),
        service: service.clone(),
        jobs,
        limits: args.limits,
        console_dir: args.console_dir.clone(),
        console: ConsoleConfig::from_env(&env).map_err(|e| e.to_string())?,
        leaks: LeakConfig::from_env(&env).map_err(|e| e.to_string())?,
    };
    let running = dev_server::start(options)
        .await
        .map_err(|e| error_chain(&e))?;
    announce(
        &running,
        &args,
        &backend,
        &auth,
        &service,
        generated_secret.is_some(),
    )?;

    let signal = stop_signal().await?;
    tracing::info!(signal, "stopping");
    // Writes what is pending (the usage counts) before the process ends.
    running.stop().await;
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM, the signal systemd, Docker and
/// Kubernetes stop a process with: both stop the server the same way.
async fn stop_signal() -> Result<&'static str, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("waiting for SIGTERM: {e}"))?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => {
            interrupted.map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
            Ok("SIGINT")
        }
        _ = terminate.recv() => Ok("SIGTERM"),
    }
}

/// Prints where the server is, the ready tokens and the demo ids, and writes
/// them to `<data dir>/dev.env` so a shell can load them (`. .data/dev.env`).
fn announce(
    running: &Running,
    args: &Args,
    backend: &Backend,
    auth: &AuthConfig,
    service: &ServiceConfig,
    secret_was_generated: bool,
) -> Result<(), String> {
    let url = format!("http://{}", running.addr);
    let store = match backend {
        Backend::Embedded { data_dir } => {
            format!("embedded, {}", data_dir.join("api-keys.redb").display())
        }
        Backend::DynamoDb { endpoint } => {
            format!("DynamoDB at {endpoint}, table {}", service.table_name)
        }
    };
    println!("API Keys manager dev server on {url} (store: {store})");
    let loopback = running.addr.ip().is_loopback();
    if running.console && !loopback {
        println!(
            "The console is served, but its local sign-in is off: it answers only a browser on \
             this machine with the server on a loopback address (--addr 127.0.0.1:…). Use the \
             tokens below."
        );
    } else if running.console {
        println!("The console: open {url}/ and sign in as any demo role.");
    } else {
        println!(
            "The console is not built ({}): `bash run.sh` builds it and starts this server.",
            args.console_dir.display()
        );
    }
    let mut exports = vec![
        format!("export API={url}"),
        format!("export APP_ID={}", running.demo.application_id),
        format!("export ARX_ID={}", running.demo.arx_id),
    ];
    match &auth.keys {
        SigningKeys::Hs256 { secret } => {
            if secret_was_generated {
                println!(
                    "JWT_HS256_SECRET was not set, so tokens are signed with the random secret kept \
                     in {} (mode 0600): they stay valid across restarts; delete it to revoke them all.",
                    args.data_dir.join(SECRET_FILE).display()
                );
            }
            for (variable, role) in [
                ("OWNER_TOKEN", Role::PlatformOwner),
                ("ADMIN_TOKEN", Role::PlatformAdmin),
                ("DEVELOPER_TOKEN", Role::Developer),
                ("VERIFIER_TOKEN", Role::Verifier),
            ] {
                let identity = Identity {
                    tenant: running.demo.tenant.clone(),
                    user: dev_server::seed::demo_user(role).map_err(|e| e.to_string())?,
                    role,
                };
                let token = issue_hs256_token(auth, secret, &identity, TOKEN_LIFETIME)
                    .map_err(|e| e.to_string())?;
                exports.push(format!("export {variable}={token}"));
            }
        }
        SigningKeys::Jwks { url } => {
            println!("Tokens are verified with the keys at {url}; none are printed.")
        }
    }
    let env_file = args.data_dir.join("dev.env");
    write_private(&env_file, &(exports.join("\n") + "\n"))
        .map_err(|e| format!("writing {}: {e}", env_file.display()))?;
    println!(
        "Demo tenant `{}`, 12-hour tokens for each role, and for a service that verifies keys \
         (also in {path}: `. {path}` loads them in sh or bash):",
        running.demo.tenant,
        path = env_file.display()
    );
    println!("{}", exports.join("\n"));
    println!("Ctrl-C stops the server.");
    Ok(())
}

/// Writes a file only its owner can read: it holds bearer tokens.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// Where the dev server keeps the secret it signs tokens with, in its data dir.
const SECRET_FILE: &str = "jwt-secret";

/// The signing secret kept at `path`, or a new random one written there (mode
/// 0600), so the tokens in `dev.env` outlive a restart.
fn kept_secret(path: &Path) -> Result<String, String> {
    let kept = std::fs::read_to_string(path).ok();
    if let Some(secret) = kept
        .map(|text| text.trim().to_owned())
        .filter(|text| text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Ok(secret);
    }
    let secret = random_secret();
    write_private(path, &(secret.clone() + "\n"))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(secret)
}

fn random_secret() -> String {
    use rand::{RngCore, TryRngCore, rngs::OsRng};
    let mut bytes = [0u8; 32];
    OsRng.unwrap_err().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    api::problem::chain(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_secret_is_kept_private_across_restarts() {
        let dir = std::env::temp_dir().join(format!("dev-server-secret-{}", std::process::id()));
        let path = dir.join(SECRET_FILE);
        let first = kept_secret(&path).expect("written");
        assert_eq!(
            kept_secret(&path).expect("read"),
            first,
            "the same after a restart"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("a file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a secret").expect("written");
        let replaced = kept_secret(&path).expect("replaced");
        assert_ne!(replaced, first);
        assert_eq!(replaced.len(), 64);
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
