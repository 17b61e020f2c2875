//! Every Graph answer the simulated tenant gives is held against Microsoft's published Graph v1.0 metadata
//! (`tests/data/graph-metadata/`): the whole wizard runs headless against the simulator (sign-in, consent,
//! verify, preview, the Teams app for the admin and for everyone, the policy step), the simulator keeps each JSON
//! answer, and each is checked: `@odata.context` present and naming what the request path names, every property
//! declared on the type or its base types, every value of the declared type, enum members, annotations. Then the
//! endpoints the coming steps need and the product does not call yet are read directly and checked the same way.

use std::collections::BTreeSet;

use mspbots_setup::sim::{Host, scenario};
use serde_json::Value;

use crate::common;
use crate::metadata::{Checker, Metadata};

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");
const ADMIN: &str = "adele.vance@contoso.com";
const GRAPH: &str = "https://graph.microsoft.com";

/// Reads the simulator's Graph directly (the answer is recorded like the product's).
async fn read(t: &common::TestSim, token: &str, path: &str) -> Value {
    read_or_404(t, token, path).await.unwrap_or_else(|| panic!("GET {path}: 404"))
}

/// [`read`] where Graph answers 404 for some ids (a user without a manager or photo).
async fn read_or_404(t: &common::TestSim, token: &str, path: &str) -> Option<Value> {
    let url = format!("{}{}", t.sim.info().graph_url, path.trim_start_matches('/'));
    let r = t.client.get(&url).bearer_auth(token).send().await.unwrap();
    if r.status() == 404 {
        return None;
    }
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    Some(r.json().await.unwrap())
}

/// GDAP relationships in every state that changes a read: active with an active and a pending assignment, and
/// waiting for the customer's approval.
const PARTNER: &str = r#"
[[relationships]]
customer = "Fabrikam"
status = "active"
roles = ["Global Administrator", "Teams Administrator"]
[[relationships.access_assignments]]
group = "MSPbots onboarding"
status = "active"
[[relationships.access_assignments]]
group = "Helpdesk"
status = "pending"
roles = ["Global Reader"]

[[relationships]]
customer = "Northwind Traders"
status = "approvalPending"
roles = ["Privileged Role Administrator"]
"#;

#[test]
fn every_graph_answer_fits_microsofts_published_metadata() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut s = scenario::load("happy").unwrap();
    s.directory.generated_users = 30;
    s.partner = toml::from_str(PARTNER).unwrap();
    // The admin is in a security group too, so the partner's group read answers with one.
    s.users.iter_mut().find(|u| u.upn == ADMIN).unwrap().groups = vec!["AdminAgents".into()];
    let t = rt.block_on(common::TestSim::start_with(s, Some(ADMIN)));
    let sim = &t.sim;
    sim.keep_answers();
    let dir = std::env::temp_dir().join(format!("mspbots-metadata-{}", std::process::id()));
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let profile = common::live_profile(&dir, sim);

    let out = common::headless_against(BIN, sim, &profile, &state)
        .args(["--install-for-everyone", "--grant-wait", "5"])
        .output()
        .unwrap();
    let lines = common::json_lines(&out);
    assert!(
        lines.iter().any(|l| l["step"] == "teams_app" && l["status"] == "done"),
        "the journey reached the Teams app: {lines:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journey = sim.requests().len();

    rt.block_on(direct_reads(&t));

    let md = Metadata::load();
    let mut checker = Checker::new(&md);
    let mut endpoints = BTreeSet::new();
    let (mut answers, mut from_journey) = (0, 0);
    for r in sim.requests() {
        let (Host::Graph, Some(answer)) = (r.host, r.answer.as_ref()) else { continue };
        if !(200..300).contains(&r.status) {
            continue;
        }
        let request = format!("{} {}{}", r.method, r.path, if r.query.is_empty() { "" } else { "?…" });
        if md.path_shape(&r.path).is_none() {
            continue;
        }
        answers += 1;
        from_journey += usize::from(r.seq <= journey as u64);
        endpoints.insert(format!("{} {}", r.method, template(&r.path)));
        checker.answer(&request, &r.path, answer);
    }
    std::fs::remove_dir_all(&dir).unwrap();
    println!(
        "{answers} Graph answers ({} of them from the product's own journey of {journey} requests) on {} endpoints: \
         {} properties and {} annotations checked, {} problems",
        from_journey,
        endpoints.len(),
        checker.checked,
        checker.annotations,
        checker.problems.len()
    );
    for e in &endpoints {
        println!("  {e}");
    }
    assert!(checker.problems.is_empty(), "answers that do not fit Graph's metadata:\n{}", checker.problems.join("\n"));
    // What the product reads today, and what the coming steps need (issues 17, 18, 19).
    for needed in [
        "GET /v1.0/me",
        "GET /v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole",
        "GET /v1.0/organization",
        "GET /v1.0/servicePrincipals",
        "GET /v1.0/servicePrincipals/{id}/appRoleAssignments",
        "GET /v1.0/oauth2PermissionGrants",
        "GET /v1.0/subscribedSkus",
        "GET /v1.0/users",
        "GET /v1.0/appCatalogs/teamsApps",
        "GET /v1.0/me/teamwork/installedApps",
        "GET /v1.0/me/licenseDetails",
        "GET /v1.0/me/memberOf",
        "GET /v1.0/users/{id}/licenseDetails",
        "GET /v1.0/users/{id}/teamwork/installedApps",
        "GET /v1.0/tenantRelationships/delegatedAdminCustomers",
        "GET /v1.0/tenantRelationships/delegatedAdminCustomers/{id}/serviceManagementDetails",
        "GET /v1.0/tenantRelationships/delegatedAdminRelationships",
        "GET /v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments",
    ] {
        assert!(endpoints.contains(needed), "{needed} was not checked; checked: {endpoints:#?}");
    }
    assert!(checker.checked > 500, "only {} properties checked", checker.checked);
}

/// Endpoints the simulator serves that the product's journey does not read (yet), read directly.
async fn direct_reads(t: &common::TestSim) {
    let token = t.user_token(common::TENANT_READ).await;
    read(t, &token, "/v1.0/users/delta").await;
    let me = read(t, &token, "/v1.0/me").await;
    let me_id = me["id"].as_str().unwrap();
    let mine = t.user_token(&format!("{GRAPH}/User.Read {GRAPH}/TeamsAppInstallation.ReadForUser")).await;
    let licences = read(t, &mine, "/v1.0/me/licenseDetails").await;
    assert!(!licences["value"].as_array().unwrap().is_empty(), "the admin has licences");
    read(t, &mine, "/v1.0/me/memberOf").await;
    read(t, &token, &format!("/v1.0/users/{me_id}/licenseDetails")).await;
    // The delivery check's read: one user's apps, filtered by the app's manifest id, both navigations expanded.
    let filter = common::enc(&format!("teamsApp/externalId eq '{}'", mspbots_setup::sim::teams::DEMO_APP_ID));
    let apps = read(
        t,
        &mine,
        &format!("/v1.0/users/{me_id}/teamwork/installedApps?$expand=teamsApp,teamsAppDefinition&$filter={filter}"),
    )
    .await;
    let app = &apps["value"][0];
    assert!(app["teamsApp"]["id"].is_string() && app["teamsAppDefinition"]["version"].is_string(), "{apps:#}");
    let partner = t.user_token(&format!("{GRAPH}/DelegatedAdminRelationship.Read.All")).await;
    let customers = read(t, &partner, "/v1.0/tenantRelationships/delegatedAdminCustomers").await;
    assert_eq!(customers["value"].as_array().unwrap().len(), 2);
    for c in customers["value"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let services = read(
            t,
            &partner,
            &format!("/v1.0/tenantRelationships/delegatedAdminCustomers/{id}/serviceManagementDetails"),
        )
        .await;
        let names: Vec<&str> =
            services["value"].as_array().unwrap().iter().filter_map(|s| s["serviceName"].as_str()).collect();
        assert!(names.contains(&"Teams"), "{services:#}");
    }
    let relationships = read(t, &partner, "/v1.0/tenantRelationships/delegatedAdminRelationships").await;
    for r in relationships["value"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        read(t, &partner, &format!("/v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments"))
            .await;
    }
    let groups = read(t, &mine, "/v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id").await;
    assert_eq!(groups["value"][0]["@odata.type"], "#microsoft.graph.group", "{groups:#}");
    let users = read(t, &token, "/v1.0/users?$select=id&$top=10").await;
    let (mut managers, mut photos) = (0, 0);
    for user in users["value"].as_array().unwrap() {
        let id = user["id"].as_str().unwrap();
        read(t, &token, &format!("/v1.0/users/{id}")).await;
        managers += usize::from(read_or_404(t, &token, &format!("/v1.0/users/{id}/manager")).await.is_some());
        photos += usize::from(read_or_404(t, &token, &format!("/v1.0/users/{id}/photo")).await.is_some());
    }
    assert!(managers > 0 && photos > 0, "some of the users read have a manager ({managers}) and a photo ({photos})");
}

/// `/v1.0/users/4f1b.../teamwork/installedApps` → `/v1.0/users/{id}/teamwork/installedApps`.
fn template(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.len() >= 32 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') || s.contains('@') {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
