import { UserError } from '../../lib/errors';
import { ConfigError, formatPath } from '../../lib/config/errors';
import { loadConfig, parseConfigText } from '../../lib/config/load';
import { fixture, tempHome, write } from './helpers';

const FILE = '/home/a/.syft-bg/config.yaml';

function errorOf(text: string): ConfigError {
  try {
    parseConfigText(text, FILE, '/home/a/.syft-bg', { userHome: '/home/a' });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('ConfigError messages', () => {
  it('wrong type: names file:line:col, key path, expected and found (the §4.1 file with interval: five)', () => {
    const text = fixture('python-init.yaml').replace('  interval: 5\n', '  interval: five\n');
    const e = errorOf(text);
    expect(e.message).toBe(`${FILE}:14:13: notify.interval: expected a number, found the string "five"`);
    expect(e).toBeInstanceOf(UserError);
    expect(e.exitCode).toBe(1);
    expect(e.problems).toEqual([{ path: ['notify', 'interval'], message: 'expected a number, found the string "five"', line: 14, col: 13 }]);
  });

  it('bad enum value', () => {
    expect(errorOf('do_email: a@b.io\ntransports:\n  email: imap\n').message).toBe(
      `${FILE}:3:10: transports.email: expected one of "gmail", "maildir", found the string "imap"`,
    );
  });

  it('bad e-mail in do_email', () => {
    expect(errorOf('do_email: bob\n').message).toBe(`${FILE}:1:11: do_email: expected an email address like name@example.com, found the string "bob"`);
  });

  it('negative interval, fractional interval, boolean instead of number', () => {
    expect(errorOf('sync:\n  interval: -3\n').message).toBe(`${FILE}:2:13: sync.interval: expected a number greater than 0, found the number -3`);
    expect(errorOf('sync:\n  interval: 2.5\n').message).toBe(`${FILE}:2:13: sync.interval: expected a whole number, found the number 2.5`);
    expect(errorOf('notify:\n  heartbeat_interval: true\n').message).toBe(
      `${FILE}:2:23: notify.heartbeat_interval: expected a number, found true`,
    );
  });

  it('bad object entry deep in approve.auto_approvals.objects.<name>.file_contents[1].hash', () => {
    const text = fixture('python-after-auto-approve.yaml').replace(
      'hash: sha256:13e046f5fd378552636ca050ebb7ac18d762f0b00d6a22b5f54a753736463208',
      'hash: md5:13e046f5',
    );
    expect(errorOf(text).message).toBe(
      `${FILE}:31:17: approve.auto_approvals.objects.analysis.file_contents[1].hash: ` +
        'expected a SHA-256 digest like "sha256:" followed by lowercase hex digits, found the string "md5:13e046f5"',
    );
  });

  it('a missing key points at its entry', () => {
    const text = 'approve:\n  auto_approvals:\n    objects:\n      x:\n        file_contents:\n        - relative_path: a.py\n          path: /p/a.py\n';
    expect(errorOf(text).message).toBe(
      `${FILE}:6:11: approve.auto_approvals.objects.x.file_contents[0].hash: expected a string, found nothing (the key is missing)`,
    );
  });

  it('keys that are not identifiers are quoted in the path; bad object names point at the name', () => {
    expect(errorOf('approve:\n  auto_approvals:\n    objects:\n      "..":\n        peers: []\n').message).toBe(
      `${FILE}:4:7: approve.auto_approvals.objects[".."]: invalid name: expected an object name usable as a folder name (no '/' or '\\', not '.' or '..'), found the string ".."`,
    );
    const legacy = fixture('legacy-readme.yaml').replace('hash: sha256:4e98', 'hash: SHA256:4e98');
    expect(errorOf(legacy).message).toMatch(
      new RegExp(`^${FILE}:29:19: approve\\.jobs\\.peers\\["bob@co\\.com"\\]\\.scripts\\[0\\]\\.hash: expected a SHA-256 digest`),
    );
  });

  it('an object left without a value is an error, not "any peer, no files"', () => {
    expect(errorOf('approve:\n  auto_approvals:\n    objects:\n      x:\n').message).toBe(
      `${FILE}:4:7: approve.auto_approvals.objects.x: expected a mapping (key: value pairs), found null (an empty value)`,
    );
    expect(errorOf('approve:\n  auto_approvals:\n    objects:\n      x:\n        peers:\n').message).toBe(
      `${FILE}:5:9: approve.auto_approvals.objects.x.peers: expected a list, found null (an empty value)`,
    );
  });

  it('YAML syntax errors give file:line:col and the parser reason', () => {
    const e = errorOf('do_email: a@b.io\nnotify:\n  interval: 5\n   monitor_jobs: [true\n');
    const lines = e.message.split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const l of lines) expect(l).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: YAML syntax error: \\S`));
    expect(e.message).not.toMatch(/at line \d+/);
    expect(lines[0]).toBe(`${FILE}:3:13: YAML syntax error: Nested mappings are not allowed in compact mappings`);

    expect(errorOf('notify:\n\tinterval: 5\n').message).toBe(`${FILE}:2:1: YAML syntax error: Tabs are not allowed as indentation`);

    const dup = errorOf('do_email: a@b.io\ndo_email: c@d.io\n');
    expect(dup.message).toBe(`${FILE}:2:1: do_email: this key appears twice at the top level; YAML keys must be unique (keep one)`);
    // Nested: named by its key path.
    const nested = errorOf('notify:\n  interval: 5\n  monitor_jobs: true\n  interval: 6\n');
    expect(nested.message).toBe(`${FILE}:4:3: notify.interval: this key appears twice in notify; YAML keys must be unique (keep one)`);
    const deep = errorOf('approve:\n  auto_approvals:\n    objects:\n      a:\n        file_paths: []\n        file_paths: []\n');
    expect(deep.message).toBe(`${FILE}:6:9: approve.auto_approvals.objects.a.file_paths: this key appears twice in approve.auto_approvals.objects.a; YAML keys must be unique (keep one)`);

    const quote = errorOf('do_email: "a@b.io\n');
    expect(quote.message).toBe(`${FILE}:2:1: YAML syntax error: Missing closing "quote`);
  });

  it('a top-level list instead of a mapping', () => {
    expect(errorOf('- do_email: a@b.io\n- notify: {}\n').message).toBe(
      `${FILE}:1:1: expected a mapping (key: value pairs) at the top level, found a list of 2 items`,
    );
    expect(errorOf('just a string\n').message).toBe(`${FILE}:1:1: expected a mapping (key: value pairs) at the top level, found the string "just a string"`);
  });

  it('several errors: all of them, one per line, in file order, no stack traces', () => {
    const e = errorOf('sync:\n  interval: -1\ndo_email: nope\nnotify:\n  interval: x\n  monitor_jobs: maybe\n');
    expect(e.message.split('\n')).toEqual([
      `${FILE}:2:13: sync.interval: expected a number greater than 0, found the number -1`,
      `${FILE}:3:11: do_email: expected an email address like name@example.com, found the string "nope"`,
      `${FILE}:5:13: notify.interval: expected a number, found the string "x"`,
      `${FILE}:6:17: notify.monitor_jobs: expected true or false, found the string "maybe"`,
    ]);
    expect(e.message).not.toMatch(/\n\s+at /);
  });

  it('loadConfig throws it for a real file and writes no cache', () => {
    const t = tempHome();
    try {
      write(t.home.config, 'notify:\n  interval: five\n');
      expect(() => loadConfig(t.home)).toThrow(`${t.home.config}:2:13: notify.interval: expected a number, found the string "five"`);
      expect(require('node:fs').existsSync(`${t.home.dir}/.cache/config.json`)).toBe(false);
    } finally {
      t.cleanup();
    }
  });
});

describe('formatPath', () => {
  it('dots for identifiers, brackets for indexes and other keys', () => {
    expect(formatPath(['approve', 'auto_approvals', 'objects', 'my-obj', 'file_contents', 1, 'hash'])).toBe(
      'approve.auto_approvals.objects.my-obj.file_contents[1].hash',
    );
    expect(formatPath(['approve', 'jobs', 'peers', 'a@b.c'])).toBe('approve.jobs.peers["a@b.c"]');
    expect(formatPath([])).toBe('');
  });
});
