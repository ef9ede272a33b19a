import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../../lib/datasite/config';
import { readCapped } from '../../lib/datasite/fsread';
import { createState, listJobs, readJob, readRunSh, replaceState, submissionEntries } from '../../lib/datasite/jobs';
import { InvalidNameError, jobPaths } from '../../lib/datasite/paths';
import { emitState } from '../../lib/datasite/state';
import { clockAt } from '../../lib/datasite/time';
import { approve, receive } from '../../lib/datasite/transitions';
import { UserError } from '../../lib/errors';
import { copyExample, DO, DS, EXAMPLE, FIXTURE_JOBS, readFixture, tempDir, treeBytes } from './helpers';

const original = treeBytes(EXAMPLE);
afterAll(() => {
  // The golden fixture is read-only input: no test may have changed a byte of it.
  expect(treeBytes(EXAMPLE)).toEqual(original);
});

function jobDir(root: string, area: 'inbox' | 'review', ds: string, job: string): string {
  return path.join(root, DO, 'app_data', 'job', area, ds, job);
}

/** Write a complete python submission the way the Python DS does (config from the fixture, renamed). */
function submit(root: string, ds: string, name: string): string {
  const dir = jobDir(root, 'inbox', ds, name);
  fs.mkdirSync(path.join(dir, 'code'), { recursive: true });
  const cfg = readFixture('inbox', DS, 'analysis-pending', 'config.yaml').replace('name: analysis-pending', `name: ${JSON.stringify(name)}`);
  fs.writeFileSync(path.join(dir, 'config.yaml'), cfg);
  fs.writeFileSync(path.join(dir, 'run.sh'), readFixture('inbox', DS, 'analysis-pending', 'run.sh'));
  fs.writeFileSync(path.join(dir, 'code', 'main.py'), 'print(1)\n');
  return dir;
}

describe('listJobs on the golden datasite', () => {
  it('one job per fixture, typed, with paths and statuses', () => {
    const { jobs, problems } = listJobs(EXAMPLE, DO);
    expect(problems).toEqual([]);
    expect(jobs.map((j) => [j.key, j.status])).toEqual([
      [`${DS}/analysis-approved`, 'approved'],
      [`${DS}/analysis-failed`, 'failed'],
      [`${DS}/analysis-pending`, 'pending'],
      [`${DS}/analysis-rejected`, 'rejected'],
      [`${DS}/bash-done`, 'done'],
      [`${DS}/invalid-extra-file`, 'rejected'],
    ]);
    for (const j of jobs) {
      expect(j.problems).toEqual([]);
      expect(j.hasInbox).toBe(true);
      expect(j.config.kind).toBe('ok');
      expect(j.state.kind === 'ok' && j.state.text).toBe(readFixture('review', DS, j.id.name, 'state.yaml'));
      expect(j.paths).toEqual(jobPaths(EXAMPLE, DO, DS, j.id.name));
      expect(j.paths.runSh).toBe(path.join(EXAMPLE, DO, 'app_data', 'job', 'inbox', DS, j.id.name, 'run.sh'));
      expect(j.paths.state).toBe(path.join(EXAMPLE, DO, 'app_data', 'job', 'review', DS, j.id.name, 'state.yaml'));
    }
    const bash = jobs.find((j) => j.id.name === 'bash-done')!;
    expect(bash.config.kind === 'ok' && bash.config.value.type).toBe('bash');
    expect(readRunSh(bash.paths.runSh)).toMatchObject({ kind: 'ok', value: readFixture('inbox', DS, 'bash-done', 'run.sh') });
  });

  it('a job without state.yaml is received; a bad datasite name lists nothing', () => {
    const root = copyExample();
    fs.rmSync(jobDir(root, 'review', DS, 'analysis-pending'), { recursive: true });
    expect(readJob(root, DO, DS, 'analysis-pending')).toMatchObject({ status: 'received', state: { kind: 'missing' }, problems: [] });
    expect(listJobs(root, 'not an email')).toEqual({ jobs: [], problems: [expect.objectContaining({ code: 'bad-name' })] });
    expect(listJobs(root, 'nobody@example.com')).toEqual({ jobs: [], problems: [] });
  });
});

describe('hostile datasite content: typed problems, never a throw, never through a symlink', () => {
  it('odd job names are listed and read back', () => {
    const root = tempDir();
    const names = ["it's \"quoted\"", 'new\nline', 'ünïcödé 😀', 'Job - 1a2b3c4d', ' leading space', '-rf', '#hash', 'null'];
    for (const n of names) submit(root, DS, n);
    const { jobs, problems } = listJobs(root, DO);
    expect(problems).toEqual([]);
    expect(jobs.map((j) => j.id.name).sort()).toEqual([...names].sort());
    for (const j of jobs) {
      expect(j.problems).toEqual([]);
      expect(j.config.kind === 'ok' && j.config.value.name).toBe(j.id.name);
      expect(j.status).toBe('received');
    }
  });

  it('symlinks anywhere are reported and not followed', () => {
    const root = copyExample();
    const secret = path.join(tempDir(), 'secret.yaml');
    fs.writeFileSync(secret, 'name: stolen\nsubmitted_at: 2026-01-01\n');
    // config.yaml -> a file outside the job
    const cfg = path.join(jobDir(root, 'inbox', DS, 'analysis-pending'), 'config.yaml');
    fs.rmSync(cfg);
    fs.symlinkSync(secret, cfg);
    // state.yaml -> outside
    const st = path.join(jobDir(root, 'review', DS, 'analysis-approved'), 'state.yaml');
    fs.rmSync(st);
    fs.symlinkSync(secret, st);
    // a whole job directory -> outside
    const outside = path.join(tempDir(), 'job');
    fs.cpSync(jobDir(root, 'inbox', DS, 'bash-done'), outside, { recursive: true });
    fs.symlinkSync(outside, jobDir(root, 'inbox', DS, 'linked-job'));
    // a whole DS folder -> outside
    fs.symlinkSync(path.dirname(outside), path.join(root, DO, 'app_data', 'job', 'inbox', 'evil@x.org'));

    const { jobs, problems } = listJobs(root, DO);
    expect(problems.map((p) => [p.code, path.basename(p.path!)])).toEqual([
      ['symlink', 'evil@x.org'],
      ['symlink', 'linked-job'],
    ]);
    expect(jobs.map((j) => j.id.name)).not.toContain('linked-job');
    const pending = jobs.find((j) => j.id.name === 'analysis-pending')!;
    expect(pending.config).toEqual({ kind: 'problem', problem: expect.objectContaining({ code: 'symlink', path: cfg }) });
    const approved = jobs.find((j) => j.id.name === 'analysis-approved')!;
    expect(approved.status).toBeNull();
    expect(approved.problems).toEqual([expect.objectContaining({ code: 'symlink', path: st })]);
    // A symlinked review folder.
    fs.rmSync(jobDir(root, 'review', DS, 'bash-done'), { recursive: true });
    fs.symlinkSync(outside, jobDir(root, 'review', DS, 'bash-done'));
    expect(readJob(root, DO, DS, 'bash-done')).toMatchObject({ status: null, state: { kind: 'problem', problem: { code: 'symlink' } } });
    // And the datasite's own job tree.
    const root2 = tempDir();
    fs.mkdirSync(path.join(root2, DO, 'app_data'), { recursive: true });
    fs.symlinkSync(path.join(root, DO, 'app_data', 'job'), path.join(root2, DO, 'app_data', 'job'));
    expect(listJobs(root2, DO)).toEqual({ jobs: [], problems: [expect.objectContaining({ code: 'symlink' })] });
  });

  it('size caps, malformed YAML, empty and half-written files, non-UTF-8, FIFOs', () => {
    const root = copyExample();
    const inbox = (j: string, f: string) => path.join(jobDir(root, 'inbox', DS, j), f);
    const review = (j: string, f: string) => path.join(jobDir(root, 'review', DS, j), f);
    fs.writeFileSync(inbox('analysis-pending', 'config.yaml'), 'name: x\n' + '#'.repeat(1024 * 1024) + '\n');
    fs.writeFileSync(inbox('analysis-approved', 'config.yaml'), 'name: [unclosed\nother: 1\n: :\n');
    fs.writeFileSync(review('analysis-failed', 'state.yaml'), '');
    fs.writeFileSync(review('analysis-rejected', 'state.yaml'), readFixture('review', DS, 'analysis-rejected', 'state.yaml').slice(0, 100));
    fs.writeFileSync(inbox('bash-done', 'config.yaml'), Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    fs.rmSync(inbox('invalid-extra-file', 'config.yaml'));
    expect(spawnSync('mkfifo', [inbox('invalid-extra-file', 'config.yaml')]).status).toBe(0);

    const byName = Object.fromEntries(listJobs(root, DO).jobs.map((j) => [j.id.name, j]));
    const codeOf = (j: string, what: 'config' | 'state') => {
      const r = byName[j]![what];
      return r.kind === 'problem' ? r.problem.code : r.kind;
    };
    expect(codeOf('analysis-pending', 'config')).toBe('too-large');
    expect(codeOf('analysis-approved', 'config')).toBe('malformed');
    expect(codeOf('analysis-failed', 'state')).toBe('incomplete');
    expect(byName['analysis-failed']!.status).toBeNull();
    expect(codeOf('analysis-rejected', 'state')).toBe('incomplete');
    expect(codeOf('bash-done', 'config')).toBe('malformed');
    expect(codeOf('invalid-extra-file', 'config')).toBe('not-a-file');
    expect(byName['analysis-failed']!.state).toMatchObject({ problem: { retry: true } });
    expect(byName['analysis-pending']!.config).toMatchObject({ problem: { retry: false, message: expect.stringMatching(/limit for this file is 1048576/) } });
  });

  it('name mismatch, forbidden keys and orphan review folders are job problems', () => {
    const root = copyExample();
    const cfg = path.join(jobDir(root, 'inbox', DS, 'analysis-pending'), 'config.yaml');
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('name: analysis-pending', 'name: analysis-approved'));
    const cfg2 = path.join(jobDir(root, 'inbox', DS, 'analysis-failed'), 'config.yaml');
    fs.appendFileSync(cfg2, 'submitted_by: mallory@example.org\n');
    fs.mkdirSync(jobDir(root, 'review', DS, 'ghost'));
    fs.writeFileSync(path.join(jobDir(root, 'review', DS, 'ghost'), 'state.yaml'), readFixture('review', DS, 'analysis-pending', 'state.yaml'));
    const byName = Object.fromEntries(listJobs(root, DO).jobs.map((j) => [j.id.name, j]));
    expect(byName['analysis-pending']!.problems.map((p) => p.code)).toEqual(['name-mismatch']);
    expect(byName['analysis-failed']!.problems).toEqual([expect.objectContaining({ code: 'invalid', message: expect.stringMatching(/submitted_by/) })]);
    expect(byName.ghost).toMatchObject({ hasInbox: false, status: 'pending', config: { kind: 'missing' }, problems: [expect.objectContaining({ code: 'orphan-review' })] });
  });

  it('a directory still arriving (no config.yaml) is listed with config missing', () => {
    const root = tempDir();
    fs.mkdirSync(jobDir(root, 'inbox', DS, 'arriving'), { recursive: true });
    expect(listJobs(root, DO).jobs).toEqual([expect.objectContaining({ key: `${DS}/arriving`, config: { kind: 'missing' }, status: 'received', problems: [] })]);
  });

  it('names that cannot be path segments are refused before touching the disk', () => {
    for (const bad of ['', '.', '..', 'a/b', 'x\0y', 'é'.repeat(200)]) {
      expect(() => jobPaths('/r', DO, DS, bad)).toThrow(InvalidNameError);
      expect(() => readJob('/r', DO, bad, 'job')).toThrow(UserError);
    }
  });

  it('readCapped: a file that grows past the cap while read, and exact-cap files', () => {
    const dir = tempDir();
    const f = path.join(dir, 'f');
    fs.writeFileSync(f, 'x'.repeat(10));
    expect(readCapped(f, 10)).toMatchObject({ kind: 'ok', value: 'x'.repeat(10) });
    expect(readCapped(f, 9)).toMatchObject({ kind: 'problem', problem: { code: 'too-large' } });
    expect(readCapped(path.join(dir, 'nope'), 9)).toEqual({ kind: 'missing' });
    expect(readCapped(path.join(f, 'under-a-file'), 9)).toEqual({ kind: 'missing' });
    expect(readCapped(dir, 9)).toMatchObject({ kind: 'problem', problem: { code: 'not-a-file' } });
  });
});

describe('writing state.yaml: reception and approval on a copy of the fixture', () => {
  it('a new job: settle-free reception writes the pending state exclusively and atomically', () => {
    const root = copyExample();
    submit(root, DS, 'new job');
    const job = readJob(root, DO, DS, 'new job');
    expect(job.status).toBe('received');
    const r = receive(submissionEntries(job.paths), DO, clockAt('2026-11-25T19:00:00.123456Z'));
    expect(r.kind).toBe('pending');
    if (r.kind !== 'pending') return;
    const w = createState(root, job.id, r.state);
    expect(w).toEqual({ written: true, text: emitState(r.state) });
    expect(fs.readFileSync(job.paths.state, 'utf8')).toBe(
      'approval_method: null\napproved_at: null\napproved_by: null\ncompleted_at: null\n' +
        "received_at: '2026-11-25T19:00:00.123456Z'\nrejected_at: null\nrejected_by: null\nreturn_code: null\nreview_reason: null\nstatus: pending\n",
    );
    expect(fs.readdirSync(job.paths.reviewDir)).toEqual(['state.yaml']);
    // A second reception (another process was first) does not overwrite.
    const again = createState(root, job.id, { ...r.state, status: 'rejected' });
    expect(again).toEqual({ written: false, reason: 'exists', current: w.written ? w.text : '' });
    expect(fs.readdirSync(job.paths.reviewDir)).toEqual(['state.yaml']);
    expect(readJob(root, DO, DS, 'new job').status).toBe('pending');
  });

  it('reception of the invalid-extra-file submission (its state removed) rejects it as syft-job did', () => {
    const root = copyExample();
    const paths = jobPaths(root, DO, DS, 'invalid-extra-file');
    fs.rmSync(paths.state);
    const r = receive(submissionEntries(paths), DO, clockAt('2026-11-25T18:46:23.655584Z'));
    expect(r.kind).toBe('rejected');
    if (r.kind === 'rejected') createState(root, { datasite: DO, submitter: DS, name: 'invalid-extra-file' }, r.state);
    const back = readJob(root, DO, DS, 'invalid-extra-file');
    expect(back.state.kind === 'ok' && { ...back.state.value, review_reason: null }).toEqual({
      ...(readJob(EXAMPLE, DO, DS, 'invalid-extra-file').state as { value: object }).value,
      review_reason: null,
    });
  });

  it('approve the pending fixture: only its state.yaml changes, to the exact bytes', () => {
    const root = copyExample();
    const before = treeBytes(root);
    const job = readJob(root, DO, DS, 'analysis-pending');
    if (job.state.kind !== 'ok') throw new Error('fixture state');
    const next = approve(job.state.value, { approvedBy: DO, method: 'auto' }, clockAt('2026-11-25T19:00:00Z'));
    expect(replaceState(root, job.id, job.state.text, next)).toMatchObject({ written: true });
    const after = treeBytes(root);
    const rel = `${DO}/app_data/job/review/${DS}/analysis-pending/state.yaml`;
    expect(after[rel]!.toString()).toBe(
      "approval_method: auto\napproved_at: '2026-11-25T19:00:00Z'\napproved_by: do@example.com\ncompleted_at: null\n" +
        "received_at: '2026-11-25T18:46:23.656253Z'\nrejected_at: null\nrejected_by: null\nreturn_code: null\nreview_reason: null\nstatus: approved\n",
    );
    delete before[rel];
    delete after[rel];
    expect(after).toEqual(before);
    // Compare-and-swap: a stale base is refused.
    expect(replaceState(root, job.id, job.state.text, next)).toMatchObject({ written: false, reason: 'changed' });
  });

  it('writing refuses a symlinked review folder', () => {
    const root = copyExample();
    const outside = tempDir();
    fs.rmSync(jobDir(root, 'review', DS, 'analysis-pending'), { recursive: true });
    fs.symlinkSync(outside, jobDir(root, 'review', DS, 'analysis-pending'));
    const s = receive(submissionEntries(jobPaths(root, DO, DS, 'analysis-pending')), DO, clockAt('2026-11-25T19:00:00Z'));
    if (s.kind !== 'pending') throw new Error(s.kind);
    expect(() => createState(root, { datasite: DO, submitter: DS, name: 'analysis-pending' }, s.state)).toThrow(/symbolic link/);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('every fixture config parses with its directory name', () => {
    for (const j of FIXTURE_JOBS) expect(parseConfig(readFixture('inbox', DS, j, 'config.yaml'), { dirName: j })).toMatchObject({ ok: true, notes: [] });
  });
});
