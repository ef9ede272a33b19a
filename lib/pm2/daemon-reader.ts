import * as fs from 'node:fs';
import * as path from 'node:path';
import { pm2Home } from './home';

/** One process as the PM2 daemon describes it (the fields syft-bg reads). */
export interface Pm2Process {
  name: string;
  pm_id: number;
  pid: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env: {
    status?: string;
    namespace?: string;
    pm_uptime?: number;
    created_at?: number | null;
    restart_time?: number;
    unstable_restarts?: number;
    exit_code?: number;
    pm_exec_path?: string;
    pm_err_log_path?: string;
    pmx_module?: boolean;
    axm_monitor?: Record<string, { value?: unknown; unit?: string }>;
    [k: string]: unknown;
  };
}

export type DaemonSnapshot =
  | { running: false; home: string; reason: string }
  | { running: true; home: string; version: string | undefined; processes: Pm2Process[] };

interface RpcClient {
  call(method: string, ...args: unknown[]): void;
}

type Call = (method: string, arg: unknown) => Promise<unknown>;

/**
 * Talk to the PM2 daemon's RPC socket with the RPC client bundled in our pinned pm2
 * (pm2/modules/pm2-axon-rpc), the same client `pm2 jlist` uses, without loading the whole pm2 API
 * (≈200 ms of require). Never starts a daemon: resolves `undefined` when none answers.
 */
export function withDaemonRpc<T>(home: string, timeoutMs: number, fn: (call: Call) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  const sock = path.join(home, 'rpc.sock');
  if (!fs.existsSync(sock)) return Promise.resolve({ ok: false, reason: 'no daemon socket' });
  const pm2Dir = path.dirname(require.resolve('pm2/package.json'));
  const axon = require(path.join(pm2Dir, 'modules', 'pm2-axon')) as { socket(kind: string): AxonSocket };
  const rpc = require(path.join(pm2Dir, 'modules', 'pm2-axon-rpc')) as { Client: new (s: AxonSocket) => RpcClient };
  return new Promise((resolve) => {
    const req = axon.socket('req');
    let done = false;
    const finish = (r: { ok: true; value: T } | { ok: false; reason: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        req.close();
      } catch {
        /* already closed */
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'daemon did not answer' }), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: e.code ?? e.message }));
    // axon retries forever on a dead socket; a refused connection means no daemon.
    req.on('reconnect attempt', () => finish({ ok: false, reason: 'daemon socket refused the connection' }));
    req.on('connect', () => {
      const client = new rpc.Client(req);
      const call: Call = (method, arg) =>
        new Promise((res, rej) => client.call(method, arg, (e: Error | null, v: unknown) => (e ? rej(e) : res(v))));
      fn(call).then(
        (value) => finish({ ok: true, value }),
        (e: Error) => finish({ ok: false, reason: e.message }),
      );
    });
    req.connect(sock);
  });
}

/** The daemon's version and process list (what `pm2 jlist` shows). */
export async function readDaemon(opts: { home?: string; timeoutMs?: number } = {}): Promise<DaemonSnapshot> {
  const home = opts.home ?? pm2Home();
  const r = await withDaemonRpc(home, opts.timeoutMs ?? 2000, async (call) => {
    const version = (await call('getVersion', {}).catch(() => undefined)) as string | undefined;
    const processes = (await call('getMonitorData', {})) as Pm2Process[];
    return { version, processes };
  });
  return r.ok ? { running: true, home, ...r.value } : { running: false, home, reason: r.reason };
}

interface AxonSocket {
  on(ev: string, fn: (...a: any[]) => void): void;
  connect(p: string): void;
  close(): void;
}

/** The version of the pm2 package syft-bg ships with. */
export function bundledPm2Version(): string {
  return (require('pm2/package.json') as { version: string }).version;
}
