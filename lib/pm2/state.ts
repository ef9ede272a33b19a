import type { Pm2Process } from './daemon-reader';
import { RESTART_POLICY } from './apps';

export type ServiceState = 'online' | 'starting' | 'stopping' | 'stopped' | 'errored' | 'restarting' | 'not started';

export interface ServiceRuntime {
  state: ServiceState;
  pid: number | null;
  uptimeMs: number | null;
  restarts: number;
  memoryBytes: number | null;
  cpuPercent: number | null;
  exitCode: number | null;
  /** Why the service is errored, when we can tell. */
  detail: string | null;
  /** The service's own metrics as PM2 last received them (`pm2 show`'s "Code metrics"); null before any. */
  metrics?: Record<string, number | string | null> | null;
}

/** PM2's `axm_monitor` ({name: {value, unit}}) as plain values (pure). */
export function metricsOf(axm: Record<string, { value?: unknown }> | undefined): Record<string, number | string | null> | null {
  if (!axm || typeof axm !== 'object') return null;
  const out: Record<string, number | string | null> = {};
  for (const [k, v] of Object.entries(axm)) {
    const x = v && typeof v === 'object' ? v.value : undefined;
    out[k] = typeof x === 'number' || typeof x === 'string' ? x : null;
  }
  return Object.keys(out).length ? out : null;
}

export const EXIT_CODE_MEANING: Record<number, string> = {
  78: 'invalid configuration (see syft-bg logs)',
};

/**
 * Derive a service's state from its PM2 description (pure).
 * `waiting restart` with no pid for longer than the longest backoff is a stuck crash loop (pm2 7.0.4 never
 * turns it into `errored` when a restart delay is configured, node-ecosystem.md §A.4) and is shown as errored.
 */
export function deriveRuntime(p: Pm2Process | undefined, now: number): ServiceRuntime {
  if (!p) {
    return { state: 'not started', pid: null, uptimeMs: null, restarts: 0, memoryBytes: null, cpuPercent: null, exitCode: null, detail: null, metrics: null };
  }
  const env = p.pm2_env;
  const status = env.status ?? 'unknown';
  const pid = p.pid && p.pid > 0 ? p.pid : null;
  const exitCode = typeof env.exit_code === 'number' ? env.exit_code : null;
  let state: ServiceState;
  switch (status) {
    case 'online':
      state = pid ? 'online' : 'starting';
      break;
    case 'launching':
      state = 'starting';
      break;
    case 'stopping':
      state = 'stopping';
      break;
    case 'stopped':
      state = 'stopped';
      break;
    case 'errored':
      state = 'errored';
      break;
    case 'waiting restart': {
      const since = typeof env.pm_uptime === 'number' ? now - env.pm_uptime : 0;
      state = !pid && since > 15_000 + RESTART_POLICY.minUptimeMs ? 'errored' : 'restarting';
      break;
    }
    default:
      state = 'errored';
  }
  const running = state === 'online';
  let detail: string | null = null;
  if ((state === 'errored' || state === 'restarting' || state === 'stopped') && exitCode !== null && exitCode !== 0) {
    detail = `last exit code ${exitCode}` + (EXIT_CODE_MEANING[exitCode] ? `: ${EXIT_CODE_MEANING[exitCode]}` : '');
  }
  if (state === 'errored' && !detail) detail = 'crashed repeatedly; PM2 stopped restarting it';
  return {
    state,
    pid: running ? pid : null,
    uptimeMs: running && typeof env.pm_uptime === 'number' ? Math.max(0, now - env.pm_uptime) : null,
    restarts: env.restart_time ?? 0,
    memoryBytes: running ? (p.monit?.memory ?? null) : null,
    cpuPercent: running ? (p.monit?.cpu ?? null) : null,
    exitCode,
    detail,
    metrics: metricsOf(env.axm_monitor),
  };
}

export function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
