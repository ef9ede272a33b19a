import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJobConfig, readFileNoFollow, snapshotJob, storedCopyReader } from '../../lib/approval/snapshot';
import type { JobSnapshot } from '../../lib/approval/types';
import { validateJob } from '../../lib/approval/validate';
import { ctx, obj, pythonConfig, tempDir, writeFile, writeJob } from './helpers';

let t: ReturnType<typeof tempDir>;
beforeEach(() => (t = tempDir()));
afterEach(() => t.cleanup());

describe('snapshotJob', () => {
  it('reads code/ recursively (sorted by path), run.sh and config.yaml once', () => {
    const { codeDir } = writeJob(t.dir, 'j', { files: { 'b.py': 'b', 'a/z.py': 'z', 'a.txt': 't', 'a/b/c.py': 'c' } });
    fs.mkdirSync(path.join(codeDir, 'emptydir'));
    const s = snapshotJob(codeDir, { status: 'pending', submitter: 'ds@x' });
    expect(s.files.map((f) => f.rel)).toEqual(['a.txt', 'a/b/c.py', 'a/z.py', 'b.py']);
    expect(s.files.every((f) => f.kind === 'file')).toBe(true);
    expect(s.runSh.kind).toBe('file');
    expect(s.config).toMatchObject({ kind: 'parsed', value: { type: 'python', name: 'j' } });
    expect(s).not.toHaveProperty('problems');
  });

  it('run.sh that is a directory is "not a regular file"', () => {
    const { codeDir, jobDir } = writeJob(t.dir, 'j', { files: { 'main.py': 'm' }, runSh: null });
    fs.mkdirSync(path.join(jobDir, 'run.sh'));
    const s = snapshotJob(codeDir, { status: 'pending', submitter: 'ds@x' });
    expect(s.runSh).toEqual({ kind: 'special', what: 'a directory' });
    expect(validateJob(s, ctx({ o: obj([]) })).reason).toBe('not a regular file: run.sh (a directory)');
  });

  it('custom config parser (e.g. the datasite library\'s PyYAML loader) is used when given', () => {
    const { codeDir } = writeJob(t.dir, 'j', { files: { 'main.py': 'm' } });
    const s = snapshotJob(codeDir, { status: 'pending', submitter: 'ds@x' }, { parseConfig: () => ({ kind: 'invalid', error: 'custom' }) });
    expect(s.config).toEqual({ kind: 'invalid', error: 'custom' });
  });

  it('an unreadable file in a hand-built snapshot: could not read file', () => {
    const s: JobSnapshot = {
      status: 'pending',
      submitter: 'ds@x',
      files: [{ rel: 'main.py', kind: 'unreadable', error: 'EACCES' }],
      runSh: { kind: 'file', bytes: Buffer.from('x') },
      config: { kind: 'parsed', value: pythonConfig('j', ['main.py']) },
    };
    expect(validateJob(s, ctx({ o: obj([]) })).reason).toBe('could not read file: main.py');
  });
});

describe('readFileNoFollow', () => {
  it('missing, symlink (with target), file, size limit while reading', () => {
    expect(readFileNoFollow(path.join(t.dir, 'nope'), 10)).toEqual({ kind: 'missing' });
    const f = writeFile(path.join(t.dir, 'f'), 'hello');
    fs.symlinkSync(f, path.join(t.dir, 'l'));
    expect(readFileNoFollow(path.join(t.dir, 'l'), 10)).toEqual({ kind: 'symlink', target: f });
    const r = readFileNoFollow(f, 10);
    expect(r.kind === 'file' && Buffer.from(r.bytes).toString()).toBe('hello');
    expect(readFileNoFollow(f, 4)).toEqual({ kind: 'tooLarge', size: 5, limit: 4 });
    expect(readFileNoFollow(path.join(f, 'under-a-file'), 10)).toEqual({ kind: 'missing' });
  });
});

describe('storedCopyReader', () => {
  it('reads once per path, refuses relative paths and symlinks', () => {
    const f = writeFile(path.join(t.dir, 'stored.py'), 'v1');
    const read = storedCopyReader();
    expect(Buffer.from(read(f) as Uint8Array).toString()).toBe('v1');
    fs.writeFileSync(f, 'v2');
    expect(Buffer.from(read(f) as Uint8Array).toString()).toBe('v1');
    expect(Buffer.from(storedCopyReader()(f) as Uint8Array).toString()).toBe('v2');
    expect(read('relative.py')).toBeUndefined();
    fs.symlinkSync(f, path.join(t.dir, 'link.py'));
    expect(read(path.join(t.dir, 'link.py'))).toBeUndefined();
  });
});

describe('parseJobConfig', () => {
  it('YAML 1.1 mapping; errors for non-UTF-8, syntax, non-mappings, duplicate keys', () => {
    expect(parseJobConfig(Buffer.from("name: x\nsubmitted_at: '2026-11-25T18:46:23.644926Z'\n"))).toEqual({
      kind: 'parsed',
      value: { name: 'x', submitted_at: '2026-11-25T18:46:23.644926Z' },
    });
    expect(parseJobConfig(Buffer.from([0xff]))).toEqual({ kind: 'invalid', error: 'not UTF-8 text' });
    expect(parseJobConfig(Buffer.from('a: [\n')).kind).toBe('invalid');
    expect(parseJobConfig(Buffer.from('just a string\n'))).toEqual({ kind: 'invalid', error: 'expected a mapping' });
    expect(parseJobConfig(Buffer.from('type: python\ntype: bash\n')).kind).toBe('invalid');
  });
});
