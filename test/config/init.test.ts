import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../lib/errors';
import { runInit } from '../../lib/init';
import { folderProblem, mkdirRecursive, realMkdirError, type MkdirFn } from '../../lib/setup-check';
import { ConfigError } from '../../lib/config/errors';
import { loadConfig } from '../../lib/config/load';
import { layout } from '../../lib/home';
import { fixture, read, tempHome, write, type TempHome } from './helpers';
/** What a Google token implies for the SyftBox transport in this build (local until the Drive sync exists). */
// A Google token makes the SyftBox transport Drive: this build syncs the datasite with Drive itself.
const WITH_TOKEN = 'drive';

let t: TempHome;
beforeEach(() => (t = tempHome()));
afterEach(() => t.cleanup());

const NOW = new Date('2026-11-25T19:14:05.123Z');
/** A Python (google-auth) token that lists no scopes: taken as allowing Gmail and Drive, as lib/google/auth does. */
const TOKEN =
  '{"token": "ya29.secret-access-token", "refresh_token": "1//secret-refresh", "client_id": "x.apps.googleusercontent.com", "client_secret": "secret-client"}\n';
const NO_SCOPES = '(the file lists no scopes)';
/** A new config.yaml: every value the services read at start is new. */
const ALL_CHANGED = ['do_email', 'syftbox_root', 'transports.email', 'transports.syftbox', 'transports.maildir_path', 'gmail_token_path', 'drive_token_path'];

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

/** The §4.1 file for this temp home, with our differences: header, drive_token_path, transports. */
function expectedFreshConfig(email: 'gmail' | 'maildir', syftbox: 'drive' | 'local'): string {
  return (
    "# syft-bg configuration, created by 'syft-bg init' on 2026-11-25T19:14:05Z.\n" +
    '# Same layout as the Python syft-bg writes; the Node syft-bg keeps comments and unknown keys when it edits this file.\n' +
    '\n' +
    fixture('python-init.yaml', t.userHome).replace(
      `drive_token_path: ${t.userHome}/mytoken.json\n`,
      `drive_token_path: ${t.home.token}\n` +
        '# Node syft-bg only: e-mail via gmail or maildir, SyftBox via drive or local.\n' +
        `transports:\n  email: ${email}\n  syftbox: ${syftbox}\n  maildir_path: ${t.home.mail}\n`,
    )
  );
}

describe('syft-bg init, fresh', () => {
  it('with -t: stores the token (0600) and writes the Python layout pointing at the stored token', () => {
    const src = path.join(t.userHome, 'mytoken.json');
    write(src, TOKEN);
    fs.chmodSync(src, 0o644);
    const r = runInit({ home: t.home, email: 'alice@uni.edu', tokenPath: src, now: NOW });
    expect(r).toEqual({
      messages: [`Stored token at ${t.home.token} ${NO_SCOPES}`, `Config saved to ${t.home.config}`],
      configPath: t.home.config,
      tokenStored: t.home.token,
      changed: [...ALL_CHANGED, 'token'],
    });
    expect(read(t.home.token)).toBe(TOKEN);
    expect(fs.statSync(t.home.token).mode & 0o777).toBe(0o600);
    expect(read(t.home.config)).toBe(expectedFreshConfig('gmail', WITH_TOKEN));
    for (const m of r.messages) expect(m).not.toContain('secret');

    const c = loadConfig(t.home).config;
    expect(c.drive_token_path).toBe(t.home.token);
    expect(c.approve.drive_token_path).toBe(t.home.token);
    expect(c.syftbox_root).toBe(path.join(t.userHome, 'SyftBox_alice@uni.edu'));
    expect(c.transports).toMatchObject({ email: 'gmail', syftbox: WITH_TOKEN, origin: { email: 'configured', syftbox: 'configured' } });
  });

  it('without -t: works (the reference crashed), maildir/local transports', () => {
    const r = runInit({ home: t.home, email: 'alice@uni.edu', now: NOW });
    expect(r).toEqual({ messages: [`Config saved to ${t.home.config}`], configPath: t.home.config, changed: ALL_CHANGED });
    expect(read(t.home.config)).toBe(expectedFreshConfig('maildir', 'local'));
    expect(fs.existsSync(t.home.token)).toBe(false);
  });

  it('without -t but with <home>/token.json already there: gmail', () => {
    write(t.home.token, TOKEN);
    runInit({ home: t.home, email: 'alice@uni.edu', now: NOW });
    expect(read(t.home.config)).toBe(expectedFreshConfig('gmail', WITH_TOKEN));
  });

  it('-t that already is <home>/token.json is not copied', () => {
    write(t.home.token, TOKEN);
    const before = fs.statSync(t.home.token).ino;
    const r = runInit({ home: t.home, email: 'alice@uni.edu', tokenPath: t.home.token, now: NOW });
    expect(r.messages).toEqual([`Using the token at ${t.home.token} ${NO_SCOPES}`, `Config saved to ${t.home.config}`]);
    expect(r.tokenStored).toBe(t.home.token);
    expect(fs.statSync(t.home.token).ino).toBe(before);
  });

  it('-r is resolved to an absolute path (relative to cwd, ~ expanded); relative -t too', () => {
    write(path.join(t.root, 'work', 'tok.json'), TOKEN);
    runInit({ home: t.home, email: 'a@b.io', syftboxRoot: '../boxes/mine', tokenPath: 'tok.json', cwd: path.join(t.root, 'work') });
    expect(loadConfig(t.home).config.syftbox_root).toBe(path.join(t.root, 'boxes', 'mine'));
    expect(read(t.home.token)).toBe(TOKEN);
    t.cleanup();
    t = tempHome();
    runInit({ home: t.home, email: 'a@b.io', syftboxRoot: '~/SB' });
    expect(read(t.home.config)).toContain(`\nsyftbox_root: ${t.userHome}/SB\n`);
  });

  it('creates the home directory when it does not exist', () => {
    const t2 = tempHome({ create: false });
    try {
      runInit({ home: t2.home, email: 'a@b.io' });
      expect(loadConfig(t2.home).config.do_email).toBe('a@b.io');
    } finally {
      t2.cleanup();
    }
  });
});

describe('syft-bg init, input errors (exit 2, nothing written)', () => {
  it.each(['x', 'alice@', '@uni.edu', 'alice@uni', 'a b@c.de', 'alice@@uni.edu', ''])('bad email %j', (email) => {
    const e = errorOf(() => runInit({ home: t.home, email }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`Invalid email '${email}': expected an address like name@example.com`);
    expect(fs.existsSync(t.home.config)).toBe(false);
  });

  it('missing token file', () => {
    const p = path.join(t.root, 'nope.json');
    const e = errorOf(() => runInit({ home: t.home, email: 'a@b.io', tokenPath: p }));
    expect([e.exitCode, e.message]).toEqual([2, `Token file not found: ${p}`]);
    expect(fs.existsSync(t.home.config)).toBe(false);
  });

  it('a token that is not JSON (never printed) or a directory', () => {
    const p = path.join(t.root, 'token.txt');
    write(p, 'ya29.secret-access-token');
    const e = errorOf(() => runInit({ home: t.home, email: 'a@b.io', tokenPath: p }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`Google token file ${p}: not valid JSON (expected an OAuth token file such as the one \`syft-bg init\` writes)`);
    expect(e.message).not.toContain('secret');
    const d = errorOf(() => runInit({ home: t.home, email: 'a@b.io', tokenPath: t.root }));
    expect([d.exitCode, d.message]).toEqual([2, `Token path is not a file: ${t.root}`]);
    expect(fs.existsSync(t.home.token)).toBe(false);
    expect(fs.existsSync(t.home.config)).toBe(false);
  });
});

describe('syft-bg init on an existing config: merge, never wipe', () => {
  it('keeps objects, settings, comments and unknown keys; only do_email (and the default root derived from it) change', () => {
    const original =
      '# my notes about this setup\n' +
      fixture('python-after-auto-approve.yaml', t.userHome).replace('  interval: 5\n  monitor_jobs', '  interval: 60  # slower\n  monitor_jobs') +
      'extra_key: kept\n';
    write(t.home.config, original);
    const r = runInit({ home: t.home, email: 'carol@lab.org' });
    const oldRoot = `${t.userHome}/SyftBox_alice@uni.edu`;
    const newRoot = `${t.userHome}/SyftBox_carol@lab.org`;
    expect(r.messages).toEqual([
      `syftbox_root follows the new address: ${newRoot} (${oldRoot} was the default for alice@uni.edu; that folder is left as it is).`,
      `Config saved to ${t.home.config} (merged with the existing file)`,
    ]);
    expect(r.changed).toEqual(['do_email', 'syftbox_root']);
    expect(read(t.home.config)).toBe(
      original.replace('do_email: alice@uni.edu\n', 'do_email: carol@lab.org\n').replace(`syftbox_root: ${oldRoot}\n`, `syftbox_root: ${newRoot}\n`),
    );
    const c = loadConfig(t.home).config;
    expect(Object.keys(c.approve.auto_approvals.objects)).toEqual(['analysis']);
    expect(c.notify.interval).toBe(60);
  });

  it('-r replaces syftbox_root; an unset syftbox_root gets the default', () => {
    write(t.home.config, 'do_email: a@b.io\nsyftbox_root: /old/root\n');
    runInit({ home: t.home, email: 'a@b.io', syftboxRoot: '/new/root' });
    expect(read(t.home.config)).toBe('do_email: a@b.io\nsyftbox_root: /new/root\n');
    write(t.home.config, 'notify:\n  interval: 9\n');
    runInit({ home: t.home, email: 'a@b.io' });
    expect(read(t.home.config)).toBe(`do_email: a@b.io\nsyftbox_root: ${t.userHome}/SyftBox_a@b.io\nnotify:\n  interval: 9\n`);
  });

  it('with -t: stores the token, points the token paths at it and adds transports next to the top-level keys', () => {
    write(t.home.config, fixture('python-init.yaml', t.userHome));
    const src = path.join(t.userHome, 'mytoken.json');
    write(src, TOKEN);
    const r = runInit({ home: t.home, email: 'alice@uni.edu', tokenPath: src });
    expect(r.messages).toEqual([`Stored token at ${t.home.token} ${NO_SCOPES}`, `Config saved to ${t.home.config} (merged with the existing file)`]);
    expect(read(t.home.config)).toBe(
      fixture('python-init.yaml', t.userHome).replace(
        `drive_token_path: ${t.userHome}/mytoken.json\n`,
        `drive_token_path: ${t.home.token}\n` +
          '# Node syft-bg only: e-mail via gmail or maildir, SyftBox via drive or local.\n' +
          `transports:\n  email: gmail\n  syftbox: ${WITH_TOKEN}\n`,
      ),
    );
  });

  it('with -t on a config with transports: switches e-mail to gmail (and SyftBox to drive once this build syncs with Drive), keeps the rest', () => {
    write(t.home.config, 'do_email: a@b.io\nsyftbox_root: /r\ntransports:\n  email: maildir  # for now\n  syftbox: local\n  maildir_path: /m\n');
    const src = path.join(t.root, 'tok.json');
    write(src, TOKEN);
    runInit({ home: t.home, email: 'a@b.io', tokenPath: src });
    expect(read(t.home.config)).toBe(
      `do_email: a@b.io\nsyftbox_root: /r\ngmail_token_path: ${t.home.token}\ndrive_token_path: ${t.home.token}\n` +
        `transports:\n  email: gmail    # for now\n  syftbox: ${WITH_TOKEN}\n  maildir_path: /m\n`,
    );
  });

  it('a new address also replaces service-level copies of the old one (as the Python syft-bg saves them)', () => {
    write(
      t.home.config,
      'do_email: old@x.org\nnotify:\n  do_email: old@x.org\n  interval: 5\napprove:\n  do_email: own@x.org\nsync:\n  do_email: old@x.org\n',
    );
    const r = runInit({ home: t.home, email: 'new@x.org' });
    expect(r.messages).toContain('Also updated notify.do_email, sync.do_email (they held the previous value).');
    const c = loadConfig(t.home).config;
    expect([c.do_email, c.notify.do_email, c.approve.do_email, c.sync.do_email]).toEqual(['new@x.org', 'new@x.org', 'own@x.org', 'new@x.org']);
  });

  it('migrates a legacy README file', () => {
    write(t.home.config, fixture('legacy-readme.yaml'));
    const r = runInit({ home: t.home, email: 'owner@lab.org' });
    expect(r.messages).toEqual([
      `Migrated legacy approve.jobs.peers (2 peers) into auto-approval objects legacy_alice_uni_edu, legacy_bob_co_com in ${t.home.config}; ` +
        "add their files with 'syft-bg auto-approve' to store copies.",
      `Config saved to ${t.home.config} (merged with the existing file)`,
    ]);
    const l = loadConfig(t.home);
    expect(l.legacy).toBeUndefined();
    expect(Object.keys(l.config.approve.auto_approvals.objects)).toEqual(['legacy_alice_uni_edu', 'legacy_bob_co_com']);
    expect(l.text).toContain('# Alice runs the weekly statistics');
    expect(l.text).not.toMatch(/^  jobs:/m);
  });

  it('fixes an invalid do_email, but refuses a file with a syntax error (and then stores no token)', () => {
    write(t.home.config, 'do_email: not-an-email\n');
    runInit({ home: t.home, email: 'a@b.io' });
    expect(loadConfig(t.home).config.do_email).toBe('a@b.io');
    write(t.home.config, 'do_email: [a@b.io\n');
    const src = path.join(t.root, 'tok.json');
    write(src, TOKEN);
    expect(() => runInit({ home: t.home, email: 'a@b.io', tokenPath: src })).toThrow(ConfigError);
    expect(read(t.home.config)).toBe('do_email: [a@b.io\n');
    expect(fs.existsSync(t.home.token)).toBe(false); // a failed init changes nothing
  });

  it('an empty (half-written) config is replaced by a fresh one', () => {
    write(t.home.config, '\n');
    runInit({ home: t.home, email: 'alice@uni.edu', now: NOW });
    expect(read(t.home.config)).toBe(expectedFreshConfig('maildir', 'local'));
  });
});

const GMAIL = 'https://www.googleapis.com/auth/gmail.modify';
const DRIVE = 'https://www.googleapis.com/auth/drive';
/** A Python (google-auth `Credentials.to_json()`) token listing `scopes`. */
function pyToken(scopes: string[]): string {
  return JSON.stringify({
    token: 'ya29.TOPSECRET-access',
    refresh_token: '1//TOPSECRET-refresh',
    token_uri: 'https://oauth2.googleapis.com/token',
    client_id: 'x.apps.googleusercontent.com',
    client_secret: 'TOPSECRET-client',
    scopes,
    expiry: '2026-11-25T20:14:05.123456Z',
  });
}

function signInLine(email: string): string {
  return `sign in again to allow it (move ${t.home.token} away and run 'syft-bg init -e ${email}' with ${t.home.credentials} in place)`;
}

describe('syft-bg init -t: the token is parsed, its scopes choose the transports', () => {
  function initWith(content: string, extra: Partial<Parameters<typeof runInit>[0]> = {}) {
    const src = path.join(t.root, 'given.json');
    write(src, content);
    return { src, r: runInit({ home: t.home, email: 'a@b.io', tokenPath: src, ...extra }) };
  }

  it('a token with gmail.modify and drive: both Google transports, its scopes printed', () => {
    const { r } = initWith(pyToken([GMAIL, DRIVE]));
    expect(r.messages[0]).toBe(`Stored token at ${t.home.token} (scopes: gmail.modify, drive)`);
    expect(loadConfig(t.home).config.transports).toMatchObject({ email: 'gmail', syftbox: 'drive' });
    expect(r.messages.join('\n')).not.toContain('TOPSECRET');
  });

  it('https://mail.google.com/ covers gmail.modify', () => {
    const { r } = initWith(pyToken(['https://mail.google.com/', DRIVE]));
    expect(r.messages[0]).toBe(`Stored token at ${t.home.token} (scopes: https://mail.google.com/, drive)`);
    expect(loadConfig(t.home).config.transports).toMatchObject({ email: 'gmail', syftbox: 'drive' });
  });

  it('a Gmail-only token: SyftBox stays local, with one line saying why', () => {
    const { r } = initWith(pyToken([GMAIL]));
    expect(r.messages).toEqual([
      `Stored token at ${t.home.token} (scopes: gmail.modify)`,
      `The token does not allow Drive: SyftBox stays local; ${signInLine('a@b.io')}.`,
      `Config saved to ${t.home.config}`,
    ]);
    expect(loadConfig(t.home).config.transports).toMatchObject({ email: 'gmail', syftbox: 'local', origin: { syftbox: 'configured' } });
  });

  it('a Drive-only token on a config that chose gmail: e-mail switches to the Maildir (never to a transport the token cannot serve)', () => {
    write(t.home.config, 'do_email: a@b.io\nsyftbox_root: /r\ntransports:\n  email: gmail\n  syftbox: local\n');
    const { r } = initWith(pyToken([DRIVE]));
    expect(r.messages).toEqual([
      `Stored token at ${t.home.token} (scopes: drive)`,
      `The token does not allow Gmail: e-mail switches to the local Maildir; ${signInLine('a@b.io')}.`,
      `Config saved to ${t.home.config} (merged with the existing file)`,
    ]);
    expect(read(t.home.config)).toBe(
      `do_email: a@b.io\nsyftbox_root: /r\ngmail_token_path: ${t.home.token}\ndrive_token_path: ${t.home.token}\n` +
        'transports:\n  email: maildir\n  syftbox: drive\n',
    );
    // The token paths were <home>/token.json by default already.
    expect(r.changed).toEqual(['transports.email', 'transports.syftbox', 'token']);
  });

  it('a Gmail-only token on a config without transports (derived: Drive once a token exists) writes syftbox: local', () => {
    write(t.home.config, 'do_email: a@b.io\nsyftbox_root: /r\n');
    initWith(pyToken([GMAIL]));
    expect(read(t.home.config)).toContain('transports:\n  email: gmail\n  syftbox: local\n');
    expect(loadConfig(t.home).config.transports).toMatchObject({ email: 'gmail', syftbox: 'local' });
  });

  it('an authorized_user file (lists no scopes) is taken for both', () => {
    const { r } = initWith(JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 'TOPSECRET-s', refresh_token: '1//TOPSECRET-r' }));
    expect(r.messages[0]).toBe(`Stored token at ${t.home.token} ${NO_SCOPES}`);
    expect(loadConfig(t.home).config.transports).toMatchObject({ email: 'gmail', syftbox: 'drive' });
  });

  const nodeToken = JSON.stringify({ access_token: 'ya29.TOPSECRET', refresh_token: '1//TOPSECRET-r', scope: `${GMAIL} ${DRIVE}`, token_type: 'Bearer', expiry_date: 1 });

  it('a saved OAuth2Client token takes its client from <home>/credentials.json; without one it is refused (exit 2)', () => {
    const e = errorOf(() => initWith(nodeToken));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(
      `Google token file ${path.join(t.root, 'given.json')}: a saved OAuth2Client token holds no client id/secret: ` +
        `put its OAuth client file (credentials.json) at ${t.home.credentials}`,
    );
    expect(fs.existsSync(t.home.config)).toBe(false);
    write(t.home.credentials, JSON.stringify({ installed: { client_id: 'c.apps', client_secret: 'TOPSECRET-cs' } }));
    const { r } = initWith(nodeToken);
    expect(r.messages[0]).toBe(`Stored token at ${t.home.token} (scopes: gmail.modify, drive)`);
    expect(read(t.home.token)).toBe(nodeToken); // stored as given: the client stays in credentials.json
  });

  it('refuses an OAuth client file with the way to use it, and a service-account key; nothing written, no secret shown (exit 2)', () => {
    const cred = JSON.stringify({ installed: { client_id: 'c.apps', client_secret: 'TOPSECRET-cs', redirect_uris: ['http://localhost'] } });
    const e = errorOf(() => initWith(cred));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(
      `${path.join(t.root, 'given.json')} is an OAuth client file (credentials.json), not a token: put it at ${t.home.credentials} ` +
        "and run 'syft-bg init -e a@b.io' without -t to sign in",
    );
    const sa = JSON.stringify({ type: 'service_account', project_id: 'p', private_key: '-----BEGIN PRIVATE KEY-----TOPSECRET', client_email: 'x@p.iam' });
    const f = errorOf(() => initWith(sa));
    expect(f.exitCode).toBe(2);
    expect(f.message).toBe(
      `Google token file ${path.join(t.root, 'given.json')}: "type" is 'service_account'; syft-bg needs an OAuth user token ("authorized_user"), e.g. from 'syft-bg init'`,
    );
    const g = errorOf(() => initWith(JSON.stringify({ token: 'ya29.TOPSECRET', scopes: [GMAIL] })));
    expect(g.message).toContain('missing "refresh_token", "client_id", "client_secret"');
    for (const x of [e, f, g]) expect(x.message).not.toContain('TOPSECRET');
    expect(fs.existsSync(t.home.token)).toBe(false);
    expect(fs.existsSync(t.home.config)).toBe(false);
  });

  it('without -t, an unusable stored token leaves a new config on the local transports, saying why', () => {
    write(t.home.token, '{"token": "ya29.TOPSECRET"}');
    const r = runInit({ home: t.home, email: 'a@b.io' });
    expect(r.messages[0]).toMatch(/^The stored token is not usable, so e-mail and SyftBox stay local: Google token file .*: missing "refresh_token"/);
    expect(r.messages[0]).not.toContain('TOPSECRET');
    expect(loadConfig(t.home).config.transports).toMatchObject({ email: 'maildir', syftbox: 'local' });
  });
});

describe('syft-bg init -e NEW: a default SyftBox root follows the address', () => {
  it('the old default (absolute or ~/) becomes the new default, with service-level copies; one line says so', () => {
    const oldRoot = `${t.userHome}/SyftBox_old@x.org`;
    const newRoot = `${t.userHome}/SyftBox_new@x.org`;
    write(t.home.config, `do_email: old@x.org\nsyftbox_root: ${oldRoot}\nnotify:\n  syftbox_root: ${oldRoot}\n`);
    const r = runInit({ home: t.home, email: 'new@x.org' });
    expect(r.messages).toEqual([
      `syftbox_root follows the new address: ${newRoot} (${oldRoot} was the default for old@x.org; that folder is left as it is).`,
      'Also updated notify.syftbox_root (they held the previous value).',
      `Config saved to ${t.home.config} (merged with the existing file)`,
    ]);
    expect(read(t.home.config)).toBe(`do_email: new@x.org\nsyftbox_root: ${newRoot}\nnotify:\n  syftbox_root: ${newRoot}\n`);
    write(t.home.config, 'do_email: old@x.org\nsyftbox_root: ~/SyftBox_old@x.org\n');
    const r2 = runInit({ home: t.home, email: 'new@x.org' });
    expect(r2.messages[0]).toBe(`syftbox_root follows the new address: ${newRoot} (~/SyftBox_old@x.org was the default for old@x.org; that folder is left as it is).`);
    expect(loadConfig(t.home).config.syftbox_root).toBe(newRoot);
  });

  it('a chosen root stays; -r wins; the same address changes nothing', () => {
    write(t.home.config, 'do_email: old@x.org\nsyftbox_root: /data/box\n');
    const r = runInit({ home: t.home, email: 'new@x.org' });
    expect(r.messages).toEqual([`Config saved to ${t.home.config} (merged with the existing file)`]);
    expect(read(t.home.config)).toBe('do_email: new@x.org\nsyftbox_root: /data/box\n');
    expect(r.changed).toEqual(['do_email']);
    write(t.home.config, `do_email: old@x.org\nsyftbox_root: ${t.userHome}/SyftBox_old@x.org\n`);
    const r2 = runInit({ home: t.home, email: 'new@x.org', syftboxRoot: '/elsewhere' });
    expect(r2.messages).toEqual([`Config saved to ${t.home.config} (merged with the existing file)`]);
    expect(read(t.home.config)).toBe('do_email: new@x.org\nsyftbox_root: /elsewhere\n');
    const r3 = runInit({ home: t.home, email: 'new@x.org' });
    expect(r3.changed).toEqual([]);
  });
});

/** A regular file: paths under it fail with ENOTDIR, even for root (which ignores permissions). */
function aFile(): string {
  const f = path.join(t.root, 'plain-file');
  write(f, 'x');
  return f;
}

/** Every folder and file below `dir`, with the files' text. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(p + (e.isDirectory() ? '/' : `=${fs.readFileSync(p, 'utf8')}`));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe('syft-bg init, filesystem failures: one line naming the path and the reason, nothing changed', () => {

  it('a SyftBox folder that cannot be created (ENOTDIR): exit 1, and no config, token or home folder is left', () => {
    const t2 = tempHome({ create: false });
    try {
      const f = path.join(t2.root, 'plain-file');
      write(f, 'x');
      const src = path.join(t2.root, 'given.json');
      write(src, pyToken([GMAIL]));
      const before = snapshot(t2.root);
      const e = errorOf(() => runInit({ home: t2.home, email: 'a@b.io', syftboxRoot: `${f}/sb`, tokenPath: src, createSyftboxRoot: true }));
      expect(e.exitCode).toBe(1);
      expect(e.message).toBe(`Cannot create the folder ${f}/sb: a part of the path is a file, not a folder (ENOTDIR)`);
      expect(snapshot(t2.root)).toEqual(before);
      expect(fs.existsSync(t2.home.dir)).toBe(false);
    } finally {
      t2.cleanup();
    }
  });

  it('a home under a file: the config cannot be read (ENOTDIR), exit 1', () => {
    const f = aFile();
    const home = { ...layout(path.join(f, '.syft-bg')), userHome: t.userHome };
    const e = errorOf(() => runInit({ home, email: 'a@b.io' }));
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe(`Cannot read the config file ${f}/.syft-bg/config.yaml: a part of the path is a file, not a folder (ENOTDIR)`);
  });

  it('a token that cannot be stored (a folder is in the way): the SyftBox folder made for it is removed again, the config kept', () => {
    write(t.home.config, 'do_email: a@b.io  # mine\n');
    fs.mkdirSync(path.join(t.home.token, 'in-the-way'), { recursive: true });
    const src = path.join(t.root, 'given.json');
    write(src, pyToken([GMAIL]));
    const before = snapshot(t.root);
    const e = errorOf(() => runInit({ home: t.home, email: 'new@b.io', tokenPath: src, createSyftboxRoot: true }));
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe(`Cannot read the token ${t.home.token}: it is a folder (EISDIR)`);
    expect(snapshot(t.root)).toEqual(before);
  });

  it('-r naming an existing file is a usage error (exit 2)', () => {
    const f = aFile();
    const e = errorOf(() => runInit({ home: t.home, email: 'a@b.io', syftboxRoot: f, createSyftboxRoot: true }));
    expect([e.exitCode, e.message]).toEqual([2, `Invalid SyftBox root ${f}: it is a file, not a folder`]);
    expect(fs.existsSync(t.home.config)).toBe(false);
  });

  it('with createSyftboxRoot, the SyftBox folder is created (before config.yaml) and reported, whatever the transport', () => {
    const r = runInit({ home: t.home, email: 'a@b.io', createSyftboxRoot: true });
    const root = path.join(t.userHome, 'SyftBox_a@b.io');
    expect(r.messages).toEqual([`Config saved to ${t.home.config}`, `Created SyftBox folder ${root}`]);
    expect(r.createdSyftboxRoot).toBe(root);
    expect(fs.statSync(root).isDirectory()).toBe(true);
    // Drive: created too (a folder that cannot be created is refused now, not at the first sync).
    const src = path.join(t.root, 'given.json');
    write(src, pyToken([GMAIL, DRIVE]));
    const r2 = runInit({ home: t.home, email: 'b@b.io', tokenPath: src, createSyftboxRoot: true });
    expect(loadConfig(t.home).config.transports.syftbox).toBe('drive');
    const root2 = path.join(t.userHome, 'SyftBox_b@b.io');
    expect(r2.createdSyftboxRoot).toBe(root2);
    expect(r2.messages[r2.messages.length - 1]).toBe(`Created SyftBox folder ${root2}`);
    expect(fs.statSync(root2).isDirectory()).toBe(true);
  });

  it('with a Drive token, a SyftBox folder under a file is refused as with the local transport (ENOTDIR, exit 1, nothing written)', () => {
    const f = aFile();
    const src = path.join(t.root, 'given.json');
    write(src, pyToken([GMAIL, DRIVE]));
    const before = snapshot(t.root);
    const e = errorOf(() => runInit({ home: t.home, email: 'a@b.io', syftboxRoot: `${f}/box`, tokenPath: src, createSyftboxRoot: true }));
    expect([e.exitCode, e.message]).toEqual([1, `Cannot create the folder ${f}/box: a part of the path is a file, not a folder (ENOTDIR)`]);
    expect(snapshot(t.root)).toEqual(before);
  });
});

/** An error as Node's fs makes it. */
function errno(code: string, syscall: string, p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${p}'`), { code, syscall, path: p });
}

/**
 * `fs.mkdirSync` as Node 20 behaves on a read-only file system mounted at `ro`: a plain mkdir below it fails with
 * EROFS, a recursive one with ENOENT (it stats the folder it could not make and reports that stat's error).
 */
function readOnlyAt(ro: string, calls: string[] = []): MkdirFn {
  return (p, opts) => {
    calls.push(`${opts?.recursive ? 'mkdir -p' : 'mkdir'} ${p}`);
    if (p.startsWith(ro + path.sep)) throw errno(opts?.recursive ? 'ENOENT' : 'EROFS', 'mkdir', p);
    return fs.mkdirSync(p, opts);
  };
}

describe('the real reason a folder cannot be created (Node 20 reports EROFS as ENOENT)', () => {
  it('a recursive mkdir failing with ENOENT: the plain mkdir of the first missing component gives the reason', () => {
    const ro = path.join(t.root, 'ro');
    fs.mkdirSync(ro);
    const calls: string[] = [];
    let e: unknown;
    try {
      mkdirRecursive(path.join(ro, 'a', 'b'), readOnlyAt(ro, calls));
    } catch (x) {
      e = x;
    }
    expect(e).toMatchObject({ code: 'EROFS', path: path.join(ro, 'a') });
    expect(calls).toEqual([`mkdir -p ${ro}/a/b`, `mkdir ${ro}/a`]);
    expect(fs.readdirSync(ro)).toEqual([]);
  });

  it('runInit names EROFS and the folder (and where it failed); nothing is left behind', () => {
    const ro = path.join(t.root, 'ro');
    fs.mkdirSync(ro);
    const before = snapshot(t.root);
    const top = errorOf(() => runInit({ home: t.home, email: 'a@b.io', syftboxRoot: `${ro}/box`, createSyftboxRoot: true, mkdir: readOnlyAt(ro) }));
    expect([top.exitCode, top.message]).toEqual([1, `Cannot create the folder ${ro}/box: read-only file system (EROFS)`]);
    const deep = errorOf(() => runInit({ home: t.home, email: 'a@b.io', syftboxRoot: `${ro}/x/y/box`, createSyftboxRoot: true, mkdir: readOnlyAt(ro) }));
    expect(deep.message).toBe(`Cannot create the folder ${ro}/x/y/box: read-only file system (EROFS) (at ${ro}/x)`);
    expect(snapshot(t.root)).toEqual(before);
  });

  it('other errors pass as they are; a component that can be made after all is removed again and the ENOENT kept', () => {
    const enoent = errno('ENOENT', 'mkdir', '/x');
    const eacces = errno('EACCES', 'mkdir', '/x');
    expect(realMkdirError('/x', eacces)).toBe(eacces);
    const dir = path.join(t.root, 'ok', 'sub');
    expect(realMkdirError(dir, enoent)).toBe(enoent);
    expect(fs.existsSync(path.join(t.root, 'ok'))).toBe(false);
  });

  it('a real file in the way: ENOTDIR from Node itself and from the walk, naming the file for setup-status', () => {
    const f = aFile();
    let e: unknown;
    try {
      mkdirRecursive(path.join(f, 'a', 'b'));
    } catch (x) {
      e = x;
    }
    expect((e as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    // An ENOENT from a mkdir that Node could not explain, below a file: the walk finds the file.
    expect(realMkdirError(path.join(f, 'a', 'b'), errno('ENOENT', 'mkdir', path.join(f, 'a', 'b')))).toMatchObject({ code: 'ENOTDIR', path: path.join(f, 'a') });
    expect(folderProblem(path.join(f, 'a', 'b'))).toEqual({ at: f, notAFolder: true });
    expect(folderProblem(f)).toEqual({ at: f, notAFolder: true });
    expect(folderProblem(path.join(t.root, 'new', 'folder'))).toBeUndefined();
  });
});
