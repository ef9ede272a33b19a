import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApproveEngine, statusFromText, type RunPort } from '../../lib/approve/engine';
import { AuditLog, readDecisions } from '../../lib/approve/audit';
import { ApproveStateStore } from '../../lib/approve/state';
import { approvalExpectedRunSh } from '../../lib/approve/expected-runsh';
import type { Job } from '../../lib/datasite';
import { DO, DS, jobDirs, readState, writeBashJob } from '../helpers/datasite';
import { makeEntry, writeFile } from '../approval/helpers';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'datasite', 'syftbox-do-example');
const SCRIPT = 'echo hi\n';

function setup(opts: { slices?: number; recover?: (j: Job) => void } = {}) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'engine-')));
  const root = path.join(dir, 'SyftBox');
  fs.cpSync(FIXTURE, root, { recursive: true });
  const audit = new AuditLog(path.join(dir, 'decisions.jsonl'));
  const queued: string[] = [];
  const runner: RunPort = { has: () => false, enqueue: (job) => void queued.push(job.key) };
  const stored = writeFile(path.join(dir, 'approved', 'script.sh'), SCRIPT);
  const objects = new Map([['o', { file_contents: [makeEntry('script.sh', SCRIPT, stored)], file_paths: [], peers: [DS] }]]);
  const engine = new ApproveEngine({
    root,
    doEmail: DO,
    objects: () => ({ enabled: true, objects, version: 'v1' }),
    expectedRunSh: approvalExpectedRunSh(),
    audit,
    state: new ApproveStateStore(path.join(dir, 'state.json'), DO),
    runner,
    runApprovedJobs: true,
    logger: { info: () => {}, warn: () => {} },
    ...(opts.slices ? { sweepSlices: opts.slices } : {}),
    ...(opts.recover ? { recoverRunning: opts.recover } : {}),
  });
  const decisions = () => readDecisions(path.join(dir, 'decisions.jsonl'));
  return { dir, root, engine, queued, decisions, cleanup: () => (audit.close(), fs.rmSync(dir, { recursive: true, force: true })) };
}

describe('statusFromText (the cold scan reads done/failed/rejected jobs by their status line)', () => {
  const states = path.join(FIXTURE, DO, 'app_data', 'job', 'review', DS);
  it('finds the status of every fixture state.yaml, as written by syft-job', () => {
    for (const job of fs.readdirSync(states)) {
      const f = path.join(states, job, 'state.yaml');
      if (!fs.existsSync(f)) continue;
      const text = fs.readFileSync(f, 'utf8');
      expect(statusFromText(text)).toBe(/^status: (\w+)$/m.exec(text)![1]);
    }
  });
  it.each([
    ['two status lines', 'status: done\nstatus: pending\n'],
    ['a quoted status key as well', "status: done\n'status': pending\n"],
    ['a document marker', '---\nstatus: done\n'],
    ['flow style', '{status: done}\n'],
    ['no final newline (half-written)', 'approved_at: null\nstatus: done'],
    ['a tab', 'status: done\n\tx: y\n'],
    ['no status', 'approved_at: null\n'],
    ['empty', ''],
  ])('is undefined when ambiguous: %s', (_what, text) => {
    expect(statusFromText(text)).toBeUndefined();
  });
});

describe('ApproveEngine', () => {
  it('cold pass: parses only jobs that may need action; later idle passes read nothing', () => {
    const t = setup();
    try {
      const s1 = t.engine.pass({ full: true });
      const all = fs.readdirSync(path.join(t.root, DO, 'app_data', 'job', 'review', DS)).filter((n) => !n.endsWith('.yaml'));
      expect(s1.jobs).toBeGreaterThanOrEqual(all.length);
      const settled = all.filter((n) => /^status: (done|failed|rejected)$/m.test(fs.readFileSync(path.join(t.root, DO, 'app_data', 'job', 'review', DS, n, 'state.yaml'), 'utf8')));
      expect(settled.length).toBeGreaterThan(3);
      expect(s1.read).toBe(s1.jobs - settled.length);
      for (let i = 0; i < 30; i++) expect(t.engine.pass({ full: false }).read).toBe(0);
    } finally {
      t.cleanup();
    }
  });

  it('a new matching job is received, approved and queued in one pass', () => {
    const t = setup();
    try {
      t.engine.pass();
      writeBashJob(t.root, DS, 'fresh', SCRIPT);
      const s = t.engine.pass({ full: false });
      expect(t.decisions().filter((d) => d.job === 'fresh').map((d) => d.reason ?? d.verdict)).toEqual(['received', 'ok']);
      expect(s).toMatchObject({ received: 1, approved: 1, queued: expect.any(Number) });
      expect(readState(t.root, DS, 'fresh')!.status).toBe('approved');
      expect(t.queued).toContain(`${DS}/fresh`);
    } finally {
      t.cleanup();
    }
  });

  it('a settled job a DO sets back to approved by hand is found by the sweep within sweepSlices passes', () => {
    const t = setup({ slices: 4 });
    try {
      t.engine.pass();
      const done = 'bash-done';
      const f = path.join(jobDirs(t.root, DS, done).review, 'state.yaml');
      const before = t.queued.length;
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/^status: done$/m, 'status: approved'));
      let found = -1;
      for (let i = 1; i <= 4 && found < 0; i++) {
        t.engine.pass({ full: false });
        if (t.queued.length > before) found = i;
      }
      expect(found).toBeGreaterThan(0);
      expect(t.queued.slice(before)).toEqual([`${DS}/${done}`]);
    } finally {
      t.cleanup();
    }
  });

  it('jobs left running are handed to recoverRunning once, by the first pass only', () => {
    const recovered: string[] = [];
    const t = setup({ recover: (j) => recovered.push(j.key) });
    try {
      const f = path.join(jobDirs(t.root, DS, 'bash-done').review, 'state.yaml');
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/^status: done$/m, 'status: running'));
      const runningJobs = fs
        .readdirSync(path.join(t.root, DO, 'app_data', 'job', 'review', DS))
        .filter((n) => readState(t.root, DS, n)?.status === 'running');
      expect(runningJobs.length).toBeGreaterThan(0);
      t.engine.pass();
      expect(recovered.sort()).toEqual(runningJobs.map((n) => `${DS}/${n}`).sort());
      for (let i = 0; i < 3; i++) t.engine.pass();
      expect(recovered).toHaveLength(runningJobs.length);
    } finally {
      t.cleanup();
    }
  });

  it('a full pass notices a code file rewritten in place (same folders), a quick pass does not need to', () => {
    const t = setup();
    try {
      writeBashJob(t.root, DS, 'edited', SCRIPT, { runSh: SCRIPT });
      const code = path.join(jobDirs(t.root, DS, 'edited').inbox, 'code', 'script.sh');
      fs.writeFileSync(code, 'echo HI\n'); // same size as SCRIPT
      t.engine.pass();
      expect(readState(t.root, DS, 'edited')!.status).toBe('pending'); // code/script.sh is not the approved content
      // Rewritten in place (same inode, same size): no folder changes, so only a full pass looks again.
      const fd = fs.openSync(code, 'r+');
      fs.writeSync(fd, SCRIPT, 0);
      fs.closeSync(fd);
      for (let i = 0; i < 3; i++) t.engine.pass({ full: false });
      expect(readState(t.root, DS, 'edited')!.status).toBe('pending');
      t.engine.pass({ full: true });
      expect(readState(t.root, DS, 'edited')!.status).toBe('approved');
      const verdicts = t.decisions().filter((d) => d.job === 'edited').map((d) => d.verdict);
      expect(verdicts).toEqual(['received', 'not-approved', 'approved']);
    } finally {
      t.cleanup();
    }
  });

  it('a job folder that disappears is forgotten', () => {
    const t = setup();
    try {
      writeBashJob(t.root, DS, 'gone', 'echo no\n', { runSh: 'x\n' });
      const n1 = t.engine.pass().jobs;
      fs.rmSync(jobDirs(t.root, DS, 'gone').inbox, { recursive: true });
      fs.rmSync(jobDirs(t.root, DS, 'gone').review, { recursive: true });
      expect(t.engine.pass().jobs).toBe(n1 - 1);
      expect(t.engine.watchPaths().some((p) => p.includes(`${path.sep}gone`))).toBe(false);
    } finally {
      t.cleanup();
    }
  });
});
