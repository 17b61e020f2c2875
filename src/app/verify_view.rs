//! The verify page: the permission checklist, the prerequisites of the Teams steps, and the directory preview
//! (readiness summary with drill-down, search, and a virtualised table with lazily loaded avatars).

use egui::{Color32, RichText, Ui};

use super::preview_state::{AvatarSlot, PreviewState, initials};
use super::views::{Asks, explanation_ui};
use crate::present::Mark;
use crate::wizard::{Checklist, Failure, Gap, Load, LocalFailure, Moment, VerifyPhase, Wizard};

const ROW_HEIGHT: f32 = 34.0;
const AVATAR: f32 = 28.0;

pub(super) fn verify_ui(ui: &mut Ui, w: &Wizard, now: Moment, state: &mut PreviewState, asks: &mut Asks) {
    let vendor = &w.settings().vendor_name;
    let v = w.verify();
    ui.heading("Verify permissions");
    match &v.phase {
        VerifyPhase::Locked => {
            ui.label("Grant consent first.");
            return;
        }
        VerifyPhase::Checking { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading what your tenant granted…");
            });
        }
        VerifyPhase::NeedsReadAccess { failure, approval } => {
            let consent = failure.is_consent_required();
            if consent {
                // A normal step the first time, not an error: say what is read and why.
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.label(RichText::new("One more approval: let the setup tool read your tenant").strong());
                    ui.label(format!(
                        "To check each permission {vendor} was granted and preview the users it will sync, this setup tool (not {vendor}) needs read-only access:"
                    ));
                    let teams_app = &w.settings().teams_app_name;
                    for p in crate::present::setup_tool_permissions(vendor, teams_app)
                        .into_iter()
                        .filter(|p| p.step == crate::wizard::StepId::VerifyPermissions)
                    {
                        ui.label(format!("• {}: {}", p.name, p.why));
                    }
                    if let crate::wizard::UpFront::Declined { .. } = w.up_front() {
                        ui.label("You did not approve these when you signed in, so the setup tool asks now.");
                    }
                    ui.label(crate::present::approval_where(w.approvals_by_code()));
                });
            } else {
                ui.label("To read your tenant, the setup tool needs you to sign in again in the browser.");
                explanation_ui(ui, w, failure, None, asks);
            }
            ui.add_space(4.0);
            if approval.is_some() {
                super::sign_in_view::approval_wait_ui(ui, w, now, "Waiting for you in the browser…", asks);
            }
        }
        VerifyPhase::Failed { failure } => {
            explanation_ui(ui, w, failure, Some(("Retry", crate::wizard::Intent::RecheckPermissions)), asks);
        }
        VerifyPhase::Checked => {}
    }
    let Some(list) = &v.checklist else {
        return;
    };
    if let Some(s) = v.settling.filter(|_| !list.all_granted()) {
        ui.horizontal(|ui| {
            ui.spinner();
            let next =
                s.next_check.map_or_else(String::new, |t| format!(" Checking again in {} s.", now.until(t).as_secs()));
            ui.label(format!("Microsoft is still applying the consent; nothing needs to be redone.{next}"));
        });
    }
    ui.add_space(6.0);
    checklist_ui(ui, w, list, asks);
    if let Some(minutes) = v.gave_up_after_minutes.filter(|_| !list.all_granted()) {
        let names = list.missing().map(|p| p.name.clone()).collect();
        let failure = Failure::Local(LocalFailure::PermissionsStillMissing { minutes, names });
        explanation_ui(ui, w, &failure, Some(("Grant again…", crate::wizard::Intent::GrantAgain)), asks);
    }
    ui.add_space(10.0);
    prerequisites_ui(ui, w, list);
    if !matches!(w.preview().load, Load::NotStarted) {
        ui.add_space(12.0);
        ui.separator();
        preview_ui(ui, w, state, asks);
    }
}

/// A state mark painted as shapes (the default fonts have no check mark glyph), with its word for hover and
/// screen readers.
pub(super) fn mark(ui: &mut Ui, ok: Option<bool>, word: &str) {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(16.0, 16.0), egui::Sense::hover());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, word));
    let (c, r) = (rect.center(), 7.0);
    let painter = ui.painter();
    let white = egui::Stroke::new(1.8, Color32::WHITE);
    match ok {
        Some(true) => {
            painter.circle_filled(c, r, Color32::from_rgb(0x2e, 0xa0, 0x43));
            painter.line(vec![c + egui::vec2(-3.5, 0.0), c + egui::vec2(-1.0, 2.8), c + egui::vec2(3.5, -2.8)], white);
        }
        Some(false) => {
            painter.circle_filled(c, r, ui.visuals().error_fg_color);
            painter.line_segment([c + egui::vec2(-2.8, -2.8), c + egui::vec2(2.8, 2.8)], white);
            painter.line_segment([c + egui::vec2(-2.8, 2.8), c + egui::vec2(2.8, -2.8)], white);
        }
        None => {
            painter.circle_filled(c, r, ui.visuals().warn_fg_color);
            let bg = Color32::WHITE;
            painter.line_segment([c + egui::vec2(0.0, -4.0), c + egui::vec2(0.0, 1.2)], egui::Stroke::new(1.8, bg));
            painter.circle_filled(c + egui::vec2(0.0, 3.6), 1.0, bg);
        }
    }
    response.on_hover_text(word);
}

/// The presenter's mark as the view draws it.
fn ok_of(mark: Mark) -> Option<bool> {
    match mark {
        Mark::Ok => Some(true),
        Mark::Problem => Some(false),
        Mark::Unsure => None,
    }
}

fn checklist_ui(ui: &mut Ui, w: &Wizard, list: &Checklist, asks: &mut Asks) {
    // The same words as headless prints (`present::checklist`).
    let words = crate::present::checklist(list, &w.settings().vendor_name, w.settings().permissions.len());
    let headline = RichText::new(&words.headline).strong();
    ui.label(if words.headline_mark == Mark::Problem { headline.color(ui.visuals().error_fg_color) } else { headline });
    if let crate::wizard::Consent::Done { check: check @ crate::wizard::ConsentCheck::AlreadyThere, .. } = w.consent() {
        let text = crate::present::consent_done(&w.settings().vendor_name, check);
        ui.add(egui::Label::new(RichText::new(format!("{}: {}", text.headline, text.line)).weak()).wrap());
    }
    // One block per permission (name, type and state on a line, why underneath), so the list stays readable in a
    // narrow window or beside the admin's session when replaying a bundle.
    for (i, p) in words.permissions.iter().enumerate() {
        let ok = ok_of(p.mark);
        let fill = if i % 2 == 0 { ui.visuals().faint_bg_color } else { egui::Color32::TRANSPARENT };
        egui::Frame::new().fill(fill).inner_margin(egui::Margin::symmetric(6, 4)).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(|ui| {
                mark(ui, ok, p.state);
                let resource = list.permissions.get(i).map_or("", |c| c.resource_name.as_str());
                ui.label(RichText::new(&p.name).monospace()).on_hover_text(resource);
                ui.label(RichText::new(format!("({})", p.kind)).weak());
                let text = RichText::new(p.state).strong();
                ui.label(if ok == Some(false) { text.color(ui.visuals().error_fg_color) } else { text });
            });
            ui.indent(("why", i), |ui| ui.add(egui::Label::new(RichText::new(&p.why).weak()).wrap()));
        });
    }
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        // Missing permissions: Grant again is the footer's (or, once the re-checks gave up, the explanation's).
        // Granted before this run (its consent page skipped): offered here anyway.
        let earlier = matches!(
            w.consent(),
            crate::wizard::Consent::Done { check: crate::wizard::ConsentCheck::AlreadyThere, .. }
        );
        if list.all_granted()
            && earlier
            && ui.button("Grant again…").on_hover_text("Opens Microsoft's consent page again, then re-checks").clicked()
        {
            asks.intents.push(crate::wizard::Intent::GrantAgain);
        }
        let checking = matches!(w.verify().phase, VerifyPhase::Checking { .. });
        if ui.add_enabled(!checking, egui::Button::new("Check again")).clicked() {
            asks.intents.push(crate::wizard::Intent::RecheckPermissions);
        }
    });
}

fn prerequisites_ui(ui: &mut Ui, w: &Wizard, list: &Checklist) {
    let words = crate::present::checklist(list, &w.settings().vendor_name, w.settings().permissions.len());
    ui.label(RichText::new("Before the Teams steps").strong());
    egui::Grid::new("teams-prerequisites").num_columns(2).min_col_width(16.0).spacing([10.0, 6.0]).show(ui, |ui| {
        for row in &words.prerequisites {
            let word = match row.mark {
                Mark::Ok => "ready",
                Mark::Problem => "problem",
                Mark::Unsure => "unknown",
            };
            mark(ui, ok_of(row.mark), word);
            ui.add(egui::Label::new(&row.text).wrap());
            ui.end_row();
        }
    });
}

fn preview_ui(ui: &mut Ui, w: &Wizard, state: &mut PreviewState, asks: &mut Asks) {
    let vendor = &w.settings().vendor_name;
    let p = w.preview();
    ui.heading(format!("Preview: what {vendor} will sync"));
    ui.label(format!("Each user as {vendor} will read them: name, email, manager, job title, department and photo."));
    match &p.load {
        Load::Loading { .. } => {
            ui.horizontal(|ui| {
                let label = match p.total {
                    Some(t) => format!("Loaded {} of {t} users", p.users.len()),
                    None => format!("Loaded {} users…", p.users.len()),
                };
                let bar = egui::ProgressBar::new(p.progress().unwrap_or(0.0)).text(label).desired_width(320.0);
                ui.add(if p.progress().is_some() { bar } else { bar.animate(true) });
                if super::views::cancel_button(ui) {
                    asks.intents.push(crate::wizard::Intent::CancelPreview);
                }
            });
        }
        Load::Cancelled => {
            ui.horizontal(|ui| {
                ui.label(format!("Stopped after {} users.", p.users.len()));
                if ui.button("Load again").clicked() {
                    asks.intents.push(crate::wizard::Intent::ReloadPreview);
                }
            });
        }
        Load::Failed(f) => {
            ui.label(format!("Loading stopped after {} users:", p.users.len()));
            explanation_ui(ui, w, f, Some(("Load again", crate::wizard::Intent::ReloadPreview)), asks);
        }
        Load::Loaded | Load::NotStarted => {}
    }
    readiness_ui(ui, w, state);
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let name = ui.label("Search:");
        ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .hint_text("name, email, title or manager")
                .desired_width(260.0),
        )
        .labelled_by(name.id);
        if let Some(gap) = state.gap {
            ui.label(format!("Showing users {}", gap.label()));
            if ui.small_button("Show all").clicked() {
                state.gap = None;
            }
        }
    });
    table_ui(ui, w, state, asks);
}

fn readiness_ui(ui: &mut Ui, w: &Wizard, state: &mut PreviewState) {
    let p = w.preview();
    let r = &p.readiness;
    let finished = matches!(p.load, Load::Loaded);
    ui.add_space(4.0);
    ui.label(RichText::new(format!("{} users{}", r.users, if finished { "" } else { " so far" })).strong());
    egui::Grid::new("readiness").num_columns(3).min_col_width(16.0).spacing([10.0, 4.0]).show(ui, |ui| {
        for gap in Gap::ALL {
            let n = r.count(gap);
            mark(ui, if n == 0 { Some(true) } else { None }, if n == 0 { "none" } else { "some" });
            let text = format!("{n} {}", gap.label());
            let selected = state.gap == Some(gap);
            if ui
                .add_enabled(n > 0, egui::Button::selectable(selected, text))
                .on_hover_text("Show these users")
                .clicked()
            {
                state.gap = if selected { None } else { Some(gap) };
            }
            ui.label(RichText::new(gap.consequence()).weak());
            ui.end_row();
        }
    });
}

fn table_ui(ui: &mut Ui, w: &Wizard, state: &mut PreviewState, asks: &mut Asks) {
    let users = &w.preview().users;
    let rows = state.rows(users).to_vec();
    if rows.is_empty() {
        ui.label(if users.is_empty() { "No users loaded yet." } else { "No user matches." });
        return;
    }
    ui.label(RichText::new(format!("{} shown", rows.len())).weak());
    let widths = [AVATAR + 8.0, 180.0, 220.0, 150.0, 130.0, 150.0];
    ui.horizontal(|ui| {
        for (title, width) in ["", "Name", "Email", "Job title", "Department", "Manager"].iter().zip(widths) {
            fixed(ui, width, 18.0, egui::Label::new(RichText::new(*title).strong()));
        }
    });
    let mut visible: Vec<String> = Vec::new();
    egui::ScrollArea::vertical()
        .id_salt("directory-table")
        .max_height(360.0)
        .min_scrolled_height(360.0)
        .auto_shrink([false, true])
        .show_rows(ui, ROW_HEIGHT, rows.len(), |ui, range| {
            for &i in &rows[range] {
                let Some(u) = users.get(i) else { continue };
                visible.push(u.id.clone());
                ui.horizontal(|ui| {
                    ui.set_height(ROW_HEIGHT - 4.0);
                    fixed_avatar(ui, state, &u.id, &u.display_name, widths[0]);
                    let mut name = u.display_name.clone();
                    if !u.enabled {
                        name.push_str(" (disabled)");
                    }
                    if u.guest {
                        name.push_str(" (guest)");
                    }
                    cell(ui, widths[1], Some(&name));
                    cell(ui, widths[2], u.mail.as_deref());
                    cell(ui, widths[3], u.job_title.as_deref());
                    cell(ui, widths[4], u.department.as_deref());
                    cell(ui, widths[5], u.manager.as_ref().map(|m| m.display_name.as_str()));
                });
            }
        });
    asks.avatars.extend(state.avatars.wanted(visible.into_iter()));
}

fn cell(ui: &mut Ui, width: f32, text: Option<&str>) {
    let label = match text {
        Some(t) => egui::Label::new(t).truncate(),
        None => egui::Label::new(RichText::new("—").weak()),
    };
    fixed(ui, width, ROW_HEIGHT - 6.0, label);
}

/// A widget in a box of fixed size, left-aligned and vertically centred (a table cell).
fn fixed(ui: &mut Ui, width: f32, height: f32, widget: impl egui::Widget) {
    ui.allocate_ui_with_layout(egui::vec2(width, height), egui::Layout::left_to_right(egui::Align::Center), |ui| {
        ui.set_min_size(egui::vec2(width, height));
        ui.add(widget);
    });
}

fn fixed_avatar(ui: &mut Ui, state: &mut PreviewState, id: &str, name: &str, width: f32) {
    ui.allocate_ui_with_layout(
        egui::vec2(width, ROW_HEIGHT - 4.0),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_size(egui::vec2(width, ROW_HEIGHT - 4.0));
            avatar_ui(ui, state, id, name);
        },
    );
}

fn avatar_ui(ui: &mut Ui, state: &mut PreviewState, id: &str, name: &str) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(AVATAR, AVATAR), egui::Sense::hover());
    match state.avatars.get(id) {
        Some(AvatarSlot::Photo(texture)) => {
            egui::Image::new(texture).corner_radius(AVATAR / 2.0).paint_at(ui, rect);
        }
        _ => {
            let hue = id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 360;
            let color = egui::ecolor::Hsva::new(hue as f32 / 360.0, 0.45, 0.6, 1.0);
            ui.painter().circle_filled(rect.center(), AVATAR / 2.0, Color32::from(color));
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                initials(name),
                egui::FontId::proportional(12.0),
                Color32::WHITE,
            );
        }
    }
}
