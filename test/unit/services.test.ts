import { parseServices, pm2Name, serviceFromPm2Name } from '../../lib/services';
import { appDefinition, ecosystem, RESTART_POLICY } from '../../lib/pm2/apps';
import { layout } from '../../lib/home';

describe('service names', () => {
  it('an empty list means all, in order; duplicates and pm2 names are accepted', () => {
    expect(parseServices([])).toEqual(['notify', 'approve']);
    expect(parseServices(['approve', 'syft-bg-approve', 'notify'])).toEqual(['approve', 'notify']);
    expect(pm2Name('notify')).toBe('syft-bg-notify');
    expect(serviceFromPm2Name('syft-bg-approve')).toBe('approve');
  });
  it('unknown → exit 2 naming the valid services', () => {
    expect(() => parseServices(['sync'])).toThrow("Unknown service 'sync'. Valid services: notify, approve.");
    try {
      parseServices(['x']);
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(2);
    }
  });
});

describe('PM2 app definition', () => {
  const home = layout('/h/.syft-bg');
  const env = { PATH: '/usr/bin', HOME: '/h', AWS_SECRET_ACCESS_KEY: 'x', GITHUB_TOKEN: 'y', SYFT_BG_GOOGLE_ROOT_URL: 'http://127.0.0.1:1/', PM2_HOME: '/p' };
  const def = appDefinition('notify', { home, env, root: '/pkg', nodePath: '/usr/bin/node' });
  it('runs the compiled JS in fork mode in namespace syft-bg', () => {
    expect(def).toMatchObject({
      name: 'syft-bg-notify',
      namespace: 'syft-bg',
      script: '/pkg/dist/apps/notify/main.js',
      interpreter: '/usr/bin/node',
      exec_mode: 'fork',
      autorestart: true,
      min_uptime: RESTART_POLICY.minUptimeMs,
      max_restarts: RESTART_POLICY.maxRestarts,
      kill_timeout: 5000,
      out_file: '/dev/null',
      error_file: '/h/.syft-bg/logs/notify/pm2-error.log',
    });
    // No PM2 restart delay: with one, pm2 7.0.4 never marks a crash loop errored.
    expect(def).not.toHaveProperty('restart_delay');
    expect(def).not.toHaveProperty('exp_backoff_restart_delay');
  });
  it('passes an explicit allow-listed environment (filter_env [\'\'] drops the rest)', () => {
    expect(def.filter_env).toEqual(['']);
    expect(def.env).toEqual({
      PATH: '/usr/bin',
      HOME: '/h',
      SYFT_BG_GOOGLE_ROOT_URL: 'http://127.0.0.1:1/',
      NODE_ENV: 'production',
      SYFT_BG_HOME: '/h/.syft-bg',
      SYFT_BG_SERVICE: 'notify',
      PM2_HOME: '/p',
    });
  });
  it('ecosystem() declares both services', () => {
    expect(ecosystem({ env }).apps.map((a) => a.name)).toEqual(['syft-bg-notify', 'syft-bg-approve']);
  });
});
