//! Reading the tenant for the wizard: the vendor app's service principal, the grants and licences, the directory
//! page by page, and avatars. Carries out the verify step's effects; decides nothing.

use super::*;

impl Services {
    pub(super) fn graph(&self) -> Result<&Graph, Failure> {
        self.graph
            .as_ref()
            .ok_or_else(|| Failure::Parse { what: "tenant".into(), excerpt: "no Microsoft Graph is configured".into() })
    }

    pub(super) fn tenant_reader(&self) -> tokens::ScopedTokens<'_> {
        self.scoped(ScopeSet::TenantRead)
    }

    pub(super) async fn check_consent(&self) -> Result<bool, Failure> {
        let graph = self.graph()?;
        Ok(graph.service_principal(&self.tenant_reader(), &self.env.consent_client_id).await?.is_some())
    }

    pub(super) async fn read_tenant(&self) -> Result<TenantSnapshot, Failure> {
        self.graph()?.tenant_snapshot(&self.tenant_reader(), &self.env.consent_client_id).await
    }

    /// Reads the directory (`graph::scan`), reporting it page by page.
    pub(super) async fn load_directory<F, Fut>(&self, attempt: Attempt, report: F)
    where
        F: Fn(Outcome) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let result = match self.graph() {
            Ok(graph) => {
                graph
                    .read_directory(&self.tenant_reader(), |users, total| {
                        report(Outcome::DirectoryPage { attempt, users, total })
                    })
                    .await
            }
            Err(f) => Err(f),
        };
        report(Outcome::DirectoryLoaded { attempt, result }).await;
    }

    pub(super) async fn avatars(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, Result<Option<Avatar>, Failure>)>, Failure> {
        let photos = self.graph()?.avatars(&self.tenant_reader(), ids).await?;
        let decoded = tokio::task::spawn_blocking(move || {
            photos
                .into_iter()
                .map(|(id, r)| (id, r.and_then(|bytes| bytes.map(|b| Avatar::decode(&b)).transpose())))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| Failure::Parse { what: "profile photos".into(), excerpt: e.to_string() })?;
        Ok(decoded)
    }
}

impl Services {
    /// The partner's board: its customers with relationships and access assignments, the signed-in user's groups,
    /// and each customer's cloud from its discovery document (a few at a time; one that cannot be read counts as
    /// commercial, as the board cannot tell).
    pub(super) async fn read_partner(&self) -> Result<crate::wizard::board::PartnerData, Failure> {
        use futures_util::StreamExt as _;
        let graph = self.graph()?;
        let tokens = self.scoped(ScopeSet::Partner);
        let (customers, my_groups) = tokio::try_join!(graph.partner_customers(&tokens), graph.my_groups(&tokens))?;
        let customers = futures_util::stream::iter(customers)
            .map(|mut c| async move {
                if let Some(url) = self.discovery_url_of(&c.tenant_id) {
                    c.government = signin::discover(&self.http_auth, &url).await.ok().and_then(|e| e.government);
                }
                c
            })
            .buffered(DISCOVERY_READS)
            .collect()
            .await;
        Ok(crate::wizard::board::PartnerData { customers, my_groups, read_at: self.clock.unix_seconds() })
    }

    /// The discovery document of `tenant_id` on the sign-in authority's host (its tenant segment swapped).
    pub(super) fn discovery_url_of(&self, tenant_id: &str) -> Option<String> {
        let url = &self.env.discovery_url;
        let tail = url.find("/v2.0/.well-known/")?;
        let head = url[..tail].rfind('/')?;
        Some(format!("{}{tenant_id}{}", &url[..=head], &url[tail..]))
    }
}

/// Customers' discovery documents read at once.
const DISCOVERY_READS: usize = 8;
