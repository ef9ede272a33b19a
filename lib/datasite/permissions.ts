/**
 * `syft.pub.yaml` permission files (protocol §1.9): codec, pure edits, and the few edits the DO makes in the job
 * flow, done as syft-perms does them (`PermissionModifier`): find the governing yaml (the nearest one at or above
 * the target, stopping at a `terminal: true` one; none -> create one in the target folder, or the file's folder),
 * compute the pattern relative to it (`<rel>/**` for folders, `<rel>` for files), find or append the rule with
 * that exact pattern, append the user to the level's list if absent, save with `yaml.safe_dump`.
 *
 * Writes are atomic and idempotent: when the file would not change, it is not written. Python rewrites the file
 * even then; the bytes are the same. A permission file we cannot read (malformed, half-written, symlink, too
 * large) is never overwritten: the edit returns the problem instead.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import { readCapped } from './fsread';
import { jobRootDir, datasiteDir, assertSegment } from './paths';
import { problem, type Parsed, type Problem } from './problems';
import { pyYamlDump } from './pyyaml';
import { describe, isMapping, laxBool, loadYamlText } from './yamlfile';

export const PERMISSION_FILE_NAME = 'syft.pub.yaml';
/**
 * Only the data owner can write these files (writing syft.pub.yaml needs admin), and the review folder's file gains
 * a rule or two per job run (about 450 bytes each): 1 MiB was reached after ~2,300 jobs of one data scientist.
 * 64 MiB bounds a corrupt file without refusing a long-lived datasite.
 */
export const MAX_PERMISSION_FILE_BYTES = 64 * 1024 * 1024;

export type AccessLevel = 'read' | 'write' | 'admin';

export interface Access {
  admin: string[];
  read: string[];
  write: string[];
}

export interface Rule {
  pattern: string;
  access: Access;
}

export interface RuleSet {
  rules: Rule[];
  terminal: boolean;
}

function strings(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

export function parseRuleSet(text: string): Parsed<RuleSet> {
  const loaded = loadYamlText(text, PERMISSION_FILE_NAME);
  if (!loaded.ok) return loaded;
  const data = loaded.data;
  const bad = (msg: string) => ({ ok: false as const, problem: problem(text.endsWith('\n') ? 'invalid' : 'incomplete', `${PERMISSION_FILE_NAME}: ${msg}`) });
  if (!isMapping(data)) return bad(`holds ${describe(data)}, not a mapping`);
  if (!('terminal' in data)) {
    // syft-permissions always writes `terminal` last; without it the file was cut short (Python writes in place),
    // and editing it would drop the rules that had not been written yet.
    return { ok: false, problem: problem('incomplete', `${PERMISSION_FILE_NAME} has no terminal key (cut short while being written?)`) };
  }
  const rules: Rule[] = [];
  if (data.rules !== undefined && data.rules !== null) {
    if (!Array.isArray(data.rules)) return bad('rules is not a list');
    for (const [i, r] of data.rules.entries()) {
      if (!isMapping(r)) return bad(`rules[${i}] is not a mapping`);
      if (typeof r.pattern !== 'string') return bad(`rules[${i}].pattern is ${describe(r.pattern)}, not a string`);
      const acc = r.access ?? {};
      if (!isMapping(acc)) return bad(`rules[${i}].access is not a mapping`);
      const admin = strings(acc.admin);
      const read = strings(acc.read);
      const write = strings(acc.write);
      if (!admin || !read || !write) return bad(`rules[${i}].access lists must be lists of strings`);
      rules.push({ pattern: r.pattern, access: { admin, read, write } });
    }
  }
  const terminal = data.terminal === undefined || data.terminal === null ? false : laxBool(data.terminal);
  if (terminal === undefined) return bad(`terminal is ${describe(data.terminal)}, not a boolean`);
  return { ok: true, value: { rules, terminal }, notes: [] };
}

/** `yaml.safe_dump(ruleset)`: keys sorted, block style, rules in list order. */
export function emitRuleSet(rs: RuleSet): string {
  return pyYamlDump({
    rules: rs.rules.map((r) => ({ access: { admin: [...r.access.admin], read: [...r.access.read], write: [...r.access.write] }, pattern: r.pattern })),
    terminal: rs.terminal,
  });
}

/** Find-or-create the rule with exactly this pattern and add the user to the level (pure; input untouched). */
export function addUser(rs: RuleSet, pattern: string, level: AccessLevel, user: string): RuleSet {
  const rules = rs.rules.map((r) => ({ pattern: r.pattern, access: { admin: [...r.access.admin], read: [...r.access.read], write: [...r.access.write] } }));
  let rule = rules.find((r) => r.pattern === pattern);
  if (rule === undefined) {
    rule = { pattern, access: { admin: [], read: [], write: [] } };
    rules.push(rule);
  }
  const list = rule.access[level];
  if (!list.includes(user)) list.push(user);
  return { rules, terminal: rs.terminal };
}

// ---------------------------------------------------------------------------------------------------------------
// fs shell

export type PermissionEdit = { ok: true; file: string; pattern: string; changed: boolean } | { ok: false; problem: Problem };

function readRuleSetFile(file: string): { kind: 'missing' } | { kind: 'ok'; rs: RuleSet; text: string } | { kind: 'problem'; problem: Problem } {
  const r = readCapped(file, MAX_PERMISSION_FILE_BYTES);
  if (r.kind !== 'ok') return r;
  const p = parseRuleSet(r.value);
  if (!p.ok) return { kind: 'problem', problem: { ...p.problem, path: file } };
  return { kind: 'ok', rs: p.value, text: r.value };
}

/** Directories from the datasite down to `relDir` (both included), refusing symlinks on the way. */
function dirsDown(datasite: string, relDir: string): string[] | Problem {
  const parts = relDir === '' ? [] : relDir.split('/');
  const out = [datasite];
  let cur = datasite;
  for (const p of parts) {
    cur = path.join(cur, p);
    out.push(cur);
  }
  for (const d of out) {
    try {
      const st = fs.lstatSync(d);
      if (st.isSymbolicLink()) return problem('symlink', `${d} is a symbolic link; refusing to edit permissions through it`, d);
      if (!st.isDirectory()) return problem('not-a-directory', `${d} is not a directory`, d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return problem('unreadable', `${d}: ${(e as Error).message}`, d);
    }
  }
  return out;
}

/**
 * `PermissionModifier._find_governing_yaml` + `_compute_pattern` for `relPath` (relative to the datasite,
 * `/`-separated). Returns the yaml to edit and the pattern to use.
 */
export function governingYaml(datasite: string, relPath: string, isFolder: boolean): { file: string; pattern: string } | Problem {
  const clean = relPath.replace(/\/+$/, '');
  const relDir = isFolder ? clean : path.posix.dirname(clean) === '.' ? '' : path.posix.dirname(clean);
  const dirs = dirsDown(datasite, relDir);
  if (!Array.isArray(dirs)) return dirs;
  let governing: string | undefined;
  for (const d of dirs) {
    const f = path.join(d, PERMISSION_FILE_NAME);
    const r = readRuleSetFile(f);
    if (r.kind === 'missing') continue;
    if (r.kind === 'problem') return r.problem;
    governing = d;
    if (r.rs.terminal) break;
  }
  const yamlDir = governing ?? path.join(datasite, ...relDir.split('/').filter(Boolean));
  const yamlRel = path.relative(datasite, yamlDir).split(path.sep).filter(Boolean).join('/');
  const rel = yamlRel === '' ? clean : clean === yamlRel ? '' : clean.slice(yamlRel.length + 1);
  const pattern = isFolder ? (rel ? `${rel}/**` : '**') : rel || path.posix.basename(clean);
  return { file: path.join(yamlDir, PERMISSION_FILE_NAME), pattern };
}

/** `add_permission_for_user(relPath, level, user, is_folder)`: atomic, idempotent. */
export function grantAccess(datasite: string, relPath: string, level: AccessLevel, user: string, opts: { isFolder: boolean }): PermissionEdit {
  const g = governingYaml(datasite, relPath, opts.isFolder);
  if ('code' in g) return { ok: false, problem: g };
  const cur = readRuleSetFile(g.file);
  if (cur.kind === 'problem') return { ok: false, problem: cur.problem };
  const base: RuleSet = cur.kind === 'ok' ? cur.rs : { rules: [], terminal: false };
  const text = emitRuleSet(addUser(base, g.pattern, level, user));
  if (cur.kind === 'ok' && cur.text === text) return { ok: true, file: g.file, pattern: g.pattern, changed: false };
  writeFileAtomic(g.file, text);
  return { ok: true, file: g.file, pattern: g.pattern, changed: true };
}

function mkdirNoFollow(datasite: string, rel: string): Problem | undefined {
  const dirs = dirsDown(datasite, rel);
  if (!Array.isArray(dirs)) return dirs;
  for (const d of dirs) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return problem('unreadable', `cannot create ${d}: ${(e as Error).message}`, d);
    }
  }
  return undefined;
}

const jobRel = (area: 'inbox' | 'review', ds: string, ...more: string[]) => ['app_data', 'job', area, ds, ...more].join('/');

/**
 * When the DO approves a peer (`JobClient.setup_ds_job_folder_as_do`): create `inbox/<ds>/` and `review/<ds>/`,
 * grant the DS write on everything in its inbox and read on everything in its review folder. Without these files
 * the DO's syncer silently drops every proposal from that DS.
 */
export function setupPeerJobFolders(root: string, doEmail: string, ds: string): { ok: true; edits: PermissionEdit[] } | { ok: false; problem: Problem } {
  assertSegment(ds, 'submitter');
  const datasite = datasiteDir(root, doEmail);
  const edits: PermissionEdit[] = [];
  for (const [area, level] of [['inbox', 'write'], ['review', 'read']] as const) {
    const rel = jobRel(area, ds);
    const p = mkdirNoFollow(datasite, rel);
    if (p) return { ok: false, problem: p };
    const e = grantAccess(datasite, rel, level, ds, { isFolder: true });
    if (!e.ok) return e;
    edits.push(e);
  }
  return { ok: true, edits };
}

/** The runner's rule before executing a job (`_prepare_outputs_dir`): `<job>/outputs/**` readable by the DO only. */
export function grantOutputsToOwner(root: string, doEmail: string, ds: string, job: string): PermissionEdit {
  assertSegment(ds, 'submitter');
  assertSegment(job, 'job');
  return grantAccess(datasiteDir(root, doEmail), jobRel('review', ds, job, 'outputs'), 'read', doEmail, { isFolder: true });
}

/** `JobInfo.share_outputs(users)`: add each user to the `<job>/outputs/**` rule. */
export function shareOutputs(root: string, doEmail: string, ds: string, job: string, users: readonly string[]): PermissionEdit[] {
  assertSegment(ds, 'submitter');
  assertSegment(job, 'job');
  return users.map((u) => grantAccess(datasiteDir(root, doEmail), jobRel('review', ds, job, 'outputs'), 'read', u, { isFolder: true }));
}

export const LOG_FILES = ['stdout.txt', 'stderr.txt', 'returncode.txt'] as const;

/** `JobInfo.share_logs(users)`: file rules `<job>/stdout.txt`, `<job>/stderr.txt`, `<job>/returncode.txt`. */
export function shareLogs(root: string, doEmail: string, ds: string, job: string, users: readonly string[]): PermissionEdit[] {
  assertSegment(ds, 'submitter');
  assertSegment(job, 'job');
  const out: PermissionEdit[] = [];
  for (const f of LOG_FILES) for (const u of users) out.push(grantAccess(datasiteDir(root, doEmail), jobRel('review', ds, job, f), 'read', u, { isFolder: false }));
  return out;
}

/**
 * What syft-bg does after running a job (`process_approved_jobs(share_outputs_with_submitter=True,
 * share_logs_with_submitter=True)`): the owner-only outputs rule (made before the run), then share outputs,
 * then logs, with the submitter.
 */
export function shareJobResults(root: string, doEmail: string, ds: string, job: string, opts: { outputs: boolean; logs: boolean }): PermissionEdit[] {
  const out: PermissionEdit[] = [];
  if (opts.outputs) out.push(...shareOutputs(root, doEmail, ds, job, [ds]));
  if (opts.logs) out.push(...shareLogs(root, doEmail, ds, job, [ds]));
  return out;
}

/** The yaml that governs a DS's review folder (for callers that want to show it). */
export function reviewPermissionFile(root: string, doEmail: string, ds: string): string {
  return path.join(jobRootDir(root, doEmail), 'review', ds, PERMISSION_FILE_NAME);
}
