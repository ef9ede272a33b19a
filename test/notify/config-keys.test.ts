/**
 * The notify keys of config.yaml that only the Node syft-bg reads — `notify.send_rate_per_second`,
 * `notify.send_burst`, `notify.lookup_grace_seconds` — are validated by the config schema (lib/config/schema.ts)
 * with `file:line:col: key: expected …, found …` errors, and reach the notify service's pacing (pacing.ts).
 * Python-written files (which never have them) load exactly as before.
 */
import { ConfigError } from '../../lib/config/errors';
import { parseConfigText } from '../../lib/config/load';
import { GMAIL_RATE, lookupGraceFromConfig, MAILDIR_RATE, rateFromConfig } from '../../lib/notify/pacing';
import { fixture } from '../config/helpers';

const HOME = '/home/alice/.syft-bg';
const FILE = `${HOME}/config.yaml`;
const parse = (text: string) => parseConfigText(text, FILE, HOME, { userHome: '/home/alice', exists: () => false });

function errorOf(text: string): string {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

/** The Python init file with extra lines right after `notify:` (line 6), so the keys are on lines 7, 8, …. */
const withNotify = (lines: string) => fixture('python-init.yaml').replace(/^notify:\n/m, `notify:\n${lines}`);

describe('notify.send_rate_per_second / send_burst / lookup_grace_seconds in the config schema', () => {
  it('bad values: file:line:col, key path, what was expected, what was found', () => {
    expect(errorOf(withNotify('  send_burst: 2.5\n'))).toBe(`${FILE}:7:15: notify.send_burst: expected a whole number of mails, at least 1, found the number 2.5`);
    expect(errorOf(withNotify('  send_burst: 0\n'))).toBe(`${FILE}:7:15: notify.send_burst: expected a whole number of mails, at least 1, found the number 0`);
    expect(errorOf(withNotify('  send_burst: ten\n'))).toBe(`${FILE}:7:15: notify.send_burst: expected a whole number of mails, at least 1, found the string "ten"`);
    expect(errorOf(withNotify('  send_rate_per_second: -2\n'))).toBe(
      `${FILE}:7:25: notify.send_rate_per_second: expected a number of mails per second greater than 0 (e.g. 2 or 0.5), found the number -2`,
    );
    expect(errorOf(withNotify('  send_rate_per_second: .inf\n'))).toBe(
      `${FILE}:7:25: notify.send_rate_per_second: expected a number of mails per second greater than 0 (e.g. 2 or 0.5), found the number Infinity`,
    );
    expect(errorOf(withNotify('  send_rate_per_second: "2"\n'))).toBe(
      `${FILE}:7:25: notify.send_rate_per_second: expected a number of mails per second greater than 0 (e.g. 2 or 0.5), found the string "2"`,
    );
    expect(errorOf(withNotify('  lookup_grace_seconds: -1\n'))).toBe(`${FILE}:7:25: notify.lookup_grace_seconds: expected a number of seconds, 0 or more, found the number -1`);
    expect(errorOf(withNotify('  lookup_grace_seconds: yes\n'))).toBe(`${FILE}:7:25: notify.lookup_grace_seconds: expected a number of seconds, 0 or more, found true`);
  });

  it('several bad keys: one line each, in file order', () => {
    expect(errorOf(withNotify('  send_rate_per_second: 0\n  send_burst: [1]\n  lookup_grace_seconds: .nan\n')).split('\n')).toEqual([
      `${FILE}:7:25: notify.send_rate_per_second: expected a number of mails per second greater than 0 (e.g. 2 or 0.5), found the number 0`,
      `${FILE}:8:15: notify.send_burst: expected a whole number of mails, at least 1, found a list of 1 item`,
      `${FILE}:9:25: notify.lookup_grace_seconds: expected a number of seconds, 0 or more, found the number NaN`,
    ]);
  });

  it('good values load and reach the pacing; null or absent means the transport default', () => {
    const l = parse(withNotify('  send_rate_per_second: 0.5\n  send_burst: 3\n  lookup_grace_seconds: 0\n'));
    expect(rateFromConfig(l.raw, GMAIL_RATE)).toEqual({ ratePerSecond: 0.5, burst: 3 });
    expect(lookupGraceFromConfig(l.raw, 30_000)).toBe(0);
    const n = parse(withNotify('  send_rate_per_second: null\n  send_burst: ~\n  lookup_grace_seconds:\n'));
    expect(rateFromConfig(n.raw, MAILDIR_RATE)).toEqual(MAILDIR_RATE);
    expect(lookupGraceFromConfig(n.raw, 30_000)).toBe(30_000);
    expect(lookupGraceFromConfig(parse(withNotify('  lookup_grace_seconds: 2.5\n')).raw, 0)).toBe(2500);
  });

  it('Python-written files (which never have these keys) load exactly as before; the keys change nothing else', () => {
    for (const name of ['python-init.yaml', 'python-after-auto-approve.yaml', 'sample-config.yaml']) {
      const plain = parse(fixture(name));
      expect(rateFromConfig(plain.raw, GMAIL_RATE)).toEqual(GMAIL_RATE);
      expect(lookupGraceFromConfig(plain.raw, 30_000)).toBe(30_000);
      expect(Object.keys(plain.config.notify).sort()).toEqual(
        ['credentials_path', 'do_email', 'drive_token_path', 'gmail_token_path', 'heartbeat_enabled', 'heartbeat_interval', 'interval', 'monitor_jobs', 'monitor_peers', 'notify_state_path', 'syftbox_root', 'sync_state_path'],
      );
    }
    const plain = parse(fixture('python-init.yaml'));
    const extended = parse(withNotify('  send_rate_per_second: 1\n  send_burst: 1\n  lookup_grace_seconds: 10\n'));
    expect(extended.config).toEqual(plain.config);
  });
});
