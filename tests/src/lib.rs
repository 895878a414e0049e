//! Integration suites live in `suite/`.
