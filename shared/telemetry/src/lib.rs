//! What the product does, counted in process: a fixed set of counters and
//! latency histograms ([`metrics`]), each with at most one label whose values
//! are the code's own `&'static str`s (a verdict's code, a route's name), so
//! no request text and no key id can ever become a series and the number of
//! series is bounded by the code. The Lambdas write what changed since their
//! last invocation as CloudWatch Embedded Metric Format lines on stdout
//! ([`emf`]: no API call, no wait); the dev server answers `GET /metrics` in
//! Prometheus' text format ([`prometheus`]). Hand-written rather than
//! `metrique` or `metrics_cloudwatch_embedded`: the set is fixed and small,
//! both outputs are a page each, and neither crate gives the Prometheus text
//! the dev server needs (`docs/operations.md`).

pub mod emf;
pub mod metrics;
pub mod prometheus;
pub mod xray;

pub use metrics::{ALL, Counter, Histogram};
