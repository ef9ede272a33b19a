/**
 * OAuth 2.0 module of the emulator: the token endpoint (refresh_token and authorization_code + PKCE grants), an
 * authorization endpoint that consents automatically and redirects to a loopback redirect URI, and token revocation.
 *
 * Semantics follow Google's "OAuth 2.0 for iOS & Desktop Apps" (loopback redirect + PKCE):
 *   https://developers.google.com/identity/protocols/oauth2/native-app
 * and RFC 6749 (OAuth 2.0) §4.1, §5.2 / RFC 7636 (PKCE) / RFC 7009 (revocation).
 *
 * Routes (all registered with auth: false):
 *   oauth.token      POST /token
 *   oauth.authorize  GET  /o/oauth2/v2/auth
 *   oauth.revoke     POST /revoke?token=…            (also accepts the token in a form body)
 *   admin.oauth.consent  POST /__admin/oauth/consent {email?, deny?, scopes?}
 *   admin.oauth.expire   POST /__admin/oauth/expire {accessToken?}
 *   admin.oauth.lifetime POST /__admin/oauth/lifetime {seconds}
 *
 * Every access token records the OAuth client it was issued to (the authenticated `client_id` at the token
 * endpoint), which Drive uses to keep `appProperties` private to each app.
 */
import * as crypto from 'node:crypto';
import type * as http from 'node:http';
import { HttpError, Module, RequestContext, Router, World, adminObject, newId, sendJson } from './core';

interface AuthCode {
  clientId: string;
  redirectUri: string;
  email: string;
  scopes: string[];
  /** RFC 7636 code_challenge and its method (`S256` or `plain`); undefined when the request used no PKCE. */
  challenge?: string;
  method?: 'S256' | 'plain';
  offline: boolean;
  expiresAt: number;
}

export interface OAuthState {
  codes: Map<string, AuthCode>;
  /** Set by `POST /__admin/oauth/consent`: who consents next, or deny every request. */
  consentEmail?: string;
  deny: boolean;
  /**
   * Set by `POST /__admin/oauth/consent {scopes}`: the scopes the user leaves ticked on the consent screen; the
   * others requested are not granted (granular consent). Undefined: everything requested is granted.
   */
  grantScopes?: string[];
  /** Lifetime of an authorization code (Google's are short-lived; RFC 6749 §4.1.2 recommends at most 10 minutes). */
  codeLifetimeS: number;
}

export function oauthState(world: World): OAuthState {
  return world.module<OAuthState>('oauth', () => ({ codes: new Map(), deny: false, codeLifetimeS: 600 }));
}

/** Token endpoint error (RFC 6749 §5.2): `{error, error_description}`, never cached. */
function tokenError(res: http.ServerResponse, status: number, error: string, description?: string): void {
  sendJson(res, status, description === undefined ? { error } : { error, error_description: description }, NO_STORE);
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };
const EXPIRED_OR_REVOKED = 'Token has been expired or revoked.';

/** Form-encoded (the standard) or JSON (Google accepts it too) request parameters. */
function formParams(ctx: RequestContext): URLSearchParams {
  const type = String(ctx.req.headers['content-type'] ?? '');
  const text = ctx.body.toString('utf8');
  if (/application\/json/i.test(type)) {
    try {
      const o = JSON.parse(text || '{}') as Record<string, unknown>;
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) p.set(k, String(v));
      return p;
    } catch {
      return new URLSearchParams();
    }
  }
  return new URLSearchParams(text);
}

/**
 * Client authentication, RFC 6749 §2.3.1: `client_id` + `client_secret` in the body, or HTTP Basic with both
 * form-urlencoded. Google answers 401 `invalid_client` for an unknown client or a wrong secret.
 */
function authenticateClient(ctx: RequestContext, world: World, p: URLSearchParams): string | undefined {
  let id = p.get('client_id') ?? undefined;
  let secret = p.get('client_secret') ?? undefined;
  const m = /^Basic\s+(.+)$/i.exec(String(ctx.req.headers.authorization ?? ''));
  if (m) {
    const decoded = Buffer.from(m[1]!.trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    if (i >= 0) {
      id = dec(decoded.slice(0, i));
      secret = dec(decoded.slice(i + 1));
    }
  }
  if (!id) {
    tokenError(ctx.res, 400, 'invalid_request', 'Could not determine client ID from request.');
    return undefined;
  }
  const known = world.clients.get(id);
  if (known === undefined) {
    tokenError(ctx.res, 401, 'invalid_client', 'The OAuth client was not found.');
    return undefined;
  }
  if (secret !== known) {
    tokenError(ctx.res, 401, 'invalid_client', 'Unauthorized');
    return undefined;
  }
  return id;
}

/** RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~]. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

function pkceOk(code: AuthCode, verifier: string | null): boolean {
  if (code.challenge === undefined) return true; // no PKCE in the authorization request
  if (verifier === null || !VERIFIER.test(verifier)) return false;
  const derived = code.method === 'plain' ? verifier : crypto.createHash('sha256').update(verifier).digest('base64url');
  const a = Buffer.from(derived);
  const b = Buffer.from(code.challenge);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function tokenResponse(world: World, email: string, scopes: string[], clientId: string, refreshToken: string, includeRefresh: boolean) {
  const accessToken = world.issueAccessToken(email, scopes, clientId, refreshToken);
  return {
    access_token: accessToken,
    expires_in: world.tokenLifetimeS,
    ...(includeRefresh ? { refresh_token: refreshToken } : {}),
    scope: scopes.join(' '),
    token_type: 'Bearer',
  };
}

/** `http://127.0.0.1:<port>/…`, `http://[::1]:<port>/…` or `http://localhost…` (native-app guide, "Loopback IP address"). */
function isLoopbackRedirect(uri: string): boolean {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && u.hash === '' && u.username === '';
}

function htmlError(res: http.ServerResponse, status: number, title: string, detail: string): void {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const page = `<!doctype html><html><head><title>Error ${status}: ${esc(title)}</title></head>` +
    `<body><h1>Error ${status}: ${esc(title)}</h1><p>${esc(detail)}</p></body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page), ...NO_STORE });
  res.end(page);
}

/** Revoke a grant: the refresh token and every access token issued from it (RFC 7009 §2.1; Google does the same). */
function revokeGrant(world: World, refreshToken: string): void {
  world.refreshTokens.delete(refreshToken);
  for (const [t, info] of world.tokens) if (info.refreshToken === refreshToken) world.tokens.delete(t);
}

export const oauthModule: Module = (router: Router, world: World) => {
  const state = () => oauthState(world);

  // POST /token — https://developers.google.com/identity/protocols/oauth2/native-app#exchange-authorization-code
  // and #offline (refreshing an access token). Google's refresh answer carries no new refresh_token.
  router.add('oauth.token', 'POST', '/token', (ctx) => {
    const p = formParams(ctx);
    const clientId = authenticateClient(ctx, world, p);
    if (clientId === undefined) return;
    const grant = p.get('grant_type') ?? '';

    if (grant === 'refresh_token') {
      const rt = p.get('refresh_token') ?? '';
      const g = world.refreshTokens.get(rt);
      if (!g || !world.users.has(g.email)) return tokenError(ctx.res, 400, 'invalid_grant', EXPIRED_OR_REVOKED);
      // A refresh token works only for the client it was issued to; Google answers `unauthorized_client`.
      if (g.clientId !== clientId) return tokenError(ctx.res, 401, 'unauthorized_client', 'Unauthorized');
      // An optional `scope` narrows the new access token; it may not widen the grant (RFC 6749 §6).
      let scopes = g.scopes;
      const asked = p.get('scope');
      if (asked !== null && asked.trim() !== '') {
        const want = asked.trim().split(/\s+/);
        const extra = want.filter((s) => !g.scopes.includes(s));
        if (extra.length > 0) return tokenError(ctx.res, 400, 'invalid_scope', `Some requested scopes were invalid. {invalid=[${extra.join(', ')}]}`);
        scopes = want;
      }
      return sendJson(ctx.res, 200, tokenResponse(world, g.email, scopes, clientId, rt, false), NO_STORE);
    }

    if (grant === 'authorization_code') {
      const codeStr = p.get('code') ?? '';
      const st = state();
      const code = st.codes.get(codeStr);
      // Authorization codes are single-use (RFC 6749 §4.1.2): any presentation consumes it.
      st.codes.delete(codeStr);
      if (
        !code ||
        code.expiresAt <= world.now() ||
        code.clientId !== clientId ||
        code.redirectUri !== (p.get('redirect_uri') ?? '') ||
        !pkceOk(code, p.get('code_verifier')) ||
        !world.users.has(code.email)
      ) {
        // Google's descriptions here vary ("Malformed auth code.", "Bad Request", …); the contract fixes one.
        return tokenError(ctx.res, 400, 'invalid_grant', EXPIRED_OR_REVOKED);
      }
      const rt = newId('1//');
      world.refreshTokens.set(rt, { email: code.email, clientId, scopes: code.scopes });
      return sendJson(ctx.res, 200, tokenResponse(world, code.email, code.scopes, clientId, rt, code.offline), NO_STORE);
    }

    return tokenError(ctx.res, 400, 'unsupported_grant_type', `Invalid grant_type: ${grant}`);
  }, { auth: false });

  // GET /o/oauth2/v2/auth — https://developers.google.com/identity/protocols/oauth2/native-app#step-2:-send-a-request-to-googles-oauth-2.0-server
  // Consent is automatic: every requested scope, or only those the admin consent leaves ticked. With granular consent
  // a user may grant a subset of the requested scopes, and only the granted ones come back (redirect and token
  // response `scope`; https://developers.google.com/identity/protocols/oauth2/resources/granular-permissions). No
  // requested scope left ticked → access_denied. Errors about the client or the redirect URI are shown as a page
  // (Google never redirects to an unverified redirect URI); errors about the request after that are redirected with
  // `error=` (RFC 6749 §4.1.2.1).
  router.add('oauth.authorize', 'GET', '/o/oauth2/v2/auth', (ctx) => {
    const q = ctx.url.searchParams;
    const clientId = q.get('client_id') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!world.clients.has(clientId)) return htmlError(ctx.res, 400, 'invalid_client', `The OAuth client was not found: ${clientId}`);
    if (!isLoopbackRedirect(redirectUri)) {
      return htmlError(ctx.res, 400, 'redirect_uri_mismatch', `redirect_uri must be a loopback address (http://127.0.0.1:<port>/…); got '${redirectUri}'`);
    }
    const st = state();
    const stateParam = q.get('state');
    const back = (params: Record<string, string>) => {
      const u = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
      if (stateParam !== null) u.searchParams.set('state', stateParam);
      ctx.res.writeHead(302, { location: u.toString(), 'content-length': 0, ...NO_STORE });
      ctx.res.end();
    };
    if ((q.get('response_type') ?? '') !== 'code') return back({ error: 'unsupported_response_type' });
    const scopes = (q.get('scope') ?? '').trim().split(/\s+/).filter(Boolean);
    if (scopes.length === 0) return back({ error: 'invalid_request', error_description: 'Missing required parameter: scope' });
    const challenge = q.get('code_challenge') ?? undefined;
    const methodParam = q.get('code_challenge_method');
    let method: 'S256' | 'plain' | undefined;
    if (challenge !== undefined) {
      method = methodParam === null ? 'plain' : methodParam === 'S256' || methodParam === 'plain' ? methodParam : undefined;
      if (method === undefined || !VERIFIER.test(challenge)) return back({ error: 'invalid_request', error_description: 'Invalid code_challenge or code_challenge_method' });
    } else if (methodParam !== null) {
      return back({ error: 'invalid_request', error_description: 'code_challenge_method without code_challenge' });
    }
    if (st.deny) return back({ error: 'access_denied' });
    const hint = q.get('login_hint');
    let email: string | undefined;
    if (hint !== null && world.users.has(hint)) email = hint;
    else if (st.consentEmail !== undefined && world.users.has(st.consentEmail)) email = st.consentEmail;
    else if (world.users.size === 1) email = world.users.keys().next().value;
    if (email === undefined) {
      return htmlError(ctx.res, 400, 'no_consenting_user',
        'Emulator: no user to consent. Pass login_hint=<known user>, POST /__admin/oauth/consent {email}, or create exactly one user.');
    }
    const granted = st.grantScopes === undefined ? scopes : scopes.filter((s) => st.grantScopes!.includes(s));
    if (granted.length === 0) return back({ error: 'access_denied' });
    const code = newId('4/0');
    st.codes.set(code, {
      clientId, redirectUri, email, scopes: granted, challenge, method,
      offline: q.get('access_type') === 'offline',
      expiresAt: world.now() + st.codeLifetimeS * 1000,
    });
    back({ code, scope: granted.join(' ') });
  }, { auth: false });

  // POST /revoke?token=… — https://developers.google.com/identity/protocols/oauth2/native-app#tokenrevoke
  // "The token can be an access token or a refresh token. If the token is an access token and it has a
  // corresponding refresh token, the refresh token will also be revoked." Unknown token → 400 invalid_token.
  router.add('oauth.revoke', 'POST', '/revoke', (ctx) => {
    const token = ctx.url.searchParams.get('token') ?? formParams(ctx).get('token') ?? '';
    if (world.refreshTokens.has(token)) {
      revokeGrant(world, token);
    } else {
      const info = world.tokens.get(token);
      if (!info) return tokenError(ctx.res, 400, 'invalid_token', 'Token expired or revoked');
      world.tokens.delete(token);
      if (info.refreshToken !== undefined) revokeGrant(world, info.refreshToken);
    }
    sendJson(ctx.res, 200, {});
  }, { auth: false });

  // Admin: who consents (or deny), and which of the requested scopes they grant (`scopes`: the ones left ticked);
  // `{}` restores the default (login_hint, else the only user; every requested scope).
  router.add('admin.oauth.consent', 'POST', '/__admin/oauth/consent', (ctx) => {
    const b = adminObject(ctx.body);
    if (b.email !== undefined && typeof b.email !== 'string') throw new HttpError(400, 'email must be a string', 'badRequest');
    if (b.deny !== undefined && typeof b.deny !== 'boolean') throw new HttpError(400, 'deny must be true or false', 'badRequest');
    if (b.scopes !== undefined && (!Array.isArray(b.scopes) || b.scopes.some((s) => typeof s !== 'string' || s === '')))
      throw new HttpError(400, 'scopes must be an array of scope strings', 'badRequest');
    const st = state();
    st.consentEmail = b.email as string | undefined;
    st.deny = b.deny === true;
    st.grantScopes = b.scopes as string[] | undefined;
    sendJson(ctx.res, 200, { email: st.consentEmail ?? null, deny: st.deny, scopes: st.grantScopes ?? null });
  }, { auth: false });

  // Admin: the lifetime of access tokens issued from now on (`expires_in`; Google's is 3600 s). Tokens already
  // issued keep theirs. `POST /__admin/reset` keeps the setting.
  router.add('admin.oauth.lifetime', 'POST', '/__admin/oauth/lifetime', (ctx) => {
    const b = adminObject(ctx.body);
    const s = b.seconds;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > MAX_LIFETIME_S)
      throw new HttpError(400, `seconds must be a whole number from 1 to ${MAX_LIFETIME_S}`, 'badRequest');
    world.tokenLifetimeS = s;
    sendJson(ctx.res, 200, { seconds: s });
  }, { auth: false });

  // Admin: expire one access token, or all of them, so that clients must refresh.
  router.add('admin.oauth.expire', 'POST', '/__admin/oauth/expire', (ctx) => {
    const b = adminObject(ctx.body);
    const past = world.now() - 1000;
    let n = 0;
    if (typeof b.accessToken === 'string') {
      const t = world.tokens.get(b.accessToken);
      if (!t) throw new HttpError(404, 'Unknown access token', 'notFound');
      t.expiresAt = past;
      n = 1;
    } else {
      for (const t of world.tokens.values()) {
        t.expiresAt = past;
        n++;
      }
    }
    sendJson(ctx.res, 200, { expired: n });
  }, { auth: false });
};

/** Upper bound of `POST /__admin/oauth/lifetime` and `--token-lifetime` (one year). */
export const MAX_LIFETIME_S = 365 * 24 * 3600;
