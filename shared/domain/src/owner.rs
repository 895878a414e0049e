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

    /// `meta` as a request sent it (its JSON text): an object of at most 4 KB
    /// whose every number comes back exactly as sent. A number past what a
    /// 64-bit integer or a double holds exactly (`123456789012345678901234567890`,
    /// `1e-400`) is refused rather than silently rounded: the customer sends it
    /// as a string. (`1e5` is kept: it comes back as `100000.0`, the same number.)
    pub fn parse(json: &str) -> Result<Self, InvalidValue> {
        let value: Value = serde_json::from_str(json)
            .map_err(|_| InvalidValue::Malformed("must be a JSON object"))?;
        if !number_literals(json).all(|literal| kept_exactly(&literal)) {
            return Err(InvalidValue::Malformed(
                "holds a number that would not come back exactly as sent (past a 64-bit \
                 integer or a double's precision): send it as a string",
            ));
        }
        Self::new(value)
    }

    /// An object already parsed (what the store kept): at most 4 KB.
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

    /// Every text the object holds, decoded (member names and string values,
    /// at any depth): what a reader of the key sees, whatever escapes the
    /// JSON used to send it.
    pub fn texts(&self) -> Vec<&str> {
        fn collect<'a>(value: &'a Value, into: &mut Vec<&'a str>) {
            match value {
                Value::String(text) => into.push(text),
                Value::Array(items) => items.iter().for_each(|item| collect(item, into)),
                Value::Object(members) => members.iter().for_each(|(name, value)| {
                    into.push(name);
                    collect(value, into);
                }),
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }
        let mut texts = Vec::new();
        self.0.iter().for_each(|(name, value)| {
            texts.push(name.as_str());
            collect(value, &mut texts);
        });
        texts
    }
}

/// The number literals of a JSON text, as written, in order. It reads the
/// text once, char by char, skipping strings (and their escapes); on text
/// that is not JSON it still ends without a panic.
fn number_literals(json: &str) -> impl Iterator<Item = String> + '_ {
    let mut chars = json.chars().peekable();
    std::iter::from_fn(move || {
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    while let Some(inner) = chars.next() {
                        match inner {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            _ => {}
                        }
                    }
                }
                '-' | '0'..='9' => {
                    let mut literal = String::from(c);
                    while let Some(&next) = chars.peek() {
                        if !matches!(next, '0'..='9' | '.' | 'e' | 'E' | '+' | '-') {
                            break;
                        }
                        literal.push(next);
                        chars.next();
                    }
                    return Some(literal);
                }
                _ => {}
            }
        }
        None
    })
}

/// Whether a number literal comes back as the same number once parsed into
/// what JSON values hold here (an `i64`, a `u64` or a double) and written out.
fn kept_exactly(literal: &str) -> bool {
    let Ok(number) = literal.parse::<serde_json::Number>() else {
        return false;
    };
    match (Decimal::of(literal), Decimal::of(&number.to_string())) {
        (Some(sent), Some(kept)) => sent == kept,
        _ => false,
    }
}

/// A number literal's value as sign, significant digits and the power of
/// ten of the last digit, so `1e5`, `100000` and `100000.0` compare equal.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl Decimal {
    fn of(literal: &str) -> Option<Self> {
        let (negative, unsigned) = match literal.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, literal),
        };
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => {
                let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
                (mantissa, exponent.parse::<i64>().ok()?)
            }
            None => (unsigned, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let fraction_digits = i64::try_from(fraction.chars().count()).ok()?;
        let all: String = whole.chars().chain(fraction.chars()).collect();
        if !all.chars().all(|c| c.is_ascii_digit()) || all.is_empty() {
            return None;
        }
        let significant = all.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        let trailing_zeros =
            i64::try_from(significant.chars().count() - trimmed.chars().count()).ok()?;
        if trimmed.is_empty() {
            // Zero, whatever its sign or spelling.
            return Some(Self {
                negative: false,
                digits: String::new(),
                exponent: 0,
            });
        }
        Some(Self {
            negative,
            digits: trimmed.to_owned(),
            exponent: exponent
                .checked_sub(fraction_digits)?
                .checked_add(trailing_zeros)?,
        })
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

    #[test]
    fn a_number_in_meta_comes_back_as_sent_or_is_refused() {
        for kept in [
            "0",
            "-0",
            "12",
            "-12",
            "1.5",
            "0.1",
            "1e5",
            "1E+5",
            "2.5e-3",
            "9007199254740993",
            "18446744073709551615",
            "-9223372036854775808",
            "0.30000000000000004",
            "1.0",
        ] {
            let meta = KeyMeta::parse(&format!(r#"{{"n": {kept}}}"#));
            assert!(meta.is_ok(), "{kept}: {meta:?}");
        }
        for changed in [
            "123456789012345678901234567890",
            "18446744073709551616",
            "-9223372036854775809",
            "1e-400",
            "1.2345678901234567890",
            "0.1000000000000000000001",
        ] {
            let meta = KeyMeta::parse(&format!(r#"{{"a": ["x\"1", {{"n": {changed}}}]}}"#));
            assert!(meta.is_err(), "{changed} would have changed: {meta:?}");
        }
        // Digits inside a string are text, not numbers.
        assert!(KeyMeta::parse(r#"{"big": "123456789012345678901234567890"}"#).is_ok());
        assert!(KeyMeta::parse("[1]").is_err());
        assert!(KeyMeta::parse("{").is_err());
    }

    #[test]
    fn meta_texts_are_decoded_at_any_depth() {
        let meta = KeyMeta::parse(r#"{"a\tb": {"list": ["line1\nline2", 3, {"k": "v"}]}}"#)
            .expect("an object");
        assert_eq!(meta.texts(), ["a\tb", "list", "line1\nline2", "k", "v"]);
    }

    proptest::proptest! {
        #[test]
        fn meta_never_panics(raw in "\\PC{0,200}|[-0-9.eE+{}\\[\\]\":, a]{0,80}") {
            let _ = KeyMeta::parse(&raw);
            let _ = number_literals(&raw).count();
            let _ = Decimal::of(&raw);
        }

        #[test]
        fn an_external_id_never_panics(raw in "\\PC{0,300}|[\\u{0}-\\u{3000}]{0,40}") {
            if let Ok(id) = ExternalId::parse(&raw) {
                proptest::prop_assert!(id.as_str().chars().count() <= 255);
            }
        }
    }
}
