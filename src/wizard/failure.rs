//! Why a step failed, as typed data the wizard can branch on and the UI can explain.
//!
//! Clients turn Microsoft's answers into these values; the wizard decides on them (a Conditional Access block
//! switches sign-in to device code; `consent_required` asks for an approval); the diagnostics catalogue turns
//! them into words. Nothing here holds a token or a code.

use serde::{Deserialize, Serialize};

/// A failure of one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// Microsoft's identity platform (or another OpenID provider) refused, with an OAuth error.
    Identity(IdentityError),
    /// Microsoft Graph refused.
    Graph(GraphError),
    /// The network, proxy or TLS failed before an answer arrived.
    Transport(TransportError),
    /// An answer arrived but could not be read.
    Parse {
        /// What was being read.
        what: String,
        /// The start of the answer (already free of secrets: error bodies and discovery documents only).
        excerpt: String,
    },
    /// Something the wizard itself decided (timeouts, expiry, no browser).
    Local(LocalFailure),
}

/// An OAuth error from the identity platform: from the token endpoint's JSON or a redirect's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityError {
    /// OAuth `error`, e.g. `invalid_grant`.
    pub error: String,
    /// Microsoft's AADSTS numbers (first is the one that matters).
    pub error_codes: Vec<u32>,
    /// `suberror`, e.g. `consent_required`, `basic_action`.
    pub suberror: Option<String>,
    /// `error_description` as Microsoft wrote it.
    pub description: Option<String>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub timestamp: Option<String>,
    pub error_uri: Option<String>,
    /// Where it came from, e.g. `token endpoint`, `sign-in redirect`, `admin consent redirect`.
    pub source: String,
}

/// A Graph error envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphError {
    pub status: u16,
    /// `error.code`, e.g. `Authorization_RequestDenied`.
    pub code: String,
    /// `error.innerError.code` when Microsoft gives a more specific one, e.g. `AccessDenied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub date: Option<String>,
    /// What was being asked, e.g. `GET /v1.0/servicePrincipals`.
    pub operation: String,
    /// Throttled or unavailable after the retries: how long Microsoft last asked to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// What a Teams refusal means, told by Microsoft's message (Graph and the Teams admin API answer these with a
/// generic code: 403 `Forbidden`, 400 `BadRequest`, 404 `NotFound`). The error catalogue words the same messages;
/// this is for the decisions the wizard takes on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamsRefusal {
    /// The app is blocked (by the admin, or by an app permission policy).
    Blocked,
    /// The app is not available to the user.
    NotAvailable,
    NoTeamsLicence,
    /// The bot service's "The tenant admin disabled this bot" (`BotDisabledByAdmin`): the app is blocked or not
    /// available to the user. Graph's installs do not say it; MSPbots' service hears it when it messages a user.
    BotDisabled,
    /// An app-centric tenant refuses new installed apps in setup policies.
    NewInstallsInPolicy,
}

impl TeamsRefusal {
    /// A refusal the app's availability in the Teams admin center fixes (not the user's licence, not the policy
    /// model): its admin-center page and the script are the fix.
    pub fn is_availability(self) -> bool {
        match self {
            Self::Blocked | Self::NotAvailable | Self::BotDisabled => true,
            Self::NoTeamsLicence | Self::NewInstallsInPolicy => false,
        }
    }
}

/// Message fragments (lower case) and what they mean, most specific first.
const TEAMS_REFUSALS: &[(&str, TeamsRefusal)] = &[
    ("apppresetlist", TeamsRefusal::NewInstallsInPolicy),
    ("blocked by app permission policy", TeamsRefusal::Blocked),
    ("blocked by the tenant admin", TeamsRefusal::Blocked),
    ("not available to this user", TeamsRefusal::NotAvailable),
    ("not licensed for microsoft teams", TeamsRefusal::NoTeamsLicence),
    ("tenant admin disabled this bot", TeamsRefusal::BotDisabled),
];

/// A failure before any answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportError {
    pub kind: TransportKind,
    /// The host that could not be reached.
    pub host: String,
    /// The underlying error, in words.
    pub detail: String,
    /// The proxy the request went through (`http://host:port`, never credentials), when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

/// Which part of the connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    Dns,
    Connect,
    Tls,
    Timeout,
    Proxy,
    Other,
}

/// Failures the wizard decides on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LocalFailure {
    /// Nobody finished signing in in the browser in time.
    SignInTimedOut { minutes: u64 },
    /// Nobody finished the consent page in time.
    ConsentTimedOut { minutes: u64 },
    /// The device code expired before anyone used it.
    DeviceCodeExpired,
    /// No browser could be opened on this computer.
    NoBrowser { detail: String },
    /// The loopback listener could not be started.
    ListenerUnavailable { detail: String },
    /// Consent was granted but the tenant still does not show it.
    ReplicationTimedOut { minutes: u64 },
    /// The sign-in answer did not belong to this sign-in (nonce).
    TokenMismatch { detail: String },
    /// Consent finished, yet these permissions were still missing when re-checks ran out of patience.
    PermissionsStillMissing { minutes: u64, names: Vec<String> },
    /// The Teams app cannot be set up automatically; `code` names why (see [`crate::wizard::Blocker::code`]).
    TeamsAppBlocked { code: String },
    /// The setup policy was written, but reading it back did not show the change.
    PolicyNotVisible,
    /// The Teams admin API answered in a shape the setup tool does not know.
    PolicyShapeUnknown { detail: String },
    /// No Teams admin API is known for this environment (its host in the tenant's cloud is not known).
    PolicyApiUnavailable,
}

/// AADSTS90099: the tenant has not authorized the app for a partner's (GDAP) account.
const PARTNER_APP_NOT_APPROVED: u32 = 90099;

/// Conditional Access codes on which sign-in switches to the other method (`docs/field-notes.md` #2).
const CONDITIONAL_ACCESS: [u32; 2] = [53003, 53000];

impl Failure {
    /// The first AADSTS number, if the identity platform sent one.
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            Self::Identity(e) => e.error_codes.first().copied(),
            _ => None,
        }
    }

    /// A blocked-by-Conditional-Access answer.
    pub fn is_conditional_access(&self) -> bool {
        self.aadsts().is_some_and(|c| CONDITIONAL_ACCESS.contains(&c))
    }

    /// The identity platform says the app lacks consent for what was asked (AADSTS65001 / `consent_required`).
    pub fn is_consent_required(&self) -> bool {
        match self {
            Self::Identity(e) => {
                e.error_codes.contains(&65001)
                    || e.suberror.as_deref() == Some("consent_required")
                    || e.error == "consent_required"
            }
            _ => false,
        }
    }

    /// The person declined the permissions asked (AADSTS65004), or may not approve them and an admin must
    /// (AADSTS90094, 90095; 65001 when no consent page could be shown).
    pub fn is_approval_refused(&self) -> bool {
        self.aadsts().is_some_and(|c| [65004, 90094, 90095].contains(&c)) || self.is_consent_required()
    }

    /// The tenant refuses a partner's (GDAP) account an app it has not approved (AADSTS90099).
    pub fn is_partner_app_not_approved(&self) -> bool {
        self.aadsts() == Some(PARTNER_APP_NOT_APPROVED)
    }

    /// Only an interactive sign-in can get past this: consent needed, the session expired or was revoked, or MFA
    /// or Conditional Access must be satisfied in the browser. Not a tenant refusing a partner's account an app it
    /// has not approved (AADSTS90099): no sign-in gets past that, only the customer's admin approving the app.
    pub fn needs_interactive_sign_in(&self) -> bool {
        match self {
            Self::Identity(_) if self.is_partner_app_not_approved() => false,
            Self::Identity(e) => {
                self.is_consent_required()
                    || e.error == "interaction_required"
                    || (e.error == "invalid_grant" && e.source == "token endpoint")
            }
            _ => false,
        }
    }

    /// What a Teams refusal means, when its code or (behind a generic code) its message says.
    pub fn teams_refusal(&self) -> Option<TeamsRefusal> {
        self.teams_refusal_said().map(|(_, r)| r)
    }

    /// [`Failure::teams_refusal`] with the words of Microsoft's message that told it (fixed wording, no customer
    /// detail: a bundle with customer details hidden keeps them).
    pub fn teams_refusal_said(&self) -> Option<(&'static str, TeamsRefusal)> {
        let Self::Graph(e) = self else { return None };
        if e.code.eq_ignore_ascii_case("BotDisabledByAdmin") {
            return Some(("BotDisabledByAdmin", TeamsRefusal::BotDisabled));
        }
        if !matches!(e.code.as_str(), "Forbidden" | "BadRequest" | "NotFound" | "AccessDenied") {
            return None;
        }
        let message = e.message.to_lowercase();
        TEAMS_REFUSALS.iter().find(|(fragment, _)| message.contains(fragment)).copied()
    }

    /// A short machine-readable code: `AADSTS53003`, `Authorization_RequestDenied`, `timeout`, `sign_in_timed_out`.
    pub fn code(&self) -> String {
        match self {
            Self::Identity(e) => e.error_codes.first().map_or_else(|| e.error.clone(), |c| format!("AADSTS{c}")),
            Self::Graph(e) => e.code.clone(),
            Self::Transport(t) => match t.kind {
                TransportKind::Dns => "dns".to_owned(),
                TransportKind::Connect => "connect".to_owned(),
                TransportKind::Tls => "tls".to_owned(),
                TransportKind::Timeout => "timeout".to_owned(),
                TransportKind::Proxy => "proxy".to_owned(),
                TransportKind::Other => "transport".to_owned(),
            },
            Self::Parse { .. } => "unreadable_answer".to_owned(),
            Self::Local(l) => match l {
                LocalFailure::SignInTimedOut { .. } => "sign_in_timed_out",
                LocalFailure::ConsentTimedOut { .. } => "consent_timed_out",
                LocalFailure::DeviceCodeExpired => "device_code_expired",
                LocalFailure::NoBrowser { .. } => "no_browser",
                LocalFailure::ListenerUnavailable { .. } => "listener_unavailable",
                LocalFailure::ReplicationTimedOut { .. } => "replication_timed_out",
                LocalFailure::TokenMismatch { .. } => "token_mismatch",
                LocalFailure::PermissionsStillMissing { .. } => "permissions_still_missing",
                LocalFailure::TeamsAppBlocked { code } => code.as_str(),
                LocalFailure::PolicyNotVisible => "policy_not_visible",
                LocalFailure::PolicyApiUnavailable => "policy_api_unavailable",
                LocalFailure::PolicyShapeUnknown { .. } => "policy_shape_unknown",
            }
            .to_owned(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Identity(e) => write!(f, "{} from the {} ({})", self.code(), e.source, e.error),
            Self::Graph(e) => write!(f, "{} {} from {}", e.status, e.code, e.operation),
            Self::Transport(t) => write!(f, "{} failure reaching {}", self.code(), t.host),
            Self::Parse { what, .. } => write!(f, "could not read the {what}"),
            Self::Local(_) => f.write_str(&self.code()),
        }
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(codes: &[u32], error: &str, suberror: Option<&str>) -> Failure {
        Failure::Identity(IdentityError {
            error: error.into(),
            error_codes: codes.to_vec(),
            suberror: suberror.map(Into::into),
            ..Default::default()
        })
    }

    #[test]
    fn classification_uses_codes_not_text() {
        assert!(identity(&[53003], "access_denied", None).is_conditional_access());
        assert!(!identity(&[65004], "access_denied", None).is_conditional_access());
        assert!(identity(&[65001], "invalid_grant", Some("consent_required")).is_consent_required());
        assert!(identity(&[], "invalid_grant", Some("consent_required")).is_consent_required());
        assert_eq!(identity(&[50076, 50079], "invalid_grant", None).code(), "AADSTS50076");
        assert_eq!(identity(&[], "slow_down", None).code(), "slow_down");
        // A refresh refused at the token endpoint needs the browser, unless the tenant refuses the partner's
        // account the app (no sign-in gets past that).
        let refused = |codes: &[u32]| {
            let Failure::Identity(mut e) = identity(codes, "invalid_grant", None) else { unreachable!() };
            e.source = "token endpoint".into();
            Failure::Identity(e)
        };
        assert!(refused(&[700082]).needs_interactive_sign_in());
        assert!(!refused(&[90099]).needs_interactive_sign_in());
    }
}
