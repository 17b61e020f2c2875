//! `customers list --headless`: a partner signs in to its own tenant and gets one line per GDAP customer (one
//! JSON object per line with `--json`), worded by `present::customer_next_action` as the board is.

use std::io::Write as _;

use super::*;
use crate::wizard::board::{Board, RelationshipStatus, Row, RowState};
use crate::wizard::customer_checks::{CustomerStatus, Finding};

/// One customer's line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CustomerLine {
    pub tenant_id: String,
    pub name: String,
    pub relationship_status: Option<RelationshipStatus>,
    /// RFC 3339.
    pub relationship_end: Option<String>,
    pub can_consent: bool,
    pub can_teams: bool,
    /// The customer's own steps, read in its tenant by `customers check` (`done`, `missing`, `not_read`);
    /// `not_checked` by `customers list`, which reads the partner's tenant only, and for a customer where the
    /// user has no roles. `delivery` is `done` when every sampled member with a Teams licence has the app.
    pub consent: &'static str,
    pub permissions: &'static str,
    pub teams_app: &'static str,
    pub policy: &'static str,
    pub delivery: &'static str,
    /// `[have it, sampled]`: the sampled members with a Teams licence, and how many of them have the app.
    pub have_app: Option<[u32; 2]>,
    /// The org-wide app settings block third-party apps (as checked).
    pub apps_blocked: Option<bool>,
    /// The customer's admin centers in the partner's context, as Microsoft lists them (as checked).
    pub teams_admin_center: Option<String>,
    pub entra_admin_center: Option<String>,
    /// When the customer's tenant was read (RFC 3339), by `customers check`.
    pub checked_at: Option<String>,
    /// Why the customer's tenant could not be read (its code, e.g. `AADSTS90099`).
    pub check_failed: Option<String>,
    /// Where the customer stands (`ready`, `approval_pending`, …).
    pub state: RowState,
    pub next_action: &'static str,
    /// The next action in words.
    pub explanation: String,
    /// The line for people (without `--json`).
    #[serde(skip)]
    text: String,
}

impl CustomerLine {
    /// The line of `row`, with what its own tenant showed if it was checked (`status`).
    pub fn of(row: &Row, status: Option<&CustomerStatus>, vendor: &str) -> Self {
        let next = crate::present::customer_next_action(row, status, vendor);
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut text = format!(
            "{} ({}): {}; can consent: {}, can set up Teams: {}\n    {}",
            row.name,
            row.tenant_id,
            crate::present::relationship(row),
            yes_no(row.can_consent),
            yes_no(row.can_teams),
            next.text
        );
        let (_, sentence) = crate::present::tenant_check(status);
        if !sentence.is_empty() {
            text.push_str(&format!("\n    {sentence}"));
        }
        let word = |f: Finding| match f {
            Finding::Done => "done",
            Finding::Missing => "missing",
            Finding::NotRead => "not_read",
        };
        let mut line = Self {
            tenant_id: row.tenant_id.clone(),
            name: row.name.clone(),
            relationship_status: row.relationship_status,
            relationship_end: row.relationship_end.map(crate::present::rfc3339),
            can_consent: row.can_consent,
            can_teams: row.can_teams,
            consent: NOT_CHECKED,
            permissions: NOT_CHECKED,
            teams_app: NOT_CHECKED,
            policy: NOT_CHECKED,
            delivery: NOT_CHECKED,
            have_app: None,
            apps_blocked: None,
            teams_admin_center: None,
            entra_admin_center: None,
            checked_at: None,
            check_failed: None,
            state: row.state.clone(),
            next_action: next.code,
            explanation: next.text,
            text,
        };
        match status {
            Some(CustomerStatus::Checked(c)) => {
                (line.consent, line.permissions, line.teams_app, line.policy, line.delivery) =
                    (word(c.consent), word(c.permissions), word(c.teams_app), word(c.policy), word(c.delivery));
                line.have_app = c.reached.map(|r| [r.have_it, r.sampled]);
                line.apps_blocked = Some(c.apps_blocked);
                let centers = c.admin_centers.clone().unwrap_or_default();
                (line.teams_admin_center, line.entra_admin_center) = (centers.teams, centers.entra);
                line.checked_at = Some(crate::present::rfc3339(c.checked_at));
            }
            Some(CustomerStatus::Failed { failure, at }) => {
                line.checked_at = Some(crate::present::rfc3339(*at));
                line.check_failed = Some(failure.code());
            }
            Some(CustomerStatus::Waiting) | None => {}
        }
        line
    }
}

const NOT_CHECKED: &str = "not_checked";

/// `customers check --all --headless`: `customers list`, then every customer where the user has roles checked in
/// its own tenant, the same lines with what each tenant showed. Exit 0 when the list was read and every customer
/// checked could be read, 1 otherwise, 2 for bad input.
pub fn check(options: HeadlessOptions) -> ExitCode {
    list_or_check(options, true)
}

fn print_customers(lines: &[CustomerLine], json: bool) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let text = if json { serde_json::to_string(line).unwrap_or_default() } else { line.text.clone() };
        // A closed stdout (e.g. `| head`) is not worth an error.
        let _ignored = writeln!(out, "{text}");
    }
}

/// `customers list --headless`: signs the partner in and prints a line per customer. Exit 0 when the list was
/// read, 1 when the sign-in or the read failed (its line says why), 2 when the command line names something it
/// cannot use (nothing started).
pub fn list(options: HeadlessOptions) -> ExitCode {
    list_or_check(options, false)
}

/// The list, and with `check_tenants` every customer's own tenant read too; the lines printed, and the exit code.
fn list_or_check(options: HeadlessOptions, check_tenants: bool) -> ExitCode {
    let doing = if check_tenants { "cannot check the customers" } else { "cannot list the customers" };
    let (checked, runtime) = match prepare(&options, doing) {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let json = options.json;
    match runtime.block_on(async move { read_board_and(checked, options, check_tenants).await }) {
        Ok(Ok(lines)) => {
            let all_read = lines.iter().all(|l| l.check_failed.is_none());
            print_customers(&lines, json);
            if all_read { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Ok(Err(stopped)) => {
            print_stopped(stopped, json);
            ExitCode::FAILURE
        }
        Err(e) => {
            crate::launch::report(doing, &e);
            ExitCode::from(2)
        }
    }
}

/// Says why the partner's board could not be read: the sign-in's line, or the read's failure explained.
fn print_stopped(stopped: Stopped, json: bool) {
    match stopped {
        Stopped::SignIn(line) => lines::print_lines(&[line], json),
        Stopped::Board(failure, vendor) => {
            let e = Catalogue::shipped().explain(&failure, &vendor);
            let text = if json {
                serde_json::json!({ "step": "customers", "status": "failed", "code": e.code, "summary": e.summary, "fix": e.fix })
                    .to_string()
            } else {
                let fixes: Vec<String> =
                    e.fix.iter().enumerate().map(|(i, f)| format!("\n    {}. {f}", i + 1)).collect();
                format!("[failed] Customers: {} ({}){}", e.summary, e.code, fixes.concat())
            };
            let _ignored = writeln!(std::io::stdout().lock(), "{text}");
        }
    }
}

/// Why the list stopped: the sign-in's line, or the board's read failure (with the vendor's name for its words).
enum Stopped {
    SignIn(StepLine),
    Board(Failure, String),
}

/// Signs the partner in and reads the board, then (with `check_tenants`) every customer where the user has roles
/// read in its own tenant: the customers' lines, or why not.
async fn read_board_and(
    checked: Checked,
    options: HeadlessOptions,
    check_tenants: bool,
) -> Result<Result<Vec<CustomerLine>, Stopped>, SetupError> {
    let (mut connected, mut driver) = match signed_in_partner(checked, &options).await? {
        Ok(partner) => partner,
        Err(stopped) => return Ok(Err(stopped)),
    };
    let lines = board_lines(&mut connected, &mut driver, check_tenants).await;
    connected.shell.flush_state_files().await;
    Ok(lines)
}

/// The partner signed in to its own tenant (the browser, or the way the options say), with its board being read;
/// or the sign-in's line.
async fn signed_in_partner(
    checked: Checked,
    options: &HeadlessOptions,
) -> Result<Result<(Connected, Driver), Stopped>, SetupError> {
    let mut connected = connect(checked, options, |_| ()).await?;
    let settings = session::settings(&connected.profile, &connected.env, connected.launch.tenant.as_deref());
    let mut driver = Driver::new(Wizard::new(settings));
    let vendor = connected.profile.vendor_name.clone();
    driver.dispatch(&connected.shell, Intent::CustomersOfAPartner);
    let switched = steps::sign_in(&mut driver, &mut connected.shell, options).await;
    if !matches!(driver.wizard.sign_in(), SignIn::Done(_)) {
        return Ok(Err(Stopped::SignIn(lines::sign_in_line(&driver.wizard, switched.as_ref(), &vendor))));
    }
    Ok(Ok((connected, driver)))
}

/// The board once read (and with `check_tenants`, every customer where the user has roles checked in its own
/// tenant): a line per customer, or why it could not be read.
async fn board_lines(
    connected: &mut Connected,
    driver: &mut Driver,
    check_tenants: bool,
) -> Result<Vec<CustomerLine>, Stopped> {
    let shell = &mut connected.shell;
    let vendor = connected.profile.vendor_name.clone();
    steps::wait_until(driver, shell, |w| !matches!(w.board(), Board::Loading { .. })).await;
    if check_tenants && matches!(driver.wizard.board(), Board::Loaded { .. }) {
        driver.dispatch(shell, Intent::CheckCustomersTenants);
        steps::wait_until(driver, shell, |w| w.customer_checks().running.is_none()).await;
    }
    let checks = driver.wizard.customer_checks();
    match driver.wizard.board() {
        Board::Loaded { data } => Ok(crate::wizard::board::rows(data)
            .iter()
            .map(|r| CustomerLine::of(r, checks.by_tenant.get(&r.tenant_id), &vendor))
            .collect()),
        Board::Failed { failure, .. } => Err(Stopped::Board(failure.clone(), vendor)),
        other => Err(Stopped::Board(
            Failure::Parse { what: "the partner's board".into(), excerpt: format!("it did not load ({other:?})") },
            vendor,
        )),
    }
}

/// Which customers `customers setup` sets up.
#[derive(Debug, Clone)]
pub enum Targets {
    /// These tenants (ids or verified domains).
    Tenants(Vec<String>),
    /// Every customer whose next action, once its tenant is checked, is the setup (the board read and checked
    /// first, signed in to the partner's tenant).
    AllReady,
}

/// `customers setup --headless`: the partner signs in once (its own tenant, the browser), then the five steps run
/// in each customer's own tenant, one customer after another, each signed in there by the partner's sign-in
/// without the browser (GDAP; the browser only where that is refused); each step line carries the customer's
/// `tenant_id`. Exit 0 only when every step of every customer succeeded (a policy still reaching users counts), 1
/// otherwise, 2 when the command line names something it cannot use (nothing started).
pub fn setup(options: HeadlessOptions, targets: Targets) -> ExitCode {
    let (checked, runtime) = match prepare(&options, "cannot set the customers up") {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let json = options.json;
    let result = runtime.block_on(set_up_each(checked, options, targets));
    match result {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => ExitCode::FAILURE,
        Ok(Err(stopped)) => {
            print_stopped(stopped, json);
            ExitCode::FAILURE
        }
        Err(e) => {
            crate::launch::report("cannot set the customers up", &e);
            ExitCode::from(2)
        }
    }
}

/// [`setup`]'s work: whether every step of every customer succeeded, or why the partner's side stopped.
async fn set_up_each(
    checked: Checked,
    options: HeadlessOptions,
    targets: Targets,
) -> Result<Result<bool, Stopped>, SetupError> {
    let json = options.json;
    let mut partner = signed_in_partner(checked, &options).await?;
    let Some((connected, driver)) = partner.as_mut().ok() else {
        return Ok(Err(partner.err().unwrap_or_else(|| unreachable!())));
    };
    let tenants = match targets {
        Targets::Tenants(tenants) => tenants,
        // Checked in their tenants first: onboarded ones, blocked ones and those needing their admin's consent
        // are left out.
        Targets::AllReady => match board_lines(connected, driver, true).await {
            Ok(lines) => lines.into_iter().filter(|l| l.next_action == "set_up").map(|l| l.tenant_id).collect(),
            Err(stopped) => return Ok(Err(stopped)),
        },
    };
    let one = HeadlessOptions { saved_sign_in: true, ..options.clone() };
    let mut all_done = true;
    for tenant in tenants {
        let (mut shell, env) = connected.sibling_for(&tenant, &one)?;
        let mut settings = crate::session::settings(&connected.profile, &env, Some(&tenant));
        settings.timing.settle_patience = one.grant_wait;
        let mut customer = Driver::new(Wizard::new(settings));
        let lines = steps::run_steps_with_visits(&mut customer, &mut shell, &one, &connected.profile.vendor_name).await;
        shell.flush_state_files().await;
        all_done &= !lines.is_empty() && lines.iter().all(|l| l.status == "done" || l.status == "pending");
        print_for(&tenant, &lines, json);
    }
    connected.shell.flush_state_files().await;
    Ok(Ok(all_done))
}

/// One customer's step lines: JSON objects with the customer's `tenant_id`, or the lines under its heading.
fn print_for(tenant: &str, lines: &[StepLine], json: bool) {
    if json {
        let mut out = std::io::stdout().lock();
        for line in lines {
            let mut object = serde_json::Map::from_iter([("tenant_id".to_owned(), tenant.into())]);
            if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(line) {
                object.extend(fields);
            }
            // A closed stdout (e.g. `| head`) is not worth an error.
            let _ignored = writeln!(out, "{}", serde_json::Value::Object(object));
        }
    } else {
        let _ignored = writeln!(std::io::stdout().lock(), "Customer {tenant}:");
        lines::print_lines(lines, false);
    }
}
