//! MSPbots setup wizard: connects a Microsoft 365 tenant to MSPbots.
//!
//! Layers, one direction: `app` (egui window and the shell that runs effects) → `wizard` (pure state machine);
//! clients over the one HTTP stack in `http`; `sim` (the simulated tenant) depends on nothing above it.
//! `ARCHITECTURE.md` has the full map.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod conformance;
pub mod demo;
pub mod diagnostics;
pub mod fsutil;
pub mod graph;
pub mod headless;
pub mod htmltext;
pub mod http;
pub mod launch;
pub mod present;
pub mod profile;
pub mod query;
pub mod secret;
pub mod session;
pub mod shell;
#[cfg(feature = "demo")]
pub mod sim;
pub mod teams;
pub mod wizard;
pub mod zipfile;

/// The product's name, as the window title, Windows' version information (build.rs) and the packager metadata
/// (Cargo.toml) show it.
pub const PRODUCT_NAME: &str = "MSPbots setup";
/// The reverse-DNS identifier: Wayland's app id, the macOS bundle identifier, the keychain service, the macOS
/// state folder.
pub const APP_ID: &str = "ai.mspbots.setup";
