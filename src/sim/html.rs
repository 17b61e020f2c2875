//! HTML pages of the simulated sign-in experience: account picker, consent, "need admin approval", error pages,
//! the device-code pages and the `form_post` auto-submit page.
//!
//! Every value that reaches a page goes through [`esc`]. Pages say plainly that they are simulated, so nobody
//! mistakes them for Microsoft's.

pub use crate::htmltext::esc;

const STYLE: &str = "body{font-family:'Segoe UI',system-ui,sans-serif;background:#f2f2f2;margin:0;color:#1b1b1b}\
.banner{background:#5c2d91;color:#fff;padding:6px 12px;font-size:13px}\
.card{background:#fff;max-width:460px;margin:48px auto;padding:36px 40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}\
h1{font-size:24px;font-weight:600;margin:0 0 8px}.sub{color:#555;margin-bottom:20px}\
.acct{display:block;width:100%;text-align:left;background:#fff;border:0;border-bottom:1px solid #e5e5e5;padding:12px 4px;cursor:pointer;font-size:15px}\
.acct:hover{background:#f3f3f3}.note{color:#666;font-size:13px}\
.btn{background:#0067b8;color:#fff;border:0;padding:8px 24px;font-size:15px;cursor:pointer;margin:8px 8px 0 0}\
.btn.secondary{background:#ccc;color:#1b1b1b}ul{padding-left:20px}li{margin:6px 0}\
.err{color:#a80000}.details{font-family:Consolas,monospace;font-size:12px;color:#555;white-space:pre-wrap;word-break:break-all}\
input[type=text]{width:100%;font-size:15px;padding:6px 0;border:0;border-bottom:1px solid #666;margin:8px 0 12px}\
.code{font-size:32px;letter-spacing:4px;font-weight:600}";

/// Wraps `body` in the page shell.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head>\
         <body><div class=\"banner\">Simulated Microsoft sign-in &middot; MSPbots setup test tenant &middot; not Microsoft</div>\
         <div class=\"card\">{body}</div></body></html>",
        title = esc(title)
    )
}

/// One account on the picker.
#[derive(Debug)]
pub struct PickerAccount<'a> {
    pub upn: &'a str,
    pub display_name: &'a str,
    pub detail: String,
}

/// The account picker. `action` receives `ctx` and `username`.
pub fn account_picker(
    action: &str,
    ctx: &str,
    app_name: &str,
    accounts: &[PickerAccount<'_>],
    problem: Option<&str>,
) -> String {
    let mut body = format!("<h1>Pick an account</h1><div class=\"sub\">to continue to {}</div>", esc(app_name));
    if let Some(p) = problem {
        body.push_str(&format!("<p class=\"err\" role=\"alert\">{}</p>", esc(p)));
    }
    for a in accounts {
        body.push_str(&format!("<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"ctx\" value=\"{ctx}\">\
             <button class=\"acct\" name=\"username\" value=\"{upn}\"><b>{name}</b><br>{upn}<br><span class=\"note\">{detail}</span></button></form>",
            action = esc(action),
            ctx = esc(ctx),
            upn = esc(a.upn),
            name = esc(a.display_name),
            detail = esc(&a.detail),));
    }
    body.push_str(&format!("<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"ctx\" value=\"{ctx}\">\
         <label for=\"username\">Use another account</label>\
         <input type=\"text\" id=\"username\" name=\"username\" placeholder=\"Email, phone, or Skype\" autocomplete=\"off\">\
         <button class=\"btn\">Next</button></form>",
        action = esc(action),
        ctx = esc(ctx),));
    page("Sign in to your account", &body)
}

/// One permission line on a consent page.
#[derive(Debug)]
pub struct ConsentLine {
    pub text: String,
}

/// The consent page. `org_wide_choice` shows the "Consent on behalf of your organization" box (admins on the
/// authorize flow); `for_org` says the grant is tenant-wide (admin consent endpoint).
pub struct ConsentPage<'a> {
    pub action: &'a str,
    pub ctx: &'a str,
    pub app_name: &'a str,
    pub publisher: &'a str,
    pub upn: &'a str,
    pub lines: &'a [ConsentLine],
    pub org_wide_choice: bool,
    pub for_org: bool,
}

impl std::fmt::Debug for ConsentPage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentPage").field("app_name", &self.app_name).finish_non_exhaustive()
    }
}

/// Renders the consent page.
pub fn consent(p: &ConsentPage<'_>) -> String {
    let mut body = format!(
        "<div class=\"note\">{upn}</div><h1>Permissions requested</h1>\
         <div class=\"sub\"><b>{app}</b><br><span class=\"note\">{publisher}</span></div>\
         <p>This app would like to:</p><ul>",
        upn = esc(p.upn),
        app = esc(p.app_name),
        publisher = esc(p.publisher),
    );
    for line in p.lines {
        body.push_str(&format!("<li>{}</li>", esc(&line.text)));
    }
    body.push_str("</ul>");
    if p.for_org {
        body.push_str(
            "<p class=\"note\">If you accept, this app will get access to the specified resources for all users in \
             your organization. No one else will be prompted to review these permissions.</p>",
        );
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"ctx\" value=\"{ctx}\">",
        action = esc(p.action),
        ctx = esc(p.ctx)
    ));
    if p.org_wide_choice {
        body.push_str(
            "<p><label><input type=\"checkbox\" name=\"org_wide\" value=\"on\"> Consent on behalf of your \
             organization</label></p>",
        );
    }
    body.push_str(
        "<button class=\"btn secondary\" name=\"decision\" value=\"cancel\">Cancel</button>\
         <button class=\"btn\" name=\"decision\" value=\"accept\">Accept</button></form>",
    );
    page("Permissions requested", &body)
}

/// "Need admin approval": the account may not grant what the app asks for.
pub fn need_admin_approval(action: &str, ctx: &str, app_name: &str, upn: &str, reason: &str) -> String {
    let body = format!(
        "<div class=\"note\">{upn}</div><h1>Need admin approval</h1><div class=\"sub\"><b>{app}</b></div>\
         <p>{reason}</p>\
         <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"ctx\" value=\"{ctx}\">\
         <button class=\"btn\" name=\"decision\" value=\"back\">Return to the application without granting consent</button></form>",
        upn = esc(upn),
        app = esc(app_name),
        reason = esc(reason),
        action = esc(action),
        ctx = esc(ctx),
    );
    page("Need admin approval", &body)
}

/// The page Microsoft shows instead of redirecting (bad client id, redirect URI, tenant).
pub fn sign_in_error(description: &str, trace_id: &str, correlation_id: &str, timestamp: &str) -> String {
    let body = format!(
        "<h1>Sign in</h1><p class=\"err\" role=\"alert\">Sorry, but we're having trouble signing you in.</p>\
         <p class=\"details\">{description}</p>\
         <p class=\"details\">Request Id: {trace}\nCorrelation Id: {corr}\nTimestamp: {ts}</p>",
        description = esc(description),
        trace = esc(trace_id),
        corr = esc(correlation_id),
        ts = esc(timestamp),
    );
    page("Sign in to your account", &body)
}

/// The `response_mode=form_post` page: a form that posts the result to the redirect URI by itself.
pub fn form_post(redirect_uri: &str, params: &[(String, String)]) -> String {
    let mut inputs = String::new();
    for (k, v) in params {
        inputs.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(k), esc(v)));
    }
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Working...</title></head>\
         <body onload=\"document.forms[0].submit()\"><form method=\"POST\" name=\"hiddenform\" action=\"{}\">{inputs}\
         <noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\"></noscript>\
         </form></body></html>",
        esc(redirect_uri)
    )
}

/// Device login: the code entry page.
pub fn device_code_entry(action: &str, problem: Option<&str>) -> String {
    let mut body =
        String::from("<h1>Enter code</h1><div class=\"sub\">Enter the code displayed on your app or device.</div>");
    if let Some(p) = problem {
        body.push_str(&format!("<p class=\"err\" role=\"alert\">{}</p>", esc(p)));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"{}\"><label for=\"otc\">Code</label>\
         <input type=\"text\" id=\"otc\" name=\"otc\" autocomplete=\"off\"><button class=\"btn\">Next</button></form>",
        esc(action)
    ));
    page("Enter code", &body)
}

/// A page that only says something (device sign-in finished, declined, and the like).
pub fn message(title: &str, text: &str) -> String {
    page(title, &format!("<h1>{}</h1><p>{}</p>", esc(title), esc(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_everywhere() {
        let evil = "\"><script>alert(1)</script>";
        let html = account_picker(
            evil,
            evil,
            evil,
            &[PickerAccount { upn: evil, display_name: evil, detail: evil.into() }],
            Some(evil),
        );
        assert!(!html.contains("<script>"), "{html}");
        let html = form_post(evil, &[(evil.into(), evil.into())]);
        assert!(!html.contains("<script>"), "{html}");
        let html = sign_in_error(evil, evil, evil, evil);
        assert!(!html.contains("<script>"), "{html}");
    }
}
