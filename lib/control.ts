import { ServiceName, pm2Name } from './services';
import type { Pm2Api } from './pm2/client';
import type { AppDefinition } from './pm2/apps';
import type { Pm2Process } from './pm2/daemon-reader';
import { deriveRuntime, ServiceRuntime } from './pm2/state';

export interface Report {
  /** Lines for stdout. */
  out: string[];
  /** Lines for stderr (problems). */
  err: string[];
  exitCode: number;
}

export interface ControlDeps {
  api: Pm2Api;
  definition: (service: ServiceName) => AppDefinition;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How long to wait for a started service to come online. */
  onlineTimeoutMs?: number;
}

const find = (list: Pm2Process[], s: ServiceName) => list.find((p) => p.name === pm2Name(s));

function sameDefinition(p: Pm2Process, def: AppDefinition): boolean {
  const env = p.pm2_env as Record<string, unknown>;
  return env.pm_exec_path === def.script && env.exec_interpreter === def.interpreter && env.SYFT_BG_HOME === def.env.SYFT_BG_HOME;
}

async function waitOnline(deps: ControlDeps, s: ServiceName): Promise<ServiceRuntime> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const deadline = now() + (deps.onlineTimeoutMs ?? 5000);
  for (;;) {
    const rt = deriveRuntime(find(await deps.api.list(), s), now());
    if (rt.state === 'online' || rt.state === 'errored' || rt.state === 'stopped' || now() > deadline) return rt;
    await sleep(40);
  }
}

function describeFailure(s: ServiceName, rt: ServiceRuntime): string {
  return `${s} did not come online (state: ${rt.state}${rt.detail ? `, ${rt.detail}` : ''}). See: syft-bg logs ${s}`;
}

async function launch(deps: ControlDeps, s: ServiceName, existing: Pm2Process | undefined, verb: 'Started' | 'Restarted', r: Report) {
  const def = deps.definition(s);
  if (existing && verb === 'Restarted' && sameDefinition(existing, def)) {
    await deps.api.restart(def.name);
  } else {
    // A stopped/errored app, or one started from another install: replace it so the current definition applies.
    if (existing) await deps.api.delete(def.name);
    await deps.api.start(def);
  }
  const rt = await waitOnline(deps, s);
  if (rt.state === 'online') r.out.push(`${verb} ${s} (pid ${rt.pid}).`);
  else {
    r.err.push(describeFailure(s, rt));
    r.exitCode = 1;
  }
}

/** `syft-bg start [svc]`: start what is not running; a running service is left alone and said so. */
export function startServices(deps: ControlDeps, services: ServiceName[]): Promise<Report> {
  return startUnlessRunning(deps, services, false, (s, pid) => `${s} is already running (pid ${pid}); nothing changed.`);
}

/** `syft-bg stop [svc]`: stop what runs; a stopped service is said so. */
export async function stopServices(deps: ControlDeps, services: ServiceName[]): Promise<Report> {
  const r: Report = { out: [], err: [], exitCode: 0 };
  const list = await deps.api.list();
  for (const s of services) {
    const p = find(list, s);
    const rt = deriveRuntime(p, (deps.now ?? Date.now)());
    if (rt.state === 'not started') {
      r.out.push(`${s} is not running (not started); nothing changed.`);
    } else if (rt.state === 'stopped') {
      r.out.push(`${s} is not running (stopped); nothing changed.`);
    } else {
      await deps.api.stop(pm2Name(s));
      r.out.push(rt.state === 'errored' ? `Stopped ${s} (it was errored: ${rt.detail}).` : `Stopped ${s}.`);
    }
  }
  return r;
}

/** `syft-bg restart [svc]`: restart running services, start the others. */
export async function restartServices(deps: ControlDeps, services: ServiceName[]): Promise<Report> {
  const r: Report = { out: [], err: [], exitCode: 0 };
  const list = await deps.api.list();
  for (const s of services) {
    const p = find(list, s);
    await launch(deps, s, p, p ? 'Restarted' : 'Started', r);
  }
  return r;
}

/** `syft-bg ensure-running SVC... [--restart]`: start only what is not running (or restart everything). */
export function ensureRunning(deps: ControlDeps, services: ServiceName[], opts: { restart: boolean }): Promise<Report> {
  return startUnlessRunning(deps, services, opts.restart, (s, pid) => `${s} is already running (pid ${pid}), skipping. Use --restart to restart it.`);
}

async function startUnlessRunning(
  deps: ControlDeps,
  services: ServiceName[],
  restartRunning: boolean,
  runningMessage: (s: ServiceName, pid: number | null) => string,
): Promise<Report> {
  const r: Report = { out: [], err: [], exitCode: 0 };
  const list = await deps.api.list();
  for (const s of services) {
    const p = find(list, s);
    const rt = deriveRuntime(p, (deps.now ?? Date.now)());
    if (rt.state === 'online' && !restartRunning) {
      r.out.push(runningMessage(s, rt.pid));
      continue;
    }
    await launch(deps, s, p, p && rt.state === 'online' ? 'Restarted' : 'Started', r);
  }
  return r;
}
