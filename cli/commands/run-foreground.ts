import type { ServiceName } from '../../lib/services';

export async function run(service: ServiceName, once: boolean): Promise<void> {
  const { runService } = await import('../../lib/service/runtime');
  const def =
    service === 'notify'
      ? (await import('../../apps/notify/service')).notifyService
      : (await import('../../apps/approve/service')).approveService;
  const code = await runService(def, { once, foreground: true });
  process.exit(code);
}
