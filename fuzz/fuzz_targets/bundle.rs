//! The diagnostics bundle importer: any bytes are a bundle or a `BundleError`; a bundle that loads can be shown
//! (HTML) and replayed (a scenario is derived or refused), never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mspbots_setup::diagnostics::bundle::Bundle;
use mspbots_setup::demo::replay::reproduce;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::from_slice(data, std::path::Path::new("fuzz.json")) {
        let html = bundle.html();
        assert!(html.starts_with("<!doctype html>"));
        let _ = bundle.hidden();
        let _replay = reproduce(&bundle);
    }
});
