/**
 * `flock(2)` locks shared with the Python clients (protocol §1.1: `<root>/.sync.lock`, taken with `fcntl.flock`
 * LOCK_EX around every `SyftboxManager.sync()`; `owner_file_hashes.json.lock`, taken by portalocker, which also
 * uses `flock` on Linux).
 *
 * Node has no `flock`, so the lock is held by a child process: util-linux `flock -x -o <file> sh -c 'echo locked;
 * exec cat >/dev/null'`. The child takes the lock (blocking in the kernel like Python does), prints one line, and
 * then waits for end-of-file on its stdin, which is a pipe from us. The lock is released when:
 * - we call `release()` (we close the pipe; `cat` sees EOF; `flock` exits and its descriptor closes), or
 * - our process dies in any way, kill -9 included: the kernel closes our end of the pipe, with the same effect.
 * So the lock never outlives us. `-o` keeps the lock descriptor out of `sh`/`cat`: only `flock` itself holds it.
 * If we die while the child is still waiting for the lock, it gets the lock later, sees EOF at once and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SYNC_LOCK_NAME = '.sync.lock';
export const DEFAULT_FLOCK = '/usr/bin/flock';
const READY = 'locked';

export interface FileLock {
  readonly file: string;
  /** The pid of the `flock` process holding the lock. */
  readonly pid: number;
  readonly released: boolean;
  /** Release the lock and wait until the holder has exited. Idempotent. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Give up after this long (default: wait forever, like Python's blocking flock). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Shared instead of exclusive. */
  shared?: boolean;
  /** Path of util-linux `flock` (default /usr/bin/flock, else `flock` on PATH). */
  flockPath?: string;
}

export class LockTimeoutError extends Error {
  constructor(readonly file: string, readonly timeoutMs: number) {
    super(`could not lock ${file} within ${timeoutMs} ms (another process holds it)`);
    this.name = 'LockTimeoutError';
  }
}

export class LockError extends Error {
  constructor(readonly file: string, message: string) {
    super(`lock ${file}: ${message}`);
    this.name = 'LockError';
  }
}

function flockBinary(explicit?: string): string {
  if (explicit) return explicit;
  return fs.existsSync(DEFAULT_FLOCK) ? DEFAULT_FLOCK : 'flock';
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Take a `flock` lock on `file` (created if missing, like Python's `open(path, "w")`). */
export function acquireFileLock(file: string, opts: AcquireOptions = {}): Promise<FileLock> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (opts.signal?.aborted) return Promise.reject(opts.signal.reason ?? new Error('aborted'));
  const child = spawn(flockBinary(opts.flockPath), [opts.shared ? '-s' : '-x', '-o', file, 'sh', '-c', `echo ${READY}; exec cat >/dev/null`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Writing to a holder that died must not crash us.
  child.stdin!.on('error', () => undefined);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });

  return new Promise<FileLock>((resolve, reject) => {
    let settled = false;
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      child.stdin!.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(e);
    };
    const onAbort = () => fail(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs !== undefined) timer = setTimeout(() => fail(new LockTimeoutError(file, opts.timeoutMs!)), opts.timeoutMs);

    child.once('error', (e) => fail(new LockError(file, `cannot run flock: ${e.message}`)));
    child.once('exit', (code, sig) => fail(new LockError(file, `flock exited (${sig ?? code}) before taking the lock${stderr ? `: ${stderr.trim()}` : ''}`)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      if (settled) return;
      out += d;
      if (!out.includes(`${READY}\n`)) return;
      settled = true;
      cleanup();
      let released = false;
      let releasing: Promise<void> | undefined;
      resolve({
        file,
        pid: child.pid!,
        get released() {
          return released;
        },
        release() {
          releasing ??= (async () => {
            child.stdin!.end();
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            await waitExit(child);
            clearTimeout(t);
            released = true;
          })();
          return releasing;
        },
      });
    });
  });
}

/** `<root>/.sync.lock`, the lock every Python `SyftboxManager.sync()` takes. */
export function acquireSyncLock(root: string, opts: AcquireOptions = {}): Promise<FileLock> {
  return acquireFileLock(path.join(root, SYNC_LOCK_NAME), opts);
}

/** Run `fn` while holding the lock on `file`. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: AcquireOptions = {}): Promise<T> {
  const lock = await acquireFileLock(file, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
