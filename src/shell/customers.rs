//! A partner's customers checked in their own tenants (issue 19): each read there with the partner's account, its
//! tokens by the partner's refresh token redeemed at the customer's tenant (as GDAP allows, without a browser), as
//! many customers at once as the wizard says. Each customer's requests go through the one Graph client, which obeys that tenant's
//! throttling answers; a customer that fails is reported as such and the others go on.

use std::future::Future;
use std::time::Instant;

use futures_util::StreamExt as _;

use super::Services;
use super::tokens::TokenKey;
use crate::auth::signin;
use crate::graph::Call;
use crate::graph::people::SAMPLE_QUERY;
use crate::secret::Secret;
use crate::teams::policy::SetupPolicyApi as _;
use crate::wizard::customer_checks::{CustomerReading, DeliverySample};
use crate::wizard::{Failure, SAMPLE_SIZE, ScopeSet, delivery_sample};

/// Tokens for one customer's tenant: the partner's refresh token redeemed at that tenant, cached by tenant and
/// scopes like every token (one refresh however many requests ask at once).
struct CustomerTokens<'a> {
    services: &'a Services,
    /// The customer's discovery document (the cache key's authority) and what it says.
    discovery: &'a str,
    endpoints: &'a signin::Endpoints,
    /// The partner's refresh token, read from the vault once for the whole check.
    refresh_token: &'a Secret,
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
            let refresh = || self.services.refresh_elsewhere(self.endpoints, self.refresh_token, self.set);
            self.services.tokens.get_or_refresh(&key, now, refresh).await
        })
    }
}

impl Services {
    /// Reads each of `tenants` in its own tenant, `at_once` at a time (the wizard's pacing), reporting each as it
    /// answers.
    pub(super) async fn check_customers<F, Fut>(&self, tenants: Vec<String>, at_once: usize, report: F)
    where
        F: Fn(String, Result<CustomerReading, Failure>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let refresh_token = self.saved_refresh_token().await;
        let refresh_token = &refresh_token;
        let mut checks = futures_util::stream::iter(tenants)
            .map(|tenant| async move {
                let result = match refresh_token {
                    Ok(rt) => self.check_customer(&tenant, rt).await,
                    Err(failure) => Err(failure.clone()),
                };
                (tenant, result)
            })
            .buffer_unordered(at_once.max(1));
        while let Some((tenant, result)) = checks.next().await {
            report(tenant, result).await;
        }
    }

    /// One customer's tenant: MSPbots' grants, the Teams app in its catalog, the org-wide app settings, its Global
    /// setup policy and who of a sample has the app; and, in the partner's tenant, the customer's admin centers.
    async fn check_customer(&self, tenant_id: &str, refresh_token: &Secret) -> Result<CustomerReading, Failure> {
        // Its own throttling gate: this tenant's 429s hold this tenant's requests only.
        let graph = &self.graph()?.for_another_tenant();
        let discovery = self.discovery_url_of(tenant_id).ok_or_else(|| Failure::Parse {
            what: "the sign-in authority".into(),
            excerpt: "no tenant segment to swap for the customer's".into(),
        })?;
        let endpoints = signin::discover(&self.http_auth, &discovery).await?;
        let tokens =
            |set| CustomerTokens { services: self, discovery: &discovery, endpoints: &endpoints, refresh_token, set };
        let (reader, teams, admin) =
            (tokens(ScopeSet::TenantRead), tokens(ScopeSet::TeamsSetup), tokens(ScopeSet::TeamsAdmin));
        let snapshot = graph.tenant_snapshot(&reader, &self.env.consent_client_id).await?;
        let manifest_id = self.manifest_id()?;
        let catalog = async {
            let (store, org) = graph.find_teams_app(&teams, &manifest_id).await?;
            Ok((store.is_some(), store.or(org)))
        };
        let policy = async { self.config_api()?.read(&admin).await.map(|reading| reading.global) };
        let settings = self.org_settings(&admin);
        let delivery = self.customer_delivery(graph, &reader, &teams, &manifest_id);
        let admin_centers = async { self.graph()?.admin_centers(&self.scoped(ScopeSet::Partner), tenant_id).await };
        let (catalog, policy, settings, delivery, admin_centers) =
            tokio::join!(catalog, policy, settings, delivery, admin_centers);
        let (store_listing, catalog) = match catalog {
            Ok((store, entry)) => (store, Ok(entry)),
            Err(f) => (false, Err(f)),
        };
        Ok(CustomerReading {
            snapshot,
            catalog,
            store_listing,
            policy,
            settings,
            delivery,
            admin_centers,
            read_at: self.clock.unix_seconds(),
        })
    }

    /// Who of the tenant's first members has the app: the sample (enabled members, at most the delivery check's
    /// size) and each one's reading.
    async fn customer_delivery(
        &self,
        graph: &crate::graph::Graph,
        reader: &dyn crate::graph::TokenSource,
        teams: &dyn crate::graph::TokenSource,
        manifest_id: &str,
    ) -> Result<DeliverySample, Failure> {
        let (users, _) = graph.users_page(reader, &Call::get(SAMPLE_QUERY)).await?;
        let sample = delivery_sample(None, &users, SAMPLE_SIZE);
        let ids: Vec<String> = sample.iter().map(|u| u.id.clone()).collect();
        let reaches = super::teams::reaches(graph, reader, teams, ids, manifest_id).await?;
        Ok((sample, reaches))
    }
}
