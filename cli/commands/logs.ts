import { parseServices } from '../../lib/services';
import { currentHome } from '../../lib/home';
import { UserError, EXIT } from '../../lib/errors';

export async function run(serviceArg: string, o: { follow?: boolean; lines: string; json?: boolean }): Promise<void> {
  const [service] = parseServices([serviceArg]);
  if (!service) throw new UserError(`Unknown service '${serviceArg}'.`, EXIT.usage);
  const n = Number(o.lines);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`--lines must be a whole number ≥ 0, got '${o.lines}'.`, EXIT.usage);
  const home = currentHome();
  const { createRenderer } = await import('../../lib/log/render');
  const render = createRenderer({ json: !!o.json, color: !o.json && !!process.stdout.isTTY });
  const write = (line: string) => process.stdout.write(render(line).replace(/\n?$/, '\n'));
  if (o.follow) {
    const { followLog } = await import('../../lib/log/follow');
    const ac = new AbortController();
    process.on('SIGINT', () => ac.abort());
    process.on('SIGTERM', () => ac.abort());
    process.stderr.write(`Following ${service} log in ${home.logs}/${service} (Ctrl+C to stop)...\n`);
    await followLog({ logsDir: home.logs, service, fromLines: n, onLine: write, signal: ac.signal });
    return;
  }
  const { tailLines, logFiles } = await import('../../lib/log/files');
  const files = logFiles(home.logs, service);
  if (files.length === 0) {
    process.stderr.write(`No logs yet for ${service} (looked in ${home.logs}/${service}). Start it with 'syft-bg start ${service}'.\n`);
    return;
  }
  for (const l of tailLines(home.logs, service, n)) write(l);
}
