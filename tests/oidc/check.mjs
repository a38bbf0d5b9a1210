// End-to-end check of provider.mjs, the way the Rust tests will use it:
//   node tests/oidc/check.mjs
// Starts the provider (PORT=0), walks the authorization code flow with PKCE
// like a cookie-holding browser without JavaScript, exchanges the code, checks
// the ID token (signature, nonce, email, email_verified, groups), userinfo,
// code replay, client_secret_post, unknown login, cancel, missing PKCE, wrong
// verifier and an overridden ISSUER. Exits 0 when every check passed, 1 otherwise.

import { spawn } from 'node:child_process';
import {
  createHash, createPublicKey, randomBytes, verify,
} from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CLIENT_ID = 'survey-staff';
const CLIENT_SECRET = 'test-secret with spaces & symbols:+/';
const REDIRECT_URI = 'http://127.0.0.1:9/auth/callback'; // never contacted
const POST_LOGOUT_REDIRECT_URI = 'http://127.0.0.1:9/signed-out'; // never contacted
const ACCOUNTS = {
  anna: { email: 'anna@stad.example', email_verified: true, groups: ['lagesbild-samordnare'] },
  bo: { email: 'bo@stad.example', email_verified: false, groups: [] },
};

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) { passed += 1; console.log(`ok - ${name}`); } else {
    failed += 1; console.log(`FAIL - ${name}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  }
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const decodeJson = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

// ---- start the provider ----------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), 'oidc-check-'));
const accountsFile = join(tmp, 'accounts.json');
writeFileSync(accountsFile, JSON.stringify(ACCOUNTS));
const children = [];

function startProvider(extraEnv = {}) {
  const child = spawn(process.execPath, [join(here, 'provider.mjs')], {
    env: {
      ...process.env,
      PORT: '0',
      CLIENT_ID,
      CLIENT_SECRET,
      REDIRECT_URI,
      POST_LOGOUT_REDIRECT_URI,
      ACCOUNTS: accountsFile,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) {
        const m = /^listening (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
        if (m) resolve({ base: m[1], child, stderr: () => stderr, stdout: () => out });
        else reject(new Error(`unexpected first stdout line: ${line}`));
      }
    });
    child.on('exit', (code) => reject(new Error(`provider exited with ${code}: ${stderr}`)));
  });
}

// ---- a minimal cookie-holding, non-following HTTP client ---------------------

class Browser {
  constructor() { this.cookies = new Map(); } // name -> { value, path }

  cookieHeader(url) {
    const { pathname } = new URL(url);
    return [...this.cookies]
      .filter(([, c]) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map(([name, c]) => `${name}=${c.value}`).join('; ');
  }

  store(res) {
    for (const raw of res.headers.getSetCookie()) {
      const [pair, ...attrs] = raw.split(';').map((s) => s.trim());
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      let path = '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v] = attr.split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'expires' && new Date(v) < new Date()) expired = true;
        if (k.toLowerCase() === 'secure') throw new Error(`cookie ${name} is Secure over http`);
      }
      if (expired) this.cookies.delete(name); else this.cookies.set(name, { value, path });
    }
  }

  async request(url, init = {}) {
    const headers = { ...init.headers };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(res);
    return res;
  }

  // Follows redirects (as reqwest would) but stops at REDIRECT_URI, which is
  // the relying party's callback, and returns that URL; otherwise the last response.
  async walk(url, init) {
    let res = await this.request(url, init);
    for (let hops = 0; hops < 10 && [301, 302, 303, 307, 308].includes(res.status); hops += 1) {
      const next = new URL(res.headers.get('location'), url).href;
      if (next.startsWith(REDIRECT_URI) || next.startsWith(POST_LOGOUT_REDIRECT_URI)) return { callback: new URL(next) };
      url = next; // eslint-disable-line no-param-reassign
      res = await this.request(url);
    }
    return { res, url, body: await res.text() };
  }
}

function newAuthRequest(meta, overrides = {}) {
  const verifier = b64url(randomBytes(32));
  const params = {
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email groups',
    state: b64url(randomBytes(16)),
    nonce: b64url(randomBytes(16)),
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    ...overrides,
  };
  for (const [k, v] of Object.entries(params)) if (v === undefined) delete params[k];
  return { url: `${meta.authorization_endpoint}?${new URLSearchParams(params)}`, verifier, ...params };
}

function basicAuth(id, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

async function tokenRequest(meta, form, { basic = true, secret = CLIENT_SECRET } = {}) {
  const body = new URLSearchParams(form);
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = basicAuth(CLIENT_ID, secret);
  else { body.set('client_id', CLIENT_ID); body.set('client_secret', secret); }
  const res = await fetch(meta.token_endpoint, { method: 'POST', headers, body });
  return { status: res.status, json: await res.json() };
}

async function verifyIdToken(meta, idToken) {
  const [h, p, s] = idToken.split('.');
  const header = decodeJson(h);
  const { keys } = await (await fetch(meta.jwks_uri)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  const ok = jwk && verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
  return { header, payload: decodeJson(p), signatureOk: !!ok };
}

// ---- the walk ----------------------------------------------------------------

async function main() {
  const { base, stderr, stdout } = await startProvider();
  check('stdout line is "listening http://127.0.0.1:PORT"', /^http:\/\/127\.0\.0\.1:\d+$/.test(base));

  const meta = await (await fetch(`${base}/.well-known/openid-configuration`)).json();
  check('discovery issuer equals base URL', meta.issuer === base, meta.issuer);
  check('discovery: S256 PKCE', meta.code_challenge_methods_supported?.includes('S256'), meta.code_challenge_methods_supported);
  check('discovery: scopes openid email groups', ['openid', 'email', 'groups'].every((s) => meta.scopes_supported?.includes(s)), meta.scopes_supported);
  check('discovery: groups claim', meta.claims_supported?.includes('groups'), meta.claims_supported);
  check('discovery: client_secret_basic and _post', ['client_secret_basic', 'client_secret_post'].every((m) => meta.token_endpoint_auth_methods_supported?.includes(m)));
  check('discovery: RS256 id tokens', meta.id_token_signing_alg_values_supported?.includes('RS256'));

  // 1. authorize -> login form
  const browser = new Browser();
  const auth = newAuthRequest(meta);
  let step = await browser.walk(auth.url);
  check('authorize leads to a 200 HTML login form', step.res?.status === 200 && /<form method="post" action="\/interaction\/[^"]+">/.test(step.body) && step.body.includes('name="login"'), step.res?.status);
  const formUrl = step.url;
  check('interaction URL is /interaction/<uid>', /^http:\/\/127\.0\.0\.1:\d+\/interaction\/[\w-]+$/.test(formUrl), formUrl);

  // 2. unknown login -> form again with error
  const post = (url, login) => browser.walk(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login }),
  });
  step = await post(formUrl, 'mallory');
  check('unknown login: 400 with the form and an error', step.res?.status === 400 && step.body.includes('Unknown login name') && step.body.includes('name="login"'), step.res?.status);

  // 3. known login -> callback with code and state
  step = await post(formUrl, 'anna');
  const cb = step.callback;
  check('login redirects to REDIRECT_URI with code', !!cb?.searchParams.get('code'), step.res?.status ?? step.body);
  check('callback state matches', cb?.searchParams.get('state') === auth.state);
  check('callback iss is the issuer (RFC 9207)', cb?.searchParams.get('iss') === base, cb?.searchParams.get('iss'));
  const code = cb?.searchParams.get('code');

  // 4. token exchange (client_secret_basic)
  const form = {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: auth.verifier,
  };
  const tok = await tokenRequest(meta, form);
  check('token endpoint 200 (client_secret_basic)', tok.status === 200 && tok.json.id_token && tok.json.access_token, tok.json);
  const { header, payload, signatureOk } = await verifyIdToken(meta, tok.json.id_token);
  check('id_token RS256 and signature verifies against jwks_uri', header.alg === 'RS256' && signatureOk, header);
  check('id_token iss/aud/sub', payload.iss === base && payload.aud === CLIENT_ID && payload.sub === 'anna', payload);
  check('id_token nonce', payload.nonce === auth.nonce, payload.nonce);
  check('id_token email + email_verified', payload.email === 'anna@stad.example' && payload.email_verified === true, payload);
  check('id_token groups', JSON.stringify(payload.groups) === '["lagesbild-samordnare"]', payload.groups);
  console.log(`   id_token payload: ${JSON.stringify(payload)}`);

  // 5. userinfo
  const ui = await (await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.json.access_token}` } })).json();
  check('userinfo returns sub, email, groups', ui.sub === 'anna' && ui.email === 'anna@stad.example' && ui.groups?.[0] === 'lagesbild-samordnare', ui);

  // 6. replaying the code fails
  const replay = await tokenRequest(meta, form);
  check('replayed code -> 400 invalid_grant', replay.status === 400 && replay.json.error === 'invalid_grant', replay);

  // 7. same browser again: session exists, no form, straight to callback; client_secret_post
  const auth2 = newAuthRequest(meta);
  step = await browser.walk(auth2.url);
  check('second authorize in same session goes straight to callback', !!step.callback?.searchParams.get('code'), step.res?.status);
  const tok2 = await tokenRequest(meta, {
    grant_type: 'authorization_code', code: step.callback?.searchParams.get('code'), redirect_uri: REDIRECT_URI, code_verifier: auth2.verifier,
  }, { basic: false });
  check('token endpoint 200 (client_secret_post)', tok2.status === 200 && !!tok2.json.id_token, tok2.json);

  // 8. wrong verifier / wrong secret
  const b2 = new Browser();
  const auth3 = newAuthRequest(meta, { scope: 'openid email' });
  step = await b2.walk(auth3.url);
  step = await b2.walk(step.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'login=bo' });
  const code3 = step.callback?.searchParams.get('code');
  const wrongSecret = await tokenRequest(meta, {
    grant_type: 'authorization_code', code: code3, redirect_uri: REDIRECT_URI, code_verifier: auth3.verifier,
  }, { secret: 'nope' });
  check('wrong client secret -> 401 invalid_client', wrongSecret.status === 401 && wrongSecret.json.error === 'invalid_client', wrongSecret);
  const wrongVerifier = await tokenRequest(meta, {
    grant_type: 'authorization_code', code: code3, redirect_uri: REDIRECT_URI, code_verifier: b64url(randomBytes(32)),
  });
  check('wrong PKCE verifier -> invalid_grant', wrongVerifier.status === 400 && wrongVerifier.json.error === 'invalid_grant', wrongVerifier);

  // 9. without the groups scope there is no groups claim; email_verified false passes through
  const b4 = new Browser();
  const auth4 = newAuthRequest(meta, { scope: 'openid email' });
  step = await b4.walk(auth4.url);
  step = await b4.walk(step.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'login=bo' });
  const tok4 = await tokenRequest(meta, {
    grant_type: 'authorization_code', code: step.callback?.searchParams.get('code'), redirect_uri: REDIRECT_URI, code_verifier: auth4.verifier,
  });
  const p4 = tok4.json.id_token ? decodeJson(tok4.json.id_token.split('.')[1]) : {};
  check('scope without groups: no groups claim, email_verified false', p4.sub === 'bo' && p4.email_verified === false && !('groups' in p4), p4);

  // 10. cancel at the login form
  const b5 = new Browser();
  const auth5 = newAuthRequest(meta);
  step = await b5.walk(auth5.url);
  step = await b5.walk(`${step.url}/abort`);
  check('cancel -> callback with error=access_denied and state', step.callback?.searchParams.get('error') === 'access_denied' && step.callback?.searchParams.get('state') === auth5.state, step.callback?.href);

  // 11. PKCE is required
  const b6 = new Browser();
  const auth6 = newAuthRequest(meta, { code_challenge: undefined, code_challenge_method: undefined });
  step = await b6.walk(auth6.url);
  check('no code_challenge -> callback with error=invalid_request', step.callback?.searchParams.get('error') === 'invalid_request', step.callback?.href ?? step.res?.status);

  // 12. RP-initiated logout, walked like the login: GET the end_session_endpoint,
  // POST its form (hidden xsrf + logout=yes), land on post_logout_redirect_uri.
  step = await browser.walk(`${meta.end_session_endpoint}?${new URLSearchParams({
    id_token_hint: tok.json.id_token, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: 'bye',
  })}`);
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)">/.exec(step.body ?? '')?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(step.body ?? '')?.[1];
  check('end_session shows a plain logout form', step.res?.status === 200 && !!action && !!xsrf && step.body.includes('name="logout" value="yes"'), step.res?.status);
  step = await browser.walk(new URL(action, base).href, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  check('logout redirects to post_logout_redirect_uri with state', step.callback?.href === `${POST_LOGOUT_REDIRECT_URI}?state=bye`, step.callback?.href ?? step.res?.status);
  step = await browser.walk(newAuthRequest(meta).url);
  check('after logout, authorize shows the login form again', step.res?.status === 200 && step.body.includes('name="login"'), step.res?.status);

  check('stdout held exactly the one listening line', stdout() === `listening ${base}\n`, stdout());
  check('no warnings or errors on provider stderr', stderr().trim() === '', stderr());

  // 13. ISSUER override: discovery names a different issuer than where it was fetched
  const other = await startProvider({ ISSUER: 'http://issuer.invalid' });
  const meta2 = await (await fetch(`${other.base}/.well-known/openid-configuration`)).json();
  check('ISSUER override shows in discovery', meta2.issuer === 'http://issuer.invalid' && other.base !== meta2.issuer, meta2.issuer);
}

const timer = setTimeout(() => { console.log('FAIL - timed out'); process.exitCode = 1; cleanup(); process.exit(1); }, 30000);
function cleanup() {
  for (const c of children) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}

try {
  await main();
} catch (err) {
  failed += 1;
  console.log(`FAIL - exception: ${err.stack ?? err}`);
} finally {
  clearTimeout(timer);
  cleanup();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
