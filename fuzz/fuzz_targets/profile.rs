//! The vendor profile loader: any text is a profile or a `ProfileError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mspbots_setup::profile::Profile;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(profile) = Profile::parse(text, "fuzz.toml")
    {
        let _gaps = profile.live_gaps();
    }
});
