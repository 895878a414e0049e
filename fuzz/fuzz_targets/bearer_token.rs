//! Any Authorization header: the verifier never panics and never accepts a
//! token it did not sign (the fuzzer cannot forge an HS256 signature).
#![no_main]

use std::sync::OnceLock;

use api::config::{AuthConfig, SigningKeys};
use api::{Route, Verifier};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let config = AuthConfig {
            issuer: "fuzz".into(),
            audience: "fuzz".into(),
            keys: SigningKeys::Hs256 { secret: "fuzz-secret-fuzz-secret-fuzz-secret".to_owned().into() },
            tenant_claim: "custom:tenant_id".into(),
            role_claim: "custom:role".into(),
            max_token_lifetime: AuthConfig::DEFAULT_MAX_TOKEN_LIFETIME,
        };
        Verifier::new(config).expect("a verifier")
    })
}

fuzz_target!(|header: &str| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let decided = runtime.block_on(verifier().authorize(Some(header), Route::ListApiKeys));
    assert!(decided.is_err(), "a made-up token was accepted");
});
