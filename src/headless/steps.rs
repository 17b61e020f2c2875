//! The steps, driven as a person would click through them, one line each.

// A room of headless/: the options, the wizard types and the helpers are the parent's.
use super::lines::{consent_line, policy_line, sign_in_line, skipped, teams_line, verify_line};
use super::*;
use crate::wizard::{Delivery, EveryoneInstall};

/// The steps, one line each.
/// [`run_steps`], each line with how many times its step sent the person to the browser.
pub(super) async fn run_steps_with_visits(
    driver: &mut Driver,
    shell: &mut Shell,
    options: &HeadlessOptions,
    vendor: &str,
) -> Vec<StepLine> {
    let lines = run_steps(driver, shell, options, vendor).await;
    lines
        .into_iter()
        .map(|line| {
            let visits = driver.wizard.browser_visits(line.step);
            line.with_browser_visits(visits)
        })
        .collect()
}

pub(super) async fn run_steps(
    driver: &mut Driver,
    shell: &mut Shell,
    options: &HeadlessOptions,
    vendor: &str,
) -> Vec<StepLine> {
    let mut lines = Vec::new();
    let switched = sign_in(driver, shell, options).await;
    let line = sign_in_line(&driver.wizard, switched.as_ref(), vendor);
    let signed_in = line.status == "done";
    lines.push(line);
    if options.stop_after == Some(StepId::SignIn) {
        return lines;
    }
    if !signed_in {
        lines.push(skipped(StepId::AdminConsent, "Sign in first"));
        return lines;
    }
    consent(driver, shell).await;
    lines.push(consent_line(&driver.wizard, vendor));
    if options.stop_after == Some(StepId::AdminConsent) {
        return lines;
    }
    if !matches!(driver.wizard.consent(), Consent::Done { .. }) {
        if !matches!(driver.wizard.consent(), Consent::Ready { precheck: Precheck::CannotGrant { .. } }) {
            lines.push(skipped(StepId::VerifyPermissions, "Grant consent first"));
        }
        return lines;
    }
    verify(driver, shell).await;
    lines.push(verify_line(&driver.wizard, vendor));
    if options.stop_after == Some(StepId::VerifyPermissions) {
        return lines;
    }
    if !driver.wizard.verify().checklist.as_ref().is_some_and(crate::wizard::Checklist::all_granted) {
        lines.push(skipped(StepId::TeamsApp, "Every permission must be granted first"));
        return lines;
    }
    teams_steps(driver, shell, options, vendor, &mut lines).await;
    lines
}

/// Signs in the way the options say, showing a device code when one comes; returns the Conditional Access failure
/// that switched a browser sign-in to the device code, if one did.
pub(super) async fn sign_in(driver: &mut Driver, shell: &mut Shell, options: &HeadlessOptions) -> Option<Failure> {
    driver.dispatch(shell, Intent::Continue);
    let mut switched: Option<Failure> = None;
    if options.saved_sign_in {
        driver.dispatch(shell, Intent::SignInWithSavedAccount);
        wait_for_sign_in(driver, shell, &mut switched).await;
        let SignIn::Failed { failure, .. } = driver.wizard.sign_in() else { return switched };
        // Only what a person in the browser can get past (no saved sign-in, an expired one, MFA, consent) is
        // tried there; not an unknown tenant, nor a customer that has not approved the tool (AADSTS90099).
        if !failure.needs_interactive_sign_in() {
            return switched;
        }
        // Never in silence: why, then the browser (the window offers the same as Retry).
        tell(&format!(
            "Signing in without the browser was refused ({}): signing in through the browser.",
            failure.code()
        ));
        driver.dispatch(shell, Intent::RetrySignIn);
    } else {
        driver.dispatch(
            shell,
            if options.device_code { Intent::SignInWithDeviceCode } else { Intent::SignInWithBrowser },
        );
    }
    wait_for_sign_in(driver, shell, &mut switched).await;
    // The setup tool's own permissions were declined, or this account may not approve them: sign in without them
    // (each step then asks for its own), as the window offers.
    if driver.wizard.offers_basic_access() {
        let (headline, text) = crate::present::up_front_refused();
        tell(&format!("{headline}. {text}"));
        driver.dispatch(shell, Intent::SignInWithBasicAccess);
        wait_for_sign_in(driver, shell, &mut switched).await;
    }
    switched
}

/// Waits until the sign-in under way ends, showing a device code when one comes and noting a switch to it.
async fn wait_for_sign_in(driver: &mut Driver, shell: &mut Shell, switched: &mut Option<Failure>) {
    let mut shown_code = false;
    wait_until(driver, shell, |w| {
        if let SignIn::DeviceCode { reason: Some(SwitchReason::ConditionalAccess(f)), .. } = w.sign_in() {
            *switched = Some(f.clone());
        }
        if let SignIn::DeviceCode { wait: CodeWait { code: Some(view), .. }, .. } = w.sign_in()
            && !shown_code
        {
            shown_code = true;
            tell(&format!("{} (code {})", view.message, view.user_code));
        }
        !matches!(w.sign_in(), SignIn::Browser { .. } | SignIn::DeviceCode { .. } | SignIn::Saved { .. } | SignIn::Idle)
    })
    .await;
}

/// Goes on to consent and grants it, unless the account cannot (the pre-check) or a resumed setup holds it already.
async fn consent(driver: &mut Driver, shell: &mut Shell) {
    driver.dispatch(shell, Intent::Continue);
    // Picking up a saved setup may first look in the tenant for a consent granted as the earlier run stopped.
    wait_until(driver, shell, |w| !matches!(w.consent(), Consent::Looking { .. })).await;
    if matches!(driver.wizard.consent(), Consent::Ready { precheck: Precheck::CannotGrant { .. } }) {
        return;
    }
    if let crate::wizard::Resume::OtherTenant { saved } = driver.wizard.resumed() {
        tell(&format!(
            "This account is in another tenant than the saved setup ({}); starting over for this tenant.",
            saved.tenant_name.clone().unwrap_or_else(|| saved.tenant_id.clone())
        ));
    }
    // A resumed setup already holds the consent (the next step reads the tenant to confirm it).
    if !matches!(driver.wizard.consent(), Consent::Done { .. }) {
        driver.dispatch(shell, Intent::GrantConsent);
    }
    let mut told_url = false;
    wait_until(driver, shell, |w| {
        if let Consent::Waiting { url: Some(url), .. } = w.consent()
            && !told_url
        {
            told_url = true;
            tracing::info!("admin consent page: {}", crate::diagnostics::sanitize::Redactor::new(false).url(url));
        }
        matches!(w.consent(), Consent::Done { .. } | Consent::Failed { .. })
    })
    .await;
}

/// Reads the grants (approving the setup tool's read access once if it needs it) and the directory.
async fn verify(driver: &mut Driver, shell: &mut Shell) {
    driver.dispatch(shell, Intent::Continue);
    let settled = |w: &Wizard| {
        let v = w.verify();
        match &v.phase {
            VerifyPhase::NeedsReadAccess { approval: None, .. } | VerifyPhase::Failed { .. } => true,
            VerifyPhase::Checked => !v.is_settling() && !w.preview().is_loading(),
            _ => false,
        }
    };
    wait_until(driver, shell, settled).await;
    if matches!(driver.wizard.verify().phase, VerifyPhase::NeedsReadAccess { .. }) {
        // The setup tool's own read access needs an admin's approval: ask once, in the browser.
        tell(
            "The setup tool needs read access to the tenant's applications and directory; approve it as Microsoft asks.",
        );
        approve(driver, shell, Intent::ApproveTenantRead, settled).await;
    }
}

/// Steps 4 and 5: the Teams app (and, with `--install-for-everyone`, every user), then the Global policy.
pub(super) async fn teams_steps(
    driver: &mut Driver,
    shell: &mut Shell,
    options: &HeadlessOptions,
    vendor: &str,
    lines: &mut Vec<StepLine>,
) {
    driver.dispatch(shell, Intent::Continue);
    let teams_settled = |w: &Wizard| {
        matches!(
            w.teams(),
            TeamsStep::Ready { .. }
                | TeamsStep::Blocked { .. }
                | TeamsStep::Done { .. }
                | TeamsStep::Failed { .. }
                | TeamsStep::NeedsApproval { approval: None, .. }
        )
    };
    wait_until(driver, shell, teams_settled).await;
    if matches!(driver.wizard.teams(), TeamsStep::NeedsApproval { .. }) {
        tell("The setup tool needs to manage Teams apps and the setup policy; approve it as Microsoft asks.");
        approve(driver, shell, Intent::ApproveTeamsAccess, teams_settled).await;
    }
    if matches!(driver.wizard.teams(), TeamsStep::Ready { .. }) {
        driver.dispatch(shell, Intent::InstallTeamsApp);
        wait_until(driver, shell, teams_settled).await;
    }
    if options.install_for_everyone && matches!(driver.wizard.teams(), TeamsStep::Done { .. }) {
        driver.dispatch(shell, Intent::InstallForEveryone);
        wait_until(driver, shell, |w| !matches!(w.teams(), TeamsStep::Done { bulk: Bulk::Running { .. }, .. })).await;
    }
    lines.push(teams_line(&driver.wizard, vendor));
    if options.stop_after == Some(StepId::TeamsApp) {
        return;
    }
    if !matches!(driver.wizard.teams(), TeamsStep::Done { .. }) {
        lines.push(skipped(StepId::GlobalPolicy, "The Teams app must be set up first"));
        return;
    }
    driver.dispatch(shell, Intent::Continue);
    let policy_settled = |w: &Wizard| {
        matches!(
            w.policy(),
            PolicyStep::Ready { .. }
                | PolicyStep::Applied { .. }
                | PolicyStep::Manual { .. }
                | PolicyStep::NeedsApproval { approval: None, .. }
        )
    };
    wait_until(driver, shell, policy_settled).await;
    if matches!(driver.wizard.policy(), PolicyStep::NeedsApproval { .. }) {
        tell("The setup tool needs the Teams admin API to change the setup policy; approve it as Microsoft asks.");
        approve(driver, shell, Intent::ApprovePolicyAccess, policy_settled).await;
    }
    if matches!(driver.wizard.policy(), PolicyStep::Ready { .. }) {
        driver.dispatch(shell, Intent::ApplyPolicy);
        wait_until(driver, shell, policy_settled).await;
    }
    if let PolicyStep::Applied { everyone, .. } = driver.wizard.policy() {
        let by_hand = *everyone != EveryoneInstall::Set;
        // The delivery check re-reads the sample with backoff; wait as long as for permissions (--grant-wait).
        let clock = shell.clock().clone();
        let patience = options.grant_wait;
        let settled = |w: &Wizard, within: Duration| match w.policy() {
            PolicyStep::Applied { delivery, since, .. } => {
                matches!(delivery, Delivery::Reached { .. } | Delivery::Blocked { .. } | Delivery::Failed { .. })
                    || clock.now() >= since.plus(within)
            }
            _ => true,
        };
        // App-centric: installing for everyone is the app's own setting, with no API, set by a person on the admin
        // center page (printed, or opened by $BROWSER; the demo's simulated page applies it at once). Asked for
        // (--install-for-everyone): open it now. Otherwise the pin installs it for everyone it is available to:
        // let it work, and send the admin there only if it does not reach the sample or the app is blocked.
        if by_hand && options.install_for_everyone {
            tell("Installing for everyone is a setting of the app in the Teams admin center; opening its page.");
            driver.dispatch(shell, Intent::OpenAdminCenter);
        } else if by_hand {
            wait_until(driver, shell, |w| settled(w, PIN_ALONE_WAIT.min(patience))).await;
            if !matches!(driver.wizard.policy(), PolicyStep::Applied { delivery: Delivery::Reached { .. }, .. }) {
                tell(
                    "The pin has not reached every sampled user: availability and installing for everyone are \
                     settings of the app in the Teams admin center; opening its page.",
                );
                driver.dispatch(shell, Intent::OpenAdminCenter);
                driver.dispatch(shell, Intent::CheckDelivery);
            }
        }
        wait_until(driver, shell, |w| settled(w, patience)).await;
    }
    lines.push(policy_line(&driver.wizard, vendor, shell.clock().now()));
}

/// How long a headless run lets the Global policy's pin reach the delivery check's sample by itself before it sends
/// the admin to the app's page in the Teams admin center. The demo tenant's pins arrive within seconds; a real
/// tenant's take hours, so a live run opens the page after this too.
const PIN_ALONE_WAIT: Duration = Duration::from_secs(15);

/// Asks for an approval of the setup tool's access and waits until `settled`, showing the approval's device code
/// (and why it went by code) when it goes by code.
async fn approve(driver: &mut Driver, shell: &mut Shell, intent: Intent, settled: impl Fn(&Wizard) -> bool) {
    driver.dispatch(shell, intent);
    let mut told = None;
    wait_until(driver, shell, |w| {
        if let Some(d) = w.device_approval()
            && let Some(view) = &d.wait.code
            && told != Some(d.attempt)
        {
            told = Some(d.attempt);
            match &d.reason {
                Some(SwitchReason::ConditionalAccess(f)) => tell(&format!(
                    "The approval in the browser was blocked ({}); approve it with a code instead.",
                    f.code()
                )),
                Some(SwitchReason::NoBrowser { detail }) => {
                    tell(&format!("No browser could be opened ({detail}); approve it with a code instead."));
                }
                None => {}
            }
            tell(&format!("{} (code {})", view.message, view.user_code));
        }
        settled(w)
    })
    .await;
}

/// Pumps reports and time into the wizard until `done`.
pub(super) async fn wait_until(driver: &mut Driver, shell: &mut Shell, mut done: impl FnMut(&Wizard) -> bool) {
    loop {
        if done(&driver.wizard) {
            return;
        }
        let wait = driver.time_to_next_deadline(shell).unwrap_or(Duration::from_secs(1)).min(Duration::from_secs(1));
        if let Some(report) = shell.next_report(wait.max(Duration::from_millis(10))).await {
            if let Some(Report::Storage(d)) = driver.apply(shell, report) {
                tracing::info!("token storage: {d:?}");
            }
            for more in shell.drain() {
                let _other = driver.apply(shell, more);
            }
        }
        driver.tick(shell);
    }
}
