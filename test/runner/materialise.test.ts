import * as fs from 'node:fs';
import * as path from 'node:path';
import { snapshotJob } from '../../lib/approval/snapshot';
import type { JobSnapshot, SnapshotFile } from '../../lib/approval/types';
import { runJob, snapshotProblems } from '../../lib/runner';
import { configYamlBytes, materialise, unsafeRelPath } from '../../lib/runner/materialise';
import { approvedJob, DS, exists, read, request, snap, tempDir, tree } from './helpers';

const file = (rel: string, text = 'x'): SnapshotFile => ({ rel, kind: 'file', bytes: Buffer.from(text) });
const base = (files: SnapshotFile[]): JobSnapshot => ({
  status: 'approved',
  submitter: DS,
  files,
  runSh: { kind: 'file', bytes: Buffer.from('echo hi\n') },
  config: { kind: 'parsed', value: { name: 'j', type: 'bash' } },
});

const HOSTILE = ['../escape.txt', '../../escape.txt', '/tmp/abs-escape.txt', 'a/../../escape.txt', 'a/./b', 'a//b', '', 'a/', '..', '.', 'a\\..\\b', 'nul\0x'];

describe('unsafeRelPath', () => {
  it.each(HOSTILE)('refuses %j', (rel) => {
    expect(unsafeRelPath(rel)).toBeDefined();
  });
  it.each(['main.py', 'a/b/c.txt', '..hidden', 'x..y', '.env', 'dir with space/f', 'ü/ö'])('accepts %j', (rel) => {
    expect(unsafeRelPath(rel)).toBeUndefined();
  });
});

describe('materialise', () => {
  it('writes run.sh, config.yaml and code/ into a fresh 0700 run dir, and creates code/outputs', () => {
    const dir = path.join(tempDir(), 'runs', DS, 'j-1');
    const m = materialise(base([file('main.py', 'print(1)\n'), file('pkg/deep/mod.py', 'y\n')]), dir);
    expect(m.runDir).toBe(dir);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(tree(dir)).toEqual({
      'code/': '',
      'code/main.py': 'print(1)\n',
      'code/outputs/': '',
      'code/pkg/': '',
      'code/pkg/deep/': '',
      'code/pkg/deep/mod.py': 'y\n',
      'config.yaml': 'name: j\ntype: bash\n',
      'run.sh': 'echo hi\n',
    });
  });

  it('config.yaml written again is byte-identical to the one syft-job wrote (golden fixture)', () => {
    const job = approvedJob('echo hi\n');
    expect(configYamlBytes(snap(job))?.toString('utf8')).toBe(read(job.paths.config));
    const fixture = path.resolve(__dirname, '..', 'fixtures', 'datasite', 'syftbox-do-example', 'do@example.com', 'app_data', 'job', 'inbox', DS);
    for (const j of ['analysis-approved', 'bash-done']) {
      const s = snapshotJob(path.join(fixture, j, 'code'), { status: 'approved', submitter: DS });
      expect(configYamlBytes(s)?.toString('utf8')).toBe(fs.readFileSync(path.join(fixture, j, 'config.yaml'), 'utf8'));
    }
  });

  it.each(HOSTILE)('refuses a snapshot holding %j and writes nothing anywhere', (rel) => {
    const parent = tempDir();
    const dir = path.join(parent, 'runs', 'r');
    expect(() => materialise(base([file('ok.txt'), file(rel, 'pwned')]), dir)).toThrow();
    expect(exists(dir)).toBe(false);
    expect(exists('/tmp/abs-escape.txt')).toBe(false);
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('refuses symlinks, unreadable entries, missing run.sh, duplicate and file/dir clashes, snapshot problems', () => {
    expect(snapshotProblems(base([{ rel: 'link', kind: 'symlink', target: '/etc/passwd' }]))).toEqual([expect.stringMatching(/link .*symlink/)]);
    expect(snapshotProblems(base([{ rel: 'big', kind: 'tooLarge', size: 10, limit: 1 }]))).toHaveLength(1);
    expect(snapshotProblems({ ...base([]), runSh: { kind: 'missing' } })).toEqual([expect.stringMatching(/run\.sh/)]);
    expect(snapshotProblems(base([file('a'), file('a')]))).toEqual([expect.stringMatching(/twice/)]);
    expect(snapshotProblems(base([file('a'), file('a/b')]))).toEqual([expect.stringMatching(/both a file and a directory/)]);
    expect(snapshotProblems(base([file('outputs')]))).toEqual([expect.stringMatching(/outputs/)]);
    expect(snapshotProblems({ ...base([]), problems: ['code/ is a symbolic link'] })).toEqual(['code/ is a symbolic link']);
    expect(snapshotProblems(base([file('a/b'), file('c')]))).toEqual([]);
  });
});

describe('runJob with a hostile snapshot', () => {
  it.each(['../../../../escape.txt', '/tmp/abs-escape.txt', 'a/../../../escape.txt'])('%j: not run, the job stays approved, nothing escapes', async (rel) => {
    const job = approvedJob('echo should-not-run\n');
    const s = snap(job);
    const req = request(job, { snapshot: { ...s, files: [...s.files, file(rel, 'pwned')] } });
    const r = await runJob(req);
    expect(r).toMatchObject({ status: 'not-run', code: 'invalid-snapshot' });
    expect(read(job.paths.state)).toBe(job.stateText);
    expect(exists(job.paths.stdout)).toBe(false);
    expect(exists(req.runDir)).toBe(false);
    expect(exists('/tmp/abs-escape.txt')).toBe(false);
    for (let d = path.dirname(req.runDir); d !== path.dirname(d); d = path.dirname(d)) expect(exists(path.join(d, 'escape.txt'))).toBe(false);
  });

  it('a snapshot of another submitter is refused', async () => {
    const job = approvedJob('echo hi\n');
    const r = await runJob(request(job, { snapshot: { ...snap(job), submitter: 'other@x.org' } }));
    expect(r).toMatchObject({ status: 'not-run', code: 'invalid-snapshot' });
  });
});
