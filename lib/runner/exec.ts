/**
 * Running `bash run.sh` the way syft-job's `_execute_job_streaming` does, with its log files written as the
 * output arrives.
 *
 * Python reads the pipes with `Popen(text=True)`, i.e. through universal-newline text wrappers: `\r\n` and a
 * lone `\r` both become `\n` in `stdout.txt`/`stderr.txt`. `NewlineNormaliser` reproduces that across chunk
 * boundaries. Python decodes strictly (the locale's UTF-8) and crashes the runner on invalid bytes; we keep the
 * bytes as they are instead.
 */

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { killTree } from './proctree';

export type OutputStream = 'stdout' | 'stderr';

/** The marker syft-job appends to both logs when it kills a job at the timeout. */
export const TIMEOUT_MARKER = '\n--- PROCESS TIMED OUT ---\n';
/** Ours: appended to both logs when the service stops while the job runs (syft-job has no such case). */
export const STOPPED_MARKER = '\n--- PROCESS STOPPED ---\n';

const CR = 0x0d;
const LF = 0x0a;

/** `\r\n` -> `\n`, lone `\r` -> `\n` (Python's universal newlines on read), across chunk boundaries. */
export class NewlineNormaliser {
  private pendingCR = false;

  push(chunk: Uint8Array): Buffer {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.pendingCR && !buf.includes(CR)) return buf;
    const out = Buffer.allocUnsafe(buf.length + 1);
    let n = 0;
    for (const b of buf) {
      if (this.pendingCR) {
        this.pendingCR = false;
        out[n++] = LF;
        if (b === LF) continue;
      }
      if (b === CR) this.pendingCR = true;
      else out[n++] = b;
    }
    return out.subarray(0, n);
  }

  /** At end of stream: a final `\r` is a newline. */
  flush(): Buffer {
    if (!this.pendingCR) return Buffer.alloc(0);
    this.pendingCR = false;
    return Buffer.from([LF]);
  }
}

/** An append-only log file written as output arrives (each chunk reaches the kernel before the next is read). */
export class LogFile {
  private fd: number | undefined;
  private readonly nl = new NewlineNormaliser();
  /** The first write error; later chunks are dropped. */
  error: Error | undefined;

  /** Opens (creating or truncating, as Python's `open(path, "w")`) without following a symlink. */
  constructor(readonly file: string) {
    this.fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
  }

  /** Normalises and appends; returns the bytes written (for `onOutput`). */
  write(chunk: Uint8Array): Buffer {
    return this.raw(this.nl.push(chunk));
  }

  /** Appends text as is (markers). Flushes a pending `\r` first. */
  append(text: string): void {
    this.raw(this.nl.flush());
    this.raw(Buffer.from(text, 'utf8'));
  }

  private raw(bytes: Buffer): Buffer {
    if (bytes.length === 0 || this.fd === undefined || this.error) return bytes;
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (e) {
      this.error = e as Error;
    }
    return bytes;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.raw(this.nl.flush());
    try {
      fs.fsyncSync(this.fd);
    } catch {
      // fsync is best effort (some FUSE filesystems refuse it)
    }
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface ExecOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  stdout: LogFile;
  stderr: LogFile;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  /** SIGTERM -> SIGKILL grace (default 2000 ms). */
  killGraceMs?: number;
}

export interface ExecResult {
  /** The leader's exit code; for a signal, minus its number (Python's `returncode`); -1 on timeout or stop. */
  returnCode: number;
  timedOut: boolean;
  stopped: boolean;
  /** Spawn failure, or a log write failure (which kills the job). */
  error?: Error;
  /** Processes of the tree still alive after SIGKILL (should be empty). */
  survivors: number[];
}

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); longer timeouts are capped there. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** After the tree is killed, how long to wait for pipes held by an escaped process before giving up on them. */
const PIPE_GRACE_MS = 1000;

/**
 * `bash run.sh` in `cwd`, as leader of its own process group, stdin from /dev/null. Returns when the leader has
 * exited and both pipes are closed (like Python, which reads them to EOF), or when the tree was killed at the
 * deadline or on abort. Whatever is left of the group when the leader is done is killed too (Python leaves it).
 */
export function execRunSh(opts: ExecOptions): Promise<ExecResult> {
  const grace = opts.killGraceMs ?? 2000;
  return new Promise<ExecResult>((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('bash', ['run.sh'], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ returnCode: -1, timedOut: false, stopped: false, error: e as Error, survivors: [] });
      return;
    }
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let open = 2;
    let timedOut = false;
    let stopped = false;
    let error: Error | undefined;
    let killing: Promise<{ survivors: number[] }> | undefined;
    let settled = false;

    const emit = (stream: OutputStream, chunk: Buffer): void => {
      const log = stream === 'stdout' ? opts.stdout : opts.stderr;
      const written = log.write(chunk);
      if (log.error && !error) {
        error = new Error(`cannot write ${log.file}: ${log.error.message}`);
        kill();
      }
      if (opts.onOutput && written.length > 0) {
        try {
          opts.onOutput(stream, written);
        } catch {
          // a listener's failure must not disturb the job
        }
      }
    };
    child.stdout?.on('data', (c: Buffer) => emit('stdout', c));
    child.stderr?.on('data', (c: Buffer) => emit('stderr', c));
    const pipeDone = (): void => {
      open -= 1;
      maybeDone();
    };
    for (const s of [child.stdout, child.stderr]) {
      if (!s) {
        open -= 1;
        continue;
      }
      let counted = false;
      const once = (): void => {
        if (!counted) {
          counted = true;
          pipeDone();
        }
      };
      s.on('end', once);
      s.on('close', once);
      s.on('error', once);
    }

    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, Math.min(Math.max(0, opts.timeoutMs), MAX_TIMER_MS));
    const onAbort = (): void => {
      if (killing) return;
      stopped = true;
      kill();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    function kill(): void {
      if (killing || child.pid === undefined) return;
      const pid = child.pid;
      killing = killTree(pid, grace).then((r) => {
        // An escaped process may still hold a pipe: stop reading after a short wait.
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, PIPE_GRACE_MS).unref();
        return r;
      });
    }

    child.on('error', (e) => {
      // Spawn failure (no bash, cwd vanished): no process, no pipes worth waiting for.
      if (child.pid === undefined) {
        error ??= e;
        exit ??= { code: null, signal: null };
        open = 0;
        maybeDone();
      }
    });
    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      maybeDone();
    });

    function maybeDone(): void {
      if (settled || exit === undefined || open > 0) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const pid = child.pid;
      // Stragglers that closed their pipes (e.g. `cmd >/dev/null &`) do not outlive the job.
      const cleanup = killing ?? (pid === undefined ? Promise.resolve({ survivors: [] }) : killTree(pid, 0));
      void cleanup.then(({ survivors }) => {
        let rc = -1;
        if (killing === undefined && exit?.code !== null && exit?.code !== undefined) rc = exit.code;
        else if (killing === undefined && exit?.signal) rc = -os.constants.signals[exit.signal];
        resolve({ returnCode: rc, timedOut, stopped, ...(error ? { error } : {}), survivors });
      });
    }
  });
}
