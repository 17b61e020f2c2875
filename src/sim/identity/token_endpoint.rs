//! The token endpoint: authorization code + PKCE, refresh with rotation, device code in both spellings, client
//! credentials; the tokens it issues and their scopes.

// A room of identity/: its types, helpers and the other rooms' handlers are the parent's.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Token endpoint

pub(super) async fn token_wrong_method(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let err = AadError::new(900561, &Ctx::default().with("method", "POST").with("received", "GET"));
    json_error(&shared, &err, &headers)
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::parse(&body);
    let reply = {
        let mut st = shared.lock();
        token_reply(&shared, &mut st, &tenant, &form, &headers)
    };
    reply.send().await
}

/// Microsoft's grant-type spellings reduced to one name (fault filters use it).
pub(super) fn grant_name(grant_type: &str) -> &str {
    match grant_type {
        "urn:ietf:params:oauth:grant-type:device_code" | "device_code" => "device_code",
        other => other,
    }
}

/// Client credentials from the form (`client_secret_post`) or HTTP Basic (`client_secret_basic`).
pub(super) fn client_credentials(form: &Params, headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':').map(|(id, secret)| {
                let decode = |x: &str| {
                    url::form_urlencoded::parse(format!("v={x}").as_bytes()).next().map(|(_, v)| v.into_owned())
                };
                (decode(id), decode(secret))
            })
        });
    match basic {
        Some((id, secret)) => (id.or_else(|| form.get("client_id").map(str::to_owned)), secret),
        None => (form.get("client_id").map(str::to_owned), form.get("client_secret").map(str::to_owned)),
    }
}

pub(super) fn token_reply(
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
    let Some(grant_type) = form.get("grant_type").map(grant_name) else {
        return Reply::now(json_error(shared, &AadError::new(900144, &ctx.with("parameter", "grant_type")), headers));
    };
    let (client_id, secret) = client_credentials(form, headers);
    let Some(client_id) = client_id else {
        return Reply::now(json_error(shared, &AadError::new(900144, &ctx.with("parameter", "client_id")), headers));
    };
    let Some(app) = st.dir.app(&client_id).cloned() else {
        return Reply::now(json_error(shared, &AadError::new(700016, &ctx.with("client_id", client_id)), headers));
    };
    let ctx = app_ctx(ctx, &app);
    let secret_ok = secret.as_deref() == Some(st.dir.consent_client_secret.as_str()) && !app.public_client;
    let auth_problem = match (app.public_client, secret.is_some(), grant_type) {
        (_, false, "client_credentials") => Some(7000218),
        (true, true, _) => Some(700025),
        (false, false, _) => Some(7000218),
        (false, true, _) if !secret_ok => Some(7000215),
        _ => None,
    };
    if let Some(code) = auth_problem {
        return Reply::now(json_error(shared, &AadError::new(code, &ctx), headers));
    }
    let outcome = match grant_type {
        "authorization_code" => redeem_code(shared, st, form, &app, &ctx),
        "refresh_token" => redeem_refresh(shared, st, form, &app, &tenant_path, &ctx),
        "device_code" => redeem_device(shared, st, form, &app, &ctx),
        "client_credentials" => client_credentials_grant(shared, st, form, &app, &tenant_path, &ctx),
        other => Err((AadError::new(70003, &ctx.clone().with("grant_type", other)), None)),
    };
    // Faults are checked once the account is known, so account filters work.
    let account_upn = match &outcome {
        Ok(t) => t.account.clone(),
        Err((_, upn)) => upn.clone(),
    };
    let hit = st.take_fault(FaultProbe {
        endpoint: "token",
        grant_type: Some(grant_type),
        client_id: Some(&app.client_id),
        account: account_upn.as_deref(),
        ..FaultProbe::default()
    });
    let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
    if let Some(hit) = hit.filter(FaultHit::fails) {
        if let Ok(issued) = &outcome {
            issued.undo(shared, st);
        }
        return Reply { response: json_error(shared, &fault_error(&hit, &ctx), headers), delay };
    }
    let response = match outcome {
        Ok(issued) => with_token_headers(axum::Json(issued.body).into_response(), &clock::new_guid()),
        Err((err, _)) => json_error(shared, &err, headers),
    };
    Reply { response, delay }
}

/// A successful token answer and how to take it back if a fault fires after all.
pub(super) struct Issued {
    body: Value,
    account: Option<String>,
    /// The code redeemed, to un-redeem when a fault replaces the answer.
    code: Option<String>,
    /// The device grant approved, to restore when a fault replaces the answer.
    device: Option<(String, DeviceStatus)>,
    /// The refresh token issued, to forget when a fault replaces the answer.
    refresh_token: Option<String>,
}

impl Issued {
    fn undo(&self, shared: &Shared, st: &mut SimState) {
        if let Some(code) = &self.code
            && let Some(c) = st.flows.codes.get_mut(code)
        {
            c.redeemed = false;
        }
        if let Some((device_code, status)) = &self.device
            && let Some(d) = st.flows.device.get_mut(device_code)
        {
            d.status = status.clone();
        }
        if let Some(rt) = &self.refresh_token {
            shared.refresh_tokens.lock().remove(rt);
        }
    }
}

pub(super) type Grant = Result<Issued, (AadError, Option<String>)>;

/// The resource and permissions of a token request's `scope`.
pub(super) struct TokenScopes {
    resource: &'static Resource,
    /// Named delegated permissions; empty with `default`.
    named: BTreeSet<String>,
    default: bool,
    /// Each named permission as the request spelled it (Microsoft echoes that form in the answer's `scope`,
    /// and MSAL caches the token under it).
    spelled: BTreeMap<String, String>,
    /// The `.default` value as the request spelled it.
    default_spelled: Option<String>,
    openid: bool,
    offline: bool,
    oidc: BTreeSet<String>,
}

pub(super) fn token_scopes(scopes: &[String], ctx: &Ctx) -> Result<TokenScopes, AadError> {
    let mut resource: Option<&'static Resource> = None;
    let mut out = TokenScopes {
        resource: &GRAPH,
        named: BTreeSet::new(),
        default: false,
        spelled: BTreeMap::new(),
        default_spelled: None,
        openid: false,
        offline: false,
        oidc: BTreeSet::new(),
    };
    let mut set_resource = |key: &'static str| -> Result<&'static Resource, AadError> {
        let r = resources::by_key(key).unwrap_or(&GRAPH);
        match resource {
            Some(existing) if existing.key != r.key => {
                Err(AadError::new(28000, &ctx.clone().with("scope", scopes.join(" "))))
            }
            _ => {
                resource = Some(r);
                Ok(r)
            }
        }
    };
    for raw in scopes {
        match parse_scope(raw) {
            ScopeItem::Oidc(name) => {
                out.openid |= name == "openid";
                out.offline |= name == "offline_access";
                out.oidc.insert(name);
            }
            ScopeItem::Default { resource } => {
                out.resource = set_resource(resource)?;
                out.default = true;
                out.default_spelled = Some(raw.clone());
            }
            ScopeItem::Named { resource, name } => {
                out.resource = set_resource(resource)?;
                out.spelled.insert(name.clone(), raw.clone());
                out.named.insert(name);
            }
            ScopeItem::UnknownResource { resource } => {
                return Err(AadError::new(500011, &ctx.clone().with("resource", resource)));
            }
            ScopeItem::UnknownPermission { name, .. } => {
                return Err(AadError::new(
                    70011,
                    &ctx.clone().with("detail", format!("The scope '{name}' does not exist.")),
                ));
            }
        }
    }
    if out.default && !out.named.is_empty() {
        return Err(AadError::new(
            70011,
            &ctx.clone().with("detail", "Scope '.default' cannot be combined with other scopes of the same resource."),
        ));
    }
    Ok(out)
}

impl TokenScopes {
    /// The answer's `scope`: the permissions the token carries, in the form the request used. A name asked for
    /// bare stays bare; one asked for with its resource (`https://graph.microsoft.com/user.read`) comes back in
    /// exactly that spelling; a `.default` request lists what it granted under the request's resource prefix and
    /// then the `.default` value itself (as Azure CLI's and MSAL's recorded answers show). Without this, MSAL,
    /// which caches a token under the scopes the answer names, never finds it again.
    pub(super) fn echo(&self, granted: &BTreeSet<String>) -> String {
        let default_prefix = self.default_spelled.as_deref().and_then(|d| d.strip_suffix(".default"));
        let mut out: Vec<String> = granted
            .iter()
            .map(|s| {
                if self.oidc.contains(s) || resources::OIDC_SCOPES.contains(&s.as_str()) {
                    return s.clone();
                }
                match (self.spelled.get(s), default_prefix) {
                    (Some(spelled), _) => spelled.clone(),
                    (None, Some(prefix)) => format!("{prefix}{s}"),
                    (None, None) => format!("{}{s}", self.resource.scope_prefix()),
                }
            })
            .collect();
        out.extend(self.default_spelled.clone());
        if self.offline {
            out.push("offline_access".to_owned());
        }
        out.join(" ")
    }
}

/// The scopes a token gets: what was asked and is granted to the app for this user (`.default`: everything
/// granted), or AADSTS65001 `consent_required`.
fn granted_scopes(
    st: &SimState,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    ts: &TokenScopes,
    ctx: &Ctx,
) -> Result<BTreeSet<String>, AadError> {
    let granted = st.dir.delegated_scopes(tenant_id, &app.client_id, ts.resource, &account.object_id);
    let consent_required = || {
        AadError::new(
            65001,
            &ctx.clone().with("client_id", app.client_id.clone()).with("app_name", app.display_name.clone()),
        )
        .with_suberror(Some("consent_required"))
    };
    if ts.default {
        let all: BTreeSet<String> = granted.iter().filter(|s| *s != "offline_access").cloned().collect();
        if all.is_empty() {
            return Err(consent_required());
        }
        Ok(all)
    } else {
        if ts.named.iter().any(|n| !granted.iter().any(|g| g.eq_ignore_ascii_case(n))) {
            return Err(consent_required());
        }
        let mut s = ts.named.clone();
        if ts.resource.key == GRAPH.key {
            s.extend(ts.oidc.iter().filter(|o| *o != "offline_access" && granted.contains(*o)).cloned());
        }
        Ok(s)
    }
}

/// Builds the token answer for a user, after checking consent for the requested scopes.
#[expect(clippy::too_many_arguments, reason = "the values are one token request's context")]
pub(super) fn user_tokens(
    shared: &Shared,
    st: &mut SimState,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    scopes: &[String],
    nonce: Option<&str>,
    want_client_info: bool,
    ctx: &Ctx,
) -> Result<(Value, Option<String>), AadError> {
    let ts = token_scopes(scopes, ctx)?;
    let scp = granted_scopes(st, app, account, tenant_id, &ts, ctx)?;
    let now = shared.clock.unix();
    let issuer = format!("{}{tenant_id}/v2.0", shared.login_base);
    let sub = clock::stable_guid("sub", &format!("{}/{}", account.object_id, app.client_id));
    let scp_text = scp.iter().cloned().collect::<Vec<_>>().join(" ");
    let mut access = json!({
        "aud": ts.resource.audience,
        "iss": issuer,
        "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_SECS,
        "tid": tenant_id,
        "oid": account.object_id,
        "sub": sub,
        "preferred_username": account.spec.upn,
        "upn": account.spec.upn,
        "name": account.spec.display_name,
        "scp": scp_text,
        "azp": app.client_id,
        "appid": app.client_id,
        "wids": account.role_template_ids(),
        "uti": clock::opaque::<16>(),
        "ver": "2.0",
    });
    // An account of another directory (a partner's agent by GDAP, a guest): `idp` names its home tenant's
    // issuer, in access and ID tokens alike (the ID token claims reference: `idp` equals `iss` otherwise, and is
    // then left out).
    let idp =
        (account.home_tenant_id != tenant_id).then(|| format!("https://sts.windows.net/{}/", account.home_tenant_id));
    if let Some(idp) = &idp {
        access["idp"] = json!(idp);
    }
    let access = shared.signer.sign(&access);
    let scope_out = ts.echo(&scp);
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope_out,
        "expires_in": ACCESS_TOKEN_SECS,
        "ext_expires_in": ACCESS_TOKEN_SECS,
        "access_token": access,
    });
    if ts.openid {
        let id = IdClaims {
            issuer: &issuer,
            sub: &sub,
            tenant_id,
            now,
            nonce,
            email: ts.oidc.contains("email"),
            idp: idp.as_deref(),
        };
        body["id_token"] = json!(shared.signer.sign(&id_token(app, account, &id)));
    }
    let mut refresh = None;
    if ts.offline {
        let rt = format!("1.{}", clock::opaque::<64>());
        shared.refresh_tokens.lock().insert(
            rt.clone(),
            RefreshGrant {
                client_id: app.client_id.clone(),
                tenant_id: tenant_id.to_owned(),
                upn: account.spec.upn.clone(),
                scopes: scopes.to_vec(),
                issued_unix: now,
            },
        );
        body["refresh_token"] = json!(rt);
        refresh = Some(rt);
    }
    if want_client_info {
        body["client_info"] = json!(client_info(account));
    }
    Ok((body, refresh))
}

/// What an ID token says beyond the account and the app.
struct IdClaims<'a> {
    issuer: &'a str,
    sub: &'a str,
    tenant_id: &'a str,
    now: u64,
    nonce: Option<&'a str>,
    email: bool,
    /// The home tenant's issuer of an account of another directory.
    idp: Option<&'a str>,
}

/// The ID token's claims (v2.0), before signing.
fn id_token(app: &AppSpec, account: &Account, c: &IdClaims<'_>) -> Value {
    let mut id = json!({
        "aud": app.client_id,
        "iss": c.issuer,
        "iat": c.now, "nbf": c.now, "exp": c.now + ACCESS_TOKEN_SECS,
        "name": account.spec.display_name,
        "oid": account.object_id,
        "preferred_username": account.spec.upn,
        "sub": c.sub,
        "tid": c.tenant_id,
        "ver": "2.0",
    });
    if let Some(n) = c.nonce {
        id["nonce"] = json!(n);
    }
    if let Some(idp) = c.idp {
        id["idp"] = json!(idp);
    }
    if c.email {
        id["email"] = json!(account.spec.mail.clone().unwrap_or_else(|| account.spec.upn.clone()));
    }
    id
}

pub(super) fn redeem_code(shared: &Shared, st: &mut SimState, form: &Params, app: &AppSpec, ctx: &Ctx) -> Grant {
    let Some(code) = form.get("code") else {
        return Err((AadError::new(900144, &ctx.clone().with("parameter", "code")), None));
    };
    let Some(issued) = st.flows.codes.get(code).cloned() else {
        return Err((AadError::new(9002313, ctx), None));
    };
    let upn = Some(issued.upn.clone());
    let err = |code: u32, c: &Ctx| Err((AadError::new(code, c), upn.clone()));
    if !issued.client_id.eq_ignore_ascii_case(&app.client_id) {
        return err(70000, ctx);
    }
    if issued.redeemed {
        return err(54005, ctx);
    }
    if shared.clock.instant().duration_since(issued.issued) > CODE_LIFETIME {
        return err(70008, ctx);
    }
    match form.get("redirect_uri") {
        None => return err(900144, &ctx.clone().with("parameter", "redirect_uri")),
        Some(r) if r != issued.redirect_uri => {
            return err(500112, &ctx.clone().with("redirect_uri", r).with("expected", issued.redirect_uri.clone()));
        }
        Some(_) => {}
    }
    if let Some(challenge) = &issued.code_challenge {
        let Some(verifier) = form.get("code_verifier") else {
            return err(900144, &ctx.clone().with("parameter", "code_verifier"));
        };
        let computed = if issued.code_challenge_method == "S256" {
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
        } else {
            verifier.to_owned()
        };
        if &computed != challenge {
            return err(501481, ctx);
        }
    }
    let Some(account) = st.dir.account(&issued.upn) else {
        return err(50034, ctx);
    };
    let scopes =
        form.get("scope").map_or_else(|| issued.scopes.clone(), |s| s.split_whitespace().map(str::to_owned).collect());
    let scopes = first_resource_only(scopes, &issued.scopes);
    let client_info = form.get("client_info") == Some("1");
    let ctx = ctx.clone().with("upn", issued.upn.clone());
    match user_tokens(shared, st, app, &account, &issued.tenant_id, &scopes, issued.nonce.as_deref(), client_info, &ctx)
    {
        Ok((body, refresh_token)) => {
            if let Some(c) = st.flows.codes.get_mut(code) {
                c.redeemed = true;
            }
            Ok(Issued { body, account: upn, code: Some(code.to_owned()), device: None, refresh_token })
        }
        Err(e) => Err((e, upn)),
    }
}

/// When a code redemption names no `scope`, Microsoft issues the token for the first resource of the
/// authorize request (plus the OIDC scopes).
pub(super) fn first_resource_only(token_scopes: Vec<String>, authorize_scopes: &[String]) -> Vec<String> {
    if token_scopes.as_slice() != authorize_scopes {
        return token_scopes;
    }
    let first = authorize_scopes.iter().find_map(|s| match parse_scope(s) {
        ScopeItem::Named { resource, .. } | ScopeItem::Default { resource } => Some(resource),
        _ => None,
    });
    token_scopes
        .into_iter()
        .filter(|s| match parse_scope(s) {
            ScopeItem::Named { resource, .. } | ScopeItem::Default { resource } => Some(resource) == first,
            _ => true,
        })
        .collect()
}

/// A refresh token redeemed at the tenant the path names (its own when the path names none): at another tenant
/// only where its account may sign in (a partner's agent at a customer's, by GDAP).
pub(super) fn redeem_refresh(
    shared: &Shared,
    st: &mut SimState,
    form: &Params,
    app: &AppSpec,
    tenant_path: &TenantPath,
    ctx: &Ctx,
) -> Grant {
    let Some(rt) = form.get("refresh_token") else {
        return Err((AadError::new(900144, &ctx.clone().with("parameter", "refresh_token")), None));
    };
    let Some(grant) = shared.refresh_tokens.lock().get(rt).cloned() else {
        return Err((AadError::new(9002313, ctx), None));
    };
    let upn = Some(grant.upn.clone());
    if !grant.client_id.eq_ignore_ascii_case(&app.client_id) {
        return Err((AadError::new(70000, ctx), upn));
    }
    let Some(account) = st.dir.account(&grant.upn) else {
        return Err((AadError::new(50034, ctx), upn));
    };
    let scopes: Vec<String> =
        form.get("scope").map_or_else(|| grant.scopes.clone(), |s| s.split_whitespace().map(str::to_owned).collect());
    let ctx = ctx.clone().with("upn", grant.upn.clone()).with("issued", clock::aad_timestamp(grant.issued_unix));
    let tenant_id = st.dir.path_tenant_id(tenant_path).unwrap_or_else(|| grant.tenant_id.clone());
    if tenant_id != grant.tenant_id
        && let Err(code) = may_sign_in(st, &account, &tenant_id, &app.client_id)
    {
        return Err((AadError::new(code, &ctx.with("tenant_id", tenant_id)), upn));
    }
    let client_info = form.get("client_info") == Some("1");
    match user_tokens(shared, st, app, &account, &tenant_id, &scopes, None, client_info, &ctx) {
        Ok((body, refresh_token)) => Ok(Issued { body, account: upn, code: None, device: None, refresh_token }),
        Err(e) => Err((e, upn)),
    }
}

pub(super) fn redeem_device(shared: &Shared, st: &mut SimState, form: &Params, app: &AppSpec, ctx: &Ctx) -> Grant {
    let Some(device_code) = form.get("device_code").or_else(|| form.get("code")).map(str::to_owned) else {
        return Err((AadError::new(900144, &ctx.clone().with("parameter", "device_code")), None));
    };
    let now = shared.clock.instant();
    let Some(grant) = st.flows.device.get(&device_code).cloned() else {
        return Err((AadError::new(70018, ctx), None));
    };
    if !grant.client_id.eq_ignore_ascii_case(&app.client_id) {
        return Err((AadError::new(70018, ctx), None));
    }
    if now >= grant.expires {
        return Err((AadError::new(70019, ctx), None));
    }
    let polled_too_fast = grant.last_poll.is_some_and(|last| now.duration_since(last) < grant.interval / 2);
    if let Some(g) = st.flows.device.get_mut(&device_code) {
        g.last_poll = Some(now);
    }
    let status = match (&grant.status, shared.auto_login()) {
        (DeviceStatus::Pending, Some(upn)) => auto_approve_device(shared, st, &device_code, &grant, &upn),
        (status, _) => status.clone(),
    };
    match status {
        DeviceStatus::Pending if polled_too_fast => {
            Err((AadError::new(70016, ctx).with_error(Some("slow_down")), None))
        }
        DeviceStatus::Pending => Err((AadError::new(70016, ctx), None)),
        DeviceStatus::Declined => Err((AadError::new(70020, ctx), None)),
        DeviceStatus::Redeemed => Err((AadError::new(70018, ctx), None)),
        DeviceStatus::Failed(err) => {
            if let Some(g) = st.flows.device.get_mut(&device_code) {
                g.status = DeviceStatus::Redeemed;
            }
            Err((err, None))
        }
        DeviceStatus::Approved { upn, tenant_id } => {
            let Some(account) = st.dir.account(&upn) else {
                return Err((AadError::new(50034, ctx), Some(upn)));
            };
            let ctx = ctx.clone().with("upn", upn.clone());
            let client_info = form.get("client_info") == Some("1");
            let previous = st.flows.device.get(&device_code).map(|d| d.status.clone());
            match user_tokens(shared, st, app, &account, &tenant_id, &grant.scopes, None, client_info, &ctx) {
                Ok((body, refresh_token)) => {
                    if let Some(g) = st.flows.device.get_mut(&device_code) {
                        g.status = DeviceStatus::Redeemed;
                    }
                    Ok(Issued {
                        body,
                        account: Some(upn),
                        code: None,
                        device: previous.map(|p| (device_code.clone(), p)),
                        refresh_token,
                    })
                }
                Err(e) => Err((e, Some(upn))),
            }
        }
    }
}

/// Auto mode: the device code is approved as `upn` the first time it is polled, with the same checks and
/// consent rules as the device login pages.
pub(super) fn auto_approve_device(
    shared: &Shared,
    st: &mut SimState,
    device_code: &str,
    grant: &DeviceGrant,
    upn: &str,
) -> DeviceStatus {
    let ctx_id = clock::opaque::<18>();
    st.flows.interactions.insert(
        ctx_id.clone(),
        Interaction {
            kind: Kind::Device { device_code: device_code.to_owned() },
            tenant_segment: "organizations".to_owned(),
            tenant_path: grant.tenant_path.clone(),
            client_id: grant.client_id.clone(),
            stage: Stage::PickAccount,
        },
    );
    let _page = with_account(shared, st, &ctx_id, upn, true);
    st.flows.interactions.remove(&ctx_id);
    st.flows.device.get(device_code).map_or(DeviceStatus::Redeemed, |g| g.status.clone())
}

pub(super) fn client_credentials_grant(
    shared: &Shared,
    st: &mut SimState,
    form: &Params,
    app: &AppSpec,
    tenant_path: &TenantPath,
    ctx: &Ctx,
) -> Grant {
    let Some(tenant_id) = st.dir.path_tenant_id(tenant_path) else {
        return Err((AadError::new(50059, ctx), None));
    };
    let scopes = form.scopes();
    let [scope] = scopes.as_slice() else {
        return Err((
            AadError::new(
                if scopes.is_empty() { 900144 } else { 1002012 },
                &ctx.clone().with("parameter", "scope").with("scope", scopes.join(" ")),
            ),
            None,
        ));
    };
    let resource = match parse_scope(scope) {
        ScopeItem::Default { resource } => resources::by_key(resource).unwrap_or(&GRAPH),
        ScopeItem::UnknownResource { resource } => {
            return Err((AadError::new(500011, &ctx.clone().with("resource", resource)), None));
        }
        _ => return Err((AadError::new(1002012, &ctx.clone().with("scope", scope.clone())), None)),
    };
    let now_instant = shared.clock.instant();
    let ctx = ctx.clone().with("tenant_name", st.dir.tenant_name(&tenant_id)).with("client_id", app.client_id.clone());
    if !st.dir.sp_visible(&tenant_id, &app.client_id, now_instant) {
        return Err((AadError::new(700016, &ctx), None));
    }
    if st.dir.app_disabled_in(&tenant_id, &app.client_id) {
        return Err((AadError::new(7000112, &ctx), None));
    }
    let roles = st.dir.app_roles(&tenant_id, &app.client_id, resource, now_instant);
    let sp_id = st.dir.service_principal(&tenant_id, &app.client_id).map(|s| s.object_id.clone()).unwrap_or_default();
    let now = shared.clock.unix();
    let mut claims = json!({
        "aud": resource.audience,
        "iss": format!("{}{tenant_id}/v2.0", shared.login_base),
        "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_SECS,
        "tid": tenant_id,
        "oid": sp_id,
        "sub": sp_id,
        "azp": app.client_id,
        "appid": app.client_id,
        "idtyp": "app",
        "uti": clock::opaque::<16>(),
        "ver": "2.0",
    });
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
    }
    let body = json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECS,
        "ext_expires_in": ACCESS_TOKEN_SECS,
        "access_token": shared.signer.sign(&claims),
    });
    Ok(Issued { body, account: None, code: None, device: None, refresh_token: None })
}
