#!/usr/bin/env python3
"""Microsoft's MSAL for Python against the simulated tenant, over HTTPS.

Usage: msal_python.py PATH_TO_mspbots-setup

Starts simulators with `mspbots-setup sim`, then drives MSAL's own APIs: discovery, authorization code + PKCE
(query and form_post), refresh, device code, client credentials, each followed by a silent acquisition that MSAL
must serve from its own cache (and one with force_refresh that must go to the token endpoint), and error paths (consent required 65001 with
suberror, consent declined 65004, reused code 54005, Conditional Access 53003, unknown tenant 90002).
We play the browser: fetch the authorize URL and hand the redirect to MSAL. Ends with "N passed, N failed".
"""
import base64
import html.parser
import json
import os
import subprocess
import sys
import tempfile
import traceback
import urllib.parse

import msal
import requests

BIN = sys.argv[1]
REDIRECT = "http://localhost:53111"
ADMIN = "adele.vance@contoso.com"
# Resource-qualified, as most desktop tools ask: MSAL caches the token under the scopes the answer names, so the
# answer must name them as they were asked for or the cache never serves them.
USER_READ = "https://graph.microsoft.com/User.Read"
results = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
        print(f"PASS {name}", flush=True)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the run
        results.append((name, exc))
        print(f"FAIL {name}: {exc!r}", flush=True)
        traceback.print_exc()


class Sim:
    """One `mspbots-setup sim` process; the device-code interval is shortened to keep the run quick."""

    def __init__(self, scenario, auto_login=ADMIN):
        self.dir = tempfile.mkdtemp(prefix="msal-py-")
        path = os.path.join(self.dir, "scenario.toml")
        with open(path, "w") as f:
            f.write(f'base = "{scenario}"\nname = "{scenario}-interop"\nsummary = "interop"\n'
                    '[device_code]\ninterval_secs = 1\nexpires_in_secs = 120\n')
        self.proc = subprocess.Popen([BIN, "sim", "--scenario", path, "--auto-login", auto_login],
                                     stdout=subprocess.PIPE, text=True)
        self.info = json.loads(self.proc.stdout.readline())
        self.session = requests.Session()
        self.session.trust_env = False  # so REQUESTS_CA_BUNDLE cannot override verify
        self.session.verify = self.info["ca_pem"]
        self.login = self.info["login_url"].rstrip("/")

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=10) == 0, "sim exits 0 on SIGTERM"

    def public_app(self, tenant="organizations"):
        return msal.PublicClientApplication(self.info["signin_client_id"], authority=f"{self.login}/{tenant}",
                                            instance_discovery=False, http_client=self.session)

    def browse(self, auth_uri):
        """Be the browser: follow the authorize URL and return what reaches the redirect URI."""
        r = self.session.get(auth_uri, allow_redirects=False)
        self.last_status = r.status_code
        if r.status_code == 302:
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))
        assert r.status_code == 200, f"authorize answered {r.status_code}: {r.text[:300]}"
        return hidden_inputs(r.text)


class HiddenInputs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def hidden_inputs(text):
    p = HiddenInputs()
    p.feed(text)
    return p.fields


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


happy = Sim("happy")
state = {}


def discovery():
    app = happy.public_app()
    endpoint = app.authority.token_endpoint
    assert endpoint.startswith(happy.login), endpoint
    assert app.authority.device_authorization_endpoint, "device endpoint discovered"


def code_flow(response_mode):
    def run():
        app = happy.public_app()
        # Without response_mode the code comes back in the query of a 302, as Entra's default for code.
        kwargs = {"response_mode": response_mode} if response_mode else {}
        flow = app.initiate_auth_code_flow([USER_READ], redirect_uri=REDIRECT, prompt="select_account", **kwargs)
        assert "code_challenge" in flow["auth_uri"]
        response = happy.browse(flow["auth_uri"])
        expected = 200 if response_mode == "form_post" else 302
        assert happy.last_status == expected, f"authorize answered {happy.last_status}, expected {expected}"
        result = app.acquire_token_by_auth_code_flow(flow, response)
        assert "access_token" in result, result
        assert result["id_token_claims"]["preferred_username"] == ADMIN, result["id_token_claims"]
        assert claims(result["access_token"])["aud"] == "https://graph.microsoft.com"
        assert "refresh_token" in result
        assert result.get("token_source") == "identity_provider", result.get("token_source")
        served_from_cache(app, [USER_READ], result["access_token"])
        state["app"], state["rt"], state["flow"], state["response"] = app, result["refresh_token"], flow, response
    return run


def served_from_cache(app, scopes, access_token):
    """A silent acquisition right after a flow: MSAL must answer from its cache with the same token."""
    accounts = app.get_accounts(username=ADMIN)
    assert accounts, "MSAL built an account from id_token and client_info"
    silent = app.acquire_token_silent(scopes, account=accounts[0])
    source = silent and silent.get("token_source")
    assert source == "cache", f"not served from the cache: token_source {source!r}, scope {silent and silent.get('scope')!r}"
    assert silent["access_token"] == access_token


def refresh():
    app = state["app"]
    result = app.acquire_token_by_refresh_token(state["rt"], scopes=["User.Read"])
    assert "access_token" in result, result
    assert result.get("refresh_token") and result["refresh_token"] != state["rt"], "rotated refresh token"
    accounts = app.get_accounts(username=ADMIN)
    assert accounts, "MSAL built an account from id_token and client_info"
    silent = app.acquire_token_silent(["User.Read"], account=accounts[0], force_refresh=True)
    assert silent and silent.get("token_source") == "identity_provider", "force_refresh did not reach the network"
    again = app.acquire_token_silent(["User.Read"], account=accounts[0])
    assert again and again.get("token_source") == "cache", "the refreshed token is not cached"
    assert again["access_token"] == silent["access_token"]


def device_code():
    app = happy.public_app()
    flow = app.initiate_device_flow(scopes=[USER_READ])
    # The verification page is for a person's browser: the simulator serves it on its plain-HTTP front door.
    assert "user_code" in flow and flow["verification_uri"].startswith(happy.info["browser_login_url"]), flow
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == ADMIN
    served_from_cache(app, [USER_READ], result["access_token"])


def client_credentials():
    tid = happy.info["tenant_id"]
    q = urllib.parse.urlencode({"client_id": happy.info["consent_client_id"], "scope": "https://graph.microsoft.com/.default",
                                "redirect_uri": REDIRECT + "/", "state": "ac"})
    consent = happy.browse(f"{happy.login}/{tid}/v2.0/adminconsent?{q}")
    assert consent.get("admin_consent") == "True" and consent.get("tenant") == tid, consent
    app = msal.ConfidentialClientApplication(happy.info["consent_client_id"], client_credential=happy.info["consent_client_secret"],
                                             authority=f"{happy.login}/{tid}", instance_discovery=False, http_client=happy.session)
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    assert "User.Read.All" in claims(result["access_token"])["roles"]
    assert result.get("token_source") == "identity_provider", result.get("token_source")
    cached = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert cached.get("token_source") == "cache", f"not served from the cache: {cached.get('token_source')!r}"
    assert cached["access_token"] == result["access_token"]


def consent_required():
    # A new client instance: MSAL serves a repeated failing request from its own cache.
    app = happy.public_app()
    result = app.acquire_token_by_refresh_token(state["rt"], scopes=["https://graph.microsoft.com/User.Read.All"])
    assert result.get("error") == "invalid_grant", result
    assert 65001 in result.get("error_codes", []), result
    assert result.get("suberror") == "consent_required", result


def reused_code():
    app = state["app"]
    result = app.acquire_token_by_auth_code_flow(state["flow"], state["response"])
    assert result.get("error") == "invalid_grant" and 54005 in result.get("error_codes", []), result


def unknown_tenant():
    try:
        happy.public_app("nowhere.example")
    except ValueError as exc:
        assert "nowhere.example" in str(exc) or "authority" in str(exc).lower(), exc
        return
    raise AssertionError("MSAL accepted an unknown tenant")


check("discovery", discovery)
check("auth code + PKCE, response_mode=query, then silent from the cache", code_flow(None))
check("auth code + PKCE, response_mode=form_post, then silent from the cache", code_flow("form_post"))
check("refresh token (explicit, force_refresh to the network, then from the cache)", refresh)
check("device code, then silent from the cache", device_code)
check("client credentials after admin consent, then from the cache", client_credentials)
check("error: consent required 65001 with suberror", consent_required)
check("error: reused code 54005", reused_code)
check("error: unknown tenant 90002", unknown_tenant)
happy.stop()

declined = Sim("consent-declined")


def consent_declined():
    app = declined.public_app()
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    response = declined.browse(flow["auth_uri"])
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert result.get("error") == "access_denied", result
    assert result.get("error_description", "").startswith("AADSTS65004"), result


check("error: consent declined 65004", consent_declined)
declined.stop()

blocked = Sim("conditional-access")


def conditional_access():
    app = blocked.public_app()
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    result = app.acquire_token_by_auth_code_flow(flow, blocked.browse(flow["auth_uri"]))
    assert result.get("error") == "access_denied" and "AADSTS53003" in result.get("error_description", ""), result


check("error: Conditional Access 53003", conditional_access)
blocked.stop()

failed = sum(1 for _, e in results if e is not None)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
