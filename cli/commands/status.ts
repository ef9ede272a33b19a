/** `syft-bg status [--json]` over lib/api/status. */
export { configView } from '../../lib/api/status';

/** The configuration for display: never throws; a bad file is shown, not fatal. */
export function loadForStatus(): ReturnType<typeof import('../../lib/api/status').loadConfigView> {
  return (require('../../lib/api/status') as typeof import('../../lib/api/status')).loadConfigView();
}

export async function run(o: { json: boolean }): Promise<void> {
  const { status } = require('../../lib/api/status') as typeof import('../../lib/api/status');
  const report = await status();
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write((require('../../lib/status') as typeof import('../../lib/status')).renderStatus(report));
  // Everything is shown (services included), but a broken config.yaml is a failure, as for every other command.
  if (report.config.exists && report.config.error) process.exitCode = 1;
}
