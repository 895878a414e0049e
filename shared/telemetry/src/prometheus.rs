//! The metrics in Prometheus' text exposition format (version 0.0.4), as the
//! dev server answers `GET /metrics`: `akm_` before each name, `_total` after
//! a counter's, histograms as cumulative `_bucket{le=…}`, `_sum` and `_count`.

use std::fmt::Write;

use crate::metrics::{ALL, Metric};

/// Every name starts with this.
pub const PREFIX: &str = "akm_";

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric as it stands, with its help and type lines.
pub fn render() -> String {
    let mut text = String::new();
    for metric in &ALL {
        // Writing to a String cannot fail.
        let _ = match metric {
            Metric::Counter(counter) => {
                let name = format!("{PREFIX}{}_total", counter.name);
                let _ = writeln!(text, "# HELP {name} {}", counter.help);
                let _ = writeln!(text, "# TYPE {name} counter");
                for (value, total) in counter.totals() {
                    let _ = writeln!(text, "{name}{} {total}", labels(counter.label, value, None));
                }
                Ok::<(), std::fmt::Error>(())
            }
            Metric::Histogram(histogram) => {
                let name = format!("{PREFIX}{}", histogram.name);
                let _ = writeln!(text, "# HELP {name} {}", histogram.help);
                let _ = writeln!(text, "# TYPE {name} histogram");
                for (value, cumulative, sum, count) in histogram.snapshot() {
                    let bounds = histogram.bounds.iter().map(|b| b.to_string());
                    for (le, n) in bounds.chain(["+Inf".to_owned()]).zip(&cumulative) {
                        let labels = labels(histogram.label, value, Some(&le));
                        let _ = writeln!(text, "{name}_bucket{labels} {n}");
                    }
                    let labels = labels(histogram.label, value, None);
                    let _ = writeln!(text, "{name}_sum{labels} {sum}");
                    let _ = writeln!(text, "{name}_count{labels} {count}");
                }
                Ok(())
            }
        };
    }
    text
}

/// `{outcome="VALID",le="0.001"}`, or nothing for no labels.
fn labels(label: crate::metrics::Label, value: &str, le: Option<&str>) -> String {
    let mut pairs = Vec::new();
    if let Some((name, _)) = label {
        pairs.push(format!("{name}=\"{}\"", escape(value)));
    }
    if let Some(le) = le {
        pairs.push(format!("le=\"{le}\""));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

/// A label value as the format quotes it (ours are the code's own words;
/// escaped all the same).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::{VERIFIES, VERIFY_DURATION};

    #[test]
    fn counters_and_histograms_render_as_the_format_says() {
        VERIFIES.inc("VALID");
        VERIFY_DURATION.observe("warm", Duration::from_micros(3));
        let text = render();
        assert!(
            text.contains("# TYPE akm_verifies_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("akm_verifies_total{outcome=\"VALID\"} "),
            "{text}"
        );
        assert!(
            text.contains("# TYPE akm_verify_duration_seconds histogram\n"),
            "{text}"
        );
        assert!(
            text.contains("akm_verify_duration_seconds_bucket{cache=\"warm\",le=\"0.00001\"} "),
            "{text}"
        );
        assert!(
            text.contains("akm_verify_duration_seconds_bucket{cache=\"warm\",le=\"+Inf\"} "),
            "{text}"
        );
        assert!(
            text.contains("akm_verify_duration_seconds_count{cache=\"warm\"} "),
            "{text}"
        );
        assert!(
            text.lines()
                .all(|line| line.starts_with('#') || line.starts_with(PREFIX))
        );
    }
}
