//! Views: `*_ui` functions that draw the app's state and collect the person's intents. They never start work; the
//! window applies the collected intents after drawing.

use egui::{RichText, Ui};

use super::{DemoTenant, WizardApp};
use crate::auth::vault::Durability;
use crate::diagnostics::{Catalogue, Explanation};
use crate::launch::{DemoReason, Mode};
use crate::profile::Cloud;
use crate::wizard::board::WayIn;
use crate::wizard::{Account, BrowserLaunch, Failure, Intent, Roles, StepId, StepStatus, Wizard};

/// What the person asked for while the frame was drawn.
#[derive(Debug, Default)]
pub(super) struct Asks {
    pub intents: Vec<Intent>,
    pub copy: Option<String>,
    /// Avatars of rows on screen that are not loaded yet.
    pub avatars: Vec<String>,
    /// A file to save: name and contents.
    pub save: Option<(String, String)>,
    /// "Export diagnostics…" was pressed.
    pub export: bool,
    /// A diagnostics bundle to open and replay.
    pub open_bundle: Option<std::path::PathBuf>,
    /// A script to save and start in PowerShell: name and contents.
    pub run_script: Option<(String, String)>,
    /// Given to the page, not asked by it: whether "Run in PowerShell" can be offered, and what the last one did.
    pub console: ConsoleOffer,
    pub script_started: Option<Result<std::path::PathBuf, String>>,
    /// Set a customer of the partner's board up (its tenant id and name), or go back to the board.
    pub session: Option<SessionAsk>,
}

/// Moving between the partner's board and a customer's setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SessionAsk {
    SetUpCustomer { tenant_id: String, name: String },
    BackToCustomers,
}

/// Whether a script can be run in PowerShell from the window.
#[derive(Debug, Clone, Default)]
pub(super) enum ConsoleOffer {
    /// Not looked for yet, or not found: no button.
    #[default]
    None,
    /// Demo mode: the scripts act on a real tenant, so the button is shown but not offered.
    Demo,
    Ready(crate::shell::console::Console),
}

/// The whole window.
pub fn window_ui(ui: &mut Ui, app: &mut WizardApp) {
    let mut asks = Asks {
        console: match (&app.launch.mode, &app.console) {
            (Mode::Demo { .. }, _) => ConsoleOffer::Demo,
            (Mode::Live, Some(console)) => ConsoleOffer::Ready(console.clone()),
            (Mode::Live, None) => ConsoleOffer::None,
        },
        script_started: app.script_started.clone(),
        ..Asks::default()
    };
    app.preview_state.avatars.upload(ui.ctx());
    egui::Panel::top("header").show(ui, |ui| header_ui(ui, app, &mut asks));
    egui::Panel::bottom("status").show(ui, |ui| status_line_ui(ui, app, &mut asks));
    egui::Panel::bottom("footer").show(ui, |ui| super::footer::footer_ui(ui, app, &mut asks));
    if app.launch.reproduction.is_some() {
        egui::Panel::right("admin-session").resizable(true).default_size(320.0).show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("admin-session-scroll")
                .show(ui, |ui| super::support_view::session_ui(ui, app));
        });
    }
    egui::Panel::left("steps").resizable(false).default_size(200.0).show(ui, |ui| step_list_ui(ui, app, &mut asks));
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().auto_shrink(false).show(ui, |ui| {
            ui.add_space(8.0);
            page_ui(ui, app, &mut asks);
            scroll_to_keyboard_focus(ui);
        });
    });
    if let Some(text) = asks.copy {
        ui.ctx().copy_text(text.clone());
        app.copied = Some(text);
    }
    match asks.session.take() {
        Some(SessionAsk::SetUpCustomer { tenant_id, name }) => app.set_up_customer(tenant_id, name),
        Some(SessionAsk::BackToCustomers) => app.back_to_customers(),
        None => {}
    }
    for intent in asks.intents {
        app.dispatch(intent);
    }
    if !asks.avatars.is_empty() {
        app.fetch_avatars(asks.avatars);
    }
    if let Some((name, text)) = asks.save {
        app.save_file(name, text);
    }
    if let (Some((name, text)), ConsoleOffer::Ready(console)) = (asks.run_script, asks.console) {
        app.run_script(console, name, text);
    }
    if asks.export {
        app.export_diagnostics();
    }
    let dropped: Vec<std::path::PathBuf> =
        ui.ctx().input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
    if let Some(path) = asks.open_bundle.or_else(|| dropped.into_iter().next()) {
        app.open_bundle(&path);
    }
}

/// When Tab moves the keyboard focus to a control of the page that is scrolled out of view, scroll it into view
/// (egui does not by itself): someone without a mouse must see what Enter will press. Call inside the page's
/// scroll area, after the page.
fn scroll_to_keyboard_focus(ui: &Ui) {
    if let Some(focused) = ui.memory(egui::Memory::focused)
        && let Some(response) = ui.ctx().read_response(focused)
        && response.gained_focus()
        && ui.min_rect().contains_rect(response.rect)
    {
        response.scroll_to_me_animation(None, egui::style::ScrollAnimation::none());
    }
}

/// The window shown instead of the wizard when the command line named something it cannot use. Returns whether
/// Close was clicked.
pub(super) fn refusal_ui(ui: &mut Ui, line: &str) -> bool {
    let mut close = false;
    egui::Frame::new().inner_margin(egui::Margin::same(16)).show(ui, |ui| {
        ui.heading(format!("{} cannot start", crate::PRODUCT_NAME));
        ui.add_space(8.0);
        ui.label(
            "Nothing was started and nothing was changed. Correct the command line (or the shortcut) and start again.",
        );
        ui.add_space(8.0);
        egui::ScrollArea::vertical().max_height((ui.available_height() - 48.0).max(60.0)).show(ui, |ui| {
            ui.label(RichText::new(line).color(ui.visuals().error_fg_color));
        });
        ui.add_space(12.0);
        close = ui.button("Close").clicked();
    });
    close
}

fn header_ui(ui: &mut Ui, app: &mut WizardApp, asks: &mut Asks) {
    ui.add_space(6.0);
    let icon = app.header_icon.0.get_or_insert_with(|| super::header_icon(ui.ctx())).clone();
    ui.horizontal(|ui| {
        ui.add(egui::Image::new(&icon).fit_to_exact_size(egui::vec2(28.0, 28.0)));
        ui.heading(RichText::new(format!("Connect Microsoft 365 to {}", app.launch.profile.vendor_name)).strong());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(RichText::new(crate::PRODUCT_NAME).weak());
        });
    });
    // A customer's setup started from the partner's board: where it is, and the way back.
    if let Some(partner) = &app.partner {
        ui.horizontal_wrapped(|ui| {
            let back = if partner.partner_name.is_empty() {
                "Back to the customers".to_owned()
            } else {
                format!("Back to {}'s customers", partner.partner_name)
            };
            if ui.button(back).clicked() {
                asks.session = Some(SessionAsk::BackToCustomers);
            }
            ui.label(format!("Setting up {} ({}) with your partner account", partner.customer.1, partner.customer.0));
        });
    }
    if let Mode::Demo { reason, scenario } = &app.launch.mode {
        let title = format!(
            "Demo mode: a simulated tenant ({}), not Microsoft. Nothing here changes a real tenant.",
            scenario.tenant_name()
        );
        let details = |ui: &mut Ui| match reason {
            DemoReason::Requested => {
                ui.label("Demo mode was requested with --demo.");
            }
            DemoReason::ProfileIncomplete(gaps) => {
                ui.label(format!(
                    "Live mode needs these fields in the vendor profile ({}):",
                    app.launch.profile.source
                ));
                for (field, meaning) in gaps {
                    ui.label(format!("  • {field}: {meaning}"));
                }
            }
            DemoReason::Reproduce { path } => {
                ui.label(format!(
                    "Replaying the diagnostics bundle {}: the simulated tenant answers as the admin's tenant did. The admin's session is on the right.",
                    path.display()
                ));
            }
        };
        // In full on the first page; one line (which opens) once the setup is under way.
        if app.page() == StepId::Welcome {
            egui::Frame::group(ui.style()).fill(ui.visuals().extreme_bg_color).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Demo mode").strong().color(ui.visuals().warn_fg_color));
                ui.label(format!(
                    "You are connected to a simulated tenant ({}), not to Microsoft. Nothing you do here changes a real tenant.",
                    scenario.tenant_name()
                ));
                details(ui);
            });
        } else {
            egui::CollapsingHeader::new(RichText::new(title).color(ui.visuals().warn_fg_color))
                .id_salt("demo-banner")
                .default_open(false)
                .show(ui, details);
        }
    }
    ui.add_space(4.0);
}

/// Paints the step's status marker (shapes, not glyphs, so it does not depend on the font).
pub(super) fn status_marker_ui(ui: &mut Ui, status: StepStatus) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
    let painter = ui.painter();
    let visuals = ui.visuals();
    let c = rect.center();
    let r = 6.0;
    match status {
        StepStatus::NotStarted => {
            painter.circle_stroke(c, r, egui::Stroke::new(1.5, visuals.weak_text_color()));
        }
        StepStatus::Running => {
            painter.circle_stroke(c, r, egui::Stroke::new(1.5, visuals.selection.bg_fill));
            painter.circle_filled(c, r - 3.0, visuals.selection.bg_fill);
        }
        StepStatus::Done => {
            painter.circle_filled(c, r, visuals.selection.bg_fill);
            let tick = vec![c + egui::vec2(-3.0, 0.0), c + egui::vec2(-1.0, 2.5), c + egui::vec2(3.0, -2.5)];
            painter.line(tick, egui::Stroke::new(1.5, visuals.selection.stroke.color));
        }
        StepStatus::NeedsAttention => {
            painter.circle_filled(c, r, visuals.warn_fg_color);
            let bg = visuals.extreme_bg_color;
            painter.line_segment([c + egui::vec2(0.0, -3.5), c + egui::vec2(0.0, 1.0)], egui::Stroke::new(1.5, bg));
            painter.circle_filled(c + egui::vec2(0.0, 3.0), 0.9, bg);
        }
        StepStatus::Skipped => {
            let ink = visuals.strong_text_color();
            painter.line_segment([c + egui::vec2(-4.0, 0.0), c + egui::vec2(4.0, 0.0)], egui::Stroke::new(1.5, ink));
        }
        StepStatus::Pending => {
            // A clock: done on the tenant, taking effect over time.
            let ink = visuals.selection.bg_fill;
            painter.circle_stroke(c, r, egui::Stroke::new(1.5, ink));
            painter.line_segment([c, c + egui::vec2(0.0, -3.5)], egui::Stroke::new(1.5, ink));
            painter.line_segment([c, c + egui::vec2(2.8, 0.0)], egui::Stroke::new(1.5, ink));
        }
    }
}

fn step_list_ui(ui: &mut Ui, app: &WizardApp, asks: &mut Asks) {
    ui.add_space(8.0);
    if let Some(w) = app.wizard().filter(|w| w.way() == WayIn::Partner) {
        partner_steps_ui(ui, w);
        return;
    }
    let page = app.page();
    for step in StepId::ALL {
        let status = app.step_status(step);
        let reachable = app.wizard().is_some_and(|w| w.can_show(step));
        ui.horizontal(|ui| {
            status_marker_ui(ui, status);
            let text = RichText::new(step.title());
            let text = if step == page { text.strong() } else { text };
            let response = ui
                .add_enabled(reachable, egui::Button::selectable(step == page, text).frame_when_inactive(false))
                .on_hover_text(status.label())
                .on_disabled_hover_text(status.label());
            if response.clicked() {
                asks.intents.push(Intent::ShowStep(step));
            }
        });
        ui.add_space(2.0);
    }
}

/// The partner's way in the side list: Welcome, the sign-in to the partner tenant, the customers.
fn partner_steps_ui(ui: &mut Ui, w: &Wizard) {
    let board = match w.board() {
        crate::wizard::board::Board::Closed => StepStatus::NotStarted,
        crate::wizard::board::Board::Loading { .. } => StepStatus::Running,
        crate::wizard::board::Board::Loaded { .. } => StepStatus::Done,
        crate::wizard::board::Board::Failed { .. } => StepStatus::NeedsAttention,
    };
    let signed_in = matches!(w.sign_in(), crate::wizard::SignIn::Done(_));
    for (title, status, current) in [
        ("Welcome", StepStatus::Done, false),
        ("Partner sign-in", w.status(StepId::SignIn), !signed_in),
        ("Customers", board, signed_in),
    ] {
        ui.horizontal(|ui| {
            status_marker_ui(ui, status);
            let text = RichText::new(title);
            ui.label(if current { text.strong() } else { text }).on_hover_text(status.label());
        });
        ui.add_space(2.0);
    }
}

fn status_line_ui(ui: &mut Ui, app: &mut WizardApp, asks: &mut Asks) {
    ui.horizontal_wrapped(|ui| {
        super::support_view::export_ui(ui, app, asks);
        let text = match &app.demo {
            DemoTenant::NotNeeded => format!("Live mode · {} cloud", cloud_name(app.launch.profile.cloud)),
            DemoTenant::Starting => "Starting the demo tenant…".to_owned(),
            DemoTenant::Ready(tenant) => format!("Demo tenant ready at {}", tenant.login_url()),
            DemoTenant::Failed(_) => "The demo tenant could not start".to_owned(),
        };
        if matches!(app.demo, DemoTenant::Starting) {
            ui.spinner();
        }
        ui.label(text);
        match &app.storage {
            Some(Durability::MemoryOnly { why }) => {
                ui.separator();
                ui.label(RichText::new("Sign-in kept in memory only").color(ui.visuals().warn_fg_color))
                    .on_hover_text(format!("You will need to sign in again next time: {why}."));
            }
            Some(Durability::Keychain { .. }) => {
                ui.separator();
                ui.label("Sign-in saved in this computer's keychain");
            }
            None => {}
        }
        if let Some(p) = app.wizard().map(Wizard::preview).filter(|p| p.is_loading()) {
            ui.separator();
            ui.spinner();
            ui.label(match p.total {
                Some(t) => format!("Reading the directory: {} of {t} users", p.users.len()),
                None => format!("Reading the directory: {} users", p.users.len()),
            });
        }
        match &app.saved {
            Some(Ok(path)) => {
                ui.separator();
                ui.label(format!("Saved {}", path.display()));
            }
            Some(Err(why)) => {
                ui.separator();
                ui.label(RichText::new(format!("Could not save: {why}")).color(ui.visuals().error_fg_color));
            }
            None => {}
        }
        if let Some(copied) = &app.copied {
            ui.separator();
            let shown: String = copied.chars().take(40).collect();
            ui.label(format!("Copied: {shown}{}", if copied.chars().count() > 40 { "…" } else { "" }));
        }
    });
}

fn cloud_name(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Public => "Microsoft 365 commercial",
        Cloud::Gcc => "GCC",
        Cloud::GccHigh => "GCC High",
        Cloud::Dod => "DoD",
        Cloud::China => "Microsoft 365 operated by 21Vianet",
    }
}

fn page_ui(ui: &mut Ui, app: &mut WizardApp, asks: &mut Asks) {
    if let Some(problem) = &app.setup_problem {
        ui.label(RichText::new(format!("The setup tool cannot start: {problem}")).color(ui.visuals().error_fg_color));
        return;
    }
    let now = app.shell.clock().now();
    let page = app.page();
    if let Some(notice) = &app.progress_notice
        && page <= StepId::SignIn
    {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Saved progress set aside").strong().color(ui.visuals().warn_fg_color));
            ui.label(notice.as_str());
        });
        ui.add_space(6.0);
    }
    if page == StepId::Welcome || app.driver.is_none() {
        welcome_ui(ui, app, asks);
        return;
    }
    // The partner's way: the sign-in, then the board.
    if let Some(w) = app.driver.as_ref().map(|d| &d.wizard).filter(|w| w.way() == WayIn::Partner) {
        if matches!(w.sign_in(), crate::wizard::SignIn::Done(_)) {
            let now_unix = app.shell.clock().unix_seconds();
            super::board_view::board_ui(ui, w, now_unix, &mut app.board_view, asks);
        } else {
            super::sign_in_view::sign_in_ui(ui, w, now, asks);
        }
        return;
    }
    match (app.driver.as_ref().map(|d| &d.wizard), page) {
        (Some(w), StepId::SignIn) => super::sign_in_view::sign_in_ui(ui, w, now, asks),
        (Some(w), StepId::AdminConsent) => super::consent_view::consent_ui(ui, w, now, asks),
        (Some(w), StepId::VerifyPermissions) => {
            super::verify_view::verify_ui(ui, w, now, &mut app.preview_state, asks);
        }
        (Some(w), StepId::TeamsApp) => super::teams_view::teams_ui(ui, w, now, asks),
        (Some(w), StepId::GlobalPolicy) => super::teams_view::policy_ui(ui, w, now, asks),
        (Some(w), StepId::Done) => super::teams_view::done_ui(ui, w, now, asks),
        _ => {}
    }
}

fn welcome_ui(ui: &mut Ui, app: &mut WizardApp, asks: &mut Asks) {
    let vendor = &app.launch.profile.vendor_name;
    ui.heading("Welcome");
    ways_in_ui(ui, app, asks);
    ui.add_space(8.0);
    ui.label(format!("This wizard connects your organization's Microsoft 365 tenant to {vendor}. It will:"));
    let teams_app = &app.launch.profile.teams_app.display_name;
    for (i, line) in [
        "Sign you in with your Microsoft work account, in your browser".to_owned(),
        format!("Ask you to grant {vendor} the permissions it needs, for your whole organization"),
        "Check that every permission is really granted, and show a preview of the data that will sync".to_owned(),
        format!("Install the {teams_app} Teams app for you, and for everyone if you choose"),
        format!("Make {teams_app} available, installed and pinned for everyone in Teams, and check who has it"),
    ]
    .iter()
    .enumerate()
    {
        ui.label(format!("{}. {line}", i + 1));
    }
    ui.add_space(10.0);
    ui.label(RichText::new("Before you start").strong());
    ui.label("• To grant consent: a Global Administrator or Privileged Role Administrator account. A Cloud Application Administrator cannot grant Microsoft Graph application permissions.");
    ui.label("• For the Teams steps: a Global Administrator or Teams Administrator account.");
    ui.label("• About ten minutes. Each change to your tenant is described before it is made.");
    ui.add_space(10.0);
    ui.label(RichText::new("What will be requested").strong());
    permissions_ui(
        ui,
        &app.launch
            .profile
            .permissions
            .iter()
            .map(|p| (p.name.clone(), kind_name(p.kind), p.reason.clone()))
            .collect::<Vec<_>>(),
    );
    ui.add_space(6.0);
    ui.label(RichText::new("What this setup tool asks for itself, when you sign in").strong());
    ui.label(
        "As an admin you can approve these for your organization on the same Microsoft page, so no step asks again. \
         They act only as you, while the setup runs; declining them is fine: each step then asks when it needs them.",
    );
    let tool: Vec<(String, String, String)> = crate::present::setup_tool_permissions(vendor, teams_app)
        .into_iter()
        .map(|p| (p.name.to_owned(), "delegated".to_owned(), format!("{}: {}", p.step.title(), p.why)))
        .collect();
    egui::CollapsingHeader::new(format!("{} permissions of the setup tool", tool.len()))
        .id_salt("tool-permissions")
        .show(ui, |ui| permissions_ui(ui, &tool));
    ui.add_space(10.0);
    demo_accounts_ui(ui, app);
    ui.add_space(6.0);
    super::support_view::open_bundle_ui(ui, app, asks);
}

/// The two ways in: one organization (the steps below, Start), or a partner's customers (GDAP).
fn ways_in_ui(ui: &mut Ui, app: &WizardApp, asks: &mut Asks) {
    let vendor = &app.launch.profile.vendor_name;
    ui.columns(2, |cols| {
        egui::Frame::group(cols[0].style()).show(&mut cols[0], |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("One organization").strong());
            ui.label("Connect the tenant you sign in to, step by step. Press Start below.");
        });
        egui::Frame::group(cols[1].style()).show(&mut cols[1], |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Customers of a partner (GDAP)").strong());
            ui.label(format!(
                "For MSPs: sign in to your partner tenant and see every customer's GDAP relationship, your roles there \
                 and what to do next before connecting it to {vendor}."
            ));
            let ready = app.wizard().is_some();
            if ui
                .add_enabled(ready, egui::Button::new("Customers of a partner…"))
                .on_disabled_hover_text("Waiting for the demo tenant")
                .clicked()
            {
                asks.intents.push(Intent::CustomersOfAPartner);
            }
        });
    });
}

fn kind_name(kind: crate::profile::PermissionKind) -> String {
    match kind {
        crate::profile::PermissionKind::Delegated => "delegated".to_owned(),
        crate::profile::PermissionKind::Application => "application".to_owned(),
    }
}

pub(super) fn permissions_ui(ui: &mut Ui, permissions: &[(String, String, String)]) {
    for (name, kind, reason) in permissions {
        ui.label(RichText::new(format!("{name} ({kind})")).monospace());
        ui.indent(("reason", name), |ui| {
            ui.add(egui::Label::new(reason).wrap());
        });
        ui.add_space(2.0);
    }
}

fn demo_accounts_ui(ui: &mut Ui, app: &WizardApp) {
    let Mode::Demo { scenario, .. } = &app.launch.mode else {
        return;
    };
    ui.label(RichText::new("Demo accounts").strong());
    ui.label(format!("Scenario '{}': {}", scenario.name(), scenario.summary()));
    match &app.demo {
        DemoTenant::Starting => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Starting the demo tenant…");
            });
        }
        DemoTenant::Failed(problem) => {
            ui.label(
                RichText::new(format!("The demo tenant could not start: {problem}")).color(ui.visuals().error_fg_color),
            );
        }
        DemoTenant::NotNeeded => {}
        DemoTenant::Ready(tenant) => {
            match (app.launch.reproduction.as_deref(), &app.launch.demo_account) {
                (Some(r), _) => ui.label(format!(
                    "Replaying a bundle: the simulated sign-in page signs in as {} by itself (the admin's roles).",
                    r.1.account
                )),
                (None, Some(upn)) => ui.label(format!("The simulated sign-in page signs in as {upn} by itself (--as).")),
                (None, None) => ui.label(
                    "Pick any of these accounts on the simulated sign-in page to try each outcome; no password is needed.",
                ),
            };
            egui::Grid::new("accounts").num_columns(3).spacing([16.0, 6.0]).striped(true).show(ui, |ui| {
                for a in &tenant.accounts() {
                    ui.label(&a.display_name);
                    ui.label(RichText::new(&a.upn).monospace());
                    let roles = if a.roles.is_empty() { "No admin role".to_owned() } else { a.roles.join(", ") };
                    ui.add(egui::Label::new(a.note.clone().unwrap_or(roles)).wrap());
                    ui.end_row();
                }
            });
        }
    }
}

/// A URL the person may need to copy (locked-down machines, another browser).
pub(super) fn link_ui(ui: &mut Ui, label: &str, url: &str, asks: &mut Asks) {
    ui.horizontal_wrapped(|ui| {
        ui.label(label);
        if ui.button("Copy link").clicked() {
            asks.copy = Some(url.to_owned());
        }
    });
    ui.add(egui::Label::new(RichText::new(url).monospace()).wrap().selectable(true));
}

/// Waiting on the browser: what for, how long still, whether it opened, and the link to copy.
pub(super) fn browser_wait_ui(
    ui: &mut Ui,
    waiting_for: &str,
    left: std::time::Duration,
    launch: &BrowserLaunch,
    url: Option<&str>,
    link_label: &str,
    asks: &mut Asks,
) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(waiting_for);
    });
    ui.label(format!("This stops waiting in {}.", mm_ss(left)));
    if let BrowserLaunch::NotOpened { detail } = launch {
        ui.label(
            RichText::new(format!("The browser could not be opened ({detail}).")).color(ui.visuals().warn_fg_color),
        );
    }
    if let Some(url) = url {
        ui.add_space(6.0);
        link_ui(ui, link_label, url, asks);
    }
}

pub(super) fn mm_ss(d: std::time::Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}

pub(super) fn needs_an_admin(failure: &Failure) -> bool {
    matches!(failure.aadsts(), Some(90094 | 90093 | 90099 | 65001))
}

/// Who signed in, and where.
pub(super) fn account_ui(ui: &mut Ui, account: &Account) {
    egui::Grid::new("account").num_columns(2).spacing([12.0, 4.0]).show(ui, |ui| {
        ui.label("Name");
        ui.label(&account.display_name);
        ui.end_row();
        ui.label("Account");
        ui.label(RichText::new(&account.upn).monospace());
        ui.end_row();
        ui.label("Tenant");
        let tenant = match (&account.tenant_name, &account.tenant_domain) {
            (Some(n), Some(d)) => format!("{n} ({d})"),
            (Some(n), None) => n.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => "not readable".to_owned(),
        };
        ui.label(tenant);
        ui.end_row();
        ui.label("Tenant ID");
        ui.label(RichText::new(&account.tenant_id).monospace());
        ui.end_row();
        ui.label("Roles");
        match &account.roles {
            Roles::Known { names } if names.is_empty() => {
                ui.label("No admin role");
            }
            Roles::Known { names } => {
                ui.label(names.join(", "));
            }
            Roles::Unknown { why } => {
                ui.label(format!("Could not be read ({why})"));
            }
        }
        ui.end_row();
    });
}

/// The one shared inline error panel (docs/STYLE.md rule 10): what happened, what it means, who can fix it, how, the
/// documentation link, Retry and Copy details.
pub(super) fn explanation_ui(
    ui: &mut Ui,
    w: &Wizard,
    failure: &Failure,
    retry: Option<(&str, Intent)>,
    asks: &mut Asks,
) {
    let e = Catalogue::shipped().explain(failure, &w.settings().vendor_name);
    error_panel_ui(ui, &e, failure, retry, asks);
}

pub(super) fn error_panel_ui(
    ui: &mut Ui,
    e: &Explanation,
    failure: &Failure,
    retry: Option<(&str, Intent)>,
    asks: &mut Asks,
) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(&e.summary).strong().color(ui.visuals().error_fg_color));
        ui.add(egui::Label::new(&e.meaning).wrap());
        ui.add_space(4.0);
        ui.label(format!("Who can fix it: {}", e.who.label()));
        ui.label("How to fix it:");
        for (i, step) in e.fix.iter().enumerate() {
            ui.add(egui::Label::new(format!("{}. {step}", i + 1)).wrap());
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Code: {}", e.code)).monospace().small());
            if let Some(doc) = &e.doc_url {
                ui.hyperlink_to("Microsoft's documentation", doc);
            }
        });
        ui.horizontal(|ui| {
            if let Some((label, intent)) = retry
                && ui.button(label).clicked()
            {
                asks.intents.push(intent);
            }
            if ui.button("Copy details").clicked() {
                asks.copy = Some(details_text(e, failure));
            }
        });
    });
}

/// The text "Copy details" puts on the clipboard: the explanation, the ids support needs, and the failure's record
/// as the diagnostics bundle holds it, all through the one sanitizer (no secrets).
pub fn details_text(e: &Explanation, failure: &Failure) -> String {
    let r = crate::diagnostics::sanitize::Redactor::new(false);
    let mut text =
        format!("{}\nCode: {}\nWho can fix it: {}\n{}\n", e.summary, e.code, e.who.label(), r.text(&e.meaning));
    for (k, v) in &e.details {
        text.push_str(&format!("{k}: {}\n", r.text(v)));
    }
    if let Some(doc) = &e.doc_url {
        text.push_str(&format!("Documentation: {doc}\n"));
    }
    let record = crate::diagnostics::bundle::sanitize_failure(failure, &r);
    let json = serde_json::to_string_pretty(&record); // ui-thread: one failure's record, on a click, for the clipboard
    if let Ok(json) = json {
        text.push_str("Record:\n");
        text.push_str(&json);
        text.push('\n');
    }
    text
}

/// The page's Cancel: its button, or the Escape key (one Cancel is on screen at a time; the first to look takes the
/// key).
pub(super) fn cancel_button(ui: &mut egui::Ui) -> bool {
    let clicked = ui.button("Cancel").on_hover_text("Esc").clicked();
    clicked || ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape))
}
