/**
 * The jobs of a datasite, read from disk (thin fs shell over the pure codecs).
 *
 * Identity is (datasite, submitter, job directory name). A job is listed when `inbox/<ds>/<job>/` is a directory
 * (even before its `config.yaml` arrives: `config.kind === 'missing'` then, and syft-job does not consider it a
 * job yet) or when only `review/<ds>/<job>/` exists (`orphan-review` problem). Nothing is ever followed through a
 * symlink; files are read with size caps; every content problem is a typed `Problem` on the job.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import { parseConfig, type JobConfig } from './config';
import { entryType, lstatOrUndefined, readCapped, snapshotDir, type SnapshotCaps } from './fsread';
import { DATASITE_EMAIL_RE, jobPaths, jobRootDir, segmentProblem, type JobPaths } from './paths';
import { problem, type FileRead, type Problem } from './problems';
import type { JobDirSnapshot } from './settle';
import { emitState, parseState, type JobState, type JobStatus } from './state';
import type { SubmissionEntry } from './transitions';

export const MAX_CONFIG_BYTES = 1024 * 1024;
export const MAX_STATE_BYTES = 256 * 1024;
export const MAX_RUNSH_BYTES = 1024 * 1024;
/** Caps a listing: more DS folders or jobs per DS than this is reported as `truncated`. */
export const MAX_LISTED = 10_000;

export interface JobId {
  datasite: string;
  submitter: string;
  name: string;
}

export interface Job {
  id: JobId;
  /** `<submitter>/<name>`, the key syft-job's runner uses. */
  key: string;
  paths: JobPaths;
  /** `inbox/<ds>/<job>/` is a real directory. */
  hasInbox: boolean;
  config: FileRead<JobConfig>;
  state: FileRead<JobState>;
  /** From state.yaml; `received` when it does not exist (syft-job's default); null when it cannot be read. */
  status: JobStatus | null;
  /** Everything wrong with this job (also the problems inside `config`/`state`), for display and refusal. */
  problems: Problem[];
}

export interface JobListing {
  jobs: Job[];
  /** Problems not tied to one job (bad datasite name, symlinked folders, truncation). */
  problems: Problem[];
}

export function readStateFile(file: string): FileRead<JobState> {
  const r = readCapped(file, MAX_STATE_BYTES);
  if (r.kind !== 'ok') return r;
  const p = parseState(r.value);
  if (!p.ok) return { kind: 'problem', problem: { ...p.problem, path: file } };
  return { kind: 'ok', value: p.value, text: r.value, notes: p.notes };
}

export function readConfigFile(file: string, dirName?: string): FileRead<JobConfig> {
  const r = readCapped(file, MAX_CONFIG_BYTES);
  if (r.kind !== 'ok') return r;
  const p = parseConfig(r.value, dirName === undefined ? {} : { dirName });
  if (!p.ok) return { kind: 'problem', problem: { ...p.problem, path: file } };
  return { kind: 'ok', value: p.value, text: r.value, notes: p.notes };
}

/** Read one job. Names are checked (InvalidNameError for one that cannot be a path segment). */
export function readJob(root: string, datasite: string, submitter: string, name: string): Job {
  const paths = jobPaths(root, datasite, submitter, name);
  const problems: Problem[] = [];
  const inbox = lstatOrUndefined(paths.inboxDir);
  const hasInbox = inbox !== undefined && inbox.isDirectory();
  if (inbox?.isSymbolicLink()) problems.push(problem('symlink', `${paths.inboxDir} is a symbolic link; not following it`, paths.inboxDir));
  else if (inbox !== undefined && !hasInbox) problems.push(problem('not-a-directory', `${paths.inboxDir} is not a directory`, paths.inboxDir));

  const review = lstatOrUndefined(paths.reviewDir);
  let state: FileRead<JobState>;
  if (review?.isSymbolicLink()) {
    state = { kind: 'problem', problem: problem('symlink', `${paths.reviewDir} is a symbolic link; not following it`, paths.reviewDir) };
  } else if (review !== undefined && !review.isDirectory()) {
    state = { kind: 'problem', problem: problem('not-a-directory', `${paths.reviewDir} is not a directory`, paths.reviewDir) };
  } else {
    state = readStateFile(paths.state);
  }
  const config: FileRead<JobConfig> = hasInbox ? readConfigFile(paths.config, name) : { kind: 'missing' };
  if (config.kind === 'problem') problems.push(config.problem);
  if (config.kind === 'ok' && config.value.name !== name) {
    problems.push(
      problem(
        'name-mismatch',
        `config.yaml says name ${JSON.stringify(config.value.name)} but the job directory is ${JSON.stringify(name)}; syft-job would record the approval in another review folder`,
        paths.config,
      ),
    );
  }
  if (state.kind === 'problem') problems.push(state.problem);
  if (!hasInbox && inbox === undefined && review !== undefined) {
    problems.push(problem('orphan-review', `${paths.reviewDir} exists but ${paths.inboxDir} does not`, paths.reviewDir));
  }
  const status: JobStatus | null = state.kind === 'ok' ? state.value.status : state.kind === 'missing' ? 'received' : null;
  return { id: { datasite, submitter, name }, key: `${submitter}/${name}`, paths, hasInbox, config, state, status, problems };
}

/** Sub-directory names of `dir` (symlinks and other entries reported, not followed); [] when it does not exist. */
function listDirs(dir: string, what: string, problems: Problem[]): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') problems.push(problem('unreadable', `${dir}: ${(e as Error).message}`, dir));
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isSymbolicLink()) problems.push(problem('symlink', `${p} is a symbolic link; not following it`, p));
    else if (e.isDirectory()) {
      const bad = segmentProblem(e.name);
      if (bad) problems.push(problem('bad-name', `${what} name ${JSON.stringify(e.name)} ${bad}`, p));
      else out.push(e.name);
    }
  }
  out.sort();
  if (out.length > MAX_LISTED) {
    problems.push(problem('truncated', `${dir} has ${out.length} ${what} folders; only the first ${MAX_LISTED} are listed`, dir));
    return out.slice(0, MAX_LISTED);
  }
  return out;
}

/** The root's real job folders, refusing a symlinked `app_data`, `job`, `inbox` or `review`. */
function checkJobTree(root: string, datasite: string, problems: Problem[]): boolean {
  let cur = path.join(root, datasite);
  for (const part of ['', 'app_data', 'job']) {
    if (part) cur = path.join(cur, part);
    const st = lstatOrUndefined(cur);
    if (st === undefined) return false;
    if (st.isSymbolicLink()) {
      problems.push(problem('symlink', `${cur} is a symbolic link; not following it`, cur));
      return false;
    }
  }
  return true;
}

/**
 * Every job of `datasite` under `root`, sorted by (submitter, name). A datasite name syft-job would refuse
 * (`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$`) gives no jobs and a `bad-name` problem, since Python lists none either.
 */
export function listJobs(root: string, datasite: string): JobListing {
  const problems: Problem[] = [];
  const segment = segmentProblem(datasite);
  if (segment !== undefined || !DATASITE_EMAIL_RE.test(datasite)) {
    problems.push(problem('bad-name', `datasite ${JSON.stringify(datasite)} is not an e-mail address syft-job accepts`));
    return { jobs: [], problems };
  }
  if (!checkJobTree(root, datasite, problems)) return { jobs: [], problems };
  const base = jobRootDir(root, datasite);
  const seen = new Map<string, JobId>();
  for (const area of ['inbox', 'review'] as const) {
    const areaDir = path.join(base, area);
    const st = lstatOrUndefined(areaDir);
    if (st?.isSymbolicLink()) {
      problems.push(problem('symlink', `${areaDir} is a symbolic link; not following it`, areaDir));
      continue;
    }
    for (const ds of listDirs(areaDir, 'submitter', problems)) {
      for (const name of listDirs(path.join(areaDir, ds), 'job', problems)) {
        const key = `${ds}/${name}`;
        if (!seen.has(key)) seen.set(key, { datasite, submitter: ds, name });
      }
    }
  }
  const ids = [...seen.values()].sort((a, b) => (a.submitter === b.submitter ? cmp(a.name, b.name) : cmp(a.submitter, b.submitter)));
  return { jobs: ids.map((id) => readJob(root, id.datasite, id.submitter, id.name)), problems };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Top-level entries of a submission, typed without following symlinks (input of `checkSubmission`). */
export function submissionEntries(paths: JobPaths): SubmissionEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(paths.inboxDir);
  } catch {
    return [];
  }
  const out: SubmissionEntry[] = [];
  for (const name of names) {
    const st = lstatOrUndefined(path.join(paths.inboxDir, name));
    if (st !== undefined) out.push({ name, type: entryType(st) });
  }
  return out;
}

/** Snapshot of a submission directory for `settle`. */
export function snapshotSubmission(paths: JobPaths, nowMs: number, caps?: SnapshotCaps): JobDirSnapshot {
  return snapshotDir(paths.inboxDir, nowMs, caps);
}

/** Read run.sh (or code/script.sh) as text, capped, never through a symlink. */
export function readRunSh(file: string): FileRead<string> {
  const r = readCapped(file, MAX_RUNSH_BYTES);
  return r.kind === 'ok' ? { ...r, value: r.text } : r;
}

/** Refuse to write through symlinks: every directory from the datasite down to the review dir must be real. */
function assertNoSymlinks(root: string, datasite: string, dir: string): void {
  const start = path.join(root, datasite);
  const rel = path.relative(start, dir);
  let cur = start;
  for (const part of ['', ...rel.split(path.sep)]) {
    if (part) cur = path.join(cur, part);
    const st = lstatOrUndefined(cur);
    if (st === undefined) return;
    if (st.isSymbolicLink()) throw new Error(`refusing to write through symbolic link ${cur}`);
    if (!st.isDirectory()) throw new Error(`${cur} is not a directory`);
  }
}

export type StateWrite = { written: true; text: string } | { written: false; reason: 'exists' | 'changed'; current?: string };

/**
 * Create `state.yaml` only if it does not exist (reception), atomically: a temp file is hard-linked into place,
 * so a concurrent Python `scan_inbox` that wrote first wins and we do not overwrite it (protocol §7 #7).
 */
export function createState(root: string, job: JobId, state: JobState): StateWrite {
  const paths = jobPaths(root, job.datasite, job.submitter, job.name);
  assertNoSymlinks(root, job.datasite, paths.reviewDir);
  fs.mkdirSync(paths.reviewDir, { recursive: true });
  assertNoSymlinks(root, job.datasite, paths.reviewDir);
  const text = emitState(state);
  const tmp = path.join(paths.reviewDir, `.state.yaml.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, paths.state);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      const cur = readCapped(paths.state, MAX_STATE_BYTES);
      return { written: false, reason: 'exists', ...(cur.kind === 'ok' ? { current: cur.text } : {}) };
    }
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return { written: true, text };
}

/**
 * Replace `state.yaml` atomically, only if it still holds `expectedText` (what the transition was computed from).
 * This narrows, but cannot close, the window against a concurrent Python writer (Python takes no lock).
 */
export function replaceState(root: string, job: JobId, expectedText: string, next: JobState): StateWrite {
  const paths = jobPaths(root, job.datasite, job.submitter, job.name);
  assertNoSymlinks(root, job.datasite, paths.reviewDir);
  const cur = readCapped(paths.state, MAX_STATE_BYTES);
  if (cur.kind !== 'ok' || cur.text !== expectedText) {
    return { written: false, reason: 'changed', ...(cur.kind === 'ok' ? { current: cur.text } : {}) };
  }
  const text = emitState(next);
  writeFileAtomic(paths.state, text);
  return { written: true, text };
}
