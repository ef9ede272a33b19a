import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Folders and filesystem errors in words, shared by `init`, `setup-status` and every atomic write: Node's
 * recursive mkdir hides the OS's reason on a read-only file system (see `realMkdirError`).
 */

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'something with that name is already there',
  ENOENT: 'no such file or folder',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  EBUSY: 'the resource is busy',
};

/** Why a filesystem call failed, in words with the OS code: `permission denied (EACCES)`. */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return REASONS[code] ? `${REASONS[code]} (${code})` : code;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Why the folder `dir` cannot be created (or, when it exists, written in), found without creating anything: the
 * nearest existing folder on its path must be a folder that can be written in and entered. `at` is where it fails;
 * `notAFolder`: `at` is a file (the folder itself, or an ancestor); else `error` is the OS's answer (EACCES, EROFS…).
 * Undefined when it can be created.
 */
export interface FolderProblem {
  at: string;
  notAFolder?: true;
  error?: NodeJS.ErrnoException;
}

export function folderProblem(dir: string): FolderProblem | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(d);
    } catch (e) {
      // Missing, or below a file (ENOTDIR): the ancestor tells which.
      if (['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '') && path.dirname(d) !== d) continue;
      return { at: d, error: e as NodeJS.ErrnoException };
    }
    if (!st.isDirectory()) return { at: d, notAFolder: true };
    try {
      fs.accessSync(d, fs.constants.W_OK | fs.constants.X_OK);
    } catch (e) {
      return { at: d, error: e as NodeJS.ErrnoException };
    }
    return undefined;
  }
}

/** A `FolderProblem` of `dir` in words: `/f is a file, not a folder`, `read-only file system (EROFS) at /mnt`. */
export function describeFolderProblem(dir: string, p: FolderProblem): string {
  const d = path.resolve(dir);
  if (p.notAFolder) return p.at === d ? 'it is a file, not a folder' : `${p.at} is a file, not a folder`;
  return `${fsReason(p.error)}${p.at === d ? '' : ` at ${p.at}`}`;
}

/**
 * The real reason a recursive `mkdir` failed. Node 20's `fs.mkdirSync(dir, {recursive: true})` answers ENOENT when
 * the OS refused with an error it does not expect there (EROFS on a read-only file system: it stats the folder it
 * could not make, and reports that stat's ENOENT). For an ENOENT, this walks up to the first existing folder and makes
 * the next component with a plain `mkdir`, whose error is the OS's own (EROFS, EACCES, ENOTDIR…); a component it
 * could make after all is removed again. Any other error, or an ENOENT it cannot explain, is returned as it is.
 */
export function realMkdirError(
  dir: string,
  e: unknown,
  ops: { mkdir: (p: string) => void; stat: (p: string) => fs.Stats; rmdir: (p: string) => void } = {
    mkdir: (p) => fs.mkdirSync(p),
    stat: (p) => fs.statSync(p),
    rmdir: (p) => fs.rmdirSync(p),
  },
): unknown {
  if ((e as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') return e;
  let next = path.resolve(dir);
  for (let d = path.dirname(next); ; next = d, d = path.dirname(d)) {
    let st: fs.Stats;
    try {
      st = ops.stat(d);
    } catch (x) {
      if (['ENOENT', 'ENOTDIR'].includes((x as NodeJS.ErrnoException).code ?? '') && path.dirname(d) !== d) continue;
      return (x as NodeJS.ErrnoException).code ? x : e;
    }
    if (!st.isDirectory()) {
      return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${next}'`), { code: 'ENOTDIR', errno: -20, syscall: 'mkdir', path: next });
    }
    try {
      ops.mkdir(next);
    } catch (x) {
      return (x as NodeJS.ErrnoException).code ? x : e;
    }
    try {
      ops.rmdir(next);
    } catch {
      // someone else's now
    }
    return e;
  }
}

/**
 * `fs.mkdirSync(dir, {recursive: true})` (returns the first folder created, as it does) whose error is the real
 * reason (`realMkdirError`), not Node's ENOENT for a read-only file system.
 */
export function mkdirRecursive(dir: string, mkdir: MkdirFn = fs.mkdirSync): string | undefined {
  try {
    return mkdir(dir, { recursive: true }) ?? undefined;
  } catch (e) {
    throw realMkdirError(dir, e, { mkdir: (p) => void mkdir(p), stat: (p) => fs.statSync(p), rmdir: (p) => fs.rmdirSync(p) });
  }
}

/** `fs.mkdirSync`'s shape, for tests that make it fail the way Node does. */
export type MkdirFn = (p: string, opts?: { recursive: boolean }) => string | undefined | void;
