import type { BootResult } from '../../lib/api/boot';

/** `syft-bg install|uninstall [--dry-run] [--user NAME]` over lib/api/boot. */
function print(r: BootResult, exitCode: number): void {
  for (const l of r.stdout) process.stdout.write(l + '\n');
  for (const l of r.stderr) process.stderr.write(l + '\n');
  process.exitCode = exitCode;
}

async function boot(op: 'install' | 'uninstall', o: { dryRun?: boolean; user?: string }): Promise<void> {
  const api = await import('../../lib/api/boot');
  const { BootError } = await import('../../lib/api/errors');
  try {
    print(await api[op]({ dryRun: !!o.dryRun, ...(o.user !== undefined ? { user: o.user } : {}) }), 0);
  } catch (e) {
    if (!(e instanceof BootError)) throw e;
    print(e.result, e.exitCode);
  }
}

export function install(o: { dryRun?: boolean; user?: string }): Promise<void> {
  return boot('install', o);
}

export function uninstall(o: { dryRun?: boolean; user?: string }): Promise<void> {
  return boot('uninstall', o);
}
