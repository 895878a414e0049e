//! Bounded, trimmed, printable text: the rule shared by every name-like value.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

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
    if !multiline && trimmed.chars().any(invisible) {
        return Err(InvalidValue::InvisibleCharacter);
    }
    Ok(trimmed.to_owned())
}

/// Characters that change how a name looks without being seen: format
/// characters (`Cf`: bidi overrides like U+202E, zero-width spaces and
/// joiners, the BOM, tag characters), line and paragraph separators, and the
/// blank letters (Hangul fillers, the Braille blank) that render as nothing.
/// A name holding one could pass for another on a dashboard row.
pub(crate) fn invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || matches!(
        c,
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}' | '\u{034F}'
    )
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

    #[test]
    fn names_refuse_what_cannot_be_seen() {
        for spoof in [
            "invoice\u{202E}fdp.exe",
            "admin\u{200B}",
            "pay\u{200D}ments",
            "\u{FEFF}billing",
            "a\u{2066}b\u{2069}",
            "a\u{2028}b",
            "tag\u{E0041}",
            "\u{3164}",
            "soft\u{00AD}hyphen",
        ] {
            assert_eq!(
                bounded(spoof, 100, false),
                Err(InvalidValue::InvisibleCharacter),
                "{spoof:?}"
            );
        }
        for fine in [
            "Payments · Prod Sydney",
            "日本語のキー",
            "Ünïcödé",
            "emoji 🔑",
        ] {
            assert_eq!(bounded(fine, 100, false), Ok(fine.into()));
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_its_bound(raw in "\\PC{0,120}|[\\u{0}-\\u{3000}]{0,40}", max in 1usize..110) {
            if let Ok(text) = bounded(&raw, max, false) {
                proptest::prop_assert!(text.chars().count() <= max);
                proptest::prop_assert!(!text.chars().any(invisible));
            }
        }
    }
}
