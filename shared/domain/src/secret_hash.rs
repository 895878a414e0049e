//! The stored form of an access key: an argon2id hash in PHC form
//! (`$argon2id$v=19$m=…`), its parameters inside, so hashes made with other
//! parameters keep verifying with their own.

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};

use crate::{AccessKey, InvalidValue, PresentedKey};

/// The argon2id hash of an access key, as a PHC string (`$argon2id$v=19$m=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The argon2 parameters this hash was made with (`None`: not a PHC
    /// string we can read, which never verifies either).
    pub fn params(&self) -> Option<HashParams> {
        let parsed = PasswordHash::new(&self.0).ok()?;
        let params = Params::try_from(&parsed).ok()?;
        Some(HashParams {
            memory_kib: params.m_cost(),
            passes: params.t_cost(),
            lanes: params.p_cost(),
        })
    }

    /// A hash a team imported, in one of the forms [`crate::import`] keeps.
    pub(crate) fn foreign(stored: String) -> Self {
        Self(stored)
    }

    /// Whether this is an argon2 hash (ours, or an imported one in PHC
    /// form): every other form is replaced by ours at the key's first
    /// successful verify.
    pub fn is_argon2(&self) -> bool {
        self.0.starts_with("$argon2")
    }

    /// Whether this is an argon2id hash (the variant we make).
    pub fn is_argon2id(&self) -> bool {
        self.0.starts_with("$argon2id$")
    }

    /// Whether checking a key against this hash is heavy enough to run off
    /// the request's own task: an argon2 hash of more than `in_place_kib`
    /// (memory × passes), and every salted hash a team imported (PBKDF2 and
    /// bcrypt are slow by design). An unsalted digest is light.
    pub fn is_heavy(&self, in_place_kib: u64) -> bool {
        if self.is_argon2() {
            return self
                .params()
                .is_some_and(|params| params.work_kib() > in_place_kib);
        }
        !(self.0.starts_with("sha256$$") || self.0.starts_with("sha512$$"))
    }

    /// Accepts only a well-formed PHC string (for values read back from storage).
    pub fn parse(phc: &str) -> Result<Self, InvalidValue> {
        PasswordHash::new(phc)
            .map(|_| Self(phc.to_owned()))
            .map_err(|_| InvalidValue::Malformed("must be a PHC hash string"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters")]
    Params(#[source] argon2::Error),
    #[error("the OS random generator failed")]
    Random(#[source] rand::rand_core::OsError),
    #[error("argon2 hashing failed")]
    Hash(#[source] argon2::password_hash::Error),
}

/// The argon2id cost of every new hash: one pass over 64 KiB, one lane
/// (~40 µs of one core). The cost of a hash protects a secret that can be
/// guessed; ours cannot be at any cost: 30 characters drawn from 62 by the OS
/// generator are 178 bits, so an attacker holding the table and making 10^12
/// guesses a second needs about 10^34 years for one key (`docs/security.md`
/// has the argument and what would change it). Password parameters bought
/// nothing but a 20 ms, 19 MiB check. Hashes keep their own parameters in
/// their PHC string, so those made with others still verify.
pub const HASH_PARAMS: HashParams = HashParams {
    memory_kib: 64,
    passes: 1,
    lanes: 1,
};

/// What the hashes made before 2026-12 cost (OWASP's password baseline: 19
/// MiB, 2 passes, 1 lane). Such hashes still verify with these; none is made.
pub const PASSWORD_GRADE_PARAMS: HashParams = HashParams {
    memory_kib: 19 * 1024,
    passes: 2,
    lanes: 1,
};

/// argon2id's cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl HashParams {
    /// The work of one hash, in KiB of memory filled: memory × passes
    /// (lanes share the memory, they do not add to it).
    pub fn work_kib(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.passes)
    }
}

/// Hashes and verifies access keys with argon2id: new hashes at one set of
/// parameters, stored hashes at their own.
#[derive(Debug, Clone)]
pub struct KeyHasher {
    params: Params,
}

impl KeyHasher {
    /// New hashes at `params`.
    pub fn with(params: HashParams) -> Result<Self, HashError> {
        Self::new(params.memory_kib, params.passes, params.lanes)
    }

    /// The parameters of the hashes this hasher makes.
    pub fn params(&self) -> HashParams {
        HashParams {
            memory_kib: self.params.m_cost(),
            passes: self.params.t_cost(),
            lanes: self.params.p_cost(),
        }
    }

    pub fn new(memory_kib: u32, passes: u32, lanes: u32) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, passes, lanes, None).map_err(HashError::Params)?;
        Ok(Self { params })
    }

    pub fn hash(&self, key: &AccessKey) -> Result<SecretHash, HashError> {
        let mut salt = [0u8; 16];
        OsRng.try_fill_bytes(&mut salt).map_err(HashError::Random)?;
        let salt_text = SaltString::encode_b64(&salt).map_err(HashError::Hash)?;
        let mut out = [0u8; 32];
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        with_blocks(self.params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(
                key.expose_secret().as_bytes(),
                &salt,
                &mut out,
                blocks,
            )
        })
        .map_err(|e| HashError::Hash(e.into()))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&self.params).try_into().map_err(HashError::Hash)?,
            salt: Some(salt_text.as_salt()),
            hash: Some(Output::new(&out).map_err(HashError::Hash)?),
        };
        Ok(SecretHash(phc.to_string()))
    }

    /// Whether `presented` is the key `stored` was made from. Uses the parameters
    /// inside the stored hash, so keys hashed before a parameter change still verify.
    pub fn verify<Id>(&self, presented: &PresentedKey<Id>, stored: &SecretHash) -> bool {
        self.verify_text(presented.expose_secret(), stored)
    }

    /// [`KeyHasher::verify`] for a key given as text (one a team imported):
    /// only argon2 hashes; any other form never verifies here.
    pub fn verify_text(&self, key: &str, stored: &SecretHash) -> bool {
        let Ok(parsed) = PasswordHash::new(stored.as_str()) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (
            Algorithm::try_from(parsed.algorithm),
            Params::try_from(&parsed),
        ) else {
            return false;
        };
        let version = parsed
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or_default();
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let mut out = vec![0u8; expected.len()];
        let blocks = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        let computed = with_blocks(blocks, |memory| {
            argon2.hash_password_into_with_memory(key.as_bytes(), salt, &mut out, memory)
        });
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
    }
}

/// Runs `f` with `count` argon2 blocks kept by this thread between calls. A
/// fresh buffer per hash is cheap at 64 KiB, but a password-grade hash of
/// before needs 19 MiB, and a fresh one of those per hash fragments the
/// allocator's heap: one thread hashing in a loop grew to 160 MB that way,
/// where a kept buffer stays at 19.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    // An imported hash may ask far more (Django's argon2: 100 MiB): such a
    // buffer is made for its one check and freed, never kept.
    const KEPT_AT_MOST: usize = 32 * 1024;
    if count > KEPT_AT_MOST {
        return f(&mut vec![argon2::Block::default(); count]);
    }
    BLOCKS.with(|kept| match kept.try_borrow_mut() {
        Ok(mut blocks) => {
            if blocks.len() != count {
                *blocks = vec![argon2::Block::default(); count];
            }
            f(&mut blocks)
        }
        Err(_) => f(&mut vec![argon2::Block::default(); count]),
    })
}

impl Default for KeyHasher {
    /// New hashes at [`HASH_PARAMS`].
    fn default() -> Self {
        let HashParams {
            memory_kib,
            passes,
            lanes,
        } = HASH_PARAMS;
        Self {
            params: Params::new(memory_kib, passes, lanes, None).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyPrefix;

    fn cheap_hasher() -> KeyHasher {
        KeyHasher::new(256, 1, 1).expect("valid params")
    }

    #[test]
    fn hashes_are_the_phc_strings_the_argon2_crate_writes_and_reads() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let hasher = KeyHasher::new(64, 1, 1).expect("params");
        let (_, key) = AccessKey::generate(&KeyPrefix::default());
        let presented =
            PresentedKey::parse(key.expose_secret(), &KeyPrefix::default()).expect("ours");
        // Ours, read by the crate's own verifier.
        let ours = hasher.hash(&key).expect("hashed");
        let parsed = PasswordHash::new(ours.as_str()).expect("PHC");
        assert!(
            Argon2::default()
                .verify_password(key.expose_secret().as_bytes(), &parsed)
                .is_ok()
        );
        // The crate's (how keys were hashed before), read by ours.
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, hasher.params.clone())
            .hash_password(key.expose_secret().as_bytes(), &salt)
            .expect("hashed")
            .to_string();
        let theirs = SecretHash::parse(&theirs).expect("PHC");
        assert!(hasher.verify(&presented, &theirs));
        assert!(
            KeyHasher::default().verify(&presented, &theirs),
            "parameters come from the hash"
        );
        // A hash made with the password-grade parameters keys had before
        // verifies with the hasher of today, which makes none like it.
        let before = KeyHasher::with(PASSWORD_GRADE_PARAMS).expect("params");
        let old = before.hash(&key).expect("hashed");
        assert!(old.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(KeyHasher::default().verify(&presented, &old));
        let (_, other) = AccessKey::generate(&KeyPrefix::default());
        let other =
            PresentedKey::parse(other.expose_secret(), &KeyPrefix::default()).expect("ours");
        assert!(!KeyHasher::default().verify(&other, &old));
    }

    #[test]
    fn hashes_verify_only_their_own_key() {
        let prefix = KeyPrefix::default();
        let hasher = cheap_hasher();
        let (_, key) = AccessKey::generate(&prefix);
        let (_, other) = AccessKey::generate(&prefix);
        let hash = hasher.hash(&key).expect("hash");
        assert!(hash.as_str().starts_with("$argon2id$v=19$"));
        assert!(!hash.as_str().contains(key.expose_secret()));
        let presented = PresentedKey::parse(key.expose_secret(), &prefix).expect("parses");
        let wrong = PresentedKey::parse(other.expose_secret(), &prefix).expect("parses");
        assert!(hasher.verify(&presented, &hash));
        assert!(!hasher.verify(&wrong, &hash));
        assert!(!hasher.verify(&presented, &SecretHash("not a hash".into())));
    }

    #[test]
    fn new_hashes_carry_the_documented_parameters() {
        let (_, key) = AccessKey::generate(&KeyPrefix::default());
        let hash = KeyHasher::default().hash(&key).expect("hash");
        let parsed = PasswordHash::new(hash.as_str()).expect("PHC");
        assert_eq!(parsed.algorithm, Algorithm::Argon2id.ident());
        assert_eq!(parsed.version, Some(19));
        let param = |name: &str| parsed.params.get_decimal(name);
        assert_eq!(
            (param("m"), param("t"), param("p")),
            (
                Some(HASH_PARAMS.memory_kib),
                Some(HASH_PARAMS.passes),
                Some(HASH_PARAMS.lanes)
            )
        );
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(SecretHash::parse(hash.as_str()).is_ok());
        assert_eq!(hash.params(), Some(HASH_PARAMS));
        assert_eq!(KeyHasher::default().params(), HASH_PARAMS);
        assert_eq!(SecretHash("not a hash".into()).params(), None);
    }
}
