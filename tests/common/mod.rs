//! Helpers shared by the integration tests: a simulator plus a client that trusts only its CA, PKCE values,
//! URL and JWT reading. These deliberately use raw HTTP and JSON, not the product's client types, so the tests
//! check the simulator against Microsoft's documented shapes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]
#![allow(dead_code, reason = "each test binary uses a different subset of these helpers")]

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mspbots_setup::http::{self, HttpConfig, Purpose, Trust};
use mspbots_setup::shell::UrlOpener as _;
use mspbots_setup::shell::browser::{FollowingBrowser, OPEN_THIS_ADDRESS};
use mspbots_setup::sim::{Scenario, Sim, SimConfig, scenario};
use serde_json::Value;

pub const LOOPBACK: &str = "http://localhost:53111/";
pub const GRAPH_USER_READ: &str = "https://graph.microsoft.com/User.Read";
/// What the setup tool reads the tenant with (the shell's `TENANT_READ_SCOPES`, plus a refresh token).
pub const TENANT_READ: &str = "offline_access https://graph.microsoft.com/Application.Read.All https://graph.microsoft.com/Directory.Read.All https://graph.microsoft.com/ProfilePhoto.Read.All";

pub struct TestSim {
    pub sim: Sim,
    pub client: reqwest::Client,
}

impl TestSim {
    pub async fn start(name: &str, auto_login: Option<&str>) -> Self {
        Self::start_with(scenario::load(name).unwrap(), auto_login).await
    }

    pub async fn start_with(scenario: Scenario, auto_login: Option<&str>) -> Self {
        let mut config = SimConfig::new(scenario);
        config.auto_login = auto_login.map(str::to_owned);
        let sim = Sim::start(config).await.unwrap();
        let client = http::client(&HttpConfig::new(Purpose::Auth, Trust::OnlyPem(sim.ca_pem().to_owned()))).unwrap();
        Self { sim, client }
    }

    pub fn login(&self, path: &str) -> String {
        format!("{}{path}", self.sim.info().login_url)
    }

    pub fn tenant_id(&self) -> String {
        self.sim.info().tenant_id.clone()
    }

    pub fn signin_client(&self) -> String {
        self.sim.info().signin_client_id.clone()
    }

    pub fn consent_client(&self) -> String {
        self.sim.info().consent_client_id.clone()
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }

    /// `GET` a Graph path with a bearer token; the answer's JSON (any status).
    pub async fn graph_get(&self, token: &str, path: &str) -> Value {
        let url = format!("{}{}", self.sim.info().graph_url, path.trim_start_matches('/'));
        self.client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(url).form(form).send().await.unwrap()
    }

    /// POSTs to the token endpoint of `tenant` and returns (status, JSON body).
    pub async fn token(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self.post_form(&self.login(&format!("{tenant}/oauth2/v2.0/token")), form).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// An authorize URL for the sign-in client with PKCE; returns (url, verifier, state, nonce).
    pub fn authorize_url(&self, tenant: &str, scope: &str, extra: &[(&str, &str)]) -> (String, String, String, String) {
        let (verifier, challenge) = pkce();
        let state = format!("st-{}", URL_SAFE_NO_PAD.encode(rand_bytes()));
        let nonce = format!("n-{}", URL_SAFE_NO_PAD.encode(rand_bytes()));
        let mut url = url::Url::parse(&self.login(&format!("{tenant}/oauth2/v2.0/authorize"))).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", &self.signin_client())
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", LOOPBACK)
            .append_pair("scope", scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("prompt", "select_account");
        for (k, v) in extra {
            url.query_pairs_mut().append_pair(k, v);
        }
        (url.to_string(), verifier, state, nonce)
    }

    /// Auto mode: authorize and return the redirect's query parameters and the verifier.
    pub async fn auto_code(&self, tenant: &str, scope: &str) -> (HashMap<String, String>, String) {
        let (url, verifier, _, _) = self.authorize_url(tenant, scope, &[]);
        let r = self.get(&url).await;
        assert_eq!(r.status(), 302, "authorize should redirect: {}", r.text().await.unwrap());
        (redirect_params(&r), verifier)
    }

    pub async fn redeem(&self, tenant: &str, code: &str, verifier: &str, scope: &str) -> (u16, Value) {
        let client_id = self.signin_client();
        self.token(
            tenant,
            &[
                ("client_id", &client_id),
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", LOOPBACK),
                ("code_verifier", verifier),
                ("scope", scope),
            ],
        )
        .await
    }

    /// A delegated access token for `scope`, signed in by auto mode as the scenario's account.
    pub async fn user_token(&self, scope: &str) -> String {
        let (params, verifier) = self.auto_code("organizations", scope).await;
        let (status, body) = self.redeem("organizations", &params["code"], &verifier, scope).await;
        assert_eq!(status, 200, "{body:#}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Admin consent (v2) for the consent app; returns the redirect's parameters.
    pub async fn admin_consent(&self, tenant: &str) -> HashMap<String, String> {
        let url = format!(
            "{}?client_id={}&scope={}&redirect_uri={}&state=ac-1",
            self.login(&format!("{tenant}/v2.0/adminconsent")),
            self.consent_client(),
            enc("https://graph.microsoft.com/.default"),
            enc(LOOPBACK)
        );
        let r = self.get(&url).await;
        assert_eq!(r.status(), 302, "admin consent should redirect: {}", r.text().await.unwrap());
        redirect_params(&r)
    }

    pub async fn client_credentials(&self, tenant: &str) -> (u16, Value) {
        let (id, secret) = (self.consent_client(), self.sim.info().consent_client_secret.clone());
        self.token(
            tenant,
            &[
                ("client_id", &id),
                ("client_secret", &secret),
                ("grant_type", "client_credentials"),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await
    }
}

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn rand_bytes() -> [u8; 12] {
    let mut b = [0u8; 12];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b
}

/// A PKCE verifier (43 characters, as MSAL makes them) and its S256 challenge.
pub fn pkce() -> (String, String) {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(raw);
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

/// Query parameters of a 302's Location.
pub fn redirect_params(r: &reqwest::Response) -> HashMap<String, String> {
    let location = r.headers().get("location").expect("a Location header").to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

/// The claims of a JWT, without checking its signature.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Verifies an RS256 JWT against a JWKS document.
pub fn verify_with_jwks(token: &str, jwks: &Value) -> bool {
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    let Some(key) = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]) else {
        return false;
    };
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
        .is_ok()
}

/// Reads the hidden inputs of an HTML form (the simulator's pages and form_post answers).
pub fn hidden_inputs(html: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for chunk in html.split("<input type=\"hidden\" ").skip(1) {
        let attr = |name: &str| {
            chunk.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).map(unescape)
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.insert(n, v);
        }
    }
    out
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Checks Microsoft's token-error JSON shape and returns the first AADSTS code.
pub fn assert_aad_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body:#}");
    assert_eq!(body["error_codes"][0], code, "{body:#}");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with(&format!("AADSTS{code}: ")), "{description}");
    assert!(description.contains("\r\nTrace ID: ") && description.contains("\r\nCorrelation ID: "), "{description}");
    for field in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[field].is_string(), "missing {field}: {body:#}");
    }
}

/// Checks an error redirect's parameters: `error`, the AADSTS code in `error_description`, `error_uri`.
pub fn assert_redirect_error(params: &HashMap<String, String>, error: &str, code: u32) {
    assert_eq!(params.get("error").map(String::as_str), Some(error), "{params:?}");
    let d = params.get("error_description").unwrap();
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    assert!(d.contains("\r\nTrace ID: "), "{d}");
    assert!(params.get("error_uri").unwrap().ends_with(&format!("error?code={code}")), "{params:?}");
}

pub const SHORT: Duration = Duration::from_secs(5);

/// The shipped vendor profile with `sim`'s app ids, written to `dir`: the binary in live mode against explicit
/// endpoints (the simulator's), as a customer's run would be.
pub fn live_profile(dir: &std::path::Path, sim: &Sim) -> std::path::PathBuf {
    let info = sim.info();
    let text = include_str!("../../assets/profiles/mspbots.toml")
        .replacen("client_id = \"\"", &format!("client_id = \"{}\"", info.signin_client_id), 1)
        .replacen("client_id = \"\"", &format!("client_id = \"{}\"", info.consent_client_id), 1)
        .replace("store_id = \"\"", &format!("store_id = \"{}\"", mspbots_setup::sim::teams::DEMO_APP_ID));
    let path = dir.join("profile.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `run --headless --json` of `bin` against `sim` (every host, its CA only), with the state folder `state` and
/// `profile`, signing in through [`Headless`]'s browser. Add the run's own options with `.args`.
pub fn headless_against(bin: &str, sim: &Sim, profile: &std::path::Path, state: &std::path::Path) -> Headless {
    let mut c = headless_without_teams_admin(bin, sim, profile, state);
    c.args(["--teams-admin-url", &sim.info().teams_admin_url]);
    c
}

/// [`headless_against`] without the Teams admin API, as where its host is not known.
pub fn headless_without_teams_admin(
    bin: &str,
    sim: &Sim,
    profile: &std::path::Path,
    state: &std::path::Path,
) -> Headless {
    let info = sim.info();
    let ca = info.ca_pem.to_str().unwrap().to_owned();
    let mut c = std::process::Command::new(bin);
    c.args(["run", "--headless", "--json"])
        .args(["--profile", profile.to_str().unwrap()])
        .args(["--login-url", &info.login_url, "--graph-url", &info.graph_url, "--ca-cert", &ca])
        .env(mspbots_setup::fsutil::STATE_DIR_VAR, state)
        .env_remove("BROWSER")
        .stdin(std::process::Stdio::null());
    Headless { command: c, ca_pem: sim.ca_pem().to_owned(), browser: true }
}

/// A headless run whose browser is the test itself: every address the run asks a person to open (on stderr, as
/// without `$BROWSER`) is opened here with the product's [`FollowingBrowser`] trusting the simulator's CA, like a
/// browser whose account is already chosen (the simulator's auto-login). No external program is involved, so it
/// works alike on every OS (Windows under Wine has no curl).
pub struct Headless {
    command: std::process::Command,
    ca_pem: String,
    browser: bool,
}

impl Headless {
    pub fn arg(&mut self, arg: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.command.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&mut self, args: I) -> &mut Self {
        self.command.args(args);
        self
    }

    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(&mut self, key: &str) -> &mut Self {
        self.command.env_remove(key);
        self
    }

    /// Any other command of `bin` (`conformance record`) with the same test browser for `sim`.
    pub fn command(command: std::process::Command, sim: &Sim) -> Self {
        Self { command, ca_pem: sim.ca_pem().to_owned(), browser: true }
    }

    /// Nobody opens the addresses: the run waits at sign-in.
    pub fn without_browser(&mut self) -> &mut Self {
        self.browser = false;
        self
    }

    /// Runs to the end: exit status, stdout, and stderr (the addresses it asked to open included).
    pub fn output(&mut self) -> std::io::Result<std::process::Output> {
        let mut child =
            self.command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn()?;
        let stderr = self.read_stderr(&mut child);
        let mut stdout = Vec::new();
        std::io::Read::read_to_end(&mut child.stdout.take().unwrap(), &mut stdout)?;
        let status = child.wait()?;
        let stderr = stderr.join().unwrap();
        Ok(std::process::Output { status, stdout, stderr })
    }

    /// Starts the run with its output discarded, for a test that kills it.
    pub fn spawn(&mut self) -> std::io::Result<std::process::Child> {
        let mut child =
            self.command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn()?;
        drop(self.read_stderr(&mut child));
        Ok(child)
    }

    /// Reads the child's stderr to its end on a thread, opening each address it asks for; returns what it read.
    fn read_stderr(&self, child: &mut std::process::Child) -> std::thread::JoinHandle<Vec<u8>> {
        let stderr = child.stderr.take().unwrap();
        let browser = self.browser.then(|| self.ca_pem.clone());
        std::thread::spawn(move || {
            // The browser's tabs run here until the run's stderr closes (it ended or was killed).
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            let browser = browser.map(|ca_pem| {
                let http = http::client(&HttpConfig::new(Purpose::Api, Trust::OnlyPem(ca_pem))).unwrap();
                FollowingBrowser::new(http, rt.handle().clone())
            });
            let mut all = Vec::new();
            let mut reader = std::io::BufReader::new(stderr);
            let mut line = Vec::new();
            while std::io::BufRead::read_until(&mut reader, b'\n', &mut line).is_ok_and(|n| n > 0) {
                if let (Some(browser), Some(url)) =
                    (&browser, String::from_utf8_lossy(&line).trim_end().strip_prefix(OPEN_THIS_ADDRESS))
                {
                    browser.open(url).unwrap();
                }
                all.append(&mut line);
            }
            all
        })
    }
}

/// The JSON lines a `--json` run printed.
pub fn json_lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

// The secret scanner: what the tests search the product's output for.

/// Form fields and authorize-query parameters that are secrets (or would let someone finish a sign-in).
pub const SECRET_FORM_FIELDS: &[&str] =
    &["code", "code_verifier", "refresh_token", "client_secret", "client_assertion", "device_code", "password"];
pub const SECRET_QUERY_PARAMS: &[&str] = &["state", "nonce", "code_challenge"];

/// Every secret value the simulated tenant received: form secrets, authorize-request nonces and the bearer tokens
/// it was sent (every access token the product used).
pub fn secrets_seen(sim: &Sim) -> Vec<String> {
    let mut out = vec![sim.info().consent_client_secret.clone()];
    for r in sim.requests() {
        out.extend(r.bearer.clone());
        for (k, v) in &r.form {
            if SECRET_FORM_FIELDS.contains(&k.as_str()) {
                out.push(v.clone());
            }
        }
        let url = reqwest::Url::parse(&format!("https://x/?{}", r.query)).unwrap();
        for (k, v) in url.query_pairs() {
            if SECRET_QUERY_PARAMS.contains(&k.as_ref()) {
                out.push(v.into_owned());
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out.sort();
    out.dedup();
    out
}

/// Names, addresses and ids of the customer's tenant, which a hidden bundle must not contain.
pub fn customer_details(s: &Scenario) -> Vec<String> {
    let mut out = vec![s.tenant.tenant_id.clone(), s.tenant.display_name.clone()];
    out.extend(s.tenant.domains.iter().cloned());
    for u in &s.users {
        out.push(u.upn.clone());
        out.push(u.display_name.clone());
    }
    out.retain(|s| s.len() >= 4);
    out
}
