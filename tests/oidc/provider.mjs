// Loopback OpenID Provider for the Rust integration tests.
//
// A real, certified OpenID Provider (panva/oidc-provider) with just enough
// around it to be driven by a cookie-holding HTTP client without JavaScript:
//
//   GET  <authorization_endpoint>?...        -> 303 to /interaction/<uid>
//   GET  /interaction/<uid>                  -> 200 HTML form (login prompt)
//   POST /interaction/<uid>   login=<name>   -> 303 back to /auth/<uid>
//                                              -> 303 to REDIRECT_URI?code=...&state=...&iss=...
//   GET  /interaction/<uid>/abort            -> ... REDIRECT_URI?error=access_denied&state=...
//
// An unknown login name answers 400 with the same form and an error text.
// Consent is never asked: the login POST also grants every scope/claim that
// the authorization request asked for (a consent prompt on a later request in
// the same browser session is likewise granted without a form).
//
// Environment:
//   PORT           port on 127.0.0.1 (0 = any free port; default 0)
//   ISSUER         issuer identifier (default http://127.0.0.1:<port>); set it
//                  to something else to get a discovery document whose issuer
//                  differs from the URL it was fetched from
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URI   the one confidential client
//                  (client_secret_basic and client_secret_post both accepted)
//   POST_LOGOUT_REDIRECT_URI  optional, for RP-initiated logout
//   ACCOUNTS       path of a JSON file {"anna": {"email": ..., "email_verified": true,
//                  "groups": [...]}, ...}; the key is the login name and the sub
//
// When listening it prints exactly one line to stdout:
//   listening http://127.0.0.1:<port>
// Everything else (oidc-provider notices, errors) goes to stderr.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

// stdout carries exactly one line (see below); oidc-provider's NOTICEs use
// console.info, so send console.log/info to stderr like everything else.
console.log = console.error;
console.info = console.error;

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    process.stderr.write(`provider.mjs: environment variable ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

const port = Number(env('PORT', '0'));
const clientId = env('CLIENT_ID');
const clientSecret = env('CLIENT_SECRET');
const redirectUri = env('REDIRECT_URI');
const postLogoutRedirectUri = process.env.POST_LOGOUT_REDIRECT_URI;
const accounts = JSON.parse(readFileSync(env('ACCOUNTS'), 'utf8'));

// In-memory storage for oidc-provider's models (sessions, interactions, codes,
// tokens, grants). Passing our own adapter, rather than relying on the
// built-in one, keeps the "development-only adapter" warning off stderr.
const store = new Map(); // key -> { payload, expiresAt }
class MemoryAdapter {
  constructor(model) { this.model = model; }

  static get(key) {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt && entry.expiresAt < Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
    store.set(`${this.model}:${id}`, { payload, expiresAt });
    if (this.model === 'Session') store.set(`sessionUid:${payload.uid}`, { payload: id, expiresAt });
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, { payload: id, expiresAt });
    if (payload.grantId) {
      const key = `grant:${payload.grantId}`;
      const list = MemoryAdapter.get(key) ?? [];
      list.push(`${this.model}:${id}`);
      store.set(key, { payload: list, expiresAt: undefined });
    }
  }

  async find(id) { return MemoryAdapter.get(`${this.model}:${id}`); }

  async findByUid(uid) {
    const id = MemoryAdapter.get(`sessionUid:${uid}`);
    return id && this.find(id);
  }

  async findByUserCode(userCode) {
    const id = MemoryAdapter.get(`userCode:${userCode}`);
    return id && this.find(id);
  }

  // Marks an authorization code (etc.) as used; a second use of the code is
  // then answered with invalid_grant and the grant's tokens are revoked.
  async consume(id) {
    const payload = await this.find(id);
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(`${this.model}:${id}`); }

  async revokeByGrantId(grantId) {
    for (const key of MemoryAdapter.get(`grant:${grantId}`) ?? []) store.delete(key);
    store.delete(`grant:${grantId}`);
  }
}

// A fresh RS256 signing key for every run (oidc-provider's own dev keys would
// work too but print a warning).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig',
};

function configuration() {
  return {
    adapter: MemoryAdapter,
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      ...(postLogoutRedirectUri ? { post_logout_redirect_uris: [postLogoutRedirectUri] } : {}),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // oidc-provider accepts client_secret_post too for a client registered
      // with client_secret_basic (both are "client secret" methods).
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    // Scope -> claims it releases. `groups` is our custom scope and claim.
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'groups'],
    responseTypes: ['code'], // authorization code flow only
    // Put the scope-requested claims in the ID token too (not only userinfo).
    conformIdTokenClaims: false,
    pkce: { methods: ['S256'], required: () => true },
    features: {
      devInteractions: { enabled: false }, // our own handler below
      resourceIndicators: { enabled: false }, // plain OIDC; no resource parameter
      // RP-initiated logout (end_session_endpoint, /session/end): a plain form,
      // POST /session/end/confirm with its hidden `xsrf` field and logout=yes.
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = `<!DOCTYPE html><html><body><h1>Sign out?</h1>${
            form.replace('</form>', '<button type="submit" name="logout" value="yes">Sign out</button></form>')}</body></html>`;
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = '<!DOCTYPE html><html><body><h1>Signed out</h1></body></html>';
        },
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const account = Object.hasOwn(accounts, id) ? accounts[id] : undefined;
      if (!account) return undefined;
      // oidc-provider filters these down to what the granted scopes/claims allow.
      return { accountId: id, claims: async () => ({ ...account, sub: id }) };
    },
    // Explicit lifetimes in seconds (code 60 s as by default; the rest short, as
    // befits a test). Left unset, oidc-provider prints a NOTICE on first use.
    ttl: {
      AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Grant: 3600, Session: 3600,
    },
    // Plain error page (the default one prints a NOTICE); ctx.status is set already.
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><body><h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p></body></html>`;
    },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // Plain http on loopback: cookies are only marked Secure when the request
    // itself is https, so nothing to change here (and no proxy is involved).
  };
}

// ---- interaction handler (login form + automatic consent) -----------------

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, error) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Test OP sign-in</title></head>
<body>
<h1>Test OP sign-in</h1>
${error ? `<p class="error">${escapeHtml(error)}</p>\n` : ''}<form method="post" action="/interaction/${escapeHtml(uid)}">
<label>Login <input type="text" name="login" autofocus></label>
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>
</body></html>
`;
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// A Grant covering every scope value the authorization request asked for
// (the `claims` request parameter is not enabled, so scopes are all there is).
async function grantEverything(provider, { params }, accountId, existingGrantId) {
  const grant = (existingGrantId && await provider.Grant.find(existingGrantId))
    || new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  return grant.save();
}

async function handleInteraction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'interaction mismatch');

  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  if (details.prompt.name === 'consent') {
    // Already signed in, a consent prompt only: grant it without a form.
    const grantId = await grantEverything(provider, details, details.session.accountId, details.grantId);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  if (req.method === 'GET') return send(res, 200, loginPage(uid));

  const login = (await readForm(req)).get('login')?.trim() ?? '';
  if (!Object.hasOwn(accounts, login)) {
    return send(res, 400, loginPage(uid, `Unknown login name: ${login}`));
  }
  // Login and consent in one result: oidc-provider resumes the authorization
  // request, loads the grant named here and issues the code.
  const grantId = await grantEverything(provider, details, login);
  return provider.interactionFinished(req, res, {
    login: { accountId: login },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

// ---- server ----------------------------------------------------------------

let provider; // created once the port is known (the issuer contains it)
let providerCallback;

const server = createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  const match = /^\/interaction\/([^/]+)(\/abort)?$/.exec(pathname);
  if (!match) return providerCallback(req, res);
  const [, uid, abort] = match;
  if (!['GET', 'POST'].includes(req.method) || (abort && req.method !== 'GET')) {
    return send(res, 405, 'method not allowed');
  }
  try {
    return await handleInteraction(provider, req, res, uid, abort ? 'abort' : undefined);
  } catch (err) {
    // e.g. SessionNotFound when the interaction cookie is missing or expired
    const status = err.statusCode ?? 500;
    process.stderr.write(`interaction error: ${status >= 500 ? err.stack : `${err.name}: ${err.error_description ?? err.message}`}\n`);
    if (!res.headersSent) send(res, status, escapeHtml(`${err.name}: ${err.error_description ?? err.message}`));
    else res.end();
  }
});

server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  const base = `http://127.0.0.1:${actual}`;
  provider = new Provider(process.env.ISSUER || base, configuration());
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack ?? err}\n`));
  providerCallback = provider.callback();
  process.stdout.write(`listening ${base}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { server.close(); process.exit(0); });
}

// Do not outlive the test process that started us (e.g. after a panic that
// skipped killing the child): once re-parented, exit.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 500).unref();
