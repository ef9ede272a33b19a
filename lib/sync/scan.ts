/**
 * Local change detection for the DO's datasite without re-reading every file on every cycle (the reference reads
 * and hashes every file every time, §7 #23): a stat cache (size, mtime, inode, ctime) remembers each file's sha256,
 * and only files whose stat changed are read and hashed again.
 *
 * Racy timestamps: a file modified within the mtime granularity right after we hashed it would keep the same stat.
 * As git does, an entry whose mtime is not safely older than the scan is marked `racy` and hashed again next time.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface StatEntry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  hash: string;
  racy?: boolean;
}

export type StatCache = Record<string, StatEntry>;

export interface ScannedFile {
  hash: string;
  size: number;
}

export interface ScanOptions {
  /** Whether a datasite-relative POSIX path takes part in sync (normal-syncable, §3.5). */
  syncable: (rel: string) => boolean;
  /** Files larger than this are left out (and reported). */
  maxFileBytes: number;
  /** ms; mtimes newer than `now - racyWindowMs` are re-hashed next time. */
  now?: number;
  racyWindowMs?: number;
}

export interface ScanResult {
  files: Map<string, ScannedFile>;
  cache: StatCache;
  /** Files read and hashed in this scan. */
  hashed: number;
  skipped: Array<{ path: string; reason: string }>;
}

/** Temp files of lib/fs/atomic.ts (`.<name>.<pid>.<ms>.<n>.tmp`): never content. */
const ATOMIC_TMP_RE = /^\..+\.\d+\.\d+\.\d+\.tmp$/;

export function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hashFile(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Scan `<root>/<me>/`. Symbolic links are never followed; unreadable files are skipped and reported. */
export function scanDatasite(dir: string, previous: StatCache, opts: ScanOptions): ScanResult {
  const now = opts.now ?? Date.now();
  const racyWindow = opts.racyWindowMs ?? 2000;
  const out: ScanResult = { files: new Map(), cache: {}, hashed: 0, skipped: [] };
  const walk = (abs: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      if (rel !== '') out.skipped.push({ path: rel, reason: `cannot list: ${(e as Error).message}` });
      return;
    }
    for (const d of entries) {
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      const childAbs = path.join(abs, d.name);
      if (d.isSymbolicLink()) continue;
      if (d.isDirectory()) {
        walk(childAbs, childRel);
        continue;
      }
      if (!d.isFile() || ATOMIC_TMP_RE.test(d.name) || !opts.syncable(childRel)) continue;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(childAbs);
      } catch {
        continue; // vanished meanwhile
      }
      if (!st.isFile()) continue;
      if (st.size > opts.maxFileBytes) {
        out.skipped.push({ path: childRel, reason: `${st.size} bytes, over the ${opts.maxFileBytes}-byte limit` });
        continue;
      }
      const prev = previous[childRel];
      let hash: string;
      if (prev && !prev.racy && prev.size === st.size && prev.mtimeMs === st.mtimeMs && prev.ctimeMs === st.ctimeMs && prev.ino === st.ino) {
        hash = prev.hash;
      } else {
        try {
          hash = hashFile(childAbs);
        } catch (e) {
          out.skipped.push({ path: childRel, reason: `cannot read: ${(e as Error).message}` });
          continue;
        }
        out.hashed++;
      }
      const entry: StatEntry = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, hash };
      if (Math.max(st.mtimeMs, st.ctimeMs) > now - racyWindow) entry.racy = true;
      out.cache[childRel] = entry;
      out.files.set(childRel, { hash, size: st.size });
    }
  };
  walk(dir, '');
  return out;
}

/** Record a file we just wrote ourselves (its hash is known), so the next scan does not read it again. */
export function statEntryFor(file: string, hash: string, now = Date.now(), racyWindowMs = 2000): StatEntry | undefined {
  try {
    const st = fs.lstatSync(file);
    const e: StatEntry = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, hash };
    if (Math.max(st.mtimeMs, st.ctimeMs) > now - racyWindowMs) e.racy = true;
    return e;
  } catch {
    return undefined;
  }
}
