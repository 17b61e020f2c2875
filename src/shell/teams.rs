//! The shell's side of steps 4 and 5: look at the tenant's Teams, carry out the wizard's plan for the app, install
//! it for everyone with saved progress, and read and write the Global setup policy.

use std::future::Future;

use crate::teams::bulk::BulkProgress;
use crate::teams::catalog::{Installed, SIGNED_IN};
use crate::teams::package;
use crate::teams::policy::{ConfigApi, SetupPolicyApi};
use crate::teams::schedule::{Schedule, Wait};
use crate::wizard::{
    AppPlan, Attempt, BulkCounts, BulkFailure, CatalogEntry, Failure, OrgAppSettings, Outcome, PolicyReading, Reach,
    SampleUser, ScopeSet, SetupPolicy, TeamsAppRef, TeamsFacts, TenantCloud,
};

use super::Services;
use super::tokens::ScopedTokens;

impl Services {
    fn teams_tokens(&self) -> ScopedTokens<'_> {
        self.scoped(ScopeSet::TeamsSetup)
    }

    fn teams_admin_tokens(&self) -> ScopedTokens<'_> {
        self.scoped(ScopeSet::TeamsAdmin)
    }

    pub(super) fn config_api(&self) -> Result<ConfigApi, Failure> {
        let base = self
            .env
            .teams_admin_base
            .as_deref()
            .ok_or(Failure::Local(crate::wizard::LocalFailure::PolicyApiUnavailable))?;
        Ok(ConfigApi::new(self.http_api.clone(), base).with_policy(self.env.network.retry))
    }

    /// The tenant's cloud from OpenID discovery of the tenant (`tenant_region_sub_scope`).
    async fn tenant_cloud(&self, tenant_id: &str) -> TenantCloud {
        // `{login}{tenant}/v2.0/.well-known/openid-configuration`, asked for this tenant.
        let Some(authority) = self.env.discovery_url.strip_suffix("/v2.0/.well-known/openid-configuration") else {
            return TenantCloud::Unknown;
        };
        let base = authority.rsplit_once('/').map_or(authority, |(b, _)| b);
        let url = format!("{base}/{tenant_id}/v2.0/.well-known/openid-configuration");
        let doc = match crate::http::fetch(self.http_auth.get(&url)).await {
            Ok(r) if r.status.is_success() => serde_json::from_slice::<serde_json::Value>(&r.body).ok(),
            _ => None,
        };
        let Some(doc) = doc else {
            return TenantCloud::Unknown;
        };
        match doc.get("tenant_region_sub_scope").and_then(serde_json::Value::as_str) {
            Some("DODCON") => TenantCloud::GccHigh,
            Some("DOD") => TenantCloud::Dod,
            Some("GCC") => TenantCloud::Gcc,
            _ => TenantCloud::Commercial,
        }
    }

    fn progress_path(&self, tenant_id: &str, catalog_id: &str) -> Option<std::path::PathBuf> {
        self.env.state_dir.as_deref().map(|d| BulkProgress::path(d, tenant_id, catalog_id))
    }

    /// What the Teams step decides on; with `own_copy` false (an account of another organization), without the
    /// admin's own apps and licence, which it does not have in this tenant.
    pub(super) async fn inspect_teams(&self, tenant_id: &str, own_copy: bool) -> Result<TeamsFacts, Failure> {
        let graph = self.graph()?;
        let tokens = self.teams_tokens();
        let package = match &self.env.teams_package {
            Some(source) => Some(package::load(source)?),
            None => None,
        };
        let manifest_id = if self.env.teams_manifest_id.is_empty() {
            package.as_ref().map(|p| p.info.manifest_id.clone()).unwrap_or_default()
        } else {
            self.env.teams_manifest_id.clone()
        };
        let (cloud, found) = tokio::join!(self.tenant_cloud(tenant_id), graph.find_teams_app(&tokens, &manifest_id));
        let (store, org) = found?;
        let ids: Vec<String> = store.iter().chain(org.iter()).map(|e: &CatalogEntry| e.catalog_id.clone()).collect();
        // The admin's own apps and the org-wide settings do not depend on each other: one wave.
        let admin_tokens = self.teams_admin_tokens();
        let apps = async {
            if ids.is_empty() || !own_copy { Ok(false) } else { graph.user_has_app(&tokens, SIGNED_IN, &ids).await }
        };
        let settings = self.org_settings(&admin_tokens);
        // The admin's own Teams licence, before anything is installed for them (a licence read, with the tenant
        // read access): not known is no warning.
        let reader = self.tenant_reader();
        let me = [SIGNED_IN.to_owned()];
        let licence = async { if own_copy { graph.users_with_teams(&reader, &me).await.ok() } else { None } };
        let (admin_has_app, settings, licence) = tokio::join!(apps, settings, licence);
        let admin_has_app = admin_has_app?;
        let admin_has_teams = match licence.as_deref() {
            Some([(_, Ok(has))]) => Some(*has),
            Some(_) | None => None,
        };
        let unfinished_bulk = ids.iter().find_map(|id| {
            let path = self.progress_path(tenant_id, id)?;
            match BulkProgress::load(&path) {
                Ok(Some(p)) if !p.complete() => Some(p.counts()),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!("{e}; an install for everyone will start over");
                    None
                }
            }
        });
        Ok(TeamsFacts {
            cloud,
            store,
            org,
            package: package.map(|p| p.info),
            settings,
            admin_has_app,
            admin_has_teams,
            admin_elsewhere: !own_copy,
            unfinished_bulk,
        })
    }

    pub(super) async fn set_up_teams_app(&self, plan: AppPlan, own_copy: bool) -> Result<TeamsAppRef, Failure> {
        let graph = self.graph()?;
        let tokens = self.teams_tokens();
        let load = || match &self.env.teams_package {
            Some(source) => package::load(source),
            None => Err(Failure::Parse {
                what: "the vendor's Teams app package".into(),
                excerpt: "the profile names none".into(),
            }),
        };
        let (catalog_id, version) = match &plan {
            AppPlan::UseStore { catalog_id } | AppPlan::UseOrg { catalog_id } => (catalog_id.clone(), String::new()),
            AppPlan::Publish { version } => {
                let p = load()?;
                (graph.publish_app(&tokens, p.zip, version).await?.catalog_id, version.clone())
            }
            AppPlan::Update { catalog_id, to, .. } => {
                let p = load()?;
                (graph.publish_app_version(&tokens, catalog_id, p.zip, to).await?.catalog_id, to.clone())
            }
        };
        if !own_copy {
            return Ok(TeamsAppRef {
                catalog_id,
                version,
                via: plan,
                newly_installed_for_admin: false,
                admin_refusal: None,
                admin_elsewhere: true,
            });
        }
        let (newly_installed_for_admin, admin_refusal) = match graph.install_app(&tokens, SIGNED_IN, &catalog_id).await
        {
            Ok(installed) => (installed == Installed::New, None),
            // The app is in the tenant; only the admin's own copy is refused: the step goes on.
            Err(f) if f.teams_refusal() == Some(crate::wizard::TeamsRefusal::NoTeamsLicence) => (false, Some(f)),
            Err(f) => return Err(f),
        };
        Ok(TeamsAppRef {
            catalog_id,
            version,
            via: plan,
            newly_installed_for_admin,
            admin_refusal,
            admin_elsewhere: false,
        })
    }

    /// Installs for `users`, resuming saved progress, saving after every batch; reports progress as it goes.
    pub(super) async fn bulk_install<F, Fut>(
        &self,
        attempt: Attempt,
        tenant_id: &str,
        catalog_id: &str,
        users: Vec<String>,
        report: F,
    ) where
        F: Fn(Outcome) -> Fut,
        Fut: Future<Output = ()>,
    {
        let graph = match self.graph() {
            Ok(g) => g,
            Err(f) => return report(Outcome::BulkFinished { attempt, result: Err(f) }).await,
        };
        let path = self.progress_path(tenant_id, catalog_id);
        let saved = path.as_deref().map(BulkProgress::load).transpose();
        let mut progress = match saved {
            Ok(Some(Some(p))) if p.tenant_id == tenant_id && p.catalog_id == catalog_id => p,
            Ok(_) => BulkProgress::new(tenant_id, catalog_id, Vec::new()),
            Err(e) => {
                tracing::warn!("{e}; starting over");
                BulkProgress::new(tenant_id, catalog_id, Vec::new())
            }
        };
        progress.extend_users(&users);
        report(Outcome::BulkProgress { attempt, counts: progress.counts() }).await;
        // What to send when is the pure schedule's decision (crate::teams::schedule); this loop sends, waits,
        // records and saves.
        let tokens = self.teams_tokens();
        let mut schedule = Schedule::new(progress.remaining(), self.clock.now());
        let mut running = futures_util::stream::FuturesUnordered::new();
        let mut saving: Option<tokio::task::JoinHandle<()>> = None;
        let mut unsaved = false;
        loop {
            let now = self.clock.now();
            while let Some(batch) = schedule.next_batch(now) {
                let users: Vec<String> = batch.iter().map(|q| q.user.clone()).collect();
                let (graph, tokens, clock) = (graph, &tokens, &self.clock);
                running.push(async move {
                    let result = graph.install_app_batch(tokens, &users, catalog_id, false).await;
                    (batch, clock.now(), result)
                });
            }
            let wake = match schedule.wait(now) {
                Wait::Finished => break,
                Wait::Until(at) => {
                    tokio::time::sleep(now.until(at)).await;
                    continue;
                }
                Wait::BatchOr(at) => at.map_or(std::time::Duration::from_secs(3600), |at| now.until(at)),
            };
            // Wait for a batch to come back, or for the moment the next may start.
            let done = tokio::select! {
                done = futures_util::StreamExt::next(&mut running) => done,
                () = tokio::time::sleep(wake) => None,
            };
            let Some((sent, finished, result)) = done else { continue };
            let answers = match result {
                Ok(r) => r,
                Err(f) => {
                    if let Some(writing) = saving.take() {
                        let _written = writing.await;
                    }
                    save(&progress, path.as_deref());
                    return report(Outcome::BulkFinished { attempt, result: Err(f) }).await;
                }
            };
            progress.results.extend(schedule.batch_done(sent, finished, answers));
            // Saved after each batch, off this loop (writing thousands of results must not hold up the installs):
            // one write at a time, the newest results next. A kill loses at most the batches of one write; their
            // users are asked again and answer "already installed".
            if saving.as_ref().is_none_or(tokio::task::JoinHandle::is_finished) {
                let (snapshot, at) = (progress.clone(), path.clone());
                saving = Some(tokio::task::spawn_blocking(move || save(&snapshot, at.as_deref())));
            } else {
                unsaved = true;
            }
            report(Outcome::BulkProgress { attempt, counts: progress.counts() }).await;
        }
        if let Some(writing) = saving.take() {
            let _written = writing.await;
        }
        if unsaved || !progress.complete() {
            save(&progress, path.as_deref());
        }
        let counts: BulkCounts = progress.counts();
        let failures: Vec<BulkFailure> = progress.failures();
        if progress.complete()
            && let Some(p) = &path
            && let Err(e) = crate::fsutil::remove_with_leftovers(p)
        {
            tracing::debug!("could not remove the finished progress file: {e}");
        }
        report(Outcome::BulkFinished { attempt, result: Ok((counts, failures)) }).await;
    }

    /// The org-wide app settings read with `admin` (the Teams admin API), each unknown where it cannot be read.
    pub(super) async fn org_settings(&self, admin: &dyn crate::graph::TokenSource) -> OrgAppSettings {
        match self.config_api() {
            Ok(api) => api.org_settings(admin).await,
            Err(_) => OrgAppSettings::default(),
        }
    }

    /// The delivery check: each sampled user's Teams licence and whether they have the vendor app ([`reaches`]).
    pub(super) async fn check_delivery(&self, users: &[SampleUser]) -> Result<Vec<(String, Reach)>, Failure> {
        let graph = self.graph()?;
        let manifest_id = self.manifest_id()?;
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        reaches(graph, &self.tenant_reader(), &self.teams_tokens(), ids, &manifest_id).await
    }

    /// The vendor app's manifest id: the profile's, else its package's.
    pub(super) fn manifest_id(&self) -> Result<String, Failure> {
        if !self.env.teams_manifest_id.is_empty() {
            return Ok(self.env.teams_manifest_id.clone());
        }
        match &self.env.teams_package {
            Some(source) => Ok(package::load(source)?.info.manifest_id),
            None => Err(Failure::Parse {
                what: "the vendor's Teams app".into(),
                excerpt: "the profile names neither its id nor its package".into(),
            }),
        }
    }

    pub(super) async fn read_setup_policies(&self) -> Result<PolicyReading, Failure> {
        self.config_api()?.read(&self.teams_admin_tokens()).await
    }

    pub(super) async fn write_global_policy(
        &self,
        installed: Vec<String>,
        pinned: Vec<String>,
    ) -> Result<SetupPolicy, Failure> {
        self.config_api()?.write_global(&self.teams_admin_tokens(), &installed, &pinned).await
    }
}

fn save(progress: &BulkProgress, path: Option<&std::path::Path>) {
    if let Some(p) = path
        && let Err(e) = progress.save(p)
    {
        tracing::warn!("could not save the install progress to {}: {e}", p.display());
    }
}

/// Whether each of `ids` has the app with `manifest_id` and a Teams licence, read in their tenant with `reader`
/// (licences) and `teams` (installed apps) side by side, in `$batch`es.
pub(super) async fn reaches(
    graph: &crate::graph::Graph,
    reader: &dyn crate::graph::TokenSource,
    teams: &dyn crate::graph::TokenSource,
    ids: Vec<String>,
    manifest_id: &str,
) -> Result<Vec<(String, Reach)>, Failure> {
    let (licences, apps) =
        tokio::join!(graph.users_with_teams(reader, &ids), graph.users_with_app(teams, &ids, manifest_id));
    let (licences, apps) = (licences?, apps?);
    Ok(ids
        .into_iter()
        .map(|id| {
            let licensed = licences.iter().find(|(u, _)| *u == id).map(|(_, r)| r.clone());
            let has = apps.iter().find(|(u, _)| *u == id).map(|(_, r)| r.clone());
            let reach = match (licensed, has) {
                (_, Some(Ok(true))) => Reach::HasIt,
                (Some(Ok(false)), _) => Reach::NoTeamsLicence,
                (_, Some(Err(failure))) | (Some(Err(failure)), _) => Reach::Refused { failure },
                _ => Reach::NotYet,
            };
            (id, reach)
        })
        .collect())
}
