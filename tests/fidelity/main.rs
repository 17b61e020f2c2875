//! Fidelity: the simulated tenant held to what Microsoft publishes, and the tool that measures it against a real
//! tenant. One test binary (one link, on Linux and under Wine) for:
//! - `graph_metadata`: every Graph answer of a whole run against Microsoft's Graph v1.0 metadata (`metadata`: the
//!   metadata and the checker);
//! - `documented`: the identity platform's answers field by field against Microsoft's documented examples;
//! - `conformance`: `mspbots-setup conformance record` and `compare`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic"
)]

#[path = "../common/mod.rs"]
mod common;
mod conformance;
mod documented;
mod graph_metadata;
mod metadata;
