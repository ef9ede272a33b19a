import { deriveRuntime, formatUptime, formatBytes } from '../../lib/pm2/state';
import type { Pm2Process } from '../../lib/pm2/daemon-reader';

const proc = (env: Partial<Pm2Process['pm2_env']>, pid = 0, monit = { memory: 50 * 1024 * 1024, cpu: 1 }): Pm2Process => ({
  name: 'syft-bg-notify',
  pm_id: 0,
  pid,
  monit,
  pm2_env: { restart_time: 0, ...env },
});

describe('deriveRuntime', () => {
  const now = 1_000_000;
  it('not in PM2 → not started', () => {
    expect(deriveRuntime(undefined, now)).toMatchObject({ state: 'not started', pid: null, restarts: 0 });
  });
  it('online: pid, uptime from pm_uptime (an epoch, not a duration), memory, cpu', () => {
    expect(deriveRuntime(proc({ status: 'online', pm_uptime: now - 65_000, restart_time: 2 }, 42), now)).toEqual({
      state: 'online', pid: 42, uptimeMs: 65_000, restarts: 2, memoryBytes: 50 * 1024 * 1024, cpuPercent: 1, exitCode: null, detail: null, metrics: null,
    });
  });
  it('online without a pid yet is starting', () => {
    expect(deriveRuntime(proc({ status: 'online' }, 0), now).state).toBe('starting');
    expect(deriveRuntime(proc({ status: 'launching' }, 0), now).state).toBe('starting');
  });
  it('errored shows the exit code and what 78 means', () => {
    const r = deriveRuntime(proc({ status: 'errored', exit_code: 78, restart_time: 5 }), now);
    expect(r).toMatchObject({ state: 'errored', pid: null, memoryBytes: null, exitCode: 78, restarts: 5 });
    expect(r.detail).toBe('last exit code 78: invalid configuration (see syft-bg logs)');
    expect(deriveRuntime(proc({ status: 'errored', exit_code: 1 }), now).detail).toBe('last exit code 1');
  });
  it('waiting restart with no pid is restarting, then errored once past the longest backoff (pm2 7.0.4 bug)', () => {
    expect(deriveRuntime(proc({ status: 'waiting restart', pm_uptime: now - 5_000 }), now).state).toBe('restarting');
    expect(deriveRuntime(proc({ status: 'waiting restart', pm_uptime: now - 60_000 }), now).state).toBe('errored');
  });
  it('stopped after a clean stop has no detail; unknown statuses are errored', () => {
    expect(deriveRuntime(proc({ status: 'stopped', exit_code: 0 }), now)).toMatchObject({ state: 'stopped', detail: null });
    expect(deriveRuntime(proc({ status: 'stopping' }, 3), now).state).toBe('stopping');
    expect(deriveRuntime(proc({ status: 'one-launch-status' }), now).state).toBe('errored');
  });
  it('formats uptime and bytes', () => {
    expect([formatUptime(5_000), formatUptime(192_000), formatUptime(3 * 3600_000 + 60_000), formatUptime(50 * 3600_000)]).toEqual(['5s', '3m 12s', '3h 1m', '2d 2h']);
    expect([formatBytes(10), formatBytes(2048), formatBytes(50 * 1024 * 1024)]).toEqual(['10 B', '2.0 KB', '50.0 MB']);
  });
});
