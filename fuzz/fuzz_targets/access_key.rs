//! Any string presented as an access key: parsing never panics, and whatever
//! it accepts has a valid checksum and names an id of ours.
#![no_main]

use domain::{KeyPrefix, PresentedKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let prefix = KeyPrefix::default();
    if let Ok(presented) = PresentedKey::parse(text, &prefix) {
        assert!(text.starts_with("akm_"));
        assert!(presented.id().as_str().starts_with("apikey--"));
    }
});
