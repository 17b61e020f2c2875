//! The sign-in page: browser or device code, the wait for the browser, the pick-up of a saved setup, who signed in.

use egui::{RichText, Ui};

use super::views::{Asks, account_ui, browser_wait_ui, explanation_ui, mm_ss, needs_an_admin};
use crate::wizard::{CodeWait, Intent, Moment, Resume, SignIn, SwitchReason, Wizard};

pub(super) fn sign_in_ui(ui: &mut Ui, w: &Wizard, now: Moment, asks: &mut Asks) {
    ui.heading("Sign in");
    resume_ui(ui, w);
    match w.sign_in() {
        SignIn::Idle if w.way() == crate::wizard::board::WayIn::Partner => {
            ui.label(
                "Sign in with your account in the partner (MSP) tenant, the one your GDAP relationships belong to. \
                 Your browser opens Microsoft's sign-in page.",
            );
            ui.label(
                "The setup tool asks to read your GDAP relationships as you (DelegatedAdminRelationship.Read.All); \
                 an admin of your partner tenant may need to approve that once.",
            );
            ui.add_space(8.0);
            if ui.button("Sign in with a code…").clicked() {
                asks.intents.push(Intent::SignInWithDeviceCode);
            }
        }
        SignIn::Idle => {
            ui.label("Sign in with the Microsoft work account that will approve the connection. Your browser opens Microsoft's sign-in page; come back here when you are done.");
            if let Some(t) = &w.settings().tenant_hint {
                ui.label(format!("Signing in to tenant {t}."));
            }
            ui.add_space(8.0);
            if ui
                .button("Sign in with a code…")
                .on_hover_text("For locked-down computers, or to sign in on another device")
                .clicked()
            {
                asks.intents.push(Intent::SignInWithDeviceCode);
            }
        }
        SignIn::Browser { url, launch, deadline, .. } => {
            browser_wait_ui(
                ui,
                "Waiting for you to finish signing in in your browser…",
                now.until(*deadline),
                launch,
                url.as_deref(),
                "If the browser did not open, or opened the wrong profile, copy this link:",
                asks,
            );
            ui.add_space(8.0);
            if ui.button("Sign in with a code instead…").clicked() {
                asks.intents.push(Intent::SignInWithDeviceCode);
            }
        }
        SignIn::Saved { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(match &w.settings().tenant_hint {
                    Some(t) => format!("Signing in to tenant {t} with your partner account, without the browser…"),
                    None => "Signing in with your saved sign-in, without the browser…".to_owned(),
                });
            });
        }
        SignIn::DeviceCode { reason, wait, .. } => {
            device_code_ui(ui, w, now, reason.as_ref(), wait, "Browser sign-in", asks);
        }
        SignIn::Done(account) => {
            ui.label(RichText::new("Signed in").strong());
            account_ui(ui, account);
            ui.add_space(8.0);
            if ui.button("Sign in with another account…").clicked() {
                asks.intents.push(Intent::SignInAsSomeoneElse);
            }
        }
        SignIn::Failed { failure, method } => sign_in_failed_ui(ui, w, failure, *method, asks),
    }
}

/// Failures that only an administrator can clear, where a consent link for them helps.
/// Picking up a saved setup: where it stopped, and what happens after signing in.
fn resume_ui(ui: &mut Ui, w: &Wizard) {
    let (title, text) = match w.resumed() {
        Resume::Waiting(saved) => (
            "Picking up where you left off",
            format!(
                "The setup of {} stopped at \"{}\". Sign in again as {} to go on: each step done before is checked again in your tenant, and nothing is changed twice.",
                saved.tenant_name.as_deref().unwrap_or(&saved.tenant_id),
                saved.reached.title(),
                saved.account
            ),
        ),
        Resume::OtherTenant { saved } => (
            "Starting over for this tenant",
            format!(
                "This account is in another tenant than the saved setup ({}), so the setup starts from the beginning here.",
                saved.tenant_name.as_deref().unwrap_or(&saved.tenant_id)
            ),
        ),
        Resume::None | Resume::Matched(_) => return,
    };
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(title).strong());
        ui.label(text);
    });
    ui.add_space(6.0);
}

/// The wait for an approval of the setup tool's access: its device code when it goes by code, else the browser.
/// `browser_wait`: the words for the browser's wait.
pub(super) fn approval_wait_ui(ui: &mut Ui, w: &Wizard, now: Moment, browser_wait: &str, asks: &mut Asks) {
    match w.device_approval() {
        Some(d) => device_code_ui(ui, w, now, d.reason.as_ref(), &d.wait, "The approval in the browser", asks),
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(browser_wait);
            });
        }
    }
}

/// Signing in (or approving) with a device code: why the wizard switched to it, the code, and the wait. `what`:
/// what the browser was blocked for ("Browser sign-in").
fn device_code_ui(
    ui: &mut Ui,
    w: &Wizard,
    now: Moment,
    reason: Option<&SwitchReason>,
    code: &CodeWait,
    what: &str,
    asks: &mut Asks,
) {
    match reason {
        Some(SwitchReason::ConditionalAccess(failure)) => {
            explanation_ui(ui, w, failure, None, asks);
            ui.label(format!(
                "{what} was blocked, so the setup switched to a code you can enter on an allowed device."
            ));
        }
        Some(SwitchReason::NoBrowser { detail }) => {
            ui.label(format!(
                "No browser could be opened on this computer ({detail}). Use this code on any device instead."
            ));
        }
        None => {}
    }
    match &code.code {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Getting a code from Microsoft…");
            });
        }
        Some(view) => {
            ui.label(format!("Open {} on any device and enter this code:", view.verification_uri));
            ui.add_space(4.0);
            ui.label(RichText::new(&view.user_code).size(32.0).monospace().strong());
            ui.horizontal(|ui| {
                if ui.button("Copy code").clicked() {
                    asks.copy = Some(view.user_code.clone());
                }
                if ui.button("Open the sign-in page…").clicked() {
                    asks.intents.push(Intent::OpenVerificationPage);
                }
                if ui.button("Copy link").clicked() {
                    asks.copy = Some(view.verification_uri.clone());
                }
            });
            ui.horizontal(|ui| {
                ui.spinner();
                let left = code
                    .expires_at
                    .map(|e| format!(" The code expires in {}.", mm_ss(now.until(e))))
                    .unwrap_or_default();
                ui.label(format!(
                    "Waiting for you to enter the code (checking every {} s).{left}",
                    code.interval.as_secs()
                ));
            });
        }
    }
}

/// A sign-in that failed: the explanation with Retry, the consent link for an admin where one helps, and both ways
/// to sign in again.
fn sign_in_failed_ui(
    ui: &mut Ui,
    w: &Wizard,
    failure: &crate::wizard::Failure,
    method: crate::wizard::SignInMethod,
    asks: &mut Asks,
) {
    let retry = match method {
        crate::wizard::SignInMethod::Browser => "Retry",
        crate::wizard::SignInMethod::DeviceCode => "Retry with a new code",
    };
    if w.offers_basic_access() {
        let (headline, text) = crate::present::up_front_refused();
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(headline).strong());
            ui.add(egui::Label::new(text).wrap());
        });
        ui.add_space(6.0);
        explanation_ui(ui, w, failure, None, asks);
        return;
    }
    explanation_ui(ui, w, failure, Some((retry, Intent::RetrySignIn)), asks);
    if needs_an_admin(failure)
        && let Some(link) = w.consent_link()
    {
        ui.add_space(6.0);
        ui.label(format!(
            "The consent {} needs can also be granted by your organization's Global Administrator with this link:",
            w.settings().vendor_name
        ));
        ui.add(egui::Label::new(RichText::new(&link).monospace()).wrap().selectable(true));
        if ui.button("Copy consent link for your admin").clicked() {
            asks.copy = Some(link);
        }
    }
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        if ui.button("Sign in with Microsoft…").clicked() {
            asks.intents.push(Intent::SignInWithBrowser);
        }
        if ui.button("Sign in with a code…").clicked() {
            asks.intents.push(Intent::SignInWithDeviceCode);
        }
    });
}
