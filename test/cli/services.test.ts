import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandbox, Sandbox, statusJson, waitFor } from '../helpers/sandbox';

// Real CLI binary, real PM2 daemon (isolated PM2_HOME), real services.
describe('syft-bg start/stop/restart/ensure-running/status under a real PM2 daemon', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('svc');
    const r = sb.cli(['init', '-e', 'do@example.com']);
    expect(r.code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  const svc = (name: string) => statusJson(sb).services.find((s) => s.name === name)!;

  it('status without a daemon says not started and does not spawn one', () => {
    const s = statusJson(sb);
    expect(s.pm2.daemon).toBe('not running');
    expect(s.services.map((x) => [x.name, x.state])).toEqual([
      ['notify', 'not started'],
      ['approve', 'not started'],
    ]);
    expect(fs.existsSync(path.join(sb.pm2Home, 'rpc.sock'))).toBe(false);
  });

  it('stop with nothing running says so and exits 0', () => {
    const r = sb.cli(['stop']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('notify is not running');
    expect(r.stdout).toContain('approve is not running');
  });

  it('start starts both services; starting again changes nothing', async () => {
    const r = sb.cli(['start']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Started notify \(pid \d+\)/);
    expect(r.stdout).toMatch(/Started approve \(pid \d+\)/);
    const before = statusJson(sb);
    expect(before.services.every((s) => s.state === 'online' && s.pid)).toBe(true);

    const again = sb.cli(['start', 'notify']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/notify is already running \(pid \d+\); nothing changed\./);
    const after = statusJson(sb);
    expect(after.services.map((s) => s.pid)).toEqual(before.services.map((s) => s.pid));
    expect(after.services.map((s) => s.restarts)).toEqual([0, 0]);
  });

  it('the apps are plain PM2 apps in namespace syft-bg: pm2 jlist sees them', () => {
    const r = sb.pm2(['jlist']);
    const list = JSON.parse(r.stdout) as Array<{ name: string; pm2_env: { namespace: string; status: string; env?: Record<string, string> } }>;
    const ours = list.filter((p) => p.name.startsWith('syft-bg-'));
    expect(ours.map((p) => [p.name, p.pm2_env.namespace, p.pm2_env.status]).sort()).toEqual([
      ['syft-bg-approve', 'syft-bg', 'online'],
      ['syft-bg-notify', 'syft-bg', 'online'],
    ]);
  });

  it('the services get a filtered environment (no secrets from the caller)', async () => {
    const pid = svc('notify').pid!;
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    // The test runner's own env has e.g. JEST_WORKER_ID; the sandbox CLI env does not pass it, and the
    // service must not inherit anything but the allow-list plus PM2's own keys.
    expect(env.some((e) => e.startsWith('HOME='))).toBe(true);
    expect(env.some((e) => e.startsWith('SYFT_BG_HOME='))).toBe(true);
    const r = sb.cli(['restart', 'approve'], { env: { AWS_SECRET_ACCESS_KEY: 'sekrit' } });
    expect(r.code).toBe(0);
    const apid = svc('approve').pid!;
    expect(fs.readFileSync(`/proc/${apid}/environ`, 'utf8')).not.toContain('sekrit');
  });

  it('stop stops one service; stopping it again says so', () => {
    const r = sb.cli(['stop', 'notify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Stopped notify.');
    expect(svc('notify').state).toBe('stopped');
    const again = sb.cli(['stop', 'notify']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('notify is not running (stopped); nothing changed.');
  });

  it('ensure-running starts only what is not running', () => {
    const approvePid = svc('approve').pid;
    const r = sb.cli(['ensure-running', 'notify', 'approve']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Started notify \(pid \d+\)/);
    expect(r.stdout).toMatch(/approve is already running \(pid \d+\), skipping/);
    expect(svc('approve').pid).toBe(approvePid);
    expect(svc('notify').state).toBe('online');
  });

  it('ensure-running --restart restarts running services', () => {
    const pid = svc('approve').pid;
    const r = sb.cli(['ensure-running', 'approve', '--restart']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Restarted approve \(pid \d+\)/);
    expect(svc('approve').pid).not.toBe(pid);
  });

  it('restart gives a new pid and counts the restart', () => {
    const before = svc('notify');
    const r = sb.cli(['restart', 'notify']);
    expect(r.code).toBe(0);
    const after = svc('notify');
    expect(after.pid).not.toBe(before.pid);
    expect(after.restarts).toBe(before.restarts + 1);
  });

  it('unknown services are refused with the valid names, exit 2', () => {
    for (const cmd of [['start', 'bogus'], ['stop', 'bogus'], ['restart', 'bogus'], ['ensure-running', 'notify', 'bogus'], ['logs', 'bogus']]) {
      const r = sb.cli(cmd);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("Unknown service 'bogus'. Valid services: notify, approve.");
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it('status text shows the services with pid, uptime, restarts and memory', () => {
    const r = sb.cli(['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/notify\s+🟢 online\s+pid \d+\s+up \d+s\s+restarts \d+\s+mem [\d.]+ MB/);
    expect(r.stdout).toMatch(/approve\s+🟢 online/);
    expect(r.stdout).toContain('email        maildir → ');
    expect(r.stdout).toContain('syftbox      local');
  });

  it('SIGINT from pm2 stop shuts a service down cleanly, within the kill timeout', async () => {
    const t0 = Date.now();
    const r = sb.cli(['stop', 'approve']);
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const logDir = path.join(sb.syftBgHome, 'logs', 'approve');
    const text = fs.readdirSync(logDir).filter((f) => /\.log$/.test(f) && f !== 'pm2-error.log').map((f) => fs.readFileSync(path.join(logDir, f), 'utf8')).join('');
    expect(text).toMatch(/"msg":"approve stopped"/);
  });

  it('stop with no argument stops everything', () => {
    sb.cli(['start']);
    const r = sb.cli(['stop']);
    expect(r.code).toBe(0);
    expect(statusJson(sb).services.map((s) => s.state)).toEqual(['stopped', 'stopped']);
  });

  it('restart of a stopped service starts it and says it was stopped', () => {
    const r = sb.cli(['restart', 'notify']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Started notify \(pid \d+; it was stopped\)\.\n$/);
    expect(svc('notify').state).toBe('online');
    const again = sb.cli(['restart', 'notify']);
    expect(again.stdout).toMatch(/^Restarted notify \(pid \d+\)\.\n$/);
    expect(sb.cli(['stop', 'notify']).code).toBe(0);
  });
});

describe('configuration errors', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('cfg');
    expect(sb.cli(['init', '-e', 'do@example.com']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it('start refuses a bad config with file, line:column, key, expected and found; nothing started', () => {
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    const good = fs.readFileSync(cfg, 'utf8');
    fs.writeFileSync(cfg, good.replace(/^(\s+)interval: 5$/m, '$1interval: five'));
    const r = sb.cli(['start']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${cfg.replace(/[.]/g, '\\.')}:\\d+:\\d+: notify\\.interval: expected .*number.*found.*five`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(sb.pm2Home, 'rpc.sock'))).toBe(false);
    fs.writeFileSync(cfg, good);
  });

  it('a service whose config breaks exits 78 and PM2 marks it errored, with no endless crash loop', async () => {
    expect(sb.cli(['start', 'approve']).code).toBe(0);
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    const good = fs.readFileSync(cfg, 'utf8');
    fs.writeFileSync(cfg, good.replace(/^do_email: .*$/m, 'do_email: [not, an, email]'));
    // Restart through pm2 itself (as `pm2 restart` or a reboot would), bypassing the CLI's own check.
    expect(sb.pm2(['restart', 'syft-bg-approve']).code).toBe(0);
    const s = await waitFor(
      'approve errored',
      () => {
        const a = statusJson(sb).services.find((x) => x.name === 'approve')!;
        return a.state === 'errored' ? a : undefined;
      },
      40_000,
      500,
    );
    expect(s.exitCode).toBe(78);
    expect(s.detail).toContain('invalid configuration');
    const pm2 = JSON.parse(sb.pm2(['jlist']).stdout) as Array<{ name: string; pm2_env: { status: string; restart_time: number } }>;
    const app = pm2.find((p) => p.name === 'syft-bg-approve')!;
    expect(app.pm2_env.status).toBe('errored');
    const restarts = app.pm2_env.restart_time;
    expect(restarts).toBeLessThanOrEqual(6);
    // It stays errored: no further restarts.
    await new Promise((r) => setTimeout(r, 1500));
    const again = JSON.parse(sb.pm2(['jlist']).stdout) as typeof pm2;
    expect(again.find((p) => p.name === 'syft-bg-approve')!.pm2_env.restart_time).toBe(restarts);
    const err = fs.readFileSync(path.join(sb.syftBgHome, 'logs', 'approve', 'pm2-error.log'), 'utf8');
    expect(err).toMatch(/config\.yaml:\d+:\d+: do_email/);
    fs.writeFileSync(cfg, good);
    // Fixing the config and restarting brings it back, saying what it was.
    const r = sb.cli(['restart', 'approve']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Started approve \(pid \d+; it was errored: last exit code 78: invalid configuration \(see syft-bg logs\)\)\.\n$/);
  });
});
