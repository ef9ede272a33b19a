import { parseServices, ServiceName } from '../../lib/services';
import type { Report, ControlDeps } from '../../lib/control';
import { currentHome } from '../../lib/home';
import { UserError } from '../../lib/errors';

/**
 * Refuse to start services on a configuration they would reject: the user gets the clear error now,
 * instead of a service that PM2 restarts until it is marked errored.
 */
function checkConfigForStart(): void {
  const home = currentHome();
  const { loadConfig } = require('../../lib/config/load') as typeof import('../../lib/config/load');
  const { requireStartable } = require('../../lib/service/requirements') as typeof import('../../lib/service/requirements');
  const loaded = loadConfig(home);
  if (!loaded.exists) throw new UserError(`No configuration at ${home.config}. Run 'syft-bg init -e EMAIL' first.`, 1);
  try {
    requireStartable(loaded);
  } catch (e) {
    throw new UserError((e as Error).message, 1);
  }
  if (loaded.legacy) process.stderr.write(loaded.legacy.message + '\n');
}

async function withControl(fn: (deps: ControlDeps) => Promise<Report>): Promise<Report> {
  const { withPm2 } = require('../../lib/pm2/client') as typeof import('../../lib/pm2/client');
  const { appDefinition } = require('../../lib/pm2/apps') as typeof import('../../lib/pm2/apps');
  const { bundledPm2Version } = require('../../lib/pm2/daemon-reader') as typeof import('../../lib/pm2/daemon-reader');
  const home = currentHome();
  return withPm2(async (api) => {
    const r = await fn({ api, definition: (s: ServiceName) => appDefinition(s, { home }) });
    const daemon = await api.version();
    const ours = bundledPm2Version();
    if (daemon && daemon !== ours) {
      r.err.push(`Note: the PM2 daemon runs pm2 ${daemon} but syft-bg ships pm2 ${ours}; run 'pm2 update' to align them.`);
    }
    return r;
  });
}

export async function start(names: string[]): Promise<Report> {
  const services = parseServices(names);
  checkConfigForStart();
  const { startServices } = await import('../../lib/control');
  return withControl((d) => startServices(d, services));
}

export async function stop(names: string[]): Promise<Report> {
  const services = parseServices(names);
  const { readDaemon } = await import('../../lib/pm2/daemon-reader');
  // Do not spawn a PM2 daemon just to find out nothing runs.
  const snap = await readDaemon();
  if (!snap.running) return { out: services.map((s) => `${s} is not running (no PM2 daemon); nothing changed.`), err: [], exitCode: 0 };
  const { stopServices } = await import('../../lib/control');
  return withControl((d) => stopServices(d, services));
}

export async function restart(names: string[]): Promise<Report> {
  const services = parseServices(names);
  checkConfigForStart();
  const { restartServices } = await import('../../lib/control');
  return withControl((d) => restartServices(d, services));
}

export async function ensure(names: string[], restartRunning: boolean): Promise<Report> {
  const services = parseServices(names);
  checkConfigForStart();
  const { ensureRunning } = await import('../../lib/control');
  return withControl((d) => ensureRunning(d, services, { restart: restartRunning }));
}
