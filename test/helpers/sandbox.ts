import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, SpawnSyncReturns, ChildProcess } from 'node:child_process';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const PM2_BIN = require.resolve('pm2/bin/pm2');

/**
 * A throw-away user: its own HOME (so ~/.syft-bg and ~/SyftBox_* are private) and its own PM2_HOME,
 * with a real PM2 daemon started on demand by the commands under test.
 */
export interface Sandbox {
  dir: string;
  home: string;
  pm2Home: string;
  syftBgHome: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): CliResult;
  cliAsync(args: string[], opts?: { env?: NodeJS.ProcessEnv }): Promise<CliResult> & { child: ChildProcess };
  pm2(args: string[]): CliResult;
  /** Kill the sandbox's PM2 daemon with the pm2 binary (never pm2.killDaemon() inside jest). */
  killDaemon(): void;
  cleanup(): void;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function result(r: SpawnSyncReturns<string>): CliResult {
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function ensureBuilt(): void {
  if (!fs.existsSync(CLI)) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
  }
}

export function makeSandbox(name = 'sb'): Sandbox {
  ensureBuilt();
  // Short paths: PM2's unix sockets live in PM2_HOME and sun_path is limited to 107 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const home = path.join(dir, 'home');
  const pm2Home = path.join(dir, 'pm2');
  fs.mkdirSync(home, { recursive: true });
  // The pm2 *binary* phones home (version check) the first time it sees a PM2 home without this file;
  // tests never reach the network.
  fs.mkdirSync(pm2Home, { recursive: true });
  fs.writeFileSync(path.join(pm2Home, 'touch'), String(Date.now()));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    PM2_HOME: pm2Home,
    LANG: 'C.UTF-8',
  };
  const sb: Sandbox = {
    dir,
    home,
    pm2Home,
    syftBgHome: path.join(home, '.syft-bg'),
    env,
    cli(args, opts = {}) {
      return result(
        spawnSync(process.execPath, [CLI, ...args], {
          env: { ...env, ...opts.env },
          encoding: 'utf8',
          input: opts.input ?? '',
          timeout: opts.timeoutMs ?? 60_000,
          cwd: dir,
        }),
      );
    },
    cliAsync(args, opts = {}) {
      const c = spawn(process.execPath, [CLI, ...args], { env: { ...env, ...opts.env }, cwd: dir });
      const p = new Promise<CliResult>((resolve, reject) => {
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => (stdout += d));
        c.stderr.on('data', (d) => (stderr += d));
        c.on('error', reject);
        c.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      return Object.assign(p, { child: c });
    },
    pm2(args) {
      return result(spawnSync(process.execPath, [PM2_BIN, ...args], { env, encoding: 'utf8', timeout: 60_000, cwd: dir }));
    },
    killDaemon() {
      if (fs.existsSync(path.join(pm2Home, 'rpc.sock')) || fs.existsSync(path.join(pm2Home, 'pm2.pid'))) {
        spawnSync(process.execPath, [PM2_BIN, 'kill'], { env, encoding: 'utf8', timeout: 30_000 });
      }
    },
    cleanup() {
      sb.killDaemon();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return sb;
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface StatusJson {
  config: { path: string; exists: boolean; error: string | null; email: string | null; transports: Record<string, string> };
  pm2: { daemon: string; home: string; daemonVersion: string | null };
  services: Array<{ name: string; state: string; pid: number | null; restarts: number; exitCode: number | null; detail: string | null; memoryBytes: number | null }>;
  tokens: Array<{ label: string; state: string }>;
}

/** `status --json` (which exits 1, with the whole report, when config.yaml is invalid). */
export function statusJson(sb: Sandbox): StatusJson {
  const r = sb.cli(['status', '--json']);
  let j: StatusJson | undefined;
  try {
    j = JSON.parse(r.stdout) as StatusJson;
  } catch {
    j = undefined;
  }
  if (j && (r.code === 0 || (r.code === 1 && j.config.error))) return j;
  throw new Error(`status --json failed (${r.code}): ${r.stderr}`);
}
