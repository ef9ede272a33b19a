import type { Pm2Api } from '../pm2/client';
import type { AppDefinition } from '../pm2/apps';
import type { Pm2Process } from '../pm2/daemon-reader';

function norm(err: unknown): Error {
  // pm2 calls back with arrays of errors (node-ecosystem.md §A.2)
  const e = Array.isArray(err) ? err[0] : err;
  return e instanceof Error ? e : new Error(String((e as { message?: string })?.message ?? e));
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Connect to the PM2 daemon of `home` (spawning it if needed), run `fn`, disconnect. pm2's default instance is
 * bound to the PM2_HOME of the process when pm2 is first required; this works for any PM2 home: a fresh
 * `pm2.custom({ pm2_home })` per call (one connection per invocation, pm2 #5302). pm2 keeps its paths in one module-wide object that each instance
 * overwrites, so calls are serialised.
 */
export function withPm2Home<T>(home: string, fn: (api: Pm2Api) => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    // pm2 makes the folders of process.env.PM2_HOME (else ~/.pm2) when first required, and spawns its daemon with
    // process.env over its own PM2_HOME: point it at `home` for both.
    const prev = process.env.PM2_HOME;
    process.env.PM2_HOME = home;
    let pm2: any;
    try {
      const PM2 = (require('pm2') as { custom: new (o: { pm2_home: string }) => any }).custom;
      pm2 = new PM2({ pm2_home: home });
      await new Promise<void>((resolve, reject) => pm2.connect((e: unknown) => (e ? reject(norm(e)) : resolve())));
    } finally {
      if (prev === undefined) delete process.env.PM2_HOME;
      else process.env.PM2_HOME = prev;
    }
    const call = <R>(method: string, ...args: unknown[]) =>
      new Promise<R>((resolve, reject) => pm2[method](...args, (e: unknown, r: R) => (e ? reject(norm(e)) : resolve(r))));
    const api: Pm2Api = {
      list: () => call<Pm2Process[]>('list'),
      start: (app: AppDefinition) => call<void>('start', app),
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
  };
  const p = queue.then(run, run);
  queue = p.catch(() => undefined);
  return p;
}
