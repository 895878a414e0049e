//! X-Ray subsegments for the calls a function makes to AWS (DynamoDB), when
//! the stack's `Tracing` parameter is `Active`. Lambda then runs the X-Ray
//! daemon beside the function (`AWS_XRAY_DAEMON_ADDRESS`) and hands each
//! invocation its trace header (`_X_AMZN_TRACE_ID`: `Root=…;Parent=…;
//! Sampled=1`, which the Lambda runtime puts in the environment); a sampled
//! invocation's calls are sent to the daemon as subsegments of the
//! function's segment, one UDP datagram each, after the call (nothing waits
//! on it). With tracing off neither variable is set, and this sends nothing.
//!
//! Why not an SDK: the X-Ray SDKs are going into maintenance, and what AWS
//! recommends instead, OpenTelemetry through the ADOT Lambda layer, puts a
//! collector in every cold start; the daemon's protocol is a JSON line.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::UdpSocket;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

/// One call, as X-Ray shows it under the function's segment.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The service (`DynamoDB`).
    pub service: &'a str,
    /// Its operation (`GetItem`, `TransactWriteItems`).
    pub operation: &'a str,
    pub table: Option<&'a str>,
    pub started: SystemTime,
    pub ended: SystemTime,
    /// The call failed (an error, or no answer).
    pub failed: bool,
}

/// The invocation's trace, if it is sampled: its root and its segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub root: String,
    pub parent: String,
}

impl Trace {
    /// From a trace header (`Root=1-…;Parent=…;Sampled=1`); `None` unless
    /// sampled and whole.
    pub fn parse(header: &str) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", value)) => root = Some(value),
                Some(("Parent", value)) => parent = Some(value),
                Some(("Sampled", value)) => sampled = value == "1",
                _ => {}
            }
        }
        let well_formed = |text: &str| {
            !text.is_empty()
                && text.len() <= 64
                && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        };
        match (root, parent) {
            (Some(root), Some(parent)) if sampled && well_formed(root) && well_formed(parent) => {
                Some(Self {
                    root: root.to_owned(),
                    parent: parent.to_owned(),
                })
            }
            _ => None,
        }
    }

    /// This invocation's, from the environment the Lambda runtime sets.
    pub fn current() -> Option<Self> {
        Self::parse(&std::env::var("_X_AMZN_TRACE_ID").ok()?)
    }
}

/// The subsegment document of `call` in `trace`, as the daemon takes it.
pub fn subsegment(trace: &Trace, call: &Call<'_>) -> String {
    let seconds = |at: SystemTime| {
        at.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let mut document = json!({
        "name": call.service,
        "id": format!("{:016x}", random_id()),
        "trace_id": trace.root,
        "parent_id": trace.parent,
        "type": "subsegment",
        "namespace": "aws",
        "start_time": seconds(call.started),
        "end_time": seconds(call.ended),
        "aws": {"operation": call.operation},
    });
    if let Some(table) = call.table {
        document["aws"]["table_name"] = json!(table);
    }
    if call.failed {
        document["fault"] = json!(true);
    }
    document.to_string()
}

/// Sends `call` to the X-Ray daemon if this invocation is sampled and a
/// daemon is there; anything that fails is dropped (a trace must never
/// fail a request).
pub fn record(call: &Call<'_>) {
    let Some(daemon) = daemon() else {
        return;
    };
    let Some(trace) = Trace::current() else {
        return;
    };
    let datagram = format!(
        "{{\"format\": \"json\", \"version\": 1}}\n{}",
        subsegment(&trace, call)
    );
    let _ = daemon.0.send_to(datagram.as_bytes(), &daemon.1);
}

/// The daemon's socket and address (`AWS_XRAY_DAEMON_ADDRESS`, `host:port`),
/// made once; `None` when tracing is off.
fn daemon() -> Option<&'static (UdpSocket, String)> {
    static DAEMON: OnceLock<Option<(UdpSocket, String)>> = OnceLock::new();
    DAEMON
        .get_or_init(|| {
            let address = std::env::var("AWS_XRAY_DAEMON_ADDRESS").ok()?;
            // The variable may list `udp:host:port tcp:host:port`.
            let udp = address
                .split_whitespace()
                .find_map(|part| part.strip_prefix("udp:"))
                .unwrap_or(&address)
                .to_owned();
            let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
            Some((socket, udp))
        })
        .as_ref()
}

/// A random 64-bit id: `RandomState` is keyed from the OS's randomness.
fn random_id() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_sampled_header_gives_its_trace_and_others_none() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(
            Trace::parse(header),
            Some(Trace {
                root: "1-5759e988-bd862e3fe1be46a994272793".into(),
                parent: "53995c3f42cd8ad8".into(),
            })
        );
        assert_eq!(
            Trace::parse(&header.replace("Sampled=1", "Sampled=0")),
            None
        );
        assert_eq!(Trace::parse("Root=1-abc;Sampled=1"), None);
        assert_eq!(Trace::parse("Root=\"x\";Parent=1;Sampled=1"), None);
    }

    #[test]
    fn a_subsegment_names_its_trace_parent_and_call() {
        let trace = Trace {
            root: "1-5759e988-bd862e3fe1be46a994272793".into(),
            parent: "53995c3f42cd8ad8".into(),
        };
        let started = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let call = Call {
            service: "DynamoDB",
            operation: "GetItem",
            table: Some("keys"),
            started,
            ended: started + Duration::from_millis(4),
            failed: true,
        };
        let document: serde_json::Value =
            serde_json::from_str(&subsegment(&trace, &call)).expect("JSON");
        assert_eq!(document["trace_id"], trace.root);
        assert_eq!(document["parent_id"], trace.parent);
        assert_eq!(document["type"], "subsegment");
        assert_eq!(document["aws"]["operation"], "GetItem");
        assert_eq!(document["fault"], true);
        assert_eq!(document["id"].as_str().map(str::len), Some(16));
        let took = document["end_time"].as_f64().unwrap_or(0.0)
            - document["start_time"].as_f64().unwrap_or(0.0);
        assert!((took - 0.004).abs() < 1e-6, "{took}");
    }

    proptest! {
        #[test]
        fn any_header_never_panics(header in "\\PC{0,200}") {
            let _ = Trace::parse(&header);
        }
    }
}
