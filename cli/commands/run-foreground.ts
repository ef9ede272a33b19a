import type { ServiceName } from '../../lib/services';

export async function run(service: ServiceName, once: boolean): Promise<void> {
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
