import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { grantOutputsToOwner, setupPeerJobFolders, shareOutputs, type RuleSet } from '../../../lib/datasite/permissions';
import { accessFor, governingRuleDir, patternSpecificity, sortRulesBySpecificity } from '../../../lib/sync/codec/access';
import { loadRuleFiles } from '../../../lib/sync/codec/access-fs';
import { fnmatch, globMatch } from '../../../lib/sync/codec/glob';

const DO = 'do@example.com';
const DS = 'ds@example.org';
const rule = (pattern: string, access: Partial<{ read: string[]; write: string[]; admin: string[] }>) => ({
  pattern,
  access: { read: access.read ?? [], write: access.write ?? [], admin: access.admin ?? [] },
});
const rs = (rules: ReturnType<typeof rule>[], terminal = false): RuleSet => ({ rules, terminal });

describe('globMatch (wcmatch GLOBSTAR, no DOTGLOB)', () => {
  it.each([
    ['a/b/c.txt', '**', true],
    ['c.txt', '**', true],
    ['a/b/c.txt', '**/*', true],
    ['a/b/c.txt', '**/*.txt', true],
    ['c.txt', '**/*.txt', true],
    ['a/b/c.csv', '**/*.txt', false],
    ['a/b/c.txt', 'a/**', true],
    ['a/b/c.txt', 'a/*', false],
    ['a/b', 'a/*', true],
    ['a/b/c.txt', 'a/**/c.txt', true],
    ['a/c.txt', 'a/**/c.txt', true],
    ['j1/outputs/r.json', 'j1/outputs/**', true],
    ['j1/outputs', 'j1/outputs/**', true],
    ['j1/stdout.txt', 'j1/outputs/**', false],
    ['x/.hidden', '**', false],
    ['.hidden/x', '**', false],
    ['x/.hidden', 'x/*', false],
    ['x/.hidden', 'x/.*', true],
    ['x/.hidden/y', 'x/.hidden/**', true],
    ['a1', 'a[0-9]', true],
    ['ab', 'a[0-9]', false],
    ['ab', 'a[!0-9]', true],
    ['ab', 'a[^0-9]', true],
    ['a]', 'a[]]', true],
    ['a[', 'a[', true],
    ['a*', 'a\\*', true],
    ['ab', 'a\\*', false],
    ['abc', 'a?c', true],
    ['a/c', 'a?c', false],
    ['ABC.TXT', '*.txt', false],
    ['a/b', '*', false],
  ])('%s vs %s -> %s', (p, pat, want) => expect(globMatch(p, pat)).toBe(want));
});

describe('fnmatch (access-list entries)', () => {
  it.each([
    ['ds@example.org', '*@example.org', true],
    ['ds@evil.org', '*@example.org', false],
    ['ds@sub.example.org', '*@*.example.org', true],
    ['a@b.c', 'a@?.c', true],
    ['a@b.c', '[ab]@b.c', true],
    ['c@b.c', '[!ab]@b.c', true],
    ['DS@EXAMPLE.ORG', '*@example.org', false],
  ])('%s vs %s -> %s', (u, pat, want) => expect(fnmatch(u, pat)).toBe(want));
});

describe('specificity', () => {
  it('ranks like the ACL engine', () => {
    expect(patternSpecificity('**')).toBe(-100);
    expect(patternSpecificity('**/*')).toBe(-99);
    expect(patternSpecificity('j1/outputs/**')).toBe(13 * 2 + 2 * 10 - 20);
    expect(patternSpecificity('*.csv')).toBe(10 - 20);
    expect(patternSpecificity('{{.UserEmail}}/x')).toBe(16 * 2 + 10 + 50 - 2 - 2);
    const sorted = sortRulesBySpecificity([rule('**', {}), rule('a/*.txt', {}), rule('j1/outputs/**', {}), rule('b/*.txt', {})]);
    expect(sorted.map((r) => r.pattern)).toEqual(['j1/outputs/**', 'a/*.txt', 'b/*.txt', '**']);
  });
});

describe('accessFor (pure)', () => {
  const review = `app_data/job/review/${DS}`;
  const inbox = `app_data/job/inbox/${DS}`;
  const files = new Map<string, RuleSet>([
    [inbox, rs([rule('**', { write: [DS] })])],
    [review, rs([rule('**', { read: [DS] }), rule('j1/outputs/**', { read: [DO] }), rule('j2/outputs/**', { read: [DO, DS] })])],
  ]);

  it('the owner can do everything, even without rule files', () => {
    expect(accessFor(new Map(), 'private/x', DO, DO)).toEqual({ read: true, write: true, admin: true });
  });

  it('DS writes (and so reads) its inbox, nothing else', () => {
    expect(accessFor(files, `${inbox}/j1/run.sh`, DS, DO)).toEqual({ read: true, write: true, admin: false });
    expect(accessFor(files, `app_data/job/inbox/other@x.org/j1/run.sh`, DS, DO)).toEqual({ read: false, write: false, admin: false });
    expect(accessFor(files, `public/x`, DS, DO)).toEqual({ read: false, write: false, admin: false });
    expect(accessFor(files, `${inbox}/j1/run.sh`, 'other@x.org', DO).read).toBe(false);
  });

  it('review: DS reads state and logs, outputs only once shared', () => {
    expect(accessFor(files, `${review}/j1/state.yaml`, DS, DO)).toEqual({ read: true, write: false, admin: false });
    expect(accessFor(files, `${review}/j1/outputs/result.json`, DS, DO).read).toBe(false);
    expect(accessFor(files, `${review}/j2/outputs/result.json`, DS, DO).read).toBe(true);
  });

  it('permission files need admin', () => {
    expect(accessFor(files, `${inbox}/syft.pub.yaml`, DS, DO)).toEqual({ read: false, write: false, admin: false });
    const adm = new Map([['', rs([rule('**', { admin: [DS] })])]]);
    expect(accessFor(adm, 'a/syft.pub.yaml', DS, DO)).toEqual({ read: true, write: true, admin: true });
  });

  it('nearest rule file wins, no inheritance', () => {
    const m = new Map<string, RuleSet>([
      ['', rs([rule('**', { read: ['*'] })])],
      ['a', rs([rule('x.txt', { read: [DS] })])],
    ]);
    expect(accessFor(m, 'b/y.txt', DS, DO).read).toBe(true);
    expect(accessFor(m, 'a/x.txt', 'z@z.z', DO).read).toBe(false);
    expect(accessFor(m, 'a/y.txt', DS, DO).read).toBe(false);
    expect(governingRuleDir(m, 'a/b/c')).toBe('a');
    expect(governingRuleDir(m, 'b/c')).toBe('');
  });

  it('terminal rule files stop the walk', () => {
    const m = new Map<string, RuleSet>([
      ['a', rs([rule('**', { read: [] })], true)],
      ['a/b', rs([rule('**', { read: ['*'] })])],
    ]);
    expect(governingRuleDir(m, 'a/b/c.txt')).toBe('a');
    expect(accessFor(m, 'a/b/c.txt', DS, DO).read).toBe(false);
    const root = new Map<string, RuleSet>([['', rs([rule('**', { read: [DS] })], true)], ['x', rs([rule('**', { write: [DS] })])]]);
    expect(accessFor(root, 'x/y', DS, DO)).toEqual({ read: true, write: false, admin: false });
  });

  it('USER, templates, wildcards and domains', () => {
    const m = new Map<string, RuleSet>([
      [
        '',
        rs([
          rule('home/{{.UserEmail}}/**', { write: ['USER'] }),
          rule('pub/**', { read: ['USER'] }),
          rule('team/**', { read: ['*@example.org'] }),
          rule('exact.txt', { read: [DS] }),
        ]),
      ],
    ]);
    expect(accessFor(m, `home/${DS}/notes.txt`, DS, DO).write).toBe(true);
    expect(accessFor(m, `home/${DS}/notes.txt`, 'eve@x.org', DO).read).toBe(false);
    expect(accessFor(m, 'pub/a', 'anyone@any.where', DO).read).toBe(true); // USER without template = everyone
    expect(accessFor(m, 'team/a', DS, DO).read).toBe(true);
    expect(accessFor(m, 'team/a', 'x@evil.org', DO).read).toBe(false);
    expect(accessFor(m, 'exact.txt', DS, DO).read).toBe(true);
    expect(accessFor(m, 'exact.txt.bak', DS, DO).read).toBe(false);
  });

  it('unsupported templates and unmatched paths grant nothing; hidden files are not matched by **', () => {
    const m = new Map<string, RuleSet>([['', rs([rule('{{.Year}}/**', { read: ['*'] }), rule('**', { read: ['*'] })])]]);
    expect(accessFor(m, 'x', DS, DO).read).toBe(false);
    const h = new Map<string, RuleSet>([['', rs([rule('**', { read: ['*'] })])]]);
    expect(accessFor(h, 'a/.env', DS, DO).read).toBe(false);
    expect(accessFor(new Map([['', rs([])]]), 'x', DS, DO).read).toBe(false);
  });
});

describe('loadRuleFiles + accessFor against files written by lib/datasite/permissions', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'acl-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('peer setup, outputs rule and sharing', () => {
    expect(setupPeerJobFolders(root, DO, DS).ok).toBe(true);
    const datasite = path.join(root, DO);
    fs.mkdirSync(path.join(datasite, 'app_data/job/review', DS, 'j1/outputs'), { recursive: true });
    expect(grantOutputsToOwner(root, DO, DS, 'j1').ok).toBe(true);
    let { rules, problems } = loadRuleFiles(datasite);
    expect(problems).toEqual([]);
    expect([...rules.keys()].sort()).toEqual([`app_data/job/inbox/${DS}`, `app_data/job/review/${DS}`]);
    const out = `app_data/job/review/${DS}/j1/outputs/r.json`;
    expect(accessFor(rules, `app_data/job/inbox/${DS}/j1/run.sh`, DS, DO).write).toBe(true);
    expect(accessFor(rules, `app_data/job/review/${DS}/j1/stdout.txt`, DS, DO).read).toBe(true);
    expect(accessFor(rules, out, DS, DO).read).toBe(false);
    shareOutputs(root, DO, DS, 'j1', [DS]);
    ({ rules, problems } = loadRuleFiles(datasite));
    expect(accessFor(rules, out, DS, DO).read).toBe(true);
    expect(accessFor(rules, `app_data/job/review/${DS}/syft.pub.yaml`, DS, DO).read).toBe(false);
  });

  it('a broken rule file grants nothing (and is reported), a symlinked one is not followed', () => {
    const d = path.join(root, DO);
    fs.mkdirSync(path.join(d, 'a/b'), { recursive: true });
    fs.writeFileSync(path.join(d, 'syft.pub.yaml'), "rules:\n- access:\n    admin: []\n    read:\n    - '*'\n    write: []\n  pattern: '**'\nterminal: false\n");
    fs.writeFileSync(path.join(d, 'a/syft.pub.yaml'), 'rules: [\n');
    fs.symlinkSync(path.join(d, 'syft.pub.yaml'), path.join(d, 'a/b/syft.pub.yaml'));
    const { rules, problems } = loadRuleFiles(d);
    expect(problems.map((p) => p.code).sort()).toEqual(['incomplete', 'symlink']);
    expect(accessFor(rules, 'x.txt', DS, DO).read).toBe(true);
    expect(accessFor(rules, 'a/x.txt', DS, DO).read).toBe(false);
    expect(accessFor(rules, 'a/b/x.txt', DS, DO).read).toBe(false);
  });

  it('missing datasite: no rules, no problems', () => {
    expect(loadRuleFiles(path.join(root, 'nope'))).toEqual({ rules: new Map(), problems: [] });
  });
});
