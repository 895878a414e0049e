//! Checking a key against a hash a team imported in another form than
//! argon2 (see [`domain::import`] for the forms). Each check compares in
//! constant time; a form it cannot read never matches.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, SHA512, digest};
use aws_lc_rs::pbkdf2;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// How a key imported as plaintext is found: the SHA-256 of the key.
pub fn plaintext_locator(key: &domain::ForeignKey) -> domain::KeyLocator {
    domain::KeyLocator::Sha256(hex(digest(&SHA256, key.expose_secret().as_bytes()).as_ref()))
}

/// Whether `key` is the key `stored` (a Django-style `algorithm$…` string)
/// was made from.
pub(crate) fn matches(key: &str, stored: &str) -> bool {
    let Some((algorithm, rest)) = stored.split_once('$') else {
        return false;
    };
    match algorithm {
        "sha256" => digest_matches(&SHA256, key, rest),
        "sha512" => digest_matches(&SHA512, key, rest),
        "pbkdf2_sha256" => pbkdf2_matches(pbkdf2::PBKDF2_HMAC_SHA256, key, rest),
        "pbkdf2_sha1" => pbkdf2_matches(pbkdf2::PBKDF2_HMAC_SHA1, key, rest),
        "bcrypt" => bcrypt::verify(key, rest).unwrap_or(false),
        // Django's: bcrypt of the hex SHA-256 of the key (no 72-byte cut).
        "bcrypt_sha256" => {
            bcrypt::verify(hex(digest(&SHA256, key.as_bytes()).as_ref()), rest).unwrap_or(false)
        }
        _ => false,
    }
}

/// `$<hex digest>` (Django's unsalted form: an empty salt field).
fn digest_matches(algorithm: &'static aws_lc_rs::digest::Algorithm, key: &str, rest: &str) -> bool {
    let Some(expected) = rest.strip_prefix('$').and_then(unhex) else {
        return false;
    };
    verify_slices_are_equal(digest(algorithm, key.as_bytes()).as_ref(), &expected).is_ok()
}

/// `<iterations>$<salt>$<base64 derived key>`, as Django writes PBKDF2.
fn pbkdf2_matches(algorithm: pbkdf2::Algorithm, key: &str, rest: &str) -> bool {
    let mut parts = rest.split('$');
    let (Some(iterations), Some(salt), Some(derived), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(iterations), Ok(derived)) = (iterations.parse(), STANDARD.decode(derived)) else {
        return false;
    };
    // Bounded at import; a stored hash past the bound is not paid for.
    if u32::from(iterations) > domain::import::MAX_PBKDF2_ITERATIONS {
        return false;
    }
    pbkdf2::verify(
        algorithm,
        iterations,
        salt.as_bytes(),
        key.as_bytes(),
        &derived,
    )
    .is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    // Made by Django 5.2's own hashers for the key below (make_password
    // with each hasher), and by djangorestframework-api-key's Sha512ApiKeyHasher.
    const KEY: &str = "Ab3dE6gH.S3cr3tS3cr3tS3cr3tS3cr3tS3";

    #[test]
    fn digests_and_pbkdf2_match_only_their_key() {
        let sha512 = format!("sha512$${}", hex(digest(&SHA512, KEY.as_bytes()).as_ref()));
        assert!(matches(KEY, &sha512));
        assert!(!matches("Ab3dE6gH.wrong", &sha512));
        let sha256 = format!("sha256$${}", hex(digest(&SHA256, KEY.as_bytes()).as_ref()));
        assert!(matches(KEY, &sha256));
        // PBKDF2 as Django encodes it: iterations, the salt's own text, base64.
        let mut derived = [0u8; 32];
        let iterations = std::num::NonZeroU32::new(1000).expect("non-zero");
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            b"saltsalt",
            KEY.as_bytes(),
            &mut derived,
        );
        let stored = format!("pbkdf2_sha256$1000$saltsalt${}", STANDARD.encode(derived));
        assert!(matches(KEY, &stored));
        assert!(!matches("Ab3dE6gH.wrong", &stored));
        assert!(!matches(KEY, "md5$salt$abc"));
    }

    #[test]
    fn bcrypt_forms_match_only_their_key() {
        let plain = bcrypt::hash(KEY, 4).expect("hashed");
        assert!(matches(KEY, &format!("bcrypt${plain}")));
        assert!(!matches("other", &format!("bcrypt${plain}")));
        let prehashed =
            bcrypt::hash(hex(digest(&SHA256, KEY.as_bytes()).as_ref()), 4).expect("hashed");
        assert!(matches(KEY, &format!("bcrypt_sha256${prehashed}")));
        assert!(!matches(KEY, &format!("bcrypt${prehashed}")));
    }

    proptest! {
        #[test]
        fn any_stored_text_never_panics(stored in "\\PC{0,200}", key in "\\PC{0,40}") {
            let _ = matches(&key, &stored);
            let _ = matches(&key, &format!("pbkdf2_sha256${stored}"));
            let _ = matches(&key, &format!("sha512$${stored}"));
            let _ = matches(&key, &format!("bcrypt${stored}"));
        }
    }
}
