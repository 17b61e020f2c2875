//! Identity-platform error bodies and anything pasted into `explain`: never a panic, and a recognised body keeps
//! its codes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mspbots_setup::auth::signin::error_body;
use mspbots_setup::diagnostics::{Catalogue, explain::parse_input};

fuzz_target!(|data: &[u8]| {
    let catalogue = Catalogue::shipped();
    if let Some(failure) = error_body(data, "fuzz") {
        let _explained = catalogue.explain(&failure, "MSPbots");
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(failure) = parse_input(text)
    {
        let _explained = catalogue.explain(&failure, "MSPbots");
    }
});
