//! CloudWatch's Embedded Metric Format: what changed since the last line, as
//! JSON documents on stdout, one per line, which CloudWatch Logs turns into
//! metrics with no API call. Each document names its namespace, timestamp,
//! dimension sets and metrics in `_aws`, and holds the values at its root;
//! a document holds one value per metric and per dimension, so what does not
//! fit one (two outcomes in one invocation) goes into the next.
//!
//! Dimensions: `Function` (our function's name, fixed by the code, not the
//! stack's), and a metric's own label (`Outcome`, `Route`, `Cache`, ...),
//! bounded by the code. No tenant and no key id: each value of a dimension is
//! a metric of its own, paid for monthly, and a tenant or key dimension
//! would grow with the customers (`docs/operations.md` says how a team adds
//! one for itself).

use serde_json::{Map, Value, json};

use crate::metrics::{ALL, Metric};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "ApiKeysManager";

struct Entry {
    dimension: Option<(&'static str, &'static str)>,
    metric: &'static str,
    unit: &'static str,
    value: Value,
}

/// The lines for what changed since the last call, at `timestamp_ms`.
pub fn lines(function: &str, timestamp_ms: u64) -> Vec<String> {
    let mut entries = Vec::new();
    for metric in &ALL {
        match metric {
            Metric::Counter(counter) => {
                for (value, delta) in counter.take_deltas() {
                    entries.push(Entry {
                        dimension: counter.label.map(|(_, dimension)| (dimension, value)),
                        metric: counter.emf_name,
                        unit: "Count",
                        value: json!(delta),
                    });
                }
            }
            Metric::Histogram(histogram) => {
                let milliseconds = histogram.name.ends_with("_duration_seconds");
                for (value, seconds) in histogram.take_recent() {
                    let values: Vec<f64> = if milliseconds {
                        seconds.iter().map(|s| s * 1000.0).collect()
                    } else {
                        seconds
                    };
                    entries.push(Entry {
                        dimension: histogram.label.map(|(_, dimension)| (dimension, value)),
                        metric: histogram.emf_name,
                        unit: if milliseconds {
                            "Milliseconds"
                        } else {
                            "Seconds"
                        },
                        value: json!(values),
                    });
                }
            }
        }
    }
    let mut documents: Vec<Vec<Entry>> = Vec::new();
    for entry in entries {
        let fits = |document: &Vec<Entry>| {
            document.iter().all(|other| {
                other.metric != entry.metric
                    && match (other.dimension, entry.dimension) {
                        (Some((a, x)), Some((b, y))) => a != b || x == y,
                        _ => true,
                    }
            })
        };
        match documents.iter_mut().find(|document| fits(document)) {
            Some(document) => document.push(entry),
            None => documents.push(vec![entry]),
        }
    }
    documents
        .iter()
        .map(|document| render(function, timestamp_ms, document))
        .collect()
}

fn render(function: &str, timestamp_ms: u64, entries: &[Entry]) -> String {
    let mut root = Map::new();
    root.insert("Function".into(), json!(function));
    // One directive per dimension set: ["Function"] or ["Function", label].
    let mut directives: Vec<(Vec<&str>, Vec<Value>)> = Vec::new();
    for entry in entries {
        let mut dimensions = vec!["Function"];
        if let Some((name, value)) = entry.dimension {
            root.insert(name.into(), json!(value));
            dimensions.push(name);
        }
        root.insert(entry.metric.into(), entry.value.clone());
        let definition = json!({"Name": entry.metric, "Unit": entry.unit});
        match directives.iter_mut().find(|(set, _)| *set == dimensions) {
            Some((_, metrics)) => metrics.push(definition),
            None => directives.push((dimensions, vec![definition])),
        }
    }
    let directives: Vec<Value> = directives
        .into_iter()
        .map(|(dimensions, metrics)| {
            json!({"Namespace": NAMESPACE, "Dimensions": [dimensions], "Metrics": metrics})
        })
        .collect();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
    );
    Value::Object(root).to_string()
}

/// Writes what changed since the last call to stdout, one line each: the
/// end of a Lambda invocation (CloudWatch reads the function's stdout).
pub fn write(function: &str) {
    use std::io::Write;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    let lines = lines(function, now);
    if lines.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    for line in lines {
        // A metric lost to a closed stdout must not fail the request.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::{RESPONSES, VERIFIES, VERIFY_DURATION};

    #[test]
    fn documents_carry_the_required_fields_and_one_value_per_dimension() {
        crate::metrics::keep_emf_samples();
        VERIFIES.inc("VALID");
        VERIFIES.inc("NOT_FOUND");
        RESPONSES.inc("2xx");
        VERIFY_DURATION.observe("cold", Duration::from_millis(2));
        let written = lines("verify-key", 1_700_000_000_000);
        assert!(
            written.len() >= 2,
            "two outcomes need two documents: {written:?}"
        );
        let mut outcomes = Vec::new();
        for line in &written {
            let document: Value = serde_json::from_str(line).expect("JSON");
            let aws = &document["_aws"];
            assert_eq!(aws["Timestamp"], 1_700_000_000_000u64);
            for directive in aws["CloudWatchMetrics"].as_array().expect("directives") {
                assert_eq!(directive["Namespace"], NAMESPACE);
                for set in directive["Dimensions"].as_array().expect("sets") {
                    for dimension in set.as_array().expect("a set") {
                        let name = dimension.as_str().expect("a name");
                        assert!(document[name].is_string(), "{name} is at the root: {line}");
                    }
                }
                for metric in directive["Metrics"].as_array().expect("metrics") {
                    let name = metric["Name"].as_str().expect("a name");
                    assert!(!document[name].is_null(), "{name} has a value: {line}");
                }
            }
            if let Some(outcome) = document["Outcome"].as_str() {
                outcomes.push(outcome.to_owned());
            }
        }
        outcomes.sort();
        assert_eq!(outcomes, ["NOT_FOUND", "VALID"]);
    }
}
