//! Support in the window: "Export diagnostics…" (with "Hide customer details"), opening a bundle to replay it,
//! and, while replaying, the admin's session beside the wizard.

use egui::{RichText, Ui};

use super::WizardApp;
use super::views::Asks;
use crate::diagnostics::journal::What;
use crate::wizard::StepStatus;

/// The export controls in the status line.
pub(super) fn export_ui(ui: &mut Ui, app: &mut WizardApp, asks: &mut Asks) {
    if app.wizard().is_none() {
        return;
    }
    ui.separator();
    ui.checkbox(&mut app.hide_customer_details, "Hide customer details")
        .on_hover_text("Tenant ids and GUIDs cut to their last segment; names, accounts and domains masked");
    if ui.button("Export diagnostics…").on_hover_text("A report for support, saved to your Downloads folder").clicked()
    {
        asks.export = true;
    }
}

/// Welcome: open a bundle by path (or by dropping it on the window).
pub(super) fn open_bundle_ui(ui: &mut Ui, app: &mut WizardApp, asks: &mut Asks) {
    egui::CollapsingHeader::new("Open a diagnostics bundle…").id_salt("open-bundle").show(ui, |ui| {
        ui.label("Support: replay what an admin saw. Paste the bundle's path, or drop the file on this window.");
        ui.horizontal(|ui| {
            let name = ui.label("Bundle:");
            ui.add(
                egui::TextEdit::singleline(&mut app.bundle_path)
                    .hint_text("path to the bundle (.json)")
                    .desired_width(360.0),
            )
            .labelled_by(name.id);
            let ready = !app.bundle_path.trim().is_empty();
            if ui.add_enabled(ready, egui::Button::new("Open")).clicked() {
                asks.open_bundle = Some(app.bundle_path.trim().into());
            }
        });
        if let Some(problem) = &app.bundle_problem {
            ui.label(RichText::new(problem).color(ui.visuals().error_fg_color));
        }
    });
}

/// While replaying: the admin's session, beside the wizard.
pub(super) fn session_ui(ui: &mut Ui, app: &WizardApp) {
    let Some(r) = app.launch.reproduction.as_deref() else {
        return;
    };
    let (bundle, reproduction) = (&r.0, &r.1);
    ui.heading("The admin's session");
    let env = &bundle.environment;
    ui.label(format!("Setup tool {} on {} · cloud {}", env.app_version, env.os, env.cloud));
    if let Some(a) = &bundle.account {
        let roles = a.roles.as_ref().map_or_else(
            || "roles unknown".to_owned(),
            |r| if r.is_empty() { "no admin role".to_owned() } else { r.join(", ") },
        );
        ui.label(format!("{} ({roles})", a.upn));
    }
    ui.add_space(4.0);
    ui.label(RichText::new("Where it stopped").strong());
    egui::Grid::new("bundle-steps").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
        for s in bundle.steps.iter().filter(|s| s.status != StepStatus::NotStarted) {
            ui.label(s.step.title());
            let text = match (&s.code, &s.summary) {
                // A step that ended well may have met a failure on the way (a Conditional Access block before the
                // device code sign-in); it is shown as history, not as the outcome.
                (Some(code), Some(summary)) if s.status == StepStatus::Done => {
                    format!("done, after: {summary} ({code})")
                }
                (Some(code), Some(summary)) => format!("{}: {summary} ({code})", s.status.label()),
                _ => s.status.label().to_owned(),
            };
            let rich = RichText::new(text);
            ui.add(
                egui::Label::new(if s.status == StepStatus::NeedsAttention {
                    rich.color(ui.visuals().error_fg_color)
                } else {
                    rich
                })
                .wrap(),
            );
            ui.end_row();
        }
    });
    ui.add_space(4.0);
    egui::CollapsingHeader::new("How the simulated tenant was set up").default_open(true).show(ui, |ui| {
        for note in &reproduction.notes {
            ui.add(egui::Label::new(format!("• {note}")).wrap());
        }
    });
    egui::CollapsingHeader::new(format!("Timeline ({} events)", bundle.timeline.len())).default_open(true).show(
        ui,
        |ui| {
            egui::ScrollArea::vertical().id_salt("bundle-timeline").max_height(320.0).show_rows(
                ui,
                18.0,
                bundle.timeline.len(),
                |ui, range| {
                    for entry in &bundle.timeline[range] {
                        let what = match &entry.what {
                            What::Http(h) => format!(
                                "{} {} -> {}",
                                h.method,
                                url::Url::parse(&h.url).map(|u| u.path().to_owned()).unwrap_or_default(),
                                h.status.map_or_else(|| h.transport.clone().unwrap_or_default(), |s| s.to_string())
                            ),
                            What::Step { step, status } => format!("{}: {}", step.title(), status.label()),
                            What::Failure { step, code, .. } => format!("{} failed: {code}", step.title()),
                            What::Intent { intent } => format!("pressed {intent}"),
                        };
                        ui.label(
                            RichText::new(format!("{:>6.1}s  {what}", entry.at_ms as f64 / 1000.0)).monospace().small(),
                        );
                    }
                },
            );
        },
    );
}
