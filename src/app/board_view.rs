//! The partner's board (issue 19): one row per GDAP customer with its relationship, the roles the signed-in user
//! has there and the next action; search, "needs action" filter and sort; the selected row's explanation with its
//! actions (the consent link for the customer's admin, the relationship's invitation link). Rows are drawn only
//! where they are on screen, for partners with hundreds of customers.

use std::collections::BTreeMap;

use egui::{RichText, Ui};

use super::views::Asks;
use crate::wizard::board::{Board, Row, RowState, rows};
use crate::wizard::customer_checks::{AdminCenter, AdminCenters, CustomerStatus};
use crate::wizard::{Intent, Wizard};

/// How the rows are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Name,
    /// Needs action first, then by name.
    NeedsAction,
    /// The relationship's end, soonest first (none last).
    Ends,
}

/// The board's view state that is not the wizard's business.
#[derive(Debug, Default)]
pub struct BoardViewState {
    pub search: String,
    pub needs_action_only: bool,
    pub sort: SortBy,
    /// The selected customer's tenant id.
    pub selected: Option<String>,
}

/// The rows shown: searched (name or tenant id), filtered and sorted. Whether a row needs action takes its last
/// check into account (`checks`, by tenant id).
pub fn shown<'r>(all: &'r [Row], checks: &BTreeMap<String, CustomerStatus>, state: &BoardViewState) -> Vec<&'r Row> {
    let needle = state.search.trim().to_lowercase();
    let needs = |r: &Row| crate::present::customer_needs_action(r, checks.get(&r.tenant_id));
    let mut out: Vec<&Row> = all
        .iter()
        .filter(|r| needle.is_empty() || r.name.to_lowercase().contains(&needle) || r.tenant_id.contains(&needle))
        .filter(|r| !state.needs_action_only || needs(r))
        .collect();
    let by_name = |a: &&Row, b: &&Row| a.name.to_lowercase().cmp(&b.name.to_lowercase());
    match state.sort {
        SortBy::Name => out.sort_by(by_name),
        SortBy::NeedsAction => out.sort_by(|a, b| needs(b).cmp(&needs(a)).then_with(|| by_name(a, b))),
        SortBy::Ends => out.sort_by(|a, b| {
            a.relationship_end
                .unwrap_or(u64::MAX)
                .cmp(&b.relationship_end.unwrap_or(u64::MAX))
                .then_with(|| by_name(a, b))
        }),
    }
    out
}

const ROW_HEIGHT: f32 = 22.0;

pub(super) fn board_ui(ui: &mut Ui, w: &Wizard, now_unix: u64, state: &mut BoardViewState, asks: &mut Asks) {
    ui.heading("Customers");
    if let Some(a) = w.account() {
        let partner = a.tenant_name.clone().unwrap_or_else(|| a.tenant_id.clone());
        ui.label(format!("Signed in to the partner tenant {partner} as {} ({}).", a.display_name, a.upn));
    }
    match w.board() {
        Board::Closed => return,
        Board::Loading { last: None, .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading your GDAP relationships, their access assignments and your groups…");
            });
            return;
        }
        Board::Loading { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Checking again; the rows below are what was read before.");
            });
        }
        Board::Failed { failure, .. } => {
            super::views::explanation_ui(ui, w, failure, Some(("Retry", Intent::RecheckCustomers)), asks);
        }
        Board::Loaded { .. } => {}
    }
    let Some(data) = w.board().data() else { return };
    let all = rows(data);
    let checks = &w.customer_checks().by_tenant;
    let waiting = all.iter().filter(|r| crate::present::customer_needs_action(r, checks.get(&r.tenant_id))).count();
    ui.label(format!(
        "{} customers, {waiting} need action. Read {}.",
        all.len(),
        crate::present::read_when(data.read_at, now_unix)
    ));
    if all.is_empty() {
        ui.label(
            "This partner tenant has no GDAP relationships. Create one in Partner Center and have the customer \
             approve it; then check again.",
        );
        return;
    }
    ui.horizontal(|ui| {
        ui.label("Search");
        ui.add(egui::TextEdit::singleline(&mut state.search).hint_text("name or tenant id").desired_width(200.0));
        ui.checkbox(&mut state.needs_action_only, "Needs action only");
        ui.label("Sort");
        egui::ComboBox::from_id_salt("board-sort")
            .selected_text(match state.sort {
                SortBy::Name => "Name",
                SortBy::NeedsAction => "Needs action first",
                SortBy::Ends => "Relationship ends",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.sort, SortBy::Name, "Name");
                ui.selectable_value(&mut state.sort, SortBy::NeedsAction, "Needs action first");
                ui.selectable_value(&mut state.sort, SortBy::Ends, "Relationship ends");
            });
    });
    checks_ui(ui, w, asks);
    let list = shown(&all, checks, state);
    table_ui(ui, w, &list, state);
    if let Some(row) = state.selected.as_ref().and_then(|t| all.iter().find(|r| &r.tenant_id == t)) {
        ui.add_space(6.0);
        details_ui(ui, w, row, asks);
    } else {
        ui.label(RichText::new("Select a customer to see what to do next.").weak());
    }
}

/// The check of every customer's own tenant: its progress and Cancel while it runs, else the button that starts
/// it (the footer's "Check all again" also reads the relationships first).
fn checks_ui(ui: &mut Ui, w: &Wizard, asks: &mut Asks) {
    let checks = w.customer_checks();
    ui.horizontal(|ui| match checks.running {
        Some((_, total)) => {
            let done = total.saturating_sub(checks.waiting());
            let fraction = if total == 0 { 1.0 } else { done as f32 / total as f32 };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(260.0)
                    .text(format!("Checking customers' tenants: {done} of {total}")),
            );
            if ui.button("Cancel").clicked() {
                asks.intents.push(Intent::CancelCustomerChecks);
            }
        }
        None => {
            if ui
                .button("Check every customer's tenant")
                .on_hover_text(
                    "Signed in there with your partner account, no browser: consent, permissions, Teams app, pin, who has it",
                )
                .clicked()
            {
                asks.intents.push(Intent::CheckCustomersTenants);
            }
        }
    });
}

/// Column widths of the table.
const WIDTHS: [f32; 6] = [170.0, 160.0, 60.0, 50.0, 140.0, 210.0];

/// One cell: left-aligned in its column's width.
fn cell(ui: &mut Ui, width: f32, add: impl FnOnce(&mut Ui)) {
    ui.allocate_ui_with_layout(egui::vec2(width, ROW_HEIGHT), egui::Layout::left_to_right(egui::Align::Center), |ui| {
        ui.set_min_width(width);
        add(ui);
    });
}

/// The table: a header and only the rows on screen.
fn table_ui(ui: &mut Ui, w: &Wizard, list: &[&Row], state: &mut BoardViewState) {
    let checks = &w.customer_checks().by_tenant;
    let vendor = &w.settings().vendor_name;
    ui.horizontal(|ui| {
        for (title, width) in
            ["Customer", "Relationship", "Consent", "Teams", "In its tenant", "Next"].iter().zip(WIDTHS)
        {
            cell(ui, width, |ui| {
                ui.label(RichText::new(*title).strong());
            });
        }
    });
    egui::ScrollArea::vertical().id_salt("board-rows").max_height(230.0).auto_shrink([false, true]).show_rows(
        ui,
        ROW_HEIGHT,
        list.len(),
        |ui, range| {
            for row in &list[range] {
                let selected = state.selected.as_deref() == Some(row.tenant_id.as_str());
                ui.horizontal(|ui| {
                    cell(ui, WIDTHS[0], |ui| {
                        let name = egui::Button::selectable(selected, row.name.as_str());
                        if ui.add(name).on_hover_text(&row.tenant_id).clicked() {
                            state.selected = Some(row.tenant_id.clone());
                        }
                    });
                    cell(ui, WIDTHS[1], |ui| {
                        ui.label(crate::present::relationship(row));
                    });
                    // "no" names the role missing when pointed at.
                    cell(ui, WIDTHS[2], |ui| {
                        let label = ui.label(yes_no(row.can_consent));
                        if !row.can_consent {
                            label.on_hover_text("Needs Global Administrator or Privileged Role Administrator");
                        }
                    });
                    cell(ui, WIDTHS[3], |ui| {
                        let label = ui.label(yes_no(row.can_teams));
                        if !row.can_teams {
                            label.on_hover_text("Needs Global Administrator or Teams Administrator");
                        }
                    });
                    cell(ui, WIDTHS[4], |ui| {
                        let (short, _) = crate::present::tenant_check(checks.get(&row.tenant_id));
                        ui.add(egui::Label::new(short).truncate());
                    });
                    cell(ui, WIDTHS[5], |ui| {
                        let next = crate::present::customer_next_action(row, checks.get(&row.tenant_id), vendor);
                        ui.add(egui::Label::new(next.short).truncate());
                    });
                });
            }
        },
    );
}

/// Whether the user's roles there allow it (the glyphs ✓/✗ are not in every font the window may use).
fn yes_no(yes: bool) -> &'static str {
    if yes { "yes" } else { "no" }
}

/// The selected customer: its explanation and the actions that help.
fn details_ui(ui: &mut Ui, w: &Wizard, row: &Row, asks: &mut Asks) {
    let vendor = &w.settings().vendor_name;
    let status = w.customer_checks().by_tenant.get(&row.tenant_id);
    let next = crate::present::customer_next_action(row, status, vendor);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(&row.name).strong());
        // The actions first, where they are seen without scrolling; what the customer needs below.
        ui.horizontal_wrapped(|ui| {
            // Where the partner's roles can get somewhere: every step, or all but the consent (its link).
            if matches!(row.state, RowState::Ready { .. } | RowState::CannotConsent)
                && ui
                    .button(format!("Set up {}", row.name))
                    .on_hover_text(
                        "The five steps in this customer's tenant, signed in there with your partner account",
                    )
                    .clicked()
            {
                asks.session = Some(super::views::SessionAsk::SetUpCustomer {
                    tenant_id: row.tenant_id.clone(),
                    name: row.name.clone(),
                });
            }
            if let RowState::ApprovalPending { relationship_id } = &row.state
                && ui.button("Copy invitation link").clicked()
            {
                asks.copy = Some(crate::present::gdap_invitation_link(relationship_id));
            }
            let consent = w.consent_link_for(&row.tenant_id);
            if ui
                .button("Copy consent link for the customer's admin")
                .on_hover_text("The admin-consent page of this customer's tenant, for its Global Administrator")
                .clicked()
            {
                asks.copy = Some(consent);
            }
            if ui.button("Copy tenant id").clicked() {
                asks.copy = Some(row.tenant_id.clone());
            }
            // The customer's admin centers, where its check read them from Microsoft.
            let centers = match status {
                Some(CustomerStatus::Checked(c)) => c.admin_centers.clone().unwrap_or_default(),
                _ => AdminCenters::default(),
            };
            for (center, label) in [
                (AdminCenter::Teams, "Open in the Teams admin center"),
                (AdminCenter::Entra, "Open in the Entra admin center"),
            ] {
                if centers.get(center).is_some()
                    && ui.button(label).on_hover_text("In your partner account's view of this customer").clicked()
                {
                    asks.intents.push(Intent::OpenCustomerAdminCenter(row.tenant_id.clone(), center));
                }
            }
            if !row.roles.is_empty()
                && w.customer_checks().running.is_none()
                && ui
                    .button("Check its tenant again")
                    .on_hover_text(
                        "Signed in there with your partner account: consent, permissions, Teams app, pin, who has it",
                    )
                    .clicked()
            {
                asks.intents.push(Intent::CheckCustomerTenant(row.tenant_id.clone()));
            }
        });
        ui.add_space(4.0);
        ui.label(format!("Tenant id {} · relationship {}", row.tenant_id, crate::present::relationship(row)));
        let roles: Vec<&str> = row.roles.iter().filter_map(|r| crate::graph::role_name(r)).collect();
        ui.label(if roles.is_empty() {
            "Your roles there: none".to_owned()
        } else {
            format!("Your roles there: {}", roles.join(", "))
        });
        let (_, checked) = crate::present::tenant_check(w.customer_checks().by_tenant.get(&row.tenant_id));
        if !checked.is_empty() {
            ui.label(checked);
        }
        ui.add_space(4.0);
        ui.label(&next.text);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, state: RowState, end: Option<u64>) -> Row {
        Row {
            tenant_id: format!("{}-id", name.to_lowercase()),
            name: name.into(),
            relationship_id: None,
            relationship_status: Some(crate::wizard::board::RelationshipStatus::Active),
            relationship_end: end,
            roles: Vec::new(),
            can_consent: false,
            can_teams: false,
            state,
        }
    }

    #[test]
    fn search_filter_and_sort_pick_the_rows_shown() {
        let all = vec![
            row("Litware", RowState::CannotConsent, Some(30)),
            row("contoso", RowState::Ready { renew_by: None }, Some(20)),
            row("Adventure Works", RowState::Ready { renew_by: None }, None),
        ];
        let names = |state: &BoardViewState| {
            shown(&all, &BTreeMap::new(), state).iter().map(|r| r.name.clone()).collect::<Vec<_>>()
        };
        let mut state = BoardViewState::default();
        assert_eq!(names(&state), ["Adventure Works", "contoso", "Litware"], "by name, case aside");
        state.sort = SortBy::NeedsAction;
        assert_eq!(names(&state), ["Litware", "Adventure Works", "contoso"]);
        state.sort = SortBy::Ends;
        assert_eq!(names(&state), ["contoso", "Litware", "Adventure Works"], "no end date last");
        state.needs_action_only = true;
        assert_eq!(names(&state), ["Litware"]);
        state.needs_action_only = false;
        state.search = "CONTO".into();
        assert_eq!(names(&state), ["contoso"]);
        state.search = "litware-id".into();
        assert_eq!(names(&state), ["Litware"], "by tenant id too");
    }
}
