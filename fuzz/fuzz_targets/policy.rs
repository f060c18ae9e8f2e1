//! Policy files: parsing any text never panics, and every accepted policy
//! round-trips through its own rendering to an equal policy, in both
//! formats and across them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate::Policy;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the format; the rest is the text. Invalid UTF-8
    // is still tried (lossily) so that the parsers see odd bytes.
    let Some((&format, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let parsed = if format & 1 == 0 {
        Policy::from_toml_str(&text)
    } else {
        Policy::from_json_str(&text)
    };
    let Ok(policy) = parsed else { return };
    let toml = policy.to_toml_string();
    let json = policy.to_json_string();
    assert_eq!(
        Policy::from_toml_str(&toml).as_ref(),
        Ok(&policy),
        "TOML round trip of {text:?}:\n{toml}"
    );
    assert_eq!(
        Policy::from_json_str(&json).as_ref(),
        Ok(&policy),
        "JSON round trip of {text:?}:\n{json}"
    );
});
