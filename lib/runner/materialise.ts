/**
 * Writing a job's validated bytes (`JobSnapshot`) into a fresh private run directory, so the job runs from exactly
 * what was validated, never from the DS-writable inbox (protocol §7 #5).
 *
 * Layout (the run dir is the job root, as `inbox/<ds>/<job>/` is for syft-job):
 *   <runDir>/run.sh        the snapshot's run.sh bytes (0755, as syft-job chmods it)
 *   <runDir>/config.yaml   see `configYamlBytes`
 *   <runDir>/code/...      every file of the snapshot (directories are created as needed)
 *   <runDir>/code/outputs/ created (syft-job's `_prepare_outputs_dir`); files a DS shipped there stay, as in Python
 *
 * Nothing can land outside the run dir: every relative path is checked segment by segment (no empty, `.`, `..`,
 * NUL or absolute parts), the tree is created in a directory nobody else can write (0700, created here and
 * required not to exist), and files are created with O_EXCL|O_NOFOLLOW.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobSnapshot } from '../approval';
import { pyYamlDump, type PyValue } from '../datasite';

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/** Why `rel` (a `/`-separated path under `code/`) cannot be written safely, or undefined when it can. */
export function unsafeRelPath(rel: string): string | undefined {
  if (rel === '') return 'is empty';
  if (rel.includes('\0')) return 'contains a NUL character';
  if (rel.startsWith('/')) return 'is absolute';
  if (rel.includes('\\')) return 'contains a backslash';
  for (const seg of rel.split('/')) {
    if (seg === '') return 'has an empty segment';
    if (seg === '.' || seg === '..') return `has a ${JSON.stringify(seg)} segment`;
    if (Buffer.byteLength(seg, 'utf8') > 255) return 'has a segment longer than 255 bytes';
  }
  return undefined;
}

/** Every way a snapshot can be unfit to run; [] when it can be materialised. */
export function snapshotProblems(snapshot: JobSnapshot): string[] {
  const out: string[] = [...(snapshot.problems ?? [])];
  if (snapshot.runSh.kind !== 'file') out.push(`run.sh is not a readable regular file (${snapshot.runSh.kind})`);
  const seen = new Set<string>();
  for (const f of snapshot.files) {
    const bad = unsafeRelPath(f.rel);
    if (bad) out.push(`code/${JSON.stringify(f.rel)} ${bad}`);
    else if (f.kind !== 'file') out.push(`code/${f.rel} is not a regular file the snapshot holds (${f.kind})`);
    else if (seen.has(f.rel)) out.push(`code/${f.rel} appears twice`);
    seen.add(f.rel);
  }
  if (seen.has('outputs')) out.push('code/outputs is a file; the runner needs it to be the outputs directory');
  // A file and a directory of the same name cannot both exist.
  for (const rel of seen) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (seen.has(prefix)) out.push(`code/${prefix} is both a file and a directory`);
    }
  }
  return [...new Set(out)];
}

function toPyValue(v: unknown, depth = 0): PyValue | undefined {
  if (depth > 64) return undefined;
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) {
    const out: PyValue[] = [];
    for (const x of v) {
      const y = toPyValue(x, depth + 1);
      if (y === undefined) return undefined;
      out.push(y);
    }
    return out;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: { [k: string]: PyValue } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const y = toPyValue(x, depth + 1);
      if (y === undefined) return undefined;
      out[k] = y;
    }
    return out;
  }
  return undefined;
}

/**
 * config.yaml for the run dir. The snapshot keeps config.yaml parsed, not its bytes, so it is written again with
 * PyYAML's `yaml.dump` rules (keys sorted, block style): byte-identical to any config.yaml syft-job wrote, which
 * is what a validated job has. Undefined when the snapshot has no parsed mapping or a value PyYAML's safe dumper
 * would not write (then the run dir has no config.yaml: syft-job's runner does not read it either).
 */
export function configYamlBytes(snapshot: JobSnapshot): Buffer | undefined {
  if (snapshot.config.kind !== 'parsed') return undefined;
  const value = toPyValue(snapshot.config.value);
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  try {
    return Buffer.from(pyYamlDump(value), 'utf8');
  } catch {
    return undefined;
  }
}

function writeNew(file: string, bytes: Uint8Array, mode: number): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  try {
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

function mkdirNew(dir: string, mode: number): void {
  try {
    fs.mkdirSync(dir, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.isSymbolicLink()) throw new SnapshotError(`${dir} exists and is not a directory`);
  }
}

export interface Materialised {
  runDir: string;
  codeDir: string;
  outputsDir: string;
  /** Set when config.yaml could not be written again (see `configYamlBytes`). */
  configNote?: string;
}

/**
 * Create `runDir` (0700; its parents 0700 when missing; `runDir` itself must not exist) and write the snapshot
 * into it. Throws `SnapshotError` for a snapshot that cannot be run as validated (nothing is written then), and
 * the fs error otherwise. On a throw after the run dir was created, it is removed again.
 */
export function materialise(snapshot: JobSnapshot, runDir: string): Materialised {
  const problems = snapshotProblems(snapshot);
  if (problems.length > 0) throw new SnapshotError(problems.join('; '));
  const abs = path.resolve(runDir);
  fs.mkdirSync(path.dirname(abs), { recursive: true, mode: 0o700 });
  try {
    fs.mkdirSync(abs, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`run directory ${abs} already exists`);
    throw e;
  }
  try {
    fs.chmodSync(abs, 0o700);
    const codeDir = path.join(abs, 'code');
    mkdirNew(codeDir, 0o755);
    const runSh = snapshot.runSh;
    if (runSh.kind !== 'file') throw new SnapshotError('run.sh is not a regular file');
    writeNew(path.join(abs, 'run.sh'), runSh.bytes, 0o755);
    const config = configYamlBytes(snapshot);
    if (config !== undefined) writeNew(path.join(abs, 'config.yaml'), config, 0o644);
    for (const f of snapshot.files) {
      if (f.kind !== 'file') continue;
      const parts = f.rel.split('/');
      let dir = codeDir;
      for (const seg of parts.slice(0, -1)) {
        dir = path.join(dir, seg);
        mkdirNew(dir, 0o755);
      }
      const target = path.join(codeDir, ...parts);
      // Belt and braces: the checks above already make this impossible.
      if (path.relative(codeDir, target).startsWith('..') || path.isAbsolute(path.relative(codeDir, target))) {
        throw new SnapshotError(`code/${f.rel} would be written outside the run directory`);
      }
      writeNew(target, f.bytes, 0o644);
    }
    const outputsDir = path.join(codeDir, 'outputs');
    mkdirNew(outputsDir, 0o755);
    return {
      runDir: abs,
      codeDir,
      outputsDir,
      ...(config === undefined ? { configNote: `config.yaml was not written to the run directory (${snapshot.config.kind})` } : {}),
    };
  } catch (e) {
    fs.rmSync(abs, { recursive: true, force: true });
    throw e;
  }
}
