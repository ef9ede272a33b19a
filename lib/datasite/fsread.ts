/**
 * Reading a datasite that other processes (and a DS we do not trust) write: never follow a symlink, cap sizes,
 * decode strictly, and report everything as a typed result instead of throwing.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { problem, type FileRead } from './problems';
import type { JobDirSnapshot, SnapshotEntry } from './settle';

export type EntryType = SnapshotEntry['type'];

export function entryType(st: fs.Stats): EntryType {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  return 'other';
}

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/**
 * Read a regular file of at most `cap` bytes as UTF-8. A symlink, a non-regular file, a file over the cap, an
 * I/O error or invalid UTF-8 is a problem; a missing file (or missing parent) is `missing`. Invalid UTF-8 at the
 * very end of a file without a final newline counts as `incomplete` (a multi-byte character cut by a writer).
 */
export function readCapped(file: string, cap: number): FileRead<string> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'problem', problem: problem('unreadable', `${file}: ${(e as Error).message}`, file) };
  }
  if (st.isSymbolicLink()) return { kind: 'problem', problem: problem('symlink', `${file} is a symbolic link; not following it`, file) };
  if (!st.isFile()) return { kind: 'problem', problem: problem('not-a-file', `${file} is not a regular file`, file) };
  if (st.size > cap) return { kind: 'problem', problem: problem('too-large', `${file} is ${st.size} bytes; the limit for this file is ${cap}`, file) };
  let fd: number;
  try {
    // O_NOFOLLOW: the file may have been swapped for a symlink since lstat; O_NONBLOCK: or for a FIFO.
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'problem', problem: problem('symlink', `${file} is a symbolic link; not following it`, file) };
    return { kind: 'problem', problem: problem('unreadable', `${file}: ${(e as Error).message}`, file) };
  }
  let buf: Buffer;
  try {
    const fst = fs.fstatSync(fd);
    if (!fst.isFile()) return { kind: 'problem', problem: problem('not-a-file', `${file} is not a regular file`, file) };
    buf = Buffer.alloc(Math.min(cap + 1, Math.max(fst.size + 1, 1)));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > cap) break;
        const bigger = Buffer.alloc(Math.min(cap + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > cap) return { kind: 'problem', problem: problem('too-large', `${file} grew past the limit of ${cap} bytes while being read`, file) };
    buf = buf.subarray(0, n);
  } catch (e) {
    return { kind: 'problem', problem: problem('unreadable', `${file}: ${(e as Error).message}`, file) };
  } finally {
    fs.closeSync(fd);
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
    return { kind: 'ok', value: text, text, notes: [] };
  } catch {
    const cut = buf.length > 0 && buf[buf.length - 1] !== 0x0a;
    return { kind: 'problem', problem: problem(cut ? 'incomplete' : 'malformed', `${file} is not valid UTF-8${cut ? ' (cut short?)' : ''}`, file) };
  }
}

/** lstat that reports a missing path as undefined and never throws. */
export function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

export interface SnapshotCaps {
  maxEntries?: number;
  maxDepth?: number;
}

export const SNAPSHOT_DEFAULTS = { maxEntries: 10_000, maxDepth: 32 } as const;

/**
 * Names, types, sizes and mtimes of everything under a job directory (the directory itself is `.`), without
 * following symlinks. Stops at the caps and says so in `truncated`. A directory that vanishes mid-scan yields
 * what was seen (the next scan will differ, so `settle` waits).
 */
export function snapshotDir(dir: string, nowMs: number, caps: SnapshotCaps = {}): JobDirSnapshot {
  const c = { ...SNAPSHOT_DEFAULTS, ...caps };
  const entries: SnapshotEntry[] = [];
  const snap: JobDirSnapshot = { takenAtMs: nowMs, entries };
  const add = (rel: string, st: fs.Stats): void => {
    entries.push({ path: rel, type: entryType(st), size: st.isFile() ? st.size : 0, mtimeMs: st.mtimeMs });
  };
  const root = lstatOrUndefined(dir);
  if (root === undefined) return snap;
  add('.', root);
  if (!root.isDirectory()) return snap;
  const walk = (rel: string, depth: number): void => {
    if (snap.truncated) return;
    let names: string[];
    try {
      names = fs.readdirSync(rel === '' ? dir : path.join(dir, rel));
    } catch {
      return;
    }
    names.sort();
    for (const name of names) {
      if (entries.length >= c.maxEntries) {
        snap.truncated = `more than ${c.maxEntries} entries`;
        return;
      }
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatOrUndefined(path.join(dir, r));
      if (st === undefined) continue;
      add(r, st);
      if (st.isDirectory()) {
        if (depth + 1 >= c.maxDepth) {
          snap.truncated = `nested deeper than ${c.maxDepth} levels`;
          return;
        }
        walk(r, depth + 1);
      }
    }
  };
  walk('', 0);
  return snap;
}
