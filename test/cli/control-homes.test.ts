import * as fs from 'node:fs';
import { makeSandbox, Sandbox } from '../helpers/sandbox';

interface Svc {
  name: string;
  pid: number | null;
  state: string;
  restarts: number;
  home: string | null;
  otherHome: boolean;
}

// Two syft-bg homes (two HOMEs) on one PM2 daemon (one PM2_HOME): the app names syft-bg-notify / syft-bg-approve are
// global per PM2_HOME, so each home must leave the other's services alone and say why.
describe('two syft-bg homes on one PM2 daemon', () => {
  let a: Sandbox;
  let b: Sandbox;
  /** B's commands, on A's PM2 daemon. */
  const bcli = (args: string[]) => b.cli(args, { env: { PM2_HOME: a.pm2Home } });
  const status = (cli: (args: string[]) => ReturnType<Sandbox['cli']>) => {
    const r = cli(['status', '--json']);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { services: Svc[] };
  };
  const refusal = (s: string, what = 'is running') =>
    `${s} ${what} for another syft-bg home (${a.syftBgHome}); this home (${b.syftBgHome}) cannot run its own on the same PM2 daemon (PM2_HOME=${a.pm2Home}).`;
  const envOf = (pid: number) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

  beforeAll(() => {
    a = makeSandbox('homeA');
    b = makeSandbox('homeB');
    expect(a.cli(['init', '-e', 'a@example.com']).code).toBe(0);
    expect(bcli(['init', '-e', 'b@example.com']).code).toBe(0);
  });
  afterAll(() => {
    b.cleanup();
    a.cleanup(); // kills the shared daemon
  });

  let notifyPid: number;
  it('A starts notify; B\'s start refuses to take it over (and starts only its own approve), exit 1', () => {
    const ra = a.cli(['start', 'notify']);
    expect(ra.code).toBe(0);
    notifyPid = Number(/Started notify \(pid (\d+)\)/.exec(ra.stdout)![1]);

    const r = bcli(['start']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${refusal('notify')} Stop it there, or use another PM2_HOME.`);
    expect(r.stdout).not.toContain('notify');
    expect(r.stdout).toMatch(/^Started approve \(pid \d+\)\.$/m);
    // A's notify is untouched and still serves A.
    const sa = status((x) => a.cli(x)).services.find((s) => s.name === 'notify')!;
    expect(sa).toMatchObject({ state: 'online', pid: notifyPid, home: a.syftBgHome, otherHome: false });
    expect(envOf(notifyPid)).toContain(`SYFT_BG_HOME=${a.syftBgHome}`);
  });

  it('plain `pm2 start ecosystem.config.js` from B refuses too (PM2 would take A\'s notify over)', () => {
    const path = require('node:path') as typeof import('node:path');
    const eco = path.resolve(__dirname, '..', '..', 'ecosystem.config.js');
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const pm2Bin = require.resolve('pm2/bin/pm2');
    const r = spawnSync(process.execPath, [pm2Bin, 'start', eco], { env: { ...b.env, PM2_HOME: a.pm2Home }, encoding: 'utf8', timeout: 60_000, cwd: b.dir });
    // PM2 reports the file as unusable, with our reason.
    expect(r.stdout + r.stderr).toContain(`syft-bg-notify runs for another syft-bg home (${a.syftBgHome}) on this PM2 daemon (PM2_HOME=${a.pm2Home}); starting this home (${b.syftBgHome}) would take it over.`);
    const sa = status((x) => a.cli(x)).services.find((s) => s.name === 'notify')!;
    expect(sa).toMatchObject({ state: 'online', pid: notifyPid, home: a.syftBgHome });
    expect(envOf(notifyPid)).toContain(`SYFT_BG_HOME=${a.syftBgHome}`);
  });

  it('B\'s restart, ensure-running and stop refuse too; nothing of A changes', () => {
    for (const cmd of [['restart', 'notify'], ['ensure-running', 'notify'], ['ensure-running', 'notify', '--restart'], ['stop', 'notify']]) {
      const r = bcli(cmd);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(refusal('notify'));
    }
    const n = status((x) => a.cli(x)).services.find((s) => s.name === 'notify')!;
    expect(n).toMatchObject({ state: 'online', pid: notifyPid, restarts: 0 });
    expect(envOf(notifyPid)).toContain(`SYFT_BG_HOME=${a.syftBgHome}`);
  });

  it('status shows whose each service is, in text and --json, from both homes', () => {
    const sb = status(bcli).services;
    expect(sb.map((s) => [s.name, s.state, s.home, s.otherHome])).toEqual([
      ['notify', 'online', a.syftBgHome, true],
      ['approve', 'online', b.syftBgHome, false],
    ]);
    expect(bcli(['status']).stdout).toMatch(new RegExp(`\\n  notify +🟢 online .*\\(serves another home: ${a.syftBgHome.replace(/[.]/g, '\\.')}\\)\\n`));
    const sa = status((x) => a.cli(x)).services;
    expect(sa.map((s) => [s.name, s.home, s.otherHome])).toEqual([
      ['notify', a.syftBgHome, false],
      ['approve', b.syftBgHome, true],
    ]);
    expect(a.cli(['status']).stdout).toContain(`(serves another home: ${b.syftBgHome})`);
  });

  it('A\'s stop stops its own notify and refuses B\'s approve; B then still cannot take over the stopped app', () => {
    const r = a.cli(['stop']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('Stopped notify.\n');
    expect(r.stderr).toContain(`approve is running for another syft-bg home (${b.syftBgHome}); this home (${a.syftBgHome})`);
    expect(status(bcli).services.find((s) => s.name === 'approve')!.state).toBe('online');

    const x = bcli(['start', 'notify']);
    expect(x.code).toBe(1);
    expect(x.stderr).toContain(`${refusal('notify', 'is registered (stopped)')} Delete it ('pm2 delete syft-bg-notify' with PM2_HOME=${a.pm2Home})`);
    // B's stop of a stopped app of A: nothing to stop, nothing changed.
    const y = bcli(['stop', 'notify']);
    expect(y.code).toBe(0);
    expect(y.stdout).toBe('notify is not running (stopped); nothing changed.\n');
    expect(status((s) => a.cli(s)).services.find((s) => s.name === 'notify')!).toMatchObject({ state: 'stopped', home: a.syftBgHome, otherHome: false });
  });

  it('init in one home names only its own running services in its "restart applies the new settings" line', () => {
    // A's notify runs again; B's approve runs.
    expect(a.cli(['start', 'notify']).code).toBe(0);
    const r = bcli(['init', '-e', 'b2@example.com']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("approve is running with the previous settings: 'syft-bg restart approve' applies the new ones.");
    expect(r.stdout).not.toMatch(/notify (and approve )?(is|are) running/);
  });

  it("run-foreground in B while A's notify runs under PM2: says it is another home's, exit 1", () => {
    const r = bcli(['run-foreground', '-s', 'notify', '--once']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`notify runs under PM2 \\(pid \\d+\\) for another syft-bg home \\(${a.syftBgHome.replace(/[.]/g, '\\.')}\\) on this PM2 daemon`));
  });
});
