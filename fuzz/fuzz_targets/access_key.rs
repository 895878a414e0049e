//! Any string presented as an access key or a service key: parsing never
//! panics, and whatever it accepts has a valid checksum and names an id of ours.
#![no_main]

use domain::{KeyPrefix, PresentedKey, PresentedServiceKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let prefix = KeyPrefix::default();
    if let Ok(presented) = PresentedKey::parse(text, &prefix) {
        assert!(text.starts_with("akm_"));
        assert!(presented.id().as_str().starts_with("apikey--"));
    }
    if let Ok(presented) = PresentedServiceKey::parse_service_key(text, &prefix.for_service_keys()) {
        assert!(text.starts_with("akmsk_"));
        assert!(presented.id().as_str().starts_with("svckey--"));
    }
});
