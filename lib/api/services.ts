import { parseServices, pm2Name, type ServiceName } from '../services';
import { UserError } from '../errors';
import type { ControlDeps, Report } from '../control';
import type { ServiceStatus } from '../status';
import { resolveContext, type ApiContext, type ApiOptions } from './context';
import { ServiceControlError, type Output } from './errors';
import { withPm2Home } from './pm2';

/** What start/stop/restart/ensureRunning did. */
export interface ServicesResult extends Output {
  /** One line per service, as `syft-bg start|stop|…` prints them. */
  stdout: string[];
  /** Notes (a legacy config.yaml block, a PM2 daemon of another version). */
  stderr: string[];
  /** The named services afterwards. */
  services: ServiceStatus[];
}

/** One service, several, or all (undefined or an empty list); `syft-bg-notify` works as well as `notify`. */
export type ServiceSelection = ServiceName | string | readonly string[] | undefined;

function select(s: ServiceSelection): ServiceName[] {
  return parseServices(s === undefined ? [] : typeof s === 'string' ? [s] : s);
}

/**
 * Refuse to start services on a configuration they would reject: the user gets the clear error now, instead of a
 * service that PM2 restarts until it is marked errored. Returns the legacy-config note, if any.
 */
function checkConfigForStart(ctx: ApiContext, services: ServiceName[]): string[] {
  const { loadConfig } = require('../config/load') as typeof import('../config/load');
  const { requireStartable } = require('../service/requirements') as typeof import('../service/requirements');
  const loaded = loadConfig(ctx.home);
  if (!loaded.exists) throw new UserError(`No configuration at ${ctx.home.config}. Run 'syft-bg init -e EMAIL' first.`, 1);
  try {
    requireStartable(loaded, services);
  } catch (e) {
    throw new UserError((e as Error).message, 1);
  }
  return loaded.legacy ? [loaded.legacy.message] : [];
}

function servicesFrom(list: import('../pm2/daemon-reader').Pm2Process[], services: ServiceName[], home: string): ServiceStatus[] {
  const { serviceStatus } = require('../status') as typeof import('../status');
  const now = Date.now();
  return services.map((s) => serviceStatus(s, list, home, now));
}

async function control(ctx: ApiContext, services: ServiceName[], notes: string[], fn: (deps: ControlDeps) => Promise<Report>): Promise<ServicesResult> {
  const { appDefinition } = require('../pm2/apps') as typeof import('../pm2/apps');
  const { bundledPm2Version } = require('../pm2/daemon-reader') as typeof import('../pm2/daemon-reader');
  const { readyFilePath } = require('../control') as typeof import('../control');
  const { r, after } = await withPm2Home(ctx.pm2Home, async (api) => {
    const r = await fn({
      api,
      definition: (s: ServiceName) => appDefinition(s, { home: ctx.home, env: ctx.env }),
      readyFile: (s: ServiceName) => readyFilePath(ctx.home, s),
    });
    const daemon = await api.version();
    const ours = bundledPm2Version();
    const failures = [...r.err];
    if (daemon && daemon !== ours) {
      r.err.push(`Note: the PM2 daemon runs pm2 ${daemon} but syft-bg ships pm2 ${ours}; run 'pm2 update' to align them.`);
    }
    return { r: { ...r, failures }, after: await api.list() };
  });
  const result: ServicesResult = { stdout: r.out, stderr: [...notes, ...r.err], services: servicesFrom(after, services, ctx.home.dir) };
  if (r.exitCode !== 0) {
    const failed = r.failed ?? result.services.filter((s) => s.state !== 'online').map((s) => s.name);
    throw new ServiceControlError(r.failures.join('\n'), result, failed);
  }
  return result;
}

/**
 * `syft-bg start [service]`: start what is not running (a running service is left alone) and wait until each started
 * service reports ready. Throws a UserError when config.yaml would not let the services start, a ServiceControlError
 * when one does not get ready (its set-up failed: the reason; it is then stopped) or when a service of that name
 * serves another syft-bg home on the same PM2 daemon (left alone).
 */
export async function start(service?: ServiceSelection, opts: ApiOptions = {}): Promise<ServicesResult> {
  const services = select(service);
  const ctx = resolveContext(opts);
  const notes = checkConfigForStart(ctx, services);
  const { startServices } = require('../control') as typeof import('../control');
  return control(ctx, services, notes, (d) => startServices(d, services));
}

/** `syft-bg stop [service]`. Never spawns a PM2 daemon just to find out nothing runs. */
export async function stop(service?: ServiceSelection, opts: ApiOptions = {}): Promise<ServicesResult> {
  const services = select(service);
  const ctx = resolveContext(opts);
  const { readDaemon } = require('../pm2/daemon-reader') as typeof import('../pm2/daemon-reader');
  const snap = await readDaemon({ home: ctx.pm2Home });
  if (!snap.running) {
    return { stdout: services.map((s) => `${s} is not running (no PM2 daemon); nothing changed.`), stderr: [], services: servicesFrom([], services, ctx.home.dir) };
  }
  const { stopServices } = require('../control') as typeof import('../control');
  return control(ctx, services, [], (d) => stopServices(d, services));
}

/** `syft-bg restart [service]`: restart running services, start the others. */
export async function restart(service?: ServiceSelection, opts: ApiOptions = {}): Promise<ServicesResult> {
  const services = select(service);
  const ctx = resolveContext(opts);
  const notes = checkConfigForStart(ctx, services);
  const { restartServices } = require('../control') as typeof import('../control');
  return control(ctx, services, notes, (d) => restartServices(d, services));
}

export interface EnsureRunningOptions extends ApiOptions {
  /** Restart services that are already running. */
  restart?: boolean;
}

/** `syft-bg ensure-running SERVICE… [--restart]`: start only what is not running (or restart everything). */
export async function ensureRunning(services: ServiceSelection, opts: EnsureRunningOptions = {}): Promise<ServicesResult> {
  const names = select(services);
  const ctx = resolveContext(opts);
  const notes = checkConfigForStart(ctx, names);
  const { ensureRunning: ensure } = require('../control') as typeof import('../control');
  return control(ctx, names, notes, (d) => ensure(d, names, { restart: !!opts.restart }));
}
