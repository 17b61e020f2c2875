//! Graph (and Teams admin API) error answers: any body with any status becomes a failure that names a code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mspbots_setup::diagnostics::Catalogue;
use mspbots_setup::graph::{answer_failure, parse_json};
use mspbots_setup::wizard::Failure;

fuzz_target!(|data: &[u8]| {
    let Some((&status, body)) = data.split_first() else { return };
    let status = 400 + u16::from(status);
    let error = answer_failure(status, body, "GET /v1.0/me".into(), None, "client-request-id");
    assert!(!error.code.is_empty(), "every failure names a code");
    let _explained = Catalogue::shipped().explain(&Failure::Graph(error), "MSPbots");
    let _value = parse_json::<serde_json::Value>(body, "fuzz");
});
