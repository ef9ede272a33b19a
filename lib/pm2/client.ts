import type { AppDefinition } from './apps';
import type { Pm2Process } from './daemon-reader';

/** The part of the PM2 programmatic API syft-bg uses, as promises. */
export interface Pm2Api {
  list(): Promise<Pm2Process[]>;
  start(app: AppDefinition): Promise<void>;
  stop(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** The daemon's pm2 version (may differ from ours after an upgrade). */
  version(): Promise<string | undefined>;
}

function norm(err: unknown): Error {
  // pm2 calls back with arrays of errors (node-ecosystem.md §A.2)
  const e = Array.isArray(err) ? err[0] : err;
  return e instanceof Error ? e : new Error(String((e as { message?: string })?.message ?? e));
}

/**
 * Connect to the PM2 daemon of this process's PM2_HOME (spawning it if needed), run `fn`, disconnect.
 * pm2 is required lazily: its paths are fixed at require time from process.env.PM2_HOME, so callers must
 * have set PM2_HOME (if at all) before the first call. One connection per invocation (pm2 #5302).
 */
export async function withPm2<T>(fn: (api: Pm2Api) => Promise<T>): Promise<T> {
  const pm2 = require('pm2') as any;
  await new Promise<void>((resolve, reject) => pm2.connect((e: unknown) => (e ? reject(norm(e)) : resolve())));
  const call = <R>(method: string, ...args: unknown[]) =>
    new Promise<R>((resolve, reject) => pm2[method](...args, (e: unknown, r: R) => (e ? reject(norm(e)) : resolve(r))));
  const api: Pm2Api = {
    list: () => call<Pm2Process[]>('list'),
    start: (app) => call<void>('start', app),
    stop: (name) => call<void>('stop', name),
    restart: (name) => call<void>('restart', name),
    delete: (name) => call<void>('delete', name),
    version: () =>
      new Promise((resolve) => {
        try {
          pm2.Client.executeRemote('getVersion', {}, (e: unknown, v: string) => resolve(e ? undefined : v));
        } catch {
          resolve(undefined);
        }
      }),
  };
  try {
    return await fn(api);
  } finally {
    pm2.disconnect();
  }
}
