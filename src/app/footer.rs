//! The footer bar: Back, the page's primary action and Cancel, always on screen below the page (which scrolls), at
//! any window size. The primary action is worked out from the wizard's state here, once, so the page bodies draw
//! only what explains it and the secondary choices; a failure's Retry stays inline in its explanation, where the
//! failure is shown.

use egui::{RichText, Ui};

use super::WizardApp;
use super::views::Asks;
use crate::wizard::{AppPlan, Consent, Intent, PolicyStep, Precheck, SignIn, StepId, TeamsStep, VerifyPhase, Wizard};

/// The page's main button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Primary {
    pub label: String,
    pub intent: Intent,
    /// Shown but not pressable, with why.
    pub disabled: Option<&'static str>,
}

impl Primary {
    fn new(label: impl Into<String>, intent: Intent) -> Self {
        Self { label: label.into(), intent, disabled: None }
    }

    /// A step's approval in the browser: `label` the first time (consent), "Sign in again…" for an expired or
    /// refused session.
    fn approval(label: &str, failure: &crate::wizard::Failure, intent: Intent) -> Self {
        Self::new(if failure.is_consent_required() { label } else { "Sign in again…" }, intent)
    }
}

/// The primary action of the page shown, if it has one now (`None` while it waits, or when the page's choices
/// are all secondary, as after a failure).
pub fn primary(app: &WizardApp) -> Option<Primary> {
    let Some(w) = app.wizard() else {
        return Some(Primary {
            disabled: Some("Waiting for the demo tenant"),
            ..Primary::new("Start", Intent::Continue)
        });
    };
    primary_of(w)
}

/// [`primary`] for a wizard.
pub fn primary_of(w: &Wizard) -> Option<Primary> {
    let app = &w.settings().teams_app_name;
    if w.way() == crate::wizard::board::WayIn::Partner {
        return match (w.sign_in(), w.board()) {
            (SignIn::Idle, _) => Some(Primary::new("Sign in to the partner tenant…", Intent::SignInWithBrowser)),
            (
                SignIn::Done(_),
                crate::wizard::board::Board::Loaded { .. } | crate::wizard::board::Board::Failed { .. },
            ) => Some(Primary::new("Check all again", Intent::RecheckCustomers)),
            _ => None,
        };
    }
    match w.page() {
        StepId::Welcome => Some(Primary::new("Start", Intent::Continue)),
        StepId::SignIn => match w.sign_in() {
            SignIn::Idle => Some(Primary::new("Sign in with Microsoft…", Intent::SignInWithBrowser)),
            SignIn::Done(_) => Some(Primary::new("Continue", Intent::Continue)),
            SignIn::Failed { .. } if w.offers_basic_access() => {
                Some(Primary::new("Sign in without approving now", Intent::SignInWithBasicAccess))
            }
            SignIn::Browser { .. } | SignIn::DeviceCode { .. } | SignIn::Saved { .. } | SignIn::Failed { .. } => None,
        },
        StepId::AdminConsent => match w.consent() {
            Consent::Ready { precheck: Precheck::CanGrant | Precheck::RolesUnknown { .. } } => {
                Some(Primary::new("Grant consent…", Intent::GrantConsent))
            }
            Consent::Waiting { .. } => {
                Some(Primary::new("I've finished in the browser", Intent::ConsentFinishedInBrowser))
            }
            Consent::Done { .. } => Some(Primary::new("Continue: verify permissions", Intent::Continue)),
            Consent::Locked
            | Consent::Looking { .. }
            | Consent::Ready { precheck: Precheck::CannotGrant { .. } }
            | Consent::Applying { .. }
            | Consent::Failed { .. } => None,
        },
        StepId::VerifyPermissions => match &w.verify().phase {
            VerifyPhase::NeedsReadAccess { approval: None, failure } => {
                Some(Primary::approval("Approve read access…", failure, Intent::ApproveTenantRead))
            }
            VerifyPhase::Checked
                if w.verify().checklist.as_ref().is_some_and(crate::wizard::Checklist::all_granted) =>
            {
                Some(Primary::new("Continue: Teams app", Intent::Continue))
            }
            VerifyPhase::Checked if w.verify().gave_up_after_minutes.is_none() => {
                Some(Primary::new("Grant again…", Intent::GrantAgain))
            }
            VerifyPhase::Locked
            | VerifyPhase::Checking { .. }
            | VerifyPhase::NeedsReadAccess { .. }
            | VerifyPhase::Checked
            | VerifyPhase::Failed { .. } => None,
        },
        StepId::TeamsApp => match w.teams() {
            TeamsStep::NeedsApproval { failure, approval: None } => {
                Some(Primary::approval("Approve Teams access…", failure, Intent::ApproveTeamsAccess))
            }
            TeamsStep::Ready { plan, facts } => Some(Primary::new(
                match plan {
                    // A partner's agent is no user of the customer's tenant: nothing is installed for them.
                    _ if facts.admin_elsewhere => format!("Put {app} in the tenant"),
                    AppPlan::Publish { .. } | AppPlan::Update { .. } => format!("Upload and install {app} for me"),
                    AppPlan::UseStore { .. } | AppPlan::UseOrg { .. } => format!("Install {app} for me"),
                },
                Intent::InstallTeamsApp,
            )),
            TeamsStep::Done { .. } => Some(Primary::new("Continue: Global policy", Intent::Continue)),
            TeamsStep::Locked
            | TeamsStep::Inspecting { .. }
            | TeamsStep::NeedsApproval { .. }
            | TeamsStep::Blocked { .. }
            | TeamsStep::Installing { .. }
            | TeamsStep::Failed { .. } => None,
        },
        StepId::GlobalPolicy => match w.policy() {
            PolicyStep::NeedsApproval { failure, approval: None } => {
                Some(Primary::approval("Approve Teams access…", failure, Intent::ApprovePolicyAccess))
            }
            PolicyStep::Ready { .. } => Some(Primary::new("Add to the Global policy", Intent::ApplyPolicy)),
            PolicyStep::Applied { .. } => Some(Primary::new("Continue", Intent::Continue)),
            PolicyStep::Manual { .. } => Some(Primary::new("Continue without it", Intent::Continue)),
            PolicyStep::Locked
            | PolicyStep::Reading { .. }
            | PolicyStep::NeedsApproval { .. }
            | PolicyStep::Writing { .. } => None,
        },
        StepId::Done => None,
    }
}

/// What Cancel stops on this page, if the page waits for the browser (also the Escape key).
pub fn cancel_of(w: &Wizard) -> Option<Intent> {
    match w.page() {
        StepId::SignIn => {
            matches!(w.sign_in(), SignIn::Browser { .. } | SignIn::DeviceCode { .. } | SignIn::Saved { .. })
                .then_some(Intent::CancelSignIn)
        }
        StepId::AdminConsent => {
            matches!(w.consent(), Consent::Waiting { .. } | Consent::Applying { .. }).then_some(Intent::CancelConsent)
        }
        // The preview's and the install for everyone's own Cancel sit beside their progress bars.
        StepId::Welcome | StepId::VerifyPermissions | StepId::TeamsApp | StepId::GlobalPolicy | StepId::Done => None,
    }
}

/// The step Back shows: the one before, once it has been reached.
pub fn back_of(w: &Wizard) -> Option<StepId> {
    let page = w.page();
    let i = StepId::ALL.iter().position(|s| *s == page)?;
    let previous = *StepId::ALL.get(i.checked_sub(1)?)?;
    w.can_show(previous).then_some(previous)
}

/// The bar itself.
pub(super) fn footer_ui(ui: &mut Ui, app: &WizardApp, asks: &mut Asks) {
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let w = app.wizard();
        if let Some(step) = w.and_then(back_of)
            && ui.button("Back").on_hover_text(format!("Show {}", step.title())).clicked()
        {
            asks.intents.push(Intent::ShowStep(step));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if let Some(cancel) = w.and_then(cancel_of)
                && super::views::cancel_button(ui)
            {
                asks.intents.push(cancel);
            }
            if let Some(p) = primary(app) {
                let button = egui::Button::new(RichText::new(&p.label).strong()).min_size(egui::vec2(120.0, 28.0));
                let response = ui.add_enabled(p.disabled.is_none(), button);
                let response = match p.disabled {
                    Some(why) => response.on_disabled_hover_text(why),
                    None => response,
                };
                if response.clicked() {
                    asks.intents.push(p.intent);
                }
            }
        });
    });
    ui.add_space(6.0);
}
