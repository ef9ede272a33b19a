/**
 * The non-root path, run by a real non-root process (`setpriv --reuid=65534 --regid=65534 --clear-groups`, i.e.
 * nobody) against nobody's own PM2 daemon; the printed sudo lines are then run as root in the private namespace to
 * prove they work. Also: root installing for another user keeps that user's PM2 home theirs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Daemon,
  type FakeSystemctl,
  type LibResult,
  NOBODY,
  NODE,
  PM2_BIN,
  SYS_PATH,
  UNIT,
  buildLib,
  fakeSystemctl,
  isRoot,
  owners,
  runInNamespace,
  startDaemon,
  strayPm2Home,
  tempRoot,
  unshareWorks,
} from './helpers';

const d = isRoot() ? describe : describe.skip;

d('install / uninstall as a non-root user (nobody)', () => {
  let root: string;
  let lib: string;
  let fake: FakeSystemctl;
  let daemon: Daemon | undefined;
  let env: Record<string, string>;
  const UNIT_NAME = 'syft-bg.service';
  const asNobody = { asUid: NOBODY.uid, asGid: NOBODY.gid };

  beforeAll(() => {
    expect(unshareWorks()).toBe(true);
    root = tempRoot('syft-bg-boot-user-');
    lib = buildLib(path.join(root, 'build'));
    fake = fakeSystemctl(root);
    daemon = startDaemon(root, 'pm2home', ['syft-bg-notify', 'syft-bg-approve'], NOBODY);
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

  it('saves as the user, prints an exact sudo line that works when run as root; uninstall likewise', () => {
    const procEnv = { HOME: root, USER: 'nobody' };
    const results = runInNamespace(lib, root, [
      { op: 'install', opts: { env }, ...asNobody, procEnv },
      { op: 'unitDir' },
      { op: 'runSudoLine', from: 0 },
      { op: 'unitDir' },
      { op: 'uninstall', opts: { env }, ...asNobody, procEnv },
      { op: 'runSudoLine', from: 4 },
      { op: 'unitDir' },
      { op: 'uninstall', opts: { env }, ...asNobody, procEnv },
    ]);
    const [inst, dir0, sudoInstall, dir1, uninst, sudoUninstall, dir2, again] = results as [
      LibResult,
      Record<string, string>,
      { code: number; stdout: string; stderr: string },
      Record<string, string>,
      LibResult,
      { code: number; stdout: string; stderr: string },
      Record<string, string>,
      LibResult,
    ];
    // A real non-root process.
    expect(inst.uid).toBe(NOBODY.uid);
    expect(inst.exitCode).toBe(0);
    const expected = `sudo env PATH=${env.PATH} PM2_HOME=${daemon!.home} ${NODE} ${PM2_BIN} startup systemd -u nobody --service-name syft-bg`;
    expect(inst.stdout.filter((l) => l.startsWith('sudo '))).toEqual([expected]);
    expect(inst.stdout.join('\n')).toContain("pm2 save dumps ALL apps of this PM2 home, not only syft-bg's (here there are no others)");
    // Saved by nobody, in nobody's home; nothing written to the unit folder, systemctl not called.
    const dump = path.join(daemon!.home, 'dump.pm2');
    expect(fs.statSync(dump).uid).toBe(NOBODY.uid);
    expect((JSON.parse(fs.readFileSync(dump, 'utf8')) as Array<{ name: string }>).map((a) => a.name).sort()).toEqual([
      'syft-bg-approve',
      'syft-bg-notify',
    ]);
    expect(dir0).toEqual({});

    // The printed line, run as root, installs the unit for nobody with nobody's PM2 home.
    expect(sudoInstall.code).toBe(0);
    const unit = dir1[UNIT_NAME]?.split('\n') ?? [];
    expect(unit).toContain('User=nobody');
    expect(unit).toContain(`Environment=PM2_HOME=${daemon!.home}`);
    expect(unit).toContain(`PIDFile=${daemon!.home}/pm2.pid`);
    expect(unit).toContain(`ExecStart=${PM2_BIN} resurrect`);
    // ... and, since the home already existed, root created nothing in it.
    expect(Object.entries(owners(daemon!.home)).filter(([, uid]) => uid !== NOBODY.uid)).toEqual([]);

    // uninstall as nobody: the exact root command, which works.
    expect(uninst.uid).toBe(NOBODY.uid);
    expect(uninst.exitCode).toBe(0);
    const systemctl = path.join(fake.dir, 'systemctl');
    expect(uninst.stdout.filter((l) => l.startsWith('sudo '))).toEqual([
      `sudo sh -c '${systemctl} disable syft-bg && rm -f ${UNIT} && ${systemctl} daemon-reload'`,
    ]);
    expect(sudoUninstall.code).toBe(0);
    expect(dir2).toEqual({});
    expect(fake.calls()).toEqual(['enable syft-bg', 'disable syft-bg', 'daemon-reload']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toEqual([`Boot start is not installed (no ${UNIT}): nothing to do.`]);
  });

  it('a non-root user cannot install for another user (exit 1, nothing saved)', () => {
    fs.rmSync(path.join(daemon!.home, 'dump.pm2'), { force: true });
    const [res] = runInNamespace(lib, root, [{ op: 'install', opts: { env, user: 'root' }, ...asNobody }]) as [LibResult];
    expect(res.uid).toBe(NOBODY.uid);
    expect(res.exitCode).toBe(1);
    expect(res.stderr.join('\n')).toContain('Only root can set up boot start for another user (root)');
    expect(fs.existsSync(path.join(daemon!.home, 'dump.pm2'))).toBe(false);
  });

  it('root installing for nobody saves as nobody and leaves nothing root-owned in their PM2 home', () => {
    // Remove what pm2 would otherwise recreate as root when `pm2 startup` runs with this PM2_HOME.
    for (const f of ['modules', 'module_conf.json', 'touch']) fs.rmSync(path.join(daemon!.home, f), { recursive: true, force: true });
    const rootEnv = { PATH: `${fake.dir}:${SYS_PATH}`, HOME: '/root' };
    const [res, dir] = runInNamespace(lib, root, [
      { op: 'install', opts: { env: rootEnv, user: 'nobody', pm2Home: daemon!.home } },
      { op: 'unitDir' },
    ]) as [LibResult, Record<string, string>];
    expect(res.uid).toBe(0);
    expect(res.stderr.filter((l) => !l.startsWith('Note') && !l.startsWith('      '))).toEqual([]);
    expect(res.exitCode).toBe(0);
    const unit = dir[UNIT_NAME]?.split('\n') ?? [];
    expect(unit).toContain('User=nobody');
    expect(unit).toContain(`Environment=PM2_HOME=${daemon!.home}`);
    expect(fake.calls()).toEqual(['enable syft-bg']);
    // pm2 save/jlist ran as nobody, so there was nothing to give back (the chown is only a safety net).
    expect(res.stdout.filter((l) => l.startsWith('Gave '))).toEqual([]);
    const own = owners(daemon!.home);
    expect(own).toMatchObject({ '.': NOBODY.uid, modules: NOBODY.uid, 'module_conf.json': NOBODY.uid, 'dump.pm2': NOBODY.uid });
    expect(Object.entries(own).filter(([, uid]) => uid !== NOBODY.uid)).toEqual([]);
    expect(daemon!.jlist().map((a) => a.pm2_env.status)).toEqual(['online', 'online']);
  });
});
