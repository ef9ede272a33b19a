/// <reference types="jest" />
/**
 * Conformance of the emulator's OAuth 2.0 module with the real google-auth-library (10.x) and @googleapis/gmail
 * clients: refresh grant, revocation, client authentication, and the loopback authorization-code + PKCE flow of
 * https://developers.google.com/identity/protocols/oauth2/native-app .
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client, type Credentials } from 'google-auth-library';
import { startServer, type Emulator } from './core';
import { oauthModule, oauthState } from './oauth';
import { gmailModule } from './gmail';
import { makeOAuthClient, makeGmail, callOptions } from '../../lib/google/clients';

const GMAIL = 'https://www.googleapis.com/auth/gmail.modify';
const DRIVE = 'https://www.googleapis.com/auth/drive';

let emu: Emulator;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  emu = await startServer([oauthModule, gmailModule]);
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
});
afterAll(() => emu.close());
beforeEach(() => emu.world.reset());

/** A google-auth-library client with every endpoint on the emulator (makeOAuthClient only moves the token URL). */
function fullClient(c: { clientId: string; clientSecret: string }): OAuth2Client {
  return new OAuth2Client({
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    endpoints: { oauth2TokenUrl: `${emu.url}token`, oauth2AuthBaseUrl: `${emu.url}o/oauth2/v2/auth`, oauth2RevokeUrl: `${emu.url}revoke` },
    transporterOptions: { fetchImplementation: globalThis.fetch as never },
  });
}

/** The rejection of a gaxios call, with its HTTP status and body. */
async function failure(p: Promise<unknown>): Promise<{ status: number; data: any; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { response?: { status: number; data: unknown }; status?: number; message: string };
    return { status: err.response?.status ?? err.status ?? 0, data: err.response?.data, message: err.message };
  }
  throw new Error('expected the call to fail');
}

function postForm(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

describe('refresh_token grant', () => {
  it('refreshes an expired access token at /token and uses the new one (no new refresh_token, as Google)', async () => {
    const u = emu.world.addUser('do@example.org');
    const auth = makeOAuthClient(u, env);
    const events: Credentials[] = [];
    // Copy: the client adds its old refresh_token to the emitted object afterwards.
    auth.on('tokens', (t) => events.push({ ...t }));
    auth.setCredentials({ refresh_token: u.refreshToken, access_token: u.accessToken, expiry_date: Date.now() - 1000 });
    // The server no longer accepts the old token: the call can only succeed with the refreshed one.
    emu.world.tokens.delete(u.accessToken);

    const gmail = makeGmail(auth, env);
    const profile = await gmail.users.getProfile({ userId: 'me' }, callOptions(env));
    expect(profile.data.emailAddress).toBe('do@example.org');

    expect(emu.world.counters.get('oauth.token')).toBe(1);
    expect(events).toHaveLength(1);
    const t = events[0]!;
    expect(t.access_token).toMatch(/^ya29\./);
    expect(t.access_token).not.toBe(u.accessToken);
    expect(t.refresh_token).toBeUndefined();
    expect(t.token_type).toBe('Bearer');
    expect(t.scope!.split(' ').sort()).toEqual([DRIVE, GMAIL].sort());
    expect(t.expiry_date!).toBeGreaterThan(Date.now() + 3000 * 1000);
    expect(emu.world.tokens.get(t.access_token!)?.email).toBe('do@example.org');
    // The client keeps the refresh token it had.
    expect(auth.credentials.refresh_token).toBe(u.refreshToken);

    // A second call reuses the fresh token: no second refresh.
    await gmail.users.getProfile({ userId: 'me' }, callOptions(env));
    expect(emu.world.counters.get('oauth.token')).toBe(1);
  });

  it('a token expired on the server (admin expire) gives 401, and a client without expiry_date refreshes and retries', async () => {
    const u = emu.world.addUser('do@example.org');
    const auth = makeOAuthClient(u, env);
    // What a Python token.json without "expiry" turns into.
    auth.setCredentials({ refresh_token: u.refreshToken, access_token: u.accessToken });
    const res = await postForm('__admin/oauth/expire', {}, {});
    expect(res.status).toBe(200);
    expect(((await res.json()) as { expired: number }).expired).toBe(1);

    const profile = await makeGmail(auth, env).users.getProfile({ userId: 'me' }, callOptions(env));
    expect(profile.data.emailAddress).toBe('do@example.org');
    expect(emu.world.counters.get('gmail.profile')).toBe(2); // 401, then the retry
    expect(emu.world.counters.get('oauth.token')).toBe(1);
  });

  it('expire {accessToken} expires only that token; an unknown one is 404', async () => {
    const a = emu.world.addUser('a@example.org');
    const b = emu.world.addUser('b@example.org');
    const r = await fetch(`${emu.url}__admin/oauth/expire`, { method: 'POST', body: JSON.stringify({ accessToken: a.accessToken }) });
    expect(await r.json()).toEqual({ expired: 1 });
    const call = (tok: string) => fetch(`${emu.url}gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${tok}` } });
    expect((await call(a.accessToken)).status).toBe(401);
    expect((await call(b.accessToken)).status).toBe(200);
    const bad = await fetch(`${emu.url}__admin/oauth/expire`, { method: 'POST', body: JSON.stringify({ accessToken: 'nope' }) });
    expect(bad.status).toBe(404);
  });

  it('invalid_grant after the refresh token is revoked (and its access tokens die with it)', async () => {
    const u = emu.world.addUser('do@example.org');
    const client = fullClient(u);
    await client.revokeToken(u.refreshToken);
    expect(emu.world.counters.get('oauth.revoke')).toBe(1);

    // The access token of the same grant is revoked too.
    const direct = await fetch(`${emu.url}gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${u.accessToken}` } });
    expect(direct.status).toBe(401);
    expect(emu.world.counters.get('gmail.profile')).toBe(1);

    const auth = makeOAuthClient(u, env);
    auth.setCredentials({ refresh_token: u.refreshToken, access_token: u.accessToken, expiry_date: Date.now() - 1 });
    const f = await failure(makeGmail(auth, env).users.getProfile({ userId: 'me' }, callOptions(env)));
    expect(f.status).toBe(400);
    expect(f.data).toEqual({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    expect(emu.world.counters.get('gmail.profile')).toBe(1); // the client never got as far as Gmail
  });

  it('revoking an access token revokes its refresh token too; an unknown token is 400 invalid_token', async () => {
    const u = emu.world.addUser('do@example.org');
    const client = fullClient(u);
    await client.revokeToken(u.accessToken);
    expect(emu.world.refreshTokens.has(u.refreshToken)).toBe(false);
    const r = await postForm('token', { grant_type: 'refresh_token', refresh_token: u.refreshToken, client_id: u.clientId, client_secret: u.clientSecret });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: 'invalid_grant' });
    const f = await failure(client.revokeToken('never-issued'));
    expect(f.status).toBe(400);
    expect(f.data).toMatchObject({ error: 'invalid_token' });
  });

  it('invalid_client (401) for a wrong secret or an unknown client; unauthorized_client for another client\'s token', async () => {
    const u = emu.world.addUser('do@example.org');
    const wrongSecret = makeOAuthClient({ clientId: u.clientId, clientSecret: 'not-the-secret' }, env);
    wrongSecret.setCredentials({ refresh_token: u.refreshToken });
    let f = await failure(wrongSecret.getAccessToken());
    expect(f.status).toBe(401);
    expect(f.data).toMatchObject({ error: 'invalid_client' });

    const unknown = makeOAuthClient({ clientId: 'nobody.apps.googleusercontent.com', clientSecret: 'x' }, env);
    unknown.setCredentials({ refresh_token: u.refreshToken });
    f = await failure(unknown.getAccessToken());
    expect(f.status).toBe(401);
    expect(f.data).toEqual({ error: 'invalid_client', error_description: 'The OAuth client was not found.' });

    const other = emu.world.addClient();
    const r = await postForm('token', { grant_type: 'refresh_token', refresh_token: u.refreshToken, client_id: other.clientId, client_secret: other.clientSecret });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'unauthorized_client' });
  });

  it('accepts HTTP Basic client authentication (RFC 6749 §2.3.1) and answers JSON with no-store', async () => {
    const u = emu.world.addUser('do@example.org');
    const basic = Buffer.from(`${encodeURIComponent(u.clientId)}:${encodeURIComponent(u.clientSecret)}`).toString('base64');
    const r = await postForm('token', { grant_type: 'refresh_token', refresh_token: u.refreshToken }, { authorization: `Basic ${basic}` });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const body = (await r.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(body.expires_in).toBe(emu.world.tokenLifetimeS);
  });

  it('unsupported_grant_type and missing client id are 400', async () => {
    const u = emu.world.addUser('do@example.org');
    let r = await postForm('token', { grant_type: 'password', username: 'x', password: 'y', client_id: u.clientId, client_secret: u.clientSecret });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'unsupported_grant_type', error_description: 'Invalid grant_type: password' });
    r = await postForm('token', { grant_type: 'refresh_token', refresh_token: u.refreshToken });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('a refresh with `scope` narrows the access token (insufficient scopes then give 403); widening is invalid_scope', async () => {
    const u = emu.world.addUser('do@example.org');
    const form = { grant_type: 'refresh_token', refresh_token: u.refreshToken, client_id: u.clientId, client_secret: u.clientSecret };
    const r = await postForm('token', { ...form, scope: DRIVE });
    expect(r.status).toBe(200);
    const t = (await r.json()) as { access_token: string; scope: string };
    expect(t.scope).toBe(DRIVE);
    const auth = makeOAuthClient(u, env);
    auth.setCredentials({ access_token: t.access_token, expiry_date: Date.now() + 3600_000 });
    const f = await failure(makeGmail(auth, env).users.getProfile({ userId: 'me' }, callOptions(env)));
    expect(f.status).toBe(403);
    expect(f.data.error.errors[0].reason).toBe('insufficientPermissions');

    const wide = await postForm('token', { ...form, scope: `${DRIVE} https://mail.google.com/` });
    expect(wide.status).toBe(400);
    expect(await wide.json()).toMatchObject({ error: 'invalid_scope' });
  });
});

describe('authorization code + PKCE over a loopback redirect', () => {
  /** The desktop app's loopback redirect server: records the query of each request. */
  let redirect: http.Server;
  let redirectUri: string;
  const received: URLSearchParams[] = [];
  beforeAll(async () => {
    redirect = http.createServer((req, res) => {
      received.push(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('You may close this window.');
    });
    await new Promise<void>((r) => redirect.listen(0, '127.0.0.1', r));
    redirectUri = `http://127.0.0.1:${(redirect.address() as AddressInfo).port}/oauth2callback`;
  });
  afterAll(() => new Promise<void>((r) => redirect.close(() => r())));
  beforeEach(() => {
    received.length = 0;
  });

  /** Open the consent URL as a browser would (manual redirect), then follow the 302 to the loopback server. */
  async function authorize(url: string): Promise<URLSearchParams> {
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${redirectUri}?`)).toBe(true);
    const cb = await fetch(location);
    expect(cb.status).toBe(200);
    expect(received).toHaveLength(1);
    return received.shift()!;
  }

  async function consentUrl(client: OAuth2Client, extra: Record<string, string> = {}) {
    const { codeVerifier, codeChallenge } = await client.generateCodeVerifierAsync();
    const url = client.generateAuthUrl({
      access_type: 'offline', prompt: 'consent', scope: [GMAIL], state: 'st-123', redirect_uri: redirectUri,
      code_challenge: codeChallenge, code_challenge_method: 'S256' as never, ...extra,
    });
    return { url, codeVerifier };
  }

  it('the whole flow: consent → 302 to the loopback URI with code and state → token exchange → a working Gmail client', async () => {
    emu.world.addUser('ds@example.com');
    const doUser = emu.world.addUser('do@example.org');
    const client = fullClient(doUser);
    const { url, codeVerifier } = await consentUrl(client, { login_hint: 'do@example.org' });
    expect(url.startsWith(`${emu.url}o/oauth2/v2/auth?`)).toBe(true);

    const q = await authorize(url);
    expect(q.get('state')).toBe('st-123');
    expect(q.get('error')).toBeNull();
    const code = q.get('code')!;
    expect(code).toBeTruthy();

    const { tokens } = await client.getToken({ code, codeVerifier, redirect_uri: redirectUri });
    expect(tokens.refresh_token).toMatch(/^1\/\//);
    expect(tokens.access_token).toMatch(/^ya29\./);
    expect(tokens.scope).toBe(GMAIL);
    expect(tokens.token_type).toBe('Bearer');
    expect(emu.world.refreshTokens.get(tokens.refresh_token!)).toEqual({ email: 'do@example.org', clientId: doUser.clientId, scopes: [GMAIL] });
    // The access token records the client it was issued to (Drive keeps appProperties per client).
    expect(emu.world.tokens.get(tokens.access_token!)).toMatchObject({ email: 'do@example.org', clientId: doUser.clientId, scopes: [GMAIL] });

    // The tokens work, for the consenting user, and the refresh token refreshes.
    const auth = makeOAuthClient(doUser, env);
    auth.setCredentials({ ...tokens, expiry_date: Date.now() - 1 });
    const profile = await makeGmail(auth, env).users.getProfile({ userId: 'me' }, callOptions(env));
    expect(profile.data.emailAddress).toBe('do@example.org');
    expect(emu.world.counters.get('oauth.token')).toBe(2);

    // The code is single-use.
    const again = await failure(client.getToken({ code, codeVerifier, redirect_uri: redirectUri }));
    expect(again.status).toBe(400);
    expect(again.data).toEqual({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
  });

  it('the code is bound to the PKCE verifier, the redirect_uri and the client', async () => {
    const u = emu.world.addUser('do@example.org');
    const client = fullClient(u);

    let { url } = await consentUrl(client);
    let code = (await authorize(url)).get('code')!;
    const wrongVerifier = (await client.generateCodeVerifierAsync()).codeVerifier;
    expect((await failure(client.getToken({ code, codeVerifier: wrongVerifier, redirect_uri: redirectUri }))).data).toMatchObject({ error: 'invalid_grant' });

    let v: string;
    ({ url, codeVerifier: v } = await consentUrl(client));
    code = (await authorize(url)).get('code')!;
    expect((await failure(client.getToken({ code, codeVerifier: v, redirect_uri: `${redirectUri}x` }))).data).toMatchObject({ error: 'invalid_grant' });

    ({ url, codeVerifier: v } = await consentUrl(client));
    code = (await authorize(url)).get('code')!;
    expect((await failure(client.getToken({ code, redirect_uri: redirectUri }))).data).toMatchObject({ error: 'invalid_grant' }); // no verifier

    const other = emu.world.addClient();
    ({ url, codeVerifier: v } = await consentUrl(client));
    code = (await authorize(url)).get('code')!;
    const f = await failure(fullClient(other).getToken({ code, codeVerifier: v, redirect_uri: redirectUri }));
    expect(f.status).toBe(400);
    expect(f.data).toMatchObject({ error: 'invalid_grant' });

    // An expired code.
    ({ url, codeVerifier: v } = await consentUrl(client));
    code = (await authorize(url)).get('code')!;
    oauthState(emu.world).codes.get(code)!.expiresAt = Date.now() - 1;
    expect((await failure(client.getToken({ code, codeVerifier: v, redirect_uri: redirectUri }))).data).toMatchObject({ error: 'invalid_grant' });
  });

  it('without access_type=offline there is no refresh_token', async () => {
    const u = emu.world.addUser('do@example.org');
    const client = fullClient(u);
    const { url, codeVerifier } = await consentUrl(client, { access_type: 'online' });
    const code = (await authorize(url)).get('code')!;
    const { tokens } = await client.getToken({ code, codeVerifier, redirect_uri: redirectUri });
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('chooses the consenting user: login_hint, else the admin-set one, else the only user; deny redirects access_denied', async () => {
    const a = emu.world.addUser('a@example.org');
    emu.world.addUser('b@example.org');
    const client = fullClient(a);
    const who = async (extra: Record<string, string> = {}) => {
      const { url, codeVerifier } = await consentUrl(client, extra);
      const code = (await authorize(url)).get('code')!;
      const { tokens } = await client.getToken({ code, codeVerifier, redirect_uri: redirectUri });
      return emu.world.tokens.get(tokens.access_token!)!.email;
    };
    // Two users, no hint, no admin choice: the emulator cannot pick.
    const ambiguous = await fetch((await consentUrl(client)).url, { redirect: 'manual' });
    expect(ambiguous.status).toBe(400);
    expect(await ambiguous.text()).toMatch(/no user to consent/);

    expect(await who({ login_hint: 'b@example.org' })).toBe('b@example.org');
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ email: 'a@example.org' }) });
    expect(await who()).toBe('a@example.org');
    expect(await who({ login_hint: 'b@example.org' })).toBe('b@example.org'); // a known hint wins
    expect(await who({ login_hint: 'stranger@example.org' })).toBe('a@example.org');

    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ deny: true }) });
    const q = await authorize((await consentUrl(client)).url);
    expect(q.get('error')).toBe('access_denied');
    expect(q.get('state')).toBe('st-123');
    expect(q.get('code')).toBeNull();

    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: '{}' });
    emu.world.users.delete('b@example.org');
    expect(await who()).toBe('a@example.org'); // the only user
  });

  it('rejects an unknown client_id or a non-loopback redirect_uri with a 400 page (no redirect)', async () => {
    const u = emu.world.addUser('do@example.org');
    const { url } = await consentUrl(fullClient({ clientId: 'nobody', clientSecret: 'x' }));
    let r = await fetch(url, { redirect: 'manual' });
    expect(r.status).toBe(400);
    expect(r.headers.get('location')).toBeNull();
    expect(await r.text()).toMatch(/invalid_client/);

    for (const bad of ['https://app.example.org/cb', 'http://10.0.0.1:8080/cb', 'urn:ietf:wg:oauth:2.0:oob']) {
      const x = fullClient(u).generateAuthUrl({ scope: GMAIL, redirect_uri: bad, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' as never });
      r = await fetch(x, { redirect: 'manual' });
      expect(r.status).toBe(400);
      expect(await r.text()).toMatch(/redirect_uri_mismatch/);
    }
    // localhost is a loopback redirect too.
    const ok = fullClient(u).generateAuthUrl({ scope: GMAIL, redirect_uri: 'http://localhost:1/', state: 's' });
    r = await fetch(ok, { redirect: 'manual' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toMatch(/^http:\/\/localhost:1\/\?code=[^&]+&scope=.*&state=s$/);
    expect(emu.world.counters.get('oauth.authorize')).toBe(5);
  });
});
