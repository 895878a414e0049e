//! The access key: the secret credential shown to its user once, at creation.
//!
//! Shape (like GitHub's tokens, so secret scanners can find leaked ones):
//!
//! ```text
//! <prefix>_<32 hex: the key id>_<30 base62: the secret><6 base62: CRC32>
//! akm_0193b2f4c1d87a6e9f0a1b2c3d4e5f60_Zk3...(30)...Qx1a2B3
//! ```
//!
//! A scanner's regex for the default prefix: `\bakm_[0-9a-f]{32}_[0-9A-Za-z]{36}\b`.
//!
//! - The secret is 30 characters drawn uniformly from 62 by the OS generator:
//!   30 × log2(62) ≈ 178.6 bits.
//! - The public key id is inside, so verification is one lookup by id.
//! - The CRC32 of everything before it lets a typo or a forged string be refused
//!   by [`PresentedKey::parse`] before any database read or hash.
//! - Only an argon2id hash of the whole key is stored, in PHC form, so its
//!   parameters travel with it and can change later ([`crate::KeyHasher`] says why
//!   they are small: the secret is random, not a password).

use std::fmt;

use rand::rngs::OsRng;
use rand::{RngCore, TryRngCore};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::{ApiKeyId, InvalidValue, PrefixedId, ServiceKeyId};

const SECRET_CHARS: usize = 30;
const CHECKSUM_CHARS: usize = 6;
const ID_HEX_CHARS: usize = 32;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The fixed text every access key of a deployment starts with (`akm` unless
/// configured): 2 to 12 lowercase letters or digits, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let mut bytes = raw.bytes();
        let well_formed = (2..=12).contains(&raw.len())
            && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
            && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !well_formed {
            return Err(InvalidValue::Malformed(
                "must be 2 to 12 lowercase letters or digits, starting with a letter",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix of this deployment's service keys: this one and `sk`
    /// (`akmsk`), so a scanner, the leak endpoint and a reader tell a
    /// service key from an access key at a glance, and neither parses as
    /// the other (a prefix is followed by `_`).
    pub fn for_service_keys(&self) -> KeyPrefix {
        Self(format!("{}sk", self.0))
    }

    /// The regex a secret scanner can use to find this deployment's keys.
    pub fn scanner_regex(&self) -> String {
        format!(
            r"\b{}_[0-9a-f]{{{ID_HEX_CHARS}}}_[0-9A-Za-z]{{{}}}\b",
            self.0,
            SECRET_CHARS + CHECKSUM_CHARS
        )
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self("akm".to_owned())
    }
}

/// A plaintext access key (or service key: the same shape, another prefix).
/// It exists only between creation and the create response; it zeroizes its
/// memory on drop and never prints itself.
pub struct AccessKey(SecretString);

impl AccessKey {
    /// Makes a new key id and its access key from the OS random generator.
    pub fn generate(prefix: &KeyPrefix) -> (ApiKeyId, AccessKey) {
        Self::generate_for(prefix)
    }

    /// A new service key and its id (`prefix` is the service keys' own).
    pub fn generate_service_key(prefix: &KeyPrefix) -> (ServiceKeyId, AccessKey) {
        Self::generate_for(prefix)
    }

    fn generate_for<Id: PrefixedId>(prefix: &KeyPrefix) -> (Id, AccessKey) {
        let id = Id::generate();
        let mut token = Zeroizing::new(String::with_capacity(
            prefix.0.len() + ID_HEX_CHARS + SECRET_CHARS + CHECKSUM_CHARS + 2,
        ));
        token.push_str(&prefix.0);
        token.push('_');
        token.push_str(id.hex_digits());
        token.push('_');
        push_secret(&mut token);
        let checksum = base62_checksum(crc32fast::hash(token.as_bytes()));
        token.push_str(&checksum);
        (id, AccessKey(SecretString::from(token.as_str())))
    }

    /// A key a team issued before it came here, as it was presented or
    /// imported: to be hashed with our argon2id.
    pub fn imported(key: &str) -> AccessKey {
        AccessKey(SecretString::from(key))
    }

    /// The plaintext, for the one response that shows it.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey([REDACTED])")
    }
}

impl fmt::Display for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED access key]")
    }
}

/// Why a presented string is not an access key of ours. Never holds the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedKey {
    #[error("the access key does not have the expected length")]
    Length,
    #[error("the access key does not start with this deployment's prefix")]
    Prefix,
    #[error("the access key has characters outside its alphabet")]
    Characters,
    #[error("the access key's checksum does not match (a typo or a forged key)")]
    Checksum,
}

/// A string presented as an access key (or, as `PresentedKey<ServiceKeyId>`,
/// a service key) that has the right shape and checksum: its id can be
/// looked up, and the whole key checked against the stored hash.
#[derive(Debug)]
pub struct PresentedKey<Id = ApiKeyId> {
    id: Id,
    key: SecretString,
}

/// A presented service key.
pub type PresentedServiceKey = PresentedKey<ServiceKeyId>;

impl PresentedKey {
    /// Checks shape and checksum only: no I/O, no hashing, so garbage is cheap to refuse.
    pub fn parse(raw: &str, prefix: &KeyPrefix) -> Result<Self, MalformedKey> {
        Self::parse_with(raw, prefix)
    }
}

impl PresentedServiceKey {
    /// As [`PresentedKey::parse`], with the service keys' prefix.
    pub fn parse_service_key(raw: &str, prefix: &KeyPrefix) -> Result<Self, MalformedKey> {
        Self::parse_with(raw, prefix)
    }
}

impl<Id: PrefixedId> PresentedKey<Id> {
    fn parse_with(raw: &str, prefix: &KeyPrefix) -> Result<Self, MalformedKey> {
        let expected_len = prefix.0.len() + 1 + ID_HEX_CHARS + 1 + SECRET_CHARS + CHECKSUM_CHARS;
        if raw.len() != expected_len {
            return Err(MalformedKey::Length);
        }
        let rest = raw
            .strip_prefix(prefix.0.as_str())
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or(MalformedKey::Prefix)?;
        // All ASCII from here on (checked before slicing, so no char boundary panics).
        if !rest.is_ascii() {
            return Err(MalformedKey::Characters);
        }
        let (hex, rest) = rest.split_at(ID_HEX_CHARS);
        let (separator, tail) = rest.split_at(1);
        let checksum = &tail[SECRET_CHARS..];
        let hex_ok = hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hex_ok || separator != "_" || !tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MalformedKey::Characters);
        }
        let payload = &raw[..raw.len() - CHECKSUM_CHARS];
        if decode_base62(checksum) != Some(crc32fast::hash(payload.as_bytes())) {
            return Err(MalformedKey::Checksum);
        }
        let id = Id::with_hex(hex).map_err(|_| MalformedKey::Characters)?;
        Ok(Self {
            id,
            key: SecretString::from(raw),
        })
    }
}

impl<Id> PresentedKey<Id> {
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The whole presented key: for hashing it, never for showing it.
    pub fn expose_secret(&self) -> &str {
        self.key.expose_secret()
    }
}

/// Appends the secret: uniform base62 characters from bytes the OS generator
/// gives in one call. A byte below 248 (62 × 4) maps to `byte % 62` without
/// bias; the rest are dropped, so a few bytes more than needed are read.
fn push_secret(token: &mut String) {
    let mut pushed = 0;
    while pushed < SECRET_CHARS {
        let mut bytes = Zeroizing::new([0u8; 48]);
        // The OS generator failing means the machine cannot make secrets at
        // all; `unwrap_err` panics then, with a message that holds no secret.
        OsRng.unwrap_err().fill_bytes(bytes.as_mut());
        for &byte in bytes
            .iter()
            .filter(|&&byte| byte < 248)
            .take(SECRET_CHARS - pushed)
        {
            token.push(char::from(BASE62[usize::from(byte % 62)]));
            pushed += 1;
        }
    }
}

fn base62_checksum(mut value: u32) -> String {
    let mut digits = [b'0'; CHECKSUM_CHARS];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

fn decode_base62(text: &str) -> Option<u32> {
    let value = text.bytes().try_fold(0u64, |acc, byte| {
        let digit = BASE62.iter().position(|&c| c == byte)?;
        Some(acc * 62 + digit as u64)
    })?;
    u32::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHash;
    use proptest::prelude::*;

    use super::*;
    use crate::{KeyHasher, SecretHash};

    #[test]
    fn a_new_key_has_the_documented_shape() {
        let prefix = KeyPrefix::default();
        let (id, key) = AccessKey::generate(&prefix);
        let text = key.expose_secret();
        assert_eq!(text.len(), 4 + 32 + 1 + 36);
        assert!(text.starts_with(&format!("akm_{}_", id.hex())));
        assert_eq!(
            prefix.scanner_regex(),
            r"\bakm_[0-9a-f]{32}_[0-9A-Za-z]{36}\b"
        );
    }

    #[test]
    fn secrets_and_salts_are_random() {
        // Two keys share no secret, not even a long run of it; a constant or
        // low-entropy generator fails here.
        let secret = |key: &AccessKey| {
            let text = key.expose_secret();
            text[text.len() - 36..text.len() - 6].to_owned()
        };
        let (_, a) = AccessKey::generate(&KeyPrefix::default());
        let (_, b) = AccessKey::generate(&KeyPrefix::default());
        let (a, b) = (secret(&a), secret(&b));
        assert_ne!(a, b);
        let windows = |s: &str| {
            s.as_bytes()
                .windows(8)
                .map(<[u8]>::to_vec)
                .collect::<std::collections::HashSet<_>>()
        };
        assert!(
            windows(&a).is_disjoint(&windows(&b)),
            "{a} and {b} share 8 characters"
        );
        // The same key hashed twice: two salts, two hashes, both verify.
        let hasher = KeyHasher::new(64, 1, 1).expect("params");
        let (_, key) = AccessKey::generate(&KeyPrefix::default());
        let (first, second) = (
            hasher.hash(&key).expect("hashed"),
            hasher.hash(&key).expect("hashed"),
        );
        let salt = |hash: &SecretHash| {
            PasswordHash::new(hash.as_str())
                .expect("PHC")
                .salt
                .map(|s| s.to_string())
        };
        assert_ne!(salt(&first), salt(&second));
        assert_ne!(first, second);
        let presented =
            PresentedKey::parse(key.expose_secret(), &KeyPrefix::default()).expect("ours");
        assert!(hasher.verify(&presented, &first) && hasher.verify(&presented, &second));
    }

    #[test]
    fn refuses_other_prefixes_and_garbage() {
        let (_, key) = AccessKey::generate(&KeyPrefix::default());
        let other_prefix = KeyPrefix::parse("xyz").expect("valid");
        assert_eq!(
            PresentedKey::parse(key.expose_secret(), &other_prefix).err(),
            Some(MalformedKey::Prefix)
        );
        assert!(PresentedKey::parse("", &KeyPrefix::default()).is_err());
        let multibyte = format!("akm_{}", "é".repeat(34));
        assert!(PresentedKey::parse(&multibyte, &KeyPrefix::default()).is_err());
    }

    #[test]
    fn service_keys_have_their_own_prefix_and_never_pass_as_access_keys() {
        let prefix = KeyPrefix::default();
        let service_prefix = prefix.for_service_keys();
        assert_eq!(
            service_prefix.scanner_regex(),
            r"\bakmsk_[0-9a-f]{32}_[0-9A-Za-z]{36}\b"
        );
        let (id, service_key) = AccessKey::generate_service_key(&service_prefix);
        let text = service_key.expose_secret();
        assert!(text.starts_with(&format!("akmsk_{}_", id.hex())));
        let presented = PresentedServiceKey::parse_service_key(text, &service_prefix);
        assert_eq!(presented.map(|p| p.id().clone()), Ok(id));
        assert!(PresentedKey::parse(text, &prefix).is_err());
        let (_, access_key) = AccessKey::generate(&prefix);
        assert!(
            PresentedServiceKey::parse_service_key(access_key.expose_secret(), &service_prefix)
                .is_err()
        );
    }

    #[test]
    fn prefixes_are_short_lowercase_words() {
        assert!(KeyPrefix::parse("akm").is_ok());
        assert!(KeyPrefix::parse("onq2").is_ok());
        for bad in ["", "a", "Akm", "1ab", "a_b", "abcdefghijklm"] {
            assert!(KeyPrefix::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_generated_key_parses_back_to_its_id(_seed in any::<u8>()) {
            let prefix = KeyPrefix::default();
            let (id, key) = AccessKey::generate(&prefix);
            let presented = PresentedKey::parse(key.expose_secret(), &prefix);
            prop_assert_eq!(presented.map(|p| p.id().clone()), Ok(id));
        }

        #[test]
        fn every_single_character_change_is_refused(
            position in 0usize..73,
            replacement in prop::char::range('!', '~'),
        ) {
            let prefix = KeyPrefix::default();
            let (_, key) = AccessKey::generate(&prefix);
            let original = key.expose_secret();
            let mut chars: Vec<char> = original.chars().collect();
            prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let changed: String = chars.into_iter().collect();
            prop_assert!(PresentedKey::parse(&changed, &prefix).is_err());
        }

        #[test]
        fn parsing_any_text_as_either_kind_never_panics(raw in "\\PC{0,120}", tail in "[0-9A-Za-z_é]{60,80}") {
            let prefix = KeyPrefix::default();
            let service = prefix.for_service_keys();
            for text in [raw.clone(), format!("akm_{tail}"), format!("akmsk_{tail}")] {
                let _ = PresentedKey::parse(&text, &prefix);
                if let Ok(presented) = PresentedServiceKey::parse_service_key(&text, &service) {
                    prop_assert!(text.starts_with("akmsk_"));
                    prop_assert!(presented.id().as_str().starts_with("svckey--"));
                }
            }
        }

        #[test]
        fn formatting_never_shows_the_secret(_seed in any::<u8>()) {
            let prefix = KeyPrefix::default();
            let (_, key) = AccessKey::generate(&prefix);
            let secret_part = &key.expose_secret()[37..67];
            let presented = PresentedKey::parse(key.expose_secret(), &prefix).expect("parses");
            for shown in [format!("{key:?}"), format!("{key}"), format!("{presented:?}"), format!("{key:#?}")] {
                prop_assert!(!shown.contains(secret_part), "{}", shown);
            }
        }
    }
}
