//! Keys a team issued before it came here, imported as it stored them.
//!
//! An imported key has no key id of ours inside it, so verification finds
//! it by a [`KeyLocator`]: the digest of the whole key for the unsalted
//! schemes (and for plaintext imports), or for the salted ones the lookup
//! prefix the team's keys carry before their first `.` (the shape
//! djangorestframework-api-key gives its keys: `prefix.secret`). What the team
//! stored becomes the key's [`SecretHash`] in one of these forms (Django's
//! `algorithm$…` encoding, which most of them already are):
//!
//! | imported as | stored as | found by |
//! |---|---|---|
//! | `plaintext` | our argon2id (`$argon2id$…`), at once | SHA-256 of the key |
//! | `sha256`, hex or base64 | `sha256$$<hex>` | SHA-256 of the key |
//! | `sha512`, hex or base64 | `sha512$$<hex>` | SHA-512 of the key |
//! | `django` `sha512$$<hex>` (djangorestframework-api-key 2 and later) | as is | SHA-512 of the key |
//! | `django` `pbkdf2_sha256$…`, `pbkdf2_sha1$…` (its versions before 2) | as is | prefix |
//! | `django` `argon2$argon2id$…` | the PHC string (`$argon2id$…`) | prefix |
//! | `django` `bcrypt$$2b$…`, `bcrypt_sha256$$2b$…` | as is | prefix |
//! | `argon2` PHC string | as is | prefix |
//! | `bcrypt` (`$2b$…`) | `bcrypt$$2b$…` | prefix |
//!
//! The first verify that matches replaces every form but argon2id's own by
//! our argon2id of the key (the verify crate does it): the team's old hash
//! does not outlive the key's first use. The locator stays: it is how the
//! key is found.

use std::fmt;

use argon2::password_hash::PasswordHash;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{InvalidValue, SecretHash};

/// How an imported key is found when it is presented.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyLocator {
    /// The SHA-256 of the whole key, 64 lowercase hex digits.
    Sha256(String),
    /// The SHA-512 of the whole key, 128 lowercase hex digits.
    Sha512(String),
    /// The key's lookup prefix: its text before its first `.`.
    Prefix(ImportPrefix),
}

impl KeyLocator {
    /// The locators of a presented key with these digests (lowercase hex),
    /// most specific first: where an imported key of any scheme is.
    pub fn candidates(key: &ForeignKey, sha256_hex: String, sha512_hex: String) -> Vec<Self> {
        let mut candidates = vec![Self::Sha256(sha256_hex), Self::Sha512(sha512_hex)];
        if let Some(prefix) = key.prefix() {
            candidates.push(Self::Prefix(prefix));
        }
        candidates
    }

    /// Whether finding a key by this locator already proves the key (a
    /// digest) rather than only naming whose hash to check (a prefix).
    pub fn is_digest(&self) -> bool {
        !matches!(self, Self::Prefix(_))
    }

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let hex_of = |digest: &str, len: usize| {
            let ok = digest.len() == len
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            ok.then(|| digest.to_owned())
        };
        let locator = if let Some(digest) = text.strip_prefix("sha256:") {
            hex_of(digest, 64).map(Self::Sha256)
        } else if let Some(digest) = text.strip_prefix("sha512:") {
            hex_of(digest, 128).map(Self::Sha512)
        } else if let Some(prefix) = text.strip_prefix("prefix:") {
            ImportPrefix::parse(prefix).ok().map(Self::Prefix)
        } else {
            None
        };
        locator.ok_or(InvalidValue::Malformed(
            "must be sha256:<hex>, sha512:<hex> or prefix:<text>",
        ))
    }
}

impl fmt::Display for KeyLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sha256(hex) => write!(f, "sha256:{hex}"),
            Self::Sha512(hex) => write!(f, "sha512:{hex}"),
            Self::Prefix(prefix) => write!(f, "prefix:{}", prefix.0),
        }
    }
}

impl Serialize for KeyLocator {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyLocator {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The lookup prefix of a salted key: 1 to 64 letters, digits, `_` or `-`
/// (never a `.`: the key's first `.` ends it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImportPrefix(String);

impl ImportPrefix {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_CHARS
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidValue::Malformed(
                "must be 1 to 64 letters, digits, `_` or `-` (the key's text before its first `.`)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A presented string that is not one of our keys but may be one a team
/// imported: 8 to 512 visible ASCII characters. It never prints itself.
pub struct ForeignKey(SecretString);

impl ForeignKey {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 512;

    /// `None` for what no imported key can be (too short, too long, spaces
    /// or anything outside visible ASCII): refused without a read.
    pub fn parse(raw: &str) -> Option<Self> {
        let plausible = (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_graphic());
        plausible.then(|| Self(SecretString::from(raw)))
    }

    /// The key: for hashing it, never for showing it.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Its text before its first `.`, if that is a lookup prefix.
    pub fn prefix(&self) -> Option<ImportPrefix> {
        let (prefix, _) = self.expose_secret().split_once('.')?;
        ImportPrefix::parse(prefix).ok()
    }
}

impl fmt::Debug for ForeignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignKey([REDACTED])")
    }
}

/// How the team stored the keys of one import (one scheme per CSV file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportScheme {
    /// The key itself: hashed with our argon2id at once, never written.
    Plaintext,
    /// SHA-256 of the whole key, hex or base64 (Unkey's migration format).
    Sha256,
    /// SHA-512 of the whole key, hex or base64.
    Sha512,
    /// What Django's `make_password` wrote: djangorestframework-api-key's
    /// `hashed_key` column, with its `prefix` column.
    Django,
    /// An argon2 PHC string (`$argon2id$…`), with the key's prefix.
    Argon2,
    /// A bcrypt string (`$2b$…`), with the key's prefix.
    Bcrypt,
}

impl ImportScheme {
    pub const ALLOWED: &'static str = "plaintext, sha256, sha512, django, argon2, bcrypt";

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        use serde::de::IntoDeserializer;
        let names: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            text.into_deserializer();
        Self::deserialize(names).map_err(|_| InvalidValue::NotOneOf {
            allowed: Self::ALLOWED,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
            Self::Django => "django",
            Self::Argon2 => "argon2",
            Self::Bcrypt => "bcrypt",
        }
    }
}

/// What an import keeps of a hashed key: how it is found, and the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedHash {
    pub locator: KeyLocator,
    pub hash: SecretHash,
}

/// Why a stored hash cannot be imported. Never holds the hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashRefused {
    #[error("must be {0}")]
    Shape(&'static str),
    #[error("must be given: a {0} hash is found by the key's text before its first `.`")]
    NeedsPrefix(&'static str),
    /// (The hasher's name is kept for tests, never shown: it is the caller's text.)
    #[error("must be made by a supported Django hasher: {SUPPORTED_DJANGO}")]
    UnsupportedHasher(String),
    #[error("must cost less to check: {0}")]
    TooCostly(&'static str),
}

const SUPPORTED_DJANGO: &str = "sha512 (djangorestframework-api-key), pbkdf2_sha256, pbkdf2_sha1, argon2, bcrypt, bcrypt_sha256";

/// The most PBKDF2 iterations an imported hash may ask of a verify (Django
/// 5.2 makes 1,000,000): past this one check is a denial of service.
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// The highest bcrypt cost taken (2^15 rounds, about a second).
pub const MAX_BCRYPT_COST: u32 = 15;
/// The most memory an imported argon2 hash may ask (128 MiB; Django's is
/// 100): the verify functions run in 256 MB, and one check must fit beside
/// the process.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 128 * 1024;

impl ImportedHash {
    /// What the team stored, under `scheme` (not `Plaintext`, which has no
    /// hash), with the key's lookup prefix where the scheme is salted.
    pub fn parse(
        scheme: ImportScheme,
        hash: &str,
        prefix: Option<&ImportPrefix>,
    ) -> Result<Self, HashRefused> {
        let hash = hash.trim();
        let salted = |name: &'static str, stored: String| {
            let prefix = prefix.ok_or(HashRefused::NeedsPrefix(name))?;
            Ok(Self {
                locator: KeyLocator::Prefix(prefix.clone()),
                hash: SecretHash::foreign(stored),
            })
        };
        match scheme {
            ImportScheme::Plaintext => Err(HashRefused::Shape("a key, not a hash, for plaintext")),
            ImportScheme::Sha256 => {
                let hex = digest_hex(hash, 32).ok_or(HashRefused::Shape(
                    "64 hex digits or the base64 of 32 bytes",
                ))?;
                Ok(Self::digest(
                    KeyLocator::Sha256(hex.clone()),
                    "sha256",
                    &hex,
                ))
            }
            ImportScheme::Sha512 => {
                let hex = digest_hex(hash, 64).ok_or(HashRefused::Shape(
                    "128 hex digits or the base64 of 64 bytes",
                ))?;
                Ok(Self::digest(
                    KeyLocator::Sha512(hex.clone()),
                    "sha512",
                    &hex,
                ))
            }
            ImportScheme::Argon2 => {
                check_argon2(hash)?;
                salted("argon2", hash.to_owned())
            }
            ImportScheme::Bcrypt => {
                check_bcrypt(hash)?;
                salted("bcrypt", format!("bcrypt${hash}"))
            }
            ImportScheme::Django => {
                let (algorithm, rest) = hash.split_once('$').ok_or(HashRefused::Shape(
                    "a Django hash: `<algorithm>$…` (djangorestframework-api-key's `hashed_key`)",
                ))?;
                match algorithm {
                    "sha512" => {
                        let hex = rest
                            .strip_prefix('$')
                            .and_then(|hex| digest_hex(hex, 64))
                            .ok_or(HashRefused::Shape("sha512$$ and 128 hex digits"))?;
                        Ok(Self::digest(
                            KeyLocator::Sha512(hex.clone()),
                            "sha512",
                            &hex,
                        ))
                    }
                    "pbkdf2_sha256" | "pbkdf2_sha1" => {
                        check_pbkdf2(rest)?;
                        salted("pbkdf2", hash.to_owned())
                    }
                    "argon2" => {
                        let phc = format!("${rest}");
                        check_argon2(&phc)?;
                        salted("argon2", phc)
                    }
                    "bcrypt" | "bcrypt_sha256" => {
                        let bcrypt = rest.strip_prefix('$').unwrap_or(rest);
                        check_bcrypt(&format!("${bcrypt}"))?;
                        salted("bcrypt", hash.to_owned())
                    }
                    other => Err(HashRefused::UnsupportedHasher(
                        other.chars().take(40).collect(),
                    )),
                }
            }
        }
    }

    fn digest(locator: KeyLocator, algorithm: &str, hex: &str) -> Self {
        Self {
            locator,
            hash: SecretHash::foreign(format!("{algorithm}$${hex}")),
        }
    }
}

/// A digest of `bytes` bytes given as hex (either case) or base64 (standard
/// or URL-safe, padded or not), as lowercase hex.
fn digest_hex(text: &str, bytes: usize) -> Option<String> {
    if text.len() == bytes * 2 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(text.to_ascii_lowercase());
    }
    let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())?;
    (decoded.len() == bytes).then(|| decoded.iter().map(|b| format!("{b:02x}")).collect())
}

/// `$argon2id$v=19$m=…,t=…,p=…$salt$hash` (or argon2i, argon2d), at a cost
/// a verify can pay.
fn check_argon2(phc: &str) -> Result<(), HashRefused> {
    let shape = HashRefused::Shape("an argon2 PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash");
    let parsed = PasswordHash::new(phc).map_err(|_| shape.clone())?;
    if !parsed.algorithm.as_str().starts_with("argon2") || parsed.hash.is_none() {
        return Err(shape);
    }
    let params = SecretHash::foreign(phc.to_owned())
        .params()
        .ok_or(shape.clone())?;
    if params.memory_kib > MAX_ARGON2_MEMORY_KIB || params.passes > 10 || params.lanes > 16 {
        return Err(HashRefused::TooCostly(
            "at most 128 MiB, 10 passes and 16 lanes",
        ));
    }
    Ok(())
}

/// `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 22 + 31 characters of salt
/// and hash.
fn check_bcrypt(text: &str) -> Result<(), HashRefused> {
    let shape = HashRefused::Shape("a bcrypt string: $2b$<cost>$<53 characters>");
    let mut parts = text.split('$');
    let (Some(""), Some(version), Some(cost), Some(rest), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(shape);
    };
    let cost: u32 = cost.parse().map_err(|_| shape.clone())?;
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'/';
    if !matches!(version, "2a" | "2b" | "2y") || rest.len() != 53 || !rest.bytes().all(alphabet) {
        return Err(shape);
    }
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(HashRefused::TooCostly("a cost from 4 to 15"));
    }
    Ok(())
}

/// `<iterations>$<salt>$<base64 hash>` after `pbkdf2_sha256$`.
fn check_pbkdf2(rest: &str) -> Result<(), HashRefused> {
    let shape = HashRefused::Shape("pbkdf2_sha256$<iterations>$<salt>$<base64 hash>");
    let mut parts = rest.split('$');
    let (Some(iterations), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(shape);
    };
    let iterations: u32 = iterations.parse().map_err(|_| shape.clone())?;
    if salt.is_empty() || STANDARD.decode(hash).map_or(true, |h| h.is_empty()) {
        return Err(shape);
    }
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return Err(HashRefused::TooCostly("at most 2,000,000 iterations"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn prefix() -> ImportPrefix {
        ImportPrefix::parse("Ab3dE6gH").expect("prefix")
    }

    #[test]
    fn digests_are_taken_as_hex_or_base64_and_kept_as_hex() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let base64 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
        for given in [
            hex,
            &hex.to_uppercase(),
            base64,
            base64.trim_end_matches('='),
        ] {
            let imported = ImportedHash::parse(ImportScheme::Sha256, given, None).expect(given);
            assert_eq!(imported.locator, KeyLocator::Sha256(hex.into()));
            assert_eq!(imported.hash.as_str(), format!("sha256$${hex}"));
        }
        assert!(ImportedHash::parse(ImportScheme::Sha256, &hex[1..], None).is_err());
        assert!(ImportedHash::parse(ImportScheme::Sha512, hex, None).is_err());
    }

    #[test]
    fn django_hashes_are_found_by_digest_or_by_prefix() {
        let sha512 = format!("sha512$${}", "a".repeat(128));
        let drf = ImportedHash::parse(ImportScheme::Django, &sha512, Some(&prefix())).expect("drf");
        assert_eq!(drf.locator, KeyLocator::Sha512("a".repeat(128)));
        assert_eq!(drf.hash.as_str(), sha512);

        let pbkdf2 = "pbkdf2_sha256$870000$c2FsdHNhbHQ$W0VoQ1MxNXRmWlY4SVd0N0h4TGJ6dz0=";
        let old = ImportedHash::parse(ImportScheme::Django, pbkdf2, Some(&prefix())).expect("old");
        assert_eq!(old.locator, KeyLocator::Prefix(prefix()));
        assert_eq!(old.hash.as_str(), pbkdf2);
        assert_eq!(
            ImportedHash::parse(ImportScheme::Django, pbkdf2, None),
            Err(HashRefused::NeedsPrefix("pbkdf2"))
        );
        let costly = "pbkdf2_sha256$9000000$c2FsdA$W0VoQ1MxNXRmWlY4SVd0N0h4TGJ6dz0=";
        assert!(matches!(
            ImportedHash::parse(ImportScheme::Django, costly, Some(&prefix())),
            Err(HashRefused::TooCostly(_))
        ));
        assert!(matches!(
            ImportedHash::parse(ImportScheme::Django, "md5$salt$abc", Some(&prefix())),
            Err(HashRefused::UnsupportedHasher(name)) if name == "md5"
        ));

        let argon2 = "argon2$argon2id$v=19$m=1024,t=2,p=1$SPpAkieej0FkbY6JqOyx0w$8BoKybtQ7AjLlYE/iL681Noi7Hp3qkLfboVnp9x2mBk";
        let django_argon2 =
            ImportedHash::parse(ImportScheme::Django, argon2, Some(&prefix())).expect("argon2");
        assert_eq!(django_argon2.hash.as_str(), &argon2["argon2".len()..]);
        assert!(django_argon2.hash.params().is_some());
    }

    #[test]
    fn bcrypt_strings_are_checked_for_shape_and_cost() {
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        let imported =
            ImportedHash::parse(ImportScheme::Bcrypt, bcrypt, Some(&prefix())).expect("bcrypt");
        assert_eq!(imported.hash.as_str(), format!("bcrypt${bcrypt}"));
        let django = format!("bcrypt_sha256${bcrypt}");
        assert!(ImportedHash::parse(ImportScheme::Django, &django, Some(&prefix())).is_ok());
        let costly = bcrypt.replace("$12$", "$20$");
        assert!(matches!(
            ImportedHash::parse(ImportScheme::Bcrypt, &costly, Some(&prefix())),
            Err(HashRefused::TooCostly(_))
        ));
        assert!(
            ImportedHash::parse(ImportScheme::Bcrypt, "$2b$12$short", Some(&prefix())).is_err()
        );
    }

    #[test]
    fn locators_read_back_what_they_write() {
        for locator in [
            KeyLocator::Sha256("0".repeat(64)),
            KeyLocator::Sha512("f".repeat(128)),
            KeyLocator::Prefix(prefix()),
        ] {
            assert_eq!(KeyLocator::parse(&locator.to_string()), Ok(locator));
        }
        assert!(KeyLocator::parse("prefix:a.b").is_err());
        assert!(KeyLocator::parse("sha256:XYZ").is_err());
    }

    #[test]
    fn a_presented_key_names_its_prefix_and_never_prints_itself() {
        let key = ForeignKey::parse("Ab3dE6gH.secretsecretsecret").expect("plausible");
        assert_eq!(key.prefix(), Some(prefix()));
        assert_eq!(format!("{key:?}"), "ForeignKey([REDACTED])");
        assert!(ForeignKey::parse("short").is_none());
        assert!(ForeignKey::parse("has a space in it").is_none());
        assert!(ForeignKey::parse("nodotsatallhere").is_some_and(|k| k.prefix().is_none()));
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,200}", scheme in 0usize..6) {
            let schemes = [
                ImportScheme::Plaintext, ImportScheme::Sha256, ImportScheme::Sha512,
                ImportScheme::Django, ImportScheme::Argon2, ImportScheme::Bcrypt,
            ];
            let _ = ImportedHash::parse(schemes[scheme], &text, Some(&prefix()));
            let _ = KeyLocator::parse(&text);
            let _ = ImportPrefix::parse(&text);
            if let Some(key) = ForeignKey::parse(&text) {
                let _ = key.prefix();
            }
        }
    }
}
