//! The v2 and v1 admin-consent endpoints.

// A room of identity/: its types, helpers and the other rooms' handlers are the parent's.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Admin consent

pub(super) async fn admin_consent_v2(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    admin_consent(shared, tenant, q, false).await
}

pub(super) async fn admin_consent_v1(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    admin_consent(shared, tenant, q, true).await
}

pub(super) async fn admin_consent(shared: Arc<Shared>, segment: String, q: Option<String>, v1: bool) -> Response {
    let p = Params::parse(q.unwrap_or_default().as_bytes());
    let reply = {
        let mut st = shared.lock();
        admin_consent_start(&shared, &mut st, &segment, &p, v1)
    };
    reply.send().await
}

pub(super) fn admin_consent_start(shared: &Shared, st: &mut SimState, segment: &str, p: &Params, v1: bool) -> Reply {
    let Some(tenant_path) = st.dir.resolve_tenant(segment) else {
        return Reply::now(error_page(&AadError::new(90002, &Ctx::default().with("tenant", segment))));
    };
    let msg_tenant = st.dir.path_tenant_id(&tenant_path).unwrap_or_else(|| segment.to_owned());
    let (app, redirect_uri) =
        match check_client_and_redirect(&st.dir, &msg_tenant, p.get("client_id"), p.get("redirect_uri"), !v1) {
            Ok(ok) => (ok.0.clone(), ok.1),
            Err(err) => return Reply::now(error_page(&err)),
        };
    let req = AdminConsentRequest {
        redirect_uri,
        state: p.get("state").map(str::to_owned),
        scope: p.get("scope").map(str::to_owned),
        v1,
    };
    let ctx = app_ctx(tenant_ctx(&st.dir, &msg_tenant), &app);
    let kind = Kind::AdminConsent(req);
    // Personal accounts cannot consent outside a tenant; Microsoft answers `common` this way (observed).
    if !v1 && tenant_path == TenantPath::Common {
        return Reply::now(fail(shared, &kind, &AadError::new(900144, &ctx.with("parameter", "response_type"))));
    }
    if !v1 && p.get("scope").is_none() {
        return Reply::now(fail(shared, &kind, &AadError::new(900144, &ctx.with("parameter", "scope"))));
    }
    let ctx_id = clock::opaque::<18>();
    st.flows.interactions.insert(
        ctx_id.clone(),
        Interaction {
            kind,
            tenant_segment: segment.to_owned(),
            tenant_path,
            client_id: app.client_id.clone(),
            stage: Stage::PickAccount,
        },
    );
    match shared.auto_login() {
        Some(default_upn) => {
            let upn = p.get("login_hint").filter(|h| st.dir.account(h).is_some()).map_or(default_upn, str::to_owned);
            with_account(shared, st, &ctx_id, &upn, true)
        }
        None => Reply::now(picker(st, &ctx_id, segment, &app.client_id, None)),
    }
}
