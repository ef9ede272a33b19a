import * as path from 'node:path';
import Module = require('node:module');
import type pino from 'pino';

/**
 * pino's SonicBoom type (pino-roll returns one), without importing the transitive sonic-boom package, plus the
 * runtime fields its typings leave out.
 */
export type SonicBoom = ReturnType<typeof pino.destination> & {
  /** The file being written (pino-roll moves it on rotation); null for an fd destination. */
  readonly file: string | null;
  /** True once closed (`end()` done or `destroy()`): writing then throws. */
  readonly destroyed: boolean;
};

/** The options of pino-roll 4.0.0 that we use (it ships no types). */
export interface PinoRollOptions {
  /** Base path: `<dir>/<name>.log` becomes `<dir>/<name>.<n>.log`. */
  file: string;
  /** `'10m'`, `'1k'`, … or a number of MB. */
  size?: string | number;
  frequency?: 'daily' | 'hourly' | number;
  /** `count`: files to keep; `removeOtherLogFiles`: also prune files left by earlier runs. */
  limit?: { count: number; removeOtherLogFiles?: boolean };
  symlink?: boolean;
  dateFormat?: string;
  /** Passed on to SonicBoom. */
  mkdir?: boolean;
  sync?: boolean;
  minLength?: number;
}

export type PinoRoll = (opts: PinoRollOptions) => Promise<SonicBoom>;

let cached: PinoRoll | undefined;

/**
 * `require('pino-roll')`, without paying for date-fns when it is not used.
 *
 * pino-roll's utils do `const { format, addDays, addHours, parse, isValid } = require('date-fns')` at load time,
 * and the date-fns CJS index loads ~250 modules: about +7.5 MB RSS and +50 ms per process. Those functions are only
 * called with the `frequency` or `dateFormat` options, which syft-bg does not use. So, while pino-roll loads, a
 * stand-in whose members are lazy wrappers (each loads the real date-fns on first call) sits in `require.cache`
 * under date-fns' own path; it is removed as soon as pino-roll is loaded, so anything else that requires date-fns
 * later gets the real module. When date-fns is already loaded, or `require.cache` is not Node's (Jest), this is a
 * no-op and pino-roll loads as usual.
 */
export function loadPinoRoll(): PinoRoll {
  if (cached) return cached;
  let installed: string | undefined;
  try {
    const rollMain = require.resolve('pino-roll');
    const dateFns = require.resolve('date-fns', { paths: [path.join(path.dirname(rollMain), 'lib')] });
    if (!require.cache[rollMain] && !require.cache[dateFns]) {
      const real = (): Record<string, unknown> => {
        // The stand-in is gone from the cache by the time a wrapper is called, so this loads the real module.
        return require(dateFns) as Record<string, unknown>;
      };
      const standIn = new Proxy({} as Record<string, unknown>, {
        get: (_t, key) =>
          typeof key === 'string' && key !== '__esModule' && key !== 'then'
            ? (...args: unknown[]) => (real()[key] as (...a: unknown[]) => unknown)(...args)
            : undefined,
      });
      const m = new Module(dateFns);
      m.filename = dateFns;
      m.loaded = true;
      m.exports = standIn;
      require.cache[dateFns] = m;
      if (require.cache[dateFns] === m) installed = dateFns;
    }
  } catch {
    installed = undefined; // resolution failed: just load pino-roll normally
  }
  try {
    cached = require('pino-roll') as PinoRoll;
  } finally {
    if (installed) delete require.cache[installed];
  }
  return cached;
}
