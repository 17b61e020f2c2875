//! The partner's GDAP picture (`docs/msp-multi-tenant.md`), read from the partner's own tenant with delegated
//! `DelegatedAdminRelationship.Read.All`: the customers, every relationship (paged, 300 a page), each live or
//! pending relationship's access assignments (a few at a time), and the signed-in user's security groups.
//! A customer's admin centers are read per customer, when its tenant is checked.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt as _, TryStreamExt as _};
use serde_json::Value;

use super::{Call, Graph, TokenSource};
use crate::wizard::Failure;
use crate::wizard::board::{Assignment, AssignmentStatus, Customer, Relationship, RelationshipStatus};
use crate::wizard::customer_checks::AdminCenters;

/// Access-assignment reads in flight at once (one per relationship).
const ASSIGNMENT_READS: usize = 8;

fn parse_error(what: &str, detail: impl Into<String>) -> Failure {
    Failure::Parse { what: what.to_owned(), excerpt: detail.into() }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Graph's `DateTimeOffset` as Unix seconds.
fn unix(v: &Value, key: &str) -> Option<u64> {
    let s = v.get(key)?.as_str()?;
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp()).ok()
}

fn roles_of(v: &Value) -> Vec<String> {
    v.pointer("/accessDetails/unifiedRoles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles.iter().filter_map(|r| text(r, "roleDefinitionId")).map(|id| id.to_ascii_lowercase()).collect()
        })
        .unwrap_or_default()
}

fn status<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> Result<T, Failure> {
    serde_json::from_value(v.get("status").cloned().unwrap_or(Value::Null))
        .map_err(|e| parse_error(what, format!("status: {e}")))
}

/// One relationship from Graph's JSON, without its assignments; with the customer's tenant id and name.
fn relationship(v: &Value) -> Result<(String, String, Relationship), Failure> {
    let what = "GDAP relationship";
    let id = text(v, "id").ok_or_else(|| parse_error(what, "no id"))?;
    let tenant = v.pointer("/customer/tenantId").and_then(Value::as_str).map(str::to_ascii_lowercase);
    let tenant = tenant.ok_or_else(|| parse_error(what, format!("relationship {id} names no customer")))?;
    let name = v.pointer("/customer/displayName").and_then(Value::as_str).unwrap_or_default().to_owned();
    let r = Relationship {
        id,
        status: status(v, what)?,
        activated: unix(v, "activatedDateTime"),
        end: unix(v, "endDateTime"),
        roles: roles_of(v),
        assignments: Vec::new(),
    };
    Ok((tenant, name, r))
}

fn assignment(v: &Value) -> Result<Assignment, Failure> {
    let what = "GDAP access assignment";
    let group_id = v
        .pointer("/accessContainer/accessContainerId")
        .and_then(Value::as_str)
        .ok_or_else(|| parse_error(what, "no access container"))?
        .to_ascii_lowercase();
    Ok(Assignment { group_id, status: status::<AssignmentStatus>(v, what)?, roles: roles_of(v) })
}

impl Graph {
    /// Every customer of the partner with its relationships and their access assignments, customers in name order.
    /// The customers' clouds are not read here (`government` is `None`).
    pub async fn partner_customers(&self, tokens: &dyn TokenSource) -> Result<Vec<Customer>, Failure> {
        let mut customers: BTreeMap<String, Customer> = BTreeMap::new();
        let mut items = Vec::new();
        self.pages(
            tokens,
            Call::get("v1.0/tenantRelationships/delegatedAdminCustomers?$select=tenantId,displayName"),
            |p| {
                items.extend(p.items);
                true
            },
        )
        .await?;
        for c in &items {
            let Some(tenant_id) = text(c, "tenantId").map(|t| t.to_ascii_lowercase()) else { continue };
            let name = text(c, "displayName").unwrap_or_default();
            customers
                .insert(tenant_id.clone(), Customer { tenant_id, name, relationships: Vec::new(), government: None });
        }
        let mut rels = Vec::new();
        self.pages(tokens, Call::get("v1.0/tenantRelationships/delegatedAdminRelationships?$top=300"), |p| {
            rels.extend(p.items);
            true
        })
        .await?;
        let mut found = Vec::new();
        for v in &rels {
            found.push(relationship(v)?);
        }
        // Only relationships that are or will be live have assignments worth reading.
        let wanted = |r: &Relationship| {
            matches!(
                r.status,
                RelationshipStatus::Active | RelationshipStatus::Expiring | RelationshipStatus::Activating
            )
        };
        let ids: Vec<String> = found.iter().filter(|(_, _, r)| wanted(r)).map(|(_, _, r)| r.id.clone()).collect();
        let assignments: BTreeMap<String, Vec<Assignment>> = futures_util::stream::iter(ids)
            .map(|id| async move {
                let target = format!("v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments");
                let mut list = Vec::new();
                let mut error = None;
                self.pages(tokens, Call::get(target), |p| {
                    for v in &p.items {
                        match assignment(v) {
                            Ok(a) => list.push(a),
                            Err(f) => error = Some(f),
                        }
                    }
                    error.is_none()
                })
                .await?;
                error.map_or(Ok((id, list)), Err)
            })
            .buffer_unordered(ASSIGNMENT_READS)
            .try_collect()
            .await?;
        for (tenant_id, name, mut r) in found {
            r.assignments = assignments.get(&r.id).cloned().unwrap_or_default();
            // A relationship whose customer the customers list lacks still counts (the list can lag).
            customers
                .entry(tenant_id.clone())
                .or_insert_with(|| Customer { tenant_id, name, relationships: Vec::new(), government: None })
                .relationships
                .push(r);
        }
        let mut list: Vec<Customer> = customers.into_values().collect();
        list.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.tenant_id.cmp(&b.tenant_id)));
        Ok(list)
    }

    /// A customer's admin centers in the partner's context, as Microsoft lists them for the partner:
    /// `GET /tenantRelationships/delegatedAdminCustomers/{id}/serviceManagementDetails` (a customer's id is its
    /// tenant id).
    pub async fn admin_centers(&self, tokens: &dyn TokenSource, tenant_id: &str) -> Result<AdminCenters, Failure> {
        let mut services = Vec::new();
        let target = format!(
            "v1.0/tenantRelationships/delegatedAdminCustomers/{}/serviceManagementDetails",
            crate::query::value(tenant_id)
        );
        self.pages(tokens, Call::get(target), |p| {
            services.extend(p.items.iter().map(|v| (text(v, "serviceName"), text(v, "serviceManagementUrl"))));
            true
        })
        .await?;
        Ok(AdminCenters::from_services(
            services.iter().filter_map(|(n, u)| Some((n.as_deref().unwrap_or(""), u.as_deref()?))),
        ))
    }

    /// The signed-in user's security groups (object ids): `GET /me/transitiveMemberOf/microsoft.graph.group`.
    pub async fn my_groups(&self, tokens: &dyn TokenSource) -> Result<BTreeSet<String>, Failure> {
        let mut groups = BTreeSet::new();
        self.pages(tokens, Call::get("v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id"), |p| {
            groups.extend(p.items.iter().filter_map(|g| text(g, "id")).map(|id| id.to_ascii_lowercase()));
            true
        })
        .await?;
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_relationship_is_read_with_its_dates_roles_and_customer() {
        let v = json!({
            "id": "r1",
            "status": "active",
            "activatedDateTime": "2026-01-01T00:00:00Z",
            "endDateTime": "2027-01-01T00:00:00Z",
            "customer": { "tenantId": "ABC", "displayName": "Fabrikam" },
            "accessDetails": { "unifiedRoles": [{ "roleDefinitionId": "62E90394-69F5-4237-9190-012177145E10" }] },
        });
        let (tenant, name, r) = relationship(&v).unwrap();
        assert_eq!((tenant.as_str(), name.as_str()), ("abc", "Fabrikam"));
        assert_eq!(r.status, RelationshipStatus::Active);
        assert_eq!(r.activated, Some(1_767_225_600));
        assert_eq!(r.roles, ["62e90394-69f5-4237-9190-012177145e10"]);
        let broken = json!({ "id": "r2", "status": "active" });
        assert_eq!(relationship(&broken).unwrap_err().code(), "unreadable_answer");
    }

    #[test]
    fn an_assignment_names_its_group_and_status() {
        let v = json!({
            "status": "pending",
            "accessContainer": { "accessContainerId": "G1", "accessContainerType": "securityGroup" },
            "accessDetails": { "unifiedRoles": [] },
        });
        let a = assignment(&v).unwrap();
        assert_eq!((a.group_id.as_str(), a.status), ("g1", AssignmentStatus::Pending));
    }
}
