import type { ServiceName } from '../../lib/services';

export async function run(service: ServiceName, once: boolean): Promise<void> {
  // Two copies of a service would take the same decisions and send the same e-mails twice.
  const { readDaemon } = await import('../../lib/pm2/daemon-reader');
  const { pm2Name } = await import('../../lib/services');
  const { UserError } = await import('../../lib/errors');
  const snap = await readDaemon();
  const p = snap.running ? snap.processes.find((x) => x.name === pm2Name(service)) : undefined;
  if (p && p.pm2_env.status === 'online') {
    throw new UserError(
      `${service} is already running under PM2 (pid ${p.pid}). Stop it first ('syft-bg stop ${service}'), or watch it with 'syft-bg logs ${service} -f'.`,
      1,
    );
  }
  const { runService } = await import('../../lib/service/runtime');
  const def =
    service === 'notify'
      ? (await import('../../apps/notify/service')).notifyService
      : (await import('../../apps/approve/service')).approveService;
  const { EXIT } = await import('../../lib/errors');
  const code = await runService(def, { once, foreground: true });
  // In a terminal a configuration error is an ordinary failure (exit 1); 78 is for PM2's bookkeeping.
  process.exit(code === EXIT.config ? EXIT.failure : code);
}
