import { RESTART_POLICY } from '../pm2/apps';

/** Facts PM2 puts into a child's environment (pm2_env keys are exported as env vars). */
export interface Pm2ChildEnv {
  underPm2: boolean;
  pmId: number | null;
  unstableRestarts: number;
  createdAt: number | null;
}

export function pm2ChildEnv(env: NodeJS.ProcessEnv): Pm2ChildEnv {
  const num = (v: string | undefined) => (v !== undefined && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : null);
  const pmId = num(env.pm_id);
  return {
    underPm2: pmId !== null && env.pm_exec_path !== undefined,
    pmId,
    unstableRestarts: num(env.unstable_restarts) ?? 0,
    createdAt: num(env.created_at),
  };
}

/**
 * How long a service waits before exiting on a fatal error (pure). Exponential (0.25 s, 0.5 s, 1 s, 2 s, 4 s),
 * capped so that start-up + wait stays under PM2's min_uptime: the restart then still counts as unstable and
 * after `maxRestarts` of them PM2 shows the app as `errored` instead of restarting it forever.
 */
export function backoffMs(unstableRestarts: number): number {
  const cap = Math.min(4000, RESTART_POLICY.minUptimeMs - 3000);
  return Math.min(cap, 250 * 2 ** Math.max(0, unstableRestarts));
}

/**
 * PM2 counts unstable restarts only within min_uptime x max_restarts of the app's creation (God.handleExit).
 * A crash loop that begins later would never reach `errored`; such a process asks the daemon to reset
 * its counters (as `pm2 reset` does) so the loop is detected.
 */
export function creationWindowExpired(child: Pm2ChildEnv, now: number): boolean {
  if (!child.underPm2 || child.createdAt === null) return false;
  const window = RESTART_POLICY.minUptimeMs * RESTART_POLICY.maxRestarts;
  return now - child.createdAt > window - RESTART_POLICY.minUptimeMs;
}
