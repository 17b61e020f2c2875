//! The one allow-list sanitizer for everything that leaves the process (docs/STYLE.md rule 11): the diagnostics bundle,
//! "Copy details", and the journal that feeds them.
//!
//! URLs keep scheme, host and path; query parameters not on the allow-list become `[redacted]` (codes, `state`,
//! PKCE and nonces, skip tokens). Free text loses anything that looks like a token. With "hide customer details"
//! it also masks identifiers: GUIDs keep only their last segment, e-mail addresses and UPNs keep their first and
//! last three characters, and the names and domains the session learned are masked wherever they appear.

use std::collections::BTreeSet;

/// Query parameters whose values may be kept (they describe the request, not a person or a secret).
const QUERY_ALLOW: &[&str] = &[
    "error",
    "error_subcode",
    "error_codes",
    "admin_consent",
    "tenant",
    "scope",
    "prompt",
    "response_mode",
    "response_type",
    "client_id",
    "redirect_uri",
    "code_challenge_method",
    "$select",
    "$expand",
    "$top",
    "$count",
    "$filter",
    "requiresReview",
];

/// Query parameters whose values name a person: kept, but masked when customer details are hidden.
const QUERY_PERSONAL: &[&str] = &["login_hint", "domain_hint"];

pub const REDACTED: &str = "[redacted]";

/// How much to hide.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Mask tenant ids, GUIDs, names, UPNs and domains.
    pub hide_customer: bool,
    /// Words the session learned that name the customer (display names, domains, tenant name), masked when hiding.
    pub known: BTreeSet<String>,
}

/// `adele.vance@contoso.com` → `ade…com`; short strings become `…`.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    // About a sixth of the text at each end (one to three characters), enough to tell two accounts apart in a
    // report without naming either: `Contoso` → `C…o`, `adele.vance@contoso.com` → `ade…com`.
    let keep = (chars.len() / 6).clamp(1, 3);
    if chars.len() < 4 {
        return "…".to_owned();
    }
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[chars.len() - keep..].iter().collect();
    format!("{head}…{tail}")
}

fn is_hex(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_hexdigit())
}

/// A GUID at the start of `s`: its length.
fn guid_at(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let lens = [8, 4, 4, 4, 12];
    let mut at = 0;
    for (i, n) in lens.iter().enumerate() {
        let part = s.get(at..at + n)?;
        if !is_hex(part) {
            return None;
        }
        at += n;
        if i < 4 {
            if b.get(at) != Some(&b'-') {
                return None;
            }
            at += 1;
        }
    }
    Some(at)
}

/// True for characters that can be part of a token or a code (base64url and dots, as Microsoft's are) or an
/// e-mail address. Slashes split words, so a path's segments are judged one by one.
fn wordish(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '@')
}

/// A run of token-like characters that is long and mixed enough to be a secret (a JWT, a code, a refresh token).
fn looks_secret(run: &str) -> bool {
    if run.starts_with("eyJ") && run.len() > 20 {
        return true;
    }
    let long = run.len() >= 40;
    let has_digit = run.chars().any(|c| c.is_ascii_digit());
    let has_alpha = run.chars().any(|c| c.is_ascii_alphabetic());
    long && has_digit && has_alpha && !run.contains('@') && !run.starts_with("http")
}

/// `contoso.com`, `contoso.onmicrosoft.us`: dot-separated labels of letters, digits and hyphens, ending in a
/// letters-only top-level label (so `v2.0` and `.well-known` are not domains).
fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
}

/// What replaces Microsoft's wording in a bundle with customer details hidden.
pub const HIDDEN_PROSE: &str = "(Microsoft's wording hidden with the customer details)";

impl Redactor {
    pub fn new(hide_customer: bool) -> Self {
        Self { hide_customer, known: BTreeSet::new() }
    }

    /// Remembers words that name the customer (masked when hiding).
    pub fn learn(&mut self, word: &str) {
        let w = word.trim();
        if w.len() >= 3 {
            self.known.insert(w.to_owned());
        }
    }

    /// Free text: tokens removed always; GUIDs, e-mail addresses and known names masked when hiding.
    pub fn text(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find(wordish) {
            out.push_str(&rest[..i]);
            let run_len = rest[i..].find(|c: char| !wordish(c)).unwrap_or(rest.len() - i);
            let run = &rest[i..i + run_len];
            out.push_str(&self.word(run));
            rest = &rest[i + run_len..];
        }
        out.push_str(rest);
        if self.hide_customer {
            for k in &self.known {
                if out.contains(k.as_str()) {
                    out = out.replace(k.as_str(), &mask(k));
                }
            }
        }
        out
    }

    /// Microsoft's own wording (an error description or message): like [`Self::text`], except that when hiding,
    /// the prose is dropped, since it names the customer in ways no pattern finds (the tenant's display name,
    /// a user's name); the leading code (`AADSTS90094:`) and the id lines support needs are kept.
    pub fn prose(&self, s: &str) -> String {
        if !self.hide_customer {
            return self.text(s);
        }
        let mut kept = Vec::new();
        for (i, line) in s.lines().enumerate() {
            let line = line.trim();
            let id_line = ["Trace ID:", "Correlation ID:", "Timestamp:"].iter().any(|l| line.starts_with(l));
            if id_line {
                kept.push(self.text(line));
            } else if i == 0 {
                let code = line.split_once(':').map(|(c, _)| c).filter(|c| {
                    c.strip_prefix("AADSTS").is_some_and(|n| !n.is_empty() && n.chars().all(|d| d.is_ascii_digit()))
                });
                kept.push(match code {
                    Some(c) => format!("{c}: {HIDDEN_PROSE}"),
                    None => HIDDEN_PROSE.to_owned(),
                });
            }
        }
        if kept.is_empty() { HIDDEN_PROSE.to_owned() } else { kept.join("\n") }
    }

    /// One token-like word of text.
    fn word(&self, run: &str) -> String {
        if looks_secret(run) {
            return REDACTED.to_owned();
        }
        if !self.hide_customer {
            return run.to_owned();
        }
        if run.contains('@') {
            let trimmed = run.trim_end_matches(['.', ',']);
            return format!("{}{}", mask(trimmed), &run[trimmed.len()..]);
        }
        // GUIDs anywhere in the word (e.g. inside a path segment) keep their last segment.
        let mut out = String::new();
        let mut at = 0;
        while at < run.len() {
            if let Some(n) = guid_at(&run[at..]) {
                out.push('…');
                out.push_str(&run[at + 24..at + n]);
                at += n;
            } else {
                let c = run[at..].chars().next().unwrap_or(' ');
                out.push(c);
                at += c.len_utf8();
            }
        }
        out
    }

    /// A URL: scheme, host and path kept (path text-sanitized), query parameters by allow-list, fragment dropped.
    pub fn url(&self, raw: &str) -> String {
        let Ok(mut u) = url::Url::parse(raw) else {
            return self.text(raw.split(['?', '#']).next().unwrap_or_default());
        };
        let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        u.set_fragment(None);
        u.set_query(None);
        let mut out = format!("{}{}", u.origin().ascii_serialization(), self.path(u.path()));
        if !pairs.is_empty() {
            let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", self.query_value(k, v))).collect();
            out.push('?');
            out.push_str(&q.join("&"));
        }
        out
    }

    /// A request path: user ids and UPNs in it are masked when hiding.
    pub fn path(&self, path: &str) -> String {
        path.split('/')
            .map(|seg| {
                let seg = percent_decode(seg);
                // A tenant's domain in a sign-in path (`/contoso.com/oauth2/v2.0/token`).
                if self.hide_customer && is_domain(&seg) { mask(&seg) } else { self.text(&seg) }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// A query string's value by the allow-list.
    pub fn query_value(&self, key: &str, value: &str) -> String {
        if QUERY_ALLOW.contains(&key) {
            self.text(value)
        } else if QUERY_PERSONAL.contains(&key) {
            if self.hide_customer { mask(value) } else { self.text(value) }
        } else {
            REDACTED.to_owned()
        }
    }

    /// An identifier that names the customer (tenant id, object id, UPN): masked when hiding.
    pub fn id(&self, s: &str) -> String {
        if !self.hide_customer {
            return s.to_owned();
        }
        if guid_at(s) == Some(s.len()) {
            return format!("…{}", &s[24..]);
        }
        mask(s)
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// What a panic prints: where, and the message with anything token-like removed (a panic message can quote a
/// value the code was handling; `Secret`'s `Debug` is already redacted, this catches the rest).
pub fn panic_report(message: &str, location: Option<String>) -> String {
    let at = location.map_or_else(String::new, |l| format!(" at {l}"));
    format!(
        "mspbots-setup stopped because of a bug{at}: {}\nYour progress so far is kept; start the setup again to go on. \
         Please send the diagnostics export (mspbots-setup diagnostics export FILE) to support.",
        Redactor::new(false).text(message)
    )
}

/// Replaces the default panic message (which prints the payload as is) with [`panic_report`].
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        #[expect(clippy::print_stderr, reason = "a panic hook's only channel is stderr")]
        {
            eprintln!("{}", panic_report(&message, location));
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";

    #[test]
    fn urls_keep_their_shape_and_lose_secrets() {
        let r = Redactor::new(false);
        let u =
            r.url("http://localhost:53111/?code=1.AbCdEf0123456789&state=xyz&session_state=s&error=access_denied#frag");
        assert_eq!(
            u,
            "http://localhost:53111/?code=[redacted]&state=[redacted]&session_state=[redacted]&error=access_denied"
        );
        let graph = r.url("https://graph.microsoft.com/v1.0/users?$select=id,mail&$skiptoken=RFNwdAIAAQAAAD8");
        assert_eq!(graph, "https://graph.microsoft.com/v1.0/users?$select=id,mail&$skiptoken=[redacted]");
    }

    #[test]
    fn text_loses_tokens_always_and_people_when_hidden() {
        let plain = Redactor::new(false);
        let t = format!("Bearer {JWT} for adele.vance@contoso.com in 7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47");
        let once = plain.text(&t);
        assert!(!once.contains("eyJ") && once.contains("adele.vance@contoso.com"), "{once}");
        let mut hidden = Redactor::new(true);
        hidden.learn("Contoso");
        let h = hidden.text(&format!("{t}. Contoso's admin"));
        assert!(!h.contains("adele") && !h.contains("Contoso") && !h.contains("7c1f3a52"), "{h}");
        assert!(h.contains("…3e5d8c2b1a47"), "GUIDs keep their last segment: {h}");
        assert!(h.contains("ade…com"), "{h}");
        let path = hidden.path("/v1.0/users/adele.vance%40contoso.com/teamwork/installedApps");
        assert_eq!(path, "/v1.0/users/ade…com/teamwork/installedApps");
        let discovery = hidden.path("/contoso.com/v2.0/.well-known/openid-configuration");
        assert_eq!(discovery, format!("/{}/v2.0/.well-known/openid-configuration", mask("contoso.com")));
        assert_eq!(hidden.query_value("login_hint", "adele.vance@contoso.com"), "ade…com");
        assert_eq!(hidden.id("7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47"), "…3e5d8c2b1a47");
    }

    #[test]
    fn ordinary_words_and_codes_survive() {
        let r = Redactor::new(true);
        let t = "AADSTS65001: The user or administrator has not consented (code 65001, Authorization_RequestDenied).";
        assert_eq!(r.text(t), t);
        assert_eq!(r.text("GET /v1.0/servicePrincipals"), "GET /v1.0/servicePrincipals");
    }

    #[test]
    fn masks_keep_little_of_short_names() {
        assert_eq!(mask("Contoso"), "C…o");
        assert_eq!(mask("contoso.com"), "c…m");
        assert_eq!(mask("adele.vance@contoso.com"), "ade…com");
        assert_eq!(mask("Bob"), "…");
    }

    #[test]
    fn microsofts_wording_is_dropped_when_hidden_but_codes_and_ids_stay() {
        let d = "AADSTS90094: An administrator of Contoso has set a policy.\r\nTrace ID: 7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47\r\nCorrelation ID: c0\r\nTimestamp: 2026-11-27 04:26:27Z";
        assert_eq!(Redactor::new(false).prose(d), d, "kept as it is when not hiding");
        let h = Redactor::new(true).prose(d);
        assert_eq!(
            h,
            format!(
                "AADSTS90094: {HIDDEN_PROSE}\nTrace ID: …3e5d8c2b1a47\nCorrelation ID: c0\nTimestamp: 2026-11-27 04:26:27Z"
            )
        );
        assert_eq!(Redactor::new(true).prose("Insufficient privileges for Adele Vance."), HIDDEN_PROSE);
    }
}
