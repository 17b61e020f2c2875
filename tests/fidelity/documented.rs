//! The simulated identity platform's answers, field by field against Microsoft's documented examples
//! (`docs/microsoft-apis.md` §A1–A4: the token response, the device-code response, the token error body, the
//! authorize and admin-consent redirects). Each answer must carry exactly the documented fields with the
//! documented JSON types; where the simulator knowingly differs, the difference is in [`KNOWN_DIFFERENCES`] with
//! its reason, and ARCHITECTURE.md ("Where the simulator knowingly differs") must name it too.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{self, TestSim, enc};
use serde_json::Value;

const ADMIN: &str = "adele.vance@contoso.com";
const SIGNIN: &str = "openid profile offline_access https://graph.microsoft.com/User.Read";

/// Where the simulator knowingly differs from the documented answers: (answer, field, what differs). Each entry's
/// field name must appear in ARCHITECTURE.md's list.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "token error",
        "error_uri",
        "points at the simulator's own /error page instead of login.microsoftonline.com (no request leaves the machine)",
    ),
    ("token answer for .default", "scope", "lists the grants, then .default: Microsoft documents no example"),
    ("device code", "message", "English only; mkt is not read"),
];

/// A documented answer: each field and its JSON kind (`string`, `number`, `array`, `object`); `?` marks a field
/// present only in some answers of that kind.
fn documented(fields: &[(&str, &str)]) -> BTreeMap<String, String> {
    fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences between a JSON answer and its documented fields (optional ones end in `?`).
fn against(what: &str, answer: &Value, doc: &BTreeMap<String, String>) -> Vec<String> {
    let obj = answer.as_object().unwrap_or_else(|| panic!("{what}: not an object: {answer}"));
    let mut out = Vec::new();
    for (field, want) in doc {
        let (field, optional) = field.strip_suffix('?').map_or((field.as_str(), false), |f| (f, true));
        match obj.get(field) {
            Some(v) if kind(v) != want => out.push(format!("{what}: {field} is {}, documented {want}", kind(v))),
            Some(_) => {}
            None if optional => {}
            None => out.push(format!("{what}: {field} is missing")),
        }
    }
    let known: BTreeSet<&str> = doc.keys().map(|k| k.trim_end_matches('?')).collect();
    for k in obj.keys().filter(|k| !known.contains(k.as_str())) {
        out.push(format!("{what}: {k} is not documented"));
    }
    out
}

/// The same for redirect parameters (all strings).
fn params_against(what: &str, params: &std::collections::HashMap<String, String>, doc: &[&str]) -> Vec<String> {
    let v: Value = params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    against(what, &v, &doc.iter().map(|f| ((*f).to_owned(), "string".to_owned())).collect())
}

/// The token error body of §A4.
fn token_error() -> BTreeMap<String, String> {
    documented(&[
        ("error", "string"),
        ("error_description", "string"),
        ("error_codes", "array"),
        ("timestamp", "string"),
        ("trace_id", "string"),
        ("correlation_id", "string"),
        ("error_uri", "string"),
        ("suberror?", "string"),
        ("claims?", "string"),
    ])
}

/// What Microsoft writes in an error: `AADSTSnnnnn: ...` then trace, correlation and timestamp lines; the ids are
/// GUIDs; the timestamp is `YYYY-MM-DD HH:MM:SSZ`.
fn error_text_problems(what: &str, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let description = body["error_description"].as_str().unwrap_or_default();
    let code = body["error_codes"][0].as_u64().unwrap_or_default();
    if !description.starts_with(&format!("AADSTS{code}: ")) {
        out.push(format!("{what}: error_description does not start with AADSTS{code}: ({description:?})"));
    }
    for line in ["\r\nTrace ID: ", "\r\nCorrelation ID: ", "\r\nTimestamp: "] {
        if !description.contains(line) {
            out.push(format!("{what}: error_description lacks {line:?}"));
        }
    }
    for id in ["trace_id", "correlation_id"] {
        if !body[id].as_str().is_some_and(|s| s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()) {
            out.push(format!("{what}: {id} is not a GUID"));
        }
    }
    let ts = body["timestamp"].as_str().unwrap_or_default();
    let shape_ok = ts.len() == 20
        && ts.ends_with('Z')
        && ts.chars().enumerate().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == ' ',
            13 | 16 => c == ':',
            19 => c == 'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        out.push(format!("{what}: timestamp {ts:?} is not YYYY-MM-DD HH:MM:SSZ"));
    }
    if !body["error_uri"].as_str().is_some_and(|u| u.ends_with(&format!("/error?code={code}"))) {
        out.push(format!("{what}: error_uri does not end in /error?code={code}"));
    }
    out
}

#[tokio::test]
async fn identity_answers_carry_exactly_the_documented_fields() {
    let mut problems = Vec::new();

    // §A1 token response, code redemption with offline_access, openid and client_info=1.
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let (url, verifier, _, _) = t.authorize_url("organizations", SIGNIN, &[("client_info", "1")]);
    let r = t.get(&url).await;
    let redirect = common::redirect_params(&r);
    // The authorize success redirect: code, state, and (asked for) client_info; session_state as Entra sends.
    problems.extend(params_against(
        "authorize success",
        &redirect,
        &["code", "state", "client_info?", "session_state?"],
    ));
    let client = t.signin_client();
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("client_id", &client),
                ("grant_type", "authorization_code"),
                ("code", &redirect["code"]),
                ("redirect_uri", common::LOOPBACK),
                ("code_verifier", &verifier),
                ("scope", SIGNIN),
                // As MSAL sends it: the answer then carries client_info.
                ("client_info", "1"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body:#}");
    let token = documented(&[
        ("token_type", "string"),
        ("scope", "string"),
        ("expires_in", "number"),
        ("ext_expires_in", "number"),
        ("access_token", "string"),
        ("refresh_token", "string"),
        ("id_token", "string"),
        ("client_info", "string"),
    ]);
    problems.extend(against("token (authorization code)", &body, &token));

    // Refresh: the same answer (a new refresh token comes back).
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = t
        .token(
            "organizations",
            &[("client_id", &client), ("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_info", "1")],
        )
        .await;
    assert_eq!(status, 200, "{refreshed:#}");
    problems.extend(against("token (refresh)", &refreshed, &token));

    // §A3 device code: the documented six fields, no verification_uri_complete. Nobody signs in (no auto-login),
    // so polling is pending.
    let quiet = TestSim::start("happy", None).await;
    let r = quiet
        .post_form(&quiet.login("organizations/oauth2/v2.0/devicecode"), &[("client_id", &client), ("scope", SIGNIN)])
        .await;
    let device: Value = r.json().await.unwrap();
    problems.extend(against(
        "device code",
        &device,
        &documented(&[
            ("device_code", "string"),
            ("user_code", "string"),
            ("verification_uri", "string"),
            ("expires_in", "number"),
            ("interval", "number"),
            ("message", "string"),
        ]),
    ));
    // Polling before anyone entered the code: the token error body with authorization_pending (70016).
    let (status, pending) = quiet
        .token(
            "organizations",
            &[
                ("client_id", &client),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device["device_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(pending["error"], "authorization_pending");
    assert_eq!(pending["error_codes"][0], 70016);
    problems.extend(against("token error (device code pending)", &pending, &token_error()));
    problems.extend(error_text_problems("token error (device code pending)", &pending));

    // §A4 a token error: a spent code (54005).
    let (status, spent) = t.redeem("organizations", &redirect["code"], &verifier, SIGNIN).await;
    assert_eq!(status, 400);
    problems.extend(against("token error (spent code)", &spent, &token_error()));
    problems.extend(error_text_problems("token error (spent code)", &spent));

    // §A2 admin consent, success: admin_consent, tenant, scope, state.
    let consent = t.admin_consent("organizations").await;
    assert_eq!(consent["admin_consent"], "True");
    problems.extend(params_against("admin consent success", &consent, &["admin_consent", "tenant", "scope", "state"]));

    // Client credentials: token_type, expires_in, ext_expires_in, access_token; no scope, no refresh token.
    let (status, app) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 200, "{app:#}");
    problems.extend(against(
        "token (client credentials)",
        &app,
        &documented(&[
            ("token_type", "string"),
            ("expires_in", "number"),
            ("ext_expires_in", "number"),
            ("access_token", "string"),
        ]),
    ));

    // Errors on the redirects: a declined consent.
    let declined = TestSim::start("consent-declined", Some(ADMIN)).await;
    let (url, _, _, _) = declined.authorize_url("organizations", SIGNIN, &[]);
    let r = declined.get(&url).await;
    let error = common::redirect_params(&r);
    assert_eq!(error["error"], "access_denied", "{error:?}");
    problems.extend(params_against("authorize error", &error, &["error", "error_description", "error_uri", "state"]));
    let consent_url = format!(
        "{}?client_id={}&scope={}&redirect_uri={}&state=ac-2",
        declined.login("organizations/v2.0/adminconsent"),
        declined.consent_client(),
        enc("https://graph.microsoft.com/.default"),
        enc(common::LOOPBACK)
    );
    let r = declined.get(&consent_url).await;
    let cancelled = common::redirect_params(&r);
    // As in the real traffic of §A2: access_denied with 65004, admin_consent=True, no tenant.
    problems.extend(params_against(
        "admin consent error",
        &cancelled,
        &["error", "error_description", "error_uri", "admin_consent", "state"],
    ));
    assert!(!cancelled.contains_key("tenant"), "no tenant on an error: {cancelled:?}");

    assert!(problems.is_empty(), "answers that differ from Microsoft's documented examples:\n{}", problems.join("\n"));
}

#[test]
fn architecture_names_every_known_difference() {
    let architecture = include_str!("../../ARCHITECTURE.md");
    let section = architecture
        .split("## Where the simulator knowingly differs")
        .nth(1)
        .expect("ARCHITECTURE.md has a section \"Where the simulator knowingly differs\"");
    for (answer, field, why) in KNOWN_DIFFERENCES {
        assert!(section.contains(&format!("`{field}`")), "ARCHITECTURE.md does not list {answer} `{field}` ({why})");
    }
}
