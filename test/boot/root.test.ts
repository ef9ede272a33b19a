/**
 * The root path of `syft-bg install` / `uninstall`, for real: pm2 save + pm2 startup systemd with the pm2 binary,
 * inside a private mount namespace (tmpfs over /etc/systemd/system) with a fake `systemctl` first on PATH.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Daemon,
  type FakeSystemctl,
  type LibResult,
  NODE,
  PM2_BIN,
  SYS_PATH,
  UNIT,
  buildLib,
  fakeSystemctl,
  isRoot,
  pm2,
  runInNamespace,
  startDaemon,
  strayPm2Home,
  tempRoot,
  unshareWorks,
} from './helpers';

const d = isRoot() ? describe : describe.skip;

d('install / uninstall as root (private mount namespace, fake systemctl)', () => {
  let root: string;
  let lib: string;
  let fake: FakeSystemctl;
  let daemon: Daemon | undefined;
  let env: Record<string, string>;
  const UNIT_NAME = 'syft-bg.service';

  beforeAll(() => {
    expect(unshareWorks()).toBe(true);
    root = tempRoot('syft-bg-boot-root-');
    lib = buildLib(path.join(root, 'build'));
    fake = fakeSystemctl(root);
    daemon = startDaemon(root, 'pm2home', ['syft-bg-notify', 'other-app']);
    env = { PATH: `${fake.dir}:${SYS_PATH}`, HOME: root, PM2_HOME: daemon.home };
  });

  afterEach(() => {
    expect(fs.existsSync(strayPm2Home(root))).toBe(false);
  });

  afterAll(() => {
    daemon?.kill();
    if (daemon) expect(fs.existsSync(path.join(daemon.home, 'pm2.pid'))).toBe(false);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    fs.rmSync(fake.log, { force: true });
    fake.failOn(null);
  });

  it('--dry-run prints the unit and the exact commands and changes nothing', () => {
    const before = fs.readdirSync(daemon!.home).sort();
    const [res, dir] = runInNamespace(lib, root, [{ op: 'install', opts: { dryRun: true, env } }, { op: 'unitDir' }]) as [LibResult, Record<string, string>];
    expect(res.exitCode).toBe(0);
    const out = res.stdout.join('\n');
    expect(out).toContain('Dry run: nothing is changed.');
    expect(res.stdout).toContain(`  env PM2_HOME=${daemon!.home} ${NODE} ${PM2_BIN} save --force`);
    expect(res.stdout).toContain(`  env PATH=${env.PATH} PM2_HOME=${daemon!.home} ${NODE} ${PM2_BIN} startup systemd -u root --service-name syft-bg`);
    expect(res.stdout).toContain(`ExecStart=${PM2_BIN} resurrect`);
    expect(res.stdout).toContain(`Environment=PM2_HOME=${daemon!.home}`);
    expect(out).toMatch(/pm2 save dumps ALL apps .*other-app \(online\)/);
    // Nothing written: no unit, no systemctl call, no dump, no new file in the PM2 home.
    expect(dir).toEqual({});
    expect(fake.calls()).toEqual([]);
    expect(fs.existsSync(path.join(daemon!.home, 'dump.pm2'))).toBe(false);
    expect(fs.readdirSync(daemon!.home).sort()).toEqual(before);
  });

  it('install saves, writes the unit pm2 renders (same as --dry-run) and enables it; uninstall disables and removes it, without stopping', () => {
    const results = runInNamespace(lib, root, [
      { op: 'install', opts: { dryRun: true, env } },
      { op: 'install', opts: { env } },
      { op: 'unitDir' },
      { op: 'sh', cmd: `cat ${fake.log}` },
      { op: 'uninstall', opts: { env } },
      { op: 'unitDir' },
      { op: 'uninstall', opts: { env } },
    ]);
    const [dry, inst, dirAfterInstall, callsAfterInstall, uninst, dirAfterUninstall, again] = results as [
      LibResult,
      LibResult,
      Record<string, string>,
      { stdout: string },
      LibResult,
      Record<string, string>,
      LibResult,
    ];
    expect(inst.stderr.filter((l) => !l.startsWith('Note') && !l.startsWith('      '))).toEqual([]);
    expect(inst.exitCode).toBe(0);
    const out = inst.stdout.join('\n');
    expect(out).toContain(`Saved the PM2 process list to ${daemon!.home}/dump.pm2`);
    expect(out).toMatch(/pm2 save dumps ALL apps of this PM2 home, not only syft-bg's.*other-app \(online\)/);
    expect(out).toContain(`Wrote ${UNIT} and enabled it (systemctl enable syft-bg)`);

    // pm2 save: the dump pm2 resurrect reads at boot has both apps.
    const dump = JSON.parse(fs.readFileSync(path.join(daemon!.home, 'dump.pm2'), 'utf8')) as Array<{ name: string; namespace: string }>;
    expect(dump.map((a) => a.name).sort()).toEqual(['other-app', 'syft-bg-notify']);
    expect(dump.find((a) => a.name === 'syft-bg-notify')?.namespace).toBe('syft-bg');

    // The unit pm2 wrote.
    const unit = dirAfterInstall[UNIT_NAME];
    expect(unit).toBeDefined();
    const lines = unit!.split('\n');
    expect(lines).toContain(`ExecStart=${PM2_BIN} resurrect`);
    expect(lines).toContain(`ExecStop=${PM2_BIN} kill`);
    expect(lines).toContain(`Environment=PM2_HOME=${daemon!.home}`);
    expect(lines).toContain(`PIDFile=${daemon!.home}/pm2.pid`);
    expect(lines).toContain('User=root');
    expect(lines).toContain('Type=forking');
    const pathLine = lines.find((l) => l.startsWith('Environment=PATH='));
    expect(pathLine?.slice('Environment=PATH='.length).split(':')).toEqual(expect.arrayContaining([path.dirname(NODE), fake.dir]));
    // --dry-run rendered exactly what pm2 wrote.
    const i = dry.stdout.indexOf(`Unit file ${UNIT}:`);
    expect(i).toBeGreaterThan(0);
    expect(dry.stdout.slice(i + 1).join('\n')).toBe(unit!.replace(/\n$/, ''));
    // Only the unit file itself (the fake systemctl makes no wants/ link).
    expect(Object.keys(dirAfterInstall)).toEqual([UNIT_NAME]);
    expect(callsAfterInstall.stdout.trim().split('\n')).toEqual(['enable syft-bg']);

    // uninstall: disable + remove + daemon-reload; never `stop` (whose ExecStop would be `pm2 kill`).
    expect(uninst.exitCode).toBe(0);
    expect(uninst.stdout.join('\n')).toContain(`Disabled syft-bg (systemctl disable syft-bg) and removed ${UNIT}.`);
    expect(uninst.stdout.join('\n')).toContain('are not stopped');
    expect(dirAfterUninstall).toEqual({});
    expect(fake.calls()).toEqual(['enable syft-bg', 'disable syft-bg', 'daemon-reload']);
    // Idempotent.
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toEqual([`Boot start is not installed (no ${UNIT}): nothing to do.`]);
    // The services kept running.
    expect(daemon!.jlist().map((a) => [a.name, a.pm2_env.status])).toEqual(
      expect.arrayContaining([
        ['syft-bg-notify', 'online'],
        ['other-app', 'online'],
      ]),
    );
  });

  it('a failing pm2 startup is reported with the command and its stderr, exit 1, and leaves no half-installed unit', () => {
    fake.failOn('enable');
    const [res, dir] = runInNamespace(lib, root, [{ op: 'install', opts: { env } }, { op: 'unitDir' }]) as [LibResult, Record<string, string>];
    expect(res.exitCode).toBe(1);
    const err = res.stderr.join('\n');
    expect(res.stderr[0]).toBe('Could not install the boot service.');
    expect(res.stderr[1]).toBe(
      `Command failed (exit code 1): env PATH=${env.PATH} PM2_HOME=${daemon!.home} ${NODE} ${PM2_BIN} startup systemd -u root --service-name syft-bg`,
    );
    expect(err).toContain('systemctl enable syft-bg failed');
    expect(err).not.toMatch(/^\s+at /m);
    expect(err).toContain(`Removed the half-installed ${UNIT}.`);
    expect(dir).toEqual({});
    expect(fake.calls()).toEqual(['enable syft-bg']);
  });

  it('refuses (exit 1) when no syft-bg app is running, and saves nothing', () => {
    expect(pm2(daemon!.home, ['stop', 'syft-bg-notify']).status).toBe(0);
    fs.rmSync(path.join(daemon!.home, 'dump.pm2'), { force: true });
    try {
      const [res, dir] = runInNamespace(lib, root, [{ op: 'install', opts: { env } }, { op: 'unitDir' }]) as [LibResult, Record<string, string>];
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toEqual([
        `No syft-bg app is running in PM2_HOME=${daemon!.home}: syft-bg-notify (stopped).`,
        'Start them first with `syft-bg start`, then run `syft-bg install` again.',
      ]);
      expect(dir).toEqual({});
      expect(fake.calls()).toEqual([]);
      expect(fs.existsSync(path.join(daemon!.home, 'dump.pm2'))).toBe(false);
    } finally {
      expect(pm2(daemon!.home, ['restart', 'syft-bg-notify']).status).toBe(0);
    }
  });

  it('with an injected non-root uid: saves, prints the sudo line, writes no unit', () => {
    const [res, dir] = runInNamespace(lib, root, [{ op: 'install', opts: { env, uid: 65534 } }, { op: 'unitDir' }]) as [LibResult, Record<string, string>];
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain(
      `sudo env PATH=${env.PATH} PM2_HOME=${daemon!.home} ${NODE} ${PM2_BIN} startup systemd -u nobody --service-name syft-bg`,
    );
    expect(dir).toEqual({});
    expect(fake.calls()).toEqual([]);
  });
});
