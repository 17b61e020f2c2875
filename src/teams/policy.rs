//! App setup policies through the Teams admin configuration API (`docs/microsoft-apis.md` B5), behind a trait: the API
//! is undocumented, so its base URL is configurable and any shape it does not recognise becomes "cannot do this
//! automatically" ([`Failure::Parse`] naming the setup policy) rather than a guess.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Value, json};

use crate::graph::{Call, Graph, TokenSource, parse_json};
use crate::wizard::{Failure, OrgAppSettings, PolicyReading, SetupPolicy};

/// A future of the API.
pub type ApiFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 'a>>;

/// Reading and changing the tenant's app setup policies.
pub trait SetupPolicyApi: Send + Sync {
    /// The Global policy and the names of the others.
    fn read<'a>(&'a self, tokens: &'a dyn TokenSource) -> ApiFuture<'a, PolicyReading>;
    /// Sets the Global policy's installed and pinned apps (nothing else), then reads it back.
    fn write_global<'a>(
        &'a self,
        tokens: &'a dyn TokenSource,
        installed: &'a [String],
        pinned: &'a [String],
    ) -> ApiFuture<'a, SetupPolicy>;
    /// The org-wide app settings, each `None` where it cannot be read.
    fn org_settings<'a>(
        &'a self,
        tokens: &'a dyn TokenSource,
    ) -> Pin<Box<dyn Future<Output = OrgAppSettings> + Send + 'a>>;
}

/// The Teams admin configuration API at a base URL (`https://api.interfaces.records.teams.microsoft.com/`).
#[derive(Debug, Clone)]
pub struct ConfigApi {
    /// The one HTTP client, with Graph's retries and refresh-once; the API's errors are `{code, message}`.
    client: Graph,
}

const SETUP: &str = "Skype.Policy/configurations/TeamsAppSetupPolicy";

/// Why a policy's shape is not understood.
fn shape(detail: impl Into<String>) -> Failure {
    Failure::Parse { what: "Teams app setup policy".into(), excerpt: detail.into() }
}

/// A policy object: `Identity`, `AppPresetList: [{Id}]`, `PinnedAppBarApps: [{Id, Order}]`.
pub fn parse_policy(v: &Value) -> Result<SetupPolicy, Failure> {
    let identity = v.get("Identity").and_then(Value::as_str).ok_or_else(|| shape("no Identity"))?.to_owned();
    let list =
        |key: &str| v.get(key).and_then(Value::as_array).ok_or_else(|| shape(format!("{identity}: no {key} list")));
    let installed = list("AppPresetList")?
        .iter()
        .map(|a| a.get("Id").and_then(Value::as_str).map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| shape(format!("{identity}: an AppPresetList entry has no Id")))?;
    let mut pins = list("PinnedAppBarApps")?
        .iter()
        .map(|a| Some((a.get("Order")?.as_u64()?, a.get("Id")?.as_str()?.to_owned())))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| shape(format!("{identity}: a PinnedAppBarApps entry has no Id or Order")))?;
    pins.sort_by_key(|(o, _)| *o);
    Ok(SetupPolicy { identity, installed, pinned: pins.into_iter().map(|(_, id)| id).collect() })
}

impl ConfigApi {
    /// The API at `base` over the one HTTP stack (an [`crate::http::Purpose::Api`] client).
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self { client: Graph::new(http, base) }
    }

    /// Retries as `policy` says (throttling, outages).
    #[must_use]
    pub fn with_policy(self, policy: crate::graph::retry::RetryPolicy) -> Self {
        Self { client: self.client.with_policy(policy) }
    }

    async fn global(&self, tokens: &dyn TokenSource) -> Result<SetupPolicy, Failure> {
        let v = self.client.get(tokens, &format!("{SETUP}/configuration/Global")).await?;
        parse_policy(&v)
    }

    async fn read_all(&self, tokens: &dyn TokenSource) -> Result<PolicyReading, Failure> {
        let all = self.client.get(tokens, SETUP).await?;
        let list = all.as_array().ok_or_else(|| shape("the list of setup policies is not a list"))?;
        let global_json = list
            .iter()
            .find(|p| p.get("Identity").and_then(Value::as_str) == Some("Global"))
            .ok_or_else(|| shape("no Global policy in the list"))?;
        let global = parse_policy(global_json)?;
        let others = list
            .iter()
            .filter_map(|p| p.get("Identity").and_then(Value::as_str))
            .filter(|i| *i != "Global")
            .map(|i| i.strip_prefix("Tag:").unwrap_or(i).to_owned())
            .collect();
        Ok(PolicyReading { global, others })
    }

    async fn write(
        &self,
        tokens: &dyn TokenSource,
        installed: &[String],
        pinned: &[String],
    ) -> Result<SetupPolicy, Failure> {
        let body = json!({
            "Identity": "Global",
            "AppPresetList": installed.iter().map(|id| json!({ "Id": id })).collect::<Vec<_>>(),
            "PinnedAppBarApps": pinned.iter().enumerate().map(|(i, id)| json!({ "Id": id, "Order": i + 1 })).collect::<Vec<_>>(),
        });
        self.client.send(tokens, &Call::put(format!("{SETUP}/configuration/Global"), body)).await?;
        self.global(tokens).await
    }

    async fn settings(&self, tokens: &dyn TokenSource) -> OrgAppSettings {
        // Two independent reads: one round trip.
        let (permission, custom) = tokio::join!(
            self.client.get(tokens, "Skype.Policy/configurations/TeamsAppPermissionPolicy/configuration/Global"),
            self.client.get(tokens, "Skype.Policy/configurations/TeamsSettingsCustomApp/configuration/Global"),
        );
        // An allow-list type means only the listed apps are allowed; the org-wide switch is then effectively off
        // for apps not on it. A block-list allows everything not listed.
        let allowed = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(|t| t == "BlockedAppList");
        let (third_party_allowed, custom_allowed) = match &permission {
            Ok(v) => (allowed(v, "GlobalCatalogAppsType"), allowed(v, "PrivateCatalogAppsType")),
            Err(f) => {
                tracing::info!("org-wide app permission settings not readable: {f}");
                (None, None)
            }
        };
        let custom_upload =
            custom.ok().and_then(|v| v.get("isSideloadedAppsInteractionEnabled").and_then(Value::as_bool));
        OrgAppSettings { third_party_allowed, custom_allowed, custom_upload }
    }
}

impl SetupPolicyApi for ConfigApi {
    fn read<'a>(&'a self, tokens: &'a dyn TokenSource) -> ApiFuture<'a, PolicyReading> {
        Box::pin(self.read_all(tokens))
    }

    fn write_global<'a>(
        &'a self,
        tokens: &'a dyn TokenSource,
        installed: &'a [String],
        pinned: &'a [String],
    ) -> ApiFuture<'a, SetupPolicy> {
        Box::pin(self.write(tokens, installed, pinned))
    }

    fn org_settings<'a>(
        &'a self,
        tokens: &'a dyn TokenSource,
    ) -> Pin<Box<dyn Future<Output = OrgAppSettings> + Send + 'a>> {
        Box::pin(self.settings(tokens))
    }
}

/// Reads JSON bytes as a policy (for support files and tests).
pub fn policy_from_bytes(bytes: &[u8]) -> Result<SetupPolicy, Failure> {
    parse_policy(&parse_json::<Value>(bytes, "Teams app setup policy")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_with_pins_in_order_and_odd_shapes_are_refused() {
        let p = policy_from_bytes(br#"{"Identity":"Global","AppPresetList":[{"Id":"a"},{"Id":"b"}],"PinnedAppBarApps":[{"Id":"b","Order":2},{"Id":"a","Order":1}]}"#).unwrap();
        assert_eq!(
            (p.installed, p.pinned),
            (vec!["a".to_owned(), "b".to_owned()], vec!["a".to_owned(), "b".to_owned()])
        );
        for odd in [
            r#"{"Identity":"Global","Settings":{"Apps":"a;b"}}"#,
            r#"{"Identity":"Global","AppPresetList":[{"AppId":"a"}],"PinnedAppBarApps":[]}"#,
            r#"{"Identity":"Global","AppPresetList":[],"PinnedAppBarApps":[{"Id":"a"}]}"#,
            r#"{"AppPresetList":[],"PinnedAppBarApps":[]}"#,
            "[1,2]",
        ] {
            let err = policy_from_bytes(odd.as_bytes()).unwrap_err();
            assert!(matches!(&err, Failure::Parse { what, .. } if what.contains("setup policy")), "{odd}: {err:?}");
        }
    }
}
