//! The Teams clients against the simulated tenant over loopback HTTPS: the catalog (store and organization apps,
//! publishing with its errors), installs (201, already there, blocked, unlicensed, batched with throttling), and
//! the setup-policy API (read, merge-write with read-back, roles, partner refusal, unknown shapes).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use std::time::Duration;

use common::*;
use mspbots_setup::graph::Graph;
use mspbots_setup::http::{self, HttpConfig, Purpose, Trust};
use mspbots_setup::secret::Secret;
use mspbots_setup::sim::scenario::{self, FaultSpec, Scenario};
use mspbots_setup::sim::teams::{Availability, DEMO_APP_ID, Management, NewPolicyInstalls, PolicyApi};
use mspbots_setup::teams::catalog::Installed;
use mspbots_setup::teams::package::{self, PackageSource};
use mspbots_setup::teams::policy::{ConfigApi, SetupPolicyApi};
use mspbots_setup::wizard::{Failure, PublishingState, TeamsRefusal, change_for, pinned_kept, verified};

const TEAMS_SETUP: &str = "offline_access https://graph.microsoft.com/AppCatalog.ReadWrite.All https://graph.microsoft.com/TeamsAppInstallation.ReadWriteForUser";
const TEAMS_ADMIN: &str = "offline_access 48ac35b8-9aa8-4d74-927d-1f4a14a0b239/user_impersonation";

fn http(t: &TestSim) -> reqwest::Client {
    http::client(&HttpConfig::new(Purpose::Api, Trust::OnlyPem(t.sim.ca_pem().to_owned()))).unwrap()
}

fn graph(t: &TestSim) -> Graph {
    Graph::new(http(t), &t.sim.info().graph_url)
}

fn config(t: &TestSim) -> ConfigApi {
    ConfigApi::new(http(t), &t.sim.info().teams_admin_url)
}

fn happy_with(f: impl FnOnce(&mut Scenario)) -> Scenario {
    let mut s = scenario::load("happy").unwrap();
    f(&mut s);
    s
}

async fn start(s: Scenario, upn: &str) -> (TestSim, Secret) {
    let t = TestSim::start_with(s, Some(upn)).await;
    let token = Secret::new(t.user_token(TEAMS_SETUP).await);
    (t, token)
}

#[tokio::test]
async fn the_store_app_is_found_by_id_and_installed_once() {
    let (t, token) = start(happy_with(|_| {}), "adele.vance@contoso.com").await;
    let g = graph(&t);
    let (store, org) = g.find_teams_app(&token, DEMO_APP_ID).await.unwrap();
    let store = store.unwrap();
    assert_eq!(
        (store.catalog_id.as_str(), store.version.as_str(), store.state),
        (DEMO_APP_ID, "1.4.0", PublishingState::Published)
    );
    assert_eq!(org, None);
    let ids = vec![store.catalog_id.clone()];
    assert!(!g.user_has_app(&token, "me", &ids).await.unwrap());
    assert_eq!(g.install_app(&token, "me", DEMO_APP_ID).await.unwrap(), Installed::New);
    assert_eq!(g.install_app(&token, "me", DEMO_APP_ID).await.unwrap(), Installed::Already, "409 is success");
    assert!(g.user_has_app(&token, "me", &ids).await.unwrap());
    let adele = g.user_has_app(&token, "adele.vance@contoso.com", &ids).await.unwrap();
    assert!(adele, "me and the UPN are the same user");
}

#[tokio::test]
async fn a_package_is_published_then_updated_and_duplicates_and_old_versions_are_refused() {
    let (t, token) = start(happy_with(|s| s.teams.in_store = false), "adele.vance@contoso.com").await;
    let g = graph(&t);
    assert_eq!(g.find_teams_app(&token, DEMO_APP_ID).await.unwrap(), (None, None));
    let pkg = package::load(&PackageSource::BuiltinDemo).unwrap();
    let published = g.publish_app(&token, pkg.zip.clone(), &pkg.info.version).await.unwrap();
    assert_ne!(published.catalog_id, DEMO_APP_ID, "organization apps get a catalog id of their own");
    let (store, org) = g.find_teams_app(&token, DEMO_APP_ID).await.unwrap();
    assert_eq!((store, org.map(|o| o.catalog_id)), (None, Some(published.catalog_id.clone())));

    let dup = g.publish_app(&token, pkg.zip.clone(), "1.4.0").await.unwrap_err();
    assert!(matches!(&dup, Failure::Graph(e) if e.status == 409 && e.code == "Conflict"), "{dup:?}");
    let same = g.publish_app_version(&token, &published.catalog_id, pkg.zip.clone(), "1.4.0").await.unwrap_err();
    assert!(matches!(&same, Failure::Graph(e) if e.status == 409), "a version must be higher: {same:?}");

    let newer = String::from_utf8(mspbots_setup::zipfile::read(&pkg.zip, "manifest.json").unwrap().unwrap())
        .unwrap()
        .replace("\"1.4.0\"", "\"1.5.0\"");
    let color = mspbots_setup::zipfile::read(&pkg.zip, "color.png").unwrap().unwrap();
    let outline = mspbots_setup::zipfile::read(&pkg.zip, "outline.png").unwrap().unwrap();
    let zip = mspbots_setup::zipfile::write(&[
        ("manifest.json", newer.as_bytes()),
        ("color.png", &color),
        ("outline.png", &outline),
    ]);
    let updated = g.publish_app_version(&token, &published.catalog_id, zip, "1.5.0").await.unwrap();
    assert_eq!(updated.catalog_id, published.catalog_id);
    let (_, org) = g.find_teams_app(&token, DEMO_APP_ID).await.unwrap();
    assert_eq!(org.unwrap().version, "1.5.0");
}

#[tokio::test]
async fn a_broken_manifest_is_refused_with_each_problem_named() {
    let (t, token) = start(happy_with(|s| s.teams.in_store = false), "adele.vance@contoso.com").await;
    let manifest = br#"{"manifestVersion":"1.17","id":"not-a-guid","version":"1.0.0","name":{"short":"X"},
        "developer":{"name":"X","websiteUrl":"http://insecure.example","privacyUrl":"https://p","termsOfUseUrl":"https://t"},
        "description":{"short":"x"},"icons":{"color":"color.png","outline":"outline.png"}}"#;
    let zip = mspbots_setup::zipfile::write(&[("manifest.json", manifest), ("color.png", b"c")]);
    let err = graph(&t).publish_app(&token, zip, "1.0.0").await.unwrap_err();
    let Failure::Graph(e) = &err else { panic!("{err:?}") };
    assert_eq!((e.status, e.code.as_str()), (400, "BadRequest"));
    // The raw answer carries the details; the explanation sends the admin to the vendor.
    let body = t
        .client
        .post(format!("{}v1.0/appCatalogs/teamsApps", t.sim.info().graph_url))
        .bearer_auth(token.expose())
        .header("content-type", "application/zip")
        .body(mspbots_setup::zipfile::write(&[("manifest.json", manifest)]))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let codes: Vec<&str> = body["error"]["innerError"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(body["error"]["innerError"]["code"], "UnableToParseTeamsAppManifest");
    assert!(codes.contains(&"SchemaError_Pattern") && codes.contains(&"IconNotFound"), "{codes:?}");
    let e = mspbots_setup::diagnostics::Catalogue::shipped().explain(&err, "MSPbots");
    assert_eq!(e.summary, "Microsoft rejected MSPbots's app package");
}

#[tokio::test]
async fn uploads_need_the_org_switch_and_an_admin() {
    let (t, token) = start(
        happy_with(|s| {
            s.teams.in_store = false;
            s.teams.custom_upload = false;
        }),
        "adele.vance@contoso.com",
    )
    .await;
    let pkg = package::load(&PackageSource::BuiltinDemo).unwrap();
    let err = graph(&t).publish_app(&token, pkg.zip.clone(), "1.4.0").await.unwrap_err();
    assert!(matches!(&err, Failure::Graph(e) if e.status == 403 && e.operation.contains("appCatalogs")), "{err:?}");

    // Patti (Privileged Role Administrator) may not publish without review.
    let (t, token) = start(happy_with(|s| s.teams.in_store = false), "patti.fernandez@contoso.com").await;
    let err = graph(&t).publish_app(&token, pkg.zip, "1.4.0").await.unwrap_err();
    assert!(matches!(&err, Failure::Graph(e) if e.status == 403), "{err:?}");
}

#[tokio::test]
async fn installs_are_refused_when_blocked_or_unlicensed() {
    let (t, token) = start(happy_with(|s| s.teams.third_party_apps = false), "adele.vance@contoso.com").await;
    let err = graph(&t).install_app(&token, "me", DEMO_APP_ID).await.unwrap_err();
    let Failure::Graph(e) = &err else { panic!("{err:?}") };
    assert_eq!((e.status, e.code.as_str()), (403, "Forbidden"));
    assert!(
        e.message.starts_with("App is blocked by app permission policy.") && e.message.contains("AppType: Store"),
        "{}",
        e.message
    );

    let (t, token) = start(scenario::load("teams-admin-unlicensed").unwrap(), "it.admin@contoso.com").await;
    let err = graph(&t).install_app(&token, "me", DEMO_APP_ID).await.unwrap_err();
    assert!(matches!(&err, Failure::Graph(e) if e.status == 404), "{err:?}");
    let e = mspbots_setup::diagnostics::Catalogue::shipped().explain(&err, "MSPbots");
    // Graph says why only in its message; the catalogue reads it.
    assert_eq!(e.summary, "This user has no Microsoft Teams licence");
}

#[tokio::test]
async fn batched_installs_retry_a_throttled_item_after_its_retry_after() {
    let fault = FaultSpec {
        endpoint: "graph".into(),
        path: Some("/v1.0/users/".into()),
        method: Some("POST".into()),
        status: Some(429),
        retry_after_secs: Some(1.0),
        after: 3,
        count: Some(1),
        ..Default::default()
    };
    let (t, token) = start(happy_with(|s| s.faults.push(fault)), "adele.vance@contoso.com").await;
    let g = graph(&t);
    let users: Vec<String> = t.sim.info().accounts.iter().filter(|a| !a.external).map(|a| a.upn.clone()).collect();
    let results = g.install_app_batch(&token, &users[..5], DEMO_APP_ID, true).await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|(_, r)| matches!(r, Ok(Installed::New))), "{results:#?}");
    let posts: Vec<_> = t.sim.requests().into_iter().filter(|r| r.path == "/v1.0/$batch").collect();
    assert_eq!(posts.len(), 2, "the throttled item went again on its own");
    assert!(posts[1].arrived.duration_since(posts[0].answered) >= Duration::from_secs(1));
    let items: Vec<_> = t.sim.requests().into_iter().filter(|r| r.via_batch && r.method == "POST").collect();
    assert_eq!(items.iter().filter(|r| r.status == 201).count(), 5, "each user installed exactly once");
    assert_eq!(items.iter().filter(|r| r.status == 429).count(), 1);
}

async fn admin_token(t: &TestSim) -> Secret {
    Secret::new(t.user_token(TEAMS_ADMIN).await)
}

#[tokio::test]
async fn the_global_policy_is_read_merged_and_read_back_with_nothing_else_changed() {
    let s = happy_with(|s| {
        s.teams.management = Management::Legacy;
        s.teams
            .custom_policies
            .push(mspbots_setup::sim::teams::CustomPolicySpec { name: "Sales".into(), users: Vec::new() })
    });
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    let token = admin_token(&t).await;
    let api = config(&t);
    let reading = api.read(&token).await.unwrap();
    assert_eq!(reading.global.pinned.len(), 6, "Microsoft's six apps");
    assert_eq!(reading.others, ["FirstlineWorker", "Sales"]);
    let change = change_for(&reading.global, DEMO_APP_ID).unwrap();
    let after = api.write_global(&token, &change.installed, &change.pinned).await.unwrap();
    assert!(verified(&reading.global, &after, DEMO_APP_ID));
    assert_eq!(after.pinned.last().map(String::as_str), Some(DEMO_APP_ID));
    assert_eq!(change_for(&after, DEMO_APP_ID), None, "a second run changes nothing");
    let raw: serde_json::Value = t
        .client
        .get(format!(
            "{}Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/Global",
            t.sim.info().teams_admin_url
        ))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["AllowUserPinning"], true, "properties not sent are kept (merge)");
    assert_eq!(raw["Key"]["ScopeClass"], "Global");
    let settings = api.org_settings(&token).await;
    assert_eq!(
        (settings.third_party_allowed, settings.custom_allowed, settings.custom_upload),
        (Some(true), Some(true), Some(true))
    );
}

#[tokio::test]
async fn the_policy_api_enforces_roles_partner_access_and_its_own_audience() {
    let t = TestSim::start("happy", Some("patti.fernandez@contoso.com")).await;
    let err = config(&t).read(&admin_token(&t).await).await.unwrap_err();
    assert!(matches!(&err, Failure::Graph(e) if e.status == 403 && e.code == "Forbidden"), "{err:?}");
    let e = mspbots_setup::diagnostics::Catalogue::shipped().explain(&err, "MSPbots");
    assert_eq!(e.summary, "This account may not change Teams policies");

    let t = TestSim::start("teams-policy-partner", Some("adele.vance@contoso.com")).await;
    let err = config(&t).read(&admin_token(&t).await).await.unwrap_err();
    assert!(matches!(&err, Failure::Graph(e) if e.code == "40301"), "{err:?}");

    let t = TestSim::start("happy", Some("adele.vance@contoso.com")).await;
    let graph_token = Secret::new(t.user_token(TEAMS_SETUP).await);
    let err = config(&t).read(&graph_token).await.unwrap_err();
    assert!(
        matches!(&err, Failure::Graph(e) if e.status == 401),
        "a Graph token is not for the Teams admin API: {err:?}"
    );
}

#[tokio::test]
async fn an_unknown_policy_shape_is_refused_not_guessed() {
    let s = happy_with(|s| s.teams.policy_api = PolicyApi::UnexpectedShape);
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    let err = config(&t).read(&admin_token(&t).await).await.unwrap_err();
    assert!(matches!(&err, Failure::Parse { what, .. } if what.contains("setup policy")), "{err:?}");
    assert_eq!(t.sim.requests().iter().filter(|r| r.method == "PUT").count(), 0);
}

/// An app-centric tenant (the default now): a new installed app in a setup policy is refused (400, the reason in the
/// message) or accepted and ignored; the pin alone is written and read back either way.
#[tokio::test]
async fn an_app_centric_tenant_refuses_or_ignores_new_installs_in_the_global_policy_and_keeps_the_pin() {
    for variant in [NewPolicyInstalls::Refused, NewPolicyInstalls::Ignored] {
        let t =
            TestSim::start_with(happy_with(|s| s.teams.new_policy_installs = variant), Some("adele.vance@contoso.com"))
                .await;
        let token = admin_token(&t).await;
        let api = config(&t);
        let reading = api.read(&token).await.unwrap();
        let change = change_for(&reading.global, DEMO_APP_ID).unwrap();
        let written = api.write_global(&token, &change.installed, &change.pinned).await;
        match variant {
            NewPolicyInstalls::Refused => {
                let err = written.unwrap_err();
                assert_eq!(err.teams_refusal(), Some(TeamsRefusal::NewInstallsInPolicy), "{err:?}");
                let e = mspbots_setup::diagnostics::Catalogue::shipped().explain(&err, "MSPbots");
                assert_eq!(e.summary, "This tenant installs apps per app, not through setup policies");
                let after = api.write_global(&token, &reading.global.installed, &change.pinned).await.unwrap();
                assert!(
                    pinned_kept(&reading.global, &after, DEMO_APP_ID)
                        && !verified(&reading.global, &after, DEMO_APP_ID)
                );
            }
            NewPolicyInstalls::Ignored => {
                let after = written.unwrap();
                assert!(!after.installed.iter().any(|i| i == DEMO_APP_ID), "the install was ignored");
                assert!(pinned_kept(&reading.global, &after, DEMO_APP_ID), "the pin was written");
            }
        }
    }
}

/// Once pinned in Global, the app reaches users' `installedApps` after the propagation delay, available users
/// only; installing for a user it is not available to is refused with the reason in the message.
#[tokio::test]
async fn a_pin_reaches_available_users_after_the_delay_and_installs_elsewhere_are_refused() {
    let s = happy_with(|s| {
        s.teams.availability = Availability::Some;
        s.teams.available_to = vec!["adele.vance@contoso.com".into()];
        s.teams.propagation_secs = 600.0;
    });
    let (t, token) = start(s, "adele.vance@contoso.com").await;
    let admin = Secret::new(t.user_token(TEAMS_ADMIN).await);
    let api = config(&t);
    let reading = api.read(&admin).await.unwrap();
    let pinned: Vec<String> = reading.global.pinned.iter().cloned().chain([DEMO_APP_ID.to_owned()]).collect();
    api.write_global(&admin, &reading.global.installed, &pinned).await.unwrap();
    let g = graph(&t);
    let users = vec!["adele.vance@contoso.com".to_owned(), "alex.wilber@contoso.com".to_owned()];
    let before = g.users_with_app(&token, &users, DEMO_APP_ID).await.unwrap();
    assert!(before.iter().all(|(_, r)| matches!(r, Ok(false))), "not yet: {before:?}");
    t.sim.advance_clock(Duration::from_secs(600));
    let after = g.users_with_app(&token, &users, DEMO_APP_ID).await.unwrap();
    assert!(matches!(after[0].1, Ok(true)), "the available user has it: {after:?}");
    assert!(matches!(after[1].1, Ok(false)), "the other does not: {after:?}");
    let err = g.install_app(&token, "alex.wilber@contoso.com", DEMO_APP_ID).await.unwrap_err();
    assert_eq!(err.teams_refusal(), Some(TeamsRefusal::NotAvailable), "{err:?}");
}
