import { checkDatasitePath, isNormalSyncable, pathParts } from '../../../lib/sync/codec/paths';

describe('isNormalSyncable (path_filters)', () => {
  it.each([
    ['app_data/job/inbox/ds@x.org/j/run.sh', true],
    ['public/readme.md', true],
    ['public/syft_datasets_other/x', true],
    ['privateer/x', true],
    ['a/private/x', true],
    ['private/x', false],
    ['private', false],
    ['./private/x', false],
    ['public/syft_datasets/d/x.csv', false],
    ['app/.venv/lib/x.py', false],
    ['app/node_modules/x.js', false],
    ['app/__pycache__/x.pyc', false],
    ['x/.git/config', false],
    ['x/.DS_Store', false],
    ['x/.gitignore', true],
    ['x/.venvs/y', true],
    ['', false],
  ])('%s -> %s', (p, want) => expect(isNormalSyncable(p)).toBe(want));

  it('pathParts drops empty and . components like Path().parts', () => {
    expect(pathParts('./a//b/./c/')).toEqual(['a', 'b', 'c']);
  });
});

describe('checkDatasitePath (hostile paths)', () => {
  it.each([
    ['app_data/job/inbox/ds@x.org/j1/code/main.py'],
    ['a'],
    ['naïve/😀.txt'],
    ['.hidden/file'],
    ['a/b..c/d'],
  ])('accepts %s', (p) => {
    const r = checkDatasitePath(p);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.parts.join('/')).toBe(p);
  });

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../x', /'\.\.'/],
    ['a/../../x', /'\.\.'/],
    ['a/./b', /'\.'/],
    ['a//b', /empty component/],
    ['a/b/', /ends with a slash/],
    ['a\\b', /backslash/],
    ['..\\..\\x', /backslash/],
    ['a\0b', /NUL/],
    ['a\nb', /control/],
    ['C:/x', /drive letter/],
    ['a/' + 'x'.repeat(256), /component is longer/],
    [('abcdefgh/').repeat(130) + 'x', /longer than|deeper/],
    ['a/'.repeat(70) + 'x', /deeper/],
    ['bad\ud800', /surrogate/],
  ])('rejects %j', (p, re) => {
    const r = checkDatasitePath(p);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(re);
  });

  it('rejects non-strings', () => {
    expect(checkDatasitePath(null)).toEqual({ ok: false, reason: 'path is null, not a string' });
    expect(checkDatasitePath(3)).toEqual({ ok: false, reason: 'path is number, not a string' });
  });
});
