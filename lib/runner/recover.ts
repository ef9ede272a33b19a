/**
 * Jobs left `running` by a runner that died (crash, reboot, SIGKILL) never finish by themselves: syft-job moves
 * nothing out of `running` (protocol §7 #14). At service start-up, before any job runs, each one becomes what a
 * runner error makes it:
 *
 *   state.yaml      running -> failed, `completed_at` now, `return_code: -1` (compare-and-swap; first, so a
 *                   concurrent change wins and nothing else is touched)
 *   stdout.txt      + INTERRUPTED_MARKER (created if missing)
 *   stderr.txt      + INTERRUPTED_MARKER
 *   returncode.txt  `-1`
 *   syft.pub.yaml   outputs and logs shared with the submitter, as after any run
 *
 * The reason goes into the logs the DS can read, not into `review_reason`: that field holds the approval's
 * reason, and syft-job's `JobState` has no other free-text field (an extra key would be dropped by the next
 * Python save). Partial outputs of the interrupted run are not collected (they were in the run dir).
 *
 * Only call this when no runner is executing jobs of this datasite: a job a Python runner (e.g. the DO's
 * notebook) is executing right now looks exactly the same.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { finish, listJobs, replaceState, shareJobResults, systemClock, type Clock, type Job, type Problem } from '../datasite';
import { writeFileAtomic } from '../fs/atomic';

export const INTERRUPTED_MARKER = '\n--- PROCESS INTERRUPTED (the runner stopped before the job finished) ---\n';

export interface RecoverOptions {
  root: string;
  datasite: string;
  clock?: Clock;
  /** The runs directory (`runDirFor`'s `runsRoot`): everything left in it by the dead runner is removed. */
  runsDir?: string;
}

export interface RecoveredJob {
  submitter: string;
  job: string;
  /** True when state.yaml was moved to failed. */
  recovered: boolean;
  /** Why it was not, or what went wrong after the state was written. */
  reason?: string;
}

export interface RecoverResult {
  jobs: RecoveredJob[];
  /** Problems of the listing (unreadable folders, bad names). */
  problems: Problem[];
  /** Leftover run directories removed from `runsDir`. */
  removedRunDirs: string[];
}

function appendNoFollow(file: string, text: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/** Mark one job left `running` as failed (see the module comment). Only call it for a job no runner is executing. */
export function recoverJob(root: string, job: Job, opts: { clock?: Clock } = {}): RecoveredJob {
  const clock = opts.clock ?? systemClock;
  const { submitter, name } = job.id;
  const rec: RecoveredJob = { submitter, job: name, recovered: false };
  if (job.status !== 'running' || job.state.kind !== 'ok') {
    rec.reason = `not running (status ${job.status ?? 'unreadable'})`;
    return rec;
  }
  try {
    const w = replaceState(root, job.id, job.state.text, finish(job.state.value, -1, clock));
    if (!w.written) {
      rec.reason = 'state.yaml changed while recovering; left alone';
      return rec;
    }
    rec.recovered = true;
    const p = job.paths;
    appendNoFollow(p.stdout, INTERRUPTED_MARKER);
    appendNoFollow(p.stderr, INTERRUPTED_MARKER);
    writeFileAtomic(p.returncode, '-1', { mode: 0o644 });
    const failed = shareJobResults(root, job.id.datasite, submitter, name, { outputs: true, logs: true }).filter((e) => !e.ok);
    if (failed.length > 0) rec.reason = `could not share results: ${failed.map((e) => (e.ok ? '' : e.problem.message)).join('; ')}`;
  } catch (e) {
    rec.reason = (e as Error).message;
  }
  return rec;
}

/** Remove everything a dead runner left in the runs directory (`runDirFor`'s `runsRoot`). Call before any job runs. */
export function cleanRunsDir(runsDir: string): string[] {
  const removed: string[] = [];
  let dsDirs: string[] = [];
  try {
    dsDirs = fs.readdirSync(runsDir);
  } catch {
    dsDirs = [];
  }
  for (const ds of dsDirs) {
    const dsDir = path.join(runsDir, ds);
    const st = fs.lstatSync(dsDir, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (!st.isDirectory()) {
      fs.rmSync(dsDir, { force: true });
      continue;
    }
    for (const run of fs.readdirSync(dsDir)) {
      const dir = path.join(dsDir, run);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      removed.push(dir);
    }
  }
  return removed;
}

/** Recover every job of the datasite left `running`, then clean the runs directory (a full listing: use at start-up only). */
export function recoverInterrupted(opts: RecoverOptions): RecoverResult {
  const listing = listJobs(opts.root, opts.datasite);
  const jobs: RecoveredJob[] = [];
  for (const job of listing.jobs) {
    if (job.status !== 'running' || job.state.kind !== 'ok') continue;
    jobs.push(recoverJob(opts.root, job, opts.clock ? { clock: opts.clock } : {}));
  }
  const removedRunDirs = opts.runsDir !== undefined ? cleanRunsDir(opts.runsDir) : [];
  return { jobs, problems: listing.problems, removedRunDirs };
}
