//! Access tokens: the cache by (authority, scopes), refreshed with the vault's refresh token, one refresh at a
//! time per key however many requests want the token at once.
//!
//! When a token expires under a readiness scan (48 requests in flight) or an install for everyone (4 batches),
//! every caller finds it expired together. Without single flight each would redeem the refresh token: 48 token
//! requests where one does, each rotating the refresh token under the others. Here the first caller refreshes while
//! the rest wait for its answer, token or failure. It must not decide anything but which token to hand out.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{REFRESH_TOKEN, Services};
use crate::auth::signin::{self, Tokens};
use crate::auth::vault::Durability;
use crate::secret::Secret;
use crate::wizard::{Failure, ScopeSet};

/// What a token is cached under: the authority that issued it (the tenant) and the scopes it carries, which name
/// its resource (`https://graph.microsoft.com/Directory.Read.All`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    pub authority: String,
    /// The scopes, sorted and space separated.
    pub scopes: String,
}

impl TokenKey {
    pub fn new(authority: &str, scopes: &[String]) -> Self {
        let mut sorted: Vec<&str> = scopes.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        Self { authority: authority.to_owned(), scopes: sorted.join(" ") }
    }
}

/// Access tokens with their expiry, refreshed one at a time per key.
#[derive(Debug, Default)]
pub struct TokenCache {
    slots: Mutex<HashMap<TokenKey, Arc<Slot>>>,
}

/// One key's token. `state` is an async lock so the refresh runs while holding it: callers that arrive meanwhile
/// wait on the lock and then take the refresh's result instead of refreshing again.
#[derive(Debug, Default)]
struct Slot {
    /// How many refreshes have finished (read before waiting, to know whether one finished meanwhile).
    refreshes: AtomicU64,
    state: tokio::sync::Mutex<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    token: Option<(Secret, Instant)>,
    /// The last refresh's failure, handed to the callers that waited for it.
    failure: Option<Failure>,
}

impl TokenCache {
    /// The token for `key` while it is valid at `now()`; else the result of one `refresh` shared by every caller
    /// waiting meanwhile. A refresh that fails is not repeated for those callers: they get its failure.
    pub async fn get_or_refresh<F, Fut>(
        &self,
        key: &TokenKey,
        now: impl Fn() -> Instant,
        refresh: F,
    ) -> Result<Secret, Failure>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, Instant), Failure>>,
    {
        let slot = self.slot(key);
        let seen = slot.refreshes.load(Ordering::Acquire);
        let mut state = slot.state.lock().await;
        if let Some((token, expiry)) = &state.token
            && *expiry > now()
        {
            return Ok(token.clone());
        }
        if slot.refreshes.load(Ordering::Acquire) != seen
            && let Some(failure) = &state.failure
        {
            return Err(failure.clone());
        }
        let result = refresh().await;
        match &result {
            Ok((token, expiry)) => *state = SlotState { token: Some((token.clone(), *expiry)), failure: None },
            Err(failure) => *state = SlotState { token: None, failure: Some(failure.clone()) },
        }
        slot.refreshes.fetch_add(1, Ordering::Release);
        result.map(|(token, _)| token)
    }

    /// Keeps a token that came some other way (a sign-in, a device code).
    pub async fn put(&self, key: &TokenKey, token: Secret, expiry: Instant) {
        let slot = self.slot(key);
        *slot.state.lock().await = SlotState { token: Some((token, expiry)), failure: None };
    }

    /// Forgets the token for `key` if it is still `rejected` (Graph refused it); a newer one is kept.
    pub async fn forget(&self, key: &TokenKey, rejected: &Secret) {
        let slot = self.slot(key);
        let mut state = slot.state.lock().await;
        if state.token.as_ref().is_some_and(|(t, _)| t == rejected) {
            state.token = None;
        }
    }

    /// Forgets every token (sign-out). A refresh still under way lands in a slot no one reads any more.
    pub fn clear(&self) {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    fn slot(&self, key: &TokenKey) -> Arc<Slot> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).entry(key.clone()).or_default().clone()
    }
}

impl Services {
    /// The scopes a token for `set` is refreshed with (its key in the token cache). Both sign-ins keep their
    /// tokens as [`ScopeSet::SignIn`]'s: the refresh asks only for what the sign-in's own reads need.
    pub(super) fn scopes(&self, set: ScopeSet) -> Vec<String> {
        match set {
            ScopeSet::SignIn | ScopeSet::SignInWithSteps => self.env.sign_in_scopes.clone(),
            ScopeSet::TenantRead => self.env.tenant_read_scopes.clone(),
            ScopeSet::TeamsSetup => self.env.teams_setup_scopes.clone(),
            ScopeSet::TeamsAdmin => self.env.teams_admin_scopes.clone(),
            ScopeSet::Partner => {
                let mut all = self.env.sign_in_scopes.clone();
                all.extend(self.env.partner_scopes.iter().cloned());
                all
            }
        }
    }

    /// The scopes an interactive approval of `set` asks for (the authorize request's, or the device code's).
    pub(super) fn asked_scopes(&self, set: ScopeSet) -> Vec<String> {
        match set {
            ScopeSet::SignInWithSteps => {
                let mut all = self.env.sign_in_scopes.clone();
                for s in &self.env.up_front_scopes {
                    if !all.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                        all.push(s.clone());
                    }
                }
                all
            }
            ScopeSet::SignIn
            | ScopeSet::TenantRead
            | ScopeSet::TeamsSetup
            | ScopeSet::TeamsAdmin
            | ScopeSet::Partner => self.scopes(set),
        }
    }

    /// Scopes of another resource to ask consent for in the same approval (their tokens come by refresh).
    pub(super) fn extra_consent(&self, set: ScopeSet) -> Vec<String> {
        match set {
            ScopeSet::TeamsSetup if self.env.teams_admin_base.is_some() => self.env.teams_admin_scopes.clone(),
            ScopeSet::SignInWithSteps => self.env.sign_in_extra_consent.clone(),
            ScopeSet::SignIn
            | ScopeSet::TenantRead
            | ScopeSet::TeamsSetup
            | ScopeSet::TeamsAdmin
            | ScopeSet::Partner => Vec::new(),
        }
    }

    fn token_key(&self, set: ScopeSet) -> TokenKey {
        TokenKey::new(&self.env.discovery_url, &self.scopes(set))
    }

    /// When a token that lives `expires_in` stops being handed out: a minute early, so no request carries a token
    /// that expires on the way.
    fn expiry(&self, expires_in: Duration) -> Instant {
        self.clock.instant() + expires_in.saturating_sub(Duration::from_secs(60))
    }

    /// Keeps an access token for `set` and files the refresh token in the vault.
    pub(super) async fn keep(&self, set: ScopeSet, tokens: &Tokens) -> Option<Durability> {
        self.cache_access_token(set, tokens).await;
        self.save_refresh_token(tokens).await
    }

    /// Caches the access token of `tokens` for `set` (the refresh token is the caller's to keep).
    pub(super) async fn cache_access_token(&self, set: ScopeSet, tokens: &Tokens) {
        let expiry = self.expiry(tokens.expires_in);
        self.tokens.put(&self.token_key(set), tokens.access_token.clone(), expiry).await;
    }

    async fn save_refresh_token(&self, tokens: &Tokens) -> Option<Durability> {
        let rt = tokens.refresh_token.clone()?;
        let vault = self.vault().await;
        let durability = vault.durability();
        let result = tokio::task::spawn_blocking(move || vault.save(REFRESH_TOKEN, &rt)).await;
        if let Ok(Err(e)) = result {
            tracing::warn!("could not save the sign-in for later: {e}");
        }
        Some(durability)
    }

    /// A valid access token for `set`: the cached one, or one refresh shared by everyone asking meanwhile.
    pub(super) async fn token(&self, set: ScopeSet) -> Result<Secret, Failure> {
        let key = self.token_key(set);
        self.tokens.get_or_refresh(&key, || self.clock.instant(), || self.refresh(set)).await
    }

    async fn refresh(&self, set: ScopeSet) -> Result<(Secret, Instant), Failure> {
        let tokens = self.redeem_saved(set).await?;
        Ok((tokens.access_token.clone(), self.expiry(tokens.expires_in)))
    }

    /// The vault's refresh token redeemed at this session's authority for `set`; the rotated one kept.
    pub(super) async fn redeem_saved(&self, set: ScopeSet) -> Result<Tokens, Failure> {
        let rt = self.saved_refresh_token().await?;
        let endpoints = self.endpoints().await?;
        let tokens = self.redeem(&endpoints, &rt, set).await?;
        self.save_refresh_token(&tokens).await;
        Ok(tokens)
    }

    /// Redeems `rt` at `endpoints` for the scopes of `set`.
    async fn redeem(&self, endpoints: &signin::Endpoints, rt: &Secret, set: ScopeSet) -> Result<Tokens, Failure> {
        signin::refresh(&self.http_auth, endpoints, &self.env.signin_client_id, rt, &self.scopes(set)).await
    }

    /// The refresh token the vault keeps, or the failure that says to sign in again.
    pub(super) async fn saved_refresh_token(&self) -> Result<Secret, Failure> {
        let vault = self.vault().await;
        let rt =
            tokio::task::spawn_blocking(move || vault.load(REFRESH_TOKEN)).await.ok().and_then(Result::ok).flatten();
        rt.ok_or_else(|| {
            Failure::Identity(crate::wizard::IdentityError {
                error: "interaction_required".into(),
                description: Some("No saved sign-in: sign in again.".into()),
                source: "this computer".into(),
                ..Default::default()
            })
        })
    }

    /// Redeems `rt` at `endpoints` (a partner's customer's tenant) for the scopes of `set`. The refresh token that
    /// comes back is not kept: the vault keeps the sign-in's own, which stays valid, so checking many customers
    /// at once writes nothing.
    pub(super) async fn refresh_elsewhere(
        &self,
        endpoints: &signin::Endpoints,
        rt: &Secret,
        set: ScopeSet,
    ) -> Result<(Secret, Instant), Failure> {
        let tokens = self.redeem(endpoints, rt, set).await?;
        Ok((tokens.access_token.clone(), self.expiry(tokens.expires_in)))
    }

    /// Forgets a cached access token Graph refused.
    pub(super) async fn forget_token(&self, set: ScopeSet, rejected: &Secret) {
        self.tokens.forget(&self.token_key(set), rejected).await;
    }

    pub(super) fn scoped(&self, set: ScopeSet) -> ScopedTokens<'_> {
        ScopedTokens { services: self, set }
    }
}

/// Tokens of one scope set for Graph calls: cached, refreshed when expired or refused.
pub(super) struct ScopedTokens<'a> {
    services: &'a Services,
    set: ScopeSet,
}

impl crate::graph::TokenSource for ScopedTokens<'_> {
    fn token<'a>(&'a self, rejected: Option<&'a Secret>) -> crate::graph::TokenFuture<'a> {
        Box::pin(async move {
            if let Some(r) = rejected {
                self.services.forget_token(self.set, r).await;
            }
            self.services.token(self.set).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A moment to measure from (the session clock's; time is an input here, never read inside the cache).
    fn t0() -> Instant {
        crate::clock::Clock::start().instant()
    }

    fn key() -> TokenKey {
        TokenKey::new(
            "https://login.example/contoso/v2.0/.well-known/openid-configuration",
            &["https://graph.microsoft.com/Directory.Read.All".to_owned()],
        )
    }

    /// `n` callers that ask for the token at the same moment `now`, each with a refresh that counts itself and
    /// answers `answer` only once every caller has asked (so all of them are waiting on it, however the runtime
    /// schedules them: no timing assumed). Their results, and how many refreshes ran.
    async fn together(
        cache: &Arc<TokenCache>,
        n: usize,
        now: Instant,
        answer: Result<(Secret, Instant), Failure>,
    ) -> (Vec<Result<Secret, Failure>>, usize) {
        let refreshes = Arc::new(AtomicUsize::new(0));
        let asked = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..n)
            .map(|_| {
                let (cache, refreshes, asked, answer) =
                    (cache.clone(), refreshes.clone(), asked.clone(), answer.clone());
                tokio::spawn(async move {
                    let waiting = asked.clone();
                    let refresh = || async move {
                        refreshes.fetch_add(1, Ordering::SeqCst);
                        while waiting.load(Ordering::SeqCst) < n {
                            tokio::task::yield_now().await;
                        }
                        answer
                    };
                    let k = key();
                    let mut call = std::pin::pin!(cache.get_or_refresh(&k, move || now, refresh));
                    // The first poll runs the call up to its first wait (the slot's lock, or the refresh): it has
                    // asked by then.
                    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx))).await;
                    asked.fetch_add(1, Ordering::SeqCst);
                    match first {
                        std::task::Poll::Ready(result) => result,
                        std::task::Poll::Pending => call.await,
                    }
                })
            })
            .collect();
        let mut results = Vec::new();
        for caller in callers {
            results.push(caller.await.unwrap());
        }
        (results, refreshes.load(Ordering::SeqCst))
    }

    /// 48 callers find the token expired at once (a readiness scan's requests in flight): one refresh, and all
    /// 48 get its token.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_with_an_expired_token_cause_exactly_one_refresh() {
        let cache = Arc::new(TokenCache::default());
        let start = t0();
        cache.put(&key(), Secret::new("old"), start).await; // expired at once
        let fresh = Ok((Secret::new("new"), start + Duration::from_secs(3600)));
        let (results, refreshes) = together(&cache, 48, start + Duration::from_secs(1), fresh).await;
        assert!(results.iter().all(|r| r.as_ref().is_ok_and(|t| *t == Secret::new("new"))), "{results:?}");
        assert_eq!(refreshes, 1);
    }

    /// A refresh that fails (the session expired) is not repeated for the callers that waited on it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_waiting_on_a_failed_refresh_share_its_failure() {
        let cache = Arc::new(TokenCache::default());
        let now = t0();
        let expired =
            Failure::Identity(crate::wizard::IdentityError { error: "invalid_grant".into(), ..Default::default() });
        let (results, refreshes) = together(&cache, 16, now, Err(expired)).await;
        for result in &results {
            let Err(Failure::Identity(e)) = result else { panic!("not the refresh's failure: {result:?}") };
            assert_eq!(e.error, "invalid_grant");
        }
        assert_eq!(refreshes, 1);
        let refreshes = Arc::new(AtomicUsize::new(refreshes));
        // A caller that comes later tries again (the admin may have signed in meanwhile).
        let again = cache
            .get_or_refresh(
                &key(),
                || now,
                || async {
                    refreshes.fetch_add(1, Ordering::SeqCst);
                    Ok((Secret::new("t"), now + Duration::from_secs(60)))
                },
            )
            .await;
        assert_eq!(again.unwrap(), Secret::new("t"));
        assert_eq!(refreshes.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_valid_token_is_served_and_a_refused_one_only_forgotten_if_still_cached() {
        let cache = TokenCache::default();
        let now = t0();
        let later = now + Duration::from_secs(600);
        cache.put(&key(), Secret::new("a"), later).await;
        let never = || async { panic!("a valid token needs no refresh") };
        assert_eq!(cache.get_or_refresh(&key(), || now, never).await.unwrap(), Secret::new("a"));
        cache.forget(&key(), &Secret::new("older")).await;
        assert_eq!(cache.get_or_refresh(&key(), || now, never).await.unwrap(), Secret::new("a"));
        cache.forget(&key(), &Secret::new("a")).await;
        let fresh = cache.get_or_refresh(&key(), || now, || async { Ok((Secret::new("b"), later)) }).await;
        assert_eq!(fresh.unwrap(), Secret::new("b"));
    }

    #[test]
    fn keys_name_the_authority_and_the_scopes_in_any_order() {
        let a = TokenKey::new("t1", &["b".to_owned(), "a".to_owned()]);
        assert_eq!(a, TokenKey::new("t1", &["a".to_owned(), "b".to_owned()]));
        assert_ne!(a, TokenKey::new("t2", &["a".to_owned(), "b".to_owned()]));
        assert_ne!(a, TokenKey::new("t1", &["a".to_owned()]));
    }
}
