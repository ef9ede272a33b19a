import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Document } from 'yaml';
import { UserError } from '../errors';
import { writeFileAtomic } from '../fs/atomic';
import { deleteIn, getIn, getNode, setIn, updateConfig } from '../config/edit';
import { yamlLib } from '../config/deps';
import type { ConfigHome } from '../config/types';
import { expandTilde } from '../home';
import { fullHash, hashFileBytes, HASH_PREFIX, sha256Hex } from './hash';
import {
  fileDirConflict,
  isExpandedFile,
  isJobUserFile,
  NEVER_SYNCED,
  normaliseRelPath,
  objectDir,
  objectNameProblem,
  pathStem,
  requireObjectName,
  requireRelPath,
  storedCopyPath,
} from './paths';
import { DEFAULT_LIMITS, parseJobConfig, readFileNoFollow, snapshotCode, snapshotJob, storedCopyReader, type SnapshotLimits } from './snapshot';
import { loadApprovalObjects, objectFromData, objectToData, OBJECTS_PATH } from './store';
import { compareCodePoints, display, padEndCodePoints, pyRepr, pySetRepr } from './text';
import type { ApprovalFileEntry, ApprovalObject, ExpectedRunSh, JobRef, JobSnapshot } from './types';
import { ANY_DEPENDENCY, dependencyAllowed, SYFT_CLIENT_PYPI_RE, validateJob, type Verdict } from './validate';

/**
 * Creating and editing auto-approval objects (reference §2.10–§2.13, §5.2–§5.4), with the reference's bugs fixed:
 *
 *   * `baseDir` (`-b`): contents resolve against the base directory (the reference checked them against the CWD);
 *     paths are normalised (`./main.py` → `main.py`), `..` out of the base is refused, directories are expanded,
 *     and the relative path is the one below the base;
 *   * without `baseDir`: a file keeps its basename, a directory's files are relative to it (reference);
 *   * two inputs with the same relative path are refused (the reference silently overwrote the stored copy);
 *   * a name given with `-f` is name-only even when a directory also contains it (the reference matched it by
 *     content too);
 *   * an explicit existing name is updated (files added/replaced, peers merged), not duplicated as `NAME_1`;
 *     auto-generated names still get `_1`, `_2`, …;
 *   * stored copies are written atomically under `<home>/auto_approvals/<name>/<relative_path>`, the hash is
 *     computed from the stored copy, and non-UTF-8 files are hashed as bytes (`binary: true`) instead of crashing;
 *   * removing the last peer of an object (which would make it match ANY peer) is refused unless allowed.
 *
 * Every write goes through `updateConfig` (comments, key order and unknown keys kept; safe while the services run),
 * and its `notices` (the one-time migration of a legacy `approve.jobs` block) are returned for the caller to print.
 * Errors are `UserError`s whose message is what the CLI prints after `Error: `.
 */

export const DEFAULT_NAME_ONLY_FILES = ['params.json'];
export const AUTO_NAME = 'auto_approval';

/** A file to store in an object: its relative path and the bytes read (once) from `source`. */
export interface ContentFile {
  rel: string;
  bytes: Uint8Array;
  source: string;
}

export interface ObjectChange {
  name: string;
  /** False when an existing object was updated. */
  created: boolean;
  /** The object as saved. */
  object: ApprovalObject;
  /** Content files of this call that were new to the object / replaced an entry. */
  added: string[];
  replaced: string[];
  /** What the CLI prints. */
  lines: string[];
  /**
   * One line each from rewriting config.yaml, to print before `lines`: the migration of a legacy `approve.jobs`
   * block (`updateConfig`'s notices).
   */
  notices: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Pure parts

function unique<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/** `base`, else `base_1`, `base_2`, … (first free), as `generate_unique_name`. */
export function uniqueName(base: string, taken: (name: string) => boolean): string {
  if (!taken(base)) return base;
  for (let i = 1; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
}

/** The reference's default name: the stem of the only content file, else `auto_approval`. */
export function defaultObjectName(contentRels: readonly string[]): string {
  if (contentRels.length !== 1) return AUTO_NAME;
  const stem = pathStem(contentRels[0] as string);
  return objectNameProblem(stem) === undefined ? stem : AUTO_NAME;
}

export interface ObjectUpdate {
  entries: ApprovalFileEntry[];
  filePaths: string[];
  /** Undefined: keep the object's peers (none on a new object = any peer). Given: merged into them. */
  peers?: string[];
  allowedDependencies?: string[];
  runShHashes?: string[];
}

/**
 * Merge an update into an object (or a new one): entries with the same relative path are replaced in place, new
 * ones appended; a name-only path removes a content entry of that path and vice versa (the latest call decides
 * how a file is matched); peers, allowed dependencies and run.sh hashes are unions. `dropped` lists the entries
 * that left the object or were replaced.
 */
export function mergeObject(current: ApprovalObject | undefined, upd: ObjectUpdate): { object: ApprovalObject; dropped: ApprovalFileEntry[] } {
  const base: ApprovalObject = current ?? { file_contents: [], file_paths: [], peers: [] };
  const fresh = new Map(upd.entries.map((e) => [e.relative_path, e]));
  const nameOnly = new Set(upd.filePaths);
  const out: ApprovalFileEntry[] = [];
  const placed = new Set<string>();
  const dropped: ApprovalFileEntry[] = [];
  for (const e of base.file_contents) {
    const n = fresh.get(e.relative_path);
    if (n !== undefined) {
      if (!placed.has(n.relative_path)) out.push(n);
      placed.add(n.relative_path);
      dropped.push(e);
    } else if (nameOnly.has(e.relative_path)) {
      dropped.push(e);
    } else {
      out.push(e);
    }
  }
  for (const e of upd.entries) {
    if (!placed.has(e.relative_path)) out.push(e);
    placed.add(e.relative_path);
  }
  const object: ApprovalObject = {
    file_contents: out,
    file_paths: unique([...base.file_paths.filter((p) => !fresh.has(p)), ...upd.filePaths]),
    peers: upd.peers === undefined ? [...base.peers] : unique([...base.peers, ...upd.peers]),
  };
  const deps = unique([...(base.allowed_dependencies ?? []), ...(upd.allowedDependencies ?? [])]);
  if (deps.length > 0) object.allowed_dependencies = deps;
  const hashes = unique([...(base.run_sh_hashes ?? []), ...(upd.runShHashes ?? [])]);
  if (hashes.length > 0) object.run_sh_hashes = hashes;
  return { object, dropped };
}

/** Refuse an object whose files could not all be stored: `a` and `a/b` both content files. */
export function checkStorable(name: string, object: ApprovalObject): void {
  const c = fileDirConflict(object.file_contents.map((e) => e.relative_path));
  if (c !== undefined) throw new UserError(`Cannot store '${display(c)}' as both a file and a directory in auto-approval object '${display(name)}'`, 1);
}

/**
 * `auto_approve_job` routing (§5.3): which job files are matched by content and which by name. Errors as the
 * reference: `No user files found in job`, `File '<f>' not found in job`, `Overlap between contents and
 * file_paths: {…}`.
 */
export function routeJobFiles(userFiles: readonly string[], contents?: readonly string[], filePaths?: readonly string[]): { contents: string[]; filePaths: string[] } {
  if (userFiles.length === 0) throw new UserError('No user files found in job', 1);
  const have = new Set(userFiles);
  const norm = (xs: readonly string[] | undefined) => (xs === undefined ? undefined : unique(xs.map((f) => normaliseRelPath(f) ?? f)));
  const c = norm(contents);
  const f = norm(filePaths);
  for (const x of [...(c ?? []), ...(f ?? [])]) if (!have.has(x)) throw new UserError(`File '${display(x)}' not found in job`, 1);
  if (c && f) {
    const overlap = c.filter((x) => f.includes(x));
    if (overlap.length > 0) throw new UserError(`Overlap between contents and file_paths: ${pySetRepr(overlap)}`, 1);
  }
  if (c === undefined && f === undefined) {
    return {
      contents: userFiles.filter((x) => !DEFAULT_NAME_ONLY_FILES.includes(x)),
      filePaths: DEFAULT_NAME_ONLY_FILES.filter((x) => have.has(x)),
    };
  }
  if (c !== undefined && f === undefined) return { contents: c, filePaths: [] };
  if (c === undefined) return { contents: userFiles.filter((x) => !(f as string[]).includes(x)), filePaths: f as string[] };
  return { contents: c, filePaths: f as string[] };
}

function peersLine(peers: readonly string[]): string {
  return `Peers: ${peers.length ? peers.map(display).join(', ') : '(any)'}`;
}

/** The `auto-approve` output (§2.10), for the object as saved. */
export function formatObjectChange(name: string, created: boolean, object: ApprovalObject): string[] {
  const lines = [`Auto-approval object: ${display(name)}${created ? '' : ' (updated)'}`];
  for (const e of object.file_contents) lines.push(`  ${display(e.relative_path)}${e.binary ? ' (binary)' : ''}`);
  lines.push(peersLine(object.peers));
  if (object.file_paths.length) lines.push(`Allowed files: ${object.file_paths.map(display).join(', ')}`);
  if (object.allowed_dependencies?.length) lines.push(`Allowed dependencies: ${object.allowed_dependencies.map(display).join(', ')}`);
  if (object.run_sh_hashes?.length) lines.push(`Allowed run.sh: ${object.run_sh_hashes.map(display).join(', ')}`);
  return lines;
}

/** The `list-auto-approvals` output (§2.11). */
export function formatObjectList(objects: ReadonlyMap<string, ApprovalObject>): string[] {
  if (objects.size === 0) return ['No auto-approval objects configured.'];
  const lines: string[] = [];
  for (const [name, o] of objects) {
    lines.push('', `[${display(name)}]`);
    if (o.file_contents.length === 0) lines.push('  File contents: (none)');
    else {
      lines.push('  File contents:');
      for (const e of o.file_contents) lines.push(`    ${padEndCodePoints(display(e.relative_path), 30)} ${display(e.hash)}${e.binary ? ' (binary)' : ''}`);
    }
    if (o.file_paths.length) lines.push(`  Allowed files: ${o.file_paths.map(display).join(', ')}`);
    lines.push(`  ${peersLine(o.peers)}`);
    if (o.allowed_dependencies?.length) lines.push(`  Allowed dependencies: ${o.allowed_dependencies.map(display).join(', ')}`);
    if (o.run_sh_hashes?.length) lines.push(`  Allowed run.sh: ${o.run_sh_hashes.map(display).join(', ')}`);
    if (o.invalid) lines.push(`  Invalid: ${display(o.invalid)} (this object approves nothing)`);
  }
  lines.push('');
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// fs shell: reading the DO's files

interface CollectOptions {
  baseDir?: string;
  cwd: string;
  userHome: string;
  maxFileBytes: number;
}

function posixRel(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/');
}

/** A file the DO named: symlinks followed (it is the DO's own machine), regular files only, size capped. */
function readDoFile(abs: string, maxBytes: number): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new UserError(`File not found: ${display(abs)}`, 1);
  }
  if (!st.isFile()) throw new UserError(`Not a regular file: ${display(abs)}`, 1);
  if (st.size > maxBytes) throw new UserError(`File too large: ${display(abs)} (${st.size} bytes, limit ${maxBytes})`, 1);
  try {
    return fs.readFileSync(abs);
  } catch (e) {
    throw new UserError(`Cannot read ${display(abs)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 1);
  }
}

/**
 * The files below `dir`, sorted as Python sorts `rglob` paths (component-wise), relative to `dir`. Files behind
 * symlinks are followed; symlinked directories are not descended; never-synced components (`.git`, `.venv`,
 * `__pycache__`, …) and `syft.pub.yaml` are left out (a job can never contain them).
 */
function expandDir(dir: string, rel = ''): { rel: string; abs: string }[] {
  const out: { rel: string; abs: string }[] = [];
  const names = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => compareCodePoints(a.name, b.name));
  for (const d of names) {
    const r = rel === '' ? d.name : `${rel}/${d.name}`;
    const abs = path.join(dir, r);
    if (d.isDirectory()) {
      if (!NEVER_SYNCED.has(d.name)) out.push(...expandDir(dir, r));
      continue;
    }
    let isFile = d.isFile();
    if (d.isSymbolicLink()) {
      try {
        isFile = fs.statSync(abs).isFile();
      } catch {
        isFile = false;
      }
    }
    if (isFile && isExpandedFile(r)) out.push({ rel: r, abs });
  }
  return out;
}

/** §5.2 step 2, fixed: resolve `contents` into (relative path, bytes) pairs. */
export function collectContents(items: readonly string[], opts: CollectOptions): ContentFile[] {
  const out: ContentFile[] = [];
  const byRel = new Map<string, string>();
  const add = (rel: string, abs: string) => {
    const prev = byRel.get(rel);
    if (prev !== undefined) {
      if (prev === abs) return;
      throw new UserError(`Duplicate relative path '${display(rel)}': ${display(prev)} and ${display(abs)} would be stored as the same file`, 1);
    }
    byRel.set(rel, abs);
    out.push({ rel, bytes: readDoFile(abs, opts.maxFileBytes), source: abs });
  };
  const addDir = (abs: string, prefix: string) => {
    const files = expandDir(abs);
    if (files.length === 0) throw new UserError(`No files found in ${display(abs)}`, 1);
    for (const f of files) add(prefix === '' ? f.rel : `${prefix}/${f.rel}`, f.abs);
  };
  const kind = (abs: string): 'file' | 'dir' => {
    try {
      return fs.statSync(abs).isDirectory() ? 'dir' : 'file';
    } catch {
      throw new UserError(`File not found: ${display(abs)}`, 1);
    }
  };

  let base: string | undefined;
  if (opts.baseDir !== undefined) {
    base = path.resolve(opts.cwd, expandTilde(opts.baseDir, opts.userHome));
    let st: fs.Stats;
    try {
      st = fs.statSync(base);
    } catch {
      throw new UserError(`Base directory not found: ${display(base)}`, 1);
    }
    if (!st.isDirectory()) throw new UserError(`Base directory is not a directory: ${display(base)}`, 1);
  }
  for (const item of items) {
    if (base !== undefined) {
      const abs = path.resolve(base, expandTilde(item, opts.userHome));
      const rel = posixRel(base, abs);
      if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
        throw new UserError(`Path '${display(item)}' is outside the base directory ${display(base)}`, 1);
      }
      if (kind(abs) === 'dir') addDir(abs, rel);
      else add(requireRelPath(rel, 'path'), abs);
    } else {
      const abs = path.resolve(opts.cwd, expandTilde(item, opts.userHome));
      if (kind(abs) === 'dir') addDir(abs, '');
      else add(path.basename(abs), abs);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// fs shell: stored copies and config.yaml

/** Writes stored copies and can undo them if config.yaml cannot be updated. */
class StoredCopyTxn {
  private readonly undo: { file: string; previous?: Buffer }[] = [];

  constructor(private readonly root: string) {}

  private backup(file: string): void {
    let previous: Buffer | undefined;
    try {
      const st = fs.lstatSync(file);
      if (st.isFile()) previous = fs.readFileSync(file);
    } catch {
      previous = undefined;
    }
    this.undo.push(previous === undefined ? { file } : { file, previous });
  }

  write(file: string, bytes: Uint8Array): void {
    // A stale stored file where a directory is now needed (an entry `a` replaced by `a/b`): move it out of the way.
    const rel = path.relative(this.root, path.dirname(file));
    let cur = this.root;
    for (const part of rel === '' ? [] : rel.split(path.sep)) {
      cur = path.join(cur, part);
      try {
        if (!fs.lstatSync(cur).isDirectory()) {
          this.backup(cur);
          fs.rmSync(cur, { force: true });
        }
      } catch {
        break;
      }
    }
    try {
      if (fs.lstatSync(file).isDirectory()) fs.rmSync(file, { recursive: true, force: true });
    } catch {
      // absent
    }
    this.backup(file);
    writeFileAtomic(file, bytes);
  }

  rollback(): void {
    for (const u of [...this.undo].reverse()) {
      try {
        if (u.previous !== undefined) writeFileAtomic(u.file, u.previous);
        else fs.rmSync(u.file, { force: true });
      } catch {
        // best effort
      }
    }
  }
}

function docObjectNames(doc: Document): string[] {
  const Y = yamlLib();
  const node = getNode(doc, OBJECTS_PATH);
  return Y.isMap(node) ? node.items.map((p) => (Y.isScalar(p.key) ? String(p.key.value) : String(p.key))) : [];
}

/** Write `object` at `objects.<name>`, touching only the keys that changed (comments elsewhere stay). */
function writeObject(doc: Document, name: string, object: ApprovalObject, existed: boolean): void {
  const at = [...OBJECTS_PATH, name];
  const data = objectToData(object);
  if (!existed) {
    setIn(doc, at, data);
    return;
  }
  for (const key of ['file_contents', 'file_paths', 'peers', 'allowed_dependencies', 'run_sh_hashes']) {
    const want = data[key];
    const have = getIn(doc, [...at, key]);
    if (want === undefined) {
      // Only the optional Node keys can be absent; an empty list of them is dropped.
      if (have !== undefined) deleteIn(doc, [...at, key]);
      continue;
    }
    if (!isDeepStrictEqual(have, want)) setIn(doc, [...at, key], want);
  }
}

function insideDir(dir: string, file: string): boolean {
  const r = path.relative(dir, file);
  return r !== '' && !r.startsWith('..') && !path.isAbsolute(r);
}

interface SaveRequest {
  /** Explicit name: created, or updated when it exists. */
  name?: string;
  /** Base of an auto-generated (always new) name. */
  autoName: string;
  contents: readonly ContentFile[];
  filePaths: readonly string[];
  peers?: readonly string[];
  allowedDependencies?: readonly string[];
  runShHashes?: readonly string[];
}

function saveObject(home: ConfigHome, req: SaveRequest): ObjectChange {
  if (req.contents.length === 0 && req.filePaths.length === 0) throw new UserError('No files to process', 1);
  const state = loadApprovalObjects(home);
  const explicit = req.name !== undefined;
  const name = explicit ? requireObjectName(req.name as string) : uniqueName(req.autoName, (n) => state.objects.has(n));
  const dir = objectDir(home.autoApprovals, name);
  const runShHashes = (req.runShHashes ?? []).map((h) => {
    const f = fullHash(h);
    if (f === undefined) throw new UserError(`Invalid run.sh hash '${display(h)}': expected "sha256:" and 64 hex digits`, 1);
    return f;
  });
  const peers = req.peers === undefined ? undefined : unique(req.peers.filter((p) => p !== ''));
  const upd = (entries: ApprovalFileEntry[]): ObjectUpdate => ({
    entries,
    filePaths: [...req.filePaths],
    ...(peers !== undefined ? { peers } : {}),
    allowedDependencies: [...(req.allowedDependencies ?? [])],
    runShHashes,
  });

  // Refuse before writing anything.
  const existing = state.objects.get(name);
  const planned = req.contents.map((c) => ({ relative_path: c.rel, path: storedCopyPath(home.autoApprovals, name, c.rel), hash: '' }));
  checkStorable(name, mergeObject(existing, upd(planned)).object);

  if (existing === undefined) {
    // A folder left behind by an object that no longer exists: start clean.
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const txn = new StoredCopyTxn(dir);
  const entries: ApprovalFileEntry[] = [];
  let result: { object: ApprovalObject; dropped: ApprovalFileEntry[]; created: boolean } | undefined;
  let notices: string[] = [];
  try {
    for (const c of req.contents) {
      const dest = storedCopyPath(home.autoApprovals, name, c.rel);
      txn.write(dest, c.bytes);
      // The hash is computed from the stored copy, as the reference does.
      const h = hashFileBytes(fs.readFileSync(dest));
      entries.push({ relative_path: c.rel, path: dest, hash: h.hash, ...(h.binary ? { binary: true } : {}) });
    }
    ({ notices } = updateConfig(home, (doc) => {
      const raw = getIn(doc, [...OBJECTS_PATH, name]);
      const exists = raw !== undefined;
      if (exists && !explicit) throw new UserError(`An auto-approval object '${display(name)}' was created meanwhile; run the command again.`, 1);
      const merged = mergeObject(exists ? objectFromData(raw) : undefined, upd(entries));
      checkStorable(name, merged.object);
      writeObject(doc, name, merged.object, exists);
      result = { ...merged, created: !exists };
    }));
  } catch (e) {
    txn.rollback();
    throw e;
  }
  const r = result as { object: ApprovalObject; dropped: ApprovalFileEntry[]; created: boolean };

  // Stored copies no entry refers to any more (a file now matched by name only).
  const abs = (p: string) => path.resolve(expandTilde(p, home.userHome ?? os.homedir()));
  const keep = new Set(r.object.file_contents.map((e) => abs(e.path)));
  for (const d of r.dropped) {
    const p = abs(d.path);
    if (!keep.has(p) && insideDir(dir, p)) fs.rmSync(p, { force: true });
  }

  const before = new Set((existing?.file_contents ?? []).map((e) => e.relative_path));
  const rels = req.contents.map((c) => c.rel);
  return {
    name,
    created: r.created,
    object: r.object,
    added: rels.filter((x) => !before.has(x)),
    replaced: rels.filter((x) => before.has(x)),
    lines: formatObjectChange(name, r.created, r.object),
    notices,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Public operations

export interface AutoApproveOptions {
  /** Files or directories matched by content (`CONTENTS...`). */
  contents: readonly string[];
  /** Matched by name only (`-f`). */
  filePaths?: readonly string[];
  /** `-p`; none = any peer on a new object, unchanged on an update. */
  peers?: readonly string[];
  /** `-n`; an existing object of that name is updated. */
  name?: string;
  /** `-b`: resolve `contents` against this directory; relative paths are then the paths below it. */
  baseDir?: string;
  /** Default `process.cwd()`. */
  cwd?: string;
  /** Dependencies to allow besides the syft-client install source. */
  allowedDependencies?: readonly string[];
  /** `sha256:` hashes of run.sh files to accept besides the generated one. */
  runShHashes?: readonly string[];
  maxFileBytes?: number;
}

/** `syft-bg auto-approve` / `auto_approve()` (§2.10, §5.2), fixed as described at the top of this file. */
export function autoApprove(home: ConfigHome, opts: AutoApproveOptions): ObjectChange {
  const userHome = home.userHome ?? os.homedir();
  const filePaths = unique((opts.filePaths ?? []).map((f) => requireRelPath(f, 'file path')));
  const collected = collectContents(opts.contents, {
    ...(opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {}),
    cwd: opts.cwd ?? process.cwd(),
    userHome,
    maxFileBytes: opts.maxFileBytes ?? DEFAULT_LIMITS.maxFileBytes,
  });
  // FIX (§5.2 step 7): `-f NAME` makes NAME name-only even when a directory argument also contains it.
  const contents = collected.filter((c) => !filePaths.includes(c.rel));
  return saveObject(home, {
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    autoName: defaultObjectName(contents.map((c) => c.rel)),
    contents,
    filePaths,
    ...(opts.peers !== undefined ? { peers: opts.peers } : {}),
    ...(opts.allowedDependencies !== undefined ? { allowedDependencies: opts.allowedDependencies } : {}),
    ...(opts.runShHashes !== undefined ? { runShHashes: opts.runShHashes } : {}),
  });
}

export interface AutoApproveJobOptions {
  /** Job files (relative to `code/`) matched by content. */
  contents?: readonly string[];
  /** Job files matched by name only. */
  filePaths?: readonly string[];
  /** Default: the submitter. */
  peers?: readonly string[];
  /** Default: the job name (with `_1`, `_2`… when taken). An explicit existing name is updated. */
  name?: string;
  /** Also accept this job's run.sh by hash (for run.sh files syft-job would not generate). */
  recordRunSh?: boolean;
  limits?: SnapshotLimits;
}

function skipJobDir(rel: string): boolean {
  return rel === 'outputs' || rel.split('/').some((p) => NEVER_SYNCED.has(p));
}

/**
 * `auto_approve_job(job, …)` (§5.3): an object that approves jobs like this one. Files are read once from
 * `job.codeDir` (symlinks refused, not followed) and those bytes are stored. The dependencies of the job's
 * config.yaml other than the syft-client install source are recorded in `allowed_dependencies`, so the object
 * accepts the job it was made from.
 */
export function autoApproveJob(home: ConfigHome, job: JobRef, opts: AutoApproveJobOptions = {}): ObjectChange {
  const snap = snapshotCode(job.codeDir, opts.limits ?? {}, skipJobDir);
  if (snap.problems.length > 0) throw new UserError(`Cannot read job '${display(job.name)}': ${snap.problems[0]}`, 1);
  const user = snap.files.filter((f) => isJobUserFile(f.rel));
  const routed = routeJobFiles(
    user.map((f) => f.rel),
    opts.contents,
    opts.filePaths,
  );
  const byRel = new Map(user.map((f) => [f.rel, f]));
  const contents: ContentFile[] = [];
  for (const rel of routed.contents) {
    const f = byRel.get(rel);
    if (f === undefined) throw new UserError(`File '${display(rel)}' not found in job`, 1);
    if (f.kind === 'symlink') throw new UserError(`File '${display(rel)}' in job '${display(job.name)}' is a symbolic link; refusing to approve it`, 1);
    if (f.kind === 'tooLarge') throw new UserError(`File '${display(rel)}' in job '${display(job.name)}' is too large (${f.size} bytes, limit ${f.limit})`, 1);
    if (f.kind !== 'file') throw new UserError(`File '${display(rel)}' in job '${display(job.name)}' cannot be read`, 1);
    contents.push({ rel, bytes: f.bytes, source: path.join(job.codeDir, ...rel.split('/')) });
  }
  for (const rel of routed.filePaths) {
    const f = byRel.get(rel);
    if (f?.kind === 'symlink') throw new UserError(`File '${display(rel)}' in job '${display(job.name)}' is a symbolic link; refusing to approve it`, 1);
  }

  const jobDir = path.dirname(job.codeDir);
  const cfg = readFileNoFollow(path.join(jobDir, 'config.yaml'), DEFAULT_LIMITS.maxMetadataBytes);
  const parsed = cfg.kind === 'file' ? parseJobConfig(cfg.bytes) : undefined;
  const deps = parsed?.kind === 'parsed' && Array.isArray(parsed.value.dependencies) ? parsed.value.dependencies : [];
  const extraDeps = deps.filter((d): d is string => typeof d === 'string' && !SYFT_CLIENT_PYPI_RE.test(d));
  // Never-allowed dependencies (options such as --index-url, shell metacharacters) are not recorded.
  const anyDep: ApprovalObject = { file_contents: [], file_paths: [], peers: [], allowed_dependencies: [ANY_DEPENDENCY] };
  const allowedDependencies = extraDeps.filter((d) => dependencyAllowed(d, anyDep));
  const refusedDeps = extraDeps.filter((d) => !dependencyAllowed(d, anyDep));

  const runShHashes: string[] = [];
  if (opts.recordRunSh) {
    const r = readFileNoFollow(path.join(jobDir, 'run.sh'), DEFAULT_LIMITS.maxMetadataBytes);
    if (r.kind !== 'file') throw new UserError(`Cannot read run.sh of job '${display(job.name)}'`, 1);
    runShHashes.push(HASH_PREFIX + sha256Hex(r.bytes));
  }

  const change = saveObject(home, {
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    autoName: objectNameProblem(job.name) === undefined ? job.name : AUTO_NAME,
    contents,
    filePaths: routed.filePaths,
    peers: opts.peers ?? [job.submitter],
    allowedDependencies,
    runShHashes,
  });
  for (const d of refusedDeps) {
    change.lines.push(`Warning: dependency ${pyRepr(d)} is never allowed (an installer option or shell metacharacters); jobs listing it are not auto-approved.`);
  }
  return change;
}

export interface EditResult {
  lines: string[];
  /** `updateConfig`'s notices (a legacy `approve.jobs` block migrated by this write), to print before `lines`. */
  notices: string[];
}

/**
 * `remove-auto-approval FILES -n NAME` (§2.12): removes the entries with these relative paths, from
 * `file_contents` and (unlike the reference, which had no way to) from `file_paths`. The object stays, even empty.
 */
export function removeFiles(home: ConfigHome, name: string, files: readonly string[], opts: { deleteStoredCopies?: boolean } = {}): EditResult & { removed: string[] } {
  const wanted = new Set(files.map((f) => normaliseRelPath(f) ?? f));
  let removedEntries: ApprovalFileEntry[] = [];
  let removed: string[] = [];
  let left = 0;
  const { notices } = updateConfig(home, (doc) => {
    const raw = getIn(doc, [...OBJECTS_PATH, name]);
    if (raw === undefined) throw new UserError(`Auto-approval object '${display(name)}' not found in config.`, 1);
    const o = objectFromData(raw);
    removedEntries = o.file_contents.filter((e) => wanted.has(e.relative_path));
    const names = o.file_paths.filter((p) => wanted.has(p));
    removed = [...removedEntries.map((e) => e.relative_path), ...names];
    const next: ApprovalObject = { ...o, file_contents: o.file_contents.filter((e) => !wanted.has(e.relative_path)), file_paths: o.file_paths.filter((p) => !wanted.has(p)) };
    left = next.file_contents.length + next.file_paths.length;
    if (removed.length > 0) writeObject(doc, name, next, true);
  });
  if (opts.deleteStoredCopies) {
    const dir = objectDir(home.autoApprovals, name);
    for (const e of removedEntries) {
      const p = path.resolve(expandTilde(e.path, home.userHome ?? os.homedir()));
      if (insideDir(dir, p)) fs.rmSync(p, { force: true });
    }
  }
  const lines = [`Removed ${removed.length} script(s) from '${display(name)}'.`];
  if (removed.length > 0 && left === 0) lines.push(`'${display(name)}' has no files left: it matches no job until files are added.`);
  return { lines, notices, removed };
}

/** `remove_auto_approve(name)` (§3): deletes the object and (by default) `auto_approvals/<name>/`. */
export function removeObject(home: ConfigHome, name: string, opts: { deleteStoredCopies?: boolean } = {}): EditResult {
  const { notices } = updateConfig(home, (doc) => {
    if (getIn(doc, [...OBJECTS_PATH, name]) === undefined) throw new UserError(`Auto-approval object '${display(name)}' not found`, 1);
    deleteIn(doc, [...OBJECTS_PATH, name]);
  });
  const lines = [`Removed auto-approval object '${display(name)}'.`];
  if (opts.deleteStoredCopies ?? true) {
    // Only ever the object's own folder: never paths written in the entries (a hand-edited `path` could be anything).
    let dir: string | undefined;
    try {
      dir = objectDir(home.autoApprovals, name);
    } catch {
      dir = undefined;
    }
    if (dir !== undefined && fs.existsSync(dir)) {
      fs.rmSync(dir, { recursive: true, force: true });
      lines.push(`Deleted its stored copies (${display(dir)}).`);
    }
  }
  return { lines, notices };
}

export interface RemovePeerOptions {
  /** Only this object (`-n`). */
  name?: string;
  /**
   * Allow removing the last peer of an object. An object without peers matches jobs from ANY peer, so by default
   * that is refused (the reference silently widened the object).
   */
  allowWidening?: boolean;
}

/** `remove-peer PEER [-n NAME]` (§2.13). */
export function removePeer(home: ConfigHome, peer: string, opts: RemovePeerOptions = {}): EditResult & { changed: string[]; widened: string[] } {
  let changed: string[] = [];
  let widened: string[] = [];
  const { notices } = updateConfig(home, (doc) => {
    const names = docObjectNames(doc);
    if (opts.name !== undefined && !names.includes(opts.name)) throw new UserError(`Auto-approval object '${display(opts.name)}' not found.`, 1);
    const targets = opts.name !== undefined ? [opts.name] : names;
    const peersOf = (n: string) => objectFromData(getIn(doc, [...OBJECTS_PATH, n])).peers;
    changed = targets.filter((n) => peersOf(n).includes(peer));
    if (changed.length === 0) throw new UserError(`Peer ${display(peer)} not found in any auto-approval object.`, 1);
    widened = changed.filter((n) => peersOf(n).every((p) => p === peer));
    if (widened.length > 0 && !opts.allowWidening) {
      const which = widened.map((n) => `'${display(n)}'`).join(', ');
      throw new UserError(
        `Refusing to remove peer ${display(peer)}: it is the only peer of ${which}, and an auto-approval object without peers approves jobs from ANY peer. ` +
          'Remove the object instead, add another peer first, or explicitly allow the object to match any peer.',
        1,
      );
    }
    for (const n of changed) setIn(doc, [...OBJECTS_PATH, n, 'peers'], peersOf(n).filter((p) => p !== peer));
  });
  const lines = [`Removed peer ${display(peer)} from ${changed.length} object(s).`];
  for (const n of widened) lines.push(`Warning: '${display(n)}' has no peers left: it now matches jobs from any peer.`);
  return { lines, notices, changed, widened };
}

/** `list-auto-approvals [-n NAME]` (§2.11) and `list_auto_approvals()` (§3). */
export function listAutoApprovals(home: ConfigHome, opts: { name?: string } = {}): { lines: string[]; objects: Map<string, ApprovalObject> } {
  const { objects } = loadApprovalObjects(home);
  if (opts.name !== undefined) {
    const o = objects.get(opts.name);
    if (o === undefined) throw new UserError(`Auto-approval object '${display(opts.name)}' not found.`, 1);
    const one = new Map([[opts.name, o]]);
    return { objects: one, lines: formatObjectList(one) };
  }
  return { objects, lines: formatObjectList(objects) };
}

export interface EvaluateOptions {
  expectedRunSh: ExpectedRunSh;
  installSource?: string;
  limits?: SnapshotLimits;
}

/**
 * The approve service's per-job step, on disk: re-read config.yaml (so edits apply without a restart), snapshot
 * the job, validate. Execute `snapshot`'s bytes, not the inbox, if `verdict.approved`.
 */
export function evaluateJobOnDisk(
  home: ConfigHome,
  job: { codeDir: string; status: string; submitter: string },
  opts: EvaluateOptions,
): { enabled: boolean; verdict: Verdict; snapshot: JobSnapshot } {
  const approvals = loadApprovalObjects(home);
  const snapshot = snapshotJob(job.codeDir, job, opts.limits ?? {});
  const verdict = validateJob(snapshot, {
    objects: approvals.objects,
    storedCopy: storedCopyReader(opts.limits?.maxFileBytes),
    expectedRunSh: opts.expectedRunSh,
    ...(opts.installSource !== undefined ? { installSource: opts.installSource } : {}),
  });
  return { enabled: approvals.enabled, verdict, snapshot };
}
