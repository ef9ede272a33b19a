import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, sendJson, type Emulator } from '../emulator/core';
import { driveModule } from '../emulator/drive';
import { gmailModule } from '../emulator/gmail';
import { oauthModule } from '../emulator/oauth';
import { UserError } from '../../lib/errors';
import { loadAuth } from '../../lib/google/auth';
import {
  authEndpoint,
  buildAuthUrl,
  makePkce,
  openInBrowser,
  parseClientSecrets,
  runDesktopFlow,
  type DesktopFlowOptions,
  type DesktopFlowResult,
} from '../../lib/google/oauth-flow';
import { INIT_SCOPES } from '../../lib/google/scopes';
import { parseTokenFile } from '../../lib/google/token-file';

const GMAIL = 'https://www.googleapis.com/auth/gmail.modify';
const DRIVE = 'https://www.googleapis.com/auth/drive';
const F = '/x/credentials.json';

describe('credentials.json', () => {
  it('reads a Desktop ("installed") client, with Google defaults for missing endpoints', () => {
    const s = parseClientSecrets(
      JSON.stringify({
        installed: {
          client_id: 'id.apps.googleusercontent.com',
          project_id: 'p',
          auth_uri: 'https://accounts.google.com/o/oauth2/auth',
          token_uri: 'https://oauth2.googleapis.com/token',
          auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
          client_secret: 'GOCSPX-x',
          redirect_uris: ['http://localhost'],
        },
      }),
      F,
    );
    expect(s).toEqual({
      kind: 'installed',
      clientId: 'id.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-x',
      authUri: 'https://accounts.google.com/o/oauth2/auth',
      tokenUri: 'https://oauth2.googleapis.com/token',
      redirectUris: ['http://localhost'],
    });
    expect(parseClientSecrets('{"web": {"client_id": "w", "client_secret": "s"}}', F)).toEqual({
      kind: 'web',
      clientId: 'w',
      clientSecret: 's',
      authUri: 'https://accounts.google.com/o/oauth2/auth',
      tokenUri: 'https://oauth2.googleapis.com/token',
      redirectUris: [],
    });
  });

  it('explains what is wrong, naming the file and the key, never the secret', () => {
    expect(() => parseClientSecrets('{"installed": {"client_id": "i"}}', F)).toThrow(`OAuth client file ${F}: missing "installed.client_secret"`);
    expect(() => parseClientSecrets('{"installed": {"client_secret": "GOCSPX-hidden"}}', F)).toThrow(/missing "installed.client_id"$/);
    expect(() => parseClientSecrets('{"type": "service_account"}', F)).toThrow(/Desktop app/);
    expect(() => parseClientSecrets('{"installed": {"client_secret": "GOCSPX-hidden"', F)).toThrow(/not valid JSON$/);
  });
});

describe('authorization URL', () => {
  it('PKCE S256: the challenge is base64url(sha256(verifier)); the verifier has the RFC 7636 alphabet and length', () => {
    const p = makePkce();
    expect(p.verifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
    expect(p.challenge).toBe(crypto.createHash('sha256').update(p.verifier).digest('base64url'));
    expect(makePkce().verifier).not.toBe(p.verifier);
  });

  it('carries every parameter of the native-app flow', () => {
    const u = new URL(
      buildAuthUrl({
        authEndpoint: 'https://accounts.google.com/o/oauth2/auth',
        clientId: 'cid',
        redirectUri: 'http://127.0.0.1:4567/',
        scopes: [GMAIL, DRIVE],
        state: 'st',
        codeChallenge: 'ch',
        loginHint: 'alice@uni.edu',
      }),
    );
    expect(u.origin + u.pathname).toBe('https://accounts.google.com/o/oauth2/auth');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      client_id: 'cid',
      redirect_uri: 'http://127.0.0.1:4567/',
      response_type: 'code',
      scope: `${GMAIL} ${DRIVE}`,
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
      access_type: 'offline',
      prompt: 'consent',
      login_hint: 'alice@uni.edu',
    });
  });

  it("goes to <SYFT_BG_GOOGLE_ROOT_URL>o/oauth2/v2/auth when set, else to credentials.json's auth_uri", () => {
    const s = parseClientSecrets('{"installed": {"client_id": "i", "client_secret": "s", "auth_uri": "https://example.org/auth"}}', F);
    expect(authEndpoint(s, {})).toBe('https://example.org/auth');
    expect(authEndpoint(s, { SYFT_BG_GOOGLE_ROOT_URL: 'http://127.0.0.1:9/' })).toBe('http://127.0.0.1:9/o/oauth2/v2/auth');
  });
});

describe('openInBrowser', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'open-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs xdg-open detached when there is a display; not at all on a headless Linux', async () => {
    const out = path.join(dir, 'args');
    fs.writeFileSync(path.join(dir, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${out}'\n`, { mode: 0o755 });
    const url = 'http://127.0.0.1:1/o/oauth2/v2/auth?a=1&b=2';
    expect(openInBrowser(url, { platform: 'linux', env: { PATH: dir } })).toBe(false);
    expect(openInBrowser(url, { platform: 'linux', env: { PATH: path.join(dir, 'none'), DISPLAY: ':0' } })).toBe(false);
    expect(openInBrowser(url, { platform: 'linux', env: { PATH: dir, DISPLAY: ':0' } })).toBe(true);
    for (let i = 0; i < 100 && !fs.existsSync(out); i++) await new Promise((r) => setTimeout(r, 20));
    expect(fs.readFileSync(out, 'utf8')).toBe(url);
  });
});

describe('runDesktopFlow against the emulator', () => {
  let emu: Emulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let client: { clientId: string; clientSecret: string };
  let credentialsPath: string;
  let tokenPath: string;

  beforeAll(async () => {
    // Drive and Gmail too: after the code exchange the flow asks them which account signed in.
    emu = await startServer([oauthModule, driveModule, gmailModule]);
    emu.router.add('test.me', 'GET', '/test/me', (ctx) => sendJson(ctx.res, 200, { email: ctx.user.email }));
    env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
    client = emu.world.addClient();
    emu.world.addUser('alice@uni.edu', { clientId: client.clientId });
    emu.world.addUser('bob@uni.edu', { clientId: client.clientId });
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-'));
    credentialsPath = path.join(dir, 'credentials.json');
    tokenPath = path.join(dir, 'token.json');
    fs.writeFileSync(
      credentialsPath,
      JSON.stringify({
        installed: {
          client_id: client.clientId,
          client_secret: client.clientSecret,
          auth_uri: 'https://accounts.google.com/o/oauth2/auth',
          token_uri: 'https://oauth2.googleapis.com/token',
          redirect_uris: ['http://localhost'],
        },
      }),
    );
  });
  afterEach(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: '{}' });
    emu.world.faults = [];
    emu.world.counters.clear();
  });

  /** Start the flow; resolve with the printed URL once it is printed. */
  function start(o: Partial<DesktopFlowOptions> = {}) {
    const lines: string[] = [];
    const opened: string[] = [];
    const done: Promise<DesktopFlowResult> = runDesktopFlow({
      credentialsPath,
      tokenPath,
      email: 'alice@uni.edu',
      env,
      openBrowser: false,
      print: (l) => void lines.push(l),
      opener: (u) => (opened.push(u), true),
      ...o,
    });
    done.catch(() => {}); // observed by the tests
    const url = (async () => {
      for (let i = 0; i < 500; i++) {
        const l = lines.find((x) => x.includes('/o/oauth2/v2/auth?'));
        if (l) return l.trim();
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no URL printed: ${lines.join('\n')}`);
    })();
    return { lines, opened, done, url };
  }

  /** The test is the browser: open the URL, take Google's 302, follow it to the loopback server. */
  async function browse(url: string, tamper: (loc: URL) => void = () => {}) {
    const r1 = await fetch(url, { redirect: 'manual' });
    expect(r1.status).toBe(302);
    const loc = new URL(r1.headers.get('location')!);
    tamper(loc);
    const r2 = await fetch(loc);
    return { status: r2.status, body: await r2.text(), loc };
  }

  it('signs in as login_hint and stores one Python-shaped token.json (0600) that works', async () => {
    const f = start();
    const url = await f.url;
    expect(new URL(url).searchParams.get('login_hint')).toBe('alice@uni.edu');
    expect(new URL(url).searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await browse(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('You can close this tab');
    const res = await f.done;
    expect(res).toEqual({ tokenPath, scopes: [GMAIL, DRIVE], missing: [] });
    expect(f.opened).toEqual([]);

    const text = fs.readFileSync(tokenPath, 'utf8');
    expect(fs.statSync(tokenPath).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).sort()).toEqual(['credentials.json', 'token.json']);
    const t = parseTokenFile(text, tokenPath);
    expect(t.shape).toBe('python');
    expect(Object.keys(JSON.parse(text))).toEqual(['token', 'refresh_token', 'token_uri', 'client_id', 'client_secret', 'scopes', 'universe_domain', 'account', 'expiry']);
    expect(text).toMatch(/^\{"token": "ya29\.[^"]+", "refresh_token": "1\/\/[^"]+", "token_uri": "https:\/\/oauth2\.googleapis\.com\/token", /);
    expect(text).toMatch(/"scopes": \["https:\/\/www\.googleapis\.com\/auth\/gmail\.modify", "https:\/\/www\.googleapis\.com\/auth\/drive"\], "universe_domain": "googleapis\.com", "account": "", "expiry": "[^"]+Z"\}$/);
    expect(t.credentials.clientId).toBe(client.clientId);

    // Output: the URL, the scopes, no token and no code.
    const out = f.lines.join('\n');
    expect(out).toContain(`Stored Google token at ${tokenPath} (scopes: gmail.modify, drive)`);
    for (const s of [t.credentials.accessToken!, t.credentials.refreshToken, page.loc.searchParams.get('code')!]) {
      expect(out).not.toContain(s);
      expect(page.body).not.toContain(s);
    }

    const auth = loadAuth(tokenPath, { env, scopes: INIT_SCOPES });
    const me = await auth.client.request<{ email: string }>({ url: `${emu.url}test/me` });
    expect(me.data.email).toBe('alice@uni.edu');
  });

  it('checks the account that signed in with Drive about.get before storing anything', async () => {
    const f = start();
    await browse(await f.url);
    await f.done;
    expect(emu.world.counters.get('drive.about.get')).toBe(1);
    expect(emu.world.counters.get('gmail.profile')).toBeUndefined();
  });

  it('another account than the data owner\'s signs in: nothing stored, an error page, the message naming both', async () => {
    // login_hint only preselects an account: in Google's account chooser the user picks bob (the emulator lets the
    // admin consent decide when the hint is not one of its users).
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ email: 'bob@uni.edu' }) });
    const f = start({ email: 'do@example.com' });
    const url = await f.url;
    expect(new URL(url).searchParams.get('login_hint')).toBe('do@example.com');
    const page = await browse(url);
    const message =
      "You signed in as bob@uni.edu, but this syft-bg is for do@example.com: sign in again with that account (or run 'syft-bg init -e bob@uni.edu').";
    await expect(f.done).rejects.toThrow(new UserError(message, 1));
    const e = await f.done.catch((x: unknown) => x);
    expect((e as UserError).exitCode).toBe(1);
    expect(page.status).toBe(400);
    expect(page.body).toContain('You signed in as bob@uni.edu, but this syft-bg is for do@example.com');
    expect(fs.existsSync(tokenPath)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(['credentials.json']);
    expect(f.lines.join('\n')).not.toContain('Stored Google token');
  });

  it('the same account in other letter case is the same account', async () => {
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ email: 'alice@uni.edu' }) });
    const f = start({ email: 'Alice@Uni.EDU' });
    await browse(await f.url);
    await expect(f.done).resolves.toMatchObject({ scopes: [GMAIL, DRIVE] });
    expect(fs.existsSync(tokenPath)).toBe(true);
  });

  it('Drive not granted: the account is asked from Gmail users.getProfile; a wrong one is refused there too', async () => {
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ scopes: [GMAIL] }) });
    const ok = start();
    await browse(await ok.url);
    await expect(ok.done).resolves.toMatchObject({ scopes: [GMAIL] });
    expect(emu.world.counters.get('drive.about.get')).toBeUndefined();
    expect(emu.world.counters.get('gmail.profile')).toBe(1);

    fs.rmSync(tokenPath);
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ scopes: [GMAIL], email: 'bob@uni.edu' }) });
    const wrong = start({ email: 'do@example.com' });
    await browse(await wrong.url);
    await expect(wrong.done).rejects.toThrow(/^You signed in as bob@uni\.edu, but this syft-bg is for do@example\.com/);
    expect(fs.existsSync(tokenPath)).toBe(false);
  });

  it('Drive refuses about.get: Gmail answers instead; when neither answers, nothing is stored and the reasons are given', async () => {
    emu.world.faults.push({ route: 'drive.about.get', status: 403, reason: 'accessNotConfigured', count: -1 });
    const f = start();
    await browse(await f.url);
    await expect(f.done).resolves.toMatchObject({ scopes: [GMAIL, DRIVE] });
    expect(emu.world.counters.get('gmail.profile')).toBe(1);

    fs.rmSync(tokenPath);
    emu.world.faults.push({ route: 'gmail.profile', status: 403, reason: 'accessNotConfigured', count: -1 });
    const g = start();
    const page = await browse(await g.url);
    const e = (await g.done.catch((x: unknown) => x)) as UserError;
    expect(e).toBeInstanceOf(UserError);
    expect(e.exitCode).toBe(1);
    expect(e.message).toMatch(/^Could not find out which Google account signed in \(drive\.about\.get: HTTP 403 accessNotConfigured: .*; gmail\.profile: HTTP 403 accessNotConfigured: .*\)\. Nothing was stored; re-run 'syft-bg init'\.$/);
    expect(page.status).toBe(400);
    expect(fs.existsSync(tokenPath)).toBe(false);
  });

  it('partial consent: only the granted scopes are stored, the missing ones are reported and warned about', async () => {
    // The user unticks Google Drive on the consent screen.
    const c = await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ scopes: [GMAIL] }) });
    expect(c.status).toBe(200);
    const f = start();
    const url = await f.url;
    expect(new URL(url).searchParams.get('scope')).toBe(`${GMAIL} ${DRIVE}`); // both were asked for
    const page = await browse(url);
    expect(page.loc.searchParams.get('scope')).toBe(GMAIL);
    expect(page.status).toBe(200);
    expect(await f.done).toEqual({ tokenPath, scopes: [GMAIL], missing: [DRIVE] });

    const out = f.lines.join('\n');
    expect(out).toContain(`Stored Google token at ${tokenPath} (scopes: gmail.modify)`);
    expect(out).toContain('Warning: Google did not grant drive; approvals through Google Drive will not work until you sign in again and allow it.');
    const t = parseTokenFile(fs.readFileSync(tokenPath, 'utf8'), tokenPath);
    expect(t.credentials.scopes).toEqual([GMAIL]);
    expect(fs.statSync(tokenPath).mode & 0o777).toBe(0o600);
    // The emulator granted exactly that: the grant and its access token carry Gmail only.
    expect(emu.world.refreshTokens.get(t.credentials.refreshToken)?.scopes).toEqual([GMAIL]);
    expect(emu.world.tokens.get(t.credentials.accessToken!)?.scopes).toEqual([GMAIL]);

    // The services then refuse the token for Drive, and use it for Gmail.
    expect(() => loadAuth(tokenPath, { env, scopes: INIT_SCOPES })).toThrow(/does not allow drive \(it has gmail\.modify\)/);
    const auth = loadAuth(tokenPath, { env, scopes: [GMAIL] });
    expect((await auth.client.request<{ email: string }>({ url: `${emu.url}test/me` })).data.email).toBe('alice@uni.edu');
  });

  it('a consent that grants none of the requested scopes ends like access_denied', async () => {
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ scopes: ['https://www.googleapis.com/auth/calendar'] }) });
    const f = start();
    const page = await browse(await f.url);
    expect(page.loc.searchParams.get('error')).toBe('access_denied');
    await expect(f.done).rejects.toThrow(/access_denied/);
    expect(fs.existsSync(tokenPath)).toBe(false);
  });

  it('opens the browser with the same URL unless told not to', async () => {
    const f = start({ openBrowser: true, email: 'bob@uni.edu' });
    const url = await f.url;
    expect(f.opened).toEqual([url]);
    await browse(url);
    await f.done;
    expect(f.lines.join('\n')).toContain('A browser window should have opened');
  });

  it('access_denied: a clear error, an error page, and no token', async () => {
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ deny: true }) });
    const f = start();
    const page = await browse(await f.url);
    expect(page.status).toBe(400);
    const e = await f.done.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toContain('access_denied');
    expect((e as Error).message).toContain('--no-google');
    expect(fs.existsSync(tokenPath)).toBe(false);
  });

  it('a redirect with the wrong state is refused; nothing stored', async () => {
    const f = start();
    const page = await browse(await f.url, (loc) => loc.searchParams.set('state', 'forged'));
    expect(page.status).toBe(400);
    await expect(f.done).rejects.toThrow(/did not carry the state/);
    expect(fs.existsSync(tokenPath)).toBe(false);
  });

  it('a code Google will not exchange: invalid_grant, without the code in the message', async () => {
    const f = start();
    let code = '';
    await browse(await f.url, (loc) => {
      code = loc.searchParams.get('code')!;
      loc.searchParams.set('code', code + 'x');
    });
    const e = await f.done.then(() => undefined, (x: unknown) => x);
    expect((e as Error).message).toMatch(/refused the sign-in code \(invalid_grant\)/);
    expect((e as Error).message).not.toContain(code);
    expect(fs.existsSync(tokenPath)).toBe(false);
  });

  it('stray requests to the loopback server do not end the flow', async () => {
    const f = start();
    const url = await f.url;
    const redirect = new URL(url).searchParams.get('redirect_uri')!;
    expect((await fetch(new URL('favicon.ico', redirect))).status).toBe(404);
    expect((await fetch(redirect)).status).toBe(400);
    await browse(url);
    await expect(f.done).resolves.toMatchObject({ scopes: [GMAIL, DRIVE] });
  });

  it('a "web" client uses its registered loopback redirect URI (port and path) exactly', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const redirect = `http://127.0.0.1:${port}/oauth2callback`;
    fs.writeFileSync(
      credentialsPath,
      JSON.stringify({ web: { client_id: client.clientId, client_secret: client.clientSecret, redirect_uris: ['https://app.example.org/cb', redirect] } }),
    );
    const f = start();
    const url = await f.url;
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(redirect);
    const page = await browse(url);
    expect(page.loc.pathname).toBe('/oauth2callback');
    expect(page.status).toBe(200);
    await expect(f.done).resolves.toMatchObject({ scopes: [GMAIL, DRIVE] });
  });

  it('times out with a clear error and closes the loopback port', async () => {
    const f = start({ timeoutMs: 300 });
    const url = await f.url;
    await expect(f.done).rejects.toThrow(/Timed out after .* waiting for the Google sign-in/);
    await expect(fetch(new URL(url).searchParams.get('redirect_uri')!)).rejects.toThrow();
    expect(fs.existsSync(tokenPath)).toBe(false);
  });
});
