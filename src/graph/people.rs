//! The directory as the vendor's sync reads it: every user with name, email, job title, manager, enabled and
//! guest flags, and their photos.
//!
//! Requests are kept near the minimum Microsoft's limits allow: one `$count` for the progress bar, then pages of
//! 100 (the most Graph returns with `$expand=manager`, `docs/microsoft-apis.md` B1), and photos 20 to a `$batch`.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::batch::BatchItem;
use super::{Call, Graph, TokenSource};
use crate::wizard::{DirectoryUser, Failure, ManagerRef};

/// The users query: what the sync reads, managers expanded, the largest page Graph allows.
pub const USERS_QUERY: &str = "v1.0/users?$select=id,displayName,mail,userPrincipalName,jobTitle,department,accountEnabled,userType&$expand=manager($select=id,displayName)&$top=999";

/// The first members a delivery check samples in a customer's tenant, with what the sample needs (enabled, member).
pub const SAMPLE_QUERY: &str = "v1.0/users?$select=id,displayName,accountEnabled,userType&$top=50";

/// The photo size the preview shows.
pub const AVATAR_SIZE: &str = "48x48";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUser {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    job_title: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    account_enabled: Option<bool>,
    #[serde(default)]
    user_type: Option<String>,
    #[serde(default)]
    manager: Option<RawManager>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManager {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// A page of `/users`, read straight into users (a large directory is a thousand of these).
#[derive(Deserialize)]
struct UsersPage {
    value: Vec<RawUser>,
    #[serde(rename = "@odata.nextLink", default)]
    next: Option<String>,
}

/// One user of a `/users` page; a user without an `id` is a broken answer.
pub fn directory_user(v: &Value) -> Result<DirectoryUser, Failure> {
    let raw = RawUser::deserialize(v).map_err(|e| Failure::Parse {
        what: "a user in the Graph users page".into(),
        excerpt: format!("{e}: {}", v.to_string().chars().take(160).collect::<String>()),
    })?;
    Ok(raw.into())
}

impl From<RawUser> for DirectoryUser {
    fn from(raw: RawUser) -> Self {
        Self {
            display_name: raw.display_name.unwrap_or_default(),
            user_principal_name: raw.user_principal_name.unwrap_or_default(),
            mail: raw.mail.filter(|m| !m.is_empty()),
            job_title: raw.job_title.filter(|t| !t.trim().is_empty()),
            department: raw.department.filter(|d| !d.trim().is_empty()),
            manager: raw.manager.map(|m| ManagerRef { display_name: m.display_name.unwrap_or_default(), id: m.id }),
            // Absent means Graph did not say; an account is enabled unless it says otherwise.
            enabled: raw.account_enabled.unwrap_or(true),
            guest: raw.user_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("Guest")),
            id: raw.id,
        }
    }
}

impl Graph {
    /// How many users the directory has (`GET /users/$count`, eventual consistency).
    pub async fn count_users(&self, tokens: &dyn TokenSource) -> Result<u64, Failure> {
        self.count(tokens, &Call::get("v1.0/users/$count").eventual()).await
    }

    /// The plain-text number a `$count` path answers.
    pub(crate) async fn count(&self, tokens: &dyn TokenSource, call: &Call) -> Result<u64, Failure> {
        let answer = self.send(tokens, call).await?;
        let text = String::from_utf8_lossy(&answer.body);
        text.trim()
            .parse()
            .map_err(|_| Failure::Parse { what: "Graph user count".into(), excerpt: text.chars().take(80).collect() })
    }

    /// One page of users from `call` (start with [`USERS_QUERY`]), and the call for the next page.
    pub async fn users_page(
        &self,
        tokens: &dyn TokenSource,
        call: &Call,
    ) -> Result<(Vec<DirectoryUser>, Option<Call>), Failure> {
        let answer = self.send(tokens, call).await?;
        let page: UsersPage = super::parse_json(&answer.body, "Graph users page")?;
        let next = super::next_call(call, page.next.as_deref())?;
        Ok((page.value.into_iter().map(DirectoryUser::from).collect(), next))
    }

    /// Small photos of `ids` (20 to a batch): bytes, `None` when the user has no photo, or why not.
    pub async fn avatars(
        &self,
        tokens: &dyn TokenSource,
        ids: &[String],
    ) -> Result<Vec<(String, Result<Option<Vec<u8>>, Failure>)>, Failure> {
        let items: Vec<BatchItem> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| BatchItem::get(format!("p{i}"), format!("/users/{id}/photos/{AVATAR_SIZE}/$value")))
            .collect();
        let replies = self.batch(tokens, &items).await?;
        Ok(replies
            .into_iter()
            .zip(ids)
            .map(|(reply, id)| {
                let result = match reply.result {
                    Ok(Value::String(b64)) => {
                        base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()).map(Some).map_err(|e| {
                            Failure::Parse { what: "a photo in a Graph batch answer".into(), excerpt: e.to_string() }
                        })
                    }
                    Ok(other) => Err(Failure::Parse {
                        what: "a photo in a Graph batch answer".into(),
                        excerpt: format!(
                            "expected base64 image bytes, got {}",
                            other.to_string().chars().take(60).collect::<String>()
                        ),
                    }),
                    Err(Failure::Graph(e)) if e.status == 404 => Ok(None),
                    Err(f) => Err(f),
                };
                (id.clone(), result)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn users_read_missing_fields_as_gaps_and_reject_users_without_id() {
        let u = directory_user(&json!({
            "id": "1", "displayName": "Ana", "mail": null, "jobTitle": "  ", "userType": "Guest",
            "accountEnabled": false, "manager": { "id": "2", "displayName": "Bo" }, "department": " "
        }))
        .unwrap();
        assert!(crate::wizard::Gap::NoDepartment.applies(&u));
        assert_eq!((u.mail, u.job_title, u.department, u.guest, u.enabled), (None, None, None, true, false));
        let sales = directory_user(&json!({ "id": "4", "department": "Sales" })).unwrap();
        assert_eq!(sales.department.as_deref(), Some("Sales"));
        assert!(USERS_QUERY.contains("department"), "the preview asks for it");
        assert_eq!(u.manager.unwrap().display_name, "Bo");
        let plain = directory_user(&json!({ "id": "3" })).unwrap();
        assert!(plain.enabled && !plain.guest && plain.manager.is_none());
        assert!(matches!(directory_user(&json!({ "displayName": "no id" })), Err(Failure::Parse { .. })));
        assert!(matches!(directory_user(&json!("not an object")), Err(Failure::Parse { .. })));
    }
}
