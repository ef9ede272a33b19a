import { resolveContext, type ApiOptions } from './context';
import { BootError, type Output } from './errors';

export interface BootApiOptions extends ApiOptions {
  /** Say what would be done (the systemd unit and the commands); change nothing. */
  dryRun?: boolean;
  /** Install for this user (needs root when it is not ourselves). */
  user?: string;
}

/** What install/uninstall printed: `stdout` (what was done, or the dry run), `stderr` (notes). */
export type BootResult = Output;

async function boot(op: 'install' | 'uninstall', opts: BootApiOptions): Promise<BootResult> {
  const { env } = resolveContext(opts);
  const startup = require('../boot/startup') as typeof import('../boot/startup');
  const r = await startup[op]({ dryRun: !!opts.dryRun, env, ...(opts.user !== undefined ? { user: opts.user } : {}) });
  const result: BootResult = { stdout: r.stdout, stderr: r.stderr };
  if (r.exitCode !== 0) throw new BootError([...r.stderr, ...r.stdout].join('\n') || `${op} failed`, r.exitCode, result);
  return result;
}

/**
 * `syft-bg install`: start syft-bg at boot (pm2 save + pm2 startup systemd). When not root, the PM2 list is saved
 * and `stdout` holds the exact `sudo …` line to run once. A failure throws a BootError (with `result`).
 */
export function install(opts: BootApiOptions = {}): Promise<BootResult> {
  return boot('install', opts);
}

/** `syft-bg uninstall`: stop starting syft-bg at boot; running services keep running. */
export function uninstall(opts: BootApiOptions = {}): Promise<BootResult> {
  return boot('uninstall', opts);
}
