/**
 * Test helpers for lib/boot: a transpiled copy of the library that child processes can run, a fake `systemctl`,
 * a private mount namespace for the root path, and PM2 daemons in temp homes driven only through the pm2 binary.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { transformFileSync } from '@swc/core';

export const REPO = path.resolve(__dirname, '..', '..');
export const NODE = process.execPath;
export const PM2_BIN = fs.realpathSync(require.resolve('pm2/bin/pm2'));
export const DRIVER = path.join(__dirname, 'fixtures', 'driver.js');
export const UNIT = '/etc/systemd/system/syft-bg.service';
export const NOBODY = { name: 'nobody', uid: 65534, gid: 65534 };
/** A PATH without anything from the jest process. */
export const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** A temp folder that other users can traverse (mkdtemp makes 0700). */
export function tempRoot(prefix: string): string {
  const dir = fs.mkdtempSync(path.join('/tmp', prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** Transpile lib/errors.ts, lib/home.ts and lib/boot/*.ts to `<dir>/lib`; returns the path of startup.js. */
export function buildLib(dir: string): string {
  const files = ['lib/errors.ts', 'lib/home.ts', ...fs.readdirSync(path.join(REPO, 'lib/boot')).filter((f) => f.endsWith('.ts')).map((f) => `lib/boot/${f}`)];
  for (const rel of files) {
    const out = transformFileSync(path.join(REPO, rel), {
      swcrc: false,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    });
    const dest = path.join(dir, rel.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
    fs.writeFileSync(dest, out.code, { mode: 0o644 });
  }
  return path.join(dir, 'lib', 'boot', 'startup.js');
}

export interface FakeSystemctl {
  dir: string;
  log: string;
  calls(): string[];
  failOn(verb: string | null): void;
}

/** A `systemctl` that appends its arguments to a log file; fails on a verb when asked to. */
export function fakeSystemctl(root: string): FakeSystemctl {
  const dir = path.join(root, 'fakebin');
  fs.mkdirSync(dir, { mode: 0o755 });
  const log = path.join(root, 'systemctl.log');
  const flag = path.join(root, 'systemctl.fail');
  fs.writeFileSync(
    path.join(dir, 'systemctl'),
    `#!/bin/sh\necho "$*" >> '${log}'\nif [ -f '${flag}' ] && [ "$1" = "$(cat '${flag}')" ]; then echo "fake systemctl: $1 failed on purpose" >&2; exit 1; fi\nexit 0\n`,
    { mode: 0o755 },
  );
  return {
    dir,
    log,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : []),
    failOn: (verb) => (verb === null ? fs.rmSync(flag, { force: true }) : fs.writeFileSync(flag, verb)),
  };
}

export interface LibResult {
  exitCode: number;
  stdout: string[];
  stderr: string[];
  uid: number;
}

export type Step =
  | { op: 'install' | 'uninstall'; opts: Record<string, unknown>; asUid?: number; asGid?: number; procEnv?: Record<string, string> }
  | { op: 'unitDir' }
  | { op: 'sh'; cmd: string; env?: Record<string, string> }
  | { op: 'runSudoLine'; from: number; env?: Record<string, string> };

/**
 * Run the steps in the driver, inside `unshare -m` with a tmpfs over /etc/systemd/system: nothing reaches the real
 * folder, and the tmpfs disappears with the namespace. Returns the driver's results, one per step.
 */
export function runInNamespace(lib: string, root: string, steps: Step[]): unknown[] {
  const stepsFile = path.join(root, `steps-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(stepsFile, JSON.stringify(steps), { mode: 0o644 });
  // HOME and PM2_HOME point into the temp folder: a command that forgets PM2_HOME (e.g. a wrong sudo line) lands in
  // STRAY_PM2_HOME, where the tests see it, instead of creating the real /root/.pm2.
  const r = spawnSync(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o mode=0755 syftbg-test /etc/systemd/system && exec "$@"', 'sh', NODE, DRIVER, stepsFile],
    {
      env: { PATH: SYS_PATH, HOME: root, PM2_HOME: strayPm2Home(root), BOOT_LIB: lib, NODE_PATH: path.join(REPO, 'node_modules') },
      encoding: 'utf8',
      timeout: 180000,
    },
  );
  if (r.status !== 0) throw new Error(`driver failed (${r.status} ${r.signal ?? ''}): ${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as unknown[];
}

/** Where a pm2 command run by the driver without its own PM2_HOME would write (it must stay absent). */
export function strayPm2Home(root: string): string {
  return path.join(root, 'STRAY_PM2_HOME');
}

export function unshareWorks(): boolean {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /etc/systemd/system && ls -A /etc/systemd/system'], {
    encoding: 'utf8',
  });
  return r.status === 0 && r.stdout.trim() === '';
}

interface Owner {
  uid: number;
  gid: number;
}

/** The pm2 binary with this PM2_HOME (and nothing else from our environment), as `owner` when given. */
export function pm2(home: string, args: string[], owner?: Owner, cwd?: string): SpawnSyncReturns<string> {
  return spawnSync(NODE, [PM2_BIN, ...args], {
    env: { PATH: SYS_PATH, HOME: path.dirname(home), PM2_HOME: home, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 60000,
    cwd: cwd ?? path.dirname(home),
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
}

export interface Daemon {
  home: string;
  owner: Owner | undefined;
  jlist(): Array<{ name: string; pm2_env: { status: string; namespace: string } }>;
  kill(): void;
}

/**
 * A PM2 daemon in a fresh home with a trivial app per name (`syft-bg-*` ones in namespace syft-bg). The `touch` file
 * marks the home as already used, so pm2 skips its banner and network version check.
 */
export function startDaemon(root: string, name: string, apps: string[], owner?: Owner): Daemon {
  const home = path.join(root, name);
  fs.mkdirSync(home, { mode: 0o755 });
  fs.writeFileSync(path.join(home, 'touch'), String(Date.now()));
  const app = path.join(root, 'app.js');
  if (!fs.existsSync(app)) fs.writeFileSync(app, 'setInterval(() => {}, 1 << 30);\n', { mode: 0o644 });
  if (owner) {
    fs.chownSync(home, owner.uid, owner.gid);
    fs.chownSync(path.join(home, 'touch'), owner.uid, owner.gid);
  }
  const d: Daemon = {
    home,
    owner,
    jlist: () => {
      const r = pm2(home, ['jlist'], owner);
      return JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as ReturnType<Daemon['jlist']>;
    },
    kill: () => {
      let pid: number | undefined;
      try {
        pid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
      } catch {
        pid = undefined;
      }
      pm2(home, ['kill'], owner);
      if (pid !== undefined && pid > 0) {
        try {
          process.kill(pid, 'SIGKILL'); // only if `pm2 kill` left it behind
        } catch {
          /* gone */
        }
      }
    },
  };
  for (const a of apps) {
    const args = ['start', app, '--name', a];
    if (a.startsWith('syft-bg-')) args.push('--namespace', 'syft-bg');
    const r = pm2(home, args, owner);
    if (r.status !== 0) {
      d.kill();
      throw new Error(`pm2 start ${a} failed: ${r.stderr}${r.stdout}`);
    }
  }
  return d;
}

/** Owners (uid) of the PM2 home, its entries and those of logs/, pids/, modules/. */
export function owners(home: string): Record<string, number> {
  const out: Record<string, number> = { '.': fs.lstatSync(home).uid };
  for (const name of fs.readdirSync(home)) {
    const p = path.join(home, name);
    const st = fs.lstatSync(p);
    out[name] = st.uid;
    if (st.isDirectory() && ['logs', 'pids', 'modules'].includes(name)) {
      for (const inner of fs.readdirSync(p)) out[`${name}/${inner}`] = fs.lstatSync(path.join(p, inner)).uid;
    }
  }
  return out;
}
