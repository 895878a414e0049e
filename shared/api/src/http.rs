//! The API's own request and response, free of Lambda and hyper types: the
//! Lambda adapter and the dev server both translate to and from these, so the
//! handlers are the same code in both.

use std::collections::HashMap;

pub use auth::Identity;
use bytes::Bytes;
use domain::PrefixedId;
pub use runtime::ApiResponse;

use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// Request bodies above this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub identity: Identity,
    /// The `{id}` of the path, for routes that have one.
    pub id: Option<String>,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    /// The `Idempotency-Key` header as sent, if any (checked by the routes
    /// that take one: create, rotate, import).
    pub idempotency_key: Option<String>,
    /// How the body was sent: JSON, or CSV (which only the import reads).
    pub media: BodyMedia,
}

/// The media types a request body may be sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyMedia {
    #[default]
    Json,
    /// `text/csv`: the import's one file of keys; every other route
    /// refuses it (415) as it refuses any type but JSON.
    Csv,
}

/// The `Idempotency-Key` header as sent (its bytes as text, a non-UTF-8
/// byte as U+FFFD, so a key that is not text is refused by name later).
pub fn idempotency_key_of(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// Refuses (415) a body that is not sent as `application/json` or
/// `text/csv` (parameters such as `charset` allowed), and says which. An
/// empty body needs no type.
pub fn check_content_type(content_type: Option<&str>, body: &[u8]) -> Result<BodyMedia, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BodyMedia::Json);
    }
    let media_type = content_type
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    match media_type {
        Some(media_type) if media_type.eq_ignore_ascii_case("application/json") => {
            Ok(BodyMedia::Json)
        }
        Some(media_type) if media_type.eq_ignore_ascii_case("text/csv") => Ok(BodyMedia::Csv),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

impl ApiRequest {
    /// The body as `T`: 400 naming the field at fault when it does not fit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.media != BodyMedia::Json {
            return Err(ApiError::UnsupportedMediaType);
        }
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::BodyTooLarge {
                max_bytes: MAX_BODY_BYTES,
            });
        }
        refuse_misplaced_lists(&self.body)?;
        let deserializer = &mut serde_json::Deserializer::from_slice(&self.body);
        let value = serde_path_to_error::deserialize(&mut *deserializer).map_err(body_error)?;
        deserializer
            .end()
            .map_err(|error| malformed(&error, None))?;
        Ok(value)
    }

    /// Like [`Self::json`], but an empty body reads as `T::default()`.
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        self.json()
    }

    /// The path's `{id}` as our id type: 400 if it cannot be one of ours.
    pub fn path_id<Id: PrefixedId>(&self) -> Result<Id, ApiError> {
        let raw = self.id.as_deref().unwrap_or_default();
        Id::parse(raw).map_err(|reason| ApiError::invalid("id", reason))
    }

    /// The query parameters, refusing names this route does not take and
    /// repeated names (which would otherwise be silently half-ignored).
    /// The query as names and values: [`crate::respond`] has already
    /// refused any name the route's row does not declare, and any name
    /// given twice. Handlers read it as their route's struct
    /// ([`ApiRequest::query`]).
    pub fn params(&self) -> HashMap<&str, &str> {
        self.query
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    /// Checks the query against the names a route takes (`allowed`): any
    /// other name, or one given twice, is refused naming it.
    pub fn query_params(&self, allowed: &[&str]) -> Result<HashMap<&str, &str>, ApiError> {
        let mut params = HashMap::new();
        for (name, value) in &self.query {
            if !allowed.contains(&name.as_str()) {
                let reason = format!(
                    "is not a query parameter of this route (it takes: {})",
                    allowed.join(", ")
                );
                return Err(match echo_safe_field(name) {
                    Some(field) => ApiError::InvalidField {
                        field: field.to_owned(),
                        reason,
                    },
                    None => ApiError::MalformedBody {
                        detail: format!("a query parameter {reason}"),
                        field: None,
                    },
                });
            }
            if params.insert(name.as_str(), value.as_str()).is_some() {
                return Err(ApiError::InvalidField {
                    field: name.clone(),
                    reason: "must be given at most once".into(),
                });
            }
        }
        Ok(params)
    }
}

/// The fields whose value is a list; every other value of a body is an
/// object or a scalar.
const LIST_FIELDS: &[&str] = &[
    "checks",
    "cors_origins",
    "permissions",
    "rate_limits",
    "roles",
    "entries",
];

/// The fields that hold the client's own JSON, whatever its shape (a key's
/// `meta`): nothing under them is read as ours; and the import's `keys`,
/// whose items are each checked on their own ([`refuse_misplaced_lists`]),
/// so one bad item is refused alone.
const FREE_FORM_FIELDS: &[&str] = &["meta", "keys"];

/// Refuses a list where the API takes an object. serde reads a struct from a
/// JSON array as readily as from an object (its fields in order), so without
/// this `{"limits": []}` would read as limits of no parts, which removes a
/// key's limits. Only bodies that hold a `[` at all are looked at again.
pub(crate) fn refuse_misplaced_lists(body: &[u8]) -> Result<(), ApiError> {
    if !body.contains(&b'[') {
        return Ok(());
    }
    // Not JSON at all: the parse that follows says so, naming the problem.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(());
    };
    if value.is_array() {
        return Err(ApiError::MalformedBody {
            detail: "the body must be a JSON object, not a list".into(),
            field: None,
        });
    }
    let Some(path) = misplaced_list(&value, "") else {
        return Ok(());
    };
    // Named only if it is ours to repeat: an unknown name could be a pasted secret.
    Err(match echo_safe_field(&path) {
        Some(field) => ApiError::InvalidField {
            field: field.to_owned(),
            reason: "must be an object or a value, not a list".into(),
        },
        None => ApiError::MalformedBody {
            detail: "a field holds a list where the API takes an object or a value".into(),
            field: None,
        },
    })
}

/// The path of the first list under `value` that is not a list field's.
fn misplaced_list(value: &serde_json::Value, path: &str) -> Option<String> {
    let serde_json::Value::Object(fields) = value else {
        return None;
    };
    fields.iter().find_map(|(name, value)| {
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        match value {
            _ if FREE_FORM_FIELDS.contains(&name.as_str()) => None,
            // A list's items are values or objects, never lists themselves.
            serde_json::Value::Array(items) if LIST_FIELDS.contains(&name.as_str()) => {
                items.iter().enumerate().find_map(|(index, item)| {
                    let here = format!("{here}[{index}]");
                    match item {
                        serde_json::Value::Array(_) => Some(here),
                        item => misplaced_list(item, &here),
                    }
                })
            }
            serde_json::Value::Array(_) => Some(here),
            nested => misplaced_list(nested, &here),
        }
    })
}

pub(crate) fn body_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if !inner.is_data() {
        return malformed(&inner, None);
    }
    let message = without_location(&inner);
    // A missing field fails at its parent, so name it from the message (an
    // unknown one is already the last segment of the path).
    let field = match named_field(&message) {
        Some(name) if path == "." => name.to_owned(),
        Some(name) if path == name || path.ends_with(&format!(".{name}")) => path,
        Some(name) => format!("{path}.{name}"),
        None => path,
    };
    match echo_safe_field(&field) {
        Some(field) if field != "." => ApiError::InvalidField {
            field: field.to_owned(),
            reason: without_echo(&message),
        },
        _ => ApiError::MalformedBody {
            detail: format!("the body {}", without_echo(&message)),
            field: None,
        },
    }
}

/// `field` if it may be repeated back: our field paths are short snake_case
/// (`cors_origins[0]`). Anything else is the client's own text (an unknown key,
/// which could be a pasted access key) and is not echoed.
pub(crate) fn echo_safe_field(field: &str) -> Option<&str> {
    let safe = field.len() <= 48
        && field
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.[]".contains(&b));
    safe.then_some(field)
}

/// serde's message without the offending value (`invalid type: string "…"`,
/// `unknown variant `…``): a value sent in the wrong field may be a secret, and
/// no error repeats what it was given.
fn without_echo(message: &str) -> String {
    let expected = |rest: &str| rest.rsplit_once(", expected ").map(|(_, e)| e.to_owned());
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        return format!(
            "has the wrong type: expected {}",
            expected(rest).unwrap_or_default()
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        return format!(
            "has an invalid value: expected {}",
            expected(rest).unwrap_or_default()
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return format!(
            "must be {}",
            expected(rest).unwrap_or_else(|| "another value".into())
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let allowed = expected(rest).unwrap_or_else(|| "no fields".into());
        return format!("is not a field of this request (expected {allowed})");
    }
    message.to_owned()
}

fn malformed(error: &serde_json::Error, field: Option<String>) -> ApiError {
    ApiError::MalformedBody {
        detail: format!("the body is not valid JSON: {}", without_location(error)),
        field,
    }
}

/// serde_json's message without its " at line 1 column 7" suffix.
fn without_location(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

fn named_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
}
