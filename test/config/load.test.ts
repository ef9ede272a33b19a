import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultLoadedConfig, loadConfig, parseConfigText } from '../../lib/config/load';
import { fixture, read, tempHome, write, type TempHome } from './helpers';
/** What a Google token implies for the SyftBox transport in this build (local until the Drive sync exists). */
// A Google token makes the SyftBox transport Drive: this build syncs the datasite with Drive itself.
const WITH_TOKEN = 'drive';

const HOME = '/home/alice/.syft-bg';
const USER = '/home/alice';
const parse = (text: string, exists: (p: string) => boolean = () => false) =>
  parseConfigText(text, `${HOME}/config.yaml`, HOME, { userHome: USER, exists });

describe('Python-written files load unchanged', () => {
  it('python-init.yaml (§4.1): defaults and merge rules', () => {
    const l = parse(fixture('python-init.yaml'));
    const c = l.config;
    expect(l).toMatchObject({ exists: true, empty: false, path: `${HOME}/config.yaml` });
    expect(l.legacy).toBeUndefined();
    expect(c.do_email).toBe('alice@uni.edu');
    expect(c.syftbox_root).toBe('/home/alice/SyftBox_alice@uni.edu');
    expect(c.credentials_path).toBe(`${HOME}/credentials.json`);
    expect(c.gmail_token_path).toBe(`${HOME}/token.json`);
    expect(c.drive_token_path).toBe('/home/alice/mytoken.json');
    // §4.5: do_email/syftbox_root fill the nulls; top-level token paths overwrite the service ones.
    for (const svc of [c.notify, c.approve, c.email_approve, c.sync]) {
      expect(svc.do_email).toBe('alice@uni.edu');
      expect(svc.syftbox_root).toBe('/home/alice/SyftBox_alice@uni.edu');
    }
    expect(c.notify.drive_token_path).toBe('/home/alice/mytoken.json');
    expect(c.approve.drive_token_path).toBe('/home/alice/mytoken.json');
    expect(c.sync.drive_token_path).toBe('/home/alice/mytoken.json');
    expect(c.email_approve.gmail_token_path).toBe(`${HOME}/token.json`);
    expect(c.notify).toMatchObject({
      interval: 5,
      monitor_jobs: true,
      monitor_peers: true,
      heartbeat_enabled: true,
      heartbeat_interval: 86400,
      notify_state_path: `${HOME}/notify/state.json`,
      sync_state_path: `${HOME}/sync/state.json`,
      credentials_path: `${HOME}/credentials.json`,
    });
    expect(c.approve).toMatchObject({
      interval: 5,
      approve_state_path: `${HOME}/approve/state.json`,
      auto_approvals: { enabled: true, objects: {} },
      peers: { enabled: false, approved_domains: [], auto_share_datasets: [] },
      skip_peer_on_patch_version_diff: null,
      force_ignore_peer_version: false,
      job_timeout: 600,
      run_approved_jobs: true,
      max_concurrent_jobs: 1,
    });
    expect(c.email_approve).toMatchObject({ gcp_project_id: null, pubsub_topic: null, pubsub_subscription: null });
    expect(c.sync).toMatchObject({ interval: 10, max_retries: 3, retry_backoff: 2, skip_peer_on_patch_version_diff: null });
    // No transports block: derived from the token files (none exist here).
    expect(c.transports).toEqual({
      email: 'maildir',
      syftbox: 'local',
      maildir_path: `${HOME}/mail`,
      origin: { email: 'derived', syftbox: 'derived' },
    });
    expect(l.raw).toMatchObject({ do_email: 'alice@uni.edu', sync: { retry_backoff: 2 } });
    expect(l.raw).not.toHaveProperty('transports');
  });

  it('derives gmail (and drive, once this build syncs with Drive) when the token files exist', () => {
    const c = parse(fixture('python-init.yaml'), (p) => p === `${HOME}/token.json` || p === '/home/alice/mytoken.json').config;
    expect(c.transports).toMatchObject({ email: 'gmail', syftbox: WITH_TOKEN, origin: { email: 'derived', syftbox: 'derived' } });
    const onlyGmail = parse(fixture('python-init.yaml'), (p) => p === `${HOME}/token.json`).config;
    expect([onlyGmail.transports.email, onlyGmail.transports.syftbox]).toEqual(['gmail', 'local']);
  });

  it('python-after-auto-approve.yaml: the 5-key approve section and one object', () => {
    const c = parse(fixture('python-after-auto-approve.yaml')).config;
    expect(Object.keys(c.approve.auto_approvals.objects)).toEqual(['analysis']);
    expect(c.approve.auto_approvals.objects.analysis).toEqual({
      file_contents: [
        {
          relative_path: 'main.py',
          path: `${HOME}/auto_approvals/analysis/main.py`,
          hash: 'sha256:a26e3598ea8081b4b13e603b11cb3a409fc3cd569b7299e90fef0743495e7a52',
        },
        {
          relative_path: 'utils.py',
          path: `${HOME}/auto_approvals/analysis/utils.py`,
          hash: 'sha256:13e046f5fd378552636ca050ebb7ac18d762f0b00d6a22b5f54a753736463208',
        },
      ],
      file_paths: ['params.json'],
      peers: ['bob@co.com', 'carol@lab.org'],
    });
    // The path keys the partial save dropped fall back to the defaults.
    expect(c.approve.approve_state_path).toBe(`${HOME}/approve/state.json`);
    expect(c.approve.notify_state_path).toBe(`${HOME}/notify/state.json`);
    expect(c.approve.gmail_token_path).toBe(`${HOME}/token.json`);
    expect(c.approve.do_email).toBe('alice@uni.edu');
  });

  it('sample_config (§12) shape', () => {
    const c = parse(fixture('sample-config.yaml')).config;
    expect(c.do_email).toBe('alice@uni.edu');
    expect(c.syftbox_root).toBe('/home/alice/SyftBox');
    expect(c.approve.interval).toBe(5);
    expect(c.approve.peers).toEqual({ enabled: false, approved_domains: [], auto_share_datasets: [] });
    const a = c.approve.auto_approvals.objects.analysis!;
    expect(a.file_contents.map((e) => [e.relative_path, e.hash])).toEqual([['main.py', 'sha256:abc123']]);
    expect(a.peers).toEqual(['alice@uni.edu', 'bob@co.com']);
    // Sections that are absent get all defaults.
    expect(c.notify.interval).toBe(5);
    expect(c.sync.interval).toBe(10);
    expect(c.gmail_token_path).toBe(`${HOME}/token.json`);
    expect(c.drive_token_path).toBe(`${HOME}/token.json`);
  });
});

describe('defaults and merge rules', () => {
  it('a missing file gives the defaults (Python SyftBgConfig())', () => {
    const l = defaultLoadedConfig(`${HOME}/config.yaml`, HOME, { userHome: USER });
    expect(l).toMatchObject({ exists: false, empty: false, raw: {} });
    expect(l.config.do_email).toBeNull();
    expect(l.config.syftbox_root).toBeNull();
    expect(l.config.notify.do_email).toBeNull();
    expect(l.config.drive_token_path).toBe(`${HOME}/token.json`);
    expect(l.config.approve.auto_approvals).toEqual({ enabled: true, objects: {} });
  });

  it('syftbox_root defaults to ~/SyftBox_<do_email> (also when empty) and ~ is expanded in paths', () => {
    expect(parse('do_email: a@b.io\n').config.syftbox_root).toBe('/home/alice/SyftBox_a@b.io');
    expect(parse("do_email: a@b.io\nsyftbox_root: ''\n").config.syftbox_root).toBe('/home/alice/SyftBox_a@b.io');
    const c = parse('do_email: a@b.io\nsyftbox_root: ~/Box\ngmail_token_path: ~/t.json\ntransports:\n  maildir_path: ~/mail\n').config;
    expect(c.syftbox_root).toBe('/home/alice/Box');
    expect(c.gmail_token_path).toBe('/home/alice/t.json');
    expect(c.notify.gmail_token_path).toBe('/home/alice/t.json');
    expect(c.transports.maildir_path).toBe('/home/alice/mail');
  });

  it('service values win for do_email/syftbox_root, top level wins for token paths', () => {
    const c = parse(
      [
        'do_email: top@x.org',
        'syftbox_root: /top',
        'drive_token_path: /top/drive.json',
        'notify:',
        '  do_email: svc@x.org',
        '  syftbox_root: /svc',
        '  drive_token_path: /svc/drive.json',
        '  gmail_token_path: /svc/gmail.json',
        'sync:',
        '  drive_token_path: /svc/sync.json',
        '',
      ].join('\n'),
    ).config;
    expect(c.notify.do_email).toBe('svc@x.org');
    expect(c.notify.syftbox_root).toBe('/svc');
    expect(c.notify.drive_token_path).toBe('/top/drive.json');
    expect(c.notify.gmail_token_path).toBe(`${HOME}/token.json`);
    expect(c.sync.drive_token_path).toBe('/top/drive.json');
    expect(c.approve.do_email).toBe('top@x.org');
  });

  it('a section written as null means all defaults; nulls are accepted where Python writes them', () => {
    const c = parse('do_email: null\nnotify:\napprove:\n  peers:\n  auto_approvals:\n    objects:\nsync:\n  skip_peer_on_patch_version_diff: null\n').config;
    expect(c.notify.interval).toBe(5);
    expect(c.approve.auto_approvals).toEqual({ enabled: true, objects: {} });
    expect(c.approve.peers.enabled).toBe(false);
    expect(c.sync.skip_peer_on_patch_version_diff).toBeNull();
  });

  it('keeps unknown keys (anywhere) in raw and never rejects them', () => {
    const l = parse(
      'do_email: a@b.io\nmystery: 1\nnotify:\n  colour: blue\napprove:\n  auto_approvals:\n    objects:\n      x:\n        file_contents: []\n        note: kept\n',
    );
    expect(l.raw).toMatchObject({ mystery: 1, notify: { colour: 'blue' }, approve: { auto_approvals: { objects: { x: { note: 'kept' } } } } });
    expect(l.config.approve.auto_approvals.objects.x).toEqual({ file_contents: [], file_paths: [], peers: [] });
  });

  it('transports written in the file are "configured"', () => {
    const c = parse('transports:\n  email: gmail\n  syftbox: local\n  maildir_path: /m\n').config;
    expect(c.transports).toEqual({ email: 'gmail', syftbox: 'local', maildir_path: '/m', origin: { email: 'configured', syftbox: 'configured' } });
    const half = parse('transports:\n  syftbox: drive\n', () => true).config;
    expect(half.transports.origin).toEqual({ email: 'derived', syftbox: 'configured' });
    expect(half.transports.email).toBe('gmail');
  });

  it('reads YAML 1.1 like PyYAML (yes/no are booleans)', () => {
    expect(parse('notify:\n  heartbeat_enabled: no\n').config.notify.heartbeat_enabled).toBe(false);
  });
});

describe('loadConfig (real files)', () => {
  let t: TempHome;
  beforeEach(() => (t = tempHome()));
  afterEach(() => t.cleanup());

  it('missing file → defaults, exists: false', () => {
    const l = loadConfig(t.home);
    expect(l.exists).toBe(false);
    expect(l.empty).toBe(false);
    expect(l.text).toBeUndefined();
    expect(l.config.credentials_path).toBe(path.join(t.home.dir, 'credentials.json'));
  });

  it.each([
    ['empty', ''],
    ['whitespace only', '  \n\n\t\n'],
  ])('%s file → defaults with empty: true', (_n, text) => {
    write(t.home.config, text);
    const l = loadConfig(t.home);
    expect(l).toMatchObject({ exists: true, empty: true, raw: {}, text });
    expect(l.config.notify.interval).toBe(5);
  });

  it('a file with only comments → defaults, not flagged empty', () => {
    write(t.home.config, '# nothing yet\n');
    expect(loadConfig(t.home)).toMatchObject({ exists: true, empty: false, raw: {} });
  });

  it('derives transports from the real token files', () => {
    write(t.home.config, fixture('python-init.yaml', t.userHome));
    expect(loadConfig(t.home).config.transports).toMatchObject({ email: 'maildir', syftbox: 'local' });
    write(t.home.token, '{}');
    const c = loadConfig(t.home).config;
    expect(c.transports).toMatchObject({ email: 'gmail', syftbox: 'local', origin: { email: 'derived', syftbox: 'derived' } });
    write(path.join(t.userHome, 'mytoken.json'), '{}');
    expect(loadConfig(t.home).config.transports.syftbox).toBe(WITH_TOKEN);
  });

  it('returns the text and writes the cache next to the config', () => {
    const text = fixture('python-after-auto-approve.yaml', t.userHome);
    write(t.home.config, text);
    const l = loadConfig(t.home);
    expect(l.text).toBe(text);
    const cache = JSON.parse(read(path.join(t.home.dir, '.cache', 'config.json')));
    expect(cache.loaded.config).toEqual(l.config);
    expect(fs.statSync(path.join(t.home.dir, '.cache', 'config.json')).mode & 0o777).toBe(0o600);
  });

  it('does not create a missing home just to cache', () => {
    const t2 = tempHome({ create: false });
    try {
      expect(loadConfig(t2.home).exists).toBe(false);
      expect(fs.existsSync(t2.home.dir)).toBe(false);
    } finally {
      t2.cleanup();
    }
  });
});
