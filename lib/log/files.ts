import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where a service's logs live. pino-roll writes `<logsDir>/<service>/<service>.<n>.log` (n = 1, 2, …, growing on
 * each rotation and continued across restarts) and keeps a `current.log` symlink to the file in use; PM2 writes
 * crash traces from before the logger is up to `pm2-error.log` in the same folder.
 */
export function serviceLogDir(logsDir: string, service: string): string {
  return path.join(logsDir, assertServiceName(service));
}

/** The `file` option handed to pino-roll: it strips `.log` and appends `.<n>.log`. */
export function rollBase(logsDir: string, service: string): string {
  return path.join(serviceLogDir(logsDir, service), `${service}.log`);
}

/** pino-roll's symlink to the file being written. */
export function currentLogLink(logsDir: string, service: string): string {
  return path.join(serviceLogDir(logsDir, service), 'current.log');
}

/** PM2's `error_file` for the service (stderr: crash traces from before the logger is up). */
export function pm2ErrorLog(logsDir: string, service: string): string {
  return path.join(serviceLogDir(logsDir, service), 'pm2-error.log');
}

/** Service names become folder and file names: keep them to a safe alphabet (no `/`, no `.`, no `..`). */
export function assertServiceName(service: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(service)) throw new Error(`invalid service name for logs: ${JSON.stringify(service)}`);
  return service;
}

export interface LogFile {
  path: string;
  /** pino-roll's file number: higher is newer. */
  number: number;
}

/** The rotated files of a service with their numbers, oldest → newest. Missing folder → []. */
export function listLogFiles(logsDir: string, service: string): LogFile[] {
  const dir = serviceLogDir(logsDir, service);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
  return parseLogFileNames(dir, service, names);
}

export function parseLogFileNames(dir: string, service: string, names: readonly string[]): LogFile[] {
  const re = new RegExp(`^${escapeRegExp(service)}\\.(\\d+)\\.log$`);
  const out: LogFile[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (m) out.push({ path: path.join(dir, name), number: Number(m[1]) });
  }
  return out.sort((a, b) => a.number - b.number);
}

/** The rotated log files of a service, oldest → newest (by pino-roll number). Missing folder → []. */
export function logFiles(logsDir: string, service: string): string[] {
  return listLogFiles(logsDir, service).map((f) => f.path);
}

/**
 * The last `n` lines of a service's log, across its rotated files (oldest line first), reading each file backwards
 * in chunks so that only about as many bytes as the lines need are read. A final line without its `\n` (being
 * written) is included. No files → []. (`pm2-error.log` is not part of it: see `tailFile`.)
 */
export function tailLines(logsDir: string, service: string, n: number): string[] {
  if (!(n > 0)) return [];
  const files = listLogFiles(logsDir, service);
  let lines: string[] = [];
  for (let i = files.length - 1; i >= 0 && lines.length < n; i--) {
    let more: string[];
    try {
      more = tailOfFile(files[i]!.path, n - lines.length);
    } catch (e) {
      if (isNotFound(e)) break; // pruned by a rotation while we were reading: nothing older is left either
      throw e;
    }
    lines = more.concat(lines);
  }
  return lines;
}

/** The last `n` lines of one file (e.g. `pm2-error.log`), read from the end. Missing file → []. */
export function tailFile(file: string, n: number): string[] {
  if (!(n > 0)) return [];
  try {
    return tailOfFile(file, n);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

function tailOfFile(file: string, n: number): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return tailRegion(fd, fs.fstatSync(fd).size, n);
      } catch (e) {
        // Truncated under us (`pm2 flush`, a wipe): read it again at its new size.
        if (!(e instanceof ShrankError) || attempt >= 3) throw e;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

class ShrankError extends Error {}

const CHUNK = 64 * 1024;

/**
 * The last `n` lines of the bytes [0, stop) of an open file, read backwards in chunks. The region is split on `\n`;
 * a `\n` at the very end does not start another (empty) line; a trailing `\r` is dropped from each line.
 */
export function tailRegion(fd: number, stop: number, n: number): string[] {
  if (n <= 0 || stop <= 0) return [];
  const chunks: Buffer[] = [];
  let pos = stop;
  let effectiveEnd = -1; // stop, or stop - 1 when the region ends with '\n'
  let found = 0;
  let cut = 0; // start of the first wanted line, once found
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    const start = pos - len;
    const chunk = Buffer.allocUnsafe(len);
    if (readFully(fd, chunk, start) < len) throw new ShrankError('log file shrank while being read');
    if (effectiveEnd < 0) effectiveEnd = chunk[len - 1] === 0x0a ? stop - 1 : stop;
    chunks.unshift(chunk);
    pos = start;
    for (let i = Math.min(len, effectiveEnd - start) - 1; i >= 0; i--) {
      if (chunk[i] === 0x0a && ++found === n) {
        cut = start + i + 1;
        break;
      }
    }
    if (found === n) break;
  }
  const all = Buffer.concat(chunks); // covers [pos, stop)
  return splitLines(all.subarray(cut - pos, effectiveEnd - pos));
}

/** Split bytes on `\n` (safe for UTF-8: 0x0a never occurs inside a multi-byte sequence) and decode each line. */
export function splitLines(buf: Buffer): string[] {
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const i = buf.indexOf(0x0a, from);
    if (i < 0) break;
    out.push(decodeLine(buf.subarray(from, i)));
    from = i + 1;
  }
  out.push(decodeLine(buf.subarray(from)));
  return out;
}

export function decodeLine(buf: Buffer): string {
  const end = buf.length > 0 && buf[buf.length - 1] === 0x0d ? buf.length - 1 : buf.length;
  return buf.toString('utf8', 0, end);
}

/** Read up to buf.length bytes at `position`, looping over short reads; returns the bytes read (less at EOF). */
function readFully(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Position just after the last `\n` in [0, size) of an open file (0 when it has none). */
export function lastNewlineEnd(fd: number, size: number): number {
  let pos = size;
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    const start = pos - len;
    const buf = Buffer.allocUnsafe(len);
    const got = readFully(fd, buf, start);
    const i = buf.subarray(0, got).lastIndexOf(0x0a);
    if (i >= 0) return start + i + 1;
    pos = start;
  }
  return 0;
}

export function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
