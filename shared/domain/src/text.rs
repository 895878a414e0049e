//! Bounded, trimmed, printable text: the rule shared by every name-like value.

use crate::InvalidValue;

/// Trims `raw` and checks it is 1..=`max` characters with no control characters
/// (newlines and tabs are allowed only when `multiline`).
pub(crate) fn bounded(raw: &str, max: usize, multiline: bool) -> Result<String, InvalidValue> {
    // The bound holds for the text as sent, so what the API documents
    // (`maxLength`) is what it enforces, whatever trimming removes.
    if raw.chars().count() > max {
        return Err(InvalidValue::TooLong { max });
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(InvalidValue::Empty);
    }
    let allowed_control = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if trimmed
        .chars()
        .any(|c| c.is_control() && !allowed_control(c))
    {
        return Err(InvalidValue::ControlCharacter);
    }
    Ok(trimmed.to_owned())
}

/// Declares a text newtype: private field, `parse`, `TryFrom<String>`, `as_str`,
/// `Display`, and serde through `String` so deserialising validates too.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, max = $max:expr, multiline = $multiline:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, $crate::InvalidValue> {
                $crate::text::bounded(raw, $max, $multiline).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::InvalidValue;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use bounded_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(bounded("  a b ", 6, false), Ok("a b".into()));
        assert_eq!(bounded("   ", 3, false), Err(InvalidValue::Empty));
        assert_eq!(
            bounded("abcd", 3, false),
            Err(InvalidValue::TooLong { max: 3 })
        );
        // Characters, not bytes.
        assert_eq!(bounded("ééé", 3, false), Ok("ééé".into()));
    }

    #[test]
    fn control_characters_only_where_multiline() {
        assert_eq!(
            bounded("a\nb", 9, false),
            Err(InvalidValue::ControlCharacter)
        );
        assert_eq!(bounded("a\nb", 9, true), Ok("a\nb".into()));
        assert_eq!(
            bounded("a\u{0}b", 9, true),
            Err(InvalidValue::ControlCharacter)
        );
    }
}
