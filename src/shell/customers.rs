//! A partner's customers checked in their own tenants (issue 19): each read there with the partner's account, its
//! tokens by the partner's refresh token redeemed at the customer's tenant (as GDAP allows, without a browser), a
//! few customers at a time. Each customer's requests go through the one Graph client, which obeys that tenant's
//! throttling answers; a customer that fails is reported as such and the others go on.

use std::future::Future;
use std::time::Instant;

use futures_util::StreamExt as _;

use super::Services;
use super::tokens::TokenKey;
use crate::auth::signin;
use crate::secret::Secret;
use crate::teams::policy::SetupPolicyApi as _;
use crate::wizard::customer_checks::CustomerReading;
use crate::wizard::{Failure, ScopeSet};

/// Customers read at once.
pub const CUSTOMER_CHECKS: usize = 8;

/// Tokens for one customer's tenant: the partner's refresh token redeemed at that tenant, cached by tenant and
/// scopes like every token (one refresh however many requests ask at once).
struct CustomerTokens<'a> {
    services: &'a Services,
    /// The customer's discovery document (the cache key's authority) and what it says.
    discovery: &'a str,
    endpoints: &'a signin::Endpoints,
    set: ScopeSet,
}

impl crate::graph::TokenSource for CustomerTokens<'_> {
    fn token<'a>(&'a self, rejected: Option<&'a Secret>) -> crate::graph::TokenFuture<'a> {
        Box::pin(async move {
            let key = TokenKey::new(self.discovery, &self.services.scopes(self.set));
            if let Some(r) = rejected {
                self.services.tokens.forget(&key, r).await;
            }
            let now = || -> Instant { self.services.clock.instant() };
            self.services.tokens.get_or_refresh(&key, now, || self.services.refresh_at(self.endpoints, self.set)).await
        })
    }
}

impl Services {
    /// Reads each of `tenants` in its own tenant, [`CUSTOMER_CHECKS`] at a time, reporting each as it answers.
    pub(super) async fn check_customers<F, Fut>(&self, tenants: Vec<String>, report: F)
    where
        F: Fn(String, Result<CustomerReading, Failure>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut checks = futures_util::stream::iter(tenants)
            .map(|tenant| async move {
                let result = self.check_customer(&tenant).await;
                (tenant, result)
            })
            .buffer_unordered(CUSTOMER_CHECKS);
        while let Some((tenant, result)) = checks.next().await {
            report(tenant, result).await;
        }
    }

    /// One customer's tenant: MSPbots' grants, the Teams app in its catalog and its Global setup policy.
    async fn check_customer(&self, tenant_id: &str) -> Result<CustomerReading, Failure> {
        let graph = self.graph()?;
        let discovery = self.discovery_url_of(tenant_id).ok_or_else(|| Failure::Parse {
            what: "the sign-in authority".into(),
            excerpt: "no tenant segment to swap for the customer's".into(),
        })?;
        let endpoints = signin::discover(&self.http_auth, &discovery).await?;
        let tokens = |set| CustomerTokens { services: self, discovery: &discovery, endpoints: &endpoints, set };
        let (reader, teams, admin) =
            (tokens(ScopeSet::TenantRead), tokens(ScopeSet::TeamsSetup), tokens(ScopeSet::TeamsAdmin));
        let snapshot = graph.tenant_snapshot(&reader, &self.env.consent_client_id).await?;
        let manifest_id = self.manifest_id()?;
        let catalog = async {
            let (store, org) = graph.find_teams_app(&teams, &manifest_id).await?;
            Ok(store.or(org))
        };
        let policy = async { self.config_api()?.read(&admin).await.map(|reading| reading.global) };
        let (catalog, policy) = tokio::join!(catalog, policy);
        Ok(CustomerReading { snapshot, catalog, policy, read_at: self.clock.unix_seconds() })
    }
}
