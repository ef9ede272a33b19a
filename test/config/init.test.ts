import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../lib/errors';
import { runInit } from '../../lib/init';
import { ConfigError } from '../../lib/config/errors';
import { loadConfig } from '../../lib/config/load';
import { fixture, read, tempHome, write, type TempHome } from './helpers';
/** What a Google token implies for the SyftBox transport in this build (local until the Drive sync exists). */
// A Google token makes the SyftBox transport Drive: this build syncs the datasite with Drive itself.
const WITH_TOKEN = 'drive';

let t: TempHome;
beforeEach(() => (t = tempHome()));
afterEach(() => t.cleanup());

const NOW = new Date('2026-11-25T19:14:05.123Z');
const TOKEN = '{"token": "ya29.secret-access-token", "refresh_token": "1//secret-refresh", "client_id": "x.apps.googleusercontent.com"}\n';

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
      messages: [`Stored token at ${t.home.token}`, `Config saved to ${t.home.config}`],
      configPath: t.home.config,
      tokenStored: t.home.token,
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
    expect(r).toEqual({ messages: [`Config saved to ${t.home.config}`], configPath: t.home.config });
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
    expect(r.messages).toEqual([`Config saved to ${t.home.config}`]);
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
    expect(e.message).toBe(`Token file ${p} is not a JSON file (expected a JSON object such as an OAuth token)`);
    expect(e.message).not.toContain('secret');
    const d = errorOf(() => runInit({ home: t.home, email: 'a@b.io', tokenPath: t.root }));
    expect([d.exitCode, d.message]).toEqual([2, `Token path is not a file: ${t.root}`]);
    expect(fs.existsSync(t.home.token)).toBe(false);
    expect(fs.existsSync(t.home.config)).toBe(false);
  });
});

describe('syft-bg init on an existing config: merge, never wipe', () => {
  it('keeps objects, settings, comments and unknown keys; only do_email changes', () => {
    const original =
      '# my notes about this setup\n' +
      fixture('python-after-auto-approve.yaml', t.userHome).replace('  interval: 5\n  monitor_jobs', '  interval: 60  # slower\n  monitor_jobs') +
      'extra_key: kept\n';
    write(t.home.config, original);
    const r = runInit({ home: t.home, email: 'carol@lab.org' });
    expect(r.messages).toEqual([`Config saved to ${t.home.config} (merged with the existing file)`]);
    expect(read(t.home.config)).toBe(original.replace('do_email: alice@uni.edu\n', 'do_email: carol@lab.org\n'));
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
    expect(r.messages).toEqual([`Stored token at ${t.home.token}`, `Config saved to ${t.home.config} (merged with the existing file)`]);
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
