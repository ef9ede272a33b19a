import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import pino from 'pino';
import { listLogFiles, rollBase, serviceLogDir, assertServiceName } from './files';
import { loadPinoRoll, type SonicBoom } from './roll';
import { createRenderer } from './render';
import { mkdirRecursive } from '../fs/folders';

export interface ServiceLoggerOptions {
  /** Service name: the folder and file name under `logsDir`, and the `service` field of every line. */
  service: string;
  /** `<home>/logs` (HomeLayout.logs). The files go to `<logsDir>/<service>/<service>.<n>.log`. */
  logsDir: string;
  /**
   * pino level name (default `info`). An unknown name (e.g. a typo in an environment variable) falls back to `info`
   * with a warning in the log rather than stopping the service.
   */
  level?: string;
  /**
   * Also write every line to fd 1. `true`/`'json'` (default): the JSON line (PM2 fork mode pipes it to the daemon:
   * bus, `pm2 logs -f`, `monit`). `'pretty'`: rendered by pino-pretty for a terminal (`run-foreground`); the file
   * still gets JSON. `false`: file only.
   */
  stdout?: boolean | 'json' | 'pretty';
  /** Rotate when the file reaches this size: pino-roll syntax (`'10m'`, `'512k'`, a number = MB). Default `'10m'`. */
  maxSize?: string | number;
  /** Rotated files kept per service, the one being written included (≥ 1). Default 5. */
  maxFiles?: number;
  /**
   * Keep pino-roll's `current.log` symlink. Default: when the filesystem supports symlinks (Google Drive's FUSE
   * mount on Colab may not; pino-roll would then fail to start, and skip pruning on every rotation).
   */
  symlink?: boolean;
}

export interface ServiceLogger {
  logger: pino.Logger;
  /** The file being written (changes on rotation). */
  readonly file: string;
  /**
   * Write out everything logged so far to the file (fsync'd and closed) and to stdout, then stop writing.
   * Later log calls are dropped. Idempotent. Call it from the SIGTERM/SIGINT handler before exiting.
   */
  close(): Promise<void>;
}

export const DEFAULT_MAX_SIZE = '10m';
export const DEFAULT_MAX_FILES = 5;
export const REDACT_CENSOR = '[REDACTED]';

/** Fields that can carry credentials (OAuth tokens, client secrets, Authorization headers). Case-sensitive. */
export const REDACT_PATHS: readonly string[] = (() => {
  const keys = ['token', 'access_token', 'refresh_token', 'id_token', 'client_secret', 'private_key', 'password', 'authorization', 'Authorization'];
  return [
    ...keys,
    ...keys.map((k) => `*.${k}`),
    'headers.authorization',
    'headers.Authorization',
    '*.headers.authorization',
    '*.headers.Authorization',
    // Errors of HTTP clients (gaxios) carry the request config: err.config.headers / err.response.config.headers.
    'err.config.headers.authorization',
    'err.config.headers.Authorization',
    'err.response.config.headers.authorization',
    'err.response.config.headers.Authorization',
  ];
})();

/**
 * A pino logger for one service that writes JSON lines to stdout and to size-rotated files through pino-roll
 * (in-process, no worker thread).
 *
 * - File writes are synchronous (pino-roll's SonicBoom with `sync: true`): a line is in the file when the log call
 *   returns, so nothing is lost if the process crashes or calls `process.exit()`. pino-roll still rotates (on the
 *   next tick after the size is reached).
 * - stdout is pino's usual asynchronous SonicBoom on fd 1 (a slow PM2 daemon does not stall the service); pino
 *   flushes it on exit, and `close()` flushes it too.
 * - Disk use is bounded across restarts, to about maxFiles × maxSize: pino-roll continues the highest-numbered file
 *   on start, and we delete all but the newest `maxFiles` files, files of earlier runs included, at start and
 *   synchronously each time pino-roll opens a new file.
 *   pino-roll's own `limit` is not used. With `{ count, removeOtherLogFiles: true }` it does prune earlier runs'
 *   files too (without `removeOtherLogFiles` it never does: unbounded across restarts), but asynchronously after
 *   the rotation, so under load several rotations pass before its unlinks land (more than maxFiles files), and two
 *   overlapping prunes make one of them retry its unlink on ENOENT every 100 ms for 5 s.
 */
export async function createServiceLogger(opts: ServiceLoggerOptions): Promise<ServiceLogger> {
  const service = assertServiceName(opts.service);
  const maxFiles = opts.maxFiles ?? DEFAULT_MAX_FILES;
  if (!Number.isInteger(maxFiles) || maxFiles < 1) throw new Error(`maxFiles must be an integer ≥ 1, got ${maxFiles}`);
  const maxSize = opts.maxSize ?? DEFAULT_MAX_SIZE;
  const dir = serviceLogDir(opts.logsDir, service);
  mkdirRecursive(dir); // the OS's reason (EROFS, EACCES) rather than Node's ENOENT
  pruneLogFiles(opts.logsDir, service, maxFiles);

  const fileDest = await loadPinoRoll()({
    file: rollBase(opts.logsDir, service),
    size: maxSize,
    symlink: opts.symlink ?? canSymlink(dir),
    mkdir: true,
    sync: true,
  });
  const stdoutMode = opts.stdout === false ? 'none' : opts.stdout === 'pretty' ? 'pretty' : 'json';
  const stdoutDest = stdoutMode === 'none' ? undefined : (pino.destination({ dest: 1, sync: false, minLength: 0 }) as SonicBoom);
  const renderLine =
    stdoutMode === 'pretty' ? createRenderer({ json: false, color: !!process.stdout.isTTY && !process.env.NO_COLOR }) : undefined;
  const toStdout = renderLine ? (line: string) => `${renderLine(line.endsWith('\n') ? line.slice(0, -1) : line)}\n` : (line: string) => line;

  // Prune synchronously as soon as each new file is open (SonicBoom emits 'ready' after every reopen).
  fileDest.on('ready', () => {
    try {
      pruneLogFiles(opts.logsDir, service, maxFiles);
    } catch {
      // best effort: tried again at the next rotation and at the next start
    }
  });

  let fileFailed = false;
  fileDest.on('error', (err: Error) => {
    // Disk full, permissions… Say so once on stderr (PM2's error_file) and keep the service running.
    if (fileFailed) return;
    fileFailed = true;
    process.stderr.write(`syft-bg ${service}: cannot write log file ${fileDest.file ?? dir}: ${err.message}\n`);
  });
  let stdoutBroken = false;
  stdoutDest?.on('error', () => {
    stdoutBroken = true; // EPIPE etc.: the file still gets everything
  });

  let closed = false;
  const tee: pino.DestinationStream = {
    write(line: string) {
      if (closed) return;
      if (stdoutDest && !stdoutBroken && !stdoutDest.destroyed) {
        try {
          stdoutDest.write(toStdout(line));
        } catch {
          stdoutBroken = true;
        }
      }
      if (!fileDest.destroyed) {
        try {
          fileDest.write(line);
        } catch (e) {
          fileDest.emit('error', e);
        }
      }
    },
  };

  const level = opts.level === undefined || opts.level === '' ? 'info' : opts.level;
  const knownLevel = level === 'silent' || Object.hasOwn(pino.levels.values, level);
  const logger = pino(
    {
      level: knownLevel ? level : 'info',
      base: { service, pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
    },
    tee,
  );

  if (!knownLevel) logger.warn({ requestedLevel: level }, `unknown log level '${level}', using 'info'`);

  let closing: Promise<void> | undefined;
  const initialFile = fileDest.file ?? rollBase(opts.logsDir, service);
  return {
    logger,
    get file() {
      return fileDest.file ?? initialFile;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        await Promise.all([endStream(fileDest), stdoutDest && !stdoutBroken ? endStream(stdoutDest) : undefined]);
      })();
      return closing;
    },
  };
}

/** Flush and close a SonicBoom (fd 1 is flushed but not closed by SonicBoom); resolves on 'close' or error. */
function endStream(s: SonicBoom, timeoutMs = 5000): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      s.off('close', done);
      s.off('error', done);
      resolve();
    };
    // A pipe that never drains (stuck reader) must not block shutdown forever.
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    s.once('close', done);
    s.once('error', done);
    try {
      s.end();
    } catch {
      done();
    }
  });
}

/** Whether symlinks can be made in `dir` (tries one). */
export function canSymlink(dir: string): boolean {
  const probe = path.join(dir, `.symlink-probe-${process.pid}-${Date.now()}`);
  try {
    fs.symlinkSync('current.log', probe);
    fs.unlinkSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** Delete the oldest `<service>.<n>.log` files so that at most `keep` remain. Returns the deleted paths. */
export function pruneLogFiles(logsDir: string, service: string, keep: number): string[] {
  const files = listLogFiles(logsDir, service);
  const doomed = files.slice(0, Math.max(0, files.length - keep)).map((f) => f.path);
  for (const p of doomed) fs.rmSync(p, { force: true });
  return doomed;
}
