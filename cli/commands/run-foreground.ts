import type { ServiceName } from '../../lib/services';

export async function run(service: ServiceName, once: boolean): Promise<void> {
  // Two copies of a service would take the same decisions and send the same e-mails twice.
  const { readDaemon } = await import('../../lib/pm2/daemon-reader');
  const { pm2Name } = await import('../../lib/services');
  const { UserError } = await import('../../lib/errors');
  const snap = await readDaemon();
  const p = snap.running ? snap.processes.find((x) => x.name === pm2Name(service)) : undefined;
  if (p && p.pm2_env.status === 'online') {
    const { otherHomeOf } = await import('../../lib/control');
    const { currentHome } = await import('../../lib/home');
    const theirs = otherHomeOf(p, currentHome().dir);
    if (theirs) {
      throw new UserError(
        `${service} runs under PM2 (pid ${p.pid}) for another syft-bg home (${theirs}) on this PM2 daemon: two copies would share the PM2 name. Stop it there, or use another PM2_HOME.`,
        1,
      );
    }
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
