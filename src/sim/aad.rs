//! The identity platform's error shapes: the AADSTS catalogue the simulator answers from, and the two wire forms
//! (token-endpoint JSON and redirect parameters).
//!
//! Shapes follow Microsoft's documentation and recorded traffic (see `docs/microsoft-apis.md` A4):
//! `error`, `error_description` = `AADSTSnnnnn: message\r\nTrace ID: ..\r\nCorrelation ID: ..\r\nTimestamp: ..`,
//! `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`, optional `suberror` and `claims`.
//! This table is the simulator's own; the product's error catalogue is separate data so the two can disagree.

use serde_json::{Value, json};

use super::clock;

/// One catalogue entry: the OAuth `error` value Microsoft pairs with the code, and its message template.
/// Placeholders in braces are filled from [`Ctx`]; unknown ones stay as written.
struct Entry {
    code: u32,
    error: &'static str,
    message: &'static str,
}

const CATALOGUE: &[Entry] = &[
    Entry {
        code: 50011,
        error: "invalid_request",
        message: "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
    },
    Entry { code: 500113, error: "invalid_request", message: "No reply address is registered for the application." },
    Entry {
        code: 500112,
        error: "invalid_client",
        message: "The reply address '{redirect_uri}' does not match the reply address '{expected}' provided when requesting Authorization code.",
    },
    Entry {
        code: 700016,
        error: "unauthorized_client",
        message: "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
    },
    Entry {
        code: 7000112,
        error: "unauthorized_client",
        message: "Application '{client_id}'({app_name}) is disabled.",
    },
    Entry {
        code: 90002,
        error: "invalid_tenant",
        message: "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
    },
    Entry { code: 90094, error: "access_denied", message: "The grant requires admin permission." },
    Entry {
        code: 90093,
        error: "access_denied",
        message: "Graph is requesting permissions that the signed-in user ({upn}) cannot grant: {detail}",
    },
    Entry { code: 65004, error: "access_denied", message: "User declined to consent to access the app." },
    Entry {
        code: 65001,
        error: "invalid_grant",
        message: "The user or administrator has not consented to use the application with ID '{client_id}' named '{app_name}'. Send an interactive authorization request for this user and resource.",
    },
    Entry {
        code: 53003,
        error: "access_denied",
        message: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
    },
    Entry {
        code: 53000,
        error: "access_denied",
        message: "Device is not in required device state: compliant. Conditional Access policy requires a compliant device, and the device is not compliant. The user must enroll their device with an approved MDM provider like Intune.",
    },
    Entry {
        code: 50076,
        error: "invalid_grant",
        message: "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource}'.",
    },
    Entry {
        code: 50079,
        error: "interaction_required",
        message: "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '{resource}'.",
    },
    Entry {
        code: 50020,
        error: "access_denied",
        message: "User account '{upn}' from identity provider 'https://sts.windows.net/{home_tenant_id}/' does not exist in tenant '{tenant_name}' and cannot access the application '{client_id}'({app_name}) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.",
    },
    Entry {
        code: 50034,
        error: "invalid_grant",
        message: "The user account {upn} does not exist in the {tenant_name} directory. To sign into this application, the account must be added to the directory.",
    },
    Entry { code: 50057, error: "invalid_grant", message: "The user account is disabled." },
    Entry {
        code: 50058,
        error: "login_required",
        message: "A silent sign-in request was sent but no user is signed in.",
    },
    Entry {
        code: 50059,
        error: "invalid_request",
        message: "No tenant-identifying information found in either the request or implied by any provided credentials.",
    },
    Entry {
        code: 50105,
        error: "access_denied",
        message: "Your administrator has configured the application {app_name} ('{client_id}') to block users unless they are specifically granted ('assigned') access to the application. The signed in user '{upn}' is blocked because they are not a direct member of a group with access, nor had access directly assigned by an administrator. Please contact your administrator to assign access to this application.",
    },
    Entry {
        code: 90099,
        error: "invalid_grant",
        message: "The application '{client_id}' ({app_name}) has not been authorized in the tenant '{tenant_id}'. Applications must be authorized to access the customer tenant before partner delegated administrators can use them. Provide pre-consent or execute the appropriate Partner Center API to authorize the application.",
    },
    Entry {
        code: 54005,
        error: "invalid_grant",
        message: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
    },
    Entry {
        code: 501481,
        error: "invalid_grant",
        message: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    },
    Entry {
        code: 50148,
        error: "invalid_grant",
        message: "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
    },
    Entry {
        code: 70008,
        error: "invalid_grant",
        message: "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
    },
    Entry {
        code: 700082,
        error: "invalid_grant",
        message: "The refresh token has expired due to inactivity. The token was issued on {issued} and was inactive for 90.00:00:00.",
    },
    Entry {
        code: 50173,
        error: "invalid_grant",
        message: "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
    },
    Entry {
        code: 70043,
        error: "invalid_grant",
        message: "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.",
    },
    Entry { code: 70000, error: "invalid_grant", message: "The provided value for the 'code' parameter is not valid." },
    Entry { code: 9002313, error: "invalid_grant", message: "Invalid request. Request is malformed or invalid." },
    Entry {
        code: 700025,
        error: "invalid_client",
        message: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    },
    Entry {
        code: 7000218,
        error: "invalid_client",
        message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    },
    Entry {
        code: 7000215,
        error: "invalid_client",
        message: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
    },
    Entry {
        code: 900144,
        error: "invalid_request",
        message: "The request body must contain the following parameter: '{parameter}'.",
    },
    Entry { code: 90102, error: "invalid_request", message: "'redirect_uri' value must be a valid absolute URI." },
    Entry {
        code: 70011,
        error: "invalid_scope",
        message: "The provided value for the input parameter 'scope' isn't valid. {detail}",
    },
    Entry {
        code: 28000,
        error: "invalid_scope",
        message: "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid.",
    },
    Entry {
        code: 1002012,
        error: "invalid_scope",
        message: "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
    },
    Entry {
        code: 500011,
        error: "invalid_resource",
        message: "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
    },
    Entry {
        code: 650053,
        error: "invalid_client",
        message: "The application '{app_name}' asked for scope '{scope}' that doesn't exist on the resource '{resource}'. Contact the app vendor.",
    },
    Entry {
        code: 70003,
        error: "unsupported_grant_type",
        message: "The app requested an unsupported grant type '{grant_type}'.",
    },
    Entry {
        code: 70016,
        error: "authorization_pending",
        message: "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    },
    Entry { code: 70018, error: "bad_verification_code", message: "Invalid verification code was entered." },
    Entry { code: 70019, error: "expired_token", message: "Verification code expired." },
    Entry { code: 70020, error: "authorization_declined", message: "The user declined the authorization request." },
    Entry {
        code: 900561,
        error: "invalid_request",
        message: "The endpoint only accepts {method} requests. Received a {received} request.",
    },
    Entry {
        code: 900023,
        error: "invalid_request",
        message: "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain.",
    },
    Entry {
        code: 90014,
        error: "invalid_request",
        message: "The required field '{parameter}' is missing from the credential. Ensure that you have all the necessary parameters for the login request.",
    },
    Entry {
        code: 50126,
        error: "invalid_grant",
        message: "Error validating credentials due to invalid username or password.",
    },
    Entry {
        code: 650052,
        error: "invalid_client",
        message: "The app is trying to access a service '{resource}' that your organization '{tenant_name}' lacks a service principal for. Contact your IT Admin to review the configuration of your service subscriptions or consent to the application in order to create the required service principal.",
    },
    Entry {
        code: 70005,
        error: "unsupported_response_type",
        message: "response_type '{response_type}' is not enabled for the application.",
    },
    Entry { code: 50149, error: "invalid_request", message: "Invalid Code_Challenge_method parameter." },
    Entry {
        code: 90033,
        error: "temporarily_unavailable",
        message: "A transient error has occurred. Please try again.",
    },
    Entry {
        code: 500014,
        error: "unauthorized_client",
        message: "The service or app '{client_id}'({app_name}) is disabled.",
    },
];

/// Values the message templates may name.
#[derive(Debug, Default, Clone)]
pub struct Ctx {
    pub values: Vec<(&'static str, String)>,
}

impl Ctx {
    /// Adds a placeholder value.
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.values.push((key, value.into()));
        self
    }
}

/// An identity-platform error about to be put on the wire.
#[derive(Debug, Clone)]
pub struct AadError {
    /// The AADSTS number.
    pub code: u32,
    /// The OAuth `error` value.
    pub error: String,
    /// The message after `AADSTSnnnnn: `.
    pub message: String,
    /// Optional `suberror`.
    pub suberror: Option<String>,
    /// Optional Conditional Access `claims` challenge.
    pub claims: Option<String>,
    /// HTTP status for JSON answers.
    pub status: u16,
}

impl AadError {
    /// Builds the error for `code` from the catalogue; unknown codes get an honest generic message.
    pub fn new(code: u32, ctx: &Ctx) -> Self {
        let (error, template) = CATALOGUE
            .iter()
            .find(|e| e.code == code)
            .map_or(("invalid_request", "Simulated error {code} (not in the simulator's catalogue)."), |e| {
                (e.error, e.message)
            });
        let mut message = template.replace("{code}", &code.to_string());
        for (key, value) in &ctx.values {
            message = message.replace(&format!("{{{key}}}"), value);
        }
        let status = if error == "invalid_client" { 401 } else { 400 };
        Self { code, error: error.to_owned(), message, suberror: None, claims: None, status }
    }

    /// Replaces the `error` value (fault overrides such as `slow_down` or `temporarily_unavailable`).
    pub fn with_error(mut self, error: Option<&str>) -> Self {
        if let Some(e) = error {
            e.clone_into(&mut self.error);
        }
        self
    }

    /// Sets the `suberror`.
    pub fn with_suberror(mut self, suberror: Option<&str>) -> Self {
        self.suberror = suberror.map(str::to_owned);
        self
    }

    /// Sets the HTTP status used for JSON answers.
    pub fn with_status(mut self, status: Option<u16>) -> Self {
        if let Some(s) = status {
            self.status = s;
        }
        self
    }

    /// The ids and time stamped on one occurrence of the error.
    pub fn stamp(&self, correlation_id: Option<&str>) -> Stamp {
        let unix = clock::unix_now();
        Stamp {
            trace_id: clock::new_guid(),
            correlation_id: correlation_id.filter(|c| !c.is_empty()).map_or_else(clock::new_guid, str::to_owned),
            timestamp: clock::aad_timestamp(unix),
        }
    }

    /// `AADSTSnnnnn: message\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ...`.
    pub fn description(&self, stamp: &Stamp) -> String {
        format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.code, self.message, stamp.trace_id, stamp.correlation_id, stamp.timestamp
        )
    }

    /// The `error_uri` Microsoft adds: its own error lookup page, here the simulator's.
    pub fn error_uri(&self, login_base: &str) -> String {
        format!("{login_base}error?code={}", self.code)
    }

    /// The token-endpoint JSON body.
    pub fn json_body(&self, stamp: &Stamp, login_base: &str) -> Value {
        let mut body = json!({
            "error": self.error,
            "error_description": self.description(stamp),
            "error_codes": [self.code],
            "timestamp": stamp.timestamp,
            "trace_id": stamp.trace_id,
            "correlation_id": stamp.correlation_id,
            "error_uri": self.error_uri(login_base),
        });
        if let Some(s) = &self.suberror {
            body["suberror"] = json!(s);
        }
        if let Some(c) = &self.claims {
            body["claims"] = json!(c);
        }
        body
    }

    /// Parameters for an error redirect (`error`, `error_description`, `error_uri`).
    pub fn redirect_params(&self, stamp: &Stamp, login_base: &str) -> Vec<(String, String)> {
        vec![
            ("error".to_owned(), self.error.clone()),
            ("error_description".to_owned(), self.description(stamp)),
            ("error_uri".to_owned(), self.error_uri(login_base)),
        ]
    }
}

/// Trace id, correlation id and timestamp of one error occurrence.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub trace_id: String,
    pub correlation_id: String,
    pub timestamp: String,
}

/// The catalogue's summary line for a code, for the simulator's `/error?code=` page.
pub fn known_message(code: u32) -> Option<&'static str> {
    CATALOGUE.iter().find(|e| e.code == code).map(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_has_microsofts_layout() {
        let err = AadError::new(65004, &Ctx::default());
        let stamp = err.stamp(Some("corr-1"));
        let d = err.description(&stamp);
        assert!(d.starts_with("AADSTS65004: User declined to consent"), "{d}");
        assert!(d.contains("\r\nTrace ID: ") && d.contains("\r\nCorrelation ID: corr-1\r\nTimestamp: "), "{d}");
        let body = err.json_body(&stamp, "https://127.0.0.1:1/");
        assert_eq!(body["error"], "access_denied");
        assert_eq!(body["error_codes"], json!([65004]));
        assert_eq!(body["error_uri"], "https://127.0.0.1:1/error?code=65004");
    }

    #[test]
    fn placeholders_are_filled_and_unknown_codes_stay_honest() {
        let ctx = Ctx::default().with("client_id", "abc").with("tenant_name", "Contoso");
        let err = AadError::new(700016, &ctx);
        assert!(err.message.contains("'abc'") && err.message.contains("'Contoso'"), "{}", err.message);
        let unknown = AadError::new(12345, &ctx);
        assert!(unknown.message.contains("12345"), "{}", unknown.message);
        assert_eq!(AadError::new(7000215, &ctx).status, 401);
    }

    #[test]
    fn catalogue_has_no_duplicate_codes() {
        let mut codes: Vec<u32> = CATALOGUE.iter().map(|e| e.code).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len());
    }
}
