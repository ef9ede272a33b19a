import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer, type Emulator } from '../emulator/core';
import { driveModule } from '../emulator/drive';
import { gmailModule } from '../emulator/gmail';
import { oauthModule } from '../emulator/oauth';
import { makeSandbox, statusJson, waitFor, type Sandbox } from '../helpers/sandbox';
import { parseTokenFile } from '../../lib/google/token-file';
import { syftboxTransportWithToken } from '../../lib/config/resolve';

/** `syft-bg init` with the Google sign-in, through the built binary; the test plays the browser. */
describe('syft-bg init: Google sign-in (built binary)', () => {
  let emu: Emulator;
  let sb: Sandbox;
  let env: NodeJS.ProcessEnv;
  let client: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    // Drive and Gmail too: after the sign-in, init asks Drive (or Gmail) which account signed in.
    emu = await startServer([oauthModule, driveModule, gmailModule]);
    client = emu.world.addClient();
    emu.world.addUser('alice@uni.edu', { clientId: client.clientId });
    emu.world.addUser('other@example.com', { clientId: client.clientId });
    env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
  });
  afterAll(() => emu.close());
  beforeEach(() => (sb = makeSandbox('gsi')));
  afterEach(async () => {
    sb.cleanup();
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: '{}' });
  });

  const tokenPath = () => path.join(sb.syftBgHome, 'token.json');
  const configPath = () => path.join(sb.syftBgHome, 'config.yaml');

  function writeCredentials(file = path.join(sb.syftBgHome, 'credentials.json')): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({
        installed: {
          client_id: client.clientId,
          project_id: 'syft-test',
          auth_uri: 'https://accounts.google.com/o/oauth2/auth',
          token_uri: 'https://oauth2.googleapis.com/token',
          client_secret: client.clientSecret,
          redirect_uris: ['http://localhost'],
        },
      }),
    );
    return file;
  }

  /** Run init, wait for the printed URL, play the browser (302 from the emulator, then the loopback server). */
  async function initWithBrowser(args: string[]) {
    const p = sb.cliAsync(['init', ...args], { env });
    let out = '';
    p.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const url = await waitFor('the sign-in URL on stdout', () => out.split('\n').find((l) => l.includes('/o/oauth2/v2/auth?'))?.trim(), 20_000);
    const r1 = await fetch(url, { redirect: 'manual' });
    expect(r1.status).toBe(302);
    const loc = new URL(r1.headers.get('location')!);
    const r2 = await fetch(loc);
    const page = { status: r2.status, body: await r2.text() };
    const r = await p;
    return { r, url, loc, page };
  }

  it('no token, credentials.json in the home: signs in, stores token.json (Python shape, 0600), config on gmail', async () => {
    writeCredentials();
    const { r, url, loc, page } = await initWithBrowser(['-e', 'alice@uni.edu', '--no-browser']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(new URL(url).searchParams.get('login_hint')).toBe('alice@uni.edu');
    expect(page.status).toBe(200);
    expect(page.body).toContain('You can close this tab');
    expect(r.stdout).toContain(`Stored Google token at ${tokenPath()} (scopes: gmail.modify, drive)`);
    expect(r.stdout).toContain(`Config saved to ${configPath()}`);
    // With a Google token the SyftBox transport is Drive; the SyftBox folder is created all the same (as for the
    // local transport), so a folder that cannot be created fails init rather than the first sync.
    expect(syftboxTransportWithToken(true)).toBe('drive');
    const root = path.join(sb.home, 'SyftBox_alice@uni.edu');
    expect(r.stdout).toContain(`Created SyftBox folder ${root}`);
    expect(fs.statSync(root).isDirectory()).toBe(true);

    const text = fs.readFileSync(tokenPath(), 'utf8');
    expect(fs.statSync(tokenPath()).mode & 0o777).toBe(0o600);
    const t = parseTokenFile(text, tokenPath());
    expect(t.shape).toBe('python');
    expect(t.credentials.scopes).toEqual(['https://www.googleapis.com/auth/gmail.modify', 'https://www.googleapis.com/auth/drive']);
    expect(Object.keys(JSON.parse(text))).toEqual(['token', 'refresh_token', 'token_uri', 'client_id', 'client_secret', 'scopes', 'universe_domain', 'account', 'expiry']);
    for (const s of [t.credentials.accessToken!, t.credentials.refreshToken, t.credentials.clientSecret, loc.searchParams.get('code')!]) {
      expect(r.stdout + r.stderr).not.toContain(s);
    }
    expect(statusJson(sb).config.transports).toMatchObject({ email: 'gmail', syftbox: 'drive' });

    // Again: the token exists, so no sign-in; the config is merged.
    const again = sb.cli(['init', '-e', 'alice@uni.edu', '--no-browser'], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('oauth2');
    expect(fs.readFileSync(tokenPath(), 'utf8')).toBe(text);
  });

  it('--credentials FILE on an existing local config: the merged config switches to gmail', async () => {
    const first = sb.cli(['init', '-e', 'alice@uni.edu'], { env });
    expect(first.code).toBe(0);
    expect(statusJson(sb).config.transports).toMatchObject({ email: 'maildir', syftbox: 'local' });
    const creds = writeCredentials(path.join(sb.dir, 'client_secret_123.json'));
    const { r } = await initWithBrowser(['-e', 'alice@uni.edu', '--credentials', creds, '--no-browser']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('merged with the existing file');
    expect(statusJson(sb).config.transports).toMatchObject({ email: 'gmail', syftbox: 'drive' });
    expect(fs.readFileSync(configPath(), 'utf8')).toContain(`gmail_token_path: ${tokenPath()}`);
  });

  it('partial consent (Drive unticked): exit 0, the warning on stdout, token.json with the granted scope only', async () => {
    writeCredentials();
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ scopes: ['https://www.googleapis.com/auth/gmail.modify'] }) });
    const { r, loc } = await initWithBrowser(['-e', 'alice@uni.edu', '--no-browser']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(loc.searchParams.get('scope')).toBe('https://www.googleapis.com/auth/gmail.modify');
    expect(r.stdout).toContain(`Stored Google token at ${tokenPath()} (scopes: gmail.modify)`);
    expect(r.stdout).toContain('Warning: Google did not grant drive; approvals through Google Drive will not work until you sign in again and allow it.');
    const t = parseTokenFile(fs.readFileSync(tokenPath(), 'utf8'), tokenPath());
    expect(t.credentials.scopes).toEqual(['https://www.googleapis.com/auth/gmail.modify']);
    expect(fs.statSync(tokenPath()).mode & 0o777).toBe(0o600);
  });

  it('access denied: exit 1 with a clear message, nothing written', async () => {
    writeCredentials();
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ deny: true }) });
    const { r, page } = await initWithBrowser(['-e', 'alice@uni.edu', '--no-browser']);
    expect(page.status).toBe(400);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: Google sign-in was cancelled or access was denied (access_denied)');
    expect(fs.existsSync(tokenPath())).toBe(false);
    expect(fs.existsSync(configPath())).toBe(false);
  });

  it('signing in with another account: exit 1 naming both, no token kept, the previous config as it was', async () => {
    // A local set-up first; then the sign-in, where the user picks other@example.com in Google's account chooser
    // (login_hint do@example.com is not an account of the emulator: its admin consent decides who signs in).
    const first = sb.cli(['init', '-e', 'do@example.com', '--no-google'], { env });
    expect(first.code).toBe(0);
    const before = fs.readFileSync(configPath(), 'utf8');
    writeCredentials();
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ email: 'other@example.com' }) });
    const { r, url, page } = await initWithBrowser(['-e', 'do@example.com', '--no-browser']);
    expect(new URL(url).searchParams.get('login_hint')).toBe('do@example.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "Error: You signed in as other@example.com, but this syft-bg is for do@example.com: sign in again with that account (or run 'syft-bg init -e other@example.com').\n",
    );
    expect(page.status).toBe(400);
    expect(r.stdout).not.toContain('Stored Google token');
    expect(fs.existsSync(tokenPath())).toBe(false);
    expect(fs.readFileSync(configPath(), 'utf8')).toBe(before);
    expect(statusJson(sb).config.transports).toMatchObject({ email: 'maildir', syftbox: 'local' });

    // Signing in with the right account then works.
    await fetch(`${emu.url}__admin/oauth/consent`, { method: 'POST', body: JSON.stringify({ email: 'do@example.com' }) });
    emu.world.addUser('do@example.com', { clientId: client.clientId });
    const again = await initWithBrowser(['-e', 'do@example.com', '--no-browser']);
    expect(again.r.stderr).toBe('');
    expect(again.r.code).toBe(0);
    expect(again.r.stdout).toContain(`Stored Google token at ${tokenPath()} (scopes: gmail.modify, drive)`);
    expect(statusJson(sb).config.transports).toMatchObject({ email: 'gmail', syftbox: 'drive' });
  });

  it('--no-google skips the sign-in; a missing --credentials file is a usage error', () => {
    writeCredentials();
    const skip = sb.cli(['init', '-e', 'alice@uni.edu', '--no-google'], { env, timeoutMs: 20_000 });
    expect(skip.code).toBe(0);
    expect(skip.stdout).not.toContain('oauth2');
    expect(fs.existsSync(tokenPath())).toBe(false);
    expect(statusJson(sb).config.transports).toMatchObject({ email: 'maildir', syftbox: 'local' });

    const missing = sb.cli(['init', '-e', 'alice@uni.edu', '--credentials', path.join(sb.dir, 'nope.json')], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`OAuth client file not found: ${path.join(sb.dir, 'nope.json')}`);
  });

  it('an invalid e-mail is refused before anyone is sent to a browser', () => {
    writeCredentials();
    const r = sb.cli(['init', '-e', 'not an email', '--no-browser'], { env, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('oauth2');
    expect(r.stderr).toContain("Invalid email 'not an email'");
  });
});
