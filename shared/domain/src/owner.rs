//! Who owns a key in the customer's own system (`external_id`), and the
//! small JSON object the customer keeps on it (`meta`). Both come back from
//! every read of the key and every `VALID` verdict, so neither may hold a
//! secret (the docs say so: they are not stored as a secret is).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::InvalidValue;

/// The customer's id for the owner of a key (a user, an organisation): 1 to
/// 255 visible characters, kept exactly as sent (no trimming: it is an id,
/// matched exactly). No spaces, control or invisible characters, so two
/// ids that look alike are alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() {
            return Err(InvalidValue::Empty);
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if raw.chars().any(char::is_control) {
            return Err(InvalidValue::ControlCharacter);
        }
        if raw
            .chars()
            .any(|c| c.is_whitespace() || crate::text::invisible(c))
        {
            return Err(InvalidValue::Malformed(
                "must be visible characters only: no spaces, invisible or text-direction characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ExternalId> for String {
    fn from(value: ExternalId) -> String {
        value.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key's `meta`: a JSON object of at most 4 KB (4096 bytes as compact
/// JSON). Stored as that JSON text, so the table holds one string whatever
/// the object's shape (DynamoDB's own maps nest at most 32 deep and cannot
/// hold every JSON number exactly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMeta(Map<String, Value>);

impl KeyMeta {
    pub const MAX_BYTES: usize = 4096;

    pub fn new(value: Value) -> Result<Self, InvalidValue> {
        let Value::Object(object) = value else {
            return Err(InvalidValue::Malformed("must be a JSON object"));
        };
        let meta = Self(object);
        if meta.to_json().len() > Self::MAX_BYTES {
            return Err(InvalidValue::Malformed(
                "must be at most 4096 bytes as compact JSON",
            ));
        }
        Ok(meta)
    }

    pub fn as_object(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The object as compact JSON text (what is stored).
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
}

impl Serialize for KeyMeta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_json())
    }
}

impl<'de> Deserialize<'de> for KeyMeta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let value: Value = serde_json::from_str(&text).map_err(serde::de::Error::custom)?;
        Self::new(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_external_id_is_visible_text_kept_exactly() {
        for fine in ["org_42", "user@example.com", "顧客-7", &"x".repeat(255)] {
            assert_eq!(ExternalId::parse(fine).map(|id| id.0), Ok(fine.to_owned()));
        }
        assert_eq!(ExternalId::parse(""), Err(InvalidValue::Empty));
        assert_eq!(
            ExternalId::parse(&"x".repeat(256)),
            Err(InvalidValue::TooLong { max: 255 })
        );
        for bad in [" org", "a b", "a\u{202E}b", "a\u{200B}", "tab\t"] {
            assert!(ExternalId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn meta_is_a_small_object_stored_as_text() {
        let meta = KeyMeta::new(json!({"plan": "pro", "seats": 5, "nested": {"a": [1, 2.5]}}))
            .expect("an object");
        let stored = serde_json::to_value(&meta).expect("serialises");
        assert!(stored.is_string(), "{stored}");
        let back: KeyMeta = serde_json::from_value(stored).expect("reads back");
        assert_eq!(back, meta);
        for bad in [json!([1]), json!("text"), json!(null), json!(5)] {
            assert!(KeyMeta::new(bad).is_err());
        }
        let big = json!({"pad": "x".repeat(4096)});
        assert!(KeyMeta::new(big).is_err());
        let just = json!({"p": "x".repeat(4096 - r#"{"p":""}"#.len())});
        assert!(KeyMeta::new(just).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn an_external_id_never_panics(raw in "\\PC{0,300}|[\\u{0}-\\u{3000}]{0,40}") {
            if let Ok(id) = ExternalId::parse(&raw) {
                proptest::prop_assert!(id.as_str().chars().count() <= 255);
            }
        }
    }
}
