import * as fs from 'node:fs';
import * as path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { yamlLib } from '../config/deps';
import { hashFileBytes, type FileHash } from './hash';
import { compareCodePoints } from './text';
import type { ConfigRead, FileRead, JobConfig, JobSnapshot, SnapshotFile } from './types';

/**
 * The fs shell of validation: read a job once into a `JobSnapshot`. Symbolic links are never followed (not for
 * files, not for directories), FIFOs are never opened for reading (they would block), sizes are capped.
 */

export const MIB = 1024 * 1024;

export interface SnapshotLimits {
  /** Per file under `code/` (default 16 MiB). A bigger file refuses the job. */
  maxFileBytes?: number;
  /** All of `code/` together (default 64 MiB). */
  maxTotalBytes?: number;
  /** Entries (files and directories) under `code/` (default 10 000). */
  maxEntries?: number;
  /** Directory depth under `code/` (default 32). */
  maxDepth?: number;
  /** run.sh and config.yaml (default 1 MiB each). */
  maxMetadataBytes?: number;
}

export const DEFAULT_LIMITS: Required<SnapshotLimits> = {
  maxFileBytes: 16 * MIB,
  maxTotalBytes: 64 * MIB,
  maxEntries: 10_000,
  maxDepth: 32,
  maxMetadataBytes: 1 * MIB,
};

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function describeMode(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Read one file without following a symbolic link in its last component, refusing anything but a regular file
 * and anything over `limit` bytes (checked before reading and while reading, in case it grows).
 */
export function readFileNoFollow(file: string, limit: number): FileRead {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; it is harmless for regular files.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = errCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'ELOOP' || code === 'EMLINK') {
      let target: string | undefined;
      try {
        target = fs.readlinkSync(file);
      } catch {
        target = undefined;
      }
      return target === undefined ? { kind: 'symlink' } : { kind: 'symlink', target };
    }
    if (code === 'ENXIO') return { kind: 'special', what: 'a socket or FIFO' };
    return { kind: 'unreadable', error: code };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { kind: 'special', what: describeMode(st) };
    if (st.size > limit) return { kind: 'tooLarge', size: st.size, limit };
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size, 1), 1 * MIB) + 1);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit) return { kind: 'tooLarge', size: total, limit };
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return { kind: 'file', bytes: Buffer.concat(chunks, total) };
  } catch (e) {
    return { kind: 'unreadable', error: errCode(e) };
  } finally {
    fs.closeSync(fd);
  }
}

interface Walk {
  files: SnapshotFile[];
  problems: string[];
  entries: number;
  total: number;
}

function walk(dir: string, relDir: string, depth: number, lim: Required<SnapshotLimits>, w: Walk, skipDir?: (rel: string) => boolean): void {
  if (w.problems.length > 0) return;
  if (depth > lim.maxDepth) {
    w.problems.push(`code/ is nested deeper than ${lim.maxDepth} directories`);
    return;
  }
  let dirents: fs.Dirent<Buffer>[];
  try {
    dirents = fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (e) {
    w.problems.push(`could not list directory: code/${relDir} (${errCode(e)})`);
    return;
  }
  const named = dirents.map((d) => ({ d, name: d.name.toString('utf8'), valid: isUtf8(d.name) }));
  named.sort((a, b) => Buffer.compare(a.d.name, b.d.name));
  for (const { d, name, valid } of named) {
    const rel = relDir === '' ? name : `${relDir}/${name}`;
    if (!valid) {
      w.problems.push(`file name is not valid UTF-8 in code/: ${JSON.stringify(rel)}`);
      return;
    }
    if (++w.entries > lim.maxEntries) {
      w.problems.push(`code/ has more than ${lim.maxEntries} entries`);
      return;
    }
    const abs = path.join(dir, name);
    if (d.isSymbolicLink()) {
      let target: string | undefined;
      try {
        target = fs.readlinkSync(abs);
      } catch {
        target = undefined;
      }
      w.files.push(target === undefined ? { rel, kind: 'symlink' } : { rel, kind: 'symlink', target });
    } else if (d.isDirectory()) {
      if (skipDir?.(rel)) continue;
      walk(abs, rel, depth + 1, lim, w, skipDir);
      if (w.problems.length > 0) return;
    } else if (d.isFile()) {
      const r = readFileNoFollow(abs, lim.maxFileBytes);
      if (r.kind === 'missing') continue; // vanished while listing
      if (r.kind === 'file') {
        w.total += r.bytes.length;
        if (w.total > lim.maxTotalBytes) {
          w.problems.push(`code/ is larger than ${lim.maxTotalBytes} bytes in total`);
          return;
        }
      }
      w.files.push({ rel, ...r });
    } else {
      w.files.push({ rel, kind: 'special', what: d.isFIFO() ? 'a FIFO' : d.isSocket() ? 'a socket' : 'a device' });
    }
  }
}

/**
 * Every entry under `codeDir` except directories, sorted by relative path (code-point order). A missing
 * `code/` gives no files (as the reference). `code/` itself being a symlink, too many entries, too deep, or too
 * large in total are `problems`. `skipDir` (for `autoApproveJob`) leaves directories out without reading them;
 * validation never skips anything.
 */
export function snapshotCode(
  codeDir: string,
  limits: SnapshotLimits = {},
  skipDir?: (rel: string) => boolean,
): { files: SnapshotFile[]; problems: string[] } {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const w: Walk = { files: [], problems: [], entries: 0, total: 0 };
  let st: fs.Stats;
  try {
    st = fs.lstatSync(codeDir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return { files: [], problems: [] };
    return { files: [], problems: [`could not read code/ (${errCode(e)})`] };
  }
  if (st.isSymbolicLink()) return { files: [], problems: ['code/ is a symbolic link'] };
  if (!st.isDirectory()) return { files: [], problems: ['code/ is not a directory'] };
  walk(codeDir, '', 0, lim, w, skipDir);
  w.files.sort((a, b) => compareCodePoints(a.rel, b.rel));
  return { files: w.files, problems: w.problems };
}

/** Parse config.yaml bytes (YAML 1.1, as PyYAML wrote it); a mapping is required. */
export function parseJobConfig(bytes: Uint8Array): ConfigRead {
  if (!isUtf8(bytes)) return { kind: 'invalid', error: 'not UTF-8 text' };
  const Y = yamlLib();
  const doc = Y.parseDocument(Buffer.from(bytes).toString('utf8'), { version: '1.1', uniqueKeys: true });
  if (doc.errors.length > 0) return { kind: 'invalid', error: (doc.errors[0] as Error).message.split('\n')[0] ?? 'YAML error' };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { kind: 'invalid', error: (e as Error).message };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { kind: 'invalid', error: 'expected a mapping' };
  return { kind: 'parsed', value: value as JobConfig };
}

export interface SnapshotJobOptions extends SnapshotLimits {
  /** config.yaml parser (default `parseJobConfig`; e.g. the datasite library's PyYAML-compatible loader). */
  parseConfig?: (bytes: Uint8Array) => ConfigRead;
  /** Default `<codeDir>/../run.sh`. */
  runShPath?: string;
  /** Default `<codeDir>/../config.yaml`. */
  configPath?: string;
}

/**
 * Read a job once: `code/` (recursively), `run.sh` and `config.yaml` next to it. `status` and `submitter` come
 * from the datasite library (state.yaml and the inbox path).
 */
export function snapshotJob(codeDir: string, job: { status: string; submitter: string }, opts: SnapshotJobOptions = {}): JobSnapshot {
  const lim = { ...DEFAULT_LIMITS, ...opts };
  const jobDir = path.dirname(codeDir);
  const { files, problems } = snapshotCode(codeDir, lim);
  const runSh = readFileNoFollow(opts.runShPath ?? path.join(jobDir, 'run.sh'), lim.maxMetadataBytes);
  const rawConfig = readFileNoFollow(opts.configPath ?? path.join(jobDir, 'config.yaml'), lim.maxMetadataBytes);
  const config: ConfigRead = rawConfig.kind === 'file' ? (opts.parseConfig ?? parseJobConfig)(rawConfig.bytes) : rawConfig;
  return { status: job.status, submitter: job.submitter, files, runSh, config, ...(problems.length ? { problems } : {}) };
}

/** The reference's `_compute_file_hash(path)`: the file's hash, or undefined when it cannot be read (missing, a symlink, …). */
export function hashFileOnDisk(file: string, maxBytes = DEFAULT_LIMITS.maxFileBytes): FileHash | undefined {
  const r = readFileNoFollow(file, maxBytes);
  return r.kind === 'file' ? hashFileBytes(r.bytes) : undefined;
}

/**
 * `ValidationContext.storedCopy` backed by the disk: stored copies are read without following a symlink, capped
 * at `maxBytes`, and memoised for the reader's lifetime (make one per evaluation cycle).
 */
export function storedCopyReader(maxBytes = DEFAULT_LIMITS.maxFileBytes): (p: string) => Uint8Array | undefined {
  const cache = new Map<string, Uint8Array | undefined>();
  return (p: string) => {
    if (!cache.has(p)) {
      const r = path.isAbsolute(p) ? readFileNoFollow(p, maxBytes) : undefined;
      cache.set(p, r?.kind === 'file' ? r.bytes : undefined);
    }
    return cache.get(p);
  };
}
