/**
 * The job runner: one approved job, run from the snapshot of its validated bytes, with syft-job's on-disk results
 * (protocol §1.8). See README.md for the decisions (run dir, recovery record, deliberate differences).
 */
export { runJob, runDirFor, type RunRequest, type RunResult, type NotRunCode } from './run';
export { recoverInterrupted, recoverJob, cleanRunsDir, INTERRUPTED_MARKER, type RecoverOptions, type RecoverResult, type RecoveredJob } from './recover';
export { JobQueue, jobKey } from './queue';
export { TIMEOUT_MARKER, STOPPED_MARKER, type OutputStream } from './exec';
export { snapshotProblems, SnapshotError } from './materialise';
