import * as fs from 'node:fs';
import * as path from 'node:path';
import { deleteIn, getIn, setIn, updateConfig } from '../../lib/config/edit';
import { ConfigError } from '../../lib/config/errors';
import { loadConfig } from '../../lib/config/load';
import { fixture, read, tempHome, write, type TempHome } from './helpers';

let t: TempHome;
beforeEach(() => (t = tempHome()));
afterEach(() => t.cleanup());

const ANALYSIS = {
  file_contents: [{ relative_path: 'main.py', path: '/p/main.py', hash: 'sha256:abc' }],
  file_paths: [],
  peers: ['on'],
};

describe('updateConfig keeps comments, blank lines, unknown keys and key order', () => {
  it('changes only the edited lines of a hand-written file, byte for byte', () => {
    const original = fixture('hand-edited.yaml');
    write(t.home.config, original);
    const r = updateConfig(t.home, (doc) => {
      setIn(doc, ['do_email'], 'bob@co.com');
      setIn(doc, ['notify', 'interval'], 7);
      setIn(doc, ['approve', 'auto_approvals', 'objects', 'analysis'], ANALYSIS);
      setIn(doc, ['transports', 'email'], 'maildir');
    });
    expect(r).toEqual({ path: t.home.config, notices: [], changed: true });
    const expected = original
      .replace('do_email: alice@uni.edu\n', 'do_email: bob@co.com\n')
      .replace('  interval: 5    # seconds\n', '  interval: 7    # seconds\n')
      .replace(
        '    objects: {}\n',
        [
          '    objects:',
          '      analysis:',
          '        file_contents:',
          '        - relative_path: main.py',
          '          path: /p/main.py',
          '          hash: sha256:abc',
          '        file_paths: []',
          '        peers:',
          "        - 'on'", // YAML 1.1: a bare `on` would be read back as true by PyYAML
          '',
        ].join('\n'),
      )
      .replace('  interval: 10\n\n# trailing', '  interval: 10\ntransports:\n  email: maildir\n\n# trailing');
    expect(read(t.home.config)).toBe(expected);
    const c = loadConfig(t.home).config;
    expect(c.approve.auto_approvals.objects.analysis?.peers).toEqual(['on']);
    expect(c.notify.heartbeat_enabled).toBe(true);
  });

  it('the §4.1 Python file: adding the transports block only adds lines', () => {
    const original = fixture('python-after-auto-approve.yaml', t.userHome);
    write(t.home.config, original);
    updateConfig(t.home, (doc) => {
      setIn(doc, ['transports'], { email: 'gmail', syftbox: 'drive' }, { after: ['drive_token_path'] });
      setIn(doc, ['approve', 'peers', 'approved_domains'], ['uni.edu']);
    });
    const out = read(t.home.config);
    const expected = original
      .replace(/(drive_token_path: [^\n]*mytoken.json\n)/, '$1transports:\n  email: gmail\n  syftbox: drive\n')
      .replace('    approved_domains: []\n', '    approved_domains:\n    - uni.edu\n');
    expect(out).toBe(expected);
    // The values Python wrote verbatim survive: `retry_backoff: 2.0`, `null`, `[]`.
    expect(out).toContain('  retry_backoff: 2.0\n  do_email: null\n');
  });

  it('keeps CRLF line endings', () => {
    const original = fixture('hand-edited.yaml').replace(/\n/g, '\r\n');
    write(t.home.config, original);
    updateConfig(t.home, (doc) => setIn(doc, ['sync', 'interval'], 20));
    expect(read(t.home.config)).toBe(original.replace('  interval: 10\r\n', '  interval: 20\r\n'));
  });

  it('keeps the file mode', () => {
    write(t.home.config, fixture('python-init.yaml', t.userHome));
    fs.chmodSync(t.home.config, 0o640);
    updateConfig(t.home, (doc) => setIn(doc, ['notify', 'interval'], 9));
    expect(fs.statSync(t.home.config).mode & 0o777).toBe(0o640);
    expect(loadConfig(t.home).config.notify.interval).toBe(9);
  });

  it('writes nothing when the edit changes nothing', () => {
    write(t.home.config, fixture('hand-edited.yaml'));
    const past = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(t.home.config, past, past);
    const r = updateConfig(t.home, (doc) => setIn(doc, ['notify', 'interval'], 5));
    expect(r.changed).toBe(false);
    expect(fs.statSync(t.home.config).mtime.toISOString()).toBe(past.toISOString());
  });

  it('creates intermediate mappings, also through a section left empty (null)', () => {
    write(t.home.config, 'do_email: a@b.io  # me\nnotify:\nsync:\n  interval: 10  # ten\n');
    updateConfig(t.home, (doc) => {
      setIn(doc, ['notify', 'interval'], 60);
      setIn(doc, ['approve', 'peers', 'approved_domains'], ['b.io']);
    });
    const c = loadConfig(t.home);
    expect(c.config.notify.interval).toBe(60);
    expect(c.config.approve.peers.approved_domains).toEqual(['b.io']);
    expect(c.text).toBe(
      'do_email: a@b.io  # me\nnotify:\n  interval: 60\nsync:\n  interval: 10  # ten\napprove:\n  peers:\n    approved_domains:\n    - b.io\n',
    );
  });

  it('helpers: getIn reads plain data, deleteIn removes a key', () => {
    write(t.home.config, fixture('python-after-auto-approve.yaml', t.userHome));
    updateConfig(t.home, (doc) => {
      expect(getIn(doc, ['approve', 'auto_approvals', 'objects', 'analysis', 'peers'])).toEqual(['bob@co.com', 'carol@lab.org']);
      expect(getIn(doc, ['nope', 'x'])).toBeUndefined();
      expect(deleteIn(doc, ['approve', 'auto_approvals', 'objects', 'analysis'])).toBe(true);
      expect(deleteIn(doc, ['approve', 'auto_approvals', 'objects', 'analysis'])).toBe(false);
    });
    const out = read(t.home.config);
    expect(out).toContain('    enabled: true\n    objects: {}\n  peers:\n');
    expect(loadConfig(t.home).config.approve.auto_approvals.objects).toEqual({});
  });
});

describe('updateConfig refuses to write invalid configurations', () => {
  it('an edit that makes the config invalid: clear error, file untouched', () => {
    const original = fixture('python-init.yaml', t.userHome);
    write(t.home.config, original);
    let err: unknown;
    try {
      updateConfig(t.home, (doc) => setIn(doc, ['notify', 'interval'], 'five'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      [`Refusing to write ${t.home.config}: the result would be invalid:`, `${t.home.config}:14:13: notify.interval: expected a number, found the string "five"`].join('\n'),
    );
    expect(read(t.home.config)).toBe(original);
  });

  it('a value the file did not have yet is reported without a position', () => {
    write(t.home.config, 'do_email: a@b.io\n');
    expect(() => updateConfig(t.home, (doc) => setIn(doc, ['transports', 'email'], 'imap'))).toThrow(
      `${t.home.config}: transports.email: expected one of "gmail", "maildir", found the string "imap"`,
    );
  });

  it('a file with a YAML syntax error is not edited', () => {
    write(t.home.config, 'do_email: a@b.io\ndo_email: c@d.io\n');
    expect(() => updateConfig(t.home, (doc) => setIn(doc, ['notify', 'interval'], 1))).toThrow(
      `Cannot update ${t.home.config}; fix it first:\n${t.home.config}:2:1: do_email: this key appears twice at the top level; YAML keys must be unique (keep one)`,
    );
    expect(read(t.home.config)).toBe('do_email: a@b.io\ndo_email: c@d.io\n');
  });

  it('a top-level list is not edited', () => {
    write(t.home.config, '- a\n');
    expect(() => updateConfig(t.home, () => undefined)).toThrow(/1:1: expected a mapping \(key: value pairs\) at the top level, found a list of 1 item$/);
  });

  it('an exception in mutate writes nothing', () => {
    write(t.home.config, 'do_email: a@b.io\n');
    expect(() =>
      updateConfig(t.home, (doc) => {
        setIn(doc, ['do_email'], 'x@y.io');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(read(t.home.config)).toBe('do_email: a@b.io\n');
  });
});

describe('updateConfig without a file', () => {
  it('starts from the Python init layout', () => {
    const r = updateConfig(t.home, (doc) => setIn(doc, ['do_email'], 'a@b.io'));
    expect(r.changed).toBe(true);
    const expected = fixture('python-init.yaml')
      .replace('do_email: alice@uni.edu', 'do_email: a@b.io')
      .replace(/syftbox_root: .*\n/, 'syftbox_root: null\n')
      .replace('drive_token_path: /home/alice/mytoken.json', 'drive_token_path: /home/alice/.syft-bg/token.json')
      .split('/home/alice/.syft-bg')
      .join(t.home.dir);
    expect(read(t.home.config)).toBe(expected);
    expect(fs.statSync(t.home.config).mode & 0o777).toBe(0o644);
  });

  it('treats an empty (half-written) file like a missing one', () => {
    write(t.home.config, '');
    updateConfig(t.home, (doc) => setIn(doc, ['do_email'], 'a@b.io'));
    expect(loadConfig(t.home).config.do_email).toBe('a@b.io');
    expect(read(t.home.config)).toContain('\nnotify:\n  do_email: null\n');
  });
});

describe('legacy approve.jobs migration on write', () => {
  it('writes the objects where jobs was, removes jobs, says so in one notice, keeps everything else', () => {
    const original = fixture('legacy-readme.yaml');
    write(t.home.config, original);
    const r = updateConfig(t.home, () => undefined);
    expect(r.notices).toEqual([
      `Migrated legacy approve.jobs.peers (2 peers) into auto-approval objects legacy_alice_uni_edu, legacy_bob_co_com in ${t.home.config}; ` +
        "add their files with 'syft-bg auto-approve' to store copies.",
    ]);
    const out = read(t.home.config);
    const dir = t.home.autoApprovals;
    const head = original.slice(0, original.indexOf('  jobs:\n'));
    const tail = original.slice(original.indexOf('  peers:\n    enabled: false'));
    expect(out).toBe(
      head +
        [
          '  auto_approvals:',
          '    enabled: true',
          '    objects:',
          '      # Alice runs the weekly statistics',
          '      legacy_alice_uni_edu:',
          '        file_contents:',
          '          - relative_path: main.py',
          `            path: ${dir}/legacy_alice_uni_edu/main.py`,
          '            hash: sha256:a26e3598ea8081b4b13e603b11cb3a409fc3cd569b7299e90fef0743495e7a52',
          '          - relative_path: utils.py',
          `            path: ${dir}/legacy_alice_uni_edu/utils.py`,
          '            hash: sha256:13e046f5fd378552636ca050ebb7ac18d762f0b00d6a22b5f54a753736463208',
          '        file_paths: []',
          '        peers:',
          '          - alice@uni.edu',
          '      legacy_bob_co_com:',
          '        file_contents:',
          '          - relative_path: analysis.py',
          `            path: ${dir}/legacy_bob_co_com/analysis.py`,
          '            hash: sha256:4e98e2793412e127e1f6917c94b64dcdbc2d8eddd951e9c6f071e3db539edc33',
          '        file_paths: []',
          '        peers:',
          '          - bob@co.com',
          '',
        ].join('\n') +
        tail,
    );
    const l = loadConfig(t.home);
    expect(l.legacy).toBeUndefined();
    expect(Object.keys(l.config.approve.auto_approvals.objects)).toEqual(['legacy_alice_uni_edu', 'legacy_bob_co_com']);
    expect(l.raw).toHaveProperty('team_notes', { owner: 'Data team', review_every: 'quarterly' });
    // Nothing left to migrate.
    expect(updateConfig(t.home, () => undefined)).toEqual({ path: t.home.config, notices: [], changed: false });
  });

  it('appends after existing objects and never overwrites a name', () => {
    write(
      t.home.config,
      [
        'approve:',
        '  auto_approvals:',
        '    objects:',
        '      legacy_bob_co_com:',
        '        file_contents: []',
        '        peers: [someone@else.org]',
        '  jobs:',
        '    peers:',
        '      bob@co.com:',
        '        scripts:',
        '        - {name: a.py, hash: "sha256:00ff"}',
        '      nobody@x.org:',
        '        mode: strict',
        '',
      ].join('\n'),
    );
    const r = updateConfig(t.home, () => undefined);
    expect(r.notices).toEqual([
      `Migrated legacy approve.jobs.peers (1 peer) into auto-approval objects legacy_bob_co_com_1 in ${t.home.config}; skipped nobody@x.org (no scripts); ` +
        "add their files with 'syft-bg auto-approve' to store copies.",
    ]);
    const objs = loadConfig(t.home).config.approve.auto_approvals.objects;
    expect(Object.keys(objs)).toEqual(['legacy_bob_co_com', 'legacy_bob_co_com_1']);
    expect(objs.legacy_bob_co_com?.peers).toEqual(['someone@else.org']);
    expect(objs.legacy_bob_co_com_1).toEqual({
      file_contents: [{ relative_path: 'a.py', path: path.join(t.home.autoApprovals, 'legacy_bob_co_com_1', 'a.py'), hash: 'sha256:00ff' }],
      file_paths: [],
      peers: ['bob@co.com'],
    });
  });

  it('leaves a disabled block alone', () => {
    const text = 'approve:\n  jobs:\n    enabled: false\n    peers:\n      bob@co.com:\n        scripts: [{name: a.py, hash: "sha256:00"}]\n';
    write(t.home.config, text);
    expect(updateConfig(t.home, () => undefined)).toMatchObject({ notices: [], changed: false });
    expect(read(t.home.config)).toBe(text);
  });

  it('a malformed legacy block is an error pointing into the file', () => {
    write(t.home.config, 'approve:\n  jobs:\n    peers:\n      bob@co.com:\n        scripts:\n        - name: ../../etc/passwd\n          hash: sha256:00\n');
    expect(() => updateConfig(t.home, () => undefined)).toThrow(
      `${t.home.config}:6:17: approve.jobs.peers["bob@co.com"].scripts[0].name: expected a relative file path without '..', found the string "../../etc/passwd"`,
    );
  });
});
