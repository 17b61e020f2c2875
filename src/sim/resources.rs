//! Resource applications the simulated tenant knows (Microsoft Graph and the Teams admin API), their permission
//! ids, and parsing of OAuth `scope` strings into (resource, permission) pairs.
//!
//! Graph ids are Microsoft's own (DEVX-PERMS in `docs/microsoft-apis.md` B3); whether a delegated
//! permission needs admin consent follows Microsoft's permissions reference where we could confirm it.

use super::clock::stable_guid;

/// Microsoft Graph's application id.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// "Skype and Teams Tenant Admin API", the audience of the Teams admin configuration API.
pub const TEAMS_ADMIN_APP_ID: &str = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239";

/// One permission a resource offers.
#[derive(Debug, Clone, Copy)]
pub struct Permission {
    /// Value, e.g. `User.Read.All`.
    pub name: &'static str,
    /// Delegated scope id, if the permission exists as a scope.
    pub scope_id: Option<&'static str>,
    /// Application role id, if the permission exists as an app role.
    pub role_id: Option<&'static str>,
    /// True when a delegated grant needs an administrator.
    pub admin_only: bool,
}

const fn perm(
    name: &'static str,
    role_id: Option<&'static str>,
    scope_id: Option<&'static str>,
    admin_only: bool,
) -> Permission {
    Permission { name, scope_id, role_id, admin_only }
}

const GRAPH_PERMISSIONS: &[Permission] = &[
    perm("openid", None, Some("37f7f235-527c-4136-accd-4a02d197296e"), false),
    perm("profile", None, Some("14dad69e-099b-42c9-810b-d002981feec1"), false),
    perm("email", None, Some("64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"), false),
    perm("offline_access", None, Some("7427e0e9-2fba-42fe-b0c0-848c9e6a8182"), false),
    perm("User.Read", None, Some("e1fe6dd8-ba31-4d61-89e7-88639da4683d"), false),
    perm(
        "User.ReadBasic.All",
        Some("97235f07-e226-4f63-ace3-39588e11d3a1"),
        Some("b340eb25-3456-403f-be2f-af7a0d370277"),
        false,
    ),
    perm(
        "User.Read.All",
        Some("df021288-bdef-4463-88db-98f22de89214"),
        Some("a154be20-db9c-4678-8ab7-66f6cc099a59"),
        true,
    ),
    perm(
        "Directory.Read.All",
        Some("7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
        Some("06da0dbc-49e2-44d2-8312-53f166ab848a"),
        true,
    ),
    perm(
        "ProfilePhoto.Read.All",
        Some("e24d31aa-e1ab-4c80-85fe-23018690335d"),
        Some("469cd065-729e-4dee-b1fa-d92e0fab6310"),
        true,
    ),
    perm(
        "GroupMember.Read.All",
        Some("98830695-27a2-44f7-8c18-0c3ebc9698f6"),
        Some("bc024368-1153-4739-b217-4326f2e966d0"),
        true,
    ),
    perm(
        "Organization.Read.All",
        Some("498476ce-e0fe-48b0-b801-37ba7e2685c6"),
        Some("4908d5b9-3fb2-4b1e-9336-1888b7937185"),
        true,
    ),
    perm(
        "Application.Read.All",
        Some("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"),
        Some("c79f8feb-a9db-4090-85f9-90d820caa0eb"),
        true,
    ),
    perm(
        "DelegatedPermissionGrant.Read.All",
        Some("81b4724a-58aa-41c1-8a55-84ef97466587"),
        Some("a197cdc4-a8e8-4d49-9d35-4ca7c83887b4"),
        true,
    ),
    perm(
        "AppRoleAssignment.ReadWrite.All",
        Some("06b708a9-e830-4db3-a914-8e69da51d44f"),
        Some("84bccea3-f856-4a8a-967b-dbe0a3d53a64"),
        true,
    ),
    perm(
        "AppCatalog.Read.All",
        Some("e12dae10-5a57-4817-b79d-dfbec5348930"),
        Some("88e58d74-d3df-44f3-ad47-e89edf4472e4"),
        true,
    ),
    perm(
        "AppCatalog.ReadWrite.All",
        Some("dc149144-f292-421e-b185-5953f2e98d7f"),
        Some("1ca167d5-1655-44a1-8adf-1414072e1ef9"),
        true,
    ),
    perm("AppCatalog.Submit", None, Some("3db89e36-7fa6-4012-b281-85f3d9d9fd2e"), true),
    perm("DelegatedAdminRelationship.Read.All", None, Some("0c0064ea-477b-4130-82a5-4c2cc4ff68aa"), true),
    perm("TeamsAppInstallation.ReadForUser", None, Some("c395395c-ff9a-4dba-bc1f-8372ba9dca84"), false),
    perm("TeamsAppInstallation.ReadForUser.All", Some("9ce09611-f4f7-4abd-a629-a05450422a97"), None, true),
    perm("TeamsAppInstallation.ReadWriteSelfForUser", None, Some("207e0cb1-3ce7-4922-b991-5a760c346ebc"), false),
    perm("TeamsAppInstallation.ReadWriteSelfForUser.All", Some("908de74d-f8b2-4d6b-a9ed-2a17b3b78179"), None, true),
    perm("TeamsAppInstallation.ReadWriteForUser", None, Some("093f8818-d05f-49b8-95bc-9d2a73e9a43c"), true),
    perm("TeamsAppInstallation.ReadWriteForUser.All", Some("74ef0291-ca83-4d02-8c7e-d2391e6a444f"), None, true),
    perm("TeamsAppInstallation.ReadWriteAndConsentForUser", None, Some("2da62c49-dfbd-40df-ba16-fef3529d391c"), true),
    perm(
        "TeamsAppInstallation.ReadWriteAndConsentForUser.All",
        Some("32ca478f-f89e-41d0-aaf8-101deb7da510"),
        None,
        true,
    ),
    perm(
        "TeamsActivity.Send",
        Some("a267235f-af13-44dc-8385-c1dc93023186"),
        Some("7ab1d787-bae7-4d5d-8db6-37ea32df9186"),
        false,
    ),
    perm(
        "Team.ReadBasic.All",
        Some("2280dda6-0bfd-44ee-a2f4-cb867cfc4c1e"),
        Some("485be79e-c497-4b35-9400-0e3fa7f2a5d4"),
        false,
    ),
    perm(
        "TeamworkAppSettings.Read.All",
        Some("475ebe88-f071-4bd7-af2b-642952bd4986"),
        Some("44e060c4-bbdc-4256-a0b9-dcc0396db368"),
        true,
    ),
    perm(
        "TeamworkAppSettings.ReadWrite.All",
        Some("ab5b445e-8f10-45f4-9c79-dd3f8062cc4e"),
        Some("87c556f0-2bd9-4eed-bd74-5dd8af6eaf7e"),
        true,
    ),
    perm(
        "TeamsPolicyUserAssign.ReadWrite.All",
        Some("1801e8f4-cf09-4c4e-a1b5-036dfcca6c90"),
        Some("6997c35c-a586-440c-8a0b-4ffe5d118dc0"),
        true,
    ),
    perm(
        "Policy.Read.All",
        Some("246dd0d5-5bd0-4def-940b-0421030a5b68"),
        Some("572fea84-0151-49b2-9301-11cb16974376"),
        true,
    ),
    perm(
        "RoleManagement.Read.Directory",
        Some("483bed4a-2ad3-4361-a73b-c83ccdbdc53c"),
        Some("741c54c3-0c1e-44a1-818b-3f97ab4e8c83"),
        true,
    ),
    perm("Directory.AccessAsUser.All", None, Some("0e263e50-5827-48a4-b97c-d940288653c7"), true),
];

/// The Teams admin API publishes one delegated scope; its id is not public, so the simulator derives one.
const TEAMS_ADMIN_PERMISSIONS: &[Permission] =
    &[perm("user_impersonation", None, Some("a5b1f5e4-2c0d-5b7a-9e3f-6d8c1b2a4e70"), true)];

/// The OpenID Connect scopes: requested on any leg, never a resource of their own.
pub const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// A resource application.
#[derive(Debug)]
pub struct Resource {
    /// Short name used in scenario files (`graph`, `teams-admin`).
    pub key: &'static str,
    /// Application id.
    pub app_id: &'static str,
    /// Display name (what consent pages and Graph show).
    pub display_name: &'static str,
    /// Identifier URIs besides the app id that scopes may be prefixed with.
    pub identifier_uris: &'static [&'static str],
    /// The `aud` of access tokens for it.
    pub audience: &'static str,
    /// Permissions it offers.
    pub permissions: &'static [Permission],
}

/// Microsoft Graph.
pub static GRAPH: Resource = Resource {
    key: "graph",
    app_id: GRAPH_APP_ID,
    display_name: "Microsoft Graph",
    identifier_uris: &[
        "https://graph.microsoft.com",
        "https://graph.microsoft.us",
        "https://dod-graph.microsoft.us",
        "https://microsoftgraph.chinacloudapi.cn",
    ],
    audience: "https://graph.microsoft.com",
    permissions: GRAPH_PERMISSIONS,
};

/// The Teams admin configuration API.
pub static TEAMS_ADMIN: Resource = Resource {
    key: "teams-admin",
    app_id: TEAMS_ADMIN_APP_ID,
    display_name: "Skype and Teams Tenant Admin API",
    identifier_uris: &[],
    audience: TEAMS_ADMIN_APP_ID,
    permissions: TEAMS_ADMIN_PERMISSIONS,
};

/// Every resource the simulator knows.
pub static ALL: [&Resource; 2] = [&GRAPH, &TEAMS_ADMIN];

impl Resource {
    /// The permission with this value (case-insensitive, as Entra treats scope names).
    pub fn permission(&self, name: &str) -> Option<&'static Permission> {
        self.permissions.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The resource's service principal object id in `tenant_id` (differs per tenant, stable per run).
    pub fn sp_object_id(&self, tenant_id: &str) -> String {
        stable_guid("resource-sp", &format!("{tenant_id}/{}", self.app_id))
    }

    /// The `scope` prefix used in token responses: none for Graph (Microsoft returns bare names), the app id
    /// otherwise.
    pub fn scope_prefix(&self) -> String {
        if self.key == "graph" { String::new() } else { format!("{}/", self.app_id) }
    }
}

/// Finds a resource by scenario key.
pub fn by_key(key: &str) -> Option<&'static Resource> {
    ALL.iter().copied().find(|r| r.key == key)
}

/// One parsed entry of a `scope` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeItem {
    /// `openid`, `profile`, `email`, `offline_access`.
    Oidc(String),
    /// `{resource}/.default`.
    Default { resource: &'static str },
    /// A named delegated permission on a known resource.
    Named { resource: &'static str, name: String },
    /// A resource the tenant does not have (`AADSTS500011`).
    UnknownResource { resource: String },
    /// A permission the resource does not offer (`AADSTS650053`).
    UnknownPermission { resource: &'static str, name: String },
}

/// Parses one scope value the way Entra resolves it: bare names are Graph; otherwise the part before the last
/// `/` is an app id or identifier URI.
pub fn parse_scope(raw: &str) -> ScopeItem {
    if OIDC_SCOPES.iter().any(|s| s.eq_ignore_ascii_case(raw)) {
        return ScopeItem::Oidc(raw.to_ascii_lowercase());
    }
    let (prefix, name) = match raw.rfind('/') {
        Some(i) if i > 0 => (&raw[..i], &raw[i + 1..]),
        _ => ("", raw),
    };
    let resource = if prefix.is_empty() {
        Some(&GRAPH)
    } else {
        ALL.iter().copied().find(|r| {
            r.app_id.eq_ignore_ascii_case(prefix)
                || r.identifier_uris
                    .iter()
                    .any(|u| u.trim_end_matches('/').eq_ignore_ascii_case(prefix.trim_end_matches('/')))
        })
    };
    let Some(resource) = resource else {
        return ScopeItem::UnknownResource { resource: prefix.to_owned() };
    };
    if name == ".default" {
        return ScopeItem::Default { resource: resource.key };
    }
    match resource.permission(name) {
        Some(p) if p.scope_id.is_some() => ScopeItem::Named { resource: resource.key, name: p.name.to_owned() },
        _ => ScopeItem::UnknownPermission { resource: resource.key, name: name.to_owned() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_prefixed_names_resolve_to_graph() {
        assert_eq!(parse_scope("User.Read"), ScopeItem::Named { resource: "graph", name: "User.Read".into() });
        assert_eq!(
            parse_scope("https://graph.microsoft.com/user.read"),
            ScopeItem::Named { resource: "graph", name: "User.Read".into() }
        );
        assert_eq!(
            parse_scope("00000003-0000-0000-c000-000000000000/.default"),
            ScopeItem::Default { resource: "graph" }
        );
        assert_eq!(
            parse_scope("48ac35b8-9aa8-4d74-927d-1f4a14a0b239/user_impersonation"),
            ScopeItem::Named { resource: "teams-admin", name: "user_impersonation".into() }
        );
        assert_eq!(parse_scope("offline_access"), ScopeItem::Oidc("offline_access".into()));
    }

    #[test]
    fn unknown_resources_and_permissions_are_named() {
        assert_eq!(parse_scope("api://nope/x"), ScopeItem::UnknownResource { resource: "api://nope".into() });
        assert_eq!(
            parse_scope("User.Fly"),
            ScopeItem::UnknownPermission { resource: "graph", name: "User.Fly".into() }
        );
        // App-only permissions are not scopes.
        assert!(matches!(parse_scope("User.Read.All"), ScopeItem::Named { .. }));
        assert!(matches!(
            parse_scope("TeamsAppInstallation.ReadWriteForUser.All"),
            ScopeItem::UnknownPermission { .. }
        ));
    }

    #[test]
    fn sp_object_ids_differ_per_tenant() {
        assert_ne!(GRAPH.sp_object_id("a"), GRAPH.sp_object_id("b"));
        assert_eq!(GRAPH.sp_object_id("a"), GRAPH.sp_object_id("a"));
    }
}
