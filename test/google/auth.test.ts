import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { startServer, sendJson, type Emulator } from '../emulator/core';
import { oauthModule } from '../emulator/oauth';
import { UserError } from '../../lib/errors';
import { loadAuth, type AuthLogger } from '../../lib/google/auth';
import { formatPythonExpiry, parseTokenFile } from '../../lib/google/token-file';

const GMAIL = 'https://www.googleapis.com/auth/gmail.modify';
const PUBSUB = 'https://www.googleapis.com/auth/pubsub';
const DRIVE = 'https://www.googleapis.com/auth/drive';

let emu: Emulator;
let dir: string;
let env: NodeJS.ProcessEnv;
/** Every string that must never show up in a message or a log line. */
let secrets: string[];

beforeAll(async () => {
  emu = await startServer([oauthModule]);
  // An authenticated route, to see which access token a request carried.
  emu.router.add('test.me', 'GET', '/test/me', (ctx) => sendJson(ctx.res, 200, { email: ctx.user.email }));
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
});
afterAll(() => emu.close());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-'));
  secrets = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function user(email = 'alice@uni.edu') {
  const u = emu.world.addUser(email);
  secrets.push(u.accessToken, u.refreshToken, u.clientSecret);
  return u;
}

function recorder(): AuthLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (o, m) => void lines.push(JSON.stringify({ level: 'info', ...o, msg: m })),
    warn: (o, m) => void lines.push(JSON.stringify({ level: 'warn', ...o, msg: m })),
  };
}

function expectClean(...texts: string[]): void {
  for (const t of texts) for (const s of secrets) expect(t).not.toContain(s);
}

function pyToken(u: ReturnType<typeof user>, o: { expiry?: string | null; tokenUri?: string; scopes?: string[] } = {}): string {
  const expiry = o.expiry === undefined ? '2020-01-01T00:00:00.500000Z' : o.expiry;
  return (
    `{"token": "${u.accessToken}", "refresh_token": "${u.refreshToken}", "token_uri": "${o.tokenUri ?? 'https://oauth2.googleapis.com/token'}", ` +
    `"client_id": "${u.clientId}", "client_secret": "${u.clientSecret}", "scopes": ${JSON.stringify(o.scopes ?? [GMAIL, PUBSUB, DRIVE]).replace(/","/g, '", "')}, ` +
    `"universe_domain": "googleapis.com", "account": ""${expiry === null ? '' : `, "expiry": "${expiry}"`}}`
  );
}

async function me(auth: ReturnType<typeof loadAuth>): Promise<string> {
  const r = await auth.client.request<{ email: string }>({ url: `${emu.url}test/me` });
  return r.data.email;
}

describe('loadAuth: refresh and write-back', () => {
  it('Python-shaped, expired: refreshed at <root>token, file rewritten in Python shape, 0600, refresh token and scopes unchanged', async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    const before = pyToken(u);
    fs.writeFileSync(file, before, { mode: 0o644 });
    const log = recorder();
    const auth = loadAuth(file, { env, log, scopes: [GMAIL] });
    expect(auth.shape).toBe('python');
    expect(auth.scopes).toEqual([GMAIL, PUBSUB, DRIVE]);
    expect(auth.account).toBeUndefined();
    emu.world.counters.clear();

    expect(await me(auth)).toBe('alice@uni.edu');
    await auth.flush();
    expect(emu.world.counters.get('oauth.token')).toBe(1);

    const fresh = auth.client.credentials;
    expect(fresh.access_token).not.toBe(u.accessToken);
    secrets.push(fresh.access_token!);
    const after = fs.readFileSync(file, 'utf8');
    // Byte-compatible: only token and expiry changed; token_uri is still the file's (Google's), not the emulator's.
    expect(after).toBe(before.replace(u.accessToken, fresh.access_token!).replace('2020-01-01T00:00:00.500000Z', formatPythonExpiry(fresh.expiry_date!)));
    expect(after).toMatch(/"expiry": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z"}$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['token.json']);
    const t = parseTokenFile(after, file);
    expect(t.credentials.refreshToken).toBe(u.refreshToken);
    expect(t.credentials.scopes).toEqual([GMAIL, PUBSUB, DRIVE]);

    // The next call uses the new token without another refresh.
    expect(await me(auth)).toBe('alice@uni.edu');
    expect(emu.world.counters.get('oauth.token')).toBe(1);
    expect(log.lines.join('\n')).toContain('Saved the refreshed Google access token');
    expectClean(...log.lines);
  });

  it("without SYFT_BG_GOOGLE_ROOT_URL the file's token_uri is the token endpoint; no expiry means refresh first (as google-auth)", async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    const before = pyToken(u, { expiry: null, tokenUri: `${emu.url}token` });
    fs.writeFileSync(file, before);
    const auth = loadAuth(file, { env: {} });
    emu.world.counters.clear();
    await auth.client.getAccessToken();
    await auth.flush();
    expect(emu.world.counters.get('oauth.token')).toBe(1);
    const after = fs.readFileSync(file, 'utf8');
    expect(after).toBe(before.replace(u.accessToken, auth.client.credentials.access_token!).replace(/}$/, `, "expiry": "${formatPythonExpiry(auth.client.credentials.expiry_date!)}"}`));
  });

  it('Node OAuth2Client-shaped file (client from credentials.json beside it): rewritten in its own shape', async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    const before = JSON.stringify({ access_token: u.accessToken, refresh_token: u.refreshToken, scope: `${GMAIL} ${DRIVE}`, token_type: 'Bearer', expiry_date: 1000 });
    fs.writeFileSync(file, before);
    fs.writeFileSync(path.join(dir, 'credentials.json'), JSON.stringify({ installed: { client_id: u.clientId, client_secret: u.clientSecret } }));
    const auth = loadAuth(file, { env });
    expect(auth.shape).toBe('oauth2client');
    expect(await me(auth)).toBe('alice@uni.edu');
    await auth.flush();
    const c = auth.client.credentials;
    expect(fs.readFileSync(file, 'utf8')).toBe(before.replace(u.accessToken, c.access_token!).replace('"expiry_date":1000', `"expiry_date":${c.expiry_date}`));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // Without credentials.json beside it, the error says what is missing and where to put it.
    fs.rmSync(path.join(dir, 'credentials.json'));
    expect(() => loadAuth(file, { env })).toThrow(/missing "client_id", "client_secret" .*credentials\.json/);
  });

  it('gcloud authorized_user file: refreshed, and the file keeps its bytes (it has no place for an access token)', async () => {
    const u = user();
    const file = path.join(dir, 'adc.json');
    const before = JSON.stringify({ account: '', client_id: u.clientId, client_secret: u.clientSecret, refresh_token: u.refreshToken, type: 'authorized_user', universe_domain: 'googleapis.com' }, null, 2);
    fs.writeFileSync(file, before);
    const auth = loadAuth(file, { env, scopes: [DRIVE] });
    expect(auth.shape).toBe('authorized_user');
    expect(auth.scopes).toEqual([]);
    expect(await me(auth)).toBe('alice@uni.edu');
    await auth.flush();
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  it('invalid_grant (revoked) becomes a UserError telling the user to re-run syft-bg init, with no secret anywhere in it', async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(file, pyToken(u));
    const r = await fetch(`${emu.url}revoke?token=${encodeURIComponent(u.refreshToken)}`, { method: 'POST' });
    expect(r.status).toBe(200);
    const log = recorder();
    const auth = loadAuth(file, { env, log });
    const e = await me(auth).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(UserError);
    const msg = (e as UserError).message;
    expect(msg).toContain('invalid_grant');
    expect(msg).toContain("syft-bg init");
    expect(msg).toContain(file);
    expectClean(msg, inspect(e, { depth: 20 }), String((e as Error).stack), ...log.lines);
    expect(fs.readFileSync(file, 'utf8')).toBe(pyToken(u));
  });

  it('invalid_client and other token-endpoint failures carry no secret either', async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(file, pyToken(u).replace(u.clientSecret, 'GOCSPX-wrong-secret-value'));
    secrets.push('GOCSPX-wrong-secret-value');
    const bad = await loadAuth(file, { env })
      .client.getAccessToken()
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    expect(bad).toBeInstanceOf(UserError);
    expect((bad as Error).message).toContain('invalid_client');
    expectClean(inspect(bad, { depth: 20 }));

    fs.writeFileSync(file, pyToken(u));
    emu.world.faults.push({ route: 'oauth.token', status: 500, count: 4 });
    const e = await loadAuth(file, { env })
      .client.getAccessToken()
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    emu.world.faults = [];
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(UserError);
    expect((e as { status?: number }).status).toBe(500);
    expectClean(inspect(e, { depth: 20 }), String((e as Error).stack), JSON.stringify(e));
  });

  it('a token that lacks a needed scope is refused up front, naming the scope', () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(file, pyToken(u, { scopes: [DRIVE] }));
    expect(() => loadAuth(file, { env, scopes: [GMAIL] })).toThrow(/does not allow gmail\.modify \(it has drive\)/);
    // https://mail.google.com/ covers gmail.modify.
    fs.writeFileSync(file, pyToken(u, { scopes: ['https://mail.google.com/', DRIVE] }));
    expect(loadAuth(file, { env, scopes: [GMAIL, DRIVE] }).scopes).toEqual(['https://mail.google.com/', DRIVE]);
    // Whatever sits in "scopes" is not echoed unless it is a scope (a hand-edited file may hold a token there).
    fs.writeFileSync(file, pyToken(u, { scopes: [u.refreshToken, DRIVE] }));
    const e = (() => {
      try {
        loadAuth(file, { env, scopes: [GMAIL] });
      } catch (x) {
        return x as Error;
      }
      throw new Error('loadAuth accepted a token without gmail.modify');
    })();
    expect(e.message).toContain('does not allow gmail.modify (it has (not a scope), drive)');
    expectClean(e.message);
  });
});

describe('loadAuth: write-backs with other writers around', () => {
  it('serialises concurrent write-backs: the last refresh wins, no temp files, always a valid Python file', async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(file, pyToken(u));
    const auth = loadAuth(file, { env });
    for (let i = 1; i <= 20; i++) auth.client.emit('tokens', { access_token: `ya29.n${i}`, expiry_date: Date.UTC(2030, 0, 1, 0, 0, i), token_type: 'Bearer' });
    await auth.flush();
    const t = parseTokenFile(fs.readFileSync(file, 'utf8'), file);
    expect(t.credentials.accessToken).toBe('ya29.n20');
    expect(t.credentials.refreshToken).toBe(u.refreshToken);
    expect(fs.readdirSync(dir)).toEqual(['token.json']);
  });

  it('two services on one file refreshing at once both work and leave one valid file', async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(file, pyToken(u));
    const a = loadAuth(file, { env });
    const b = loadAuth(file, { env });
    expect(await Promise.all([me(a), me(b)])).toEqual(['alice@uni.edu', 'alice@uni.edu']);
    await Promise.all([a.flush(), b.flush()]);
    const t = parseTokenFile(fs.readFileSync(file, 'utf8'), file);
    expect([a.client.credentials.access_token, b.client.credentials.access_token]).toContain(t.credentials.accessToken);
    expect(t.credentials.refreshToken).toBe(u.refreshToken);
    expect(t.credentials.scopes).toEqual([GMAIL, PUBSUB, DRIVE]);
  });

  it('keeps what another writer changed (scopes, keys) and leaves a file holding another sign-in alone', async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(file, pyToken(u));
    const log = recorder();
    const auth = loadAuth(file, { env, log });
    // The Python tool rewrote the file meanwhile (same grant, different scopes list, an extra key).
    fs.writeFileSync(file, pyToken(u, { scopes: [DRIVE] }).replace(/}$/, ', "quota_project_id": "p"}'));
    auth.client.emit('tokens', { access_token: 'ya29.mine', expiry_date: Date.UTC(2030, 0, 1) });
    await auth.flush();
    expect(fs.readFileSync(file, 'utf8')).toBe(
      pyToken(u, { scopes: [DRIVE], expiry: '2030-01-01T00:00:00Z' }).replace(u.accessToken, 'ya29.mine').replace(/}$/, ', "quota_project_id": "p"}'),
    );

    // Someone signed in again (another refresh token): not ours to overwrite.
    const other = user('bob@uni.edu');
    fs.writeFileSync(file, pyToken(other));
    auth.client.emit('tokens', { access_token: 'ya29.mine2', expiry_date: Date.UTC(2030, 0, 2) });
    await auth.flush();
    expect(fs.readFileSync(file, 'utf8')).toBe(pyToken(other));
    expect(log.lines.join('\n')).toContain('another sign-in');

    // Removed (signed out): not recreated.
    fs.rmSync(file);
    auth.client.emit('tokens', { access_token: 'ya29.mine3', expiry_date: Date.UTC(2030, 0, 3) });
    await auth.flush();
    expect(fs.existsSync(file)).toBe(false);
    expect(log.lines.join('\n')).toContain('removed');
    expectClean(...log.lines);
    for (const l of log.lines) expect(l).not.toMatch(/ya29\.mine/);
  });

  it('replaces a half-written file (the Python tool writes in place) with the full token', async () => {
    const u = user();
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(file, pyToken(u));
    const auth = loadAuth(file, { env, rereadDelayMs: 1 });
    fs.writeFileSync(file, pyToken(u).slice(0, 40));
    auth.client.emit('tokens', { access_token: 'ya29.mine', expiry_date: Date.UTC(2030, 0, 1) });
    await auth.flush();
    expect(fs.readFileSync(file, 'utf8')).toBe(pyToken(u, { expiry: '2030-01-01T00:00:00Z' }).replace(u.accessToken, 'ya29.mine'));
  });
});
