//! A simulated Teams admin center page for the vendor app (Manage apps > the app > Users and groups): its
//! availability and its installs, with Apply, as an admin sets them by hand on an app-centric tenant where no HTTP
//! API does (`docs/teams-app-centric.md`). Served on the demo's page hosts, so the demo and the tests can finish
//! what a real admin does in the browser. In auto mode (`--auto-login`) opening the page applies "available to
//! everyone, installed for everyone" at once, as auto mode accepts the sign-in and consent pages.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::Shared;
use super::html::{self, esc};
use super::teams::Availability;

/// The page's path for a catalog app id.
pub fn path(catalog_id: &str) -> String {
    format!("/teams-admin/manage-apps/{catalog_id}")
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/teams-admin/manage-apps/{id}", get(show).post(apply))
}

/// What the Apply button sends.
#[derive(Debug, serde::Deserialize)]
pub struct Settings {
    /// `everyone`, `no-one` (a specific list is kept as it is: `some`).
    availability: String,
    /// Present when "Blocked" is ticked.
    #[serde(default)]
    blocked: Option<String>,
    /// `everyone` or `no-one`.
    installs: String,
}

async fn show(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if shared.auto_login().is_some() {
        let settings = Settings { availability: "everyone".into(), blocked: None, installs: "everyone".into() };
        return apply(State(shared), Path(id), Form(settings)).await;
    }
    let st = shared.lock();
    let Some(app) = st.teams.app(&id).filter(|a| st.teams.is_vendor_app(a)).cloned() else {
        drop(st);
        return not_found(&id);
    };
    let (availability, everyone) = (st.teams.availability, st.teams.installed_for_everyone);
    drop(st);
    let checked = |on: bool| if on { " checked" } else { "" };
    let body = format!(
        "<h1>{name}</h1><p>Manage apps &rsaquo; {name} &rsaquo; Users and groups</p>\
         <form method=\"post\"><h2>Availability</h2>\
         <label><input type=\"radio\" name=\"availability\" value=\"everyone\"{a_all}> Everyone</label><br>\
         <label><input type=\"radio\" name=\"availability\" value=\"some\"{a_some}> Specific users or groups</label><br>\
         <label><input type=\"radio\" name=\"availability\" value=\"no-one\"{a_none}> No one</label><br>\
         <label><input type=\"checkbox\" name=\"blocked\" value=\"on\"{blocked}> Blocked</label>\
         <h2>Installs</h2>\
         <label><input type=\"radio\" name=\"installs\" value=\"everyone\"{i_all}> Everyone</label><br>\
         <label><input type=\"radio\" name=\"installs\" value=\"no-one\"{i_none}> No one</label><br>\
         <button class=\"btn\" type=\"submit\">Apply</button></form>",
        name = esc(&app.display_name),
        a_all = checked(availability == Availability::Everyone),
        a_some = checked(availability == Availability::Some),
        a_none = checked(availability == Availability::NoOne),
        blocked = checked(availability == Availability::Blocked),
        i_all = checked(everyone),
        i_none = checked(!everyone),
    );
    Html(html::page("Teams admin center (simulated)", &body)).into_response()
}

async fn apply(State(shared): State<Arc<Shared>>, Path(id): Path<String>, Form(settings): Form<Settings>) -> Response {
    let now = shared.clock.instant();
    let mut st = shared.lock();
    let Some(app) = st.teams.app(&id).filter(|a| st.teams.is_vendor_app(a)).cloned() else {
        drop(st);
        return not_found(&id);
    };
    st.teams.availability = match (settings.blocked.is_some(), settings.availability.as_str()) {
        (true, _) => Availability::Blocked,
        (false, "everyone") => Availability::Everyone,
        (false, "no-one") => Availability::NoOne,
        (false, _) => Availability::Some,
    };
    st.teams.installed_for_everyone = settings.installs == "everyone";
    if st.teams.installed_for_everyone {
        st.teams.reaching_users(now);
    }
    let (availability, everyone) = (st.teams.availability, st.teams.installed_for_everyone);
    drop(st);
    let body = format!(
        "<h1>Saved</h1><p>{name}: the settings apply to users over the next hours (here: seconds).</p>\
         <p class=\"details\">IsBlocked    : {blocked}\nAvailableTo  : {available}\nInstalledFor : {installed}</p>",
        name = esc(&app.display_name),
        blocked = availability == Availability::Blocked,
        available = availability.as_str(),
        installed = if everyone { "Everyone" } else { "Noone" },
    );
    Html(html::page("Teams admin center (simulated)", &body)).into_response()
}

fn not_found(id: &str) -> Response {
    (
        axum::http::StatusCode::NOT_FOUND,
        Html(html::message("Not found", &format!("The simulated Teams admin center has no app '{}'.", esc(id)))),
    )
        .into_response()
}
