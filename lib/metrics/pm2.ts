/**
 * Publish a MetricRegistry through PM2's own metrics API: the @pm2/io implementation PM2 7 ships
 * (`pm2/modules/pm2-io-bpm`, the module PM2's fork container already loads into every app). Its metrics reach
 * the daemon as `axm:monitor` messages and show in `pm2 show <app>` ("Code metrics value") and `pm2 monit`,
 * and in the process list (`pm2_env.axm_monitor`), where `syft-bg status --json` reads them.
 *
 * PM2's default probes (heap, event loop, HTTP, profiling, exception catching) are switched off: they cost CPU
 * every second and the services handle their own errors.
 */
import type { MetricRegistry } from './registry';

interface Pm2Io {
  init(config: object): Pm2Io;
  metric(config: { name: string; unit?: string; value: () => unknown }): unknown;
  destroy(): unknown;
}

const IO_CONFIG = {
  catchExceptions: false,
  profiling: false,
  metrics: { v8: false, network: false, eventLoop: false, runtime: false, http: false },
  standalone: false,
  tracing: { enabled: false, outbound: false },
};

/** True when this process runs under PM2 (an IPC channel and PM2's `pm_id`). */
export function underPm2(env: NodeJS.ProcessEnv = process.env): boolean {
  return typeof process.send === 'function' && env.pm_id !== undefined;
}

/** Register every metric of `registry` with PM2. Returns a function that stops publishing. No-op outside PM2. */
export function publishToPm2(registry: MetricRegistry, env: NodeJS.ProcessEnv = process.env): () => void {
  if (!underPm2(env)) return () => {};
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const io = require('pm2/modules/pm2-io-bpm') as Pm2Io;
  io.init(IO_CONFIG);
  for (const d of registry.list()) {
    io.metric({ name: d.name, ...(d.unit ? { unit: d.unit } : {}), value: () => registry.get(d.name) });
  }
  return () => {
    try {
      io.destroy();
    } catch {
      // already gone
    }
  };
}
