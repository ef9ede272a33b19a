import type { StatusReport } from '../status';

/**
 * What `pm2 start ecosystem.config.js` must not do: PM2 app names are global per PM2 home, so starting this home's
 * apps while another syft-bg home's apps run on the same daemon would silently take them over (PM2 restarts a
 * running app of the same name with the new environment). Given this home's `status --json`, the messages that
 * explain the conflicts; empty when there is none (pure).
 */
export function ecosystemConflicts(report: Pick<StatusReport, 'home' | 'services' | 'pm2'>): string[] {
  const out: string[] = [];
  for (const s of report.services) {
    if (!s.otherHome) continue;
    const running = s.state === 'online' || s.state === 'starting' || s.state === 'restarting' || s.state === 'stopping';
    if (!running) continue;
    out.push(
      `${s.pm2Name} runs for another syft-bg home (${s.home ?? '?'}) on this PM2 daemon (PM2_HOME=${report.pm2.home}); ` +
        `starting this home (${report.home}) would take it over. Stop it there first, or use another PM2_HOME.`,
    );
  }
  return out;
}
