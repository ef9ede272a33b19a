import type { ApprovalObject, JobSnapshot, ValidationContext, Verdict } from '../approval';
import { resolveContext, type ApiOptions } from './context';

/**
 * `explain(JOB)` / `syft-bg explain JOB [--json]`: would the approve service auto-approve this job, and why (not)? Read-only.
 *
 * The verdict is lib/approval's `evaluateJobOnDisk` (what the approve service decides: status pending, first
 * matching object in config order, file set + hashes + stored copies + config.yaml/run.sh checks), refused
 * further when auto-approval is disabled or the datasite library finds the job itself broken (a submission
 * syft-job would reject, a config.yaml or state.yaml it cannot load, a name mismatch, symlinked folders).
 * Besides the verdict, every object is checked on its own, so the DO sees each object's reason, not only the
 * last candidate's as the reference logged.
 *
 * The CLI exits 0 when it would be approved, 3 when not; the job or the configuration cannot be read: UserError (exit 1).
 */

export type ObjectResult = 'approves' | 'matches' | 'no-match' | 'not-for-peer' | 'not-checked';

export interface ObjectExplanation {
  name: string;
  peers: string[];
  result: ObjectResult;
  /** Why it does not (or would not) approve; null for `approves`. */
  reason: string | null;
}

export interface Explanation {
  job: { datasite: string; submitter: string; name: string; folder: string; status: string };
  approved: boolean;
  approvedBy: string | null;
  reason: string;
  autoApprovalEnabled: boolean;
  /** Problems with the job itself (datasite library, submission layout): any one refuses it. */
  problems: string[];
  objects: ObjectExplanation[];
  /** `sha256:` of each file under code/ (what `list-auto-approvals` shows for the objects). */
  files: Record<string, string>;
  runShHash: string | null;
  config: string;
}

type Approval = typeof import('../approval');

/** Each object on its own, against the job as if it were pending (the status is the verdict's business). */
function perObject(a: Approval, snapshot: JobSnapshot, objects: ReadonlyMap<string, ApprovalObject>, ctx: Omit<ValidationContext, 'objects'>, verdict: Verdict, approvable: boolean): ObjectExplanation[] {
  const pending: JobSnapshot = { ...snapshot, status: 'pending' };
  const out: ObjectExplanation[] = [];
  for (const [name, obj] of objects) {
    const base = { name, peers: [...obj.peers] };
    if (obj.peers.length > 0 && !obj.peers.includes(snapshot.submitter)) {
      out.push({ ...base, result: 'not-for-peer', reason: `peer ${a.display(snapshot.submitter)} is not among its peers (${obj.peers.map(a.display).join(', ')})` });
      continue;
    }
    const v = a.validateJob(pending, { ...ctx, objects: new Map([[name, obj]]) });
    if (v.approved) {
      if (approvable && verdict.approved && verdict.object === name) out.push({ ...base, result: 'approves', reason: null });
      else if (verdict.approved && verdict.object !== undefined && verdict.object !== name) {
        out.push({ ...base, result: 'matches', reason: `matches too, but '${a.display(verdict.object)}' comes first in config.yaml` });
      } else out.push({ ...base, result: 'matches', reason: 'its files match, but the job is not approvable (see the verdict)' });
      continue;
    }
    const r = v.reasons[0];
    if (r?.object === name) out.push({ ...base, result: 'no-match', reason: r.reason });
    else out.push({ ...base, result: 'not-checked', reason: `the job itself is refused: ${v.reason}` });
  }
  return out;
}

/**
 * Would the approve service auto-approve this job, and why (not)? Read-only. `job` is its folder
 * (`…/app_data/job/inbox/<submitter>/<job>`, relative to `cwd`) or `<submitter>/<job>` in the data owner's datasite.
 */
export function explain(job: string, opts: ApiOptions = {}): Explanation {
  const { home, cwd } = resolveContext(opts);
  const a = require('../approval') as Approval;
  const { resolveJob } = require('./jobs') as typeof import('./jobs');
  const { approvalExpectedRunSh } = require('../approve/expected-runsh') as typeof import('../approve/expected-runsh');
  const r = resolveJob(job, home, cwd);
  const j = r.job;

  const { jobRefusals } = require('../approve/judge') as typeof import('../approve/judge');
  const problems = jobRefusals(j);
  const status = j.status ?? 'unknown (state.yaml cannot be read)';

  const expectedRunSh = approvalExpectedRunSh();
  const ev = a.evaluateJobOnDisk(home, { codeDir: j.paths.codeDir, status, submitter: r.submitter }, { expectedRunSh });
  const verdict = ev.verdict;
  const { objects } = a.loadApprovalObjects(home);

  let approved = verdict.approved;
  let reason = verdict.reason;
  // Disabled comes first: no object approves anything then, whatever the job.
  if (!ev.enabled) {
    approved = false;
    reason = 'auto-approval is disabled (approve.auto_approvals.enabled: false)';
  } else if (approved && problems.length > 0) {
    approved = false;
    reason = problems[0] as string;
  }
  const perObj = perObject(a, ev.snapshot, objects, { storedCopy: a.storedCopyReader(), expectedRunSh }, verdict, approved);

  return {
    job: { datasite: r.datasite, submitter: r.submitter, name: r.name, folder: j.paths.inboxDir, status },
    approved,
    approvedBy: approved ? (verdict.object ?? null) : null,
    reason: approved ? `approved by ${verdict.object as string}` : reason,
    autoApprovalEnabled: ev.enabled,
    problems,
    objects: perObj,
    files: verdict.hashes,
    runShHash: verdict.runShHash ?? null,
    config: home.config,
  };
}

/** The text of `syft-bg explain JOB` (names from the job are shown escaped). */
export function renderExplanation(x: Explanation): string[] {
  const { display, padEndCodePoints: pad } = require('../approval') as Approval;
  const lines = [
    `Job ${display(x.job.submitter)}/${display(x.job.name)} (datasite ${display(x.job.datasite)})`,
    `  folder: ${display(x.job.folder)}`,
    `  status: ${display(x.job.status)}`,
  ];
  const files = Object.entries(x.files);
  if (files.length === 0) lines.push('  code:   (no files)');
  else {
    lines.push('  code:');
    for (const [rel, h] of files) lines.push(`    ${pad(display(rel), 30)} ${h}`);
  }
  lines.push(`  run.sh: ${x.runShHash ?? '(cannot be read)'}`);
  if (x.problems.length) {
    lines.push('Problems with the job:');
    for (const p of x.problems) lines.push(`  ${display(p)}`);
  }
  if (!x.autoApprovalEnabled) lines.push(`Auto-approval is disabled (approve.auto_approvals.enabled: false in ${x.config}).`);
  lines.push('Auto-approval objects:');
  if (x.objects.length === 0) lines.push('  (none configured)');
  for (const o of x.objects) {
    const head = `  [${display(o.name)}]`;
    switch (o.result) {
      case 'approves':
        lines.push(`${head} approves this job`);
        break;
      case 'matches':
        lines.push(`${head} ${display(o.reason ?? 'matches')}`);
        break;
      case 'no-match':
        lines.push(`${head} does not match: ${display(o.reason ?? '')}`);
        break;
      case 'not-for-peer':
        lines.push(`${head} does not apply: ${display(o.reason ?? '')}`);
        break;
      case 'not-checked':
        lines.push(`${head} not checked: ${display(o.reason ?? '')}`);
        break;
    }
  }
  lines.push(x.approved ? `Verdict: ${display(x.reason)}` : `Verdict: not approved: ${display(x.reason)}`);
  return lines;
}
