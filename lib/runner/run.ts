/**
 * Run one approved job from the bytes that were validated, writing what syft-job's `SyftJobRunner._execute_job`
 * + `share_job_results(share_outputs=True, share_logs=True)` write (protocol §1.8, §1.9):
 *
 *   1. materialise the snapshot into a private run dir (never run from the DS-writable inbox)
 *   2. review/<ds>/<job>/outputs/ deleted and recreated; rule `<job>/outputs/**: read [DO]`
 *   3. state.yaml approved -> running, compare-and-swap against the text the decision was based on
 *   4. `bash run.sh` in the run dir (its own process group), env + SYFTBOX_FOLDER, SYFTBOX_EMAIL,
 *      SYFT_IS_IN_JOB=true, PYTHONUNBUFFERED=1; stdout.txt/stderr.txt written as output arrives
 *   5. timeout / stop: whole tree killed, marker appended to both logs, rc -1
 *   6. outputs moved to review/<ds>/<job>/outputs/, returncode.txt (no trailing newline)
 *   7. state.yaml running -> done (rc 0) | failed, completed_at, return_code
 *   8. outputs and logs shared with the submitter
 *   9. the run dir is removed (always: the results are in review/, the rest is scratch such as `.venv`)
 *
 * Before step 3 nothing about the job's status changes: a refusal returns `not-run` and leaves the job
 * `approved` (as Python, whose set-up errors propagate before it writes `running`). From step 3 on, any error
 * ends in `failed`, rc -1 (Python's `except Exception`), without returncode.txt when it came before the process
 * ended (Python writes it only after a completed run).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobSnapshot } from '../approval';
import {
  finish,
  grantOutputsToOwner,
  jobPaths,
  markRunning,
  parseState,
  readStateFile,
  replaceState,
  shareJobResults,
  systemClock,
  formatPyTimestamp,
  type Clock,
  type JobId,
  type JobPaths,
  type JobState,
} from '../datasite';
import { writeFileAtomic } from '../fs/atomic';
import { execRunSh, LogFile, STOPPED_MARKER, TIMEOUT_MARKER, type OutputStream } from './exec';
import { materialise, SnapshotError, type Materialised } from './materialise';
import { moveOutputs } from './outputs';

export interface RunRequest {
  /** The SyftBox root (contains `<datasite>/`). */
  root: string;
  /** The DO's e-mail (the datasite). */
  datasite: string;
  /** The DS's e-mail (`inbox/<submitter>/`). */
  submitter: string;
  /** The job directory name. */
  job: string;
  /** The bytes that were validated (`snapshotJob`); these run, the inbox is not read again. */
  snapshot: JobSnapshot;
  /** The `approved` state.yaml text the decision was based on (compare-and-swap precondition). */
  stateText: string;
  /** A private directory that must not exist yet, e.g. `runDirFor(...)`. Removed afterwards. */
  runDir: string;
  /** syft-job: `SYFT_DEFAULT_JOB_TIMEOUT_SECONDS`, default 600 s. */
  timeoutMs: number;
  /** The job's environment before the four syft-job variables are added. */
  env: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Abort = the service is stopping: the job is killed, rc -1, reason "stopped". */
  signal?: AbortSignal;
  /** Every chunk written to stdout.txt / stderr.txt (after newline normalisation). */
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  /** SIGTERM -> SIGKILL grace when killing the tree (default 2000 ms). */
  killGraceMs?: number;
}

export type NotRunCode =
  /** state.yaml no longer holds `stateText` (rejected, re-run, edited meanwhile). */
  | 'state-changed'
  /** `stateText` is not an `approved` state. */
  | 'not-approved'
  /** The snapshot cannot run as validated (unsafe path, symlink, missing run.sh, wrong submitter, problems). */
  | 'invalid-snapshot'
  /** A name that cannot be a path segment, or an unusable request. */
  | 'bad-request'
  /** Run dir, review dir or permission file could not be prepared. */
  | 'setup-failed'
  /** Aborted before the job started. */
  | 'stopped'
  /** JobQueue: the same job is already queued or running. */
  | 'duplicate';

export type RunResult =
  | {
      status: 'done' | 'failed';
      /** What returncode.txt / state.yaml say: the exit code, minus the signal number, or -1. */
      returnCode: number;
      timedOut: boolean;
      stopped: boolean;
      /** Why it failed when the exit code does not say it: timeout, stop, runner error. */
      reason?: string;
      /** False when state.yaml changed during the run and was left alone (see `warnings`). */
      stateWritten: boolean;
      warnings: string[];
    }
  | { status: 'not-run'; code: NotRunCode; reason: string; warnings: string[] };

/** `<runsRoot>/<submitter>/<job>-<UTC timestamp>`, e.g. `.../runs/ds@x.org/analysis-20261125T184623.656253Z`. */
export function runDirFor(runsRoot: string, submitter: string, job: string, clock: Clock = systemClock): string {
  const stamp = formatPyTimestamp(clock()).replace(/[-:]/g, '');
  // Keep the leaf within NAME_MAX whatever the job name's length.
  const base = Buffer.from(job, 'utf8').subarray(0, 200).toString('utf8').replace(/\uFFFD+$/, '');
  return path.join(runsRoot, submitter, `${base}-${stamp}`);
}

const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Refuse to write through a symlink anywhere from the datasite down to the job's review dir. */
function assertRealDirs(root: string, datasite: string, dir: string): void {
  const start = path.join(root, datasite);
  let cur = start;
  for (const part of ['', ...path.relative(start, dir).split(path.sep)]) {
    if (part) cur = path.join(cur, part);
    const st = fs.lstatSync(cur);
    if (st.isSymbolicLink()) throw new Error(`refusing to write through symbolic link ${cur}`);
    if (!st.isDirectory()) throw new Error(`${cur} is not a directory`);
  }
}

function removeRunDir(dir: string, warnings: string[]): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    warnings.push(`could not remove the run directory ${dir}: ${errMsg(e)}`);
  }
}

/**
 * running -> done|failed. Compare-and-swap against what we wrote; if another writer changed a field but left the
 * job `running`, apply the same edit to its version (Python's load-modify-save); if the status moved away from
 * `running` (a rerun, a manual edit), leave it and report.
 */
function writeFinal(root: string, id: JobId, paths: JobPaths, runningText: string, running: JobState, rc: number, clock: Clock, warnings: string[]): boolean {
  try {
    const w = replaceState(root, id, runningText, finish(running, rc, clock));
    if (w.written) return true;
    const cur = readStateFile(paths.state);
    if (cur.kind === 'ok' && cur.value.status === 'running') {
      const again = replaceState(root, id, cur.text, finish(cur.value, rc, clock));
      if (again.written) return true;
    }
    const now = cur.kind === 'ok' ? `status ${cur.value.status}` : cur.kind === 'missing' ? 'missing' : cur.problem.message;
    warnings.push(`state.yaml changed during the run (${now}); not overwritten with the result`);
    return false;
  } catch (e) {
    warnings.push(`could not write the final state.yaml: ${errMsg(e)}`);
    return false;
  }
}

export async function runJob(req: RunRequest): Promise<RunResult> {
  const clock = req.clock ?? systemClock;
  const warnings: string[] = [];
  const notRun = (code: NotRunCode, reason: string): RunResult => ({ status: 'not-run', code, reason, warnings });
  const id: JobId = { datasite: req.datasite, submitter: req.submitter, name: req.job };

  let paths: JobPaths;
  try {
    paths = jobPaths(req.root, req.datasite, req.submitter, req.job);
  } catch (e) {
    return notRun('bad-request', errMsg(e));
  }
  if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0) return notRun('bad-request', `timeoutMs must be a positive number, got ${req.timeoutMs}`);
  if (req.signal?.aborted) return notRun('stopped', 'stopped before the job started');

  const decided = parseState(req.stateText);
  if (!decided.ok) return notRun('not-approved', `the decision's state.yaml does not parse: ${decided.problem.message}`);
  if (decided.value.status !== 'approved') return notRun('not-approved', `the decision's state.yaml has status ${decided.value.status}, not approved`);
  if (req.snapshot.submitter !== req.submitter) {
    return notRun('invalid-snapshot', `the snapshot is of a job by ${req.snapshot.submitter}, not ${req.submitter}`);
  }
  // Before any side effect: is the job still in the state the decision was made on?
  const before = readStateFile(paths.state);
  if (before.kind !== 'ok' || before.text !== req.stateText) {
    return notRun('state-changed', before.kind === 'ok' ? `state.yaml changed since the decision (now ${before.value.status})` : 'state.yaml is missing or unreadable');
  }

  // 1. The validated bytes, in a private run dir.
  let m: Materialised;
  try {
    m = materialise(req.snapshot, req.runDir);
  } catch (e) {
    return notRun(e instanceof SnapshotError ? 'invalid-snapshot' : 'setup-failed', errMsg(e));
  }
  if (m.configNote) warnings.push(m.configNote);

  // 2. `_prepare_outputs_dir` (review side), 3. running.
  let runningText: string;
  const running = markRunning(decided.value);
  try {
    assertRealDirs(req.root, req.datasite, paths.reviewDir);
    if (req.signal?.aborted) {
      removeRunDir(m.runDir, warnings);
      return notRun('stopped', 'stopped before the job started');
    }
    const again = readStateFile(paths.state);
    if (again.kind !== 'ok' || again.text !== req.stateText) {
      removeRunDir(m.runDir, warnings);
      return notRun('state-changed', 'state.yaml changed since the decision');
    }
    fs.rmSync(paths.outputsDir, { recursive: true, force: true });
    fs.mkdirSync(paths.outputsDir);
    const grant = grantOutputsToOwner(req.root, req.datasite, req.submitter, req.job);
    if (!grant.ok) throw new Error(`cannot add the outputs permission rule: ${grant.problem.message}`);
    const w = replaceState(req.root, id, req.stateText, running);
    if (!w.written) {
      removeRunDir(m.runDir, warnings);
      return notRun('state-changed', 'state.yaml changed since the decision');
    }
    runningText = w.text;
  } catch (e) {
    removeRunDir(m.runDir, warnings);
    return notRun('setup-failed', errMsg(e));
  }

  // From here on the job is `running`: every path ends in done/failed.
  let rc = -1;
  let timedOut = false;
  let stopped = false;
  let reason: string | undefined;
  try {
    const stdout = new LogFile(paths.stdout);
    let stderr: LogFile;
    try {
      stderr = new LogFile(paths.stderr);
    } catch (e) {
      stdout.close();
      throw e;
    }
    try {
      const env: NodeJS.ProcessEnv = {
        ...req.env,
        SYFTBOX_FOLDER: path.resolve(req.root),
        SYFTBOX_EMAIL: req.datasite,
        SYFT_IS_IN_JOB: 'true',
        PYTHONUNBUFFERED: '1',
      };
      const r = await execRunSh({
        cwd: m.runDir,
        env,
        timeoutMs: req.timeoutMs,
        stdout,
        stderr,
        ...(req.signal ? { signal: req.signal } : {}),
        ...(req.onOutput ? { onOutput: req.onOutput } : {}),
        ...(req.killGraceMs !== undefined ? { killGraceMs: req.killGraceMs } : {}),
      });
      if (r.survivors.length > 0) warnings.push(`processes survived SIGKILL: ${r.survivors.join(', ')}`);
      if (r.error) throw r.error;
      timedOut = r.timedOut;
      stopped = r.stopped;
      rc = r.returnCode;
      if (timedOut) {
        stdout.append(TIMEOUT_MARKER);
        stderr.append(TIMEOUT_MARKER);
        reason = `timed out after ${req.timeoutMs / 1000} s`;
      } else if (stopped) {
        stdout.append(STOPPED_MARKER);
        stderr.append(STOPPED_MARKER);
        reason = 'stopped';
      }
      for (const log of [stdout, stderr]) if (log.error) throw new Error(`cannot write ${log.file}: ${log.error.message}`);
    } finally {
      stdout.close();
      stderr.close();
    }
    // 6. As Python: outputs first, then returncode.txt, then the state.
    const moved = moveOutputs(m.outputsDir, paths.outputsDir, m.runDir);
    for (const s of moved.skipped) warnings.push(`output left out: ${s}`);
    writeFileAtomic(paths.returncode, String(rc), { mode: 0o644 });
  } catch (e) {
    rc = -1;
    reason = errMsg(e);
  }

  // 7. done / failed.
  const stateWritten = writeFinal(req.root, id, paths, runningText, running, rc, clock, warnings);

  // 8. `share_job_results(share_outputs=True, share_logs=True)`, whatever the outcome (as Python).
  try {
    for (const e of shareJobResults(req.root, req.datasite, req.submitter, req.job, { outputs: true, logs: true })) {
      if (!e.ok) warnings.push(`could not share results: ${e.problem.message}`);
    }
  } catch (e) {
    warnings.push(`could not share results: ${errMsg(e)}`);
  }

  // 9.
  removeRunDir(m.runDir, warnings);

  return {
    status: rc === 0 ? 'done' : 'failed',
    returnCode: rc,
    timedOut,
    stopped,
    ...(reason !== undefined ? { reason } : {}),
    stateWritten,
    warnings,
  };
}
