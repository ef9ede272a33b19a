/**
 * An access token Google refuses before its expiry (clock skew, revoked early) is refreshed once and the call goes
 * on; a refresh that fails is retried by one layer only (ours), not by gaxios inside each of our attempts as well.
 * Real googleapis clients, the token file of lib/google/auth.ts, the loopback emulator.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type Emulator } from '../emulator/core';
import { oauthModule } from '../emulator/oauth';
import { driveModule } from '../emulator/drive';
import { gmailModule } from '../emulator/gmail';
import { isUserError } from '../../lib/errors';
import { loadAuth } from '../../lib/google/auth';
import { createDriveApi } from '../../lib/google/drive';
import { createGmailApi } from '../../lib/google/gmail';
import { GoogleApiError } from '../../lib/google/retry';
import { parseTokenFile } from '../../lib/google/token-file';

let emu: Emulator;
let dir: string;
let env: NodeJS.ProcessEnv;
const fast = { baseDelayMs: 5, maxDelayMs: 20 };

beforeAll(async () => {
  emu = await startServer([oauthModule, driveModule, gmailModule]);
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
});
afterAll(() => emu.close());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reauth-'));
  emu.world.faults = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const count = (route: string) => emu.world.counters.get(route) ?? 0;

/**
 * A Python-shaped token.json for a new user whose access token Google no longer accepts although the file says it
 * is valid for years (the grant itself is fine unless `revokeGrant`).
 */
function refusedButUnexpired(email: string, o: { revokeGrant?: boolean } = {}) {
  const u = emu.world.addUser(email);
  emu.world.tokens.delete(u.accessToken);
  if (o.revokeGrant) emu.world.refreshTokens.delete(u.refreshToken);
  const file = path.join(dir, 'token.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      token: u.accessToken,
      refresh_token: u.refreshToken,
      token_uri: 'https://oauth2.googleapis.com/token',
      client_id: u.clientId,
      client_secret: u.clientSecret,
      scopes: u.scopes,
      expiry: '2099-01-01T00:00:00Z',
    }),
    { mode: 0o600 },
  );
  emu.world.counters.clear();
  return { u, file, auth: loadAuth(file, { env }) };
}

describe('a 401 on an access token that has not expired', () => {
  it('Drive: refreshed once, the call succeeds, the new token is saved (0600)', async () => {
    const { u, file, auth } = refusedButUnexpired('skew@example.com');
    const drive = createDriveApi(auth.client, { env, retry: fast });
    expect(await drive.whoami()).toBe('skew@example.com');
    await auth.flush();
    expect(count('drive.about.get')).toBe(2);
    expect(count('oauth.token')).toBe(1);
    const saved = parseTokenFile(fs.readFileSync(file, 'utf8'), file).credentials;
    expect(saved.accessToken).not.toBe(u.accessToken);
    expect(saved.refreshToken).toBe(u.refreshToken);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // The next call uses the saved token: no refresh.
    expect(await drive.whoami()).toBe('skew@example.com');
    expect(count('oauth.token')).toBe(1);
  });

  it('Drive upload (a non-idempotent multipart POST with a stream body): refreshed and sent once, one file', async () => {
    const { auth } = refusedButUnexpired('upload@example.com');
    const drive = createDriveApi(auth.client, { env, retry: fast });
    const folder = await drive.createFolder('reauth-upload');
    expect(count('oauth.token')).toBe(1);
    const f = await drive.uploadFile({ name: 'a.txt', parentId: folder.id, content: 'hello' });
    expect(f.id).toBeTruthy();
    const listed = await drive.listFolder(folder.id);
    expect(listed.map((x) => x.name)).toEqual(['a.txt']);
  });

  it('Gmail: refreshed once, the message is sent once', async () => {
    const { auth } = refusedButUnexpired('mailer@example.com');
    const gmail = createGmailApi(auth.client, { env, retry: fast });
    const raw = Buffer.from('From: mailer@example.com\r\nTo: x@example.org\r\nSubject: hi\r\nMessage-ID: <reauth-1@example.com>\r\n\r\nbody\r\n');
    const sent = await gmail.sendRaw(raw);
    expect(sent.id).toBeTruthy();
    expect(count('gmail.messages.send')).toBe(2);
    expect(count('oauth.token')).toBe(1);
    expect((await gmail.findByRfc822MsgId('<reauth-1@example.com>'))?.id).toBe(sent.id);
  });

  it('a refreshed token that is refused again is not refreshed a second time: the 401 surfaces', async () => {
    const { auth } = refusedButUnexpired('still401@example.com');
    const drive = createDriveApi(auth.client, { env, retry: fast });
    // The first 401 is the real one (stale token); the fault answers the retry with the fresh token.
    emu.world.faults.push({ route: 'drive.about.get', status: 401, reason: 'authError', count: 5 });
    const e = await drive.whoami().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(GoogleApiError);
    expect((e as GoogleApiError).status).toBe(401);
    expect(count('oauth.token')).toBe(1);
    expect(count('drive.about.get')).toBe(2);
  });

  it('a revoked grant: one refresh attempt, then the sign-in-again error (no secret in it)', async () => {
    const { u, auth } = refusedButUnexpired('revoked@example.com', { revokeGrant: true });
    const drive = createDriveApi(auth.client, { env, retry: fast });
    const e = await drive.whoami().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isUserError(e)).toBe(true);
    expect((e as Error).message).toMatch(/Google refused the refresh token .* \(invalid_grant/);
    expect((e as Error).message).not.toContain(u.refreshToken);
    expect((e as Error).message).not.toContain(u.clientSecret);
    expect(count('oauth.token')).toBe(1);
  });

  it('concurrent calls share one refresh', async () => {
    const { auth } = refusedButUnexpired('many@example.com');
    const drive = createDriveApi(auth.client, { env, retry: fast });
    const who = await Promise.all(Array.from({ length: 6 }, () => drive.whoami()));
    expect(new Set(who)).toEqual(new Set(['many@example.com']));
    expect(count('oauth.token')).toBe(1);
  });
});

describe('one retry layer for token refreshes', () => {
  it('a token endpoint answering 500: one token request per attempt of ours, not 4 (gaxios) per attempt', async () => {
    const u = emu.world.addUser('t500@example.com');
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ token: u.accessToken, refresh_token: u.refreshToken, token_uri: 'https://oauth2.googleapis.com/token', client_id: u.clientId, client_secret: u.clientSecret, scopes: u.scopes, expiry: '2020-01-01T00:00:00Z' }),
      { mode: 0o600 },
    );
    const auth = loadAuth(file, { env });
    emu.world.counters.clear();
    emu.world.faults.push({ route: 'oauth.token', status: 500, count: -1 });
    const drive = createDriveApi(auth.client, { env, retry: { ...fast, maxAttempts: 3 } });
    const e = await drive.whoami().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(GoogleApiError);
    expect((e as GoogleApiError).duringTokenRefresh).toBe(true);
    expect((e as GoogleApiError).attempts).toBe(3);
    expect(count('oauth.token')).toBe(3);
    expect(count('drive.about.get')).toBe(0);

    // Once the endpoint recovers, the next call refreshes (once) and goes through.
    emu.world.faults = [];
    expect(await drive.whoami()).toBe('t500@example.com');
    expect(count('oauth.token')).toBe(4);
  });
});
