//! One presenter: the words for an outcome, produced once and rendered by the window (`app/`) and by headless
//! (`headless/lines.rs`), so the two cannot drift. Pure (no egui, no I/O): it reads the wizard's state and returns
//! text with a [`Mark`] per row; each front end only draws or prints it.
//!
//! Covered so far: the consent pre-check that stops an account which cannot grant, and the verify step's
//! checklist (headline, one row per permission, the Teams prerequisites).
//! Failures already have one source of words, the error catalogue (`diagnostics::Catalogue::explain`).

use crate::wizard::{AppPresence, Checklist, PermissionState, RoleCheck};

/// How a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Ok,
    Problem,
    /// Not a problem yet, or not known (a permission granted but not asked for; a read that failed).
    Unsure,
}

impl Mark {
    /// The mark as headless prints it.
    pub fn glyph(self) -> &'static str {
        match self {
            Self::Ok => "✓",
            Self::Problem => "✗",
            Self::Unsure => "!",
        }
    }
}

/// One permission of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRow {
    pub mark: Mark,
    /// `Directory.Read.All`.
    pub name: String,
    /// `application` or `delegated`.
    pub kind: &'static str,
    /// `granted`, `missing`, `granted by some users only`, `granted but not needed`.
    pub state: &'static str,
    /// Why the vendor needs it (from the profile), or that it does not.
    pub why: String,
}

/// A line with a mark: a prerequisite of the Teams steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub mark: Mark,
    pub text: String,
}

/// The verify step's checklist in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistText {
    /// `Every permission MSPbots needs is granted` / `Missing 2 of 4: …` / `MSPbots is not in your tenant yet …`.
    pub headline: String,
    pub headline_mark: Mark,
    pub permissions: Vec<PermissionRow>,
    /// Teams licences, the admin's role, the enterprise application being enabled.
    pub prerequisites: Vec<Row>,
}

/// The checklist's words. `asked_for` is how many permissions the vendor profile asks for.
pub fn checklist(list: &Checklist, vendor: &str, asked_for: usize) -> ChecklistText {
    let missing: Vec<&str> = list.missing().map(|p| p.name.as_str()).collect();
    let (headline, headline_mark) = match &list.app {
        AppPresence::NotFound => {
            (format!("{vendor} is not in your tenant yet: no permission is granted"), Mark::Problem)
        }
        AppPresence::Found { .. } if missing.is_empty() => {
            (format!("Every permission {vendor} needs is granted"), Mark::Ok)
        }
        AppPresence::Found { .. } => {
            (format!("Missing {} of {asked_for}: {}", missing.len(), missing.join(", ")), Mark::Problem)
        }
    };
    let permissions = list
        .permissions
        .iter()
        .map(|p| {
            let (mark, state) = match p.state {
                PermissionState::Granted => (Mark::Ok, "granted"),
                PermissionState::Missing => (Mark::Problem, "missing"),
                PermissionState::OnlySomeUsers => (Mark::Problem, "granted by some users only"),
                PermissionState::NotNeeded => (Mark::Unsure, "granted but not needed"),
            };
            PermissionRow {
                mark,
                name: p.name.clone(),
                kind: p.kind.label(),
                state,
                why: p
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("{vendor} does not ask for this; an admin may remove it")),
            }
        })
        .collect();
    let mut prerequisites = vec![match &list.teams {
        Ok(t) if t.licensed_users > 0 => Row {
            mark: Mark::Ok,
            text: format!("Microsoft Teams: {} licensed users ({})", t.licensed_users, t.products.join(", ")),
        },
        Ok(_) => Row {
            mark: Mark::Problem,
            text: "Microsoft Teams: no licence in this tenant includes Teams, so the Teams app cannot be installed. \
                   Who can fix it: whoever buys your Microsoft 365 licences."
                .to_owned(),
        },
        Err(f) => {
            Row { mark: Mark::Unsure, text: format!("Microsoft Teams licences could not be read ({}).", f.code()) }
        }
    }];
    prerequisites.push(match &list.role {
        RoleCheck::Sufficient { role } => {
            Row { mark: Mark::Ok, text: format!("Your role: {role}, which may manage Teams apps and policies") }
        }
        RoleCheck::Insufficient { roles } => Row {
            mark: Mark::Problem,
            text: format!(
                "Your role: {}. The Teams steps need a Global Administrator or Teams Administrator; sign in as one \
                 before continuing.",
                if roles.is_empty() { "no admin role".to_owned() } else { roles.join(", ") }
            ),
        },
        RoleCheck::Unknown { why } => Row {
            mark: Mark::Unsure,
            text: format!(
                "Your roles could not be read ({why}). The Teams steps need a Global Administrator or Teams \
                 Administrator."
            ),
        },
    });
    if let AppPresence::Found { enabled: false, .. } = list.app {
        prerequisites.push(Row {
            mark: Mark::Problem,
            text: format!(
                "The {vendor} enterprise application is disabled in your tenant, so nobody can use it. Who can fix \
                 it: an admin, in Entra ID > Enterprise applications > {vendor} > Properties > Enabled for users to \
                 sign in."
            ),
        });
    }
    ChecklistText { headline, headline_mark, permissions, prerequisites }
}

impl PermissionRow {
    /// The row on one line, as headless prints it.
    pub fn line(&self) -> String {
        format!("{} {} ({}, {}): {}", self.mark.glyph(), self.name, self.kind, self.state, self.why)
    }
}

impl Row {
    /// The row on one line, as headless prints it.
    pub fn line(&self) -> String {
        format!("{} {}", self.mark.glyph(), self.text)
    }
}

/// The consent pre-check's verdict on an account that cannot grant, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannotGrant {
    /// One line: the roles held and what they cannot do.
    pub summary: String,
    /// Who may grant instead.
    pub who: &'static str,
    /// What to do, in order; the consent link for an admin when there is one.
    pub fix: Vec<String>,
}

/// Why an account holding `roles` cannot grant the vendor's application permissions, and what to do.
pub fn cannot_grant(roles: &[String], consent_link: Option<&str>) -> CannotGrant {
    let held = if roles.is_empty() { "no admin role".to_owned() } else { roles.join(", ") };
    let mut fix = vec!["Sign in with a Global Administrator or Privileged Role Administrator account.".to_owned()];
    if let Some(link) = consent_link {
        fix.push(format!("Or send this consent link to your organization's Global Administrator: {link}"));
    }
    CannotGrant {
        summary: format!("The signed-in account has {held} and cannot grant Microsoft Graph application permissions"),
        who: "a Global Administrator or Privileged Role Administrator of this tenant",
        fix,
    }
}

/// Step 5, once the Global policy holds the app: what the step found and what is left, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyText {
    /// One line: pinned (and installed), in which model.
    pub headline: String,
    /// How installs for everyone stand, and (app-centric, not known to be set) why the admin acts by hand.
    pub installs: String,
    /// The admin must set the install (or availability) in the admin center or with PowerShell.
    pub admin_acts: bool,
    /// "N of M sampled users have MSPbots", or what the check is doing.
    pub delivery: String,
    pub delivery_mark: Mark,
    /// One line per sampled user without the app (up to 10), with the reason.
    pub missing: Vec<String>,
    /// What to expect next, in one sentence.
    pub next: String,
}

/// The model as headless prints it in `detail.model`.
pub fn model_name(model: crate::wizard::Model) -> &'static str {
    match model {
        crate::wizard::Model::Legacy => "legacy",
        crate::wizard::Model::AppCentric => "app_centric",
    }
}

fn reason_text(reason: crate::wizard::MissingReason) -> &'static str {
    use crate::wizard::MissingReason as R;
    match reason {
        R::NotReachedYet => {
            "not there yet (Teams can take hours; if it stays missing, check the app is available to them)"
        }
        R::NoTeamsLicence => "no Teams licence (not counted)",
        R::NotAvailable => "not available to them",
        R::Blocked => "blocked",
        R::Refused => "Microsoft refused to say",
    }
}

pub fn ago(d: std::time::Duration) -> String {
    match d.as_secs() {
        0..60 => "just now".to_owned(),
        s if s < 7200 => format!("{} min ago", s / 60),
        s if s < 2 * 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// When the partner's board was read, and how long ago (`2026-12-06 08:08 UTC, 3 h ago`).
pub fn read_when(read_at: u64, now: u64) -> String {
    let at: String = rfc3339(read_at).replace('T', " ").chars().take(16).collect();
    format!("{at} UTC, {}", ago(std::time::Duration::from_secs(now.saturating_sub(read_at))))
}

/// The words for an applied step 5, or `None` before it is.
pub fn policy_applied(w: &crate::wizard::Wizard, now: crate::wizard::Moment) -> Option<PolicyText> {
    use crate::wizard::{Delivery, EveryoneInstall, Evidence, Model, PolicyStep};
    let PolicyStep::Applied { since, model, evidence, everyone, delivery, .. } = w.policy() else {
        return None;
    };
    let app = &w.settings().teams_app_name;
    let headline = match evidence {
        Evidence::PolicyInstalls => {
            format!("{app} is pinned and installed for everyone in the Global setup policy (legacy model).")
        }
        Evidence::AlreadyInPolicy => {
            format!("{app} was already pinned and installed in the Global setup policy; nothing changed.")
        }
        Evidence::InstallRefused => format!(
            "{app} is pinned in the Global setup policy. The tenant refused to install it through the policy: it \
             installs apps per app (app-centric model)."
        ),
        Evidence::InstallIgnored => format!(
            "{app} is pinned in the Global setup policy. The tenant accepted the install and left it out of the \
             policy: it installs apps per app (app-centric model)."
        ),
    };
    let reached = matches!(delivery, Delivery::Reached { .. });
    let (installs, admin_acts) = match (model, everyone) {
        (_, EveryoneInstall::Set) => ("Installed for everyone: set by the Global setup policy.".to_owned(), false),
        (_, _) if reached => (
            format!(
                "Installing {app} for everyone is a setting of the app itself on this tenant, which the setup tool \
                 cannot read; every sampled user has it (a pin installs it for everyone it is available to). \
                 Users with another setup policy get it only through the app's own install setting."
            ),
            false,
        ),
        (Model::AppCentric, _) | (_, EveryoneInstall::NotSet | EveryoneInstall::Unknown) => (
            format!(
                "Installing {app} for everyone is a setting of the app itself on this tenant, and Microsoft offers no \
                 API for it. Set Installs to Everyone (and Availability to Everyone) on {app}'s page in the Teams \
                 admin center, or run the PowerShell script; the check below shows when it has reached people."
            ),
            true,
        ),
    };
    let (delivery_text, delivery_mark) = match delivery {
        Delivery::Checking { last: None, .. } => ("Checking who has it…".to_owned(), Mark::Unsure),
        Delivery::Checking { last: Some(r), .. } | Delivery::Waiting { report: r, .. } => (
            format!(
                "{} of {} sampled users have {app} (applied {}, checked {}). Teams can take hours to reach everyone.",
                r.have_it,
                r.sampled,
                ago(since.until(now)),
                ago(r.at.until(now))
            ),
            Mark::Unsure,
        ),
        Delivery::Reached { report: r } => {
            (format!("All {} sampled users with Teams have {app}.", r.sampled), Mark::Ok)
        }
        Delivery::Blocked { report: r } => (
            format!(
                "{} of {} sampled users have {app}: it is blocked or not available to some of them.",
                r.have_it, r.sampled
            ),
            Mark::Problem,
        ),
        Delivery::Failed { failure } => (format!("Could not check who has {app} ({}).", failure.code()), Mark::Problem),
    };
    let missing = delivery
        .report()
        .map(|r| r.missing.iter().take(10).map(|m| format!("{}: {}", m.name, reason_text(m.reason))).collect())
        .unwrap_or_default();
    let next = match delivery {
        Delivery::Reached { .. } => format!("Done: {app} is in your users' Teams."),
        Delivery::Blocked { .. } => format!("Make {app} available to everyone and not blocked, then Check who has it."),
        Delivery::Failed { .. } => "Check who has it again.".to_owned(),
        Delivery::Checking { .. } | Delivery::Waiting { .. } => {
            "The setup tool checks again by itself, less often as time goes by.".to_owned()
        }
    };
    Some(PolicyText { headline, installs, admin_acts, delivery: delivery_text, delivery_mark, missing, next })
}

/// The consent step once done, in words: a headline and one line on what the tenant showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentDone {
    pub headline: &'static str,
    pub line: String,
}

/// What the consent step says once it is done (`check`: how the wizard knows).
pub fn consent_done(vendor: &str, check: &crate::wizard::ConsentCheck) -> ConsentDone {
    use crate::wizard::ConsentCheck as C;
    match check {
        C::Confirmed => ConsentDone {
            headline: "Consent granted",
            line: format!("{vendor} has its permissions, and the tenant shows its app."),
        },
        C::AlreadyThere => ConsentDone {
            headline: "Already granted",
            line: format!(
                "{vendor} was granted its permissions before this run (the tenant shows its app), so its consent page \
                 was not needed. The permission check says whether everything is still there; Grant again opens the \
                 consent page anyway."
            ),
        },
        C::Earlier => ConsentDone {
            headline: "Consent granted",
            line: format!(
                "{vendor} was granted its permissions in an earlier run of this setup; the next step reads the tenant \
                 again to confirm every permission is still there."
            ),
        },
        C::Unconfirmed(why) if why.is_consent_required() => ConsentDone {
            headline: "Consent granted",
            line: format!(
                "{vendor} has its permissions (Microsoft confirmed it on its page). The setup tool has not been \
                 approved to read your tenant's applications yet, so it checks each permission in the next step."
            ),
        },
        C::Unconfirmed(_) => ConsentDone {
            headline: "Consent granted",
            line: format!(
                "{vendor} has its permissions (Microsoft confirmed it on its page), but the setup tool could not look \
                 at your tenant:"
            ),
        },
    }
}

/// One of the setup tool's own delegated permissions (not the vendor's), the step that needs it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPermission {
    /// As Microsoft's consent page names it.
    pub name: &'static str,
    /// The scope as requested (`User.Read`, or the Teams admin API's `{id}/user_impersonation`).
    pub scope: &'static str,
    pub step: crate::wizard::StepId,
    pub why: String,
}

/// The setup tool's own permissions, asked at sign-in (an admin approves them for the organization there), each
/// with its reason. The app needs nothing when the setup is over: they act only as the signed-in admin.
pub fn setup_tool_permissions(vendor: &str, teams_app: &str) -> Vec<ToolPermission> {
    use crate::wizard::StepId as S;
    let p = |name, scope, step, why: String| ToolPermission { name, scope, step, why };
    vec![
        p("User.Read", "User.Read", S::SignIn, "sign you in and read your name and admin roles".to_owned()),
        p(
            "Application.Read.All",
            "Application.Read.All",
            S::VerifyPermissions,
            format!("find the {vendor} app in your tenant and what it was granted"),
        ),
        p(
            "Directory.Read.All",
            "Directory.Read.All",
            S::VerifyPermissions,
            "read users, managers and licences for the preview and the readiness checks".to_owned(),
        ),
        p(
            "ProfilePhoto.Read.All",
            "ProfilePhoto.Read.All",
            S::VerifyPermissions,
            "show profile photos in the preview".to_owned(),
        ),
        p(
            "AppCatalog.ReadWrite.All",
            "AppCatalog.ReadWrite.All",
            S::TeamsApp,
            format!("find {teams_app} in your Teams app catalog, or upload it"),
        ),
        p(
            "TeamsAppInstallation.ReadWriteForUser",
            "TeamsAppInstallation.ReadWriteForUser",
            S::TeamsApp,
            format!("install {teams_app} for you, and for everyone if you choose"),
        ),
        p(
            "TeamsAppInstallation.ReadForUser",
            "TeamsAppInstallation.ReadForUser",
            S::GlobalPolicy,
            format!("check which users have {teams_app}"),
        ),
        p(
            "Skype and Teams Tenant Admin API",
            crate::shell::TEAMS_ADMIN_SCOPES[0],
            S::GlobalPolicy,
            format!("pin {teams_app} in the Global app setup policy (and install it there on tenants that still do)"),
        ),
    ]
}

/// The sign-in that asked for the setup tool's own permissions too was refused them: what that means and what
/// happens next, for the sign-in page and headless.
pub fn up_front_refused() -> (&'static str, &'static str) {
    (
        "The setup tool's own permissions were not approved",
        "They were declined, or this account may not approve them for the organization. Sign in again without them: \
         each step then asks for what it needs when it gets there, with its reason (an admin can approve it then).",
    )
}

/// The admin's own copy of the Teams app, in one sentence (the Teams page and headless).
pub fn admin_install(app: &crate::wizard::TeamsAppRef) -> String {
    if app.admin_elsewhere {
        "not installed for you: you signed in from another organization (your partner account), so you are no user \
         of this tenant. The next steps make it available and installed for its users."
            .to_owned()
    } else if app.admin_refusal.is_some() {
        "not installed for you: you have no Microsoft Teams licence in this tenant. The next steps make it available \
         and installed for everyone with Teams; your own licence is not needed for that."
            .to_owned()
    } else if app.newly_installed_for_admin {
        "installed for you: look for it in Teams' left bar.".to_owned()
    } else {
        "you already had it.".to_owned()
    }
}

/// Where Microsoft asks the admin to approve the setup tool's access for a step: in the browser, or after the
/// device code when approvals go by code.
pub fn approval_where(by_code: bool) -> &'static str {
    if by_code {
        "After you enter the code, Microsoft shows a permissions page; choose Accept."
    } else {
        "Microsoft shows a permissions page in your browser; choose Accept."
    }
}

/// Who signed in and where, and, when Conditional Access moved the sign-in to a device code, the code that blocked
/// the browser: the sign-in's line, for the consent page and headless.
pub fn signed_in(account: &crate::wizard::Account, blocked_by: Option<&str>) -> String {
    let tenant = account.tenant_name.clone().or(account.tenant_domain.clone()).unwrap_or(account.tenant_id.clone());
    let tenant = if tenant.is_empty() { String::new() } else { format!(" in {tenant}") };
    let how = blocked_by
        .map_or(String::new(), |code| format!(" with a device code, after {code} blocked the browser sign-in"));
    format!("Signed in as {} ({}){tenant}{how}", account.display_name, account.upn)
}

/// The install for everyone's counts, for its progress bar, its result and headless.
pub fn bulk_counts(c: &crate::wizard::BulkCounts) -> String {
    format!(
        "{} of {} done: {} installed, {} already had it, {} failed",
        c.done(),
        c.total,
        c.installed,
        c.already_had,
        c.failed
    )
}

/// A Unix time as an RFC 3339 UTC date-time (`2027-01-01T00:00:00Z`), as Graph writes them.
pub fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A Unix time as a date (`2027-01-01`).
pub fn date(unix: u64) -> String {
    rfc3339(unix).chars().take(10).collect()
}

/// What to do next for a customer on the partner's board: a stable code for scripts and the words for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAction {
    pub code: &'static str,
    /// A few words, for the board's column.
    pub short: &'static str,
    pub text: String,
}

/// The URL a customer's Global Administrator opens to approve a GDAP relationship.
pub fn gdap_invitation_link(relationship_id: &str) -> String {
    format!(
        "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/{relationship_id}"
    )
}

/// What a customer's own tenant showed when it was last checked: a few words for the board's column, and a
/// sentence for the selected row and headless.
pub fn tenant_check(status: Option<&crate::wizard::customer_checks::CustomerStatus>) -> (&'static str, String) {
    use crate::wizard::customer_checks::{CustomerStatus, Finding};
    let word = |f: Finding| match f {
        Finding::Done => "yes",
        Finding::Missing => "no",
        Finding::NotRead => "could not be read",
    };
    match status {
        None => ("not checked", String::new()),
        Some(CustomerStatus::Waiting) => ("checking…", "Checking its tenant…".to_owned()),
        Some(CustomerStatus::Failed { failure, at }) => {
            ("could not read", format!("Its tenant could not be read ({}, {}): {failure}", failure.code(), date(*at)))
        }
        Some(CustomerStatus::Checked(c)) => {
            let short = if c.onboarded() {
                "set up"
            } else if c.complete() {
                "set up, reaching users"
            } else if c.consent != Finding::Done {
                "no consent yet"
            } else if c.permissions != Finding::Done {
                "permissions missing"
            } else if c.apps_blocked {
                "third-party apps blocked"
            } else if c.teams_app != Finding::Done {
                "no Teams app"
            } else if c.policy != Finding::Done {
                "not pinned"
            } else {
                "incomplete"
            };
            let reached = match (c.delivery, c.reached) {
                (Finding::NotRead, _) | (_, None) => "who has it could not be read".to_owned(),
                (_, Some(r)) => format!("{} of {} sampled users have it", r.have_it, r.sampled),
            };
            let blocked = if c.apps_blocked { " The org-wide app settings block third-party apps." } else { "" };
            let long = format!(
                "In its tenant ({}): consented {}, every permission granted {}, Teams app in the catalog {}, pinned \
                 in the Global policy {}; {reached}.{blocked}",
                date(c.checked_at),
                word(c.consent),
                word(c.permissions),
                word(c.teams_app),
                word(c.policy)
            );
            (short, long)
        }
    }
}

/// The next action a customer's check decides, where it says more than the relationship: already set up, Teams
/// still delivering, third-party apps blocked, the setup tool not approved there, or what is missing. `None`
/// leaves it to the relationship (never checked, or its roles cannot act on what is missing).
fn next_from_check(
    row: &crate::wizard::board::Row,
    status: Option<&crate::wizard::customer_checks::CustomerStatus>,
    vendor: &str,
) -> Option<NextAction> {
    use crate::wizard::board::RowState;
    use crate::wizard::customer_checks::{CustomerStatus, Finding};
    let renew_by = match &row.state {
        RowState::Ready { renew_by } => *renew_by,
        RowState::CannotConsent => None,
        _ => return None,
    };
    let renew =
        renew_by.map_or(String::new(), |end| format!(" The relationship ends on {}: renew it before then.", date(end)));
    let c = match status? {
        CustomerStatus::Checked(c) => c,
        // The words of the catalogue's explanation, then what follows.
        CustomerStatus::Failed { failure, .. } if failure.is_partner_app_not_approved() => {
            return Some(NextAction {
                code: "send_consent_link",
                short: "Send the consent link",
                text: format!("{} Once they approve, set it up.{renew}", catalogue_words(failure, vendor)),
            });
        }
        CustomerStatus::Failed { .. } | CustomerStatus::Waiting => return None,
    };
    let checked = date(c.checked_at);
    let have = c.reached.map_or(String::new(), |r| format!("{} of {} sampled users have it", r.have_it, r.sampled));
    if c.onboarded() {
        return Some(NextAction {
            code: "none",
            short: "Nothing: set up",
            text: format!(
                "Already onboarded: {vendor} is consented with every permission, its Teams app pinned for everyone, \
                 and {have} (checked {checked}). Nothing to do.{renew}"
            ),
        });
    }
    if c.complete() {
        let (code, short, what) = if c.delivery == Finding::Missing {
            (
                "wait_delivery",
                "Wait for Teams",
                format!("Teams is still delivering it: {have}. That can take up to a day; check again later."),
            )
        } else {
            ("check_again", "Check again", "Who has it could not be read; check its tenant again.".to_owned())
        };
        return Some(NextAction {
            code,
            short,
            text: format!("{vendor} is set up here and pinned for everyone (checked {checked}). {what}{renew}"),
        });
    }
    if c.consent != Finding::Done || c.permissions != Finding::Done {
        // The relationship's words already say what to do where its roles cannot grant the permissions.
        if row.state == RowState::CannotConsent {
            return None;
        }
    } else if c.apps_blocked {
        let blocked = crate::wizard::Blocker::ThirdPartyAppsBlocked.failure();
        return Some(NextAction {
            code: "allow_apps",
            short: "Allow third-party apps",
            text: format!("{} Then set it up.{renew}", catalogue_words(&blocked, vendor)),
        });
    }
    let missing: Vec<&str> = [
        (c.consent, "consent"),
        (c.permissions, "every permission"),
        (c.teams_app, "the Teams app"),
        (c.policy, "the pin for everyone"),
    ]
    .iter()
    .filter(|(f, _)| *f != Finding::Done)
    .map(|(_, what)| *what)
    .collect();
    Some(NextAction {
        code: "set_up",
        short: "Set up",
        text: format!(
            "Its tenant lacks {} (checked {checked}): set it up; the steps already done are kept.{renew}",
            missing.join(", ")
        ),
    })
}

/// A failure's meaning and fix as the error catalogue words them, in one paragraph.
fn catalogue_words(failure: &crate::wizard::Failure, vendor: &str) -> String {
    let e = crate::diagnostics::Catalogue::shipped().explain(failure, vendor);
    format!("{} {}", e.meaning, e.fix.join(" "))
}

/// The board row's explanation and next action, for the window and headless (`docs/msp-multi-tenant.md`): what
/// the customer's last check found where it decides more, else the relationship's.
pub fn customer_next_action(
    row: &crate::wizard::board::Row,
    status: Option<&crate::wizard::customer_checks::CustomerStatus>,
    vendor: &str,
) -> NextAction {
    next_from_check(row, status, vendor).unwrap_or_else(|| relationship_next_action(row, vendor))
}

/// Someone has to act before the setup can run (or finish): the relationship's states that say so, and what a
/// check found that needs someone (third-party apps to allow, the customer's admin to consent).
pub fn customer_needs_action(
    row: &crate::wizard::board::Row,
    status: Option<&crate::wizard::customer_checks::CustomerStatus>,
) -> bool {
    row.needs_action() || matches!(customer_next_action(row, status, "").code, "allow_apps" | "send_consent_link")
}

/// The next action the relationship decides.
fn relationship_next_action(row: &crate::wizard::board::Row, vendor: &str) -> NextAction {
    use crate::wizard::board::RowState as S;
    let n = |code, short, text: String| NextAction { code, short, text };
    match &row.state {
        S::GovernmentCloud { scope } => n(
            "check_government_support",
            "Government cloud: check support",
            format!(
                "A US government cloud tenant ({scope}). Check with {vendor} that it serves this cloud before \
                 setting it up; the setup tool treats it as not ready."
            ),
        ),
        S::ApprovalPending { relationship_id } => n(
            "send_invitation",
            "Send the invitation again",
            format!(
                "The customer's Global Administrator has not approved the GDAP relationship yet. Send them the \
                 invitation link again: {}",
                gdap_invitation_link(relationship_id)
            ),
        ),
        S::Activating => n(
            "wait_activation",
            "Wait for the activation",
            "Microsoft is activating the relationship (this takes a few minutes). Check again shortly.".to_owned(),
        ),
        S::JustActivated { usable_at } => n(
            "wait_activation",
            "Wait for the activation",
            format!(
                "The relationship was activated moments ago; its roles reach the customer's tenant within about 15 \
                 minutes. Set it up after {} UTC.",
                rfc3339(*usable_at).replace('T', " ").trim_end_matches('Z')
            ),
        ),
        S::Ended { status } => n(
            "renew_relationship",
            "Renew the relationship",
            format!(
                "The relationship is {}: nothing can be done in the tenant through it. Create a new one in Partner \
                 Center and have the customer approve it.",
                match status {
                    crate::wizard::board::RelationshipStatus::Expired => "expired",
                    crate::wizard::board::RelationshipStatus::TerminationRequested
                    | crate::wizard::board::RelationshipStatus::Terminating => "being terminated",
                    _ => "terminated",
                }
            ),
        ),
        S::AssignmentPending => n(
            "wait_assignment",
            "Wait for the access assignment",
            "The security groups' access to this customer is still being assigned (pending). Check again in a \
             few minutes."
                .to_owned(),
        ),
        S::AssignmentError => n(
            "fix_assignment",
            "Fix the access assignment",
            "Assigning a security group's access to this customer failed (error). In Partner Center, remove the \
             group's access assignment and add it again."
                .to_owned(),
        ),
        S::NotInGroup { .. } => n(
            "join_group",
            "Join a mapped group",
            "You are in none of the security groups this relationship gives roles to, so you have no roles in \
             the customer's tenant. Ask a partner admin to add you to one (and to AdminAgents)."
                .to_owned(),
        ),
        S::CannotConsent => n(
            "send_consent_link",
            "Send the consent link",
            format!(
                "Your roles here cannot grant the application permissions {vendor} asks for (that takes Global \
                 Administrator or Privileged Role Administrator). Copy the consent link for the customer's admin, or ask for a \
                 relationship with one of those roles."
            ),
        ),
        S::Ready { renew_by } => n(
            "set_up",
            if renew_by.is_some() { "Set up (renew soon)" } else { "Set up" },
            format!(
                "Your roles there allow the setup.{} Microsoft refuses a partner's sign-in to an app this customer has \
                 not approved yet (AADSTS90099): if it does, send the consent link to the customer's admin first.",
                renew_by.map_or(String::new(), |end| format!(
                    " The relationship ends on {}: renew it before then.",
                    date(end)
                ))
            ),
        ),
    }
}

/// A board row's relationship in words, for the window and headless: "active until 2028-11-05", "approval pending",
/// "expired".
pub fn relationship(row: &crate::wizard::board::Row) -> String {
    use crate::wizard::board::RelationshipStatus;
    let status = match row.relationship_status {
        None => return "none".to_owned(),
        Some(RelationshipStatus::ApprovalPending) => "approval pending",
        Some(RelationshipStatus::TerminationRequested | RelationshipStatus::Terminating) => "terminating",
        Some(s) => return with_end(status_name(s), s, row.relationship_end),
    };
    status.to_owned()
}

fn status_name(s: crate::wizard::board::RelationshipStatus) -> &'static str {
    use crate::wizard::board::RelationshipStatus;
    match s {
        RelationshipStatus::Created => "created",
        RelationshipStatus::ApprovalPending => "approval pending",
        RelationshipStatus::Approved => "approved",
        RelationshipStatus::Activating => "activating",
        RelationshipStatus::Active => "active",
        RelationshipStatus::Expiring => "expiring",
        RelationshipStatus::Expired => "expired",
        RelationshipStatus::TerminationRequested | RelationshipStatus::Terminating => "terminating",
        RelationshipStatus::Terminated => "terminated",
        RelationshipStatus::UnknownFutureValue => "unknown",
    }
}

fn with_end(name: &str, s: crate::wizard::board::RelationshipStatus, end: Option<u64>) -> String {
    use crate::wizard::board::RelationshipStatus;
    match (s, end) {
        (RelationshipStatus::Active | RelationshipStatus::Expiring, Some(e)) => {
            format!("{name} until {}", date(e))
        }
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tool_permission_tests {
    /// Every scope the shell asks for has its reason, and nothing is listed that is not asked.
    #[test]
    fn each_scope_asked_is_explained_once() {
        let listed: Vec<&str> = super::setup_tool_permissions("V", "A").iter().map(|p| p.scope).collect();
        let asked: Vec<&str> = crate::shell::SIGN_IN_SCOPES
            .iter()
            .chain(crate::shell::TENANT_READ_SCOPES)
            .chain(crate::shell::TEAMS_SETUP_SCOPES)
            .chain(crate::shell::TEAMS_ADMIN_SCOPES)
            .copied()
            .filter(|s| !["openid", "profile", "offline_access"].contains(s))
            .collect();
        let mut a = asked.clone();
        let mut l = listed.clone();
        a.sort_unstable();
        l.sort_unstable();
        assert_eq!(a, l);
    }
}

#[cfg(test)]
mod customer_next_action_tests {
    use super::customer_next_action;
    use crate::wizard::board::{Row, RowState};
    use crate::wizard::customer_checks::{CustomerCheck, CustomerStatus, Finding, Reached};

    fn row(state: RowState) -> Row {
        Row {
            tenant_id: "tid".into(),
            name: "Contoso".into(),
            relationship_id: Some("rel".into()),
            relationship_status: Some(crate::wizard::board::RelationshipStatus::Active),
            relationship_end: None,
            roles: vec![crate::wizard::board::GLOBAL_ADMINISTRATOR.into()],
            can_consent: true,
            can_teams: true,
            state,
        }
    }

    fn check(policy: Finding, delivery: Finding) -> CustomerCheck {
        CustomerCheck {
            checked_at: 1_800_000_000,
            consent: Finding::Done,
            permissions: Finding::Done,
            teams_app: Finding::Done,
            policy,
            delivery,
            reached: Some(Reached { have_it: 3, sampled: 4 }),
            apps_blocked: false,
            admin_centers: None,
        }
    }

    fn code(r: &Row, status: Option<CustomerStatus>) -> &'static str {
        match status {
            Some(s) => customer_next_action(r, Some(&s), "MSPbots").code,
            None => customer_next_action(r, None, "MSPbots").code,
        }
    }

    #[test]
    fn what_a_customers_tenant_showed_decides_the_next_action_where_the_roles_allow_acting() {
        let ready = row(RowState::Ready { renew_by: None });
        let checked = |c| Some(CustomerStatus::Checked(c));
        assert_eq!(code(&ready, None), "set_up");
        assert_eq!(code(&ready, checked(check(Finding::Done, Finding::Done))), "none");
        let onboarded = customer_next_action(&ready, checked(check(Finding::Done, Finding::Done)).as_ref(), "MSPbots");
        assert!(onboarded.text.contains("3 of 4 sampled users"), "{}", onboarded.text);
        assert_eq!(code(&ready, checked(check(Finding::Done, Finding::Missing))), "wait_delivery");
        assert_eq!(code(&ready, checked(check(Finding::Done, Finding::NotRead))), "check_again");
        assert_eq!(code(&ready, checked(check(Finding::Missing, Finding::Missing))), "set_up");
        let mut blocked = check(Finding::Missing, Finding::Missing);
        blocked.apps_blocked = true;
        assert_eq!(code(&ready, checked(blocked.clone())), "allow_apps");
        // An app-centric tenant that let the app through anyway is onboarded all the same.
        let mut through = check(Finding::Done, Finding::Done);
        through.apps_blocked = true;
        assert_eq!(code(&ready, checked(through)), "none");
        // The setup tool not approved there: the customer's admin first.
        let refused = crate::wizard::Failure::Identity(crate::wizard::IdentityError {
            error: "invalid_grant".into(),
            error_codes: vec![90099],
            ..Default::default()
        });
        assert_eq!(code(&ready, Some(CustomerStatus::Failed { failure: refused, at: 0 })), "send_consent_link");

        // Roles that cannot consent: a missing consent stays the relationship's consent link; with consent done,
        // the steps can run.
        let cannot = row(RowState::CannotConsent);
        let mut no_consent = check(Finding::Missing, Finding::Missing);
        no_consent.consent = Finding::Missing;
        assert_eq!(code(&cannot, checked(no_consent)), "send_consent_link");
        assert_eq!(code(&cannot, checked(check(Finding::Missing, Finding::Missing))), "set_up");
        // Where the relationship stops everything, a check changes nothing.
        let ended = row(RowState::Ended { status: crate::wizard::board::RelationshipStatus::Expired });
        assert_eq!(code(&ended, checked(check(Finding::Done, Finding::Done))), "renew_relationship");
    }
}
