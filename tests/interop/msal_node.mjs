#!/usr/bin/env node
// Microsoft's MSAL for Node against the simulated tenant, over HTTPS.
//
// Usage: node msal_node.mjs PATH_TO_mspbots-setup
//
// Node reads NODE_EXTRA_CA_CERTS only at start, so for each simulator this script starts `mspbots-setup sim`
// and re-runs itself as a child with the simulator's CA trusted. The child drives MSAL's own APIs: discovery,
// authorization code + PKCE with query (acquireTokenByCode) and form_post (acquireTokenInteractive with MSAL's
// own loopback listener), refresh, device code, client credentials (each followed by a silent acquisition that must
// come from MSAL's cache, and one forceRefresh that must not), and error paths. We play the browser.
// Ends with "N passed, N failed".
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import https from "node:https";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";

const REDIRECT = "http://localhost:53111";
const ADMIN = "adele.vance@contoso.com";
const self = fileURLToPath(import.meta.url);

if (process.argv[2] === "--child") {
  await child(process.argv[3], JSON.parse(process.env.SIM_INFO));
} else {
  await parent(process.argv[2]);
}

async function parent(bin) {
  let passed = 0;
  let failed = 0;
  for (const scenario of ["happy", "consent-declined"]) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "msal-node-"));
    const file = path.join(dir, "scenario.toml");
    writeFileSync(file, `base = "${scenario}"\nname = "${scenario}-interop"\nsummary = "interop"\n[device_code]\ninterval_secs = 1\nexpires_in_secs = 120\n`);
    const sim = spawn(bin, ["sim", "--scenario", file, "--auto-login", ADMIN], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise((resolve) => createInterface({ input: sim.stdout }).once("line", resolve));
    const info = JSON.parse(line);
    const run = spawnSync(process.execPath, [self, "--child", scenario], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: info.ca_pem, SIM_INFO: line },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 120_000,
    });
    for (const l of (run.stdout || "").split("\n").filter(Boolean)) {
      console.log(l);
      if (l.startsWith("PASS ")) passed++;
      if (l.startsWith("FAIL ")) failed++;
    }
    if (run.status !== 0) {
      console.log(`FAIL ${scenario}: child exited with ${run.status} ${run.error || ""}`);
      failed++;
    }
    const exited = new Promise((resolve) => sim.once("exit", (code) => resolve(code)));
    sim.kill("SIGTERM");
    const code = await exited;
    if (code === 0) {
      console.log(`PASS sim (${scenario}) exits 0 on SIGTERM`);
      passed++;
    } else {
      console.log(`FAIL sim (${scenario}) exited with ${code}`);
      failed++;
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${(e && e.stack ? e.stack : String(e)).split("\n").slice(0, 3).join(" | ")}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function request(url, { method = "GET", body, headers = {} } = {}) {
  const u = new URL(url);
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, { method, headers }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

function hiddenInputs(html) {
  const fields = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[m[1]] = m[2].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  return fields;
}

/** Be the browser: follow the authorize URL; a form_post page is posted on to its action. */
async function browse(url) {
  const r = await request(url);
  if (r.status === 302) {
    return { status: 302, params: Object.fromEntries(new URL(r.headers.location).searchParams) };
  }
  assert(r.status === 200, `authorize answered ${r.status}: ${r.body.slice(0, 200)}`);
  const action = r.body.match(/action="([^"]*)"/)[1];
  return { status: 200, params: hiddenInputs(r.body), action };
}

function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

async function child(scenario, info) {
  // scripts/interop.sh installs MSAL under target/interop/node and says where in INTEROP_NODE_PREFIX.
  const prefix = process.env.INTEROP_NODE_PREFIX || path.dirname(self);
  const msal = createRequire(path.join(prefix, "package.json"))("@azure/msal-node");
  const host = new URL(info.login_url).host;
  const login = info.login_url.replace(/\/$/, "");
  const pca = new msal.PublicClientApplication({
    auth: { clientId: info.signin_client_id, authority: `${login}/organizations`, knownAuthorities: [host] },
  });
  const interactive = (scopes) =>
    pca.acquireTokenInteractive({
      scopes,
      openBrowser: async (url) => {
        // MSAL's loopback listener is already waiting; post the form to it without blocking MSAL.
        browse(url)
          .then(({ params, action }) => request(action, { method: "POST", body: new URLSearchParams(params).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } }))
          .catch((e) => console.error(`browser error: ${e}`));
      },
      successTemplate: "signed in",
      errorTemplate: "error",
    });

  if (scenario === "consent-declined") {
    await check("error: consent declined 65004 (acquireTokenInteractive)", async () => {
      try {
        await interactive(["User.Read"]);
      } catch (e) {
        assert(e.errorCode === "access_denied", `errorCode ${e.errorCode}`);
        assert(/AADSTS65004/.test(e.errorMessage), e.errorMessage);
        return;
      }
      throw new Error("declined consent produced a token");
    });
    return;
  }

  // Resource-qualified, as most desktop tools ask: MSAL caches a token under the scopes the answer names.
  const USER_READ = "https://graph.microsoft.com/User.Read";
  // A silent acquisition right after a flow: MSAL must answer from its cache with the same token.
  const servedFromCache = async (account, scopes, token) => {
    const silent = await pca.acquireTokenSilent({ account, scopes });
    assert(silent.fromCache === true, `not served from the cache (fromCache ${silent.fromCache})`);
    assert(silent.accessToken === token, "the cached token");
  };
  const state = {};
  await check("discovery", async () => {
    const crypto = new msal.CryptoProvider();
    const { verifier, challenge } = await crypto.generatePkceCodes();
    const url = await pca.getAuthCodeUrl({ scopes: [USER_READ], redirectUri: REDIRECT, codeChallenge: challenge, codeChallengeMethod: "S256", responseMode: "query", state: "node-state" });
    assert(url.startsWith(`${login}/organizations/oauth2/v2.0/authorize`), url);
    Object.assign(state, { url, verifier });
  });
  await check("auth code + PKCE, response_mode=query (acquireTokenByCode), then silent from the cache", async () => {
    const { status, params } = await browse(state.url);
    assert(status === 302 && params.code, `no code: ${JSON.stringify(params)}`);
    const result = await pca.acquireTokenByCode({ code: params.code, scopes: [USER_READ], redirectUri: REDIRECT, codeVerifier: state.verifier, state: "node-state" }, { code: params.code, state: params.state });
    assert(result.account.username === ADMIN, `account ${result.account && result.account.username}`);
    assert(claims(result.accessToken).aud === "https://graph.microsoft.com", "audience");
    assert(result.fromCache === false, "the first token comes from the token endpoint");
    await servedFromCache(result.account, [USER_READ], result.accessToken);
    state.code = params.code;
  });
  await check("auth code + PKCE, response_mode=form_post (acquireTokenInteractive), then silent from the cache", async () => {
    const result = await interactive([USER_READ]);
    assert(result.account.username === ADMIN, "account");
    await servedFromCache(result.account, [USER_READ], result.accessToken);
    state.account = result.account;
    state.token = result.accessToken;
  });
  await check("refresh token (acquireTokenSilent, forceRefresh to the network, then from the cache)", async () => {
    const result = await pca.acquireTokenSilent({ account: state.account, scopes: [USER_READ], forceRefresh: true });
    assert(result.fromCache === false, "forceRefresh went to the token endpoint");
    assert(result.accessToken && result.accessToken !== state.token, "a new access token");
    await servedFromCache(state.account, [USER_READ], result.accessToken);
  });
  await check("device code, then silent from the cache", async () => {
    let shown;
    const result = await pca.acquireTokenByDeviceCode({ scopes: [USER_READ], deviceCodeCallback: (r) => (shown = r) });
    // The verification page is for a person's browser: the simulator serves it on its plain-HTTP front door.
    assert(shown && shown.userCode && shown.verificationUri.startsWith(info.browser_login_url), "device code shown");
    assert(result.account.username === ADMIN, "account");
    await servedFromCache(result.account, [USER_READ], result.accessToken);
  });
  await check("client credentials after admin consent, then from the cache", async () => {
    const q = new URLSearchParams({ client_id: info.consent_client_id, scope: "https://graph.microsoft.com/.default", redirect_uri: `${REDIRECT}/`, state: "ac" });
    const { params } = await browse(`${login}/${info.tenant_id}/v2.0/adminconsent?${q}`);
    assert(params.admin_consent === "True" && params.tenant === info.tenant_id, JSON.stringify(params));
    const cca = new msal.ConfidentialClientApplication({
      auth: { clientId: info.consent_client_id, clientSecret: info.consent_client_secret, authority: `${login}/${info.tenant_id}`, knownAuthorities: [host] },
    });
    const result = await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
    assert(claims(result.accessToken).roles.includes("User.Read.All"), "app roles in the token");
    assert(result.fromCache === false, "the first token comes from the token endpoint");
    const cached = await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
    assert(cached.fromCache === true && cached.accessToken === result.accessToken, "served from the cache");
  });
  await check("error: consent required 65001 with suberror", async () => {
    try {
      await pca.acquireTokenSilent({ account: state.account, scopes: ["https://graph.microsoft.com/User.Read.All"] });
    } catch (e) {
      assert(e.errorCode === "invalid_grant", `errorCode ${e.errorCode}`);
      assert(e.subError === "consent_required", `subError ${e.subError}`);
      assert(/AADSTS65001/.test(e.errorMessage), e.errorMessage);
      return;
    }
    throw new Error("got a token without consent");
  });
  await check("error: reused code 54005", async () => {
    try {
      await pca.acquireTokenByCode({ code: state.code, scopes: ["User.Read"], redirectUri: REDIRECT, codeVerifier: state.verifier });
    } catch (e) {
      assert(e.errorCode === "invalid_grant" && /AADSTS54005/.test(e.errorMessage), `${e.errorCode}: ${e.errorMessage}`);
      return;
    }
    throw new Error("a spent code was accepted");
  });
}
