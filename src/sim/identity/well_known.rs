//! Discovery, keys, the index page and the error lookup of the simulated login host.

// A room of identity/: its types, helpers and the other rooms' handlers are the parent's.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Discovery and keys

pub(super) async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let st = shared.lock();
    let mut text = format!(
        "Simulated tenant '{}' ({}), scenario '{}': {}. Accounts:",
        st.dir.scenario.tenant.display_name,
        st.dir.tenant_id(),
        st.dir.scenario.name,
        st.dir.scenario.summary
    );
    for a in st.dir.accounts() {
        text.push_str(&format!(" {} [{}];", a.spec.upn, account_detail(&a)));
    }
    html_page(html::message("MSPbots setup simulated tenant", &text))
}

pub(super) async fn error_lookup(RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let code = params.get("code").and_then(|c| c.trim_start_matches("AADSTS").parse::<u32>().ok());
    let text = match code {
        Some(c) => match crate::sim::aad::known_message(c) {
            Some(m) => format!("AADSTS{c}: {m}"),
            None => format!("AADSTS{c} is not in the simulator's catalogue."),
        },
        None => "Give an error code, e.g. /error?code=65004.".to_owned(),
    };
    html_page(html::message("Error code lookup", &text))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(super) async fn discovery(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let reply = {
        let mut st = shared.lock();
        discovery_reply(&shared, &mut st, &tenant, &headers)
    };
    reply.send().await
}

pub(super) fn discovery_reply(shared: &Shared, st: &mut SimState, tenant: &str, headers: &HeaderMap) -> Reply {
    let hit = st.take_fault(FaultProbe { endpoint: "discovery", ..Default::default() });
    let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
    if let Some(hit) = hit.filter(FaultHit::fails) {
        let err = fault_error(&hit, &tenant_ctx(&st.dir, tenant));
        return Reply { response: json_error(shared, &err, headers), delay };
    }
    let Some(path) = st.dir.resolve_tenant(tenant) else {
        let err = AadError::new(90002, &Ctx::default().with("tenant", tenant));
        return Reply { response: json_error(shared, &err, headers), delay };
    };
    let b = &shared.login_base;
    // Endpoints of a specific tenant use its GUID even when asked by domain, as Microsoft's do.
    let (segment, issuer_tenant, region) = match st.dir.path_tenant_id(&path) {
        Some(tid) => (tid.clone(), tid, Value::from("NA")),
        None => (tenant.to_ascii_lowercase(), "{tenantid}".to_owned(), Value::Null),
    };
    // Government tenants say so in discovery: GCC is NA/GCC, GCC High USGov/DODCON, DoD USGov/DOD. The tenant's
    // cloud is its Teams section's; another directory's (a partner's customer) is its own.
    let cloud = match &path {
        TenantPath::Customer => Some(st.teams.spec.cloud.as_str()),
        TenantPath::External { tenant_id } => Some(
            st.dir
                .scenario
                .external_tenants
                .iter()
                .find(|t| t.tenant_id == *tenant_id)
                .and_then(|t| t.cloud.as_deref())
                .unwrap_or("public"),
        ),
        _ => None,
    };
    let (region, sub_scope) = match cloud {
        Some("gcc") => (region, Some("GCC")),
        Some("gcc-high") => (Value::from("USGov"), Some("DODCON")),
        Some("dod") => (Value::from("USGov"), Some("DOD")),
        _ => (region, None),
    };
    let graph_host = shared.graph_base.trim_start_matches("https://").trim_end_matches('/').to_owned();
    let doc = json!({
        "token_endpoint": format!("{b}{segment}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{b}{segment}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{b}{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{}oidc/userinfo", shared.graph_base),
        "authorization_endpoint": format!("{b}{segment}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{b}{segment}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{b}{segment}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
            "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{b}{segment}/kerberos"),
        "tenant_region_scope": region,
        "cloud_instance_name": match cloud.unwrap_or(st.teams.spec.cloud.as_str()) {
            "gcc-high" | "dod" => "microsoftonline.us",
            "china" => "partner.microsoftonline.cn",
            _ => "microsoftonline.com",
        },
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": graph_host,
        "rbac_url": "https://pas.windows.net",
    });
    let mut doc = doc;
    if let Some(sub) = sub_scope {
        doc["tenant_region_sub_scope"] = Value::from(sub);
    }
    let mut response = axum::Json(doc).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("max-age=86400, private"));
    response.headers_mut().insert("access-control-allow-origin", HeaderValue::from_static("*"));
    Reply { response, delay }
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub(super) async fn keys(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let reply = {
        let mut st = shared.lock();
        let hit = st.take_fault(FaultProbe { endpoint: "keys", ..Default::default() });
        let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
        match (hit.filter(FaultHit::fails), st.dir.resolve_tenant(&tenant)) {
            (Some(hit), _) => Reply {
                response: json_error(&shared, &fault_error(&hit, &tenant_ctx(&st.dir, &tenant)), &headers),
                delay,
            },
            (None, None) => {
                let err = AadError::new(90002, &Ctx::default().with("tenant", tenant.as_str()));
                Reply { response: json_error(&shared, &err, &headers), delay }
            }
            (None, Some(_)) => {
                let issuer = format!("{}{{tenantid}}/v2.0", shared.login_base);
                let mut response = axum::Json(json!({ "keys": [shared.signer.jwk(&issuer)] })).into_response();
                response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("max-age=86400, private"));
                Reply { response, delay }
            }
        }
    };
    reply.send().await
}

pub(super) async fn logout(RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    if let Some(target) = params.get("post_logout_redirect_uri")
        && (redirect_matches("http://localhost", target) || redirect_matches("http://127.0.0.1", target))
    {
        return redirect_to(target);
    }
    html_page(html::message("You signed out of your account", "It's a good idea to close all browser windows."))
}
