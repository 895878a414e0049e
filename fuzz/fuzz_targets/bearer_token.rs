//! Any Authorization header: the authenticator never panics and never accepts
//! a token it did not sign (the fuzzer cannot forge an HS256 signature).
#![no_main]

use std::sync::OnceLock;

use api::Route;
use auth::{AuthConfig, Authenticator, SigningKeys};
use libfuzzer_sys::fuzz_target;

fn authenticator() -> &'static Authenticator {
    static AUTHENTICATOR: OnceLock<Authenticator> = OnceLock::new();
    AUTHENTICATOR.get_or_init(|| {
        let config = AuthConfig {
            issuer: "fuzz".into(),
            audience: "fuzz".into(),
            keys: SigningKeys::Hs256 { secret: "fuzz-secret-fuzz-secret-fuzz-secret".to_owned().into() },
            tenant_claim: "custom:tenant_id".into(),
            role_claim: "custom:role".into(),
            max_token_lifetime: AuthConfig::DEFAULT_MAX_TOKEN_LIFETIME,
        };
        Authenticator::new(config).expect("an authenticator")
    })
}

fuzz_target!(|header: &str| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let decided = runtime.block_on(authenticator().authorize(Some(header), Route::ListApiKeys.operation()));
    assert!(decided.is_err(), "a made-up token was accepted");
});
