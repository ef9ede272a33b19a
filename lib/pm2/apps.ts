import * as path from 'node:path';
import { SERVICES, ServiceName, PM2_NAMESPACE, pm2Name } from '../services';
import { currentHome, HomeLayout } from '../home';
import { pm2Home } from './home';

/** Root of the installed package (the folder holding package.json and dist/). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** PM2 restart policy. Shared with the services, which implement the backoff (see lib/service/fatal.ts). */
export const RESTART_POLICY = {
  /** A run shorter than this counts as an unstable restart. */
  minUptimeMs: 10_000,
  /** After this many unstable restarts in a row PM2 marks the app `errored` and stops restarting it. */
  maxRestarts: 5,
  /** SIGINT, then SIGKILL after this long: time for a state write or an e-mail send to finish. */
  killTimeoutMs: 5_000,
} as const;

/** Environment variables passed through to the services (everything else is filtered out). */
const PASS_ENV = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR',
  'SYFT_BG_GOOGLE_ROOT_URL', 'SYFT_BG_LOG_LEVEL', 'NODE_EXTRA_CA_CERTS', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY',
];

export function scriptFor(service: ServiceName, root = PACKAGE_ROOT): string {
  return path.join(root, 'dist', 'apps', service, 'main.js');
}

/** V8 flags of the service processes (see appDefinition). */
export const SERVICE_NODE_ARGS: readonly string[] = ['--max-semi-space-size=2'];

export interface AppDefinition {
  name: string;
  namespace: string;
  script: string;
  cwd: string;
  interpreter: string;
  node_args: string[];
  pmx: false;
  exec_mode: 'fork';
  instances: 1;
  autorestart: true;
  min_uptime: number;
  max_restarts: number;
  kill_timeout: number;
  treekill: true;
  max_memory_restart: string;
  merge_logs: true;
  out_file: string;
  error_file: string;
  filter_env: string[];
  env: Record<string, string>;
}

/**
 * The PM2 app for one service. Used by `syft-bg start` (programmatic API) and by ecosystem.config.js
 * (`pm2 start ecosystem.config.js`), so both start exactly the same thing.
 *
 * - fork mode: cluster mode redirects stdout and pino's writes would end in pm2.log (node-ecosystem.md §F).
 * - no restart_delay / exp_backoff_restart_delay: in pm2 7.0.4 either one leaves a crash loop stuck in
 *   `waiting restart` forever instead of `errored` (God.handleExit). The services back off themselves
 *   before exiting on a fatal error, within min_uptime, so PM2 still counts the restart as unstable.
 * - filter_env: [''] + explicit env: `filter_env: true` is a no-op in 7.0.4 and the CLI's whole environment
 *   (secrets included) would otherwise be copied into the app and into dump.pm2.
 * - node_args --max-semi-space-size=2: V8's young generation otherwise grows to 16 MB semi-spaces during a
 *   cold scan of a large datasite and keeps them: ~35 MB of RSS for no measurable speed (bench/approve-scan.js).
 * - pmx: false: PM2 would load its @pm2/io into the app with every default probe on (heap, event loop, HTTP,
 *   inspector), half of an idle service's CPU; lib/metrics starts it itself with only our own metrics.
 * - out_file /dev/null: the services write rotated logs themselves (pino-roll, 10 MB x 5) and stream the same
 *   lines to stdout for `pm2 logs` / `pm2 monit`; PM2 keeps only early crash traces in error_file.
 */
export function appDefinition(
  service: ServiceName,
  opts: { home?: HomeLayout; env?: NodeJS.ProcessEnv; root?: string; nodePath?: string } = {},
): AppDefinition {
  const env = opts.env ?? process.env;
  const home = opts.home ?? currentHome(env);
  const appEnv: Record<string, string> = {};
  for (const k of PASS_ENV) {
    const v = env[k];
    if (v !== undefined && v !== '') appEnv[k] = v;
  }
  appEnv.NODE_ENV = 'production';
  appEnv.SYFT_BG_HOME = home.dir;
  appEnv.SYFT_BG_SERVICE = service;
  appEnv.PM2_HOME = pm2Home(env);
  return {
    name: pm2Name(service),
    namespace: PM2_NAMESPACE,
    script: scriptFor(service, opts.root),
    cwd: opts.root ?? PACKAGE_ROOT,
    interpreter: opts.nodePath ?? process.execPath,
    node_args: [...SERVICE_NODE_ARGS],
    pmx: false,
    exec_mode: 'fork',
    instances: 1,
    autorestart: true,
    min_uptime: RESTART_POLICY.minUptimeMs,
    max_restarts: RESTART_POLICY.maxRestarts,
    kill_timeout: RESTART_POLICY.killTimeoutMs,
    treekill: true,
    max_memory_restart: '400M',
    merge_logs: true,
    out_file: '/dev/null',
    error_file: path.join(home.logs, service, 'pm2-error.log'),
    filter_env: [''],
    env: appEnv,
  };
}

/** The content of ecosystem.config.js. */
export function ecosystem(opts: { env?: NodeJS.ProcessEnv } = {}): { apps: AppDefinition[] } {
  return { apps: SERVICES.map((s) => appDefinition(s, opts)) };
}
