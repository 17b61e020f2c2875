//! What the tenant granted the vendor app (`docs/microsoft-apis.md` B3) and whether it has Teams, read in three round
//! trips: find the service principal; one batch for its app role assignments, its delegated grants and the
//! tenant's subscriptions; one batch for the resource service principals that name the granted app roles.

use std::collections::BTreeSet;

use serde_json::Value;

use super::batch::{BatchItem, ItemReply};
use super::{Call, Graph, TokenSource};
use crate::wizard::{
    AppPresence, Failure, GrantReach, GrantedPermission, PermissionKind, ResourceApi, TeamsLicensing, TenantSnapshot,
};

/// Microsoft Teams' service plan id (in every SKU that includes Teams).
const TEAMS_PLAN_ID: &str = "57ff2da0-773e-42df-b2af-ffb7a2317929";

fn parse_error(what: &str, detail: impl Into<String>) -> Failure {
    Failure::Parse { what: what.to_owned(), excerpt: detail.into() }
}

fn items_of<'v>(value: &'v Value, what: &str) -> Result<&'v Vec<Value>, Failure> {
    value.get("value").and_then(Value::as_array).ok_or_else(|| parse_error(what, "the answer has no 'value' list"))
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn reply<'r>(replies: &'r [ItemReply], id: &str) -> Result<&'r Value, Failure> {
    match replies.iter().find(|r| r.id == id).map(|r| &r.result) {
        Some(Ok(v)) => Ok(v),
        Some(Err(f)) => Err(f.clone()),
        None => Err(parse_error("Graph batch answer", format!("no answer for '{id}'"))),
    }
}

/// A resource service principal: its app id, name, and app role id → value.
struct ResourceSp {
    object_id: String,
    app_id: String,
    name: String,
    roles: Vec<(String, String)>,
}

impl Graph {
    /// Reads the vendor app's grants in the tenant and the tenant's Teams licences.
    pub async fn tenant_snapshot(
        &self,
        tokens: &dyn TokenSource,
        vendor_app_id: &str,
    ) -> Result<TenantSnapshot, Failure> {
        let Some(sp) = self.service_principal(tokens, vendor_app_id).await? else {
            let licensing = self.teams_licensing(tokens).await;
            return Ok(TenantSnapshot { app: AppPresence::NotFound, granted: Vec::new(), licensing });
        };
        let replies = self
            .batch(
                tokens,
                &[
                    BatchItem::get("roles", format!("/servicePrincipals/{}/appRoleAssignments", sp.id)),
                    BatchItem::get(
                        "grants",
                        format!(
                            "/oauth2PermissionGrants?$filter={}",
                            crate::query::value(&format!("clientId eq '{}'", sp.id))
                        ),
                    ),
                    BatchItem::get("skus", "/subscribedSkus"),
                ],
            )
            .await?;
        let assignments = self.all_items(tokens, reply(&replies, "roles")?, "app role assignments").await?;
        let grants = self.all_items(tokens, reply(&replies, "grants")?, "delegated permission grants").await?;
        let licensing = reply(&replies, "skus").and_then(licensing_from);

        let resource_ids: BTreeSet<String> = assignments
            .iter()
            .filter_map(|a| text(a, "resourceId"))
            .chain(grants.iter().filter_map(|g| text(g, "resourceId")))
            .collect();
        let resources = self.resource_principals(tokens, &resource_ids).await?;
        let resource = |id: &str| resources.iter().find(|r| r.object_id.eq_ignore_ascii_case(id));

        let mut granted = Vec::new();
        for a in &assignments {
            let role_id = text(a, "appRoleId").unwrap_or_default();
            let res_id = text(a, "resourceId").unwrap_or_default();
            let r = resource(&res_id);
            let name = r
                .and_then(|r| r.roles.iter().find(|(id, _)| id.eq_ignore_ascii_case(&role_id)).map(|(_, v)| v.clone()))
                .unwrap_or(role_id);
            granted.push(GrantedPermission {
                resource_app_id: r.map(|r| r.app_id.clone()).unwrap_or_default(),
                resource_name: r
                    .map_or_else(|| text(a, "resourceDisplayName").unwrap_or(res_id.clone()), |r| r.name.clone()),
                kind: PermissionKind::Application,
                name,
                reach: GrantReach::Organization,
            });
        }
        for g in &grants {
            let res_id = text(g, "resourceId").unwrap_or_default();
            let r = resource(&res_id);
            let reach = if text(g, "consentType").as_deref() == Some("AllPrincipals") {
                GrantReach::Organization
            } else {
                GrantReach::SomeUsers
            };
            for scope in text(g, "scope").unwrap_or_default().split_whitespace() {
                granted.push(GrantedPermission {
                    resource_app_id: r.map(|r| r.app_id.clone()).unwrap_or_default(),
                    resource_name: r.map_or_else(|| res_id.clone(), |r| r.name.clone()),
                    kind: PermissionKind::Delegated,
                    name: scope.to_owned(),
                    reach,
                });
            }
        }
        // One row per permission: an organization-wide grant wins over personal ones.
        granted.sort_by(|a, b| {
            (a.kind, &a.name, a.reach == GrantReach::SomeUsers).cmp(&(
                b.kind,
                &b.name,
                b.reach == GrantReach::SomeUsers,
            ))
        });
        granted.dedup_by(|b, a| {
            a.kind == b.kind && a.name.eq_ignore_ascii_case(&b.name) && a.resource_app_id == b.resource_app_id
        });
        Ok(TenantSnapshot {
            app: AppPresence::Found { object_id: sp.id, enabled: sp.account_enabled.unwrap_or(true) },
            granted,
            licensing,
        })
    }

    /// The items of a collection answer, following `@odata.nextLink` if the first page was not all.
    async fn all_items(&self, tokens: &dyn TokenSource, first: &Value, what: &str) -> Result<Vec<Value>, Failure> {
        let mut items = items_of(first, what)?.clone();
        if let Some(next) = first.get("@odata.nextLink").and_then(Value::as_str) {
            self.pages(tokens, Call::get(next), |page| {
                items.extend(page.items);
                true
            })
            .await?;
        }
        Ok(items)
    }

    /// The resource service principals with these object ids, with their app roles (one batch).
    async fn resource_principals(
        &self,
        tokens: &dyn TokenSource,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<ResourceSp>, Failure> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let items: Vec<BatchItem> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                BatchItem::get(
                    format!("r{i}"),
                    format!("/servicePrincipals/{id}?$select=id,appId,displayName,appRoles"),
                )
            })
            .collect();
        let replies = self.batch(tokens, &items).await?;
        let mut out = Vec::new();
        for r in &replies {
            let v = match &r.result {
                Ok(v) => v,
                // A resource the admin cannot read: its role ids stay unnamed, which the checklist shows.
                Err(f) => {
                    tracing::warn!("could not read a resource service principal: {f}");
                    continue;
                }
            };
            let roles = v
                .get("appRoles")
                .and_then(Value::as_array)
                .map(|roles| roles.iter().filter_map(|x| Some((text(x, "id")?, text(x, "value")?))).collect())
                .unwrap_or_default();
            out.push(ResourceSp {
                object_id: text(v, "id").unwrap_or_default(),
                app_id: text(v, "appId").unwrap_or_default(),
                name: text(v, "displayName")
                    .or_else(|| {
                        text(v, "appId").and_then(|a| ResourceApi::from_app_id(&a)).map(|r| r.display_name().to_owned())
                    })
                    .unwrap_or_default(),
                roles,
            });
        }
        Ok(out)
    }

    /// The tenant's Teams licences (`GET /subscribedSkus`).
    pub async fn teams_licensing(&self, tokens: &dyn TokenSource) -> Result<TeamsLicensing, Failure> {
        let v = self.get(tokens, "v1.0/subscribedSkus").await?;
        licensing_from(&v)
    }
}

/// Counts the licences in use whose SKU includes Teams and is not suspended or deleted.
pub fn licensing_from(v: &Value) -> Result<TeamsLicensing, Failure> {
    let skus = items_of(v, "subscribed SKUs")?;
    let mut out = TeamsLicensing { licensed_users: 0, products: Vec::new() };
    for sku in skus {
        let active = matches!(text(sku, "capabilityStatus").as_deref(), Some("Enabled" | "Warning"));
        let teams = sku.get("servicePlans").and_then(Value::as_array).is_some_and(|plans| {
            plans.iter().any(|p| {
                text(p, "servicePlanId").is_some_and(|id| id.eq_ignore_ascii_case(TEAMS_PLAN_ID))
                    || text(p, "servicePlanName").is_some_and(|n| n.starts_with("TEAMS1"))
            })
        });
        if active && teams {
            out.licensed_users += sku.get("consumedUnits").and_then(Value::as_u64).unwrap_or(0);
            out.products.extend(text(sku, "skuPartNumber"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn teams_licences_count_only_active_skus_with_the_teams_plan() {
        let v = json!({ "value": [
            { "capabilityStatus": "Enabled", "consumedUnits": 12, "skuPartNumber": "SPE_E3",
              "servicePlans": [{ "servicePlanId": TEAMS_PLAN_ID, "servicePlanName": "TEAMS1" }] },
            { "capabilityStatus": "Suspended", "consumedUnits": 4, "skuPartNumber": "SPB",
              "servicePlans": [{ "servicePlanId": TEAMS_PLAN_ID, "servicePlanName": "TEAMS1" }] },
            { "capabilityStatus": "Enabled", "consumedUnits": 9, "skuPartNumber": "EXCHANGESTANDARD",
              "servicePlans": [{ "servicePlanId": "9aaf7827-d63c-4b61-89c3-182f06f82e5c", "servicePlanName": "EXCHANGE_S_STANDARD" }] },
        ]});
        let l = licensing_from(&v).unwrap();
        assert_eq!(l.licensed_users, 12);
        assert_eq!(l.products, ["SPE_E3"]);
        assert!(matches!(licensing_from(&json!({ "oops": 1 })), Err(Failure::Parse { .. })));
    }
}
