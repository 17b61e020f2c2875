//! `mspbots-setup explain`: turns what an admin or support has in hand (a code, a token-endpoint error body, a
//! Graph error envelope, a redirect URL with `error` parameters, or text copied from Microsoft's sign-in error
//! page) into the failure the catalogue explains. Codes are read, never descriptions.

use serde_json::Value;

use crate::wizard::{Failure, GraphError, IdentityError, LocalFailure, TransportError, TransportKind};

/// What a bare code names.
pub fn parse_code(code: &str) -> Option<Failure> {
    let c = code.trim();
    let catalogue = super::Catalogue::shipped();
    let prefixed = c.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("AADSTS"));
    let digits = if prefixed { &c[6..] } else { c };
    // A bare number is an AADSTS code, unless only the Teams admin API uses it (`40301`).
    let teams_admin_number = !prefixed && catalogue.has_graph(c) && {
        let n = c.parse().ok();
        !catalogue.knows(&Failure::Identity(IdentityError {
            error_codes: n.into_iter().collect(),
            ..IdentityError::default()
        }))
    };
    if !teams_admin_number && !digits.is_empty() && digits.len() <= 7 && digits.chars().all(|d| d.is_ascii_digit()) {
        let n: u32 = digits.parse().ok()?;
        return Some(Failure::Identity(IdentityError {
            error_codes: vec![n],
            source: String::new(),
            ..IdentityError::default()
        }));
    }
    if c.is_empty() || c.len() > 80 || !c.chars().all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '-') {
        return None;
    }
    let transport = match c {
        "dns" => Some(TransportKind::Dns),
        "connect" => Some(TransportKind::Connect),
        "tls" => Some(TransportKind::Tls),
        "timeout" => Some(TransportKind::Timeout),
        "proxy" => Some(TransportKind::Proxy),
        "transport" => Some(TransportKind::Other),
        _ => None,
    };
    if let Some(kind) = transport {
        return Some(Failure::Transport(TransportError {
            kind,
            host: String::new(),
            detail: String::new(),
            proxy: None,
        }));
    }
    if catalogue.has_local(c) {
        return Some(local(c));
    }
    if catalogue.has_oauth_error(c) {
        return Some(Failure::Identity(IdentityError {
            error: c.to_owned(),
            source: String::new(),
            ..IdentityError::default()
        }));
    }
    // Anything else is taken as a Graph (or Teams admin API) error code; unknown ones get the generic text.
    Some(Failure::Graph(GraphError { code: c.to_owned(), operation: String::new(), ..GraphError::default() }))
}

/// The wizard's own failure named by a catalogue `local` code.
fn local(code: &str) -> Failure {
    let l = match code {
        "sign_in_timed_out" => LocalFailure::SignInTimedOut { minutes: 10 },
        "consent_timed_out" => LocalFailure::ConsentTimedOut { minutes: 15 },
        "device_code_expired" => LocalFailure::DeviceCodeExpired,
        "no_browser" => LocalFailure::NoBrowser { detail: String::new() },
        "listener_unavailable" => LocalFailure::ListenerUnavailable { detail: String::new() },
        "replication_timed_out" => LocalFailure::ReplicationTimedOut { minutes: 10 },
        "token_mismatch" => LocalFailure::TokenMismatch { detail: String::new() },
        "permissions_still_missing" => LocalFailure::PermissionsStillMissing { minutes: 5, names: Vec::new() },
        "policy_not_visible" => LocalFailure::PolicyNotVisible,
        "policy_api_unavailable" => LocalFailure::PolicyApiUnavailable,
        "policy_shape_unknown" => LocalFailure::PolicyShapeUnknown { detail: String::new() },
        "unreadable_answer" => return Failure::Parse { what: "answer".into(), excerpt: String::new() },
        other => LocalFailure::TeamsAppBlocked { code: other.to_owned() },
    };
    Failure::Local(l)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A token-endpoint error body or a Graph (or Teams admin API) error envelope.
fn from_json(v: &Value) -> Option<Failure> {
    if let Some(e) = v.get("error").filter(|e| e.is_object()) {
        let inner = e.get("innerError");
        return Some(Failure::Graph(GraphError {
            status: 0,
            code: text(e, "code")?,
            inner_code: inner.and_then(|i| text(i, "code")),
            message: text(e, "message").unwrap_or_default(),
            request_id: inner.and_then(|i| text(i, "request-id")),
            client_request_id: inner.and_then(|i| text(i, "client-request-id")),
            date: inner.and_then(|i| text(i, "date")),
            operation: String::new(),
            retry_after_secs: None,
        }));
    }
    if let Some(error) = text(v, "error") {
        let codes = v
            .get("error_codes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).filter_map(|c| u32::try_from(c).ok()).collect())
            .unwrap_or_default();
        return Some(Failure::Identity(IdentityError {
            error,
            error_codes: codes,
            suberror: text(v, "suberror"),
            description: text(v, "error_description"),
            trace_id: text(v, "trace_id"),
            correlation_id: text(v, "correlation_id"),
            timestamp: text(v, "timestamp"),
            error_uri: text(v, "error_uri"),
            source: "pasted error".into(),
        }));
    }
    let code = text(v, "code")?;
    Some(Failure::Graph(GraphError {
        code,
        message: text(v, "message").unwrap_or_default(),
        operation: String::new(),
        ..GraphError::default()
    }))
}

/// A redirect URL carrying `error` parameters (in the query or the fragment).
fn from_url(s: &str) -> Option<Failure> {
    let u = url::Url::parse(s.trim()).ok()?;
    let mut pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
    if let Some(f) = u.fragment() {
        pairs.extend(url::form_urlencoded::parse(f.as_bytes()).into_owned());
    }
    let get = |k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let error = get("error")?;
    let description = get("error_description");
    let mut codes: Vec<u32> = get("error_codes")
        .map(|c| c.split([',', '[', ']', ' ']).filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    if codes.is_empty() {
        codes.extend(description.as_deref().and_then(first_aadsts));
    }
    Some(Failure::Identity(IdentityError {
        error,
        error_codes: codes,
        suberror: get("error_subcode").or_else(|| get("suberror")),
        description,
        trace_id: get("trace_id"),
        correlation_id: get("correlation_id"),
        timestamp: get("timestamp"),
        error_uri: get("error_uri"),
        source: "pasted redirect".into(),
    }))
}

fn first_aadsts(text: &str) -> Option<u32> {
    let at = text.find("AADSTS")?;
    let digits: String = text[at + 6..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The value after `label` on the same line ("Trace ID: 0a1b…").
fn labelled(text: &str, label: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let at = l.to_ascii_lowercase().find(&label.to_ascii_lowercase())?;
        let v = l[at + label.len()..].trim_start_matches([':', ' ', '\t']).trim();
        (!v.is_empty()).then(|| v.split_whitespace().next().unwrap_or(v).to_owned())
    })
}

/// Text copied from Microsoft's sign-in error page ("AADSTS50020: User account … Trace ID: … Correlation ID: …").
fn from_page_text(s: &str) -> Option<Failure> {
    let code = first_aadsts(s)?;
    let line = s.lines().find(|l| l.contains("AADSTS")).map(str::trim).map(str::to_owned);
    Some(Failure::Identity(IdentityError {
        error: String::new(),
        error_codes: vec![code],
        description: line,
        trace_id: labelled(s, "Trace ID"),
        correlation_id: labelled(s, "Correlation ID"),
        timestamp: labelled(s, "Timestamp"),
        source: "pasted error page".into(),
        ..IdentityError::default()
    }))
}

/// Reads pasted or saved input of any supported kind; `None` when it is none of them.
pub fn parse_input(input: &str) -> Option<Failure> {
    let t = input.trim();
    if let Ok(v) = serde_json::from_str::<Value>(t) {
        return from_json(&v);
    }
    if t.starts_with("http://") || t.starts_with("https://") {
        return from_url(t);
    }
    if let Some(f) = from_page_text(t) {
        return Some(f);
    }
    if !t.contains(char::is_whitespace) {
        // One word is a code only if it is one Microsoft sends: an AADSTS number, or a code the catalogue knows.
        // `explain CODE` still takes an unknown Graph code, where the person typed it as a code on purpose.
        let failure = parse_code(t)?;
        let aadsts = matches!(&failure, Failure::Identity(e) if !e.error_codes.is_empty());
        return (aadsts || super::Catalogue::shipped().knows(&failure)).then_some(failure);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(f: &Failure) -> String {
        f.code()
    }

    #[test]
    fn bare_codes_name_their_kind() {
        assert_eq!(codes(&parse_code("AADSTS65001").unwrap()), "AADSTS65001");
        assert_eq!(codes(&parse_code("65001").unwrap()), "AADSTS65001");
        assert!(matches!(parse_code("Authorization_RequestDenied"), Some(Failure::Graph(_))));
        assert!(matches!(parse_code("timeout"), Some(Failure::Transport(_))));
        assert!(matches!(parse_code("permissions_still_missing"), Some(Failure::Local(_))));
        assert!(matches!(parse_code("invalid_grant"), Some(Failure::Identity(_))));
        assert_eq!(parse_code("not a code!"), None);
        assert!(matches!(parse_code("40301"), Some(Failure::Graph(_))), "a Teams admin API code, not AADSTS");
        assert_eq!(codes(&parse_code("aadsts90094").unwrap()), "AADSTS90094");
    }

    /// `explain` reaches every catalogue entry through the code it is listed under.
    #[test]
    fn explain_covers_the_catalogue() {
        let catalogue = super::super::Catalogue::shipped();
        let codes = catalogue.codes();
        assert!(codes.len() > 100, "{} codes", codes.len());
        for code in codes {
            let failure = parse_code(&code).unwrap_or_else(|| panic!("{code} is not read as a code"));
            assert!(catalogue.knows(&failure), "explain {code} falls back to the generic text");
        }
    }

    #[test]
    fn a_lone_unrelated_word_is_not_read_as_a_code() {
        assert_eq!(parse_input("hello\n"), None);
        assert_eq!(parse_input("MyMadeUpCode"), None);
        assert!(parse_input("AADSTS65001\n").is_some());
        assert!(parse_input("Authorization_RequestDenied").is_some());
        assert!(parse_input("invalid_grant").is_some());
    }

    #[test]
    fn every_input_shape_is_read() {
        let token = r#"{"error":"invalid_grant","error_description":"AADSTS70008: expired","error_codes":[70008],"trace_id":"t1","correlation_id":"c1"}"#;
        let Some(Failure::Identity(e)) = parse_input(token) else { panic!() };
        assert_eq!((e.error_codes.as_slice(), e.trace_id.as_deref()), (&[70008][..], Some("t1")));
        let graph =
            r#"{"error":{"code":"Request_ResourceNotFound","message":"gone","innerError":{"request-id":"r1"}}}"#;
        let Some(Failure::Graph(g)) = parse_input(graph) else { panic!() };
        assert_eq!((g.code.as_str(), g.request_id.as_deref()), ("Request_ResourceNotFound", Some("r1")));
        let redirect =
            "http://localhost:5000/#error=access_denied&error_description=AADSTS65004%3A+User+declined&state=x";
        let Some(Failure::Identity(r)) = parse_input(redirect) else { panic!() };
        assert_eq!((r.error.as_str(), r.error_codes.as_slice()), ("access_denied", &[65004][..]));
        let page = "Sign in\\nSorry, but we're having trouble signing you in.\nAADSTS50020: User account 'x@y.com' from identity provider 'live.com' does not exist in tenant 'Contoso'.\nTrace ID: 9f0b5a7e-0000-4000-8000-000000000000\nCorrelation ID: 1c2d\nTimestamp: 2026-11-27T03:00:00Z";
        let Some(Failure::Identity(p)) = parse_input(page) else { panic!() };
        assert_eq!((p.error_codes.as_slice(), p.correlation_id.as_deref()), (&[50020][..], Some("1c2d")));
        assert_eq!(p.trace_id.as_deref(), Some("9f0b5a7e-0000-4000-8000-000000000000"));
        assert_eq!(parse_input("this is just a sentence"), None);
        assert_eq!(parse_input(r#"{"hello":"world"}"#), None);
    }
}
