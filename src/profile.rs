//! The vendor profile: what the wizard sets up, so nothing vendor-specific is hard-coded.
//!
//! `assets/profiles/mspbots.toml` ships with MSPbots' ids left empty (they are not public). Loading validates the
//! file and reports problems with line numbers; [`Profile::live_gaps`] says exactly which fields keep live mode
//! from working, so the app can start the demo tenant instead and say why. This module reads files and parses;
//! it never talks to the network.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The profile that ships with the product.
pub const SHIPPED_PROFILE: &str = include_str!("../assets/profiles/mspbots.toml");
/// Where the shipped profile lives in the source tree (for messages).
pub const SHIPPED_PROFILE_PATH: &str = "assets/profiles/mspbots.toml";

/// The Microsoft cloud a tenant lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum Cloud {
    /// Commercial (worldwide) cloud.
    Public,
    /// US Government Community Cloud: commercial endpoints.
    Gcc,
    /// US Government GCC High.
    GccHigh,
    /// US Department of Defense.
    Dod,
    /// Microsoft Azure operated by 21Vianet.
    China,
}

impl Cloud {
    /// The identity platform's host (Microsoft's national cloud deployments; GCC signs in and reads Graph on the
    /// commercial hosts).
    pub fn login_url(self) -> &'static str {
        match self {
            Self::Public | Self::Gcc => "https://login.microsoftonline.com/",
            Self::GccHigh | Self::Dod => "https://login.microsoftonline.us/",
            Self::China => "https://login.chinacloudapi.cn/",
        }
    }

    /// Microsoft Graph's base URL.
    pub fn graph_url(self) -> &'static str {
        match self {
            Self::Public | Self::Gcc => "https://graph.microsoft.com/",
            Self::GccHigh => "https://graph.microsoft.us/",
            Self::Dod => "https://dod-graph.microsoft.us/",
            Self::China => "https://microsoftgraph.chinacloudapi.cn/",
        }
    }

    /// Graph's resource identifier, the prefix of its scopes (`{resource}/Directory.Read.All`).
    pub fn graph_resource(self) -> &'static str {
        self.graph_url().trim_end_matches('/')
    }

    /// The Teams admin configuration API, where its host in this cloud is known. GCC High and DoD do not allow
    /// third-party apps anyway; elsewhere the setup policy is left to the admin center (with a script).
    pub fn teams_admin_url(self) -> Option<&'static str> {
        match self {
            Self::Public | Self::Gcc => Some("https://api.interfaces.records.teams.microsoft.com/"),
            Self::GccHigh | Self::Dod | Self::China => None,
        }
    }
}

/// The admin-consent endpoint: v2 (`/v2.0/adminconsent` with `/.default`) or the older v1 (`/adminconsent`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentEndpointChoice {
    #[default]
    V2,
    V1,
}

pub use crate::wizard::{PermissionKind, ResourceApi};

/// One permission the vendor app needs, with the reason shown to the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredPermission {
    pub resource: ResourceApi,
    pub kind: PermissionKind,
    /// Permission value, e.g. `User.Read.All`.
    pub name: String,
    /// Why the vendor needs it, in the admin's words.
    pub reason: String,
}

/// A validated vendor profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Where it was loaded from (for messages).
    pub source: String,
    /// The folder of the profile file, for the package path; `None` for the compiled-in profile.
    #[serde(skip)]
    pub folder: Option<std::path::PathBuf>,
    pub vendor_name: String,
    pub cloud: Cloud,
    /// The public client the wizard signs in with; empty when not yet known.
    pub signin_client_id: String,
    /// The multi-tenant application the admin consents to; empty when not yet known.
    pub consent_client_id: String,
    /// Redirect URI registered on the consent app for the wizard (loopback: the port is chosen at run time).
    pub consent_redirect_uri: String,
    /// Which admin-consent endpoint to open.
    pub consent_endpoint: ConsentEndpointChoice,
    /// The Teams app: store (manifest) id and/or a package in `assets/`.
    pub teams_app: TeamsApp,
    pub permissions: Vec<RequiredPermission>,
}

/// The vendor's Teams app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsApp {
    /// Name shown to the admin.
    pub display_name: String,
    /// Manifest id of the app in the Teams store, if published there.
    #[serde(default)]
    pub store_id: String,
    /// Path of a custom app package (zip), relative to the profile file.
    #[serde(default)]
    pub package: String,
}

/// A field that live mode needs and the profile does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveGap {
    /// Dotted field name, e.g. `consent.client_id`.
    pub field: &'static str,
    /// What it is, for the person filling it in.
    pub meaning: &'static str,
}

/// Why a profile could not be loaded. Every variant names the file; parse and validation errors name the line.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("could not read the vendor profile {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name}: {message}")]
    Syntax { source_name: String, message: String },
    #[error("{source_name}, line {line}: {problem}")]
    Invalid { source_name: String, line: usize, problem: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    vendor_name: Spanned<String>,
    #[serde(default = "default_cloud")]
    cloud: Spanned<Cloud>,
    signin: SigninSection,
    consent: ConsentSection,
    teams_app: Spanned<TeamsApp>,
    #[serde(default)]
    permissions: Vec<Spanned<RequiredPermission>>,
}

fn empty() -> Spanned<String> {
    Spanned::new(0..0, String::new())
}

fn default_cloud() -> Spanned<Cloud> {
    Spanned::new(0..0, Cloud::Public)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigninSection {
    #[serde(default = "empty")]
    client_id: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentSection {
    #[serde(default = "empty")]
    client_id: Spanned<String>,
    redirect_uri: Spanned<String>,
    #[serde(default)]
    endpoint: ConsentEndpointChoice,
}

impl Profile {
    /// The shipped MSPbots profile.
    pub fn shipped() -> Result<Self, ProfileError> {
        Self::parse(SHIPPED_PROFILE, SHIPPED_PROFILE_PATH)
    }

    /// Loads and validates a profile file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ProfileError::Read { path: path.to_owned(), source })?;
        let mut profile = Self::parse(&text, &path.display().to_string())?;
        profile.folder = path.parent().map(Path::to_path_buf);
        Ok(profile)
    }

    /// Parses and validates profile text; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, ProfileError> {
        let file: ProfileFile = toml::from_str(text).map_err(|e| {
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            match e.span() {
                Some(span) => ProfileError::Invalid {
                    source_name: source_name.to_owned(),
                    line: line_of(text, span.start),
                    problem: message,
                },
                None => ProfileError::Syntax { source_name: source_name.to_owned(), message },
            }
        })?;
        let invalid = |span: Range<usize>, problem: String| ProfileError::Invalid {
            source_name: source_name.to_owned(),
            line: line_of(text, span.start),
            problem,
        };
        if file.vendor_name.get_ref().trim().is_empty() {
            return Err(invalid(file.vendor_name.span(), "vendor_name must not be empty".to_owned()));
        }
        for (field, value) in
            [("signin.client_id", &file.signin.client_id), ("consent.client_id", &file.consent.client_id)]
        {
            let v = value.get_ref();
            if !v.is_empty() && !is_guid(v) {
                return Err(invalid(value.span(), format!("{field} '{v}' is not an application (client) id (a GUID)")));
            }
        }
        let redirect = file.consent.redirect_uri.get_ref();
        match url::Url::parse(redirect) {
            Ok(u) if u.scheme() == "https" => {}
            Ok(u) if u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1")) => {}
            _ => {
                return Err(invalid(
                    file.consent.redirect_uri.span(),
                    format!("consent.redirect_uri '{redirect}' must be https, or http://localhost / http://127.0.0.1"),
                ));
            }
        }
        let teams = file.teams_app.get_ref();
        if teams.display_name.trim().is_empty() {
            return Err(invalid(file.teams_app.span(), "teams_app.display_name must not be empty".to_owned()));
        }
        if file.permissions.is_empty() {
            return Err(invalid(
                0..0,
                "the profile lists no [[permissions]]; the wizard would have nothing to verify".to_owned(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &file.permissions {
            let perm = p.get_ref();
            if perm.name.trim().is_empty() || perm.reason.trim().is_empty() {
                return Err(invalid(
                    p.span(),
                    "each permission needs a name and a reason to show the admin".to_owned(),
                ));
            }
            if !seen.insert((perm.resource, perm.kind, perm.name.to_ascii_lowercase())) {
                return Err(invalid(p.span(), format!("permission '{}' ({:?}) is listed twice", perm.name, perm.kind)));
            }
        }
        Ok(Self {
            source: source_name.to_owned(),
            folder: None,
            vendor_name: file.vendor_name.into_inner(),
            cloud: file.cloud.into_inner(),
            signin_client_id: file.signin.client_id.into_inner(),
            consent_client_id: file.consent.client_id.into_inner(),
            consent_redirect_uri: file.consent.redirect_uri.into_inner(),
            consent_endpoint: file.consent.endpoint,
            teams_app: file.teams_app.into_inner(),
            permissions: file.permissions.into_iter().map(Spanned::into_inner).collect(),
        })
    }

    /// The fields live mode needs that are still empty. Empty means the profile is complete.
    pub fn live_gaps(&self) -> Vec<LiveGap> {
        let mut gaps = Vec::new();
        if self.signin_client_id.is_empty() {
            gaps.push(LiveGap { field: "signin.client_id", meaning: "the public client the wizard signs in with" });
        }
        if self.consent_client_id.is_empty() {
            gaps.push(LiveGap {
                field: "consent.client_id",
                meaning: "the vendor's multi-tenant app the admin consents to",
            });
        }
        if self.teams_app.store_id.is_empty() && self.teams_app.package.is_empty() {
            gaps.push(LiveGap {
                field: "teams_app.store_id or teams_app.package",
                meaning: "which Teams app to install",
            });
        }
        gaps
    }

    /// The same profile pointed at a simulated tenant's applications (demo mode and tests): its app ids, and the
    /// demo Teams app (its store id, and the demo package) where the profile names none.
    pub fn for_simulator(&self, signin_client_id: &str, consent_client_id: &str, teams_app_id: &str) -> Self {
        let mut teams_app = self.teams_app.clone();
        if teams_app.store_id.is_empty() && teams_app.package.is_empty() {
            teams_app.store_id = teams_app_id.to_owned();
            teams_app.package = crate::teams::package::BUILTIN_DEMO.to_owned();
        }
        Self {
            source: format!("{} (demo: simulated tenant's app ids)", self.source),
            signin_client_id: signin_client_id.to_owned(),
            consent_client_id: consent_client_id.to_owned(),
            consent_redirect_uri: "http://localhost".to_owned(),
            teams_app,
            ..self.clone()
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |before| before.matches('\n').count() + 1)
}

/// A GUID written as Microsoft writes ids: 8-4-4-4-12 hexadecimal digits.
pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profile_is_valid_and_names_its_live_gaps() {
        let p = Profile::shipped().unwrap();
        assert_eq!(p.vendor_name, "MSPbots");
        let gaps: Vec<&str> = p.live_gaps().iter().map(|g| g.field).collect();
        assert!(gaps.contains(&"consent.client_id"), "{gaps:?}");
        assert!(gaps.contains(&"signin.client_id"), "{gaps:?}");
        assert!(p.permissions.iter().all(|perm| !perm.reason.is_empty()));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = Profile::parse("vendor_name = \"x\"\ncloud = \n", "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn validation_errors_name_the_line_of_the_bad_value() {
        let text = SHIPPED_PROFILE.replacen("client_id = \"\"", "client_id = \"not-a-guid\"", 1);
        let err = Profile::parse(&text, "p.toml").unwrap_err();
        let ProfileError::Invalid { line, problem, .. } = &err else { panic!("{err:?}") };
        let expected = text.lines().position(|l| l.contains("not-a-guid")).unwrap() + 1;
        assert_eq!(*line, expected, "{problem}");
        assert!(problem.contains("not-a-guid"));
    }

    #[test]
    fn unknown_fields_and_clouds_are_refused() {
        let err = Profile::parse(&format!("{SHIPPED_PROFILE}\ncolour = 1\n"), "p").unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
        let err = Profile::parse(&SHIPPED_PROFILE.replace("cloud = \"public\"", "cloud = \"mars\""), "p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mars") || err.contains("cloud"), "{err}");
    }

    #[test]
    fn consent_endpoint_defaults_to_v2_and_may_be_v1() {
        assert_eq!(Profile::shipped().unwrap().consent_endpoint, ConsentEndpointChoice::V2);
        let v1 = SHIPPED_PROFILE.replace("endpoint = \"v2\"", "endpoint = \"v1\"");
        assert_eq!(Profile::parse(&v1, "p").unwrap().consent_endpoint, ConsentEndpointChoice::V1);
    }

    #[cfg(feature = "demo")]
    #[test]
    fn complete_profile_has_no_gaps() {
        let p = Profile::shipped().unwrap().for_simulator(
            "3e8b4f21-6a7c-4d15-b9e2-8f0a1c3d5e72",
            "9d2c7e58-1b3a-4f60-8e4d-2c5b7a9f1e03",
            crate::sim::teams::DEMO_APP_ID,
        );
        assert!(p.live_gaps().is_empty(), "{:?}", p.live_gaps());
        assert_eq!(p.teams_app.package, crate::teams::package::BUILTIN_DEMO, "the demo Teams app fills the gap");
    }
}
