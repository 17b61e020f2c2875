//! The Teams app catalog and per-user installs on Graph (`docs/microsoft-apis.md` B4).
//!
//! A store app's catalog id is its manifest id and its `externalId` is empty; an organization app has a generated
//! id and the manifest id in `externalId`. So the vendor app is looked up both ways, in one `$batch`.

use serde_json::{Value, json};

use crate::graph::batch::{BatchItem, ItemReply};
use crate::graph::{Call, Graph, TokenSource, parse_json};
use crate::wizard::{CatalogEntry, Failure, PublishingState};

/// The signed-in user, where a user id is expected.
pub const SIGNED_IN: &str = "me";

/// The user part of a Graph path: [`SIGNED_IN`] is `me` (Graph documents `/users/{id | userPrincipalName}` and
/// `/me`, not a user called `me` under `/users`); any other user is `users/{id}`.
fn user_path(user: &str) -> String {
    if user == SIGNED_IN { SIGNED_IN.to_owned() } else { format!("users/{}", crate::query::value(user)) }
}

/// An install for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    New,
    /// Graph answered 409: the user had it.
    Already,
}

/// The newest definition of a `teamsApp` (with `$expand=appDefinitions`) as a catalog entry.
fn entry(app: &Value) -> Option<CatalogEntry> {
    let id = app.get("id")?.as_str()?.to_owned();
    let latest = app.get("appDefinitions").and_then(Value::as_array).and_then(|d| d.last());
    let state = match latest.and_then(|d| d.get("publishingState")).and_then(Value::as_str) {
        Some("submitted") => PublishingState::Submitted,
        Some("rejected") => PublishingState::Rejected,
        _ => PublishingState::Published,
    };
    let version = latest.and_then(|d| d.get("version")).and_then(Value::as_str).unwrap_or_default().to_owned();
    Some(CatalogEntry { catalog_id: id, version, state })
}

fn first_entry(reply: Option<&ItemReply>) -> Result<Option<CatalogEntry>, Failure> {
    match reply.map(|r| &r.result) {
        Some(Ok(v)) => Ok(v.get("value").and_then(Value::as_array).and_then(|a| a.first()).and_then(entry)),
        Some(Err(f)) => Err(f.clone()),
        None => Ok(None),
    }
}

impl Graph {
    /// The vendor app as a store app and as an organization app (either may be absent).
    pub async fn find_teams_app(
        &self,
        tokens: &dyn TokenSource,
        manifest_id: &str,
    ) -> Result<(Option<CatalogEntry>, Option<CatalogEntry>), Failure> {
        let by = |field: &str| {
            format!(
                "/appCatalogs/teamsApps?$filter={}&$expand=appDefinitions",
                crate::query::value(&format!("{field} eq '{manifest_id}'"))
            )
        };
        let replies =
            self.batch(tokens, &[BatchItem::get("store", by("id")), BatchItem::get("org", by("externalId"))]).await?;
        let store = first_entry(replies.iter().find(|r| r.id == "store"))?;
        let org = first_entry(replies.iter().find(|r| r.id == "org"))?;
        // The id filter also matches an organization app whose generated id happens to be the manifest id.
        let store = store.filter(|s| org.as_ref().is_none_or(|o| o.catalog_id != s.catalog_id));
        Ok((store, org))
    }

    /// True when `user` has one of `catalog_ids` installed.
    pub async fn user_has_app(
        &self,
        tokens: &dyn TokenSource,
        user: &str,
        catalog_ids: &[String],
    ) -> Result<bool, Failure> {
        let mut found = false;
        let first = Call::get(format!("v1.0/{}/teamwork/installedApps?$expand=teamsApp", user_path(user)));
        self.pages(tokens, first, |page| {
            found |= page.items.iter().any(|i| {
                i.get("teamsApp")
                    .and_then(|a| a.get("id"))
                    .and_then(Value::as_str)
                    .is_some_and(|id| catalog_ids.iter().any(|c| c.eq_ignore_ascii_case(id)))
            });
            !found
        })
        .await?;
        Ok(found)
    }

    /// Uploads a package as a new organization app (`POST /appCatalogs/teamsApps`).
    pub async fn publish_app(
        &self,
        tokens: &dyn TokenSource,
        zip: Vec<u8>,
        version: &str,
    ) -> Result<CatalogEntry, Failure> {
        let answer = self.send(tokens, &Call::post_raw("v1.0/appCatalogs/teamsApps", zip, "application/zip")).await?;
        let app: Value = parse_json(&answer.body, "Graph answer to the app upload")?;
        let id = app.get("id").and_then(Value::as_str).ok_or_else(|| Failure::Parse {
            what: "Graph answer to the app upload".into(),
            excerpt: "the answer has no app id".into(),
        })?;
        Ok(CatalogEntry { catalog_id: id.to_owned(), version: version.to_owned(), state: PublishingState::Published })
    }

    /// Publishes a package as a new version of an organization app.
    pub async fn publish_app_version(
        &self,
        tokens: &dyn TokenSource,
        catalog_id: &str,
        zip: Vec<u8>,
        version: &str,
    ) -> Result<CatalogEntry, Failure> {
        let target = format!("v1.0/appCatalogs/teamsApps/{}/appDefinitions", crate::query::value(catalog_id));
        let answer = self.send(tokens, &Call::post_raw(target, zip, "application/zip")).await?;
        let state = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|d| d.get("publishingState").and_then(Value::as_str).map(str::to_owned));
        let state =
            if state.as_deref() == Some("submitted") { PublishingState::Submitted } else { PublishingState::Published };
        Ok(CatalogEntry { catalog_id: catalog_id.to_owned(), version: version.to_owned(), state })
    }

    fn install_body(&self, catalog_id: &str) -> Value {
        json!({ "teamsApp@odata.bind": format!("{}v1.0/appCatalogs/teamsApps/{catalog_id}", self.base()) })
    }

    /// One `GET` per user (`path` of the user's part of a path), twenty to a `$batch`, each answer read by `read`;
    /// a refusal is that user's answer.
    async fn read_per_user<T>(
        &self,
        tokens: &dyn TokenSource,
        users: &[String],
        path: impl Fn(&str) -> String,
        read: impl Fn(&Value) -> T,
    ) -> Result<Vec<(String, Result<T, Failure>)>, Failure> {
        let items: Vec<BatchItem> =
            users.iter().enumerate().map(|(i, u)| BatchItem::get(format!("r{i}"), path(&user_path(u)))).collect();
        let replies = self.batch(tokens, &items).await?;
        Ok(replies.into_iter().zip(users).map(|(r, u)| (u.clone(), r.result.map(|v| read(&v)))).collect())
    }

    /// Whether each of `users` has the app of manifest id `manifest_id` (`installedApps` filtered by the app's
    /// external id).
    pub async fn users_with_app(
        &self,
        tokens: &dyn TokenSource,
        users: &[String],
        manifest_id: &str,
    ) -> Result<Vec<(String, Result<bool, Failure>)>, Failure> {
        let filter = crate::query::value(&format!("teamsApp/externalId eq '{}'", manifest_id.replace('\'', "''")));
        let path = |user: &str| format!("/{user}/teamwork/installedApps?$expand=teamsApp&$filter={filter}");
        let has = |v: &Value| v.get("value").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        self.read_per_user(tokens, users, path, has).await
    }

    /// Whether each of `users` holds a licence with Microsoft Teams (a service plan whose name starts with `TEAMS`,
    /// not disabled), from their `licenseDetails`.
    pub async fn users_with_teams(
        &self,
        tokens: &dyn TokenSource,
        users: &[String],
    ) -> Result<Vec<(String, Result<bool, Failure>)>, Failure> {
        let teams = |v: &Value| {
            v.get("value").and_then(Value::as_array).is_some_and(|licences| {
                licences.iter().flat_map(|l| l.get("servicePlans").and_then(Value::as_array).into_iter().flatten()).any(
                    |p| {
                        p.get("servicePlanName").and_then(Value::as_str).is_some_and(|n| n.starts_with("TEAMS"))
                            && p.get("provisioningStatus").and_then(Value::as_str) != Some("Disabled")
                    },
                )
            })
        };
        self.read_per_user(tokens, users, |user| format!("/{user}/licenseDetails"), teams).await
    }

    /// Installs the app for one user; "already installed" (409) is success.
    pub async fn install_app(
        &self,
        tokens: &dyn TokenSource,
        user: &str,
        catalog_id: &str,
    ) -> Result<Installed, Failure> {
        let call =
            Call::post(format!("v1.0/{}/teamwork/installedApps", user_path(user)), self.install_body(catalog_id));
        match self.send(tokens, &call).await {
            Ok(_) => Ok(Installed::New),
            Err(Failure::Graph(e)) if e.status == 409 => Ok(Installed::Already),
            Err(f) => Err(f),
        }
    }

    /// Installs the app for `users`, 20 to a `$batch`; with `retry_throttled`, each throttled item is sent again as
    /// Microsoft asks, else its 429 (with `Retry-After`) is its result, for a caller that schedules retries.
    pub async fn install_app_batch(
        &self,
        tokens: &dyn TokenSource,
        users: &[String],
        catalog_id: &str,
        retry_throttled: bool,
    ) -> Result<Vec<(String, Result<Installed, Failure>)>, Failure> {
        let items: Vec<BatchItem> = users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                BatchItem::post(
                    format!("u{i}"),
                    format!("/{}/teamwork/installedApps", user_path(u)),
                    self.install_body(catalog_id),
                )
            })
            .collect();
        let replies =
            if retry_throttled { self.batch(tokens, &items).await? } else { self.batch_once(tokens, &items).await? };
        Ok(replies
            .into_iter()
            .zip(users)
            .map(|(r, u)| {
                let result = match r.result {
                    Ok(_) => Ok(Installed::New),
                    Err(Failure::Graph(e)) if e.status == 409 => Ok(Installed::Already),
                    Err(f) => Err(f),
                };
                (u.clone(), result)
            })
            .collect())
    }
}
