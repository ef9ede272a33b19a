/**
 * syft-job's state transitions (protocol §1.5–§1.8), as pure `JobState -> JobState` functions with an injected
 * clock. Each writes exactly the fields the Python method writes and keeps the others; the guard errors carry the
 * Python ValueError text.
 *
 *   receive (scan_inbox/receive_job)  none -> pending | rejected (shape check, reason text as syft-job's)
 *   approve(reason, approval_method)  pending -> approved
 *   reject(reason)                    pending -> rejected
 *   markRunning                       any -> running (the runner does not check)
 *   finish(rc)                        running -> done (rc 0) | failed; also the runner's exception path (rc -1)
 *   acceptByDepositingResult          pending|approved -> done
 *   rerun                             done|failed -> approved
 */

import { pyRepr, pySetRepr } from './pyrepr';
import { compareCodePoints } from './pyyaml';
import { defaultState, type JobState, type JobStatus } from './state';
import { formatPyTimestamp, type Clock } from './time';

export class TransitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransitionError';
  }
}

/** `VALID_SUBMISSION_ENTRIES`, in the order the golden fixture's reason shows it. */
export const SUBMISSION_ENTRIES = ['config.yaml', 'code', 'run.sh'] as const;
/** `PERMISSION_FILE_NAME`: ignored when checking a submission's entries. */
export const IGNORED_SUBMISSION_ENTRY = 'syft.pub.yaml';

/** One entry at the top of `inbox/<ds>/<job>/`, typed without following symlinks. */
export interface SubmissionEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
}

export type SubmissionCheck =
  | { valid: true }
  | { valid: false; reason: string }
  /** We will not decide: Python's `is_dir()`/`is_file()` would follow the link; we never do. */
  | { valid: 'hold'; reason: string };

/**
 * `JobClient.validate_submission`: the entry names (without `syft.pub.yaml`) must be exactly
 * {code, run.sh, config.yaml}; then `code` must be a directory and `run.sh`, `config.yaml` files.
 *
 * The set repr in the first reason lists the expected set as the golden fixture shows it and the actual names in
 * code-point order (Python's order is hash-randomised per process, so any fixed order is as faithful as another).
 */
export function checkSubmission(entries: readonly SubmissionEntry[]): SubmissionCheck {
  const seen = entries.filter((e) => e.name !== IGNORED_SUBMISSION_ENTRY);
  const names = [...new Set(seen.map((e) => e.name))].sort(compareCodePoints);
  const expected = new Set<string>(SUBMISSION_ENTRIES);
  if (names.length !== expected.size || !names.every((n) => expected.has(n))) {
    return { valid: false, reason: `Expected ${pySetRepr(SUBMISSION_ENTRIES)}, got ${pySetRepr(names)}` };
  }
  const type = (n: string) => seen.find((e) => e.name === n)?.type;
  const links = seen.filter((e) => e.type === 'symlink').map((e) => pyRepr(e.name));
  if (links.length > 0) return { valid: 'hold', reason: `${links.join(', ')} is a symbolic link; not following it` };
  if (type('code') !== 'dir') return { valid: false, reason: "'code' must be a directory" };
  if (type('run.sh') !== 'file') return { valid: false, reason: "'run.sh' must be a file" };
  if (type('config.yaml') !== 'file') return { valid: false, reason: "'config.yaml' must be a file" };
  return { valid: true };
}

export type Reception =
  | { kind: 'pending'; state: JobState }
  | { kind: 'rejected'; state: JobState; reason: string }
  | { kind: 'hold'; reason: string };

/**
 * `JobClient.receive_job`: the state.yaml to create for a job seen for the first time. Only call it for a job
 * that has settled (settle.ts): syft-job rejects half-arrived submissions forever.
 */
export function receive(entries: readonly SubmissionEntry[], doEmail: string, clock: Clock): Reception {
  const check = checkSubmission(entries);
  if (check.valid === 'hold') return { kind: 'hold', reason: check.reason };
  const now = formatPyTimestamp(clock());
  if (check.valid) return { kind: 'pending', state: { ...defaultState(), status: 'pending', received_at: now } };
  return {
    kind: 'rejected',
    reason: check.reason,
    state: { ...defaultState(), status: 'rejected', received_at: now, rejected_by: doEmail, rejected_at: now, review_reason: check.reason },
  };
}

function requireStatus(state: JobState, allowed: readonly JobStatus[], what: string, jobName: string | undefined): void {
  if (allowed.includes(state.status)) return;
  const name = jobName === undefined ? 'Job' : `Job '${jobName}'`;
  throw new TransitionError(`${name} is not in ${what} status (current: ${state.status})`);
}

export interface ApproveOptions {
  /** The DO's email (`approved_by`); syft-job only lets the datasite owner approve. */
  approvedBy: string;
  /** `"manual"` (syft-job's default) or `"auto"` (syft-bg's auto-approval). */
  method?: 'manual' | 'auto';
  /** Recorded as `review_reason`; null clears a previous one, as in Python. */
  reason?: string | null;
  /** Only for the error message. */
  jobName?: string;
}

/** `JobInfo.approve(reason, approval_method)`. */
export function approve(state: JobState, opts: ApproveOptions, clock: Clock): JobState {
  requireStatus(state, ['pending'], 'pending', opts.jobName);
  return {
    ...state,
    status: 'approved',
    approved_by: opts.approvedBy,
    approved_at: formatPyTimestamp(clock()),
    approval_method: opts.method ?? 'manual',
    review_reason: opts.reason ?? null,
  };
}

export interface RejectOptions {
  rejectedBy: string;
  reason?: string | null;
  jobName?: string;
}

/** `JobInfo.reject(reason)`. */
export function reject(state: JobState, opts: RejectOptions, clock: Clock): JobState {
  requireStatus(state, ['pending'], 'pending', opts.jobName);
  return { ...state, status: 'rejected', rejected_by: opts.rejectedBy, rejected_at: formatPyTimestamp(clock()), review_reason: opts.reason ?? null };
}

/** The runner before executing `run.sh` (it does not check the previous status). */
export function markRunning(state: JobState): JobState {
  return { ...state, status: 'running' };
}

/** `_set_finalized_job_state(rc)`: done when rc is 0, else failed; rc -1 for a timeout or a runner exception. */
export function finish(state: JobState, returnCode: number, clock: Clock): JobState {
  if (!Number.isSafeInteger(returnCode)) throw new TypeError(`finish: return code must be an integer, got ${returnCode}`);
  return { ...state, status: returnCode === 0 ? 'done' : 'failed', completed_at: formatPyTimestamp(clock()), return_code: returnCode };
}

/** `JobInfo.accept_by_depositing_result(path)` (state part; copying the result is the caller's). */
export function acceptByDepositingResult(state: JobState, opts: { by: string; jobName?: string }, clock: Clock): JobState {
  if (state.status !== 'pending' && state.status !== 'approved') {
    const name = opts.jobName === undefined ? 'Job' : `Job '${opts.jobName}'`;
    throw new TransitionError(`${name} is not in pending or approved status (current: ${state.status})`);
  }
  const now = formatPyTimestamp(clock());
  return {
    ...state,
    status: 'done',
    approved_by: state.approved_by || opts.by,
    approved_at: state.approved_at || now,
    completed_at: now,
    return_code: 0,
  };
}

/** `JobInfo.rerun()` (state part; deleting the logs and outputs is the caller's). */
export function rerun(state: JobState, opts: { jobName?: string } = {}): JobState {
  if (state.status !== 'done' && state.status !== 'failed') {
    const name = opts.jobName === undefined ? 'Job' : `Job '${opts.jobName}'`;
    throw new TransitionError(`${name} is not in done/failed status (current: ${state.status}). Only completed or failed jobs can be rerun.`);
  }
  return { ...state, status: 'approved', completed_at: null, return_code: null };
}
