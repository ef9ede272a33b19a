import { buildStatus, parseNotifyHealth, renderMetrics, renderStatus, type ConfigView } from '../../lib/status';
import { metricsOf } from '../../lib/pm2/state';

describe('status: metrics and the notify outbox (pure)', () => {
  it('metricsOf takes PM2 axm_monitor values, null when none', () => {
    expect(metricsOf(undefined)).toBeNull();
    expect(metricsOf({})).toBeNull();
    expect(metricsOf({ 'jobs run': { value: 2 }, 'last cycle': { value: 4.25, unit: 'ms' } as never, odd: { value: { x: 1 } } })).toEqual({
      'jobs run': 2,
      'last cycle': 4.25,
      odd: null,
    });
  });

  it('renderMetrics: one line, units, nulls left out', () => {
    expect(renderMetrics({ 'jobs approved': 3, 'jobs seen': null, 'last cycle': 5.4321 })).toBe('jobs approved 3 · last cycle 5.4 ms');
  });

  it('parseNotifyHealth reads notify/status.json and tolerates half-written or odd files', () => {
    expect(parseNotifyHealth(undefined)).toBeNull();
    expect(parseNotifyHealth('{"pending": 3, "fail')).toBeNull();
    expect(parseNotifyHealth('null')).toBeNull();
    const h = parseNotifyHealth(
      JSON.stringify({
        updated_at: '2026-11-25T22:00:00Z',
        transport: 'gmail',
        pending: 2,
        sent_since_start: 7,
        last_sent_at: null,
        paused_until: null,
        failing: [{ key: 'k', event: 'job_failed', to: 'do@example.com', subject: 'Job Failed: x', attempts: 4, last_error: '503 backendError', next_attempt_at: '2026-11-25T22:08:00Z' }, 'junk'],
      }),
    );
    expect(h).toEqual({
      updatedAt: '2026-11-25T22:00:00Z',
      pending: 2,
      sentSinceStart: 7,
      pausedUntil: null,
      failing: [{ event: 'job_failed', to: 'do@example.com', subject: 'Job Failed: x', attempts: 4, lastError: '503 backendError', nextAttemptAt: '2026-11-25T22:08:00Z' }],
    });
  });
});

describe('status text: service metrics and persistent notify failures', () => {
  const view: ConfigView = {
    path: '/h/.syft-bg/config.yaml', exists: true, error: null, email: 'alice@uni.edu', syftboxRoot: '/h/SyftBox',
    transports: { email: 'gmail', emailChosenBy: 'config', maildirPath: '/h/.syft-bg/mail', syftbox: 'local', syftboxChosenBy: 'config' },
    gmailTokenPath: '/x/token.json', driveTokenPath: '/x/token.json', objects: [], approvedDomains: [],
  };
  const now = 10_000_000;
  const daemon = {
    running: true as const,
    home: '/h/.pm2',
    version: '7.0.4',
    processes: [
      { name: 'syft-bg-notify', pm_id: 0, pid: 11, pm2_env: { status: 'online', pm_uptime: now - 1000, restart_time: 0, axm_monitor: { 'emails sent': { value: 5 }, 'emails failing': { value: 1 } } } },
    ],
  };
  it('shows the metrics line and each failing mail with its last error', () => {
    const notify = parseNotifyHealth(JSON.stringify({ pending: 1, paused_until: null, failing: [{ event: 'job_failed', to: 'do@x.org', attempts: 6, last_error: 'invalid_grant: token revoked', next_attempt_at: '2026-11-25T23:00:00Z' }] }));
    const r = buildStatus({ home: '/h/.syft-bg', colab: false, config: view, daemon, now, notify });
    const text = renderStatus(r);
    expect(text).toContain('emails sent 5 · emails failing 1');
    expect(text).toContain('notify outbox');
    expect(text).toContain('⚠ job_failed to do@x.org: failed 6 time(s), last error: invalid_grant: token revoked; next try 2026-11-25T23:00:00Z');
    expect(r.services.find((s) => s.name === 'notify')!.metrics).toEqual({ 'emails sent': 5, 'emails failing': 1 });
    expect(renderStatus(buildStatus({ home: '/h/.syft-bg', colab: false, config: view, daemon, now, notify: { ...notify!, failing: [] } }))).not.toContain('notify outbox');
  });
});
