import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { makeSandbox, Sandbox, statusJson, waitFor } from '../helpers/sandbox';

// `start` waits until a service says it is ready (its set-up, `create()`, succeeded: `<home>/<svc>/ready.json`), and
// reports a set-up failure with the service's own reason instead of "Started". Real CLI, real PM2 daemon, real services.
describe('start waits for the services to be ready', () => {
  let sb: Sandbox;
  let cfg: string;
  let good: string;
  const token = () => path.join(sb.syftBgHome, 'token.json');
  const readyJson = (s: string) => JSON.parse(fs.readFileSync(path.join(sb.syftBgHome, s, 'ready.json'), 'utf8')) as { pid: number; state: string; message?: string };
  const setTransports = (email: string, syftbox: string) =>
    fs.writeFileSync(cfg, good.replace(/^(transports:\n\s+email: )\w+(\n\s+syftbox: )\w+/m, `$1${email}$2${syftbox}`));
  const svc = (name: string) => statusJson(sb).services.find((s) => s.name === name)!;

  beforeAll(() => {
    sb = makeSandbox('ready');
    expect(sb.cli(['init', '-e', 'do@example.com']).code).toBe(0);
    cfg = path.join(sb.syftBgHome, 'config.yaml');
    good = fs.readFileSync(cfg, 'utf8');
    expect(good).toMatch(/^transports:\n\s+email: maildir\n\s+syftbox: local/m);
  });
  afterAll(() => sb.cleanup());

  it('transports.email: gmail without a Gmail token: start refuses naming the token file; nothing started', () => {
    setTransports('gmail', 'local');
    const r = sb.cli(['start']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${cfg}: transports.email is 'gmail', but there is no Gmail token at ${token()}: sign in with 'syft-bg init -e EMAIL' (or -t TOKEN), or set transports.email: maildir.`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(sb.pm2Home, 'rpc.sock'))).toBe(false);
    for (const cmd of [['start', 'notify'], ['restart', 'notify'], ['ensure-running', 'notify', 'approve']]) {
      const x = sb.cli(cmd);
      expect(x.code).toBe(1);
      expect(x.stderr).toContain(`no Gmail token at ${token()}`);
    }
    expect(fs.existsSync(path.join(sb.pm2Home, 'rpc.sock'))).toBe(false);
  });

  it('approve does not send mail: it starts without the Gmail token, and says Started only once it is ready', () => {
    const r = sb.cli(['start', 'approve']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = Number(/^Started approve \(pid (\d+)\)\.$/m.exec(r.stdout)![1]);
    // The service wrote its readiness before the CLI said Started.
    expect(readyJson('approve')).toMatchObject({ pid, state: 'ready' });
    expect(svc('approve')).toMatchObject({ state: 'online', pid });
    expect(sb.cli(['stop', 'approve']).code).toBe(0);
    setTransports('maildir', 'local');
  });

  it('a set-up failure the checks before start cannot see: "approve did not start: <reason>", exit 1, within seconds; it is left stopped', () => {
    // A Drive token file that is not a token: only the approve service finds out, when it builds its Drive client.
    setTransports('maildir', 'drive');
    fs.writeFileSync(token(), 'this is not JSON\n', { mode: 0o600 });
    const t0 = Date.now();
    const r = sb.cli(['start', 'approve']);
    const took = Date.now() - t0;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const reason = `${cfg}: transports.syftbox is 'drive', but the Drive token ${token()} cannot be used: Google token file ${token()}: not valid JSON`;
    expect(r.stderr).toContain(`approve did not start: ${reason}`);
    expect(r.stderr).toContain('approve is stopped; fix the cause, then: syft-bg start approve');
    expect(r.stderr).not.toMatch(/Started|\n\s+at /);
    expect(took).toBeLessThan(5000);
    expect(readyJson('approve')).toMatchObject({ state: 'failed', message: expect.stringContaining(reason) });
    // status afterwards: stopped with the exit code and its meaning, not online, not crash-looping.
    const s = svc('approve');
    expect(s).toMatchObject({ state: 'stopped', pid: null, exitCode: 78 });
    expect(s.detail).toContain('invalid configuration');
    const text = sb.cli(['status']).stdout;
    expect(text).toMatch(/approve +⚪ stopped .*last exit code 78: invalid configuration/);
    const app = (JSON.parse(sb.pm2(['jlist']).stdout) as Array<{ name: string; pm2_env: { status: string; restart_time: number } }>).find((p) => p.name === 'syft-bg-approve')!;
    expect(app.pm2_env.status).toBe('stopped');
    // Stopped during its first back-off (0.25 s): at most one PM2 restart on a very busy machine, no crash loop.
    expect(app.pm2_env.restart_time).toBeLessThanOrEqual(1);
  });

  it('Google not answering at start is not a start failure: the Drive check gives up in time, Started, exit 0', async () => {
    // A Google endpoint that accepts connections and never answers: approve's start-up check of the Drive token
    // (about.get) is bounded (2 × 3 s, 6 s in all) below the CLI's 10 s wait for ready; the service then goes on
    // without Drive and keeps trying, as it does offline.
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    try {
      fs.writeFileSync(
        token(),
        JSON.stringify({
          token: 'ya29.valid-for-long',
          refresh_token: '1//refresh',
          token_uri: 'https://oauth2.googleapis.com/token',
          client_id: 'client.apps.googleusercontent.com',
          client_secret: 'secret',
          scopes: ['https://www.googleapis.com/auth/drive'],
          universe_domain: 'googleapis.com',
          account: '',
          expiry: '2099-01-01T00:00:00.000000Z',
        }),
        { mode: 0o600 },
      );
      const t0 = Date.now();
      const r = await sb.cliAsync(['start', 'approve'], { env: { SYFT_BG_GOOGLE_ROOT_URL: url } });
      const took = Date.now() - t0;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const pid = Number(/^Started approve \(pid (\d+)\)\.$/m.exec(r.stdout)![1]);
      expect(took).toBeGreaterThanOrEqual(5_000); // it did wait for Google
      expect(took).toBeLessThan(10_000);
      expect(sockets.size).toBeGreaterThan(0);
      expect(readyJson('approve')).toMatchObject({ pid, state: 'ready' });
      expect(svc('approve')).toMatchObject({ state: 'online', pid });
      const logs = sb.cli(['logs', 'approve', '-n', '50', '--json']).stdout;
      expect(logs).toContain('Google Drive is not reachable at start');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('with the configuration fixed, start says Started again and exits 0', () => {
    setTransports('maildir', 'local');
    expect(sb.cli(['stop', 'approve']).code).toBe(0);
    const r = sb.cli(['start']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Started notify \(pid \d+\)\.\nStarted approve \(pid \d+\)\.\n$/);
    const st = statusJson(sb).services;
    for (const s of st) {
      expect(s.state).toBe('online');
      expect(readyJson(s.name)).toMatchObject({ pid: s.pid, state: 'ready' });
    }
  });
});
