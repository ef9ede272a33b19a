import * as fs from 'node:fs';
import * as path from 'node:path';
import { snapshotJob } from '../../lib/approval/snapshot';
import { emitRuleSet, emitState, jobPaths, parseState, rerun, clockAt } from '../../lib/datasite';
import { runDirFor, runJob, type RunResult } from '../../lib/runner';
import { approvedJob, DO, DS, exists, read, request, snap, tempDir, tree } from './helpers';

const EXAMPLE = path.resolve(__dirname, '..', 'fixtures', 'datasite', 'syftbox-do-example');
const FIX_REVIEW = path.join(EXAMPLE, DO, 'app_data', 'job', 'review', DS);
const FIX_INBOX = path.join(EXAMPLE, DO, 'app_data', 'job', 'inbox', DS);

function ran(r: RunResult): Extract<RunResult, { status: 'done' | 'failed' }> {
  if (r.status === 'not-run') throw new Error(`not run: ${r.code}: ${r.reason}`);
  return r;
}

/** A writable copy of the golden datasite with bash-done put back to `approved` (syft-job's `rerun()`). */
function exampleWithBashDoneApproved(): { root: string; stateText: string } {
  const root = tempDir('syftbox-');
  fs.cpSync(EXAMPLE, root, { recursive: true });
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(root);
  const p = jobPaths(root, DO, DS, 'bash-done');
  for (const f of [p.stdout, p.stderr, p.returncode, p.outputsDir]) fs.rmSync(f, { recursive: true, force: true });
  const parsed = parseState(read(p.state));
  if (!parsed.ok) throw new Error('fixture state');
  const stateText = emitState(rerun(parsed.value));
  fs.writeFileSync(p.state, stateText);
  // The review folder's permissions as the DO's peer approval leaves them (before any job ran).
  fs.writeFileSync(
    path.join(root, DO, 'app_data', 'job', 'review', DS, 'syft.pub.yaml'),
    emitRuleSet({ rules: [{ pattern: '**', access: { admin: [], read: [DS], write: [] } }], terminal: false }),
  );
  return { root, stateText };
}

describe('runJob against the golden bash-done job', () => {
  it('writes stdout.txt, stderr.txt, returncode.txt, outputs/ and state.yaml byte for byte as syft-job did', async () => {
    const { root, stateText } = exampleWithBashDoneApproved();
    const p = jobPaths(root, DO, DS, 'bash-done');
    const inboxBefore = tree(p.inboxDir);
    const runDir = path.join(tempDir('runs-'), DS, 'bash-done-1');
    const r = ran(
      await runJob({
        root,
        datasite: DO,
        submitter: DS,
        job: 'bash-done',
        snapshot: snapshotJob(p.codeDir, { status: 'approved', submitter: DS }),
        stateText,
        runDir,
        timeoutMs: 30_000,
        env: { PATH: process.env.PATH ?? '' },
        clock: clockAt('2026-11-25T18:46:23.703576Z'),
      }),
    );
    expect(r).toMatchObject({ status: 'done', returnCode: 0, timedOut: false, stopped: false, stateWritten: true });
    expect(r.warnings).toEqual([]);
    for (const f of ['stdout.txt', 'stderr.txt', 'returncode.txt', 'state.yaml', 'outputs/result.json']) {
      expect(fs.readFileSync(path.join(p.reviewDir, f))).toEqual(fs.readFileSync(path.join(FIX_REVIEW, 'bash-done', f)));
    }
    expect(read(p.returncode)).toBe('0');
    expect(fs.readdirSync(p.reviewDir).sort()).toEqual(['outputs', 'returncode.txt', 'state.yaml', 'stderr.txt', 'stdout.txt']);
    expect(fs.readdirSync(p.outputsDir)).toEqual(['result.json']);
    // syft.pub.yaml: the fixture's rules for bash-done (made with share_logs=False) plus syft-bg's log rules.
    const fixtureRules = read(path.join(FIX_REVIEW, 'syft.pub.yaml'));
    const withoutOtherJob = fixtureRules.replace(/- access:\n(?: {4}.*\n)+? {2}pattern: analysis-failed\/outputs\/\*\*\n/, '');
    const logRules = ['stdout.txt', 'stderr.txt', 'returncode.txt']
      .map((f) => `- access:\n    admin: []\n    read:\n    - ${DS}\n    write: []\n  pattern: bash-done/${f}\n`)
      .join('');
    expect(read(path.join(p.reviewDir, '..', 'syft.pub.yaml'))).toBe(withoutOtherJob.replace(/terminal: false\n$/, `${logRules}terminal: false\n`));
    // The inbox is not touched (syft-job would leave code/outputs behind there; it runs from a private copy here).
    expect(tree(p.inboxDir)).toEqual(inboxBefore);
    expect(tree(p.inboxDir)).toEqual(tree(path.join(FIX_INBOX, 'bash-done')));
    expect(exists(runDir)).toBe(false);
  });
});

describe('runJob', () => {
  it('runs a bash job writing to both streams and code/outputs: done, rc 0, files and permissions as syft-job', async () => {
    const job = approvedJob(['cd code', 'mkdir -p outputs', 'echo "to stdout"', 'echo "to stderr" >&2', 'echo 42 > outputs/result.txt', ''].join('\n'));
    const chunks: string[] = [];
    const r = ran(await runJob(request(job, { onOutput: (s, c) => chunks.push(`${s}:${c.toString()}`) })));
    expect(r).toMatchObject({ status: 'done', returnCode: 0, timedOut: false, stateWritten: true });
    const p = job.paths;
    expect(read(p.stdout)).toBe('to stdout\n');
    expect(read(p.stderr)).toBe('to stderr\n');
    expect(read(p.returncode)).toBe('0');
    expect(read(path.join(p.outputsDir, 'result.txt'))).toBe('42\n');
    expect(chunks.sort()).toEqual(['stderr:to stderr\n', 'stdout:to stdout\n']);
    expect(read(p.state)).toBe(
      [
        'approval_method: auto',
        "approved_at: '2026-11-25T18:46:23.668330Z'",
        'approved_by: do@example.com',
        "completed_at: '2026-11-25T18:46:23.703576Z'",
        "received_at: '2026-11-25T18:46:23.654761Z'",
        'rejected_at: null',
        'rejected_by: null',
        'return_code: 0',
        'review_reason: null',
        'status: done',
        '',
      ].join('\n'),
    );
    expect(read(path.join(p.reviewDir, '..', 'syft.pub.yaml'))).toBe(
      emitRuleSet({
        rules: [
          { pattern: '**', access: { admin: [], read: [DS], write: [] } },
          { pattern: 'job-1/outputs/**', access: { admin: [], read: [DO, DS], write: [] } },
          { pattern: 'job-1/stdout.txt', access: { admin: [], read: [DS], write: [] } },
          { pattern: 'job-1/stderr.txt', access: { admin: [], read: [DS], write: [] } },
          { pattern: 'job-1/returncode.txt', access: { admin: [], read: [DS], write: [] } },
        ],
        terminal: false,
      }),
    );
    expect(exists(path.join(p.inboxDir, 'code', 'outputs'))).toBe(false);
  });

  it('a job exiting 3 is failed with rc 3', async () => {
    const job = approvedJob('echo oops >&2\nexit 3\n');
    const r = ran(await runJob(request(job)));
    expect(r).toMatchObject({ status: 'failed', returnCode: 3, timedOut: false, stopped: false, stateWritten: true });
    expect(r.reason).toBeUndefined();
    expect(read(job.paths.returncode)).toBe('3');
    expect(read(job.paths.stderr)).toBe('oops\n');
    const st = parseState(read(job.paths.state));
    expect(st.ok && st.value).toMatchObject({ status: 'failed', return_code: 3, completed_at: '2026-11-25T18:46:23.703576Z' });
    expect(fs.readdirSync(job.paths.outputsDir)).toEqual([]);
  });

  it('a job killed by a signal has rc = minus the signal number (Python returncode)', async () => {
    const job = approvedJob('kill -TERM $$\n');
    const r = ran(await runJob(request(job)));
    expect(r).toMatchObject({ status: 'failed', returnCode: -15 });
    expect(read(job.paths.returncode)).toBe('-15');
  });

  it('gives the job the parent env plus SYFTBOX_FOLDER, SYFTBOX_EMAIL, SYFT_IS_IN_JOB, PYTHONUNBUFFERED; cwd = private run dir', async () => {
    const job = approvedJob('printf "%s\\n" "$SYFTBOX_FOLDER" "$SYFTBOX_EMAIL" "$SYFT_IS_IN_JOB" "$PYTHONUNBUFFERED" "$CUSTOM" "$PWD" "$0" "$(stat -c %a .)"; ls; ls code\n');
    const req = request(job, {
      root: path.join(job.root, '.', 'sub', '..'),
      env: { PATH: process.env.PATH ?? '', CUSTOM: 'kept', SYFT_IS_IN_JOB: 'false', SYFTBOX_EMAIL: 'someone@else' },
    });
    const r = ran(await runJob(req));
    expect(r.status).toBe('done');
    const lines = read(job.paths.stdout).split('\n');
    expect(lines.slice(0, 8)).toEqual([job.root, DO, 'true', '1', 'kept', path.resolve(req.runDir), 'run.sh', '700']);
    expect(lines.slice(8)).toEqual(['code', 'config.yaml', 'run.sh', 'outputs', 'script.sh', '']);
    expect(exists(req.runDir)).toBe(false);
  });

  it('runs the snapshot: a file changed in the inbox after validation never runs', async () => {
    const job = approvedJob('bash code/script.sh\ncat code/data.txt\n', { files: { 'data.txt': 'validated data\n' } });
    fs.writeFileSync(job.paths.runSh, 'bash code/script.sh\ncat code/data.txt\n');
    fs.writeFileSync(path.join(job.paths.codeDir, 'script.sh'), 'echo validated script\n');
    const req = request(job); // snapshot taken here
    const mark = path.join(tempDir(), 'evil-ran');
    fs.writeFileSync(job.paths.runSh, `touch ${mark}\necho EVIL RUN.SH\n`);
    fs.writeFileSync(path.join(job.paths.codeDir, 'script.sh'), `touch ${mark}\necho EVIL SCRIPT\n`);
    fs.writeFileSync(path.join(job.paths.codeDir, 'data.txt'), 'swapped data\n');
    fs.writeFileSync(path.join(job.paths.codeDir, 'extra.sh'), `touch ${mark}\n`);
    const r = ran(await runJob(req));
    expect(r.status).toBe('done');
    expect(read(job.paths.stdout)).toBe('validated script\nvalidated data\n');
    expect(exists(mark)).toBe(false);
  });

  it('does not run when state.yaml changed between the decision and the run (e.g. the DO rejected it)', async () => {
    const job = approvedJob('cd code && mkdir -p outputs && echo ran > outputs/x\n');
    const req = request(job);
    const st = parseState(job.stateText);
    if (!st.ok) throw new Error('state');
    const rejected = emitState({ ...st.value, status: 'rejected', rejected_by: DO, rejected_at: '2026-11-25T18:46:24Z' });
    fs.writeFileSync(job.paths.state, rejected);
    const r = await runJob(req);
    expect(r).toMatchObject({ status: 'not-run', code: 'state-changed' });
    expect(read(job.paths.state)).toBe(rejected);
    expect(fs.readdirSync(job.paths.reviewDir)).toEqual(['state.yaml']);
    expect(exists(req.runDir)).toBe(false);
    expect(read(path.join(job.paths.reviewDir, '..', 'syft.pub.yaml'))).not.toContain('job-1/');
  });

  it('does not run from a state text that is not approved', async () => {
    const job = approvedJob('echo hi\n');
    const pendingText = job.stateText.replace('status: approved', 'status: pending');
    fs.writeFileSync(job.paths.state, pendingText);
    const r = await runJob(request(job, { stateText: pendingText }));
    expect(r).toMatchObject({ status: 'not-run', code: 'not-approved' });
    expect(exists(job.paths.stdout)).toBe(false);
  });

  it('does not run when the run dir already exists, and leaves the job approved', async () => {
    const job = approvedJob('echo hi\n');
    const req = request(job);
    fs.mkdirSync(req.runDir, { recursive: true });
    fs.writeFileSync(path.join(req.runDir, 'keep'), 'x');
    const r = await runJob(req);
    expect(r).toMatchObject({ status: 'not-run', code: 'setup-failed' });
    expect(read(job.paths.state)).toBe(job.stateText);
    expect(read(path.join(req.runDir, 'keep'))).toBe('x');
  });

  it('does not start when already aborted', async () => {
    const job = approvedJob('echo hi\n');
    const r = await runJob(request(job, { signal: AbortSignal.abort() }));
    expect(r).toMatchObject({ status: 'not-run', code: 'stopped' });
    expect(read(job.paths.state)).toBe(job.stateText);
  });

  it('normalises newlines as Python text mode does (\\r\\n and lone \\r become \\n), keeps other bytes', async () => {
    const job = approvedJob("printf 'a\\r\\nb\\rc\\r'\nprintf 'x\\r' >&2\nprintf '\\nz\\377\\n' >&2\n");
    ran(await runJob(request(job)));
    expect(fs.readFileSync(job.paths.stdout)).toEqual(Buffer.from('a\nb\nc\n'));
    expect(fs.readFileSync(job.paths.stderr)).toEqual(Buffer.from([0x78, 0x0a, 0x7a, 0xff, 0x0a]));
  });

  it('moves outputs (files, directories, links inside the run dir) and leaves out links to elsewhere', async () => {
    const job = approvedJob(
      [
        'cd code',
        'mkdir -p outputs/sub',
        'echo nested > outputs/sub/x.txt',
        'ln -s ../script.sh outputs/inner',
        'ln -s /etc/hostname outputs/leak',
        'mkfifo outputs/fifo',
        'echo top > outputs/top.txt',
        'echo elsewhere > ../not-collected.txt',
        '',
      ].join('\n'),
    );
    const r = ran(await runJob(request(job)));
    expect(r.status).toBe('done');
    expect(tree(job.paths.outputsDir)).toEqual({
      inner: read(path.join(job.paths.codeDir, 'script.sh')),
      'sub/': '',
      'sub/x.txt': 'nested\n',
      'top.txt': 'top\n',
    });
    expect(r.warnings.join('\n')).toMatch(/leak: symbolic link to outside/);
    expect(r.warnings.join('\n')).toMatch(/fifo: not a regular file/);
  });

  it('a DS-shipped code/outputs file reaches review/outputs as with syft-job', async () => {
    const job = approvedJob('echo hi\n', { files: { 'outputs/shipped.txt': 'from the DS\n' } });
    ran(await runJob(request(job)));
    expect(read(path.join(job.paths.outputsDir, 'shipped.txt'))).toBe('from the DS\n');
  });

  it('review/<job>/outputs is deleted and recreated before the run', async () => {
    const job = approvedJob('echo hi\n');
    fs.mkdirSync(job.paths.outputsDir, { recursive: true });
    fs.writeFileSync(path.join(job.paths.outputsDir, 'stale.txt'), 'old');
    ran(await runJob(request(job)));
    expect(fs.readdirSync(job.paths.outputsDir)).toEqual([]);
  });

  it('a spawn failure after running is failed with rc -1 and the error in the result', async () => {
    const job = approvedJob('echo hi\n');
    const r = ran(await runJob(request(job, { env: { PATH: '/nonexistent' } })));
    expect(r).toMatchObject({ status: 'failed', returnCode: -1, stateWritten: true });
    expect(r.reason).toMatch(/ENOENT/);
    const st = parseState(read(job.paths.state));
    expect(st.ok && st.value).toMatchObject({ status: 'failed', return_code: -1 });
    expect(exists(job.paths.returncode)).toBe(false); // as syft-job's exception path
  });

  it('runDirFor builds <runs>/<ds>/<job>-<timestamp>', () => {
    expect(runDirFor('/h/runs', DS, 'my job', clockAt('2026-11-25T18:46:23.656253Z'))).toBe(`/h/runs/${DS}/my job-20261125T184623.656253Z`);
  });

  it('snap() of the helper is the validated snapshot (sanity)', () => {
    const job = approvedJob('echo hi\n');
    expect(snap(job).runSh).toMatchObject({ kind: 'file' });
  });
});
