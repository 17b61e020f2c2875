//! The authorize endpoint: the account picker, sign-in and consent pages, user and admin consent decisions, and
//! how the answer goes back (query, fragment, form post).

// A room of identity/: its types, helpers and the other rooms' handlers are the parent's.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Authorize

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub(super) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let reply = {
        let mut st = shared.lock();
        authorize_start(&shared, &mut st, &tenant, &params)
    };
    reply.send().await
}

pub(super) fn authorize_start(shared: &Shared, st: &mut SimState, segment: &str, p: &Params) -> Reply {
    let Some(tenant_path) = st.dir.resolve_tenant(segment) else {
        return Reply::now(error_page(&AadError::new(90002, &Ctx::default().with("tenant", segment))));
    };
    let msg_tenant = st.dir.path_tenant_id(&tenant_path).unwrap_or_else(|| segment.to_owned());
    let (app, redirect_uri) =
        match check_client_and_redirect(&st.dir, &msg_tenant, p.get("client_id"), p.get("redirect_uri"), true) {
            Ok(ok) => (ok.0.clone(), ok.1),
            Err(err) => return Reply::now(error_page(&err)),
        };
    let response_mode = match p.get("response_mode") {
        Some("form_post") => ResponseMode::FormPost,
        Some("fragment") => ResponseMode::Fragment,
        _ => ResponseMode::Query,
    };
    let req = AuthorizeRequest {
        redirect_uri,
        response_mode,
        state: p.get("state").map(str::to_owned),
        scopes: p.scopes(),
        nonce: p.get("nonce").map(str::to_owned),
        code_challenge: p.get("code_challenge").map(str::to_owned),
        code_challenge_method: p.get("code_challenge_method").unwrap_or("plain").to_owned(),
        client_info: p.get("client_info") == Some("1"),
        prompt: p.get("prompt").map(str::to_owned),
    };
    let ctx = app_ctx(tenant_ctx(&st.dir, &msg_tenant), &app);
    let early = if p.get("response_type") != Some("code") {
        Some(AadError::new(70005, &ctx.clone().with("response_type", p.get("response_type").unwrap_or(""))))
    } else if !matches!(req.code_challenge_method.as_str(), "S256" | "plain") {
        Some(AadError::new(50149, &ctx))
    } else {
        scope_problem(&app, &req.scopes, &ctx)
    };
    let kind = Kind::Authorize(req);
    if let Some(err) = early {
        return Reply::now(fail(shared, &kind, &err));
    }
    let ctx_id = clock::opaque::<18>();
    let auto = shared.auto_login();
    let interaction = Interaction {
        kind,
        tenant_segment: segment.to_owned(),
        tenant_path,
        client_id: app.client_id.clone(),
        stage: Stage::PickAccount,
    };
    let prompt_none = matches!(&interaction.kind, Kind::Authorize(r) if r.prompt.as_deref() == Some("none"));
    st.flows.interactions.insert(ctx_id.clone(), interaction);
    match auto {
        Some(default_upn) => {
            let upn = p.get("login_hint").filter(|h| st.dir.account(h).is_some()).map_or(default_upn, str::to_owned);
            with_account(shared, st, &ctx_id, &upn, true)
        }
        None if prompt_none => {
            let Some(i) = st.flows.interactions.remove(&ctx_id) else {
                return Reply::now(error_page(&AadError::new(9002313, &ctx)));
            };
            Reply::now(fail(shared, &i.kind, &AadError::new(50058, &ctx)))
        }
        None => Reply::now(picker(st, &ctx_id, segment, &app.client_id, None)),
    }
}

/// Sends the flow's error answer: a redirect for authorize and admin consent, a page (and a failed device
/// grant) for the device flow.
pub(super) fn fail(shared: &Shared, kind: &Kind, err: &AadError) -> Response {
    let stamp = err.stamp(None);
    let mut params = err.redirect_params(&stamp, &shared.login_base);
    match kind {
        Kind::Authorize(req) => {
            if let Some(s) = &req.state {
                params.push(("state".to_owned(), s.clone()));
            }
            deliver(req.response_mode, &req.redirect_uri, &params)
        }
        Kind::AdminConsent(req) => {
            params.push(("admin_consent".to_owned(), "True".to_owned()));
            if let Some(s) = &req.state {
                params.push(("state".to_owned(), s.clone()));
            }
            redirect_to(&with_params(&req.redirect_uri, &params, false))
        }
        Kind::Device { .. } => html_page(html::message("Sign-in failed", &err.description(&stamp))),
    }
}

pub(super) fn deliver(mode: ResponseMode, redirect_uri: &str, params: &[(String, String)]) -> Response {
    match mode {
        ResponseMode::Query => redirect_to(&with_params(redirect_uri, params, false)),
        ResponseMode::Fragment => redirect_to(&with_params(redirect_uri, params, true)),
        ResponseMode::FormPost => html_page(html::form_post(redirect_uri, params)),
    }
}

/// `POST /{tenant}/login`: the account picker's answer.
pub(super) async fn login_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let (Some(ctx_id), Some(upn)) = (form.get("ctx"), form.get("username")) else {
        return picker_again(&shared, form.get("ctx"), "Enter a valid email address, phone number, or Skype name.");
    };
    let reply = {
        let mut st = shared.lock();
        with_account(&shared, &mut st, ctx_id, upn.trim(), false)
    };
    reply.send().await
}

pub(super) fn picker_again(shared: &Shared, ctx_id: Option<&str>, problem: &str) -> Response {
    let st = shared.lock();
    match ctx_id.and_then(|c| st.flows.interactions.get(c).map(|i| (c, i))) {
        Some((c, i)) => picker(&st, c, &i.tenant_segment, &i.client_id, Some(problem)),
        None => html_page(html::message("Sign-in session expired", "Start signing in again from the application.")),
    }
}

pub(super) fn expired_session() -> Reply {
    Reply::now(html_page(html::message(
        "Sign-in session expired",
        "This sign-in page is no longer valid. Start signing in again from the application.",
    )))
}

/// The account is known: tenant membership, faults, then consent.
pub(super) fn with_account(shared: &Shared, st: &mut SimState, ctx_id: &str, upn: &str, auto: bool) -> Reply {
    let Some(interaction) = st.flows.interactions.get(ctx_id).cloned() else {
        return expired_session();
    };
    let Some(account) = st.dir.account(upn) else {
        let text = format!("We couldn't find an account with that username ({upn}). Try another account.");
        return Reply::now(picker(st, ctx_id, &interaction.tenant_segment, &interaction.client_id, Some(&text)));
    };
    if !account.spec.enabled {
        let text = "Your account has been locked. Contact your support person to unlock it, then try again.";
        return Reply::now(picker(st, ctx_id, &interaction.tenant_segment, &interaction.client_id, Some(text)));
    }
    let tenant_id = match &interaction.tenant_path {
        TenantPath::Organizations | TenantPath::Common | TenantPath::Consumers => account.home_tenant_id.clone(),
        other => st.dir.path_tenant_id(other).unwrap_or_else(|| account.home_tenant_id.clone()),
    };
    let Some(app) = st.dir.app(&interaction.client_id).cloned() else {
        return expired_session();
    };
    let ctx = app_ctx(tenant_ctx(&st.dir, &tenant_id), &app)
        .with("upn", account.spec.upn.clone())
        .with("home_tenant_id", account.home_tenant_id.clone())
        .with("resource", GRAPH.app_id);
    let endpoint = match interaction.kind {
        Kind::Authorize(_) => Some("authorize"),
        Kind::AdminConsent(_) => Some("adminconsent"),
        Kind::Device { .. } => None,
    };
    let hit = endpoint.and_then(|endpoint| {
        st.take_fault(FaultProbe {
            endpoint,
            client_id: Some(&app.client_id),
            account: Some(&account.spec.upn),
            ..FaultProbe::default()
        })
    });
    let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
    let finish = |st: &mut SimState, err: AadError| {
        st.flows.interactions.remove(ctx_id);
        Reply { response: end_with_error(shared, st, &interaction.kind, &err), delay }
    };
    if let Some(hit) = hit.filter(FaultHit::fails) {
        return finish(st, fault_error(&hit, &ctx));
    }
    if matches!(interaction.tenant_path, TenantPath::Consumers) {
        return finish(st, AadError::new(50020, &ctx));
    }
    if let Err(code) = may_sign_in(st, &account, &tenant_id, &app.client_id) {
        return finish(st, AadError::new(code, &ctx));
    }
    if st.dir.app_disabled_in(&tenant_id, &app.client_id) {
        return finish(st, AadError::new(7000112, &ctx));
    }
    let mut reply = match &interaction.kind {
        Kind::AdminConsent(req) => {
            admin_consent_gate(shared, st, ctx_id, &interaction, &app, &account, &tenant_id, req, auto, &ctx)
        }
        Kind::Authorize(_) | Kind::Device { .. } => {
            let scopes = match &interaction.kind {
                Kind::Authorize(r) => r.scopes.clone(),
                Kind::Device { device_code } => {
                    st.flows.device.get(device_code).map(|d| d.scopes.clone()).unwrap_or_default()
                }
                Kind::AdminConsent(_) => Vec::new(),
            };
            user_consent_gate(shared, st, ctx_id, &interaction, &app, &account, &tenant_id, &scopes, auto, &ctx)
        }
    };
    reply.delay += delay;
    reply
}

/// Ends an interactive flow with an error: for device flows the poller sees it too.
pub(super) fn end_with_error(shared: &Shared, st: &mut SimState, kind: &Kind, err: &AadError) -> Response {
    if let Kind::Device { device_code } = kind
        && let Some(grant) = st.flows.device.get_mut(device_code)
    {
        grant.status = DeviceStatus::Failed(err.clone());
    }
    fail(shared, kind, err)
}

#[expect(clippy::too_many_arguments, reason = "one call site; the values are the flow's context")]
pub(super) fn user_consent_gate(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    interaction: &Interaction,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    scopes: &[String],
    auto: bool,
    ctx: &Ctx,
) -> Reply {
    let wanted = requested_delegated(app, scopes);
    let force = matches!(&interaction.kind, Kind::Authorize(r) if r.prompt.as_deref() == Some("consent"));
    let missing = missing_scopes(&st.dir, tenant_id, &app.client_id, account, &wanted);
    if missing.is_empty() && !force {
        st.flows.interactions.remove(ctx_id);
        return Reply::now(complete(st, &interaction.kind, app, account, tenant_id));
    }
    let power = account.consent_power();
    let needs_admin = missing.iter().any(|(k, names)| {
        resources::by_key(k).is_some_and(|r| names.iter().any(|n| r.permission(n).is_some_and(|p| p.admin_only)))
    });
    let blocked = if power != ConsentPower::None {
        None
    } else if !st.dir.scenario.tenant.user_consent_allowed {
        let mut err = AadError::new(90094, ctx);
        err.message = format!(
            "An administrator of {tenant} has set a policy that prevents you from granting {app} the permissions it is \
             requesting. Contact an administrator of {tenant}, who can grant permissions to this app on your behalf.",
            tenant = st.dir.tenant_name(tenant_id),
            app = app.display_name
        );
        Some((err, admin_only_reason(app)))
    } else if needs_admin {
        let err = AadError::new(90094, ctx);
        Some((err, admin_only_reason(app)))
    } else {
        None
    };
    if let Some((err, reason)) = blocked {
        return need_admin_approval(shared, st, ctx_id, interaction, app, account, err, &reason, auto);
    }
    set_stage(st, ctx_id, Stage::Consent { upn: account.spec.upn.clone(), tenant_id: tenant_id.to_owned() });
    if auto {
        // The scenario's first `declined_user_consents` pages are cancelled, then it follows `auto_decision`.
        let n = st.dir.user_consents_answered;
        st.dir.user_consents_answered += 1;
        let decision = if n < st.dir.scenario.consent.declined_user_consents {
            ConsentDecision::Decline
        } else {
            auto_decision(shared, st)
        };
        return decide_user_consent(shared, st, ctx_id, decision, power != ConsentPower::None);
    }
    let shown = if force { wanted } else { missing };
    let lines = consent_lines(&shown);
    let action = format!("/{}/consent", interaction.tenant_segment);
    Reply::now(html_page(html::consent(&html::ConsentPage {
        action: &action,
        ctx: ctx_id,
        app_name: &app.display_name,
        publisher: &app.publisher,
        upn: &account.spec.upn,
        lines: &lines,
        org_wide_choice: power != ConsentPower::None,
        for_org: false,
    })))
}

/// The account may not grant what the app asks for: "Need admin approval", whose way back answers `err`
/// (auto mode answers at once).
#[expect(clippy::too_many_arguments, reason = "the values are the flow's context")]
pub(super) fn need_admin_approval(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    interaction: &Interaction,
    app: &AppSpec,
    account: &Account,
    err: AadError,
    reason: &str,
    auto: bool,
) -> Reply {
    if auto {
        st.flows.interactions.remove(ctx_id);
        return Reply::now(end_with_error(shared, st, &interaction.kind, &err));
    }
    set_stage(st, ctx_id, Stage::AdminApproval { error: err });
    let action = format!("/{}/consent", interaction.tenant_segment);
    Reply::now(html_page(html::need_admin_approval(&action, ctx_id, &app.display_name, &account.spec.upn, reason)))
}

/// What "Need admin approval" says when the app needs permissions only an admin can grant.
pub(super) fn admin_only_reason(app: &AppSpec) -> String {
    format!(
        "{} needs permission to access resources in your organization that only an admin can grant. Please ask an \
         admin to grant permission to this app before you can use it.",
        app.display_name
    )
}

pub(super) fn auto_decision(shared: &Shared, st: &SimState) -> ConsentDecision {
    shared.consent_decision(st.dir.scenario.consent.auto_decision)
}

pub(super) fn set_stage(st: &mut SimState, ctx_id: &str, stage: Stage) {
    if let Some(i) = st.flows.interactions.get_mut(ctx_id) {
        i.stage = stage;
    }
}

#[expect(clippy::too_many_arguments, reason = "one call site; the values are the flow's context")]
pub(super) fn admin_consent_gate(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    interaction: &Interaction,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    req: &AdminConsentRequest,
    auto: bool,
    ctx: &Ctx,
) -> Reply {
    let power = account.consent_power();
    let refusal = match power {
        ConsentPower::None => Some(admin_only_reason(app)),
        ConsentPower::AllButGraphAppRoles if st.dir.needs_graph_app_roles(&app.client_id) => Some(format!(
            "{} asks for Microsoft Graph application permissions. Only a Global Administrator or a Privileged Role \
             Administrator can grant them; your role ({}) cannot.",
            app.display_name,
            account.spec.roles.join(", ")
        )),
        _ => None,
    };
    if let Some(reason) = refusal {
        let err = AadError::new(90094, ctx);
        return need_admin_approval(shared, st, ctx_id, interaction, app, account, err, &reason, auto);
    }
    set_stage(st, ctx_id, Stage::Consent { upn: account.spec.upn.clone(), tenant_id: tenant_id.to_owned() });
    if auto {
        return decide_admin_consent(shared, st, ctx_id, auto_decision(shared, st));
    }
    let lines: Vec<ConsentLine> = admin_consent_permissions(app, req)
        .into_iter()
        .filter_map(|(key, kind, name)| resources::by_key(&key).map(|r| ConsentLine { text: describe(r, &name, kind) }))
        .collect();
    let action = format!("/{}/consent", interaction.tenant_segment);
    Reply::now(html_page(html::consent(&html::ConsentPage {
        action: &action,
        ctx: ctx_id,
        app_name: &app.display_name,
        publisher: &app.publisher,
        upn: &account.spec.upn,
        lines: &lines,
        org_wide_choice: false,
        for_org: true,
    })))
}

/// What an admin-consent request grants: everything registered (`/.default`, v1) or the named delegated scopes.
pub(super) fn admin_consent_permissions(
    app: &AppSpec,
    req: &AdminConsentRequest,
) -> Vec<(String, PermissionKind, String)> {
    let all = || app.required_permissions.iter().map(|p| (p.resource.clone(), p.kind, p.name.clone())).collect();
    match &req.scope {
        None => all(),
        Some(scope) if scope.split_whitespace().any(|s| s.ends_with("/.default")) => all(),
        Some(scope) => scope
            .split_whitespace()
            .filter_map(|s| match parse_scope(s) {
                ScopeItem::Named { resource, name } => Some((resource.to_owned(), PermissionKind::Delegated, name)),
                _ => None,
            })
            .collect(),
    }
}

/// `POST /{tenant}/consent`: Accept, Cancel, or "return without granting".
pub(super) async fn consent_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let Some(ctx_id) = form.get("ctx") else {
        return expired_session().response;
    };
    let decision = match form.get("decision") {
        Some("accept") => ConsentDecision::Accept,
        _ => ConsentDecision::Decline,
    };
    let org_wide = form.get("org_wide") == Some("on");
    let reply = {
        let mut st = shared.lock();
        match st.flows.interactions.get(ctx_id).map(|i| (i.kind.clone(), i.stage.clone())) {
            None => expired_session(),
            Some((kind, Stage::AdminApproval { error })) => {
                st.flows.interactions.remove(ctx_id);
                Reply::now(end_with_error(&shared, &mut st, &kind, &error))
            }
            Some((Kind::AdminConsent(_), Stage::Consent { .. })) => {
                decide_admin_consent(&shared, &mut st, ctx_id, decision)
            }
            Some((_, Stage::Consent { .. })) => decide_user_consent(&shared, &mut st, ctx_id, decision, org_wide),
            Some((_, Stage::PickAccount)) => expired_session(),
        }
    };
    reply.send().await
}

pub(super) fn decide_user_consent(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    decision: ConsentDecision,
    org_wide: bool,
) -> Reply {
    let Some(interaction) = st.flows.interactions.remove(ctx_id) else {
        return expired_session();
    };
    let Stage::Consent { upn, tenant_id } = &interaction.stage else {
        return expired_session();
    };
    let (upn, tenant_id) = (upn.clone(), tenant_id.clone());
    let (Some(account), Some(app)) = (st.dir.account(&upn), st.dir.app(&interaction.client_id).cloned()) else {
        return expired_session();
    };
    finish_user_consent(shared, st, &interaction, &app, &account, &tenant_id, decision, org_wide)
}

#[expect(clippy::too_many_arguments, reason = "one call site; the values are the flow's context")]
pub(super) fn finish_user_consent(
    shared: &Shared,
    st: &mut SimState,
    interaction: &Interaction,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    decision: ConsentDecision,
    org_wide: bool,
) -> Reply {
    if decision == ConsentDecision::Decline {
        // A declined device sign-in is reported to the polling app as `authorization_declined`.
        if let Kind::Device { device_code } = &interaction.kind {
            if let Some(grant) = st.flows.device.get_mut(device_code) {
                grant.status = DeviceStatus::Declined;
            }
            return Reply::now(html_page(html::message(
                "Sign-in declined",
                &format!("You declined to sign in to {} on your device. You may close this window.", app.display_name),
            )));
        }
        let ctx = app_ctx(tenant_ctx(&st.dir, tenant_id), app);
        return Reply::now(end_with_error(shared, st, &interaction.kind, &AadError::new(65004, &ctx)));
    }
    let scopes = match &interaction.kind {
        Kind::Authorize(r) => r.scopes.clone(),
        Kind::Device { device_code } => st.flows.device.get(device_code).map(|d| d.scopes.clone()).unwrap_or_default(),
        Kind::AdminConsent(_) => Vec::new(),
    };
    let wanted = requested_delegated(app, &scopes);
    let principal =
        (!(org_wide && account.consent_power() != ConsentPower::None)).then_some(account.object_id.as_str());
    st.dir.grant_delegated(tenant_id, &app.client_id, principal, &wanted);
    Reply::now(complete(st, &interaction.kind, app, account, tenant_id))
}

pub(super) fn decide_admin_consent(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    decision: ConsentDecision,
) -> Reply {
    let Some(interaction) = st.flows.interactions.remove(ctx_id) else {
        return expired_session();
    };
    let Kind::AdminConsent(req) = &interaction.kind else {
        return expired_session();
    };
    let Stage::Consent { tenant_id, .. } = &interaction.stage else {
        return expired_session();
    };
    let tenant_id = tenant_id.clone();
    let mut params = Vec::new();
    if decision == ConsentDecision::Decline {
        if req.v1 {
            params.push(("error".to_owned(), "access_denied".to_owned()));
            params.push(("error_subcode".to_owned(), "cancel".to_owned()));
            if let Some(s) = &req.state {
                params.push(("state".to_owned(), s.clone()));
            }
            return Reply::now(redirect_to(&with_params(&req.redirect_uri, &params, false)));
        }
        let ctx = tenant_ctx(&st.dir, &tenant_id);
        return Reply::now(fail(shared, &interaction.kind, &AadError::new(65004, &ctx)));
    }
    // The wizard's look at the page before the browser, and the browser itself, load the same page (same
    // `state`): one consent, which withholds the same permissions both times.
    let state_key = req.state.clone().unwrap_or_else(|| ctx_id.to_owned());
    let ordinal = st.dir.consent_ordinal(&state_key);
    let spec = &st.dir.scenario.consent;
    let withhold = spec.withheld_consents == 0 || ordinal < spec.withheld_consents;
    let landing = crate::sim::directory::ConsentLanding {
        sp_delay: Duration::from_secs_f64(spec.replication_delay_secs),
        roles_delay: Duration::from_secs_f64(spec.roles_replication_delay_secs),
        withheld: if withhold { spec.withheld.clone() } else { Vec::new() },
    };
    st.dir.grant_admin_consent(&tenant_id, &interaction.client_id, &landing);
    params.push(("admin_consent".to_owned(), "True".to_owned()));
    params.push(("tenant".to_owned(), tenant_id));
    if !req.v1 {
        params.push(("scope".to_owned(), req.scope.clone().unwrap_or_default()));
    }
    if let Some(s) = &req.state {
        params.push(("state".to_owned(), s.clone()));
    }
    Reply::now(redirect_to(&with_params(&req.redirect_uri, &params, false)))
}

/// Success: a code for authorize, an approved grant for the device flow.
pub(super) fn complete(st: &mut SimState, kind: &Kind, app: &AppSpec, account: &Account, tenant_id: &str) -> Response {
    match kind {
        Kind::Authorize(req) => {
            let code = format!("1.{}", clock::opaque::<48>());
            st.flows.codes.insert(
                code.clone(),
                IssuedCode {
                    client_id: app.client_id.clone(),
                    redirect_uri: req.redirect_uri.clone(),
                    tenant_id: tenant_id.to_owned(),
                    upn: account.spec.upn.clone(),
                    scopes: req.scopes.clone(),
                    code_challenge: req.code_challenge.clone(),
                    code_challenge_method: req.code_challenge_method.clone(),
                    nonce: req.nonce.clone(),
                    issued: st.dir.clock.instant(),
                    redeemed: false,
                },
            );
            let mut params = vec![("code".to_owned(), code)];
            if req.client_info {
                params.push(("client_info".to_owned(), client_info(account)));
            }
            if let Some(s) = &req.state {
                params.push(("state".to_owned(), s.clone()));
            }
            params.push(("session_state".to_owned(), clock::new_guid()));
            deliver(req.response_mode, &req.redirect_uri, &params)
        }
        Kind::Device { device_code } => {
            if let Some(grant) = st.flows.device.get_mut(device_code) {
                grant.status =
                    DeviceStatus::Approved { upn: account.spec.upn.clone(), tenant_id: tenant_id.to_owned() };
            }
            html_page(html::message(
                &app.display_name,
                &format!(
                    "You have signed in to the {} application on your device. You may now close this window.",
                    app.display_name
                ),
            ))
        }
        // Admin consent ends in `decide_admin_consent`, never here.
        Kind::AdminConsent(_) => expired_session().response,
    }
}

pub(super) fn client_info(account: &Account) -> String {
    URL_SAFE_NO_PAD.encode(json!({ "uid": account.object_id, "utid": account.home_tenant_id }).to_string())
}
