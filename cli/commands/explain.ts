import { EXIT } from '../../lib/errors';

/** `syft-bg explain JOB [--json]` over lib/api/explain: exit 0 when the job would be approved, 3 when not. */
export type { Explanation, ObjectExplanation, ObjectResult } from '../../lib/api/explain';

export function run(jobArg: string, o: { json?: boolean }): void {
  const { explain, renderExplanation } = require('../../lib/api/explain') as typeof import('../../lib/api/explain');
  const x = explain(jobArg);
  if (o.json) process.stdout.write(JSON.stringify(x, null, 2) + '\n');
  else for (const l of renderExplanation(x)) process.stdout.write(l + '\n');
  process.exitCode = x.approved ? EXIT.ok : EXIT.notApproved;
}

/** For callers of the former CLI-side implementation (the dashboard): the API's explain and renderer. */
export function explainJob(jobArg: string, cwd = process.cwd()): import('../../lib/api/explain').Explanation {
  return (require('../../lib/api/explain') as typeof import('../../lib/api/explain')).explain(jobArg, { cwd });
}

export function render(x: import('../../lib/api/explain').Explanation, ..._formatting: unknown[]): string[] {
  return (require('../../lib/api/explain') as typeof import('../../lib/api/explain')).renderExplanation(x);
}
