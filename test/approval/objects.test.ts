/**
 * Creating and editing auto-approval objects against a real syft-bg home (config.yaml + auto_approvals/), including
 * the port of tests/unit/syft_bg/test_auto_approve_api.py (7 tests, §12.1).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../lib/config/load';
import { UserError } from '../../lib/errors';
import {
  autoApprove,
  autoApproveJob,
  checkStorable,
  defaultObjectName,
  evaluateJobOnDisk,
  formatObjectList,
  listAutoApprovals,
  mergeObject,
  removeFiles,
  removeObject,
  removePeer,
  routeJobFiles,
  uniqueName,
} from '../../lib/approval/objects';
import { loadApprovalObjects } from '../../lib/approval/store';
import type { ApprovalObject } from '../../lib/approval/types';
import { fixture, read, tempHome, write, type TempHome } from '../config/helpers';
import { pythonConfig, pythonRunSh, SYFT, writeFile, writeJob } from './helpers';

let t: TempHome;
let work: string;
beforeEach(() => {
  t = tempHome();
  work = path.join(t.root, 'work');
  fs.mkdirSync(work);
});
afterEach(() => t.cleanup());

const sha = (s: string | Uint8Array) => `sha256:${createHash('sha256').update(typeof s === 'string' ? Buffer.from(s) : s).digest('hex')}`;
const w = (rel: string, content: string | Uint8Array) => writeFile(path.join(work, rel), content);
const storedDir = (name: string) => path.join(t.home.autoApprovals, name);
const objects = () => loadApprovalObjects(t.home).objects;
const get = (name: string) => objects().get(name) as ApprovalObject;
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

/** Write config.yaml with objects, as the Python `_seed_config` does. */
function seed(objs: Record<string, ApprovalObject>): void {
  const body = Object.entries(objs)
    .map(([n, o]) => `      ${JSON.stringify(n)}: ${JSON.stringify(o)}`)
    .join('\n');
  write(t.home.config, `approve:\n  auto_approvals:\n    enabled: true\n    objects:${body ? `\n${body}` : ' {}'}\n`);
}
const makeObj = (peer = 'alice@test.com'): ApprovalObject => ({
  file_contents: [{ relative_path: 'main.py', path: '/tmp/main.py', hash: 'sha256:abc' }],
  file_paths: [],
  peers: [peer],
});

describe('TestListAutoApprovals', () => {
  it('TestListAutoApprovals::test_returns_objects', () => {
    seed({ r1: makeObj(), r2: makeObj('bob@test.com') });
    const { objects: result } = listAutoApprovals(t.home);
    expect([...result.keys()]).toEqual(['r1', 'r2']);
    expect(result.get('r1')?.peers).toEqual(['alice@test.com']);
    expect(result.get('r2')?.peers).toEqual(['bob@test.com']);
  });

  it('TestListAutoApprovals::test_empty', () => {
    seed({});
    const r = listAutoApprovals(t.home);
    expect(r.objects.size).toBe(0);
    expect(r.lines).toEqual(['No auto-approval objects configured.']);
  });
});

describe('TestRemoveAutoApprove', () => {
  it('TestRemoveAutoApprove::test_deletes_object_and_files', () => {
    seed({ r1: makeObj(), r2: makeObj() });
    const dir = storedDir('r1');
    writeFile(path.join(dir, 'main.py'), "print('hi')\n");
    const r = removeObject(t.home, 'r1');
    expect(r.lines).toEqual(["Removed auto-approval object 'r1'.", `Deleted its stored copies (${dir}).`]);
    expect(fs.existsSync(dir)).toBe(false);
    expect([...objects().keys()]).toEqual(['r2']);
  });

  it('TestRemoveAutoApprove::test_unknown_returns_error', () => {
    seed({ r1: makeObj() });
    const before = read(t.home.config);
    expect(errorOf(() => removeObject(t.home, 'does_not_exist'))).toBe("Auto-approval object 'does_not_exist' not found");
    expect(read(t.home.config)).toBe(before);
    expect([...objects().keys()]).toEqual(['r1']);
  });

  it('TestRemoveAutoApprove::test_no_files_dir_still_succeeds', () => {
    seed({ r1: makeObj() });
    expect(removeObject(t.home, 'r1').lines).toEqual(["Removed auto-approval object 'r1'."]);
    expect(objects().size).toBe(0);
  });
});

describe('TestHandlerReloadsConfig', () => {
  /** A job whose object is built from its own files, as `_matching_obj` (stored copy = the job file). */
  function setup() {
    const { codeDir } = writeJob(work, 'test-job', { files: { 'main.py': "print('hello')\n" } });
    const job = { codeDir, status: 'pending', submitter: 'alice@test.com' };
    const matching: ApprovalObject = {
      file_contents: [{ relative_path: 'main.py', path: path.join(codeDir, 'main.py'), hash: sha("print('hello')\n") }],
      file_paths: [],
      peers: ['alice@test.com'],
    };
    return { job, matching };
  }
  const evaluate = (job: { codeDir: string; status: string; submitter: string }) => evaluateJobOnDisk(t.home, job, { expectedRunSh: pythonRunSh }).verdict;

  it('TestHandlerReloadsConfig::test_picks_up_added_object', () => {
    const { job, matching } = setup();
    seed({});
    expect(evaluate(job).approved).toBe(false);
    seed({ r1: matching });
    expect(evaluate(job)).toMatchObject({ approved: true, object: 'r1' });
  });

  it('TestHandlerReloadsConfig::test_picks_up_removed_object', () => {
    const { job, matching } = setup();
    seed({ r1: matching });
    expect(evaluate(job).approved).toBe(true);
    seed({});
    expect(evaluate(job).approved).toBe(false);
  });
});

describe('autoApprove: resolving contents (§5.2, fixed)', () => {
  it('a plain file keeps its basename; stored copy, hash and output as the reference', () => {
    w('src/utils/helper.py', 'def f(): pass\n');
    const r = autoApprove(t.home, { contents: ['src/utils/helper.py'], cwd: work });
    expect(r.name).toBe('helper');
    expect(r.created).toBe(true);
    expect(r.lines).toEqual(['Auto-approval object: helper', '  helper.py', 'Peers: (any)']);
    const stored = path.join(storedDir('helper'), 'helper.py');
    expect(get('helper')).toEqual({ file_contents: [{ relative_path: 'helper.py', path: stored, hash: sha('def f(): pass\n') }], file_paths: [], peers: [] });
    expect(read(stored)).toBe('def f(): pass\n');
  });

  it('a directory: all files recursively, sorted as Python sorts paths, relative to the directory', () => {
    w('proj/main.py', 'm\n');
    w('proj/a/b.py', 'b\n');
    w('proj/a.txt', 't\n');
    w('proj/z/y/x.py', 'x\n');
    const r = autoApprove(t.home, { contents: ['proj'], cwd: work, peers: ['alice@uni.edu', 'bob@co.com'], name: 'my_analysis' });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['a/b.py', 'a.txt', 'main.py', 'z/y/x.py']);
    expect(r.lines).toEqual(['Auto-approval object: my_analysis', '  a/b.py', '  a.txt', '  main.py', '  z/y/x.py', 'Peers: alice@uni.edu, bob@co.com']);
    expect(read(path.join(storedDir('my_analysis'), 'z', 'y', 'x.py'))).toBe('x\n');
  });

  it('directories leave out never-synced components and syft.pub.yaml (a job can never contain them)', () => {
    w('proj/main.py', 'm\n');
    w('proj/__pycache__/main.cpython-312.pyc', 'pyc');
    w('proj/.git/HEAD', 'ref');
    w('proj/.venv/bin/python', 'x');
    w('proj/sub/.DS_Store', 'x');
    w('proj/syft.pub.yaml', 'rules: []\n');
    const r = autoApprove(t.home, { contents: ['proj'], cwd: work });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['main.py']);
  });

  it('FIX: -b resolves against the base dir, not the CWD; the relative path is the one below the base', () => {
    w('proj/sub/deep.py', 'deep\n');
    const r = autoApprove(t.home, { contents: ['sub/deep.py'], baseDir: 'proj', cwd: work });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['sub/deep.py']);
    expect(r.name).toBe('deep');
    expect(read(path.join(storedDir('deep'), 'sub', 'deep.py'))).toBe('deep\n');
  });

  it('FIX: -b paths are normalised (./main.py → main.py) and directories under the base are expanded', () => {
    w('proj/main.py', 'm\n');
    w('proj/lib/a.py', 'a\n');
    const r = autoApprove(t.home, { contents: ['./main.py', 'lib/../lib'], baseDir: path.join(work, 'proj'), cwd: '/' });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['main.py', 'lib/a.py']);
    const all = autoApprove(t.home, { contents: ['.'], baseDir: path.join(work, 'proj'), cwd: '/', name: 'all' });
    expect(all.object.file_contents.map((e) => e.relative_path)).toEqual(['lib/a.py', 'main.py']);
  });

  it('FIX: `..` out of the base and absolute paths outside it are refused', () => {
    w('proj/main.py', 'm\n');
    w('secret.py', 's\n');
    expect(errorOf(() => autoApprove(t.home, { contents: ['../secret.py'], baseDir: 'proj', cwd: work }))).toBe(
      `Path '../secret.py' is outside the base directory ${path.join(work, 'proj')}`,
    );
    expect(errorOf(() => autoApprove(t.home, { contents: [path.join(work, 'secret.py')], baseDir: 'proj', cwd: work }))).toMatch(/is outside the base directory/);
    expect(fs.existsSync(t.home.autoApprovals)).toBe(false);
  });

  it('errors: File not found (against the base), No files found in, No files to process, base dir missing', () => {
    w('empty/.keep-dir/.git/x', 'x');
    expect(errorOf(() => autoApprove(t.home, { contents: ['nope.py'], cwd: work }))).toBe(`File not found: ${path.join(work, 'nope.py')}`);
    expect(errorOf(() => autoApprove(t.home, { contents: ['nope.py'], baseDir: '.', cwd: work }))).toBe(`File not found: ${path.join(work, 'nope.py')}`);
    expect(errorOf(() => autoApprove(t.home, { contents: ['empty'], cwd: work }))).toBe(`No files found in ${path.join(work, 'empty')}`);
    expect(errorOf(() => autoApprove(t.home, { contents: [], cwd: work }))).toBe('No files to process');
    expect(errorOf(() => autoApprove(t.home, { contents: ['x'], baseDir: 'missing', cwd: work }))).toBe(`Base directory not found: ${path.join(work, 'missing')}`);
    expect(fs.existsSync(t.home.config)).toBe(false);
  });

  it('FIX: two inputs with the same relative path are refused (the reference overwrote the first copy)', () => {
    w('a/main.py', 'one\n');
    w('b/main.py', 'two\n');
    expect(errorOf(() => autoApprove(t.home, { contents: ['a/main.py', 'b/main.py'], cwd: work }))).toBe(
      `Duplicate relative path 'main.py': ${path.join(work, 'a/main.py')} and ${path.join(work, 'b/main.py')} would be stored as the same file`,
    );
    // The same file twice is not a conflict.
    expect(autoApprove(t.home, { contents: ['a', 'a/main.py'], cwd: work }).object.file_contents).toHaveLength(1);
  });

  it('FIX: -f names are name-only even when a directory argument contains them', () => {
    w('src/main.py', 'm\n');
    w('src/params.json', '{}');
    const r = autoApprove(t.home, { contents: ['src'], filePaths: ['./params.json'], cwd: work });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['main.py']);
    expect(r.object.file_paths).toEqual(['params.json']);
    expect(r.lines).toEqual(['Auto-approval object: main', '  main.py', 'Peers: (any)', 'Allowed files: params.json']);
    expect(fs.existsSync(path.join(storedDir('main'), 'params.json'))).toBe(false);
  });

  it('-f only: object with no content files, named auto_approval', () => {
    const r = autoApprove(t.home, { contents: [], filePaths: ['params.json'], cwd: work });
    expect(r.name).toBe('auto_approval');
    expect(r.object).toEqual({ file_contents: [], file_paths: ['params.json'], peers: [] });
    expect(errorOf(() => autoApprove(t.home, { contents: [], filePaths: ['../x'], cwd: work }))).toMatch(/^Invalid file path '\.\.\/x'/);
  });

  it('hashes come from the stored copy; CRLF files keep their bytes and get the reference text hash', () => {
    w('crlf.py', 'x=1\r\ny=2\r\n');
    const r = autoApprove(t.home, { contents: ['crlf.py'], cwd: work });
    expect(r.object.file_contents[0]?.hash).toBe('sha256:f70f15511df105b3d7986f483ab85643d49cc3e5db5d4f592efff9e97be12d5d');
    expect(fs.readFileSync(path.join(storedDir('crlf'), 'crlf.py'), 'latin1')).toBe('x=1\r\ny=2\r\n');
  });

  it('binary (non-UTF-8) files are stored and hashed as bytes, marked binary (the reference crashed)', () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0xff]);
    w('proj/main.py', 'm\n');
    w('proj/logo.png', bytes);
    const r = autoApprove(t.home, { contents: ['proj'], cwd: work, name: 'withbin' });
    expect(r.object.file_contents[0]).toMatchObject({ relative_path: 'logo.png', hash: sha(bytes), binary: true });
    expect(r.lines).toContain('  logo.png (binary)');
    expect(get('withbin').file_contents[0]).toMatchObject({ binary: true });
    expect(get('withbin').file_contents[1]).not.toHaveProperty('binary');
    expect(read(t.home.config)).toContain('binary: true');
    expect(fs.readFileSync(path.join(storedDir('withbin'), 'logo.png'))).toEqual(bytes);
  });

  it('a file over the size limit is refused', () => {
    w('big.bin', Buffer.alloc(2048));
    expect(errorOf(() => autoApprove(t.home, { contents: ['big.bin'], cwd: work, maxFileBytes: 1024 }))).toBe(
      `File too large: ${path.join(work, 'big.bin')} (2048 bytes, limit 1024)`,
    );
  });
});

describe('autoApprove: names and updates', () => {
  it('FIX: an explicit existing name is updated: files added/replaced, peers merged, nothing duplicated', () => {
    w('v1/main.py', 'v1\n');
    w('v1/utils.py', 'u\n');
    autoApprove(t.home, { contents: ['v1'], cwd: work, name: 'my_analysis', peers: ['alice@uni.edu'] });
    w('v2/main.py', 'v2\n');
    w('v2/extra.py', 'e\n');
    const r = autoApprove(t.home, { contents: ['v2'], cwd: work, name: 'my_analysis', peers: ['bob@co.com', 'alice@uni.edu'] });
    expect(r.created).toBe(false);
    expect(r.added).toEqual(['extra.py']);
    expect(r.replaced).toEqual(['main.py']);
    expect([...objects().keys()]).toEqual(['my_analysis']);
    const o = get('my_analysis');
    expect(o.file_contents.map((e) => [e.relative_path, e.hash])).toEqual([
      ['main.py', sha('v2\n')],
      ['utils.py', sha('u\n')],
      ['extra.py', sha('e\n')],
    ]);
    expect(o.peers).toEqual(['alice@uni.edu', 'bob@co.com']);
    expect(read(path.join(storedDir('my_analysis'), 'main.py'))).toBe('v2\n');
    expect(r.lines[0]).toBe('Auto-approval object: my_analysis (updated)');
  });

  it('an update without peers keeps the peers (it never widens to any peer)', () => {
    w('a.py', 'a\n');
    w('b.py', 'b\n');
    autoApprove(t.home, { contents: ['a.py'], cwd: work, name: 'x', peers: ['alice@uni.edu'] });
    expect(autoApprove(t.home, { contents: ['b.py'], cwd: work, name: 'x' }).object.peers).toEqual(['alice@uni.edu']);
  });

  it('an update can move a file between content and name-only; the unused stored copy is deleted', () => {
    w('p/main.py', 'm\n');
    w('p/params.json', '{}');
    autoApprove(t.home, { contents: ['p'], cwd: work, name: 'x' });
    const storedParams = path.join(storedDir('x'), 'params.json');
    expect(fs.existsSync(storedParams)).toBe(true);
    const r = autoApprove(t.home, { contents: [], filePaths: ['params.json'], cwd: work, name: 'x' });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['main.py']);
    expect(r.object.file_paths).toEqual(['params.json']);
    expect(fs.existsSync(storedParams)).toBe(false);
    const back = autoApprove(t.home, { contents: ['p/params.json'], cwd: work, name: 'x' });
    expect(back.object.file_paths).toEqual([]);
    expect(back.object.file_contents.map((e) => e.relative_path)).toEqual(['main.py', 'params.json']);
  });

  it('auto-generated names still get _1, _2 …', () => {
    w('main.py', 'm\n');
    expect(autoApprove(t.home, { contents: ['main.py'], cwd: work }).name).toBe('main');
    expect(autoApprove(t.home, { contents: ['main.py'], cwd: work }).name).toBe('main_1');
    expect(autoApprove(t.home, { contents: ['main.py'], cwd: work }).name).toBe('main_2');
    w('two/a.py', 'a');
    w('two/b.py', 'b');
    expect(autoApprove(t.home, { contents: ['two'], cwd: work }).name).toBe('auto_approval');
    expect(autoApprove(t.home, { contents: ['two'], cwd: work }).name).toBe('auto_approval_1');
  });

  it('object names: slashes, `.`/`..`, control characters and over-long names are refused; quotes and unicode are fine', () => {
    w('main.py', 'm\n');
    for (const bad of ['a/b', '..', '.', 'x\ny', 'tab\there', 'e\x1b[0m', 'a\\b', 'x'.repeat(256), '__proto__']) {
      expect(errorOf(() => autoApprove(t.home, { contents: ['main.py'], cwd: work, name: bad }))).toMatch(/^Invalid auto-approval object name /);
    }
    expect(fs.existsSync(t.home.autoApprovals)).toBe(false);
    for (const ok of [`it's "quoted"`, 'données 数据 😀', 'on', '123', 'null']) {
      const r = autoApprove(t.home, { contents: ['main.py'], cwd: work, name: ok });
      expect(r.name).toBe(ok);
      expect(fs.existsSync(path.join(storedDir(ok), 'main.py'))).toBe(true);
    }
    expect([...objects().keys()]).toEqual([`it's "quoted"`, 'données 数据 😀', 'on', '123', 'null']);
    // And the file is still valid YAML for the config loader (names are strings, not booleans/ints/null).
    expect(Object.keys(loadConfig(t.home).config.approve.auto_approvals.objects).sort()).toEqual(['123', `it's "quoted"`, 'données 数据 😀', 'null', 'on'].sort());
  });

  it('a file whose name cannot be an object name falls back to auto_approval', () => {
    w('weird\nname.py', 'x');
    expect(autoApprove(t.home, { contents: ['weird\nname.py'], cwd: work }).name).toBe('auto_approval');
  });

  it('an orphaned stored-copy folder of the same name is cleared on creation', () => {
    writeFile(path.join(storedDir('main'), 'stale.py'), 'old');
    w('main.py', 'm\n');
    autoApprove(t.home, { contents: ['main.py'], cwd: work });
    expect(fs.readdirSync(storedDir('main'))).toEqual(['main.py']);
  });

  it('file/directory clashes inside one object are refused before anything is written', () => {
    w('x/a', 'file');
    w('y/a/b', 'nested');
    autoApprove(t.home, { contents: ['x/a'], cwd: work, name: 'clash' });
    const before = read(t.home.config);
    expect(errorOf(() => autoApprove(t.home, { contents: ['y'], cwd: work, name: 'clash' }))).toBe("Cannot store 'a' as both a file and a directory in auto-approval object 'clash'");
    expect(read(t.home.config)).toBe(before);
  });

  it('comments and unrelated settings in config.yaml survive', () => {
    write(t.home.config, fixture('hand-edited.yaml'));
    w('main.py', 'm\n');
    autoApprove(t.home, { contents: ['main.py'], cwd: work, peers: ['on'] });
    const out = read(t.home.config);
    expect(out).toContain('# My syft-bg config.');
    expect(out).toContain('  interval: 5    # seconds\n');
    expect(out).toContain('# trailing comment at the end');
    expect(out).toContain("        - 'on'");
    expect(get('main').peers).toEqual(['on']);
  });

  it('an invalid config.yaml is reported before anything is written', () => {
    write(t.home.config, 'notify:\n  interval: -1\n');
    w('main.py', 'm\n');
    expect(() => autoApprove(t.home, { contents: ['main.py'], cwd: work })).toThrow(/interval/);
    expect(fs.existsSync(t.home.autoApprovals)).toBe(false);
  });

  it('run.sh hashes and allowed dependencies are stored (normalised) and merged', () => {
    w('main.py', 'm\n');
    const h = 'A'.repeat(64);
    const r = autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'x', runShHashes: [h], allowedDependencies: ['numpy'] });
    expect(r.object.run_sh_hashes).toEqual([`sha256:${'a'.repeat(64)}`]);
    expect(r.lines).toEqual(['Auto-approval object: x', '  main.py', 'Peers: (any)', 'Allowed dependencies: numpy', `Allowed run.sh: sha256:${'a'.repeat(64)}`]);
    const r2 = autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'x', allowedDependencies: ['pandas', 'numpy'] });
    expect(r2.object.allowed_dependencies).toEqual(['numpy', 'pandas']);
    expect(get('x')).toMatchObject({ allowed_dependencies: ['numpy', 'pandas'], run_sh_hashes: [`sha256:${'a'.repeat(64)}`] });
    expect(errorOf(() => autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'x', runShHashes: ['sha256:abc'] }))).toMatch(/^Invalid run\.sh hash/);
  });
});

describe('pure helpers', () => {
  it('uniqueName / defaultObjectName', () => {
    expect(uniqueName('a', () => false)).toBe('a');
    const taken = new Set(['a', 'a_1']);
    expect(uniqueName('a', (n) => taken.has(n))).toBe('a_2');
    expect(defaultObjectName(['sub/main.py'])).toBe('main');
    expect(defaultObjectName(['a.tar.gz'])).toBe('a.tar');
    expect(defaultObjectName(['.bashrc'])).toBe('.bashrc');
    expect(defaultObjectName([])).toBe('auto_approval');
    expect(defaultObjectName(['a', 'b'])).toBe('auto_approval');
  });

  it('mergeObject keeps unknown entry keys and positions', () => {
    const cur = { file_contents: [{ relative_path: 'a', path: '/p/a', hash: 'h1', note: 'kept' } as never, { relative_path: 'b', path: '/p/b', hash: 'h2' }], file_paths: ['c'], peers: [] };
    const { object, dropped } = mergeObject(cur, { entries: [{ relative_path: 'b', path: '/p/b', hash: 'h3' }, { relative_path: 'c', path: '/p/c', hash: 'h4' }], filePaths: [] });
    expect(object.file_contents).toEqual([{ relative_path: 'a', path: '/p/a', hash: 'h1', note: 'kept' }, { relative_path: 'b', path: '/p/b', hash: 'h3' }, { relative_path: 'c', path: '/p/c', hash: 'h4' }]);
    expect(object.file_paths).toEqual([]);
    expect(dropped).toEqual([{ relative_path: 'b', path: '/p/b', hash: 'h2' }]);
    expect(() => checkStorable('n', { file_contents: [{ relative_path: 'a', path: '', hash: '' }, { relative_path: 'a/b', path: '', hash: '' }], file_paths: [], peers: [] })).toThrow(
      "Cannot store 'a' as both a file and a directory in auto-approval object 'n'",
    );
  });

  it('routeJobFiles: the §5.3 table and its errors', () => {
    const files = ['main.py', 'params.json', 'utils.py'];
    expect(routeJobFiles(files)).toEqual({ contents: ['main.py', 'utils.py'], filePaths: ['params.json'] });
    expect(routeJobFiles(['main.py'])).toEqual({ contents: ['main.py'], filePaths: [] });
    expect(routeJobFiles(files, ['main.py'])).toEqual({ contents: ['main.py'], filePaths: [] });
    expect(routeJobFiles(files, undefined, ['utils.py'])).toEqual({ contents: ['main.py', 'params.json'], filePaths: ['utils.py'] });
    expect(routeJobFiles(files, ['./main.py'], ['params.json'])).toEqual({ contents: ['main.py'], filePaths: ['params.json'] });
    expect(errorOf(() => routeJobFiles([]))).toBe('No user files found in job');
    expect(errorOf(() => routeJobFiles(files, ['nope.py']))).toBe("File 'nope.py' not found in job");
    expect(errorOf(() => routeJobFiles(files, ['main.py', 'utils.py'], ['utils.py', 'main.py']))).toBe("Overlap between contents and file_paths: {'main.py', 'utils.py'}");
  });

  it('formatObjectList: the reference layout (padding 30 code points)', () => {
    const objs = new Map<string, ApprovalObject>([
      ['analysis', { file_contents: [{ relative_path: 'main.py', path: '/p', hash: 'sha256:abc' }], file_paths: ['params.json'], peers: ['alice@uni.edu', 'bob@co.com'] }],
      ['empty', { file_contents: [], file_paths: [], peers: [] }],
    ]);
    expect(formatObjectList(objs)).toEqual([
      '',
      '[analysis]',
      '  File contents:',
      `    ${'main.py'.padEnd(30)} sha256:abc`,
      '  Allowed files: params.json',
      '  Peers: alice@uni.edu, bob@co.com',
      '',
      '[empty]',
      '  File contents: (none)',
      '  Peers: (any)',
      '',
    ]);
  });
});

describe('listAutoApprovals', () => {
  it('-n filters; unknown name is an error; Node-only keys are shown', () => {
    w('main.py', 'm\n');
    autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'a', allowedDependencies: ['numpy'] });
    autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'b' });
    const r = listAutoApprovals(t.home, { name: 'a' });
    expect([...r.objects.keys()]).toEqual(['a']);
    expect(r.lines).toContain('  Allowed dependencies: numpy');
    expect(errorOf(() => listAutoApprovals(t.home, { name: 'zzz' }))).toBe("Auto-approval object 'zzz' not found.");
  });

  it('malformed Node-only keys make the object invalid (shown, and it approves nothing)', () => {
    write(
      t.home.config,
      'approve:\n  auto_approvals:\n    objects:\n      x:\n        file_contents:\n        - {relative_path: a.py, path: /p/a.py, hash: sha256:' +
        'a'.repeat(64) +
        ', binary: "yes"}\n        run_sh_hashes: [sha256:short]\n',
    );
    const o = get('x');
    expect(o.invalid).toBe('file_contents[0].binary must be true or false; run_sh_hashes must be full "sha256:" + 64 hex digits (got "sha256:short")');
    expect(listAutoApprovals(t.home).lines).toContain(`  Invalid: ${o.invalid} (this object approves nothing)`);
  });

  it('objects come back in file order, integer-like names included', () => {
    write(t.home.config, 'approve:\n  auto_approvals:\n    objects:\n      zeta: {}\n      "10": {}\n      alpha: {}\n      "2": {}\n');
    expect([...objects().keys()]).toEqual(['zeta', '10', 'alpha', '2']);
  });
});

describe('removeFiles (remove-auto-approval)', () => {
  beforeEach(() => {
    w('p/main.py', 'm\n');
    w('p/utils.py', 'u\n');
    autoApprove(t.home, { contents: ['p'], cwd: work, name: 'my_analysis', filePaths: ['params.json'] });
  });

  it('removes entries by relative path (also name-only ones); stored copies kept unless asked', () => {
    const r = removeFiles(t.home, 'my_analysis', ['./utils.py', 'params.json', 'nope.py']);
    expect(r.lines).toEqual(["Removed 2 script(s) from 'my_analysis'."]);
    expect(get('my_analysis')).toMatchObject({ file_paths: [] });
    expect(get('my_analysis').file_contents.map((e) => e.relative_path)).toEqual(['main.py']);
    expect(fs.existsSync(path.join(storedDir('my_analysis'), 'utils.py'))).toBe(true);
    removeFiles(t.home, 'my_analysis', ['main.py'], { deleteStoredCopies: true });
    expect(fs.existsSync(path.join(storedDir('my_analysis'), 'main.py'))).toBe(false);
  });

  it('0 removed is a success; the object stays even when empty, with a note', () => {
    const before = read(t.home.config);
    expect(removeFiles(t.home, 'my_analysis', ['nope.py']).lines).toEqual(["Removed 0 script(s) from 'my_analysis'."]);
    expect(read(t.home.config)).toBe(before);
    const r = removeFiles(t.home, 'my_analysis', ['main.py', 'utils.py', 'params.json']);
    expect(r.lines).toEqual(["Removed 3 script(s) from 'my_analysis'.", "'my_analysis' has no files left: it matches no job until files are added."]);
    expect(get('my_analysis')).toEqual({ file_contents: [], file_paths: [], peers: [] });
  });

  it('unknown object', () => {
    expect(errorOf(() => removeFiles(t.home, 'nope', ['main.py']))).toBe("Auto-approval object 'nope' not found in config.");
  });
});

describe('removePeer', () => {
  beforeEach(() => {
    w('main.py', 'm\n');
    autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'both', peers: ['alice@uni.edu', 'bob@co.com'] });
    autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'bobonly', peers: ['bob@co.com'] });
    autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'alice', peers: ['alice@uni.edu'] });
  });

  it('removes the peer from every object that lists it', () => {
    const r = removePeer(t.home, 'alice@uni.edu', { name: 'both' });
    expect(r.lines).toEqual(['Removed peer alice@uni.edu from 1 object(s).']);
    expect(get('both').peers).toEqual(['bob@co.com']);
    expect(get('alice').peers).toEqual(['alice@uni.edu']);
  });

  it('FIX: removing the last peer (widening to any peer) is refused, nothing changes', () => {
    const before = read(t.home.config);
    expect(errorOf(() => removePeer(t.home, 'bob@co.com'))).toBe(
      "Refusing to remove peer bob@co.com: it is the only peer of 'bobonly', and an auto-approval object without peers approves jobs from ANY peer. " +
        'Remove the object instead, add another peer first, or explicitly allow the object to match any peer.',
    );
    expect(read(t.home.config)).toBe(before);
  });

  it('…unless explicitly allowed, with a warning', () => {
    const r = removePeer(t.home, 'bob@co.com', { allowWidening: true });
    expect(r.lines).toEqual(['Removed peer bob@co.com from 2 object(s).', "Warning: 'bobonly' has no peers left: it now matches jobs from any peer."]);
    expect(r.widened).toEqual(['bobonly']);
    expect(get('bobonly').peers).toEqual([]);
  });

  it('errors: unknown object, peer not found (exact, case-sensitive)', () => {
    expect(errorOf(() => removePeer(t.home, 'alice@uni.edu', { name: 'nope' }))).toBe("Auto-approval object 'nope' not found.");
    expect(errorOf(() => removePeer(t.home, 'ALICE@uni.edu'))).toBe('Peer ALICE@uni.edu not found in any auto-approval object.');
    expect(errorOf(() => removePeer(t.home, 'alice@uni.edu', { name: 'bobonly' }))).toBe('Peer alice@uni.edu not found in any auto-approval object.');
  });
});

describe('removeObject', () => {
  it('deleteStoredCopies: false keeps the folder; names are never used as paths outside auto_approvals/', () => {
    w('main.py', 'm\n');
    autoApprove(t.home, { contents: ['main.py'], cwd: work, name: 'keep' });
    removeObject(t.home, 'keep', { deleteStoredCopies: false });
    expect(fs.existsSync(storedDir('keep'))).toBe(true);
    // An entry path pointing elsewhere (hand-edited) is never deleted.
    const outside = w('precious.txt', 'keep me');
    seed({ evil: { file_contents: [{ relative_path: 'x', path: outside, hash: 'sha256:' + 'a'.repeat(64) }], file_paths: [], peers: [] } });
    removeObject(t.home, 'evil');
    expect(fs.existsSync(outside)).toBe(true);
  });
});

describe('autoApproveJob (§5.3)', () => {
  const mainPy = 'import json\nprint(json.load(open("params.json")))\n';

  it('default: every file by content except params.json by name, the submitter as peer, the job name as name', () => {
    const { codeDir } = writeJob(work, 'analysis', { files: { 'main.py': mainPy, 'params.json': '{"n": 1}', 'lib/util.py': 'u\n' } });
    const r = autoApproveJob(t.home, { name: 'analysis', submitter: 'ds@example.org', codeDir });
    expect(r.name).toBe('analysis');
    expect(r.object).toMatchObject({ file_paths: ['params.json'], peers: ['ds@example.org'] });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['lib/util.py', 'main.py']);
    expect(r.object).not.toHaveProperty('allowed_dependencies');
    // …and it approves that job, and a resubmission with other params.
    const job = { codeDir, status: 'pending', submitter: 'ds@example.org' };
    expect(evaluateJobOnDisk(t.home, job, { expectedRunSh: pythonRunSh }).verdict).toMatchObject({ approved: true, object: 'analysis' });
    fs.writeFileSync(path.join(codeDir, 'params.json'), '{"n": 2}');
    expect(evaluateJobOnDisk(t.home, job, { expectedRunSh: pythonRunSh }).verdict.approved).toBe(true);
    fs.writeFileSync(path.join(codeDir, 'main.py'), 'import os\n');
    expect(evaluateJobOnDisk(t.home, job, { expectedRunSh: pythonRunSh }).verdict.approved).toBe(false);
    expect(evaluateJobOnDisk(t.home, { ...job, submitter: 'eve@example.org' }, { expectedRunSh: pythonRunSh }).verdict.reason).toBe(
      'no auto-approval objects match peer: eve@example.org',
    );
  });

  it('the job name taken: _1 (the earlier approval stays); an explicit existing name is updated', () => {
    const { codeDir } = writeJob(work, 'analysis', { files: { 'main.py': mainPy } });
    const job = { name: 'analysis', submitter: 'ds@example.org', codeDir };
    expect(autoApproveJob(t.home, job).name).toBe('analysis');
    expect(autoApproveJob(t.home, job).name).toBe('analysis_1');
    const upd = autoApproveJob(t.home, job, { name: 'analysis', peers: ['other@x.org'] });
    expect(upd.created).toBe(false);
    expect(upd.object.peers).toEqual(['ds@example.org', 'other@x.org']);
  });

  it('contents / file_paths options and their errors', () => {
    const { codeDir } = writeJob(work, 'j', { files: { 'main.py': 'm', 'utils.py': 'u', 'params.json': '{}' } });
    const job = { name: 'j', submitter: 'ds@x', codeDir };
    expect(autoApproveJob(t.home, job, { contents: ['main.py'], name: 'only' }).object).toMatchObject({ file_paths: [] });
    expect(autoApproveJob(t.home, job, { filePaths: ['utils.py'], name: 'fp' }).object.file_contents.map((e) => e.relative_path)).toEqual(['main.py', 'params.json']);
    expect(errorOf(() => autoApproveJob(t.home, job, { contents: ['nope.py'] }))).toBe("File 'nope.py' not found in job");
    expect(errorOf(() => autoApproveJob(t.home, job, { contents: ['main.py'], filePaths: ['main.py'] }))).toBe("Overlap between contents and file_paths: {'main.py'}");
    const empty = writeJob(work, 'empty', { files: {} });
    expect(errorOf(() => autoApproveJob(t.home, { ...job, codeDir: empty.codeDir }))).toBe('No user files found in job');
  });

  it('leaves out syft.pub.yaml, .venv/, outputs/ and __pycache__/ (at any depth) left by running the job', () => {
    const { codeDir } = writeJob(work, 'ran', {
      files: {
        'main.py': 'm',
        'syft.pub.yaml': 'rules: []',
        '.venv/bin/python': 'x',
        'outputs/result.json': '{}',
        '__pycache__/main.cpython-312.pyc': 'c',
        'pkg/__pycache__/mod.cpython-312.pyc': 'c',
        'pkg/mod.py': 'p',
        'pkg/outputs/keep.txt': 'nested outputs/ is user data',
      },
    });
    fs.symlinkSync('/usr/bin/python3', path.join(codeDir, '.venv', 'bin', 'python3'));
    const r = autoApproveJob(t.home, { name: 'ran', submitter: 'ds@x', codeDir });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['main.py', 'pkg/mod.py', 'pkg/outputs/keep.txt']);
  });

  it('excluded folders are not even read (a large .venv/ does not hit the size limits)', () => {
    const { codeDir } = writeJob(work, 'big', { files: { 'main.py': 'm', '.venv/lib/big.so': Buffer.alloc(4096), 'outputs/big.csv': Buffer.alloc(4096) } });
    const r = autoApproveJob(t.home, { name: 'big', submitter: 'ds@x', codeDir }, { limits: { maxTotalBytes: 1024 } });
    expect(r.object.file_contents.map((e) => e.relative_path)).toEqual(['main.py']);
  });

  it('symlinks in the job are refused, not followed', () => {
    const { codeDir } = writeJob(work, 'j', { files: { 'main.py': 'm' } });
    fs.symlinkSync(path.join(t.userHome, '.syft-bg', 'config.yaml'), path.join(codeDir, 'data.txt'));
    expect(errorOf(() => autoApproveJob(t.home, { name: 'j', submitter: 'ds@x', codeDir }))).toBe("File 'data.txt' in job 'j' is a symbolic link; refusing to approve it");
    expect(fs.existsSync(t.home.autoApprovals)).toBe(false);
  });

  it('records the job\'s dependencies beyond syft-client, so the object accepts the job it was made from', () => {
    const cfg = pythonConfig('deps', ['main.py'], { dependencies: [SYFT, 'numpy==2.1.0'] });
    const { codeDir } = writeJob(work, 'deps', { files: { 'main.py': 'm' }, config: cfg });
    const r = autoApproveJob(t.home, { name: 'deps', submitter: 'ds@x', codeDir });
    expect(r.object.allowed_dependencies).toEqual(['numpy==2.1.0']);
    expect(get('deps').allowed_dependencies).toEqual(['numpy==2.1.0']);
    expect(evaluateJobOnDisk(t.home, { codeDir, status: 'pending', submitter: 'ds@x' }, { expectedRunSh: pythonRunSh }).verdict.approved).toBe(true);
  });

  it('never-allowed dependencies are not recorded, with a warning', () => {
    const cfg = pythonConfig('d', ['main.py'], { dependencies: [SYFT, '--index-url=https://evil.example', 'numpy'] });
    const { codeDir } = writeJob(work, 'd', { files: { 'main.py': 'm' }, config: cfg });
    const r = autoApproveJob(t.home, { name: 'd', submitter: 'ds@x', codeDir });
    expect(r.object.allowed_dependencies).toEqual(['numpy']);
    expect(r.lines[r.lines.length - 1]).toBe(
      "Warning: dependency '--index-url=https://evil.example' is never allowed (an installer option or shell metacharacters); jobs listing it are not auto-approved.",
    );
  });

  it('a bash job: script.sh by content; the object approves the job (run.sh = script.sh)', () => {
    const script = 'cd code\necho hi\n';
    const { codeDir } = writeJob(work, 'b', { files: { 'script.sh': script }, config: { type: 'bash', entrypoint: null, dependencies: [], files: ['script.sh'], name: 'b' }, runSh: script });
    autoApproveJob(t.home, { name: 'b', submitter: 'ds@x', codeDir });
    expect(evaluateJobOnDisk(t.home, { codeDir, status: 'pending', submitter: 'ds@x' }, { expectedRunSh: pythonRunSh }).verdict).toMatchObject({ approved: true, object: 'b' });
  });

  it('recordRunSh pins the job\'s run.sh by hash', () => {
    const custom = '#!/bin/bash\ncd code && python main.py\n';
    const { codeDir } = writeJob(work, 'custom', { files: { 'main.py': 'm' }, runSh: custom });
    const job = { codeDir, status: 'pending', submitter: 'ds@x' };
    autoApproveJob(t.home, { name: 'custom', submitter: 'ds@x', codeDir });
    expect(evaluateJobOnDisk(t.home, job, { expectedRunSh: pythonRunSh }).verdict.approved).toBe(false);
    const r = autoApproveJob(t.home, { name: 'custom', submitter: 'ds@x', codeDir }, { name: 'custom', recordRunSh: true });
    expect(r.object.run_sh_hashes).toEqual([sha(custom)]);
    expect(evaluateJobOnDisk(t.home, job, { expectedRunSh: pythonRunSh }).verdict.approved).toBe(true);
  });

  it('stores the bytes it read (binary files included)', () => {
    const bin = Buffer.from([0, 255, 13, 10]);
    const { codeDir } = writeJob(work, 'b', { files: { 'main.py': 'm', 'w.bin': bin } });
    const r = autoApproveJob(t.home, { name: 'b', submitter: 'ds@x', codeDir });
    expect(r.object.file_contents.find((e) => e.relative_path === 'w.bin')).toMatchObject({ binary: true, hash: sha(bin) });
    expect(fs.readFileSync(path.join(storedDir('b'), 'w.bin'))).toEqual(bin);
  });

  it('a job name that cannot be a folder name falls back to auto_approval', () => {
    const { codeDir } = writeJob(work, 'j', { files: { 'main.py': 'm' } });
    expect(autoApproveJob(t.home, { name: 'a/b', submitter: 'ds@x', codeDir }).name).toBe('auto_approval');
    expect(autoApproveJob(t.home, { name: 'Job - 1a2b3c4d', submitter: 'ds@x', codeDir }).name).toBe('Job - 1a2b3c4d');
  });
});
