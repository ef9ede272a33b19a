/**
 * Paths inside a datasite as they travel in messages (`path_in_datasite`): which ones syft-client syncs at all
 * (`path_filters.py`), and which ones are safe to touch on disk (everything from a peer is hostile).
 */

/** Path components that are never synced (`EXCLUDE_PATTERNS`, matched against whole components). */
export const EXCLUDE_COMPONENTS: ReadonlySet<string> = new Set([
  '.venv',
  '.git',
  '__pycache__',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
  'node_modules',
  '.DS_Store',
]);

/** `Path(p).parts` for a relative POSIX path: empty and `.` components dropped. */
export function pathParts(p: string): string[] {
  return p.split('/').filter((x) => x !== '' && x !== '.');
}

/**
 * `is_normal_syncable`: not under `private/`, not under `public/syft_datasets/` (datasets travel separately), and no
 * component in `EXCLUDE_COMPONENTS`.
 */
export function isNormalSyncable(pathInDatasite: string): boolean {
  const parts = pathParts(pathInDatasite);
  if (parts.length === 0) return false;
  if (parts[0] === 'private') return false;
  if (parts[0] === 'public' && parts[1] === 'syft_datasets') return false;
  return !parts.some((x) => EXCLUDE_COMPONENTS.has(x));
}

/** Longest path we accept (bytes of UTF-8), and longest component (the usual NAME_MAX). */
export const MAX_PATH_BYTES = 1024;
export const MAX_COMPONENT_BYTES = 255;
export const MAX_PATH_DEPTH = 64;

export type PathCheck = { ok: true; path: string; parts: string[] } | { ok: false; reason: string };

/**
 * Vet a `path_in_datasite` from a peer before using it on disk: relative, `/`-separated, no empty, `.` or `..`
 * components, no backslashes, NUL or other control characters, bounded length and depth. Returns the path split
 * into components, or a reason in words.
 */
export function checkDatasitePath(p: unknown): PathCheck {
  if (typeof p !== 'string') return { ok: false, reason: `path is ${p === null ? 'null' : typeof p}, not a string` };
  if (p === '') return { ok: false, reason: 'path is empty' };
  if (p.includes('\0')) return { ok: false, reason: 'path contains a NUL character' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0001-\u001f\u007f]/.test(p)) return { ok: false, reason: 'path contains a control character' };
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(p)) return { ok: false, reason: 'path is not valid Unicode (lone surrogate)' };
  if (p.includes('\\')) return { ok: false, reason: 'path contains a backslash (Windows separator or escape)' };
  if (p.startsWith('/')) return { ok: false, reason: 'path is absolute' };
  if (/^[A-Za-z]:/.test(p)) return { ok: false, reason: 'path starts with a drive letter' };
  if (Buffer.byteLength(p, 'utf8') > MAX_PATH_BYTES) return { ok: false, reason: `path is longer than ${MAX_PATH_BYTES} bytes` };
  const parts = p.split('/');
  if (parts.length > MAX_PATH_DEPTH) return { ok: false, reason: `path is deeper than ${MAX_PATH_DEPTH} components` };
  for (const part of parts) {
    if (part === '') return { ok: false, reason: p.endsWith('/') ? 'path ends with a slash' : 'path has an empty component (//)' };
    if (part === '..') return { ok: false, reason: "path has a '..' component" };
    if (part === '.') return { ok: false, reason: "path has a '.' component" };
    if (Buffer.byteLength(part, 'utf8') > MAX_COMPONENT_BYTES) return { ok: false, reason: `path component is longer than ${MAX_COMPONENT_BYTES} bytes` };
  }
  return { ok: true, path: p, parts };
}
