import { checkSubmission, runShHazards, submissionEntries, type Job } from '../datasite';

/**
 * Why a job must not be auto-approved whatever the objects say (shared by the approve service and
 * `syft-bg explain`, so they never disagree): problems the datasite library found (symlinks, unreadable or
 * malformed files, a config.yaml naming another job), a submission that is not exactly code/, run.sh and
 * config.yaml, and config.yaml values that syft-job would paste unescaped into run.sh.
 */
export function jobRefusals(job: Job): string[] {
  const out = job.problems.map((p) => p.message);
  const submission = checkSubmission(submissionEntries(job.paths));
  if (submission.valid !== true) out.push(`submission ${job.paths.inboxDir}: ${submission.reason}`);
  if (job.config.kind === 'ok') {
    const hazards = runShHazards(job.config.value);
    if (hazards.length) out.push(`run.sh would be unsafe: ${hazards.join('; ')}`);
  }
  return out;
}
