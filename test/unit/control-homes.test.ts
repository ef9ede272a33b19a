import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { appHome, otherHomeMessage, otherHomeOf, sameDefinition } from '../../lib/control';
import { appDefinition } from '../../lib/pm2/apps';
import { buildStatus, renderStatus, type ConfigView } from '../../lib/status';
import { deriveRuntime } from '../../lib/pm2/state';
import type { Pm2Process } from '../../lib/pm2/daemon-reader';

// PM2 app names are global per PM2_HOME: two syft-bg homes on one daemon share `syft-bg-notify`. The app's
// SYFT_BG_HOME (PM2 exports the app's env into pm2_env) says whose it is.
const app = (name: string, status: string, env: Record<string, unknown>, pid = 11): Pm2Process => ({
  name,
  pm_id: 0,
  pid: status === 'online' ? pid : 0,
  pm2_env: { status, pm_uptime: 0, restart_time: 0, ...env },
});

describe('which syft-bg home a PM2 app serves', () => {
  it('reads SYFT_BG_HOME from pm2_env (or its env block); unknown when the app does not say', () => {
    expect(appHome(app('syft-bg-notify', 'online', { SYFT_BG_HOME: '/a/.syft-bg' }))).toBe('/a/.syft-bg');
    expect(appHome(app('syft-bg-notify', 'online', { env: { SYFT_BG_HOME: '/a/.syft-bg/' } }))).toBe('/a/.syft-bg');
    expect(appHome(app('syft-bg-notify', 'online', {}))).toBeNull();
    expect(appHome(undefined)).toBeNull();
  });
  it('another home is one that differs from ours; an app that does not say is not another home', () => {
    const a = app('syft-bg-notify', 'online', { SYFT_BG_HOME: '/a/.syft-bg' });
    expect(otherHomeOf(a, '/b/.syft-bg')).toBe('/a/.syft-bg');
    expect(otherHomeOf(a, '/a/.syft-bg/')).toBeNull();
    expect(otherHomeOf(app('syft-bg-notify', 'online', {}), '/b/.syft-bg')).toBeNull();
    expect(otherHomeOf(undefined, '/b/.syft-bg')).toBeNull();
  });
  it('the same home reached through a symbolic link is ours', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'homes-'));
    try {
      fs.mkdirSync(path.join(dir, 'real', '.syft-bg'), { recursive: true });
      fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
      const a = app('syft-bg-notify', 'online', { SYFT_BG_HOME: path.join(dir, 'real', '.syft-bg') });
      expect(otherHomeOf(a, path.join(dir, 'link', '.syft-bg'))).toBeNull();
      fs.mkdirSync(path.join(dir, 'other', '.syft-bg'), { recursive: true });
      expect(otherHomeOf(a, path.join(dir, 'other', '.syft-bg'))).toBe(path.join(dir, 'real', '.syft-bg'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('the refusal names both homes, the PM2 home and what to do', () => {
    const online = deriveRuntime(app('syft-bg-notify', 'online', {}), 1000);
    expect(otherHomeMessage('notify', online, '/a/.syft-bg', '/b/.syft-bg', '/p')).toBe(
      'notify is running for another syft-bg home (/a/.syft-bg); this home (/b/.syft-bg) cannot run its own on the same PM2 daemon (PM2_HOME=/p). Stop it there, or use another PM2_HOME.',
    );
    const stopped = deriveRuntime(app('syft-bg-notify', 'stopped', {}), 1000);
    expect(otherHomeMessage('notify', stopped, '/a/.syft-bg', '/b/.syft-bg', '/p')).toBe(
      "notify is registered (stopped) for another syft-bg home (/a/.syft-bg); this home (/b/.syft-bg) cannot run its own on the same PM2 daemon (PM2_HOME=/p). Delete it ('pm2 delete syft-bg-notify' with PM2_HOME=/p) if that home no longer needs it, or use another PM2_HOME.",
    );
  });
});

describe('status of a service that serves another home', () => {
  const view: ConfigView = {
    path: '/b/.syft-bg/config.yaml',
    exists: true,
    error: null,
    email: 'b@example.com',
    syftboxRoot: '/b/SyftBox',
    transports: { email: 'maildir', emailChosenBy: 'config', maildirPath: '/b/.syft-bg/mail', syftbox: 'local', syftboxChosenBy: 'config' },
    gmailTokenPath: '/b/.syft-bg/token.json',
    driveTokenPath: '/b/.syft-bg/token.json',
    objects: [],
    approvedDomains: [],
  };
  const now = 1_000_000;
  const report = buildStatus({
    home: '/b/.syft-bg',
    colab: false,
    config: view,
    now,
    daemon: {
      running: true,
      home: '/p',
      version: '7.0.4',
      processes: [
        { ...app('syft-bg-notify', 'online', { SYFT_BG_HOME: '/a/.syft-bg', axm_monitor: { 'emails sent': { value: 3 } } }), monit: { memory: 1024 * 1024, cpu: 0 } },
        app('syft-bg-approve', 'online', { SYFT_BG_HOME: '/b/.syft-bg', axm_monitor: { 'jobs seen': { value: 1 } } }, 12),
      ],
    },
  });
  it('--json: each service says which home it serves and whether that is another one', () => {
    expect(report.services.map((s) => [s.name, s.home, s.otherHome])).toEqual([
      ['notify', '/a/.syft-bg', true],
      ['approve', '/b/.syft-bg', false],
    ]);
  });
  it('text: the note on the service line; the other home\'s metrics are not shown as ours', () => {
    const text = renderStatus(report);
    expect(text).toMatch(/\n {2}notify +🟢 online +pid 11 .*\(serves another home: \/a\/\.syft-bg\)\n/);
    expect(text).not.toContain('emails sent');
    expect(text).toMatch(/\n {2}approve +🟢 online +pid 12 [^\n(]*\n +jobs seen 1\n/);
  });
});

describe('restart reuses the PM2 app only when it would run the same definition', () => {
  const env = { HOME: '/h', PATH: '/usr/bin', SYFT_BG_HOME: '/h/.syft-bg', PM2_HOME: '/h/.pm2' };
  const def = appDefinition('notify', { env });
  const running = (extra: Record<string, unknown> = {}) =>
    app('syft-bg-notify', 'online', { pm_exec_path: def.script, exec_interpreter: def.interpreter, env: { ...def.env, ...extra } });
  it('same script, interpreter and environment: a PM2 restart', () => {
    expect(sameDefinition(running(), def)).toBe(true);
  });
  it('a changed, added or removed variable (e.g. SYFT_BG_GOOGLE_ROOT_URL) needs the app re-created', () => {
    expect(sameDefinition(running(), appDefinition('notify', { env: { ...env, SYFT_BG_GOOGLE_ROOT_URL: 'http://127.0.0.1:9/' } }))).toBe(false);
    expect(sameDefinition(running({ SYFT_BG_GOOGLE_ROOT_URL: 'http://127.0.0.1:9/' }), def)).toBe(false);
    expect(sameDefinition(running({ PATH: '/other/bin' }), def)).toBe(false);
  });
  it('another script or interpreter (a moved install, another Node)', () => {
    expect(sameDefinition(app('syft-bg-notify', 'online', { pm_exec_path: '/old/dist/apps/notify/main.js', exec_interpreter: def.interpreter, env: def.env }), def)).toBe(false);
  });
});

describe('ecosystem.config.js refuses to take over another home\'s running apps', () => {
  const { ecosystemConflicts } = require('../../lib/pm2/ecosystem-guard') as typeof import('../../lib/pm2/ecosystem-guard');
  const svc = (name: 'notify' | 'approve', state: string, otherHome: boolean) =>
    ({ name, pm2Name: `syft-bg-${name}`, state, pid: 1, home: otherHome ? '/a/.syft-bg' : '/b/.syft-bg', otherHome }) as never;
  const report = (services: unknown[]) => ({ home: '/b/.syft-bg', pm2: { home: '/p', daemon: 'running', daemonVersion: '7.0.4', reason: null }, services }) as never;
  it('one message per running app of another home; stopped ones and our own are fine', () => {
    expect(ecosystemConflicts(report([svc('notify', 'online', true), svc('approve', 'online', false)]))).toEqual([
      'syft-bg-notify runs for another syft-bg home (/a/.syft-bg) on this PM2 daemon (PM2_HOME=/p); starting this home (/b/.syft-bg) would take it over. Stop it there first, or use another PM2_HOME.',
    ]);
    expect(ecosystemConflicts(report([svc('notify', 'stopped', true), svc('approve', 'not started', false)]))).toEqual([]);
  });
});
