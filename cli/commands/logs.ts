import { parseServices } from '../../lib/services';
import { UserError, EXIT } from '../../lib/errors';

/** `syft-bg logs SERVICE [-f] [-n N] [--json]` over lib/api/logs. */
export async function run(serviceArg: string, o: { follow?: boolean; lines: string; json?: boolean }): Promise<void> {
  const [service] = parseServices([serviceArg]);
  if (!service) throw new UserError(`Unknown service '${serviceArg}'.`, EXIT.usage);
  const n = Number(o.lines);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`--lines must be a whole number ≥ 0, got '${o.lines}'.`, EXIT.usage);
  const api = await import('../../lib/api/logs');
  const render = api.logRenderer({ json: !!o.json, color: !!process.stdout.isTTY });
  const write = (line: string) => process.stdout.write(render(line).replace(/\n?$/, '\n'));
  if (o.follow) {
    const ac = new AbortController();
    process.on('SIGINT', () => ac.abort());
    process.on('SIGTERM', () => ac.abort());
    const { currentHome } = await import('../../lib/home');
    process.stderr.write(`Following ${service} log in ${currentHome().logs}/${service} (Ctrl+C to stop)...\n`);
    await api.followLogs(service, { lines: n, onLine: write, signal: ac.signal });
    return;
  }
  const r = api.logs(service, { lines: n });
  if (r.files.length === 0) {
    process.stderr.write(`No logs yet for ${service} (looked in ${r.logsDir}/${service}). Start it with 'syft-bg start ${service}'.\n`);
    return;
  }
  for (const l of r.lines) write(l);
}
