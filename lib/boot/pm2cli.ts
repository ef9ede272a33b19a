import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Command, stripAnsi } from './run';
import { envAssign, shellLine } from './shell';

/**
 * The real pm2 CLI script (`node_modules/pm2/bin/pm2`), symlinks resolved: this is what pm2 itself writes into the
 * unit (`require.main.filename`), so the path we show and the path in the unit are the same.
 */
export function resolvePm2Bin(): string {
  return fs.realpathSync(require.resolve('pm2/bin/pm2'));
}

/** The pm2 package folder of a `…/pm2/bin/pm2` path. */
export function pm2PackageDir(pm2Bin: string): string {
  return path.dirname(path.dirname(pm2Bin));
}

/** Who runs a pm2 command: the current process, or (when we are root) another user. */
export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface Pm2Invocation {
  node: string;
  pm2Bin: string;
  /** The environment of the caller; PM2_HOME (and PATH when given) are overridden. */
  baseEnv: NodeJS.ProcessEnv;
  pm2Home: string;
  /** Set when we are root acting for another user. */
  as?: RunAs;
}

/** A pm2 CLI command with PM2_HOME (and optionally PATH) set, as `env PM2_HOME=… node …/pm2 <args>`. */
export function pm2Command(inv: Pm2Invocation, args: string[], opts: { path?: string } = {}): Command {
  const env: NodeJS.ProcessEnv = { ...inv.baseEnv, PM2_HOME: inv.pm2Home, NO_COLOR: '1', FORCE_COLOR: '0' };
  const shown: string[] = [];
  if (opts.path !== undefined) {
    env.PATH = opts.path;
    shown.push(envAssign('PATH', opts.path));
  }
  shown.push(envAssign('PM2_HOME', inv.pm2Home));
  let prefix = '';
  const cmd: Command = { file: inv.node, args: [inv.pm2Bin, ...args], env, display: '' };
  if (inv.as) {
    env.HOME = inv.as.home;
    env.USER = inv.as.name;
    env.LOGNAME = inv.as.name;
    cmd.uid = inv.as.uid;
    cmd.gid = inv.as.gid;
    prefix = `${shellLine(['runuser', '-u', inv.as.name, '--'])} `;
  }
  cmd.display = `${prefix}env ${shown.join(' ')} ${shellLine([inv.node, inv.pm2Bin, ...args])}`;
  return cmd;
}

/**
 * Whether a PM2 daemon is running for this home (its `pm2.pid` names a live process). Checked before `pm2 jlist`,
 * because any pm2 CLI command starts a new, empty daemon when none is running.
 */
export function daemonRunning(pm2Home: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(pm2Home, 'pm2.pid'), 'utf8').trim(), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Pm2App {
  name: string;
  namespace: string | undefined;
  status: string | undefined;
  /** pm2 modules (pm2-logrotate…) are not saved by `pm2 save`. */
  module: boolean;
}

/** Parse `pm2 jlist` output. pm2 may print a banner or a version warning around the JSON. */
export function parseJlist(stdout: string): Pm2App[] | undefined {
  const text = stripAnsi(stdout);
  const candidates = [text.trim(), ...text.split('\n').filter((l) => l.trimStart().startsWith('['))];
  for (const c of candidates) {
    const s = c.trim();
    const end = s.lastIndexOf(']');
    if (!s.startsWith('[') || end < 0) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(s.slice(0, end + 1));
    } catch {
      continue;
    }
    if (!Array.isArray(parsed)) continue;
    return parsed.map((p: unknown): Pm2App => {
      const o = (p ?? {}) as { name?: unknown; pm2_env?: { namespace?: unknown; status?: unknown; pmx_module?: unknown } };
      const env = o.pm2_env ?? {};
      return {
        name: typeof o.name === 'string' ? o.name : '?',
        namespace: typeof env.namespace === 'string' ? env.namespace : undefined,
        status: typeof env.status === 'string' ? env.status : undefined,
        module: env.pmx_module === true,
      };
    });
  }
  return undefined;
}
