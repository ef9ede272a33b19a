import { backoffMs, creationWindowExpired, pm2ChildEnv } from '../../lib/service/fatal';
import { RESTART_POLICY } from '../../lib/pm2/apps';

describe('service-side restart backoff', () => {
  it('doubles from 250 ms and stays below min_uptime so PM2 still counts the restart as unstable', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(backoffMs)).toEqual([250, 500, 1000, 2000, 4000, 4000, 4000]);
    // start-up (~0.2 s) + the longest wait must stay well under min_uptime
    expect(backoffMs(99) + 1000).toBeLessThan(RESTART_POLICY.minUptimeMs);
    // all waits before `errored` fit in PM2's counting window (min_uptime x max_restarts)
    let total = 0;
    for (let i = 0; i < RESTART_POLICY.maxRestarts; i++) total += backoffMs(i) + 500;
    expect(total).toBeLessThan(RESTART_POLICY.minUptimeMs * RESTART_POLICY.maxRestarts);
  });
  it('reads the pm2_env keys PM2 exports to its children', () => {
    expect(pm2ChildEnv({ pm_id: '3', pm_exec_path: '/x.js', unstable_restarts: '2', created_at: '1000' })).toEqual({
      underPm2: true, pmId: 3, unstableRestarts: 2, createdAt: 1000,
    });
    expect(pm2ChildEnv({})).toEqual({ underPm2: false, pmId: null, unstableRestarts: 0, createdAt: null });
  });
  it('knows when PM2 would no longer count unstable restarts', () => {
    const child = pm2ChildEnv({ pm_id: '0', pm_exec_path: '/x.js', created_at: '0' });
    const window = RESTART_POLICY.minUptimeMs * RESTART_POLICY.maxRestarts;
    expect(creationWindowExpired(child, 1000)).toBe(false);
    expect(creationWindowExpired(child, window)).toBe(true);
    expect(creationWindowExpired(pm2ChildEnv({}), 1e12)).toBe(false);
  });
});

import { heartbeatRetryMs } from '../../apps/notify/service';
describe('heartbeat retry backoff', () => {
  it('30 s, doubling, capped at 1 h', () => {
    expect([1, 2, 3, 8, 20].map(heartbeatRetryMs)).toEqual([30_000, 60_000, 120_000, 3600_000, 3600_000]);
  });
});
