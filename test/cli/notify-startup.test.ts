import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSandbox, Sandbox, statusJson } from '../helpers/sandbox';
import { startEmulator, Emulator } from '../emulator';
import { loadAuth } from '../../lib/google/auth';
import { isUserError, EXIT } from '../../lib/errors';
import { checkGmailToken, type GmailCheckInput } from '../../apps/notify/gmail-check';

// notify's start-up check of its Gmail token (apps/notify/gmail-check.ts): one users.getProfile, bounded like
// approve's Drive check. A token of another account, or one Google refuses, fails the set-up and `syft-bg start`
// says why; an unreachable Gmail does not. The emulator runs in this process, so the CLI runs in a child process
// that does not block it (cliAsync).

const DO = 'do@example.com';
const OTHER = 'other@example.org';
const GMAIL = 'https://www.googleapis.com/auth/gmail.modify';
const DRIVE = 'https://www.googleapis.com/auth/drive';

type Grant = { accessToken: string; refreshToken: string; clientId: string; clientSecret: string; scopes: string[] };

/** token.json as Python's google-auth writes it; `expired` makes the first call refresh it. */
function tokenJson(u: Grant, o: { expired?: boolean; scopes?: string[] } = {}): string {
  return JSON.stringify({
    token: o.expired ? 'ya29.expired' : u.accessToken,
    refresh_token: u.refreshToken,
    token_uri: 'https://oauth2.googleapis.com/token',
    client_id: u.clientId,
    client_secret: u.clientSecret,
    scopes: o.scopes ?? u.scopes,
    universe_domain: 'googleapis.com',
    account: '',
    expiry: o.expired ? '2020-01-01T00:00:00.000000Z' : '2099-01-01T00:00:00.000000Z',
  });
}

/** A Google that accepts connections and never answers. */
async function silentServer(): Promise<{ url: string; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('syft-bg start notify checks the Gmail token with Google (real CLI, real PM2, emulator)', () => {
  let sb: Sandbox;
  let emu: Emulator;
  let env: NodeJS.ProcessEnv;
  let cfg: string;
  const token = () => path.join(sb.syftBgHome, 'token.json');
  const setToken = (text: string) => fs.writeFileSync(token(), text, { mode: 0o600 });
  const notify = () => statusJson(sb).services.find((s) => s.name === 'notify')!;
  const readyJson = () => JSON.parse(fs.readFileSync(path.join(sb.syftBgHome, 'notify', 'ready.json'), 'utf8')) as { pid: number; state: string; message?: string };

  beforeAll(async () => {
    emu = await startEmulator();
    env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
    sb = makeSandbox('nstart');
    const tok = path.join(sb.dir, 'token.json');
    fs.writeFileSync(tok, tokenJson(emu.world.addUser(DO, { scopes: [GMAIL, DRIVE] })));
    // init does not call Google: a blocking child process is fine here.
    const r = sb.cli(['init', '-e', DO, '-t', tok], { env });
    expect(r.code).toBe(0);
    cfg = path.join(sb.syftBgHome, 'config.yaml');
    // Gmail for e-mail, the local datasite for SyftBox (this is about the Gmail token); no heartbeat mail.
    const text = fs.readFileSync(cfg, 'utf8').replace(/(transports:[\s\S]*?syftbox: )\w+/, '$1local').replace(/^(  heartbeat_enabled: )true$/m, '$1false');
    expect(text).toMatch(/transports:\n\s+email: gmail\n\s+syftbox: local/);
    fs.writeFileSync(cfg, text);
  });
  afterAll(async () => {
    sb?.cleanup();
    await emu?.close();
  });
  afterEach(async () => {
    await sb.cliAsync(['stop', 'notify']);
  });

  it('a token of another account: "notify did not start: … belongs to other@…, but do_email is …", exit 1, notify stopped', async () => {
    setToken(tokenJson(emu.world.addUser(OTHER, { scopes: [GMAIL, DRIVE] })));
    emu.world.counters.clear();
    const r = await sb.cliAsync(['start', 'notify'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      `notify did not start: ${cfg}: the Gmail token ${token()} belongs to ${OTHER}, but do_email is ${DO}. Sign in as ${DO}: move ${token()} away and run 'syft-bg init -e ${DO}' (or pass ${DO}'s token with 'syft-bg init -e ${DO} -t TOKEN').`,
    );
    expect(r.stderr).toContain('notify is stopped; fix the cause, then: syft-bg start notify');
    expect(r.stderr).not.toMatch(/Started|\n\s+at /);
    expect(readyJson()).toMatchObject({ state: 'failed', message: expect.stringContaining(`belongs to ${OTHER}`) });
    expect(notify()).toMatchObject({ state: 'stopped', pid: null, exitCode: EXIT.config });
    // Nothing was sent as the other account.
    expect(emu.world.counters.get('gmail.messages.send') ?? 0).toBe(0);
    expect(emu.world.counters.get('gmail.profile')).toBeGreaterThanOrEqual(1);
  });

  it('a revoked grant: "notify did not start: … Sign in again …", exit 1, notify stopped', async () => {
    const u = emu.world.addUser(DO, { scopes: [GMAIL, DRIVE] });
    setToken(tokenJson(u));
    // Google forgets the grant: the access token is refused (401), and refreshing it is refused (invalid_grant).
    emu.world.refreshTokens.delete(u.refreshToken);
    emu.world.tokens.delete(u.accessToken);
    const r = await sb.cliAsync(['start', 'notify'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`notify did not start: Google refused the refresh token in ${token()} (invalid_grant`);
    expect(r.stderr).toMatch(/Sign in again: .*syft-bg init -e EMAIL/);
    expect(r.stderr).not.toContain(u.refreshToken);
    expect(notify()).toMatchObject({ state: 'stopped', pid: null, exitCode: EXIT.config });
  });

  it('the right account: "Started notify", exit 0, with exactly one users.getProfile', async () => {
    setToken(tokenJson(emu.world.addUser(DO, { scopes: [GMAIL, DRIVE] })));
    emu.world.counters.clear();
    const r = await sb.cliAsync(['start', 'notify'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = Number(/^Started notify \(pid (\d+)\)\.$/m.exec(r.stdout)![1]);
    expect(readyJson()).toMatchObject({ pid, state: 'ready' });
    expect(notify()).toMatchObject({ state: 'online', pid });
    expect(emu.world.counters.get('gmail.profile')).toBe(1);
    expect(emu.world.counters.get('oauth.token') ?? 0).toBe(0); // the access token was still valid
  });

  it('Gmail not answering: the check gives up in time, Started, exit 0, a warning in the logs', async () => {
    const google = await silentServer();
    try {
      setToken(tokenJson(emu.world.addUser(DO, { scopes: [GMAIL, DRIVE] })));
      const t0 = Date.now();
      const r = await sb.cliAsync(['start', 'notify'], { env: { SYFT_BG_GOOGLE_ROOT_URL: google.url } });
      const took = Date.now() - t0;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const pid = Number(/^Started notify \(pid (\d+)\)\.$/m.exec(r.stdout)![1]);
      expect(took).toBeGreaterThanOrEqual(5_000); // it did wait for Gmail (2 attempts of 3 s)
      expect(took).toBeLessThan(8_000);
      expect(google.sockets.size).toBeGreaterThan(0);
      expect(readyJson()).toMatchObject({ pid, state: 'ready' });
      expect(notify()).toMatchObject({ state: 'online', pid });
      const logs = sb.cli(['logs', 'notify', '-n', '50', '--json']).stdout;
      expect(logs).toContain('Gmail is not reachable at start');
    } finally {
      await google.close();
    }
  });
});

// The check itself, in this process against the emulator: the cases the CLI tests above do not reach.
describe('checkGmailToken', () => {
  let emu: Emulator;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  const warnings: string[] = [];
  const logger = { warn: (_o: object, msg: string) => void warnings.push(msg) };

  beforeAll(async () => {
    emu = await startEmulator();
    env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcheck-'));
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await emu.close();
  });
  beforeEach(() => {
    warnings.length = 0;
    emu.world.faults = [];
    emu.world.counters.clear();
  });

  /** Check the token `text` for do_email `me` (env: where Google is). */
  function check(text: string, me = DO, e: NodeJS.ProcessEnv = env, extra: Partial<GmailCheckInput> = {}) {
    const tokenPath = path.join(dir, 'token.json');
    fs.writeFileSync(tokenPath, text, { mode: 0o600 });
    const auth = loadAuth(tokenPath, { env: e });
    return { tokenPath, run: checkGmailToken({ configPath: '/cfg.yaml', tokenPath, me, client: auth.client, logger, env: e, ...extra }) };
  }
  async function failure(p: Promise<unknown>): Promise<Error> {
    try {
      await p;
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a failure');
  }

  it('the right account, whatever the case of the address: resolves with it, one call, no warning', async () => {
    const { run } = check(tokenJson(emu.world.addUser(DO, { scopes: [GMAIL] })), 'Do@Example.COM');
    await expect(run).resolves.toBe(DO);
    expect(emu.world.counters.get('gmail.profile')).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('an expired access token is refreshed first, then checked', async () => {
    const { run } = check(tokenJson(emu.world.addUser(DO, { scopes: [GMAIL] }), { expired: true }));
    await expect(run).resolves.toBe(DO);
    expect(emu.world.counters.get('oauth.token')).toBe(1);
  });

  it('another account: a config error naming both addresses and what to do', async () => {
    const { run, tokenPath } = check(tokenJson(emu.world.addUser(OTHER, { scopes: [GMAIL] })));
    const e = await failure(run);
    expect(isUserError(e) && e.exitCode).toBe(EXIT.config);
    expect(e.message).toBe(`/cfg.yaml: the Gmail token ${tokenPath} belongs to ${OTHER}, but do_email is ${DO}. Sign in as ${DO}: move ${tokenPath} away and run 'syft-bg init -e ${DO}' (or pass ${DO}'s token with 'syft-bg init -e ${DO} -t TOKEN').`);
  });

  it('Gmail answering 401 even after a refresh: a config error about the Gmail token (not the Drive one)', async () => {
    emu.world.faults.push({ route: 'gmail.profile', status: 401, reason: 'authError', count: -1 });
    const { run, tokenPath } = check(tokenJson(emu.world.addUser(DO, { scopes: [GMAIL] })));
    const e = await failure(run);
    expect(isUserError(e) && e.exitCode).toBe(EXIT.config);
    expect(e.message).toMatch(new RegExp(`^Google refused the Gmail token in ${tokenPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(gmail\\.profile: HTTP 401`));
    expect(e.message).toContain("Sign in again: re-run 'syft-bg init -e EMAIL'");
  });

  it('a token without a Gmail scope (its file lists none): 403 insufficientPermissions is a config error', async () => {
    const { run } = check(tokenJson(emu.world.addUser(DO, { scopes: [DRIVE] }), { scopes: [] }));
    const e = await failure(run);
    expect(isUserError(e) && e.exitCode).toBe(EXIT.config);
    expect(e.message).toMatch(/^Google refused the Gmail token in .* \(gmail\.profile: HTTP 403 insufficientPermissions/);
  });

  it('Gmail answering 503: retried once, then a warning; resolves undefined', async () => {
    emu.world.faults.push({ route: 'gmail.profile', status: 503, count: -1 });
    const { run } = check(tokenJson(emu.world.addUser(DO, { scopes: [GMAIL] })), DO, env, { retry: { baseDelayMs: 10 } });
    await expect(run).resolves.toBeUndefined();
    expect(emu.world.counters.get('gmail.profile')).toBe(2);
    expect(warnings).toEqual([expect.stringMatching(/^Gmail is not reachable at start \(gmail\.profile: HTTP 503.*\); e-mails wait in the outbox until it is$/)]);
  });

  it('a token refresh that never answers (no timeout of its own) is cut off by the hard limit', async () => {
    const google = await silentServer();
    try {
      const e = { SYFT_BG_GOOGLE_ROOT_URL: google.url };
      const t0 = Date.now();
      const { run } = check(tokenJson(emu.world.addUser(DO, { scopes: [GMAIL] }), { expired: true }), DO, e, { hardLimitMs: 1_000 });
      await expect(run).resolves.toBeUndefined();
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(3_000);
      expect(google.sockets.size).toBeGreaterThan(0); // the refresh did reach "Google"
      expect(warnings).toEqual(['Gmail is not reachable at start (no answer within 1 s); e-mails wait in the outbox until it is']);
    } finally {
      await google.close();
    }
  });
});
