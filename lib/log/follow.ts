import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { decodeLine, isNotFound, lastNewlineEnd, listLogFiles, serviceLogDir, tailRegion, type LogFile } from './files';

export interface FollowOptions {
  logsDir: string;
  service: string;
  /** Lines already in the log to print first (like `tail -n`). Default 0. */
  fromLines?: number;
  /** Called once per complete line, in order, without its `\n`. */
  onLine: (line: string) => void;
  /** Abort to stop following; the returned promise then resolves. */
  signal?: AbortSignal;
  /** Polling period, the fallback for filesystems where `fs.watch` misses changes. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Use `fs.watch` on the folder (default true); false = polling only. */
  watch?: boolean;
}

interface Cursor {
  file: LogFile;
  fd: number;
  ino: number;
  /** Next byte to read. */
  offset: number;
}

const READ_CHUNK = 64 * 1024;
const fstat = promisify(fs.fstat);
const close = promisify(fs.close);
const read = (fd: number, buf: Buffer, position: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n))));

/**
 * Print the last `fromLines` lines of a service's log, then every line appended to it, until `signal` aborts.
 *
 * The starting point is taken when `followLog` is called: lines complete by then are "old" (the last `fromLines` of
 * them are printed), everything after is printed as it comes.
 *
 * Follows pino-roll's rotation by file number rather than through `current.log`: once `<service>.<n+1>.log` exists,
 * the writer has finished with `<n>` (SonicBoom completes pending writes before it reopens), so the rest of `<n>` is
 * read to its end and then `<n+1>` from its start: nothing is lost or repeated. The file stays open while it is
 * read, so a file pruned before we are done with it is still read to its end. Works when the folder does not exist
 * yet (starts with the first file that appears), when the writer restarts (it appends to the same file), and when
 * the folder is wiped and logging starts again at `.1.log`. A line is emitted only once its `\n` has been written.
 *
 * Wake-ups come from `fs.watch` on the folder (or on `logsDir` while the folder does not exist) and from a timer.
 * Rejects if `onLine` throws or the log cannot be read (other than files vanishing).
 */
export function followLog(opts: FollowOptions): Promise<void> {
  const dir = serviceLogDir(opts.logsDir, opts.service);
  const pollMs = opts.pollIntervalMs ?? 1000;
  const useWatch = opts.watch ?? true;
  const signal = opts.signal;
  if (signal?.aborted) return Promise.resolve();

  let stopped = false;
  let cur: Cursor | undefined;
  /** With no cursor after a rotation: the number of the file finished last (the next one is above it). */
  let after: number | undefined;
  let pending: Buffer = Buffer.alloc(0);
  let initial: string[] = [];
  let dirWatcher: fs.FSWatcher | undefined;
  let parentWatcher: fs.FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  try {
    ({ cursor: cur, lines: initial } = startAt(opts.logsDir, opts.service, Math.max(0, Math.floor(opts.fromLines ?? 0))));
  } catch (e) {
    return Promise.reject(e);
  }

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      stopped = true;
      signal?.removeEventListener('abort', onAbort);
      if (timer) clearInterval(timer);
      closeWatchers();
      // Let a pump in progress finish before closing its file.
      void Promise.resolve(running)
        .catch(() => undefined)
        .then(() => (cur ? close(cur.fd) : undefined))
        .catch(() => undefined)
        .then(() => (err === undefined ? resolve() : reject(err)));
    };
    const onAbort = () => finish();
    signal?.addEventListener('abort', onAbort, { once: true });

    const emit = (line: string) => {
      if (!stopped) opts.onLine(line);
    };

    const kick = () => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        try {
          do {
            again = false;
            ensureWatchers();
            await pump();
          } while (again && !stopped);
        } catch (e) {
          finish(e);
        } finally {
          running = undefined;
        }
      })();
    };

    function closeWatchers(): void {
      dirWatcher?.close();
      dirWatcher = undefined;
      parentWatcher?.close();
      parentWatcher = undefined;
    }

    function ensureWatchers(): void {
      if (!useWatch || stopped || dirWatcher) return;
      const w = tryWatch(dir);
      if (w) {
        dirWatcher = w;
        parentWatcher?.close();
        parentWatcher = undefined;
      } else if (!parentWatcher) {
        parentWatcher = tryWatch(opts.logsDir); // to hear about the folder being created
      }
    }

    function tryWatch(target: string): fs.FSWatcher | undefined {
      try {
        const w = fs.watch(target, { persistent: true }, () => kick());
        w.on('error', () => {
          // e.g. the folder was deleted: drop this watcher; the timer sets up a new one once it is back.
          w.close();
          if (dirWatcher === w) dirWatcher = undefined;
          if (parentWatcher === w) parentWatcher = undefined;
        });
        return w;
      } catch {
        return undefined;
      }
    }

    async function open(file: LogFile): Promise<Cursor | undefined> {
      const fd = await new Promise<number | undefined>((res, rej) =>
        fs.open(file.path, 'r', (err, fd) => (err ? (isNotFound(err) ? res(undefined) : rej(err)) : res(fd))),
      );
      if (fd === undefined) return undefined;
      try {
        return { file, fd, ino: (await fstat(fd)).ino, offset: 0 };
      } catch (e) {
        await close(fd).catch(() => undefined);
        throw e;
      }
    }

    async function switchTo(next: Cursor | undefined): Promise<void> {
      // The old file is finished: a last line without '\n' will never be completed, so emit it as it is.
      if (pending.length > 0) {
        const rest = pending;
        pending = Buffer.alloc(0);
        emit(decodeLine(rest));
      }
      const old = cur;
      cur = next;
      if (old) await close(old.fd).catch(() => undefined);
    }

    /** Read the current file from the cursor to its end, emitting complete lines. */
    async function drain(c: Cursor): Promise<void> {
      if ((await fstat(c.fd)).size < c.offset) {
        // Truncated in place: start again from its beginning.
        c.offset = 0;
        pending = Buffer.alloc(0);
      }
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        if (stopped) return;
        const n = await read(c.fd, buf, c.offset);
        if (n === 0) return;
        c.offset += n;
        let data = buf.subarray(0, n);
        if (pending.length > 0) data = Buffer.concat([pending, data]);
        let from = 0;
        for (;;) {
          const i = data.indexOf(0x0a, from);
          if (i < 0) break;
          emit(decodeLine(data.subarray(from, i)));
          if (stopped) return;
          from = i + 1;
        }
        pending = Buffer.from(data.subarray(from));
      }
    }

    async function pump(): Promise<void> {
      if (initial.length > 0) {
        const lines = initial;
        initial = [];
        for (const line of lines) emit(line);
      }
      for (let guard = 0; guard < 100_000 && !stopped; guard++) {
        if (!cur) {
          const files = listLogFiles(opts.logsDir, opts.service);
          // After a rotation, the next number up; otherwise (fresh start, wipe) the oldest file there is.
          const last = after;
          const pick = (last === undefined ? undefined : files.find((f) => f.number > last)) ?? files[0];
          if (!pick) return;
          const c = await open(pick);
          if (!c) continue;
          cur = c;
          after = undefined;
          pending = Buffer.alloc(0);
        }
        await drain(cur);
        if (stopped) return;
        const files = listLogFiles(opts.logsDir, opts.service);
        const number = cur.file.number;
        const next = files.find((f) => f.number > number);
        if (next) {
          // The writer has moved on: whatever it wrote to this file is there now. Read it to the end, then switch.
          await drain(cur);
          if (stopped) return;
          after = number;
          await switchTo(await open(next)); // undefined if already pruned: the loop picks the next one up
          continue;
        }
        const same = files.find((f) => f.number === number);
        if (!same) {
          if (files.length > 0) {
            // Our file is gone and only lower numbers exist: the folder was wiped and logging restarted.
            after = undefined;
            await switchTo(undefined);
            continue;
          }
          return; // folder emptied: keep the file until something appears
        }
        let ino: number | undefined;
        try {
          ino = fs.statSync(same.path).ino;
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        if (ino !== undefined && ino !== cur.ino) {
          // Same name, new file (wiped and recreated): read it from the start.
          await switchTo(await open(same));
          continue;
        }
        return;
      }
    }

    if (pollMs > 0) timer = setInterval(kick, pollMs);
    kick();
  });
}

/**
 * Synchronously: open the newest file, place the cursor after its last complete line (a line still being written
 * is read later, when complete), and take the `n` lines before that point, across older files if needed.
 */
function startAt(logsDir: string, service: string, n: number): { cursor: Cursor | undefined; lines: string[] } {
  const files = listLogFiles(logsDir, service);
  const newest = files[files.length - 1];
  if (!newest) return { cursor: undefined, lines: [] }; // nothing yet: follow from the first file that appears
  let fd: number;
  try {
    fd = fs.openSync(newest.path, 'r');
  } catch (e) {
    if (isNotFound(e)) return { cursor: undefined, lines: [] }; // raced with a wipe
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    const stop = lastNewlineEnd(fd, st.size);
    let lines = tailRegion(fd, stop, n);
    for (let i = files.length - 2; i >= 0 && lines.length < n; i--) {
      let ofd: number;
      try {
        ofd = fs.openSync(files[i]!.path, 'r');
      } catch (e) {
        if (isNotFound(e)) break; // pruned: nothing older is left either
        throw e;
      }
      try {
        lines = tailRegion(ofd, fs.fstatSync(ofd).size, n - lines.length).concat(lines);
      } finally {
        fs.closeSync(ofd);
      }
    }
    return { cursor: { file: newest, fd, ino: st.ino, offset: stop }, lines };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
