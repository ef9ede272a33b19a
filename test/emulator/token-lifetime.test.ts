/// <reference types="jest" />
/**
 * A short access-token lifetime (`POST /__admin/oauth/lifetime`, or `--token-lifetime` on the CLI) against the
 * real token handling: a @googleapis/drive client on the OAuth2Client of lib/google/auth.ts `loadAuth`, with a
 * Python-shaped token.json. The emulator refuses an access token once its lifetime is over, and the client
 * refreshes it exactly once per call that needs it and writes it back (0600).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator } from './index';
import { loadAuth } from '../../lib/google/auth';
import { makeDrive, callOptions } from '../../lib/google/clients';
import { formatPythonExpiry, parseTokenFile } from '../../lib/google/token-file';

const DRIVE = 'https://www.googleapis.com/auth/drive';
const LIFETIME_S = 2;

let emu: Emulator;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator();
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
});
afterAll(() => emu.close());
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifetime-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const oauthCalls = () => emu.world.counters.get('oauth.token') ?? 0;

/** Drive's answer to a bare bearer token (no client, no refresh). */
async function direct(token: string): Promise<number> {
  return (await fetch(`${emu.url}drive/v3/about?fields=user`, { headers: { authorization: `Bearer ${token}` } })).status;
}

it(`with a ${LIFETIME_S} s lifetime: a call, a wait past expiry, a second call that refreshes exactly once and saves the new token`, async () => {
  const set = await fetch(`${emu.url}__admin/oauth/lifetime`, { method: 'POST', body: JSON.stringify({ seconds: LIFETIME_S }) });
  expect(await set.json()).toEqual({ seconds: LIFETIME_S });
  const u = (await (await fetch(`${emu.url}__admin/users`, { method: 'POST', body: JSON.stringify({ email: 'do@example.org', scopes: [DRIVE] }) })).json()) as {
    accessToken: string; refreshToken: string; clientId: string; clientSecret: string;
  };
  const file = path.join(dir, 'token.json');
  // What the Python tool writes after a sign-in: the expiry is when the emulator says the token ends.
  fs.writeFileSync(
    file,
    `{"token": "${u.accessToken}", "refresh_token": "${u.refreshToken}", "token_uri": "https://oauth2.googleapis.com/token", ` +
      `"client_id": "${u.clientId}", "client_secret": "${u.clientSecret}", "scopes": ["${DRIVE}"], "universe_domain": "googleapis.com", ` +
      `"account": "", "expiry": "${formatPythonExpiry(emu.world.tokens.get(u.accessToken)!.expiresAt)}"}`,
    { mode: 0o644 },
  );
  const auth = loadAuth(file, { env, scopes: [DRIVE] });
  const drive = makeDrive(auth.client, env);
  const whoami = async () => (await drive.about.get({ fields: 'user(emailAddress)' }, callOptions(env))).data.user?.emailAddress;
  emu.world.counters.clear();

  // First call. google-auth-library refreshes a token that ends within 5 minutes before using it, so a
  // 2-second token is renewed here already (one refresh).
  expect(await whoami()).toBe('do@example.org');
  await auth.flush();
  expect(oauthCalls()).toBe(1);
  const first = auth.client.credentials.access_token!;
  expect(first).not.toBe(u.accessToken);
  // The emulator answered expires_in = the lifetime: the client's expiry is ~2 s away.
  expect(auth.client.credentials.expiry_date! - Date.now()).toBeLessThanOrEqual(LIFETIME_S * 1000);
  expect(await direct(first)).toBe(200);

  await sleep(LIFETIME_S * 1000 + 300);
  // The emulator enforces the lifetime: the first token is refused now.
  expect(await direct(first)).toBe(401);
  expect(await direct(u.accessToken)).toBe(401);

  // Second call: exactly one more refresh, one Drive request (no 401 round trip), and the file has the new token.
  emu.world.counters.clear();
  expect(await whoami()).toBe('do@example.org');
  await auth.flush();
  expect(Object.fromEntries(emu.world.counters)).toEqual({ 'oauth.token': 1, 'drive.about.get': 1 });
  const second = auth.client.credentials.access_token!;
  expect(second).not.toBe(first);
  expect(await direct(second)).toBe(200);

  const text = fs.readFileSync(file, 'utf8');
  const t = parseTokenFile(text, file);
  expect(t.shape).toBe('python');
  expect(t.credentials.accessToken).toBe(second);
  expect(t.credentials.refreshToken).toBe(u.refreshToken);
  expect(t.credentials.expiryMs).toBe(auth.client.credentials.expiry_date);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.readdirSync(dir)).toEqual(['token.json']);
  // The token_uri in the file is still Google's (the emulator was reached through SYFT_BG_GOOGLE_ROOT_URL).
  expect(text).toContain('"token_uri": "https://oauth2.googleapis.com/token"');

  emu.world.tokenLifetimeS = 3600;
});
