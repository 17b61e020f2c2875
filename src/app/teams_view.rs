//! The Teams app, Global policy and Done pages.

use egui::{RichText, Ui};

use super::verify_view::mark;
use super::views::{Asks, ConsoleOffer, explanation_ui};
use crate::teams::script;
use crate::wizard::{
    AppPlan, Bulk, Intent, ManualReason, Moment, PolicyReading, PolicyStep, StepId, StepStatus, TeamsFacts,
    TeamsRefusal, TeamsStep, TenantCloud, Wizard, warnings,
};

/// Names of Microsoft's own Teams apps as setup policies list them.
fn app_name(id: &str, w: &Wizard) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("14d6962d-6eeb-4f48-8890-de55454bb136", "Activity"),
        ("86fcd49b-61a2-4e1f-8c3e-ee0da0e3c9d5", "Chat"),
        ("2a84919f-59d8-4441-a975-2a8c2643b741", "Teams"),
        ("ef56c0de-36fc-4ef8-b417-3d82ba9d073c", "Calendar"),
        ("20c3440d-c67e-4420-9f80-0e50c39693df", "Calling"),
        ("5af6a76b-40fc-4ba1-af29-8f49b08e44fd", "Files"),
    ];
    if w.teams().app().is_some_and(|a| a.catalog_id.eq_ignore_ascii_case(id)) {
        return w.settings().teams_app_name.clone();
    }
    KNOWN.iter().find(|(k, _)| k.eq_ignore_ascii_case(id)).map_or_else(|| id.to_owned(), |(_, n)| (*n).to_owned())
}

/// The approval a Teams page asks for: what for, and the permissions it covers (the Teams step's Graph permissions,
/// with the Teams admin API when the browser asks both in one visit; the policy step's Teams admin API alone).
fn approval_ui(ui: &mut Ui, w: &Wizard, now: Moment, failure: &crate::wizard::Failure, waiting: bool, asks: &mut Asks) {
    let vendor = &w.settings().vendor_name;
    let consent = failure.is_consent_required();
    let policy = w.page() == StepId::GlobalPolicy;
    if consent {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            let heading = if policy {
                "One more approval: let the setup tool change Teams setup policies"
            } else {
                "One more approval: let the setup tool manage Teams apps"
            };
            ui.label(RichText::new(heading).strong());
            ui.label(format!("To put {vendor} in Teams for you and your users, the setup tool (acting as you) needs:"));
            let teams_app = &w.settings().teams_app_name;
            // The policy step asks the Teams admin API alone; the Teams step asks its Graph permissions, with the
            // admin API in the same browser visit (a device code serves one resource, so not by code).
            let covers = |p: &crate::present::ToolPermission| {
                let admin_api = p.scope == crate::shell::TEAMS_ADMIN_SCOPES[0];
                if policy {
                    admin_api
                } else {
                    matches!(p.step, StepId::TeamsApp | StepId::GlobalPolicy) && !(admin_api && w.approvals_by_code())
                }
            };
            for p in crate::present::setup_tool_permissions(vendor, teams_app).into_iter().filter(covers) {
                ui.label(format!("• {}: {}", p.name, p.why));
            }
            if let crate::wizard::UpFront::Declined { .. } = w.up_front() {
                ui.label("You did not approve these when you signed in, so the setup tool asks now.");
            }
            ui.label(crate::present::approval_where(w.approvals_by_code()));
        });
    } else {
        explanation_ui(ui, w, failure, None, asks);
    }
    ui.add_space(4.0);
    if waiting {
        super::sign_in_view::approval_wait_ui(ui, w, now, "Waiting for you in the browser…", asks);
    }
}

fn cloud_label(c: TenantCloud) -> &'static str {
    match c {
        TenantCloud::Commercial => "Microsoft 365 (commercial)",
        TenantCloud::Gcc => "GCC (US government, moderate)",
        TenantCloud::GccHigh => "GCC High",
        TenantCloud::Dod => "DoD",
        TenantCloud::Unknown => "not known",
    }
}

fn facts_ui(ui: &mut Ui, w: &Wizard, facts: &TeamsFacts) {
    let vendor = &w.settings().vendor_name;
    let allowed = |v: Option<bool>| match v {
        Some(true) => (Some(true), "allowed"),
        Some(false) => (Some(false), "blocked"),
        None => (None, "not readable"),
    };
    egui::Grid::new("teams-facts").num_columns(2).min_col_width(16.0).spacing([10.0, 6.0]).show(ui, |ui| {
        let gov = matches!(facts.cloud, TenantCloud::GccHigh | TenantCloud::Dod);
        mark(
            ui,
            if gov {
                Some(false)
            } else if facts.cloud == TenantCloud::Unknown {
                None
            } else {
                Some(true)
            },
            "cloud",
        );
        ui.label(format!("Cloud: {}", cloud_label(facts.cloud)));
        ui.end_row();
        let (ok, word) = allowed(facts.settings.third_party_allowed);
        mark(ui, ok, word);
        ui.label(format!("Third-party (store) apps org-wide: {word}"));
        ui.end_row();
        let (ok, word) = allowed(facts.settings.custom_allowed);
        mark(ui, ok, word);
        ui.label(format!("Custom (organization) apps org-wide: {word}"));
        ui.end_row();
        let (ok, word) = allowed(facts.settings.custom_upload);
        mark(ui, ok, word);
        ui.label(format!("Uploading custom apps: {word}"));
        ui.end_row();
        mark(ui, Some(true), "catalog");
        let found = match (&facts.store, &facts.org) {
            (Some(s), _) => format!("{vendor} is in the Teams store (version {})", s.version),
            (None, Some(o)) => format!("{vendor} was uploaded to your organization before (version {})", o.version),
            (None, None) => format!("{vendor} is not in your tenant's catalog yet"),
        };
        ui.label(found);
        ui.end_row();
    });
}

fn plan_text(plan: &AppPlan, w: &Wizard) -> String {
    let vendor = &w.settings().vendor_name;
    // A partner's agent (another organization's account) is no user of the tenant: the app is only put there.
    if w.account().is_some_and(|a| a.home_tenant_id.is_some()) {
        let from = match plan {
            AppPlan::UseStore { .. } => "from the Teams store".to_owned(),
            AppPlan::UseOrg { .. } => "already in the organization's catalog".to_owned(),
            AppPlan::Publish { version } => format!("uploading its package (version {version}) to the catalog"),
            AppPlan::Update { from, to, .. } => format!("updating it in the catalog from version {from} to {to}"),
        };
        return format!(
            "The setup tool puts {vendor} in this tenant ({from}); it is not installed for you, who sign in from another organization."
        );
    }
    let who = w.account().map_or_else(|| "you".to_owned(), |a| format!("you ({})", a.upn));
    match plan {
        AppPlan::UseStore { .. } => format!("The setup tool installs {vendor} from the Teams store for {who}."),
        AppPlan::UseOrg { .. } => {
            format!("The setup tool installs the {vendor} app already in your organization's catalog for {who}.")
        }
        AppPlan::Publish { version } => format!(
            "The setup tool uploads {vendor}'s app package (version {version}) to your organization's app catalog, then installs it for {who}."
        ),
        AppPlan::Update { from, to, .. } => format!(
            "The setup tool updates the {vendor} app in your organization's catalog from version {from} to {to}, then installs it for {who}."
        ),
    }
}

pub(super) fn teams_ui(ui: &mut Ui, w: &Wizard, now: Moment, asks: &mut Asks) {
    let app = &w.settings().teams_app_name;
    ui.heading("Teams app");
    match w.teams() {
        TeamsStep::Locked => {
            ui.label("Verify the permissions first.");
        }
        TeamsStep::Inspecting { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Looking at your tenant's Teams apps…");
            });
        }
        TeamsStep::NeedsApproval { failure, approval } => {
            approval_ui(ui, w, now, failure, approval.is_some(), asks);
        }
        TeamsStep::Ready { facts, plan } => {
            ui.label(RichText::new("What the setup tool found").strong());
            facts_ui(ui, w, facts);
            ui.add_space(8.0);
            for warning in warnings(facts, plan) {
                explanation_ui(ui, w, &warning.failure(), None, asks);
            }
            ui.label(plan_text(plan, w));
        }
        TeamsStep::Blocked { facts, blocker } => {
            ui.label(RichText::new("What the setup tool found").strong());
            facts_ui(ui, w, facts);
            ui.add_space(8.0);
            explanation_ui(ui, w, &blocker.failure(), Some(("Check again", Intent::RetryTeams)), asks);
        }
        TeamsStep::Installing { plan, .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                let elsewhere = w.account().is_some_and(|a| a.home_tenant_id.is_some());
                ui.label(match plan {
                    _ if elsewhere => format!("Putting {app} in the tenant…"),
                    AppPlan::Publish { .. } | AppPlan::Update { .. } => {
                        format!("Uploading {app} and installing it for you…")
                    }
                    _ => format!("Installing {app} for you…"),
                });
            });
        }
        TeamsStep::Failed { failure, .. } => {
            explanation_ui(ui, w, failure, Some(("Retry", Intent::RetryTeams)), asks);
            if failure.teams_refusal().is_some_and(TeamsRefusal::is_availability) {
                ui.add_space(4.0);
                app_centric_ui(ui, w, asks);
            }
        }
        TeamsStep::Done { app: installed, bulk, .. } => {
            let where_ = match installed.via {
                AppPlan::UseStore { .. } => "from the Teams store",
                AppPlan::UseOrg { .. } => "from your organization's catalog",
                AppPlan::Publish { .. } => "uploaded to your organization's catalog",
                AppPlan::Update { .. } => "updated in your organization's catalog",
            };
            ui.horizontal(|ui| {
                mark(ui, Some(true), "done");
                let version =
                    if installed.version.is_empty() { String::new() } else { format!(" {}", installed.version) };
                ui.label(RichText::new(format!("{app}{version} is in your tenant ({where_})")).strong());
            });
            ui.horizontal(|ui| {
                // Refused for want of a licence, or not asked for an account of another organization: no mark.
                mark(ui, (installed.admin_refusal.is_none() && !installed.admin_elsewhere).then_some(true), "for you");
                let text = crate::present::admin_install(installed);
                let mut chars = text.chars();
                let sentence =
                    chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default();
                ui.add(egui::Label::new(sentence).wrap());
            });
            ui.add_space(10.0);
            bulk_ui(ui, w, bulk, asks);
        }
    }
}

fn bulk_ui(ui: &mut Ui, w: &Wizard, bulk: &Bulk, asks: &mut Asks) {
    let app = &w.settings().teams_app_name;
    let people = crate::wizard::everyone(&w.preview().users).len();
    ui.label(RichText::new("Install for everyone now (optional)").strong());
    ui.label(format!(
        "The Global policy (next step) gives {app} to everyone, but reaching each user's Teams can take hours. Installing now for every enabled member (guests and disabled accounts are left out) means nobody waits."
    ));
    match bulk {
        Bulk::Idle => {
            let ready = w.preview().load == crate::wizard::Load::Loaded && people > 0;
            let button = egui::Button::new(format!("Install for all {people} users now"));
            if ui
                .add_enabled(ready, button)
                .on_disabled_hover_text("The directory preview must finish loading first")
                .clicked()
            {
                asks.intents.push(Intent::InstallForEveryone);
            }
        }
        Bulk::Running { counts, .. } => {
            ui.horizontal(|ui| {
                let share = if counts.total == 0 { 0.0 } else { counts.done() as f32 / counts.total as f32 };
                ui.add(egui::ProgressBar::new(share).text(crate::present::bulk_counts(counts)).desired_width(420.0));
                if super::views::cancel_button(ui) {
                    asks.intents.push(Intent::CancelBulk);
                }
            });
            ui.label(
                RichText::new("Progress is saved after every 20 users: closing the setup tool now loses nothing.")
                    .weak(),
            );
        }
        Bulk::Stopped { counts } => {
            ui.label(format!("Stopped: {}.", crate::present::bulk_counts(counts)));
            if ui.button("Resume").clicked() {
                asks.intents.push(Intent::InstallForEveryone);
            }
        }
        Bulk::Finished { counts, failures } => {
            ui.horizontal(|ui| {
                mark(ui, Some(failures.is_empty()), if failures.is_empty() { "done" } else { "some failed" });
                ui.label(format!("Finished: {}.", crate::present::bulk_counts(counts)));
            });
            if !failures.is_empty() {
                egui::CollapsingHeader::new(format!("{} users without the app, and why", failures.len())).show(
                    ui,
                    |ui| {
                        let names: std::collections::HashMap<&str, &str> =
                            w.preview().users.iter().map(|u| (u.id.as_str(), u.user_principal_name.as_str())).collect();
                        for f in failures.iter().take(50) {
                            let who = names.get(f.user.as_str()).copied().unwrap_or(f.user.as_str());
                            ui.label(format!("{who}: {} ({})", f.message, f.code));
                        }
                        if failures.len() > 50 {
                            ui.label(format!("… and {} more", failures.len() - 50));
                        }
                    },
                );
                // The reason most of them share, explained once, with the fix where it is the app's availability.
                if let Some(failure) = commonest_refusal(failures) {
                    explanation_ui(ui, w, &failure, None, asks);
                    if failure.teams_refusal().is_some_and(TeamsRefusal::is_availability) {
                        app_centric_ui(ui, w, asks);
                    }
                }
                if ui.button("Try the failed ones again").clicked() {
                    asks.intents.push(Intent::InstallForEveryone);
                }
            }
        }
        Bulk::Failed { counts, failure } => {
            ui.label(format!("Stopped: {}.", crate::present::bulk_counts(counts)));
            explanation_ui(ui, w, failure, Some(("Resume", Intent::InstallForEveryone)), asks);
        }
    }
}

/// The refusal that most of the failed installs share (the first of it), if any failure says why.
fn commonest_refusal(failures: &[crate::wizard::BulkFailure]) -> Option<crate::wizard::Failure> {
    let mut counts: Vec<(TeamsRefusal, usize, &crate::wizard::BulkFailure)> = Vec::new();
    for f in failures {
        let Some(refusal) = f.failure().teams_refusal() else { continue };
        match counts.iter_mut().find(|(r, ..)| *r == refusal) {
            Some((_, n, _)) => *n += 1,
            None => counts.push((refusal, 1, f)),
        }
    }
    counts.into_iter().max_by_key(|(_, n, _)| *n).map(|(_, _, f)| f.failure())
}

fn others_ui(ui: &mut Ui, reading: &PolicyReading) {
    let custom: Vec<&String> = reading.others.iter().filter(|o| *o != "FirstlineWorker").collect();
    if !custom.is_empty() {
        ui.label(format!(
            "Other setup policies exist ({}): users assigned to one of them do not get Global. Add the app to those too in the Teams admin center if their users should have it.",
            custom.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
}

/// The manual path: the script and the admin center.
fn manual_ui(ui: &mut Ui, w: &Wizard, open: bool, asks: &mut Asks) {
    let Some(app) = w.teams().app() else { return };
    let name = &w.settings().teams_app_name;
    egui::CollapsingHeader::new("Do it yourself instead: PowerShell or the Teams admin center").default_open(open).show(ui, |ui| {
        ui.label(format!(
            "In the Teams admin center: Teams apps > Setup policies > Global (Org-wide default): add {name} under Installed apps and Pinned apps, then Save."
        ));
        ui.hyperlink_to("Open the setup policies page", script::SETUP_POLICIES_URL);
        ui.add_space(4.0);
        match script::global_policy_script(&app.catalog_id, name) {
            Some(text) => {
                ui.label("Or run this in PowerShell (MicrosoftTeams module) as a Teams Administrator:");
                script_ui(ui, "Add-to-Teams-Global-policy.ps1", &text, 220.0, asks);
            }
            None => {
                ui.label("The app id is not a plain id, so no script is offered; use the admin center.");
            }
        }
    });
}

/// App-centric: the admin center page and the PowerShell script that make the app available and installed for
/// everyone (no HTTP API does).
fn app_centric_ui(ui: &mut Ui, w: &Wizard, asks: &mut Asks) {
    let Some(catalog_id) = w.teams().catalog_id() else { return };
    let name = &w.settings().teams_app_name;
    ui.horizontal(|ui| {
        if ui.button(format!("Open {name} in the Teams admin center")).clicked() {
            asks.intents.push(Intent::OpenAdminCenter);
        }
    });
    if let Some(text) = script::app_centric_script(catalog_id, name) {
        egui::CollapsingHeader::new("Or with PowerShell (MicrosoftTeams module)").default_open(false).show(ui, |ui| {
            script_ui(ui, "Install-for-everyone-in-Teams.ps1", &text, 200.0, asks);
        });
    }
}

/// A PowerShell script with Copy, Save (as `file`, to Downloads) and, where PowerShell is installed, Run in
/// PowerShell (saved, then started in a console window of the person's own), shown selectable below them.
fn script_ui(ui: &mut Ui, file: &str, text: &str, height: f32, asks: &mut Asks) {
    ui.horizontal(|ui| {
        if ui.button("Copy script").clicked() {
            asks.copy = Some(text.to_owned());
        }
        if ui.button("Save script").on_hover_text("To your Downloads folder").clicked() {
            asks.save = Some((file.to_owned(), text.to_owned()));
        }
        match &asks.console {
            ConsoleOffer::None => {}
            ConsoleOffer::Demo => {
                ui.add_enabled(false, egui::Button::new("Run in PowerShell")).on_disabled_hover_text(
                    "Demo mode: the script would change a real Microsoft 365 tenant. The simulated admin center does it here.",
                );
            }
            ConsoleOffer::Ready(console) => {
                let hover = format!(
                    "Saves the script to Downloads and opens it in a {} window, with your rights (not as administrator). \
                     It asks you to sign in to Teams, then prints what the tenant says.",
                    console.name()
                );
                if ui.button("Run in PowerShell").on_hover_text(hover).clicked() {
                    asks.run_script = Some((file.to_owned(), text.to_owned()));
                }
            }
        }
    });
    match &asks.script_started {
        Some(Ok(path)) if path.file_name().is_some_and(|n| n.to_string_lossy() == file) => {
            ui.label(format!(
                "Started in PowerShell ({}): sign in there as a Teams Administrator, the window shows what the tenant says. Then come back here and check again.",
                path.display()
            ));
        }
        Some(Err(why)) => {
            ui.label(
                RichText::new(format!("Could not start PowerShell: {why}. Save the script and run it yourself."))
                    .color(ui.visuals().error_fg_color),
            );
        }
        _ => {}
    }
    egui::ScrollArea::vertical().id_salt(file).max_height(height).show(ui, |ui| {
        ui.add(egui::Label::new(RichText::new(text).monospace().small()).selectable(true));
    });
}

pub(super) fn policy_ui(ui: &mut Ui, w: &Wizard, now: Moment, asks: &mut Asks) {
    let app = &w.settings().teams_app_name;
    ui.heading("Global app setup policy");
    ui.label(
        "The Global (Org-wide default) setup policy decides which apps every user without another policy gets installed and pinned in Teams.",
    );
    ui.add_space(4.0);
    match w.policy() {
        PolicyStep::Locked => {
            ui.label("Set up the Teams app first.");
        }
        PolicyStep::Reading { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading your tenant's setup policies…");
            });
        }
        PolicyStep::NeedsApproval { failure, approval } => {
            approval_ui(ui, w, now, failure, approval.is_some(), asks);
            manual_ui(ui, w, false, asks);
        }
        PolicyStep::Ready { reading, change } => {
            ui.label("The setup tool will change the Global policy like this, and nothing else:");
            if change.adds_install {
                ui.label(format!(
                    "• Add {app} to the installed apps, where the tenant still installs through setup policies (tenants on \
                     Teams' app-centric management refuse or ignore it: then the pin alone is written, and the install \
                     for everyone is a setting of the app that the next page helps with)."
                ));
            }
            if change.adds_pin {
                let pins: Vec<String> = reading.global.pinned.iter().map(|p| app_name(p, w)).collect();
                ui.label(format!(
                    "• Pin {app} after the existing pins: {}.",
                    if pins.is_empty() { "none".to_owned() } else { pins.join(", ") }
                ));
            }
            others_ui(ui, reading);
            ui.add_space(6.0);
            manual_ui(ui, w, false, asks);
        }
        PolicyStep::Writing { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Changing the Global policy and reading it back…");
            });
        }
        PolicyStep::Applied { reading, .. } => {
            let Some(text) = crate::present::policy_applied(w, now) else { return };
            ui.horizontal(|ui| {
                mark(ui, Some(true), "pinned");
                ui.add(egui::Label::new(RichText::new(&text.headline).strong()).wrap());
            });
            ui.label(&text.installs);
            if text.admin_acts {
                app_centric_ui(ui, w, asks);
            }
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                let ok = match text.delivery_mark {
                    crate::present::Mark::Ok => Some(true),
                    crate::present::Mark::Problem => Some(false),
                    crate::present::Mark::Unsure => None,
                };
                mark(ui, ok, "delivery");
                ui.add(egui::Label::new(RichText::new(&text.delivery).strong()).wrap());
            });
            for line in &text.missing {
                ui.label(RichText::new(format!("• {line}")).small());
            }
            ui.label(&text.next);
            others_ui(ui, reading);
            ui.add_space(6.0);
            if ui.button("Check who has it").clicked() {
                asks.intents.push(Intent::CheckDelivery);
            }
        }
        PolicyStep::Manual { why, reading } => {
            let failure = why.failure();
            explanation_ui(ui, w, &failure, Some(("Check again", Intent::CheckPolicyAgain)), asks);
            if let ManualReason::UnknownShape { detail } = why {
                ui.label(RichText::new(format!("What the API answered: {detail}")).weak().small());
            }
            if let Some(r) = reading {
                others_ui(ui, r);
            }
            manual_ui(ui, w, true, asks);
        }
    }
}

pub(super) fn done_ui(ui: &mut Ui, w: &Wizard, now: Moment, asks: &mut Asks) {
    let vendor = &w.settings().vendor_name;
    ui.heading("Done");
    let all = w.status(StepId::Done) == StepStatus::Done;
    ui.label(
        RichText::new(if all {
            format!("Your tenant is connected to {vendor}.")
        } else {
            format!("Your tenant is connected to {vendor}; one thing is left for you.")
        })
        .strong(),
    );
    ui.add_space(6.0);
    egui::Grid::new("summary").num_columns(3).min_col_width(16.0).spacing([10.0, 6.0]).show(ui, |ui| {
        for step in
            [StepId::SignIn, StepId::AdminConsent, StepId::VerifyPermissions, StepId::TeamsApp, StepId::GlobalPolicy]
        {
            let status = w.status(step);
            let ok = match status {
                StepStatus::Done | StepStatus::Pending => Some(true),
                StepStatus::NeedsAttention => Some(false),
                _ => None,
            };
            mark(ui, ok, status.label());
            ui.label(step.title());
            ui.label(status.label());
            ui.end_row();
        }
    });
    ui.add_space(6.0);
    if let Some(text) = crate::present::policy_applied(w, now) {
        ui.label(format!(
            "In Teams, {} appears in the app bar (pinned) of every user it reaches, usually within hours (Teams clients \
             cache their settings, sometimes for a day).",
            w.settings().teams_app_name
        ));
        ui.label(RichText::new(&text.delivery).strong());
        if ui.button("Check who has it").clicked() {
            asks.intents.push(Intent::CheckDelivery);
        }
    }
    if let PolicyStep::Manual { .. } = w.policy() {
        ui.label("The Global policy still needs the manual change (Global policy step).");
        if ui.button("Back to the Global policy").clicked() {
            asks.intents.push(Intent::ShowStep(StepId::GlobalPolicy));
        }
    }
    ui.label(format!("You can close this window: {vendor} can now reach your users in Teams."));
}
