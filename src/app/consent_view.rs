//! The admin consent page: the pre-check of the account's roles, the wait for Microsoft's consent page, what to do
//! when this account cannot grant.

use egui::{RichText, Ui};

use super::views::{Asks, browser_wait_ui, explanation_ui, permissions_ui};
use crate::wizard::{Consent, ConsentCheck, Intent, Moment, Precheck, Wizard};

pub(super) fn consent_ui(ui: &mut Ui, w: &Wizard, now: Moment, asks: &mut Asks) {
    let vendor = &w.settings().vendor_name;
    ui.heading("Admin consent");
    let permissions: Vec<(String, String, String)> = w
        .settings()
        .permissions
        .iter()
        .map(|p| (p.name.clone(), p.kind.label().to_owned(), p.reason.clone()))
        .collect();
    match w.consent() {
        Consent::Locked => {
            ui.label("Sign in first.");
        }
        Consent::Looking { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "Looking in your tenant for {vendor}'s consent: it may have been granted just before the setup stopped."
                ));
            });
        }
        Consent::Ready { precheck } => {
            if let Some(account) = w.account() {
                ui.label(format!("{}.", crate::present::signed_in(account, None)));
            }
            ui.label(format!("{vendor} will be granted these permissions for your whole organization. Microsoft shows the same list; choose Accept."));
            ui.add_space(4.0);
            permissions_ui(ui, &permissions);
            ui.add_space(8.0);
            match precheck {
                Precheck::CanGrant => {}
                Precheck::RolesUnknown { why } => {
                    ui.label(RichText::new(format!("Your roles could not be read ({why}). Consent needs a Global Administrator or Privileged Role Administrator.")).color(ui.visuals().warn_fg_color));
                }
                Precheck::CannotGrant { roles } => cannot_grant_ui(ui, w, roles, asks),
            }
            if !matches!(precheck, Precheck::CannotGrant { .. })
                && ui.button("Not you? Sign in with another account…").clicked()
            {
                asks.intents.push(Intent::SignInAsSomeoneElse);
            }
        }
        Consent::Waiting { url, launch, catches_redirect, deadline, watch, approval, .. } => {
            browser_wait_ui(
                ui,
                "Waiting for you to accept on Microsoft's permissions page…",
                now.until(*deadline),
                launch,
                url.as_deref(),
                "If the page did not open, copy this link:",
                asks,
            );
            if !catches_redirect {
                ui.label(format!("After you accept, Microsoft sends you to {vendor}'s website. Come back here: the setup watches your tenant and continues by itself."));
            }
            if watch.active {
                tenant_watch_ui(ui, w, now, watch, approval.is_some(), asks);
            }
        }
        Consent::Applying { watch, .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Consent granted. Microsoft is still applying it; nothing needs to be redone.");
            });
            if let Some(next) = watch.next_check.filter(|_| watch.checks > 0) {
                ui.label(format!("Checking your tenant again in {} s.", now.until(next).as_secs()));
            }
        }
        Consent::Done { grant, check } => {
            let text = crate::present::consent_done(vendor, check);
            ui.label(RichText::new(text.headline).strong());
            let tenant =
                grant.tenant_id.clone().or_else(|| w.account().map(|a| a.tenant_id.clone())).unwrap_or_default();
            ui.label(format!("Tenant {tenant}."));
            ui.label(text.line);
            if let ConsentCheck::Unconfirmed(why) = check
                && !why.is_consent_required()
            {
                explanation_ui(ui, w, why, None, asks);
            }
            if *check == ConsentCheck::AlreadyThere && ui.button("Grant again…").clicked() {
                asks.intents.push(Intent::GrantAgain);
            }
        }
        Consent::Failed { failure, precheck } => {
            explanation_ui(ui, w, failure, Some(("Retry", Intent::RetryConsent)), asks);
            if let Precheck::CannotGrant { roles } = precheck {
                ui.add_space(6.0);
                cannot_grant_ui(ui, w, roles, asks);
            }
        }
    }
}

/// The pre-consent check failed: say why, and offer another account or a link for the customer's admin.
fn cannot_grant_ui(ui: &mut Ui, w: &Wizard, roles: &[String], asks: &mut Asks) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("This account cannot grant the permissions").strong().color(ui.visuals().warn_fg_color));
        // The same words as headless prints (`present::cannot_grant`).
        let words = crate::present::cannot_grant(roles, w.consent_link().as_deref());
        ui.label(&words.summary);
        ui.label(format!("Who can fix it: {}", words.who));
        for (i, step) in words.fix.iter().enumerate() {
            ui.add(egui::Label::new(format!("{}. {step}", i + 1)).wrap());
        }
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            if ui.button("Sign in with another account…").clicked() {
                asks.intents.push(Intent::SignInAsSomeoneElse);
            }
            if let Some(link) = w.consent_link()
                && ui.button("Copy consent link for your admin").clicked()
            {
                asks.copy = Some(link);
            }
            if ui
                .button("Try anyway…")
                .on_hover_text("If your role was just activated, Microsoft may allow it")
                .clicked()
            {
                asks.intents.push(Intent::GrantConsent);
            }
        });
        if let Some(link) = w.consent_link() {
            ui.label("The link, to copy by hand:");
            ui.add(egui::Label::new(RichText::new(link).monospace()).wrap().selectable(true));
        }
    });
}

/// Watching the tenant for the app after the consent page: what the last check found and when the next is.
fn tenant_watch_ui(
    ui: &mut Ui,
    w: &Wizard,
    now: Moment,
    watch: &crate::wizard::Watch,
    approving: bool,
    asks: &mut Asks,
) {
    let vendor = &w.settings().vendor_name;
    match (&watch.last_problem, watch.next_check) {
        (Some(problem), _) if watch.paused => {
            ui.label(
                "To see the result in your tenant, the setup tool needs permission to read your tenant's applications.",
            );
            explanation_ui(ui, w, problem, None, asks);
            if approving {
                let wait = "Waiting for you to approve read access in the browser…";
                super::sign_in_view::approval_wait_ui(ui, w, now, wait, asks);
            } else if ui.button("Approve read access…").clicked() {
                asks.intents.push(Intent::ApproveTenantRead);
            }
        }
        (Some(problem), Some(next)) => {
            ui.label(format!("The last check did not work; trying again in {} s.", now.until(next).as_secs()));
            explanation_ui(ui, w, problem, None, asks);
        }
        (None, Some(next)) if watch.checks > 0 => {
            ui.label(format!(
                    "{vendor} is not in your tenant yet. Microsoft can take a minute to apply a consent; checking again in {} s.",
                    now.until(next).as_secs()
                ));
        }
        _ => {
            ui.label("Checking your tenant…");
        }
    }
}
