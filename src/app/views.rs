//! Views: functions that draw the app's state into a `Ui`. They read state and, in later steps, emit intents;
//! they never start work themselves.

use egui::{RichText, Ui};

use super::{DemoReason, DemoTenant, Mode, WizardApp};
use crate::profile::Cloud;
use crate::wizard::{StepId, StepStatus};

/// The whole window.
pub fn window_ui(ui: &mut Ui, app: &mut WizardApp) {
    egui::Panel::top("header").show(ui, |ui| header_ui(ui, app));
    egui::Panel::bottom("status").show(ui, |ui| status_line_ui(ui, app));
    egui::Panel::left("steps").resizable(false).default_size(190.0).show(ui, |ui| step_list_ui(ui, app));
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().auto_shrink(false).show(ui, |ui| welcome_ui(ui, app));
    });
}

fn header_ui(ui: &mut Ui, app: &WizardApp) {
    ui.add_space(6.0);
    ui.heading(format!("Connect Microsoft 365 to {}", app.launch.profile.vendor_name));
    if let Mode::Demo { reason, scenario, scenario_problem } = &app.launch.mode {
        egui::Frame::group(ui.style()).fill(ui.visuals().extreme_bg_color).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Demo mode").strong().color(ui.visuals().warn_fg_color));
            ui.label(format!(
                "You are connected to a simulated tenant ({}), not to Microsoft. Nothing you do here changes a real tenant.",
                scenario.tenant.display_name
            ));
            match reason {
                DemoReason::Requested => {
                    ui.label("Demo mode was requested with --demo.");
                }
                DemoReason::ProfileIncomplete(gaps) => {
                    ui.label(format!("Live mode needs these fields in the vendor profile ({}):", app.launch.profile.source));
                    for (field, meaning) in gaps {
                        ui.label(format!("  • {field}: {meaning}"));
                    }
                }
                DemoReason::ProfileInvalid(problem) => {
                    ui.label(RichText::new(format!("The vendor profile could not be used: {problem}")).color(ui.visuals().error_fg_color));
                }
            }
            if let Some(problem) = scenario_problem {
                ui.label(RichText::new(problem).color(ui.visuals().error_fg_color));
            }
        });
    }
    ui.add_space(4.0);
}

/// Paints the step's status marker (shapes, not glyphs, so it does not depend on the font).
fn status_marker_ui(ui: &mut Ui, status: StepStatus) {
    let size = egui::vec2(14.0, 14.0);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter();
    let visuals = ui.visuals();
    let c = rect.center();
    let r = 6.0;
    let ink = visuals.strong_text_color();
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
            let tick = [c + egui::vec2(-3.0, 0.0), c + egui::vec2(-1.0, 2.5), c + egui::vec2(3.0, -2.5)];
            painter.line(tick.to_vec(), egui::Stroke::new(1.5, visuals.selection.stroke.color));
        }
        StepStatus::NeedsAttention => {
            painter.circle_filled(c, r, visuals.warn_fg_color);
            painter.line_segment(
                [c + egui::vec2(0.0, -3.5), c + egui::vec2(0.0, 1.0)],
                egui::Stroke::new(1.5, visuals.extreme_bg_color),
            );
            painter.circle_filled(c + egui::vec2(0.0, 3.0), 0.9, visuals.extreme_bg_color);
        }
        StepStatus::Skipped => {
            painter.line_segment([c + egui::vec2(-4.0, 0.0), c + egui::vec2(4.0, 0.0)], egui::Stroke::new(1.5, ink));
        }
    }
}

fn step_list_ui(ui: &mut Ui, app: &WizardApp) {
    ui.add_space(8.0);
    for step in StepId::ALL {
        let status = app.step_status(step);
        ui.horizontal(|ui| {
            status_marker_ui(ui, status);
            let text = RichText::new(step.title());
            let text = if step == app.current { text.strong() } else { text };
            ui.add(egui::Label::new(text).selectable(false)).on_hover_text(status.label());
        });
        ui.add_space(4.0);
    }
}

fn status_line_ui(ui: &mut Ui, app: &WizardApp) {
    ui.horizontal(|ui| {
        let text = match &app.demo {
            DemoTenant::NotNeeded => format!("Live mode · {} cloud", cloud_name(app.launch.profile.cloud)),
            DemoTenant::Starting => "Starting the demo tenant…".to_owned(),
            DemoTenant::Ready(sim) => format!("Demo tenant ready at {}", sim.info().login_url),
            DemoTenant::Failed(_) => "The demo tenant could not start".to_owned(),
        };
        if matches!(app.demo, DemoTenant::Starting) {
            ui.spinner();
        }
        ui.label(text);
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

fn welcome_ui(ui: &mut Ui, app: &WizardApp) {
    let vendor = &app.launch.profile.vendor_name;
    ui.add_space(8.0);
    ui.heading("Welcome");
    ui.label(format!("This wizard connects your organization's Microsoft 365 tenant to {vendor}. It will:"));
    let teams_app = &app.launch.profile.teams_app.display_name;
    for (i, line) in [
        "Sign you in with your Microsoft work account, in your browser".to_owned(),
        format!("Ask you to grant {vendor} the permissions it needs, for your whole organization"),
        "Check that every permission is really granted, and show a preview of the data that will sync".to_owned(),
        format!("Install the {teams_app} Teams app for you, and for everyone if you choose"),
        format!("Add {teams_app} to the Global app setup policy so current and future users get it"),
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
    for p in &app.launch.profile.permissions {
        let kind = match p.kind {
            crate::profile::PermissionKind::Delegated => "delegated",
            crate::profile::PermissionKind::Application => "application",
        };
        ui.label(RichText::new(format!("{} ({kind})", p.name)).monospace());
        ui.indent(("reason", &p.name), |ui| {
            ui.add(egui::Label::new(&p.reason).wrap());
        });
        ui.add_space(2.0);
    }
    ui.add_space(10.0);
    demo_accounts_ui(ui, app);
}

fn demo_accounts_ui(ui: &mut Ui, app: &WizardApp) {
    let Mode::Demo { scenario, .. } = &app.launch.mode else {
        return;
    };
    ui.label(RichText::new("Demo accounts").strong());
    ui.label(format!("Scenario '{}': {}", scenario.name, scenario.summary));
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
        DemoTenant::Ready(sim) => {
            ui.label("Sign in as any of these accounts to try each outcome; no password is needed.");
            egui::Grid::new("accounts").num_columns(3).spacing([16.0, 6.0]).striped(true).show(ui, |ui| {
                for a in &sim.info().accounts {
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
