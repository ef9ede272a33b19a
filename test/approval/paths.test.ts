import * as path from 'node:path';
import {
  fileDirConflict,
  isExpandedFile,
  isJobUserFile,
  normaliseRelPath,
  objectDir,
  objectNameProblem,
  pathStem,
  storedCopyPath,
} from '../../lib/approval/paths';

describe('normaliseRelPath', () => {
  it.each([
    ['main.py', 'main.py'],
    ['./main.py', 'main.py'],
    ['a//b/./c.py', 'a/b/c.py'],
    ['a/../b.py', 'b.py'],
    ['sub/', 'sub'],
    ["it's \"q\".py", "it's \"q\".py"],
    ['数据/😀.py', '数据/😀.py'],
  ])('%j → %j', (input, out) => {
    expect(normaliseRelPath(input)).toBe(out);
  });

  it.each(['', '.', './', '..', '../x', 'a/../../x', '/etc/passwd', 'a\0b'])('refuses %j', (input) => {
    expect(normaliseRelPath(input)).toBeUndefined();
  });
});

describe('object names', () => {
  it('accepts folder names with quotes, spaces and unicode', () => {
    for (const ok of ['analysis', 'Job - 1a2b3c4d', `it's "q"`, 'données', '😀', '.hidden', '...']) expect(objectNameProblem(ok)).toBeUndefined();
  });

  it('refuses separators, dot names, NUL, control characters, over-long names', () => {
    for (const bad of ['', 'a/b', 'a\\b', '.', '..', 'a\0b', 'a\nb', 'a\rb', '\x1b', '\x7f', 'é'.repeat(128)]) expect(objectNameProblem(bad)).toBeDefined();
    expect(objectNameProblem('é'.repeat(127))).toBeUndefined();
  });

  it('objectDir / storedCopyPath stay inside the auto_approvals folder', () => {
    expect(objectDir('/h/auto_approvals', 'x')).toBe('/h/auto_approvals/x');
    expect(storedCopyPath('/h/auto_approvals', 'x', 'a/b.py')).toBe(path.join('/h/auto_approvals', 'x', 'a', 'b.py'));
    expect(() => objectDir('/h/auto_approvals', '..')).toThrow(/Invalid auto-approval object name/);
    expect(() => objectDir('/h/auto_approvals', 'a/../../etc')).toThrow(/Invalid auto-approval object name/);
  });
});

describe('which files count', () => {
  it('isJobUserFile: the reference exclusions, plus never-synced components at any depth', () => {
    for (const yes of ['main.py', 'pkg/mod.py', 'pkg/outputs/x.txt', 'outputs', 'data/syft.pub.yaml.bak']) expect(isJobUserFile(yes)).toBe(true);
    for (const no of ['syft.pub.yaml', 'sub/syft.pub.yaml', 'outputs/r.json', '.venv/bin/python', '__pycache__/m.pyc', 'pkg/__pycache__/m.pyc', 'x/.git/HEAD', '.DS_Store']) {
      expect(isJobUserFile(no)).toBe(false);
    }
  });

  it('isExpandedFile: keeps outputs/ (the DO\'s own folder), drops never-synced components', () => {
    expect(isExpandedFile('outputs/r.json')).toBe(true);
    expect(isExpandedFile('node_modules/x/index.js')).toBe(false);
    expect(isExpandedFile('syft.pub.yaml')).toBe(false);
  });

  it('pathStem = Python Path.stem', () => {
    expect(pathStem('main.py')).toBe('main');
    expect(pathStem('sub/a.tar.gz')).toBe('a.tar');
    expect(pathStem('.bashrc')).toBe('.bashrc');
    expect(pathStem('file.')).toBe('file.');
    expect(pathStem('noext')).toBe('noext');
  });

  it('fileDirConflict', () => {
    expect(fileDirConflict(['a', 'b/c'])).toBeUndefined();
    expect(fileDirConflict(['a', 'a/b'])).toBe('a');
    expect(fileDirConflict(['x/y/z', 'x/y'])).toBe('x/y');
    expect(fileDirConflict(['ab', 'a/b'])).toBeUndefined();
  });
});
