//! Query parameters: each read from the names its route's row declares
//! (checked once, before the handler runs), by the parsers routes share.

use domain::{Cursor, PageLimit, PrefixedId};
use std::collections::HashMap;

use crate::problem::ApiError;

pub fn limit(params: &HashMap<&str, &str>) -> Result<PageLimit, ApiError> {
    match params.get("limit") {
        None => Ok(PageLimit::default()),
        Some(raw) => raw
            .parse::<i64>()
            .map_err(|_| domain::InvalidValue::Malformed("must be a whole number"))
            .and_then(PageLimit::parse)
            .map_err(|reason| ApiError::invalid("limit", reason)),
    }
}

pub fn cursor<Id: PrefixedId>(
    params: &HashMap<&str, &str>,
) -> Result<Option<Cursor<Id>>, ApiError> {
    params
        .get("cursor")
        .map(|raw| Cursor::decode(raw).map_err(|reason| ApiError::invalid("cursor", reason)))
        .transpose()
}

/// A parameter parsed by `parse`, refused with its name if it does not parse.
pub fn optional<T>(
    params: &HashMap<&str, &str>,
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, domain::InvalidValue>,
) -> Result<Option<T>, ApiError> {
    params
        .get(name)
        .map(|raw| parse(raw).map_err(|reason| ApiError::invalid(name, reason)))
        .transpose()
}

/// `true` or `false`, the one way a query parameter says yes or no.
pub fn boolean(raw: &str) -> Result<bool, domain::InvalidValue> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(domain::InvalidValue::NotOneOf {
            allowed: "true, false",
        }),
    }
}
