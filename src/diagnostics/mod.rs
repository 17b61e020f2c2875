//! Explaining failures to people: the error catalogue (`assets/errors/catalogue.toml`), and the one explanation
//! shape every inline error panel, headless line and copied detail uses.
//!
//! It reads only compiled-in data and the failure in hand; it never sees tokens, codes or verifiers.

pub mod bundle;
pub mod explain;
pub mod journal;
mod report;

pub mod sanitize;

pub use sanitize::{install_panic_hook, panic_report};

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::wizard::{Failure, LocalFailure, TransportKind};

const SHIPPED_CATALOGUE: &str = include_str!("../../assets/errors/catalogue.toml");

/// Who can fix a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    You,
    GlobalAdmin,
    PrivilegedRoleAdmin,
    TeamsAdmin,
    ItAdmin,
    Vendor,
    Wait,
}

impl Who {
    /// Words for "Who can fix it".
    pub fn label(self) -> &'static str {
        match self {
            Self::You => "You",
            Self::GlobalAdmin => "A Global Administrator (or Privileged Role Administrator)",
            Self::PrivilegedRoleAdmin => "A Privileged Role Administrator",
            Self::TeamsAdmin => "A Teams Administrator",
            Self::ItAdmin => "Your IT administrator",
            Self::Vendor => "The vendor's support",
            Self::Wait => "No one: wait and retry",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    entry: Vec<Entry>,
}

/// One catalogue entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    aadsts: Option<u32>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    graph: Option<String>,
    #[serde(default)]
    local: Option<String>,
    /// With `graph`: only failures of requests whose method and path contain this (the same code means
    /// different things on different APIs, e.g. `Forbidden` on an app install or on an app upload).
    #[serde(default)]
    operation: Option<String>,
    /// With `graph`: only failures whose message contains this (case-insensitive). Microsoft refuses many Teams
    /// actions with a generic code and says why only in the message; such an entry is a refinement of its code,
    /// looked at before the code's other entries.
    #[serde(default)]
    message: Option<String>,
    summary: String,
    meaning: String,
    who: Who,
    fix: Vec<String>,
    #[serde(default)]
    doc: Option<String>,
}

/// The catalogue, parsed once.
#[derive(Debug)]
pub struct Catalogue {
    entries: Vec<Entry>,
}

/// What a person reads about one failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// `AADSTS53003`, `Authorization_RequestDenied`, `timeout`, …
    pub code: String,
    pub summary: String,
    pub meaning: String,
    pub who: Who,
    pub fix: Vec<String>,
    pub doc_url: Option<String>,
    /// Identifiers support needs (trace, correlation, request ids, time), as label/value pairs.
    pub details: Vec<(String, String)>,
}

/// The catalogue text is malformed (only possible if the compiled-in file is broken, which the tests rule out).
#[derive(Debug, thiserror::Error)]
#[error("the error catalogue is not valid: {0}")]
pub struct CatalogueError(String);

impl Catalogue {
    /// Parses catalogue text.
    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let file: CatalogueFile = toml::from_str(text).map_err(|e| CatalogueError(e.to_string()))?;
        for (i, e) in file.entry.iter().enumerate() {
            let keys = [e.aadsts.is_some(), e.error.is_some(), e.graph.is_some(), e.local.is_some()];
            if keys.iter().filter(|k| **k).count() != 1 {
                return Err(CatalogueError(format!(
                    "entry #{} ('{}') needs exactly one of aadsts, error, graph, local",
                    i + 1,
                    e.summary
                )));
            }
        }
        Ok(Self { entries: file.entry })
    }

    /// The compiled-in catalogue.
    pub fn shipped() -> &'static Self {
        static SHIPPED: OnceLock<Catalogue> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            Self::parse(SHIPPED_CATALOGUE).unwrap_or_else(|e| Self {
                // Unreachable while the catalogue test passes; keep explaining (generically) rather than crash.
                entries: vec![Entry {
                    aadsts: None,
                    error: None,
                    graph: None,
                    local: Some("catalogue_broken".into()),
                    operation: None,
                    message: None,
                    summary: format!("{e}"),
                    meaning: String::new(),
                    who: Who::Vendor,
                    fix: Vec::new(),
                    doc: None,
                }],
            })
        })
    }

    fn find(&self, failure: &Failure) -> Option<&Entry> {
        let by = |pred: &dyn Fn(&Entry) -> bool| self.entries.iter().find(|e| pred(e));
        match failure {
            Failure::Identity(e) => e
                .error_codes
                .iter()
                .find_map(|c| by(&|x| x.aadsts == Some(*c)))
                .or_else(|| by(&|x| x.error.as_deref() == Some(e.error.as_str()))),
            Failure::Graph(e) => {
                let is = |x: &Entry, c: &str| x.graph.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(c));
                let here = |x: &Entry| x.operation.as_deref().is_some_and(|o| e.operation.contains(o));
                let anywhere = |x: &Entry| x.operation.is_none();
                let inner = e.inner_code.as_deref().unwrap_or_default();
                let says = |x: &Entry| {
                    x.message.as_deref().is_some_and(|m| e.message.to_lowercase().contains(&m.to_lowercase()))
                };
                let any_message = |x: &Entry| x.message.is_none();
                // The most specific first: the code with what the message says, then the inner code for this
                // operation, the code for this operation, then the inner code and the code alone.
                by(&|x| is(x, &e.code) && says(x))
                    .or_else(|| by(&|x| is(x, inner) && here(x) && any_message(x)))
                    .or_else(|| by(&|x| is(x, &e.code) && here(x) && any_message(x)))
                    .or_else(|| by(&|x| is(x, inner) && anywhere(x) && any_message(x)))
                    .or_else(|| by(&|x| is(x, &e.code) && anywhere(x) && any_message(x)))
            }
            Failure::Transport(_) | Failure::Parse { .. } | Failure::Local(_) => {
                let code = failure.code();
                by(&|x| x.local.as_deref() == Some(code.as_str()))
            }
        }
    }

    /// True when an entry (not the generic text) explains `failure`.
    pub fn knows(&self, failure: &Failure) -> bool {
        self.find(failure).is_some()
    }

    /// True when an entry explains the Graph or Teams admin API error `code`.
    pub fn has_graph(&self, code: &str) -> bool {
        self.entries.iter().any(|e| e.graph.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(code)))
    }

    /// True when an entry explains the wizard's own failure `code`.
    pub fn has_local(&self, code: &str) -> bool {
        self.entries.iter().any(|e| e.local.as_deref() == Some(code))
    }

    /// True when an entry explains the OAuth `error` value `code`.
    pub fn has_oauth_error(&self, code: &str) -> bool {
        self.entries.iter().any(|e| e.error.as_deref() == Some(code))
    }

    /// Every code the catalogue explains, as `explain` accepts them.
    pub fn codes(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| match (&e.aadsts, &e.error, &e.graph, &e.local) {
                (Some(n), ..) => format!("AADSTS{n}"),
                (_, Some(x), ..) | (_, _, Some(x), _) | (.., Some(x)) => x.clone(),
                _ => String::new(),
            })
            .collect()
    }

    /// Explains `failure` for `vendor`. Unknown codes get an honest generic explanation that quotes the code and
    /// the ids support needs.
    pub fn explain(&self, failure: &Failure, vendor: &str) -> Explanation {
        let proxy = match failure {
            Failure::Transport(t) => t.proxy.as_deref(),
            _ => None,
        };
        let fill = |s: &str| s.replace("{vendor}", vendor).replace("{proxy}", proxy.unwrap_or("server"));
        let details = details(failure);
        let code = failure.code();
        match self.find(failure) {
            Some(e) => Explanation {
                code,
                summary: fill(&e.summary),
                meaning: fill(&e.meaning),
                who: e.who,
                fix: e.fix.iter().map(|f| fill(f)).collect(),
                doc_url: e.doc.clone(),
                details,
            },
            None => generic(failure, code, details, vendor),
        }
    }
}

fn generic(failure: &Failure, code: String, details: Vec<(String, String)>, vendor: &str) -> Explanation {
    let (summary, meaning, doc) = match failure {
        Failure::Identity(e) => (
            format!("Microsoft refused the sign-in ({code})"),
            {
                let said = e.description.as_deref().map(|d| format!(": {}", d.lines().next().unwrap_or(d)));
                let answer = match (e.error.as_str(), said) {
                    ("", None) => String::new(),
                    ("", Some(said)) => format!("Microsoft answered{said}. "),
                    (error, said) => format!("Microsoft answered '{error}'{}. ", said.unwrap_or_default()),
                };
                format!("{answer}This code is not in the setup tool's list yet.")
            },
            Some("https://learn.microsoft.com/entra/identity-platform/reference-error-codes".to_owned()),
        ),
        // A code on its own (from `explain`): no request, no answer to quote.
        Failure::Graph(e) if e.status == 0 && e.operation.is_empty() => (
            format!("Microsoft error code {code}"),
            format!(
                "This code is not in the setup tool's list yet{}. Microsoft's documentation or {vendor} support can say more.",
                if e.message.is_empty() { String::new() } else { format!("; Microsoft said: {}", e.message) }
            ),
            Some("https://learn.microsoft.com/graph/errors".to_owned()),
        ),
        Failure::Graph(e) => (
            format!("Microsoft Graph refused ({} {code})", e.status),
            format!("{} answered: {}", e.operation, e.message),
            Some("https://learn.microsoft.com/graph/errors".to_owned()),
        ),
        Failure::Transport(t) => (format!("The connection to {} failed", t.host), t.detail.clone(), None),
        Failure::Parse { what, excerpt } => (format!("The {what} could not be read"), excerpt.clone(), None),
        Failure::Local(l) => (format!("The setup stopped ({code})"), format!("{l:?}"), None),
    };
    Explanation {
        code,
        summary,
        meaning,
        who: Who::Vendor,
        fix: vec![
            "Press Retry.".to_owned(),
            format!("If it happens again, copy the details (or export diagnostics) and send them to {vendor} support."),
        ],
        doc_url: doc,
        details,
    }
}

/// The identifiers support needs, in a fixed order.
fn details(failure: &Failure) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push = |label: &str, value: Option<&String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push((label.to_owned(), v.clone()));
        }
    };
    match failure {
        Failure::Identity(e) => {
            push("Error", Some(&e.error));
            let codes = e.error_codes.iter().map(|c| format!("AADSTS{c}")).collect::<Vec<_>>().join(", ");
            push("Codes", Some(&codes));
            push("Suberror", e.suberror.as_ref());
            push("Trace ID", e.trace_id.as_ref());
            push("Correlation ID", e.correlation_id.as_ref());
            push("Timestamp", e.timestamp.as_ref());
            push("From", Some(&e.source));
        }
        Failure::Graph(e) => {
            push("Status", Some(&e.status.to_string()).filter(|_| e.status != 0));
            push("Code", Some(&e.code));
            push("Inner code", e.inner_code.as_ref());
            push("Request", Some(&e.operation));
            push("request-id", e.request_id.as_ref());
            push("client-request-id", e.client_request_id.as_ref());
            push("Date", e.date.as_ref());
            push("Retry after (s)", e.retry_after_secs.map(|s| s.to_string()).as_ref());
        }
        Failure::Transport(t) => {
            let kind = match t.kind {
                TransportKind::Dns => "name lookup",
                TransportKind::Connect => "connection",
                TransportKind::Tls => "TLS",
                TransportKind::Timeout => "timeout",
                TransportKind::Proxy => "proxy",
                TransportKind::Other => "transport",
            };
            push("Failed at", Some(&kind.to_owned()));
            push("Host", Some(&t.host));
            push("Proxy", t.proxy.as_ref());
        }
        Failure::Parse { what, .. } => push("Reading", Some(what)),
        Failure::Local(LocalFailure::PermissionsStillMissing { names, minutes }) => {
            push("Still missing", Some(&names.join(", ")));
            push("Checked for (min)", Some(&minutes.to_string()));
        }
        Failure::Local(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::{GraphError, IdentityError, LocalFailure};

    #[test]
    fn shipped_catalogue_parses_and_keys_are_unique() {
        let c = Catalogue::parse(SHIPPED_CATALOGUE).unwrap();
        let mut keys: Vec<String> = c
            .entries
            .iter()
            .map(|e| format!("{:?}{:?}{:?}{:?}{:?}{:?}", e.aadsts, e.error, e.graph, e.local, e.operation, e.message))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(n, keys.len(), "duplicate catalogue keys");
        assert!(c.entries.iter().all(|e| !e.summary.is_empty() && !e.meaning.is_empty() && !e.fix.is_empty()));
    }

    #[test]
    fn the_same_graph_code_is_explained_by_operation() {
        let graph = |code: &str, operation: &str| {
            Failure::Graph(GraphError {
                status: 403,
                code: code.into(),
                operation: operation.into(),
                ..Default::default()
            })
        };
        let c = Catalogue::shipped();
        let install = c.explain(&graph("Forbidden", "POST /v1.0/users/u/teamwork/installedApps"), "MSPbots");
        let upload = c.explain(&graph("Forbidden", "POST /v1.0/appCatalogs/teamsApps"), "MSPbots");
        let policy = c.explain(
            &graph("Forbidden", "PUT /Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/Global"),
            "MSPbots",
        );
        assert_eq!(install.summary, "Teams blocks MSPbots for this user");
        assert_eq!(upload.summary, "The tenant does not allow uploading MSPbots's app");
        assert_eq!(policy.summary, "This account may not change Teams policies");
        let other = c.explain(&graph("Forbidden", "GET /v1.0/somewhere"), "MSPbots");
        assert_eq!(other.summary, "Microsoft refused this request", "elsewhere: the entry for the code alone");
        let unknown = c.explain(&graph("SomethingNew", "GET /v1.0/somewhere"), "MSPbots");
        assert!(unknown.summary.contains("403 SomethingNew"), "an unknown code is named: {}", unknown.summary);
    }

    /// Teams refusals whose reason is only in the message (`docs/teams-app-centric.md`) each get their own
    /// explanation with the app-centric fix, whatever the operation; a message that says nothing known keeps the
    /// code's entry.
    #[test]
    fn teams_refusals_told_only_by_their_message_get_their_own_explanation() {
        let refusal = |status: u16, code: &str, operation: &str, message: &str| {
            Failure::Graph(GraphError {
                status,
                code: code.into(),
                inner_code: Some("AccessDenied".into()),
                message: message.into(),
                operation: operation.into(),
                ..Default::default()
            })
        };
        let c = Catalogue::shipped();
        let install = "POST /v1.0/users/u/teamwork/installedApps";
        for (status, code, operation, message, summary) in [
            (
                403,
                "Forbidden",
                install,
                "App is blocked by app permission policy. TenantId: t",
                "MSPbots is blocked for this user",
            ),
            (
                403,
                "Forbidden",
                install,
                "App is blocked by the tenant admin. The app must be unblocked",
                "MSPbots is blocked in the Teams admin center",
            ),
            (
                403,
                "Forbidden",
                install,
                "App is not available to this user. An admin can make it",
                "MSPbots is not available to this user",
            ),
            (
                404,
                "NotFound",
                install,
                "The user is not licensed for Microsoft Teams.",
                "This user has no Microsoft Teams licence",
            ),
            (
                403,
                "Forbidden",
                "POST /v1.0/chats",
                "The tenant admin disabled this bot",
                "The MSPbots bot is turned off for this user",
            ),
            (
                400,
                "BadRequest",
                "PUT /Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/Global",
                "Apps can no longer be added to AppPresetList: app installs are managed per app",
                "This tenant installs apps per app, not through setup policies",
            ),
        ] {
            let e = c.explain(&refusal(status, code, operation, message), "MSPbots");
            assert_eq!(e.summary, summary, "{code}: {message}");
            assert!(e.fix.iter().any(|f| f.contains("Teams admin center") || f.contains("admin center")), "{e:?}");
        }
        // The bot service's own code, as MSPbots' service logs it (no inner code there), and as `explain` gets it.
        for message in ["The tenant admin disabled this bot", ""] {
            let bot = Failure::Graph(GraphError {
                status: 403,
                code: "BotDisabledByAdmin".into(),
                message: message.into(),
                ..Default::default()
            });
            assert_eq!(c.explain(&bot, "MSPbots").summary, "The MSPbots bot is turned off for this user");
            assert_eq!(bot.teams_refusal(), Some(crate::wizard::TeamsRefusal::BotDisabled));
        }
        let plain = c.explain(&refusal(403, "Forbidden", install, "Something else entirely."), "MSPbots");
        assert_eq!(plain.summary, "Teams blocks MSPbots for this user", "no known message: the code's entry");
    }

    /// Every AADSTS code of the API reference (A4, device code polling, field notes), every Graph error code of
    /// B1–B4, and every OAuth `error` value Microsoft documents has an explanation of its own.
    #[test]
    fn every_documented_code_has_its_own_explanation() {
        const AADSTS: &[u32] = &[
            65001, 65004, 90094, 90093, 90095, 90099, 50020, 50105, 700016, 50194, 50011, 500113, 900971, 500011,
            650052, 65005, 650056, 650057, 53003, 530032, 530035, 50076, 50079, 50126, 50034, 50053, 50055, 50057,
            50058, 90072, 90008, 7000112, 70001, 700082, 70008, 50173, 70043, 70000, 70002, 54005, 501481, 70011,
            700022, 28002, 28003, 700025, 7000218, 9001023, 90130, 90124, 90002, 70016, 70018, 70019, 90120, 650051,
            7000215, 900144,
        ];
        const GRAPH: &[&str] = &[
            "Authorization_RequestDenied",
            "Request_ResourceNotFound",
            "Request_BadRequest",
            "BadRequest",
            "Forbidden",
            "InvalidAuthenticationToken",
            "ImageNotFound",
            "UnknownError",
            "accessDenied",
            "activityLimitReached",
            "generalException",
            "invalidRequest",
            "itemNotFound",
            "notAllowed",
            "notSupported",
            "serviceNotAvailable",
            "unauthenticated",
            "resyncRequired",
            "syncStateNotFound",
            "quotaLimitReached",
            "TooManyRequests",
            "AppDefinitionAlreadyExists",
            "AccessDenied",
            "Conflict",
        ];
        const ERRORS: &[&str] = &[
            "invalid_request",
            "invalid_grant",
            "unauthorized_client",
            "invalid_client",
            "unsupported_grant_type",
            "invalid_resource",
            "interaction_required",
            "temporarily_unavailable",
            "consent_required",
            "invalid_scope",
            "access_denied",
            "login_required",
            "authorization_declined",
            "expired_token",
            "bad_verification_code",
            "insufficient_claims",
        ];
        let c = Catalogue::shipped();
        let generic_identity = "not in the setup tool's list";
        for code in AADSTS {
            let f = Failure::Identity(IdentityError {
                error: "no_such_error".into(),
                error_codes: vec![*code],
                ..Default::default()
            });
            let e = c.explain(&f, "MSPbots");
            assert!(!e.meaning.contains(generic_identity), "AADSTS{code} falls back to the generic text");
            assert_eq!(e.code, format!("AADSTS{code}"));
        }
        for code in GRAPH {
            let f = Failure::Graph(GraphError { status: 400, code: (*code).into(), ..Default::default() });
            let e = c.explain(&f, "MSPbots");
            assert!(!e.summary.starts_with("Microsoft Graph refused ("), "{code} falls back to the generic text");
        }
        for error in ERRORS {
            let f = Failure::Identity(IdentityError { error: (*error).into(), ..Default::default() });
            assert!(!c.explain(&f, "MSPbots").meaning.contains(generic_identity), "{error} is generic");
        }
    }

    #[test]
    fn an_inner_graph_code_is_more_specific_than_the_outer_one() {
        let c = Catalogue::shipped();
        let conflict = |operation: &str| {
            Failure::Graph(GraphError {
                status: 409,
                code: "Conflict".into(),
                inner_code: Some("AppDefinitionAlreadyExists".into()),
                operation: operation.into(),
                ..Default::default()
            })
        };
        // Where no entry names the operation, the inner code beats the outer one.
        let e = c.explain(&conflict("POST /beta/teamwork/teamsAppSettings"), "MSPbots");
        assert!(e.summary.contains("already in your catalog"), "{}", e.summary);
        assert!(e.details.iter().any(|(k, v)| k == "Inner code" && v == "AppDefinitionAlreadyExists"));
        // An entry for the operation and the outer code beats the inner code alone.
        let blocked = Failure::Graph(GraphError {
            status: 403,
            code: "Forbidden".into(),
            inner_code: Some("AccessDenied".into()),
            operation: "POST /v1.0/users/u/teamwork/installedApps".into(),
            ..Default::default()
        });
        assert_eq!(c.explain(&blocked, "MSPbots").summary, "Teams blocks MSPbots for this user");
    }

    #[test]
    fn unknown_codes_get_an_honest_generic_explanation_with_ids() {
        let f = Failure::Identity(IdentityError {
            error: "some_new_error".into(),
            error_codes: vec![12345],
            trace_id: Some("trace-1".into()),
            correlation_id: Some("corr-1".into()),
            ..Default::default()
        });
        let e = Catalogue::shipped().explain(&f, "MSPbots");
        assert!(e.summary.contains("AADSTS12345"), "{}", e.summary);
        assert!(e.details.iter().any(|(k, v)| k == "Trace ID" && v == "trace-1"));
        assert!(e.details.iter().any(|(k, v)| k == "Correlation ID" && v == "corr-1"));
        assert_eq!(e.who, Who::Vendor);
        // A known `error` value explains an unknown AADSTS number, which is still quoted.
        let known = Failure::Identity(IdentityError {
            error: "invalid_grant".into(),
            error_codes: vec![12345],
            ..Default::default()
        });
        let e = Catalogue::shipped().explain(&known, "MSPbots");
        assert_eq!(e.code, "AADSTS12345");
        assert_eq!(e.summary, "The sign-in is no longer valid");
    }

    #[test]
    fn graph_local_and_error_values_are_found() {
        let c = Catalogue::shipped();
        let g = Failure::Graph(GraphError {
            status: 403,
            code: "Authorization_RequestDenied".into(),
            ..Default::default()
        });
        assert_eq!(c.explain(&g, "V").who, Who::GlobalAdmin);
        let l = Failure::Local(LocalFailure::DeviceCodeExpired);
        assert_eq!(c.explain(&l, "V").summary, "The device code expired");
        let declined =
            Failure::Identity(IdentityError { error: "authorization_declined".into(), ..Default::default() });
        assert!(c.explain(&declined, "V").summary.contains("declined"));
        let e = c.explain(
            &Failure::Identity(IdentityError { error: "x".into(), error_codes: vec![7000112], ..Default::default() }),
            "MSPbots",
        );
        assert!(e.summary.contains("MSPbots"), "{{vendor}} is filled in: {}", e.summary);
    }
}
