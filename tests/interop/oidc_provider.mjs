#!/usr/bin/env node
// A third-party, standards-conformant OpenID Connect provider (panva's oidc-provider) for the interop run: the
// wizard's sign-in must work against any conformant provider given its discovery URL, not only our simulator.
//
// Usage: node oidc_provider.mjs KEY_PEM CERT_PEM CLIENT_ID
// Serves HTTPS on 127.0.0.1 (a free port) and prints one JSON line: {"issuer","discovery_url"}. Interactions
// complete at once as alice@example.org (login, then consent), so a browser that follows redirects and keeps
// cookies finishes the flow. Runs until killed.
import https from "node:https";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";

const [keyPath, certPath, clientId] = process.argv.slice(2);
const prefix = process.env.INTEROP_NODE_PREFIX || path.dirname(fileURLToPath(import.meta.url));
const { default: Provider } = await import(pathToFileURL(path.join(prefix, "node_modules/oidc-provider/lib/index.js")).href);

let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = https.createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => handler(req, res));
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `https://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    application_type: "native",
    token_endpoint_auth_method: "none",
    redirect_uris: ["http://localhost/", "http://127.0.0.1/"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  }],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ["interop-only-cookie-key"] },
  claims: { openid: ["sub"], profile: ["name", "preferred_username"], email: ["email"] },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: "Alice Example", preferred_username: "alice@example.org", email: "alice@example.org" }),
  }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: async () => true,
  ttl: { AccessToken: 3600, AuthorizationCode: 60, Grant: 3600, IdToken: 3600, Interaction: 600, RefreshToken: 86400, Session: 3600 },
});
provider.proxy = false;

const callback = provider.callback();
handler = async (req, res) => {
  if (!req.url.startsWith("/interaction/")) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === "login") {
      return await provider.interactionFinished(req, res, { login: { accountId: "alice" } }, { mergeWithLastSubmission: false });
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details.missingOIDCScope;
    if (missing) grant.addOIDCScope(missing.join(" "));
    const claims = details.prompt.details.missingOIDCClaims;
    if (claims) grant.addOIDCClaims(claims);
    const grantId = await grant.save();
    return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e));
  }
};

console.log(JSON.stringify({ issuer, discovery_url: `${issuer}/.well-known/openid-configuration` }));
