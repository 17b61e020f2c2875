//! Microsoft Graph over the one HTTP stack: typed reads, Graph's error envelope parsed into the wizard's failure,
//! a fresh `client-request-id` on every call so support can find it in Microsoft's logs.
//!
//! It owns request shapes and answer parsing; it does not hold or refresh tokens (the caller passes one).

use serde::Deserialize;
use serde_json::Value;

use crate::secret::Secret;
use crate::wizard::{Failure, GraphError};

/// A Graph client for one base URL (`https://graph.microsoft.com/` or the simulator's).
#[derive(Debug, Clone)]
pub struct Graph {
    http: reqwest::Client,
    base: String,
}

/// The signed-in user (`GET /me`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
}

/// The tenant (`GET /organization`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub display_name: Option<String>,
    /// The initial `*.onmicrosoft.com` domain.
    pub initial_domain: Option<String>,
    pub default_domain: Option<String>,
}

/// A service principal (enterprise application).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "innerError")]
    inner_error: Option<InnerError>,
}

#[derive(Deserialize)]
struct InnerError {
    #[serde(default)]
    date: Option<String>,
    #[serde(default, rename = "request-id")]
    request_id: Option<String>,
    #[serde(default, rename = "client-request-id")]
    client_request_id: Option<String>,
}

impl Graph {
    /// A client for `base` (ending in `/`), using an [`crate::http::Purpose::Api`] client.
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        let base = if base.ends_with('/') { base.to_owned() } else { format!("{base}/") };
        Self { http, base }
    }

    /// `GET {base}{path}` with the bearer token; the JSON answer or a typed failure.
    pub async fn get(&self, token: &Secret, path: &str) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let client_request_id = crate::http::new_request_id();
        let operation = format!("GET /{}", path.split('?').next().unwrap_or(path));
        let response = self
            .http
            .get(&url)
            .bearer_auth(token.expose())
            .header("client-request-id", &client_request_id)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| crate::http::transport_failure(&e))?;
        let status = response.status();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let request_id = header("request-id");
        let body = response.bytes().await.map_err(|e| crate::http::transport_failure(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| Failure::Parse {
                what: format!("Graph answer to {operation}"),
                excerpt: format!("{e}: {}", String::from_utf8_lossy(&body).chars().take(200).collect::<String>()),
            });
        }
        let parsed: Option<Envelope> = serde_json::from_slice(&body).ok();
        Err(Failure::Graph(match parsed {
            Some(Envelope { error }) => {
                let inner = error.inner_error;
                GraphError {
                    status: status.as_u16(),
                    code: error.code,
                    message: error.message,
                    request_id: inner.as_ref().and_then(|i| i.request_id.clone()).or(request_id),
                    client_request_id: inner
                        .as_ref()
                        .and_then(|i| i.client_request_id.clone())
                        .or(Some(client_request_id)),
                    date: inner.and_then(|i| i.date),
                    operation,
                }
            }
            None => GraphError {
                status: status.as_u16(),
                code: format!("HTTP{}", status.as_u16()),
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
                request_id,
                client_request_id: Some(client_request_id),
                date: None,
                operation,
            },
        }))
    }

    /// `GET /v1.0/me`.
    pub async fn me(&self, token: &Secret) -> Result<Me, Failure> {
        let v = self.get(token, "v1.0/me?$select=id,displayName,userPrincipalName,mail").await?;
        serde_json::from_value(v).map_err(|e| Failure::Parse { what: "Graph /me".into(), excerpt: e.to_string() })
    }

    /// The signed-in user's directory role names (`GET /me/transitiveMemberOf/microsoft.graph.directoryRole`).
    pub async fn my_directory_roles(&self, token: &Secret) -> Result<Vec<String>, Failure> {
        let v = self
            .get(token, "v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=displayName,roleTemplateId")
            .await?;
        let items = v.get("value").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(items
            .iter()
            .filter_map(|r| {
                r.get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| r.get("roleTemplateId").and_then(Value::as_str).and_then(role_name).map(str::to_owned))
            })
            .collect())
    }

    /// The signed-in user's tenant (`GET /organization`).
    pub async fn organization(&self, token: &Secret) -> Result<Option<Organization>, Failure> {
        let v = self.get(token, "v1.0/organization?$select=id,displayName,verifiedDomains").await?;
        let Some(org) = v.get("value").and_then(Value::as_array).and_then(|a| a.first()) else {
            return Ok(None);
        };
        let domains = org.get("verifiedDomains").and_then(Value::as_array).cloned().unwrap_or_default();
        let domain_where = |flag: &str| {
            domains
                .iter()
                .find(|d| d.get(flag).and_then(Value::as_bool) == Some(true))
                .and_then(|d| d.get("name").and_then(Value::as_str))
                .map(str::to_owned)
        };
        Ok(Some(Organization {
            id: org.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            display_name: org.get("displayName").and_then(Value::as_str).map(str::to_owned),
            initial_domain: domain_where("isInitial"),
            default_domain: domain_where("isDefault"),
        }))
    }

    /// The service principal of `app_id` in the signed-in tenant, if consent created one
    /// (`GET /servicePrincipals?$filter=appId eq '…'`).
    pub async fn service_principal(&self, token: &Secret, app_id: &str) -> Result<Option<ServicePrincipal>, Failure> {
        let filter: String = url::form_urlencoded::byte_serialize(format!("appId eq '{app_id}'").as_bytes()).collect();
        let v = self
            .get(token, &format!("v1.0/servicePrincipals?$filter={filter}&$select=id,appId,displayName,accountEnabled"))
            .await?;
        let first = v.get("value").and_then(Value::as_array).and_then(|a| a.first()).cloned();
        first
            .map(|sp| {
                serde_json::from_value(sp)
                    .map_err(|e| Failure::Parse { what: "Graph servicePrincipals".into(), excerpt: e.to_string() })
            })
            .transpose()
    }
}

/// Entra's built-in role names by template id (for answers that carry only the template id, and `wids` claims).
pub fn role_name(template_id: &str) -> Option<&'static str> {
    const ROLES: &[(&str, &str)] = &[
        ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
        ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator"),
        ("158c047a-c907-4556-b7ef-446551a6b5f7", "Cloud Application Administrator"),
        ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator"),
        ("69091246-20e8-4a56-aa4d-066075b2a7a8", "Teams Administrator"),
        ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
        ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    ];
    ROLES.iter().find(|(id, _)| id.eq_ignore_ascii_case(template_id)).map(|(_, n)| *n)
}
