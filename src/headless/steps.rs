//! The steps, driven as a person would click through them, one line each.

// A room of headless/: the options, the wizard types and the helpers are the parent's.
use super::lines::{policy_line, skipped, teams_line, verify_line};
use super::*;

/// The steps, one line each.
pub(super) async fn run_steps(
    driver: &mut Driver,
    shell: &mut Shell,
    options: &HeadlessOptions,
    vendor: &str,
) -> Vec<StepLine> {
    let mut lines = Vec::new();
    driver.dispatch(shell, Intent::Continue);
    driver.dispatch(shell, if options.device_code { Intent::SignInWithDeviceCode } else { Intent::SignInWithBrowser });
    let mut shown_code = false;
    let mut switched: Option<Failure> = None;
    wait_until(driver, shell, |w| {
        if let SignIn::DeviceCode { reason: Some(SwitchReason::ConditionalAccess(f)), .. } = w.sign_in() {
            switched = Some(f.clone());
        }
        if let SignIn::DeviceCode { code: Some(view), .. } = w.sign_in()
            && !shown_code
        {
            shown_code = true;
            tell(&format!("{} (code {})", view.message, view.user_code));
        }
        !matches!(w.sign_in(), SignIn::Browser { .. } | SignIn::DeviceCode { .. } | SignIn::Idle)
    })
    .await;
    let signed_in = match driver.wizard.sign_in() {
        SignIn::Done(account) => {
            let tenant =
                account.tenant_name.clone().or(account.tenant_domain.clone()).unwrap_or(account.tenant_id.clone());
            let tenant = if tenant.is_empty() { String::new() } else { format!(" in {tenant}") };
            let how = switched.as_ref().map_or(String::new(), |f| {
                format!(
                    " with a device code, after {} blocked the browser sign-in",
                    Catalogue::shipped().explain(f, vendor).code
                )
            });
            lines.push(StepLine {
                step: StepId::SignIn,
                status: "done",
                code: switched.as_ref().map(Failure::code),
                summary: format!("Signed in as {} ({}){tenant}{how}", account.display_name, account.upn),
                fix: Vec::new(),
                detail: serde_json::to_value(account).ok(),
                report: Vec::new(),
            });
            true
        }
        SignIn::Failed { failure, .. } => {
            lines.push(StepLine::failed(StepId::SignIn, "failed", failure, vendor));
            false
        }
        other => {
            lines.push(StepLine {
                step: StepId::SignIn,
                status: "failed",
                code: Some("not_finished".into()),
                summary: format!("Sign-in did not finish ({other:?})"),
                fix: vec!["Run again.".into()],
                detail: None,
                report: Vec::new(),
            });
            false
        }
    };
    if options.stop_after == Some(StepId::SignIn) {
        return lines;
    }
    if !signed_in {
        lines.push(skipped(StepId::AdminConsent, "Sign in first"));
        return lines;
    }

    driver.dispatch(shell, Intent::Continue);
    // Picking up a saved setup may first look in the tenant for a consent granted as the earlier run stopped.
    wait_until(driver, shell, |w| !matches!(w.consent(), Consent::Looking { .. })).await;
    if let Consent::Ready { precheck: Precheck::CannotGrant { roles } } = driver.wizard.consent() {
        let held = if roles.is_empty() { "no admin role".to_owned() } else { roles.join(", ") };
        let mut fix = vec!["Sign in with a Global Administrator or Privileged Role Administrator account.".to_owned()];
        if let Some(link) = driver.wizard.consent_link() {
            fix.push(format!("Or send this consent link to your organization's Global Administrator: {link}"));
        }
        lines.push(StepLine {
            step: StepId::AdminConsent,
            status: "needs_attention",
            code: Some("precheck_cannot_grant".into()),
            summary: format!(
                "The signed-in account has {held} and cannot grant Microsoft Graph application permissions"
            ),
            fix,
            detail: driver.wizard.consent_link().map(|l| serde_json::json!({ "consent_link": l })),
            report: Vec::new(),
        });
        return lines;
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
    match driver.wizard.consent() {
        Consent::Done { grant, check } => {
            let (summary, code) = match check {
                ConsentCheck::Confirmed => {
                    (format!("{vendor} has its permissions, and the tenant shows its app"), None)
                }
                ConsentCheck::Earlier => (
                    format!("{vendor} was granted its permissions in an earlier run; the next step checks them again"),
                    None,
                ),
                ConsentCheck::Unconfirmed(why) if why.is_consent_required() => {
                    (format!("{vendor} has its permissions (confirmed by Microsoft's redirect)"), None)
                }
                ConsentCheck::Unconfirmed(why) => {
                    let e = Catalogue::shipped().explain(why, vendor);
                    (
                        format!(
                            "{vendor} has its permissions (confirmed by Microsoft's redirect); the tenant could not be read: {}",
                            e.summary
                        ),
                        Some(e.code),
                    )
                }
            };
            lines.push(StepLine {
                step: StepId::AdminConsent,
                status: "done",
                code,
                summary,
                fix: Vec::new(),
                detail: serde_json::to_value(grant).ok(),
                report: Vec::new(),
            });
        }
        Consent::Failed { failure, .. } => {
            lines.push(StepLine::failed(StepId::AdminConsent, "failed", failure, vendor))
        }
        other => lines.push(StepLine {
            step: StepId::AdminConsent,
            status: "failed",
            code: Some("not_finished".into()),
            summary: format!("Consent did not finish ({other:?})"),
            fix: vec!["Run again.".into()],
            detail: None,
            report: Vec::new(),
        }),
    }
    if options.stop_after == Some(StepId::AdminConsent) {
        return lines;
    }
    if !matches!(driver.wizard.consent(), Consent::Done { .. }) {
        lines.push(skipped(StepId::VerifyPermissions, "Grant consent first"));
        return lines;
    }
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
        tell("The setup tool needs read access to the tenant's applications and directory; approve it in the browser.");
        driver.dispatch(shell, Intent::ApproveTenantRead);
        wait_until(driver, shell, settled).await;
    }
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
        tell("The setup tool needs to manage Teams apps and the setup policy; approve it in the browser.");
        driver.dispatch(shell, Intent::ApproveTeamsAccess);
        wait_until(driver, shell, teams_settled).await;
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
        driver.dispatch(shell, Intent::ApprovePolicyAccess);
        wait_until(driver, shell, policy_settled).await;
    }
    if matches!(driver.wizard.policy(), PolicyStep::Ready { .. }) {
        driver.dispatch(shell, Intent::ApplyPolicy);
        wait_until(driver, shell, policy_settled).await;
    }
    lines.push(policy_line(&driver.wizard, vendor));
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
