import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  addUser,
  canonicalRuleSet,
  emitRuleSet,
  emitRuleSetWhole,
  governingYaml,
  grantAccess,
  grantAccessMany,
  grantOutputsToOwner,
  parseRuleSet,
  parseRuleSetDocument,
  reviewPermissionFile,
  setupPeerJobFolders,
  shareJobResults,
  shareLogs,
  shareOutputs,
  type Grant,
  type RuleSet,
} from '../../lib/datasite/permissions';
import { DO, DS, readFixture, tempDir, treeBytes } from './helpers';

const INBOX_YAML = readFixture('inbox', DS, 'syft.pub.yaml');
const REVIEW_YAML = readFixture('review', DS, 'syft.pub.yaml');

function rs(text: string): RuleSet {
  const r = parseRuleSet(text);
  if (!r.ok) throw new Error(r.problem.message);
  return r.value;
}

describe('syft.pub.yaml codec', () => {
  it.each([
    ['inbox', INBOX_YAML],
    ['review', REVIEW_YAML],
  ])('fixture %s: parse then emit is byte-identical', (_n, text) => {
    expect(emitRuleSet(rs(text))).toBe(text);
  });

  it('reads the fixture rules', () => {
    expect(rs(INBOX_YAML)).toEqual({ rules: [{ pattern: '**', access: { admin: [], read: [], write: [DS] } }], terminal: false });
    expect(rs(REVIEW_YAML).rules.map((r) => [r.pattern, r.access.read])).toEqual([
      ['**', [DS]],
      ['bash-done/outputs/**', [DO, DS]],
      ['analysis-failed/outputs/**', [DO, DS]],
    ]);
  });

  it('defaults for missing keys, like the pydantic models; typed problems for bad content', () => {
    expect(rs("rules:\n- pattern: x\nterminal: false\n")).toEqual({ rules: [{ pattern: 'x', access: { admin: [], read: [], write: [] } }], terminal: false });
    expect(rs('terminal: true\n')).toEqual({ rules: [], terminal: true });
    for (const [text, code] of [
      ['', 'incomplete'],
      ['rules:\n- access:\n    admin: []\n    read:\n    - ds@exa', 'incomplete'],
      ['rules: 3\nterminal: false\n', 'invalid'],
      ['rules:\n- access: {read: [1]}\n  pattern: x\nterminal: false\n', 'invalid'],
      ['rules:\n- pattern: [x]\nterminal: false\n', 'invalid'],
      ['{}\n', 'incomplete'],
      ['terminal: sometimes\n', 'invalid'],
      ['rules: [\n  x\n]]\n', 'malformed'],
    ] as const) {
      const r = parseRuleSet(text);
      expect([text, r.ok ? 'ok' : r.problem.code]).toEqual([text, code]);
    }
  });

  it('every strict prefix of the fixture (Python writes in place) is refused, so an edit never drops rules', () => {
    const full = rs(REVIEW_YAML);
    for (let i = 0; i < REVIEW_YAML.length - 1; i++) {
      const r = parseRuleSet(REVIEW_YAML.slice(0, i));
      // Only a cut inside the last value can parse (`terminal: f` is pydantic's False): then it means the same.
      if (r.ok) expect(r.value).toEqual(full);
      else expect([i, r.problem.code]).toEqual([i, 'incomplete']);
    }
  });

  it('addUser: find-or-append the rule, append the user once, input untouched', () => {
    const a = rs(INBOX_YAML);
    const b = addUser(a, '**', 'write', DS);
    expect(b).toEqual(a);
    const c = addUser(a, 'job/outputs/**', 'read', DO);
    expect(c.rules.map((r) => r.pattern)).toEqual(['**', 'job/outputs/**']);
    expect(a.rules).toHaveLength(1);
    expect(addUser(c, 'job/outputs/**', 'read', DS).rules[1]!.access.read).toEqual([DO, DS]);
  });
});

describe('the DO-side edits reproduce the fixture from an empty datasite', () => {
  it('peer approval, then two runs sharing outputs (share_logs off), gives the fixture bytes', () => {
    const root = tempDir();
    const setup = setupPeerJobFolders(root, DO, DS);
    expect(setup.ok).toBe(true);
    const job = path.join(root, DO, 'app_data', 'job');
    expect(fs.readFileSync(path.join(job, 'inbox', DS, 'syft.pub.yaml'), 'utf8')).toBe(INBOX_YAML);
    expect(fs.readFileSync(path.join(job, 'review', DS, 'syft.pub.yaml'), 'utf8')).toBe(
      "rules:\n- access:\n    admin: []\n    read:\n    - ds@example.org\n    write: []\n  pattern: '**'\nterminal: false\n",
    );
    for (const name of ['bash-done', 'analysis-failed']) {
      expect(grantOutputsToOwner(root, DO, DS, name)).toMatchObject({ ok: true, pattern: `${name}/outputs/**`, changed: true });
      expect(shareJobResults(root, DO, DS, name, { outputs: true, logs: false })).toEqual([
        { ok: true, file: reviewPermissionFile(root, DO, DS), pattern: `${name}/outputs/**`, changed: true },
      ]);
    }
    expect(fs.readFileSync(reviewPermissionFile(root, DO, DS), 'utf8')).toBe(REVIEW_YAML);
  });

  it('is idempotent: repeating every edit changes no byte and writes nothing', () => {
    const root = tempDir();
    setupPeerJobFolders(root, DO, DS);
    grantOutputsToOwner(root, DO, DS, 'bash-done');
    shareJobResults(root, DO, DS, 'bash-done', { outputs: true, logs: true });
    const before = treeBytes(root);
    const file = reviewPermissionFile(root, DO, DS);
    const old = new Date(2000, 0, 1);
    fs.utimesSync(file, old, old);
    const again = [
      ...(setupPeerJobFolders(root, DO, DS) as { edits: unknown[] }).edits,
      grantOutputsToOwner(root, DO, DS, 'bash-done'),
      ...shareJobResults(root, DO, DS, 'bash-done', { outputs: true, logs: true }),
    ];
    expect(again.every((e) => (e as { ok: boolean; changed: boolean }).ok && !(e as { changed: boolean }).changed)).toBe(true);
    expect(treeBytes(root)).toEqual(before);
    expect(fs.statSync(file).mtime.getTime()).toBe(old.getTime());
  });

  it('share_logs appends three file rules per job, after the outputs rule', () => {
    const root = tempDir();
    setupPeerJobFolders(root, DO, DS);
    grantOutputsToOwner(root, DO, DS, 'bash-done');
    shareOutputs(root, DO, DS, 'bash-done', [DS]);
    const logs = shareLogs(root, DO, DS, 'bash-done', [DS]);
    expect(logs.map((e) => e.ok && e.pattern)).toEqual(['bash-done/stdout.txt', 'bash-done/stderr.txt', 'bash-done/returncode.txt']);
    const text = fs.readFileSync(reviewPermissionFile(root, DO, DS), 'utf8');
    expect(text).toBe(
      REVIEW_YAML.split('- access:\n    admin: []\n    read:\n    - do@example.com\n    - ds@example.org\n    write: []\n  pattern: analysis-failed')[0] +
        ['stdout.txt', 'stderr.txt', 'returncode.txt'].map((f) => `- access:\n    admin: []\n    read:\n    - ds@example.org\n    write: []\n  pattern: bash-done/${f}\n`).join('') +
        'terminal: false\n',
    );
  });

  it('hostile job names become properly quoted patterns and read back', () => {
    const root = tempDir();
    setupPeerJobFolders(root, DO, DS);
    const names = ["it's", 'Job - 1a2b3c4d', '#hash', 'ünï', '* star', 'a: b', 'new\nline'];
    for (const n of names) grantOutputsToOwner(root, DO, DS, n);
    const back = rs(fs.readFileSync(reviewPermissionFile(root, DO, DS), 'utf8'));
    expect(back.rules.map((r) => r.pattern)).toEqual(['**', ...names.map((n) => `${n}/outputs/**`)]);
    expect(() => grantOutputsToOwner(root, DO, DS, '../escape')).toThrow(/contains "\/"/);
    expect(() => grantOutputsToOwner(root, DO, DS, '..')).toThrow(/is "\.\."/);
  });
});

describe('governing yaml (syft-perms _find_governing_yaml)', () => {
  const rel = (...p: string[]) => ['app_data', 'job', ...p].join('/');

  it('no yaml anywhere: a new one in the target folder (folder) or the file\'s folder (file)', () => {
    const ds = path.join(tempDir(), DO);
    expect(governingYaml(ds, rel('review', DS, 'j', 'outputs'), true)).toEqual({ file: path.join(ds, rel('review', DS, 'j', 'outputs'), 'syft.pub.yaml'), pattern: '**' });
    expect(governingYaml(ds, rel('review', DS, 'j', 'stdout.txt'), false)).toEqual({ file: path.join(ds, rel('review', DS, 'j'), 'syft.pub.yaml'), pattern: 'stdout.txt' });
  });

  it('the nearest existing yaml governs, with a pattern relative to it', () => {
    const ds = path.join(tempDir(), DO);
    fs.mkdirSync(path.join(ds, rel('review', DS)), { recursive: true });
    fs.writeFileSync(path.join(ds, 'syft.pub.yaml'), 'rules: []\nterminal: false\n');
    expect(governingYaml(ds, rel('review', DS, 'j', 'outputs'), true)).toEqual({ file: path.join(ds, 'syft.pub.yaml'), pattern: `${rel('review', DS, 'j', 'outputs')}/**` });
    fs.writeFileSync(path.join(ds, rel('review', DS), 'syft.pub.yaml'), 'rules: []\nterminal: false\n');
    expect(governingYaml(ds, rel('review', DS, 'j', 'outputs'), true)).toEqual({ file: path.join(ds, rel('review', DS), 'syft.pub.yaml'), pattern: 'j/outputs/**' });
  });

  it('a terminal yaml higher up stops the search', () => {
    const ds = path.join(tempDir(), DO);
    fs.mkdirSync(path.join(ds, rel('review', DS)), { recursive: true });
    fs.writeFileSync(path.join(ds, 'app_data', 'syft.pub.yaml'), 'rules: []\nterminal: true\n');
    fs.writeFileSync(path.join(ds, rel('review', DS), 'syft.pub.yaml'), 'rules: []\nterminal: false\n');
    expect(governingYaml(ds, rel('review', DS, 'j', 'outputs'), true)).toEqual({ file: path.join(ds, 'app_data', 'syft.pub.yaml'), pattern: `job/review/${DS}/j/outputs/**` });
  });

  it('refuses to overwrite a permission file it cannot read, or to walk through a symlink', () => {
    const root = tempDir();
    setupPeerJobFolders(root, DO, DS);
    const file = reviewPermissionFile(root, DO, DS);
    fs.writeFileSync(file, 'rules: [\n  x\n]]\n');
    expect(grantOutputsToOwner(root, DO, DS, 'j')).toMatchObject({ ok: false, problem: { code: 'malformed', path: file } });
    expect(fs.readFileSync(file, 'utf8')).toBe('rules: [\n  x\n]]\n');
    fs.writeFileSync(file, '');
    expect(grantOutputsToOwner(root, DO, DS, 'j')).toMatchObject({ ok: false, problem: { code: 'incomplete' } });

    const root2 = tempDir();
    const elsewhere = tempDir();
    fs.mkdirSync(path.join(root2, DO, 'app_data', 'job'), { recursive: true });
    fs.symlinkSync(elsewhere, path.join(root2, DO, 'app_data', 'job', 'review'));
    expect(setupPeerJobFolders(root2, DO, DS)).toMatchObject({ ok: false, problem: { code: 'symlink' } });
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it('grantAccess on an arbitrary folder leaves no temp files behind', () => {
    const ds = path.join(tempDir(), DO);
    fs.mkdirSync(path.join(ds, 'public'), { recursive: true });
    expect(grantAccess(ds, 'public', 'read', '*', { isFolder: true })).toMatchObject({ ok: true, pattern: '**', changed: true });
    expect(fs.readdirSync(path.join(ds, 'public'))).toEqual(['syft.pub.yaml']);
    expect(fs.readFileSync(path.join(ds, 'public', 'syft.pub.yaml'), 'utf8')).toBe("rules:\n- access:\n    admin: []\n    read:\n    - '*'\n    write: []\n  pattern: '**'\nterminal: false\n");
  });
});

describe('grantAccessMany (one parse and one write per file, the result of sequential grants)', () => {
  const grants = (ds: string, job: string): Grant[] => [
    { relPath: `app_data/job/review/${ds}/${job}/outputs`, level: 'read', user: DO, isFolder: true },
    { relPath: `app_data/job/review/${ds}/${job}/outputs`, level: 'read', user: ds, isFolder: true },
    { relPath: `app_data/job/review/${ds}/${job}/stdout.txt`, level: 'read', user: ds, isFolder: false },
    { relPath: `app_data/job/review/${ds}/${job}/stderr.txt`, level: 'read', user: ds, isFolder: false },
    { relPath: `app_data/job/other/${ds}`, level: 'write', user: ds, isFolder: true },
  ];

  it.each([
    ['with the peer folders set up', true],
    ['with no permission file anywhere (the first grant creates the one later grants must see)', false],
  ])('%s: same bytes as grantAccess one by one', (_what, setup) => {
    const a = { dir: tempDir() };
    const b = { dir: tempDir() };
    {
      for (const t of [a, b]) {
        if (setup) expect(setupPeerJobFolders(t.dir, DO, DS).ok).toBe(true);
        fs.mkdirSync(path.join(t.dir, DO, 'app_data', 'job', 'review', DS, 'j1'), { recursive: true });
        fs.mkdirSync(path.join(t.dir, DO, 'app_data', 'job', 'other', DS), { recursive: true });
      }
      const one = grants(DS, 'j1').map((g) => grantAccess(path.join(a.dir, DO), g.relPath, g.level, g.user, { isFolder: g.isFolder }));
      const many = grantAccessMany(path.join(b.dir, DO), grants(DS, 'j1'));
      expect(many.map((e) => e.ok && { pattern: e.pattern, changed: e.changed, file: path.relative(b.dir, e.file) })).toEqual(
        one.map((e) => e.ok && { pattern: e.pattern, changed: e.changed, file: path.relative(a.dir, e.file) }),
      );
      expect(treeBytes(path.join(b.dir, DO))).toEqual(treeBytes(path.join(a.dir, DO)));
    }
  });

  it('sees a file another writer (a Python DO client) replaced since our last edit, even at the same size', () => {
    const t = { dir: tempDir() };
    {
      expect(setupPeerJobFolders(t.dir, DO, DS).ok).toBe(true);
      const file = reviewPermissionFile(t.dir, DO, DS);
      shareJobResults(t.dir, DO, DS, 'j1', { outputs: true, logs: false }); // parsed and remembered
      const ours = fs.readFileSync(file, 'utf8');
      const theirs = ours.replace('j1/outputs/**', 'j9/outputs/**'); // same length, other content
      expect(theirs.length).toBe(ours.length);
      fs.writeFileSync(file, theirs); // in place, as Python's open('w') does
      shareJobResults(t.dir, DO, DS, 'j2', { outputs: true, logs: false });
      const patterns = rs(fs.readFileSync(file, 'utf8')).rules.map((r) => r.pattern);
      expect(patterns).toEqual(expect.arrayContaining(['j9/outputs/**', 'j2/outputs/**']));
      expect(patterns).not.toContain('j1/outputs/**');
    }
  });

  it('a grant that cannot be made is reported and the others still land', () => {
    const t = { dir: tempDir() };
    {
      expect(setupPeerJobFolders(t.dir, DO, DS).ok).toBe(true);
      fs.mkdirSync(path.join(t.dir, DO, 'app_data', 'job', 'review', DS, 'j1'));
      fs.symlinkSync('/tmp', path.join(t.dir, DO, 'app_data', 'job', 'review', DS, 'evil'));
      const r = grantAccessMany(path.join(t.dir, DO), [
        { relPath: `app_data/job/review/${DS}/evil/outputs`, level: 'read', user: DS, isFolder: true },
        { relPath: `app_data/job/review/${DS}/j1/outputs`, level: 'read', user: DS, isFolder: true },
      ]);
      expect(r[0]).toMatchObject({ ok: false, problem: { code: 'symlink' } });
      expect(r[1]).toMatchObject({ ok: true, changed: true });
      expect(rs(fs.readFileSync(reviewPermissionFile(t.dir, DO, DS), 'utf8')).rules.map((x) => x.pattern)).toContain('j1/outputs/**');
    }
  });
});

describe('parseRuleSet fast path (canonical files read line by line, proven by re-emitting)', () => {
  const users = ['ds@example.org', "o'brien@example.org", 'ünï@example.org', '*', 'USER'];
  const patterns = ['**', 'j1/outputs/**', "it's/**", 'null', '123', 'true', 'a: b', '#x', ' lead', 'trail ', 'new\nline', 'tab\tx', 'ü/**', '"q"', '- dash', '@at', '*.txt', 'x'.repeat(120)];
  const sets: RuleSet[] = [
    { rules: [], terminal: false },
    { rules: [], terminal: true },
    ...patterns.map((p, i) => ({ rules: [{ pattern: p, access: { admin: i % 3 === 0 ? [users[i % users.length]!] : [], read: users.slice(0, i % 4), write: i % 2 ? ['w@x.org'] : [] } }], terminal: i % 2 === 0 })),
    { rules: patterns.map((pattern) => ({ pattern, access: { admin: [], read: users, write: [] } })), terminal: false },
  ];

  it.each(sets.map((x, i) => [i, x] as const))('set %i: same RuleSet as the document parser, for its canonical text', (_i, set) => {
    const text = emitRuleSet(set);
    const viaDoc = parseRuleSetDocument(text);
    const viaFast = parseRuleSet(text);
    expect(viaDoc.ok && viaDoc.value).toEqual(set);
    expect(viaFast.ok && viaFast.value).toEqual(set);
  });

  it('reads the fixture files and large generated ones without the document parser', () => {
    for (const t of [INBOX_YAML, REVIEW_YAML]) expect(canonicalRuleSet(t)).toEqual(rs(t));
    const big: RuleSet = { rules: Array.from({ length: 2000 }, (_, i) => ({ pattern: `job-${i}/outputs/**`, access: { admin: [], read: [DO, DS], write: [] } })), terminal: false };
    const text = emitRuleSet(big);
    expect(canonicalRuleSet(text)).toEqual(big);
    const t0 = performance.now();
    expect(parseRuleSet(text)).toMatchObject({ ok: true, value: big });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it.each([
    ['a comment', 'rules: []\n# hi\nterminal: false\n'],
    ['flow style', 'rules: [{access: {admin: [], read: [a], write: []}, pattern: x}]\nterminal: false\n'],
    ['double-quoted', 'rules:\n- access:\n    admin: []\n    read: []\n    write: []\n  pattern: "x"\nterminal: false\n'],
    ['no final newline', 'rules: []\nterminal: false'],
    ['no terminal (cut short)', 'rules:\n- access:\n    admin: []\n    read: []\n    write: []\n  pattern: x\n'],
    ['an extra key', 'rules: []\nterminal: false\nextra: 1\n'],
    ['a stray quote', "rules:\n- access:\n    admin: []\n    read: []\n    write: []\n  pattern: 'a'b'\nterminal: false\n"],
  ])('not canonical (%s): the document parser decides', (_what, text) => {
    expect(canonicalRuleSet(text) === undefined || emitRuleSet(canonicalRuleSet(text)!) !== text).toBe(true);
    expect(parseRuleSet(text)).toEqual(parseRuleSetDocument(text));
  });

  it('a plain scalar the YAML resolver would type (null, 123, true) never slips through as a string', () => {
    const text = 'rules:\n- access:\n    admin: []\n    read:\n    - null\n    write: []\n  pattern: 123\nterminal: false\n';
    expect(canonicalRuleSet(text)).toBeDefined(); // a candidate…
    expect(parseRuleSet(text)).toEqual(parseRuleSetDocument(text)); // …refused by the re-emit check
    expect(parseRuleSet(text).ok).toBe(false);
  });
});

describe('emitRuleSet by rule (cached per rule) equals one PyYAML dump of the whole set', () => {
  const odd = ['**', "it's", 'null', '123', 'true', 'a: b', '#x', ' lead', 'trail ', 'new\nline', 'tab\tx', 'ü/**', '"q"', '- dash', '@at', '*.txt', 'x'.repeat(120), 'y '.repeat(60), '', '~', 'yes', '0x1F', '1e5', '2026-11-25'];
  const users = ['ds@example.org', "o'brien@example.org", 'ünï@example.org', '*', 'USER', 'null', ''];
  it.each([1, 2, 3, 7, 50])('random sets of %i rules, both terminal values', (n) => {
    let seed = n * 7919;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    for (let k = 0; k < 20; k++) {
      const rules = Array.from({ length: n }, () => ({
        pattern: pick(odd),
        access: { admin: rnd() < 0.2 ? [pick(users)] : [], read: Array.from({ length: Math.floor(rnd() * 3) }, () => pick(users)), write: rnd() < 0.3 ? [pick(users), pick(users)] : [] },
      }));
      for (const terminal of [false, true]) {
        const set = { rules, terminal };
        expect(emitRuleSet(set)).toBe(emitRuleSetWhole(set));
        expect(emitRuleSet(set)).toBe(emitRuleSetWhole(set)); // cached the second time
      }
    }
  });
  it('the fixture files', () => {
    for (const t of [INBOX_YAML, REVIEW_YAML]) expect(emitRuleSet(rs(t))).toBe(t);
  });
});
