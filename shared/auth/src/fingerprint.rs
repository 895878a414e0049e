//! Keyed hashes of secrets, for the in-process caches (verdicts by access
//! key, identities by bearer token): a cache is then keyed by something that
//! says nothing of the secret without this process's random key, which never
//! leaves memory.

use blake2::Blake2bMac;
use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};

/// A keyed BLAKE2b-256 of a secret.
pub type Fingerprint = [u8; 32];

pub struct Fingerprinter {
    key: [u8; 32],
}

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprinter([REDACTED])")
    }
}

impl Fingerprinter {
    /// A fingerprinter with a key from the OS random generator.
    pub fn random() -> Self {
        use rand::{RngCore, TryRngCore, rngs::OsRng};
        let mut key = [0u8; 32];
        OsRng.unwrap_err().fill_bytes(&mut key);
        Self { key }
    }

    pub fn of(&self, secret: &[u8]) -> Fingerprint {
        // A 32-byte key is always a valid BLAKE2b key; the fallback is unreachable.
        let mut mac = <Blake2bMac<U32> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| <Blake2bMac<U32> as KeyInit>::new(&Default::default()));
        mac.update(secret);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_secret_one_fingerprint_per_process_and_another_elsewhere() {
        let (here, there) = (Fingerprinter::random(), Fingerprinter::random());
        assert_eq!(here.of(b"a secret"), here.of(b"a secret"));
        assert_ne!(here.of(b"a secret"), here.of(b"another"));
        assert_ne!(here.of(b"a secret"), there.of(b"a secret"));
        assert!(!format!("{here:?}").contains(&format!("{:?}", here.key)));
    }
}
