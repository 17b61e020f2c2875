//! The simulator's scenario loader: any text is a scenario or a `ScenarioError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mspbots_setup::sim::scenario::parse_str;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _scenario = parse_str(text, "fuzz.toml");
    }
});
