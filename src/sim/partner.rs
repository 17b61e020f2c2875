//! The simulated tenant as a partner (an MSP): its GDAP relationships with customer tenants, their access
//! assignments (the partner's security groups mapped to roles), and Graph's JSON for them
//! (`tenantRelationships/delegatedAdminCustomers`, `delegatedAdminRelationships`, `.../accessAssignments`), as
//! `docs/msp-multi-tenant.md` describes them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::clock::{self, stable_guid};
use super::scenario::KNOWN_ROLES;

const DAY: u64 = 24 * 60 * 60;
/// Most generated customers (each request re-makes them; a partner with more is not what the simulator is for).
const MAX_GENERATED: u32 = 10_000;

/// `[partner]` of a scenario: the relationships the partner tenant holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    #[serde(default)]
    pub relationships: Vec<RelationshipSpec>,
    /// Customers made up beside `relationships`, for scale ("Customer 0001" …): most active with Global
    /// Administrator through `generated_group`, one in ten each approval pending, access assignment pending,
    /// expiring in 10 days, and Cloud Application Administrator only.
    #[serde(default)]
    pub generated_customers: u32,
    /// The partner group the generated relationships map (default `MSPbots Onboarding`).
    #[serde(default = "default_generated_group")]
    pub generated_group: String,
    /// The shipped scenario every generated customer's own tenant runs (served in full, as a relationship's
    /// `tenant`); none: they are known by name only.
    #[serde(default)]
    pub generated_tenant: Option<String>,
    /// The vendor's apps each generated customer approved (`signin`, `consent`).
    #[serde(default)]
    pub generated_approved: Vec<String>,
    /// Faults added to each generated customer's tenant (delays, throttling), each counted per tenant.
    #[serde(default)]
    pub generated_faults: Vec<super::scenario::FaultSpec>,
    /// Whether Graph lists a GDAP agent's roles under `/me/transitiveMemberOf` in a customer's tenant (true).
    /// Microsoft does not document it; false models the other case (the roles in the token's `wids` only).
    #[serde(default = "super::scenario::yes")]
    pub gdap_roles_listed: bool,
}

fn default_generated_group() -> String {
    "MSPbots Onboarding".to_owned()
}

impl Default for PartnerSpec {
    fn default() -> Self {
        Self {
            relationships: Vec::new(),
            generated_customers: 0,
            generated_group: default_generated_group(),
            generated_tenant: None,
            generated_approved: Vec::new(),
            generated_faults: Vec::new(),
            gdap_roles_listed: true,
        }
    }
}

/// One GDAP relationship with a customer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationshipSpec {
    /// The customer's organization name.
    pub customer: String,
    /// The customer's tenant id (derived from the name when not given).
    #[serde(default)]
    pub customer_tenant_id: Option<String>,
    pub status: RelationshipStatus,
    /// Entra roles the customer approved, by name.
    pub roles: Vec<String>,
    /// Days since the relationship became active (ignored before it is).
    #[serde(default = "default_active_days")]
    pub activated_days_ago: u64,
    /// Minutes since it became active, for one activated moments ago (instead of `activated_days_ago`).
    #[serde(default)]
    pub activated_minutes_ago: Option<u64>,
    #[serde(default = "default_duration_days")]
    pub duration_days: u64,
    /// Auto-extend by 180 days (not allowed with Global Administrator).
    #[serde(default)]
    pub auto_extend: bool,
    /// The partner's security groups mapped to roles in this relationship.
    #[serde(default)]
    pub access_assignments: Vec<AssignmentSpec>,
    /// The shipped scenario the customer's own tenant runs (`happy`, `teams-legacy-policies`, …): the simulator
    /// then serves that tenant in full, on the same hosts, for the partner's admin agents to sign in to. Without
    /// it the customer is a directory known by name only.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The vendor's apps the customer already approved in its tenant (`signin`: the setup tool, `consent`:
    /// MSPbots), by an admin of the customer or earlier: a partner's agent cannot use an app before (AADSTS90099).
    #[serde(default)]
    pub approved: Vec<String>,
}

fn default_active_days() -> u64 {
    30
}

fn default_duration_days() -> u64 {
    730
}

/// Graph's `delegatedAdminRelationshipStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationshipStatus {
    Created,
    ApprovalPending,
    Approved,
    Activating,
    Active,
    Expiring,
    Expired,
    TerminationRequested,
    Terminating,
    Terminated,
}

impl RelationshipStatus {
    /// Whether the relationship has been active (it has an activation and an end date).
    fn was_activated(self) -> bool {
        !matches!(self, Self::Created | Self::ApprovalPending | Self::Approved | Self::Activating)
    }

    fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

/// One access assignment: a partner security group and the roles it gets in the customer tenant.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSpec {
    /// The partner's security group (its name; the id is derived).
    pub group: String,
    pub status: AssignmentStatus,
    /// Roles by name; the relationship's roles when empty.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Graph's `delegatedAdminAccessAssignmentStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AssignmentStatus {
    Pending,
    Active,
    Deleting,
    Deleted,
    Error,
}

impl PartnerSpec {
    /// Every relationship: the scenario's, then the generated ones.
    pub fn all(&self) -> Vec<RelationshipSpec> {
        let mut all = self.relationships.clone();
        all.extend((1..=self.generated_customers).map(|i| self.generated(i)));
        all
    }

    /// The `i`th generated customer's relationship (see `generated_customers`).
    fn generated(&self, i: u32) -> RelationshipSpec {
        let (status, roles, assignment, activated_days_ago, duration_days) = match i % 10 {
            3 => (RelationshipStatus::ApprovalPending, "Global Administrator", AssignmentStatus::Active, 30, 730),
            5 => (RelationshipStatus::Active, "Global Administrator", AssignmentStatus::Pending, 1, 730),
            7 => (RelationshipStatus::Expiring, "Global Administrator", AssignmentStatus::Active, 720, 730),
            9 => (RelationshipStatus::Active, "Cloud Application Administrator", AssignmentStatus::Active, 30, 730),
            _ => (RelationshipStatus::Active, "Global Administrator", AssignmentStatus::Active, 30, 730),
        };
        RelationshipSpec {
            customer: format!("Customer {i:04}"),
            customer_tenant_id: None,
            status,
            roles: vec![roles.to_owned()],
            activated_days_ago,
            activated_minutes_ago: None,
            duration_days,
            auto_extend: false,
            access_assignments: vec![AssignmentSpec {
                group: self.generated_group.clone(),
                status: assignment,
                roles: Vec::new(),
            }],
            tenant: self.generated_tenant.clone(),
            approved: self.generated_approved.clone(),
        }
    }

    /// Why the section is wrong, if it is: unknown role names, Global Administrator with auto-extend, a tenant id
    /// that is not a GUID.
    pub fn problem(&self) -> Option<String> {
        if self.generated_customers > MAX_GENERATED {
            return Some(format!("partner.generated_customers is limited to {MAX_GENERATED}"));
        }
        if self.generated_customers > 0 {
            // The generated relationships' tenant and apps are checked as the named ones are.
            let sample = self.generated(1);
            let mut checked = self.relationships.clone();
            checked.push(sample);
            return Self { relationships: checked, generated_customers: 0, ..self.clone() }.problem();
        }
        for r in &self.relationships {
            let names = r.roles.iter().chain(r.access_assignments.iter().flat_map(|a| &a.roles));
            for role in names {
                if role_id(role).is_none() {
                    let known: Vec<&str> = KNOWN_ROLES.iter().map(|(n, _)| *n).collect();
                    return Some(format!(
                        "partner relationship with '{}' names unknown role '{role}' (known: {})",
                        r.customer,
                        known.join(", ")
                    ));
                }
            }
            if r.auto_extend && r.roles.iter().any(|n| n == "Global Administrator") {
                return Some(format!(
                    "partner relationship with '{}' auto-extends with Global Administrator, which Microsoft refuses",
                    r.customer
                ));
            }
            if let Some(t) = &r.customer_tenant_id
                && uuid::Uuid::try_parse(t).is_err()
            {
                return Some(format!("partner relationship with '{}': customer_tenant_id is not a GUID", r.customer));
            }
            let shipped = super::scenario::shipped_names();
            if let Some(t) = r.tenant.as_deref().filter(|t| !shipped.contains(t) || *t == "msp-partner") {
                return Some(format!(
                    "partner relationship with '{}': tenant '{t}' is not a shipped single-tenant scenario (known: {})",
                    r.customer,
                    shipped.iter().filter(|n| **n != "msp-partner").copied().collect::<Vec<_>>().join(", ")
                ));
            }
            if let Some(app) = r.approved.iter().find(|a| !matches!(a.as_str(), "signin" | "consent")) {
                return Some(format!(
                    "partner relationship with '{}': approved app '{app}' is neither 'signin' nor 'consent'",
                    r.customer
                ));
            }
        }
        None
    }
}

fn role_id(name: &str) -> Option<&'static str> {
    KNOWN_ROLES.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}

impl RelationshipSpec {
    /// The customer's tenant id.
    pub fn tenant_id(&self) -> String {
        self.customer_tenant_id.clone().unwrap_or_else(|| stable_guid("customer-tenant", &self.customer))
    }

    /// The relationship's id: Graph's are a GUID followed by the customer's tenant id.
    pub fn id(&self) -> String {
        format!("{}-{}", stable_guid("gdap", &self.customer), self.tenant_id())
    }

    fn unified_roles(names: &[String]) -> Value {
        json!({ "unifiedRoles": names.iter().filter_map(|n| role_id(n)).map(|id| json!({ "roleDefinitionId": id })).collect::<Vec<_>>() })
    }

    /// `microsoft.graph.delegatedAdminRelationship` at `now` (unix seconds).
    /// When it became active (Unix seconds), as the scenario says.
    fn activated_at(&self, now: u64) -> u64 {
        now.saturating_sub(self.activated_minutes_ago.map_or(self.activated_days_ago * DAY, |m| m * 60))
    }

    pub fn json(&self, now: u64) -> Value {
        let activated = self.activated_at(now);
        let created = activated.saturating_sub(DAY);
        let (activated_at, end) = if self.status.was_activated() {
            (json!(clock::iso_utc(activated)), json!(clock::iso_utc(activated + self.duration_days * DAY)))
        } else {
            (Value::Null, Value::Null)
        };
        json!({
            "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
            "id": self.id(),
            "displayName": format!("MSP_{}", self.customer.replace(' ', "_")),
            "duration": format!("P{}D", self.duration_days),
            "status": self.status.name(),
            "autoExtendDuration": if self.auto_extend { "P180D" } else { "PT0S" },
            "createdDateTime": clock::iso_utc(created),
            "lastModifiedDateTime": clock::iso_utc(if self.status.was_activated() { activated } else { created }),
            "activatedDateTime": activated_at,
            "endDateTime": end,
            "customer": { "tenantId": self.tenant_id(), "displayName": self.customer },
            "accessDetails": Self::unified_roles(&self.roles),
        })
    }

    /// `microsoft.graph.delegatedAdminAccessAssignment`s of this relationship.
    pub fn assignments_json(&self, now: u64) -> Vec<Value> {
        let at = clock::iso_utc(self.activated_at(now));
        self.access_assignments
            .iter()
            .map(|a| {
                let roles = if a.roles.is_empty() { &self.roles } else { &a.roles };
                json!({
                    "@odata.type": "#microsoft.graph.delegatedAdminAccessAssignment",
                    "id": stable_guid("gdap-assignment", &format!("{}/{}", self.id(), a.group)),
                    "status": serde_json::to_value(a.status).unwrap_or(Value::Null),
                    "createdDateTime": at,
                    "lastModifiedDateTime": at,
                    "accessContainer": {
                        "accessContainerId": group_id(&a.group),
                        "accessContainerType": "securityGroup",
                    },
                    "accessDetails": Self::unified_roles(roles),
                })
            })
            .collect()
    }
}

/// The object id of the partner's security group `name`.
pub fn group_id(name: &str) -> String {
    stable_guid("partner-group", name)
}

/// `microsoft.graph.delegatedAdminCustomer`s: one per customer with at least one relationship.
pub fn customers_json(spec: &PartnerSpec) -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    spec.all()
        .iter()
        .filter(|r| seen.insert(r.tenant_id()))
        .map(|r| {
            json!({
                "@odata.type": "#microsoft.graph.delegatedAdminCustomer",
                "id": r.tenant_id(),
                "tenantId": r.tenant_id(),
                "displayName": r.customer,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relationship(status: RelationshipStatus) -> RelationshipSpec {
        RelationshipSpec {
            customer: "Fabrikam".into(),
            customer_tenant_id: None,
            status,
            roles: vec!["Global Administrator".into()],
            activated_days_ago: 10,
            activated_minutes_ago: None,
            duration_days: 730,
            auto_extend: false,
            access_assignments: vec![AssignmentSpec {
                group: "Onboarding".into(),
                status: AssignmentStatus::Pending,
                roles: vec![],
            }],
            tenant: None,
            approved: Vec::new(),
        }
    }

    #[test]
    fn dates_follow_the_status() {
        let now = 1_800_000_000;
        let active = relationship(RelationshipStatus::Active).json(now);
        assert_eq!(active["status"], "active");
        assert_eq!(active["activatedDateTime"], clock::iso_utc(now - 10 * DAY));
        assert_eq!(active["endDateTime"], clock::iso_utc(now - 10 * DAY + 730 * DAY));
        let pending = relationship(RelationshipStatus::ApprovalPending).json(now);
        assert_eq!(pending["status"], "approvalPending");
        assert!(pending["activatedDateTime"].is_null() && pending["endDateTime"].is_null());
        assert!(active["id"].as_str().unwrap().ends_with(&relationship(RelationshipStatus::Active).tenant_id()));
    }

    #[test]
    fn assignments_inherit_the_relationships_roles_and_say_their_status() {
        let a = relationship(RelationshipStatus::Active).assignments_json(1_800_000_000);
        assert_eq!(a[0]["status"], "pending");
        assert_eq!(
            a[0]["accessDetails"]["unifiedRoles"][0]["roleDefinitionId"],
            "62e90394-69f5-4237-9190-012177145e10"
        );
        assert_eq!(a[0]["accessContainer"]["accessContainerId"], group_id("Onboarding"));
    }

    #[test]
    fn unknown_roles_and_global_admin_auto_extend_are_refused() {
        let mut spec =
            PartnerSpec { relationships: vec![relationship(RelationshipStatus::Active)], ..Default::default() };
        assert_eq!(spec.problem(), None);
        spec.relationships[0].auto_extend = true;
        assert!(spec.problem().unwrap().contains("auto-extends"));
        spec.relationships[0].auto_extend = false;
        spec.relationships[0].roles.push("Chief Wizard".into());
        assert!(spec.problem().unwrap().contains("Chief Wizard"));
        spec.relationships[0].roles.pop();
        spec.generated_customers = 10_001;
        assert!(spec.problem().unwrap().contains("limited to 10000"));
    }
}
