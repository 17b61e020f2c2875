//! What headless prints: one line per step (or one JSON object with `--json`), worded from the wizard's state
//! and the error catalogue.

use std::io::Write as _;

use serde::Serialize;

// A room of headless/: the options, the wizard types and the helpers are the parent's.
use super::*;
use crate::wizard::{Delivery, MissingReason, StepStatus};

/// One step's outcome, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct StepLine {
    pub step: StepId,
    /// `done`, `needs_attention`, `failed` or `skipped`.
    pub status: &'static str,
    pub code: Option<String>,
    pub summary: String,
    pub fix: Vec<String>,
    /// Step-specific facts (the account, the consent grant, the checklist and readiness).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// More lines for people (the checklist, the readiness summary); JSON carries the same in `detail`.
    #[serde(skip)]
    pub report: Vec<String>,
}

impl StepLine {
    /// Adds `detail.browser_visits`: how many times the step sent the admin to the browser (a detail that is not
    /// an object is kept under `detail.value`).
    pub(super) fn with_browser_visits(mut self, visits: u32) -> Self {
        let mut detail = match self.detail.take() {
            Some(serde_json::Value::Object(map)) => map,
            Some(other) => serde_json::Map::from_iter([("value".to_owned(), other)]),
            None => serde_json::Map::new(),
        };
        detail.insert("browser_visits".to_owned(), visits.into());
        self.detail = Some(serde_json::Value::Object(detail));
        self
    }

    pub(super) fn failed(step: StepId, status: &'static str, failure: &Failure, vendor: &str) -> Self {
        let e = Catalogue::shipped().explain(failure, vendor);
        Self { step, status, code: Some(e.code), summary: e.summary, fix: e.fix, detail: None, report: Vec::new() }
    }
}

pub(super) fn print_lines(lines: &[StepLine], json: bool) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let text = if json {
            serde_json::to_string(line).unwrap_or_default()
        } else {
            let mut t = format!("[{}] {}: {}", line.status, line.step_title(), line.summary);
            if let Some(code) = &line.code {
                t.push_str(&format!(" ({code})"));
            }
            for r in &line.report {
                t.push_str(&format!("\n    {r}"));
            }
            for (i, f) in line.fix.iter().enumerate() {
                t.push_str(&format!("\n    {}. {f}", i + 1));
            }
            t
        };
        // A closed stdout (e.g. `| head`) is not worth an error.
        let _ignored = writeln!(out, "{text}");
    }
}

impl StepLine {
    fn step_title(&self) -> &'static str {
        self.step.title()
    }
}

pub(super) fn teams_line(w: &Wizard, vendor: &str) -> StepLine {
    let step = StepId::TeamsApp;
    let app = &w.settings().teams_app_name;
    match w.teams() {
        TeamsStep::Done { app: installed, bulk, facts } => {
            let mut report = vec![format!("Catalog id: {}", installed.catalog_id)];
            let mut status = "done";
            let mut fix = Vec::new();
            // Done without the admin's own copy (no Teams licence): said by its code.
            let mut code = if installed.admin_elsewhere {
                Some("teams_admin_from_another_organization".to_owned())
            } else {
                installed.admin_refusal.is_some().then(|| "teams_admin_without_licence".to_owned())
            };
            let mut explanation = None;
            let bulk_json = match bulk {
                Bulk::Finished { counts, failures } => {
                    report.push(format!("Everyone: {}", crate::present::bulk_counts(counts)));
                    for f in failures.iter().take(20) {
                        report.push(format!("  {}: {} ({})", f.user, f.message, f.code));
                    }
                    if let Some(first) = failures.first() {
                        status = "needs_attention";
                        code = Some("bulk_failures".to_owned());
                        // Graph says why only in the message; the catalogue reads it.
                        let e = Catalogue::shipped().explain(&first.failure(), vendor);
                        report.push(format!("Why: {}", e.summary));
                        explanation = Some(e.summary.clone());
                        fix = e.fix;
                        fix.push("Fix the reasons listed and run again with --install-for-everyone: it retries only those users.".to_owned());
                    }
                    serde_json::json!({ "counts": counts, "failures": failures, "explanation": explanation })
                }
                Bulk::Failed { counts, failure } => {
                    let e = Catalogue::shipped().explain(failure, vendor);
                    report.push(format!("Everyone: stopped after {} of {} ({})", counts.done(), counts.total, e.code));
                    status = "needs_attention";
                    fix = e.fix;
                    serde_json::json!({ "counts": counts, "stopped": e.code })
                }
                Bulk::Stopped { counts } => serde_json::json!({ "counts": counts, "stopped": "unfinished" }),
                Bulk::Idle | Bulk::Running { .. } => serde_json::Value::Null,
            };
            let mut summary = format!("{app} is in the tenant; {}", crate::present::admin_install(installed));
            if let Some(why) = &explanation {
                summary.push_str(&format!("; some users could not get it: {why}"));
            }
            StepLine {
                step,
                status,
                code,
                summary,
                fix,
                detail: Some(serde_json::json!({ "app": installed, "facts": facts, "everyone": bulk_json })),
                report,
            }
        }
        TeamsStep::Blocked { blocker, facts } => {
            let mut line = StepLine::failed(step, "needs_attention", &blocker.failure(), vendor);
            line.detail = Some(serde_json::json!({ "blocker": blocker, "facts": facts }));
            line
        }
        TeamsStep::Failed { failure, catalog_id } => {
            let mut line = StepLine::failed(step, "failed", failure, vendor);
            // Refused for the app's availability: the app's admin-center page and the script fix it.
            let availability = failure.teams_refusal().is_some_and(crate::wizard::TeamsRefusal::is_availability);
            if let (true, Some(id), Some(admin_center)) = (availability, catalog_id, w.admin_center_url()) {
                line.report.push(format!("Teams admin center: {admin_center}"));
                line.detail = Some(serde_json::json!({
                    "admin_center": admin_center,
                    "script": crate::teams::script::app_centric_script(id, &w.settings().teams_app_name),
                }));
            }
            line
        }
        TeamsStep::NeedsApproval { failure, .. } => StepLine::failed(step, "failed", failure, vendor),
        other => StepLine {
            step,
            status: "failed",
            code: Some("not_finished".into()),
            summary: format!("The Teams app step did not finish ({other:?})"),
            fix: vec!["Run again.".into()],
            detail: None,
            report: Vec::new(),
        },
    }
}

pub(super) fn policy_line(w: &Wizard, vendor: &str, now: crate::wizard::Moment) -> StepLine {
    let step = StepId::GlobalPolicy;
    let app = &w.settings().teams_app_name;
    let script = w.teams().app().and_then(|a| crate::teams::script::global_policy_script(&a.catalog_id, app));
    match w.policy() {
        PolicyStep::Applied { reading, changed, model, evidence, everyone, delivery, .. } => {
            let Some(text) = crate::present::policy_applied(w, now) else {
                return not_finished(step, &format!("The Global policy step did not finish ({:?})", w.policy()));
            };
            let app_id = w.teams().app().map(|a| a.catalog_id.clone()).unwrap_or_default();
            let pinned = reading.global.pinned.iter().any(|p| p.eq_ignore_ascii_case(&app_id));
            let availability = match delivery {
                Delivery::Reached { .. } => "everyone",
                Delivery::Blocked { report } if report.missing.iter().any(|m| m.reason == MissingReason::Blocked) => {
                    "blocked"
                }
                Delivery::Blocked { .. } => "limited",
                _ => "unknown",
            };
            let app_script = text
                .admin_acts
                .then(|| w.teams().app().and_then(|a| crate::teams::script::app_centric_script(&a.catalog_id, app)))
                .flatten();
            let report_of = delivery.report();
            let mut report = vec![text.installs.clone(), text.delivery.clone()];
            report.extend(text.missing.iter().map(|m| format!("  {m}")));
            report.push(text.next.clone());
            let custom: Vec<&String> = reading.others.iter().filter(|o| *o != "FirstlineWorker").collect();
            if !custom.is_empty() {
                report.push(format!(
                    "Other policies override Global for their users: {}",
                    custom.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            let admin_center = w.admin_center_url().filter(|_| text.admin_acts);
            if let Some(url) = &admin_center {
                report.push(format!("Teams admin center: {url}"));
            }
            report.push(format!("Check one user: {}", crate::teams::script::CHECK_ONE_USER));
            StepLine {
                step,
                status: match w.status(step) {
                    StepStatus::Done => "done",
                    StepStatus::NeedsAttention => "needs_attention",
                    _ => "pending",
                },
                code: None,
                summary: format!("{} {}", text.headline, text.delivery),
                fix: if text.admin_acts { vec![text.installs.clone()] } else { Vec::new() },
                detail: Some(serde_json::json!({
                    "model": crate::present::model_name(*model),
                    "model_evidence": evidence,
                    "pinned": pinned,
                    "installed_for_everyone": everyone,
                    "availability": availability,
                    "sampled": report_of.map(|r| r.sampled),
                    "have_it": report_of.map(|r| r.have_it),
                    "missing": report_of.map(|r| &r.missing),
                    "script": app_script,
                    "admin_center": admin_center,
                    "global": reading.global,
                    "other_policies": reading.others,
                    "changed": changed,
                })),
                report,
            }
        }
        PolicyStep::Manual { why, .. } => {
            let mut line = StepLine::failed(step, "needs_attention", &why.failure(), vendor);
            line.fix.push(format!("Teams admin center: {}", crate::teams::script::SETUP_POLICIES_URL));
            line.detail = Some(serde_json::json!({ "why": why, "powershell": script }));
            if let Some(s) = script {
                line.report = s.lines().map(str::to_owned).collect();
            }
            line
        }
        PolicyStep::NeedsApproval { failure, .. } => StepLine::failed(step, "failed", failure, vendor),
        other => not_finished(step, &format!("The Global policy step did not finish ({other:?})")),
    }
}

/// The verify step's line: the checklist, the Teams prerequisites and the directory's readiness.
/// The sign-in step's line; `switched` is the Conditional Access failure that moved it to a device code, if any.
pub(super) fn sign_in_line(w: &Wizard, switched: Option<&Failure>, vendor: &str) -> StepLine {
    match w.sign_in() {
        SignIn::Done(account) => {
            // The same words as the window's consent page (`present::signed_in`).
            let blocked_by = switched.map(|f| Catalogue::shipped().explain(f, vendor).code);
            StepLine {
                step: StepId::SignIn,
                status: "done",
                code: switched.map(Failure::code),
                summary: crate::present::signed_in(account, blocked_by.as_deref()),
                fix: Vec::new(),
                detail: serde_json::to_value(account).ok(),
                report: Vec::new(),
            }
        }
        SignIn::Failed { failure, .. } => StepLine::failed(StepId::SignIn, "failed", failure, vendor),
        other => not_finished(StepId::SignIn, &format!("Sign-in did not finish ({other:?})")),
    }
}

/// The consent step's line: the pre-check that stopped it, the grant and how it was confirmed, or the failure.
pub(crate) fn consent_line(w: &Wizard, vendor: &str) -> StepLine {
    match w.consent() {
        Consent::Ready { precheck: Precheck::CannotGrant { roles } } => {
            // The same words as the window's consent page (`present::cannot_grant`).
            let words = crate::present::cannot_grant(roles, w.consent_link().as_deref());
            StepLine {
                step: StepId::AdminConsent,
                status: "needs_attention",
                code: Some("precheck_cannot_grant".into()),
                summary: words.summary,
                fix: words.fix,
                detail: w.consent_link().map(|l| serde_json::json!({ "consent_link": l })),
                report: Vec::new(),
            }
        }
        Consent::Done { grant, check } => {
            let line = crate::present::consent_done(vendor, check).line;
            let (summary, code) = match check {
                ConsentCheck::Unconfirmed(why) if !why.is_consent_required() => {
                    let e = Catalogue::shipped().explain(why, vendor);
                    (format!("{line} {}", e.summary), Some(e.code))
                }
                ConsentCheck::Confirmed
                | ConsentCheck::AlreadyThere
                | ConsentCheck::Earlier
                | ConsentCheck::Unconfirmed(_) => (line, None),
            };
            StepLine {
                step: StepId::AdminConsent,
                status: "done",
                code,
                summary,
                fix: Vec::new(),
                detail: serde_json::to_value(grant).ok(),
                report: Vec::new(),
            }
        }
        Consent::Failed { failure, .. } => StepLine::failed(StepId::AdminConsent, "failed", failure, vendor),
        other => not_finished(StepId::AdminConsent, &format!("Consent did not finish ({other:?})")),
    }
}

/// A step that stopped in a state it should not stop in.
fn not_finished(step: StepId, summary: &str) -> StepLine {
    StepLine {
        step,
        status: "failed",
        code: Some("not_finished".into()),
        summary: summary.to_owned(),
        fix: vec!["Run again.".into()],
        detail: None,
        report: Vec::new(),
    }
}

pub(crate) fn verify_line(w: &Wizard, vendor: &str) -> StepLine {
    let v = w.verify();
    let list = match (&v.phase, &v.checklist) {
        (VerifyPhase::NeedsReadAccess { failure, .. } | VerifyPhase::Failed { failure }, _) => {
            return StepLine::failed(StepId::VerifyPermissions, "failed", failure, vendor);
        }
        (_, Some(list)) => list,
        (phase, None) => {
            return not_finished(StepId::VerifyPermissions, &format!("The check did not finish ({phase:?})"));
        }
    };
    // The same words as the window's checklist (`present::checklist`).
    let words = crate::present::checklist(list, vendor, w.settings().permissions.len());
    let mut report: Vec<String> = words.permissions.iter().map(crate::present::PermissionRow::line).collect();
    report.extend(words.prerequisites.iter().map(crate::present::Row::line));
    let p = w.preview();
    let r = &p.readiness;
    let loaded = match &p.load {
        Load::Loaded => String::new(),
        Load::NotStarted => " (directory not read)".to_owned(),
        Load::Failed(f) => format!(" (loading stopped: {})", f.code()),
        Load::Cancelled | Load::Loading { .. } => " (loading stopped)".to_owned(),
    };
    let gaps: Vec<String> = Gap::ALL.iter().map(|g| format!("{} {}", r.count(*g), g.label())).collect();
    report.push(format!("Directory: {} users{loaded}; {}", r.users, gaps.join(", ")));
    let samples: serde_json::Map<String, serde_json::Value> = Gap::ALL
        .iter()
        .map(|g| {
            let upns: Vec<&str> =
                p.users.iter().filter(|u| g.applies(u)).take(20).map(|u| u.user_principal_name.as_str()).collect();
            (
                serde_json::to_value(g).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                serde_json::json!(upns),
            )
        })
        .collect();
    let missing: Vec<String> = list.missing().map(|p| p.name.clone()).collect();
    let (status, code, summary, fix) = if !list.all_granted() {
        let still = v.gave_up_after_minutes.map(|m| {
            Failure::Local(crate::wizard::LocalFailure::PermissionsStillMissing { minutes: m, names: missing.clone() })
        });
        let fix = still.as_ref().map_or_else(
            || vec!["Run the setup again and accept on Microsoft's permissions page.".to_owned()],
            |f| Catalogue::shipped().explain(f, vendor).fix,
        );
        let summary = words.headline.clone();
        ("needs_attention", Some(still.map_or_else(|| "permissions_missing".to_owned(), |f| f.code())), summary, fix)
    } else if !list.prerequisites_met() {
        (
            "needs_attention",
            Some("teams_prerequisites".to_owned()),
            format!("{}, but the Teams steps cannot run yet", words.headline),
            vec!["See the Microsoft Teams and role lines above.".to_owned()],
        )
    } else {
        ("done", None, format!("{}; {} users previewed", words.headline, r.users), Vec::new())
    };
    StepLine {
        step: StepId::VerifyPermissions,
        status,
        code,
        summary,
        fix,
        detail: Some(serde_json::json!({
            "checklist": list,
            "readiness": r,
            "directory_loaded": matches!(p.load, Load::Loaded),
            "users_with_gap": samples,
        })),
        report,
    }
}

pub(super) fn skipped(step: StepId, why: &str) -> StepLine {
    StepLine {
        step,
        status: "skipped",
        code: None,
        summary: why.to_owned(),
        fix: Vec::new(),
        detail: None,
        report: Vec::new(),
    }
}
