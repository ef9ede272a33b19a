/// <reference types="jest" />
/**
 * The emulator's admin API over HTTP: fault validation (a typo must never silently fail to fire), admin routes kept
 * out of the counters and faults (they are not API traffic), the consent and token-lifetime settings. API calls go
 * through the real @googleapis clients.
 */
import { startEmulator, type Emulator } from './index';
import { makeOAuthClient, makeDrive, makeGmail, callOptions } from '../../lib/google/clients';

let emu: Emulator;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  emu = await startEmulator();
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
});
afterAll(() => emu.close());
beforeEach(async () => {
  const r = await fetch(`${emu.url}__admin/reset`, { method: 'POST' });
  expect(r.status).toBe(200);
});

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; data: any }> {
  const r = await fetch(`${emu.url}__admin/${path}`, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: r.status, data: await r.json() };
}

async function clients(email = 'do@example.org') {
  const u = (await admin('POST', 'users', { email })).data as { accessToken: string; refreshToken: string; clientId: string; clientSecret: string };
  const auth = makeOAuthClient(u, env);
  auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3600_000 });
  return { u, drive: makeDrive(auth, env), gmail: makeGmail(auth, env) };
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    const s = (e as { response?: { status: number } }).response?.status;
    if (s === undefined) throw e;
    return s;
  }
}

describe('POST /__admin/faults', () => {
  it('invalid JSON is 400 with the parser message, never an "Emulator bug" 500', async () => {
    for (const body of ['{"route": "drive.files.list", ', 'not json', '[{]']) {
      const r = await admin('POST', 'faults', body);
      expect(r.status).toBe(400);
      expect(r.data.error.message).toMatch(/^Invalid JSON payload received: /);
      expect(r.data.error.errors[0].reason).toBe('parseError');
    }
    expect(emu.world.faults).toEqual([]);
  });

  it('an unknown route is 400 naming it and listing the known ones; nothing is added', async () => {
    const r = await admin('POST', 'faults', { route: 'drive.file.list', status: 503 });
    expect(r.status).toBe(400);
    expect(r.data.error.message).toMatch(/^fault: unknown route 'drive\.file\.list'; known routes: .*drive\.files\.list/);
    // Admin routes are not API routes: they cannot be faulted.
    for (const route of ['admin.gmail.deliver', 'gmail.deliver', 'admin.users', 'drvie.*', '']) {
      const x = await admin('POST', 'faults', { route, status: 500 });
      expect(x.status).toBe(400);
    }
    // One bad fault in a list adds none of them, and says which one.
    const list = await admin('POST', 'faults', [{ route: 'drive.files.list', status: 503 }, { route: 'gmail.message.send', status: 429 }]);
    expect(list.status).toBe(400);
    expect(list.data.error.message).toMatch(/^fault 1: unknown route 'gmail\.message\.send'/);
    expect(emu.world.faults).toEqual([]);
  });

  it('unknown fields, wrong types and faults that do nothing are 400', async () => {
    const cases: [unknown, RegExp][] = [
      [{ route: 'drive.files.list', stauts: 503 }, /unknown field stauts/],
      [{ route: 'drive.files.list', status: '503' }, /status must be an HTTP error status/],
      [{ route: 'drive.files.list', status: 200 }, /status must be an HTTP error status/],
      [{ route: 'drive.files.list', status: 503, count: 0 }, /count must be/],
      [{ route: 'drive.files.list', latencyMs: -1 }, /latencyMs must be/],
      [{ route: 'drive.files.list', drop: 'yes' }, /drop must be true or false/],
      [{ route: 'drive.files.list', reason: 'x' }, /a fault needs status, latencyMs or drop/],
      [{ status: 503 }, /route is required/],
      ['"drive.files.list"', /expected an object/],
    ];
    for (const [body, msg] of cases) {
      const r = await admin('POST', 'faults', body);
      expect([r.status, r.data.error.message]).toEqual([400, expect.stringMatching(msg)]);
    }
    expect(emu.world.faults).toEqual([]);
  });

  it('exact keys, * and prefix wildcards are accepted and fire on the API route', async () => {
    const { drive, gmail } = await clients();
    const ok = await admin('POST', 'faults', [
      { route: 'drive.files.list', status: 503, count: 1 },
      { route: 'gmail.*', status: 429, reason: 'rateLimitExceeded' },
    ]);
    expect(ok.status).toBe(200);
    expect(ok.data.faults).toHaveLength(2);
    expect(await status(drive.files.list({}, callOptions(env)))).toBe(503);
    expect(await status(drive.files.list({}, callOptions(env)))).toBe(200);
    expect(await status(gmail.users.getProfile({ userId: 'me' }, callOptions(env)))).toBe(429);
    expect((await admin('POST', 'faults', { route: '*', status: 500 })).status).toBe(200);
    expect(await status(drive.about.get({ fields: 'user' }, callOptions(env)))).toBe(500);
    expect(emu.world.faults).toEqual([]);
  });
});

describe('POST /__admin/users', () => {
  it('an email that is not an address, or a scope that is not one, is 400 naming it; nothing is created', async () => {
    const cases: [unknown, RegExp][] = [
      [{ email: 'notanemail' }, /^email "notanemail" is not an e-mail address/],
      [{ email: 'do@localhost' }, /is not an e-mail address/],
      [{ email: 'two words@example.org' }, /is not an e-mail address/],
      [{ email: 'a@b@example.org' }, /is not an e-mail address/],
      [{ email: 'do@example.org', scopes: ['bogus'] }, /^scope "bogus" is not an OAuth scope/],
      [{ email: 'do@example.org', scopes: ['https://www.googleapis.com/auth/drive', 'drive'] }, /^scope "drive" is not an OAuth scope/],
      [{ email: 'do@example.org', scopes: ['http://www.googleapis.com/auth/drive'] }, /not an OAuth scope/],
      [{ email: 'do@example.org', scopes: [] }, /scopes must be a non-empty array of strings/],
    ];
    for (const [body, msg] of cases) {
      const r = await admin('POST', 'users', body);
      expect([r.status, r.data.error.message]).toEqual([400, expect.stringMatching(msg)]);
      expect(r.data.error.errors[0].reason).toBe('badRequest');
    }
    expect(emu.world.users.size).toBe(0);
    expect(emu.world.tokens.size).toBe(0);
  });

  it('scope URLs and the OpenID Connect short forms are accepted; the tokens carry them', async () => {
    const scopes = ['openid', 'email', 'profile', 'https://mail.google.com/', 'https://www.googleapis.com/auth/gmail.modify'];
    const r = await admin('POST', 'users', { email: 'Do.Owner+tag@Example.org', scopes });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ email: 'Do.Owner+tag@Example.org', scopes });
    expect(emu.world.tokens.get(r.data.accessToken)?.scopes).toEqual(scopes);
  });
});

describe('admin routes are not API traffic', () => {
  it('they are neither counted nor matched by * faults (benchmarks count Drive calls with the counters)', async () => {
    const { drive } = await clients();
    expect((await admin('DELETE', 'counters')).status).toBe(200);
    expect((await admin('POST', 'faults', [{ route: '*', status: 503 }, { route: 'gmail.*', status: 503 }])).status).toBe(200);

    // Every kind of admin call, while the faults are armed: all answer normally.
    expect((await admin('POST', 'users', { email: 'ds@example.com' })).status).toBe(200);
    expect((await admin('POST', 'clients')).status).toBe(200);
    const d = await admin('POST', 'gmail/deliver', { to: 'do@example.org', from: 'ds@example.com', subject: 'hi', text: 'x' });
    expect(d.status).toBe(200);
    expect((await admin('POST', 'gmail/history', { email: 'do@example.org' })).status).toBe(200);
    expect((await fetch(`${emu.url}__admin/gmail/mailbox?email=do@example.org`)).status).toBe(200);
    expect((await admin('POST', 'oauth/consent', {})).status).toBe(200);
    const x = (await admin('POST', 'users', { email: 'x@example.org' })).data as { accessToken: string };
    expect((await admin('POST', 'oauth/expire', { accessToken: x.accessToken })).status).toBe(200);
    expect((await admin('POST', 'oauth/lifetime', { seconds: 3600 })).status).toBe(200);
    const counters = await admin('GET', 'counters');
    expect(counters).toEqual({ status: 200, data: {} });
    expect(emu.world.faults).toHaveLength(2);

    // The first API call takes the * fault, and is counted.
    expect(await status(drive.files.list({}, callOptions(env)))).toBe(503);
    expect((await admin('GET', 'counters')).data).toEqual({ 'drive.files.list': 1 });
    expect(emu.world.faults).toEqual([{ route: 'gmail.*', status: 503 }]);
  });
});

describe('POST /__admin/oauth/lifetime and /__admin/oauth/consent', () => {
  afterEach(() => {
    emu.world.tokenLifetimeS = 3600;
  });

  it('sets expires_in of tokens issued from then on; reset keeps it; bad values are 400', async () => {
    for (const bad of [{ seconds: 0 }, { seconds: 1.5 }, { seconds: '60' }, {}, [60]]) expect((await admin('POST', 'oauth/lifetime', bad)).status).toBe(400);
    expect(await admin('POST', 'oauth/lifetime', { seconds: 120 })).toEqual({ status: 200, data: { seconds: 120 } });
    expect((await admin('POST', 'reset')).status).toBe(200);
    const u = (await admin('POST', 'users', { email: 'do@example.org' })).data;
    const t0 = emu.world.tokens.get(u.accessToken)!;
    expect(t0.expiresAt - Date.now()).toBeGreaterThan(110_000);
    expect(t0.expiresAt - Date.now()).toBeLessThanOrEqual(120_000);
    const r = await fetch(`${emu.url}token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: u.refreshToken, client_id: u.clientId, client_secret: u.clientSecret }),
    });
    expect(((await r.json()) as { expires_in: number }).expires_in).toBe(120);
  });

  it('consent validation: scopes must be an array of strings, deny a boolean, the body an object', async () => {
    for (const bad of [{ scopes: 'https://www.googleapis.com/auth/drive' }, { scopes: [1] }, { deny: 'yes' }, { email: 3 }, '[1]', '{x']) {
      expect((await admin('POST', 'oauth/consent', bad)).status).toBe(400);
    }
    expect(await admin('POST', 'oauth/consent', { scopes: ['https://www.googleapis.com/auth/gmail.modify'] })).toEqual({
      status: 200,
      data: { email: null, deny: false, scopes: ['https://www.googleapis.com/auth/gmail.modify'] },
    });
    expect((await admin('POST', 'oauth/consent', {})).data).toEqual({ email: null, deny: false, scopes: null });
  });
});
