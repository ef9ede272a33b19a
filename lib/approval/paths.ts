import * as path from 'node:path';
import { UserError } from '../errors';
import { OBJECT_NAME_EXPECTED, OBJECT_NAME_RE } from '../config/schema';
import { display } from './text';

/** Relative paths, object names and which job files count. Pure. */

/**
 * A relative path as stored in an object: POSIX separators, `.` segments and duplicate slashes removed, `a/../b`
 * folded. Returns undefined for paths that are empty, absolute or climb out (`..`), or contain NUL.
 * (The reference stored `-b` arguments verbatim: `./main.py` never matched a job and `../x` escaped the object dir.)
 */
export function normaliseRelPath(p: string): string | undefined {
  if (p === '' || p.includes('\0') || p.startsWith('/')) return undefined;
  const n = path.posix.normalize(p);
  if (n === '.' || n === '..' || n.startsWith('../') || n.startsWith('/')) return undefined;
  const out = n.endsWith('/') ? n.slice(0, -1) : n;
  return out === '' || out === '.' ? undefined : out;
}

/** Like `normaliseRelPath`, throwing a UserError naming `what`. */
export function requireRelPath(p: string, what: string): string {
  const n = normaliseRelPath(p);
  if (n === undefined) throw new UserError(`Invalid ${what} '${display(p)}': expected a relative path inside the directory (no '..', not absolute)`, 1);
  return n;
}

/** Longest name we create (most filesystems allow 255 bytes per path component). */
export const MAX_OBJECT_NAME_BYTES = 255;

/**
 * Why `name` cannot be a new object name, or undefined when it can. The config schema's rule (`OBJECT_NAME_RE`:
 * a folder name, no `/` `\` NUL, not `.`/`..`) plus: no control characters (newlines, tabs, escape sequences
 * would forge CLI output and config-file lines), not `__proto__` (the config loader silently drops it) and at
 * most 255 bytes.
 */
export function objectNameProblem(name: string): string | undefined {
  if (!OBJECT_NAME_RE.test(name)) return OBJECT_NAME_EXPECTED;
  // The config layer reads objects into a plain JS object, where this key would set the prototype instead.
  if (name === '__proto__') return 'expected an object name other than __proto__';
  if (/\p{Cc}/u.test(name)) return 'expected an object name without control characters (newlines, tabs, …)';
  if (Buffer.byteLength(name, 'utf8') > MAX_OBJECT_NAME_BYTES) return `expected an object name of at most ${MAX_OBJECT_NAME_BYTES} bytes`;
  return undefined;
}

export function requireObjectName(name: string): string {
  const why = objectNameProblem(name);
  if (why !== undefined) throw new UserError(`Invalid auto-approval object name ${JSON.stringify(name)}: ${why}`, 1);
  return name;
}

/** `<autoApprovalsDir>/<name>`, refusing anything that would not be a direct child of the directory. */
export function objectDir(autoApprovalsDir: string, name: string): string {
  if (!OBJECT_NAME_RE.test(name)) throw new UserError(`Invalid auto-approval object name ${JSON.stringify(name)}: ${OBJECT_NAME_EXPECTED}`, 1);
  const dir = path.join(autoApprovalsDir, name);
  if (path.dirname(path.resolve(dir)) !== path.resolve(autoApprovalsDir)) {
    throw new UserError(`Invalid auto-approval object name ${JSON.stringify(name)}: ${OBJECT_NAME_EXPECTED}`, 1);
  }
  return dir;
}

/** The stored copy of `rel` (already normalised) in object `name`. */
export function storedCopyPath(autoApprovalsDir: string, name: string, rel: string): string {
  return path.join(objectDir(autoApprovalsDir, name), ...rel.split('/'));
}

/**
 * Path components syft-client never syncs (`syft_client/sync/utils/path_filters.py`): a job that arrived through
 * Drive cannot contain them, so an object listing them could never match. Left out when expanding directories.
 */
export const NEVER_SYNCED = new Set(['.venv', '__pycache__', '.git', 'node_modules', '.mypy_cache', '.pytest_cache', '.ruff_cache', '.DS_Store']);

/** The permission files of syft-permissions; never part of an object. */
export const PERMISSION_FILE = 'syft.pub.yaml';

/**
 * Files of a job that `autoApproveJob` turns into an object (reference `get_job_user_files`, §5.3): not
 * `syft.pub.yaml`, not under a top-level `.venv/`, `outputs/` or `__pycache__/` (left by running the job).
 * Also (fix) not under `__pycache__/` or the other never-synced components at any depth: running a job writes
 * `sub/__pycache__/*.pyc`, which the reference recorded, so the object never matched a fresh submission.
 */
export function isJobUserFile(rel: string): boolean {
  const parts = rel.split('/');
  if (parts[parts.length - 1] === PERMISSION_FILE) return false;
  if (parts[0] === 'outputs' && parts.length > 1) return false;
  return !parts.some((p) => NEVER_SYNCED.has(p));
}

/** Files kept when the DO expands a directory for `auto-approve DIR`. */
export function isExpandedFile(rel: string): boolean {
  const parts = rel.split('/');
  if (parts[parts.length - 1] === PERMISSION_FILE) return false;
  return !parts.some((p) => NEVER_SYNCED.has(p));
}

/** Python's `Path(p).stem` of the last component. */
export function pathStem(rel: string): string {
  const base = rel.split('/').pop() ?? rel;
  const dot = base.lastIndexOf('.');
  return dot > 0 && dot < base.length - 1 ? base.slice(0, dot) : base;
}

/** A path that is both a file and a directory among `rels` (`a` and `a/b`), or undefined. */
export function fileDirConflict(rels: Iterable<string>): string | undefined {
  const set = new Set(rels);
  for (const r of set) {
    const parts = r.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (set.has(prefix)) return prefix;
    }
  }
  return undefined;
}
