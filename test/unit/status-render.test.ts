import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildStatus, renderStatus, ConfigView } from '../../lib/status';
import { setupChecks, renderChecks } from '../../lib/setup-check';
import { capPm2ErrorLog } from '../../lib/service/runtime';

const view = (over: Partial<ConfigView> = {}): ConfigView => ({
  path: '/h/.syft-bg/config.yaml',
  exists: true,
  error: null,
  email: 'alice@uni.edu',
  syftboxRoot: '/h/SyftBox',
  transports: { email: 'maildir', emailChosenBy: 'config', maildirPath: '/h/.syft-bg/mail', syftbox: 'local', syftboxChosenBy: 'config' },
  gmailTokenPath: '/nonexistent/token.json',
  driveTokenPath: '/nonexistent/token.json',
  objects: [],
  approvedDomains: [],
  ...over,
});

describe('status report', () => {
  const now = 10_000_000;
  const daemon = {
    running: true as const,
    home: '/h/.pm2',
    version: '7.0.4',
    processes: [
      { name: 'syft-bg-notify', pm_id: 0, pid: 11, monit: { memory: 48 * 1024 * 1024, cpu: 0 }, pm2_env: { status: 'online', pm_uptime: now - 192_000, restart_time: 1 } },
      { name: 'syft-bg-approve', pm_id: 1, pid: 0, pm2_env: { status: 'errored', exit_code: 78, restart_time: 5 } },
      { name: 'someone-elses-app', pm_id: 2, pid: 12, pm2_env: { status: 'online' } },
    ],
  };
  it('renders the Python sections plus transports and PM2 details', () => {
    const text = renderStatus(
      buildStatus({
        home: '/h/.syft-bg',
        colab: false,
        config: view({
          objects: [{ name: 'analysis', contents: ['main.py'], files: ['params.json'], peers: [] }],
          approvedDomains: ['openmined.org'],
        }),
        daemon,
        now,
      }),
    );
    expect(text).toContain('syft-bg status\n========================================\n  email:       alice@uni.edu\n  syftbox:     /h/SyftBox\n  environment: local\n');
    expect(text).toContain('  pm2:         daemon running (pm2 7.0.4), PM2_HOME /h/.pm2');
    expect(text).toContain('  email        maildir → /h/.syft-bg/mail\n  syftbox      local (datasite folder only, no Google Drive)');
    expect(text).toContain('  notify.gmail_token_path             not needed (local transport)');
    expect(text).toMatch(/  notify {11}🟢 online {6}pid 11 {5}up 3m 12s {3}restarts 1 {2}mem 48\.0 MB {3}cpu 0%/);
    expect(text).toContain('  approve          🔴 errored     restarts 5 (last exit code 78: invalid configuration (see syft-bg logs))');
    expect(text).not.toContain('someone-elses-app');
    expect(text).toContain('\n\n\nauto-approval objects\n----------------------------------------\n  [analysis]\n    content: main.py\n    file:   params.json\n    peers:  (any)\n');
    expect(text).toContain('\n\n\nauto-approved domains\n----------------------------------------\n  openmined.org\n');
  });
  it('an invalid config: transports null and no token rows in the report (--json), "unknown" in the text', () => {
    const r = buildStatus({ home: '/h/.syft-bg', colab: false, config: view({ error: 'config.yaml:3:13: notify.interval: expected a number', email: null, syftboxRoot: null }), daemon, now });
    expect(r.config.transports).toBeNull();
    expect(r.tokens).toEqual([]);
    expect(r.services.map((s) => s.name)).toEqual(['notify', 'approve']);
    const text = renderStatus(r);
    expect(text).toContain('  email:       unknown (config.yaml is invalid, see below)');
    expect(text).toMatch(/transports\n-+\n  unknown until config\.yaml is fixed\n\ntokens\n-+\n  unknown until config\.yaml is fixed\n/);
    expect(text).not.toContain('maildir');
  });
  it('flags a missing token when a Google transport needs it, and a token readable by others', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-'));
    const tok = path.join(dir, 'token.json');
    fs.writeFileSync(tok, '{}', { mode: 0o644 });
    fs.chmodSync(tok, 0o644);
    const r = buildStatus({
      home: '/h',
      colab: true,
      config: view({
        transports: { email: 'gmail', emailChosenBy: 'derived', maildirPath: '/m', syftbox: 'drive', syftboxChosenBy: 'derived' },
        gmailTokenPath: '/nonexistent/t.json',
        driveTokenPath: tok,
      }),
      daemon: { running: false, home: '/h/.pm2', reason: 'no daemon socket' },
      now,
    });
    expect(r.tokens).toEqual([
      { label: 'notify.gmail_token_path', path: '/nonexistent/t.json', state: 'missing', warning: null },
      { label: 'approve.drive_token_path', path: tok, state: 'ready', warning: `mode 0644: should be 0600 (chmod 600 ${tok})` },
    ]);
    const text = renderStatus(r);
    expect(text).toContain('environment: Colab');
    expect(text).toContain('(derived from the token files; set transports in config.yaml to choose)');
    expect(text).toContain('daemon not running');
    expect(r.services.map((s) => s.state)).toEqual(['not started', 'not started']);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('setup checks', () => {
  const none = { exists: () => false, isDir: () => false };
  const base = { home: '/h', credentialsPath: '/h/credentials.json', legacyGmailToken: '/h/gmail_token.json', legacyDriveToken: '/h/drive_token.json' };
  const daemon = { running: false as const, home: '/p', reason: 'x' };
  it('ready on the local transports without any Google file', () => {
    const r = renderChecks(setupChecks({ ...base, config: view(), daemon, exists: () => false, isDir: () => true }));
    expect(r.ready).toBe(true);
    expect(r.text).toContain("✅ Ready. Run 'syft-bg start' to begin.");
    expect(r.text).toContain('  - credentials.json   not needed by the local transports');
  });
  it('Google transports without credentials or token: two problems with fixes', () => {
    const cfg = view({ transports: { email: 'gmail', emailChosenBy: 'config', maildirPath: '/m', syftbox: 'drive', syftboxChosenBy: 'config' }, gmailTokenPath: '/h/token.json', driveTokenPath: '/h/token.json' });
    const r = renderChecks(setupChecks({ ...base, config: cfg, daemon, ...none }));
    expect(r.ready).toBe(false);
    expect(r.text).toContain('✗ credentials.json   missing at /h/credentials.json');
    expect(r.text).toContain('✗ token              missing at /h/token.json');
    expect(r.text).toContain('⚠️  2 problem(s) found');
    // on Drive, a missing SyftBox folder is created by the first sync: not a problem
    expect(r.text).toContain('- SyftBox folder     /h/SyftBox (created by the first sync)');
  });
});

describe('capPm2ErrorLog', () => {
  it('keeps the last 1 MB in pm2-error.log.1 and empties the log once it passes the limit', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cap-'));
    fs.mkdirSync(path.join(dir, 'notify'));
    const file = path.join(dir, 'notify', 'pm2-error.log');
    const logged: string[] = [];
    const logger = { info: (_o: unknown, m: string) => logged.push(m) } as never;
    fs.writeFileSync(file, 'x'.repeat(1000));
    capPm2ErrorLog(dir, 'notify', logger, 2000);
    expect(fs.statSync(file).size).toBe(1000);
    fs.writeFileSync(file, 'a'.repeat(3000) + 'TAIL');
    capPm2ErrorLog(dir, 'notify', logger, 2000);
    expect(fs.statSync(file).size).toBe(0);
    expect(fs.readFileSync(file + '.1', 'utf8').endsWith('TAIL')).toBe(true);
    expect(logged).toHaveLength(1);
    fs.rmSync(dir, { recursive: true });
  });
});
