//! Sign-in, device code and admin consent: the browser or a code, the loopback listener, the token exchange, the
//! account read from Graph, the consent page with its pre-flight. Carries out the wizard's sign-in and consent
//! effects; decides nothing.

use super::*;

impl Services {
    pub(super) fn authorize_endpoint(&self, endpoints: &Endpoints) -> String {
        match &self.env.browser_origin {
            Some((api, browser)) => match endpoints.authorization.strip_prefix(api.as_str()) {
                Some(rest) => format!("{browser}{rest}"),
                None => endpoints.authorization.clone(),
            },
            None => endpoints.authorization.clone(),
        }
    }

    pub(super) fn launch(&self, url: &str) -> BrowserLaunch {
        match self.opener.open(url) {
            Ok(()) => BrowserLaunch::Opened,
            Err(detail) => BrowserLaunch::NotOpened { detail },
        }
    }

    pub(super) async fn browser_sign_in(
        self: Arc<Self>,
        attempt: Attempt,
        set: ScopeSet,
        prompt: Prompt,
        login_hint: Option<String>,
        sender: &mpsc::Sender<Report>,
        waker: &dyn Waker,
    ) {
        let send = |outcome: Outcome| async move {
            if sender.send(Report::Wizard(outcome)).await.is_ok() {
                waker.wake();
            }
        };
        let finished = |result: Result<Option<Account>, Failure>| match set {
            ScopeSet::SignIn | ScopeSet::SignInWithSteps | ScopeSet::Partner => Outcome::SignInFinished {
                attempt,
                result: result
                    .and_then(|a| a.ok_or_else(|| Failure::Parse { what: "account".into(), excerpt: String::new() })),
            },
            ScopeSet::TenantRead | ScopeSet::TeamsSetup | ScopeSet::TeamsAdmin => {
                Outcome::AccessApproved { attempt, result: result.map(|_| ()) }
            }
        };
        let endpoints = match self.endpoints().await {
            Ok(e) => e,
            Err(f) => return send(finished(Err(f))).await,
        };
        let request = SignInRequest {
            client_id: self.env.signin_client_id.clone(),
            scopes: self.asked_scopes(set),
            extra_consent: self.extra_consent(set),
            prompt: match prompt {
                Prompt::SelectAccount => self.env.sign_in_prompt.clone(),
                Prompt::Consent => Some("consent".to_owned()),
            },
            login_hint,
            redirect_host: self.env.redirect_host.clone(),
            product: self.env.product.clone(),
        };
        let pending =
            match signin::start_browser_sign_in(&endpoints, &self.authorize_endpoint(&endpoints), &request).await {
                Ok(p) => p,
                Err(f) => return send(finished(Err(f))).await,
            };
        let launch = self.launch(&pending.authorize_url);
        send(Outcome::BrowserSignInReady { attempt, authorize_url: pending.authorize_url.clone(), launch }).await;
        let tokens = match pending.finish(&self.http_auth).await {
            Ok(t) => t,
            Err(f) => return send(finished(Err(f))).await,
        };
        self.keep(set, &tokens).await;
        let result = match set {
            ScopeSet::SignIn | ScopeSet::SignInWithSteps | ScopeSet::Partner => {
                self.read_account(&tokens).await.map(Some)
            }
            ScopeSet::TenantRead | ScopeSet::TeamsSetup | ScopeSet::TeamsAdmin => Ok(None),
        };
        send(finished(result)).await;
    }

    pub(super) async fn begin_device_code(&self, attempt: Attempt, set: ScopeSet) -> Result<DeviceCodeView, Failure> {
        let endpoints = self.endpoints().await?;
        let code = signin::request_device_code(
            &self.http_auth,
            &endpoints,
            &self.env.signin_client_id,
            &self.asked_scopes(set),
        )
        .await?;
        let view = DeviceCodeView {
            user_code: code.user_code.clone(),
            verification_uri: code.verification_uri.clone(),
            message: code.message.clone(),
            expires_in: code.expires_in,
            interval: code.interval,
        };
        self.device_codes.lock().unwrap_or_else(PoisonError::into_inner).insert(attempt, (set, code));
        Ok(view)
    }

    /// Polls the attempt's code once. A sign-in's end is [`Outcome::DevicePolled`] with the account; an
    /// approval's (the setup tool's access for a step) is [`Outcome::AccessApproved`], as from the browser.
    pub(super) async fn poll_device_code(&self, attempt: Attempt) -> Outcome {
        let code = self.device_codes.lock().unwrap_or_else(PoisonError::into_inner).get(&attempt).cloned();
        let Some((set, code)) = code else {
            let expired = Failure::Local(crate::wizard::LocalFailure::DeviceCodeExpired);
            return Outcome::DevicePolled { attempt, result: DevicePoll::Finished(Err(expired)) };
        };
        let approval = !matches!(set, ScopeSet::SignIn | ScopeSet::SignInWithSteps | ScopeSet::Partner);
        let finished =
            |result: Result<Option<Account>, Failure>| match (approval, result) {
                (true, result) => Outcome::AccessApproved { attempt, result: result.map(|_| ()) },
                (false, result) => Outcome::DevicePolled {
                    attempt,
                    result: DevicePoll::Finished(result.and_then(|a| {
                        a.ok_or_else(|| Failure::Parse { what: "account".into(), excerpt: String::new() })
                    })),
                },
            };
        let endpoints = match self.endpoints().await {
            Ok(e) => e,
            Err(f) => return finished(Err(f)),
        };
        match signin::poll_device_code(&self.http_auth, &endpoints, &self.env.signin_client_id, &code.device_code).await
        {
            Ok(PollAnswer::Pending) => Outcome::DevicePolled { attempt, result: DevicePoll::Pending },
            Ok(PollAnswer::SlowDown) => Outcome::DevicePolled { attempt, result: DevicePoll::SlowDown },
            Ok(PollAnswer::Tokens(tokens)) => {
                self.device_codes.lock().unwrap_or_else(PoisonError::into_inner).remove(&attempt);
                self.keep(set, &tokens).await;
                if approval { finished(Ok(None)) } else { finished(self.read_account(&tokens).await.map(Some)) }
            }
            Err(f) => {
                self.device_codes.lock().unwrap_or_else(PoisonError::into_inner).remove(&attempt);
                finished(Err(f))
            }
        }
    }

    /// Signs in without a browser: the refresh token the vault keeps (a partner's agent's, from the partner's
    /// sign-in) redeemed at this session's authority (a customer's tenant) for `set`; the tokens kept as a browser
    /// sign-in's are, and who signed in read the same way. Without a saved sign-in: `interaction_required`.
    pub(super) async fn silent_sign_in(&self, set: ScopeSet) -> Result<Account, Failure> {
        let tokens = self.redeem_saved(set).await?;
        self.cache_access_token(set, &tokens).await;
        self.read_account(&tokens).await
    }

    /// Who signed in and where: Graph when the provider has it, the id token otherwise.
    pub(super) async fn read_account(&self, tokens: &Tokens) -> Result<Account, Failure> {
        let mut claims = tokens.id_claims.clone().unwrap_or_default();
        if self.graph.is_none()
            && claims.name.is_none()
            && let Ok(endpoints) = self.endpoints().await
            && let Some(more) = signin::userinfo(&self.http_auth, &endpoints, &tokens.access_token).await
        {
            claims.merge(more);
        }
        let from_claims_roles = || {
            let names: Vec<String> =
                claims.wids.iter().filter_map(|w| crate::graph::role_name(w)).map(str::to_owned).collect();
            (!names.is_empty()).then_some(Roles::Known { names })
        };
        let Some(graph) = &self.graph else {
            return Ok(Account {
                display_name: claims.name.clone().unwrap_or_default(),
                upn: claims
                    .preferred_username
                    .clone()
                    .or(claims.email.clone())
                    .or(claims.sub.clone())
                    .unwrap_or_default(),
                object_id: claims.oid.clone().or(claims.sub.clone()).unwrap_or_default(),
                tenant_id: claims.tid.clone().unwrap_or_default(),
                tenant_name: None,
                tenant_domain: None,
                roles: from_claims_roles()
                    .unwrap_or(Roles::Unknown { why: "this identity provider has no Microsoft Graph".into() }),
                home_tenant_id: claims.home_tenant_elsewhere(),
            });
        };
        let token: &dyn crate::graph::TokenSource = &tokens.access_token;
        let (me, roles, org) =
            tokio::join!(graph.me(token), graph.my_directory_roles(token), graph.organization(token));
        let me = me?;
        let home_tenant_id = claims.home_tenant_elsewhere();
        // Graph's list, and the ID token's `wids` besides. Whether Graph lists a GDAP agent's roles in a
        // customer's tenant is not documented (docs/msp-multi-tenant.md): for an account of another organization
        // an empty list proves nothing, so its roles are unknown (which blocks nothing) rather than none.
        let roles = match (roles, from_claims_roles()) {
            (Ok(mut names), Some(Roles::Known { names: claimed })) => {
                names.extend(claimed.into_iter().filter(|c| !names.contains(c)).collect::<Vec<_>>());
                Roles::Known { names }
            }
            (Ok(names), _) if names.is_empty() && home_tenant_id.is_some() => Roles::Unknown {
                why: "Microsoft Graph lists no directory role for an account of another organization here; roles \
                      given by GDAP may not be listed"
                    .into(),
            },
            (Ok(names), _) => Roles::Known { names },
            (Err(f), claimed) => claimed.unwrap_or(Roles::Unknown { why: f.to_string() }),
        };
        let org = org.ok().flatten();
        Ok(Account {
            display_name: me.display_name.unwrap_or_default(),
            upn: me.user_principal_name.or(me.mail).unwrap_or_default(),
            object_id: me.id,
            tenant_id: org.as_ref().map(|o| o.id.clone()).filter(|t| !t.is_empty()).or(claims.tid).unwrap_or_default(),
            tenant_name: org.as_ref().and_then(|o| o.display_name.clone()),
            tenant_domain: org.and_then(|o| o.initial_domain.or(o.default_domain)),
            roles,
            home_tenant_id,
        })
    }

    pub(super) async fn admin_consent<F, Fut>(&self, attempt: Attempt, tenant_id: String, report: F)
    where
        F: Fn(Outcome) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let request = ConsentRequest {
            login_browser_base: self.env.login_browser_base.clone(),
            graph_resource: self.env.graph_resource.clone(),
            tenant_id,
            client_id: self.env.consent_client_id.clone(),
            endpoint: self.env.consent_endpoint,
            redirect: self.env.consent_redirect.clone(),
            product: self.env.product.clone(),
        };
        let pending = match signin::start_admin_consent(&request).await {
            Ok(p) => p,
            Err(f) => return report(Outcome::ConsentRedirect { attempt, result: Err(f) }).await,
        };
        if let Err(f) = signin::preflight(&self.http_auth, &pending.url).await {
            return report(Outcome::ConsentRedirect { attempt, result: Err(f) }).await;
        }
        let launch = self.launch(&pending.url);
        report(Outcome::ConsentPageReady { attempt, url: pending.url.clone(), launch }).await;
        if pending.catches_redirect() {
            let result = pending.finish().await;
            report(Outcome::ConsentRedirect { attempt, result }).await;
        }
    }
}
