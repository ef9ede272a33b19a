import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import {
  decodeLine,
  isNotFound,
  lastNewlineEnd,
  listLogFiles,
  serviceLogDir,
  tailRegion,
  type LogFile,
} from './files';

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
  fh: fsp.FileHandle;
  ino: number;
  /** Next byte to read. */
  offset: number;
}

const READ_CHUNK = 64 * 1024;

/**
 * Print the last `fromLines` lines of a service's log, then every line appended to it, until `signal` aborts.
 *
 * Follows pino-roll's rotation by file number rather than through `current.log`: once `<service>.<n+1>.log` exists,
 * the writer has finished with `<n>` (SonicBoom completes pending writes before it reopens), so the rest of `<n>` is
 * read to its end and then `<n+1>` from its start: nothing is lost or repeated. The open file handle is kept, so a
 * file pruned while it is still being read is read to its end anyway. Works when the folder does not exist yet
 * (starts at the first file that appears), when the writer restarts (it appends to the same file), and when the
 * folder is wiped and logging starts again at `.1.log`. A line is emitted only once its `\n` has been written.
 *
 * Wake-ups come from `fs.watch` on the folder (or on `logsDir` while the folder does not exist) and from a timer.
 * Rejects if `onLine` throws or the log cannot be read (other than files vanishing).
 */
export function followLog(opts: FollowOptions): Promise<void> {
  const dir = serviceLogDir(opts.logsDir, opts.service);
  const pollMs = opts.pollIntervalMs ?? 1000;
  const useWatch = opts.watch ?? true;
  const signal = opts.signal;

  let stopped = false;
  let started = false;
  let cur: Cursor | undefined;
  /** When there is no cursor after a rotation: the number of the file finished last. */
  let after: number | undefined;
  let pending: Buffer = Buffer.alloc(0);
  let dirWatcher: fs.FSWatcher | undefined;
  let parentWatcher: fs.FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      stopped = true;
      signal?.removeEventListener('abort', onAbort);
      if (timer) clearInterval(timer);
      closeWatchers();
      // Let a pump in progress finish before closing its file handle.
      void Promise.resolve(running)
        .catch(() => undefined)
        .then(() => cur?.fh.close())
        .catch(() => undefined)
        .then(() => (err === undefined ? resolve() : reject(err)));
    };
    const onAbort = () => finish();

    if (signal?.aborted) {
      resolve();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const emit = (line: string) => {
      if (stopped) return;
      opts.onLine(line);
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
      if (!useWatch || stopped) return;
      if (!dirWatcher) {
        const w = tryWatch(dir);
        if (w) {
          dirWatcher = w;
          parentWatcher?.close();
          parentWatcher = undefined;
        } else if (!parentWatcher) {
          parentWatcher = tryWatch(opts.logsDir);
        }
      }
    }

    function tryWatch(target: string): fs.FSWatcher | undefined {
      try {
        const w = fs.watch(target, { persistent: true }, () => kick());
        w.on('error', () => {
          // e.g. the folder was deleted: drop this watcher; the timer sets up a new one when it is back.
          w.close();
          if (dirWatcher === w) dirWatcher = undefined;
          if (parentWatcher === w) parentWatcher = undefined;
        });
        return w;
      } catch {
        return undefined;
      }
    }

    async function open(file: LogFile, offset: number | 'end'): Promise<Cursor | undefined> {
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(file.path, 'r');
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
      const st = await fh.stat();
      return { file, fh, ino: st.ino, offset: offset === 'end' ? st.size : offset };
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
      await old?.fh.close().catch(() => undefined);
    }

    /** Read the current file from the cursor to its end, emitting complete lines. */
    async function drain(c: Cursor): Promise<void> {
      const st = await c.fh.stat();
      if (st.size < c.offset) {
        // Truncated in place: start again from its beginning.
        c.offset = 0;
        pending = Buffer.alloc(0);
      }
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        if (stopped) return;
        const { bytesRead } = await c.fh.read(buf, 0, buf.length, c.offset);
        if (bytesRead === 0) return;
        c.offset += bytesRead;
        let data = buf.subarray(0, bytesRead);
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

    /** First pump: print the last `fromLines` lines and place the cursor after the last complete line. */
    async function start(): Promise<void> {
      const files = listLogFiles(opts.logsDir, opts.service);
      const newest = files[files.length - 1];
      if (!newest) return; // nothing yet: follow from the first file that appears
      const c = await open(newest, 0);
      if (!c) return; // raced with a wipe: follow from the first file that appears
      cur = c;
      // Start after the last complete line; a line still being written is read by the next drain.
      const stop = lastNewlineEnd(c.fh.fd, (await c.fh.stat()).size);
      c.offset = stop;
      const want = Math.max(0, Math.floor(opts.fromLines ?? 0));
      if (want === 0) return;
      let lines = tailRegion(c.fh.fd, stop, want);
      for (let i = files.length - 2; i >= 0 && lines.length < want; i--) {
        let fd: number;
        try {
          fd = fs.openSync(files[i]!.path, 'r');
        } catch (e) {
          if (isNotFound(e)) break; // pruned: nothing older is left either
          throw e;
        }
        try {
          lines = tailRegion(fd, fs.fstatSync(fd).size, want - lines.length).concat(lines);
        } finally {
          fs.closeSync(fd);
        }
      }
      for (const line of lines) emit(line);
    }

    async function pump(): Promise<void> {
      if (!started) {
        started = true;
        await start();
      }
      for (let guard = 0; guard < 100_000 && !stopped; guard++) {
        if (!cur) {
          const files = listLogFiles(opts.logsDir, opts.service);
          // After a rotation, the next number up; otherwise (fresh start, wipe) the oldest file there is.
          const last = after;
          const pick = (last === undefined ? undefined : files.find((f) => f.number > last)) ?? files[0];
          if (!pick) return;
          const c = await open(pick, 0);
          if (!c) continue;
          cur = c;
          after = undefined;
          pending = Buffer.alloc(0);
        }
        await drain(cur);
        if (stopped) return;
        const files = listLogFiles(opts.logsDir, opts.service);
        const next = files.find((f) => f.number > cur!.file.number);
        if (next) {
          // The writer has moved on: whatever it wrote to this file is there now. Read it to the end, then switch.
          await drain(cur);
          if (stopped) return;
          after = cur.file.number;
          await switchTo(await open(next, 0)); // undefined if already pruned: the loop picks the next one up
          continue;
        }
        const same = files.find((f) => f.number === cur!.file.number);
        if (!same) {
          if (files.length > 0) {
            // Our file is gone and only lower numbers exist: the folder was wiped and logging restarted.
            after = undefined;
            await switchTo(undefined);
            continue;
          }
          return; // folder emptied: keep the handle until something appears
        }
        let ino: number | undefined;
        try {
          ino = (await fsp.stat(same.path)).ino;
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        if (ino !== undefined && ino !== cur.ino) {
          // Same name, new file (wiped and recreated).
          await switchTo(await open(same, 0));
          continue;
        }
        return;
      }
    }

    if (pollMs > 0) timer = setInterval(kick, pollMs);
    kick();
  });
}
