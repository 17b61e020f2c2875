//! The device-code endpoint and its pages.

// A room of identity/: its types, helpers and the other rooms' handlers are the parent's.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Device code

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub(super) async fn devicecode(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::parse(&body);
    let reply = {
        let mut st = shared.lock();
        devicecode_reply(&shared, &mut st, &tenant, &form, &headers)
    };
    reply.send().await
}

pub(super) fn devicecode_reply(
    shared: &Shared,
    st: &mut SimState,
    segment: &str,
    form: &Params,
    headers: &HeaderMap,
) -> Reply {
    let Some(tenant_path) = st.dir.resolve_tenant(segment) else {
        return Reply::now(json_error(shared, &AadError::new(90002, &Ctx::default().with("tenant", segment)), headers));
    };
    let msg_tenant = st.dir.path_tenant_id(&tenant_path).unwrap_or_else(|| segment.to_owned());
    let ctx = tenant_ctx(&st.dir, &msg_tenant);
    let Some(client_id) = form.get("client_id") else {
        return Reply::now(json_error(shared, &AadError::new(900144, &ctx.with("parameter", "client_id")), headers));
    };
    let hit = st.take_fault(FaultProbe { endpoint: "devicecode", client_id: Some(client_id), ..Default::default() });
    let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
    let reply = |response| Reply { response, delay };
    let Some(app) = st.dir.app(client_id).cloned() else {
        return reply(json_error(shared, &AadError::new(700016, &ctx.with("client_id", client_id)), headers));
    };
    let ctx = app_ctx(ctx, &app);
    if let Some(hit) = hit.filter(FaultHit::fails) {
        return reply(json_error(shared, &fault_error(&hit, &ctx), headers));
    }
    if !app.public_client {
        return reply(json_error(shared, &AadError::new(7000218, &ctx), headers));
    }
    let scopes = form.scopes();
    if let Some(err) = scope_problem(&app, &scopes, &ctx) {
        return reply(json_error(shared, &err, headers));
    }
    let spec = st.dir.scenario.device_code.clone();
    let device_code = format!("DAQABAAEAAAD{}", clock::opaque::<48>());
    let user_code = clock::user_code();
    let verification_uri = format!("{}devicelogin", shared.browser_base);
    st.flows.device.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            client_id: app.client_id.clone(),
            tenant_path,
            scopes,
            expires: shared.clock.instant() + Duration::from_secs(spec.expires_in_secs),
            interval: Duration::from_secs(spec.interval_secs),
            last_poll: None,
            status: DeviceStatus::Pending,
        },
    );
    let body = json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": spec.expires_in_secs,
        "interval": spec.interval_secs,
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
    });
    reply(with_token_headers(axum::Json(body).into_response(), &clock::new_guid()))
}

pub(super) async fn device_entry() -> Response {
    html_page(html::device_code_entry("/devicelogin", None))
}

/// Whether `entered` (as a person types it on `/devicelogin`) is a pending device code of this tenant.
pub fn knows_user_code(shared: &Shared, entered: &str) -> bool {
    let entered: String = entered.chars().filter(char::is_ascii_alphanumeric).collect();
    let st = shared.lock();
    st.flows
        .device
        .values()
        .any(|g| g.user_code.eq_ignore_ascii_case(&entered) && matches!(g.status, DeviceStatus::Pending))
}

pub(super) async fn device_entry_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let action = "/devicelogin";
    let entered: String = form.get("otc").unwrap_or_default().chars().filter(char::is_ascii_alphanumeric).collect();
    let reply = {
        let mut st = shared.lock();
        let now = shared.clock.instant();
        let found = st
            .flows
            .device
            .iter()
            .find(|(_, g)| g.user_code.eq_ignore_ascii_case(&entered) && matches!(g.status, DeviceStatus::Pending))
            .map(|(code, g)| (code.clone(), g.expires, g.client_id.clone(), g.tenant_path.clone()));
        match found {
            None => Reply::now(html_page(html::device_code_entry(
                action,
                Some("That code didn't work. Check the code and try again."),
            ))),
            Some((_, expires, _, _)) if now >= expires => Reply::now(html_page(html::device_code_entry(
                action,
                Some("That code has expired. Get a new code from the app."),
            ))),
            Some((device_code, _, client_id, tenant_path)) => {
                let ctx_id = clock::opaque::<18>();
                let segment = match &tenant_path {
                    TenantPath::Organizations => "organizations".to_owned(),
                    TenantPath::Common => "common".to_owned(),
                    TenantPath::Consumers => "consumers".to_owned(),
                    other => st.dir.path_tenant_id(other).unwrap_or_else(|| "organizations".to_owned()),
                };
                st.flows.interactions.insert(
                    ctx_id.clone(),
                    Interaction {
                        kind: Kind::Device { device_code },
                        tenant_segment: segment.clone(),
                        tenant_path,
                        client_id: client_id.clone(),
                        stage: Stage::PickAccount,
                    },
                );
                Reply::now(picker(&st, &ctx_id, &segment, &client_id, None))
            }
        }
    };
    reply.send().await
}
