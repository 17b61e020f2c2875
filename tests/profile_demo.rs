//! The shipped vendor profile and the demo tenant agree, so demo mode checks what the vendor really asks for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

use mspbots_setup::profile::{PermissionKind, Profile, ResourceApi};
use mspbots_setup::sim::scenario::{self, PermissionKind as SimKind};

#[test]
fn demo_consent_app_asks_for_exactly_the_profiles_permissions() {
    let profile = Profile::shipped().unwrap();
    let happy = scenario::load("happy").unwrap();
    let mut from_profile: Vec<(String, String, String)> = profile
        .permissions
        .iter()
        .map(|p| {
            let resource = match p.resource {
                ResourceApi::Graph => "graph",
                ResourceApi::TeamsAdmin => "teams-admin",
            };
            let kind = match p.kind {
                PermissionKind::Delegated => "delegated",
                PermissionKind::Application => "application",
            };
            (resource.to_owned(), kind.to_owned(), p.name.clone())
        })
        .collect();
    let mut from_sim: Vec<(String, String, String)> = happy
        .apps
        .consent
        .required_permissions
        .iter()
        .map(|p| {
            let kind = match p.kind {
                SimKind::Delegated => "delegated",
                SimKind::Application => "application",
            };
            (p.resource.clone(), kind.to_owned(), p.name.clone())
        })
        .collect();
    from_profile.sort();
    from_sim.sort();
    assert_eq!(from_profile, from_sim);
}
