import * as fs from 'node:fs';
import * as path from 'node:path';
import { ServiceName, pm2Name } from './services';
import type { Pm2Api } from './pm2/client';
import type { AppDefinition } from './pm2/apps';
import type { Pm2Process } from './pm2/daemon-reader';
import type { HomeLayout } from './home';
import { deriveRuntime, ServiceRuntime } from './pm2/state';

export interface Report {
  /** Lines for stdout. */
  out: string[];
  /** Lines for stderr (problems). */
  err: string[];
  exitCode: number;
  /** The services that did not end up as asked (not started, refused); only set by the service commands. */
  failed?: ServiceName[];
}

export interface ControlDeps {
  api: Pm2Api;
  definition: (service: ServiceName) => AppDefinition;
  /** This home's readiness file of a service (see {@link readyFilePath}). */
  readyFile: (service: ServiceName) => string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How long to wait for a started service to report ready (default 10 s). */
  readyTimeoutMs?: number;
}

export const READY_TIMEOUT_MS = 10_000;
/** How often the CLI reads the readiness file while it waits (a stat-sized read: cheap). */
const READY_POLL_MS = 25;
/** How often it asks the PM2 daemon meanwhile (did the process die, did PM2 start another pid). */
const PM2_POLL_MS = 250;

/**
 * The readiness signal of a service started under PM2: `<home>/<svc>/ready.json`, written atomically by the service
 * (lib/service/runtime.ts) once its set-up (`create()`) succeeded (`state: 'ready'`), or by its fatal path before its
 * back-off (`state: 'failed'`, `message`: what it logs, e.g. the configuration or token problem). `start`, `restart`
 * and `ensure-running` poll it for the pid PM2 reports.
 *
 * Why a file and not PM2's `wait_ready` + `process.send('ready')`: PM2 only learns "ready" that way, never why a
 * service failed (the CLI would wait out `listen_timeout` and print nothing useful), `wait_ready` would also change
 * what `pm2 start ecosystem.config.js` does, and a file in the syft-bg home belongs to that home (two homes on one
 * PM2 daemon cannot mix their signals up). `status` and a person can read it too.
 */
export interface ReadyRecord {
  pid: number;
  state: 'ready' | 'failed';
  message?: string;
  /** ISO time of the write. */
  at: string;
}

export function readyFilePath(home: Pick<HomeLayout, 'serviceDir'>, service: ServiceName): string {
  return path.join(home.serviceDir(service), 'ready.json');
}

/** The readiness file's content; null when absent, half-written by hand or not ours (pure). */
export function parseReadyRecord(text: string | undefined): ReadyRecord | null {
  if (!text) return null;
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return null;
  }
  if (!j || typeof j !== 'object') return null;
  const r = j as Record<string, unknown>;
  if (typeof r.pid !== 'number' || !Number.isInteger(r.pid) || r.pid <= 0) return null;
  if (r.state !== 'ready' && r.state !== 'failed') return null;
  if (typeof r.at !== 'string' || Number.isNaN(Date.parse(r.at))) return null;
  return { pid: r.pid, state: r.state, at: r.at, ...(typeof r.message === 'string' ? { message: r.message } : {}) };
}

export type Readiness = { kind: 'waiting' } | { kind: 'ready'; pid: number } | { kind: 'failed'; pid: number; message: string } | { kind: 'other pid'; pid: number };

/**
 * What a readiness record says about a service started at `since` (ms) whose process PM2 reports as `pid` (pure).
 * Records older than `since` are a previous run's. `ready` counts only for the pid PM2 runs now; `failed` for any pid
 * of this start (PM2 may already have restarted the failed process). A fresh `ready` of another pid: ask PM2 again.
 */
export function readinessOf(rec: ReadyRecord | null, pid: number | null, since: number): Readiness {
  if (!rec || Date.parse(rec.at) < since) return { kind: 'waiting' };
  if (rec.state === 'failed') return { kind: 'failed', pid: rec.pid, message: rec.message ?? 'the service failed while starting' };
  if (pid !== null && rec.pid === pid) return { kind: 'ready', pid };
  return { kind: 'other pid', pid: rec.pid };
}

const find = (list: Pm2Process[], s: ServiceName) => list.find((p) => p.name === pm2Name(s));

/** The syft-bg home a PM2 app serves (its SYFT_BG_HOME); null when it does not say (started by hand). */
export function appHome(p: Pm2Process | undefined): string | null {
  if (!p) return null;
  const env = p.pm2_env as Record<string, unknown>;
  const inner = env.env && typeof env.env === 'object' ? (env.env as Record<string, unknown>).SYFT_BG_HOME : undefined;
  const h = typeof env.SYFT_BG_HOME === 'string' ? env.SYFT_BG_HOME : typeof inner === 'string' ? inner : null;
  return h && h !== '' ? path.resolve(h) : null;
}

/** A folder with its symbolic links resolved (as given when it does not exist). */
function realFolder(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** The other syft-bg home `p` serves, when it is not `ours` (the same folder reached through a link is ours). */
export function otherHomeOf(p: Pm2Process | undefined, ours: string): string | null {
  const h = appHome(p);
  if (h === null || h === path.resolve(ours)) return null;
  return realFolder(h) === realFolder(ours) ? null : h;
}

/** Why this home leaves a service of another home alone (pure). */
export function otherHomeMessage(s: ServiceName, rt: ServiceRuntime, theirs: string, ours: string, pm2Home: string): string {
  const running = rt.state === 'online' || rt.state === 'starting' || rt.state === 'restarting' || rt.state === 'stopping';
  const what = running ? 'is running' : `is registered (${rt.state})`;
  const advice = running
    ? 'Stop it there, or use another PM2_HOME.'
    : `Delete it ('pm2 delete ${pm2Name(s)}' with PM2_HOME=${pm2Home}) if that home no longer needs it, or use another PM2_HOME.`;
  return `${s} ${what} for another syft-bg home (${theirs}); this home (${ours}) cannot run its own on the same PM2 daemon (PM2_HOME=${pm2Home}). ${advice}`;
}

/**
 * Whether a PM2 restart of `p` would run `def`: same script, interpreter and environment. PM2's restart keeps the
 * environment the app was started with, so a changed variable (a new `SYFT_BG_GOOGLE_ROOT_URL`, proxy, locale, a
 * removed `SYFT_BG_*`) needs the app re-created instead.
 */
export function sameDefinition(p: Pm2Process, def: AppDefinition): boolean {
  const env = p.pm2_env as Record<string, unknown>;
  if (env.pm_exec_path !== def.script || env.exec_interpreter !== def.interpreter) return false;
  const running = env.env && typeof env.env === 'object' ? (env.env as Record<string, unknown>) : env;
  for (const [k, v] of Object.entries(def.env)) if (running[k] !== v) return false;
  for (const k of Object.keys(running)) if (k.startsWith('SYFT_BG_') && !(k in def.env)) return false;
  return true;
}

type Outcome =
  | { kind: 'ready'; pid: number }
  | { kind: 'failed'; message: string }
  | { kind: 'down'; rt: ServiceRuntime }
  | { kind: 'timeout'; rt: ServiceRuntime };

function readRecord(file: string): ReadyRecord | null {
  try {
    return parseReadyRecord(fs.readFileSync(file, 'utf8'));
  } catch {
    return null; // not written yet
  }
}

/**
 * Wait until the service started at `since` reports ready or failed, or PM2 gives up on it, or the timeout.
 * The readiness file is read every 25 ms; PM2 is asked every 250 ms (and when a fresh `ready` names another pid).
 */
async function waitReady(deps: ControlDeps, api: Pm2Api, s: ServiceName, since: number): Promise<Outcome> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const file = deps.readyFile(s);
  const deadline = now() + (deps.readyTimeoutMs ?? READY_TIMEOUT_MS);
  let rt = deriveRuntime(find(await api.list(), s), now());
  let listedAt = now();
  for (;;) {
    const r = readinessOf(readRecord(file), rt.pid, since);
    if (r.kind === 'ready') return r;
    if (r.kind === 'failed') return { kind: 'failed', message: r.message };
    if (rt.state === 'errored' || rt.state === 'stopped' || rt.state === 'not started') return { kind: 'down', rt };
    if (now() > deadline) return { kind: 'timeout', rt };
    await sleep(READY_POLL_MS);
    if (r.kind === 'other pid' || now() - listedAt >= PM2_POLL_MS) {
      rt = deriveRuntime(find(await api.list(), s), now());
      listedAt = now();
    }
  }
}

function describeFailure(s: ServiceName, rt: ServiceRuntime): string {
  return `${s} did not come online (state: ${rt.state}${rt.detail ? `, ${rt.detail}` : ''}). See: syft-bg logs ${s}`;
}

/** A service to (re)start: what to do with PM2, and what to say once it is ready. */
interface Launch {
  s: ServiceName;
  existing: Pm2Process | undefined;
  /** PM2 restart of the same definition (else delete + start). */
  restart: boolean;
  /** `Started notify (pid N${note}).` */
  verb: 'Started' | 'Restarted';
  note: string;
}

/**
 * Start or restart the services, all at once (the PM2 daemon handles concurrent commands; `pm2 start` of an
 * ecosystem does the same), then wait for each to report ready. A service whose set-up failed is stopped (PM2 would
 * restart it until it is marked errored, failing the same way each time) and reported with the reason it gave.
 */
async function launchAll(deps: ControlDeps, launches: Launch[], slots: Map<ServiceName, Report>): Promise<void> {
  const now = deps.now ?? Date.now;
  const api = deps.api;
  const timeout = (deps.readyTimeoutMs ?? READY_TIMEOUT_MS) / 1000;
  await Promise.all(
    launches.map(async (l) => {
      const r = slots.get(l.s)!;
      const def = deps.definition(l.s);
      const since = now();
      if (l.existing && l.restart && sameDefinition(l.existing, def)) {
        await api.restart(def.name);
      } else {
        // A stopped/errored app, or one started from another install: replace it so the current definition applies.
        if (l.existing) await api.delete(def.name);
        await api.start(def);
      }
      const o = await waitReady(deps, api, l.s, since);
      if (o.kind === 'ready') {
        r.out.push(`${l.verb} ${l.s} (pid ${o.pid}${l.note}).`);
        return;
      }
      r.exitCode = 1;
      r.failed = [l.s];
      if (o.kind === 'failed') {
        r.err.push(`${l.s} did not start: ${o.message}`);
        await api.stop(pm2Name(l.s)).catch(() => undefined);
        r.err.push(`${l.s} is stopped; fix the cause, then: syft-bg start ${l.s} (details: syft-bg logs ${l.s})`);
      } else if (o.kind === 'timeout' && o.rt.state === 'online') {
        r.err.push(
          `${l.s} is online (pid ${o.rt.pid}) but not ready yet: it did not finish starting within ${timeout} s. See: syft-bg logs ${l.s}, then syft-bg status`,
        );
      } else {
        r.err.push(describeFailure(l.s, o.rt));
      }
    }),
  );
}

/** Per-service reports, merged in service order (services are waited for concurrently). */
function merge(services: ServiceName[], slots: Map<ServiceName, Report>): Report {
  const r: Report = { out: [], err: [], exitCode: 0, failed: [] };
  for (const s of services) {
    const x = slots.get(s)!;
    r.out.push(...x.out);
    r.err.push(...x.err);
    if (x.exitCode !== 0) r.exitCode = x.exitCode;
    r.failed!.push(...(x.failed ?? []));
  }
  return r;
}

const slotsFor = (services: ServiceName[]) => new Map(services.map((s) => [s, { out: [], err: [], exitCode: 0 } as Report]));

/** Refuse (into `r`) to touch `p` when it serves another home; false when it is ours (or not there). */
function refuseOtherHome(deps: ControlDeps, s: ServiceName, p: Pm2Process | undefined, rt: ServiceRuntime, r: Report): boolean {
  const def = deps.definition(s);
  const theirs = otherHomeOf(p, def.env.SYFT_BG_HOME!);
  if (!theirs) return false;
  r.err.push(otherHomeMessage(s, rt, theirs, def.env.SYFT_BG_HOME!, def.env.PM2_HOME ?? '?'));
  r.exitCode = 1;
  r.failed = [s];
  return true;
}

/** `syft-bg start [svc]`: start what is not running; a running service is left alone and said so. */
export function startServices(deps: ControlDeps, services: ServiceName[]): Promise<Report> {
  return startUnlessRunning(deps, services, false, (s, pid) => `${s} is already running (pid ${pid}); nothing changed.`);
}

/** `syft-bg stop [svc]`: stop what runs; a stopped service is said so. A service of another home is left alone. */
export async function stopServices(deps: ControlDeps, services: ServiceName[]): Promise<Report> {
  const slots = slotsFor(services);
  const list = await deps.api.list();
  for (const s of services) {
    const r = slots.get(s)!;
    const p = find(list, s);
    const rt = deriveRuntime(p, (deps.now ?? Date.now)());
    if (rt.state === 'not started') {
      r.out.push(`${s} is not running (not started); nothing changed.`);
    } else if (rt.state === 'stopped') {
      r.out.push(`${s} is not running (stopped); nothing changed.`);
    } else if (!refuseOtherHome(deps, s, p, rt, r)) {
      await deps.api.stop(pm2Name(s));
      r.out.push(rt.state === 'errored' ? `Stopped ${s} (it was errored: ${rt.detail}).` : `Stopped ${s}.`);
    }
  }
  return merge(services, slots);
}

/** `syft-bg restart [svc]`: restart running services, start the others (saying what they were). */
export async function restartServices(deps: ControlDeps, services: ServiceName[]): Promise<Report> {
  const slots = slotsFor(services);
  const list = await deps.api.list();
  const launches: Launch[] = [];
  for (const s of services) {
    const p = find(list, s);
    const rt = deriveRuntime(p, (deps.now ?? Date.now)());
    if (refuseOtherHome(deps, s, p, rt, slots.get(s)!)) continue;
    launches.push({ s, existing: p, restart: true, ...restartWording(rt) });
  }
  await launchAll(deps, launches, slots);
  return merge(services, slots);
}

/** What `restart` says for a service in state `rt` (pure): a stopped or errored one is started, and said so. */
export function restartWording(rt: ServiceRuntime): { verb: 'Started' | 'Restarted'; note: string } {
  switch (rt.state) {
    case 'not started':
      return { verb: 'Started', note: '' };
    case 'stopped':
      return { verb: 'Started', note: '; it was stopped' };
    case 'errored':
      return { verb: 'Started', note: `; it was errored: ${rt.detail ?? 'crashed repeatedly'}` };
    default:
      return { verb: 'Restarted', note: '' };
  }
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
  const slots = slotsFor(services);
  const list = await deps.api.list();
  const launches: Launch[] = [];
  for (const s of services) {
    const p = find(list, s);
    const rt = deriveRuntime(p, (deps.now ?? Date.now)());
    if (refuseOtherHome(deps, s, p, rt, slots.get(s)!)) continue;
    if (rt.state === 'online' && !restartRunning) {
      slots.get(s)!.out.push(runningMessage(s, rt.pid));
      continue;
    }
    const online = !!p && rt.state === 'online';
    launches.push({ s, existing: p, restart: online, verb: online ? 'Restarted' : 'Started', note: '' });
  }
  await launchAll(deps, launches, slots);
  return merge(services, slots);
}
