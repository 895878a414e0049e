//! A dev server process of our own for the suites that need a real one
//! (a fresh data folder, a real signal, a real `kill -9`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) const SECRET: &str = "hostile-client-secret-hostile-client-secret";

/// A dev server process of our own, killed when dropped.
pub(crate) struct DevServer {
    pub(crate) child: Child,
    pub(crate) addr: String,
    pub(crate) dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl DevServer {
    /// Starts `target/debug/dev-server` (built first, so it is never stale)
    /// with short timeouts; `fd_limit` runs it under `ulimit -n`.
    pub(crate) fn start(extra_args: &[&str], fd_limit: Option<u32>) -> Self {
        Self::start_in(
            tempfile::tempdir().expect("a data folder"),
            extra_args,
            fd_limit,
        )
    }

    /// The same, on the data folder `dir` (a server started again on its data).
    pub(crate) fn start_in(
        dir: tempfile::TempDir,
        extra_args: &[&str],
        fd_limit: Option<u32>,
    ) -> Self {
        Self::start_with(dir, extra_args, fd_limit, &[])
    }

    /// The same, with `env` set for the process (a table of its own, say).
    pub(crate) fn start_with(
        dir: tempfile::TempDir,
        extra_args: &[&str],
        fd_limit: Option<u32>,
        env: &[(&str, &str)],
    ) -> Self {
        let binary = dev_server_binary();
        let _ = std::fs::remove_file(dir.path().join("dev.env"));
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut args: Vec<String> = vec![
            "--addr".into(),
            addr.clone(),
            "--data-dir".into(),
            dir.path().display().to_string(),
            "--header-timeout".into(),
            "2".into(),
            "--body-timeout".into(),
            "2".into(),
        ];
        args.extend(extra_args.iter().map(|a| a.to_string()));
        let mut command = match fd_limit {
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(&binary)
                    .args(&args);
                sh
            }
            None => {
                let mut direct = Command::new(&binary);
                direct.args(&args);
                direct
            }
        };
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(dir.path().join("server.log"))
            .expect("a log file");
        // On the embedded store unless `extra_args` names a DynamoDB server:
        // the test command's own DYNAMODB_ENDPOINT is not inherited, so a
        // storm here measures this server, not the test DynamoDB server.
        let child = command
            .env_remove("DYNAMODB_ENDPOINT")
            .env("JWT_HS256_SECRET", SECRET)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
        let env_file = dir.path().join("dev.env");
        let started = Instant::now();
        while !env_file.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the dev server did not start; its log:\n{}",
                std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = std::fs::read_to_string(&env_file).expect("dev.env");
        let env = text
            .lines()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self {
            child,
            addr,
            dir,
            env,
        }
    }

    /// Stops the process as systemd, Docker and Kubernetes do (SIGTERM) and
    /// waits for it to end; its data folder is handed back for a restart.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success(), "kill -TERM failed");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("a status") {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the dev server did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("a folder"));
        (status, dir)
    }

    /// Kills the process as a crash or the OOM killer would (`kill -9`: no
    /// chance to write anything) and hands back its data folder.
    pub(crate) fn kill_9(mut self) -> tempfile::TempDir {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("it ended");
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("a folder"))
    }

    /// One request on its own connection, or `None` if the server went away
    /// before it answered: `(status, body)`.
    pub(crate) async fn try_request(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
    ) -> Option<(u16, String)> {
        let raw = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = TcpStream::connect(&self.addr).await.ok()?;
        stream.write_all(raw.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let (_, body) = text.split_once("\r\n\r\n")?;
        Some((status, body.to_owned()))
    }

    pub(crate) fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{name} is not in dev.env"))
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub(crate) fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the dev server died ({status}); its log:\n{}", self.log());
        }
    }

    /// `(field, kB)` from `/proc/<pid>/status`, e.g. `VmHWM`, the peak RSS.
    pub(crate) fn memory_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// CPU time (user + system) the server has used, in clock ticks.
    pub(crate) fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("the server's /proc stat");
        // Fields after the command name's closing parenthesis; utime and stime
        // are the 14th and 15th fields of the whole line.
        let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        field(11) + field(12)
    }

    /// One request on its own connection: `(status, raw head and body)`.
    pub(crate) async fn send(&self, raw: &[u8]) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).await.expect("connected");
        stream.write_all(raw).await.expect("sent");
        let answer = tokio::time::timeout(Duration::from_secs(20), read_until_closed(&mut stream))
            .await
            .expect("an answer in time");
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }

    pub(crate) async fn request(
        &self,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: &str,
    ) -> (u16, String) {
        let raw = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
             content-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        self.send(raw.as_bytes()).await
    }

    /// Still serving: a signed-in user lists applications.
    pub(crate) async fn assert_serving(&mut self) {
        self.assert_alive();
        let token = self.var("DEVELOPER_TOKEN").to_owned();
        let (status, text) = self
            .request("GET", "/v1/applications", &token, "application/json", "")
            .await;
        assert_eq!(status, 200, "{text}");
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the server sent before it closed. A server that answers early (413)
/// and closes with our bytes unread resets the connection: keep what came.
pub(crate) async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buffer).await {
        answer.extend_from_slice(&buffer[..n]);
    }
    answer
}

/// Builds the dev server binary (a no-op when it is fresh) and returns its path.
pub(crate) fn dev_server_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "dev-server"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "`cargo build -p dev-server` failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("debug").join("dev-server")
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
