import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { simpleParser } from 'mailparser';
import { makeSandbox, Sandbox, statusJson, waitFor, ROOT, CLI, type CliResult } from '../helpers/sandbox';
import { syftboxTransportWithToken } from '../../lib/config/resolve';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'config');

describe('syft-bg init (built binary)', () => {
  let sb: Sandbox;
  beforeEach(() => (sb = makeSandbox('init')));
  afterEach(() => sb.cleanup());

  it('works without a token: embedded default (maildir + local), creates the SyftBox folder', () => {
    const r = sb.cli(['init', '-e', 'alice@uni.edu']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Config saved to ${sb.syftBgHome}/config.yaml`);
    const root = path.join(sb.home, 'SyftBox_alice@uni.edu');
    expect(r.stdout).toContain(`Created SyftBox folder ${root}`);
    expect(fs.statSync(root).isDirectory()).toBe(true);
    const s = statusJson(sb);
    expect(s.config.email).toBe('alice@uni.edu');
    expect(s.config.transports).toMatchObject({ email: 'maildir', syftbox: 'local', emailChosenBy: 'config' });
    // Whether services run is read from the daemon's socket: init never starts a PM2 daemon.
    expect(fs.readdirSync(sb.pm2Home)).toEqual(['touch']);
  });

  it('rejects an invalid e-mail (exit 2) and a missing token file (exit 2), writing nothing', () => {
    const bad = sb.cli(['init', '-e', 'not an email']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Invalid email 'not an email'");
    const missing = sb.cli(['init', '-e', 'a@b.org', '-t', path.join(sb.dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(path.join(sb.dir, 'nope.json'));
    expect(fs.existsSync(path.join(sb.syftBgHome, 'config.yaml'))).toBe(false);
    const noEmail = sb.cli(['init']);
    expect(noEmail.code).toBe(2);
    expect(noEmail.stderr).toContain("required option '-e, --email <email>' not specified");
  });

  it('copies the token with mode 0600 and never prints it', () => {
    const tok = path.join(sb.dir, 'tok.json');
    fs.writeFileSync(tok, JSON.stringify({ token: 'ya29.SECRET', refresh_token: '1//REFRESH', client_id: 'c', client_secret: 's' }), { mode: 0o644 });
    const r = sb.cli(['init', '-e', 'alice@uni.edu', '-t', tok]);
    expect(r.code).toBe(0);
    const stored = path.join(sb.syftBgHome, 'token.json');
    expect(r.stdout).toContain(`Stored token at ${stored}`);
    expect(fs.statSync(stored).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(stored, 'utf8')).toBe(fs.readFileSync(tok, 'utf8'));
    expect(r.stdout + r.stderr).not.toMatch(/SECRET|REFRESH/);
    // With a Google token, the datasite is synced with Drive by syft-bg itself.
    expect(syftboxTransportWithToken(true)).toBe('drive');
    expect(statusJson(sb).config.transports).toMatchObject({ email: 'gmail', syftbox: 'drive' });
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    expect(fs.readFileSync(cfg, 'utf8')).toMatch(/transports:[\s\S]*?syftbox: drive/);
    // `syftbox: drive` without the token file is refused up front, with what to change (nothing is started).
    fs.renameSync(stored, stored + '.away');
    const s = sb.cli(['start']);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain(`transports.syftbox is 'drive', but there is no Drive token at ${stored}`);
    fs.renameSync(stored + '.away', stored);
  });

  it('re-running init merges: objects, settings and comments survive', () => {
    fs.mkdirSync(sb.syftBgHome, { recursive: true });
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    fs.copyFileSync(path.join(FIXTURES, 'python-after-auto-approve.yaml'), cfg);
    fs.appendFileSync(cfg, '# my own note\nmy_extension:\n  keep: me\n');
    const names = (out: string) => (JSON.parse(out).config.objects as Array<{ name: string }>).map((o) => o.name);
    const before = sb.cli(['status', '--json']).stdout;
    expect(names(before).length).toBeGreaterThan(0);
    expect(JSON.parse(before).config.email).not.toBe('new@uni.edu');
    const r = sb.cli(['init', '-e', 'new@uni.edu', '-r', path.join(sb.dir, 'box')]);
    expect(r.code).toBe(0);
    const text = fs.readFileSync(cfg, 'utf8');
    expect(text).toContain('# my own note');
    expect(text).toContain('my_extension:\n  keep: me');
    const after = sb.cli(['status', '--json']).stdout;
    const j = JSON.parse(after);
    expect(j.config.email).toBe('new@uni.edu');
    expect(j.config.syftboxRoot).toBe(path.join(sb.dir, 'box'));
    expect(names(after)).toEqual(names(before));
  });
});

const GMAIL = 'https://www.googleapis.com/auth/gmail.modify';
const DRIVE = 'https://www.googleapis.com/auth/drive';
/** A Python (google-auth) token listing `scopes`, with values that must never be printed. */
function pyToken(scopes: string[]): string {
  return JSON.stringify({ token: 'ya29.TOPSECRET', refresh_token: '1//TOPSECRET', client_id: 'c.apps', client_secret: 'TOPSECRET-cs', scopes });
}

/** No stack trace, no internal error: one `Error: …` line. */
function expectOneLineError(r: CliResult, code: number, line: string): void {
  expect(r.code).toBe(code);
  expect(r.stderr).toBe(`Error: ${line}\n`);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}

describe('syft-bg init (built binary): filesystem failures as a non-root user', () => {
  // Root ignores permissions: as root, the CLI runs as nobody (setpriv, as test/boot/nonroot.test.ts does).
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  let sb: Sandbox;
  let locked: string;
  let readOnly: string;
  beforeEach(() => {
    sb = makeSandbox('initfs');
    fs.chmodSync(sb.dir, 0o755); // mkdtemp makes 0700: nobody must reach its HOME
    fs.chmodSync(sb.home, 0o777);
    locked = path.join(sb.dir, 'locked'); // like /root for nobody: cannot even be entered
    readOnly = path.join(sb.dir, 'ro'); // can be read, not written
    fs.mkdirSync(locked);
    fs.mkdirSync(readOnly);
    fs.chmodSync(locked, 0o000);
    fs.chmodSync(readOnly, 0o555);
  });
  afterEach(() => {
    fs.chmodSync(locked, 0o700);
    fs.chmodSync(readOnly, 0o755);
    sb.cleanup();
  });
  function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
    if (!root) return sb.cli(args, { env });
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], {
      env: { ...sb.env, ...env },
      encoding: 'utf8',
      cwd: sb.dir,
      timeout: 60_000,
    });
    if (r.error) throw r.error;
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  const nothingWritten = () => {
    expect(fs.readdirSync(sb.home)).toEqual([]); // no ~/.syft-bg, no ~/SyftBox_…
  };

  it('a SyftBox folder that cannot be created (EACCES): exit 1, one line, no config written', () => {
    const r = cli(['init', '-e', 'x@y.co', '-r', `${locked}/sb`]);
    expectOneLineError(r, 1, `Cannot create the folder ${locked}/sb: permission denied (EACCES)`);
    expect(r.stdout).toBe('');
    nothingWritten();
  });

  it('a syft-bg home that cannot be read (EACCES) or created (EACCES): exit 1, one line, nothing written', () => {
    const r = cli(['init', '-e', 'x@y.co'], { SYFT_BG_HOME: `${locked}/sbh` });
    expectOneLineError(r, 1, `Cannot read the config file ${locked}/sbh/config.yaml: permission denied (EACCES)`);
    const w = cli(['init', '-e', 'x@y.co'], { SYFT_BG_HOME: `${readOnly}/sbh` });
    expectOneLineError(w, 1, `Cannot create the folder ${readOnly}/sbh: permission denied (EACCES)`);
    nothingWritten();
  });

  it('a config.yaml that cannot be rewritten: exit 1, the file and the folders as they were', () => {
    const home = path.join(readOnly, 'home');
    fs.chmodSync(readOnly, 0o755);
    fs.mkdirSync(home);
    const cfg = path.join(home, 'config.yaml');
    fs.writeFileSync(cfg, 'do_email: old@y.co  # mine\n', { mode: 0o644 });
    fs.chmodSync(home, 0o555);
    fs.chmodSync(readOnly, 0o555);
    const r = cli(['init', '-e', 'new@y.co'], { SYFT_BG_HOME: home });
    expectOneLineError(r, 1, `Cannot write the config file ${cfg}: permission denied (EACCES)`);
    expect(fs.readFileSync(cfg, 'utf8')).toBe('do_email: old@y.co  # mine\n');
    expect(fs.readdirSync(home)).toEqual(['config.yaml']);
    nothingWritten(); // ~/SyftBox_new@y.co was created before the write, then removed
  });

  it('a token that cannot be stored: the SyftBox folder made for this init is removed again', () => {
    // The home exists read-only: config.yaml could be read, nothing can be written in it.
    const home = path.join(readOnly, 'home');
    fs.chmodSync(readOnly, 0o755);
    fs.mkdirSync(home);
    fs.chmodSync(home, 0o555);
    fs.chmodSync(readOnly, 0o555);
    const tok = path.join(sb.dir, 'tok.json');
    fs.writeFileSync(tok, pyToken([GMAIL]), { mode: 0o644 });
    const r = cli(['init', '-e', 'x@y.co', '-t', tok], { SYFT_BG_HOME: home });
    expectOneLineError(r, 1, `Cannot write the token ${home}/token.json: permission denied (EACCES)`);
    nothingWritten(); // ~/SyftBox_x@y.co was created first (local transport: the token has no Drive), then removed
  });
});

describe('syft-bg init and setup-status: the SyftBox folder, whatever the transport', () => {
  let sb: Sandbox;
  let file: string;
  let tok: string;
  beforeEach(() => {
    sb = makeSandbox('initroot');
    file = path.join(sb.dir, 'f'); // a regular file where a folder is needed
    fs.writeFileSync(file, 'x');
    tok = path.join(sb.dir, 'tok.json');
    fs.writeFileSync(tok, pyToken([GMAIL, DRIVE]));
  });
  afterEach(() => sb.cleanup());
  const cfg = () => path.join(sb.syftBgHome, 'config.yaml');
  const setRoot = (root: string) => fs.writeFileSync(cfg(), fs.readFileSync(cfg(), 'utf8').replace(/^syftbox_root: .*$/m, `syftbox_root: ${root}`));
  /** Run the built CLI with a read-only tmpfs on `dir`, in a private mount namespace (gone when the process ends). */
  function cliOnReadOnly(dir: string, args: string[]): CliResult {
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o ro syftbg-ro "$1" && shift && exec "$@"', 'sh', dir, process.execPath, CLI, ...args],
      { env: sb.env, encoding: 'utf8', cwd: sb.dir, timeout: 60_000 },
    );
    if (r.error) throw r.error;
    expect(r.stderr).not.toMatch(/^(unshare|mount|sh):/m); // the mount itself worked
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('-r under a regular file is refused with the Drive transport as with the local one (exit 1, nothing written)', () => {
    for (const args of [['-t', tok], []]) {
      const r = sb.cli(['init', '-e', 'do@example.com', ...args, '-r', `${file}/box`]);
      expectOneLineError(r, 1, `Cannot create the folder ${file}/box: a part of the path is a file, not a folder (ENOTDIR)`);
      expect(fs.readdirSync(sb.home)).toEqual([]); // no ~/.syft-bg: token copy and home folder undone
    }
  });

  it('with a Drive token, init creates the SyftBox folder as the local transport does', () => {
    const root = path.join(sb.dir, 'a', 'box');
    const r = sb.cli(['init', '-e', 'do@example.com', '-t', tok, '-r', root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Created SyftBox folder ${root}`);
    expect(fs.statSync(root).isDirectory()).toBe(true);
    expect(statusJson(sb).config.transports).toMatchObject({ email: 'gmail', syftbox: 'drive' });
    const s = sb.cli(['setup-status']);
    expect(s.stdout).toContain(`  ✓ SyftBox folder     ${root}\n`);
    expect(s.code).toBe(0);
  });

  it('setup-status: a root that cannot be created is ✗ with the reason on Drive too; one that can, is left to the first sync', () => {
    expect(sb.cli(['init', '-e', 'do@example.com', '-t', tok, '-r', path.join(sb.dir, 'box')]).code).toBe(0);
    setRoot(`${file}/box`);
    const r = sb.cli(['setup-status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  ✗ SyftBox folder     ${file}/box cannot be created: ${file} is a file, not a folder\n`);
    expect(r.stdout).toContain(`      fix: move ${file} away, or point syftbox_root at your SyftBox folder ('syft-bg init -e do@example.com -r FOLDER')\n`);
    expect(r.stdout).not.toContain('created by the first sync');
    expect(r.stdout).not.toContain('Ready');

    setRoot(file); // the root itself is a file
    expect(sb.cli(['setup-status']).stdout).toContain(`  ✗ SyftBox folder     ${file}: it is a file, not a folder\n`);

    const missing = path.join(sb.dir, 'later', 'box');
    setRoot(missing);
    const ok = sb.cli(['setup-status']);
    expect(ok.stdout).toContain(`  - SyftBox folder     ${missing} (created by the first sync)\n`);
    expect(ok.code).toBe(0);
  });

  it('a read-only file system is reported as EROFS, not ENOENT: init (exit 1, nothing written) and setup-status', () => {
    const ro = path.join(sb.dir, 'ro');
    const top = cliOnReadOnly(ro, ['init', '-e', 'do@example.com', '-r', `${ro}/box`]);
    expectOneLineError(top, 1, `Cannot create the folder ${ro}/box: read-only file system (EROFS)`);
    const deep = cliOnReadOnly(ro, ['init', '-e', 'do@example.com', '-t', tok, '-r', `${ro}/a/b/box`]);
    expectOneLineError(deep, 1, `Cannot create the folder ${ro}/a/b/box: read-only file system (EROFS) (at ${ro}/a)`);
    expect(fs.readdirSync(sb.home)).toEqual([]);
    expect(fs.readdirSync(ro)).toEqual([]); // the mount was private to the command

    expect(sb.cli(['init', '-e', 'do@example.com', '-t', tok, '-r', path.join(sb.dir, 'box')]).code).toBe(0);
    setRoot(`${ro}/box`);
    const s = cliOnReadOnly(ro, ['setup-status']);
    expect(s.code).toBe(1);
    expect(s.stdout).toContain(`  ✗ SyftBox folder     ${ro}/box cannot be created: read-only file system (EROFS) at ${ro}\n`);
    expect(s.stdout).toContain(`      fix: make ${ro} writable, or point syftbox_root at your SyftBox folder`);
    setRoot(ro); // there, but read-only
    const there = cliOnReadOnly(ro, ['setup-status']);
    expect(there.code).toBe(1);
    expect(there.stdout).toContain(`  ✗ SyftBox folder     ${ro}: cannot write in it: read-only file system (EROFS)\n`);
  });
});

describe('setup-status: credentials.json is "not needed" only while every token works on its own', () => {
  let sb: Sandbox;
  let tok: string;
  let creds: string;
  beforeAll(() => {
    sb = makeSandbox('sscred');
    fs.mkdirSync(sb.syftBgHome, { recursive: true });
    tok = path.join(sb.syftBgHome, 'token.json');
    creds = path.join(sb.syftBgHome, 'credentials.json');
    fs.writeFileSync(path.join(sb.syftBgHome, 'config.yaml'), `do_email: a@b.org\nsyftbox_root: ${sb.dir}\ntransports:\n  email: gmail\n  syftbox: drive\n`);
  });
  afterAll(() => sb.cleanup());
  const credLine = (out: string) => out.split('\n').find((l) => l.includes('credentials.json  '));
  const CLIENT = JSON.stringify({ installed: { client_id: 'c.apps', client_secret: 'TOPSECRET-cs' } });

  it('a working Python token: not needed', () => {
    fs.writeFileSync(tok, pyToken([GMAIL, DRIVE]), { mode: 0o600 });
    const r = sb.cli(['setup-status']);
    expect(credLine(r.stdout)).toBe('  - credentials.json   not needed while the token is valid');
    expect(r.code).toBe(0);
  });

  it('a token that is ✗ (scope missing, or unusable): credentials.json is ✗ with the fix (needed to sign in again)', () => {
    for (const text of [pyToken([GMAIL]), 'not json']) {
      fs.writeFileSync(tok, text, { mode: 0o600 });
      const r = sb.cli(['setup-status']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`  ✗ credentials.json   missing at ${creds} (needed to sign in again)\n      fix: Google Cloud Console → APIs & Services → Credentials`);
      expect(r.stdout).not.toContain('not needed');
    }
  });

  it('a saved OAuth2Client token needs it for its client id: ✗ without it, ✓ with it', () => {
    fs.writeFileSync(tok, JSON.stringify({ access_token: 'ya29.TOPSECRET', refresh_token: '1//TOPSECRET', scope: `${GMAIL} ${DRIVE}`, expiry_date: 1 }), { mode: 0o600 });
    const without = sb.cli(['setup-status']);
    expect(without.code).toBe(1);
    expect(credLine(without.stdout)).toBe(`  ✗ credentials.json   missing at ${creds} (the saved OAuth2Client token takes its client id from it)`);
    fs.writeFileSync(creds, CLIENT);
    try {
      const withIt = sb.cli(['setup-status']);
      expect(credLine(withIt.stdout)).toBe(`  ✓ credentials.json   ${creds}`);
      expect(withIt.stdout).toContain(`  ✓ token              ${tok} (scopes: gmail.modify, drive)\n`);
      expect(withIt.code).toBe(0);
      expect(withIt.stdout + without.stdout).not.toContain('TOPSECRET');
    } finally {
      fs.rmSync(creds);
    }
  });

  it('no token yet: ✗ missing, with the fix', () => {
    fs.rmSync(tok, { force: true });
    const r = sb.cli(['setup-status']);
    expect(r.code).toBe(1);
    expect(credLine(r.stdout)).toBe(`  ✗ credentials.json   missing at ${creds} (needed to sign in again)`);
  });
});

describe('syft-bg init while the services run', () => {
  let sb: Sandbox;
  beforeAll(() => (sb = makeSandbox('initrun')));
  afterAll(() => sb.cleanup());
  const LINE_BOTH = "notify and approve are running with the previous settings: 'syft-bg restart' applies the new ones.";

  it('says that they still use the previous settings, only when something they read changed', () => {
    expect(sb.cli(['init', '-e', 'a@b.org']).stdout).not.toContain('running with the previous settings');
    expect(sb.cli(['start']).code).toBe(0);
    const r = sb.cli(['init', '-e', 'new@b.org']);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe(LINE_BOTH);
    const same = sb.cli(['init', '-e', 'new@b.org']);
    expect(same.code).toBe(0);
    expect(same.stdout).not.toContain('previous settings');
    // A token changes the transports (and the token): approve stopped, notify alone is named.
    expect(sb.cli(['stop', 'approve']).code).toBe(0);
    const tok = path.join(sb.dir, 'tok.json');
    fs.writeFileSync(tok, pyToken([GMAIL]));
    const t = sb.cli(['init', '-e', 'new@b.org', '-t', tok]);
    expect(t.code).toBe(0);
    expect(t.stdout.trimEnd().split('\n').pop()).toBe("notify is running with the previous settings: 'syft-bg restart notify' applies the new ones.");
    expect(t.stdout + t.stderr).not.toContain('TOPSECRET');
  });
});

describe('setup-status checks the tokens the Google transports use', () => {
  let sb: Sandbox;
  let tok: string;
  let cfg: string;
  beforeAll(() => {
    sb = makeSandbox('sst');
    fs.mkdirSync(sb.syftBgHome, { recursive: true });
    tok = path.join(sb.syftBgHome, 'token.json');
    cfg = path.join(sb.syftBgHome, 'config.yaml');
    fs.writeFileSync(cfg, `do_email: a@b.org\nsyftbox_root: ${sb.dir}\ntransports:\n  email: gmail\n  syftbox: drive\n`);
  });
  afterAll(() => sb.cleanup());

  it('a token without Drive while transports.syftbox is drive: ✗ with the fix, exit 1', () => {
    fs.writeFileSync(tok, pyToken([GMAIL]), { mode: 0o600 });
    const r = sb.cli(['setup-status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  ✗ token              ${tok} (scopes: gmail.modify) does not allow Drive (drive)\n`);
    expect(r.stdout).toContain(
      `      fix: move ${tok} away and sign in again with 'syft-bg init -e a@b.org' to allow Drive, or set transports.syftbox: local\n`,
    );
    expect(r.stdout).not.toContain('Ready');
  });

  it('a token with both scopes: ✓ with its scopes, ready', () => {
    fs.writeFileSync(tok, pyToken([GMAIL, DRIVE]), { mode: 0o600 });
    const r = sb.cli(['setup-status']);
    expect(r.stdout).toContain(`  ✓ token              ${tok} (scopes: gmail.modify, drive)\n`);
    expect(r.stdout).toContain('✅ Ready');
    expect(r.code).toBe(0);
  });

  it('an unusable token file: ✗ with the parse error, never its content', () => {
    fs.writeFileSync(tok, JSON.stringify({ installed: { client_id: 'c.apps', client_secret: 'TOPSECRET-cs' } }), { mode: 0o600 });
    const r = sb.cli(['setup-status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `  ✗ token              ${tok} is an OAuth client file (credentials.json), not a token: put it at ${path.join(sb.syftBgHome, 'credentials.json')} ` +
        "and run 'syft-bg init -e a@b.org' without -t to sign in\n",
    );
    expect(r.stdout).not.toContain('TOPSECRET');
  });

  it('reads the token without loading a Google library (setup-status stays fast)', () => {
    fs.writeFileSync(tok, pyToken([GMAIL, DRIVE]), { mode: 0o600 });
    const api = path.join(ROOT, 'dist', 'lib', 'api', 'status.js');
    const script =
      `require(${JSON.stringify(api)}).setupStatus().then((r) => console.log(JSON.stringify({ ` +
      `ready: r.ready, token: r.checks.find((c) => c.label === 'token').detail, ` +
      `google: Object.keys(require.cache).filter((k) => /googleapis|google-auth-library|gaxios/.test(k)) })))`;
    const r = spawnSync(process.execPath, ['-e', script], { env: sb.env, encoding: 'utf8', cwd: sb.dir });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ ready: true, token: `${tok} (scopes: gmail.modify, drive)`, google: [] });
  });

  it('a multi-line detail is indented under the detail column', () => {
    const good = fs.readFileSync(cfg, 'utf8');
    fs.writeFileSync(cfg, 'do_email: a@b.org\nnotify:\n  interval: -3\napprove:\n  interval: -4\n');
    try {
      const r = sb.cli(['setup-status']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/\n {2}✗ config\.yaml {8}invalid: \S*config\.yaml:3:13: notify\.interval: [^\n]*\n {23}\S*config\.yaml:5:13: approve\.interval: /);
    } finally {
      fs.writeFileSync(cfg, good);
    }
  });
});

describe('status, setup-status and the Python-written config', () => {
  let sb: Sandbox;
  beforeAll(() => (sb = makeSandbox('st')));
  afterAll(() => sb.cleanup());

  it('setup-status without a config: ✗ with the fix, exit 1', () => {
    const r = sb.cli(['setup-status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ config\.yaml\s+missing at /);
    expect(r.stdout).toContain("fix: run 'syft-bg init -e YOUR_EMAIL'");
  });

  it('a Python-written config shows its objects and approved domains; setup-status is ready', () => {
    fs.mkdirSync(sb.syftBgHome, { recursive: true });
    const text = fs
      .readFileSync(path.join(FIXTURES, 'python-after-auto-approve.yaml'), 'utf8')
      .replace(/approved_domains: \[\]/, 'approved_domains:\n    - openmined.org');
    fs.writeFileSync(path.join(sb.syftBgHome, 'config.yaml'), text);
    const j = statusJson(sb);
    expect(j.config.error).toBeNull();
    const out = sb.cli(['status']).stdout;
    expect(out).toContain('auto-approval objects');
    expect(out).toMatch(/\[\w+\]\n    content: /);
    expect(out).toContain('auto-approved domains\n----------------------------------------\n  openmined.org');
    // The root of that file does not exist here: setup-status names it and the fix.
    const s1 = sb.cli(['setup-status']);
    expect(s1.code).toBe(1);
    expect(s1.stdout).toMatch(/✗ SyftBox folder .* does not exist\n      fix: create it/);
    const root = JSON.parse(sb.cli(['status', '--json']).stdout).config.syftboxRoot as string;
    fs.mkdirSync(root, { recursive: true });
    try {
      const s2 = sb.cli(['setup-status']);
      expect(s2.stdout).toContain('✅ Ready');
      expect(s2.code).toBe(0);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('an invalid config is shown by status and setup-status (exit 1) with line:column', () => {
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    fs.writeFileSync(cfg, 'do_email: a@b.org\nnotify:\n  interval: -3\n');
    const s = sb.cli(['status']);
    expect(s.code).toBe(1);
    expect(s.stdout).toContain('(INVALID)');
    expect(s.stdout).toMatch(/config\.yaml:3:13: notify\.interval/);
    // What the broken file means is not guessed: no transports or tokens from defaults.
    expect(s.stdout).toContain('  email:       unknown (config.yaml is invalid, see below)');
    expect(s.stdout).toMatch(/transports\n-+\n  unknown until config\.yaml is fixed\n/);
    expect(s.stdout).not.toContain('derived from the token files');
    expect(s.stdout).toMatch(/services\n-+\n  notify /);
    const j = sb.cli(['status', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).config.error).toMatch(/notify\.interval/);
    const u = sb.cli(['setup-status']);
    expect(u.code).toBe(1);
    expect(u.stdout).toMatch(/✗ config\.yaml\s+invalid: .*config\.yaml:3:13: notify\.interval/);
  });

  it('setup-status recognises the legacy gmail_token.json / drive_token.json names', () => {
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    fs.writeFileSync(cfg, 'do_email: a@b.org\ntransports:\n  email: gmail\n  syftbox: drive\n');
    fs.writeFileSync(path.join(sb.syftBgHome, 'gmail_token.json'), '{}');
    const r = sb.cli(['setup-status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`found the old name ${path.join(sb.syftBgHome, 'gmail_token.json')}`);
  });

  it('--help lists every command; --version prints the version; usage errors exit 2', () => {
    const h = sb.cli(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['init', 'start', 'stop', 'restart', 'ensure-running', 'status', 'setup-status', 'logs', 'run-foreground', 'install', 'uninstall']) {
      expect(h.stdout).toMatch(new RegExp(`\\n  ${c}\\b`));
    }
    const v = sb.cli(['--version']);
    expect(v.stdout.trim()).toBe((require('../../package.json') as { version: string }).version);
    const bad = sb.cli(['status', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option '--bogus'");
    const badSvc = sb.cli(['run-foreground', '-s', 'bogus']);
    expect(badSvc.code).toBe(2);
  });
});

describe('services at work: logs, run-foreground, heartbeat mail, ecosystem.config.js', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('work');
    expect(sb.cli(['init', '-e', 'dö@example.com'.replace('ö', 'o')]).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it('run-foreground --once runs one pass with readable logs, then exits 0', () => {
    const r = sb.cli(['run-foreground', '-s', 'approve', '--once']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/INFO.*approve started/);
    expect(r.stdout).toContain('approve stopped');
  });

  it('run-foreground with a broken config prints the reason and exits 1 (no stack trace)', () => {
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    const good = fs.readFileSync(cfg, 'utf8');
    fs.writeFileSync(cfg, good.replace('do_email: do@example.com', 'do_email: "nope"'));
    try {
      const r = sb.cli(['run-foreground', '-s', 'notify', '--once']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Error: .*config\.yaml:\d+:\d+: do_email/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      fs.writeFileSync(cfg, good);
    }
  });

  it('notify delivers one heartbeat to the Maildir, not one per restart', async () => {
    expect(sb.cli(['start', 'notify']).code).toBe(0);
    const newDir = path.join(sb.syftBgHome, 'mail', 'new');
    const files = await waitFor('heartbeat mail', () => fs.existsSync(newDir) && fs.readdirSync(newDir).length > 0 && fs.readdirSync(newDir));
    expect(files).toHaveLength(1);
    const mail = await simpleParser(fs.readFileSync(path.join(newDir, files[0]!)));
    expect(mail.subject).toBe('heartbeat: syft-bg still running, token is active');
    expect((mail.to as { text: string }).text).toContain('do@example.com');
    expect(mail.messageId).toMatch(/^<.+@.+>$/);
    expect(mail.text).toBeTruthy();
    expect(sb.cli(['restart', 'notify']).code).toBe(0);
    await waitFor('notify restarted and passed once', () => sb.cli(['logs', 'notify', '-n', '200', '--json']).stdout.split('notify started').length >= 3);
    await new Promise((r) => setTimeout(r, 500));
    expect(fs.readdirSync(newDir)).toHaveLength(1);
  });

  it('run-foreground refuses while PM2 runs the same service (no double decisions or e-mails)', () => {
    expect(sb.cli(['ensure-running', 'notify']).code).toBe(0);
    const r = sb.cli(['run-foreground', '-s', 'notify', '--once']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/notify is already running under PM2 \(pid \d+\)\. Stop it first/);
  });

  it('logs shows the last N lines pretty or as JSON', () => {
    const pretty = sb.cli(['logs', 'notify', '-n', '3']);
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).toMatch(/\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO/);
    const json = sb.cli(['logs', 'notify', '-n', '2', '--json']);
    const lines = json.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ service: 'notify' });
    const none = sb.cli(['logs', 'approve']);
    expect(none.code).toBe(0);
  });

  it('logs -f follows new lines (through a restart)', async () => {
    expect(sb.cli(['ensure-running', 'notify']).code).toBe(0);
    const p = sb.cliAsync(['logs', 'notify', '-f', '-n', '0', '--json']);
    await new Promise((r) => setTimeout(r, 800));
    expect(sb.cli(['restart', 'notify']).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.child.exitCode).toBeNull(); // still following
    p.child.kill('SIGINT');
    const r = await p;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"msg":"notify stopping"/);
    expect(r.stdout).toMatch(/"msg":"notify started"/);
  });

  it('ecosystem.config.js starts the same apps with plain pm2; pm2 stop syft-bg stops the namespace', async () => {
    sb.cli(['stop']);
    sb.pm2(['delete', 'syft-bg']);
    const r = sb.pm2(['start', path.join(ROOT, 'ecosystem.config.js')]);
    expect(r.code).toBe(0);
    const s = await waitFor('both online', () => {
      const j = statusJson(sb);
      return j.services.every((x) => x.state === 'online') && j;
    });
    expect(s.services.map((x) => x.name)).toEqual(['notify', 'approve']);
    // The same definition as the CLI: `syft-bg start` sees them as running and changes nothing.
    expect(sb.cli(['start']).stdout).toContain('notify is already running');
    const st = sb.pm2(['stop', 'syft-bg']);
    expect(st.code).toBe(0);
    expect(statusJson(sb).services.map((x) => x.state)).toEqual(['stopped', 'stopped']);
  });

  it('install --dry-run prints the systemd unit for this PM2 home and changes nothing', () => {
    expect(sb.cli(['start']).code).toBe(0);
    const r = sb.cli(['install', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Environment=PM2_HOME=${sb.pm2Home}`);
    expect(r.stdout).toMatch(/ExecStart=.*pm2 resurrect/);
    expect(fs.existsSync(path.join(sb.pm2Home, 'dump.pm2'))).toBe(false);
  });

  it('bare syft-bg prints the status', () => {
    const r = sb.cli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('syft-bg status');
    expect(r.stdout).toContain('services');
  });
});
