//! The bundle as a page a person reads: where and when, who signed in, each step with its explanation, the
//! failures with Microsoft's ids, and the timeline of requests. Everything is escaped; it loads nothing remote.

use super::Catalogue;
use super::bundle::Bundle;
use super::journal::What;
use crate::htmltext::esc;
use crate::wizard::StepStatus;

/// `seconds since 1970` as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: u64) -> String {
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    // Civil date from days since 1970 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02} {h:02}:{m:02}:{s:02} UTC")
}

/// The report page.
pub fn html(b: &Bundle) -> String {
    let env = &b.environment;
    let mut out = String::new();
    out.push_str(&format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{vendor} setup: diagnostics</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}}\
         table{{border-collapse:collapse;width:100%;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}}\
         th{{background:#f3f3f3}}.bad{{color:#b00020}}.ok{{color:#1a7f37}}code{{font-size:90%}}</style></head><body>",
        vendor = esc(&env.vendor)
    ));
    out.push_str(&format!(
        "<h1>{} setup: diagnostics</h1><p>Made {} by setup tool {} on {} ({}). Profile: {}. Cloud: {}.{}{}</p>",
        esc(&env.vendor),
        esc(&utc(env.created_unix)),
        esc(&env.app_version),
        esc(&env.os),
        esc(&env.arch),
        esc(&env.profile),
        esc(&env.cloud),
        env.demo_scenario.as_deref().map_or(String::new(), |s| format!(" Demo scenario: {}.", esc(s))),
        if b.hide_customer { " Customer details are hidden." } else { "" }
    ));
    if let Some(a) = &b.account {
        let roles = a.roles.as_ref().map_or_else(
            || "could not be read".to_owned(),
            |r| if r.is_empty() { "none".to_owned() } else { r.join(", ") },
        );
        out.push_str(&format!("<h2>Signed in</h2><table><tr><th>Name</th><td>{}</td></tr><tr><th>Account</th><td>{}</td></tr>\
             <tr><th>Tenant</th><td>{} {}</td></tr><tr><th>Tenant id</th><td><code>{}</code></td></tr><tr><th>Roles</th><td>{}</td></tr></table>",
            esc(&a.display_name),
            esc(&a.upn),
            esc(a.tenant_name.as_deref().unwrap_or("")),
            esc(a.tenant_domain.as_deref().unwrap_or("")),
            esc(&a.tenant_id),
            esc(&roles)
        ));
    }
    steps_html(b, &mut out);
    customers_html(b, &mut out);
    failures_html(b, &mut out);
    timeline_html(b, &mut out);
    out.push_str("</table></body></html>\n");
    out
}

/// The steps' table: status, what happened, who can fix it and how.
fn steps_html(b: &Bundle, out: &mut String) {
    out.push_str("<h2>Steps</h2><table><tr><th>Step</th><th>Status</th><th>What happened</th><th>Who can fix it</th><th>How</th></tr>");
    for s in &b.steps {
        let class = match s.status {
            crate::wizard::StepStatus::NeedsAttention => "bad",
            crate::wizard::StepStatus::Done | crate::wizard::StepStatus::Pending => "ok",
            _ => "",
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"{class}\">{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            esc(s.step.title()),
            esc(s.status.label()),
            esc(&match (&s.summary, s.status) {
                (Some(summary), StepStatus::Done) => format!("after: {summary}"),
                (summary, _) => summary.clone().unwrap_or_default(),
            }),
            s.code.as_deref().map_or(String::new(), |c| format!(" <code>{}</code>", esc(c))),
            esc(s.who.map_or("", super::Who::label)),
            s.fix.iter().map(|f| esc(f)).collect::<Vec<_>>().join("<br>")
        ));
    }
    out.push_str("</table>");
}

/// A partner session's customers: relationship, state and next action.
fn customers_html(b: &Bundle, out: &mut String) {
    if b.customers.is_empty() {
        return;
    }
    out.push_str("<h2>Customers (partner's board)</h2><table><tr><th>Customer</th><th>Tenant id</th><th>Relationship</th><th>State</th><th>Next action</th></tr>");
    for c in &b.customers {
        out.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.name),
            esc(&c.tenant_id),
            esc(c.relationship_status.as_deref().unwrap_or("none")),
            esc(&c.state),
            esc(&c.next_action)
        ));
    }
    out.push_str("</table>");
}

/// The failures the pages showed, explained by the catalogue.
fn failures_html(b: &Bundle, out: &mut String) {
    let env = &b.environment;
    if !b.failures.is_empty() {
        out.push_str(
            "<h2>Failures shown</h2><table><tr><th>Step</th><th>Code</th><th>Explanation</th><th>Details</th></tr>",
        );
        for (step, f) in &b.failures {
            let e = Catalogue::shipped().explain(f, &env.vendor);
            let details: Vec<String> =
                e.details.iter().map(|(k, v)| format!("{}: <code>{}</code>", esc(k), esc(v))).collect();
            out.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}<br>{}</td><td>{}</td></tr>",
                esc(step.title()),
                esc(&e.code),
                esc(&e.summary),
                esc(&e.meaning),
                details.join("<br>")
            ));
        }
        out.push_str("</table>");
    }
}

/// The journal: requests with their ids, step changes, failures and presses.
fn timeline_html(b: &Bundle, out: &mut String) {
    out.push_str("<h2>Timeline</h2>");
    if b.dropped_entries > 0 {
        out.push_str(&format!(
            "<p>The session was long: its {} oldest entries were dropped to keep the newest.</p>",
            b.dropped_entries
        ));
    }
    out.push_str("<table><tr><th>Time</th><th>What</th><th>Status</th><th>Ids</th></tr>");
    for entry in &b.timeline {
        let t = format!("{:.1} s", entry.at_ms as f64 / 1000.0);
        let (what, status, ids) = match &entry.what {
            What::Http(h) => (
                format!(
                    "{}{} {} ({} ms)",
                    h.step.map_or(String::new(), |s| format!("{}: ", esc(s.title()))),
                    esc(&h.method),
                    esc(&h.url),
                    h.duration_ms
                ),
                h.status.map_or_else(|| esc(h.transport.as_deref().unwrap_or("no answer")), |s| s.to_string()),
                [
                    ("codes", Some(h.error_codes.join(", ")).filter(|c| !c.is_empty())),
                    ("request-id", h.request_id.clone()),
                    ("client-request-id", h.client_request_id.clone()),
                    ("trace", h.trace_id.clone()),
                    ("correlation", h.correlation_id.clone()),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| format!("{k}: <code>{}</code>", esc(&v))))
                .collect::<Vec<_>>()
                .join("<br>"),
            ),
            What::Step { step, status } => (format!("Step {}", esc(step.title())), esc(status.label()), String::new()),
            What::Failure { step, code, .. } => (
                format!("Failure at {}", esc(step.title())),
                format!("<span class=\"bad\">{}</span>", esc(code)),
                String::new(),
            ),
            What::Intent { intent } => (format!("Pressed: {}", esc(intent)), String::new(), String::new()),
        };
        out.push_str(&format!("<tr><td>{t}</td><td>{what}</td><td>{status}</td><td>{ids}</td></tr>"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_escaping() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_748_400), "2026-11-27 03:00:00 UTC");
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
