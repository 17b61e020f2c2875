//! OAuth against the Microsoft identity platform: oauth2-rs wired to our one reqwest stack, with Microsoft's
//! token and error response fields; the loopback listener; the sign-in, device-code, refresh and admin-consent
//! conversations; token storage.
//!
//! It does not open browsers or decide what happens next: the shell runs these conversations when the wizard
//! asks, and reports their typed results back.

pub mod loopback;
pub mod signin;
pub mod vault;

use std::fmt;

use oauth2::basic::{BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType};
use oauth2::{
    AuthUrl, DeviceAuthorizationUrl, EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

/// Fields Microsoft adds to a token response.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MsExtraFields {
    /// Seconds the access token stays usable during an outage of the token service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_expires_in: Option<u64>,
    /// The OpenID Connect id token (when `openid` was asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdToken>,
    /// Base64url `{"uid","utid"}` (when `client_info=1` was sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

impl ExtraTokenFields for MsExtraFields {}

/// An id token: a signed statement about the user. Kept out of logs like the other tokens (docs/STYLE.md rule 11).
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct IdToken(String);

impl IdToken {
    /// The compact JWT, for parsing its claims. Never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdToken([redacted])")
    }
}

/// A Microsoft token response.
pub type MsTokenResponse = StandardTokenResponse<MsExtraFields, BasicTokenType>;

/// The identity platform's error body, with every field Microsoft sends (oauth2-rs's basic error keeps only
/// `error`, `error_description` and `error_uri`). Branch on `error` and `error_codes`, never on the description.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct MsErrorResponse {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_codes: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suberror: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// A Conditional Access claims challenge to replay on the next authorize request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
}

impl fmt::Display for MsErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(code) = self.error_codes.first() {
            write!(f, " (AADSTS{code})")?;
        }
        Ok(())
    }
}

impl oauth2::ErrorResponse for MsErrorResponse {}

/// oauth2-rs's client with Microsoft's response types.
pub type MsClient<
    HasAuthUrl = EndpointNotSet,
    HasDeviceAuthUrl = EndpointNotSet,
    HasIntrospectionUrl = EndpointNotSet,
    HasRevocationUrl = EndpointNotSet,
    HasTokenUrl = EndpointNotSet,
> = oauth2::Client<
    MsErrorResponse,
    MsTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    HasDeviceAuthUrl,
    HasIntrospectionUrl,
    HasRevocationUrl,
    HasTokenUrl,
>;

/// A client with the authorize, device-code and token endpoints set.
pub type MsPublicClient = MsClient<EndpointSet, EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The identity platform's endpoints for one authority (`https://login.microsoftonline.com/` + tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// The login host, ending in `/`.
    pub login_base: String,
    /// `organizations`, a tenant id or a verified domain.
    pub tenant: String,
}

/// An endpoint URL that does not parse (a bad login base in configuration).
#[derive(Debug, thiserror::Error)]
#[error("the identity platform URL '{url}' is not valid")]
pub struct BadEndpoint {
    pub url: String,
}

impl Authority {
    /// The endpoint at `path` under this authority.
    fn endpoint(&self, path: &str) -> String {
        format!("{}{}/{path}", self.login_base, self.tenant)
    }

    /// `/{tenant}/oauth2/v2.0/authorize`.
    pub fn authorize_url(&self) -> String {
        self.endpoint("oauth2/v2.0/authorize")
    }

    /// `/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        self.endpoint("oauth2/v2.0/token")
    }

    /// `/{tenant}/oauth2/v2.0/devicecode`.
    pub fn device_code_url(&self) -> String {
        self.endpoint("oauth2/v2.0/devicecode")
    }

    /// A public client (no secret) for `client_id` with this authority's endpoints.
    pub fn public_client(&self, client_id: &str) -> Result<MsPublicClient, BadEndpoint> {
        let bad = |url: String| BadEndpoint { url };
        Ok(MsClient::new(oauth2::ClientId::new(client_id.to_owned()))
            .set_auth_uri(AuthUrl::new(self.authorize_url()).map_err(|_| bad(self.authorize_url()))?)
            .set_token_uri(TokenUrl::new(self.token_url()).map_err(|_| bad(self.token_url()))?)
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(self.device_code_url()).map_err(|_| bad(self.device_code_url()))?,
            ))
    }
}

/// Why one OAuth HTTP exchange failed before an answer could be read.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("could not reach the identity platform")]
    Transport(#[from] reqwest::Error),
    #[error("the identity platform's answer could not be read")]
    Response(#[from] http::Error),
}

/// A boxed, `Send` exchange future: what [`exchanger`] returns, so token requests can run in spawned tasks.
pub type Exchange = std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpResponse, ExchangeError>> + Send>>;

/// An oauth2-rs HTTP client over our reqwest client whose futures are `Send + 'static`. Use as
/// `.request_async(&auth::exchanger(&http))`.
pub fn exchanger(http: &reqwest::Client) -> impl Fn(HttpRequest) -> Exchange + Send + Sync + use<> {
    let http = http.clone();
    move |request| {
        let http = http.clone();
        Box::pin(async move { send(&http, request).await })
    }
}

/// Sends one oauth2-rs request through our reqwest client (which must not follow redirects: build it with
/// [`crate::http::Purpose::Auth`]). Use as `.request_async(&|r| auth::send(&client, r))`.
pub async fn send(client: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, ExchangeError> {
    let request: reqwest::Request = request.try_into()?;
    let answer = crate::http::execute(client, request).await?;
    let mut builder = http::Response::builder().status(answer.status).version(answer.version);
    for (name, value) in &answer.headers {
        builder = builder.header(name, value);
    }
    Ok(builder.body(answer.body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_error_body_keeps_every_field() {
        let body = r#"{"error":"invalid_grant","error_description":"AADSTS65001: x","error_codes":[65001],
            "timestamp":"2026-01-01 00:00:00Z","trace_id":"t","correlation_id":"c","suberror":"consent_required",
            "error_uri":"https://login.microsoftonline.com/error?code=65001"}"#;
        let e: MsErrorResponse = serde_json::from_str(body).unwrap();
        assert_eq!(e.error_codes, [65001]);
        assert_eq!(e.suberror.as_deref(), Some("consent_required"));
        assert_eq!(e.to_string(), "invalid_grant (AADSTS65001)");
    }

    #[test]
    fn authority_builds_microsoft_endpoint_paths() {
        let a = Authority { login_base: "https://login.microsoftonline.com/".into(), tenant: "organizations".into() };
        assert_eq!(a.token_url(), "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
        assert_eq!(a.device_code_url(), "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode");
        a.public_client("3e8b4f21-6a7c-4d15-b9e2-8f0a1c3d5e72").unwrap();
        let bad = Authority { login_base: "not a url/".into(), tenant: "x".into() };
        assert!(bad.public_client("id").is_err());
    }

    #[test]
    fn token_debug_output_is_redacted() {
        let body = r#"{"access_token":"SECRET-AT","token_type":"Bearer","expires_in":3599,"refresh_token":"SECRET-RT",
            "id_token":"x.y.z","ext_expires_in":3599}"#;
        let t: MsTokenResponse = serde_json::from_str(body).unwrap();
        let debug = format!("{t:?}");
        assert!(!debug.contains("SECRET-AT") && !debug.contains("SECRET-RT") && !debug.contains("x.y.z"), "{debug}");
        assert_eq!(t.extra_fields().id_token.as_ref().map(IdToken::secret), Some("x.y.z"));
    }
}
