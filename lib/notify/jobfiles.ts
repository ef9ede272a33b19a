/**
 * What the notification e-mails show of a job: its code (new-job mail) and the tail of its stderr plus its return
 * code (failure mail). Reference §7.4 `_read_job_code` / `_read_job_stderr`, with the same limits and markers.
 *
 * The selection and truncation are pure ({@link selectCode}, {@link stderrTail}); the readers are a thin fs shell
 * that treats the job folder as hostile: symlinks are never followed, no file is read past what the mail can show,
 * and the walk is bounded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CodeFile } from './templates';

/** Per-file limit: 50 KiB (characters shown; size measured in bytes). */
export const MAX_FILE_CHARS = 51200;
/** All files together: 500 KiB. */
export const MAX_TOTAL_BYTES = 512000;
/** stderr tail: the last 50 KiB. */
export const MAX_STDERR_BYTES = 51200;
/** The walk stops after this many entries (a hostile job could hold millions). */
export const MAX_WALK_ENTRIES = 10_000;

/** Directories and files never shown (syft_client path_filters + reference #276), plus any hidden name. */
const EXCLUDED = new Set(['.venv', '.git', '__pycache__', '.mypy_cache', '.pytest_cache', '.ruff_cache', 'node_modules', '.DS_Store']);

export function isExcludedPath(rel: string): boolean {
  const parts = rel.split('/');
  if (parts[0] === 'private') return true;
  return parts.some((p) => EXCLUDED.has(p) || p.startsWith('.'));
}

export interface CodeCandidate {
  /** Path relative to `code/`, `/`-separated. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** The file's text (decoded with replacement), at most `maxChars` code points plus one. */
  read: (maxChars: number) => string;
}

/**
 * The files of the new-job mail (pure apart from `read`): in order, hidden/generated ones left out; each cut at
 * 51,200 characters with `[... truncated, full file is <KB> KB]`; once the next file would pass 500 KiB in total,
 * a last entry `...` → `[... <n> more files not shown]` (n counts every remaining file, filtered ones too, as the
 * reference does). undefined when nothing is shown (the mail then has no code section).
 */
export function selectCode(candidates: CodeCandidate[], totalEntries = candidates.length): CodeFile[] | undefined {
  const out: CodeFile[] = [];
  let total = 0;
  for (const c of candidates) {
    if (isExcludedPath(c.name)) continue;
    let content: string;
    try {
      content = c.read(MAX_FILE_CHARS);
    } catch (e) {
      content = `[unable to read file: ${(e as Error).message}]`;
    }
    if (c.size > MAX_FILE_CHARS) {
      const cps = Array.from(content);
      content = cps.slice(0, MAX_FILE_CHARS).join('') + `\n\n[... truncated, full file is ${Math.floor(c.size / 1024)} KB]`;
    }
    const bytes = Buffer.byteLength(content, 'utf8');
    if (total + bytes > MAX_TOTAL_BYTES) {
      out.push({ name: '...', content: `[... ${totalEntries - out.length} more files not shown]` });
      break;
    }
    total += bytes;
    out.push({ name: c.name, content });
  }
  return out.length > 0 ? out : undefined;
}

/** Regular files under `dir`, sorted by relative path, without following symlinks, at most MAX_WALK_ENTRIES. */
export function walkFiles(dir: string): { files: Array<{ rel: string; abs: string; size: number }>; truncated: boolean } {
  const files: Array<{ rel: string; abs: string; size: number }> = [];
  let seen = 0;
  let truncated = false;
  const walk = (abs: string, rel: string, depth: number) => {
    if (depth > 32) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (++seen > MAX_WALK_ENTRIES) {
        truncated = true;
        return;
      }
      const r = rel ? `${rel}/${e.name}` : e.name;
      const p = path.join(abs, e.name);
      if (e.isDirectory()) walk(p, r, depth + 1);
      else if (e.isFile()) {
        let size = 0;
        try {
          size = fs.lstatSync(p).size;
        } catch {
          continue;
        }
        files.push({ rel: r, abs: p, size });
      }
    }
  };
  const st = lstat(dir);
  if (st?.isDirectory()) walk(dir, '', 0);
  return { files, truncated };
}

/** The code shown in a new-job mail for the job whose `code/` folder is `codeDir`. */
export function readJobCode(codeDir: string): CodeFile[] | undefined {
  const { files } = walkFiles(codeDir);
  return selectCode(
    files.map((f) => ({ name: f.rel, size: f.size, read: (maxChars: number) => readPrefix(f.abs, maxChars * 4 + 4) })),
  );
}

/** Up to `maxBytes` from the start of a regular file (never through a symlink), decoded with replacement. */
export function readPrefix(file: string, maxBytes: number): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    const n = Math.min(st.size, maxBytes);
    const buf = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      const r = fs.readSync(fd, buf, off, n - off, off);
      if (r === 0) break;
      off += r;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The stderr shown in a failure mail (pure): over 50 KiB → its last 51,200 bytes with
 * `[... truncated, showing last 50 KB of <KB> KB total]` before them; else the whole text stripped; empty → null.
 */
export function stderrTail(tail: Buffer, totalSize: number): string | null {
  if (totalSize > MAX_STDERR_BYTES) {
    return `[... truncated, showing last 50 KB of ${Math.floor(totalSize / 1024)} KB total]\n\n` + tail.toString('utf8');
  }
  const t = tail.toString('utf8').replace(/^[\s\u0085]+|[\s\u0085]+$/g, '');
  return t === '' ? null : t;
}

/** `review/<ds>/<job>/stderr.txt` for the failure mail. */
export function readStderr(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return null;
    const n = Math.min(st.size, MAX_STDERR_BYTES);
    const buf = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      const r = fs.readSync(fd, buf, off, n - off, st.size - n + off);
      if (r === 0) break;
      off += r;
    }
    return stderrTail(buf.subarray(0, off), st.size);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** `int(returncode.txt)` as Python parses it (surrounding whitespace, a sign, `_` between digits); else null. */
export function parseReturnCode(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) return null;
  const n = Number(t.replace(/_/g, ''));
  return Number.isSafeInteger(n) ? n : null;
}

export function readReturnCode(file: string): number | null {
  try {
    return parseReturnCode(readPrefix(file, 64));
  } catch {
    return null;
  }
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}
