/**
 * `syft-bg install` / `syft-bg uninstall`: start the syft-bg PM2 apps at boot.
 *
 * install = `pm2 save --force` (the dump `pm2 resurrect` reads at boot) + `pm2 startup systemd -u <user>
 * --service-name syft-bg`, spawned with the real pm2 CLI (`node …/pm2/bin/pm2`), never `pm2.startup()` in our own
 * process (that writes our script into ExecStart). pm2 writes /etc/systemd/system/syft-bg.service and runs
 * `systemctl enable syft-bg`; that needs root, so a non-root user gets the exact `sudo …` line to run.
 *
 * uninstall = `systemctl disable syft-bg`, remove the unit, `systemctl daemon-reload`. Not `pm2 unstartup`: that
 * runs `systemctl stop syft-bg` first, whose `ExecStop=pm2 kill` stops every app when the boot service is active.
 *
 * Both return the lines to print and an exit code; they never throw for a user-facing problem.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, EXIT } from '../errors';
import { expandTilde } from '../home';
import { type Pm2App, type Pm2Invocation, type RunAs, daemonRunning, parseJlist, pm2Command, resolvePm2Bin } from './pm2cli';
import { type Command, describeFailure, run } from './run';
import { envAssign, shellLine, shellQuote } from './shell';
import { UNIT_UNSAFE, pm2EnvPath, readSystemdTemplate, renderSystemdUnit } from './unit';
import { type UserInfo, chownRootOwned, ensureUserPm2Home, lookupUser } from './users';

export const SERVICE_NAME = 'syft-bg';
/** Fixed by pm2 for systemd. */
export const UNIT_DIR = '/etc/systemd/system';
export const UNIT_PATH = `${UNIT_DIR}/${SERVICE_NAME}.service`;
export const APP_NAMES: readonly string[] = ['syft-bg-notify', 'syft-bg-approve'];
export const APP_NAMESPACE = 'syft-bg';
const DEFAULT_TIMEOUT_MS = 60_000;

export interface BootOptions {
  /** Print what would be done (unit content and commands); change nothing. */
  dryRun?: boolean;
  /** Environment to read PATH, PM2_HOME, HOME from and to pass to pm2 (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Our uid (default: process.getuid()); 0 = root. */
  uid?: number;
  /** The user the boot service runs as (default: the user of `uid`). Another user than ours needs root. */
  user?: string;
  /**
   * The PM2 home (default: PM2_HOME from `env`, else `$HOME/.pm2`, when `user` is ourselves; else the home of
   * `user` from passwd + `/.pm2`).
   */
  pm2Home?: string;
  /** Node binary used to run pm2 (default: process.execPath). */
  node?: string;
  /** pm2 CLI script (default: the real path of `require.resolve('pm2/bin/pm2')`). */
  pm2Bin?: string;
  /** Per spawned command (default 60 s). */
  timeoutMs?: number;
}

export interface BootResult {
  exitCode: number;
  stdout: string[];
  stderr: string[];
}

class Out {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  out(...lines: string[]): void {
    this.stdout.push(...lines);
  }
  err(...lines: string[]): void {
    this.stderr.push(...lines);
  }
  result(exitCode: number): BootResult {
    return { exitCode, stdout: this.stdout, stderr: this.stderr };
  }
}

/** A failure whose explanation is already several lines. */
class Failure extends UserError {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'), EXIT.failure);
  }
}

interface Context {
  env: NodeJS.ProcessEnv;
  uid: number;
  root: boolean;
  target: UserInfo;
  pm2Home: string;
  node: string;
  pm2Bin: string;
  inv: Pm2Invocation;
  timeoutMs: number;
}

function currentUser(uid: number, env: NodeJS.ProcessEnv): UserInfo {
  const u = lookupUser(uid);
  if (u) return u;
  // No passwd entry (some containers): systemd's User= also takes a numeric uid.
  return { name: String(uid), uid, gid: typeof process.getgid === 'function' ? process.getgid() : uid, home: env.HOME ?? '/' };
}

function resolveContext(opts: BootOptions): Context {
  const env = opts.env ?? process.env;
  const uid = opts.uid ?? (typeof process.getuid === 'function' ? process.getuid() : -1);
  if (uid < 0) throw new UserError('Boot start is only supported on Linux with systemd.');
  const root = uid === 0;
  const self = currentUser(uid, env);
  let target = self;
  if (opts.user !== undefined && opts.user !== self.name) {
    const u = lookupUser(opts.user);
    if (!u) throw new UserError(`Unknown user "${opts.user}" (not found with getent passwd).`);
    target = u;
  }
  if (!root && target.uid !== uid) {
    throw new UserError(
      `Only root can set up boot start for another user (${target.name}). Run \`syft-bg install\` as ${target.name}, ` +
        `or \`syft-bg install --user ${target.name}\` as root.`,
    );
  }
  let pm2Home: string;
  if (opts.pm2Home !== undefined && opts.pm2Home.trim() !== '') {
    pm2Home = path.resolve(expandTilde(opts.pm2Home, target.home));
  } else if (target.uid === uid) {
    const home = env.HOME && env.HOME !== '' ? env.HOME : target.home;
    const fromEnv = env.PM2_HOME;
    pm2Home = fromEnv && fromEnv.trim() !== '' ? path.resolve(expandTilde(fromEnv, home)) : path.join(home, '.pm2');
  } else {
    pm2Home = path.join(target.home, '.pm2');
  }
  const node = opts.node ?? process.execPath;
  let pm2Bin: string;
  try {
    // pm2 writes the real path of its script (require.main.filename) into the unit.
    pm2Bin = opts.pm2Bin !== undefined ? fs.realpathSync(opts.pm2Bin) : resolvePm2Bin();
  } catch (e) {
    throw new UserError(`Cannot find the pm2 CLI (pm2/bin/pm2): ${(e as Error).message}`);
  }
  const as: RunAs | undefined = root && target.uid !== uid ? target : undefined;
  const inv: Pm2Invocation = { node, pm2Bin, baseEnv: env, pm2Home, ...(as ? { as } : {}) };
  return { env, uid, root, target, pm2Home, node, pm2Bin, inv, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS };
}

function isExecutableFile(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function findOnPath(name: string, pathEnv: string): string | undefined {
  for (const dir of pathEnv.split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

function realpathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * The PATH given to `pm2 startup` (it becomes `Environment=PATH=` in the unit): the caller's PATH without entries a
 * unit cannot carry (relative, or with spaces/`%`…), plus the folder of our node binary, which the unit needs because
 * `bin/pm2` starts with `#!/usr/bin/env node`.
 */
function unitPath(env: NodeJS.ProcessEnv, node: string): { path: string; dropped: string[] } {
  const nodeDir = path.dirname(realpathOr(node));
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    if (!path.isAbsolute(dir) || UNIT_UNSAFE.test(dir)) {
      dropped.push(dir);
      continue;
    }
    if (!kept.includes(dir)) kept.push(dir);
  }
  if (!kept.includes(nodeDir)) kept.push(nodeDir);
  return { path: kept.join(':'), dropped };
}

function noSystemctl(ctx: Context): Failure {
  const resurrect = `@reboot ${shellLine(['env', `PM2_HOME=${ctx.pm2Home}`, ctx.node, ctx.pm2Bin, 'resurrect'])}`;
  return new Failure([
    'Cannot set up boot start: `systemctl` is not on PATH, so this machine does not seem to use systemd.',
    '`syft-bg install` only supports systemd. Instead:',
    '  - start the services yourself after each boot with `syft-bg start`, or',
    `  - run \`${shellLine(['env', `PM2_HOME=${ctx.pm2Home}`, ctx.node, ctx.pm2Bin, 'save', '--force'])}\` while they run,`,
    `    then add this line to your crontab (\`crontab -e\`): ${resurrect}`,
    '  - or generate a boot script for your init system with `pm2 startup` (upstart, openrc, launchd, rcd…):',
    '    https://pm2.keymetrics.io/docs/usage/startup/',
  ]);
}

function systemdNotRunningNote(): string[] {
  if (fs.existsSync('/run/systemd/system')) return [];
  return [
    'Note: systemd is not running as the init system here (no /run/systemd/system: a container, or WSL without',
    '      systemd?). The unit is written and enabled, but only takes effect on a machine that boots with systemd.',
  ];
}

function describeApps(apps: Pm2App[]): string {
  return apps.map((a) => `${a.name} (${a.status ?? 'unknown'})`).join(', ');
}

export function isSyftBgApp(a: Pm2App): boolean {
  return APP_NAMES.includes(a.name) || a.namespace === APP_NAMESPACE;
}

const RUNNING = new Set(['online', 'launching']);

interface AppCheck {
  ok: boolean;
  /** Apps `pm2 save` would dump (all but pm2 modules). */
  saved: Pm2App[];
  lines: string[];
}

/** Read the PM2 list (`pm2 jlist`, only if a daemon runs) and check that a syft-bg app is running. */
async function checkApps(ctx: Context): Promise<AppCheck> {
  const startFirst = 'Start them first with `syft-bg start`, then run `syft-bg install` again.';
  if (!daemonRunning(ctx.pm2Home)) {
    return {
      ok: false,
      saved: [],
      lines: [`No syft-bg service is running: no PM2 daemon runs for PM2_HOME=${ctx.pm2Home}.`, startFirst],
    };
  }
  const cmd = pm2Command(ctx.inv, ['jlist']);
  const r = await run(cmd, ctx.timeoutMs);
  const apps = r.code === 0 ? parseJlist(r.stdout) : undefined;
  if (!apps) {
    const why = r.code === 0 ? ['Command printed no process list: ' + cmd.display] : describeFailure(cmd, r);
    throw new Failure(['Cannot read the PM2 process list.', ...why]);
  }
  const saved = apps.filter((a) => !a.module);
  const ours = saved.filter(isSyftBgApp);
  const running = ours.filter((a) => RUNNING.has(a.status ?? ''));
  if (running.length === 0) {
    const what =
      ours.length === 0
        ? `No syft-bg app (${APP_NAMES.join(', ')}) is in the PM2 list of PM2_HOME=${ctx.pm2Home}.`
        : `No syft-bg app is running in PM2_HOME=${ctx.pm2Home}: ${describeApps(ours)}.`;
    return { ok: false, saved, lines: [what, startFirst] };
  }
  const others = saved.filter((a) => !isSyftBgApp(a));
  const lines = [`  syft-bg apps: ${describeApps(ours)}`];
  lines.push(
    others.length > 0
      ? `  Note: pm2 save dumps ALL apps of this PM2 home, not only syft-bg's; at boot they all come back too: ${describeApps(others)}`
      : "  Note: pm2 save dumps ALL apps of this PM2 home, not only syft-bg's (here there are no others).",
  );
  const stopped = ours.filter((a) => !RUNNING.has(a.status ?? ''));
  if (stopped.length > 0) lines.push(`  Saved as they are now, so these stay stopped after boot: ${describeApps(stopped)}`);
  return { ok: true, saved, lines };
}

function existingUnitUser(): string | undefined {
  try {
    const m = /^User=(.*)$/m.exec(fs.readFileSync(UNIT_PATH, 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

function wrap(fn: (o: Out) => Promise<number>): Promise<BootResult> {
  const o = new Out();
  return fn(o).then(
    (code) => o.result(code),
    (e: unknown) => {
      if (e instanceof Failure) {
        o.err(...e.lines);
        return o.result(e.exitCode);
      }
      if (e instanceof UserError) {
        o.err(e.message);
        return o.result(e.exitCode);
      }
      throw e;
    },
  );
}

/** Set up boot start (see the module comment). */
export function install(opts: BootOptions = {}): Promise<BootResult> {
  return wrap(async (o) => {
    const ctx = resolveContext(opts);
    const { path: pathForUnit, dropped } = unitPath(ctx.env, ctx.node);
    for (const [what, value] of [
      ['The pm2 CLI path', ctx.pm2Bin],
      ['PM2_HOME', ctx.pm2Home],
      ['The user name', ctx.target.name],
    ] as const) {
      if (UNIT_UNSAFE.test(value)) {
        throw new UserError(
          `${what} "${value}" contains a space or one of % $ " ' \\ ; which a systemd unit cannot carry unquoted. ` +
            'Use a path without them.',
        );
      }
    }
    const systemctl = findOnPath('systemctl', pathForUnit);
    if (!systemctl) throw noSystemctl(ctx);

    const saveCmd = pm2Command(ctx.inv, ['save', '--force']);
    const startupArgs = ['startup', 'systemd', '-u', ctx.target.name, '--service-name', SERVICE_NAME];
    // pm2 startup runs as root (us, or via sudo), with the user's PM2_HOME: no --hp, which would append "/.pm2".
    const rootInv: Pm2Invocation = { node: ctx.node, pm2Bin: ctx.pm2Bin, baseEnv: ctx.env, pm2Home: ctx.pm2Home };
    const startupCmd = pm2Command(rootInv, startupArgs, { path: pathForUnit });
    const sudoLine = `sudo env ${envAssign('PATH', pathForUnit)} ${envAssign('PM2_HOME', ctx.pm2Home)} ${shellLine([ctx.node, ctx.pm2Bin, ...startupArgs])}`;

    o.out(`Installing boot start: systemd service ${SERVICE_NAME} for user ${ctx.target.name}, PM2_HOME=${ctx.pm2Home}`);
    if (dropped.length > 0) {
      o.err(`Note: left out of the unit's PATH (relative, or characters a unit cannot carry): ${dropped.join(' ')}`);
    }
    const nodeOnPath = findOnPath('node', pathForUnit);
    if (nodeOnPath && realpathOr(nodeOnPath) !== realpathOr(ctx.node)) {
      o.err(
        `Note: at boot, \`node\` on the unit's PATH is ${nodeOnPath}, not ${ctx.node} (the node running syft-bg now). ` +
          'Put the folder of the right node first in PATH and run this again if that matters.',
      );
    }

    const apps = await checkApps(ctx);

    if (opts.dryRun) {
      const unit = renderSystemdUnit(readSystemdTemplate(ctx.pm2Bin), {
        pm2Bin: ctx.pm2Bin,
        envPath: pm2EnvPath(pathForUnit, realpathOr(ctx.node), ctx.pm2Bin),
        user: ctx.target.name,
        pm2Home: ctx.pm2Home,
        serviceName: SERVICE_NAME,
      });
      o.out('Dry run: nothing is changed.');
      if (apps.ok) o.out(`Would save the PM2 process list to ${path.join(ctx.pm2Home, 'dump.pm2')}:`, ...apps.lines);
      else o.err('Note: a real install would stop here:', ...apps.lines.map((l) => `  ${l}`));
      o.out('Commands:', `  ${saveCmd.display}`);
      if (ctx.root) {
        if (ctx.inv.as) o.out(`  (as root; first making sure ${ctx.pm2Home} and what pm2 creates in it belong to ${ctx.target.name})`);
        o.out(`  ${startupCmd.display}`);
      }
      else o.out('  then, as root (this process is not root):', `  ${sudoLine}`);
      o.out(`  (pm2 writes ${UNIT_PATH} and runs: systemctl enable ${SERVICE_NAME})`);
      o.out(`Unit file ${UNIT_PATH}:`, ...unit.replace(/\n$/, '').split('\n'));
      o.err(...systemdNotRunningNote());
      return EXIT.ok;
    }

    if (!apps.ok) throw new Failure(apps.lines);

    // 1. pm2 save: the list `pm2 resurrect` restores at boot.
    const saved = await run(saveCmd, ctx.timeoutMs);
    if (saved.code !== 0) throw new Failure(['Could not save the PM2 process list.', ...describeFailure(saveCmd, saved)]);
    o.out(`Saved the PM2 process list to ${path.join(ctx.pm2Home, 'dump.pm2')} (pm2 save):`, ...apps.lines);

    // 2. Not root: the exact line to run.
    if (!ctx.root) {
      o.out(
        `Writing ${UNIT_PATH} needs root. Run this command once (as root, or leave out \`sudo\` in a root shell):`,
        sudoLine,
      );
      o.err(...systemdNotRunningNote());
      return EXIT.ok;
    }

    // 3. Root: pm2 startup. When acting for another user, keep their PM2 home theirs (pm2 creates
    //    logs/, pids/, modules/, module_conf.json, touch as the user running it: root).
    const previousUser = existingUnitUser();
    const hadUnit = fs.existsSync(UNIT_PATH);
    const as = ctx.inv.as;
    try {
      if (as) ensureUserPm2Home(ctx.pm2Home, as.uid, as.gid);
    } catch (e) {
      throw new UserError(`Cannot prepare PM2_HOME ${ctx.pm2Home} for ${as?.name ?? '?'}: ${(e as Error).message}`);
    }
    const started = await run(startupCmd, ctx.timeoutMs);
    let given: string[] = [];
    if (as) {
      try {
        given = chownRootOwned(ctx.pm2Home, as.uid, as.gid);
      } catch (e) {
        o.err(`Warning: could not give ${ctx.pm2Home} back to ${as.name}: ${(e as Error).message}`);
      }
    }
    if (started.code !== 0) {
      const lines = ['Could not install the boot service.', ...describeFailure(startupCmd, started)];
      if (!hadUnit && fs.existsSync(UNIT_PATH)) {
        fs.rmSync(UNIT_PATH, { force: true });
        lines.push(`Removed the half-installed ${UNIT_PATH}.`);
      }
      throw new Failure(lines);
    }
    if (!fs.existsSync(UNIT_PATH)) {
      throw new Failure(['pm2 startup reported success but did not write ' + UNIT_PATH + '.', `  Command: ${startupCmd.display}`]);
    }
    if (hadUnit) {
      o.out(
        `Replaced the existing ${UNIT_PATH}` +
          (previousUser !== undefined && previousUser !== ctx.target.name ? ` (it was for user ${previousUser}).` : '.'),
      );
    }
    o.out(`Wrote ${UNIT_PATH} and enabled it (systemctl enable ${SERVICE_NAME}), with: ${startupCmd.display}`);
    if (given.length > 0) o.out(`Gave ${given.length} file(s) pm2 created as root in ${ctx.pm2Home} back to ${ctx.target.name}.`);
    o.out(
      `At boot, systemd runs \`${ctx.pm2Bin} resurrect\` as ${ctx.target.name} with PM2_HOME=${ctx.pm2Home}, which restarts the saved apps.`,
      'The running services were left as they are. After adding or removing apps, run `syft-bg install` again so the saved list matches.',
      'To undo: syft-bg uninstall',
    );
    o.err(...systemdNotRunningNote());
    return EXIT.ok;
  });
}

/** Remove boot start; the running services are not stopped (see the module comment). */
export function uninstall(opts: BootOptions = {}): Promise<BootResult> {
  return wrap(async (o) => {
    const env = opts.env ?? process.env;
    const uid = opts.uid ?? (typeof process.getuid === 'function' ? process.getuid() : -1);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!fs.existsSync(UNIT_PATH)) {
      o.out(`Boot start is not installed (no ${UNIT_PATH}): nothing to do.`);
      return EXIT.ok;
    }
    const systemctl = findOnPath('systemctl', env.PATH ?? '');
    if (!systemctl) {
      throw new Failure([
        `Cannot remove boot start: \`systemctl\` is not on PATH, so systemd cannot be told to disable ${SERVICE_NAME}.`,
        `Remove it by hand as root: rm ${UNIT_PATH} (and the ${SERVICE_NAME}.service link under ${UNIT_DIR}/multi-user.target.wants/).`,
      ]);
    }
    const disable: Command = { file: systemctl, args: ['disable', SERVICE_NAME], env, display: shellLine([systemctl, 'disable', SERVICE_NAME]) };
    const reload: Command = { file: systemctl, args: ['daemon-reload'], env, display: shellLine([systemctl, 'daemon-reload']) };
    const rmLine = shellLine(['rm', '-f', UNIT_PATH]);
    const script = `${disable.display} && ${rmLine} && ${reload.display}`;
    const notStopped =
      'The running syft-bg services are not stopped: they keep running until `syft-bg stop` or shutdown, and no longer start at boot.';
    const user = existingUnitUser();
    o.out(`Uninstalling boot start: systemd service ${SERVICE_NAME}${user !== undefined ? ` (user ${user})` : ''}`);

    if (opts.dryRun) {
      o.out('Dry run: nothing is changed.', 'Commands (as root):', `  ${disable.display}`, `  ${rmLine}`, `  ${reload.display}`);
      o.out('The running syft-bg services would not be stopped.');
      return EXIT.ok;
    }
    if (uid !== 0) {
      o.out(
        `Removing ${UNIT_PATH} needs root. Run this command once (as root, or leave out \`sudo\` in a root shell):`,
        `sudo sh -c ${shellQuote(script)}`,
        notStopped,
      );
      return EXIT.ok;
    }
    const d = await run(disable, timeoutMs);
    if (d.code !== 0) throw new Failure(['Could not disable the boot service.', ...describeFailure(disable, d)]);
    try {
      fs.rmSync(UNIT_PATH, { force: true });
    } catch (e) {
      throw new UserError(`Disabled ${SERVICE_NAME}, but could not remove ${UNIT_PATH}: ${(e as Error).message}`);
    }
    o.out(`Disabled ${SERVICE_NAME} (systemctl disable ${SERVICE_NAME}) and removed ${UNIT_PATH}.`);
    const r = await run(reload, timeoutMs);
    if (r.code !== 0) {
      throw new Failure([`Removed ${UNIT_PATH}, but systemd was not reloaded.`, ...describeFailure(reload, r)]);
    }
    o.out(notStopped, 'The saved PM2 process list (dump.pm2) was left in place.');
    return EXIT.ok;
  });
}
