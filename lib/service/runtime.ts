import * as path from 'node:path';
import type { Logger } from 'pino';
import { currentHome, HomeLayout } from '../home';
import { ServiceName } from '../services';
import { isUserError, EXIT } from '../errors';
import { RESTART_POLICY } from '../pm2/apps';
import { backoffMs, creationWindowExpired, pm2ChildEnv } from './fatal';
import { runLoop } from './loop';
import { readyFilePath, type ReadyRecord } from '../control';
import type { LoadedConfig } from '../config/load';
import type { MetricRegistry } from '../metrics/registry';

/** What a service is, once built from its configuration. */
export interface RunningService {
  /** Fields of the start line: what the service will watch and how it delivers. */
  startInfo: Record<string, unknown>;
  /** Fallback period of a full pass. */
  intervalMs: number;
  /** Folders whose changes trigger a pass. */
  watch(): string[];
  /** One pass. */
  cycle(): Promise<void>;
  close?(): Promise<void>;
  /** The service's own metrics, published to PM2 (`pm2 show`, `pm2 monit`, `syft-bg status --json`). */
  metrics?: MetricRegistry;
}

export interface ServiceContext {
  service: ServiceName;
  home: HomeLayout;
  loaded: LoadedConfig;
  logger: Logger;
  signal: AbortSignal;
}

export interface ServiceDefinition {
  name: ServiceName;
  /** Build the service. Throw a UserError for configuration problems (the service then exits with code 78). */
  create(ctx: ServiceContext): Promise<RunningService>;
}

export interface RunOptions {
  once: boolean;
  /** run-foreground: pretty logs on this terminal, no PM2 backoff. */
  foreground: boolean;
  env?: NodeJS.ProcessEnv;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gauge the runtime keeps up to date for services that define it: the duration of the last pass, in ms. */
export const LAST_CYCLE_METRIC = 'last cycle';

/**
 * The one code path of a service, used both by PM2 (apps/<svc>/main.js) and by `syft-bg run-foreground`.
 * Returns the exit code.
 */
export async function runService(def: ServiceDefinition, opts: RunOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const home = currentHome(env);
  const child = pm2ChildEnv(env);
  const { createServiceLogger } = require('../log/logger') as typeof import('../log/logger');
  let log: Awaited<ReturnType<typeof createServiceLogger>>;
  try {
    log = await createServiceLogger({
      service: def.name,
      logsDir: home.logs,
      level: env.SYFT_BG_LOG_LEVEL,
      stdout: opts.foreground ? 'pretty' : 'json',
    });
  } catch (e) {
    // No log to tell it in: say it on stderr (PM2 keeps it in pm2-error.log; the CLI shows it), in words.
    const code = (e as NodeJS.ErrnoException)?.code;
    if (typeof code !== 'string') throw e;
    const { fsReason } = require('../fs/folders') as typeof import('../fs/folders');
    const where = (e as NodeJS.ErrnoException).path ?? home.logs;
    process.stderr.write(`${opts.foreground ? 'Error: ' : `syft-bg ${def.name}: `}cannot write its logs at ${where}: ${fsReason(e)}\n`);
    return EXIT.failure;
  }
  const logger = log.logger;
  capPm2ErrorLog(home.logs, def.name, logger);
  const abort = new AbortController();
  let stopping = false;

  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal: sig }, 'second signal: exiting now');
      void log.close().finally(() => process.exit(0));
      return;
    }
    stopping = true;
    logger.info({ signal: sig }, `${def.name} stopping`);
    abort.abort();
    // Never outlive PM2's kill timeout: leave before SIGKILL so the logs get flushed.
    setTimeout(() => {
      logger.error(`${def.name} did not stop within ${RESTART_POLICY.killTimeoutMs - 1000} ms; exiting`);
      void log.close().finally(() => process.exit(1));
    }, RESTART_POLICY.killTimeoutMs - 1000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Under PM2, tell `syft-bg start|restart|ensure-running` (lib/control.ts) whether the set-up succeeded, and if not
  // why: `<home>/<svc>/ready.json`. run-foreground shows both on its terminal and needs no signal.
  const signalReady = (state: 'ready' | 'failed', message?: string) => {
    if (!child.underPm2 || opts.foreground) return;
    try {
      writeReadyRecord(home, def.name, { pid: process.pid, state, ...(message !== undefined ? { message } : {}), at: new Date().toISOString() });
    } catch (e) {
      logger.warn({ err: e }, `could not write the readiness file: ${(e as Error).message}`);
    }
  };

  const fatal = async (code: number, message: string, err?: unknown): Promise<number> => {
    if (err && !isUserError(err)) logger.fatal({ err }, message);
    else logger.fatal(message);
    // Also on stderr: PM2 keeps it in logs/<svc>/pm2-error.log, run-foreground shows it.
    process.stderr.write(opts.foreground ? `Error: ${message}\n` : `syft-bg ${def.name}: ${message}\n`);
    signalReady('failed', message);
    if (child.underPm2 && !opts.foreground) {
      if (creationWindowExpired(child, Date.now()) && child.pmId !== null) {
        const { withDaemonRpc } = require('../pm2/daemon-reader') as typeof import('../pm2/daemon-reader');
        const { pm2Home } = require('../pm2/home') as typeof import('../pm2/home');
        await withDaemonRpc(pm2Home(env), 1000, (call) => call('resetMetaProcessId', child.pmId)).catch(() => undefined);
      }
      const wait = backoffMs(child.unstableRestarts);
      logger.info(`exiting with code ${code} in ${wait} ms (PM2 restarts it; after ${RESTART_POLICY.maxRestarts} quick failures it is marked errored)`);
      await Promise.race([sleep(wait), new Promise((r) => abort.signal.addEventListener('abort', r))]);
    }
    await log.close();
    return code;
  };

  process.on('uncaughtException', (e) => {
    void fatal(EXIT.failure, `uncaught error: ${(e as Error)?.message ?? e}`, e).then((c) => process.exit(c));
  });
  process.on('unhandledRejection', (e) => {
    void fatal(EXIT.failure, `unhandled rejection: ${(e as Error)?.message ?? e}`, e).then((c) => process.exit(c));
  });

  let loaded: LoadedConfig;
  let svc: RunningService;
  try {
    // The validated cache (same inode/size/mtime/text as config.yaml) spares a service the ~20 MB of yaml + zod.
    const { loadConfigCached } = require('../config/cached') as typeof import('../config/cached');
    loaded = loadConfigCached(home);
    if (!loaded.exists) {
      throw new (require('../errors').UserError)(
        `no configuration at ${home.config}. Run 'syft-bg init -e EMAIL' first.`,
        EXIT.config,
      );
    }
    svc = await def.create({ service: def.name, home, loaded, logger, signal: abort.signal });
  } catch (e) {
    if (isUserError(e)) return fatal(EXIT.config, e.message, e);
    const fsErr = e as NodeJS.ErrnoException;
    if (typeof fsErr?.code === 'string' && typeof fsErr.syscall === 'string') {
      // A file it cannot write (read-only file system, permissions, disk full): the folder and the reason in words.
      const { fsReason } = require('../fs/folders') as typeof import('../fs/folders');
      const where = fsErr.path ? path.dirname(fsErr.path) : home.dir;
      return fatal(EXIT.failure, `could not start: cannot write in ${where}: ${fsReason(e)}`, e);
    }
    return fatal(EXIT.failure, `could not start: ${(e as Error).message}`, e);
  }

  logger.info(
    { ...svc.startInfo, config: home.config, interval_s: svc.intervalMs / 1000, node: process.version, once: opts.once },
    `${def.name} started`,
  );
  signalReady('ready');

  const onError = (e: unknown) => logger.error({ err: e }, `${def.name} pass failed: ${(e as Error)?.message ?? e}`);
  if (opts.once) {
    try {
      await svc.cycle();
    } catch (e) {
      onError(e);
      await svc.close?.();
      await log.close();
      return EXIT.failure;
    }
  } else {
    const metrics = svc.metrics;
    let unpublish = () => {};
    if (metrics) {
      try {
        unpublish = (require('../metrics/pm2') as typeof import('../metrics/pm2')).publishToPm2(metrics, env);
      } catch (e) {
        logger.warn({ err: e }, `metrics not published to PM2: ${(e as Error).message}`);
      }
    }
    const hasCycleGauge = metrics?.list().some((d) => d.name === LAST_CYCLE_METRIC) ?? false;
    await runLoop({
      cycle: () => svc.cycle(),
      intervalMs: svc.intervalMs,
      watch: () => svc.watch(),
      signal: abort.signal,
      onError,
      ...(hasCycleGauge ? { onCycle: (ms: number) => metrics!.set(LAST_CYCLE_METRIC, ms) } : {}),
    });
    unpublish();
  }
  await svc.close?.();
  logger.info(`${def.name} stopped`);
  await log.close();
  return EXIT.ok;
}

/** Write `<home>/<svc>/ready.json` (atomically: the CLI polls it while the service starts). */
export function writeReadyRecord(home: HomeLayout, service: ServiceName, rec: ReadyRecord): void {
  const { writeFileAtomic } = require('../fs/atomic') as typeof import('../fs/atomic');
  writeFileAtomic(readyFilePath(home, service), JSON.stringify(rec) + '\n');
}

/** Entry point helper for apps/<svc>/main.ts. */
export function runMain(def: ServiceDefinition): void {
  const once = process.argv.includes('--once');
  runService(def, { once, foreground: false }).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`syft-bg ${def.name}: ${(e as Error)?.stack ?? e}\n`);
      process.exit(1);
    },
  );
}

/**
 * PM2 appends this service's stderr (crash traces from before the logger was up) to logs/<svc>/pm2-error.log and
 * never rotates it. At each start, if it passed 10 MB, keep its last 1 MB in pm2-error.log.1 and empty it: PM2 writes
 * with O_APPEND, so truncating under it is safe.
 */
export function capPm2ErrorLog(logsDir: string, service: string, logger: Logger, limit = 10 * 1024 * 1024): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const file = path.join(logsDir, service, 'pm2-error.log');
  try {
    const size = fs.statSync(file).size;
    if (size <= limit) return;
    const keep = Math.min(size, 1024 * 1024);
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(keep);
    try {
      fs.readSync(fd, buf, 0, keep, size - keep);
    } finally {
      fs.closeSync(fd);
    }
    fs.writeFileSync(file + '.1', buf);
    fs.truncateSync(file, 0);
    logger.info({ file, size }, 'pm2-error.log passed the size limit: its tail is in pm2-error.log.1');
  } catch {
    // missing or unreadable: nothing to cap
  }
}

export function datasiteDir(root: string, email: string): string {
  return path.join(root, email);
}
